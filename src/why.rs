//! `spotcheck why`: diagnose once and print (text, JSON, Markdown).
