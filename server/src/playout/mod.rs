//! Channel playout: the government channel as MPEG-TS over UDP (for the cable
//! multiplexer), HLS (served at `/live/{channel}/`) and recordings.
//!
//! The trade-off chosen: a page of a government channel is a still picture that stays up
//! for seconds, so each distinct frame is encoded **once** into a closed one-second GOP
//! and re-sent, re-stamped, for as long as it airs. The steady-state cost of a channel is
//! then muxing and sending, not encoding (see BENCHMARKS.md, "Playout").
//!
//! Structure (one owner thread per blocking resource):
//! - a **lane** per (channel, profile) owns the clock and the program cursor ([`lane`]),
//!   and asks
//! - the process's **encoder pool** (a few threads and one GOP cache with a byte budget,
//!   shared by every lane: a frame two channels air is encoded once) to draw and encode
//!   frames ([`worker`], [`encode`]; the cache is `gop_cache`), and feeds
//! - its outputs ([`output`]): UDP outputs muxed by the headend's own MPEG-TS muxer
//!   ([`ts`]) on the process's one pacing thread ([`pacer`]), a writer thread per file
//!   output, an FFmpeg HLS muxer thread per HLS output ([`mux`]).
//!
//! Switching happens only at GOP boundaries and every output keeps one muxer for its
//! whole life, so continuity counters, PCR and timestamps never jump. Anything that fails
//! upstream airs the slate, never black: a screen that cannot be drawn or encoded is
//! replaced by the slate for its slot (counted in `/metrics`), a failed encoder is
//! replaced by a fresh one, a failed UDP send is counted and the other outputs go on.

pub mod asrun;
mod bits;
pub mod cycle;
pub mod encode;
pub mod frame;
mod gop_cache;
pub mod lane;
pub mod mpeg2;
pub mod mux;
pub mod output;
pub mod pacer;
pub mod program;
pub mod sdt;
pub mod spec;
pub mod stats;
pub mod stitch;
pub mod ts;
pub mod worker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use asrun::{AsRun, AsRunLine};
pub use lane::{Clock, LaneOptions};
pub use output::{Destination, OutputPlan};
pub use program::{FixedProgram, Item, Part, Program, ProgramError, ProgramSource, Urgent};
pub use spec::{ChannelSpec, OutputKind, OutputSpec};
pub use stats::{LaneStats, OnAir, OutputStats};
pub use worker::{EncoderStats, Encoders, Faults};

use crate::render::Profile;

