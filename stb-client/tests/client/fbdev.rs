//! The framebuffer backend writes into a file standing in for `/dev/fbN`: every mode's bytes
//! are read back with an independent decoder (little-endian words, the mode's channel
//! offsets and lengths) and compared with the frame shown; the stride's padding and rows
//! beyond the visible screen are never touched.

use std::fs::{self, File, OpenOptions};
use std::path::Path;

use proptest::prelude::*;
use stb_client::display::fbdev::{Channel, Fbdev, Geometry};
use stb_client::display::Display;
use stb_client::picture::{rgb, Frame};

/// What the fake device holds before the first frame: never a colour the tests draw.
const SENTINEL: u8 = 0xA5;

fn channel(offset: u32, length: u32) -> Channel {
    Channel { offset, length }
}

/// A mode with the given channels (red, green, blue as offset and length).
fn mode(xres: u32, yres: u32, bpp: u32, line_length: u32, channels: [(u32, u32); 3]) -> Geometry {
    let [r, g, b] = channels;
    Geometry {
        xres,
        yres,
        xres_virtual: xres,
        yres_virtual: yres,
        bits_per_pixel: bpp,
        line_length,
        red: channel(r.0, r.1),
        green: channel(g.0, g.1),
        blue: channel(b.0, b.1),
    }
}

/// A fake device file of `yres_virtual` rows of `line_length` bytes, all `SENTINEL`.
fn device(dir: &Path, g: &Geometry) -> (File, std::path::PathBuf) {
    let path = dir.join("fb0");
    let bytes = vec![SENTINEL; (g.line_length * g.yres_virtual) as usize];
    fs::write(&path, bytes).unwrap();
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    (file, path)
}

/// A frame where every pixel differs from its neighbours in each channel.
fn pattern(w: u32, h: u32, seed: u32) -> Frame {
    let mut f = Frame::new(w, h, 0);
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let v = i
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(40_503));
            f.pixels[i as usize] = rgb((v >> 24) as u8, (v >> 13) as u8, (v >> 3) as u8);
        }
    }
    f
}

/// The 8-bit channel `value` as the device stores it in `length` bits.
fn quantise(value: u32, length: u32) -> u32 {
    value >> (8 - length)
}

/// Reads back the visible screen from the device bytes and checks every pixel against
/// `expected` (already of the mode's size), and that padding and hidden rows kept the
/// sentinel.
fn check_device(bytes: &[u8], g: &Geometry, expected: &Frame) {
    assert_eq!((expected.width, expected.height), (g.xres, g.yres));
    let bpp = (g.bits_per_pixel / 8) as usize;
    let stride = g.line_length as usize;
    for y in 0..g.yres as usize {
        let row = &bytes[y * stride..(y + 1) * stride];
        for x in 0..g.xres as usize {
            let mut word = [0u8; 4];
            word[..bpp].copy_from_slice(&row[x * bpp..(x + 1) * bpp]);
            let v = u32::from_le_bytes(word);
            let get = |c: Channel| (v >> c.offset) & ((1 << c.length) - 1);
            let p = expected.pixels[y * g.xres as usize + x];
            let want = [
                quantise((p >> 16) & 0xFF, g.red.length),
                quantise((p >> 8) & 0xFF, g.green.length),
                quantise(p & 0xFF, g.blue.length),
            ];
            assert_eq!(
                [get(g.red), get(g.green), get(g.blue)],
                want,
                "pixel ({x}, {y}) of {g:?}"
            );
        }
        assert!(
            row[g.xres as usize * bpp..].iter().all(|&b| b == SENTINEL),
            "padding of row {y} written in {g:?}"
        );
    }
    assert!(
        bytes[g.yres as usize * stride..]
            .iter()
            .all(|&b| b == SENTINEL),
        "rows below the visible screen written in {g:?}"
    );
}

/// Shows two different frames in a row on a fake device of mode `g` and checks the bytes
/// after each.
fn show_twice(g: Geometry) {
    let dir = tempfile::tempdir().unwrap();
    let (file, path) = device(dir.path(), &g);
    let mut fb = Fbdev::with_geometry(file, g).unwrap();
    assert_eq!(fb.size(), (g.xres, g.yres));
    for seed in [1, 2] {
        let frame = pattern(g.xres, g.yres, seed);
        fb.show(&frame).unwrap();
        check_device(&fs::read(&path).unwrap(), &g, &frame);
    }
}

