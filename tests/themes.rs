//! Themes: bundled themes parse, errors name file/line/key, user theme lookup,
//! NO_COLOR, `spotcheck themes` report.

#![allow(clippy::unwrap_used)] // test helpers: a failed setup should panic loudly

use std::fs;

use ratatui::style::{Color, Modifier, Style};
use spotcheck::config::theme::{
    self, BUNDLED, ROLES, Theme, ThemeError, ThemeOrigin, list_themes_in, resolve_in,
    themes_report_in,
};

/// A theme that overrides one role of the default.
fn one_role(line: &str) -> String {
    format!("name = \"t\"\nextends = \"default\"\n\n[roles]\n{line}\n")
}

fn err(text: &str, origin: &str) -> String {
    match Theme::parse(text, origin) {
        Ok(t) => panic!("{origin} parsed, but it should not: {t:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_bundled_theme_resolves_by_name() {
    let names: Vec<&str> = BUNDLED.iter().map(|(n, _)| *n).collect();
    for want in ["default", "light", "mono", "high-contrast"] {
        assert!(names.contains(&want), "{want} is not bundled");
    }
    for name in names {
        let t = resolve_in(Some(name), false, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.name, name);
        // Each bundled theme sets every role deliberately: none is left as a
        // blank style (the terminal default on purpose is spelled "reset").
        let blank = ROLES
            .iter()
            .filter(|r| t.role(r) == Some(Style::default()))
            .count();
        assert_eq!(blank, 0, "{name}: {blank} roles left unstyled");
    }
}

#[test]
fn bundled_themes_differ_where_it_matters() {
    let default = resolve_in(None, false, None).unwrap();
    assert_eq!(default, Theme::fallback());
    for name in ["light", "mono", "high-contrast"] {
        let t = resolve_in(Some(name), false, None).unwrap();
        assert_ne!(t.selected, default.selected, "{name}");
        // A warning and an error never look the same.
        assert_ne!(t.warning, t.error, "{name}");
        assert_ne!(t.running, t.crashing, "{name}");
    }
}

#[test]
fn unknown_role_names_file_line_key_and_suggests() {
    let e = err(
        &one_role("warnin = \"red\""),
        "~/.config/spotcheck/themes/ocean.toml",
    );
    assert_eq!(
        e,
        "~/.config/spotcheck/themes/ocean.toml:5: roles.warnin: unknown role (did you mean \"warning\"?)"
    );
}

#[test]
fn typoed_modifier_names_file_line_key() {
    let text = one_role("error = { fg = \"red\",\n  modifiers = [\"bold\", \"undrlined\"] }");
    let e = err(&text, "t.toml");
    assert!(
        e.starts_with(
            "t.toml:6: roles.error.modifiers: unknown modifier \"undrlined\" (did you mean \"underlined\"?)"
        ),
        "{e}"
    );
}

#[test]
fn bad_hex_colour_names_file_line_key() {
    let e = err(&one_role("ok = { bg = \"#12g456\" }"), "t.toml");
    assert_eq!(
        e,
        "t.toml:5: roles.ok.bg: bad hex colour \"#12g456\": expected #rrggbb, e.g. \"#1e1e2e\""
    );
    let e = err(&one_role("ok = \"#fff\""), "t.toml");
    assert!(e.starts_with("t.toml:5: roles.ok: bad hex colour"), "{e}");
}

#[test]
fn unknown_palette_reference_names_file_line_key() {
    let text = "extends = \"default\"\n[palette]\nsea = \"#1e3a5f\"\n\n[roles]\nheader = { bg = \"see\" }\n";
    let e = err(text, "ocean.toml");
    assert_eq!(
        e,
        "ocean.toml:6: roles.header.bg: unknown colour or palette name \"see\" (did you mean \"sea\"?)"
    );
}

#[test]
fn palette_entries_may_name_earlier_ones() {
    let text = "extends = \"default\"\n[palette]\nsea = \"#1e3a5f\"\nbar = \"sea\"\n[roles]\nheader = { bg = \"bar\" }\n";
    let t = Theme::parse(text, "p.toml").unwrap();
    assert_eq!(t.header.bg, Some(Color::Rgb(0x1e, 0x3a, 0x5f)));
    // The default palette is inherited through `extends`.
    let t = Theme::parse(
        "extends = \"default\"\n[palette]\nx = \"accent\"\n[roles]\nok = \"x\"\n",
        "p.toml",
    )
    .unwrap();
    assert_eq!(t.ok.fg, Some(Color::Cyan));
    let e = err(
        "extends = \"default\"\n[palette]\nbar = \"sae\"\nsea = \"#1e3a5f\"\n",
        "p.toml",
    );
    assert!(
        e.starts_with("p.toml:3: palette.bar: unknown colour or palette name \"sae\""),
        "{e}"
    );
}

#[test]
fn other_strict_errors() {
    // unknown top-level section
    let e = err("extends = \"default\"\n[colours]\n", "t.toml");
    assert!(e.starts_with("t.toml:2: colours: unknown key"), "{e}");
    // unknown key inside a role
    let e = err(&one_role("ok = { fg = \"red\", bold = true }"), "t.toml");
    assert!(
        e.starts_with("t.toml:5: roles.ok.bold: unknown key; a role has fg, bg and modifiers"),
        "{e}"
    );
    // wrong type for a role
    let e = err(&one_role("ok = true"), "t.toml");
    assert!(
        e.starts_with("t.toml:5: roles.ok: expected a colour"),
        "{e}"
    );
    // index out of range
    let e = err(&one_role("ok = 256"), "t.toml");
    assert!(e.contains("out of range 0–255"), "{e}");
}

#[test]
fn a_valid_override_changes_only_that_role() {
    let text = one_role("warning = { fg = \"#ff8800\", modifiers = [\"bold\", \"italic\"] }");
    let t = Theme::parse(&text, "t.toml").unwrap();
    assert_eq!(
        t.warning,
        Style::default()
            .fg(Color::Rgb(0xff, 0x88, 0x00))
            .add_modifier(Modifier::BOLD | Modifier::ITALIC)
    );
    let mut expected = Theme::fallback();
    expected.name = "t".into();
    expected.warning = t.warning;
    assert_eq!(t, expected);
}

#[test]
fn user_themes_are_found_and_override_bundled_ones() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("ocean.toml"), one_role("title = \"blue\"")).unwrap();
    // A user "light" replaces the bundled one; extending its own name means the bundled one.
    fs::write(
        dir.path().join("light.toml"),
        "extends = \"light\"\n[roles]\nerror = \"#ff0000\"\n",
    )
    .unwrap();

    let ocean = resolve_in(Some("ocean"), false, Some(dir.path())).unwrap();
    assert_eq!(ocean.title, Style::default().fg(Color::Blue));
    assert_eq!(ocean.name, "t");

    let light = resolve_in(Some("light"), false, Some(dir.path())).unwrap();
    let bundled_light = resolve_in(Some("light"), false, None).unwrap();
    assert_eq!(light.error, Style::default().fg(Color::Rgb(255, 0, 0)));
    assert_eq!(light.base, bundled_light.base);
    assert_ne!(light.error, bundled_light.error);

    // Without the user dir, "ocean" is unknown, and the error lists what exists.
    match resolve_in(Some("ocean"), false, None).unwrap_err() {
        ThemeError::Unknown { name, available } => {
            assert_eq!(name, "ocean");
            assert_eq!(available, ["default", "light", "mono", "high-contrast"]);
        }
        other => panic!("{other:?}"),
    }
    let e = resolve_in(Some("ligth"), false, Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("unknown theme \"ligth\" (did you mean \"light\"?); available: "),
        "{e}"
    );
    let e = resolve_in(Some("zzz"), false, Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "unknown theme \"zzz\"; available: default, light, mono, high-contrast, ocean (or give a path to a .toml file)"
    );
}

