//! The user config file, `<config dir>/config.toml` (`~/.config/spotcheck/config.toml`
//! on Linux). Every key is optional; a missing file is the same as an empty one.
//!
//! ```toml
//! # Theme: a bundled name (default, light, mono, high-contrast), a user theme
//! # name (<config dir>/themes/NAME.toml) or a path to a .toml file.
//! # --theme and SPOTCHECK_THEME win over this.
//! theme = "default"
//! # Never offer actions that change anything (the READ-ONLY badge shows).
//! read_only = false
//! # Log file; `~/` is the home directory. Default: spotcheck.log in the state dir.
//! log_file = "~/.local/state/spotcheck/spotcheck.log"
//!
//! [aws]
//! # Poll ECS and EC2 in the live TUI, as if --aws were given.
//! enabled = true
//!
//! [demo]
//! # Defaults for `spotcheck demo` and `spotcheck replay`; flags win.
//! speed = 1.0          # playback speed, > 0 and ≤ 1000
//! start_at = "0"       # offset into the recording, e.g. "4m", "90s"
//! ```
//!
//! Loading is lenient (STYLE.md 8): syntax errors, unknown keys and values of
//! the wrong type become [`Warning`]s naming the file, line and key; every
//! other entry still applies. Layering: these values sit between the built-in
//! defaults and the environment/flags, which the caller applies on top.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{display_path, line_of, paths, suggestion};

/// The documented example (also in `docs/config.md`); it loads without warnings.
pub const EXAMPLE: &str = r#"theme = "default"
read_only = false
log_file = "~/.local/state/spotcheck/spotcheck.log"

[demo]
speed = 1.0
start_at = "0"
"#;

const TOP_LEVEL_KEYS: &[&str] = &["theme", "read_only", "log_file", "aws", "demo"];
const DEMO_KEYS: &[&str] = &["speed", "start_at"];
const AWS_KEYS: &[&str] = &["enabled"];

/// Settings from the config file. `Default` is "no file".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// `theme = "NAME|PATH"`, as for `--theme`.
    pub theme: Option<String>,
    /// `read_only = true`: never offer actions that change anything.
    pub read_only: bool,
    /// `log_file = "PATH"` (`~/` expanded).
    pub log_file: Option<PathBuf>,
    /// `[demo]`: defaults for `demo` / `replay` playback.
    pub demo: DemoDefaults,
    /// `[aws]`: live AWS sources.
    pub aws: AwsSettings,
}

/// `[aws]` table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AwsSettings {
    /// `enabled = true`: poll ECS and EC2 in live mode, as `--aws` does.
    pub enabled: bool,
}

/// `[demo]` table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DemoDefaults {
    /// `speed = 10`: playback speed, > 0 and ≤ 1000.
    pub speed: Option<f64>,
    /// `start_at = "4m"`: offset into the recording (parsed by the caller,
    /// like `--start-at`).
    pub start_at: Option<String>,
}

/// A config entry that was ignored, or a file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The file, home shown as `~`.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted key, e.g. `demo.speed`, when the problem is about one key.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl Config {
    /// `<config dir>/config.toml`, when the home directory is known.
    pub fn path() -> Option<PathBuf> {
        paths::config_dir().map(|d| d.join("config.toml"))
    }

    /// Loads the default config file ([`Config::path`]), leniently.
    pub fn load() -> (Config, Vec<Warning>) {
        match Config::path() {
            Some(path) => Config::load_from(&path),
            None => (Config::default(), Vec::new()),
        }
    }

    /// Loads `path` leniently: a missing file is an empty config; anything
    /// wrong becomes a warning and the rest still applies.
    pub fn load_from(path: &Path) -> (Config, Vec<Warning>) {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, &display_path(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Config::default(), Vec::new()),
            Err(e) => (
                Config::default(),
                vec![Warning {
                    file: display_path(path),
                    line: None,
                    key: None,
                    message: format!("cannot read the config file ({e}); using defaults"),
                }],
            ),
        }
    }

    /// Parses config text leniently; `origin` names the file in warnings.
    pub fn parse(text: &str, origin: &str) -> (Config, Vec<Warning>) {
        let mut p = Parser {
            text,
            origin,
            warnings: Vec::new(),
        };
        let (root, errors) = DeTable::parse_recoverable(text);
        for e in errors {
            p.warnings.push(Warning {
                file: origin.to_string(),
                line: e.span().map(|s| line_of(text, s.start)),
                key: None,
                message: format!(
                    "not valid TOML ({}); the rest of the file still applies",
                    e.message().trim()
                ),
            });
        }
        let mut config = Config::default();
        for (key, span, value) in entries(root.get_ref()) {
            match key {
                "theme" => {
                    config.theme = p.string(key, value).filter(|s| p.non_empty(key, value, s))
                }
                "read_only" => {
                    if let Some(b) = p.boolean(key, value) {
                        config.read_only = b;
                    }
                }
                "log_file" => {
                    config.log_file = p
                        .string(key, value)
                        .filter(|s| p.non_empty(key, value, s))
                        .map(|s| expand_home(&s));
                }
                "aws" => match value.get_ref().as_table() {
                    Some(t) => config.aws = p.aws(t),
                    None => p.wrong_type("aws", value, "a table ([aws])"),
                },
                "demo" => match value.get_ref().as_table() {
                    Some(t) => config.demo = p.demo(t),
                    None => p.wrong_type("demo", value, "a table ([demo])"),
                },
                other => p.unknown(other, span, TOP_LEVEL_KEYS),
            }
        }
        (config, p.warnings)
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

fn expand_home(s: &str) -> PathBuf {
    if let Some(rest) = s.strip_prefix("~/")
        && let Some(home) = directories::BaseDirs::new()
    {
        return home.home_dir().join(rest);
    }
    PathBuf::from(s)
}

struct Parser<'a> {
    text: &'a str,
    origin: &'a str,
    warnings: Vec<Warning>,
}

