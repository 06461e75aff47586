//! Command line: `spotcheck demo`, `spotcheck replay FILE`, `spotcheck why -f DUMP`, `spotcheck themes`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "spotcheck",
    version,
    about = "What is not running on Kubernetes and ECS spot capacity, why, and what to do",
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Theme: a bundled name (default, light, mono, high-contrast), a name from
    /// the user theme directory, or a path to a .toml file. `spotcheck themes` lists them.
    #[arg(long, global = true, env = "SPOTCHECK_THEME", value_name = "NAME|PATH")]
    pub theme: Option<String>,

    /// Log file (default: spotcheck.log in the state directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the TUI on an embedded demo fleet (no cluster, no AWS account needed).
    Demo(DemoArgs),
    /// Open the TUI on a recording (JSONL of source events).
    Replay(ReplayArgs),
    /// Diagnose once and print: every unit that needs attention, why, and what to do.
    Why(WhyArgs),
    /// List the bundled and user themes, and where user themes are read from.
    Themes,
}

#[derive(Debug, Args, Clone)]
pub struct PlaybackArgs {
    /// Playback speed (1 = real time, 10 = ten times faster) [default: 1, or demo.speed in config]
    #[arg(long, value_parser = parse_speed)]
    pub speed: Option<f64>,
    /// Offset into the recording applied at once at start (e.g. 4m, 90s, 0).
    #[arg(long, value_name = "DURATION")]
    pub start_at: Option<String>,
    /// Start again from the beginning after the end.
    #[arg(long = "loop")]
    pub repeat: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// List the bundled scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Scenario to play.
    #[arg(long, default_value = "spot-storm")]
    pub scenario: String,
    #[command(flatten)]
    pub playback: PlaybackArgs,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Recording file (JSONL).
    pub file: PathBuf,
    #[command(flatten)]
    pub playback: PlaybackArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Human-readable, fits 80 columns.
    #[default]
    Text,
    /// Stable JSON schema (see README).
    Json,
    /// For pasting into an incident ticket.
    Markdown,
}

#[derive(Debug, Args, Clone)]
pub struct WhyArgs {
    /// A dump to diagnose: `kubectl get pods,events,nodes -A -o json` output
    /// (JSON List, concatenated JSON or YAML stream) or a JSON object of AWS
    /// CLI outputs. Repeat to join several.
    #[arg(short = 'f', long = "file", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Include healthy units.
    #[arg(long)]
    pub all: bool,
    /// Diagnose as of this time (RFC 3339) instead of now; for reproducible output.
    #[arg(long, value_name = "TIMESTAMP")]
    pub now: Option<jiff::Timestamp>,
}

fn parse_speed(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(v.is_finite() && v > 0.0 && v <= 1000.0) {
        return Err(format!("speed must be > 0 and ≤ 1000, got {s}"));
    }
    Ok(v)
}
