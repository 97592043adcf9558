//! `--display window` on a real X server (Xvfb, unix socket only): the client binary opens
//! its window, keys sent to the window move it through a bundle, and what the X server holds
//! in the window after each key (read back with `GetImage`) is the page the key leads to.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use stb_client::picture::{rgb, Frame};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ClientMessageEvent, ConnectionExt as _, EventMask, ImageFormat, KeyPressEvent, KEY_PRESS_EVENT,
};
use x11rb::rust_connection::RustConnection;

use crate::bundle::{page_frame, write_bundle, H, W};

/// Longest wait for anything the client does (a failure, not a pace).
const PATIENCE: Duration = Duration::from_secs(60);

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a child's pipe, read on a thread of their own.
fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Starts Xvfb on a free display (it writes the number once it accepts connections).
fn xvfb() -> (Killed, String) {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-nolisten",
            "tcp",
            "-screen",
            "0",
            "800x600x24",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb (Debian package xvfb, installed by `make test`)");
    let out = lines(child.stdout.take().unwrap());
    let n = out
        .recv_timeout(PATIENCE)
        .expect("Xvfb reports its display");
    (Killed(child), format!(":{}", n.trim()))
}

/// The window's pixels as the X server holds them.
fn grab(conn: &RustConnection, window: u32) -> Frame {
    let reply = conn
        .get_image(ImageFormat::Z_PIXMAP, window, 0, 0, W as u16, H as u16, !0)
        .unwrap()
        .reply()
        .unwrap();
    assert_eq!(reply.data.len(), (W * H * 4) as usize, "32-bit pixels");
    let mut f = Frame::new(W, H, 0);
    for (p, b) in f.pixels.iter_mut().zip(reply.data.chunks_exact(4)) {
        *p = rgb(b[2], b[1], b[0]);
    }
    f
}

/// The keycode of a keysym on the server's keyboard.
fn keycode(conn: &RustConnection, sym: u32) -> u8 {
    let setup = conn.setup();
    let (min, max) = (setup.min_keycode, setup.max_keycode);
    let map = conn
        .get_keyboard_mapping(min, max - min + 1)
        .unwrap()
        .reply()
        .unwrap();
    let per = usize::from(map.keysyms_per_keycode);
    let i = map
        .keysyms
        .iter()
        .position(|&s| s == sym)
        .unwrap_or_else(|| panic!("keysym {sym:#x} not on the keyboard"));
    min + (i / per) as u8
}

fn press(conn: &RustConnection, window: u32, code: u8) {
    let root = conn.setup().roots[0].root;
    let event = KeyPressEvent {
        response_type: KEY_PRESS_EVENT,
        detail: code,
        sequence: 0,
        time: x11rb::CURRENT_TIME,
        root,
        event: window,
        child: x11rb::NONE,
        root_x: 10,
        root_y: 10,
        event_x: 10,
        event_y: 10,
        state: 0u16.into(),
        same_screen: true,
    };
    conn.send_event(false, window, EventMask::NO_EVENT, event)
        .unwrap();
    conn.flush().unwrap();
}

#[test]
fn the_window_shows_each_page_the_keyboard_leads_to_and_closes() {
    let (_x, display) = xvfb();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    write_bundle(&bundle);
    let mut child = Command::new(env!("CARGO_BIN_EXE_stb-client"))
        .env("DISPLAY", &display)
        .args(["--display", "window", "--trace", "-", "--server"])
        .arg(&bundle)
        .arg("--cache")
        .arg(dir.path().join("cache"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let trace = lines(child.stdout.take().unwrap());
    let log = lines(child.stderr.take().unwrap());
    let mut child = Killed(child);
    let window = loop {
        let line = log
            .recv_timeout(PATIENCE)
            .expect("the client opens a window");
        if let Some(id) = line
            .strip_prefix("stb-client: window 0x")
            .and_then(|l| l.strip_suffix(" open"))
        {
            break u32::from_str_radix(id, 16).unwrap();
        }
    };
    let (conn, _) = x11rb::connect(Some(&display)).unwrap();
    assert_eq!(grab(&conn, window), page_frame(0, 1), "home first");

    // 1, Page Down, Escape, 2 on the keyboard: notice p1, p2, home, guide.
    for (sym, screen, page, name) in [
        (0x31, 1, 1, "1"),
        (0xff56, 1, 2, "PAGEDOWN"),
        (0xff1b, 0, 1, "BACK"),
        (0x32, 2, 1, "2"),
    ] {
        press(&conn, window, keycode(&conn, sym));
        let line = trace.recv_timeout(PATIENCE).expect("a trace line per key");
        let step: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(step["key"], name);
        assert_eq!(step["page"], page);
        assert_eq!(
            grab(&conn, window),
            page_frame(screen, page),
            "after {name}"
        );
    }

    // Closing the window (as a window manager asks) ends the client cleanly.
    let atom = |n: &[u8]| conn.intern_atom(false, n).unwrap().reply().unwrap().atom;
    let (protocols, delete) = (atom(b"WM_PROTOCOLS"), atom(b"WM_DELETE_WINDOW"));
    let msg = ClientMessageEvent::new(32, window, protocols, [delete, 0, 0, 0, 0]);
    conn.send_event(false, window, EventMask::NO_EVENT, msg)
        .unwrap();
    conn.flush().unwrap();
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status}");
}
