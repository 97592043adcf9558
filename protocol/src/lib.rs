//! Wire types shared by the GovChannel headend and the set-top-box client. Serde only:
//! the client build must never pull in the server's dependencies.
//!
//! # The set-top-box protocol
//!
//! The headend renders every screen a box can show as still images; a box only shows images,
//! reacts to remote [`Key`]s and draws the focus and digit-entry fields over them. All
//! endpoints live under `/stb/v1` and speak JSON:
//!
//! | Request | Body | Answer |
//! |---|---|---|
//! | `GET /stb/v1/manifest?profile=..&region=..` | | [`Manifest`] |
//! | `GET /stb/v1/img/{image}-{n}.png` | | page `n` (from 1) of the screen with image base `image` (PNG) |
//! | `POST /stb/v1/boxes` | [`RegisterBox`] | [`BoxCredentials`] |
//! | `POST /stb/v1/cases/lookup` | [`CaseLookup`] | [`ScreenAnswer`] |
//! | `POST /stb/v1/polls/{poll}/votes` | [`VoteRequest`] | [`ScreenAnswer`] |
//! | `POST /stb/v1/views` | [`ViewReport`] | |
//!
//! Every 4xx and 5xx answer carries an [`ErrorBody`].
//!
//! The [`Manifest`] is a region's screen graph for one picture profile: [`Screen`]s made of
//! [`Page`]s, each page a key map ([`Binding`]s of keys to [`Action`]s) and focusable regions
//! ([`Focus`]). A box starts at the home screen's first page.
//!
//! The wire format is kept compact, since a region has thousands of pages:
//!
//! - a screen carries one image hash, its image base, and page images are named after it:
//!   page `n` (counting from 1) is `{image}-{n}` ([`Screen::page_image`],
//!   [`parse_page_image`]);
//! - keys that work the same everywhere (`BACK`, `MENU`, `INFO`, colour keys) are bound once,
//!   in the manifest's global [`keys`](Manifest::keys), which apply on every page that does not
//!   bind the same key itself;
//! - paging is implicit: on a screen of several pages, `PAGEDOWN` goes to the next page and
//!   `PAGEUP` to the previous one unless the page or the global keys bind them.
//!
//! [`Manifest::action`] resolves a key press this way. [`Manifest::check`] lists the
//! [`Problem`]s of a graph and [`Manifest::digit_presses`] how many presses of digit and page
//! keys each screen is from home.
//!
//! # Versions and newer headends
//!
//! [`PROTOCOL_VERSION`] only changes for changes an older box cannot safely ignore; a headend
//! extends the protocol compatibly instead, and boxes are built to tolerate it:
//!
//! - unknown fields are ignored everywhere;
//! - a key binding whose key name this box does not know is dropped (from a page's key map or
//!   the global one);
//! - an action this box does not know reads as [`Action::Unknown`], which the box ignores.
//!
//! Keys are written by their script names (`"2"`, `"OK"`, `"PAGEDOWN"`), actions as objects
//! tagged by `"do"`.
//!
//! # Example
//!
//! ```
//! use stb_protocol::{parse_page_image, Action, Key, Manifest, PROTOCOL_VERSION};
//!
//! let json = r#"{
//!   "protocol": 1,
//!   "version": "2025-03-01.7",
//!   "region": "339901101",
//!   "profile": "hd720",
//!   "width": 1280,
//!   "height": 720,
//!   "generated_at": "2025-03-01T08:00:00+08:00",
//!   "home": "home",
//!   "help": "help",
//!   "keys": [
//!     {"key": "BACK", "action": {"do": "back"}},
//!     {"key": "MENU", "action": {"do": "home"}},
//!     {"key": "INFO", "action": {"do": "help"}},
//!     {"key": "VOLUME_UP", "action": {"do": "louder"}}
//!   ],
//!   "screens": [
//!     {"id": "home", "title": "首页", "kind": "home",
//!      "image": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "pages": [
//!       {"keys": [{"key": "1", "action": {"do": "go", "screen": "notice:42"}}]}
//!     ]},
//!     {"id": "notice:42", "title": "停水通知", "kind": "notice",
//!      "image": "00112233445566778899aabbccddeeff", "pages": [
//!       {},
//!       {"keys": [{"key": "OK", "action": {"do": "play_audio", "track": 3}}]}
//!     ]},
//!     {"id": "help", "title": "帮助", "kind": "help",
//!      "image": "0123456789abcdef0123456789abcdef", "pages": [{}]}
//!   ]
//! }"#;
//!
//! let manifest: Manifest = serde_json::from_str(json)?;
//! assert_eq!(manifest.protocol, PROTOCOL_VERSION);
//! assert!(manifest.check().is_empty());
//!
//! // VOLUME_UP is not a key of ours: its binding is dropped.
//! assert_eq!(manifest.keys.len(), 3);
//!
//! let home = manifest.screen(&manifest.home).ok_or("no home")?;
//! assert_eq!(home.pages[0].keys[0].key, Key::Digit(1));
//! assert_eq!(manifest.action(home, 0, Key::Info), Some(&Action::Help));
//!
//! // Pages are fetched by the screen's image base and their number.
//! let notice = manifest.screen("notice:42").ok_or("no notice")?;
//! assert_eq!(notice.page_image(1), "00112233445566778899aabbccddeeff-2");
//! assert_eq!(
//!     parse_page_image("00112233445566778899aabbccddeeff-2"),
//!     Some(("00112233445566778899aabbccddeeff", 2))
//! );
//!
//! // Paging is implicit, BACK is global.
//! assert_eq!(manifest.action(notice, 0, Key::PageDown), Some(&Action::NextPage));
//! assert_eq!(manifest.action(notice, 1, Key::PageDown), None);
//! assert_eq!(manifest.action(notice, 1, Key::PageUp), Some(&Action::PrevPage));
//! assert_eq!(manifest.action(notice, 1, Key::Back), Some(&Action::Back));
//!
//! // play_audio is an action of a newer headend: kept, and ignored by the box.
//! assert_eq!(manifest.action(notice, 1, Key::Ok), Some(&Action::Unknown));
//!
//! assert_eq!(manifest.digit_presses()["notice:42"], 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod api;
mod graph;

