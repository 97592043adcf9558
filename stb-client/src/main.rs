//! The `stb-client` binary: flags and config file, the display and input backends, the
//! run loop (interactive or scripted) and its trace.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use stb_client::app::{Client, Settings, Step};
use stb_client::display::fbdev::Fbdev;
#[cfg(feature = "window")]
use stb_client::display::window::Window;
use stb_client::display::{Display, Headless, WindowEvent};
use stb_client::Key;

/// GovChannel set-top-box client: shows the headend's screens and follows them with the
/// remote control.
#[derive(Debug, Parser)]
#[command(name = "stb-client", version, about)]
struct Cli {
    /// Config file (TOML, same names as the flags with `_` for `-`); flags win.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Headend URL (e.g. http://127.0.0.1:8080) or a bundle directory written by
    /// `headend bundle`.
    #[arg(long)]
    server: Option<String>,
    /// Screen profile: sd, sd_wide, hd720 or hd1080 [default: sd].
    #[arg(long)]
    profile: Option<String>,
    /// Region code of this box (village, town or county) [required with an http server].
    #[arg(long)]
    region: Option<String>,
    /// Cache directory [default: /var/cache/govchannel-stb].
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Cache size cap in MB [default: 64].
    #[arg(long)]
    cache_mb: Option<u64>,
    /// Manifest refresh interval in seconds [default: 60].
    #[arg(long)]
    refresh: Option<u64>,
    /// Device identification sent when registering [default: /etc/machine-id].
    #[arg(long)]
    device: Option<String>,
    /// Display: fbdev[:/dev/fbN], window or headless [default: fbdev].
    #[arg(long)]
    display: Option<String>,
    /// Headless or window size WIDTHxHEIGHT [default: the profile's].
    #[arg(long)]
    size: Option<String>,
    /// Input: evdev[:/dev/input/eventN] [default: evdev, the first device with keys].
    #[arg(long)]
    input: Option<String>,
    /// Headless: keys to press, e.g. "2 OK DOWN OK BACK", or - to read keys line by line
    /// from standard input.
    #[arg(long)]
    keys: Option<String>,
    /// Write one JSON line per key here (- for standard output).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Headless: save the final frame here as PNG.
    #[arg(long)]
    screenshot: Option<PathBuf>,
}

/// The config file: the flags' settings.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    server: Option<String>,
    profile: Option<String>,
    region: Option<String>,
    cache: Option<PathBuf>,
    cache_mb: Option<u64>,
    refresh: Option<u64>,
    device: Option<String>,
    display: Option<String>,
    input: Option<String>,
}

fn profile_size(profile: &str) -> Option<(u32, u32)> {
    Some(match profile {
        "sd" | "sd_wide" => (720, 576),
        "hd720" => (1280, 720),
        "hd1080" => (1920, 1080),
        _ => return None,
    })
}

