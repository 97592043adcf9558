//! Drawing a [`Layout`] into pixels: background, shapes, then text, glyph by glyph from a
//! cache of rasterised glyphs keyed by (face, glyph, size).

use std::collections::HashMap;

use tiny_skia::{Color, Paint, Pixmap, Rect as SkRect, Transform};

use super::layout::Layout;
use super::theme::Rgb;
use crate::fonts::{FaceId, FontBook};

/// Top of the ideographic em box above the baseline, as a fraction of the em (Noto Sans
/// CJK: 880/1000).
const IDEOGRAPHIC_ASCENT: f32 = 0.88;

/// A rasterised glyph.
struct CachedGlyph {
    metrics: fontdue::Metrics,
    coverage: Vec<u8>,
    /// Per row, the columns `start..end` holding any coverage (`0..0` for an empty row):
    /// most of a Han glyph's box is empty, and blending skips it.
    spans: Vec<(u16, u16)>,
}

impl CachedGlyph {
    fn new(metrics: fontdue::Metrics, coverage: Vec<u8>) -> CachedGlyph {
        let w = metrics.width.max(1);
        let spans = coverage
            .chunks(w)
            .map(|row| match row.iter().position(|&a| a != 0) {
                None => (0, 0),
                Some(start) => {
                    let end = row.iter().rposition(|&a| a != 0).map_or(start, |e| e + 1);
                    (start as u16, end as u16)
                }
            })
            .collect();
        CachedGlyph {
            metrics,
            coverage,
            spans,
        }
    }
}

/// Rasterised glyphs, keyed by (face, glyph index, size in 1/64 px, horizontal squeeze in
/// 1/64).
#[derive(Default)]
pub struct GlyphCache {
    glyphs: HashMap<(FaceId, u16, u32, u32), CachedGlyph>,
}

/// Narrows a glyph's coverage to `k` of its width with a box filter (anamorphic SD).
fn squeeze_glyph(m: fontdue::Metrics, coverage: &[u8], k: f32) -> CachedGlyph {
    let w = m.width;
    let nw = ((w as f32) * k).ceil() as usize;
    let mut out = vec![0u8; nw * m.height];
    for row in 0..m.height {
        for j in 0..nw {
            // Source interval [j/k, (j+1)/k) in source columns, weighted by overlap.
            let (a, b) = (j as f32 / k, (j as f32 + 1.0) / k);
            let mut sum = 0.0f32;
            let mut col = a.floor() as usize;
            while (col as f32) < b && col < w {
                let overlap = (b.min(col as f32 + 1.0) - a.max(col as f32)).max(0.0);
                sum += overlap * f32::from(coverage[row * w + col]);
                col += 1;
            }
            out[row * nw + j] = (sum * k).round().min(255.0) as u8;
        }
    }
    let metrics = fontdue::Metrics {
        xmin: (m.xmin as f32 * k).round() as i32,
        width: nw,
        advance_width: m.advance_width * k,
        ..m
    };
    CachedGlyph::new(metrics, out)
}

impl GlyphCache {
    /// An empty cache.
    pub fn new() -> GlyphCache {
        GlyphCache::default()
    }

    /// Number of glyphs held.
    pub fn len(&self) -> usize {
        self.glyphs.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.glyphs.is_empty()
    }
}

fn color(rgb: Rgb) -> Color {
    Color::from_rgba8(rgb.0, rgb.1, rgb.2, 255)
}

/// Draws `layout` into a new pixmap. `None` only if the size is zero.
pub fn raster(layout: &Layout, book: &FontBook, cache: &mut GlyphCache) -> Option<Pixmap> {
    let mut pixmap = Pixmap::new(layout.width, layout.height)?;
    raster_into(layout, book, cache, &mut pixmap);
    Some(pixmap)
}

