//! `badges`: the Open Badges 3.0 platform on one machine.
//!
//! `badges serve` runs the platform; the offline commands work on files and print to stdout.
//! Every failure is one line on stderr and a non-zero exit: 2 for a usage or input error,
//! 1 for a credential that does not verify.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = badges::cli::Cli::parse();
    match badges::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            // One line: the chain of causes joined, never a backtrace.
            eprintln!("badges: {}", format!("{error:#}").replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
