//! Detail pane: the selected unit's cause chain with evidence, and what to do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::wrap;
use super::{deadline_text, pane_block, verdict_style};
use crate::app::{App, Focus};
use crate::diagnose::{Unit, UnitKind};
use crate::model::time::format_age;
use crate::sources::SourceId;

/// What this unit's diagnosis cannot see because RBAC/IAM forbids it
/// (empty when nothing is forbidden).
fn missing_evidence(app: &App, u: &Unit) -> String {
    let sources = match u.kind {
        UnitKind::Pod | UnitKind::Node | UnitKind::Workload => vec![SourceId::kube(&u.source)],
        UnitKind::EcsTask | UnitKind::EcsService | UnitKind::Instance => {
            vec![SourceId::ecs(&u.source), SourceId::ec2(&u.source)]
        }
    };
    let forbidden: Vec<String> = sources
        .iter()
        .filter_map(|s| {
            let what = app.fleet.health.get(s)?.forbidden()?;
            Some(format!("{what} ({s})"))
        })
        .collect();
    if forbidden.is_empty() {
        return String::new();
    }
    format!(
        "⚠ evidence missing: access denied to {}; this diagnosis is made without them",
        forbidden.join(", ")
    )
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let focused = app.focus == Focus::Detail;
    let Some(u) = app.selected_unit() else {
        let block = pane_block(" Detail ", focused, theme);
        frame.render_widget(
            Paragraph::new(Line::styled("select a unit to see why", theme.muted)).block(block),
            area,
        );
        return;
    };
    let title = format!(
        " {} {}{} ",
        u.kind.label(),
        if u.scope.is_empty() {
            String::new()
        } else {
            format!("{}/", u.scope)
        },
        u.name
    );
    let block = pane_block(title, focused, theme);
    let inner = block.inner(area);
    let width = inner.width.saturating_sub(1) as usize;
    let now = app.now;
    let d = &u.diagnosis;
    let mut lines: Vec<Line> = Vec::new();

    let mut head = vec![
        Span::styled(
            format!("{} ", d.verdict.label()),
            verdict_style(theme, d.verdict),
        ),
        Span::styled(format!("{} ", u.state), theme.base),
    ];
    if let Some(dl) = deadline_text(now, d.deadline) {
        head.push(Span::styled(format!("⏱ {dl} "), theme.at_risk));
    }
    lines.push(Line::from(head));
    let mut where_ = vec![format!("{}", u.source)];
    if let Some(h) = &u.host {
        where_.push(format!("on {h}"));
    }
    if let Some(i) = &u.instance_id {
        if u.host.as_deref() != Some(i.as_str()) {
            where_.push(i.clone());
        }
    }
    if let Some(s) = u.since {
        where_.push(format!("age {}", format_age(now, s)));
    }
    for l in wrap(&where_.join(" · "), width) {
        lines.push(Line::styled(l, theme.muted));
    }
    let missing = missing_evidence(app, u);
    if !missing.is_empty() {
        for l in wrap(&missing, width) {
            lines.push(Line::styled(l, theme.warning));
        }
    }
    for l in wrap(&d.headline, width) {
        lines.push(Line::styled(l, theme.title));
    }

    if !d.causes.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Why", theme.column_header));
        for (n, c) in d.causes.iter().enumerate() {
            let prefix = format!("{:>2}. ", n + 1);
            let code = c.code.as_str();
            let mut first = true;
            for l in wrap(
                &c.detail,
                width.saturating_sub(prefix.len() + code.len() + 1).max(10),
            ) {
                if first {
                    lines.push(Line::from(vec![
                        Span::styled(prefix.clone(), theme.muted),
                        Span::styled(format!("{code} "), theme.code),
                        Span::styled(l, theme.base),
                    ]));
                    first = false;
                } else {
                    lines.push(Line::from(vec![
                        Span::raw(" ".repeat(prefix.len() + code.len() + 1)),
                        Span::styled(l, theme.base),
                    ]));
                }
            }
            for e in &c.evidence {
                let mut meta = vec![e.source.clone()];
                if !e.object.is_empty() {
                    meta.push(e.object.clone());
                }
                if !e.reason.is_empty() {
                    meta.push(e.reason.clone());
                }
                if let Some(at) = e.at {
                    let mut t = format!("{} ago", format_age(now, at));
                    if e.count > 1 {
                        t = match e.first_at {
                            Some(f) => format!("{t}, x{} over {}", e.count, format_age(now, f)),
                            None => format!("{t}, x{}", e.count),
                        };
                    }
                    meta.push(t);
                } else if e.count > 1 {
                    meta.push(format!("x{}", e.count));
                }
                for (k, l) in wrap(&meta.join(" · "), width.saturating_sub(8).max(10))
                    .into_iter()
                    .enumerate()
                {
                    let lead = if k == 0 { "     ├ " } else { "     │ " };
                    lines.push(Line::from(vec![
                        Span::styled(lead, theme.muted),
                        Span::styled(l, theme.muted),
                    ]));
                }
                if !e.message.is_empty() {
                    for l in wrap(&e.message, width.saturating_sub(8).max(10)) {
                        lines.push(Line::from(vec![
                            Span::styled("     │ ", theme.muted),
                            Span::styled(l, theme.base),
                        ]));
                    }
                }
            }
        }
    }
    if !d.actions.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("What to do", theme.column_header));
        for a in &d.actions {
            let mut t = vec![
                Span::styled(" • ", theme.muted),
                Span::styled(a.title.clone(), theme.base),
            ];
            if a.mutating && app.read_only {
                t.push(Span::styled(
                    "  (changes state: read-only session)",
                    theme.muted,
                ));
            }
            lines.push(Line::from(t));
            for l in wrap(&a.command, width.saturating_sub(5).max(10)) {
                lines.push(Line::from(vec![
                    Span::raw("   $ "),
                    Span::styled(l, theme.command),
                ]));
            }
        }
    }
    let max_scroll = (lines.len() as u16).saturating_sub(inner.height);
    let scroll = app.detail_scroll.min(max_scroll);
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}
