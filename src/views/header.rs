//! Header: sources with their health, the READ-ONLY badge, counts by verdict, clock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::verdict_style;
use crate::app::App;
use crate::diagnose::Verdict;
use crate::sources::Health;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let mut spans = vec![Span::styled(" spotcheck ", theme.title)];
    if app.read_only {
        spans.push(Span::styled(" READ-ONLY ", theme.badge));
        spans.push(Span::raw(" "));
    }
    for (source, health) in &app.fleet.health {
        let style = match health {
            Health::Live | Health::Replaying { .. } => theme.ok,
            Health::Connecting | Health::Loading { .. } => theme.warning,
            _ => theme.error,
        };
        let kind = if source.kind == "replay" {
            "demo"
        } else {
            source.kind.as_str()
        };
        spans.push(Span::styled(
            format!("{kind} {}", source.name),
            theme.header,
        ));
        spans.push(Span::styled(format!(" ● {} ", health.label()), style));
    }
    for ctx in app.fleet.kube.keys() {
        spans.push(Span::styled(format!("│ ctx {ctx} "), theme.header));
    }
    for region in app.fleet.aws.keys() {
        spans.push(Span::styled(format!("│ {region} "), theme.header));
    }
    spans.push(Span::styled("│ ", theme.header));
    for (v, n) in app.counts() {
        if n == 0 || v == Verdict::Running {
            continue;
        }
        spans.push(Span::styled(
            format!("{n} {} ", v.label()),
            verdict_style(theme, v),
        ));
    }
    let running = app
        .units
        .iter()
        .filter(|u| u.diagnosis.verdict == Verdict::Running)
        .count();
    spans.push(Span::styled(format!("· {running} ok "), theme.muted));
    let clock = app.now.strftime("%H:%M UTC").to_string();
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let pad = (area.width as usize).saturating_sub(used + clock.len() + 1);
    if pad > 0 {
        spans.push(Span::styled(" ".repeat(pad), theme.header));
        spans.push(Span::styled(format!("{clock} "), theme.header));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.header), area);
}
