//! Outputs. An MPEG-TS output (UDP or file) is muxed by the headend's own muxer
//! ([`super::ts`]): a UDP output's muxer belongs to the process's one pacing thread
//! ([`super::pacer`]), which draws 1316-byte datagrams from it at the mux rate; a file
//! output's belongs to a writer thread. An HLS output runs FFmpeg's HLS muxer on a thread
//! of its own. Each is fed GOPs through a bounded command channel.
//!
//! A failed UDP send is counted and the stream goes on; one output falling behind loses
//! GOPs on that output only (counted), never stalls the others.

use std::fs::File;
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::encode::{self, AudioCodec, Gop};
use super::mux::{Hls, MuxError, Muxer};
use super::pacer::{self, PacedOutput};
use super::stats::{LaneStats, OutputStats};
use super::ts::{Service, TsMux, TS_PACKET};
use super::PlayoutError;
use crate::render::Profile;

/// Bytes per UDP datagram: 7 TS packets.
pub const DATAGRAM: usize = 7 * TS_PACKET;
/// GOPs an output may queue before it counts as behind.
const QUEUE: usize = 4;

/// Where an output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// MPEG-TS over UDP, datagrams of 1316 bytes paced at the mux rate.
    Udp {
        /// Receiver (loopback unless explicitly allowed).
        addr: SocketAddr,
    },
    /// MPEG-TS into a file (the recorder; `headend stream`).
    File {
        /// The file.
        path: PathBuf,
    },
    /// HLS segments and playlist in a directory, served at `/live/{channel}/`.
    Hls {
        /// The directory (emptied at start).
        dir: PathBuf,
        /// Segment length in seconds. Default 2.
        segment_seconds: u32,
        /// Playlist window in segments (6–10). Default 6.
        window: u32,
    },
}

impl Destination {
    /// `udp`, `file` or `hls`.
    pub fn kind(&self) -> &'static str {
        match self {
            Destination::Udp { .. } => "udp",
            Destination::File { .. } => "file",
            Destination::Hls { .. } => "hls",
        }
    }
}

/// Everything an output needs, resolved from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputPlan {
    /// Where.
    pub destination: Destination,
    /// Picture format.
    pub profile: Profile,
    /// Audio codec.
    pub audio: AudioCodec,
    /// CBR rate of MPEG-TS outputs in bit/s.
    pub muxrate: u64,
    /// DVB service (names as DVB text).
    pub service: Service,
}

impl OutputPlan {
    /// A short label for logs and metrics: `udp:127.0.0.1:5000`, `hls`, `file:/x.ts`.
    pub fn label(&self) -> String {
        match &self.destination {
            Destination::Udp { addr } => format!("udp:{addr}"),
            Destination::File { path } => format!("file:{}", path.display()),
            Destination::Hls { .. } => "hls".to_owned(),
        }
    }
}

/// What an output's muxer is told.
pub(crate) enum Command {
    /// Second `index` of the output.
    Gop(Arc<Gop>, u64),
    /// Write what is left and close.
    Finish,
}

/// A running output.
#[derive(Debug)]
pub struct Output {
    /// What it is.
    pub plan: OutputPlan,
    /// Its counters.
    pub stats: Arc<OutputStats>,
    commands: SyncSender<Command>,
    threads: Vec<JoinHandle<()>>,
    /// A UDP output's pacing: disconnected once its last datagram is sent.
    paced: Option<Receiver<()>>,
}

