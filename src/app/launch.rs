//! Starting the TUI on a recording: the demo (embedded) or `replay FILE`.

use std::io::IsTerminal;

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::App;
use super::run::{Exit, run, spawn_input_thread};
use crate::cli::{DemoArgs, LiveArgs, PlaybackArgs, ReplayArgs};
use crate::config::theme::Theme;
use crate::sources::replay::{Recording, ReplayOptions, parse_offset, play, replay_clock};
use crate::sources::scenarios::{SCENARIOS, find};
use crate::term;

/// How the TUI should look and behave, resolved before the terminal is touched.
pub struct Settings {
    pub theme: Theme,
    pub theme_loader: super::ThemeLoader,
    /// When the process started (for the first-frame measurement in the log).
    pub process_start: std::time::Instant,
    /// Defaults from the config file for flags not given.
    pub demo_defaults: crate::config::file::DemoDefaults,
    /// Problems in the config file, shown in the status line at start.
    pub config_warnings: Vec<String>,
}

/// `spotcheck demo`.
pub fn demo(args: &DemoArgs, settings: Settings) -> i32 {
    if args.list {
        println!("Bundled scenarios (spotcheck demo --scenario NAME):");
        for s in SCENARIOS {
            println!("  {:<12} {}", s.name, s.summary);
        }
        return 0;
    }
    let Some(scenario) = find(&args.scenario) else {
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        eprintln!(
            "spotcheck: no bundled scenario {:?}; available: {}",
            args.scenario,
            names.join(", ")
        );
        return 2;
    };
    let rec = match Recording::parse(scenario.text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "spotcheck: bundled scenario {} is broken: {e}",
                scenario.name
            );
            return 2;
        }
    };
    play_tui(rec, &args.playback, scenario.default_start_at, settings)
}

/// `spotcheck replay FILE`.
pub fn replay(args: &ReplayArgs, settings: Settings) -> i32 {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "spotcheck: cannot read recording {}: {e}",
                args.file.display()
            );
            return 2;
        }
    };
    let rec = match Recording::parse(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("spotcheck: {}: {e}", args.file.display());
            return 2;
        }
    };
    for e in &rec.errors {
        tracing::warn!("{}: {e} (skipped)", args.file.display());
    }
    play_tui(rec, &args.playback, "0", settings)
}

fn play_tui(
    rec: Recording,
    playback: &PlaybackArgs,
    default_start: &str,
    settings: Settings,
) -> i32 {
    let start_at = playback
        .start_at
        .as_deref()
        .or(settings.demo_defaults.start_at.as_deref())
        .unwrap_or(default_start);
    let start_at = match parse_offset(start_at) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("spotcheck: --start-at {e}");
            return 2;
        }
    };
    if !std::io::stdout().is_terminal() {
        eprintln!(
            "spotcheck: the TUI needs a terminal on stdout (for a one-shot report use `spotcheck why`)"
        );
        return 2;
    }
    let speed = playback
        .speed
        .or(settings.demo_defaults.speed)
        .unwrap_or(1.0);
    let opts = ReplayOptions {
        start_at,
        speed,
        repeat: playback.repeat,
    };
    let skipped = rec.errors.len();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("spotcheck: cannot start the runtime: {e}");
            return 2;
        }
    };
    let result = runtime.block_on(async move {
        let clock = replay_clock(&opts, Timestamp::now());
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(play(rec, opts, clock, tx));
        let skipped = (skipped > 0).then(|| super::Status {
            text: format!("{skipped} malformed line(s) in the recording were skipped; see the log"),
            error: true,
        });
        run_tui(settings, clock, rx, None, skipped).await
    });
    exit_code(result)
}

/// Enters the terminal, runs the loop, restores the terminal (also on error:
/// the guard drops).
async fn run_tui(
    settings: Settings,
    clock: crate::model::time::Clock,
    rx: mpsc::UnboundedReceiver<crate::sources::Observed>,
    hint: Option<tokio::sync::watch::Sender<crate::sources::PollHint>>,
    status: Option<super::Status>,
) -> std::io::Result<Exit> {
    let (guard, mut terminal) = term::Guard::enter()?;
    // No action executor exists yet: every session is read-only.
    let mut app = App::new(settings.theme, true, clock.now());
    app.theme_loader = settings.theme_loader;
    app.status = status.or_else(|| {
        settings.config_warnings.first().map(|w| super::Status {
            text: format!("config: {w}"),
            error: true,
        })
    });
    let input = spawn_input_thread();
    let exit = run(
        &mut terminal,
        &mut app,
        clock,
        rx,
        input,
        settings.process_start,
        hint,
    )
    .await;
    drop(guard);
    exit
}