#[test]
fn rgb565_with_a_padded_stride() {
    show_twice(mode(13, 7, 16, 13 * 2 + 6, [(11, 5), (5, 6), (0, 5)]));
}

#[test]
fn rgb555_leaves_the_top_bit() {
    show_twice(mode(9, 4, 16, 18, [(10, 5), (5, 5), (0, 5)]));
}

#[test]
fn packed_24_bits_in_both_byte_orders() {
    // Blue first in memory (the usual), then red first.
    show_twice(Geometry::standard(11, 5, 24, 11 * 3 + 1));
    show_twice(mode(11, 5, 24, 11 * 3, [(0, 8), (8, 8), (16, 8)]));
}

#[test]
fn thirty_two_bits_exact_padded_and_rgbx() {
    show_twice(Geometry::standard(8, 6, 32, 8 * 4));
    show_twice(Geometry::standard(8, 6, 32, 8 * 4 + 64));
    show_twice(mode(8, 6, 32, 8 * 4, [(24, 8), (16, 8), (8, 8)]));
}

#[test]
fn a_wider_virtual_screen_and_room_for_a_second_buffer_are_left_alone() {
    // A file-backed device cannot pan: frames go to the first screen, the rest stays.
    let mut g = Geometry::standard(10, 4, 32, 16 * 4);
    g.xres_virtual = 16;
    g.yres_virtual = 8;
    show_twice(g);
}

#[test]
fn frames_of_another_size_are_scaled_to_the_mode() {
    let g = Geometry::standard(6, 4, 32, 6 * 4);
    let dir = tempfile::tempdir().unwrap();
    let (file, path) = device(dir.path(), &g);
    let mut fb = Fbdev::with_geometry(file, g).unwrap();
    // Twice the mode's size: each device pixel shows the top-left one of its 2×2 block.
    let big = pattern(12, 8, 7);
    fb.show(&big).unwrap();
    let mut expected = Frame::new(6, 4, 0);
    for y in 0..4 {
        for x in 0..6 {
            expected.pixels[y * 6 + x] = big.pixels[(2 * y) * 12 + 2 * x];
        }
    }
    check_device(&fs::read(&path).unwrap(), &g, &expected);
    // Half the mode's size: each source pixel fills a 2×2 block.
    let small = pattern(3, 2, 9);
    fb.show(&small).unwrap();
    for y in 0..4 {
        for x in 0..6 {
            expected.pixels[y * 6 + x] = small.pixels[(y / 2) * 3 + x / 2];
        }
    }
    check_device(&fs::read(&path).unwrap(), &g, &expected);
}

#[test]
fn modes_the_client_cannot_draw_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for g in [
        Geometry::standard(8, 4, 8, 8),
        Geometry::standard(8, 4, 32, 31),
        mode(8, 4, 16, 16, [(11, 5), (5, 6), (12, 5)]),
        mode(8, 4, 32, 32, [(16, 10), (8, 8), (0, 8)]),
    ] {
        let file = File::create(dir.path().join("fb")).unwrap();
        assert!(Fbdev::with_geometry(file, g).is_err(), "{g:?} accepted");
    }
}

/// Channel layouts of 16-, 24- and 32-bit modes seen on boxes.
fn layouts(bpp: u32) -> Vec<[(u32, u32); 3]> {
    match bpp {
        16 => vec![
            [(11, 5), (5, 6), (0, 5)],
            [(0, 5), (5, 6), (11, 5)],
            [(10, 5), (5, 5), (0, 5)],
        ],
        _ => vec![
            [(16, 8), (8, 8), (0, 8)],
            [(0, 8), (8, 8), (16, 8)],
            [(24, 8), (16, 8), (8, 8)].map(|c| if bpp == 24 { (c.0 - 8, c.1) } else { c }),
        ],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any size, depth, layout and stride padding: the bytes read back are the frame.
    #[test]
    fn any_mode_holds_the_frame(
        xres in 1u32..40,
        yres in 1u32..12,
        bpp in prop::sample::select(vec![16u32, 24, 32]),
        layout in 0usize..3,
        pad in 0u32..17,
        seed: u32,
    ) {
        let g = mode(xres, yres, bpp, xres * bpp / 8 + pad, layouts(bpp)[layout]);
        let dir = tempfile::tempdir().unwrap();
        let (file, path) = device(dir.path(), &g);
        let mut fb = Fbdev::with_geometry(file, g).unwrap();
        let frame = pattern(xres, yres, seed);
        fb.show(&frame).unwrap();
        check_device(&fs::read(&path).unwrap(), &g, &frame);
    }
}
