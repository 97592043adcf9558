//! Golden images: every template in every profile, drawn with the pinned fonts, compared
//! with the committed references with a tolerance of 1 per channel. On a mismatch the
//! test reports the number of differing pixels and writes expected | actual | difference
//! to `target/golden-diff/NAME.png`. `GOVCHANNEL_BLESS=1` rewrites the references
//! (see `golden/README.md`).

use std::path::PathBuf;

use headend::render::{Profile, Renderer};
use tiny_skia::Pixmap;

use super::sample_screens;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/integration/render/golden")
}

fn diff_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("golden-diff")
}

/// Number of pixels differing by more than 1 in any channel.
fn differing(a: &Pixmap, b: &Pixmap) -> usize {
    a.data()
        .chunks(4)
        .zip(b.data().chunks(4))
        .filter(|(p, q)| p.iter().zip(q.iter()).any(|(x, y)| x.abs_diff(*y) > 1))
        .count()
}

fn write_diff(name: &str, expected: &Pixmap, actual: &Pixmap) -> PathBuf {
    let (w, h) = (actual.width(), actual.height());
    let mut out = Pixmap::new(w * 3, h).unwrap();
    let data = out.data_mut();
    for y in 0..h as usize {
        for x in 0..w as usize {
            let i = (y * w as usize + x) * 4;
            let e = &expected.data()[i..i + 4];
            let a = &actual.data()[i..i + 4];
            let bad = e.iter().zip(a).any(|(p, q)| p.abs_diff(*q) > 1);
            let d = if bad {
                [235, 16, 16, 255]
            } else {
                [a[0] / 4, a[1] / 4, a[2] / 4, 255]
            };
            for (panel, px) in [(0, e), (1, a), (2, &d[..])] {
                let j = (y * 3 * w as usize + panel * w as usize + x) * 4;
                data[j..j + 4].copy_from_slice(px);
            }
        }
    }
    let dir = diff_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    out.save_png(&path).unwrap();
    path
}

#[test]
fn every_template_in_every_profile_matches_its_golden_image() {
    // Only `GOVCHANNEL_BLESS=1` rewrites references (not any value: `=0` must not bless).
    let bless = std::env::var("GOVCHANNEL_BLESS").is_ok_and(|v| v == "1");
    let mut renderer = Renderer::new().unwrap();
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut used = std::collections::HashSet::new();
    for (name, screen) in sample_screens() {
        for &profile in Profile::ALL {
            let pages = renderer.layout(&screen, profile);
            // The first page, and the second where there is one (continuation layout).
            for layout in pages.iter().take(2) {
                let file = format!("{name}-{}-p{}", profile.as_str(), layout.page);
                let actual = renderer.raster(layout).unwrap();
                let path = golden_dir().join(format!("{file}.png"));
                used.insert(format!("{file}.png"));
                if bless {
                    actual.save_png(&path).unwrap();
                    continue;
                }
                let Ok(expected) = Pixmap::load_png(&path) else {
                    failures.push(format!(
                        "{file}: no reference at {} (run with GOVCHANNEL_BLESS=1)",
                        path.display()
                    ));
                    continue;
                };
                compared += 1;
                if (expected.width(), expected.height()) != (actual.width(), actual.height()) {
                    failures.push(format!(
                        "{file}: size {}x{} != {}x{}",
                        actual.width(),
                        actual.height(),
                        expected.width(),
                        expected.height()
                    ));
                    continue;
                }
                let n = differing(&expected, &actual);
                if n > 0 {
                    let diff = write_diff(&file, &expected, &actual);
                    failures.push(format!("{file}: {n} pixels differ; see {}", diff.display()));
                }
            }
        }
    }
    // Every reference in the directory belongs to a case: a stale file is a failure.
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".png") && !used.contains(&name) {
            failures.push(format!("{name}: a golden image no case uses (delete it)"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(bless || compared >= 15, "only {compared} images compared");
}
