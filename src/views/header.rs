//! Header: the READ-ONLY badge, counts by verdict, sources with their health,
//! the clock. What does not fit is dropped least important first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::verdict_style;
use crate::app::App;
use crate::diagnose::Verdict;
use crate::sources::{Health, SourceId};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    // (priority: higher stays longer, spans) in display order.
    let mut groups: Vec<(u8, Vec<Span>)> = Vec::new();
    let mut head = vec![Span::styled(" spotcheck ", theme.title)];
    if app.read_only {
        head.push(Span::styled(" READ-ONLY ", theme.badge));
    }
    groups.push((9, head));
    // One group per verdict count, most severe first: on a narrow terminal
    // the least severe counts go before the most severe ones, and the
    // healthy count goes before any source's health.
    groups.push((8, vec![Span::raw(" ")]));
    for (v, n) in app.counts() {
        if n == 0 || v == Verdict::Running {
            continue;
        }
        groups.push((
            8,
            vec![Span::styled(
                format!("{n} {} ", v.label()),
                verdict_style(theme, v),
            )],
        ));
    }
    let running = app
        .units
        .iter()
        .filter(|u| u.diagnosis.verdict == Verdict::Running)
        .count();
    groups.push((
        5,
        vec![Span::styled(format!("· {running} ok "), theme.muted)],
    ));
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
        // A source in trouble matters more than the healthy count; one that
        // is fine, less.
        let priority = if health.is_ok() { 5 } else { 7 };
        groups.push((
            priority,
            vec![
                Span::styled(format!("│ {kind} {}", source.name), theme.header),
                Span::styled(format!(" ● {} ", health.label()), style),
            ],
        ));
    }
    // Contexts and regions no source reports on (a demo, a dump).
    for ctx in app.fleet.kube.keys() {
        if !app.fleet.health.contains_key(&SourceId::kube(ctx)) {
            groups.push((4, vec![Span::styled(format!("│ ctx {ctx} "), theme.header)]));
        }
    }
    for region in app.fleet.aws.keys() {
        let known = app.fleet.health.contains_key(&SourceId::ecs(region))
            || app.fleet.health.contains_key(&SourceId::ec2(region));
        if !known {
            groups.push((4, vec![Span::styled(format!("│ {region} "), theme.header)]));
        }
    }
    let clock = app.now.strftime("%H:%M UTC").to_string();
    let clock_w = clock.len() + 2;
    let width = |g: &[Span]| g.iter().map(|s| s.width()).sum::<usize>();
    let total = area.width as usize;
    let mut keep: Vec<bool> = vec![true; groups.len()];
    let mut used: usize = groups.iter().map(|(_, g)| width(g)).sum();
    while used > total {
        let Some((i, _)) = groups
            .iter()
            .enumerate()
            .filter(|(i, (p, _))| keep[*i] && *p < 9)
            .min_by_key(|(i, (p, _))| (*p, std::cmp::Reverse(*i)))
        else {
            break;
        };
        keep[i] = false;
        used -= width(&groups[i].1);
    }
    // A wide group dropped late may have made room for groups dropped before
    // it: take those back, most important first, but never show a group
    // while a more important one stays hidden ("57 ok" without "4 Stopped").
    let mut dropped: Vec<usize> = (0..groups.len()).filter(|i| !keep[*i]).collect();
    dropped.sort_by_key(|i| (std::cmp::Reverse(groups[*i].0), *i));
    for i in dropped {
        let w = width(&groups[i].1);
        if used + w > total {
            break;
        }
        keep[i] = true;
        used += w;
    }
    let mut spans: Vec<Span> = groups
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .flat_map(|((_, g), _)| g)
        .collect();
    if used + clock_w <= total {
        spans.push(Span::styled(
            " ".repeat(total - used - clock_w + 1),
            theme.header,
        ));
        spans.push(Span::styled(format!("{clock} "), theme.header));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.header), area);
}
