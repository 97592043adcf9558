//! GovChannel headend (县级数字电视政务频道): ingests the county e-government platform's
//! content, stores it, renders TV screens, airs channels and serves set-top boxes.
//!
//! Modules are domains: [`accounts`] staff accounts and sessions, [`store`] owns the SQLite file, [`content`] the shared vocabulary,
//! [`demo`] the embedded demo county, [`digest`] hashes and secrets, [`ingest`] reads the platform's feeds and exports,
//! [`fonts`] the pinned faces, [`render`] the pure renderer, [`pages`] builds page models
//! from the store, [`mask`] masks personal data before it airs, [`playout`] airs the
//! channels, [`stb`] builds the set-top-box screen graph and images, [`web`] the HTTP
//! routes, [`serve`] the long-running server, [`config`] its settings.

pub mod accounts;
pub mod catalogue;
pub mod config;
pub mod consultation;
pub mod content;
pub mod demo;
pub mod digest;
pub mod fonts;
pub mod ingest;
pub mod mask;
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
