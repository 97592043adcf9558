//! Integration tests of the client library: the framebuffer backend against file-backed
//! fake devices, the disk cache under damage, and a client walking a bundle directory whose
//! cached copy is damaged at random points, and (feature `window`) the X11 window on Xvfb.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bundle;
mod cache;
mod fbdev;
#[cfg(feature = "window")]
mod window;
