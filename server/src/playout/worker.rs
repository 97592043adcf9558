//! The encoders of the whole process, shared by every lane, in front of its GOP cache.
//!
//! A frame (one page of a screen as it airs, with its alert strip) is drawn, converted to
//! Y′CbCr and encoded as one closed GOP by one of a few pool threads, each with its own
//! glyph cache. The GOP is kept in the process's [`GopCache`]. A frame two lanes want is
//! encoded once: a second request while it is being encoded waits for the same encode,
//! and a request after it finds it in the cache.
//!
//! A failure is answered, never swallowed: the lane airs the slate in that frame's place.
//! An encoder failure drops that encoder (every GOP opens a fresh one), so the encoder
//! restarts without the muxers noticing. Failures are not cached: the lane retries the
//! frame the next time it comes round.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::encode::{self, EncodeError, Gop};
use super::frame;
use super::gop_cache::GopCache;
use super::stats::LaneStats;
use crate::render::{Layout, Profile, Renderer, Screen, ScreenHash, Theme};

/// A frame to draw and encode: one page of a screen as it airs (with its alert strip).
#[derive(Debug, Clone)]
pub struct FrameJob {
    /// The frame hash (screen in its context, page, strip).
    pub key: ScreenHash,
    /// Program item key (`notice:42`), for logs and fault drills.
    pub item: String,
    /// The laid-out frame.
    pub layout: Arc<Layout>,
}

/// Why a frame could not be made. Cloned to every lane waiting for the frame.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FrameError {
    /// The encoder thread has no renderer (its faces could not be loaded).
    #[error("this encoder thread has no renderer")]
    NoRenderer(#[source] Arc<crate::render::RenderError>),
    /// A fault drill made this program item fail to render.
    #[error("rendering {item} failed on purpose (fault drill)")]
    InjectedRender {
        /// The program item.
        item: String,
    },
    /// The frame was laid out for another picture size than its lane's.
    #[error("a {got_w}×{got_h} layout for a {want_w}×{want_h} lane")]
    LayoutSize {
        /// The layout's width.
        got_w: u32,
        /// The layout's height.
        got_h: u32,
        /// The lane's width.
        want_w: usize,
        /// The lane's height.
        want_h: usize,
    },
    /// The layout rasterised to nothing.
    #[error("the frame rasterised to nothing")]
    EmptyRaster,
    /// Encoding failed.
    #[error(transparent)]
    Encode(Arc<EncodeError>),
    /// Drawing or encoding panicked.
    #[error("drawing or encoding the frame panicked")]
    Panicked,
}

impl FrameError {
    /// Whether drawing (not encoding) failed.
    pub fn is_render(&self) -> bool {
        !matches!(self, FrameError::Encode(_) | FrameError::Panicked)
    }
}

impl From<EncodeError> for FrameError {
    fn from(e: EncodeError) -> Self {
        FrameError::Encode(Arc::new(e))
    }
}

/// The answer to a [`FrameJob`].
#[derive(Debug)]
pub struct FrameDone {
    /// Which frame.
    pub key: ScreenHash,
    /// The GOP, or why not.
    pub result: Result<Arc<Gop>, FrameError>,
}

/// Faults to inject on purpose: the "never black" drills and tests use them to prove a
/// failed screen or encoder airs the slate without a gap. Default: none.
#[derive(Debug, Default)]
pub struct Faults {
    /// Program item keys whose rendering fails.
    pub fail_render: Mutex<HashSet<String>>,
    /// The next this-many encodes fail (the encoder is then restarted).
    pub fail_encodes: AtomicU32,
}

impl Faults {
    fn render_fails(&self, item: &str) -> bool {
        self.fail_render
            .lock()
            .map(|set| set.contains(item))
            .unwrap_or(false)
    }

