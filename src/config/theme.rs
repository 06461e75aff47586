//! Theme = palette + roles. Views ask for a role (`theme.warning`), never a raw colour.
//!
//! Themes are TOML files (format documented at the top of `themes/default.toml`
//! and in `docs/config.md`). The bundled ones are embedded with `include_str!`;
//! user themes live in `<config dir>/themes/NAME.toml` and override a bundled
//! theme of the same name. Parsing is strict: any unknown key, role, modifier,
//! colour or palette name is an error naming the file, line and key.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{display_path, line_of, paths, suggestion};

/// Styles by role. Loaded from TOML (`themes/*.toml`), embedded defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    /// Everything not otherwise styled.
    pub base: Style,
    /// The header bar.
    pub header: Style,
    /// Pane titles.
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    /// The selected table row.
    pub selected: Style,
    /// Table column headings.
    pub column_header: Style,
    /// Secondary text (ages, counts, hints).
    pub muted: Style,
    /// Keys in the hint line and help.
    pub key: Style,
    pub ok: Style,
    pub warning: Style,
    pub error: Style,
    /// Cause codes in the detail pane.
    pub code: Style,
    /// Commands (kubectl/aws) in the detail pane.
    pub command: Style,
    /// The READ-ONLY badge.
    pub badge: Style,
    /// Filter / command line input.
    pub input: Style,
    // verdicts
    pub running: Style,
    pub pending: Style,
    pub stuck: Style,
    pub crashing: Style,
    pub stopped: Style,
    pub at_risk: Style,
}

impl Theme {
    /// Built-in dark theme (the embedded `themes/default.toml` describes the same).
    pub fn fallback() -> Theme {
        let fg = Style::default().fg(Color::Gray);
        Theme {
            name: "default".into(),
            base: fg,
            header: Style::default().fg(Color::White).bg(Color::Indexed(236)),
            title: Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            border: Style::default().fg(Color::DarkGray),
            border_focused: Style::default().fg(Color::Cyan),
            selected: Style::default()
                .bg(Color::Indexed(238))
                .add_modifier(Modifier::BOLD),
            column_header: Style::default()
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            muted: Style::default().fg(Color::DarkGray),
            key: Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            ok: Style::default().fg(Color::Green),
            warning: Style::default().fg(Color::Yellow),
            error: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            code: Style::default().fg(Color::Magenta),
            command: Style::default().fg(Color::Cyan),
            badge: Style::default()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            input: Style::default().fg(Color::White),
            running: Style::default().fg(Color::Green),
            pending: Style::default().fg(Color::Yellow),
            stuck: Style::default().fg(Color::LightRed),
            crashing: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            stopped: Style::default().fg(Color::DarkGray),
            at_risk: Style::default()
                .fg(Color::LightMagenta)
                .add_modifier(Modifier::BOLD),
        }
    }

    /// No colours at all (`NO_COLOR`): meaning is carried by text and bold/reverse only.
    pub fn no_color() -> Theme {
        let plain = Style::default();
        let bold = Style::default().add_modifier(Modifier::BOLD);
        Theme {
            name: "no-color".into(),
            base: plain,
            header: Style::default().add_modifier(Modifier::REVERSED),
            title: bold,
            border: plain,
            border_focused: bold,
            selected: Style::default().add_modifier(Modifier::REVERSED),
            column_header: bold,
            muted: plain,
            key: bold,
            ok: plain,
            warning: bold,
            error: bold,
            code: plain,
            command: plain,
            badge: Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            input: plain,
            running: plain,
            pending: plain,
            stuck: bold,
            crashing: bold,
            stopped: plain,
            at_risk: bold,
        }
    }
}

/// Generates [`ROLES`] and the by-name accessors from one list, so they cannot drift.
macro_rules! theme_roles {
    ($($field:ident),* $(,)?) => {
        /// Role names, one per style field of [`Theme`], in field order. These are
        /// the keys of a theme file's `[roles]` table.
        pub const ROLES: &[&str] = &[$(stringify!($field)),*];

        impl Theme {
            /// The style of a role by its name in theme files (`"border_focused"`).
            pub fn role(&self, name: &str) -> Option<Style> {
                match name {
                    $(stringify!($field) => Some(self.$field),)*
                    _ => None,
                }
            }

            fn role_mut(&mut self, name: &str) -> Option<&mut Style> {
                match name {
                    $(stringify!($field) => Some(&mut self.$field),)*
                    _ => None,
                }
            }
        }
    };
}

