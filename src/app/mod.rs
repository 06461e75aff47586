//! The event loop and the single owner of state.
