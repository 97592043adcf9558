//! Outputs: each runs its own muxer thread (fed GOPs through a bounded command channel).
//! An MPEG-TS output's muxer writes to a pipe; what it writes is delivered as 1316-byte
//! UDP datagrams paced at the mux rate by the process's one pacing thread
//! ([`super::pacer`]), or into a file by a sink thread.
//!
//! The pipe keeps every delivered byte in safe Rust: pacing, counting, the GB2312 SDT
//! rewrite and error handling happen here, not inside FFmpeg's protocols. A failed UDP
//! send is counted and the stream goes on; one output falling behind loses GOPs on that
//! output only (counted), never stalls the others.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::encode::{AudioCodec, Gop};
use super::mux::{MuxError, Muxer, Service, Target};
use super::pacer::{self, PacedOutput};
use super::sdt::{SdtPatch, TS_PACKET};
use super::stats::{LaneStats, OutputStats};
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
    /// DVB service (names already as FFmpeg should write them).
    pub service: Service,
    /// GB2312 name rewrite, empty for UTF-8 names.
    pub patch: SdtPatch,
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

enum Command {
    Gop(Arc<Gop>, u64),
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
    /// Opens the muxer (and for MPEG-TS the sink) and starts the threads; returns once
    /// the header is written (an option the muxer did not use is an error).
    pub fn start(plan: OutputPlan) -> Result<Output, PlayoutError> {
        let stats = Arc::new(OutputStats::default());
        let mut threads = Vec::new();
        let mut paced = None;
        let (target, writer) = match &plan.destination {
            Destination::Hls {
                dir,
                segment_seconds,
                window,
            } => {
                prepare_hls_dir(dir)?;
                (
                    Target::Hls {
                        dir: dir.clone(),
                        segment_seconds: *segment_seconds,
                        window: *window,
                    },
                    None,
                )
            }
            dest => {
                let sink = open_sink(dest, plan.muxrate)?;
                // A socket pair serves as the pipe (FFmpeg's `pipe:FD` writes to any fd).
                let (reader, writer) = UnixStream::pair().map_err(|source| PlayoutError::Io {
                    what: "creating the muxer pipe".into(),
                    source,
                })?;
                let url = format!("pipe:{}", writer.as_raw_fd());
                let patch = plan.patch.clone();
                let label = plan.label();
                match sink {
                    Sink::Udp { socket, muxrate } => {
                        let (done, finished) = mpsc::channel();
                        pacer::pace(PacedOutput {
                            reader,
                            socket,
                            muxrate,
                            patch,
                            stats: Arc::clone(&stats),
                            label,
                            done,
                        })
                        .map_err(|source| PlayoutError::Io {
                            what: format!("handing {} to the pacing thread", plan.label()),
                            source,
                        })?;
                        paced = Some(finished);
                    }
                    Sink::File(file) => {
                        let sink_stats = Arc::clone(&stats);
                        threads.push(spawn(&format!("sink {label}"), move || {
                            run_sink(reader, Some(file), &patch, &sink_stats, &label)
                        })?);
                    }
                    Sink::Discard => {
                        let sink_stats = Arc::clone(&stats);
                        threads.push(spawn(&format!("sink {label}"), move || {
                            run_sink(reader, None, &patch, &sink_stats, &label)
                        })?);
                    }
                }
                (
                    Target::Ts {
                        url,
                        muxrate: plan.muxrate,
                        service: plan.service.clone(),
                    },
                    Some(writer),
                )
            }
        };
        let (commands, inbox) = mpsc::sync_channel::<Command>(QUEUE);
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), MuxError>>();
        let mux_stats = Arc::clone(&stats);
        let (profile, audio, label) = (plan.profile, plan.audio, plan.label());
        let hls = matches!(plan.destination, Destination::Hls { .. });
        threads.push(spawn(&format!("mux {label}"), move || {
            run_muxer(
                profile, audio, &target, writer, inbox, ready_tx, &mux_stats, &label, hls,
            )
        })?);
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                join_all(threads);
                return Err(PlayoutError::Mux {
                    output: plan.label(),
                    source: e,
                });
            }
            Err(_) => {
                join_all(threads);
                return Err(PlayoutError::ThreadStopped {
                    what: format!("the muxer thread of output {}", plan.label()),
                });
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

    /// Writes the trailer, closes the destination and waits for the threads.
    pub fn finish(self) {
        let _ = self.commands.send(Command::Finish);
        drop(self.commands);
        join_all(self.threads);
        if let Some(finished) = self.paced {
            // The muxer has closed its pipe: wait for the pacer to send what is left.
            let _ = finished.recv();
        }
        self.stats.up.store(false, Ordering::Relaxed);
    }
}

