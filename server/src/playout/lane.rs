//! A lane: one channel in one picture profile. It owns the clock and the cycle being
//! aired, asks the process's encoders for the frames it needs (see [`super::worker`]: one
//! encode per frame, whichever lanes air it), and hands one GOP per second to each output.
//!
//! Every second is decided at a GOP boundary. A page stays up for its dwell (longer for
//! long text); then the next page airs: the rest of the screen, the urgent notice when
//! it is due, the screen an urgent airing interrupted, or the next item of the cycle (see
//! [`super::cycle`]; a new cycle is planned when one ends). Content changes are picked up
//! at the next page change: a new notice airs next, a withdrawn one leaves, the alert band
//! comes and goes.
//!
//! Screens air in the broadcast context: a status line (channel, 第N/M页, 下一条：…) and,
//! while an urgent notice is in force, an alert band the page is laid out around, its
//! strips changing every `banner_period` seconds. Each distinct frame (page and strip) is
//! drawn and encoded once into a closed GOP and re-sent while it airs. A frame that is not
//! encoded yet never leaves a gap (the current one is held a second longer); one that
//! failed airs as the slate. Every aired frame is written to the as-run log.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};

use super::asrun::{self, AsRun, AsRunLine};
use super::cycle::{self, Turns};
use super::encode::{self, Gop};
use super::frame;
use super::output::Output;
use super::program::{Item, Part, Program, ProgramSource};
use super::stats::{LaneStats, OnAir as OnAirStat};
use super::worker::{self, Encoders, Faults, FrameDone, FrameJob, Requested};
use super::PlayoutError;
use crate::render::screen::SlateScreen;
use crate::render::{Layout, OnAir, Profile, Renderer, Role, Screen, ScreenContext, ScreenHash};

/// Frames a lane keeps after they arrive and before they air (what it asks for ahead).
const ARRIVED: usize = 8;

/// How a lane airs screens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneOptions {
    /// Dwell per screen page. Default: 10 s.
    pub dwell: Duration,
    /// Reading speed for long text in characters per second: a page with more text than
    /// `dwell × rate` stays up longer (at most 3× the dwell). 0 keeps every page at the
    /// dwell. Default: 8.
    pub read_rate: u32,
    /// Seconds each alert strip stays before the next. Default: 5.
    pub banner_period: u32,
    /// Longest cycle (airtime between two summaries); what does not fit takes turns
    /// across cycles. Default: 15 minutes.
    pub cycle: Duration,
    /// An urgent notice in force airs full screen again at the latest this long after its
    /// last airing started. Default: 180 s.
    pub urgent_every: Duration,
}

impl Default for LaneOptions {
    fn default() -> Self {
        LaneOptions {
            dwell: Duration::from_secs(10),
            read_rate: 8,
            banner_period: 5,
            cycle: Duration::from_secs(15 * 60),
            urgent_every: Duration::from_secs(180),
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

/// Everything a lane needs to start.
pub struct LaneSetup {
    /// Channel name (`county`), for the as-run log.
    pub channel: String,
    /// Channel title on air (示范县政务频道).
    pub title: String,
    /// Picture profile.
    pub profile: Profile,
    /// Dwell, strips, cycle length.
    pub options: LaneOptions,
    /// Real time or a recording.
    pub clock: Clock,
    /// The program.
    pub source: Arc<dyn ProgramSource>,
    /// Bumped when the store's content changes; `None` re-reads only at cycle ends.
    pub version: Option<Arc<AtomicU64>>,
    /// The outputs fed.
    pub outputs: Vec<Output>,
    /// Faults to inject.
    pub faults: Arc<Faults>,
    /// Counters.
    pub stats: Arc<LaneStats>,
    /// Where the as-run lines go.
    pub as_run: AsRun,
    /// The process's encoders and GOP cache.
    pub encoders: Encoders,
}

impl std::fmt::Debug for LaneSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaneSetup")
            .field("channel", &self.channel)
            .field("profile", &self.profile)
            .finish()
    }
}

/// What the lane does about the next second.
enum Status {
    Ready(Arc<Gop>),
    Failed,
    Pending,
}

/// How a page came to be next (what to commit when it airs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// The next page of the screen on air.
    SamePage,
    /// The urgent notice's first page (an airing starts).
    Urgent,
    /// The screen an urgent airing interrupted.
    Resume,
    /// The next item of the cycle.
    Cycle,
}

/// A page of a screen, as it airs.
#[derive(Clone)]
struct Page {
    item: Item,
    context: Arc<ScreenContext>,
    hash: ScreenHash,
    layouts: Arc<Vec<Layout>>,
    page: u32,
    dwell: u64,
    urgent: bool,
}

impl Page {
    fn pages(&self) -> u32 {
        self.layouts.len() as u32
    }

    fn layout(&self) -> Option<&Layout> {
        self.layouts.get(self.page.saturating_sub(1) as usize)
    }

