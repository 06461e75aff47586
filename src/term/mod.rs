//! Terminal guard: raw mode and alternate screen restored on every exit path.
