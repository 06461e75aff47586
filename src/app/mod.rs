//! The event loop and the single owner of state.
//!
//! [`App`] is plain data updated by plain functions: `apply` for source
//! events, `handle_key` for input, `refresh` to re-diagnose. The async loop in
//! [`run`] feeds it; views read it. Tests drive it directly.

pub mod filter;
pub mod keymap;
pub mod launch;
pub mod run;
pub mod timeline;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::Timestamp;

use crate::config::theme::Theme;
use crate::diagnose::{Unit, Verdict, diagnose_fleet};
use crate::model::Fleet;
use crate::sources::Observed;
use filter::Filter;
use keymap::{Action, action_for};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Table,
    Detail,
    Timeline,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing a filter; the text is live-applied.
    Filter(String),
    /// Typing a `:` command.
    Command(String),
    Help,
}

/// Table columns, for `:sort` and `s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortColumn {
    Severity,
    Kind,
    Scope,
    Name,
    State,
    Age,
}

impl SortColumn {
    pub const ALL: [SortColumn; 6] = [
        SortColumn::Severity,
        SortColumn::Kind,
        SortColumn::Scope,
        SortColumn::Name,
        SortColumn::State,
        SortColumn::Age,
    ];
    pub fn parse(s: &str) -> Option<SortColumn> {
        Some(match s.to_lowercase().as_str() {
            "severity" | "verdict" | "sev" => SortColumn::Severity,
            "kind" => SortColumn::Kind,
            "ns" | "namespace" | "scope" | "cluster" => SortColumn::Scope,
            "name" => SortColumn::Name,
            "state" | "status" => SortColumn::State,
            "age" => SortColumn::Age,
            _ => return None,
        })
    }
    pub fn label(self) -> &'static str {
        match self {
            SortColumn::Severity => "severity",
            SortColumn::Kind => "kind",
            SortColumn::Scope => "ns",
            SortColumn::Name => "name",
            SortColumn::State => "state",
            SortColumn::Age => "age",
        }
    }
}

/// A transient message in the hint line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

/// Loads a theme by name for `:theme`.
pub type ThemeLoader = Box<dyn Fn(&str) -> Result<Theme, String>>;

/// A deadline this close (either side) makes the diagnosis run every second.
pub const COUNTDOWN_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// Longest time between two diagnoses of an unchanged model.
pub const RESTALE: std::time::Duration = std::time::Duration::from_secs(30);

pub struct App {
    pub fleet: Fleet,
    /// Every diagnosed unit, by severity then age.
    pub units: Vec<Unit>,
    /// Indices into `units` that pass the filter and the healthy toggle, in display order.
    pub visible: Vec<usize>,
    /// The selected unit's id: selection follows the unit when rows move.
    pub selected: Option<String>,
    /// Row index of the selection within `visible`.
    pub cursor: usize,
    /// First visible row of the table.
    pub offset: usize,
    pub show_healthy: bool,
    pub filter: Filter,
    pub sort: SortColumn,
    pub sort_reverse: bool,
    pub focus: Focus,
    pub mode: Mode,
    /// Detail pane full screen (Enter).
    pub zoomed: bool,
    pub detail_scroll: u16,
    pub timeline_scroll: u16,
    /// Timeline of everything instead of the selected unit.
    pub timeline_all: bool,
    pub theme: Theme,
    pub read_only: bool,
    pub status: Option<Status>,
    pub quit: bool,
    /// Something shown may have changed since the last frame.
    pub dirty: bool,
    /// Clock reading used for the last diagnosis and frame.
    pub now: Timestamp,
    /// Rows the table showed in the last frame (for PgUp/PgDn).
    pub page: usize,
    /// Loads a theme by name for `:theme` (injected so tests need no files).
    pub theme_loader: ThemeLoader,
    diagnosed_version: u64,
    diagnosed_at: Timestamp,
}

impl App {
    pub fn new(theme: Theme, read_only: bool, now: Timestamp) -> App {
        App {
            fleet: Fleet::new(),
            units: Vec::new(),
            visible: Vec::new(),
            selected: None,
            cursor: 0,
            offset: 0,
            show_healthy: false,
            filter: Filter::default(),
            sort: SortColumn::Severity,
            sort_reverse: false,
            focus: Focus::Table,
            mode: Mode::Normal,
            zoomed: false,
            detail_scroll: 0,
            timeline_scroll: 0,
            timeline_all: false,
            theme,
            read_only,
            status: None,
            quit: false,
            dirty: true,
            now,
            page: 10,
            theme_loader: Box::new(|name| Err(format!("no theme loader for {name:?}"))),
            diagnosed_version: u64::MAX,
            diagnosed_at: now,
        }
    }

