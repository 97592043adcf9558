//! Whole-system tests: the real `headend` binary, real SQLite files, real HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod broadcast;
mod client;
mod foundation;
mod health;
mod render;
mod stb;
mod stream;

/// Takes every block off the demo schedule in `data`, so every channel airs its fallback
/// (the default sequence) whatever the time of day the test runs at.
pub fn unschedule(data: &std::path::Path) {
    let db = rusqlite::Connection::open(data.join("headend.db")).unwrap();
    db.execute("DELETE FROM schedule_entries", []).unwrap();
}

/// Writes `DIR/headend.toml` airing the county channel as SD HLS with two-second pages
/// (no longer for long text), so that what a test publishes airs within seconds; its path.
pub fn fast_county_config(dir: &std::path::Path) -> std::path::PathBuf {
    let config = dir.join("headend.toml");
    std::fs::write(
        &config,
        "[[channels]]\nname = \"county\"\ndwell = 2\nread_rate = 0\n\
         [[channels.outputs]]\nkind = \"hls\"\nprofile = \"sd\"\n",
    )
    .unwrap();
    config
}