/// What can go wrong starting or running playout.
#[derive(Debug, thiserror::Error)]
pub enum PlayoutError {
    /// The program could not be read.
    #[error(transparent)]
    Program(#[from] ProgramError),
    /// The store holds no channels (no county loaded).
    #[error("the store holds no channels: load a county first (`headend serve` loads the demo county into an empty store)")]
    NoChannels,
    /// No channel of that name.
    #[error("there is no channel named {name:?} (channels: {known})")]
    UnknownChannel {
        /// Asked for.
        name: String,
        /// Those that exist.
        known: String,
    },
    /// A channel or output is misconfigured.
    #[error(transparent)]
    Config(#[from] spec::SpecError),
    /// An output could not be opened.
    #[error("output {output} failed to start")]
    Mux {
        /// The output.
        output: String,
        /// Why.
        source: mux::MuxError,
    },
    /// Even a plain slate frame could not be encoded.
    #[error("the slate could not be encoded")]
    Slate(#[source] encode::EncodeError),
    /// A thread of the channel stopped before it said it had started.
    #[error("{what} stopped while starting")]
    ThreadStopped {
        /// Which thread.
        what: String,
    },
    /// An operating-system call failed.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// Why.
        source: std::io::Error,
    },
}

/// One channel's lane as seen from outside: its counters and outputs.
#[derive(Debug)]
pub struct LaneView {
    /// Picture profile.
    pub profile: Profile,
    /// The lane's counters.
    pub stats: Arc<LaneStats>,
    /// Its outputs.
    pub outputs: Vec<OutputView>,
}

/// An output as seen from outside.
#[derive(Debug, Clone)]
pub struct OutputView {
    /// `udp:127.0.0.1:5000`, `hls`, `file:…`.
    pub label: String,
    /// `udp`, `hls` or `file`.
    pub kind: &'static str,
    /// CBR rate in bit/s (MPEG-TS outputs; 0 for HLS).
    pub muxrate: u64,
    /// Its counters.
    pub stats: Arc<OutputStats>,
}

/// A channel on air.
#[derive(Debug)]
pub struct ChannelView {
    /// Channel name.
    pub name: String,
    /// Its lanes.
    pub lanes: Vec<LaneView>,
    /// Its HLS directory, if it has an HLS output.
    pub hls_dir: Option<PathBuf>,
}

struct RunningLane {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl RunningLane {
    /// Asks the lane to stop (its outputs write their trailers) and waits for it.
    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// A channel on air: what is seen of it, and its lanes.
struct OnAirChannel {
    view: Arc<ChannelView>,
    lanes: Vec<RunningLane>,
}

/// Every channel the headend airs. Channels can be replaced one at a time while the
/// others go on ([`Playout::replace`]), so it is shared as `&Playout`.
pub struct Playout {
    channels: std::sync::Mutex<Vec<OnAirChannel>>,
    /// Serialises replacements, so that two edits of one channel never race for its
    /// outputs (a UDP port, an HLS directory).
    replacing: std::sync::Mutex<()>,
    changes: Option<Arc<AtomicU64>>,
    encoders: Encoders,
}

impl std::fmt::Debug for Playout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playout")
            .field("channels", &self.channels().len())
            .finish()
    }
}

/// A channel to air: where its program comes from, how it airs, and its outputs.
pub struct ChannelPlan {
    /// Channel name.
    pub name: String,
    /// Title (for the slate).
    pub title: String,
    /// Its program.
    pub source: Arc<dyn ProgramSource>,
    /// Dwell and banner settings.
    pub options: LaneOptions,
    /// Outputs (grouped into one lane per profile).
    pub outputs: Vec<OutputPlan>,
    /// Faults to inject (drills and tests). Default: none.
    pub faults: Arc<Faults>,
    /// Directory of the daily as-run files (`<data>/asrun`). Default: none.
    pub as_run_dir: Option<PathBuf>,
    /// Where aired frames' layout records are kept for the web API. Default: none.
    pub layouts: Option<Arc<crate::render::LayoutRegistry>>,
}

impl std::fmt::Debug for ChannelPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelPlan")
            .field("name", &self.name)
            .field("outputs", &self.outputs)
            .finish()
    }
}

/// A channel's lanes while they start: its name, output count, HLS directory and lanes.
type Starting = (
    String,
    usize,
    Option<PathBuf>,
    Vec<Result<StartingLane, PlayoutError>>,
);

impl Playout {
    /// Starts every planned channel in real time. Blocks while outputs open and slates
    /// encode (call it from a blocking context). With `changes` (the store's change
    /// counter, bumped by its writers), every lane re-reads its program at the next second
    /// after a change, so new content airs at the next page boundary.
    pub fn start(
        plans: Vec<ChannelPlan>,
        changes: Option<Arc<AtomicU64>>,
    ) -> Result<Playout, PlayoutError> {
        let encoders = Encoders::with_defaults().map_err(|source| PlayoutError::Io {
            what: "starting the encoder threads".into(),
            source,
        })?;
        Playout::start_with(plans, changes, encoders)
    }

