//! Bitmaps built into the binary (see `assets/LICENSE`): the screen shown while the cache is
//! empty and the headend cannot be reached, the 更新于 label and the network-error line.
//! They are drawn by the headend's renderer and checked by its test `stb_client_assets`.

use crate::picture::{self, Frame};

const EMPTY: &[u8] = include_bytes!("../assets/empty.png");
const UPDATED: &[u8] = include_bytes!("../assets/updated.png");
const OFFLINE: &[u8] = include_bytes!("../assets/offline.png");

fn load(png: &[u8]) -> Frame {
    // The files are checked by tests; a broken build shows a dark frame, never panics.
    picture::decode(png).unwrap_or_else(|_| Frame::new(1, 1, 0))
}

/// The empty-cache screen, drawn over the whole of `frame`.
pub fn empty_into(frame: &mut Frame) {
    if picture::decode_into(EMPTY, frame).is_err() {
        let (w, h) = (frame.width, frame.height);
        *frame = Frame::new(w, h, picture::rgb(16, 32, 48));
    }
}

/// The 更新于 label.
pub fn updated() -> Frame {
    load(UPDATED)
}

/// 网络暂时不通，请稍后再试.
pub fn offline() -> Frame {
    load(OFFLINE)
}

/// The text colour of a label: its pixel farthest from the background (the corner).
pub fn ink(label: &Frame) -> u32 {
    let bg = label.pixels.first().copied().unwrap_or(0);
    let dist = |p: u32| {
        let c = |v: u32, s: u32| ((v >> s) & 0xFF) as i32;
        (0..3)
            .map(|i| (c(p, i * 8) - c(bg, i * 8)).abs())
            .sum::<i32>()
    };
    label
        .pixels
        .iter()
        .copied()
        .max_by_key(|&p| dist(p))
        .unwrap_or(0x00FF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_bitmaps_decode() {
        let mut f = Frame::new(720, 576, 0);
        empty_into(&mut f);
        assert!(
            f.pixels.iter().any(|&p| p != f.pixels[0]),
            "the screen has text"
        );
        let label = updated();
        assert!(label.width > 20 && label.height > 10);
        assert_ne!(ink(&label), label.pixels[0]);
        assert!(offline().width > label.width);
    }
}
