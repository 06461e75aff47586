//! Timeline pane: merged, time-ordered events of all sources, newest first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::pane_block;
use super::text::{fit, truncate, width};
use crate::app::{App, Focus, timeline};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let focused = app.focus == Focus::Timeline;
    let unit = if app.timeline_all {
        None
    } else {
        app.selected_unit()
    };
    let scope = match unit {
        Some(u) => format!(" Timeline · {} (t: all) ", u.name),
        None => " Timeline · everything (t: selected) ".to_string(),
    };
    let block = pane_block(
        truncate(&scope, area.width.saturating_sub(2) as usize),
        focused,
        theme,
    );
    let inner = block.inner(area);
    let rows = inner.height as usize;
    let skip = app.timeline_scroll as usize;
    let entries = timeline::entries(&app.fleet, unit, skip + rows + 1);
    let mut lines = Vec::new();
    let w = inner.width as usize;
    for e in entries.iter().skip(skip).take(rows) {
        let time = e.at.strftime("%H:%M:%S").to_string();
        let obj = fit(&e.object, 22.min(w / 4));
        let reason = if e.reason == "Observed" || e.reason == "ServiceEvent" {
            String::new()
        } else {
            format!("{} ", e.reason)
        };
        let count = if e.count > 1 {
            format!(" x{}", e.count)
        } else {
            String::new()
        };
        let used = width(&time) + 1 + width(&obj) + 1 + width(&reason);
        let msg = truncate(&format!("{}{count}", e.message), w.saturating_sub(used));
        let style = if e.warning { theme.warning } else { theme.base };
        lines.push(Line::from(vec![
            Span::styled(time, theme.muted),
            Span::raw(" "),
            Span::styled(obj, theme.muted),
            Span::raw(" "),
            Span::styled(reason, style),
            Span::styled(msg, style),
        ]));
    }
    if lines.is_empty() {
        lines.push(Line::styled("no events yet", theme.muted));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
