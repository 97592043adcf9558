//! Indexed-colour PNGs from the renderer's own palette, for set-top boxes.
//!
//! A screen is drawn from a handful of theme colours; the only other colours in it are
//! the anti-aliasing blends of text over its background. So the palette is known before
//! looking at a pixel: every solid colour the layout uses (background, shapes, QR code)
//! plus, for each (text colour, background) pair, an evenly spaced ramp between them.
//! Each pixel maps to its nearest palette entry (solid colours map exactly).
//!
//! A page is then written with at most 16 colours, 4 bits a pixel: the least used ramp
//! entries are merged into their neighbours (solid colours are never merged) and every
//! pixel takes its nearest remaining entry. Deflate works on bytes, so two pixels a byte
//! and fewer distinct edge values make a 1080p text page about a quarter smaller than
//! with the full ramps, and only anti-aliased edge pixels move (by at most
//! [`FOUR_BIT_MAX_ERROR`]). A page that would move further (more solid colours than fit
//! in 16, or an edge off by more) is written with the full palette, 8 bits a pixel, its
//! largest per-channel error bounded by half a ramp step.
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use tiny_skia::Pixmap;

use super::layout::Layout;
use super::raster::{QR_DARK, QR_LIGHT};
use super::theme::Rgb;

/// Most ramp steps between a text colour and its background (more cannot be seen).
pub const MAX_RAMP: usize = 24;

/// An indexed PNG and what its quantisation cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedPng {
    /// The PNG file.
    pub png: Vec<u8>,
    /// Palette entries used.
    pub colours: usize,
    /// Largest difference of any pixel's channel from the RGB render (0–255).
    pub max_error: u8,
}

/// The palette of a layout: its solid colours, then ramps for each text colour over its
/// background.
pub fn palette(layout: &Layout, max_ramp: usize) -> Vec<Rgb> {
    palette_and_solids(layout, max_ramp).0
}

