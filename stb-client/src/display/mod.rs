//! Where frames go: the Linux framebuffer ([`fbdev`]), an X11 window for development
//! (`window`, cargo feature `window`), or memory (`headless`, for tests and screenshots).

pub mod fbdev;
#[cfg(feature = "window")]
pub mod window;

use stb_protocol::Key;

use crate::picture::Frame;

/// What the interactive loop waits for: a key (from the remote or the window's keyboard),
/// a request to draw again, or the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowEvent {
    /// A key of the remote.
    Key(Key),
    /// The window needs drawing again (uncovered).
    Expose,
    /// The window was closed, or the remote went away.
    Closed,
}

/// A display backend.
pub trait Display {
    /// The mode's size in pixels: frames passed to [`Display::show`] have this size.
    fn size(&self) -> (u32, u32);
    /// Shows a frame.
    fn show(&mut self, frame: &Frame) -> std::io::Result<()>;
}

/// A display in memory: keeps the last frame shown.
#[derive(Debug)]
pub struct Headless {
    width: u32,
    height: u32,
    last: Option<Frame>,
}

impl Headless {
    /// A headless display of `width` × `height`.
    pub fn new(width: u32, height: u32) -> Headless {
        Headless {
            width,
            height,
            last: None,
        }
    }

    /// The last frame shown.
    pub fn last(&self) -> Option<&Frame> {
        self.last.as_ref()
    }
}

impl Display for Headless {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn show(&mut self, frame: &Frame) -> std::io::Result<()> {
        match &mut self.last {
            Some(last) if last.width == frame.width && last.height == frame.height => {
                last.pixels.copy_from_slice(&frame.pixels);
            }
            last => *last = Some(frame.clone()),
        }
        Ok(())
    }
}
