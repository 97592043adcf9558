//! The Linux framebuffer (`/dev/fbN`): the mode is read with `FBIOGET_VSCREENINFO` and
//! `FBIOGET_FSCREENINFO`; frames are converted to the mode's pixel format (16, 24 or 32 bits
//! a pixel, any channel offsets) and written with `pwrite` row by row at the mode's stride.
//! When the virtual resolution holds two screens and the driver can pan, frames are drawn
//! into the hidden half and shown with `FBIOPAN_DISPLAY` (no tearing). The console is put in
//! graphics mode (`KDSETMODE KD_GRAPHICS`: no cursor, no text over the picture) and back in
//! text mode when the display is dropped (on exit and after SIGTERM).
//!
//! The ioctls are in [`crate::sys`], the only module of the client with `unsafe` code.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::Display;
use crate::picture::{scale_into, Frame};
use crate::sys;

/// One colour channel of a pixel format: its lowest bit and its number of bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel {
    /// Bit offset.
    pub offset: u32,
    /// Bits.
    pub length: u32,
}

/// A framebuffer mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Visible width.
    pub xres: u32,
    /// Visible height.
    pub yres: u32,
    /// Virtual width.
    pub xres_virtual: u32,
    /// Virtual height (twice `yres` or more allows double buffering).
    pub yres_virtual: u32,
    /// Bits a pixel: 16, 24 or 32.
    pub bits_per_pixel: u32,
    /// Bytes a row (the stride, at least `xres_virtual × bytes a pixel`).
    pub line_length: u32,
    /// Red channel.
    pub red: Channel,
    /// Green channel.
    pub green: Channel,
    /// Blue channel.
    pub blue: Channel,
}

impl Geometry {
    /// A mode with the usual channel layout for its depth: RGB565 at 16 bits, BGR byte
    /// order (blue first in memory) at 24 and 32 bits.
    pub fn standard(xres: u32, yres: u32, bits_per_pixel: u32, line_length: u32) -> Geometry {
        let (red, green, blue) = if bits_per_pixel == 16 {
            ((11, 5), (5, 6), (0, 5))
        } else {
            ((16, 8), (8, 8), (0, 8))
        };
        let ch = |(offset, length)| Channel { offset, length };
        Geometry {
            xres,
            yres,
            xres_virtual: xres,
            yres_virtual: yres,
            bits_per_pixel,
            line_length,
            red: ch(red),
            green: ch(green),
            blue: ch(blue),
        }
    }

    fn bytes_per_pixel(&self) -> usize {
        self.bits_per_pixel as usize / 8
    }

    /// Whether this client can draw in this mode.
    pub fn check(&self) -> io::Result<()> {
        let bpp = self.bits_per_pixel;
        let ok_depth = matches!(bpp, 16 | 24 | 32);
        let ok_channels = [self.red, self.green, self.blue]
            .iter()
            .all(|c| c.length >= 1 && c.length <= 8 && c.offset + c.length <= bpp);
        let ok_stride = u64::from(self.line_length)
            >= u64::from(self.xres_virtual.max(self.xres)) * u64::from(bpp / 8);
        if ok_depth && ok_channels && ok_stride && self.xres > 0 && self.yres > 0 {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("unsupported framebuffer mode {self:?} (16, 24 or 32 bits a pixel, channels of ≤ 8 bits)"),
            ))
        }
    }

    /// The device pixel of an `0x00RRGGBB` colour.
    fn pixel(&self, rgb: u32) -> u32 {
        let put = |v: u32, c: Channel| (v >> (8 - c.length)) << c.offset;
        put((rgb >> 16) & 0xFF, self.red)
            | put((rgb >> 8) & 0xFF, self.green)
            | put(rgb & 0xFF, self.blue)
    }

    /// Writes one row of `0x00RRGGBB` pixels in the device format into `out`.
    fn convert_row(&self, row: &[u32], out: &mut Vec<u8>) {
        out.clear();
        let bytes = self.bytes_per_pixel();
        for &p in row {
            let v = self.pixel(p).to_le_bytes();
            out.extend_from_slice(&v[..bytes]);
        }
    }
}

