//! Pure drawing: no I/O, no awaits. `draw` reads the [`App`] and returns what
//! the loop needs to remember (table offset, page size).

pub mod detail;
pub mod header;
pub mod help;
pub mod table;
pub mod text;
pub mod timeline;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use crate::app::{App, Focus, Mode};
use crate::config::theme::Theme;
use crate::diagnose::{Unit, Verdict};
use crate::model::time::{format_age, format_countdown};
use crate::sources::{Health, SourceId};
use table::{Column, TableView};
use unicode_width::UnicodeWidthStr;

/// Smallest terminal the screen is laid out for.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;

/// What the loop keeps from a frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameInfo {
    pub offset: usize,
    pub page: usize,
}

pub fn verdict_style(theme: &Theme, v: Verdict) -> Style {
    match v {
        Verdict::Running => theme.running,
        Verdict::Pending => theme.pending,
        Verdict::Stuck => theme.stuck,
        Verdict::Crashing => theme.crashing,
        Verdict::Stopped => theme.stopped,
        Verdict::AtRisk => theme.at_risk,
    }
}

pub fn pane_block<'a>(title: impl Into<Line<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        })
        .title(title)
        .title_style(theme.title)
}

pub fn draw(frame: &mut Frame, app: &App) -> FrameInfo {
    let area = frame.area();
    frame.render_widget(Block::default().style(app.theme.base), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        draw_too_small(frame, area, &app.theme);
        return FrameInfo {
            offset: app.offset,
            page: app.page,
        };
    }
    let [head, main, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    header::draw(frame, head, app);
    let info = if app.zoomed {
        let [d, t] =
            Layout::vertical([Constraint::Percentage(72), Constraint::Percentage(28)]).areas(main);
        detail::draw(frame, d, app);
        timeline::draw(frame, t, app);
        FrameInfo {
            offset: app.offset,
            page: app.page,
        }
    } else if main.width >= 200 {
        // Very wide: table left, detail and timeline stacked on the right.
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(main);
        let [d, t] =
            Layout::vertical([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(right);
        let info = draw_table(frame, left, app);
        detail::draw(frame, d, app);
        timeline::draw(frame, t, app);
        info
    } else if main.width >= 120 {
        // Wide: the table keeps the full width for the WHY column; detail and
        // timeline side by side below it.
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(main);
        let [d, t] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
            .areas(bottom);
        let info = draw_table(frame, top, app);
        detail::draw(frame, d, app);
        timeline::draw(frame, t, app);
        info
    } else {
        let timeline_h = if main.height >= 30 {
            main.height / 4
        } else {
            5
        };
        let [tab, d, t] = Layout::vertical([
            Constraint::Percentage(42),
            Constraint::Min(5),
            Constraint::Length(timeline_h),
        ])
        .areas(main);
        let info = draw_table(frame, tab, app);
        detail::draw(frame, d, app);
        timeline::draw(frame, t, app);
        info
    };
    draw_footer(frame, foot, app);
    if app.mode == Mode::Help {
        help::draw(frame, area, &app.theme);
    }
    info
}

fn draw_too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let msg = vec![
        Line::styled("terminal too small", theme.warning),
        Line::styled(
            format!(
                "{}×{}, need {MIN_WIDTH}×{MIN_HEIGHT}",
                area.width, area.height
            ),
            theme.muted,
        ),
        Line::styled("resize, or q to quit", theme.muted),
    ];
    let h = (msg.len() as u16).min(area.height);
    let y = area.y + area.height.saturating_sub(h) / 2;
    frame.render_widget(
        Paragraph::new(msg)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(Wrap { trim: true }),
        Rect {
            y,
            height: h,
            ..area
        },
    );
}

fn draw_table(frame: &mut Frame, area: Rect, app: &App) -> FrameInfo {
    let theme = &app.theme;
    let now = app.now;
    let rows: Vec<&Unit> = app.visible.iter().map(|&i| &app.units[i]).collect();
    let columns: Vec<Column<'_, Unit>> = vec![
        Column {
            title: "KIND",
            min: 4,
            max: 7,
            priority: 3,
            cell: Box::new(|u: &Unit| (u.kind.label().to_string(), theme.muted)),
        },
        Column {
            title: "NS/CLUSTER",
            min: 8,
            max: 12,
            priority: 4,
            cell: Box::new(|u: &Unit| (u.scope.clone(), theme.base)),
        },
        Column {
            title: "NAME",
            min: 14,
            max: 30,
            priority: 9,
            cell: Box::new(|u: &Unit| (u.name.clone(), theme.base)),
        },
        Column {
            title: "STATE",
            min: 11,
            max: 17,
            priority: 8,
            cell: Box::new(move |u: &Unit| {
                let v = u.diagnosis.verdict;
                let text = match (v, u.diagnosis.deadline) {
                    (Verdict::AtRisk, Some(d)) => format!("AtRisk {}", short_countdown(now, d)),
                    _ if u.state.is_empty() => v.label().to_string(),
                    _ => u.state.clone(),
                };
                (text, verdict_style(theme, v))
            }),
        },
        Column {
            title: "AGE",
            min: 5,
            max: 5,
            priority: 5,
            cell: Box::new(move |u: &Unit| {
                (
                    u.since.map(|s| format_age(now, s)).unwrap_or_default(),
                    theme.muted,
                )
            }),
        },
        Column {
            title: "WHY",
            min: 24,
            max: 0,
            priority: 7,
            cell: Box::new(|u: &Unit| (u.diagnosis.headline.clone(), theme.base)),
        },
    ];
    let total = app.units.len();
    let hidden = total
        - app
            .units
            .iter()
            .filter(|u| u.diagnosis.verdict == Verdict::Running)
            .count();
    let mut title = vec![Span::styled(" Attention ", theme.title)];
    title.push(Span::styled(
        format!(
            "{}/{} ",
            app.visible.len(),
            if app.show_healthy { total } else { hidden }
        ),
        theme.muted,
    ));
    // The header may have no room for the sources at 80 columns: the table
    // itself says it is not complete yet.
    let loading = loading_sources(app);
    match loading.as_slice() {
        [] => {}
        [(_, h)] => title.push(Span::styled(format!("· {} ", h.label()), theme.warning)),
        many => {
            let loaded: u64 = many
                .iter()
                .map(|(_, h)| match h {
                    Health::Loading { loaded, .. } => *loaded,
                    _ => 0,
                })
                .sum();
            title.push(Span::styled(
                format!("· loading {} sources, {loaded} objects ", many.len()),
                theme.warning,
            ));
        }
    }
    if !app.show_healthy {
        title.push(Span::styled("· healthy hidden (a) ", theme.muted));
    }
    if !app.filter.is_empty() {
        title.push(Span::styled(
            format!("· /{} ", app.filter.text),
            theme.warning,
        ));
    }
    if app.sort != crate::app::SortColumn::Severity || app.sort_reverse {
        title.push(Span::styled(
            format!(
                "· sort {}{} ",
                app.sort.label(),
                if app.sort_reverse { " ↑" } else { "" }
            ),
            theme.muted,
        ));
    }
    let empty = if !app.filter.is_empty() && !app.units.is_empty() {
        "nothing matches the filter (Esc clears it)".to_string()
    } else if !loading.is_empty() {
        // Never an unexplained empty table while lists are still arriving.
        let what: Vec<String> = loading
            .iter()
            .map(|(s, h)| format!("{s} {}", h.label()))
            .collect();
        format!("{} — rows appear as they arrive", what.join("; "))
    } else if app.units.is_empty() && app.fleet.health.is_empty() {
        "waiting for sources…".to_string()
    } else if app.units.is_empty() && app.fleet.health.values().any(|h| !h.is_ok()) {
        // Empty because a source cannot be read: say which and why.
        app.fleet
            .health
            .iter()
            .filter(|(_, h)| !h.is_ok())
            .map(|(s, h)| format!("{s} {}", h.label()))
            .collect::<Vec<_>>()
            .join("; ")
    } else if app.units.is_empty() {
        "nothing to show: the watched sources report no workloads".to_string()
    } else {
        "nothing needs attention — press a to show healthy units".to_string()
    };
    let focused = app.focus == Focus::Table;
    let view = TableView {
        columns,
        rows: &rows,
        cursor: Some(app.cursor),
        offset: app.offset,
        focused,
        block: pane_block(Line::from(title), focused, theme),
        empty: &empty,
    };
    let (offset, page) = view.render(area, frame.buffer_mut(), theme);
    FrameInfo { offset, page }
}

/// Sources still connecting or on their initial list.
fn loading_sources(app: &App) -> Vec<(&SourceId, &Health)> {
    app.fleet
        .health
        .iter()
        .filter(|(_, h)| matches!(h, Health::Connecting | Health::Loading { .. }))
        .collect()
}

fn short_countdown(now: jiff::Timestamp, deadline: jiff::Timestamp) -> String {
    let left = deadline.as_second() - now.as_second();
    if left >= 3600 {
        crate::model::time::format_duration_secs(left)
    } else if left >= 0 {
        format!("{}:{:02}", left / 60, left % 60)
    } else {
        "due".into()
    }
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let line = match &app.mode {
        Mode::Filter(text) => Line::from(vec![
            Span::styled("/", theme.key),
            Span::styled(text.clone(), theme.input),
            Span::styled("▏", theme.input),
            Span::styled(
                "   Enter keep · Esc clear · field:value (kind ns name state verdict code host source)",
                theme.muted,
            ),
        ]),
        Mode::Command(text) => Line::from(vec![
            Span::styled(":", theme.key),
            Span::styled(text.clone(), theme.input),
            Span::styled("▏", theme.input),
            Span::styled(
                "   filter · sort <col> · healthy · theme <name> · q",
                theme.muted,
            ),
        ]),
        _ => match &app.status {
            Some(s) => Line::styled(s.text.clone(), if s.error { theme.error } else { theme.ok }),
            None => {
                let mut hints: Vec<(&str, &str)> = vec![("j/k", "move")];
                for b in crate::app::keymap::KEYMAP {
                    if let Some(h) = b.hint {
                        hints.push((b.keys.split(" / ").next().unwrap_or(b.keys), h));
                    }
                }
                // Narrow terminal: give up hints from the right, but keep
                // the way to the help (which lists every key) and out.
                let width = |h: &[(&str, &str)]| -> usize {
                    h.iter()
                        .map(|(k, t)| k.width() + t.width() + 3)
                        .sum::<usize>()
                };
                while width(&hints) > area.width as usize {
                    let Some(i) = hints.iter().rposition(|(k, _)| *k != "?" && *k != "q") else {
                        break;
                    };
                    hints.remove(i);
                }
                let mut spans = Vec::new();
                for (i, (k, t)) in hints.into_iter().enumerate() {
                    if i == 0 {
                        spans.push(Span::styled(format!("{k} {t}  "), theme.muted));
                    } else {
                        spans.push(Span::styled(k.to_string(), theme.key));
                        spans.push(Span::styled(format!(" {t}  "), theme.muted));
                    }
                }
                Line::from(spans)
            }
        },
    };
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(line), area);
}

/// `1m42s left` for AtRisk units with a deadline.
pub fn deadline_text(now: jiff::Timestamp, deadline: Option<jiff::Timestamp>) -> Option<String> {
    deadline.map(|d| format_countdown(now, d))
}