    pub fn apply(&mut self, obs: Observed) {
        self.fleet.apply(obs.event, obs.at);
    }

    /// Keeps the diagnosis current without redoing it needlessly.
    ///
    /// The model changed: diagnose now. The clock moved to another second:
    /// ages are formatted from `now` at draw time, so only a redraw is due,
    /// plus a diagnosis when a countdown is running (a deadline within
    /// [`COUNTDOWN_WINDOW`]) or the last one is [`RESTALE`] old (headlines
    /// such as "kubelet silent for 3m" age too). At 10,000 pods a diagnosis
    /// costs ~60 ms: once a second would be 6 % of a core while idle.
    pub fn refresh(&mut self, now: Timestamp) {
        let changed = self.diagnosed_version != self.fleet.version;
        let new_second = now.as_second() != self.now.as_second();
        if !changed && !new_second {
            return;
        }
        self.now = now;
        self.dirty = true;
        let stale = now.as_second() - self.diagnosed_at.as_second() >= RESTALE.as_secs() as i64;
        if changed || stale || self.countdown_running(now) {
            self.diagnosed_version = self.fleet.version;
            self.diagnosed_at = now;
            self.units = diagnose_fleet(&self.fleet, now);
            self.recompute_visible();
        }
    }

    /// Some unit's deadline is near (or just passed): its countdown and
    /// verdict change by the second.
    fn countdown_running(&self, now: Timestamp) -> bool {
        let window = COUNTDOWN_WINDOW.as_secs() as i64;
        self.units.iter().any(|u| {
            u.diagnosis
                .deadline
                .is_some_and(|d| (d.as_second() - now.as_second()).abs() <= window)
        })
    }

    /// Applies filter, healthy toggle and sort; keeps the selection on the same unit.
    pub fn recompute_visible(&mut self) {
        let mut v: Vec<usize> = (0..self.units.len())
            .filter(|&i| {
                let u = &self.units[i];
                (self.show_healthy || u.diagnosis.verdict.needs_attention())
                    && self.filter.matches(u)
            })
            .collect();
        let units = &self.units;
        match self.sort {
            // `units` is already by severity then age.
            SortColumn::Severity => {}
            SortColumn::Kind => {
                v.sort_by(|&a, &b| units[a].kind.label().cmp(units[b].kind.label()))
            }
            SortColumn::Scope => v.sort_by(|&a, &b| units[a].scope.cmp(&units[b].scope)),
            SortColumn::Name => v.sort_by(|&a, &b| units[a].name.cmp(&units[b].name)),
            SortColumn::State => v.sort_by(|&a, &b| units[a].state.cmp(&units[b].state)),
            // Youngest first, like kubectl's AGE column reads best at an incident.
            SortColumn::Age => v.sort_by(|&a, &b| units[b].since.cmp(&units[a].since)),
        }
        if self.sort_reverse {
            v.reverse();
        }
        self.visible = v;
        self.cursor = self
            .selected
            .as_ref()
            .and_then(|id| self.visible.iter().position(|&i| &self.units[i].id == id))
            .unwrap_or_else(|| self.cursor.min(self.visible.len().saturating_sub(1)));
        self.sync_selected();
        self.dirty = true;
    }

    fn sync_selected(&mut self) {
        let id = self
            .visible
            .get(self.cursor)
            .map(|&i| self.units[i].id.clone());
        if id != self.selected {
            self.detail_scroll = 0;
            self.timeline_scroll = 0;
        }
        self.selected = id;
    }

    pub fn selected_unit(&self) -> Option<&Unit> {
        self.visible.get(self.cursor).map(|&i| &self.units[i])
    }

    /// How urgently pollers should poll, from what is on screen.
    pub fn poll_hint(&self) -> crate::sources::PollHint {
        use crate::diagnose::UnitKind;
        let urgent = self.units.iter().any(|u| {
            matches!(
                u.diagnosis.verdict,
                Verdict::Pending | Verdict::Stuck | Verdict::Crashing | Verdict::AtRisk
            )
        });
        let focused_regions = self
            .selected_unit()
            .filter(|u| {
                matches!(
                    u.kind,
                    UnitKind::EcsTask | UnitKind::EcsService | UnitKind::Instance
                )
            })
            .map(|u| vec![u.source.clone()])
            .unwrap_or_default();
        crate::sources::PollHint {
            urgent,
            focused_regions,
        }
    }

    /// Counts of units by verdict (all units, not only the visible ones).
    pub fn counts(&self) -> Vec<(Verdict, usize)> {
        Verdict::ALL
            .iter()
            .map(|&v| {
                (
                    v,
                    self.units
                        .iter()
                        .filter(|u| u.diagnosis.verdict == v)
                        .count(),
                )
            })
            .collect()
    }

