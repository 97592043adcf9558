//! Integration tests of the client library: the framebuffer backend against file-backed
//! fake devices, the disk cache under damage, and a client walking a bundle directory whose
//! cached copy is damaged at random points.

mod bundle;
mod cache;
mod fbdev;