/// Draws `layout` into `pixmap`, which must be `layout.width` × `layout.height` (a pixmap of
/// another size is left untouched and `false` returned). Reusing one pixmap per output
/// saves allocating and faulting in a fresh frame for every screen.
pub fn raster_into(
    layout: &Layout,
    book: &FontBook,
    cache: &mut GlyphCache,
    pixmap: &mut Pixmap,
) -> bool {
    if (pixmap.width(), pixmap.height()) != (layout.width, layout.height) {
        return false;
    }
    pixmap.fill(color(layout.background));
    let mut paint = Paint {
        anti_alias: false,
        ..Paint::default()
    };
    for shape in &layout.shapes {
        paint.set_color(color(shape.rgb));
        if let Some(rect) =
            SkRect::from_xywh(shape.rect.x, shape.rect.y, shape.rect.w, shape.rect.h)
        {
            pixmap.fill_rect(rect, &paint, Transform::identity(), None);
        }
    }
    for qr in &layout.qr {
        // Dark modules on a light (not pure white) quiet zone, so phones can read it.
        paint.set_color(color(Rgb(0xe8, 0xe8, 0xe2)));
        if let Some(rect) = SkRect::from_xywh(qr.rect.x, qr.rect.y, qr.rect.w, qr.rect.h) {
            pixmap.fill_rect(rect, &paint, Transform::identity(), None);
        }
        paint.set_color(color(Rgb(0x1c, 0x1c, 0x1c)));
        let n = qr.modules as usize;
        for (i, dark) in qr.dark.iter().enumerate() {
            if !dark {
                continue;
            }
            let (row, col) = (i / n, i % n);
            let mw = qr.module_px * layout.x_scale;
            let x = qr.rect.x + (col as f32 + 2.0) * mw;
            let y = qr.rect.y + (row as f32 + 2.0) * qr.module_px;
            if let Some(rect) = SkRect::from_xywh(x, y, mw, qr.module_px) {
                pixmap.fill_rect(rect, &paint, Transform::identity(), None);
            }
        }
    }
    let (width, height) = (layout.width as i32, layout.height as i32);
    let data = pixmap.data_mut();
    for line in &layout.lines {
        let px = line.em;
        let em_top = line.y + (line.h - px) / 2.0;
        let baseline = em_top + IDEOGRAPHIC_ASCENT * px;
        let fg = line.fg_rgb;
        for g in &line.glyphs {
            if g.ch.is_whitespace() {
                continue;
            }
            let Some((face_id, font)) = book.face_for(g.ch, line.weight) else {
                continue; // reported in layout.missing
            };
            let index = font.lookup_glyph_index(g.ch);
            let squeeze = layout.x_scale;
            let key = (face_id, index, (px * 64.0) as u32, (squeeze * 64.0) as u32);
            let glyph = cache.glyphs.entry(key).or_insert_with(|| {
                let (metrics, coverage) = font.rasterize_indexed(index, px);
                if squeeze == 1.0 {
                    CachedGlyph::new(metrics, coverage)
                } else {
                    squeeze_glyph(metrics, &coverage, squeeze)
                }
            });
            let m = &glyph.metrics;
            let left = (line.x + g.x + g.shift + m.xmin as f32).round() as i32;
            let top = (baseline - m.height as f32 - m.ymin as f32).round() as i32;
            blend(data, width, height, left, top, glyph, fg);
        }
    }
    true
}

/// Blends a glyph's coverage in colour `fg` over opaque pixels, clipped to the raster;
/// only each row's covered span is visited.
fn blend(
    data: &mut [u8],
    width: i32,
    height: i32,
    left: i32,
    top: i32,
    glyph: &CachedGlyph,
    fg: Rgb,
) {
    let wi = glyph.metrics.width as i32;
    let hi = glyph.metrics.height as i32;
    let (y0, y1) = (top.max(0), (top + hi).min(height));
    if y0 >= y1 || wi == 0 {
        return;
    }
    let fg = [u32::from(fg.0), u32::from(fg.1), u32::from(fg.2)];
    for y in y0..y1 {
        let row = (y - top) as usize;
        let (s, e) = glyph.spans[row];
        let x0 = (left + i32::from(s)).max(0);
        let x1 = (left + i32::from(e)).min(width);
        if x0 >= x1 {
            continue;
        }
        let src_start = row * wi as usize + (x0 - left) as usize;
        let src = &glyph.coverage[src_start..src_start + (x1 - x0) as usize];
        let dst_start = ((y * width + x0) * 4) as usize;
        let dst = &mut data[dst_start..dst_start + (x1 - x0) as usize * 4];
        for (px, &a) in dst.chunks_exact_mut(4).zip(src) {
            match a {
                0 => {}
                255 => {
                    px[0] = fg[0] as u8;
                    px[1] = fg[1] as u8;
                    px[2] = fg[2] as u8;
                }
                a => {
                    let a = u32::from(a);
                    let na = 255 - a;
                    for c in 0..3 {
                        // x / 255 rounded, for x < 65536: (x + 128 + ((x + 128) >> 8)) >> 8
                        let x = u32::from(px[c]) * na + fg[c] * a + 128;
                        px[c] = ((x + (x >> 8)) >> 8) as u8;
                    }
                }
            }
        }
    }
}

/// Encodes an opaque frame as an 8-bit RGB PNG with fast compression (fdeflate): the live
/// preview and `headend render` answer in milliseconds, not the ~60 ms of the default
/// level for a 1080 frame (BENCHMARKS.md).
pub fn encode_png(pixmap: &Pixmap) -> Result<Vec<u8>, png::EncodingError> {
    let rgb: Vec<u8> = pixmap
        .data()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let mut out = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(out)
}
