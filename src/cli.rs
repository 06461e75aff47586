//! Command line: `spotcheck` (live), `spotcheck demo`, `spotcheck replay FILE`,
//! `spotcheck why …`, `spotcheck themes`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "spotcheck",
    version,
    about = "What is not running on Kubernetes and ECS spot capacity, why, and what to do",
    after_help = "Without a command, spotcheck opens the TUI on the current kubeconfig context \
                  (and AWS with --aws). Try `spotcheck demo` for the embedded demo fleet."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub live: LiveArgs,

    /// Theme: a bundled name (default, light, mono, high-contrast), a name from
    /// the user theme directory, or a path to a .toml file. `spotcheck themes` lists them.
    #[arg(long, global = true, env = "SPOTCHECK_THEME", value_name = "NAME|PATH")]
    pub theme: Option<String>,

    /// Log file (default: spotcheck.log in the state directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// Where live data comes from (the TUI without a command, and `why` without `-f`).
#[derive(Debug, Args, Clone, Default)]
pub struct LiveArgs {
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config; in a pod, the service account).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes context(s) to watch; repeat or comma-separate. Default: the current context.
    #[arg(
        long = "context",
        global = true,
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub contexts: Vec<String>,
    /// Watch every context in the kubeconfig.
    #[arg(long, global = true)]
    pub all_contexts: bool,
    /// Namespace to watch (default: the context's namespace).
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// Watch all namespaces.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// Do not connect to Kubernetes (AWS only, with --aws).
    #[arg(long, global = true)]
    pub no_kube: bool,
    /// Also poll ECS and EC2 (credentials from the standard AWS chain).
    #[arg(long, global = true)]
    pub aws: bool,
    /// AWS profile.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region(s); repeat or comma-separate. Default: the profile's region.
    #[arg(
        long = "region",
        global = true,
        value_name = "REGION",
        value_delimiter = ','
    )]
    pub regions: Vec<String>,
    /// ECS cluster(s) to watch; repeat or comma-separate. Default: all clusters in the region.
    #[arg(
        long = "ecs-cluster",
        global = true,
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub ecs_clusters: Vec<String>,
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
    /// Without -f, the live sources (kube contexts, and AWS with --aws) are read once.
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Limit to these units: `pod/NAME`, `node/NAME`, `task/ID`, `service/NAME` or a bare name.
    #[arg(value_name = "KIND/NAME")]
    pub targets: Vec<String>,
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