impl Parser<'_> {
    fn warn(&mut self, span: Range<usize>, key: &str, message: String) {
        self.warnings.push(Warning {
            file: self.origin.to_string(),
            line: Some(line_of(self.text, span.start)),
            key: Some(key.to_string()),
            message,
        });
    }

    fn unknown(&mut self, key: &str, span: Range<usize>, known: &[&str]) {
        let short = key.rsplit('.').next().unwrap_or(key);
        let message = format!(
            "unknown key{}; ignored (known: {})",
            suggestion(short, known.iter().copied()),
            known.join(", ")
        );
        self.warn(span, key, message);
    }

    fn wrong_type(&mut self, key: &str, value: &Spanned<DeValue<'_>>, expected: &str) {
        let found = value.get_ref().type_str();
        self.warn(
            value.span(),
            key,
            format!("expected {expected}, found {found}; ignored"),
        );
    }

    fn string(&mut self, key: &str, value: &Spanned<DeValue<'_>>) -> Option<String> {
        match value.get_ref().as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.wrong_type(key, value, "a string");
                None
            }
        }
    }

    fn non_empty(&mut self, key: &str, value: &Spanned<DeValue<'_>>, s: &str) -> bool {
        if s.trim().is_empty() {
            self.warn(value.span(), key, "is empty; ignored".into());
            false
        } else {
            true
        }
    }

    fn boolean(&mut self, key: &str, value: &Spanned<DeValue<'_>>) -> Option<bool> {
        let b = value.get_ref().as_bool();
        if b.is_none() {
            self.wrong_type(key, value, "true or false");
        }
        b
    }

    fn number(&mut self, key: &str, value: &Spanned<DeValue<'_>>) -> Option<f64> {
        let n = match value.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            _ => None,
        };
        if n.is_none() {
            self.wrong_type(key, value, "a number");
        }
        n
    }

    fn aws(&mut self, table: &DeTable<'_>) -> AwsSettings {
        let mut aws = AwsSettings::default();
        for (key, span, value) in entries(table) {
            let full = format!("aws.{key}");
            match key {
                "enabled" => {
                    if let Some(b) = self.boolean(&full, value) {
                        aws.enabled = b;
                    }
                }
                _ => self.unknown(&full, span, AWS_KEYS),
            }
        }
        aws
    }

    fn demo(&mut self, table: &DeTable<'_>) -> DemoDefaults {
        let mut demo = DemoDefaults::default();
        for (key, span, value) in entries(table) {
            let full = format!("demo.{key}");
            match key {
                "speed" => {
                    demo.speed = self.number(&full, value).filter(|&v| {
                        let ok = v.is_finite() && v > 0.0 && v <= 1000.0;
                        if !ok {
                            self.warn(
                                value.span(),
                                &full,
                                format!("speed must be > 0 and ≤ 1000, got {v}; ignored"),
                            );
                        }
                        ok
                    });
                }
                "start_at" => {
                    demo.start_at = self
                        .string(&full, value)
                        .filter(|s| self.non_empty(&full, value, s));
                }
                _ => self.unknown(&full, span, DEMO_KEYS),
            }
        }
        demo
    }
}
