//! Pure drawing: no I/O, no awaits.
