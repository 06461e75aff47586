//! Thin binary: parse the command line, read the config, start logging, dispatch.

use clap::Parser;
use spotcheck::app::launch::{self, Settings};
use spotcheck::cli::{Cli, Command};
use spotcheck::config::file::Config;
use spotcheck::config::theme::Theme;

fn main() {
    let process_start = std::time::Instant::now();
    let cli = Cli::parse();
    let code = real_main(cli, process_start);
    std::process::exit(code);
}

fn real_main(cli: Cli, process_start: std::time::Instant) -> i32 {
    // Layers: embedded defaults, then the config file, then environment and flags.
    let (config, config_warnings) = Config::load();
    let config_warnings: Vec<String> = config_warnings.iter().map(|w| w.to_string()).collect();
    let log_file = cli.log_file.clone().or(config.log_file.clone());
    let log_path = spotcheck::logging::resolve_path(log_file.as_deref());
    let _log_guard = match spotcheck::logging::init(&log_path) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("spotcheck: {e}");
            return 2;
        }
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "start");
    for w in &config_warnings {
        tracing::warn!("config: {w}");
    }
    let theme = cli.theme.clone().or(config.theme.clone());
    let settings = || -> Result<Settings, String> {
        let no_color = spotcheck::term::no_color_requested();
        // Resolved before the terminal is touched: a broken theme is a clear
        // error on a normal screen, not a garbled TUI.
        let theme = Theme::resolve(theme.as_deref(), no_color).map_err(|e| e.to_string())?;
        Ok(Settings {
            theme,
            theme_loader: Box::new(move |name| {
                // Validate the name even under NO_COLOR, where colours are off anyway.
                let t = Theme::resolve(Some(name), false).map_err(|e| e.to_string())?;
                Ok(if no_color { Theme::no_color() } else { t })
            }),
            process_start,
            demo_defaults: config.demo.clone(),
            config_warnings: config_warnings.clone(),
        })
    };
    let tui = |run: &dyn Fn(Settings) -> i32| match settings() {
        Ok(s) => run(s),
        Err(e) => {
            eprintln!("spotcheck: {e}");
            2
        }
    };
    // `[aws] enabled = true` in the config file is `--aws` on every run.
    let mut live = cli.live.clone();
    live.aws |= config.aws.enabled;
    let Some(command) = &cli.command else {
        return tui(&|s| launch::live(&live, s));
    };
    match command {
        Command::Why(args) => {
            for w in &config_warnings {
                eprintln!("spotcheck: config: {w}");
            }
            if args.files.is_empty() {
                why_live(&cli.live, args)
            } else {
                spotcheck::why::run(args)
            }
        }
        Command::Themes => {
            print!("{}", spotcheck::config::theme::themes_report());
            0
        }
        Command::Demo(args) => tui(&|s| launch::demo(args, s)),
        Command::Replay(args) => tui(&|s| launch::replay(args, s)),
    }
}

/// `spotcheck why` without `-f`: read the live sources once, then print as `why -f` does.
fn why_live(live: &spotcheck::cli::LiveArgs, args: &spotcheck::cli::WhyArgs) -> i32 {
    use spotcheck::sources::Health;
    let timeout = std::time::Duration::from_secs(60);
    let fleet = match launch::collect(live, timeout) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("spotcheck: {e}");
            return spotcheck::why::EXIT_BAD_INPUT;
        }
    };
    // What could not be read is said, never silently missing.
    let mut unreadable = false;
    for (source, health) in &fleet.health {
        match health {
            Health::Live | Health::Replaying { .. } => {}
            Health::Forbidden { what } => eprintln!(
                "spotcheck: {source}: forbidden by RBAC: {what}; the diagnosis lacks that evidence \
                 (needs get/list/watch on it)"
            ),
            other => {
                unreadable = true;
                eprintln!("spotcheck: {source}: {}", other.label());
            }
        }
    }
    let now = args.now.unwrap_or_else(jiff::Timestamp::now);
    let code = spotcheck::why::report(&fleet, now, args);
    if unreadable {
        spotcheck::why::EXIT_BAD_INPUT
    } else {
        code
    }
}
