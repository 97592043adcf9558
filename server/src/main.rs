//! The `headend` binary: parse the command line, run one subcommand, map errors to an
//! exit code. Everything else lives in the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = <cli::Cli as clap::Parser>::parse();
    cli::init_logging(&args);
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            // One line, the whole chain: what failed and why.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
