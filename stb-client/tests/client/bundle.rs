//! A client walking a bundle directory (the one-way source) with its cache damaged at
//! random points between two runs: what it shows is always the right page, from the cache
//! when the cached copy is whole, else fetched again; with the source gone too, a damaged
//! page is never shown (the frame on show stays, with the network-error line).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use stb_client::app::{Client, Origin, Settings};
use stb_client::cache::Cache;
use stb_client::picture::{self, rgb, Frame};
use stb_client::{builtin, Key};

pub const W: u32 = 720;
pub const H: u32 = 576;

/// Screens of the synthetic bundle: id, image base, page count, background.
pub const SCREENS: [(&str, &str, u32, u32); 4] = [
    (
        "home",
        "00000000000000000000000000000001",
        1,
        rgb(20, 40, 90),
    ),
    (
        "notice:1",
        "00000000000000000000000000000002",
        2,
        rgb(200, 190, 170),
    ),
    (
        "guide:1",
        "00000000000000000000000000000003",
        1,
        rgb(30, 110, 60),
    ),
    (
        "help",
        "00000000000000000000000000000004",
        1,
        rgb(90, 30, 30),
    ),
];

/// A page image: the screen's background with a block whose place depends on the page.
pub fn page_frame(screen: usize, page: u32) -> Frame {
    let (_, _, _, bg) = SCREENS[screen];
    let mut f = Frame::new(W, H, bg);
    let x = 60 + 90 * i64::from(page) + 30 * screen as i64;
    f.fill(x, 120, 200, 240, rgb(235, 235, 235));
    f.fill(x + 20, 140, 160, 40, rgb(16, 16, 16));
    f
}