impl Output {
    /// Opens the output and hands it to its thread: a UDP output to the pacing thread, a
    /// file or HLS output to a thread of its own. Returns once it is ready (for HLS, once
    /// FFmpeg has written the header; an option the muxer did not use is an error).
    pub fn start(plan: OutputPlan) -> Result<Output, PlayoutError> {
        let stats = Arc::new(OutputStats::default());
        let mut threads = Vec::new();
        let mut paced = None;
        let (commands, inbox) = mpsc::sync_channel::<Command>(QUEUE);
        let label = plan.label();
        match &plan.destination {
            Destination::Udp { addr } => {
                let socket = udp_socket(*addr)?;
                let mux = ts_mux(&plan)?;
                let (done, finished) = mpsc::channel();
                pacer::pace(PacedOutput {
                    inbox,
                    mux,
                    socket,
                    stats: Arc::clone(&stats),
                    label: label.clone(),
                    done,
                })
                .map_err(|source| PlayoutError::Io {
                    what: format!("handing {label} to the pacing thread"),
                    source,
                })?;
                paced = Some(finished);
            }
            Destination::File { path } => {
                // The muxer first: a recording that cannot start leaves the file as it was.
                let mux = ts_mux(&plan)?;
                let file = File::create(path).map_err(|source| PlayoutError::Io {
                    what: format!("creating {}", path.display()),
                    source,
                })?;
                let sink_stats = Arc::clone(&stats);
                let name = label.clone();
                threads.push(spawn(&format!("file {label}"), move || {
                    run_file(inbox, mux, file, &sink_stats, &name)
                })?);
            }
            Destination::Hls {
                dir,
                segment_seconds,
                window,
            } => {
                prepare_hls_dir(dir)?;
                let target = Hls {
                    dir: dir.clone(),
                    segment_seconds: *segment_seconds,
                    window: *window,
                };
                let (ready_tx, ready_rx) = mpsc::channel::<Result<(), MuxError>>();
                let mux_stats = Arc::clone(&stats);
                let (profile, audio, name) = (plan.profile, plan.audio, label.clone());
                threads.push(spawn(&format!("hls {label}"), move || {
                    run_hls(profile, audio, &target, inbox, ready_tx, &mux_stats, &name)
                })?);
                match ready_rx.recv() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        join_all(threads);
                        return Err(PlayoutError::Mux {
                            output: label,
                            source: e,
                        });
                    }
                    Err(_) => {
                        join_all(threads);
                        return Err(PlayoutError::ThreadStopped {
                            what: format!("the muxer thread of output {label}"),
                        });
                    }
                }
            }
        }
        stats.up.store(true, Ordering::Relaxed);
        Ok(Output {
            plan,
            stats,
            commands,
            threads,
            paced,
        })
    }

    /// Hands second `index` to the output. With `wait` false a full queue drops the GOP
    /// (counted) rather than stalling the lane; with `wait` true (faster-than-real-time
    /// recording) it waits.
    pub fn send(&self, gop: &Arc<Gop>, index: u64, wait: bool) {
        let cmd = Command::Gop(Arc::clone(gop), index);
        let sent = if wait {
            self.commands.send(cmd).is_ok()
        } else {
            match self.commands.try_send(cmd) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
            }
        };
        if !sent {
            LaneStats::add(&self.stats.dropped_gops, 1);
        }
    }

    /// Finishes the stream (for HLS, FFmpeg writes its trailer) and waits until its
    /// thread, or the pacer, has written or sent the last of it.
    pub fn finish(self) {
        let _ = self.commands.send(Command::Finish);
        drop(self.commands);
        join_all(self.threads);
        if let Some(finished) = self.paced {
            // The pacer sends what the muxer has left, then lets go.
            let _ = finished.recv();
        }
        self.stats.up.store(false, Ordering::Relaxed);
    }
}

/// The muxer of an MPEG-TS output.
fn ts_mux(plan: &OutputPlan) -> Result<TsMux, PlayoutError> {
    let silence = encode::silent_audio(plan.audio).map_err(|e| PlayoutError::Mux {
        output: plan.label(),
        source: MuxError::Encode(e),
    })?;
    Ok(TsMux::new(
        plan.profile,
        plan.audio,
        &silence,
        plan.muxrate,
        &plan.service,
    ))
}