/// The framebuffer display.
#[derive(Debug)]
pub struct Fbdev {
    file: File,
    geometry: Geometry,
    /// Panning works (a real device with room for two screens).
    pan: bool,
    /// The screen (0 or 1) shown now, when panning.
    shown: u32,
    scaled: Option<Frame>,
    row: Vec<u8>,
    console: Option<Console>,
}

impl Fbdev {
    /// Opens a framebuffer device, reads its mode and switches the console to graphics.
    pub fn open(path: &Path) -> io::Result<Fbdev> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let (geometry, pan) = sys::mode(&file)?;
        geometry.check()?;
        let console = Console::graphics();
        let mut fb = Fbdev::with_geometry(file, geometry)?;
        fb.pan = pan && geometry.yres_virtual >= geometry.yres * 2;
        fb.console = console;
        Ok(fb)
    }

    /// A display over `file` in mode `geometry`, without ioctls (no panning, no console):
    /// a file-backed device for tests, or a device whose mode is known.
    pub fn with_geometry(file: File, geometry: Geometry) -> io::Result<Fbdev> {
        geometry.check()?;
        Ok(Fbdev {
            file,
            geometry,
            pan: false,
            shown: 0,
            scaled: None,
            row: Vec::new(),
            console: None,
        })
    }

    /// The mode.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }
}

impl Display for Fbdev {
    fn size(&self) -> (u32, u32) {
        (self.geometry.xres, self.geometry.yres)
    }

    fn show(&mut self, frame: &Frame) -> io::Result<()> {
        let g = self.geometry;
        let frame = if frame.width == g.xres && frame.height == g.yres {
            frame
        } else {
            let scaled = self
                .scaled
                .get_or_insert_with(|| Frame::new(g.xres, g.yres, 0));
            scale_into(frame, scaled);
            &*scaled
        };
        let target = if self.pan { 1 - self.shown } else { 0 };
        let top = u64::from(target * g.yres);
        let stride = u64::from(g.line_length);
        let mut row = std::mem::take(&mut self.row);
        for (y, pixels) in frame.pixels.chunks_exact(g.xres as usize).enumerate() {
            g.convert_row(pixels, &mut row);
            self.file.write_all_at(&row, (top + y as u64) * stride)?;
        }
        self.row = row;
        if self.pan {
            sys::pan(&self.file, target * g.yres)?;
            self.shown = target;
        }
        Ok(())
    }
}

/// The virtual console, in graphics mode while this lives.
#[derive(Debug)]
struct Console {
    tty: File,
}

impl Console {
    /// Switches the console (`/dev/tty0`, else `/dev/tty`) to graphics mode; `None` where
    /// there is no console to switch (a serial login, a container).
    fn graphics() -> Option<Console> {
        let tty = ["/dev/tty0", "/dev/tty"]
            .iter()
            .find_map(|p| OpenOptions::new().read(true).write(true).open(p).ok())?;
        match sys::console_mode(&tty, true) {
            Ok(()) => Some(Console { tty }),
            Err(e) => {
                eprintln!("stb-client: console stays in text mode: {e}");
                None
            }
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Err(e) = sys::console_mode(&self.tty, false) {
            eprintln!("stb-client: cannot restore the console's text mode: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::picture::rgb;

    #[test]
    fn pixels_pack_into_each_depth() {
        let g16 = Geometry::standard(1, 1, 16, 2);
        assert_eq!(g16.pixel(rgb(255, 0, 0)), 0xF800);
        assert_eq!(g16.pixel(rgb(0, 255, 0)), 0x07E0);
        assert_eq!(g16.pixel(rgb(0, 0, 255)), 0x001F);
        let g32 = Geometry::standard(1, 1, 32, 4);
        assert_eq!(g32.pixel(rgb(1, 2, 3)), 0x010203);
        let mut row = Vec::new();
        Geometry::standard(2, 1, 24, 6).convert_row(&[rgb(1, 2, 3), rgb(4, 5, 6)], &mut row);
        assert_eq!(row, vec![3, 2, 1, 6, 5, 4]);
    }

    #[test]
    fn unsupported_modes_are_refused() {
        assert!(Geometry::standard(10, 10, 8, 10).check().is_err());
        assert!(
            Geometry::standard(10, 10, 32, 39).check().is_err(),
            "stride too small"
        );
        assert!(Geometry::standard(10, 10, 32, 40).check().is_ok());
    }
}
