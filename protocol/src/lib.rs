//! Wire types shared by the GovChannel headend and the set-top-box client. Serde only:
//! the client build must never pull in the server's dependencies.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A remote-control key, by the names used in scripts, traces and the screen graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
}
