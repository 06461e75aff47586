//! `spotcheck why`: diagnose once and print (text, JSON, Markdown).

use crate::cli::WhyArgs;

/// Runs `spotcheck why`: prints the diagnosis to stdout, problems to stderr.
/// Exit code: 0 nothing needs attention, 1 something does, 2 bad input.
pub fn run(args: &WhyArgs) -> i32 {
    let _ = args;
    2
}