/// The process exit code for how the loop ended.
fn exit_code(result: std::io::Result<Exit>) -> i32 {
    use std::io::Write;
    match result {
        Ok(Exit::Quit) | Ok(Exit::InputClosed) => 0,
        Ok(Exit::Signal(s)) => {
            tracing::info!("ended by {s}");
            // Conventional 128 + signal number.
            if s == "SIGTERM" { 143 } else { 129 }
        }
        Err(e) => {
            term::restore();
            tracing::error!("terminal error: {e}");
            // The terminal may be gone: a failed write must not panic.
            let _ = writeln!(std::io::stderr(), "spotcheck: terminal error: {e}");
            1
        }
    }
}

/// Starts the live sources the flags ask for. Setup problems (broken
/// kubeconfig, unknown context, no AWS region) come back as one clear message.
/// `interactive_auth`: credential plugins may use the terminal (`why`), or
/// not (under the TUI); see [`crate::sources::kube::KubeOptions`].
pub async fn start_sources(
    args: &LiveArgs,
    tx: crate::sources::SourceTx,
    hint: tokio::sync::watch::Receiver<crate::sources::PollHint>,
    interactive_auth: bool,
) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    use crate::sources::{aws, kube};
    let mut handles = Vec::new();
    if !args.no_kube {
        let opts = kube::KubeOptions {
            kubeconfig: args.kubeconfig.clone(),
            contexts: args.contexts.clone(),
            all_contexts: args.all_contexts,
            namespace: args.namespace.clone(),
            all_namespaces: args.all_namespaces,
            interactive_auth,
        };
        handles.extend(
            kube::start(&opts, tx.clone())
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    if args.aws {
        let opts = aws::AwsOptions {
            profile: args.profile.clone(),
            regions: args.regions.clone(),
            ecs_clusters: args.ecs_clusters.clone(),
        };
        handles.extend(
            aws::start(&opts, tx, hint)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    if handles.is_empty() {
        return Err("nothing to watch: --no-kube without --aws (try `spotcheck demo`)".into());
    }
    Ok(handles)
}

/// `spotcheck` without a command: the TUI on live sources.
pub fn live(args: &LiveArgs, settings: Settings) -> i32 {
    // One thread: watchers, pollers and the loop are all I/O-bound, and one
    // thread means one malloc arena, so memory freed after the initial list
    // is reused instead of stranded in per-thread arenas.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("spotcheck: cannot start the runtime: {e}");
            return 2;
        }
    };
    let result: Result<std::io::Result<Exit>, String> = runtime.block_on(async move {
        let (tx, raw_rx) = mpsc::unbounded_channel();
        let rx = coalesce(raw_rx, COALESCE, COALESCE_LOADING);
        let (hint_tx, hint_rx) = tokio::sync::watch::channel(crate::sources::PollHint::default());
        // Setup problems (broken kubeconfig, unknown context) come first,
        // on a normal screen, whatever stdout is. Credential plugins never
        // get the terminal: they run again under the TUI when tokens expire.
        let _handles = start_sources(args, tx, hint_rx, false).await?;
        if !std::io::stdout().is_terminal() {
            return Err(
                "the TUI needs a terminal on stdout (for a one-shot report use `spotcheck why`)"
                    .to_string(),
            );
        }
        let clock = crate::model::time::Clock::System;
        Ok(run_tui(settings, clock, rx, Some(hint_tx), None).await)
    });
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("spotcheck: {e}");
            return 2;
        }
    };
    // Sources may be mid-request: do not wait for them.
    runtime.shutdown_background();
    exit_code(result)
}

/// Least time between two deliveries of source events to the app loop, and
/// the longer one while some source is still on its initial list.
pub const COALESCE: std::time::Duration = std::time::Duration::from_millis(100);
pub const COALESCE_LOADING: std::time::Duration = std::time::Duration::from_millis(400);

