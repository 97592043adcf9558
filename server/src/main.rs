//! The `headend` binary: parse the command line, run one subcommand, map errors to an
//! exit code. Everything else lives in the library.

mod cli;

use std::process::ExitCode;

/// glibc's allocator settings for the long-running server: buffers of 128 KiB and more
/// (pictures, GOPs, HLS muxer packets) are mapped and unmapped on their own rather than cut
/// from per-thread heaps, and freed memory at the top of a heap goes back to the system
/// beyond 256 KiB; two arenas at most. With dozens of lane, output and encoder threads the
/// default dynamic thresholds kept freed picture buffers in every thread's heap: the demo's
/// 11 channels peaked at 468 MiB RSS over 10 minutes, 382 MiB with these, at the cost of
/// more CPU while screens are encoded (BENCHMARKS.md, "County-scale headend").
const MALLOC_TUNABLES: &str =
    "glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=262144:glibc.malloc.arena_max=2";

/// Starts `headend serve` again with [`MALLOC_TUNABLES`] in its environment (glibc reads
/// them only at start), unless they are set already or `GOVCHANNEL_MALLOC=default` asks
/// for glibc's defaults. Returns only if it does not (or cannot) start again.
fn tune_allocator_for_serve(serving: bool) {
    use std::os::unix::process::CommandExt;
    let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if !serving
        || current.contains("glibc.malloc.mmap_threshold")
        || std::env::var("GOVCHANNEL_MALLOC").is_ok_and(|v| v == "default")
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let tunables = if current.is_empty() {
        MALLOC_TUNABLES.to_owned()
    } else {
        format!("{current}:{MALLOC_TUNABLES}")
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GLIBC_TUNABLES", tunables)
        .exec();
    // Still here: the binary could not be started again (moved or replaced); go on with
    // glibc's defaults.
    eprintln!("note: serving with glibc's default allocator settings ({err})");
}

fn main() -> ExitCode {
    let args = <cli::Cli as clap::Parser>::parse();
    tune_allocator_for_serve(args.serves());
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
