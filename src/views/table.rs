//! One generic table: columns with priorities, selection, scrolling.
//! Only the visible rows are formatted.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

use super::text::fit;
use crate::config::theme::Theme;

/// Formats one row's cell: text and style.
pub type CellFn<'a, R> = Box<dyn Fn(&R) -> (String, Style) + 'a>;

/// A column: heading, width bounds, and how to show a row in it.
pub struct Column<'a, R> {
    pub title: &'static str,
    pub min: u16,
    /// Preferred maximum; `0` = take the remaining space.
    pub max: u16,
    /// Columns with lower priority are dropped first when the table is narrow.
    pub priority: u8,
    pub cell: CellFn<'a, R>,
}

pub struct TableView<'a, R> {
    pub columns: Vec<Column<'a, R>>,
    pub rows: &'a [&'a R],
    pub cursor: Option<usize>,
    /// First row shown, from the previous frame.
    pub offset: usize,
    pub focused: bool,
    pub block: Block<'a>,
    pub empty: &'a str,
}

/// Computes column widths for `total` cells: which columns fit, and how wide.
/// Returns `(column index, width)` in display order.
pub fn layout_columns(specs: &[(u16, u16, u8)], total: u16) -> Vec<(usize, u16)> {
    let mut keep: Vec<usize> = (0..specs.len()).collect();
    let need = |keep: &[usize]| -> u32 {
        keep.iter().map(|&i| specs[i].0 as u32).sum::<u32>() + keep.len().saturating_sub(1) as u32
    };
    while need(&keep) > total as u32 && keep.len() > 1 {
        // Drop the lowest-priority column (the rightmost among equals).
        let (pos, _) = keep
            .iter()
            .enumerate()
            .min_by_key(|&(p, &i)| (specs[i].2, std::cmp::Reverse(p)))
            .unwrap_or((keep.len() - 1, &0));
        keep.remove(pos);
    }
    let mut widths: Vec<u16> = keep.iter().map(|&i| specs[i].0).collect();
    let mut spare = (total as i32) - need(&keep) as i32;
    // Grow bounded columns to their max, most important first, then give
    // the rest to flex columns.
    let mut by_priority: Vec<usize> = (0..keep.len()).collect();
    by_priority.sort_by_key(|&k| std::cmp::Reverse(specs[keep[k]].2));
    for k in by_priority {
        let (min, max, _) = specs[keep[k]];
        if max > min && spare > 0 {
            let grow = ((max - min) as i32).min(spare);
            widths[k] += grow as u16;
            spare -= grow;
        }
    }
    let flex: Vec<usize> = keep
        .iter()
        .enumerate()
        .filter(|(_, i)| specs[**i].1 == 0)
        .map(|(k, _)| k)
        .collect();
    if spare > 0 && !flex.is_empty() {
        let each = spare / flex.len() as i32;
        let mut rest = spare - each * flex.len() as i32;
        for &k in &flex {
            let extra = each + if rest > 0 { 1 } else { 0 };
            rest -= 1;
            widths[k] += extra.max(0) as u16;
        }
    } else if spare < 0 {
        // Only one column left and it is still too wide: cut it to fit.
        if let Some(w) = widths.last_mut() {
            *w = (*w as i32 + spare).max(0) as u16;
        }
    }
    keep.into_iter().zip(widths).collect()
}

/// Keeps the cursor row within `[offset, offset + height)`.
pub fn scroll_offset(cursor: usize, offset: usize, height: usize, len: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    let mut off = offset.min(len - height);
    if cursor < off {
        off = cursor;
    } else if cursor >= off + height {
        off = cursor + 1 - height;
    }
    off
}

impl<'a, R> TableView<'a, R> {
    /// Draws the table; returns `(offset, visible rows)` for the next frame.
    pub fn render(self, area: Rect, buf: &mut Buffer, theme: &Theme) -> (usize, usize) {
        let inner = self.block.inner(area);
        self.block.render(area, buf);
        if inner.height == 0 || inner.width == 0 {
            return (0, 0);
        }
        let specs: Vec<(u16, u16, u8)> = self
            .columns
            .iter()
            .map(|c| (c.min, c.max, c.priority))
            .collect();
        let cols = layout_columns(&specs, inner.width);
        // Heading.
        let mut spans = Vec::new();
        for (n, &(i, w)) in cols.iter().enumerate() {
            if n > 0 {
                spans.push(Span::raw(" "));
            }
            spans.push(Span::styled(
                fit(self.columns[i].title, w as usize),
                theme.column_header,
            ));
        }
        Line::from(spans).render(Rect { height: 1, ..inner }, buf);
        let body = Rect {
            y: inner.y + 1,
            height: inner.height - 1,
            ..inner
        };
        let height = body.height as usize;
        if self.rows.is_empty() {
            Line::styled(self.empty.to_string(), theme.muted).render(body, buf);
            return (0, height);
        }
        let cursor = self.cursor.unwrap_or(0).min(self.rows.len() - 1);
        let offset = scroll_offset(cursor, self.offset, height, self.rows.len());
        for (r, row) in self.rows.iter().skip(offset).take(height).enumerate() {
            let y = body.y + r as u16;
            let is_sel = self.cursor.is_some() && offset + r == cursor;
            let mut spans = Vec::new();
            for (n, &(i, w)) in cols.iter().enumerate() {
                if n > 0 {
                    spans.push(Span::raw(" "));
                }
                let (text, style) = (self.columns[i].cell)(row);
                spans.push(Span::styled(fit(&text, w as usize), style));
            }
            let line_area = Rect {
                y,
                height: 1,
                ..body
            };
            let mut line = Line::from(spans);
            if is_sel {
                let sel = if self.focused {
                    theme.selected
                } else {
                    theme
                        .selected
                        .remove_modifier(ratatui::style::Modifier::BOLD)
                };
                line = line.patch_style(sel);
                buf.set_style(line_area, sel);
            }
            line.render(line_area, buf);
        }
        (offset, height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_tables_drop_low_priority_columns_first() {
        // (min, max, priority)
        let specs = [(4, 8, 3), (6, 12, 1), (10, 0, 5), (5, 5, 2)];
        let wide = layout_columns(&specs, 60);
        assert_eq!(wide.len(), 4);
        assert_eq!(wide.iter().map(|c| c.1).sum::<u16>() + 3, 60);
        let narrow = layout_columns(&specs, 22);
        let kept: Vec<usize> = narrow.iter().map(|c| c.0).collect();
        assert_eq!(kept, vec![0, 2, 3]);
        assert!(narrow.iter().map(|c| c.1).sum::<u16>() + 2 <= 22);
        let tiny = layout_columns(&specs, 3);
        assert_eq!(tiny.len(), 1);
        assert!(tiny[0].1 <= 3);
    }

    #[test]
    fn offset_follows_cursor() {
        assert_eq!(scroll_offset(0, 0, 5, 3), 0);
        assert_eq!(scroll_offset(7, 0, 5, 20), 3);
        assert_eq!(scroll_offset(2, 3, 5, 20), 2);
        assert_eq!(scroll_offset(19, 0, 5, 20), 15);
        assert_eq!(scroll_offset(4, 18, 5, 20), 4);
    }
}