theme_roles!(
    base,
    header,
    title,
    border,
    border_focused,
    selected,
    column_header,
    muted,
    key,
    ok,
    warning,
    error,
    code,
    command,
    badge,
    input,
    running,
    pending,
    stuck,
    crashing,
    stopped,
    at_risk,
);

/// The bundled themes: name and TOML text, embedded at build time.
pub const BUNDLED: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// Modifier names accepted in `modifiers = [...]`.
const MODIFIERS: &[(&str, Modifier)] = &[
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("slow_blink", Modifier::SLOW_BLINK),
    ("rapid_blink", Modifier::RAPID_BLINK),
    ("reversed", Modifier::REVERSED),
    ("hidden", Modifier::HIDDEN),
    ("crossed_out", Modifier::CROSSED_OUT),
];

/// The 16 ANSI colour names (plus `reset`).
const NAMED_COLORS: &[(&str, Color)] = &[
    ("reset", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("darkgray", Color::DarkGray),
    ("lightred", Color::LightRed),
    ("lightgreen", Color::LightGreen),
    ("lightyellow", Color::LightYellow),
    ("lightblue", Color::LightBlue),
    ("lightmagenta", Color::LightMagenta),
    ("lightcyan", Color::LightCyan),
    ("white", Color::White),
];

const TOP_LEVEL_KEYS: &[&str] = &["name", "description", "extends", "palette", "roles"];
const STYLE_KEYS: &[&str] = &["fg", "bg", "modifiers"];
/// How many `extends` links are followed before giving up (a cycle).
const MAX_EXTENDS_DEPTH: usize = 8;

/// Why a theme could not be loaded. The message is meant for the user as is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ThemeError {
    /// The file is not a valid theme: syntax, unknown key/role/modifier, bad colour.
    #[error("{}", invalid_message(origin, *line, key.as_deref(), message))]
    Invalid {
        /// The file (`~/.config/spotcheck/themes/x.toml`, `themes/default.toml`).
        origin: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// Dotted key, e.g. `roles.warning.fg`.
        key: Option<String>,
        message: String,
    },
    /// A theme given as a path could not be read.
    #[error("theme file {path}: cannot read it: {reason}")]
    Read { path: String, reason: String },
    /// No user or bundled theme has this name.
    #[error(
        "unknown theme {name:?}{}; available: {} (or give a path to a .toml file)",
        suggestion(name, available.iter().map(String::as_str)),
        available.join(", ")
    )]
    Unknown {
        name: String,
        available: Vec<String>,
    },
}

fn invalid_message(origin: &str, line: Option<usize>, key: Option<&str>, message: &str) -> String {
    let mut out = origin.to_string();
    if let Some(line) = line {
        out.push_str(&format!(":{line}"));
    }
    out.push_str(": ");
    if let Some(key) = key {
        out.push_str(key);
        out.push_str(": ");
    }
    out.push_str(message);
    out
}

/// Where a listed theme comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThemeOrigin {
    /// Embedded in the binary (`themes/*.toml` in the source tree).
    Bundled,
    /// A file in the user theme directory.
    User(PathBuf),
}

/// One entry of `spotcheck themes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThemeInfo {
    pub name: String,
    pub origin: ThemeOrigin,
    /// Why a user theme cannot be used (bundled themes always load).
    pub error: Option<String>,
}

/// A parsed theme with its palette (kept so that `extends` can reuse it).
#[derive(Clone, Debug)]
struct Parsed {
    theme: Theme,
    palette: BTreeMap<String, Color>,
}

/// Resolves an `extends = "NAME"` reference; the `usize` is the depth.
type Lookup<'a> = dyn Fn(&str, usize) -> Result<Parsed, ThemeError> + 'a;

