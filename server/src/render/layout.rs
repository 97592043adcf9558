//! The resolved screen: every text line, shape and selectable thing with its position.
//! This is what the rasteriser draws, what `--layout` writes, and what accessibility,
//! safe-area and screen-graph code read without re-deriving positions.

use serde::Serialize;

use super::profile::{Profile, Rect};
use super::text::Glyph;
use super::theme::Rgb;
use crate::fonts::Weight;

/// What a text line is, for checks and for the set-top box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The screen's title.
    Title,
    /// A section heading inside the screen.
    Heading,
    /// Running text.
    Body,
    /// Secondary information (publisher, date, labels).
    Meta,
    /// A numbered item of a list or tile.
    Item,
    /// Key hints and page number at the bottom.
    Footer,
    /// An alert (urgent banner, countdown).
    Alert,
}

/// One laid-out line of text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextLine {
    /// The characters on the line.
    pub text: String,
    /// Left edge of the ink box (display pixels).
    pub x: f32,
    /// Top of the line box.
    pub y: f32,
    /// Width of the text.
    pub w: f32,
    /// Height of the line box (the line pitch).
    pub h: f32,
    /// Type size in pixels.
    pub em: f32,
    /// Text colour, `#rrggbb`.
    pub fg: String,
    /// Colour behind the text, `#rrggbb`.
    pub bg: String,
    /// What the line is.
    pub role: Role,
    /// Positioned characters, relative to `x`.
    #[serde(skip)]
    pub glyphs: Vec<Glyph>,
    /// Face weight.
    #[serde(skip)]
    pub weight: Weight,
    /// Text colour.
    #[serde(skip)]
    pub fg_rgb: Rgb,
    /// Background colour.
    #[serde(skip)]
    pub bg_rgb: Rgb,
}

/// A filled rectangle (bands, rules, boxes, bars). Edges are on even rows for interlace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shape {
    /// Where.
    #[serde(flatten)]
    pub rect: Rect,
    /// Fill colour, `#rrggbb`.
    pub fill: String,
    /// Fill colour.
    #[serde(skip)]
    pub rgb: Rgb,
}

/// Something a viewer can pick with the remote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selectable {
    /// The number key that picks it, if any.
    pub key: Option<u8>,
    /// Where it is drawn.
    #[serde(flatten)]
    pub rect: Rect,
    /// What it leads to (an opaque target the screen graph resolves, e.g. `section:notices`).
    pub target: String,
    /// Its label.
    pub label: String,
}

/// A QR code linking to the item online.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QrMark {
    /// The code's box including its quiet zone.
    #[serde(flatten)]
    pub rect: Rect,
    /// Where it leads.
    pub url: String,
    /// Modules per side.
    pub modules: u32,
    /// Dark modules, row by row.
    #[serde(skip)]
    pub dark: Vec<bool>,
    /// Pixels per module.
    #[serde(skip)]
    pub module_px: f32,
}

