//! Thin binary: parse the command line, start logging, dispatch.

use clap::Parser;
use spotcheck::app::launch::{self, Settings};
use spotcheck::cli::{Cli, Command};
use spotcheck::config::theme::Theme;

fn main() {
    let process_start = std::time::Instant::now();
    let cli = Cli::parse();
    let code = real_main(cli, process_start);
    std::process::exit(code);
}

fn real_main(cli: Cli, process_start: std::time::Instant) -> i32 {
    let log_path = spotcheck::logging::resolve_path(cli.log_file.as_deref());
    let _log_guard = match spotcheck::logging::init(&log_path) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("spotcheck: {e}");
            return 2;
        }
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "start");
    match &cli.command {
        Command::Why(args) => spotcheck::why::run(args),
        Command::Themes => {
            print!("{}", spotcheck::config::theme::themes_report());
            0
        }
        Command::Demo(args) => match settings(cli.theme.as_deref(), process_start) {
            Ok(s) => launch::demo(args, s),
            Err(e) => {
                eprintln!("spotcheck: {e}");
                2
            }
        },
        Command::Replay(args) => match settings(cli.theme.as_deref(), process_start) {
            Ok(s) => launch::replay(args, s),
            Err(e) => {
                eprintln!("spotcheck: {e}");
                2
            }
        },
    }
}

/// Resolves the theme before the terminal is touched: a broken theme is a
/// clear error on a normal screen, not a garbled TUI.
fn settings(theme: Option<&str>, process_start: std::time::Instant) -> Result<Settings, String> {
    let no_color = spotcheck::term::no_color_requested();
    let theme = Theme::resolve(theme, no_color).map_err(|e| e.to_string())?;
    Ok(Settings {
        theme,
        theme_loader: Box::new(move |name| {
            Theme::resolve(Some(name), no_color).map_err(|e| e.to_string())
        }),
        process_start,
    })
}