#[test]
fn user_themes_may_extend_each_other_but_not_in_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("base.toml"), one_role("ok = \"blue\"")).unwrap();
    fs::write(
        dir.path().join("child.toml"),
        "extends = \"base\"\n[roles]\nerror = \"white\"\n",
    )
    .unwrap();
    let child = resolve_in(Some("child"), false, Some(dir.path())).unwrap();
    assert_eq!(child.ok.fg, Some(Color::Blue));
    assert_eq!(child.error.fg, Some(Color::White));
    assert_eq!(child.name, "child");

    fs::write(dir.path().join("a.toml"), "extends = \"b\"\n").unwrap();
    fs::write(dir.path().join("b.toml"), "extends = \"a\"\n").unwrap();
    let e = resolve_in(Some("a"), false, Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("extends: more than 8 themes extend each other"),
        "{e}"
    );
}

#[test]
fn an_error_in_a_user_theme_names_that_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    fs::write(&path, one_role("stuk = \"red\"")).unwrap();
    let e = resolve_in(Some("bad"), false, Some(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("bad.toml:5: roles.stuk: unknown role (did you mean \"stuck\"?)"),
        "{e}"
    );
    assert!(e.contains(&dir.path().display().to_string()), "{e}");
    // Also when reached through a path spec.
    let e = resolve_in(Some(path.to_str().unwrap()), false, None)
        .unwrap_err()
        .to_string();
    assert!(e.ends_with("bad.toml:5: roles.stuk: unknown role (did you mean \"stuck\"?)"));
}