    fn strips(&self) -> u32 {
        self.layout().map_or(0, |l| l.strips)
    }
}

/// The page on air.
struct Slot {
    page: Page,
    start: u64,
    dwell: u64,
    slate: bool,
    /// Sequence number of the alert strip the page starts with.
    strip_base: u64,
    /// Strips the page shows: its planned dwell split into `banner_period` shares.
    strips_here: u64,
}

impl Slot {
    /// The strip sequence number at second `k` (strips change only within the page's
    /// planned dwell, each staying at least `banner_period` seconds).
    fn strip_seq(&self, k: u64) -> u64 {
        let planned = self.page.dwell.max(1);
        let into = k.saturating_sub(self.start).min(planned - 1);
        self.strip_base
            + (into * self.strips_here / planned).min(self.strips_here.saturating_sub(1))
    }
}

/// One frame of a page: what the encoder draws and the as-run log names.
#[derive(Clone)]
struct Shot {
    hash: ScreenHash,
    layout: Arc<Layout>,
}

/// What a second shows, for the as-run log.
enum Shown {
    /// A frame of the page on air.
    Frame(Shot, Page),
    /// The slate.
    Slate,
    /// The picture of the second before, again (the next frame is not encoded yet).
    Held,
}

/// A run of seconds showing one frame, for the as-run log.
struct Run {
    start: u64,
    hash: ScreenHash,
    kind: &'static str,
    item: Option<i64>,
    page: u32,
    pages: u32,
    strip: Option<u32>,
    slate: bool,
    segment: String,
}

/// A running lane's scheduler state (lives on the lane's thread).
pub struct Lane {
    channel: String,
    title: String,
    profile: Profile,
    opts: LaneOptions,
    clock: Clock,
    source: Arc<dyn ProgramSource>,
    version: Option<Arc<AtomicU64>>,
    seen_version: u64,
    outputs: Vec<Output>,
    encoders: Encoders,
    faults: Arc<Faults>,
    reply: Sender<FrameDone>,
    done: Receiver<FrameDone>,
    layouter: Option<Renderer>,
    /// Frames made for this lane and not aired yet (the cache may drop them before they
    /// air); the oldest go first beyond [`ARRIVED`].
    arrived: VecDeque<(ScreenHash, Arc<Gop>)>,
    in_flight: HashSet<ScreenHash>,
    failed: HashSet<ScreenHash>,
    program: Program,
    cycle: VecDeque<Item>,
    turns: Turns,
    resume: Option<(Item, u32)>,
    urgent_started: Option<(String, u64)>,
    slot: Option<Slot>,
    /// Sequence number of the next alert strip; restarts at the title when the urgent
    /// notice changes.
    strip_next: u64,
    strip_for: Option<String>,
    peeked: Option<(u64, Option<(Page, Via)>)>,
    generation: u64,
    /// The program read ahead for the cut due next (its time and the program).
    upcoming: Option<(DateTime<FixedOffset>, Program)>,
    slate: Arc<Gop>,
    slate_shot: Shot,
    last: Arc<Gop>,
    stats: Arc<LaneStats>,
    as_run: AsRun,
    run: Option<Run>,
    origin: DateTime<FixedOffset>,
    /// When second 0 aired (real time only).
    started: Option<Instant>,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane")
            .field("channel", &self.channel)
            .field("profile", &self.profile)
            .field("items", &self.program.items.len())
            .finish()
    }
}

fn county_now() -> DateTime<FixedOffset> {
    chrono::Utc::now().with_timezone(&crate::content::county_offset())
}

/// Characters of running text and items on a page (sets its dwell).
fn reading_chars(layout: &Layout) -> usize {
    layout
        .lines
        .iter()
        .filter(|l| matches!(l.role, Role::Body | Role::Item | Role::Alert))
        .map(|l| l.text.chars().count())
        .sum()
}

/// Characters of content on pages `..pages` (everything but the frame: footer, band,
/// repeated headings), to find where a re-laid-out screen resumes.
fn content_chars(layouts: &[Layout], pages: usize) -> usize {
    layouts
        .iter()
        .take(pages)
        .flat_map(|l| l.lines.iter())
        .filter(|l| !matches!(l.role, Role::Footer | Role::Alert | Role::Title))
        .map(|l| l.text.chars().count())
        .sum()
}

/// The page of `layouts` holding content character `n` (0-based), so nothing is skipped
/// when the band comes or goes in the middle of a screen.
fn page_holding(layouts: &[Layout], n: usize) -> u32 {
    let mut seen = 0;
    for (i, layout) in layouts.iter().enumerate() {
        seen += content_chars(std::slice::from_ref(layout), 1);
        if seen > n {
            return i as u32 + 1;
        }
    }
    layouts.len().max(1) as u32
}

