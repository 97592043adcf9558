//! Keys from the remote: Linux input events (`/dev/input/eventN`, read as raw
//! `struct input_event` records) mapped to [`Key`]s, the device grabbed (`EVIOCGRAB`) so
//! that its keys reach this program only.
//!
//! Auto-repeat (value 2) is ignored for OK and the digits (a held button must not vote twice
//! or type `1111`); arrows and page keys repeat.

use std::io::{self, Read};
use std::path::Path;
use std::sync::mpsc::Sender;

use stb_protocol::Key;

/// `EV_KEY` of `linux/input-event-codes.h`.
const EV_KEY: u16 = 0x01;

/// Size of one `struct input_event` on this target: a `struct timeval` of two native
/// longs (also under 64-bit `time_t` on 32-bit targets, where the kernel keeps
/// `__kernel_ulong_t` seconds and microseconds), then type, code and value.
pub const EVENT_SIZE: usize = 2 * std::mem::size_of::<libc::c_ulong>() + 8;

/// The key of a Linux key code (`KEY_*` of `linux/input-event-codes.h`), if it is one of
/// the remote's.
pub fn key_of(code: u16) -> Option<Key> {
    Some(match code {
        // KEY_1..KEY_9, KEY_0
        2..=10 => Key::Digit((code - 1) as u8),
        11 => Key::Digit(0),
        // KEY_KP7 KEY_KP8 KEY_KP9, KEY_KP4.., KEY_KP1.., KEY_KP0
        71 => Key::Digit(7),
        72 => Key::Digit(8),
        73 => Key::Digit(9),
        75 => Key::Digit(4),
        76 => Key::Digit(5),
        77 => Key::Digit(6),
        79 => Key::Digit(1),
        80 => Key::Digit(2),
        81 => Key::Digit(3),
        82 => Key::Digit(0),
        // KEY_NUMERIC_0..KEY_NUMERIC_9
        0x200..=0x209 => Key::Digit((code - 0x200) as u8),
        // KEY_ENTER, KEY_KPENTER, KEY_OK, KEY_SELECT
        28 | 96 | 0x160 | 0x161 => Key::Ok,
        // KEY_ESC, KEY_BACKSPACE, KEY_BACK, KEY_EXIT
        1 | 14 | 158 | 174 => Key::Back,
        103 => Key::Up,
        108 => Key::Down,
        105 => Key::Left,
        106 => Key::Right,
        // KEY_PAGEUP, KEY_CHANNELUP, KEY_PREVIOUS
        104 | 0x192 | 0x19c => Key::PageUp,
        // KEY_PAGEDOWN, KEY_CHANNELDOWN, KEY_NEXT
        109 | 0x193 | 0x197 => Key::PageDown,
        // KEY_RED.. KEY_BLUE, and F1..F4 on a keyboard
        0x18e | 59 => Key::Red,
        0x18f | 60 => Key::Green,
        0x190 | 61 => Key::Yellow,
        0x191 | 62 => Key::Blue,
        // KEY_MENU, KEY_HOMEPAGE, KEY_HOME
        139 | 172 | 102 => Key::Menu,
        // KEY_INFO, KEY_HELP, KEY_EPG
        0x166 | 138 | 0x16d => Key::Info,
        _ => return None,
    })
}

/// Decodes one `struct input_event` record: the key pressed, if it is a press (or an
/// allowed repeat) of a remote key.
pub fn decode(record: &[u8]) -> Option<Key> {
    if record.len() != EVENT_SIZE {
        return None;
    }
    let at = EVENT_SIZE - 8;
    let kind = u16::from_ne_bytes([record[at], record[at + 1]]);
    let code = u16::from_ne_bytes([record[at + 2], record[at + 3]]);
    let value = i32::from_ne_bytes([
        record[at + 4],
        record[at + 5],
        record[at + 6],
        record[at + 7],
    ]);
    if kind != EV_KEY {
        return None;
    }
    let key = key_of(code)?;
    match value {
        1 => Some(key),
        2 if !matches!(key, Key::Ok | Key::Digit(_)) => Some(key),
        _ => None,
    }
}

/// Reads events from `reader` until it ends, sending each key; returns the read error or
/// `Ok` at the end.
pub fn pump(mut reader: impl Read, keys: &Sender<Key>) -> io::Result<()> {
    let mut buf = vec![0u8; EVENT_SIZE * 64];
    let mut have = 0;
    loop {
        let n = match reader.read(&mut buf[have..]) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        have += n;
        let whole = have - have % EVENT_SIZE;
        for record in buf[..whole].chunks_exact(EVENT_SIZE) {
            if let Some(key) = decode(record) {
                if keys.send(key).is_err() {
                    return Ok(());
                }
            }
        }
        buf.copy_within(whole..have, 0);
        have -= whole;
    }
}