/// One page of one screen, fully resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layout {
    /// Profile name.
    pub profile: &'static str,
    /// Raster width.
    pub width: u32,
    /// Raster height.
    pub height: u32,
    /// 1-based page number.
    pub page: u32,
    /// Number of pages of the screen.
    pub pages: u32,
    /// The box all text stays in.
    pub safe: Rect,
    /// Text lines in drawing order.
    pub lines: Vec<TextLine>,
    /// Filled shapes, drawn before text.
    pub shapes: Vec<Shape>,
    /// Things the remote can pick.
    pub selectables: Vec<Selectable>,
    /// QR codes.
    pub qr: Vec<QrMark>,
    /// Characters no face has (drawn as an empty em; staff are warned).
    pub missing: Vec<char>,
    /// The alert band (broadcast, while an urgent notice is in force): no content line lies
    /// under it; its own lines have the role `alert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band: Option<Rect>,
    /// Which strip of the band this frame shows (1-based), once one is chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strip: Option<u32>,
    /// How many strips the band has (0 without a band).
    #[serde(skip_serializing_if = "is_zero")]
    pub strips: u32,
    /// The lines of every strip (see [`Layout::with_strip`]).
    #[serde(skip)]
    pub strip_lines: Vec<Vec<TextLine>>,
    /// Background colour.
    #[serde(skip)]
    pub background: Rgb,
    /// The profile.
    #[serde(skip)]
    pub profile_kind: Profile,
    /// Horizontal squeeze applied to glyphs when drawn (0.75 for anamorphic SD).
    #[serde(skip)]
    pub x_scale: f32,
    /// Where the broadcast status line's panel starts (on air only): nothing above it
    /// depends on the channel, so the rows above can be shared by every channel.
    #[serde(skip)]
    pub footer_top: Option<f32>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Layout {
    /// This page with strip `strip` (1-based, wrapping) of its alert band drawn in; the page
    /// itself when it has no band.
    pub fn with_strip(&self, strip: u32) -> Layout {
        let mut out = self.clone();
        if self.strip_lines.is_empty() {
            return out;
        }
        let n = self.strip_lines.len();
        let i = (strip.max(1) as usize - 1) % n;
        out.lines.extend(self.strip_lines[i].iter().cloned());
        out.strip = Some(i as u32 + 1);
        out.strip_lines = Vec::new();
        out
    }

    /// Where the channel's status line begins, rounded down to a 16-row macroblock
    /// boundary (on air only): the rows above depend on the screen alone.
    pub fn status_split(&self) -> Option<u32> {
        self.footer_top
            .map(|f| (f.max(0.0) as u32) / 16 * 16)
            .filter(|&s| s > 0 && s < self.height)
    }

    /// Rows `top..bottom` as a layout of their own: everything that reaches into them,
    /// moved up by `top`, on a canvas `bottom - top` rows high. Drawing it gives exactly
    /// those rows of the whole layout's raster (`top` is a whole pixel).
    pub fn rows(&self, top: u32, bottom: u32) -> Layout {
        let (t, b) = (top as f32, bottom as f32);
        // A line's ink may overhang its box a little (accents, descenders): a margin of
        // half an em keeps every line that could touch the rows. The status line's rows
        // (pitch 1.3, nothing above the cap height) stay inside their boxes, so a band that
        // ends above the status line never depends on the channel.
        let touches_line = |l: &TextLine| {
            let margin = if l.role == Role::Footer {
                0.0
            } else {
                l.em * 0.5
            };
            l.y - margin < b && l.y + l.h + margin > t
        };
        let touches = |r: &Rect| r.y < b && r.y + r.h > t;
        let lift_line = |l: &TextLine| TextLine {
            y: l.y - t,
            ..l.clone()
        };
        let lift = |r: &Rect| Rect { y: r.y - t, ..*r };
        Layout {
            height: bottom.saturating_sub(top),
            lines: self
                .lines
                .iter()
                .filter(|l| touches_line(l))
                .map(lift_line)
                .collect(),
            shapes: self
                .shapes
                .iter()
                .filter(|s| touches(&s.rect))
                .map(|s| Shape {
                    rect: lift(&s.rect),
                    ..s.clone()
                })
                .collect(),
            selectables: Vec::new(),
            qr: self
                .qr
                .iter()
                .filter(|q| touches(&q.rect))
                .map(|q| QrMark {
                    rect: lift(&q.rect),
                    ..q.clone()
                })
                .collect(),
            band: None,
            strip_lines: Vec::new(),
            footer_top: self.footer_top.map(|f| f - t),
            ..self.clone()
        }
    }

    /// A digest of everything drawn (not of what the remote can pick): two layouts with
    /// the same digest rasterise to the same pixels.
    pub fn digest(&self) -> super::ScreenHash {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(self.profile.as_bytes());
        h.update(self.width.to_le_bytes());
        h.update(self.height.to_le_bytes());
        h.update(self.x_scale.to_bits().to_le_bytes());
        h.update(format!("{:?}", self.background));
        for l in &self.lines {
            h.update(format!(
                "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
                l.text, l.x, l.y, l.w, l.h, l.em, l.weight, l.fg_rgb, l.bg_rgb, l.glyphs, l.role
            ));
        }
        for s in &self.shapes {
            h.update(format!("{:?}|{:?}", s.rect, s.rgb));
        }
        for q in &self.qr {
            h.update(format!(
                "{:?}|{:?}|{}|{:?}",
                q.rect, q.dark, q.modules, q.module_px
            ));
        }
        super::ScreenHash::from_digest(h)
    }

    /// Maps a layout from the canvas to raster columns (anamorphic profiles): every x and
    /// width is multiplied by `k`; glyph offsets too.
    pub fn squeeze(&mut self, k: f32) {
        if k == 1.0 {
            return;
        }
        let scale = |r: &mut Rect| {
            r.x *= k;
            r.w *= k;
        };
        let line_scale = |line: &mut TextLine| {
            line.x *= k;
            line.w *= k;
            for g in &mut line.glyphs {
                g.x *= k;
                g.advance *= k;
                g.shift *= k;
            }
        };
        self.lines.iter_mut().for_each(line_scale);
        for s in &mut self.shapes {
            scale(&mut s.rect);
        }
        for s in &mut self.selectables {
            scale(&mut s.rect);
        }
        for q in &mut self.qr {
            scale(&mut q.rect);
        }
        if let Some(b) = &mut self.band {
            scale(b);
        }
        self.strip_lines.iter_mut().flatten().for_each(line_scale);
        self.x_scale = k;
    }
}

/// Rounds a coordinate to an even pixel, so edges of filled shapes never split an
/// interlaced field pair.
pub fn even(v: f32) -> f32 {
    (v / 2.0).round() * 2.0
}