    /// [`Playout::start`] with the given encoders and GOP cache (shared by every lane).
    pub fn start_with(
        plans: Vec<ChannelPlan>,
        changes: Option<Arc<AtomicU64>>,
        encoders: Encoders,
    ) -> Result<Playout, PlayoutError> {
        let playout = Playout {
            channels: std::sync::Mutex::new(Vec::new()),
            replacing: std::sync::Mutex::new(()),
            changes,
            encoders,
        };
        // Every lane starts at once (slates encode in parallel), then each is waited for.
        let starting: Vec<Starting> = plans.iter().map(|p| playout.start_channel(p)).collect();
        let mut first_error = None;
        for s in starting {
            let (channel, error) = Self::wait_channel(s);
            if let Some(e) = error {
                first_error.get_or_insert(e);
            }
            playout.lock().push(channel);
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(playout),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<OnAirChannel>> {
        // A panic while the list was held leaves it whole (pushes and removes only).
        self.channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn start_channel(&self, plan: &ChannelPlan) -> Starting {
        let mut by_profile: BTreeMap<&'static str, Vec<OutputPlan>> = BTreeMap::new();
        let hls_dir = plan.outputs.iter().find_map(|o| match &o.destination {
            Destination::Hls { dir, .. } => Some(dir.clone()),
            _ => None,
        });
        for o in &plan.outputs {
            by_profile
                .entry(o.profile.as_str())
                .or_default()
                .push(o.clone());
        }
        let lanes = by_profile
            .into_values()
            .map(|outputs| {
                let profile = outputs[0].profile;
                start_lane(
                    plan,
                    profile,
                    outputs,
                    self.changes.clone(),
                    self.encoders.clone(),
                )
            })
            .collect();
        (plan.name.clone(), plan.outputs.len(), hls_dir, lanes)
    }

    /// Waits for a channel's lanes: the channel (with the lanes that started) and the
    /// first error.
    fn wait_channel(
        (name, outputs, hls_dir, lanes): Starting,
    ) -> (OnAirChannel, Option<PlayoutError>) {
        let mut views = Vec::new();
        let mut running = Vec::new();
        let mut first_error = None;
        for lane in lanes {
            match lane.and_then(StartingLane::wait) {
                Ok((view, lane)) => {
                    views.push(view);
                    running.push(lane);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        tracing::info!(channel = %name, outputs, "channel on air");
        let view = Arc::new(ChannelView {
            name,
            lanes: views,
            hls_dir,
        });
        (
            OnAirChannel {
                view,
                lanes: running,
            },
            first_error,
        )
    }

    /// Replaces channel `name` on air: its lanes stop (trailers written, the UDP port and
    /// HLS directory freed), then `plan` starts, if given. The other channels go on.
    /// Blocks while the new outputs open and the slate encodes.
    pub fn replace(&self, name: &str, plan: Option<ChannelPlan>) -> Result<(), PlayoutError> {
        let _one_at_a_time = self
            .replacing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = {
            let mut channels = self.lock();
            channels
                .iter()
                .position(|c| c.view.name == name)
                .map(|i| channels.remove(i))
        };
        if let Some(old) = old {
            for lane in old.lanes {
                lane.stop();
            }
            tracing::info!(channel = %name, "channel off air");
        }
        let Some(plan) = plan else {
            return Ok(());
        };
        let (channel, error) = Self::wait_channel(self.start_channel(&plan));
        self.lock().push(channel);
        match error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The encoders and GOP cache every lane shares.
    pub fn encoders(&self) -> &Encoders {
        &self.encoders
    }

    /// The channels on air.
    pub fn channels(&self) -> Vec<Arc<ChannelView>> {
        self.lock().iter().map(|c| Arc::clone(&c.view)).collect()
    }

    /// The channel named `name`.
    pub fn channel(&self, name: &str) -> Option<Arc<ChannelView>> {
        self.lock()
            .iter()
            .find(|c| c.view.name == name)
            .map(|c| Arc::clone(&c.view))
    }

    /// Stops every lane (trailers written) and waits for them.
    pub fn stop(self) {
        self.shutdown();
    }

    fn shutdown(&self) {
        let channels = std::mem::take(&mut *self.lock());
        let lanes: Vec<RunningLane> = channels.into_iter().flat_map(|c| c.lanes).collect();
        for lane in &lanes {
            let _ = lane.stop.send(());
        }
        for lane in lanes {
            let _ = lane.thread.join();
        }
    }
}

impl Drop for Playout {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct StartingLane {
    profile: Profile,
    stats: Arc<LaneStats>,
    ready: mpsc::Receiver<Result<Vec<OutputView>, PlayoutError>>,
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl StartingLane {
    /// Waits until the lane airs (outputs open, slate encoded).
    fn wait(self) -> Result<(LaneView, RunningLane), PlayoutError> {
        let views = match self.ready.recv() {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                let _ = self.thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = self.thread.join();
                return Err(PlayoutError::ThreadStopped {
                    what: "the lane thread".into(),
                });
            }
        };
        Ok((
            LaneView {
                profile: self.profile,
                stats: self.stats,
                outputs: views,
            },
            RunningLane {
                stop: self.stop,
                thread: self.thread,
            },
        ))
    }
}

fn start_lane(
    plan: &ChannelPlan,
    profile: Profile,
    outputs: Vec<OutputPlan>,
    version: Option<Arc<AtomicU64>>,
    encoders: Encoders,
) -> Result<StartingLane, PlayoutError> {
    let stats = Arc::new(LaneStats::default());
    let (ready_tx, ready_rx) = mpsc::channel::<Result<Vec<OutputView>, PlayoutError>>();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (source, title, options, faults, lane_stats) = (
        Arc::clone(&plan.source),
        plan.title.clone(),
        plan.options.clone(),
        Arc::clone(&plan.faults),
        Arc::clone(&stats),
    );
    let target = match &plan.as_run_dir {
        Some(dir) => asrun::Target::Daily(dir.clone()),
        None => asrun::Target::None,
    };
    let as_run = AsRun::new(&plan.name, target).with_registry(plan.layouts.clone());
    let channel = plan.name.clone();
    // Every event of this lane and of the outputs it starts names the channel and profile.
    let span = tracing::info_span!("channel", name = %plan.name, profile = profile.as_str());
    let thread = std::thread::Builder::new()
        .name(format!("lane {}", plan.name).chars().take(15).collect())
        .spawn(move || {
            let _span = span.entered();
            let mut started = Vec::new();
            let mut views = Vec::new();
            for o in outputs {
                match output::Output::start(o) {
                    Ok(out) => {
                        let kind = out.plan.destination.kind();
                        views.push(OutputView {
                            label: out.plan.label(),
                            kind,
                            muxrate: if kind == "hls" { 0 } else { out.plan.muxrate },
                            stats: Arc::clone(&out.stats),
                        });
                        started.push(out);
                    }
                    Err(e) => {
                        for s in started {
                            s.finish();
                        }
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                }
            }
            match lane::Lane::new(lane::LaneSetup {
                channel,
                title,
                profile,
                options,
                clock: Clock::RealTime,
                source,
                version,
                outputs: started,
                faults,
                stats: lane_stats,
                as_run,
                encoders,
            }) {
                Ok(lane) => {
                    let _ = ready_tx.send(Ok(views));
                    lane.run_realtime(stop_rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        })
        .map_err(|source| PlayoutError::Io {
            what: "starting a lane thread".into(),
            source,
        })?;
    Ok(StartingLane {
        profile,
        stats,
        ready: ready_rx,
        stop: stop_tx,
        thread,
    })
}

/// What a recording did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordReport {
    /// Seconds (GOPs) written.
    pub gops: u64,
    /// Screen changes.
    pub screens: u64,
    /// GOPs that aired the slate.
    pub slate_gops: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Frames drawn and encoded (each distinct frame once, the slate included).
    pub encodes: u64,
}

/// A channel to record as it airs.
pub struct Recording {
    /// Channel title (for the slate).
    pub title: String,
    /// Its program.
    pub source: Arc<dyn ProgramSource>,
    /// Dwell and banner settings.
    pub options: LaneOptions,
    /// The MPEG-TS output whose settings the file gets (its destination is replaced).
    pub output: OutputPlan,
    /// County time of the first second (the program is read as of then plus each second).
    pub start: chrono::DateTime<chrono::FixedOffset>,
    /// Faults to inject. Default: none.
    pub faults: Arc<Faults>,
    /// Where the recording's as-run lines and layout records go. Default: nowhere.
    pub as_run: AsRun,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording")
            .field("title", &self.title)
            .field("output", &self.output)
            .finish()
    }
}

/// Records `seconds` of a channel exactly as it airs into `out`, faster than real time,
/// with encoders of its own.
pub fn record(rec: Recording, out: &Path, seconds: u64) -> Result<RecordReport, PlayoutError> {
    // One thread: a recording waits for each frame in turn.
    let encoders =
        Encoders::new(worker::DEFAULT_CACHE_BYTES, 1).map_err(|source| PlayoutError::Io {
            what: "starting the encoder thread".into(),
            source,
        })?;
    record_with(rec, out, seconds, encoders)
}

/// [`record`] with the given encoders and GOP cache (shared with other recordings or
/// lanes).
pub fn record_with(
    rec: Recording,
    out: &Path,
    seconds: u64,
    encoders: Encoders,
) -> Result<RecordReport, PlayoutError> {
    let mut plan = rec.output;
    plan.destination = Destination::File {
        path: out.to_owned(),
    };
    let output = output::Output::start(plan.clone())?;
    let out_stats = Arc::clone(&output.stats);
    let stats = Arc::new(LaneStats::default());
    let mut lane = lane::Lane::new(lane::LaneSetup {
        channel: rec.as_run.channel().to_owned(),
        title: rec.title,
        profile: plan.profile,
        options: rec.options,
        clock: Clock::Virtual { start: rec.start },
        source: rec.source,
        version: None,
        outputs: vec![output],
        faults: rec.faults,
        stats: Arc::clone(&stats),
        as_run: rec.as_run,
        encoders,
    })?;
    for k in 0..seconds {
        lane.tick(k);
    }
    lane.finish(seconds);
    Ok(RecordReport {
        gops: LaneStats::get(&stats.gops),
        screens: LaneStats::get(&stats.screens),
        slate_gops: LaneStats::get(&stats.slate_gops),
        bytes: LaneStats::get(&out_stats.bytes),
        encodes: LaneStats::get(&stats.encodes),
    })
}
