//! The set-top-box client (`stb-client`, headless) against the real headend with the demo
//! county: key walks to a notice, a service guide, a case result and a poll vote, each
//! screenshot compared with what the headend serves for that page; navigation from the cache
//! while the headend is down; a notice published after a restart seen after the refresh;
//! the same walks from a bundle directory.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use e2e::{http_raw, key_paths, workspace_binary, Headend};
use serde_json::Value;
use stb_client::picture::{self, Frame};
use stb_protocol::{Key, Manifest};

/// A village of the demo county.
const VILLAGE: &str = "339901101201";

fn manifest(addr: &str) -> Manifest {
    let (status, _, body) = http_raw(
        addr,
        "GET",
        &format!("/stb/v1/manifest?profile=sd&region={VILLAGE}"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(status, 200);
    serde_json::from_slice(&body).unwrap()
}

fn served_image(addr: &str, name: &str) -> Frame {
    let (status, _, png) =
        http_raw(addr, "GET", &format!("/stb/v1/img/{name}.png"), &[], b"").unwrap();
    assert_eq!(status, 200, "{name}");
    picture::decode(&png).unwrap()
}

/// The shortest key path from home (first page) to a screen whose id satisfies `want`,
/// over the keys bound on each page (digits, 0 = next page, colour keys).
fn path_to(m: &Manifest, want: impl Fn(&str) -> bool) -> (String, Vec<Key>) {
    key_paths(m)
        .into_iter()
        .find(|(id, _)| want(id))
        .expect("a path to the screen wanted")
}

fn script(keys: &[Key]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs the headless client over `keys`: its trace lines, and its final frame.
fn walk(server: &str, cache: &Path, keys: &str) -> (Vec<Value>, Frame) {
    let shot = cache.with_extension("png");
    let out = Command::new(workspace_binary("stb-client"))
        .args(["--server", server, "--region", VILLAGE, "--profile", "sd"])
        .arg("--cache")
        .arg(cache)
        .args(["--display", "headless", "--keys", keys, "--trace", "-"])
        .arg("--screenshot")
        .arg(&shot)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(trace.len(), keys.split_whitespace().count());
    let frame = picture::decode(&std::fs::read(&shot).unwrap()).unwrap();
    (trace, frame)
}

/// Pixels of `shot` that differ from `served` outside the focus regions of the page (with
/// room for the highlight's thickness around each), and inside them.
fn differences(shot: &Frame, served: &Frame, focus: &[(u32, u32, u32, u32)]) -> (usize, usize) {
    assert_eq!((shot.width, shot.height), (served.width, served.height));
    let margin = 12;
    let inside = |x: u32, y: u32| {
        focus.iter().any(|&(fx, fy, fw, fh)| {
            x + margin >= fx && x < fx + fw + margin && y + margin >= fy && y < fy + fh + margin
        })
    };
    let (mut out, mut within) = (0, 0);
    for y in 0..shot.height {
        for x in 0..shot.width {
            let i = (y * shot.width + x) as usize;
            if shot.pixels[i] != served.pixels[i] {
                if inside(x, y) {
                    within += 1;
                } else {
                    out += 1;
                }
            }
        }
    }
    (out, within)
}

fn focus_of(m: &Manifest, id: &str, page: usize) -> Vec<(u32, u32, u32, u32)> {
    let mut rects: Vec<(u32, u32, u32, u32)> = m
        .screen(id)
        .and_then(|s| s.pages.get(page))
        .map(|p| p.focus.iter().map(|f| (f.x, f.y, f.w, f.h)).collect())
        .unwrap_or_default();
    if let Some(e) = m.screen(id).and_then(|s| s.entry.as_ref()) {
        rects.push((e.x, e.y, e.w, e.h));
    }
    rects
}

/// Checks that the walk ended on a screen `want` accepts and that its screenshot is the
/// served page apart from the focus highlight; returns the final trace line.
fn check_walk(
    m: &Manifest,
    trace: &[Value],
    shot: &Frame,
    served: impl Fn(&str) -> Frame,
    want: impl Fn(&str) -> bool,
) -> Value {
    let last = trace.last().unwrap().clone();
    let id = last["screen"].as_str().unwrap();
    assert!(want(id), "ended on {id}: {trace:#?}");
    let image = last["image"].as_str().unwrap();
    let page = last["page"].as_u64().unwrap() as usize - 1;
    let focus = focus_of(m, id, page);
    let (outside, inside) = differences(shot, &served(image), &focus);
    assert_eq!(
        outside, 0,
        "{id}: pixels differ outside the focus highlight"
    );
    if m.screen(id)
        .is_some_and(|s| !s.pages[page].focus.is_empty())
    {
        assert!(inside > 0, "{id}: the focus highlight is drawn");
    }
    last
}

fn case_number(data: &Path) -> String {
    let conn = rusqlite::Connection::open(data.join("headend.db")).unwrap();
    conn.query_row("SELECT case_no FROM cases ORDER BY id LIMIT 1", [], |r| {
        r.get(0)
    })
    .unwrap()
}

struct Interactive {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Interactive {
    fn start(server: &str, cache: &Path) -> Interactive {
        let mut child = Command::new(workspace_binary("stb-client"))
            .args(["--server", server, "--region", VILLAGE, "--profile", "sd"])
            .arg("--cache")
            .arg(cache)
            .args(["--display", "headless", "--keys", "-", "--trace", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Interactive {
            child,
            stdin,
            lines,
        }
    }

    /// Presses `keys`; blocks until their trace lines arrive.
    fn press(&mut self, keys: &str) -> Vec<Value> {
        writeln!(self.stdin, "{keys}").unwrap();
        self.stdin.flush().unwrap();
        (0..keys.split_whitespace().count())
            .map(|_| serde_json::from_str(&self.lines.next().unwrap().unwrap()).unwrap())
            .collect()
    }
}

#[test]
fn the_headless_client_walks_the_demo_county_online_offline_and_from_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Headend::start(&data, &[]).unwrap();
    let addr = server.addr.clone();
    let url = server.url.clone();
    let m = manifest(&addr);
    let cache = dir.path().join("cache");
    let served = |name: &str| served_image(&addr, name);
    // The bundle of the county as it is now, written meanwhile (thousands of pages).
    let bundle = dir.path().join("bundle");
    let bundling = Command::new(workspace_binary("headend"))
        .args(["bundle", "--region", VILLAGE, "--profile", "sd", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&bundle)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // A notice, a service guide.
    let (_, to_notice) = path_to(&m, |id| id.starts_with("notice:"));
    let (trace, shot) = walk(&url, &cache, &script(&to_notice));
    check_walk(&m, &trace, &shot, served, |id| id.starts_with("notice:"));
    let (_, to_guide) = path_to(&m, |id| id.starts_with("guide:"));
    let (trace, shot) = walk(&url, &cache, &script(&to_guide));
    check_walk(&m, &trace, &shot, served, |id| id.starts_with("guide:"));
    assert!(
        trace.iter().skip(1).all(|l| l["source"] == "cache"),
        "every screen one key away was prefetched: {trace:#?}"
    );

    // A case result by digit entry, and the entry field drawn on the way.
    let case_no = case_number(&data);
    let digits: Vec<String> = case_no
        .trim_start_matches("SF")
        .chars()
        .map(String::from)
        .collect();
    let (trace, shot) = walk(&url, &cache, &format!("RED {}", digits.join(" ")));
    let entry_shot = shot;
    check_walk(&m, &trace, &entry_shot, served, |id| id == "case_lookup");
    let (trace, shot) = walk(&url, &cache, &format!("RED {} OK", digits.join(" ")));
    let last = check_walk(&m, &trace, &shot, served, |id| id.starts_with("case"));
    assert_ne!(
        last["screen"], "case_lookup",
        "a result, not the entry screen"
    );
    assert_eq!(
        last["source"], "network",
        "a case result is fetched when asked for"
    );

    // A vote: the poll, the confirmation, the results.
    let (_, to_poll) = path_to(&m, |id| id.starts_with("poll:"));
    let keys = format!("{} 1 OK", script(&to_poll));
    let (trace, shot) = walk(&url, &cache, &keys);
    let confirm = &trace[trace.len() - 2];
    assert!(confirm["screen"].as_str().unwrap().starts_with("vote:"));
    check_walk(&m, &trace, &shot, served, |id| id.ends_with(":results"));
    // Voting again shows the results too (the headend refuses the second vote).
    let (trace, _) = walk(&url, &cache, &keys);
    assert!(trace.last().unwrap()["screen"]
        .as_str()
        .unwrap()
        .ends_with(":results"));

    // Down mid-session: navigation goes on from the cache.
    let mut client = Interactive::start(&url, &cache);
    let online = client.press(&script(&to_notice));
    assert_eq!(online.last().unwrap()["offline"], false);
    let version = online.last().unwrap()["version"].clone();
    assert!(server.stop().success());
    client.press("MENU");
    let offline = client.press(&script(&to_guide));
    assert!(
        offline
            .iter()
            .all(|l| l["source"] == "cache" && l["offline"] == true),
        "{offline:#?}"
    );
    assert!(offline.last().unwrap()["screen"]
        .as_str()
        .unwrap()
        .starts_with("guide:"));

    // Back up, a notice published: seen after the refresh on MENU.
    let server = Headend::start_at(&data, &addr, &[]).unwrap();
    let feed = dir.path().join("feed.xml");
    std::fs::write(
        &feed,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>示范县</title>\
             <item><title>关于村级道路冬季养护的通知</title><guid>e2e-client-1</guid><pubDate>{}</pubDate>\
             <description>各村：入冬后请做好村级道路的防滑和养护工作，发现路面结冰及时报告。</description>\
             </item></channel></rss>",
            chrono::Utc::now().to_rfc2822()
        ),
    )
    .unwrap();
    let o = Command::new(workspace_binary("headend"))
        .arg("import")
        .arg(&feed)
        .arg("--data")
        .arg(&data)
        .args(["--trusted", "--department", "jtj"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    client.press("MENU");
    let after = client.press("1");
    assert_eq!(after[0]["offline"], false);
    assert_ne!(
        after[0]["version"], version,
        "a new manifest after the refresh"
    );
    let m2 = manifest(&server.addr);
    let new_notice = m2
        .screens
        .iter()
        .find(|s| s.title.contains("村级道路冬季养护"))
        .map(|s| s.id.clone())
        .unwrap();
    let (_, to_new) = path_to(&m2, |id| id == new_notice);
    let seen = client.press(&format!("MENU {}", script(&to_new)));
    assert_eq!(seen.last().unwrap()["screen"], new_notice.as_str());
    drop(client.stdin);
    assert!(client.child.wait().unwrap().success());

    // The same walks from the bundle directory, on an empty cache.
    let o = bundling.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let from_bundle = |name: &str| {
        picture::decode(&std::fs::read(bundle.join("img").join(format!("{name}.png"))).unwrap())
            .unwrap()
    };
    let bm: Manifest =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    let bundle_cache: PathBuf = dir.path().join("bundle-cache");
    let bundle_dir = bundle.to_str().unwrap();
    for want in ["notice:", "guide:", "poll:"] {
        let (_, keys) = path_to(&bm, |id| id.starts_with(want));
        let (trace, shot) = walk(bundle_dir, &bundle_cache, &script(&keys));
        check_walk(&bm, &trace, &shot, from_bundle, |id| id.starts_with(want));
    }
    // One-way: a lookup cannot be sent; the entry screen stays, nothing breaks.
    let (trace, _) = walk(bundle_dir, &bundle_cache, "RED 1 2 OK");
    assert_eq!(trace.last().unwrap()["screen"], "case_lookup");
}