impl Theme {
    /// Every role with its style, in field order.
    pub fn roles(&self) -> Vec<(&'static str, Style)> {
        ROLES
            .iter()
            .filter_map(|&r| self.role(r).map(|s| (r, s)))
            .collect()
    }

    /// Parses a theme file strictly. `origin` names the file in errors. An
    /// `extends` here may only name a bundled theme (use [`Theme::resolve`] for
    /// user themes). The theme's name is its `name` key, else the file stem of
    /// `origin`.
    pub fn parse(text: &str, origin: &str) -> Result<Theme, ThemeError> {
        let stem = Path::new(origin)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("custom");
        let lookup = |name: &str, depth: usize| lookup_named(name, None, true, depth);
        parse_full(text, origin, stem, &lookup, 0).map(|p| p.theme)
    }

    /// The theme to use. `no_color` (the caller passes whether `NO_COLOR` is set
    /// and non-empty) wins over everything: [`Theme::no_color`]. Otherwise `spec`
    /// is a path (contains `/` or ends in `.toml`), or a name: a user theme
    /// `<config dir>/themes/NAME.toml`, else a bundled one. `None` is the name
    /// `default`, so a user `default.toml` replaces the bundled default too.
    pub fn resolve(spec: Option<&str>, no_color: bool) -> Result<Theme, ThemeError> {
        resolve_in(spec, no_color, paths::user_theme_dir().as_deref())
    }
}

/// [`Theme::resolve`] with the user theme directory given (`None`: no user themes).
pub fn resolve_in(
    spec: Option<&str>,
    no_color: bool,
    user_dir: Option<&Path>,
) -> Result<Theme, ThemeError> {
    if no_color {
        return Ok(Theme::no_color());
    }
    let spec = spec.map(str::trim).unwrap_or("default");
    if is_path_spec(spec) {
        let path = PathBuf::from(spec);
        let text = std::fs::read_to_string(&path).map_err(|e| ThemeError::Read {
            path: display_path(&path),
            reason: e.to_string(),
        })?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("custom")
            .to_string();
        let lookup = |name: &str, depth: usize| lookup_named(name, user_dir, false, depth);
        return parse_full(&text, &display_path(&path), &stem, &lookup, 0).map(|p| p.theme);
    }
    lookup_named(spec, user_dir, false, 0).map(|p| p.theme)
}

fn is_path_spec(spec: &str) -> bool {
    spec.contains('/') || spec.contains(std::path::MAIN_SEPARATOR) || spec.ends_with(".toml")
}

/// Finds a theme by name: the user directory first (unless `skip_user`), then
/// the bundled themes.
fn lookup_named(
    name: &str,
    user_dir: Option<&Path>,
    skip_user: bool,
    depth: usize,
) -> Result<Parsed, ThemeError> {
    if !skip_user && let Some(dir) = user_dir {
        let path = dir.join(format!("{name}.toml"));
        if path.is_file() {
            let origin = display_path(&path);
            let text = std::fs::read_to_string(&path).map_err(|e| ThemeError::Read {
                path: origin.clone(),
                reason: e.to_string(),
            })?;
            // A user theme that extends its own name means the bundled one.
            let lookup = |n: &str, d: usize| lookup_named(n, user_dir, n == name, d);
            return parse_full(&text, &origin, name, &lookup, depth);
        }
    }
    if let Some((bundled, text)) = BUNDLED.iter().find(|(n, _)| *n == name) {
        let origin = format!("themes/{bundled}.toml");
        let lookup = |n: &str, d: usize| lookup_named(n, None, true, d);
        return parse_full(text, &origin, bundled, &lookup, depth);
    }
    Err(ThemeError::Unknown {
        name: name.to_string(),
        available: available_names(if skip_user { None } else { user_dir }),
    })
}

