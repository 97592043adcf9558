//! A desktop window for development (`--display window`, cargo feature `window`): an X11
//! window over a pure-Rust connection (x11rb, no libxcb), frames sent with `PutImage` in
//! bands that fit the server's request size, keys from the keyboard mapped to the remote's.
//!
//! The window is a fixed-size picture of the box's screen: the frame is the profile's size
//! (or `--size`). Keys: digits (also the keypad), Enter = OK, Esc or Backspace = BACK,
//! arrows, Page Up/Down, F1–F4 = the colour keys, Home or M = MENU, F5 or I = INFO.
//! Closing the window ends the client.

use std::io;
use std::sync::mpsc::Sender;
use std::sync::Arc;

use stb_protocol::Key;
use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt as _, CreateGCAux, CreateWindowAux, EventMask, ImageFormat, ImageOrder,
    PropMode, WindowClass,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

use super::{Display, WindowEvent};
use crate::picture::Frame;

fn x_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("X11: {e}"))
}

/// The window display.
pub struct Window {
    conn: Arc<RustConnection>,
    window: u32,
    gc: u32,
    depth: u8,
    width: u32,
    height: u32,
    /// Rows per `PutImage` request.
    band: u32,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Window")
            .field("window", &self.window)
            .field("size", &(self.width, self.height))
            .finish_non_exhaustive()
    }
}

impl Window {
    /// Opens a `width` × `height` window on `$DISPLAY`; its events go to `events` from a
    /// thread of their own.
    pub fn open(width: u32, height: u32, events: Sender<WindowEvent>) -> io::Result<Window> {
        let (conn, screen_num) = x11rb::connect(None).map_err(x_err)?;
        let conn = Arc::new(conn);
        let setup = conn.setup();
        let screen = setup
            .roots
            .get(screen_num)
            .ok_or_else(|| x_err("no such screen"))?;
        let depth = screen.root_depth;
        // Frames are 0x00RRGGBB words: the server must take 32-bit pixels with red in the
        // high byte, in our byte order.
        let visual = screen
            .allowed_depths
            .iter()
            .flat_map(|d| &d.visuals)
            .find(|v| v.visual_id == screen.root_visual);
        let format = setup.pixmap_formats.iter().find(|f| f.depth == depth);
        let lsb = setup.image_byte_order == ImageOrder::LSB_FIRST;
        match (visual, format) {
            (Some(v), Some(f))
                if depth == 24
                    && f.bits_per_pixel == 32
                    && v.red_mask == 0xFF_0000
                    && v.green_mask == 0xFF00
                    && v.blue_mask == 0xFF
                    && lsb == cfg!(target_endian = "little") => {}
            _ => {
                return Err(x_err(format!(
                    "unsupported visual (depth {depth}): a 24-bit TrueColor screen is needed"
                )))
            }
        }
        let (w16, h16) = (
            u16::try_from(width).map_err(x_err)?,
            u16::try_from(height).map_err(x_err)?,
        );
        let window = conn.generate_id().map_err(x_err)?;
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            window,
            screen.root,
            0,
            0,
            w16,
            h16,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            &CreateWindowAux::new()
                .background_pixel(screen.black_pixel)
                .event_mask(EventMask::KEY_PRESS | EventMask::EXPOSURE),
        )
        .map_err(x_err)?;
        let atom = |name: &[u8]| -> io::Result<u32> {
            Ok(conn
                .intern_atom(false, name)
                .map_err(x_err)?
                .reply()
                .map_err(x_err)?
                .atom)
        };
        let protocols = atom(b"WM_PROTOCOLS")?;
        let delete = atom(b"WM_DELETE_WINDOW")?;
        let net_name = atom(b"_NET_WM_NAME")?;
        let utf8 = atom(b"UTF8_STRING")?;
        let title = "GovChannel 机顶盒";
        conn.change_property32(
            PropMode::REPLACE,
            window,
            protocols,
            AtomEnum::ATOM,
            &[delete],
        )
        .map_err(x_err)?;
        conn.change_property8(
            PropMode::REPLACE,
            window,
            AtomEnum::WM_NAME,
            AtomEnum::STRING,
            b"GovChannel STB",
        )
        .map_err(x_err)?;
        conn.change_property8(PropMode::REPLACE, window, net_name, utf8, title.as_bytes())
            .map_err(x_err)?;
        conn.change_property8(
            PropMode::REPLACE,
            window,
            AtomEnum::WM_CLASS,
            AtomEnum::STRING,
            b"govchannel-stb\0GovChannel\0",
        )
        .map_err(x_err)?;
        let gc = conn.generate_id().map_err(x_err)?;
        conn.create_gc(gc, window, &CreateGCAux::new())
            .map_err(x_err)?;
        conn.map_window(window).map_err(x_err)?;
        let keymap = Keymap::read(&conn)?;
        conn.flush().map_err(x_err)?;
        // A PutImage request has a 24-byte header; keep well within the limit.
        let max = conn.maximum_request_bytes().saturating_sub(64);
        let band = (max / (width as usize * 4)).clamp(1, height as usize) as u32;
        let reader = Arc::clone(&conn);
        std::thread::Builder::new()
            .name("x11-events".into())
            .spawn(move || event_loop(&reader, &keymap, window, protocols, delete, &events))?;
        Ok(Window {
            conn,
            window,
            gc,
            depth,
            width,
            height,
            band,
            bytes: Vec::new(),
        })
    }

    /// The X id of the window.
    pub fn id(&self) -> u32 {
        self.window
    }
}