impl Lane {
    /// Starts the encoder thread, draws and encodes the slate, and reads the program.
    pub fn new(setup: LaneSetup) -> Result<Lane, PlayoutError> {
        let LaneSetup {
            channel,
            title,
            profile,
            options,
            clock,
            source,
            version,
            outputs,
            faults,
            stats,
            as_run,
            encoders,
        } = setup;
        let (reply, done) = mpsc::channel::<FrameDone>();
        let layouter = match Renderer::new() {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = %e, "the faces cannot be loaded: the channel airs the slate");
                None
            }
        };
        let slate_screen = Screen::Slate(SlateScreen {
            channel: title.clone(),
            time: "政务服务便民热线 12345".to_owned(),
        });
        let slate_layout = layouter
            .as_ref()
            .and_then(|r| r.layout(&slate_screen, profile).into_iter().next());
        let slate_hash = worker::hash(&slate_screen, profile).frame(1, None);
        let slate = match &slate_layout {
            Some(layout) => {
                let job = FrameJob {
                    key: slate_hash,
                    item: "slate".into(),
                    layout: Arc::new(layout.clone()),
                };
                match encoders.request(job, profile, &faults, &stats, &reply) {
                    Requested::Cached(gop) => Some(gop),
                    Requested::Coming => match done.recv() {
                        Ok(FrameDone {
                            result: Ok(gop), ..
                        }) => Some(gop),
                        Ok(FrameDone { result: Err(e), .. }) => {
                            tracing::error!(error = %e, "the slate failed; airing a plain frame as slate");
                            None
                        }
                        Err(_) => None,
                    },
                }
            }
            None => None,
        };
        let slate = match slate {
            Some(gop) => gop,
            None => {
                // Never black: a plain panel-coloured frame if the slate itself cannot be made.
                let (w, h) = (profile.width() as usize, profile.height() as usize);
                let rgba = frame::solid_rgba(w, h, (0x1c, 0x2a, 0x3a));
                let pic = frame::rgba_to_yuv420(&rgba, w, h, encode::matrix(profile));
                Arc::new(encode::encode_gop(profile, &pic).map_err(PlayoutError::Slate)?)
            }
        };
        let origin = match clock {
            Clock::RealTime => county_now(),
            Clock::Virtual { start } => start,
        };
        let mut lane = Lane {
            channel,
            title,
            profile,
            opts: options,
            clock,
            source,
            seen_version: version.as_ref().map_or(0, |v| v.load(Ordering::Relaxed)),
            version,
            outputs,
            encoders,
            faults,
            reply,
            done,
            layouter,
            arrived: VecDeque::new(),
            in_flight: HashSet::new(),
            failed: HashSet::new(),
            program: Program::default(),
            cycle: VecDeque::new(),
            turns: Turns::default(),
            resume: None,
            urgent_started: None,
            slot: None,
            strip_next: 0,
            strip_for: None,
            peeked: None,
            generation: 0,
            upcoming: None,
            last: Arc::clone(&slate),
            slate,
            slate_shot: Shot {
                hash: slate_hash,
                layout: Arc::new(slate_layout.unwrap_or_else(|| empty_layout(profile))),
            },
            stats,
            as_run,
            run: None,
            origin,
            started: None,
        };
        lane.refresh(0, false);
        Ok(lane)
    }

    /// County time at which second `k` airs: what the program is read for, so that a
    /// change scheduled for a second airs at that second, not a second early.
    fn now(&self, k: u64) -> DateTime<FixedOffset> {
        self.air_time(k)
    }

    /// County time at which second `k` airs. In real time it follows the wall clock (a
    /// clock set late by NTP moves every scheduled change with it), not the count of
    /// seconds since start.
    fn air_time(&self, k: u64) -> DateTime<FixedOffset> {
        match (self.clock, self.started) {
            (Clock::RealTime, Some(t0)) => {
                let due = t0 + Duration::from_secs(k);
                let now = Instant::now();
                let ahead = due.saturating_duration_since(now).as_millis() as i64
                    - now.saturating_duration_since(due).as_millis() as i64;
                county_now() + chrono::Duration::milliseconds(ahead)
            }
            _ => self.origin + chrono::Duration::seconds(k as i64),
        }
    }

    fn blocking(&self) -> bool {
        matches!(self.clock, Clock::Virtual { .. })
    }

    fn changed(&mut self) {
        self.generation += 1;
        self.peeked = None;
    }

    /// Re-reads the program; with `announce`, notices that were not in the old program air
    /// next (with their public lists).
    fn refresh(&mut self, k: u64, announce: bool) {
        // What was read ahead for the next cut may be out of date now.
        self.upcoming = None;
        match self.source.program(self.now(k)) {
            Ok(program) => {
                // An urgent override approved late or cancelled takes the air, or leaves
                // it, at this second rather than at the next page change.
                let overriding = |s: &str| s.starts_with("override:");
                let cut = program.segment != self.program.segment
                    && (overriding(&program.segment) || overriding(&self.program.segment));
                self.install(program, announce);
                if cut {
                    self.clear_air();
                }
            }
            Err(e) => {
                LaneStats::add(&self.stats.program_errors, 1);
                tracing::warn!(error = %e, "reading the program failed; the previous one keeps airing");
            }
        }
        self.changed();
    }

    /// Makes `program` the one the cycle is planned from.
    fn install(&mut self, program: Program, announce: bool) {
        let announce = announce && program.segment == self.program.segment;
        if program.segment != self.program.segment {
            // Another part of the schedule: its cycle starts afresh once the page on air
            // has had its time (or at once, for a cut).
            self.cycle.clear();
            self.resume = None;
        }
        if announce {
            let old: HashSet<&str> = self.program.items.iter().map(|i| i.key.as_str()).collect();
            let mut fresh: Vec<Item> = Vec::new();
            let mut after_new = false;
            for item in &program.items {
                let new = !old.contains(item.key.as_str());
                match item.part {
                    Part::Always | Part::Turns => {
                        after_new = new;
                        if new {
                            fresh.push(item.clone());
                        }
                    }
                    Part::Attached if after_new => fresh.push(item.clone()),
                    _ => after_new = false,
                }
            }
            for item in fresh.into_iter().rev() {
                if self.cycle.iter().all(|q| q.key != item.key) {
                    self.cycle.push_front(item);
                }
            }
        }
        self.stats
            .program_items
            .store(program.items.len() as u64, Ordering::Relaxed);
        let urgent = program.urgent.as_ref().map(|u| u.key.clone());
        if urgent != self.strip_for {
            self.strip_for = urgent;
            self.strip_next = 0;
        }
        self.program = program;
    }

    fn dwell_for(&self, layout: &Layout) -> u64 {
        let base = self.opts.dwell.as_secs().max(1);
        if self.opts.read_rate == 0 {
            return base;
        }
        let reading = (reading_chars(layout) as u64).div_ceil(u64::from(self.opts.read_rate));
        reading.clamp(base, base * 3)
    }

    /// The broadcast context of a normal screen: channel, what comes next, the alert band.
    fn context(&self, next: Option<String>, band: bool) -> ScreenContext {
        ScreenContext::Broadcast(OnAir {
            channel: self.title.clone(),
            next,
            alert: if band {
                self.program.urgent.as_ref().map(|u| u.alert.clone())
            } else {
                None
            },
        })
    }

    /// Lays out `item` in `context`; `None` without faces.
    fn lay_out(
        &self,
        item: &Item,
        context: ScreenContext,
    ) -> Option<(ScreenHash, Arc<Vec<Layout>>, Arc<ScreenContext>)> {
        let renderer = self.layouter.as_ref()?;
        let layouts = renderer.layout_in(&item.screen, self.profile, &context);
        if layouts.is_empty() {
            return None;
        }
        let hash = ScreenHash::of_in(&item.screen, self.profile, renderer.theme(), &context);
        Some((hash, Arc::new(layouts), Arc::new(context)))
    }

    fn page_of(&self, item: Item, page: u32, context: ScreenContext, urgent: bool) -> Option<Page> {
        let (hash, layouts, context) = self.lay_out(&item, context)?;
        let page = page.clamp(1, layouts.len() as u32);
        let dwell = match item.dwell {
            Some(d) => u64::from(d.max(1)),
            None => layouts
                .get(page as usize - 1)
                .map_or(1, |l| self.dwell_for(l)),
        };
        Some(Page {
            item,
            context,
            hash,
            layouts,
            page,
            dwell,
            urgent,
        })
    }

    /// Seconds `screen` airs in this lane (all pages), as a cycle is planned.
    fn airtime(&self, screen: &Screen, band: bool) -> u64 {
        let Some(renderer) = &self.layouter else {
            return self.opts.dwell.as_secs().max(1);
        };
        let context = self.context(Some(String::new()), band);
        renderer
            .layout_in(screen, self.profile, &context)
            .iter()
            .map(|l| self.dwell_for(l))
            .sum()
    }

    /// The item of the cycle that airs next (dropping what left the program, taking the
    /// fresh version of what changed); plans a new cycle when this one is over.
    fn next_item(&mut self, k: u64) -> Option<Item> {
        if let Some(item) = self.queued_item() {
            return Some(item);
        }
        // A new cycle from fresh content.
        self.refresh(k, false);
        self.plan_cycle(k);
        self.queued_item()
    }

    /// The front of the cycle, dropping what left the program and taking the fresh version
    /// of what changed.
    fn queued_item(&mut self) -> Option<Item> {
        while let Some(front) = self.cycle.front() {
            if front.key == cycle::SUMMARY_KEY {
                return Some(front.clone());
            }
            match self.program.item(&front.key).cloned() {
                Some(fresh) => {
                    if let Some(f) = self.cycle.front_mut() {
                        *f = fresh.clone();
                    }
                    return Some(fresh);
                }
                None => {
                    self.cycle.pop_front();
                }
            }
        }
        None
    }

    fn plan_cycle(&mut self, k: u64) {
        let band = self.program.urgent.is_some();
        let mut budget = self.opts.cycle.as_secs();
        if let Some(u) = self.program.urgent.as_ref().filter(|u| !u.band_only) {
            // Urgent airings take their share of every cycle.
            let d = self.airtime(&u.screen, false);
            let every = self.opts.urgent_every.as_secs().max(1);
            let reserve = d * budget.div_ceil(every);
            budget = budget.saturating_sub(reserve).max(budget / 3);
        }
        let program = self.program.clone();
        let title = self.title.clone();
        let now = self.now(k);
        let mut turns = std::mem::take(&mut self.turns);
        let mut measure = |s: &Screen| self.airtime(s, band);
        let planned = cycle::plan(&program, &title, now, budget, &mut measure, &mut turns);
        self.turns = turns;
        self.cycle = planned.into();
        self.changed();
    }

    /// The headline of what airs after the item on air: the cycle's next item (passing
    /// over the first `skip` queued ones), or the next cycle's summary.
    fn following(&self, skip: usize) -> Option<String> {
        let queued = self
            .cycle
            .iter()
            .skip(skip)
            .find(|i| i.key == cycle::SUMMARY_KEY || self.program.item(&i.key).is_some());
        match queued {
            Some(i) => Some(i.screen.headline()),
            None if self.program.summary => Some(cycle::SUMMARY_HEADLINE.to_owned()),
            None => self.program.items.first().map(|i| i.screen.headline()),
        }
    }

    /// What airs after the page on air, starting at second `k`, and how it came to be next.
    fn peek(&mut self, k: u64) -> Option<(Page, Via)> {
        if let Some((gen, next)) = &self.peeked {
            if *gen == self.generation {
                return next.clone();
            }
        }
        let next = self.compute_next(k);
        self.peeked = Some((self.generation, next.clone()));
        next
    }

    fn compute_next(&mut self, k: u64) -> Option<(Page, Via)> {
        let band = self.program.urgent.is_some();
        // The rest of the screen on air.
        let mut candidate: Option<(Page, Via)> = None;
        if let Some(slot) = &self.slot {
            let p = &slot.page;
            let still_on = p.item.key == cycle::SUMMARY_KEY
                || (p.urgent
                    && self
                        .program
                        .urgent
                        .as_ref()
                        .is_some_and(|u| u.key == p.item.key))
                || (!p.urgent && self.program.item(&p.item.key).is_some());
            if !slot.slate && still_on && p.page < p.pages() {
                let (item, page, old) = (p.item.clone(), p.page, Arc::clone(&p.layouts));
                let urgent = p.urgent;
                let next = self.following(0);
                let context = if urgent {
                    self.context(next, false)
                } else {
                    self.context(next, band)
                };
                let same_band = context.alert().is_some() == p.context.alert().is_some();
                if let Some(mut page_next) = self.page_of(item.clone(), page + 1, context, urgent) {
                    if !same_band {
                        // The band came or went: resume where the aired text ends.
                        let n = content_chars(&old, page as usize);
                        let resume = page_holding(&page_next.layouts, n);
                        page_next = self
                            .page_of(item, resume, (*page_next.context).clone(), urgent)
                            .unwrap_or(page_next);
                    }
                    candidate = Some((page_next, Via::SamePage));
                }
            }
        }
        let in_urgent = candidate.as_ref().is_some_and(|(p, _)| p.urgent);
        if candidate.is_none() {
            if let Some((item, page)) = self.resume.clone() {
                let still_on =
                    self.program.item(&item.key).is_some() || item.key == cycle::SUMMARY_KEY;
                if still_on {
                    let next = self.following(0);
                    let context = self.context(next, band);
                    candidate = self
                        .page_of(item, page, context, false)
                        .map(|p| (p, Via::Resume));
                } else {
                    self.resume = None;
                }
            }
        }
        if candidate.is_none() {
            if let Some(item) = self.next_item(k) {
                // The item is the cycle's front: what follows it comes after.
                let next = self.following(1);
                let context = self.context(next, band);
                candidate = self
                    .page_of(item, 1, context, false)
                    .map(|p| (p, Via::Cycle));
            }
        }
        // The urgent notice when it is due: first thing once in force, then again before
        // `urgent_every` has passed since its last airing started.
        if !in_urgent {
            if let Some(urgent) = self.program.urgent.clone().filter(|u| !u.band_only) {
                let every = self.opts.urgent_every.as_secs().max(1);
                let next_dwell = candidate.as_ref().map_or(0, |(p, _)| p.dwell);
                let due = match &self.urgent_started {
                    Some((key, start)) if *key == urgent.key => k + next_dwell > start + every,
                    _ => true,
                };
                if due {
                    let next = candidate.as_ref().map(|(p, _)| p.item.screen.headline());
                    let item = Item {
                        key: urgent.key.clone(),
                        screen: Arc::clone(&urgent.screen),
                        part: Part::Always,
                        dwell: None,
                    };
                    let context = self.context(next, false);
                    if let Some(p) = self.page_of(item, 1, context, true) {
                        return Some((p, Via::Urgent));
                    }
                }
            }
        }
        candidate
    }

    /// Makes `page` the page on air from second `k`.
    fn commit(&mut self, page: Page, via: Via, k: u64, slate: bool) {
        match via {
            Via::SamePage => {}
            Via::Urgent => {
                self.urgent_started = Some((page.item.key.clone(), k));
                // Whatever the urgent airing interrupts resumes after it.
                if let Some(slot) = &self.slot {
                    let p = &slot.page;
                    if !p.urgent && !slot.slate && p.page < p.pages() {
                        self.resume = Some((p.item.clone(), p.page + 1));
                    }
                }
            }
            Via::Resume => self.resume = None,
            Via::Cycle => {
                self.cycle.pop_front();
            }
        }
        let dwell = page.dwell;
        tracing::debug!(k, item = %page.item.key, page = page.page, pages = page.pages(), dwell, ?via, slate, "page on air");
        self.set_on_air(&page.item.key, page.page);
        let strips_here = self.strips_for(&page);
        let strip_base = self.strip_next;
        self.strip_next += strips_here;
        self.slot = Some(Slot {
            page,
            start: k,
            dwell,
            slate,
            strip_base,
            strips_here,
        });
        LaneStats::add(&self.stats.screens, 1);
        self.changed();
    }

    /// How many strips a page of `dwell` seconds shows.
    fn strips_for(&self, page: &Page) -> u64 {
        if page.strips() == 0 {
            return 0;
        }
        (page.dwell / u64::from(self.opts.banner_period.max(1))).max(1)
    }

    /// The frame of `page` showing alert strip number `seq` (wrapping over its strips).
    fn shot(&self, page: &Page, seq: u64) -> Option<Shot> {
        let layout = page.layout()?;
        let strips = u64::from(page.strips());
        let strip = (strips > 0).then(|| (seq % strips) as u32 + 1);
        let layout = match strip {
            Some(s) => layout.with_strip(s),
            None => layout.clone(),
        };
        Some(Shot {
            hash: page.hash.frame(page.page, strip),
            layout: Arc::new(layout),
        })
    }

    /// The frame the page on air shows at second `k`.
    fn slot_shot(&self, k: u64) -> Option<(Shot, Page)> {
        let slot = self.slot.as_ref()?;
        let shot = self.shot(&slot.page, slot.strip_seq(k))?;
        Some((shot, slot.page.clone()))
    }

    fn collect(&mut self, block_for: Option<ScreenHash>) {
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
                Ok(gop) => self.keep(done.key, gop),
                Err(_) => {
                    self.failed.insert(done.key);
                }
            }
        }
    }

    /// Keeps a frame made for this lane until it airs.
    fn keep(&mut self, key: ScreenHash, gop: Arc<Gop>) {
        if self.arrived.iter().all(|(k, _)| *k != key) {
            self.arrived.push_back((key, gop));
        }
        while self.arrived.len() > ARRIVED {
            self.arrived.pop_front();
        }
    }

    /// The GOP of frame `key`, if it is made (what [`Lane::request`] or [`Lane::collect`]
    /// brought).
    fn gop(&self, key: &ScreenHash) -> Option<Arc<Gop>> {
        self.arrived
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, g)| Arc::clone(g))
    }

    fn request(&mut self, item: &str, shot: &Shot) {
        let key = shot.hash;
        if self.in_flight.contains(&key)
            || self.failed.contains(&key)
            || self.arrived.iter().any(|(k, _)| *k == key)
        {
            return;
        }
        let job = FrameJob {
            key,
            item: item.to_owned(),
            layout: Arc::clone(&shot.layout),
        };
        match self
            .encoders
            .request(job, self.profile, &self.faults, &self.stats, &self.reply)
        {
            Requested::Cached(gop) => self.keep(key, gop),
            Requested::Coming => {
                self.in_flight.insert(key);
            }
        }
    }

    fn status(&mut self, item: &str, shot: &Shot) -> Status {
        self.request(item, shot);
        if self.blocking() {
            self.collect(Some(shot.hash));
        }
        if let Some(gop) = self.gop(&shot.hash) {
            return Status::Ready(gop);
        }
        if self.failed.contains(&shot.hash) {
            return Status::Failed;
        }
        Status::Pending
    }

    fn set_on_air(&self, item: &str, page: u32) {
        if let Ok(mut g) = self.stats.on_air.lock() {
            *g = Some(OnAirStat {
                item: item.to_owned(),
                page,
                since: Instant::now(),
            });
        }
    }

    /// Decides second `k`: its GOP and the frame it shows (`None` for the slate).
    fn decide(&mut self, k: u64) -> (Arc<Gop>, Shown) {
        if self.program.cut_at.is_some_and(|t| self.air_time(k) >= t) {
            self.cut(k);
        }
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
            if self.program.expires.is_some_and(|t| self.now(k) >= t) {
                self.refresh(k, false);
            }
            let next = self.peek(k);
            let Some((page, via)) = next else {
                // Nothing to air (the program was just read again): the slate.
                if self.slot.as_ref().is_none_or(|s| !s.slate) {
                    self.slot = None;
                    self.set_on_air("slate", 1);
                    LaneStats::add(&self.stats.screens, 1);
                }
                return (Arc::clone(&self.slate), Shown::Slate);
            };
            let Some(shot) = self.shot(&page, self.strip_next) else {
                self.commit(page, via, k, true);
                return (Arc::clone(&self.slate), Shown::Slate);
            };
            match self.status(&page.item.key, &shot) {
                Status::Ready(gop) => {
                    self.commit(page.clone(), via, k, false);
                    return (gop, Shown::Frame(shot, page));
                }
                Status::Failed => {
                    self.commit(page, via, k, true);
                    self.set_on_air("slate", 1);
                    return (Arc::clone(&self.slate), Shown::Slate);
                }
                Status::Pending => {
                    LaneStats::add(&self.stats.late_gops, 1);
                    match &mut self.slot {
                        // Hold the current screen one more second.
                        Some(s) => s.dwell += 1,
                        // Just cut: the picture before stays up until the new one is ready.
                        None => return (Arc::clone(&self.last), Shown::Held),
                    }
                }
            }
        }
        let Some(slot) = &self.slot else {
            return (Arc::clone(&self.slate), Shown::Slate);
        };
        if slot.slate {
            return (Arc::clone(&self.slate), Shown::Slate);
        }
        let Some((shot, page)) = self.slot_shot(k) else {
            return (Arc::clone(&self.slate), Shown::Slate);
        };
        match self.status(&page.item.key, &shot) {
            Status::Ready(gop) => (gop, Shown::Frame(shot, page)),
            Status::Failed => (Arc::clone(&self.slate), Shown::Slate),
            Status::Pending => {
                // Keep showing what is on the picture now (its run goes on).
                (Arc::clone(&self.last), Shown::Held)
            }
        }
    }

    /// Cuts to the program in force at second `k`: the page on air, the rest of the cycle
    /// and any screen waiting to resume are dropped; the new program's first page airs
    /// from this second (or as soon as it is encoded, the picture before held meanwhile).
    fn cut(&mut self, k: u64) {
        let at = self.air_time(k);
        tracing::info!(k, %at, channel = %self.channel, "scheduled cut");
        let program = match self.upcoming.take() {
            Some((t, p)) if self.program.cut_at == Some(t) => Ok(p),
            _ => self.source.program(at),
        };
        match program {
            Ok(p) => self.install(p, false),
            Err(e) => {
                LaneStats::add(&self.stats.program_errors, 1);
                tracing::warn!(error = %e, "reading the program at a cut failed; the previous one keeps airing");
                self.program.cut_at = None;
            }
        }
        // Whatever the program is now, its cycle starts at this second.
        self.clear_air();
        self.changed();
    }

    /// Drops the page on air, the rest of the cycle and any screen waiting to resume: the
    /// next second starts afresh from the program (the picture before is held until the
    /// new one is encoded).
    fn clear_air(&mut self) {
        self.cycle.clear();
        self.resume = None;
        self.urgent_started = None;
        self.slot = None;
    }

    /// Asks the encoder for what the next seconds will need.
    fn prefetch(&mut self, k: u64) {
        if self.blocking() {
            return;
        }
        // The first page after a cut due in the next seconds, read ahead once.
        if let Some(at) = self.program.cut_at {
            let soon = self.air_time(k + 3) >= at;
            let read = self.upcoming.as_ref().is_some_and(|(t, _)| *t == at);
            if soon && !read {
                match self.source.program(at) {
                    Ok(p) => {
                        // What airs first after the cut: the urgent notice in force
                        // (full screen), else the program's first screen.
                        let urgent = p.urgent.as_ref().filter(|u| !u.band_only).map(|u| {
                            let item = Item {
                                key: u.key.clone(),
                                screen: Arc::clone(&u.screen),
                                part: Part::Always,
                                dwell: None,
                            };
                            (item, p.items.first().map(|i| i.screen.headline()), true)
                        });
                        let first = urgent.or_else(|| {
                            p.items.first().cloned().map(|item| {
                                let next = p.items.get(1).map(|i| i.screen.headline());
                                (item, next, false)
                            })
                        });
                        self.upcoming = Some((at, p));
                        if let Some((item, next, urgent)) = first {
                            let context = self.context(next, false);
                            if let Some(page) = self.page_of(item, 1, context, urgent) {
                                if let Some(shot) = self.shot(&page, self.strip_next) {
                                    self.request(&page.item.key, &shot);
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "reading the program after a cut failed"),
                }
            }
        }
        let Some(slot) = &self.slot else { return };
        let end = slot.start + slot.dwell;
        if !slot.slate {
            for t in [k + 1, k + 2] {
                if t < end {
                    if let Some((shot, page)) = self.slot_shot(t) {
                        self.request(&page.item.key, &shot);
                    }
                }
            }
        }
        if end <= k + 3 {
            let at = end.max(k + 1);
            if let Some((page, _)) = self.peek(at) {
                if let Some(shot) = self.shot(&page, self.strip_next) {
                    self.request(&page.item.key, &shot);
                }
            }
        }
    }

    /// Closes the as-run run in progress at second `k` (exclusive).
    fn close_run(&mut self, k: u64) {
        if let Some(run) = self.run.take() {
            let start = self.air_time(run.start);
            let line = AsRunLine {
                start: asrun::timestamp(start),
                seconds: k - run.start,
                channel: self.channel.clone(),
                profile: self.profile.as_str().to_owned(),
                kind: run.kind.to_owned(),
                item: run.item,
                page: run.page,
                pages: run.pages,
                hash: run.hash.to_string(),
                banner: run.strip.is_some(),
                strip: run.strip,
                slate: run.slate,
                segment: run.segment,
            };
            self.as_run.record(&line, start);
        }
    }

    /// Notes what second `k` shows in the as-run log.
    fn log_second(&mut self, k: u64, shown: &Shown) {
        let frame = match shown {
            // The picture of the second before goes on: so does its run.
            Shown::Held if self.run.is_some() => return,
            Shown::Frame(shot, page) => Some((shot, page)),
            Shown::Held | Shown::Slate => None,
        };
        let hash = frame.map_or(self.slate_shot.hash, |(s, _)| s.hash);
        if self
            .run
            .as_ref()
            .is_some_and(|r| r.hash == hash && r.slate == frame.is_none())
        {
            return;
        }
        self.close_run(k);
        let run = match frame {
            Some((shot, page)) => {
                self.as_run.layout(shot.hash, &shot.layout);
                Run {
                    start: k,
                    hash: shot.hash,
                    kind: if page.item.key == cycle::SUMMARY_KEY {
                        "summary"
                    } else {
                        page.item.screen.kind()
                    },
                    item: page.item.store_id(),
                    page: page.page,
                    pages: page.pages(),
                    strip: shot.layout.strip,
                    slate: false,
                    segment: self.program.segment.clone(),
                }
            }
            None => {
                let shot = self.slate_shot.clone();
                self.as_run.layout(shot.hash, &shot.layout);
                Run {
                    start: k,
                    hash: shot.hash,
                    kind: "slate",
                    item: None,
                    page: 1,
                    pages: 1,
                    strip: None,
                    slate: true,
                    segment: self.program.segment.clone(),
                }
            }
        };
        self.run = Some(run);
    }

    /// Airs second `k`: decides it, hands it to every output, prepares what comes next.
    pub fn tick(&mut self, k: u64) {
        self.collect(None);
        let (gop, shown) = self.decide(k);
        let slate = match &shown {
            Shown::Frame(..) => false,
            Shown::Slate => true,
            Shown::Held => Arc::ptr_eq(&gop, &self.slate),
        };
        let wait = self.blocking();
        for out in &self.outputs {
            out.send(&gop, k, wait);
        }
        self.log_second(k, &shown);
        LaneStats::add(&self.stats.gops, 1);
        if slate {
            LaneStats::add(&self.stats.slate_gops, 1);
        }
        self.last = gop;
        self.prefetch(k);
    }

    /// Finishes every output (trailers written) and closes the as-run log at second
    /// `end`.
    pub fn finish(mut self, end: u64) {
        self.close_run(end);
        for out in self.outputs.drain(..) {
            out.finish();
        }
    }

    /// Draws and encodes the first screen, so a channel starts with content, not the slate.
    pub fn warm_up(&mut self) {
        if let Some((page, _)) = self.peek(0) {
            if let Some(shot) = self.shot(&page, self.strip_next) {
                self.request(&page.item.key, &shot);
                self.collect(Some(shot.hash));
            }
        }
    }

    /// Runs in real time until `stop` says so, then finishes.
    pub fn run_realtime(mut self, stop: Receiver<()>) {
        self.warm_up();
        let t0 = Instant::now();
        self.origin = county_now();
        self.started = Some(t0);
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
        self.finish(k);
    }
}

/// A blank layout of `profile` (the slate's record when the faces cannot be loaded).
fn empty_layout(profile: Profile) -> Layout {
    Layout {
        profile: profile.as_str(),
        width: profile.width(),
        height: profile.height(),
        page: 1,
        pages: 1,
        safe: profile.safe(),
        lines: Vec::new(),
        shapes: Vec::new(),
        selectables: Vec::new(),
        qr: Vec::new(),
        missing: Vec::new(),
        band: None,
        strip: None,
        strips: 0,
        strip_lines: Vec::new(),
        background: crate::render::Theme::DEFAULT.background,
        profile_kind: profile,
        x_scale: profile.x_scale(),
        footer_top: None,
    }
}