fn device_id() -> String {
    std::fs::read_to_string("/etc/machine-id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(|s| format!("stb-{s}"))
        .unwrap_or_else(|| format!("stb-{}", std::process::id()))
}

enum Output {
    Headless(Headless),
    Fb(Box<Fbdev>),
    #[cfg(feature = "window")]
    Window(Box<Window>),
}

impl Output {
    fn display(&mut self) -> &mut dyn Display {
        match self {
            Output::Headless(h) => h,
            Output::Fb(f) => f.as_mut(),
            #[cfg(feature = "window")]
            Output::Window(w) => w.as_mut(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config: Config = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("bad config {}", path.display()))?
        }
        None => Config::default(),
    };
    let server = cli
        .server
        .or(config.server)
        .context("--server is required (a headend URL or a bundle directory)")?;
    let profile = cli
        .profile
        .or(config.profile)
        .unwrap_or_else(|| "sd".into());
    let Some(profile_px) = profile_size(&profile) else {
        bail!("--profile {profile:?}: expected sd, sd_wide, hd720 or hd1080");
    };
    let http = server.starts_with("http://") || server.starts_with("https://");
    let region = match cli.region.or(config.region) {
        Some(r) => r,
        None if !http => String::new(),
        None => bail!("--region is required with a headend URL"),
    };
    let display = cli
        .display
        .or(config.display)
        .unwrap_or_else(|| "fbdev".into());
    let keys: Option<Vec<Key>> = match cli.keys.as_deref() {
        Some("-") | None => None,
        Some(script) => Some(stb_client::parse_keys(script).context("--keys")?),
    };
    let stdin_keys = cli.keys.as_deref() == Some("-");
    let size = match &cli.size {
        Some(s) => {
            let (w, h) = s
                .split_once('x')
                .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                .filter(|&(w, h): &(u32, u32)| (16..=3840).contains(&w) && (16..=2160).contains(&h))
                .context("--size: expected WIDTHxHEIGHT, e.g. 1920x1080")?;
            (w, h)
        }
        None => profile_px,
    };
    // Window events (keys, expose, close); the remote's keys are forwarded here too.
    let (events_tx, events) = mpsc::channel::<WindowEvent>();
    let mut output = if display == "headless" {
        Output::Headless(Headless::new(size.0, size.1))
    } else if let Some(dev) = display.strip_prefix("fbdev") {
        let dev = dev.strip_prefix(':').unwrap_or("/dev/fb0");
        let fb = Fbdev::open(Path::new(dev))
            .with_context(|| format!("cannot open the framebuffer {dev}"))?;
        Output::Fb(Box::new(fb))
    } else if display == "window" {
        window(size, events_tx.clone())?
    } else {
        bail!("--display {display:?}: expected fbdev[:DEV], window or headless");
    };
    if matches!(output, Output::Headless(_)) && keys.is_none() && !stdin_keys {
        bail!("--display headless needs --keys (a script, or - for standard input)");
    }
    let outputs = Outputs {
        trace: cli.trace.clone(),
        screenshot: cli.screenshot.clone(),
    };
    let input = cli.input.clone().or(config.input);
    let settings = Settings {
        server,
        profile,
        region,
        cache: cli
            .cache
            .or(config.cache)
            .unwrap_or_else(|| "/var/cache/govchannel-stb".into()),
        cache_bytes: cli.cache_mb.or(config.cache_mb).unwrap_or(64).max(1) << 20,
        refresh: Duration::from_secs(cli.refresh.or(config.refresh).unwrap_or(60).max(5)),
        device: cli.device.or(config.device).unwrap_or_else(device_id),
        size: output.display().size(),
    };
    let mut client = Client::start(settings.clone())
        .with_context(|| format!("cannot open the cache {}", settings.cache.display()))?;
    // The first frame from the cache at once, then the headend.
    client.draw();
    output.display().show(client.frame())?;
    if client.refresh() || client.nav().is_none() {
        client.draw();
        output.display().show(client.frame())?;
    }
    let result = match &mut output {
        Output::Headless(h) => scripted(&mut client, h, keys, stdin_keys, &outputs),
        Output::Fb(fb) => {
            remote(input, events_tx)?;
            interactive(&mut client, fb.as_mut(), &events, &outputs)
        }
        #[cfg(feature = "window")]
        Output::Window(w) => {
            eprintln!("stb-client: window {:#x} open", w.id());
            interactive(&mut client, w.as_mut(), &events, &outputs)
        }
    };
    client.save_views();
    result
}

/// Where a headless run writes.
struct Outputs {
    trace: Option<PathBuf>,
    screenshot: Option<PathBuf>,
}

fn trace_line(key: Key, step: &Step, latency: Duration, client: &Client) -> String {
    serde_json::json!({
        "key": key.to_string(),
        "screen": step.screen,
        "page": step.page,
        "image": step.image,
        "latency_us": latency.as_micros() as u64,
        "source": step.origin.name(),
        "offline": client.offline(),
        "version": client.nav().map(|n| n.manifest().version.clone()),
    })
    .to_string()
}

/// The trace, if asked for: a file, or standard output for `-`.
fn open_trace(outputs: &Outputs) -> anyhow::Result<Option<Box<dyn Write>>> {
    Ok(match &outputs.trace {
        Some(p) if p.as_os_str() == "-" => Some(Box::new(std::io::stdout())),
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        ))),
        None => None,
    })
}

