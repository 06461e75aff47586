//! Starting the TUI on a recording: the demo (embedded) or `replay FILE`.

use std::io::IsTerminal;

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::App;
use super::run::{Exit, run, spawn_input_thread};
use crate::cli::{DemoArgs, PlaybackArgs, ReplayArgs};
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
        let (guard, mut terminal) = term::Guard::enter()?;
        let mut app = App::new(settings.theme, true, clock.now());
        app.theme_loader = settings.theme_loader;
        if let Some(w) = settings.config_warnings.first() {
            app.status = Some(super::Status {
                text: format!("config: {w}"),
                error: true,
            });
        }
        if skipped > 0 {
            app.status = Some(super::Status {
                text: format!(
                    "{skipped} malformed line(s) in the recording were skipped; see the log"
                ),
                error: true,
            });
        }
        let input = spawn_input_thread();
        let exit = run(
            &mut terminal,
            &mut app,
            clock,
            rx,
            input,
            settings.process_start,
        )
        .await;
        drop(guard);
        exit
    });
    match result {
        Ok(Exit::Quit) => 0,
        Ok(Exit::Signal(s)) => {
            tracing::info!("ended by {s}");
            // Conventional 128 + signal number.
            if s == "SIGTERM" { 143 } else { 129 }
        }
        Ok(Exit::InputClosed) => 0,
        Err(e) => {
            term::restore();
            eprintln!("spotcheck: terminal error: {e}");
            1
        }
    }
}
