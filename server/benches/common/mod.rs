//! What the HTTP benches share: the demo county in a store, served the way `headend
//! serve` serves it, and this process's RSS.

use std::net::SocketAddr;
use std::path::Path;

use headend::store::Store;
use headend::web::{app, AppState};

/// This process's resident set, KiB (from `/proc/self/status`).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

/// A store in `dir` holding the demo county as of today.
pub fn demo_store(dir: &Path) -> Store {
    let store = Store::open(&dir.join("headend.db")).unwrap();
    let county = headend::demo::embedded().unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&headend::content::county_offset())
        .date_naive();
    store
        .call_blocking(move |c| Ok(headend::demo::load(c, &county, today)))
        .unwrap()
        .unwrap();
    store
}

/// Serves `store` on 127.0.0.1 with the production route table, runtime (one worker a
/// core) and server (timeouts, connection cap, peer addresses); keep the runtime alive
/// while the bench runs.
pub fn serve(store: Store) -> (tokio::runtime::Runtime, SocketAddr) {
    let rt = headend::serve::runtime().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(headend::serve::serve_http(
        listener,
        app(AppState::new(store)),
        std::future::pending(),
    ));
    (rt, addr)
}
