//! The `?` overlay, generated from the keymap so it cannot drift.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::pane_block;
use super::text::fit;
use crate::app::keymap::KEYMAP;
use crate::config::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme) {
    let key_w = KEYMAP
        .iter()
        .map(|b| super::text::width(b.keys))
        .max()
        .unwrap_or(8);
    let mut lines: Vec<Line> = KEYMAP
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(fit(b.keys, key_w), theme.key),
                Span::raw("  "),
                Span::styled(b.help, theme.base),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Commands: :filter TEXT  :sort COLUMN  :healthy [on|off]  :theme NAME  :q",
        theme.muted,
    ));
    lines.push(Line::styled("Any key closes this help.", theme.muted));
    let want_w = lines.iter().map(|l| l.width()).max().unwrap_or(40) as u16 + 4;
    let w = want_w.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let x = area.x + (area.width - w) / 2;
    let y = area.y + (area.height - h) / 2;
    let rect = Rect {
        x,
        y,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(pane_block(" Keys ", true, theme))
            .style(theme.base),
        rect,
    );
}