impl Display for Window {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn show(&mut self, frame: &Frame) -> io::Result<()> {
        let scaled;
        let frame = if (frame.width, frame.height) == (self.width, self.height) {
            frame
        } else {
            let mut f = Frame::new(self.width, self.height, 0);
            crate::picture::scale_into(frame, &mut f);
            scaled = f;
            &scaled
        };
        let w = self.width as usize;
        for (i, rows) in frame.pixels.chunks(w * self.band as usize).enumerate() {
            self.bytes.clear();
            self.bytes.reserve(rows.len() * 4);
            for p in rows {
                self.bytes.extend_from_slice(&p.to_ne_bytes());
            }
            let y = i as u32 * self.band;
            self.conn
                .put_image(
                    ImageFormat::Z_PIXMAP,
                    self.window,
                    self.gc,
                    self.width as u16,
                    (rows.len() / w) as u16,
                    0,
                    y as i16,
                    0,
                    self.depth,
                    &self.bytes,
                )
                .map_err(x_err)?;
        }
        // A round trip: the frame is on the server (and any error is seen) before return.
        self.conn
            .get_input_focus()
            .map_err(x_err)?
            .reply()
            .map_err(x_err)?;
        Ok(())
    }
}

/// Keycode → keysym table of the server's keyboard.
struct Keymap {
    min: u8,
    per: usize,
    syms: Vec<u32>,
}

impl Keymap {
    fn read(conn: &RustConnection) -> io::Result<Keymap> {
        let setup = conn.setup();
        let (min, max) = (setup.min_keycode, setup.max_keycode);
        let reply = conn
            .get_keyboard_mapping(min, max - min + 1)
            .map_err(x_err)?
            .reply()
            .map_err(x_err)?;
        Ok(Keymap {
            min,
            per: usize::from(reply.keysyms_per_keycode).max(1),
            syms: reply.keysyms,
        })
    }

    /// The first keysym of a keycode (unshifted).
    fn sym(&self, code: u8) -> u32 {
        let i = usize::from(code.saturating_sub(self.min)) * self.per;
        self.syms.get(i).copied().unwrap_or(0)
    }
}

/// The remote's key for an X keysym (`X11/keysymdef.h`).
pub fn key_of_keysym(sym: u32) -> Option<Key> {
    Some(match sym {
        0x30..=0x39 => Key::Digit((sym - 0x30) as u8),
        0xffb0..=0xffb9 => Key::Digit((sym - 0xffb0) as u8),
        // Return, KP_Enter, space
        0xff0d | 0xff8d | 0x20 => Key::Ok,
        // Escape, BackSpace
        0xff1b | 0xff08 => Key::Back,
        0xff51 => Key::Left,
        0xff52 => Key::Up,
        0xff53 => Key::Right,
        0xff54 => Key::Down,
        // Prior, Next
        0xff55 => Key::PageUp,
        0xff56 => Key::PageDown,
        // F1..F4
        0xffbe => Key::Red,
        0xffbf => Key::Green,
        0xffc0 => Key::Yellow,
        0xffc1 => Key::Blue,
        // Home, m
        0xff50 | 0x6d => Key::Menu,
        // F5, i
        0xffc2 | 0x69 => Key::Info,
        _ => return None,
    })
}

fn event_loop(
    conn: &RustConnection,
    keymap: &Keymap,
    window: u32,
    protocols: u32,
    delete: u32,
    events: &Sender<WindowEvent>,
) {
    loop {
        let event = match conn.wait_for_event() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("stb-client: X11 connection lost: {e}");
                let _ = events.send(WindowEvent::Closed);
                return;
            }
        };
        let out = match event {
            Event::KeyPress(e) => key_of_keysym(keymap.sym(e.detail)).map(WindowEvent::Key),
            Event::Expose(e) if e.count == 0 => Some(WindowEvent::Expose),
            Event::ClientMessage(e)
                if e.window == window
                    && e.type_ == protocols
                    && e.data.as_data32()[0] == delete =>
            {
                Some(WindowEvent::Closed)
            }
            Event::DestroyNotify(_) => Some(WindowEvent::Closed),
            _ => None,
        };
        if let Some(out) = out {
            let closed = out == WindowEvent::Closed;
            if events.send(out).is_err() || closed {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyboard_keys_map_to_the_remote() {
        assert_eq!(key_of_keysym(0x32), Some(Key::Digit(2)));
        assert_eq!(key_of_keysym(0xffb7), Some(Key::Digit(7)));
        assert_eq!(key_of_keysym(0xff0d), Some(Key::Ok));
        assert_eq!(key_of_keysym(0xff1b), Some(Key::Back));
        assert_eq!(key_of_keysym(0xff56), Some(Key::PageDown));
        assert_eq!(key_of_keysym(0xffbe), Some(Key::Red));
        assert_eq!(key_of_keysym(0x61), None, "a");
    }
}