/// [`palette`], and how many solid colours begin it (at most 256).
fn palette_and_solids(layout: &Layout, max_ramp: usize) -> (Vec<Rgb>, usize) {
    let mut solids: Vec<Rgb> = vec![layout.background];
    let push = |v: &mut Vec<Rgb>, c: Rgb| {
        if !v.contains(&c) {
            v.push(c);
        }
    };
    for s in &layout.shapes {
        push(&mut solids, s.rgb);
    }
    if !layout.qr.is_empty() {
        push(&mut solids, QR_LIGHT);
        push(&mut solids, QR_DARK);
    }
    let mut pairs: Vec<(Rgb, Rgb)> = Vec::new();
    for line in &layout.lines {
        push(&mut solids, line.fg_rgb);
        push(&mut solids, line.bg_rgb);
        let pair = (line.fg_rgb, line.bg_rgb);
        if line.fg_rgb != line.bg_rgb && !pairs.contains(&pair) {
            pairs.push(pair);
        }
    }
    let room = 256usize.saturating_sub(solids.len());
    let solid_count = solids.len().min(256);
    let steps = if pairs.is_empty() {
        0
    } else {
        (room / pairs.len() + 1).clamp(2, max_ramp.max(2))
    };
    let mut out = solids;
    for (fg, bg) in pairs {
        for i in 1..steps {
            if out.len() >= 256 {
                break;
            }
            let mix = |a: u8, b: u8| -> u8 {
                let v = f32::from(b) + (f32::from(a) - f32::from(b)) * i as f32 / steps as f32;
                v.round().clamp(0.0, 255.0) as u8
            };
            let c = Rgb(mix(fg.0, bg.0), mix(fg.1, bg.1), mix(fg.2, bg.2));
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out.truncate(256);
    (out, solid_count)
}

/// The palette entry nearest to (r, g, b).
fn nearest(palette: &[Rgb], r: u8, g: u8, b: u8) -> u8 {
    let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2) as u32;
    palette
        .iter()
        .enumerate()
        .min_by_key(|(_, c)| d(c.0, r) + d(c.1, g) + d(c.2, b))
        .map_or(0, |(i, _)| i as u8)
}

/// The largest per-channel difference from the RGB render a 16-colour page may have
/// (only anti-aliased edge pixels differ; at this bound a side-by-side crop at 3× shows
/// no difference, see BENCHMARKS.md).
pub const FOUR_BIT_MAX_ERROR: u8 = 40;

/// Ramp steps for a 16-colour page: three blends between each text colour and its
/// background, evenly spaced (merged further only when the pairs do not fit).
pub const FOUR_BIT_RAMP: usize = 4;

/// Encodes `pixmap` (drawn from `layout`) as an indexed PNG over the layout's palette: 16
/// colours when that keeps every pixel within [`FOUR_BIT_MAX_ERROR`], else every colour.
pub fn encode(pixmap: &Pixmap, layout: &Layout) -> Result<IndexedPng, png::EncodingError> {
    let small = encode_reduced(pixmap, layout, FOUR_BIT_RAMP, png::Filter::NoFilter, 16)?;
    if small.colours <= 16 && small.max_error <= FOUR_BIT_MAX_ERROR {
        return Ok(small);
    }
    encode_reduced(pixmap, layout, MAX_RAMP, png::Filter::NoFilter, 256)
}

/// Merges the least-used palette entries into their nearest neighbours (weighted by use)
/// until at most `max` remain, never merging away one of the first `fixed` entries (the
/// solid colours); returns the new palette and each old entry's new index.
fn reduce(palette: &[Rgb], counts: &[u64], max: usize, fixed: usize) -> (Vec<Rgb>, Vec<usize>) {
    let mut live: Vec<(Rgb, u64, Vec<usize>)> = palette
        .iter()
        .zip(counts)
        .enumerate()
        .filter(|(_, (_, &n))| n > 0)
        .map(|(i, (c, &n))| (*c, n, vec![i]))
        .collect();
    let is_fixed = |members: &[usize]| members.iter().any(|&m| m < fixed);
    let dist = |a: Rgb, b: Rgb| -> u64 {
        let d = |x: u8, y: u8| u64::from(x.abs_diff(y)).pow(2);
        d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)
    };
    while live.len() > max.max(1) {
        // The entry whose merge costs least (its use × distance to its nearest entry).
        let mut best: Option<(u64, usize, usize)> = None;
        for i in 0..live.len() {
            if is_fixed(&live[i].2) {
                continue;
            }
            for j in 0..live.len() {
                if i == j {
                    continue;
                }
                let cost = live[i].1 * dist(live[i].0, live[j].0);
                if best.is_none_or(|b| cost < b.0) {
                    best = Some((cost, i, j));
                }
            }
        }
        let Some((_, from, into)) = best else { break };
        let (_, n, members) = live.remove(from);
        let into = if into > from { into - 1 } else { into };
        live[into].1 += n;
        live[into].2.extend(members);
    }
    let mut map = vec![0usize; palette.len()];
    for (new, (_, _, members)) in live.iter().enumerate() {
        for &old in members {
            map[old] = new;
        }
    }
    (live.into_iter().map(|(c, _, _)| c).collect(), map)
}

/// Hashes a packed RGB key by one multiplication (Fibonacci hashing): a picture's colours
/// are looked up once per run of pixels, and SipHash was a tenth of encoding a page.
#[derive(Default)]
struct RgbHasher(u64);

