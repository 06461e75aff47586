//! The config file: lenient loading with file:line:key warnings.

#![allow(clippy::unwrap_used)] // test helpers: a failed setup should panic loudly

use std::fs;
use std::path::PathBuf;

use spotcheck::config::file::{Config, DemoDefaults, EXAMPLE, Warning};

fn warnings_text(w: &[Warning]) -> Vec<String> {
    w.iter().map(ToString::to_string).collect()
}

#[test]
fn the_documented_example_loads_cleanly_and_is_in_the_docs() {
    let (config, warnings) = Config::parse(EXAMPLE, "config.toml");
    assert_eq!(warnings, []);
    assert_eq!(config.theme.as_deref(), Some("default"));
    assert!(!config.read_only);
    let log = config.log_file.unwrap();
    assert!(
        log.ends_with(".local/state/spotcheck/spotcheck.log"),
        "{log:?}"
    );
    assert!(!log.starts_with("~"), "{log:?}");
    assert_eq!(
        config.demo,
        DemoDefaults {
            speed: Some(1.0),
            start_at: Some("0".into())
        }
    );
    let docs = include_str!("../docs/config.md");
    assert!(
        docs.contains(EXAMPLE),
        "docs/config.md must contain file::EXAMPLE verbatim"
    );
}

#[test]
fn a_missing_file_is_an_empty_config() {
    let dir = tempfile::tempdir().unwrap();
    let (config, warnings) = Config::load_from(&dir.path().join("config.toml"));
    assert_eq!(config, Config::default());
    assert_eq!(warnings, []);
}

#[test]
fn values_are_read_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    fs::write(
        &path,
        "theme = \"mono\"\nread_only = true\nlog_file = \"/tmp/sc.log\"\n[demo]\nspeed = 10\nstart_at = \"4m\"\n",
    )
    .unwrap();
    let (config, warnings) = Config::load_from(&path);
    assert_eq!(warnings, []);
    assert_eq!(
        config,
        Config {
            theme: Some("mono".into()),
            read_only: true,
            log_file: Some(PathBuf::from("/tmp/sc.log")),
            demo: DemoDefaults {
                speed: Some(10.0),
                start_at: Some("4m".into())
            },
            aws: Default::default(),
        }
    );
}

#[test]
fn aws_enabled_turns_the_aws_sources_on_and_bad_values_warn() {
    let (config, warnings) = Config::parse("[aws]\nenabled = true\n", "config.toml");
    assert_eq!(warnings, []);
    assert!(config.aws.enabled);
    assert!(!Config::default().aws.enabled, "off unless asked for");

    let (config, warnings) = Config::parse(
        "theme = \"mono\"\n[aws]\nenabled = \"yes\"\nregoin = \"eu-west-1\"\n",
        "config.toml",
    );
    assert!(!config.aws.enabled);
    assert_eq!(config.theme.as_deref(), Some("mono"), "the rest applies");
    assert_eq!(
        warnings_text(&warnings),
        [
            "config.toml:3: aws.enabled: expected true or false, found string; ignored",
            "config.toml:4: aws.regoin: unknown key; ignored (known: enabled)",
        ]
    );
    let (_, warnings) = Config::parse("aws = true\n", "config.toml");
    assert_eq!(
        warnings_text(&warnings),
        ["config.toml:1: aws: expected a table ([aws]), found boolean; ignored"]
    );
}

#[test]
fn bad_entries_warn_with_file_line_key_and_the_rest_applies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = "\
theme = \"light\"
them = \"mono\"
read_only = \"yes\"
log_file = 7

[demo]
sped = 3
speed = 0
start_at = \"90s\"
";
    fs::write(&path, text).unwrap();
    let (config, warnings) = Config::load_from(&path);
    let file = path.display().to_string();
    assert_eq!(
        warnings_text(&warnings),
        [
            format!(
                "{file}:2: them: unknown key (did you mean \"theme\"?); ignored (known: theme, read_only, log_file, aws, demo)"
            ),
            format!("{file}:3: read_only: expected true or false, found string; ignored"),
            format!("{file}:4: log_file: expected a string, found integer; ignored"),
            format!(
                "{file}:7: demo.sped: unknown key (did you mean \"speed\"?); ignored (known: speed, start_at)"
            ),
            format!("{file}:8: demo.speed: speed must be > 0 and ≤ 1000, got 0; ignored"),
        ]
    );
    assert_eq!(warnings[0].line, Some(2));
    assert_eq!(warnings[0].key.as_deref(), Some("them"));
    assert_eq!(config.theme.as_deref(), Some("light"));
    assert!(!config.read_only);
    assert_eq!(config.log_file, None);
    assert_eq!(config.demo.speed, None);
    assert_eq!(config.demo.start_at.as_deref(), Some("90s"));
}

#[test]
fn wrong_shapes_and_empty_strings_warn() {
    let text = "demo = 3\ntheme = \"\"\n";
    let (config, warnings) = Config::parse(text, "c.toml");
    assert_eq!(
        warnings_text(&warnings),
        [
            "c.toml:1: demo: expected a table ([demo]), found integer; ignored",
            "c.toml:2: theme: is empty; ignored",
        ]
    );
    assert_eq!(config, Config::default());
}

#[test]
fn a_syntax_error_warns_with_its_line_and_the_rest_still_applies() {
    let text = "read_only = true\ntheme = \"mono\nlog_file = \"/tmp/x.log\"\n";
    let (config, warnings) = Config::parse(text, "c.toml");
    assert!(!warnings.is_empty());
    let first = warnings[0].to_string();
    assert!(first.starts_with("c.toml:2: not valid TOML"), "{first}");
    assert!(config.read_only, "entries before the error still apply");
}

#[test]
fn an_unreadable_file_is_a_warning_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be.
    let (config, warnings) = Config::load_from(dir.path());
    assert_eq!(config, Config::default());
    assert_eq!(warnings.len(), 1);
    let w = warnings[0].to_string();
    assert!(w.starts_with(&dir.path().display().to_string()), "{w}");
    assert!(w.contains("cannot read the config file"), "{w}");
}

#[test]
fn the_default_path_is_config_toml_in_the_config_dir() {
    if let Some(path) = Config::path() {
        assert!(path.ends_with("spotcheck/config.toml"), "{path:?}");
    }
    // load() must never panic, whatever is (or is not) on this machine.
    let _ = Config::load();
}
