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
}

impl FrameError {
    /// Whether drawing (not encoding) failed.
    pub fn is_render(&self) -> bool {
        !matches!(self, FrameError::Encode(_))
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
    /// Frames drawn and encoded.
    pub encodes: AtomicU64,
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

/// A frame to make, with whom to tell and what to count.
struct Work {
    job: FrameJob,
    profile: Profile,
    faults: Arc<Faults>,
    stats: Arc<LaneStats>,
}

struct State {
    cache: GopCache,
    /// Frames being made (queued or encoding), and who waits for each.
    waiting: HashMap<ScreenHash, Vec<Sender<FrameDone>>>,
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
                waiting: HashMap::new(),
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

    /// The cached GOP of frame `key`, marked as just aired.
    pub fn get(&self, key: &ScreenHash) -> Option<Arc<Gop>> {
        self.shared.lock().cache.get(key)
    }

    /// Asks for frame `job` in `profile`: from the cache, or made (once, whoever else
    /// asks meanwhile) and answered on `reply`. `faults` and `stats` are the asking lane's.
    pub fn request(
        &self,
        job: FrameJob,
        profile: Profile,
        faults: &Arc<Faults>,
        stats: &Arc<LaneStats>,
        reply: &Sender<FrameDone>,
    ) -> Requested {
        let mut st = self.shared.lock();
        if let Some(gop) = st.cache.get(&job.key) {
            self.shared.stats.hits.fetch_add(1, Ordering::Relaxed);
            return Requested::Cached(gop);
        }
        if let Some(waiters) = st.waiting.get_mut(&job.key) {
            waiters.push(reply.clone());
            self.shared.stats.joined.fetch_add(1, Ordering::Relaxed);
            return Requested::Coming;
        }
        self.shared.stats.misses.fetch_add(1, Ordering::Relaxed);
        st.waiting.insert(job.key, vec![reply.clone()]);
        st.queue.push_back(Work {
            job,
            profile,
            faults: Arc::clone(faults),
            stats: Arc::clone(stats),
        });
        drop(st);
        self.shared.work.notify_one();
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
        let result = make(&mut renderer, &work);
        match &result {
            Ok(_) => {
                shared.stats.encodes.fetch_add(1, Ordering::Relaxed);
                LaneStats::add(&work.stats.encodes, 1);
            }
            Err(e) => {
                shared.stats.failures.fetch_add(1, Ordering::Relaxed);
                let (item, profile) = (&work.job.item, work.profile.as_str());
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
        let key = work.job.key;
        let waiters = {
            let mut st = shared.lock();
            if let Ok(gop) = &result {
                let dropped = st.cache.insert(key, Arc::clone(gop));
                shared.stats.evictions.fetch_add(dropped, Ordering::Relaxed);
            }
            shared.publish(&st);
            st.waiting.remove(&key).unwrap_or_default()
        };
        for w in waiters {
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

/// Draws and encodes one frame.
fn make(
    renderer: &mut Result<Renderer, Arc<crate::render::RenderError>>,
    work: &Work,
) -> Result<Arc<Gop>, FrameError> {
    let (job, profile) = (&work.job, work.profile);
    let (w, h) = (profile.width() as usize, profile.height() as usize);
    let renderer = renderer
        .as_mut()
        .map_err(|e| FrameError::NoRenderer(Arc::clone(e)))?;
    if work.faults.render_fails(&job.item) {
        return Err(FrameError::InjectedRender {
            item: job.item.clone(),
        });
    }
    if job.layout.width as usize != w || job.layout.height as usize != h {
        return Err(FrameError::LayoutSize {
            got_w: job.layout.width,
            got_h: job.layout.height,
            want_w: w,
            want_h: h,
        });
    }
    let rgba = renderer
        .raster(&job.layout)
        .ok_or(FrameError::EmptyRaster)?
        .take();
    let picture = frame::rgba_to_yuv420(&rgba, w, h, encode::matrix(profile));
    if work.faults.take_encode_failure() {
        return Err(EncodeError::Injected.into());
    }
    Ok(Arc::new(encode::encode_gop(profile, &picture)?))
}
