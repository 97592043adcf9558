//! GovChannel set-top-box client: displays server-rendered screens and follows the screen
//! graph's key map. No CJK font, no async runtime, no C dependencies.
//!
//! This build has the command line and key scripting; navigation arrives with the
//! set-top-box protocol.

pub use stb_protocol::{parse_keys, Key, UnknownKey};
