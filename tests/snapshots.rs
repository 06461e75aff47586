//! Screen snapshots on a fixed point of the demo (injected clock), at 80×24
//! and 160×48, plus the help overlay. Styles are checked where colour carries
//! meaning.

#![allow(clippy::unwrap_used)] // test helpers: a failed setup should panic loudly

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use jiff::{SignedDuration, Timestamp};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use spotcheck::app::App;
use spotcheck::config::theme::Theme;
use spotcheck::diagnose::Verdict;
use spotcheck::sources::replay::Recording;
use spotcheck::sources::{Health, Observed, SourceEvent, SourceId, scenarios};
use spotcheck::views;

/// The demo as it stands `minutes` into the recording.
fn demo_at(minutes: i64) -> App {
    let sc = scenarios::find("spot-storm").expect("bundled");
    let rec = Recording::parse(sc.text).expect("parses");
    let now: Timestamp = rec.header.started + SignedDuration::from_mins(minutes);
    let mut app = App::new(Theme::fallback(), true, now);
    app.apply(Observed {
        at: rec.header.started,
        event: SourceEvent::Health {
            source: SourceId::replay("spot-storm"),
            health: Health::Replaying { done: false },
        },
    });
    for obs in rec.events_until(now) {
        app.apply(obs);
    }
    app.refresh(now);
    app
}

