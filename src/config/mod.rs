//! Paths (XDG via `directories`), configuration and themes.

pub mod paths;
pub mod theme;