    fn take_encode_failure(&self) -> bool {
        self.fail_encodes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// The content hash of a screen for a profile.
pub fn hash(screen: &Screen, profile: Profile) -> ScreenHash {
    ScreenHash::of(screen, profile, &Theme::DEFAULT)
}

/// Default byte budget of the GOP cache: a demo county's channels air every screen of a
/// cycle from it without encoding any twice.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// What the process's encoders and GOP cache have done, for `/metrics` and tests.
#[derive(Debug, Default)]
pub struct EncoderStats {
    /// Screens drawn and encoded: whole SD frames, and HD frames' bodies (or whole HD
    /// frames off air).
    pub encodes: AtomicU64,
    /// HD status lines drawn and encoded (a few macroblock rows each), stitched below a
    /// body that may be shared.
    pub status_encodes: AtomicU64,
    /// Requests answered by an encode already under way for another request.
    pub joined: AtomicU64,
    /// Requests answered from the cache.
    pub hits: AtomicU64,
    /// Requests that started an encode.
    pub misses: AtomicU64,
    /// GOPs dropped to stay within the budget.
    pub evictions: AtomicU64,
    /// Frames that failed to draw or encode.
    pub failures: AtomicU64,
    /// Bytes of coded video in the cache.
    pub bytes: AtomicU64,
    /// GOPs in the cache.
    pub entries: AtomicU64,
}

impl EncoderStats {
    /// Reads a counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// What an encoder thread makes: a whole GOP (SD), or one band of an HD frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnitKind {
    /// The frame as one GOP.
    Whole,
    /// Rows of an HD frame from macroblock row `row` on, coded apart and stitched; `status`
    /// when they are a channel's status line (the rest is the screen's body).
    Band { row: u32, status: bool },
}

/// A unit of a frame: its key (the digest of what it draws) and what to draw.
struct UnitPlan {
    key: ScreenHash,
    kind: UnitKind,
    layout: Layout,
}

/// Splits a frame into what is made apart: an SD frame is made whole; an HD frame on air
/// is its body and its status line, the body shared by every channel that airs the same
/// screen; any other HD frame is one band.
fn plan(layout: &Layout, profile: Profile) -> Vec<UnitPlan> {
    let keyed = |kind: UnitKind, layout: Layout| {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(layout.digest().to_string());
        h.update(format!("{kind:?}"));
        UnitPlan {
            key: ScreenHash::from_digest(h),
            kind,
            layout,
        }
    };
    if encode::is_sd(profile) {
        return vec![keyed(UnitKind::Whole, layout.clone())];
    }
    let (height, split) = (layout.height, layout.status_split());
    match split {
        Some(split) => vec![
            keyed(
                UnitKind::Band {
                    row: 0,
                    status: false,
                },
                layout.rows(0, split),
            ),
            keyed(
                UnitKind::Band {
                    row: split / 16,
                    status: true,
                },
                layout.rows(split, height),
            ),
        ],
        None => vec![keyed(
            UnitKind::Band {
                row: 0,
                status: false,
            },
            layout.clone(),
        )],
    }
}

/// A unit to make, with what to count.
struct Work {
    key: ScreenHash,
    kind: UnitKind,
    layout: Layout,
    /// The whole frame's layout size (the unit's may be a band of it).
    frame_size: (u32, u32),
    /// Program item key, for logs and fault drills.
    item: String,
    profile: Profile,
    faults: Arc<Faults>,
    stats: Arc<LaneStats>,
}

/// A frame some lanes wait for: its units (made or not yet) and who waits.
struct Pending {
    profile: Profile,
    units: Vec<(ScreenHash, UnitKind, Option<Arc<Gop>>)>,
    waiters: Vec<Sender<FrameDone>>,
}

impl Pending {
    fn complete(&self) -> bool {
        self.units.iter().all(|u| u.2.is_some())
    }
}

struct State {
    /// Whole GOPs and bands, by unit key.
    cache: GopCache,
    /// Units being made (queued or encoding), and the frames that wait for each.
    making: HashMap<ScreenHash, Vec<ScreenHash>>,
    /// Frames waiting for units.
    frames: HashMap<ScreenHash, Pending>,
    queue: VecDeque<Work>,
    stopping: bool,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    stats: EncoderStats,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change under the lock keeps the state whole; a panicking holder (there is
        // no code that panics there) cannot leave it half-written.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn publish(&self, st: &State) {
        self.stats
            .bytes
            .store(st.cache.bytes() as u64, Ordering::Relaxed);
        self.stats
            .entries
            .store(st.cache.len() as u64, Ordering::Relaxed);
    }
}

/// The frame's GOP from its made units: a whole GOP as it is, bands stitched.
fn assemble(
    profile: Profile,
    units: &[(ScreenHash, UnitKind, Option<Arc<Gop>>)],
) -> Result<Arc<Gop>, FrameError> {
    if let [(_, UnitKind::Whole, Some(gop))] = units {
        return Ok(Arc::clone(gop));
    }
    let headers = encode::headers(profile)?;
    let bands: Vec<&[u8]> = units
        .iter()
        .filter_map(|u| u.2.as_ref())
        .filter_map(|g| g.packets().next().map(|p| p.data))
        .collect();
    Ok(Arc::new(encode::stitch_gop(&headers, &bands)))
}

/// Stops the pool threads when the last [`Encoders`] handle goes.
struct Owner {
    shared: Arc<Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.work.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// What became of a request.
#[derive(Debug)]
pub enum Requested {
    /// The GOP was in the cache.
    Cached(Arc<Gop>),
    /// It is being made; a [`FrameDone`] for it will arrive on the reply channel.
    Coming,
}

/// The encoder pool and GOP cache of the process (cheap to clone; the threads stop when
/// the last clone goes).
#[derive(Clone)]
pub struct Encoders {
    shared: Arc<Shared>,
    _owner: Arc<Owner>,
}

impl std::fmt::Debug for Encoders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoders")
            .field("budget", &self.budget())
            .finish()
    }
}

impl Encoders {
    /// Starts `threads` encoder threads (at least one) sharing a cache of `budget` bytes.
    pub fn new(budget: usize, threads: usize) -> Result<Encoders, std::io::Error> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                cache: GopCache::new(budget),
                making: HashMap::new(),
                frames: HashMap::new(),
                queue: VecDeque::new(),
                stopping: false,
            }),
            work: Condvar::new(),
            stats: EncoderStats::default(),
        });
        let mut owner = Owner {
            shared: Arc::clone(&shared),
            threads: Vec::new(),
        };
        for i in 0..threads.max(1) {
            let s = Arc::clone(&shared);
            owner.threads.push(
                std::thread::Builder::new()
                    .name(format!("encoder {i}"))
                    .spawn(move || run(&s))?,
            );
        }
        Ok(Encoders {
            shared,
            _owner: Arc::new(owner),
        })
    }

    /// A pool with one thread per core (at most four) and the default budget.
    pub fn with_defaults() -> Result<Encoders, std::io::Error> {
        Encoders::new(DEFAULT_CACHE_BYTES, default_threads())
    }

    /// The cache's byte budget.
    pub fn budget(&self) -> usize {
        self.shared.lock().cache.budget()
    }

    /// Its counters.
    pub fn stats(&self) -> &EncoderStats {
        &self.shared.stats
    }

    /// Asks for frame `job` in `profile`: from the cache, or made (each unit once,
    /// whoever else asks meanwhile) and answered on `reply`. `faults` and `stats` are the
    /// asking lane's.
    pub fn request(
        &self,
        job: FrameJob,
        profile: Profile,
        faults: &Arc<Faults>,
        stats: &Arc<LaneStats>,
        reply: &Sender<FrameDone>,
    ) -> Requested {
        let plans = plan(&job.layout, profile);
        let mut st = self.shared.lock();
        if let Some(pending) = st.frames.get_mut(&job.key) {
            pending.waiters.push(reply.clone());
            self.shared.stats.joined.fetch_add(1, Ordering::Relaxed);
            return Requested::Coming;
        }
        let units: Vec<_> = plans
            .iter()
            .map(|p| (p.key, p.kind, st.cache.get(&p.key)))
            .collect();
        let pending = Pending {
            profile,
            units,
            waiters: vec![reply.clone()],
        };
        if pending.complete() {
            drop(st);
            self.shared.stats.hits.fetch_add(1, Ordering::Relaxed);
            return match assemble(profile, &pending.units) {
                Ok(gop) => Requested::Cached(gop),
                Err(e) => {
                    let _ = reply.send(FrameDone {
                        key: job.key,
                        result: Err(e),
                    });
                    Requested::Coming
                }
            };
        }
        self.shared.stats.misses.fetch_add(1, Ordering::Relaxed);
        st.frames.insert(job.key, pending);
        let mut joined = false;
        for p in plans {
            if st.cache.get(&p.key).is_some() {
                continue;
            }
            if let Some(frames) = st.making.get_mut(&p.key) {
                frames.push(job.key);
                joined = true;
                continue;
            }
            st.making.insert(p.key, vec![job.key]);
            st.queue.push_back(Work {
                key: p.key,
                kind: p.kind,
                layout: p.layout,
                frame_size: (job.layout.width, job.layout.height),
                item: job.item.clone(),
                profile,
                faults: Arc::clone(faults),
                stats: Arc::clone(stats),
            });
        }
        drop(st);
        if joined {
            // Part of this frame (a body another channel airs) is being made already.
            self.shared.stats.joined.fetch_add(1, Ordering::Relaxed);
        }
        self.shared.work.notify_all();
        Requested::Coming
    }
}

