//! A lane: one channel in one picture profile. It owns the clock, the program cursor, the
//! GOP cache and the encoder thread, and hands one GOP per second to each of its outputs.
//!
//! Every second is decided at a GOP boundary: the screen on air, or the next one once its
//! dwell is over and its GOP is ready. A screen that is not encoded yet never leaves a gap
//! (the current one is held a second longer); one that failed airs as the slate. Content
//! changes are picked up at the next boundary: new program items (a notice just published)
//! air next.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};

use super::encode::{self, Gop};
use super::frame;
use super::output::Output;
use super::program::{Item, Program, ProgramSource};
use super::stats::{LaneStats, OnAir};
use super::worker::{self, Faults, FrameDone, FrameInfo, FrameJob, FrameKey};
use super::PlayoutError;
use crate::render::screens::SlateScreen;
use crate::render::{Profile, Screen};

/// How a lane airs screens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneOptions {
    /// Dwell per screen page. Default: 10 s.
    pub dwell: Duration,
    /// Reading speed for long text in characters per second: a page with more text than
    /// `dwell × rate` stays up longer (at most 3× the dwell). 0 keeps every page at the
    /// dwell. Default: 8.
    pub read_rate: u32,
    /// Seconds each banner strip stays before the next. Default: 5.
    pub banner_period: u32,
    /// Bytes of coded video the GOP cache keeps before evicting the oldest. Default: 64 MiB.
    pub cache_bytes: usize,
}

impl Default for LaneOptions {
    fn default() -> Self {
        LaneOptions {
            dwell: Duration::from_secs(10),
            read_rate: 8,
            banner_period: 5,
            cache_bytes: 64 << 20,
        }
    }
}

/// When seconds happen.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// Wall-clock time: second `k` is handed to the outputs one second before it is due.
    RealTime,
    /// As fast as possible (recording): second `k` is county time `start + k s`, and each
    /// frame is waited for, so the result is exactly what would air.
    Virtual {
        /// County time of second 0.
        start: DateTime<FixedOffset>,
    },
}

/// What the lane does about the next second.
enum Status {
    Ready(Arc<Gop>, FrameInfo),
    Failed,
    Pending,
}

struct Slot {
    item: String,
    screen: Arc<Screen>,
    page: u32,
    pages: u32,
    start: u64,
    dwell: u64,
    slate: bool,
}

/// A running lane's scheduler state (lives on the lane's thread).
pub struct Lane {
    profile: Profile,
    opts: LaneOptions,
    clock: Clock,
    source: Arc<dyn ProgramSource>,
    version: Option<Arc<AtomicU64>>,
    seen_version: u64,
    outputs: Vec<Output>,
    jobs: Option<Sender<FrameJob>>,
    done: Receiver<FrameDone>,
    encoder: Option<std::thread::JoinHandle<()>>,
    cache: HashMap<FrameKey, (Arc<Gop>, FrameInfo)>,
    order: VecDeque<FrameKey>,
    cached_bytes: usize,
    in_flight: HashSet<FrameKey>,
    failed: HashSet<FrameKey>,
    banner_pages: HashMap<crate::render::ScreenHash, u32>,
    /// Content hashes of the screens asked for lately, by identity: every second asks for
    /// the screen on air and the next one, and hashing serialises the whole screen.
    hashes: Vec<(Arc<Screen>, crate::render::ScreenHash)>,
    program: Program,
    queue: VecDeque<String>,
    slot: Option<Slot>,
    slate: Arc<Gop>,
    last: Arc<Gop>,
    stats: Arc<LaneStats>,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane")
            .field("profile", &self.profile)
            .field("items", &self.program.items.len())
            .finish()
    }
}

fn county_now() -> DateTime<FixedOffset> {
    chrono::Utc::now().with_timezone(&crate::content::county_offset())
}