/// Bundled names, then user names not shadowing a bundled one.
fn available_names(user_dir: Option<&Path>) -> Vec<String> {
    let mut names: Vec<String> = BUNDLED.iter().map(|(n, _)| n.to_string()).collect();
    for (name, _) in user_theme_files(user_dir) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// `*.toml` files in the user theme directory, sorted by name.
fn user_theme_files(user_dir: Option<&Path>) -> Vec<(String, PathBuf)> {
    let Some(entries) = user_dir.and_then(|d| std::fs::read_dir(d).ok()) else {
        return Vec::new();
    };
    let mut files: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
        .filter_map(|p| {
            let stem = p.file_stem()?.to_str()?.to_string();
            Some((stem, p))
        })
        .collect();
    files.sort();
    files
}

/// Bundled and user themes; a user theme that does not load carries its error.
pub fn list_themes() -> Vec<ThemeInfo> {
    list_themes_in(paths::user_theme_dir().as_deref())
}

/// [`list_themes`] with the user theme directory given.
pub fn list_themes_in(user_dir: Option<&Path>) -> Vec<ThemeInfo> {
    let mut out: Vec<ThemeInfo> = BUNDLED
        .iter()
        .map(|(name, _)| ThemeInfo {
            name: name.to_string(),
            origin: ThemeOrigin::Bundled,
            error: None,
        })
        .collect();
    for (name, path) in user_theme_files(user_dir) {
        let error = lookup_named(&name, user_dir, false, 0)
            .err()
            .map(|e| e.to_string());
        out.push(ThemeInfo {
            name,
            origin: ThemeOrigin::User(path),
            error,
        });
    }
    out
}

/// The text of `spotcheck themes`.
pub fn themes_report() -> String {
    themes_report_in(paths::user_theme_dir().as_deref())
}

/// [`themes_report`] with the user theme directory given.
pub fn themes_report_in(user_dir: Option<&Path>) -> String {
    let themes = list_themes_in(user_dir);
    let user_names: BTreeSet<&str> = themes
        .iter()
        .filter(|t| matches!(t.origin, ThemeOrigin::User(_)))
        .map(|t| t.name.as_str())
        .collect();
    let width = themes.iter().map(|t| t.name.len()).max().unwrap_or(0);
    let mut out = String::from("Themes (choose with --theme NAME or --theme PATH):\n");
    for t in &themes {
        let line = match &t.origin {
            ThemeOrigin::Bundled if user_names.contains(t.name.as_str()) => {
                "bundled (overridden by a user theme)".to_string()
            }
            ThemeOrigin::Bundled => "bundled".to_string(),
            ThemeOrigin::User(path) => {
                let state = if t.error.is_some() { "BROKEN" } else { "user" };
                format!("{state}  {}", display_path(path))
            }
        };
        out.push_str(&format!("  {:<width$}  {line}\n", t.name));
    }
    out.push('\n');
    match user_dir {
        Some(dir) => {
            let state = if dir.is_dir() {
                ""
            } else {
                " (does not exist yet)"
            };
            out.push_str(&format!(
                "User themes are read from {}{state}: NAME.toml there is --theme NAME,\n\
                 and overrides a bundled theme of the same name. Start from\n\
                 extends = \"default\" and override a few [roles].\n",
                display_path(dir)
            ));
        }
        None => out.push_str("No user theme directory: the home directory is unknown.\n"),
    }
    let broken: Vec<&ThemeInfo> = themes.iter().filter(|t| t.error.is_some()).collect();
    if !broken.is_empty() {
        out.push_str("\nBroken user themes:\n");
        for t in broken {
            if let Some(e) = &t.error {
                out.push_str(&format!("  {e}\n"));
            }
        }
    }
    out.push_str("\nNO_COLOR set and non-empty turns all colours off, whatever the theme.\n");
    out
}

/// Where errors point: the file's text and name.
struct Ctx<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> ThemeError {
        ThemeError::Invalid {
            origin: self.origin.to_string(),
            line: Some(line_of(self.text, span.start)),
            key: (!key.is_empty()).then(|| key.to_string()),
            message: message.into(),
        }
    }
}

/// Entries of a table in document order: (key, key span, value).
fn entries<'t, 'i>(
    table: &'t DeTable<'i>,
) -> Vec<(&'t str, Range<usize>, &'t Spanned<DeValue<'i>>)> {
    let mut v: Vec<_> = table
        .iter()
        .map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
        .collect();
    v.sort_by_key(|(_, span, _)| span.start);
    v
}