/// One encoder thread per core, at most four.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// An encoder thread: takes frames off the queue until the pool stops.
fn run(shared: &Shared) {
    let mut renderer = Renderer::new().map_err(Arc::new);
    loop {
        let work = {
            let mut st = shared.lock();
            loop {
                if st.stopping {
                    return;
                }
                if let Some(w) = st.queue.pop_front() {
                    break w;
                }
                st = shared
                    .work
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        };
        // A panic (there is no code meant to) must still answer every frame waiting for
        // the unit, or every channel airing a shared body would wait for it for ever.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| make(&mut renderer, &work)))
                .unwrap_or(Err(FrameError::Panicked));
        match &result {
            Ok(_) => {
                let counter = match work.kind {
                    UnitKind::Band { status: true, .. } => &shared.stats.status_encodes,
                    _ => &shared.stats.encodes,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                if !matches!(work.kind, UnitKind::Band { status: true, .. }) {
                    LaneStats::add(&work.stats.encodes, 1);
                }
            }
            Err(e) => {
                shared.stats.failures.fetch_add(1, Ordering::Relaxed);
                let (item, profile) = (&work.item, work.profile.as_str());
                let error = crate::errors::chain(e);
                if e.is_render() {
                    LaneStats::add(&work.stats.render_failures, 1);
                    tracing::warn!(%item, profile, %error, "screen failed to render; the slate airs instead");
                } else {
                    LaneStats::add(&work.stats.encode_failures, 1);
                    LaneStats::add(&work.stats.encoder_restarts, 1);
                    tracing::warn!(%item, profile, %error, "encoder failed; restarting it, the slate airs instead");
                }
            }
        }
        // The frames this unit completes (or fails), answered outside the lock.
        let mut answers: Vec<(ScreenHash, Pending, Option<FrameError>)> = Vec::new();
        {
            let mut st = shared.lock();
            if let Ok(gop) = &result {
                let dropped = st.cache.insert(work.key, Arc::clone(gop));
                shared.stats.evictions.fetch_add(dropped, Ordering::Relaxed);
            }
            shared.publish(&st);
            for frame in st.making.remove(&work.key).unwrap_or_default() {
                let Some(pending) = st.frames.get_mut(&frame) else {
                    continue; // answered already: another of its units failed
                };
                match &result {
                    Ok(gop) => {
                        for u in pending.units.iter_mut().filter(|u| u.0 == work.key) {
                            u.2 = Some(Arc::clone(gop));
                        }
                        if pending.complete() {
                            if let Some(p) = st.frames.remove(&frame) {
                                answers.push((frame, p, None));
                            }
                        }
                    }
                    Err(e) => {
                        if let Some(p) = st.frames.remove(&frame) {
                            answers.push((frame, p, Some(e.clone())));
                        }
                    }
                }
            }
        }
        for (key, pending, failed) in answers {
            let result = match failed {
                Some(e) => Err(e),
                None => assemble(pending.profile, &pending.units),
            };
            for w in pending.waiters {
                let _ = w.send(FrameDone {
                    key,
                    result: match &result {
                        Ok(gop) => Ok(Arc::clone(gop)),
                        Err(e) => Err(e.clone()),
                    },
                });
            }
        }
    }
}

/// Draws and encodes one unit.
fn make(
    renderer: &mut Result<Renderer, Arc<crate::render::RenderError>>,
    work: &Work,
) -> Result<Arc<Gop>, FrameError> {
    let profile = work.profile;
    let renderer = renderer
        .as_mut()
        .map_err(|e| FrameError::NoRenderer(Arc::clone(e)))?;
    if work.faults.render_fails(&work.item) {
        return Err(FrameError::InjectedRender {
            item: work.item.clone(),
        });
    }
    let (frame_w, frame_h) = work.frame_size;
    if frame_w != profile.width() || frame_h != profile.height() {
        return Err(FrameError::LayoutSize {
            got_w: frame_w,
            got_h: frame_h,
            want_w: profile.width() as usize,
            want_h: profile.height() as usize,
        });
    }
    let (w, h) = (work.layout.width as usize, work.layout.height as usize);
    let rgba = renderer
        .raster(&work.layout)
        .ok_or(FrameError::EmptyRaster)?
        .take();
    let picture = frame::rgba_to_yuv420(&rgba, w, h, encode::matrix(profile));
    if work.faults.take_encode_failure() {
        return Err(EncodeError::Injected.into());
    }
    let gop = match work.kind {
        UnitKind::Whole => encode::encode_gop(profile, &picture)?,
        UnitKind::Band { row, .. } => {
            let headers = encode::headers(profile)?;
            let coded = encode::encode_band(profile, &picture)?;
            encode::band_gop(headers.place_band(&coded, row).map_err(EncodeError::from)?)
        }
    };
    Ok(Arc::new(gop))
}