/// Forwards source events in bursts at most `every` apart (`loading` apart
/// while some source reports Connecting/Loading): the first event after a
/// quiet spell passes at once (no added latency for a single change), but an
/// initial list of thousands of objects, or an event storm, reaches the app
/// in a few batches, so it re-diagnoses the fleet a few times a second
/// instead of after every handful of objects. Two moments are never held
/// back: the first objects (the first rows) and the end of the last initial
/// list (the complete table).
pub fn coalesce(
    mut rx: mpsc::UnboundedReceiver<crate::sources::Observed>,
    every: std::time::Duration,
    loading: std::time::Duration,
) -> mpsc::UnboundedReceiver<crate::sources::Observed> {
    use crate::sources::{Health, SourceEvent};
    let (tx, out) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut last = tokio::time::Instant::now() - loading.max(every);
        let mut batch = Vec::new();
        let mut loading_sources = std::collections::BTreeSet::new();
        let mut any_object = false;
        // Notes one event; true when it must go out at once.
        let mut note =
            |o: &crate::sources::Observed, loading_sources: &mut std::collections::BTreeSet<_>| {
                match &o.event {
                    SourceEvent::Health { source, health } => {
                        let was = !loading_sources.is_empty();
                        if matches!(health, Health::Connecting | Health::Loading { .. }) {
                            loading_sources.insert(source.clone());
                        } else {
                            loading_sources.remove(source);
                        }
                        was && loading_sources.is_empty()
                    }
                    SourceEvent::KubeApply { .. } if !any_object => {
                        any_object = true;
                        true
                    }
                    _ => false,
                }
            };
        while let Some(first) = rx.recv().await {
            let mut now = note(&first, &mut loading_sources);
            batch.push(first);
            let gap = if loading_sources.is_empty() {
                every
            } else {
                loading
            };
            let deadline = last + gap;
            while !now {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => break,
                    more = rx.recv() => match more {
                        Some(o) => {
                            now = note(&o, &mut loading_sources);
                            batch.push(o);
                        }
                        None => break,
                    },
                }
            }
            while let Ok(more) = rx.try_recv() {
                note(&more, &mut loading_sources);
                batch.push(more);
            }
            for o in batch.drain(..) {
                if tx.send(o).is_err() {
                    return;
                }
            }
            last = tokio::time::Instant::now();
        }
    });
    out
}

