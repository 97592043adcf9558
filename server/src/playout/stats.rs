//! Counters every lane and output keeps, read by `/metrics` (Prometheus text format) and
//! by tests. Plain atomics: writers never wait for readers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What a lane (one channel in one profile) has done.
#[derive(Debug, Default)]
pub struct LaneStats {
    /// GOPs (seconds) aired.
    pub gops: AtomicU64,
    /// Screens (pages) aired: one per change of what is on air.
    pub screens: AtomicU64,
    /// GOPs that aired the slate.
    pub slate_gops: AtomicU64,
    /// Frames that failed to render.
    pub render_failures: AtomicU64,
    /// Frames that failed to encode.
    pub encode_failures: AtomicU64,
    /// Encoder restarts after a failure.
    pub encoder_restarts: AtomicU64,
    /// Frames encoded (cache misses).
    pub encodes: AtomicU64,
    /// Seconds a screen was held longer because the next was not encoded yet.
    pub late_gops: AtomicU64,
    /// Items in the current program.
    pub program_items: AtomicU64,
    /// Program rebuilds that failed (the previous program keeps airing).
    pub program_errors: AtomicU64,
    /// What is on air and since when.
    pub on_air: Mutex<Option<OnAir>>,
}

/// The screen on air.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnAir {
    /// Program item key (`notice:42`), or `slate`.
    pub item: String,
    /// 1-based page.
    pub page: u32,
    /// When its first GOP was handed to the outputs.
    pub since: Instant,
}

impl LaneStats {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// The screen on air.
    pub fn on_air(&self) -> Option<OnAir> {
        self.on_air.lock().ok().and_then(|g| g.clone())
    }
}

/// What an output has done.
#[derive(Debug, Default)]
pub struct OutputStats {
    /// Whether the muxer is open and writing.
    pub up: AtomicBool,
    /// GOPs muxed.
    pub gops: AtomicU64,
    /// Bytes delivered (TS bytes sent or written; for HLS, coded video muxed).
    pub bytes: AtomicU64,
    /// UDP datagrams sent.
    pub datagrams: AtomicU64,
    /// Failed UDP sends or file writes (the output keeps going).
    pub send_errors: AtomicU64,
    /// Muxer failures: an HLS write that failed, or a TS muxer that failed (its output
    /// stops).
    pub mux_errors: AtomicU64,
    /// GOPs not delivered because the output had fallen behind.
    pub dropped_gops: AtomicU64,
    /// Pictures and audio frames of an MPEG-TS output sent after their decoding time
    /// (the mux rate is too low for the content).
    pub late_units: AtomicU64,
}
