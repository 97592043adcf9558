//! The set-top-box side of the headend: the screen graph a two-way box navigates
//! ([`graph`]) and the page images it fetches by hash ([`images`]).
//!
//! A region's graph holds what a household there may read: notices addressed to the
//! region itself, the regions above it and below it (a village's box never sees another
//! village's notices), the county-wide catalogue (disclosure items, convenience services
//! with their service guides, administrative powers with their process flows), today's
//! completed cases, open polls, the case lookup and the help screen. Every screen is laid
//! out in the interactive context and every page is named by a content hash, so a box
//! downloads an unchanged page once and a content change yields new hashes.

pub mod boxes;
pub mod bundle;
pub mod content;
pub mod graph;
pub mod images;

pub use content::{Content, ContentScreen};
pub use graph::{build, node, Built};
pub use images::{ImageRef, Images};
