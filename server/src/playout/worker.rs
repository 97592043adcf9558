//! The encoder thread of a lane: draws a frame (a screen page, with the banner strip when
//! one is on air), converts it to Y′CbCr and encodes it as one closed GOP. Driven by a
//! command channel; answers on the lane's reply channel.
//!
//! A failure is answered, never swallowed: the lane airs the slate in that frame's place.
//! An encoder failure drops that encoder (the next GOP opens a fresh one), so the encoder
//! restarts without the muxers noticing.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use super::encode::{self, EncodeError, Gop};
use super::frame;
use super::stats::LaneStats;
use crate::render::{Profile, Renderer, Role, Screen, ScreenHash, Theme};

/// Identity of one frame of a lane: screen page plus banner state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameKey {
    /// The screen.
    pub screen: ScreenHash,
    /// 1-based page.
    pub page: u32,
    /// The banner screen and its page, when one is laid over.
    pub banner: Option<(ScreenHash, u32)>,
}

/// A frame to draw and encode.
#[derive(Debug, Clone)]
pub struct FrameJob {
    /// Its identity.
    pub key: FrameKey,
    /// Program item key (`notice:42`), for logs and fault drills.
    pub item: String,
    /// The screen.
    pub screen: Arc<Screen>,
    /// The banner screen, when one is laid over.
    pub banner: Option<Arc<Screen>>,
}

/// What the drawing learnt besides the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Pages of the screen.
    pub pages: u32,
    /// Characters of running text and items on this page (sets the dwell).
    pub chars: usize,
    /// Pages (strip states) of the banner, 0 without one.
    pub banner_pages: u32,
}

/// Why a frame could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Drawing failed.
    #[error("rendering failed: {0}")]
    Render(String),
    /// Encoding failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// The answer to a [`FrameJob`].
#[derive(Debug)]
pub struct FrameDone {
    /// Which frame.
    pub key: FrameKey,
    /// The GOP and what was learnt, or why not.
    pub result: Result<(Arc<Gop>, FrameInfo), FrameError>,
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

/// Draws `job` for `profile`: RGBA pixels and what was learnt.
pub fn paint(
    renderer: &mut Renderer,
    profile: Profile,
    job: &FrameJob,
) -> Result<(Vec<u8>, FrameInfo), FrameError> {
    let layouts = renderer.layout(&job.screen, profile);
    let pages = layouts.len() as u32;
    let layout = layouts
        .get(job.key.page.saturating_sub(1) as usize)
        .ok_or_else(|| {
            FrameError::Render(format!("page {} of {pages} does not exist", job.key.page))
        })?;
    let chars = layout
        .lines
        .iter()
        .filter(|l| matches!(l.role, Role::Body | Role::Item | Role::Alert))
        .map(|l| l.text.chars().count())
        .sum();
    let mut rgba = renderer
        .raster(layout)
        .ok_or_else(|| FrameError::Render("empty raster".into()))?
        .take();
    let mut banner_pages = 0;
    if let (Some(banner), Some((_, bpage))) = (&job.banner, job.key.banner) {
        let strips = renderer.layout(banner, profile);
        banner_pages = strips.len() as u32;
        let strip = strips
            .get(bpage.saturating_sub(1) as usize)
            .or(strips.first())
            .ok_or_else(|| FrameError::Render("the banner has no strip".into()))?;
        let band = strip
            .shapes
            .first()
            .map(|s| s.rect)
            .ok_or_else(|| FrameError::Render("the banner has no band".into()))?;
        let pixels = renderer
            .raster(strip)
            .ok_or_else(|| FrameError::Render("empty banner raster".into()))?;
        let top = band.y.floor().max(0.0) as usize;
        let bottom = (band.y + band.h).ceil().max(0.0) as usize;
        frame::overlay_rows(
            &mut rgba,
            pixels.data(),
            profile.width() as usize,
            top,
            bottom,
        );
    }
    Ok((
        rgba,
        FrameInfo {
            pages,
            chars,
            banner_pages,
        },
    ))
}

/// Runs the encoder thread of a lane for `profile` until the job channel closes.
pub fn run(
    profile: Profile,
    jobs: Receiver<FrameJob>,
    done: Sender<FrameDone>,
    faults: Arc<Faults>,
    stats: Arc<LaneStats>,
) {
    let mut renderer = Renderer::new().map_err(|e| e.to_string());
    let (w, h) = (profile.width() as usize, profile.height() as usize);
    for job in jobs {
        let result = (|| {
            let renderer = renderer
                .as_mut()
                .map_err(|e| FrameError::Render(e.clone()))?;
            if faults.render_fails(&job.item) {
                return Err(FrameError::Render(format!(
                    "injected failure for {}",
                    job.item
                )));
            }
            let (rgba, info) = paint(renderer, profile, &job)?;
            let picture = frame::rgba_to_yuv420(&rgba, w, h, encode::matrix(profile));
            if faults.take_encode_failure() {
                return Err(FrameError::Encode(EncodeError::Injected));
            }
            let gop = encode::encode_gop(profile, &picture)?;
            Ok((Arc::new(gop), info))
        })();
        match &result {
            Ok(_) => LaneStats::add(&stats.encodes, 1),
            Err(FrameError::Render(e)) => {
                LaneStats::add(&stats.render_failures, 1);
                tracing::warn!(item = %job.item, profile = profile.name(), error = %e, "screen failed to render; the slate airs instead");
            }
            Err(FrameError::Encode(e)) => {
                LaneStats::add(&stats.encode_failures, 1);
                LaneStats::add(&stats.encoder_restarts, 1);
                tracing::warn!(item = %job.item, profile = profile.name(), error = %e, "encoder failed; restarting it, the slate airs instead");
            }
        }
        if done
            .send(FrameDone {
                key: job.key,
                result,
            })
            .is_err()
        {
            break;
        }
    }
}