pub use api::{
    BoxCredentials, CaseLookup, ErrorBody, RegisterBox, ScreenAnswer, ViewCount, ViewReport,
    VoteRequest,
};
pub use graph::{
    is_image_hash, parse_page_image, Action, Binding, Entry, Focus, Manifest, Page, Problem, Screen,
};

/// Version of the set-top-box protocol this crate speaks, written to [`Manifest::protocol`].
pub const PROTOCOL_VERSION: u32 = 1;

/// A remote-control key, by the names used in scripts, traces and the screen graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A digit key `0`–`9`.
    Digit(u8),
    /// OK / Enter / Select.
    Ok,
    /// Back / Exit.
    Back,
    /// Up arrow.
    Up,
    /// Down arrow.
    Down,
    /// Left arrow.
    Left,
    /// Right arrow.
    Right,
    /// Page up (also channel up).
    PageUp,
    /// Page down (also channel down).
    PageDown,
    /// Red colour key.
    Red,
    /// Green colour key.
    Green,
    /// Yellow colour key.
    Yellow,
    /// Blue colour key.
    Blue,
    /// Menu: go home.
    Menu,
    /// Info.
    Info,
}

const NAMED: &[(&str, Key)] = &[
    ("OK", Key::Ok),
    ("BACK", Key::Back),
    ("UP", Key::Up),
    ("DOWN", Key::Down),
    ("LEFT", Key::Left),
    ("RIGHT", Key::Right),
    ("PAGEUP", Key::PageUp),
    ("PAGEDOWN", Key::PageDown),
    ("RED", Key::Red),
    ("GREEN", Key::Green),
    ("YELLOW", Key::Yellow),
    ("BLUE", Key::Blue),
    ("MENU", Key::Menu),
    ("INFO", Key::Info),
];

/// A key name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey(pub String);

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown key {:?} (expected 0-9, OK, BACK, UP, DOWN, LEFT, RIGHT, PAGEUP, PAGEDOWN, RED, GREEN, YELLOW, BLUE, MENU, INFO)",
            self.0
        )
    }
}

impl std::error::Error for UnknownKey {}

impl FromStr for Key {
    type Err = UnknownKey;

    fn from_str(s: &str) -> Result<Key, UnknownKey> {
        if let [d @ b'0'..=b'9'] = s.as_bytes() {
            return Ok(Key::Digit(d - b'0'));
        }
        NAMED
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|&(_, key)| key)
            .ok_or_else(|| UnknownKey(s.to_owned()))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Digit(d) => write!(f, "{d}"),
            other => {
                let name = NAMED
                    .iter()
                    .find(|(_, k)| k == other)
                    .map_or("?", |(name, _)| name);
                f.write_str(name)
            }
        }
    }
}

/// A key is written as its script name (`"2"`, `"OK"`, `"PAGEDOWN"`).
impl Serialize for Key {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Key::Digit(d) if *d > 9 => Err(serde::ser::Error::custom(format!(
                "digit key {d} has no name (digits are 0-9)"
            ))),
            key => serializer.collect_str(key),
        }
    }
}

/// A key is read from its script name, as [`FromStr`] reads it.
impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyName;

        impl Visitor<'_> for KeyName {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key name such as \"2\", \"OK\" or \"PAGEDOWN\"")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                name.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(KeyName)
    }
}

/// Parses a whitespace-separated key script such as `"2 OK DOWN OK BACK"`.
pub fn parse_keys(script: &str) -> Result<Vec<Key>, UnknownKey> {
    script.split_whitespace().map(str::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_name_round_trips() {
        let script = "0 1 2 3 4 5 6 7 8 9 OK BACK UP DOWN LEFT RIGHT PAGEUP PAGEDOWN RED GREEN YELLOW BLUE MENU INFO";
        let keys = parse_keys(script).unwrap();
        assert_eq!(keys.len(), 24);
        let printed: Vec<String> = keys.iter().map(ToString::to_string).collect();
        assert_eq!(printed.join(" "), script);
    }

    #[test]
    fn unknown_names_are_reported() {
        assert_eq!(
            parse_keys("2 OK FOO").unwrap_err(),
            UnknownKey("FOO".into())
        );
        assert!(parse_keys("12").is_err(), "multi-digit tokens are not keys");
        assert_eq!(parse_keys("ok back").unwrap(), vec![Key::Ok, Key::Back]);
    }

    #[test]
    fn keys_are_strings_on_the_wire() {
        let keys = parse_keys("2 OK PAGEDOWN").unwrap();
        let json = serde_json::to_string(&keys).unwrap();
        assert_eq!(json, r#"["2","OK","PAGEDOWN"]"#);
        assert_eq!(serde_json::from_str::<Vec<Key>>(&json).unwrap(), keys);
        assert_eq!(serde_json::from_str::<Key>(r#""menu""#).unwrap(), Key::Menu);
    }

    #[test]
    fn bad_keys_are_refused_on_the_wire() {
        assert!(serde_json::from_str::<Key>(r#""VOLUME_UP""#).is_err());
        assert!(serde_json::from_str::<Key>("2").is_err());
        assert!(serde_json::from_str::<Key>(r#"{"Digit": 2}"#).is_err());
        assert!(serde_json::to_string(&Key::Digit(12)).is_err());
    }
}