fn render(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut info = views::FrameInfo::default();
    t.draw(|f| info = views::draw(f, app)).unwrap();
    app.offset = info.offset;
    app.page = info.page;
    t
}

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn main_screen_80x24() {
    let mut app = demo_at(7);
    let t = render(&mut app, 80, 24);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn main_screen_160x48() {
    let mut app = demo_at(7);
    let t = render(&mut app, 160, 48);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn opened_unit_80x24() {
    let mut app = demo_at(7);
    key(&mut app, KeyCode::Enter);
    let t = render(&mut app, 80, 24);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn help_overlay_160x48() {
    let mut app = demo_at(7);
    key(&mut app, KeyCode::Char('?'));
    let t = render(&mut app, 160, 48);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn too_small_40x10() {
    let mut app = demo_at(7);
    let t = render(&mut app, 40, 10);
    insta::assert_snapshot!(t.backend());
}

#[test]
fn verdict_colours_follow_the_theme() {
    let mut app = demo_at(7);
    let theme = app.theme.clone();
    let t = render(&mut app, 160, 48);
    let buf = t.backend().buffer();
    // The STATE column starts where its heading does; every row's cell there
    // carries its verdict's role.
    let heading: String = (0..buf.area.width)
        .map(|x| buf[(x, 2)].symbol().to_string())
        .collect();
    let col = heading.find("STATE").expect("STATE heading");
    let x = heading[..col].chars().count() as u16;
    let mut checked = 0;
    for (row, &i) in app.visible.iter().enumerate().take(18) {
        if row == app.cursor {
            continue; // the selection style wins on the selected row
        }
        let u = &app.units[i];
        let y = 3 + row as u16; // header, border, column heading
        let want = views::verdict_style(&theme, u.diagnosis.verdict).fg;
        assert_eq!(
            buf[(x, y)].fg,
            want.unwrap_or_default(),
            "row {row} {} ({:?})",
            u.name,
            u.diagnosis.verdict
        );
        checked += 1;
    }
    assert!(checked >= 5, "checked {checked} rows");
}

#[test]
fn every_unit_renders_at_every_size_without_panicking() {
    let mut app = demo_at(9);
    key(&mut app, KeyCode::Char('a'));
    let n = app.visible.len();
    assert!(n >= 40, "demo has {n} units with healthy ones shown");
    for (w, h) in [(160, 48), (80, 24), (60, 15), (40, 10), (1, 1)] {
        for _ in 0..n {
            render(&mut app, w, h);
            key(&mut app, KeyCode::Char('j'));
        }
        key(&mut app, KeyCode::Char('g'));
    }
}

#[test]
fn the_demo_shows_every_kind_of_trouble() {
    // 03:01: wave 2's notice runs, wave 1's damage remains.
    let app = demo_at(11);
    let verdicts: Vec<Verdict> = app.units.iter().map(|u| u.diagnosis.verdict).collect();
    for v in [
        Verdict::Pending,
        Verdict::Crashing,
        Verdict::AtRisk,
        Verdict::Stuck,
        Verdict::Stopped,
    ] {
        assert!(verdicts.contains(&v), "no {v:?} unit at 11 minutes");
    }
    let healthy = verdicts.iter().filter(|v| **v == Verdict::Running).count();
    assert!(
        healthy > verdicts.len() - healthy,
        "healthy units outnumber broken ones"
    );
}

/// The whole screen as text, one line per row.
fn text(t: &Terminal<TestBackend>) -> String {
    let b = t.backend().buffer();
    (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .map(|x| b[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn health(app: &mut App, source: SourceId, health: Health) {
    app.apply(Observed {
        at: app.now,
        event: SourceEvent::Health { source, health },
    });
}

#[test]
fn the_detail_pane_says_which_evidence_rbac_hides() {
    let mut app = demo_at(7);
    assert!(!text(&render(&mut app, 160, 48)).contains("evidence missing"));
    health(
        &mut app,
        SourceId::kube("prod-eks"),
        Health::Forbidden {
            what: "events".into(),
        },
    );
    let screen = text(&render(&mut app, 160, 48));
    assert!(
        screen.contains("evidence missing: access denied to events (kube:prod-eks)"),
        "{screen}"
    );
    // Another kind failing as well does not hide what RBAC withholds.
    health(
        &mut app,
        SourceId::kube("prod-eks"),
        Health::Degraded {
            reason: "pods: 500".into(),
            forbidden: "events".into(),
        },
    );
    let screen = text(&render(&mut app, 160, 48));
    assert!(
        screen.contains("evidence missing: access denied to events (kube:prod-eks)"),
        "{screen}"
    );
}

/// While a context is on its initial list the table says what is loading
/// and how much has arrived, never an unexplained empty table.
#[test]
fn an_empty_table_says_what_is_still_loading() {
    let now: Timestamp = "2026-11-30T03:00:00Z".parse().unwrap();
    let mut app = App::new(Theme::fallback(), true, now);
    health(&mut app, SourceId::kube("prod"), Health::Connecting);
    app.refresh(now);
    let screen = text(&render(&mut app, 120, 30));
    assert!(screen.contains("kube:prod connecting"), "{screen}");
    health(
        &mut app,
        SourceId::kube("prod"),
        Health::Loading {
            loaded: 4512,
            waiting: vec!["pods".into(), "events".into(), "jobs".into()],
        },
    );
    app.refresh(now);
    let screen = text(&render(&mut app, 160, 30));
    assert!(
        screen.contains("kube:prod loading 4512 · pods, events +1 — rows appear as they arrive"),
        "{screen}"
    );
    health(
        &mut app,
        SourceId::kube("prod"),
        Health::Reconnecting {
            reason: "API server unreachable: Connection refused".into(),
        },
    );
    app.refresh(now);
    let screen = text(&render(&mut app, 160, 30));
    assert!(
        screen.contains("kube:prod reconnecting: API server unreachable: Connection refused"),
        "{screen}"
    );
    health(&mut app, SourceId::kube("prod"), Health::Live);
    app.refresh(now);
    let screen = text(&render(&mut app, 160, 30));
    assert!(
        screen.contains("the watched sources report no workloads"),
        "{screen}"
    );
    assert!(!screen.contains("loading"), "{screen}");
}

/// Rows arrive while a context is still listing: the table title says the
/// table is not complete, even at 80 columns where the header has no room
/// for the sources.
#[test]
fn a_partial_table_says_it_is_still_loading_at_80_columns() {
    let mut app = demo_at(7);
    health(
        &mut app,
        SourceId::kube("prod-eks"),
        Health::Loading {
            loaded: 4512,
            waiting: vec!["pods".into(), "events".into(), "jobs".into()],
        },
    );
    let screen = text(&render(&mut app, 80, 24));
    let title = screen.lines().nth(1).unwrap();
    assert!(
        title.contains("· loading 4512 · pods, events +1 "),
        "{screen}"
    );
    health(&mut app, SourceId::kube("eu"), Health::Connecting);
    let screen = text(&render(&mut app, 80, 24));
    let title = screen.lines().nth(1).unwrap();
    assert!(
        title.contains("· loading 2 sources, 4512 objects "),
        "{screen}"
    );
    health(&mut app, SourceId::kube("eu"), Health::Live);
    health(&mut app, SourceId::kube("prod-eks"), Health::Live);
    let screen = text(&render(&mut app, 80, 24));
    assert!(
        !screen.lines().nth(1).unwrap().contains("loading"),
        "{screen}"
    );
}

/// On a narrow terminal the header gives up the least severe counts first,
/// never all counts at once.
#[test]
fn a_narrow_header_keeps_the_most_severe_counts() {
    let mut app = demo_at(7);
    let wide = text(&render(&mut app, 160, 48));
    let head = wide.lines().next().unwrap();
    assert!(
        head.contains("1 Crashing 2 Stuck 4 Pending 4 Stopped · 57 ok"),
        "{head}"
    );
    let narrow = text(&render(&mut app, 60, 20));
    let head = narrow.lines().next().unwrap();
    assert!(head.contains("1 Crashing 2 Stuck 4 Pending"), "{head}");
    assert!(!head.contains("Stopped") && !head.contains(" ok"), "{head}");
}
