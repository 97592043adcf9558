//! The `stb-client` binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// GovChannel set-top-box client.
#[derive(Debug, Parser)]
#[command(name = "stb-client", version, about)]
struct Cli {
    /// Headend URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    server: String,
    /// Screen profile: sd, hd720 or hd1080.
    #[arg(long, default_value = "sd")]
    profile: String,
    /// Region code of this box.
    #[arg(long)]
    region: Option<String>,
    /// Cache directory.
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Display backend: fbdev[:DEV], window or headless.
    #[arg(long, default_value = "headless")]
    display: String,
    /// Input backend: evdev[:DEV] or keyboard.
    #[arg(long)]
    input: Option<String>,
    /// Headless script: keys to press, e.g. "2 OK DOWN OK BACK".
    #[arg(long)]
    keys: Option<String>,
    /// Save the final frame here.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Write one JSON line per key here.
    #[arg(long)]
    trace: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(script) = &cli.keys {
        if let Err(e) = stb_client::parse_keys(script) {
            eprintln!("error: --keys: {e}");
            return ExitCode::from(2);
        }
    }
    eprintln!(
        "error: navigation is not available yet: this build of stb-client cannot talk to {} (the set-top-box protocol is not implemented)",
        cli.server
    );
    ExitCode::from(3)
}