fn parse_full(
    text: &str,
    origin: &str,
    default_name: &str,
    lookup: &Lookup<'_>,
    depth: usize,
) -> Result<Parsed, ThemeError> {
    let ctx = Ctx { text, origin };
    if depth > MAX_EXTENDS_DEPTH {
        return Err(ThemeError::Invalid {
            origin: origin.to_string(),
            line: None,
            key: Some("extends".into()),
            message: format!("more than {MAX_EXTENDS_DEPTH} themes extend each other (a cycle?)"),
        });
    }
    let root = DeTable::parse(text).map_err(|e| ThemeError::Invalid {
        origin: origin.to_string(),
        line: e.span().map(|s| line_of(text, s.start)),
        key: None,
        message: format!("not valid TOML: {}", e.message().trim()),
    })?;
    let root = root.get_ref();

    let mut name = default_name.to_string();
    let mut extends: Option<(String, Range<usize>)> = None;
    let mut palette_table = None;
    let mut roles_table = None;
    for (key, span, value) in entries(root) {
        match key {
            "name" | "description" | "extends" => {
                let Some(s) = value.get_ref().as_str() else {
                    return Err(ctx.err(
                        span,
                        key,
                        format!("expected a string, found {}", value.get_ref().type_str()),
                    ));
                };
                match key {
                    "name" => name = s.to_string(),
                    "extends" => extends = Some((s.to_string(), span)),
                    _ => {}
                }
            }
            "palette" | "roles" => {
                let Some(t) = value.get_ref().as_table() else {
                    return Err(ctx.err(span, key, "expected a table ([palette] / [roles])"));
                };
                if key == "palette" {
                    palette_table = Some(t);
                } else {
                    roles_table = Some((t, span));
                }
            }
            other => {
                return Err(ctx.err(
                    span,
                    other,
                    format!(
                        "unknown key{}; a theme has {}",
                        suggestion(other, TOP_LEVEL_KEYS.iter().copied()),
                        TOP_LEVEL_KEYS.join(", ")
                    ),
                ));
            }
        }
    }

    let (mut theme, mut palette, inherited) = match &extends {
        Some((parent, span)) => match lookup(parent, depth + 1) {
            Ok(p) => (p.theme, p.palette, true),
            Err(ThemeError::Unknown { available, .. }) => {
                return Err(ctx.err(
                    span.clone(),
                    "extends",
                    format!(
                        "unknown theme {parent:?}{}; available: {}",
                        suggestion(parent, available.iter().map(String::as_str)),
                        available.join(", ")
                    ),
                ));
            }
            Err(e) => return Err(e),
        },
        None => (blank_theme(), BTreeMap::new(), false),
    };

    if let Some(table) = palette_table {
        for (key, span, value) in entries(table) {
            let full = format!("palette.{key}");
            if named_color(key).is_some() {
                return Err(ctx.err(
                    span,
                    &full,
                    "a palette name cannot be a colour name; pick another name",
                ));
            }
            // An entry may name an earlier (or inherited) palette entry.
            let color = parse_color(value.get_ref(), &palette)
                .map_err(|m| ctx.err(value.span(), &full, m))?;
            palette.insert(key.to_string(), color);
        }
    }

    let mut seen = BTreeSet::new();
    if let Some((table, _)) = roles_table {
        for (key, span, value) in entries(table) {
            let full = format!("roles.{key}");
            let style = parse_style(&ctx, &full, value, &palette)?;
            let Some(slot) = theme.role_mut(key) else {
                return Err(ctx.err(
                    span,
                    &full,
                    format!("unknown role{}", suggestion(key, ROLES.iter().copied())),
                ));
            };
            *slot = style;
            seen.insert(key);
        }
    }
    if !inherited {
        let missing: Vec<&str> = ROLES
            .iter()
            .copied()
            .filter(|r| !seen.contains(r))
            .collect();
        if !missing.is_empty() {
            let (span, key) = match roles_table {
                Some((_, span)) => (span, "roles"),
                None => (0..0, ""),
            };
            return Err(ctx.err(
                span,
                key,
                format!(
                    "missing role{}: {}; set them, or add extends = \"default\" to inherit the rest",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", ")
                ),
            ));
        }
    }
    theme.name = name;
    Ok(Parsed { theme, palette })
}