#[test]
fn path_specs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    fs::write(&path, one_role("key = \"lightblue\"")).unwrap();
    let t = resolve_in(Some(path.to_str().unwrap()), false, None).unwrap();
    assert_eq!(t.key, Style::default().fg(Color::LightBlue));

    let missing = dir.path().join("nope.toml");
    let e = resolve_in(Some(missing.to_str().unwrap()), false, None).unwrap_err();
    assert!(matches!(e, ThemeError::Read { .. }), "{e:?}");
    let e = e.to_string();
    assert!(e.starts_with("theme file "), "{e}");
    assert!(e.contains(&missing.display().to_string()), "{e}");
    assert!(e.contains("cannot read it"), "{e}");

    // A bare name ending in .toml is a path (relative), not a theme name.
    let e = resolve_in(Some("default.toml"), false, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("theme file default.toml: cannot read it"),
        "{e}"
    );
}

#[test]
fn no_color_wins_over_any_spec() {
    for spec in [
        None,
        Some("light"),
        Some("does-not-exist"),
        Some("/no/such.toml"),
    ] {
        assert_eq!(
            resolve_in(spec, true, None).unwrap(),
            Theme::no_color(),
            "{spec:?}"
        );
    }
    let t = Theme::resolve(Some("mono"), true).unwrap();
    for (role, style) in t.roles() {
        assert_eq!(style.fg, None, "{role}");
        assert_eq!(style.bg, None, "{role}");
    }
}

#[test]
fn listing_and_report_show_user_themes_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("ocean.toml"), one_role("title = \"blue\"")).unwrap();
    fs::write(dir.path().join("mono.toml"), one_role("title = \"red\"")).unwrap();
    fs::write(dir.path().join("broken.toml"), one_role("ok = \"#zzzzzz\"")).unwrap();
    fs::write(dir.path().join("notes.txt"), "not a theme").unwrap();

    let list = list_themes_in(Some(dir.path()));
    let names: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "default",
            "light",
            "mono",
            "high-contrast",
            "broken",
            "mono",
            "ocean"
        ]
    );
    let broken = list.iter().find(|t| t.name == "broken").unwrap();
    assert_eq!(
        broken.origin,
        ThemeOrigin::User(dir.path().join("broken.toml"))
    );
    let error = broken.error.as_deref().unwrap();
    assert!(error.ends_with("broken.toml:5: roles.ok: bad hex colour \"#zzzzzz\": expected #rrggbb, e.g. \"#1e1e2e\""), "{error}");
    assert!(
        list.iter()
            .filter(|t| t.name != "broken")
            .all(|t| t.error.is_none())
    );

    let report = themes_report_in(Some(dir.path()));
    assert!(
        report.contains("bundled (overridden by a user theme)"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "User themes are read from {}",
            dir.path().display()
        )),
        "{report}"
    );
    assert!(report.contains("Broken user themes:"), "{report}");
    assert!(report.contains(error), "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.trim_start().starts_with("broken") && l.contains("BROKEN")),
        "{report}"
    );

    let missing = dir.path().join("absent");
    let report = themes_report_in(Some(&missing));
    assert!(report.contains("(does not exist yet)"), "{report}");
    assert!(!report.contains("Broken"), "{report}");
}

