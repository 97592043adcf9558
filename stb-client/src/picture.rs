//! Pixels: the frame the box shows (`0x00RRGGBB` words), decoding the headend's PNGs into
//! it (indexed colour by a palette table, row by row, no intermediate image when the sizes
//! match; nearest-neighbour scaling when the box's mode differs from the profile), and
//! writing a frame as PNG (screenshots).

use std::io::Cursor;

/// A picture in `0x00RRGGBB` words, row-major, no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixels.
    pub pixels: Vec<u32>,
}

/// A PNG that cannot be shown.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode image: {0}")]
pub struct DecodeError(String);

impl From<png::DecodingError> for DecodeError {
    fn from(e: png::DecodingError) -> Self {
        DecodeError(e.to_string())
    }
}

/// Packs an RGB triple.
pub const fn rgb(r: u8, g: u8, b: u8) -> u32 {
    ((r as u32) << 16) | ((g as u32) << 8) | b as u32
}

impl Frame {
    /// A frame filled with `colour`.
    pub fn new(width: u32, height: u32, colour: u32) -> Frame {
        Frame {
            width,
            height,
            pixels: vec![colour; width as usize * height as usize],
        }
    }

    /// Fills a rectangle (clipped).
    pub fn fill(&mut self, x: i64, y: i64, w: i64, h: i64, colour: u32) {
        let x0 = x.clamp(0, i64::from(self.width)) as usize;
        let y0 = y.clamp(0, i64::from(self.height)) as usize;
        let x1 = (x + w).clamp(0, i64::from(self.width)) as usize;
        let y1 = (y + h).clamp(0, i64::from(self.height)) as usize;
        let stride = self.width as usize;
        for row in y0..y1 {
            self.pixels[row * stride + x0..row * stride + x1].fill(colour);
        }
    }

    /// Draws the outline of a rectangle `thick` pixels wide, inside the rectangle.
    pub fn outline(&mut self, x: i64, y: i64, w: i64, h: i64, thick: i64, colour: u32) {
        self.fill(x, y, w, thick, colour);
        self.fill(x, y + h - thick, w, thick, colour);
        self.fill(x, y, thick, h, colour);
        self.fill(x + w - thick, y, thick, h, colour);
    }

    /// Copies `src` into this frame at (`x`, `y`), scaled by the integer `scale` (clipped).
    pub fn paste(&mut self, src: &Frame, x: i64, y: i64, scale: u32) {
        let scale = i64::from(scale.max(1));
        for sy in 0..i64::from(src.height) {
            for dy in 0..scale {
                let ty = y + sy * scale + dy;
                if ty < 0 || ty >= i64::from(self.height) {
                    continue;
                }
                for sx in 0..i64::from(src.width) {
                    let p = src.pixels[(sy * i64::from(src.width) + sx) as usize];
                    for dx in 0..scale {
                        let tx = x + sx * scale + dx;
                        if tx >= 0 && tx < i64::from(self.width) {
                            self.pixels[(ty * i64::from(self.width) + tx) as usize] = p;
                        }
                    }
                }
            }
        }
    }

    /// The frame as an RGB PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width, self.height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header()?;
            let mut data = Vec::with_capacity(self.pixels.len() * 3);
            for p in &self.pixels {
                data.extend_from_slice(&[(p >> 16) as u8, (p >> 8) as u8, *p as u8]);
            }
            writer.write_image_data(&data)?;
            writer.finish()?;
        }
        Ok(out)
    }
}

/// Decodes a PNG to a frame of its own size.
pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
    let (w, h) = size(bytes)?;
    let mut frame = Frame::new(w, h, 0);
    decode_into(bytes, &mut frame)?;
    Ok(frame)
}

/// Width and height of a PNG, from its header.
pub fn size(bytes: &[u8]) -> Result<(u32, u32), DecodeError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    let info = decoder.read_header_info()?;
    Ok((info.width, info.height))
}

/// Largest image accepted (pixels): a 4K frame.
const MAX_PIXELS: u64 = 3840 * 2160;