/// How long `why` waits on sources that have never answered and are
/// reconnecting before it gives up (instead of the whole timeout).
const UNREACHABLE_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the live sources once, for `spotcheck why` without `-f`: returns the
/// model when every source has finished its initial load (or `timeout`).
pub fn collect(
    args: &LiveArgs,
    timeout: std::time::Duration,
) -> Result<crate::model::Fleet, String> {
    use crate::sources::Health;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let fleet = runtime.block_on(async move {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_hint_tx, hint_rx) = tokio::sync::watch::channel(crate::sources::PollHint {
            urgent: true,
            focused_regions: vec![],
        });
        let _handles = start_sources(args, tx, hint_rx, true).await?;
        let mut fleet = crate::model::Fleet::new();
        let deadline = tokio::time::Instant::now() + timeout;
        // Sources that have been unreachable since they started (a mistyped
        // region, a cluster behind a VPN that is down): a one-shot `why`
        // says so after UNREACHABLE_GRACE instead of waiting out `timeout`.
        let started = tokio::time::Instant::now();
        let mut ever_ok: std::collections::HashSet<crate::sources::SourceId> =
            std::collections::HashSet::new();
        loop {
            let unsettled: Vec<(&crate::sources::SourceId, &Health)> = fleet
                .health
                .iter()
                .filter(|(_, h)| {
                    matches!(
                        h,
                        Health::Connecting | Health::Loading { .. } | Health::Reconnecting { .. }
                    )
                })
                .collect();
            let settled = !fleet.health.is_empty() && unsettled.is_empty();
            let hopeless = !unsettled.is_empty()
                && unsettled.iter().all(|(s, h)| {
                    matches!(h, Health::Reconnecting { .. }) && !ever_ok.contains(*s)
                });
            // Some source was read: on giving up, `why` prints its diagnosis
            // and names the others as unreadable (exit 2).
            let some_read = fleet.health.len() > unsettled.len();
            let now = tokio::time::Instant::now();
            let wait = if settled {
                std::time::Duration::from_millis(300)
            } else if hopeless {
                (started + UNREACHABLE_GRACE)
                    .min(deadline)
                    .saturating_duration_since(now)
            } else {
                deadline.saturating_duration_since(now)
            };
            match tokio::time::timeout(wait, rx.recv()).await {
                Ok(Some(obs)) => {
                    if let crate::sources::SourceEvent::Health { source, health } = &obs.event
                        && !matches!(
                            health,
                            Health::Connecting
                                | Health::Reconnecting { .. }
                                | Health::Loading { loaded: 0, .. }
                        )
                    {
                        ever_ok.insert(source.clone());
                    }
                    fleet.apply(obs.event, obs.at);
                }
                Ok(None) => break,
                Err(_) if settled || (hopeless && some_read) => break,
                Err(_) => {
                    let loading: Vec<String> = fleet
                        .health
                        .iter()
                        .filter(|(_, h)| {
                            matches!(
                                h,
                                Health::Connecting
                                    | Health::Loading { .. }
                                    | Health::Reconnecting { .. }
                            )
                        })
                        .map(|(s, h)| format!("{s} ({})", h.label()))
                        .collect();
                    let what = if loading.is_empty() {
                        "the first answer".to_string()
                    } else {
                        loading.join(", ")
                    };
                    let waited = started.elapsed().as_secs();
                    return Err(if hopeless {
                        format!("no answer in {waited}s from {what}")
                    } else {
                        format!("timed out after {waited}s waiting for {what}")
                    });
                }
            }
        }
        Ok::<_, String>(fleet)
    });
    runtime.shutdown_background();
    fleet
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{Health, Observed, SourceEvent, SourceId};

    fn obs(n: u64) -> Observed {
        Observed {
            at: Timestamp::UNIX_EPOCH,
            event: SourceEvent::Health {
                source: SourceId::kube("c"),
                health: Health::Loading {
                    loaded: n,
                    waiting: Vec::new(),
                },
            },
        }
    }

    #[tokio::test(start_paused = true)]
    async fn coalesce_passes_a_lone_event_at_once_and_batches_a_burst() {
        let every = std::time::Duration::from_millis(100);
        let loading = std::time::Duration::from_millis(400);
        let (tx, rx) = mpsc::unbounded_channel();
        let mut out = coalesce(rx, every, loading);
        let t0 = tokio::time::Instant::now();
        let live = Observed {
            at: Timestamp::UNIX_EPOCH,
            event: SourceEvent::Health {
                source: SourceId::kube("c"),
                health: Health::Live,
            },
        };
        tx.send(live.clone()).unwrap();
        out.recv().await.unwrap();
        assert_eq!(
            t0.elapsed(),
            std::time::Duration::ZERO,
            "no delay after quiet"
        );
        // While a source loads, bursts are held `loading` apart, then come all at once.
        for n in 1..=100 {
            tx.send(obs(n)).unwrap();
        }
        out.recv().await.unwrap();
        assert_eq!(t0.elapsed(), loading);
        let mut rest = 0;
        while out.try_recv().is_ok() {
            rest += 1;
        }
        assert_eq!(rest, 99, "the burst arrives as one batch, in order");
        // The end of the last initial list goes out at once.
        let t1 = tokio::time::Instant::now();
        tx.send(obs(5)).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        tx.send(live.clone()).unwrap();
        out.recv().await.unwrap();
        out.recv().await.unwrap();
        assert_eq!(t1.elapsed(), std::time::Duration::from_millis(10));
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        // Once live: a lone change at once, the next one `every` after it.
        let t2 = tokio::time::Instant::now();
        tx.send(live).unwrap();
        out.recv().await.unwrap();
        assert_eq!(t2.elapsed(), std::time::Duration::ZERO);
        let other = Observed {
            at: Timestamp::UNIX_EPOCH,
            event: SourceEvent::Reset {
                source: SourceId::kube("c"),
            },
        };
        tx.send(other).unwrap();
        out.recv().await.unwrap();
        assert_eq!(t2.elapsed(), every);
    }

    #[tokio::test(start_paused = true)]
    async fn coalesce_never_holds_back_the_first_rows() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut out = coalesce(
            rx,
            std::time::Duration::from_millis(100),
            std::time::Duration::from_millis(400),
        );
        let t0 = tokio::time::Instant::now();
        tx.send(obs(0)).unwrap(); // Loading
        out.recv().await.unwrap();
        let pod = |n: &str| Observed {
            at: Timestamp::UNIX_EPOCH,
            event: SourceEvent::KubeApply {
                context: "c".into(),
                object: crate::sources::KubeObject::Pod(Box::new(
                    serde_json::from_value(serde_json::json!({"metadata": {"name": n}})).unwrap(),
                )),
            },
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        tx.send(pod("a")).unwrap();
        out.recv().await.unwrap();
        assert_eq!(
            t0.elapsed(),
            std::time::Duration::from_millis(20),
            "first rows at once"
        );
        tx.send(pod("b")).unwrap();
        out.recv().await.unwrap();
        assert_eq!(
            t0.elapsed(),
            std::time::Duration::from_millis(420),
            "then batched"
        );
    }
}
