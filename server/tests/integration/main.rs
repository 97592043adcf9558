//! Integration tests of the headend library: the store with county bundles, the HTTP app.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod broadcast;
mod demo_county;
mod http;
mod ingest;
mod playout;
mod render;
mod schedule;
mod staff;
mod stb;
mod stb_client_assets;

use headend::store::Store;

/// The small hand-written county used where the full demo would only slow a test down.
pub const MINI_COUNTY: &str = include_str!("fixtures/mini-county.json");

/// An in-memory store holding the mini county, loaded with its anchor day as today.
pub fn mini_store() -> Store {
    let store = Store::open_in_memory().unwrap();
    let county: headend::demo::County = serde_json::from_str(MINI_COUNTY).unwrap();
    let anchor = county.anchor_date;
    store
        .call_blocking(move |conn| Ok(headend::demo::load(conn, &county, anchor)))
        .unwrap()
        .unwrap();
    store
}