/// A UDP socket connected to `addr`, bound to loopback if `addr` is.
fn udp_socket(addr: SocketAddr) -> Result<UdpSocket, PlayoutError> {
    let ip: std::net::IpAddr = match (addr.ip().is_loopback(), addr.is_ipv6()) {
        (true, false) => std::net::Ipv4Addr::LOCALHOST.into(),
        (true, true) => std::net::Ipv6Addr::LOCALHOST.into(),
        (false, false) => std::net::Ipv4Addr::UNSPECIFIED.into(),
        (false, true) => std::net::Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).map_err(|source| PlayoutError::Io {
        what: format!("binding a UDP socket for {addr}"),
        source,
    })?;
    // Connected, so the kernel reports refused datagrams (counted as send errors).
    socket.connect(addr).map_err(|source| PlayoutError::Io {
        what: format!("connecting the UDP socket to {addr}"),
        source,
    })?;
    // One pacing thread sends for every output: a full send buffer must not block it.
    socket
        .set_nonblocking(true)
        .map_err(|source| PlayoutError::Io {
            what: format!("setting the UDP socket to {addr} non-blocking"),
            source,
        })?;
    Ok(socket)
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, PlayoutError> {
    // The output thread's events stay inside the span of whoever started it (its lane:
    // the channel and profile).
    let span = tracing::Span::current();
    std::thread::Builder::new()
        .name(name.chars().take(15).collect())
        .spawn(move || {
            let _span = span.entered();
            f()
        })
        .map_err(|source| PlayoutError::Io {
            what: format!("starting thread {name}"),
            source,
        })
}

fn join_all(threads: Vec<JoinHandle<()>>) {
    for t in threads {
        let _ = t.join();
    }
}

fn prepare_hls_dir(dir: &std::path::Path) -> Result<(), PlayoutError> {
    let io = |source| PlayoutError::Io {
        what: format!("preparing HLS directory {}", dir.display()),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let ours = path
            .extension()
            .is_some_and(|e| e == "ts" || e == "m3u8" || e == "tmp");
        if ours {
            std::fs::remove_file(&path).map_err(io)?;
        }
    }
    Ok(())
}

fn run_hls(
    profile: Profile,
    audio: AudioCodec,
    target: &Hls,
    inbox: Receiver<Command>,
    ready: mpsc::Sender<Result<(), MuxError>>,
    stats: &OutputStats,
    label: &str,
) {
    let mut muxer = match Muxer::open(profile, audio, target) {
        Ok(m) => {
            let _ = ready.send(Ok(()));
            m
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut failing = false;
    for cmd in inbox {
        match cmd {
            Command::Gop(gop, index) => match muxer.write_gop(&gop, index) {
                Ok(()) => {
                    LaneStats::add(&stats.gops, 1);
                    LaneStats::add(&stats.bytes, gop.bytes() as u64);
                    failing = false;
                }
                Err(e) => {
                    LaneStats::add(&stats.mux_errors, 1);
                    if !failing {
                        tracing::error!(output = label, error = %e, "muxer write failed");
                    }
                    failing = true;
                }
            },
            Command::Finish => break,
        }
    }
    if let Err(e) = muxer.finish() {
        tracing::warn!(output = label, error = %e, "muxer trailer failed");
    }
}

/// Muxes a file output's GOPs into its file as they come (a second of stream per write).
/// After a failed write (a full disk) the file is cut back to the last whole second and
/// the rest of the recording is counted as send errors, so the file stays a valid stream.
fn run_file(
    inbox: Receiver<Command>,
    mut mux: TsMux,
    mut file: File,
    stats: &OutputStats,
    label: &str,
) {
    let mut buf = Vec::with_capacity(1 << 20);
    let mut written: u64 = 0;
    let mut failed = false;
    for cmd in inbox {
        match cmd {
            Command::Gop(gop, index) => {
                mux.push(gop, index);
                LaneStats::add(&stats.gops, 1);
            }
            Command::Finish => break,
        }
        mux.write_all(&mut buf);
        stats.late_units.store(mux.late_units(), Ordering::Relaxed);
        if failed {
            LaneStats::add(&stats.send_errors, 1);
        } else {
            match file.write_all(&buf) {
                Ok(()) => {
                    written += buf.len() as u64;
                    LaneStats::add(&stats.bytes, buf.len() as u64);
                }
                Err(e) => {
                    LaneStats::add(&stats.send_errors, 1);
                    tracing::error!(output = label, error = %e, bytes = written, "writing the recording failed; it ends at its last whole second");
                    let _ = file.set_len(written);
                    failed = true;
                }
            }
        }
        buf.clear();
    }
}
