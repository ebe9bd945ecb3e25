//! `badges`: the Open Badges 3.0 platform on one machine.
//!
//! Offline commands work on files and print to stdout: `keygen`, `sign`, `verify`, `bake`,
//! `unbake`. Every failure is one line on stderr and a non-zero exit: 2 for a usage or input
//! error, 1 for a credential that does not verify.

mod offline;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = offline::Cli::parse();
    match offline::run(cli) {
        Ok(code) => code,
        Err(error) => {
            // One line: the chain of causes joined, never a backtrace.
            eprintln!("badges: {}", format!("{error:#}").replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