impl Lane {
    /// Starts the encoder thread, draws and encodes the slate, and reads the program.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        profile: Profile,
        title: &str,
        opts: LaneOptions,
        clock: Clock,
        source: Arc<dyn ProgramSource>,
        version: Option<Arc<AtomicU64>>,
        outputs: Vec<Output>,
        faults: Arc<Faults>,
        stats: Arc<LaneStats>,
    ) -> Result<Lane, PlayoutError> {
        let (jobs, inbox) = mpsc::channel::<FrameJob>();
        let (done_tx, done) = mpsc::channel::<FrameDone>();
        let worker_stats = Arc::clone(&stats);
        let encoder = std::thread::Builder::new()
            .name(format!("enc {}", profile.name()))
            .spawn(move || worker::run(profile, inbox, done_tx, faults, worker_stats))
            .map_err(|source| PlayoutError::Io {
                what: "starting the encoder thread".into(),
                source,
            })?;
        let slate_screen = Arc::new(Screen::Slate(SlateScreen {
            channel: title.to_owned(),
            time: "政务服务便民热线 12345".to_owned(),
        }));
        let slate_key = FrameKey {
            screen: worker::hash(&slate_screen, profile),
            page: 1,
            banner: None,
        };
        let _ = jobs.send(FrameJob {
            key: slate_key,
            item: "slate".into(),
            screen: slate_screen,
            banner: None,
        });
        let slate = match done.recv() {
            Ok(FrameDone {
                result: Ok((gop, _)),
                ..
            }) => gop,
            other => {
                // Never black: a plain panel-coloured frame if the slate itself cannot be made.
                if let Ok(FrameDone { result: Err(e), .. }) = &other {
                    tracing::error!(error = %e, "the slate failed; airing a plain frame as slate");
                }
                let (w, h) = (profile.width() as usize, profile.height() as usize);
                let rgba = frame::solid_rgba(w, h, (0x1c, 0x2a, 0x3a));
                let pic = frame::rgba_to_yuv420(&rgba, w, h, encode::matrix(profile));
                Arc::new(
                    encode::encode_gop(profile, &pic)
                        .map_err(|e| PlayoutError::Slate(e.to_string()))?,
                )
            }
        };
        let mut lane = Lane {
            profile,
            opts,
            clock,
            source,
            seen_version: version.as_ref().map_or(0, |v| v.load(Ordering::Relaxed)),
            version,
            outputs,
            jobs: Some(jobs),
            done,
            encoder: Some(encoder),
            cache: HashMap::new(),
            order: VecDeque::new(),
            cached_bytes: 0,
            in_flight: HashSet::new(),
            failed: HashSet::new(),
            banner_pages: HashMap::new(),
            hashes: Vec::new(),
            program: Program::default(),
            queue: VecDeque::new(),
            slot: None,
            last: Arc::clone(&slate),
            slate,
            stats,
        };
        lane.refresh(0, false);
        Ok(lane)
    }

    fn now(&self, k: u64) -> DateTime<FixedOffset> {
        match self.clock {
            Clock::RealTime => county_now(),
            Clock::Virtual { start } => start + chrono::Duration::seconds(k as i64),
        }
    }

    fn blocking(&self) -> bool {
        matches!(self.clock, Clock::Virtual { .. })
    }

    /// Re-reads the program; with `announce`, items that were not in the old program air next.
    fn refresh(&mut self, k: u64, announce: bool) {
        match self.source.program(self.now(k)) {
            Ok(program) => {
                if announce {
                    let old: HashSet<&str> =
                        self.program.items.iter().map(|i| i.key.as_str()).collect();
                    let fresh: Vec<String> = program
                        .items
                        .iter()
                        .filter(|i| !old.contains(i.key.as_str()))
                        .map(|i| i.key.clone())
                        .collect();
                    for key in fresh.into_iter().rev() {
                        if !self.queue.contains(&key) {
                            self.queue.push_front(key);
                        }
                    }
                }
                self.stats
                    .program_items
                    .store(program.items.len() as u64, Ordering::Relaxed);
                self.program = program;
            }
            Err(e) => {
                LaneStats::add(&self.stats.program_errors, 1);
                tracing::warn!(error = %e, "reading the program failed; the previous one keeps airing");
            }
        }
    }

    /// The next (item, page) after the current slot, and whether it wraps the program.
    fn successor(&self) -> Option<(Item, u32, bool)> {
        for key in &self.queue {
            if let Some(i) = self.program.position(key) {
                return Some((self.program.items[i].clone(), 1, false));
            }
        }
        let items = &self.program.items;
        if items.is_empty() {
            return None;
        }
        let Some(slot) = &self.slot else {
            return Some((items[0].clone(), 1, false));
        };
        if !slot.slate && slot.page < slot.pages {
            if let Some(i) = self.program.position(&slot.item) {
                return Some((items[i].clone(), slot.page + 1, false));
            }
        }
        match self.program.position(&slot.item) {
            Some(i) if i + 1 < items.len() => Some((items[i + 1].clone(), 1, false)),
            _ => Some((items[0].clone(), 1, true)),
        }
    }

    /// The content hash of `screen` in this lane's profile, remembered for the few screens
    /// in use (held here, so an identity cannot be reused by another screen).
    fn hash_of(&mut self, screen: &Arc<Screen>) -> crate::render::ScreenHash {
        if let Some((_, h)) = self.hashes.iter().find(|(s, _)| Arc::ptr_eq(s, screen)) {
            return *h;
        }
        let h = worker::hash(screen, self.profile);
        if self.hashes.len() >= 4 {
            self.hashes.remove(0);
        }
        self.hashes.push((Arc::clone(screen), h));
        h
    }

    fn banner_at(&mut self, k: u64) -> Option<(Arc<Screen>, (crate::render::ScreenHash, u32))> {
        let banner = Arc::clone(self.program.banner.as_ref()?);
        let hash = self.hash_of(&banner);
        let pages = u64::from(self.banner_pages.get(&hash).copied().unwrap_or(1).max(1));
        let period = u64::from(self.opts.banner_period.max(1));
        let page = (k / period) % pages + 1;
        Some((banner, (hash, page as u32)))
    }

    fn job(&mut self, item: &str, screen: &Arc<Screen>, page: u32, k: u64) -> FrameJob {
        let banner = self.banner_at(k);
        FrameJob {
            key: FrameKey {
                screen: self.hash_of(screen),
                page,
                banner: banner.as_ref().map(|(_, b)| *b),
            },
            item: item.to_owned(),
            screen: Arc::clone(screen),
            banner: banner.map(|(s, _)| s),
        }
    }

    fn collect(&mut self, block_for: Option<FrameKey>) {
        loop {
            let done = match block_for {
                Some(key) if self.in_flight.contains(&key) => match self.done.recv() {
                    Ok(d) => d,
                    Err(_) => return,
                },
                _ => match self.done.try_recv() {
                    Ok(d) => d,
                    Err(_) => return,
                },
            };
            self.in_flight.remove(&done.key);
            match done.result {
                Ok((gop, info)) => {
                    if let Some((hash, _)) = done.key.banner {
                        self.banner_pages.insert(hash, info.banner_pages.max(1));
                    }
                    self.cached_bytes += gop.bytes();
                    if self.cache.insert(done.key, (gop, info)).is_none() {
                        self.order.push_back(done.key);
                    }
                    while self.cached_bytes > self.opts.cache_bytes && self.order.len() > 1 {
                        if let Some(old) = self.order.pop_front() {
                            if let Some((g, _)) = self.cache.remove(&old) {
                                self.cached_bytes -= g.bytes();
                            }
                        }
                    }
                    self.stats
                        .cache_gops
                        .store(self.cache.len() as u64, Ordering::Relaxed);
                    self.stats
                        .cache_bytes
                        .store(self.cached_bytes as u64, Ordering::Relaxed);
                }
                Err(_) => {
                    self.failed.insert(done.key);
                }
            }
        }
    }

    fn request(&mut self, job: FrameJob) {
        if self.cache.contains_key(&job.key)
            || self.in_flight.contains(&job.key)
            || self.failed.contains(&job.key)
        {
            return;
        }
        self.in_flight.insert(job.key);
        if let Some(jobs) = &self.jobs {
            if jobs.send(job).is_err() {
                tracing::error!("the encoder thread has stopped");
            }
        }
    }

    fn status(&mut self, job: FrameJob) -> Status {
        let key = job.key;
        self.request(job);
        if self.blocking() {
            self.collect(Some(key));
        }
        if let Some((gop, info)) = self.cache.get(&key) {
            return Status::Ready(Arc::clone(gop), *info);
        }
        if self.failed.contains(&key) {
            return Status::Failed;
        }
        Status::Pending
    }

    fn dwell_for(&self, info: &FrameInfo) -> u64 {
        let base = self.opts.dwell.as_secs().max(1);
        if self.opts.read_rate == 0 {
            return base;
        }
        let reading = (info.chars as u64).div_ceil(u64::from(self.opts.read_rate));
        reading.clamp(base, base * 3)
    }

    fn set_on_air(&self, item: &str, page: u32) {
        if let Ok(mut g) = self.stats.on_air.lock() {
            *g = Some(OnAir {
                item: item.to_owned(),
                page,
                since: Instant::now(),
            });
        }
    }

    /// Decides second `k` and returns its GOP.
    fn decide(&mut self, k: u64) -> (Arc<Gop>, bool) {
        if let Some(v) = &self.version {
            let now = v.load(Ordering::Relaxed);
            if now != self.seen_version {
                self.seen_version = now;
                self.refresh(k, true);
            }
        }
        let slot_over = self.slot.as_ref().is_none_or(|s| k >= s.start + s.dwell);
        if slot_over {
            // A failure is retried the next time the screen comes round.
            self.failed.clear();
            let mut next = self.successor();
            // A wrap starts a new cycle from fresh content; an empty program (nothing to
            // air, or the store failed) is re-read once per slot.
            if matches!(next, None | Some((_, _, true))) {
                self.refresh(k, false);
                next = self.successor();
            }
            let Some((item, page, _)) = next else {
                self.start_slate_slot(k, "slate");
                return (Arc::clone(&self.slate), true);
            };
            let job = self.job(&item.key, &item.screen, page, k);
            match self.status(job) {
                Status::Ready(gop, info) => {
                    self.queue.retain(|q| *q != item.key);
                    let dwell = self.dwell_for(&info);
                    self.slot = Some(Slot {
                        item: item.key.clone(),
                        screen: item.screen,
                        page,
                        pages: info.pages,
                        start: k,
                        dwell,
                        slate: false,
                    });
                    LaneStats::add(&self.stats.screens, 1);
                    self.set_on_air(&item.key, page);
                    return (gop, false);
                }
                Status::Failed => {
                    self.queue.retain(|q| *q != item.key);
                    self.slot = Some(Slot {
                        item: item.key.clone(),
                        screen: item.screen,
                        page,
                        pages: 1,
                        start: k,
                        dwell: self.opts.dwell.as_secs().max(1),
                        slate: true,
                    });
                    LaneStats::add(&self.stats.screens, 1);
                    self.set_on_air("slate", 1);
                    return (Arc::clone(&self.slate), true);
                }
                Status::Pending => {
                    LaneStats::add(&self.stats.late_gops, 1);
                    if self.slot.is_none() {
                        return (Arc::clone(&self.slate), true);
                    }
                    // Hold the current screen one more second.
                    if let Some(s) = &mut self.slot {
                        s.dwell += 1;
                    }
                }
            }
        }
        let Some(slot) = &self.slot else {
            return (Arc::clone(&self.slate), true);
        };
        if slot.slate {
            return (Arc::clone(&self.slate), true);
        }
        let (item, screen, page) = (slot.item.clone(), Arc::clone(&slot.screen), slot.page);
        let job = self.job(&item, &screen, page, k);
        match self.status(job) {
            Status::Ready(gop, _) => (gop, false),
            Status::Failed => (Arc::clone(&self.slate), true),
            Status::Pending => (Arc::clone(&self.last), Arc::ptr_eq(&self.last, &self.slate)),
        }
    }

    fn start_slate_slot(&mut self, k: u64, item: &str) {
        if self.slot.as_ref().is_some_and(|s| s.slate) {
            return;
        }
        self.slot = Some(Slot {
            item: item.to_owned(),
            screen: Arc::new(Screen::Slate(SlateScreen {
                channel: String::new(),
                time: String::new(),
            })),
            page: 1,
            pages: 1,
            start: k,
            dwell: self.opts.dwell.as_secs().max(1),
            slate: true,
        });
        LaneStats::add(&self.stats.screens, 1);
        self.set_on_air("slate", 1);
    }

    /// Asks the encoder for what the next seconds will need.
    fn prefetch(&mut self, k: u64) {
        if self.blocking() {
            return;
        }
        let Some(slot) = &self.slot else { return };
        let end = slot.start + slot.dwell;
        if !slot.slate {
            let (item, screen, page) = (slot.item.clone(), Arc::clone(&slot.screen), slot.page);
            if k + 1 < end {
                let job = self.job(&item, &screen, page, k + 1);
                self.request(job);
            }
        }
        if end <= k + 3 {
            if let Some((item, page, _)) = self.successor() {
                let job = self.job(&item.key, &item.screen, page, end.max(k + 1));
                self.request(job);
            }
        }
    }

    /// Airs second `k`: decides it, hands it to every output, prepares what comes next.
    pub fn tick(&mut self, k: u64) {
        self.collect(None);
        let (gop, slate) = self.decide(k);
        let wait = self.blocking();
        for out in &self.outputs {
            out.send(&gop, k, wait);
        }
        LaneStats::add(&self.stats.gops, 1);
        if slate {
            LaneStats::add(&self.stats.slate_gops, 1);
        }
        self.last = gop;
        self.prefetch(k);
    }

    /// Finishes every output (trailers written) and stops the encoder thread.
    pub fn finish(mut self) {
        for out in self.outputs.drain(..) {
            out.finish();
        }
        self.jobs = None;
        if let Some(t) = self.encoder.take() {
            let _ = t.join();
        }
    }

    /// Draws and encodes the first screen, so a channel starts with content, not the slate.
    pub fn warm_up(&mut self) {
        if let Some((item, page, _)) = self.successor() {
            let job = self.job(&item.key, &item.screen, page, 0);
            let key = job.key;
            self.request(job);
            self.collect(Some(key));
        }
    }

    /// Runs in real time until `stop` says so, then finishes.
    pub fn run_realtime(mut self, stop: Receiver<()>) {
        self.warm_up();
        let t0 = Instant::now();
        let lead = Duration::from_secs(1);
        let mut k: u64 = 0;
        loop {
            let due = (t0 + Duration::from_secs(k))
                .checked_sub(lead)
                .unwrap_or(t0);
            let now = Instant::now();
            if due > now {
                match stop.recv_timeout(due - now) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                }
            } else if !matches!(stop.try_recv(), Err(mpsc::TryRecvError::Empty)) {
                break;
            }
            self.tick(k);
            k += 1;
        }
        self.finish();
    }
}
