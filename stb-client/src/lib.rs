//! GovChannel set-top-box client: shows the headend's pre-rendered screens and follows the
//! screen graph's key map with a remote control. No CJK font, no async runtime, no C
//! dependencies; `unsafe` only in [`sys`] (the framebuffer, console and input ioctls).
//!
//! - [`source`]: the headend's `/stb/v1` API or a bundle directory;
//! - [`cache`]: manifest and images on disk, verified, size-capped;
//! - [`nav`]: where the viewer is and what a key does (pure);
//! - [`app`]: the client at run time (refresh, prefetch, offline, identity, views);
//! - [`picture`], [`digits`], [`builtin`]: pixels, the digit font, built-in bitmaps;
//! - [`display`]: framebuffer and headless backends; [`input`]: the remote (evdev).

pub mod app;
pub mod builtin;
pub mod cache;
pub mod digits;
pub mod display;
pub mod input;
pub mod nav;
pub mod picture;
pub mod source;
pub mod sys;
pub mod time;

pub use stb_protocol::{parse_keys, Key, UnknownKey};
