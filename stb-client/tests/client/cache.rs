//! The disk cache under damage: files truncated, overwritten, extended or emptied at random
//! points (a power cut, a bad block) are detected on read, removed and reported missing, so
//! the caller fetches them again; a damaged file's bytes are never handed out.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use stb_client::cache::Cache;

/// How a file is damaged.
#[derive(Debug, Clone)]
enum Damage {
    /// Cut to this fraction (per mille) of its length.
    Truncate(u32),
    /// One byte at this fraction (per mille) of its length, XOR this non-zero mask.
    Flip(u32, u8),
    /// Bytes appended.
    Append(Vec<u8>),
    /// A run of zeros written from this fraction (per mille) on, as an unwritten block reads.
    Zeros(u32, usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0u32..1000).prop_map(Damage::Truncate),
        (0u32..1000, 1u8..=255).prop_map(|(at, m)| Damage::Flip(at, m)),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(Damage::Append),
        (0u32..1000, 1usize..4096).prop_map(|(at, n)| Damage::Zeros(at, n)),
    ]
}

/// Damages `path` (which may leave its bytes as they were).
fn apply(path: &Path, damage: &Damage) {
    let mut bytes = fs::read(path).unwrap();
    let at = |permille: u32, len: usize| len * permille as usize / 1000;
    match damage {
        Damage::Truncate(p) => bytes.truncate(at(*p, bytes.len())),
        Damage::Flip(p, mask) => {
            // An earlier hit may have cut the file to nothing: then there is no byte to flip.
            let i = at(*p, bytes.len());
            if let Some(b) = bytes.get_mut(i) {
                *b ^= mask;
            }
        }
        Damage::Append(extra) => bytes.extend_from_slice(extra),
        Damage::Zeros(p, n) => {
            let start = at(*p, bytes.len());
            let end = (start + n).min(bytes.len());
            bytes[start..end].fill(0);
        }
    }
    fs::write(path, &bytes).unwrap();
}

/// Image payloads: distinct, of varied sizes (what the source would send again).
fn payloads(n: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let len = 1 + (seed as usize * 31 + i * 977) % 6000;
            let bytes = (0..len)
                .map(|j| (j as u64 * 131 + seed + i as u64 * 7) as u8)
                .collect();
            (format!("{:032x}-{}", seed ^ 0xfeed, i + 1), bytes)
        })
        .collect()
}

/// The cache's files that can be damaged: the manifest, the box state, every image.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.join("manifest.json"), dir.join("box.json")];
    let mut imgs: Vec<PathBuf> = fs::read_dir(dir.join("img"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    imgs.sort();
    out.extend(imgs);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn damaged_files_are_never_read_and_come_back_when_fetched_again(
        seed in 0u64..1_000_000,
        n in 1usize..8,
        hits in prop::collection::vec((any::<prop::sample::Index>(), damage()), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let images = payloads(n, seed);
        let manifest = format!("{{\"version\":\"{seed}\"}}").into_bytes();
        let state = b"{\"id\":\"b1\",\"secret\":\"s\"}".to_vec();
        {
            let mut cache = Cache::open(dir.path(), 64 << 20).unwrap();
            cache.put_manifest(&manifest).unwrap();
            cache.put_state("box.json", &state).unwrap();
            for (name, png) in &images {
                cache.put_image(name, png).unwrap();
            }
        }
        // A half-written file of the interrupted run is left in tmp/ too.
        fs::write(dir.path().join("tmp").join("1.1"), b"GCCACHE1 half").unwrap();

        let targets = files(dir.path());
        let before: Vec<Option<Vec<u8>>> = targets.iter().map(|p| fs::read(p).ok()).collect();
        for (index, how) in &hits {
            let path = index.get(&targets);
            if path.exists() {
                apply(path, how);
            }
        }
        // Damaged: what differs from what was written after every hit (a later hit can
        // undo an earlier one, e.g. zeros appended, then cut back to the old length).
        let damaged: std::collections::HashSet<PathBuf> = targets
            .iter()
            .zip(&before)
            .filter(|(p, b)| fs::read(p).ok() != **b)
            .map(|(p, _)| p.clone())
            .collect();

        // Reopened after the "power cut": every read gives the original bytes or nothing,
        // and every damaged file gives nothing.
        let mut cache = Cache::open(dir.path(), 64 << 20).unwrap();
        prop_assert!(fs::read_dir(dir.path().join("tmp")).unwrap().next().is_none());
        let got = cache.manifest().map(|(b, _)| b);
        prop_assert_eq!(got.is_none(), damaged.contains(&dir.path().join("manifest.json")));
        if let Some(b) = got {
            prop_assert_eq!(b, manifest.clone());
        }
        let got = cache.state("box.json");
        prop_assert_eq!(got.is_none(), damaged.contains(&dir.path().join("box.json")));
        if let Some(b) = got {
            prop_assert_eq!(b, state.clone());
        }
        let mut missing = Vec::new();
        for (name, png) in &images {
            let path = dir.path().join("img").join(format!("{name}.png"));
            match cache.image(name) {
                Some(bytes) => {
                    prop_assert!(!damaged.contains(&path), "{} read back although damaged", name);
                    prop_assert_eq!(&bytes, png);
                }
                None => {
                    prop_assert!(damaged.contains(&path), "{} lost although whole", name);
                    prop_assert!(!path.exists(), "damaged {} left on disk", name);
                    missing.push((name, png));
                }
            }
        }
        prop_assert_eq!(cache.repaired() as usize, damaged.len());

        // Fetched again: whole, and whole after another restart.
        for (name, png) in &missing {
            cache.put_image(name, png).unwrap();
        }
        drop(cache);
        let mut cache = Cache::open(dir.path(), 64 << 20).unwrap();
        for (name, png) in &images {
            let got = cache.image(name);
            prop_assert_eq!(got.as_ref(), Some(png));
        }
        prop_assert_eq!(cache.repaired(), 0);
    }
}

#[test]
fn the_cap_evicts_the_least_recently_used_images_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let images = payloads(6, 3);
    let one = |name: &str| 40 + images.iter().find(|(n, _)| n == name).unwrap().1.len();
    // Room for the last three images written.
    let cap: usize = images[3..].iter().map(|(n, _)| one(n)).sum();
    let mut cache = Cache::open(dir.path(), cap as u64).unwrap();
    for (name, png) in &images {
        cache.put_image(name, png).unwrap();
    }
    let held: Vec<bool> = images.iter().map(|(n, _)| cache.has_image(n)).collect();
    assert_eq!(held, [false, false, false, true, true, true]);
    assert!(cache.image_bytes() <= cap as u64);
    // Image 4 is used; after a restart, a new image pushes out 5 (now the oldest), not 4.
    assert!(cache.image(&images[3].0).is_some());
    drop(cache);
    let mut cache = Cache::open(dir.path(), cap as u64).unwrap();
    cache.put_image(&images[0].0, &images[0].1).unwrap();
    assert!(cache.has_image(&images[3].0));
    assert!(cache.has_image(&images[0].0));
    assert!(!cache.has_image(&images[4].0));
}
