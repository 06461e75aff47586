//! The async loop: drain pending source events and input, then draw at most
//! once, only if something shown changed, and at most [`FRAME`] apart.

use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyEventKind};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::App;
use crate::model::time::Clock;
use crate::sources::{Observed, PollHint};
use crate::term::Tui;
use crate::views;

/// Minimum time between frames (frame cap ≈ 30 fps).
pub const FRAME: Duration = Duration::from_millis(33);

/// Why the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal(&'static str),
    InputClosed,
}

/// Reads terminal input on a plain thread (crossterm's read blocks) and forwards it.
pub fn spawn_input_thread() -> mpsc::UnboundedReceiver<TermEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            loop {
                match crossterm::event::read() {
                    Ok(ev) => {
                        if tx.send(ev).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::error!("terminal input failed: {e}");
                        return;
                    }
                }
            }
        })
        .ok();
    rx
}

pub async fn run(
    terminal: &mut Tui,
    app: &mut App,
    clock: Clock,
    mut sources: mpsc::UnboundedReceiver<Observed>,
    mut input: mpsc::UnboundedReceiver<TermEvent>,
    process_start: std::time::Instant,
    hint: Option<tokio::sync::watch::Sender<PollHint>>,
) -> std::io::Result<Exit> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut last_frame = Instant::now() - FRAME;
    let mut sources_open = true;
    // No frame before the first source event (or half a second): the first
    // frame the operator sees is a full one, not an empty table.
    let loop_start = Instant::now();
    let mut heard = false;
    let mut first_frame = true;
    app.refresh(clock.now());
    loop {
        let frame_due = last_frame + FRAME;
        let want_frame = app.dirty && (heard || loop_start.elapsed() > Duration::from_millis(500));
        tokio::select! {
            biased;
            _ = sigterm.recv() => return Ok(Exit::Signal("SIGTERM")),
            _ = sighup.recv() => return Ok(Exit::Signal("SIGHUP")),
            obs = sources.recv(), if sources_open => match obs {
                Some(obs) => {
                    heard = true;
                    app.apply(obs);
                    while let Ok(more) = sources.try_recv() {
                        app.apply(more);
                    }
                }
                None => sources_open = false,
            },
            ev = input.recv() => match ev {
                Some(ev) => {
                    handle_term_event(app, ev);
                    while let Ok(more) = input.try_recv() {
                        handle_term_event(app, more);
                    }
                }
                None => return Ok(Exit::InputClosed),
            },
            _ = tokio::time::sleep_until(frame_due), if want_frame => {}
            _ = tick.tick() => {}
        }
        if app.quit {
            return Ok(Exit::Quit);
        }
        app.refresh(clock.now());
        if let Some(h) = &hint {
            let want = app.poll_hint();
            h.send_if_modified(|cur| {
                let changed = *cur != want;
                *cur = want;
                changed
            });
        }
        let may_draw = heard || loop_start.elapsed() > Duration::from_millis(500);
        if app.dirty && may_draw && Instant::now() >= last_frame + FRAME {
            let mut info = views::FrameInfo::default();
            terminal.draw(|f| info = views::draw(f, app))?;
            app.offset = info.offset;
            app.page = info.page;
            app.dirty = false;
            last_frame = Instant::now();
            if first_frame {
                first_frame = false;
                tracing::info!(
                    first_frame_ms = process_start.elapsed().as_secs_f64() * 1000.0,
                    units = app.units.len(),
                    "first frame"
                );
            }
        }
    }
}

fn handle_term_event(app: &mut App, ev: TermEvent) {
    match ev {
        TermEvent::Key(k) if k.kind != KeyEventKind::Release => app.handle_key(k),
        TermEvent::Resize(..) => app.dirty = true,
        _ => {}
    }
}
