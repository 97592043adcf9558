//! Drawing a [`Layout`] into pixels: background, shapes, then text, glyph by glyph from a
//! cache of rasterised glyphs keyed by (face, glyph, size).

use std::collections::HashMap;

use tiny_skia::Pixmap;

use super::layout::Layout;
use super::theme::Rgb;
use crate::fonts::{FaceId, FontBook, Metrics};

/// Top of the ideographic em box above the baseline, as a fraction of the em (Noto Sans
/// CJK: 880/1000).
const IDEOGRAPHIC_ASCENT: f32 = 0.88;

/// The light quiet zone behind a QR code (not pure white: broadcast-legal).
pub const QR_LIGHT: Rgb = Rgb(0xe8, 0xe8, 0xe2);
/// A QR code's dark modules.
pub const QR_DARK: Rgb = Rgb(0x1c, 0x1c, 0x1c);

/// A rasterised glyph.
struct CachedGlyph {
    metrics: Metrics,
    coverage: Vec<u8>,
    /// Per row, the columns `start..end` holding any coverage (`0..0` for an empty row):
    /// most of a Han glyph's box is empty, and blending skips it.
    spans: Vec<(u16, u16)>,
}

impl CachedGlyph {
    fn new(metrics: Metrics, coverage: Vec<u8>) -> CachedGlyph {
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
fn squeeze_glyph(m: Metrics, coverage: &[u8], k: f32) -> CachedGlyph {
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
    let metrics = Metrics {
        xmin: (m.xmin as f32 * k).round() as i32,
        width: nw,
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

/// Draws `layout` into a new pixmap. `None` only if the size is zero.
pub fn raster(layout: &Layout, book: &FontBook, cache: &mut GlyphCache) -> Option<Pixmap> {
    let mut pixmap = Pixmap::new(layout.width, layout.height)?;
    raster_into(layout, book, cache, &mut pixmap);
    Some(pixmap)
}

/// Rows drawn per band: a 1920-wide band of 32 rows is 240 KiB, so filling it, painting
/// its panels and blending its glyph rows all hit the core's L2 cache instead of making
/// three passes over an 8 MB frame (BENCHMARKS.md, "Renderer").
const BAND_ROWS: i32 = 32;

/// Draws `layout` into `pixmap`, which must be `layout.width` × `layout.height` (a pixmap of
/// another size is left untouched and `false` returned). Reusing one pixmap per output
/// saves allocating and faulting in a fresh frame for every screen.
///
/// The frame is drawn band by band; within a band the order is background, panels, QR
/// codes, then text, so every pixel gets exactly what a whole-frame pass would give.
pub fn raster_into(
    layout: &Layout,
    book: &FontBook,
    cache: &mut GlyphCache,
    pixmap: &mut Pixmap,
) -> bool {
    if (pixmap.width(), pixmap.height()) != (layout.width, layout.height) {
        return false;
    }
    // Rasterise what the cache lacks and place every glyph, in drawing order.
    type Key = (FaceId, u16, u32, u32);
    let mut placed: Vec<(i32, i32, Key, Rgb)> = Vec::new();
    for line in &layout.lines {
        let px = line.em;
        let em_top = line.y + (line.h - px) / 2.0;
        let baseline = em_top + IDEOGRAPHIC_ASCENT * px;
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
            if m.width > 0 && m.height > 0 {
                placed.push((left, top, key, line.fg_rgb));
            }
        }
    }
    let glyphs: Vec<(i32, i32, &CachedGlyph, Rgb)> = placed
        .iter()
        .filter_map(|&(left, top, key, fg)| cache.glyphs.get(&key).map(|g| (left, top, g, fg)))
        .collect();

    // Opaque rectangles, rounded edge by edge exactly as tiny-skia's non-anti-aliased
    // `fill_rect` does.
    let mut rects: Vec<(IntBox, [u8; 4])> = Vec::new();
    for shape in &layout.shapes {
        if let Some(r) = IntBox::of(shape.rect.x, shape.rect.y, shape.rect.w, shape.rect.h) {
            rects.push((r, rgba(shape.rgb)));
        }
    }
    for qr in &layout.qr {
        // Dark modules on a light (not pure white) quiet zone, so phones can read it.
        if let Some(r) = IntBox::of(qr.rect.x, qr.rect.y, qr.rect.w, qr.rect.h) {
            rects.push((r, rgba(QR_LIGHT)));
        }
        let n = qr.modules as usize;
        let mw = qr.module_px * layout.x_scale;
        for (i, dark) in qr.dark.iter().enumerate() {
            if !dark {
                continue;
            }
            let (row, col) = (i / n, i % n);
            let x = qr.rect.x + (col as f32 + 2.0) * mw;
            let y = qr.rect.y + (row as f32 + 2.0) * qr.module_px;
            if let Some(r) = IntBox::of(x, y, mw, qr.module_px) {
                rects.push((r, rgba(QR_DARK)));
            }
        }
    }

    let (width, height) = (layout.width as i32, layout.height as i32);
    let background = rgba(layout.background);
    let data = pixmap.data_mut();
    let mut y0 = 0;
    while y0 < height {
        let y1 = (y0 + BAND_ROWS).min(height);
        fill(
            data,
            width,
            IntBox {
                x0: 0,
                y0,
                x1: width,
                y1,
            },
            background,
        );
        for (r, c) in &rects {
            let clipped = IntBox {
                x0: r.x0.max(0),
                y0: r.y0.max(y0),
                x1: r.x1.min(width),
                y1: r.y1.min(y1),
            };
            fill(data, width, clipped, *c);
        }
        for &(left, top, glyph, fg) in &glyphs {
            if top < y1 && top + glyph.metrics.height as i32 > y0 {
                blend(data, width, (y0, y1), left, top, glyph, fg);
            }
        }
        y0 = y1;
    }
    true
}

/// A pixel rectangle `x0..x1` × `y0..y1`.
#[derive(Debug, Clone, Copy)]
struct IntBox {
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
}

impl IntBox {
    /// The pixels tiny-skia fills for `Rect::from_xywh(x, y, w, h)` without anti-aliasing:
    /// each edge rounded as `(floor(v) + 0.5) as i32`, at least one pixel wide and high.
    fn of(x: f32, y: f32, w: f32, h: f32) -> Option<IntBox> {
        let (r, b) = (x + w, y + h);
        if ![x, y, r, b].iter().all(|v| v.is_finite()) || w < 0.0 || h < 0.0 {
            return None;
        }
        let round = |v: f32| (v.floor() + 0.5) as i32;
        let (x0, y0) = (round(x), round(y));
        let x1 = x0 + (round(r) - x0).max(1);
        let y1 = y0 + (round(b) - y0).max(1);
        Some(IntBox { x0, y0, x1, y1 })
    }
}

fn rgba(rgb: Rgb) -> [u8; 4] {
    [rgb.0, rgb.1, rgb.2, 255]
}

/// Fills `r` (already clipped to the raster, possibly empty) with an opaque colour.
fn fill(data: &mut [u8], width: i32, r: IntBox, c: [u8; 4]) {
    if r.x0 >= r.x1 || r.y0 >= r.y1 {
        return;
    }
    for y in r.y0..r.y1 {
        let start = ((y * width + r.x0) * 4) as usize;
        let end = ((y * width + r.x1) * 4) as usize;
        for px in data[start..end].chunks_exact_mut(4) {
            px.copy_from_slice(&c);
        }
    }
}

/// Blends a glyph's coverage in colour `fg` over opaque pixels, clipped to the raster
/// width and to the rows `rows.0..rows.1`; only each row's covered span is visited.
fn blend(
    data: &mut [u8],
    width: i32,
    rows: (i32, i32),
    left: i32,
    top: i32,
    glyph: &CachedGlyph,
    fg: Rgb,
) {
    let wi = glyph.metrics.width as i32;
    let hi = glyph.metrics.height as i32;
    let (y0, y1) = (top.max(rows.0).max(0), (top + hi).min(rows.1));
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