fn manifest_json() -> String {
    let go = |key: &str, screen: &str| {
        format!(r#"{{"key":"{key}","action":{{"do":"go","screen":"{screen}"}}}}"#)
    };
    let screens: Vec<String> = SCREENS
        .iter()
        .map(|(id, image, pages, _)| {
            let keys = if *id == "home" {
                format!("[{},{}]", go("1", "notice:1"), go("2", "guide:1"))
            } else {
                "[]".to_owned()
            };
            let pages: Vec<String> = (0..*pages)
                .map(|_| format!(r#"{{"keys":{keys},"focus":[]}}"#))
                .collect();
            format!(
                r#"{{"id":"{id}","title":"t","kind":"list","image":"{image}","pages":[{}]}}"#,
                pages.join(",")
            )
        })
        .collect();
    format!(
        r#"{{"protocol":1,"version":"v1","region":"339901","profile":"sd","width":{W},"height":{H},
        "generated_at":"2026-12-05T08:00:00+08:00","home":"home","help":"help",
        "keys":[{{"key":"MENU","action":{{"do":"home"}}}},{{"key":"BACK","action":{{"do":"back"}}}},{{"key":"INFO","action":{{"do":"help"}}}}],
        "screens":[{}]}}"#,
        screens.join(",")
    )
}

/// Writes the bundle: `manifest.json` and `img/<image>-<n>.png`.
pub fn write_bundle(dir: &Path) {
    fs::create_dir_all(dir.join("img")).unwrap();
    fs::write(dir.join("manifest.json"), manifest_json()).unwrap();
    for (i, (_, image, pages, _)) in SCREENS.iter().enumerate() {
        for p in 1..=*pages {
            let png = page_frame(i, p).to_png().unwrap();
            fs::write(dir.join("img").join(format!("{image}-{p}.png")), png).unwrap();
        }
    }
}

fn settings(bundle: &Path, cache: &Path) -> Settings {
    Settings {
        server: bundle.to_string_lossy().into_owned(),
        profile: "sd".into(),
        region: "339901".into(),
        cache: cache.to_path_buf(),
        cache_bytes: 64 << 20,
        refresh: Duration::from_secs(60),
        device: "test".into(),
        size: (W, H),
    }
}

/// The walk: each key, and the screen index and page it should show.
const WALK: [(Key, usize, u32); 7] = [
    (Key::Digit(1), 1, 1),
    (Key::PageDown, 1, 2),
    (Key::Back, 0, 1),
    (Key::Digit(2), 2, 1),
    (Key::Info, 3, 1),
    (Key::Back, 2, 1),
    (Key::Menu, 0, 1),
];

/// Rows not covered by the offline overlays (更新于 at the top, the error line at 3/4).
fn body_rows() -> std::ops::Range<usize> {
    let top = (H / 20 + builtin::updated().height + 2) as usize;
    top..(H * 3 / 4) as usize
}

fn same_body(a: &Frame, b: &Frame) -> bool {
    let rows = body_rows();
    let w = W as usize;
    a.pixels[rows.start * w..rows.end * w] == b.pixels[rows.start * w..rows.end * w]
}

pub fn page_name(screen: usize, page: u32) -> String {
    format!("{}-{page}", SCREENS[screen].1)
}

/// Runs the walk; checks every frame against the page it should show. Returns the origins.
fn walk(client: &mut Client, offline: bool, damaged: &[String]) -> Vec<Origin> {
    let mut origins = Vec::new();
    let mut shown = client.frame().clone();
    for (key, screen, page) in WALK {
        let step = client.press(key);
        assert_eq!(step.screen, SCREENS[screen].0, "after {key:?}");
        assert_eq!(step.page as u32, page);
        let name = page_name(screen, page);
        assert_eq!(step.image.as_deref(), Some(name.as_str()));
        let expected = page_frame(screen, page);
        match step.origin {
            Origin::Cache | Origin::Network => {
                assert!(
                    if offline {
                        same_body(client.frame(), &expected)
                    } else {
                        *client.frame() == expected
                    },
                    "{name} shown wrong ({:?})",
                    step.origin
                );
                assert!(!offline || step.origin == Origin::Cache);
            }
            Origin::Builtin => {
                // Only offline, only for a page whose cached copy was damaged: the frame
                // before stays (its body unchanged), never the damaged bytes.
                assert!(offline, "{name} not shown although the source is there");
                assert!(damaged.contains(&name), "{name} whole but not shown");
                assert!(same_body(client.frame(), &shown), "{name}: frame changed");
            }
        }
        shown = client.frame().clone();
        origins.push(step.origin);
    }
    origins
}

/// Every page of the bundle, whole in the cache directory.
fn assert_cache_whole(cache: &Path, bundle: &Path) {
    let mut c = Cache::open(cache, 64 << 20).unwrap();
    for (i, (_, _, pages, _)) in SCREENS.iter().enumerate() {
        for p in 1..=*pages {
            let name = page_name(i, p);
            let want = fs::read(bundle.join("img").join(format!("{name}.png"))).unwrap();
            assert_eq!(c.image(&name), Some(want), "{name}");
        }
    }
    assert_eq!(c.repaired(), 0);
}

struct Setup {
    _dir: tempfile::TempDir,
    bundle: PathBuf,
    cache: PathBuf,
}

/// A bundle and a cache filled by one walk.
fn warmed() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let cache = dir.path().join("cache");
    write_bundle(&bundle);
    let mut client = Client::start(settings(&bundle, &cache)).unwrap();
    assert_eq!(
        client.draw(),
        Origin::Builtin,
        "nothing before the first refresh"
    );
    assert!(client.refresh());
    assert_ne!(client.draw(), Origin::Builtin);
    assert_eq!(*client.frame(), page_frame(0, 1));
    walk(&mut client, false, &[]);
    client.wait_prefetch();
    drop(client);
    assert_cache_whole(&cache, &bundle);
    Setup {
        _dir: dir,
        bundle,
        cache,
    }
}

#[test]
fn a_bundle_walk_fills_the_cache_and_a_second_run_needs_no_source() {
    let s = warmed();
    fs::rename(&s.bundle, s.bundle.with_extension("gone")).unwrap();
    let mut client = Client::start(settings(&s.bundle, &s.cache)).unwrap();
    assert!(
        client.nav().is_some(),
        "the cached manifest is used at start"
    );
    assert_eq!(client.draw(), Origin::Cache);
    assert_eq!(*client.frame(), page_frame(0, 1));
    assert!(!client.refresh());
    assert!(client.offline());
    let origins = walk(&mut client, true, &[]);
    assert!(origins.iter().all(|&o| o == Origin::Cache), "{origins:?}");
}

