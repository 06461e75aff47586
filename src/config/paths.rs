//! Where spotcheck reads and writes: config dir (themes), state dir (logs).

use std::path::PathBuf;

use directories::ProjectDirs;

fn dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "spotcheck")
}

/// `~/.config/spotcheck` on Linux.
pub fn config_dir() -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().to_path_buf())
}

/// User themes: `<config dir>/themes/*.toml`.
pub fn user_theme_dir() -> Option<PathBuf> {
    config_dir().map(|d| d.join("themes"))
}

/// `~/.local/state/spotcheck` on Linux (falls back to the data dir).
pub fn state_dir() -> Option<PathBuf> {
    dirs().map(|d| {
        d.state_dir()
            .unwrap_or_else(|| d.data_local_dir())
            .to_path_buf()
    })
}

/// Default log file.
pub fn default_log_file() -> PathBuf {
    state_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("spotcheck.log")
}
