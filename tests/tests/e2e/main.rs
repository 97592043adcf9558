//! Whole-system tests: the real `headend` binary, real SQLite files, real HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod broadcast;
mod client;
mod foundation;
mod render;
mod stb;
mod stream;

/// Takes every block off the demo schedule in `data`, so every channel airs its fallback
/// (the default sequence) whatever the time of day the test runs at.
pub fn unschedule(data: &std::path::Path) {
    let db = rusqlite::Connection::open(data.join("headend.db")).unwrap();
    db.execute("DELETE FROM schedule_entries", []).unwrap();
}
