//! The client at run time: keeps the manifest current, turns keys into frames, prefetches
//! what is one key away, registers the box and reports views.
//!
//! Every frame comes from the cache when it can (verified on read), else from the source;
//! with neither, the client keeps what it shows or shows its built-in screen. When the
//! headend cannot be reached the client goes on from the cache and shows 更新于 with the time
//! of the last successful contact in the top-right corner, and retries with backoff
//! (5 s doubling up to the refresh interval).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use stb_protocol::{
    BoxCredentials, CaseLookup, Key, Manifest, RegisterBox, ViewCount, ViewReport, VoteRequest,
};

use crate::cache::Cache;
use crate::nav::{Effect, Nav};
use crate::picture::{self, rgb, Frame};
use crate::source::{Fetched, Source, SourceError};
use crate::{builtin, digits, time};

/// Settings of a client.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `http://…` or a bundle directory.
    pub server: String,
    /// Picture profile asked for.
    pub profile: String,
    /// Region code of the box.
    pub region: String,
    /// Cache directory.
    pub cache: PathBuf,
    /// Cache cap in bytes.
    pub cache_bytes: u64,
    /// Manifest refresh interval.
    pub refresh: Duration,
    /// Device identification sent when registering.
    pub device: String,
    /// The display's size.
    pub size: (u32, u32),
}

/// Where a frame's image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The disk cache.
    Cache,
    /// The headend (or bundle directory), just now.
    Network,
    /// Built into the client (nothing else available).
    Builtin,
}

impl Origin {
    /// Its name in traces.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Cache => "cache",
            Origin::Network => "network",
            Origin::Builtin => "builtin",
        }
    }
}

/// The focus highlight: broadcast-safe amber, legal on SD (no channel above 235).
pub const FOCUS: u32 = rgb(235, 176, 16);
/// The digit-entry field.
const FIELD_BG: u32 = rgb(235, 235, 235);
const FIELD_FG: u32 = rgb(16, 16, 16);

/// Prefetching in the background: the runtime sends the images one key away, a thread
/// fetches what the cache lacks. `idle` counts outstanding requests.
struct Prefetcher {
    tx: Sender<Vec<String>>,
    pending: Arc<(Mutex<usize>, Condvar)>,
}

impl Prefetcher {
    fn start(source: Source, cache: Arc<Mutex<Cache>>) -> Prefetcher {
        let (tx, rx) = mpsc::channel::<Vec<String>>();
        let pending = Arc::new((Mutex::new(0usize), Condvar::new()));
        let counter = Arc::clone(&pending);
        let spawned = std::thread::Builder::new()
            .name("prefetch".into())
            .spawn(move || prefetch_loop(&source, &cache, &rx, &counter));
        if let Err(e) = spawned {
            eprintln!("stb-client: no prefetching: {e}");
        }
        Prefetcher { tx, pending }
    }

    fn request(&self, names: Vec<String>) {
        let (lock, _) = &*self.pending;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        if self.tx.send(names).is_err() {
            *lock.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        }
    }

    /// Blocks until every request sent so far is done.
    fn wait_idle(&self) {
        let (lock, cvar) = &*self.pending;
        let mut n = lock.lock().unwrap_or_else(|p| p.into_inner());
        while *n > 0 {
            n = cvar.wait(n).unwrap_or_else(|p| p.into_inner());
        }
    }
}

fn lock(cache: &Mutex<Cache>) -> MutexGuard<'_, Cache> {
    cache.lock().unwrap_or_else(|p| p.into_inner())
}

fn prefetch_loop(
    source: &Source,
    cache: &Mutex<Cache>,
    rx: &Receiver<Vec<String>>,
    pending: &(Mutex<usize>, Condvar),
) {
    let done = |n: usize| {
        let (lock, cvar) = pending;
        let mut p = lock.lock().unwrap_or_else(|e| e.into_inner());
        *p = p.saturating_sub(n);
        cvar.notify_all();
    };
    while let Ok(mut names) = rx.recv() {
        // Only the newest request matters: the viewer has moved on.
        let mut skipped = 0;
        while let Ok(newer) = rx.try_recv() {
            names = newer;
            skipped += 1;
        }
        for name in names {
            if lock(cache).has_image(&name) {
                continue;
            }
            match source.image(&name) {
                Ok(png) if picture::size(&png).is_ok() => {
                    if let Err(e) = lock(cache).put_image(&name, &png) {
                        eprintln!("stb-client: cache: cannot store {name}: {e}");
                    }
                }
                Ok(_) => eprintln!("stb-client: prefetch: {name} is not a PNG"),
                // Offline or refused: the screen is fetched (or not) when it is opened.
                Err(_) => break,
            }
        }
        done(skipped + 1);
    }
}