fn blank_theme() -> Theme {
    let mut t = Theme::no_color();
    for role in ROLES {
        if let Some(s) = t.role_mut(role) {
            *s = Style::default();
        }
    }
    t
}

fn parse_style(
    ctx: &Ctx<'_>,
    key: &str,
    value: &Spanned<DeValue<'_>>,
    palette: &BTreeMap<String, Color>,
) -> Result<Style, ThemeError> {
    let table = match value.get_ref() {
        DeValue::Table(t) => t,
        DeValue::String(_) | DeValue::Integer(_) => {
            let fg =
                parse_color(value.get_ref(), palette).map_err(|m| ctx.err(value.span(), key, m))?;
            return Ok(Style::default().fg(fg));
        }
        other => {
            return Err(ctx.err(
                value.span(),
                key,
                format!(
                    "expected a colour or {{ fg = \"…\", bg = \"…\", modifiers = [\"bold\"] }}, found {}",
                    other.type_str()
                ),
            ));
        }
    };
    let mut style = Style::default();
    for (field, span, v) in entries(table) {
        let full = format!("{key}.{field}");
        match field {
            "fg" | "bg" => {
                let c =
                    parse_color(v.get_ref(), palette).map_err(|m| ctx.err(v.span(), &full, m))?;
                style = if field == "fg" {
                    style.fg(c)
                } else {
                    style.bg(c)
                };
            }
            "modifiers" => {
                let Some(items) = v.get_ref().as_array() else {
                    return Err(ctx.err(
                        v.span(),
                        &full,
                        "expected a list, e.g. modifiers = [\"bold\", \"reversed\"]",
                    ));
                };
                for item in items.iter() {
                    let Some(word) = item.get_ref().as_str() else {
                        return Err(ctx.err(
                            item.span(),
                            &full,
                            "expected a modifier name (a string)",
                        ));
                    };
                    let Some((_, m)) = MODIFIERS.iter().find(|(n, _)| *n == word) else {
                        let names: Vec<&str> = MODIFIERS.iter().map(|(n, _)| *n).collect();
                        return Err(ctx.err(
                            item.span(),
                            &full,
                            format!(
                                "unknown modifier {word:?}{}; known: {}",
                                suggestion(word, names.iter().copied()),
                                names.join(", ")
                            ),
                        ));
                    };
                    style = style.add_modifier(*m);
                }
            }
            other => {
                return Err(ctx.err(
                    span,
                    &full,
                    format!(
                        "unknown key{}; a role has fg, bg and modifiers",
                        suggestion(other, STYLE_KEYS.iter().copied())
                    ),
                ));
            }
        }
    }
    Ok(style)
}

/// `"lightred"`, `"dark_gray"`, `"Grey"` → the ANSI colour.
fn named_color(name: &str) -> Option<Color> {
    let norm: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .collect::<String>()
        .to_ascii_lowercase()
        .replace("grey", "gray");
    NAMED_COLORS
        .iter()
        .find(|(n, _)| *n == norm)
        .map(|(_, c)| *c)
}

fn index_color(n: i128) -> Result<Color, String> {
    u8::try_from(n)
        .map(Color::Indexed)
        .map_err(|_| format!("colour index {n} is out of range 0–255"))
}

