//! Colours of the screens: broadcast-legal (every channel within 16–235, saturation at
//! most 85 %), light text on a dark, not black, background, contrast at least 7:1.

use serde::Serialize;

/// An 8-bit sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG relative luminance.
    pub fn luminance(self) -> f64 {
        fn channel(c: u8) -> f64 {
            let c = f64::from(c) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        }
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    /// WCAG contrast ratio between two colours (≥ 1).
    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (hi, lo) = if a > b { (a, b) } else { (b, a) };
        (hi + 0.05) / (lo + 0.05)
    }

    /// HSV saturation, 0–1.
    pub fn saturation(self) -> f64 {
        let max = self.0.max(self.1).max(self.2);
        let min = self.0.min(self.1).min(self.2);
        if max == 0 {
            0.0
        } else {
            f64::from(max - min) / f64::from(max)
        }
    }

    /// Whether every channel is within studio range 16–235 and saturation ≤ 85 %.
    pub fn is_broadcast_legal(self) -> bool {
        [self.0, self.1, self.2]
            .iter()
            .all(|&c| (16..=235).contains(&c))
            && self.saturation() <= 0.85
    }
}

/// The palette of a screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Theme {
    /// Screen background.
    pub background: Rgb,
    /// Title band and panels.
    pub panel: Rgb,
    /// Body text.
    pub text: Rgb,
    /// Titles.
    pub title: Rgb,
    /// Secondary text (publisher, dates, footer).
    pub muted: Rgb,
    /// Numbers, highlights, focus.
    pub accent: Rgb,
    /// Urgent band background.
    pub urgent: Rgb,
    /// Text on the urgent band.
    pub urgent_text: Rgb,
    /// Rules and box outlines.
    pub rule: Rgb,
}

impl Theme {
    /// The default palette: deep blue-grey with warm white text and amber accents.
    pub const DEFAULT: Theme = Theme {
        background: Rgb(0x1c, 0x2a, 0x3a),
        panel: Rgb(0x22, 0x36, 0x4c),
        text: Rgb(0xe8, 0xe8, 0xe2),
        title: Rgb(0xeb, 0xe0, 0xb0),
        muted: Rgb(0xc8, 0xcf, 0xd6),
        accent: Rgb(0xeb, 0xc8, 0x5a),
        urgent: Rgb(0x8c, 0x1e, 0x1e),
        urgent_text: Rgb(0xeb, 0xeb, 0xe0),
        rule: Rgb(0x6a, 0x84, 0x9e),
    };
}

impl Default for Theme {
    fn default() -> Self {
        Theme::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_theme_is_legal_and_readable() {
        let t = Theme::DEFAULT;
        for c in [
            t.background,
            t.panel,
            t.text,
            t.title,
            t.muted,
            t.accent,
            t.urgent,
            t.urgent_text,
            t.rule,
        ] {
            assert!(c.is_broadcast_legal(), "{} is not broadcast legal", c.hex());
        }
        for (fg, bg) in [
            (t.text, t.background),
            (t.title, t.background),
            (t.muted, t.background),
            (t.accent, t.background),
            (t.text, t.panel),
            (t.title, t.panel),
            (t.muted, t.panel),
            (t.accent, t.panel),
            (t.urgent_text, t.urgent),
        ] {
            assert!(
                fg.contrast(bg) >= 7.0,
                "{} on {}: {:.2}",
                fg.hex(),
                bg.hex(),
                fg.contrast(bg)
            );
        }
        assert_ne!(t.background, Rgb(0, 0, 0), "dark, not black");
    }
}
