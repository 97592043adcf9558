//! GovChannel headend (县级数字电视政务频道): ingests the county e-government platform's
//! content, stores it, renders TV screens, airs channels and serves set-top boxes.
//!
//! Modules are domains: [`store`] owns the SQLite file, [`content`] the shared vocabulary,
//! [`demo`] the embedded demo county, [`fonts`] the pinned faces, [`web`] the HTTP routes,
//! [`serve`] the long-running server.

pub mod config;
pub mod content;
pub mod demo;
pub mod fonts;
pub mod ingest;
pub mod mask;
pub mod pages;
pub mod playout;
pub mod render;
pub mod serve;
pub mod store;
pub mod web;