/// One key's outcome, for traces.
#[derive(Debug, Clone)]
pub struct Step {
    /// Screen id on show after the key.
    pub screen: String,
    /// Page on show, from 1.
    pub page: usize,
    /// Name of the page image on show (none for the built-in screen).
    pub image: Option<String>,
    /// Where the image came from.
    pub origin: Origin,
}

/// The client.
pub struct Client {
    settings: Settings,
    source: Source,
    cache: Arc<Mutex<Cache>>,
    nav: Option<Nav>,
    frame: Frame,
    /// Whether the last contact with the source failed.
    offline: bool,
    /// Time of the last successful manifest fetch (or of the cached manifest).
    updated: Option<SystemTime>,
    next_refresh: Instant,
    backoff: Duration,
    /// The county's UTC offset in seconds, from the manifest (for 更新于 and view days).
    offset: i64,
    credentials: Option<BoxCredentials>,
    views: Views,
    /// Show the network-error line on the next frame.
    toast: bool,
    prefetcher: Prefetcher,
    updated_label: Frame,
    offline_label: Frame,
}

/// View counts of one day, kept in the cache directory until reported.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Views {
    day: String,
    counts: BTreeMap<String, u32>,
}

impl Client {
    /// Opens the cache, shows what it can at once, then tries the source.
    pub fn start(settings: Settings) -> std::io::Result<Client> {
        let cache = Cache::open(&settings.cache, settings.cache_bytes)?;
        let cache = Arc::new(Mutex::new(cache));
        let source = Source::new(&settings.server);
        let prefetcher = Prefetcher::start(source.clone(), Arc::clone(&cache));
        let (w, h) = settings.size;
        let mut client = Client {
            frame: Frame::new(w, h, 0),
            source,
            nav: None,
            offline: false,
            updated: None,
            next_refresh: Instant::now(),
            backoff: Duration::from_secs(5),
            offset: 8 * 3600,
            credentials: None,
            views: Views::default(),
            toast: false,
            prefetcher,
            updated_label: builtin::updated(),
            offline_label: builtin::offline(),
            cache,
            settings,
        };
        client.load_state();
        let cached = lock(&client.cache).manifest();
        if let Some((json, when)) = cached {
            match serde_json::from_slice::<Manifest>(&json) {
                Ok(m) if client.usable(&m) => {
                    client.adopt(m);
                    client.updated = Some(when);
                }
                Ok(_) => eprintln!("stb-client: cached manifest is for another box: ignored"),
                Err(e) => eprintln!("stb-client: cached manifest unreadable: {e}"),
            }
        }
        Ok(client)
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The frame to show.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The navigation state, once a manifest is known.
    pub fn nav(&self) -> Option<&Nav> {
        self.nav.as_ref()
    }

    /// Whether the last contact with the source failed.
    pub fn offline(&self) -> bool {
        self.offline
    }

    /// Blocks until prefetching of what was requested so far is done.
    pub fn wait_prefetch(&self) {
        self.prefetcher.wait_idle();
    }

    fn usable(&self, m: &Manifest) -> bool {
        m.screen(&m.home).is_some() && (m.region == self.settings.region || !self.source.two_way())
    }

    fn load_state(&mut self) {
        let mut cache = lock(&self.cache);
        self.credentials = cache
            .state("box.json")
            .and_then(|b| serde_json::from_slice(&b).ok());
        self.views = cache
            .state("views.json")
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
    }

    fn adopt(&mut self, manifest: Manifest) {
        self.offset = time::offset_of(&manifest.generated_at).unwrap_or(self.offset);
        let manifest = Arc::new(manifest);
        match &mut self.nav {
            Some(nav) => nav.replace_manifest(manifest),
            None => self.nav = Some(Nav::new(manifest)),
        }
    }

    /// Asks the source for a newer manifest (conditional); returns whether it changed.
    pub fn refresh(&mut self) -> bool {
        let version = self.nav.as_ref().map(|n| n.manifest().version.clone());
        let result = self.source.manifest(
            &self.settings.profile,
            &self.settings.region,
            version.as_deref(),
        );
        let changed = match result {
            Ok(Fetched::NotModified) => {
                lock(&self.cache).touch_manifest();
                false
            }
            Ok(Fetched::Manifest(json)) => match serde_json::from_slice::<Manifest>(&json) {
                Ok(m) if self.usable(&m) => {
                    if let Err(e) = lock(&self.cache).put_manifest(&json) {
                        eprintln!("stb-client: cache: cannot store the manifest: {e}");
                    }
                    self.adopt(m);
                    true
                }
                Ok(m) => {
                    eprintln!(
                        "stb-client: manifest for region {} without a home screen ignored",
                        m.region
                    );
                    self.contact_failed();
                    return false;
                }
                Err(e) => {
                    eprintln!("stb-client: manifest unreadable: {e}");
                    self.contact_failed();
                    return false;
                }
            },
            Err(e) => {
                if !self.offline {
                    eprintln!("stb-client: {e}: going on from the cache");
                }
                self.contact_failed();
                return false;
            }
        };
        if self.offline {
            eprintln!("stb-client: headend reachable again");
        }
        self.offline = false;
        self.updated = Some(SystemTime::now());
        self.backoff = Duration::from_secs(5);
        self.next_refresh = Instant::now() + self.settings.refresh;
        self.register();
        self.report_views(false);
        changed
    }

    fn contact_failed(&mut self) {
        self.offline = true;
        self.next_refresh = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(self.settings.refresh.max(Duration::from_secs(5)));
    }

    /// When [`Client::tick`] next has work.
    pub fn next_due(&self) -> Instant {
        self.next_refresh
    }

    /// Periodic work: the manifest refresh (on its timer or backoff) and the daily view
    /// report. Returns whether the frame changed.
    pub fn tick(&mut self) -> bool {
        if Instant::now() < self.next_refresh {
            return false;
        }
        let was_offline = self.offline;
        let had_nav = self.nav.is_some();
        let changed = self.refresh();
        if changed || was_offline != self.offline || had_nav != self.nav.is_some() {
            self.draw();
            return true;
        }
        false
    }

    fn register(&mut self) {
        if self.credentials.is_some() || !self.source.two_way() {
            return;
        }
        let req = RegisterBox {
            device: self.settings.device.clone(),
            region: self.settings.region.clone(),
            profile: self.settings.profile.clone(),
        };
        match self.source.register(&req) {
            Ok(creds) => {
                let json = serde_json::to_vec(&creds).unwrap_or_default();
                if let Err(e) = lock(&self.cache).put_state("box.json", &json) {
                    eprintln!("stb-client: cannot keep the box identity: {e}");
                }
                eprintln!("stb-client: registered as box {}", creds.id);
                self.credentials = Some(creds);
            }
            Err(e) => eprintln!("stb-client: registration failed: {e}"),
        }
    }

    fn today(&self) -> String {
        time::day(SystemTime::now(), self.offset)
    }

    /// Counts a view of the screen on show.
    fn count_view(&mut self) {
        let Some(nav) = &self.nav else { return };
        let id = nav.screen_id().to_owned();
        let today = self.today();
        if self.views.day != today {
            self.report_views(true);
            self.views.day = today;
        }
        *self.views.counts.entry(id).or_insert(0) += 1;
    }

    /// Reports the stored counts of a finished day (or of today, with `force`).
    fn report_views(&mut self, force: bool) {
        if self.views.counts.is_empty() || (!force && self.views.day == self.today()) {
            return;
        }
        if let Some(creds) = &self.credentials {
            let report = ViewReport {
                box_id: creds.id.clone(),
                secret: creds.secret.clone(),
                day: self.views.day.clone(),
                counts: self
                    .views
                    .counts
                    .iter()
                    .map(|(screen, &views)| ViewCount {
                        screen: screen.clone(),
                        views,
                    })
                    .collect(),
            };
            match self.source.views(&report) {
                Ok(()) => self.views.counts.clear(),
                Err(e) => eprintln!("stb-client: view report kept for later: {e}"),
            }
        }
    }

    /// Keeps the view counts on disk (at exit and now and then).
    pub fn save_views(&mut self) {
        let json = serde_json::to_vec(&self.views).unwrap_or_default();
        if let Err(e) = lock(&self.cache).put_state("views.json", &json) {
            eprintln!("stb-client: cannot keep view counts: {e}");
        }
    }

    /// Handles a key: returns the outcome once the new frame is drawn.
    pub fn press(&mut self, key: Key) -> Step {
        self.toast = false;
        let effect = match &mut self.nav {
            Some(nav) => nav.press(key),
            None => {
                // Nothing to navigate yet: any key retries at once.
                self.next_refresh = Instant::now();
                self.tick();
                Effect::Redraw
            }
        };
        let moved = effect != Effect::None;
        match effect {
            Effect::None | Effect::Redraw => {}
            Effect::Home => {
                // Home refreshes the manifest (conditional: cheap when unchanged), at the
                // next tick, after this frame is on screen.
                self.next_refresh = Instant::now();
            }
            Effect::Lookup(case_no) => {
                let req = CaseLookup {
                    case_no,
                    box_id: self.credentials.as_ref().map(|c| c.id.clone()),
                };
                match self.source.lookup(&self.settings.profile, &req) {
                    Ok(answer) => self.show_answer(answer.screen),
                    Err(e) => self.failed(&e),
                }
            }
            Effect::Vote { poll, option } => match &self.credentials {
                Some(creds) => {
                    let req = VoteRequest {
                        box_id: creds.id.clone(),
                        secret: creds.secret.clone(),
                        option,
                    };
                    match self.source.vote(&self.settings.profile, poll, &req) {
                        Ok(answer) => self.show_answer(answer.screen),
                        // Voted before: the headend sends the results instead.
                        Err(SourceError::Refused {
                            screen: Some(screen),
                            ..
                        }) => self.show_answer(*screen),
                        Err(e) => self.failed(&e),
                    }
                }
                None => {
                    eprintln!("stb-client: cannot vote: this box is not registered yet");
                    self.toast = true;
                }
            },
        }
        if moved {
            self.count_view();
        }
        let origin = self.draw();
        let (screen, page, image) = match &self.nav {
            Some(n) => (n.screen_id().to_owned(), n.view().page + 1, n.image()),
            None => ("builtin:empty".to_owned(), 1, None),
        };
        Step {
            screen,
            page,
            image,
            origin,
        }
    }

    fn show_answer(&mut self, screen: stb_protocol::Screen) {
        if let Some(nav) = &mut self.nav {
            nav.show_answer(screen);
        }
    }

    fn failed(&mut self, e: &SourceError) {
        eprintln!("stb-client: {e}");
        self.toast = true;
        if matches!(e, SourceError::Unreachable(_)) {
            self.contact_failed();
        }
    }

    /// Draws the current view into the frame: returns where its image came from.
    pub fn draw(&mut self) -> Origin {
        let Some(name) = self.nav.as_ref().and_then(Nav::image) else {
            builtin::empty_into(&mut self.frame);
            return Origin::Builtin;
        };
        let cached = lock(&self.cache).image(&name);
        let (png, origin) = match cached {
            Some(png) => (Some(png), Origin::Cache),
            None => match self.source.image(&name) {
                Ok(png) => {
                    if let Err(e) = lock(&self.cache).put_image(&name, &png) {
                        eprintln!("stb-client: cache: cannot store {name}: {e}");
                    }
                    (Some(png), Origin::Network)
                }
                Err(e) => {
                    eprintln!("stb-client: {name}: {e}");
                    if matches!(e, SourceError::Unreachable(_)) {
                        self.contact_failed();
                    }
                    (None, Origin::Builtin)
                }
            },
        };
        let shown = match png {
            Some(png) => match picture::decode_into(&png, &mut self.frame) {
                Ok(()) => true,
                Err(e) => {
                    eprintln!("stb-client: {name}: {e}");
                    false
                }
            },
            None => false,
        };
        let origin = if shown {
            self.overlays();
            origin
        } else {
            // Keep the frame on show (never blank) and say why.
            self.toast = true;
            self.overlays();
            Origin::Builtin
        };
        if let Some(nav) = &self.nav {
            self.prefetcher.request(nav.neighbours());
        }
        origin
    }

    /// Scale from the profile's pixels to the display's.
    fn scale(&self) -> (f64, f64) {
        match &self.nav {
            Some(n) => {
                let m = n.manifest();
                (
                    f64::from(self.frame.width) / f64::from(m.width.max(1)),
                    f64::from(self.frame.height) / f64::from(m.height.max(1)),
                )
            }
            None => (1.0, 1.0),
        }
    }

    fn overlays(&mut self) {
        let (sx, sy) = self.scale();
        let h = self.frame.height;
        let Some(nav) = &self.nav else { return };
        let screen = nav.screen().cloned();
        let view = nav.view().clone();
        let entry_text = nav.entry().to_owned();
        if let Some(screen) = &screen {
            // Focus highlight.
            if let Some(f) = view
                .focus
                .and_then(|i| screen.pages.get(view.page)?.focus.get(i))
            {
                let thick = i64::from((h / 120).max(4));
                self.frame.outline(
                    (f64::from(f.x) * sx) as i64 - thick,
                    (f64::from(f.y) * sy) as i64 - thick / 2,
                    (f64::from(f.w) * sx) as i64 + 2 * thick,
                    (f64::from(f.h) * sy) as i64 + thick,
                    thick,
                    FOCUS,
                );
            }
            // Digit entry field.
            if let Some(e) = &screen.entry {
                let (x, y) = ((f64::from(e.x) * sx) as i64, (f64::from(e.y) * sy) as i64);
                let (w, fh) = ((f64::from(e.w) * sx) as i64, (f64::from(e.h) * sy) as i64);
                self.frame.fill(x, y, w, fh, FIELD_BG);
                let thick = i64::from((h / 240).max(2));
                self.frame.outline(x, y, w, fh, thick, FOCUS);
                let text = format!("{}{}_", e.prefix, entry_text);
                let px = ((fh as u32 * 6 / 10) / 7).max(1);
                let px =
                    px.min(((w as u32).saturating_sub(8) / digits::width(&text, 1).max(1)).max(1));
                let ty = y + (fh - i64::from(digits::height(px))) / 2;
                digits::draw(
                    &mut self.frame,
                    &text,
                    x + i64::from(px) * 3,
                    ty,
                    px,
                    FIELD_FG,
                );
            }
        }
        let scale = (h / 576).max(1);
        if self.offline {
            if let Some(when) = self.updated {
                let stamp = time::stamp(when, self.offset);
                let label = &self.updated_label;
                let px = (label.height * scale * 45 / 100 / 7).max(1);
                let w = label.width * scale + digits::width(&stamp, px) + label.height * scale / 2;
                let x =
                    i64::from(self.frame.width) - i64::from(w) - i64::from(self.frame.width / 20);
                let y = i64::from(self.frame.height / 20);
                let bg = label.pixels[0];
                let fg = builtin::ink(label);
                self.frame
                    .fill(x, y, i64::from(w), i64::from(label.height * scale), bg);
                self.frame.paste(label, x, y, scale);
                let ty = y + i64::from((label.height * scale - digits::height(px)) / 2);
                digits::draw(
                    &mut self.frame,
                    &stamp,
                    x + i64::from(label.width * scale),
                    ty,
                    px,
                    fg,
                );
            }
        }
        if self.toast {
            let label = &self.offline_label;
            let x = (i64::from(self.frame.width) - i64::from(label.width * scale)) / 2;
            let y = i64::from(self.frame.height) * 3 / 4;
            self.frame.paste(label, x, y, scale);
        }
    }

    /// The set of images cached right now among `names` (for tests and traces).
    pub fn cached(&self, names: &[String]) -> HashSet<String> {
        let cache = lock(&self.cache);
        names
            .iter()
            .filter(|n| cache.has_image(n))
            .cloned()
            .collect()
    }

    /// Damaged cache files found and repaired so far.
    pub fn repaired(&self) -> u64 {
        lock(&self.cache).repaired()
    }
}
