//! Whole-system tests: the real `headend` binary, real SQLite files, real HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod broadcast;
mod client;
mod foundation;
mod render;
mod stb;
mod stream;