impl Hasher for RgbHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, key: u32) {
        self.0 = u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Packed RGB → palette index.
type RgbMap = HashMap<u32, u8, BuildHasherDefault<RgbHasher>>;

/// [`encode`] with `max_ramp` steps per text ramp, PNG row filter `filter`, and at most
/// `max_colours` palette entries (the least used merged
/// into their nearest neighbours).
pub fn encode_reduced(
    pixmap: &Pixmap,
    layout: &Layout,
    max_ramp: usize,
    filter: png::Filter,
    max_colours: usize,
) -> Result<IndexedPng, png::EncodingError> {
    // Never empty: the background comes first.
    let (pal, fixed) = palette_and_solids(layout, max_ramp);
    let (w, h) = (pixmap.width(), pixmap.height());
    let mut index: Vec<u8> = Vec::with_capacity(w as usize * h as usize);
    let mut seen = RgbMap::default();
    let mut last: Option<(u32, u8)> = None;
    for p in pixmap.data().chunks_exact(4) {
        let key = u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2]);
        let i = match last {
            Some((k, i)) if k == key => i,
            _ => {
                let i = *seen
                    .entry(key)
                    .or_insert_with(|| nearest(&pal, p[0], p[1], p[2]));
                last = Some((key, i));
                i
            }
        };
        index.push(i);
    }
    // Drop unused entries (so small screens get small palettes and 4-bit pixels), and
    // merge the least used down to `max_colours`.
    let mut counts = vec![0u64; pal.len()];
    for &v in &index {
        counts[v as usize] += 1;
    }
    let (compact, map) = reduce(&pal, &counts, max_colours.min(256), fixed);
    // Every colour of the picture takes its nearest remaining entry (after merges that may
    // be another than the one its old entry became).
    let remap: RgbMap = if compact.len() < counts.iter().filter(|&&n| n > 0).count() {
        seen.keys()
            .map(|&key| {
                let (r, g, b) = ((key >> 16) as u8, (key >> 8) as u8, key as u8);
                (key, nearest(&compact, r, g, b))
            })
            .collect()
    } else {
        seen.iter()
            .map(|(&key, &i)| (key, map[i as usize] as u8))
            .collect()
    };
    let mut last: Option<(u32, u8)> = None;
    for (v, p) in index.iter_mut().zip(pixmap.data().chunks_exact(4)) {
        let key = u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2]);
        *v = match last {
            Some((k, i)) if k == key => i,
            _ => {
                let i = remap.get(&key).copied().unwrap_or(map[*v as usize] as u8);
                last = Some((key, i));
                i
            }
        };
    }
    // The largest difference of any colour in the picture from the entry it became.
    let max_error = remap
        .iter()
        .map(|(key, i)| {
            let c = compact[*i as usize];
            let (r, g, b) = ((key >> 16) as u8, (key >> 8) as u8, *key as u8);
            c.0.abs_diff(r).max(c.1.abs_diff(g)).max(c.2.abs_diff(b))
        })
        .max()
        .unwrap_or(0);
    let colours = compact.len();
    let depth = if colours <= 16 {
        png::BitDepth::Four
    } else {
        png::BitDepth::Eight
    };
    let data = if colours <= 16 {
        index
            .chunks(w as usize)
            .flat_map(|row| {
                row.chunks(2)
                    .map(|pair| (pair[0] << 4) | pair.get(1).copied().unwrap_or(0))
                    .collect::<Vec<u8>>()
            })
            .collect()
    } else {
        index
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(depth);
    encoder.set_palette(
        compact
            .iter()
            .flat_map(|c| [c.0, c.1, c.2])
            .collect::<Vec<u8>>(),
    );
    encoder.set_compression(png::Compression::High);
    encoder.set_filter(filter);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&data)?;
    writer.finish()?;
    Ok(IndexedPng {
        png: out,
        colours,
        max_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solid_colours_are_never_merged_and_blends_go_to_their_neighbours() {
        // Four solids, then a ramp of blends between the first two.
        let palette: Vec<Rgb> = vec![
            Rgb(0, 0, 0),
            Rgb(240, 240, 240),
            Rgb(200, 0, 0),
            Rgb(0, 0, 200),
            Rgb(60, 60, 60),
            Rgb(120, 120, 120),
            Rgb(180, 180, 180),
        ];
        // The red and blue solids are rarely used, the blends often: merging a solid would
        // cost least, yet solids stay.
        let counts = [1000, 1000, 1, 1, 50, 40, 60];
        let (compact, map) = reduce(&palette, &counts, 5, 4);
        assert_eq!(compact.len(), 5);
        for solid in &palette[..4] {
            assert!(compact.contains(solid), "{solid:?} kept");
        }
        assert!(map.iter().all(|&m| m < compact.len()));
        // More solids than room: nothing is merged below them.
        let (compact, _) = reduce(&palette, &counts, 2, 4);
        assert_eq!(compact.len(), 4);
    }
}