/// A colour value: `#rrggbb`, an ANSI name, `reset`, `indexed(N)`, an integer
/// 0–255, or a palette name. The error is a message without location.
fn parse_color(value: &DeValue<'_>, palette: &BTreeMap<String, Color>) -> Result<Color, String> {
    let s = match value {
        DeValue::Integer(i) => {
            let n = i128::from_str_radix(i.as_str(), i.radix())
                .map_err(|_| format!("colour index {i} is not a number"))?;
            return index_color(n);
        }
        DeValue::String(s) => s.trim(),
        other => {
            return Err(format!(
                "expected a colour (\"#rrggbb\", \"red\", \"indexed(236)\", 236 or a palette name), found {}",
                other.type_str()
            ));
        }
    };
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0);
            return Ok(Color::Rgb(byte(0), byte(2), byte(4)));
        }
        return Err(format!(
            "bad hex colour {s:?}: expected #rrggbb, e.g. \"#1e1e2e\""
        ));
    }
    if let Some(inner) = s.strip_prefix("indexed(").and_then(|r| r.strip_suffix(')')) {
        let n: i128 = inner
            .trim()
            .parse()
            .map_err(|_| format!("bad colour {s:?}: expected indexed(N) with N in 0–255"))?;
        return index_color(n);
    }
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        let n: i128 = s
            .parse()
            .map_err(|_| format!("colour index {s} is out of range 0–255"))?;
        return index_color(n);
    }
    if let Some(c) = named_color(s) {
        return Ok(c);
    }
    if let Some(c) = palette.get(s) {
        return Ok(*c);
    }
    let candidates = palette
        .keys()
        .map(String::as_str)
        .chain(NAMED_COLORS.iter().map(|(n, _)| *n));
    Err(format!(
        "unknown colour or palette name {s:?}{}",
        suggestion(s, candidates)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled(name: &str) -> &'static str {
        BUNDLED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .unwrap()
    }

    #[test]
    fn embedded_default_is_the_fallback() {
        let parsed = Theme::parse(bundled("default"), "themes/default.toml").unwrap();
        let fallback = Theme::fallback();
        for role in ROLES {
            assert_eq!(parsed.role(role), fallback.role(role), "role {role}");
        }
        assert_eq!(parsed, fallback);
    }

    #[test]
    fn roles_cover_every_field() {
        // Exhaustive destructuring: adding a field to Theme fails to compile here
        // until the field is added to this test (and to `theme_roles!`).
        let Theme {
            name: _,
            base,
            header,
            title,
            border,
            border_focused,
            selected,
            column_header,
            muted,
            key,
            ok,
            warning,
            error,
            code,
            command,
            badge,
            input,
            running,
            pending,
            stuck,
            crashing,
            stopped,
            at_risk,
        } = Theme::fallback();
        let fields = [
            base,
            header,
            title,
            border,
            border_focused,
            selected,
            column_header,
            muted,
            key,
            ok,
            warning,
            error,
            code,
            command,
            badge,
            input,
            running,
            pending,
            stuck,
            crashing,
            stopped,
            at_risk,
        ];
        assert_eq!(ROLES.len(), fields.len());
        // Each role name reaches its own field: give every role a distinct colour.
        let mut t = Theme::fallback();
        for (i, role) in ROLES.iter().enumerate() {
            *t.role_mut(role).unwrap() = Style::default().fg(Color::Indexed(i as u8));
        }
        let t2 = t.clone();
        let got = [
            t2.base,
            t2.header,
            t2.title,
            t2.border,
            t2.border_focused,
            t2.selected,
            t2.column_header,
            t2.muted,
            t2.key,
            t2.ok,
            t2.warning,
            t2.error,
            t2.code,
            t2.command,
            t2.badge,
            t2.input,
            t2.running,
            t2.pending,
            t2.stuck,
            t2.crashing,
            t2.stopped,
            t2.at_risk,
        ];
        for (i, style) in got.iter().enumerate() {
            assert_eq!(style.fg, Some(Color::Indexed(i as u8)), "role {}", ROLES[i]);
        }
        assert_eq!(t.roles().len(), ROLES.len());
    }

    #[test]
    fn every_bundled_theme_parses_with_its_name() {
        for (name, text) in BUNDLED {
            let t = Theme::parse(text, &format!("themes/{name}.toml"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&t.name, name);
        }
    }

    fn is_ansi16(c: Color) -> bool {
        !matches!(c, Color::Rgb(..) | Color::Indexed(_))
    }

    #[test]
    fn mono_uses_only_ansi_colours_and_reads_on_any_background() {
        let t = Theme::parse(bundled("mono"), "themes/mono.toml").unwrap();
        for (role, style) in t.roles() {
            for c in [style.fg, style.bg].into_iter().flatten() {
                assert!(is_ansi16(c), "{role} uses {c:?}");
            }
            // A foreground without a background must read on black and on white.
            if style.bg.is_none()
                && let Some(fg) = style.fg
            {
                assert!(
                    matches!(
                        fg,
                        Color::Reset | Color::Magenta | Color::LightBlue | Color::LightRed
                    ),
                    "{role}: {fg:?} alone is unreadable on a black or a white background"
                );
            }
        }
        // Meaning never rests on colour alone for what matters.
        for role in ["error", "crashing", "stuck", "selected", "badge", "header"] {
            let s = t.role(role).unwrap();
            assert!(
                s.bg.is_some() || !s.add_modifier.is_empty(),
                "{role} needs a background or a modifier"
            );
        }
    }

    #[test]
    fn colours_in_every_spelling() {
        let p: BTreeMap<String, Color> = [("accent".to_string(), Color::Cyan)].into();
        let s = |v: &str| parse_color(&DeValue::String(v.to_string().into()), &p);
        assert_eq!(s("#1e1E2f"), Ok(Color::Rgb(0x1e, 0x1e, 0x2f)));
        assert_eq!(s("indexed(236)"), Ok(Color::Indexed(236)));
        assert_eq!(s("17"), Ok(Color::Indexed(17)));
        assert_eq!(s("dark_gray"), Ok(Color::DarkGray));
        assert_eq!(s("LightRed"), Ok(Color::LightRed));
        assert_eq!(s("grey"), Ok(Color::Gray));
        assert_eq!(s("reset"), Ok(Color::Reset));
        assert_eq!(s("accent"), Ok(Color::Cyan));
        assert!(s("#12345").unwrap_err().contains("bad hex colour"));
        assert!(s("#12345g").unwrap_err().contains("bad hex colour"));
        assert!(s("indexed(256)").unwrap_err().contains("out of range"));
        assert!(s("300").unwrap_err().contains("out of range"));
        assert_eq!(
            s("acent").unwrap_err(),
            "unknown colour or palette name \"acent\" (did you mean \"accent\"?)"
        );
        let int = parse_color(&DeValue::Integer(toml::de::DeInteger::default()), &p);
        assert_eq!(int, Ok(Color::Indexed(0)));
    }

    #[test]
    fn integer_colours_and_bare_string_roles() {
        let text =
            "extends = \"default\"\n[roles]\nmuted = 245\nok = { fg = 2, bg = \"#000000\" }\n";
        let t = Theme::parse(text, "x.toml").unwrap();
        assert_eq!(t.muted, Style::default().fg(Color::Indexed(245)));
        assert_eq!(
            t.ok,
            Style::default()
                .fg(Color::Indexed(2))
                .bg(Color::Rgb(0, 0, 0))
        );
        assert_eq!(t.name, "x");
        assert_eq!(t.warning, Theme::fallback().warning);
    }

    #[test]
    fn extends_inherits_the_palette() {
        let text = "name = \"ocean\"\nextends = \"default\"\n[roles]\nwarning = \"attention\"\n";
        let t = Theme::parse(text, "ocean.toml").unwrap();
        assert_eq!(t.name, "ocean");
        assert_eq!(t.warning.fg, Some(Color::Yellow));
    }

    #[test]
    fn without_extends_every_role_is_required() {
        let text = "[roles]\nbase = \"white\"\n";
        let e = Theme::parse(text, "part.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("part.toml:1: roles: missing roles: header, title, "),
            "{e}"
        );
        assert!(e.contains("extends = \"default\""), "{e}");
    }

    #[test]
    fn palette_may_not_shadow_colour_names() {
        let text = "extends = \"default\"\n[palette]\nred = \"#ff0000\"\n";
        let e = Theme::parse(text, "p.toml").unwrap_err().to_string();
        assert!(e.starts_with("p.toml:3: palette.red: "), "{e}");
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let text = "extends = \"default\"\n[roles]\nok = \"green\n";
        match Theme::parse(text, "s.toml").unwrap_err() {
            ThemeError::Invalid { line, message, .. } => {
                assert_eq!(line, Some(3));
                assert!(message.starts_with("not valid TOML"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parse_only_extends_bundled_themes() {
        let text = "extends = \"nope\"\n";
        let e = Theme::parse(text, "n.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("n.toml:1: extends: unknown theme \"nope\""),
            "{e}"
        );
        assert!(e.contains("default, light, mono, high-contrast"), "{e}");
    }
}