#[test]
fn public_entry_points_use_the_real_directories() {
    // The default-path functions must at least list every bundled theme.
    let list = theme::list_themes();
    for (name, _) in BUNDLED {
        assert!(
            list.iter()
                .any(|t| t.name == *name && t.origin == ThemeOrigin::Bundled)
        );
    }
    assert!(
        theme::themes_report().starts_with("Themes (choose with --theme NAME or --theme PATH):")
    );
}

#[test]
fn docs_show_the_real_format_and_a_working_example() {
    let docs = include_str!("../docs/config.md");
    let default = BUNDLED.iter().find(|(n, _)| *n == "default").unwrap().1;
    assert!(
        docs.contains(default),
        "docs/config.md must embed themes/default.toml verbatim"
    );
    let start = docs
        .find("# ~/.config/spotcheck/themes/ocean.toml")
        .unwrap();
    let example = &docs[start..start + docs[start..].find("```").unwrap()];
    let t = Theme::parse(example, "ocean.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.header.bg, Some(Color::Rgb(0x1e, 0x3a, 0x5f)));
}

/// xterm's default RGB for a colour (`None`: the terminal's own colour).
fn xterm_rgb(c: Color) -> Option<(u8, u8, u8)> {
    const ANSI: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let index = match c {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => return Some((r, g, b)),
        Color::Indexed(n) => n,
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
    };
    Some(match index {
        0..=15 => ANSI[usize::from(index)],
        16..=231 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            let n = index - 16;
            (level(n / 36), level(n / 6 % 6), level(n % 6))
        }
        _ => {
            let g = 8 + 10 * (index - 232);
            (g, g, g)
        }
    })
}

/// WCAG contrast ratio.
fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    fn lum((r, g, b): (u8, u8, u8)) -> f64 {
        let f = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)
    }
    let (x, y) = (lum(a), lum(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// Every role's text must reach `min(role)` contrast against its own
/// background, or against each of `screens` when it has none.
fn check_contrast(name: &str, screens: &[(u8, u8, u8)], min: impl Fn(&str) -> f64) {
    let t = resolve_in(Some(name), false, None).unwrap();
    for (role, style) in t.roles() {
        let Some(fg) = style.fg.and_then(xterm_rgb) else {
            continue;
        };
        let backs: Vec<(u8, u8, u8)> = match style.bg.and_then(xterm_rgb) {
            Some(bg) => vec![bg],
            None => screens.to_vec(),
        };
        for bg in backs {
            let ratio = contrast(fg, bg);
            assert!(
                ratio >= min(role),
                "{name}: {role} {fg:?} on {bg:?} has contrast {ratio:.2}, needs {}",
                min(role)
            );
        }
    }
}

#[test]
fn contrast_check_is_calibrated() {
    assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 0.01);
    assert_eq!(xterm_rgb(Color::Indexed(236)), Some((48, 48, 48)));
    assert_eq!(xterm_rgb(Color::Indexed(25)), Some((0, 95, 175)));
    assert_eq!(xterm_rgb(Color::LightBlue), Some((92, 92, 255)));
    // Blue alone on black is what mono must avoid.
    assert!(contrast(xterm_rgb(Color::Blue).unwrap(), (0, 0, 0)) < 3.0);
}

#[test]
fn light_theme_reads_on_white() {
    check_contrast("light", &[(255, 255, 255)], |role| match role {
        "border" => 2.0,
        "muted" | "stopped" => 3.0,
        _ => 4.5,
    });
}

#[test]
fn high_contrast_theme_reads_on_black() {
    check_contrast("high-contrast", &[(0, 0, 0)], |_| 4.5);
}

#[test]
fn mono_reads_on_black_and_on_white() {
    // Magenta, light blue and light red are all close to 4:1 on both.
    check_contrast("mono", &[(0, 0, 0), (255, 255, 255)], |_| 3.95);
}
