//! Output profiles: raster size, safe area and the type sizes that follow from them.

use serde::{Deserialize, Serialize};

use crate::names::vocabulary;

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl Rect {
    /// A rectangle from its left, top, width and height.
    pub const fn new(x: f32, y: f32, w: f32, h: f32) -> Rect {
        Rect { x, y, w, h }
    }

    /// Right edge.
    pub fn right(&self) -> f32 {
        self.x + self.w
    }

    /// Bottom edge.
    pub fn bottom(&self) -> f32 {
        self.y + self.h
    }

    /// Whether `other` lies wholly inside this rectangle (with a tolerance of 0.5 px for
    /// rounding).
    pub fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x - 0.5
            && other.y >= self.y - 0.5
            && other.right() <= self.right() + 0.5
            && other.bottom() <= self.bottom() + 0.5
    }
}

vocabulary! {
    /// Where a screen airs or is shown.
    pub Profile as "profile" {
        /// 720×576, 4:3 (PAL SD). Text stays in the legacy 80 % box for overscanning sets.
        Sd = "sd" / "标清 4:3",
        /// 720×576 anamorphic 16:9: a widescreen set shows each pixel 4/3 wider, so screens
        /// are laid out on a 960×576 canvas and squeezed to 720 columns when drawn.
        /// Also read as `sd-wide` and `sd169`.
        SdWide = "sd_wide" | "sd-wide" | "sd169" / "标清 16:9",
        /// 1280×720.
        Hd720 = "hd720" / "高清 720p",
        /// 1920×1080.
        Hd1080 = "hd1080" / "高清 1080p",
    }
}

impl Profile {
    /// Raster width in pixels.
    pub fn width(self) -> u32 {
        match self {
            Profile::Sd | Profile::SdWide => 720,
            Profile::Hd720 => 1280,
            Profile::Hd1080 => 1920,
        }
    }

    /// Raster height in pixels.
    pub fn height(self) -> u32 {
        match self {
            Profile::Sd | Profile::SdWide => 576,
            Profile::Hd720 => 720,
            Profile::Hd1080 => 1080,
        }
    }

    /// The box all text must stay inside: the legacy 80 % box (576×460 at 72,58) for SD,
    /// title-safe 90 % for HD.
    pub fn safe(self) -> Rect {
        match self {
            Profile::Sd | Profile::SdWide => Rect::new(72.0, 58.0, 576.0, 460.0),
            Profile::Hd720 => Rect::new(64.0, 36.0, 1152.0, 648.0),
            Profile::Hd1080 => Rect::new(96.0, 54.0, 1728.0, 972.0),
        }
    }

    /// Body text size (em) in pixels: the minimum for the line count (36 at 576 lines, 48 at
    /// 720, 72 at 1080).
    pub fn body_em(self) -> f32 {
        match self {
            Profile::Sd | Profile::SdWide => 36.0,
            Profile::Hd720 => 48.0,
            Profile::Hd1080 => 72.0,
        }
    }

    /// Heading size: 1.5× body.
    pub fn heading_em(self) -> f32 {
        self.body_em() * 1.5
    }

    /// Horizontal squeeze from the layout canvas to the raster: 0.75 for anamorphic SD,
    /// 1 otherwise.
    pub fn x_scale(self) -> f32 {
        match self {
            Profile::SdWide => 0.75,
            _ => 1.0,
        }
    }

    /// Width of the canvas screens are laid out on (raster width ÷ [`Profile::x_scale`]).
    pub fn canvas_width(self) -> f32 {
        self.width() as f32 / self.x_scale()
    }

    /// The safe box on the layout canvas.
    pub fn canvas_safe(self) -> Rect {
        let s = self.safe();
        let k = self.x_scale();
        Rect::new(s.x / k, s.y, s.w / k, s.h)
    }

    /// Line pitch as a multiple of the em (DESIGN: 1.5–1.8).
    pub fn line_pitch(self) -> f32 {
        1.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_boxes_match_the_broadcast_rules() {
        for &p in Profile::ALL {
            let s = p.safe();
            let (w, h) = (p.width() as f32, p.height() as f32);
            assert!(
                s.x >= 0.05 * w - 0.01 && s.right() <= 0.95 * w + 0.01,
                "{p:?}"
            );
            assert!(
                s.y >= 0.05 * h - 0.01 && s.bottom() <= 0.95 * h + 0.01,
                "{p:?}"
            );
            assert!(p.heading_em() >= 1.5 * p.body_em());
            assert_eq!(Profile::parse(p.as_str()), Some(p));
        }
        // The SD legacy box is 80 %.
        assert_eq!(Profile::Sd.safe(), Rect::new(72.0, 58.0, 576.0, 460.0));
    }
}