    pub fn handle_key(&mut self, key: KeyEvent) {
        self.dirty = true;
        match self.mode.clone() {
            Mode::Help => {
                // Any key closes help; q still quits.
                if key.code == KeyCode::Char('q')
                    || (key.code == KeyCode::Char('c')
                        && key.modifiers.contains(KeyModifiers::CONTROL))
                {
                    self.quit = true;
                }
                self.mode = Mode::Normal;
            }
            Mode::Filter(text) => self.edit_line(key, text, true),
            Mode::Command(text) => self.edit_line(key, text, false),
            Mode::Normal => {
                if let Some(action) = action_for(key) {
                    self.update(action);
                }
            }
        }
    }

    fn edit_line(&mut self, key: KeyEvent, mut text: String, is_filter: bool) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('c') if ctrl => {
                self.quit = true;
                return;
            }
            KeyCode::Esc => {
                if is_filter {
                    self.set_filter("");
                }
                self.mode = Mode::Normal;
                return;
            }
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                if !is_filter {
                    self.run_command(&text);
                }
                return;
            }
            KeyCode::Backspace if text.pop().is_none() && !is_filter => {
                self.mode = Mode::Normal;
                return;
            }
            KeyCode::Char('u') if ctrl => text.clear(),
            KeyCode::Char(c) if !ctrl => text.push(c),
            _ => {}
        }
        if is_filter {
            self.set_filter(&text);
            self.mode = Mode::Filter(text);
        } else {
            self.mode = Mode::Command(text);
        }
    }

    /// Sets the filter; an invalid one is reported and leaves the previous in force.
    pub fn set_filter(&mut self, text: &str) {
        match Filter::parse(text) {
            Ok(f) => {
                self.filter = f;
                self.status = None;
                self.recompute_visible();
            }
            Err(e) => {
                self.status = Some(Status {
                    text: e.to_string(),
                    error: true,
                })
            }
        }
    }

    pub fn update(&mut self, action: Action) {
        self.dirty = true;
        match action {
            Action::Quit => self.quit = true,
            Action::Up => self.scroll(-1),
            Action::Down => self.scroll(1),
            Action::PageUp => self.scroll(-(self.page.max(1) as i64)),
            Action::PageDown => self.scroll(self.page.max(1) as i64),
            Action::Top => self.scroll(i64::MIN / 2),
            Action::Bottom => self.scroll(i64::MAX / 2),
            Action::FocusNext => {
                self.focus = match self.focus {
                    Focus::Table => Focus::Detail,
                    Focus::Detail => Focus::Timeline,
                    Focus::Timeline => Focus::Table,
                }
            }
            Action::FocusPrev => {
                self.focus = match self.focus {
                    Focus::Table => Focus::Timeline,
                    Focus::Detail => Focus::Table,
                    Focus::Timeline => Focus::Detail,
                }
            }
            Action::Open => {
                if self.selected_unit().is_some() {
                    self.zoomed = true;
                    self.focus = Focus::Detail;
                }
            }
            Action::Back => {
                if self.zoomed {
                    self.zoomed = false;
                    self.focus = Focus::Table;
                } else if self.focus != Focus::Table {
                    self.focus = Focus::Table;
                } else if !self.filter.is_empty() {
                    self.set_filter("");
                }
                self.status = None;
            }
            Action::StartFilter => self.mode = Mode::Filter(self.filter.text.clone()),
            Action::StartCommand => self.mode = Mode::Command(String::new()),
            Action::Help => self.mode = Mode::Help,
            Action::ToggleHealthy => {
                self.show_healthy = !self.show_healthy;
                self.recompute_visible();
            }
            Action::ToggleTimelineScope => {
                self.timeline_all = !self.timeline_all;
                self.timeline_scroll = 0;
            }
            Action::CycleSort => {
                let i = SortColumn::ALL
                    .iter()
                    .position(|&c| c == self.sort)
                    .unwrap_or(0);
                self.sort = SortColumn::ALL[(i + 1) % SortColumn::ALL.len()];
                self.sort_reverse = false;
                self.status = Some(Status {
                    text: format!("sorted by {}", self.sort.label()),
                    error: false,
                });
                self.recompute_visible();
            }
            Action::ReverseSort => {
                self.sort_reverse = !self.sort_reverse;
                self.recompute_visible();
            }
        }
    }

    fn scroll(&mut self, delta: i64) {
        match self.focus {
            Focus::Table if !self.zoomed => {
                if self.visible.is_empty() {
                    return;
                }
                let max = self.visible.len() as i64 - 1;
                self.cursor = (self.cursor as i64 + delta).clamp(0, max) as usize;
                self.sync_selected();
            }
            Focus::Timeline => {
                self.timeline_scroll =
                    (self.timeline_scroll as i64 + delta).clamp(0, u16::MAX as i64) as u16;
            }
            _ => {
                self.detail_scroll =
                    (self.detail_scroll as i64 + delta).clamp(0, u16::MAX as i64) as u16;
            }
        }
    }

    /// Runs a `:` command line.
    pub fn run_command(&mut self, line: &str) {
        let line = line.trim();
        let (cmd, arg) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let arg = arg.trim();
        let ok = |text: String| Some(Status { text, error: false });
        let err = |text: String| Some(Status { text, error: true });
        match cmd {
            "" => {}
            "q" | "q!" | "quit" | "exit" => self.quit = true,
            "filter" | "f" => {
                self.set_filter(arg);
            }
            "sort" => match SortColumn::parse(arg) {
                Some(c) => {
                    self.sort = c;
                    self.sort_reverse = false;
                    self.recompute_visible();
                    self.status = ok(format!("sorted by {}", c.label()));
                }
                None => {
                    self.status = err(format!(
                        "sort by what? {:?} is not a column: use severity, kind, ns, name, state or age",
                        arg
                    ))
                }
            },
            "healthy" | "all" => {
                self.show_healthy = match arg {
                    "" | "toggle" => !self.show_healthy,
                    "on" | "show" | "yes" | "true" => true,
                    "off" | "hide" | "no" | "false" => false,
                    other => {
                        self.status =
                            err(format!(":healthy takes on, off or nothing, not {other:?}"));
                        return;
                    }
                };
                self.recompute_visible();
                self.status = ok(format!(
                    "healthy units {}",
                    if self.show_healthy { "shown" } else { "hidden" }
                ));
            }
            "theme" => {
                if arg.is_empty() {
                    self.status = ok(format!("theme: {}", self.theme.name));
                } else {
                    match (self.theme_loader)(arg) {
                        Ok(t) => {
                            self.theme = t;
                            self.status = ok(format!("theme {arg}"));
                        }
                        Err(e) => self.status = err(e),
                    }
                }
            }
            "help" | "h" => self.mode = Mode::Help,
            other => {
                self.status = err(format!(
                    "unknown command :{other} — try :filter, :sort, :healthy, :theme, :help, :q"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::objects::Pod;
    use crate::sources::{KubeObject, SourceEvent};
    use jiff::SignedDuration;

    fn pending_pod(name: &str) -> Observed {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "shop", "creationTimestamp": "2026-11-30T02:00:00Z"},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Pending"}
        }))
        .unwrap();
        Observed {
            at: "2026-11-30T03:00:00Z".parse().unwrap(),
            event: SourceEvent::KubeApply {
                context: "c".into(),
                object: KubeObject::Pod(Box::new(pod)),
            },
        }
    }

    #[test]
    fn an_unchanged_fleet_is_rediagnosed_only_when_stale() {
        let t0: Timestamp = "2026-11-30T03:00:00Z".parse().unwrap();
        let mut app = App::new(Theme::fallback(), true, t0);
        app.apply(pending_pod("cart"));
        app.refresh(t0);
        assert_eq!(app.units.len(), 1);
        let marker = "not re-diagnosed".to_string();
        app.units[0].diagnosis.headline = marker.clone();
        app.dirty = false;
        // A second later: a redraw (ages), no diagnosis.
        app.refresh(t0 + SignedDuration::from_secs(1));
        assert!(app.dirty);
        assert_eq!(app.units[0].diagnosis.headline, marker);
        // Stale after RESTALE.
        app.refresh(t0 + SignedDuration::from_secs(RESTALE.as_secs() as i64));
        assert_ne!(app.units[0].diagnosis.headline, marker);
        // A change in the model: at once.
        app.units[0].diagnosis.headline = marker.clone();
        app.apply(pending_pod("checkout"));
        app.refresh(t0 + SignedDuration::from_secs(RESTALE.as_secs() as i64));
        assert_eq!(app.units.len(), 2);
    }

    #[test]
    fn a_running_countdown_rediagnoses_every_second() {
        let t0: Timestamp = "2026-11-30T03:00:00Z".parse().unwrap();
        let mut app = App::new(Theme::fallback(), true, t0);
        app.apply(pending_pod("cart"));
        app.refresh(t0);
        app.units[0].diagnosis.deadline = Some(t0 + SignedDuration::from_secs(90));
        app.units[0].diagnosis.headline = "marker".into();
        app.refresh(t0 + SignedDuration::from_secs(1));
        assert_ne!(app.units[0].diagnosis.headline, "marker");
    }
}