/// Decodes a PNG into `frame`, scaled to fill it when the sizes differ.
pub fn decode_into(bytes: &[u8], frame: &mut Frame) -> Result<(), DecodeError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    let (colour, depth, w, h) = {
        let info = decoder.read_header_info()?;
        (info.color_type, info.bit_depth, info.width, info.height)
    };
    if u64::from(w) * u64::from(h) > MAX_PIXELS || w == 0 || h == 0 {
        return Err(DecodeError(format!("{w}×{h} is not a screen size")));
    }
    let indexed = colour == png::ColorType::Indexed;
    decoder.set_transformations(if indexed {
        png::Transformations::IDENTITY
    } else {
        png::Transformations::EXPAND | png::Transformations::STRIP_16
    });
    let mut reader = decoder.read_info()?;
    // A palette lookup table for indexed images.
    let mut table = [0u32; 256];
    if indexed {
        let palette = reader
            .info()
            .palette
            .as_ref()
            .ok_or_else(|| DecodeError("indexed image without a palette".into()))?;
        for (i, c) in palette.chunks_exact(3).take(256).enumerate() {
            table[i] = rgb(c[0], c[1], c[2]);
        }
    }
    let (out_colour, _) = reader.output_color_type();
    let channels = match out_colour {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => 0,
    };
    let bits = depth as u32;
    let same = w == frame.width && h == frame.height;
    // Scaled: decode to a picture of the image's size first.
    let mut scratch = if same {
        None
    } else {
        Some(Frame::new(w, h, 0))
    };
    let target_w = w as usize;
    let mut y = 0usize;
    while let Some(row) = reader.next_row()? {
        if y >= h as usize {
            break;
        }
        let data = row.data();
        let dest = match &mut scratch {
            Some(s) => &mut s.pixels[y * target_w..(y + 1) * target_w],
            None => &mut frame.pixels[y * target_w..(y + 1) * target_w],
        };
        if indexed {
            if bits == 8 {
                for (d, &i) in dest.iter_mut().zip(data) {
                    *d = table[usize::from(i)];
                }
            } else {
                let per = 8 / bits as usize;
                let mask = (1u8 << bits) - 1;
                for (x, d) in dest.iter_mut().enumerate() {
                    let byte = data.get(x / per).copied().unwrap_or(0);
                    let shift = 8 - bits as usize * (x % per + 1);
                    *d = table[usize::from((byte >> shift) & mask)];
                }
            }
        } else {
            for (d, px) in dest.iter_mut().zip(data.chunks_exact(channels)) {
                *d = match channels {
                    1 | 2 => rgb(px[0], px[0], px[0]),
                    _ => rgb(px[0], px[1], px[2]),
                };
            }
        }
        y += 1;
    }
    if y < h as usize {
        return Err(DecodeError(format!("image ends after {y} of {h} rows")));
    }
    if let Some(src) = scratch {
        scale_into(&src, frame);
    }
    Ok(())
}

/// Nearest-neighbour scaling of `src` to fill `dst`.
pub fn scale_into(src: &Frame, dst: &mut Frame) {
    let (sw, sh) = (src.width as u64, src.height as u64);
    let (dw, dh) = (dst.width as u64, dst.height as u64);
    if dw == 0 || dh == 0 || sw == 0 || sh == 0 {
        return;
    }
    let cols: Vec<usize> = (0..dw).map(|x| ((x * sw) / dw) as usize).collect();
    for y in 0..dh as usize {
        let sy = ((y as u64 * sh) / dh) as usize;
        let srow = &src.pixels[sy * sw as usize..(sy + 1) * sw as usize];
        let drow = &mut dst.pixels[y * dw as usize..(y + 1) * dw as usize];
        for (d, &sx) in drow.iter_mut().zip(&cols) {
            *d = srow[sx];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexed_png(w: u32, h: u32, depth: png::BitDepth, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(depth);
        enc.set_palette(vec![0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]);
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(data).unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn indexed_images_decode_at_every_depth() {
        let eight = indexed_png(4, 1, png::BitDepth::Eight, &[0, 1, 2, 3]);
        let f = decode(&eight).unwrap();
        assert_eq!(
            f.pixels,
            vec![0, rgb(255, 0, 0), rgb(0, 255, 0), rgb(0, 0, 255)]
        );
        // 2 bits: 00 01 10 11 in one byte.
        let two = indexed_png(4, 1, png::BitDepth::Two, &[0b0001_1011]);
        assert_eq!(decode(&two).unwrap().pixels, f.pixels);
    }

    #[test]
    fn frames_round_trip_through_png_and_scale() {
        let mut f = Frame::new(3, 2, rgb(1, 2, 3));
        f.fill(1, 0, 1, 2, rgb(200, 100, 50));
        let png = f.to_png().unwrap();
        assert_eq!(decode(&png).unwrap(), f);
        let mut big = Frame::new(6, 4, 0);
        decode_into(&png, &mut big).unwrap();
        assert_eq!(big.pixels[2], rgb(200, 100, 50));
        assert_eq!(big.pixels[3], rgb(200, 100, 50));
        assert_eq!(big.pixels[4], rgb(1, 2, 3));
    }

    #[test]
    fn truncated_images_are_errors() {
        let png = Frame::new(64, 64, 5).to_png().unwrap();
        for cut in [0, 8, 30, png.len() / 2, png.len() - 13] {
            assert!(decode(&png[..cut]).is_err(), "cut at {cut}");
        }
    }
}
