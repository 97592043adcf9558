//! GovChannel headend (县级数字电视政务频道): ingests the county e-government platform's
//! content, stores it, renders TV screens, airs channels and serves set-top boxes.
//!
//! Modules are domains, and dependencies point one way (from the edges inward):
//!
//! - [`store`] owns the SQLite file (one writer thread, a pool of readers);
//!   [`content`] the shared vocabulary ([`names`] declares every string-valued enum); [`digest`] hashes and secrets; [`errors`] how
//!   errors are logged;
//!   [`mask`] masks personal data before it airs; [`demo`] the embedded demo county;
//!   [`setup`] a new county from CSV files (`headend init`).
//! - Staff work: [`accounts`] staff accounts, roles and sessions; [`publishing`] notices
//!   through review; [`catalogue`] catalogue entries; [`openness`] the openness
//!   catalogue's scorecard; [`consultation`] cases (办件) and polls.
//! - [`ingest`] reads the platform's feeds and exports into the store.
//! - [`fonts`] the pinned faces; [`render`] the pure renderer; [`pages`] builds page
//!   models from the store.
//! - [`schedule`] what each channel airs when (blocks, overrides, the programme guide);
//!   [`playout`] airs the channels (encoders, GOP cache, MPEG-TS over UDP, HLS).
//! - [`stb`] builds the set-top-box screen graph and images.
//! - [`web`] the HTTP routes (API, staff pages, set-top boxes, health);
//!   [`serve`] the long-running server; [`config`] its settings.

pub mod accounts;
pub mod catalogue;
pub mod config;
pub mod consultation;
pub mod content;
pub mod demo;
pub mod digest;
pub mod errors;
pub mod fonts;
pub mod ingest;
pub mod mask;
pub mod names;
pub mod openness;
pub mod pages;
pub mod playout;
pub mod publishing;
pub mod render;
pub mod schedule;
pub mod serve;
pub mod setup;
pub mod stb;
pub mod store;
pub mod web;
