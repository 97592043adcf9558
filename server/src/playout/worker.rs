//! The encoder thread of a lane: draws a laid-out frame (a screen page, with its alert
//! strip when one is on air), converts it to Y′CbCr and encodes it as one closed GOP. Driven by a
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
            if job.layout.width as usize != w || job.layout.height as usize != h {
                return Err(FrameError::Render(format!(
                    "a {}×{} layout for a {w}×{h} lane",
                    job.layout.width, job.layout.height
                )));
            }
            let rgba = renderer
                .raster(&job.layout)
                .ok_or_else(|| FrameError::Render("empty raster".into()))?
                .take();
            let picture = frame::rgba_to_yuv420(&rgba, w, h, encode::matrix(profile));
            if faults.take_encode_failure() {
                return Err(FrameError::Encode(EncodeError::Injected));
            }
            let gop = encode::encode_gop(profile, &picture)?;
            Ok(Arc::new(gop))
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
