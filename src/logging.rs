//! Logs go to a file (never the terminal): `--log-file`, else the state dir.

use std::path::{Path, PathBuf};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Starts file logging. Keep the guard alive until exit so lines are flushed.
/// `SPOTCHECK_LOG` sets the filter (default `info`).
pub fn init(path: &Path) -> Result<WorkerGuard, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "cannot create log directory {}: {e} (use --log-file PATH)",
                dir.display()
            )
        })?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            format!(
                "cannot open log file {}: {e} (use --log-file PATH)",
                path.display()
            )
        })?;
    // The default queue holds 128,000 lines (4 MB allocated up front);
    // spotcheck logs a few lines a second. Lossy: a line is dropped rather
    // than the UI blocked should the disk stall.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .lossy(true)
        .finish(file);
    let filter =
        EnvFilter::try_from_env("SPOTCHECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| format!("cannot start logging: {e}"))?;
    Ok(guard)
}

/// Log lines queued for the writer thread before lines are dropped.
const LOG_QUEUE_LINES: usize = 4096;

pub fn resolve_path(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .unwrap_or_else(crate::config::paths::default_log_file)
}
