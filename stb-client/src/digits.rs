//! The box's only font: 5×7 bitmaps of the digits and the few Latin signs it draws itself
//! (the case number's `SF` prefix, `:` and `-` of times and dates). Everything Chinese on
//! screen comes from the headend's images or from bitmaps built into the binary.

use crate::picture::Frame;

/// Rows of a glyph, top first; bit 4 is the leftmost column.
fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '_' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F],
        ' ' => [0; 7],
        _ => return None,
    })
}

/// Width of `text` drawn with pixel size `px` (each glyph 5 px wide plus 1 px spacing).
pub fn width(text: &str, px: u32) -> u32 {
    (text.chars().count() as u32 * 6).saturating_sub(1) * px
}

/// Height of a line drawn with pixel size `px`.
pub fn height(px: u32) -> u32 {
    7 * px
}

/// Draws `text` at (`x`, `y`) (its top-left corner) with square dots of `px` pixels;
/// characters without a glyph are skipped (left blank).
pub fn draw(frame: &mut Frame, text: &str, x: i64, y: i64, px: u32, colour: u32) {
    let px = i64::from(px.max(1));
    for (i, c) in text.chars().enumerate() {
        let Some(rows) = glyph(c) else { continue };
        let gx = x + i as i64 * 6 * px;
        for (r, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) != 0 {
                    frame.fill(gx + col * px, y + r as i64 * px, px, px, colour);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_distinct_and_drawn_where_asked() {
        let all: Vec<[u8; 7]> = "0123456789SF".chars().filter_map(glyph).collect();
        assert_eq!(all.len(), 12);
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let mut f = Frame::new(40, 20, 0);
        draw(&mut f, "1", 2, 3, 2, 9);
        // Row 0 of '1' is 0x04: column 2 → x = 2 + 2×2 = 6..8, y = 3..5.
        assert_eq!(f.pixels[3 * 40 + 6], 9);
        assert_eq!(f.pixels[3 * 40 + 2], 0);
        assert_eq!(width("12", 2), 22);
    }
}