/// Starts a thread reading the input device at `path` into `keys`.
pub fn evdev(path: &Path, keys: Sender<Key>) -> io::Result<()> {
    let file = std::fs::File::open(path)?;
    if let Err(e) = crate::sys::grab(&file) {
        eprintln!(
            "stb-client: cannot grab {}: {e} (keys also reach the console)",
            path.display()
        );
    }
    let name = path.display().to_string();
    std::thread::Builder::new()
        .name("evdev".into())
        .spawn(move || {
            if let Err(e) = pump(file, &keys) {
                eprintln!("stb-client: input {name}: {e}");
            }
        })?;
    Ok(())
}

/// The first input device that has remote keys, from `/proc/bus/input/devices` (a handler
/// `eventN` of a device whose key bitmap is non-empty), else `/dev/input/event0`.
pub fn default_device() -> std::path::PathBuf {
    let devices = std::fs::read_to_string("/proc/bus/input/devices").unwrap_or_default();
    for block in devices.split("\n\n") {
        let has_keys = block
            .lines()
            .any(|l| l.starts_with("B: KEY=") && l.trim() != "B: KEY=0");
        let handler = block
            .lines()
            .find_map(|l| l.strip_prefix("H: Handlers="))
            .and_then(|h| h.split_whitespace().find(|w| w.starts_with("event")));
        if let (true, Some(h)) = (has_keys, handler) {
            return Path::new("/dev/input").join(h);
        }
    }
    "/dev/input/event0".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One `struct input_event` as the kernel writes it.
    pub(crate) fn record(kind: u16, code: u16, value: i32) -> Vec<u8> {
        let mut r = vec![0u8; EVENT_SIZE - 8];
        r[0] = 0x42; // some time
        r.extend_from_slice(&kind.to_ne_bytes());
        r.extend_from_slice(&code.to_ne_bytes());
        r.extend_from_slice(&value.to_ne_bytes());
        r
    }

    #[test]
    fn presses_decode_and_repeats_of_ok_and_digits_do_not() {
        assert_eq!(decode(&record(EV_KEY, 0x202, 1)), Some(Key::Digit(2)));
        assert_eq!(decode(&record(EV_KEY, 0x202, 2)), None, "repeat of a digit");
        assert_eq!(decode(&record(EV_KEY, 0x160, 2)), None, "repeat of OK");
        assert_eq!(
            decode(&record(EV_KEY, 108, 2)),
            Some(Key::Down),
            "arrows repeat"
        );
        assert_eq!(decode(&record(EV_KEY, 0x160, 0)), None, "release");
        assert_eq!(decode(&record(0x04, 4, 0x70028)), None, "EV_MSC scan code");
        assert_eq!(decode(&record(EV_KEY, 0x18e, 1)), Some(Key::Red));
        assert_eq!(decode(&record(EV_KEY, 0x193, 1)), Some(Key::PageDown));
        assert_eq!(decode(&record(EV_KEY, 158, 1)), Some(Key::Back));
        assert_eq!(decode(&record(EV_KEY, 11, 1)), Some(Key::Digit(0)));
        assert_eq!(
            decode(&record(EV_KEY, 30, 1)),
            None,
            "KEY_A is not a remote key"
        );
    }

    #[test]
    fn a_stream_split_anywhere_yields_the_same_keys() {
        // A recorded press of 2, OK, DOWN with their releases and SYN reports between.
        let mut bytes = Vec::new();
        for (code, value) in [
            (0x202, 1),
            (0x202, 0),
            (0x160, 1),
            (0x160, 0),
            (108, 1),
            (108, 2),
        ] {
            bytes.extend(record(EV_KEY, code, value));
            bytes.extend(record(0, 0, 0));
        }
        struct Dribble<'a>(&'a [u8], usize);
        impl Read for Dribble<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(self.0.len()).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        for chunk in [1, 7, EVENT_SIZE, 1000] {
            let (tx, rx) = std::sync::mpsc::channel();
            pump(Dribble(&bytes, chunk), &tx).unwrap();
            drop(tx);
            let keys: Vec<Key> = rx.iter().collect();
            assert_eq!(keys, vec![Key::Digit(2), Key::Ok, Key::Down, Key::Down]);
        }
    }
}
