use clap::Parser;
use spotcheck::cli::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Why(args) => spotcheck::why::run(args),
        _ => {
            eprintln!("spotcheck: not wired yet");
            2
        }
    };
    std::process::exit(code);
}