/// Opens what an MPEG-TS output's bytes go to.
fn open_sink(dest: &Destination, muxrate: u64) -> Result<Sink, PlayoutError> {
    match dest {
        Destination::Udp { addr } => {
            let ip: std::net::IpAddr = match (addr.ip().is_loopback(), addr.is_ipv6()) {
                (true, false) => std::net::Ipv4Addr::LOCALHOST.into(),
                (true, true) => std::net::Ipv6Addr::LOCALHOST.into(),
                (false, false) => std::net::Ipv4Addr::UNSPECIFIED.into(),
                (false, true) => std::net::Ipv6Addr::UNSPECIFIED.into(),
            };
            let socket =
                UdpSocket::bind(SocketAddr::new(ip, 0)).map_err(|source| PlayoutError::Io {
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
            Ok(Sink::Udp { socket, muxrate })
        }
        Destination::File { path } => {
            let file = File::create(path).map_err(|source| PlayoutError::Io {
                what: format!("creating {}", path.display()),
                source,
            })?;
            Ok(Sink::File(BufWriter::with_capacity(1 << 16, file)))
        }
        // HLS writes its own files; nothing reaches a sink.
        Destination::Hls { .. } => Ok(Sink::Discard),
    }
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

#[allow(clippy::too_many_arguments)]
fn run_muxer(
    profile: Profile,
    audio: AudioCodec,
    target: &Target,
    writer: Option<UnixStream>,
    inbox: Receiver<Command>,
    ready: mpsc::Sender<Result<(), MuxError>>,
    stats: &OutputStats,
    label: &str,
    hls: bool,
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
                    if hls {
                        LaneStats::add(&stats.bytes, gop.bytes() as u64);
                    }
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
    // Closing the pipe's write end tells the sink the stream has ended.
    drop(writer);
}

enum Sink {
    Udp { socket: UdpSocket, muxrate: u64 },
    File(BufWriter<File>),
    Discard,
}

/// Bytes read from the muxer at a time: a few read calls a second instead of one per
/// datagram.
const READ_CHUNK: usize = 64 * 1024;

/// Copies the muxer's bytes into `file` (or nowhere), SDT patched.
fn run_sink(
    mut reader: UnixStream,
    mut file: Option<BufWriter<File>>,
    patch: &SdtPatch,
    stats: &OutputStats,
    label: &str,
) {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut pending: Vec<u8> = Vec::with_capacity(2 * READ_CHUNK);
    let mut warned = false;
    let mut eof = false;
    while !eof {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => eof = true,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
        // Whole TS packets only (the SDT patch works packet by packet); at the end, all.
        let ready = if eof {
            pending.len()
        } else {
            pending.len() / TS_PACKET * TS_PACKET
        };
        patch.apply(&mut pending[..ready]);
        let result = match &mut file {
            Some(f) => f.write_all(&pending[..ready]),
            None => Ok(()),
        };
        match result {
            Ok(()) => LaneStats::add(&stats.bytes, ready as u64),
            Err(e) => {
                LaneStats::add(&stats.send_errors, 1);
                if !warned {
                    tracing::warn!(output = label, error = %e, "output write failed; the stream goes on");
                    warned = true;
                }
            }
        }
        pending.drain(..ready);
    }
    if let Some(mut file) = file {
        if let Err(e) = file.flush() {
            LaneStats::add(&stats.send_errors, 1);
            tracing::error!(output = label, error = %e, "flushing the recording failed");
        }
    }
}