/// Headless: presses the script's keys (or standard input's), waiting between keys until
/// prefetching is done, as a viewer pausing between keys would.
fn scripted(
    client: &mut Client,
    display: &mut Headless,
    keys: Option<Vec<Key>>,
    stdin_keys: bool,
    outputs: &Outputs,
) -> anyhow::Result<()> {
    let mut trace = open_trace(outputs)?;
    client.wait_prefetch();
    let mut press = |client: &mut Client, key: Key| -> anyhow::Result<()> {
        client.tick();
        let started = Instant::now();
        let step = client.press(key);
        display.show(client.frame())?;
        let latency = started.elapsed();
        if let Some(t) = &mut trace {
            writeln!(t, "{}", trace_line(key, &step, latency, client))?;
            t.flush()?;
        }
        if client.tick() {
            display.show(client.frame())?;
        }
        client.wait_prefetch();
        Ok(())
    };
    match keys {
        Some(keys) => {
            for key in keys {
                press(client, key)?;
            }
        }
        None if stdin_keys => {
            for line in std::io::stdin().lock().lines() {
                let line = line?;
                match stb_client::parse_keys(&line) {
                    Ok(keys) => {
                        for key in keys {
                            press(client, key)?;
                        }
                    }
                    Err(e) => eprintln!("stb-client: standard input: {e}"),
                }
            }
        }
        None => {}
    }
    if let Some(path) = &outputs.screenshot {
        let frame = display.last().unwrap_or(client.frame());
        std::fs::write(path, frame.to_png()?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// `--display window`: an X11 window of the display's size.
#[cfg(feature = "window")]
fn window(size: (u32, u32), events: mpsc::Sender<WindowEvent>) -> anyhow::Result<Output> {
    let w = Window::open(size.0, size.1, events)
        .context("cannot open a window (is DISPLAY set to a running X server?)")?;
    Ok(Output::Window(Box::new(w)))
}

#[cfg(not(feature = "window"))]
fn window(_: (u32, u32), _: mpsc::Sender<WindowEvent>) -> anyhow::Result<Output> {
    bail!("--display window is not part of this build (cargo feature `window`): use fbdev or headless")
}

/// The remote (evdev) on a thread of its own, its keys forwarded to `events`.
fn remote(input: Option<String>, events: mpsc::Sender<WindowEvent>) -> anyhow::Result<()> {
    let input = input.unwrap_or_else(|| "evdev".into());
    let Some(dev) = input.strip_prefix("evdev") else {
        bail!("--input {input:?}: expected evdev[:/dev/input/eventN]");
    };
    let dev = match dev.strip_prefix(':') {
        Some(path) => PathBuf::from(path),
        None => stb_client::input::default_device(),
    };
    let (tx, rx) = mpsc::channel();
    stb_client::input::evdev(&dev, tx)
        .with_context(|| format!("cannot read the remote at {}", dev.display()))?;
    let name = dev.display().to_string();
    std::thread::Builder::new()
        .name("remote".into())
        .spawn(move || {
            for key in rx {
                if events.send(WindowEvent::Key(key)).is_err() {
                    return;
                }
            }
            eprintln!("stb-client: the remote {name} went away");
            let _ = events.send(WindowEvent::Closed);
        })?;
    Ok(())
}

/// On a box or in a window: keys until SIGTERM or SIGINT (or the window is closed).
fn interactive(
    client: &mut Client,
    display: &mut dyn Display,
    events: &mpsc::Receiver<WindowEvent>,
    outputs: &Outputs,
) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    let mut trace = open_trace(outputs)?;
    let mut saved = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let wait = client
            .next_due()
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(10), Duration::from_millis(500));
        match events.recv_timeout(wait) {
            Ok(WindowEvent::Key(key)) => {
                let started = Instant::now();
                let step = client.press(key);
                display.show(client.frame())?;
                if let Some(t) = &mut trace {
                    writeln!(t, "{}", trace_line(key, &step, started.elapsed(), client))?;
                    t.flush()?;
                }
                if client.tick() {
                    display.show(client.frame())?;
                }
            }
            Ok(WindowEvent::Expose) => display.show(client.frame())?,
            Ok(WindowEvent::Closed) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if client.tick() {
                    display.show(client.frame())?;
                }
            }
        }
        if saved.elapsed() > Duration::from_secs(300) {
            client.save_views();
            saved = Instant::now();
        }
    }
    eprintln!("stb-client: stopping");
    Ok(())
}