#[test]
fn an_empty_cache_without_a_source_shows_the_built_in_screen() {
    let dir = tempfile::tempdir().unwrap();
    let mut client =
        Client::start(settings(&dir.path().join("none"), &dir.path().join("c"))).unwrap();
    assert!(!client.refresh());
    let step = client.press(Key::Ok);
    assert_eq!(step.origin, Origin::Builtin);
    let mut expected = Frame::new(W, H, 0);
    builtin::empty_into(&mut expected);
    assert_eq!(*client.frame(), expected);
    // The built-in screen has text on it, not a flat colour.
    assert!(expected.pixels.iter().any(|&p| p != expected.pixels[0]));
    let decoded = picture::decode(&expected.to_png().unwrap()).unwrap();
    assert_eq!(decoded, expected);
}

/// How a cache file is damaged: cut at, or one byte flipped at, a fraction (per mille).
#[derive(Debug, Clone, Copy)]
enum Damage {
    Cut(u32),
    Flip(u32, u8),
}

fn apply(path: &Path, d: Damage) {
    let mut bytes = fs::read(path).unwrap();
    match d {
        Damage::Cut(p) => bytes.truncate(bytes.len() * p as usize / 1000),
        Damage::Flip(p, m) => {
            let i = bytes.len() * p as usize / 1000;
            bytes[i] ^= m;
        }
    }
    fs::write(path, bytes).unwrap();
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0u32..1000).prop_map(Damage::Cut),
        (0u32..1000, 1u8..=255).prop_map(|(p, m)| Damage::Flip(p, m)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_damaged_cache_is_repaired_from_the_source_and_never_shown(
        hits in prop::collection::vec((any::<prop::sample::Index>(), damage()), 1..5),
        source_gone: bool,
    ) {
        let s = warmed();
        let mut files: Vec<PathBuf> = fs::read_dir(s.cache.join("img"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.push(s.cache.join("manifest.json"));
        let mut damaged = Vec::new();
        for (index, how) in &hits {
            let path = index.get(&files);
            apply(path, *how);
            if let Some(name) = path.file_stem().and_then(|n| n.to_str()) {
                damaged.push(name.to_owned());
            }
        }
        let manifest_damaged = damaged.iter().any(|n| n == "manifest");
        if source_gone {
            fs::rename(&s.bundle, s.bundle.with_extension("gone")).unwrap();
        }
        let mut client = Client::start(settings(&s.bundle, &s.cache)).unwrap();
        prop_assert_eq!(client.nav().is_some(), !manifest_damaged);
        client.refresh();
        if source_gone && manifest_damaged {
            // Nothing trustworthy to navigate: the built-in screen, whatever is pressed.
            let mut empty = Frame::new(W, H, 0);
            builtin::empty_into(&mut empty);
            for (key, _, _) in WALK {
                prop_assert_eq!(client.press(key).origin, Origin::Builtin);
                prop_assert_eq!(client.frame(), &empty);
            }
            return Ok(());
        }
        client.draw();
        let origins = walk(&mut client, source_gone, &damaged);
        if source_gone {
            prop_assert!(origins.iter().all(|&o| o != Origin::Network));
        } else {
            // Every damaged page on the walk was fetched again.
            client.wait_prefetch();
            drop(client);
            assert_cache_whole(&s.cache, &s.bundle);
        }
    }
}

#[test]
fn the_shipped_config_file_is_read_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    write_bundle(&bundle);
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/govchannel-stb.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stb-client"))
        .args([
            "--config",
            config,
            "--display",
            "headless",
            "--keys",
            "1 PAGEDOWN",
        ])
        .args(["--trace", "-", "--server"])
        .arg(&bundle)
        .arg("--cache")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = String::from_utf8(out.stdout).unwrap();
    let last: serde_json::Value = serde_json::from_str(trace.lines().last().unwrap()).unwrap();
    assert_eq!(last["screen"], "notice:1");
    assert_eq!(last["page"], 2);
    // An unknown setting is refused with its name, not ignored.
    let bad = dir.path().join("bad.toml");
    fs::write(&bad, "server = \"http://127.0.0.1:1\"\nregoin = \"1\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stb-client"))
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("regoin"));
}
