//! Set-top-box client benchmark (issue: the set-top-box client). Run with `make bench`, or
//! `cargo build --release -p headend -p stb-client && cargo bench -p e2e --bench client`
//! (it drives the release binaries next to this bench; Chromium from `make bench-deps`).
//! Everything stays on 127.0.0.1.
//!
//! 1. The release headend serves the demo county. For `sd` and `hd1080`, the release client
//!    (headless, its own display size = the profile's) presses 1,000 random remote keys
//!    (seeded) and traces each key's latency: key in → new frame shown, decode, overlays
//!    and blit included, pausing between keys until prefetching is done as a viewer would.
//!    Whole-process user+system CPU and peak RSS come from GNU time.
//!    Then, at hd1080, a walk that opens 500 different screens, each from home by its
//!    shortest key path (peak RSS after browsing them).
//! 2. The headend is stopped; the client starts 20 times from the warm hd1080 cache and
//!    exits after its first frame (start to first screen, whole process).
//! 3. The obvious alternative for a box's portal, in the same run: headless Chromium
//!    showing the same 1080p page image from a local HTML page (`--screenshot`), 5 times.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{key_paths, workspace_binary, Headend};
use stb_protocol::Manifest;

const REGION: &str = "339901101201";
const KEYS: usize = 1000;

/// Whole-process figures of one child: wall time, user+system CPU, peak RSS (KiB).
struct Usage {
    wall: Duration,
    cpu: Duration,
    max_rss_kib: u64,
    ok: bool,
}

/// A command run under GNU time (Debian package `time`), which writes its figures to
/// `report`.
fn timed(program: impl AsRef<std::ffi::OsStr>, report: &Path) -> Command {
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%U %S %M", "-o"]).arg(report).arg(program);
    cmd
}

/// Runs a [`timed`] command to its end: its wall time here, its CPU and peak RSS from time.
fn measure(cmd: &mut Command, report: &Path) -> Usage {
    let started = Instant::now();
    let status = cmd
        .status()
        .expect("/usr/bin/time (Debian package time) runs");
    let wall = started.elapsed();
    let text = std::fs::read_to_string(report).unwrap();
    let f: Vec<f64> = text
        .lines()
        .last()
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    Usage {
        wall,
        cpu: Duration::from_secs_f64(f[0] + f[1]),
        max_rss_kib: f[2] as u64,
        ok: status.success(),
    }
}

/// 1,000 remote keys, seeded: mostly digits and OK (how viewers pick items), then paging,
/// arrows, BACK, MENU, INFO and the green (polls) key. No RED: case lookups go to the
/// headend by design, the benchmark is about navigation.
fn random_keys(seed: u64) -> String {
    const POOL: &[&str] = &[
        "1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "1", "2", "3", "OK", "OK", "BACK",
        "BACK", "BACK", "UP", "DOWN", "DOWN", "PAGEDOWN", "PAGEUP", "MENU", "INFO", "GREEN",
    ];
    let mut x = seed;
    (0..KEYS)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            POOL[(x >> 33) as usize % POOL.len()]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A script that opens `n` different screens, each from home (MENU, then its path).
fn browse_script(m: &Manifest, n: usize) -> String {
    key_paths(m)
        .into_iter()
        .filter(|(id, _)| !id.starts_with("vote:"))
        .take(n)
        .map(|(_, keys)| {
            let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
            format!("MENU {}", keys.join(" "))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

struct Walk {
    usage: Usage,
    cached: Vec<u64>,
    network: Vec<u64>,
    screens: usize,
}

fn walk(server: &str, cache: &Path, profile: &str, keys: &str, trace: &Path) -> Walk {
    let report = trace.with_extension("time");
    let usage = measure(
        timed(workspace_binary("stb-client"), &report)
            .args([
                "--display",
                "headless",
                "--profile",
                profile,
                "--region",
                REGION,
            ])
            .args(["--server", server, "--keys", keys])
            .arg("--cache")
            .arg(cache)
            .arg("--trace")
            .arg(trace)
            .stderr(Stdio::null()),
        &report,
    );
    assert!(usage.ok, "client run failed");
    let mut cached = Vec::new();
    let mut network = Vec::new();
    let mut screens = std::collections::HashSet::new();
    let text = std::fs::read_to_string(trace).unwrap();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let us = v["latency_us"].as_u64().unwrap();
        screens.insert(v["screen"].as_str().unwrap().to_owned());
        match v["source"].as_str().unwrap() {
            "cache" => cached.push(us),
            _ => network.push(us),
        }
    }
    assert_eq!(
        cached.len() + network.len(),
        keys.split_whitespace().count(),
        "one trace line a key"
    );
    cached.sort_unstable();
    network.sort_unstable();
    Walk {
        usage,
        cached,
        network,
        screens: screens.len(),
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let headend = Headend::start(&data, &[]).expect("release headend (cargo build --release)");
    let url = headend.url.clone();

    println!("| run | profile | keys | from cache: p50 / p99 / max ms | from the headend: n, p50 ms | screens seen | client CPU-s | peak RSS MB |");
    println!("|---|---|---|---|---|---|---|---|");
    let random = random_keys(7);
    let mut hd_cache = None;
    for (run, profile) in [
        ("1,000 random keys", "sd"),
        ("1,000 random keys", "hd1080"),
        ("500 screens", "hd1080"),
    ] {
        let cache = dir.path().join(format!("cache-{profile}"));
        let keys = if run == "500 screens" {
            let (_, _, body) = e2e::http_raw(
                &headend.addr,
                "GET",
                &format!("/stb/v1/manifest?profile={profile}&region={REGION}"),
                &[],
                b"",
            )
            .unwrap();
            browse_script(&serde_json::from_slice(&body).unwrap(), 500)
        } else {
            random.clone()
        };
        let w = walk(
            &url,
            &cache,
            profile,
            &keys,
            &dir.path().join(format!("{profile}.jsonl")),
        );
        println!(
            "| {run} | {profile} | {} | {} / {} / {} | {}, {} | {} | {:.2} | {:.1} |",
            keys.split_whitespace().count(),
            ms(percentile(&w.cached, 0.5)),
            ms(percentile(&w.cached, 0.99)),
            ms(*w.cached.last().unwrap_or(&0)),
            w.network.len(),
            ms(percentile(&w.network, 0.5)),
            w.screens,
            w.usage.cpu.as_secs_f64(),
            w.usage.max_rss_kib as f64 / 1024.0,
        );
        if profile == "hd1080" {
            hd_cache = Some(cache);
        }
    }

    // A page image for the Chromium comparison: the hd1080 home page, as served.
    let manifest: serde_json::Value = serde_json::from_str(
        &e2e::http_get(
            &headend.addr,
            &format!("/stb/v1/manifest?profile=hd1080&region={REGION}"),
        )
        .unwrap()
        .1,
    )
    .unwrap();
    let home = manifest["screens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == manifest["home"])
        .unwrap();
    let image = format!("{}-1", home["image"].as_str().unwrap());
    let (_, _, png) = e2e::http_raw(
        &headend.addr,
        "GET",
        &format!("/stb/v1/img/{image}.png"),
        &[],
        b"",
    )
    .unwrap();
    std::fs::write(dir.path().join("page.png"), &png).unwrap();
    std::fs::write(
        dir.path().join("page.html"),
        "<!doctype html><html><body style=\"margin:0\"><img src=\"page.png\" width=\"1920\" height=\"1080\"></body></html>",
    )
    .unwrap();
    let down = headend.url.clone();
    assert!(headend.stop().success());

    // Start to first screen from the warm hd1080 cache, the headend down.
    let cache = hd_cache.unwrap();
    let report = dir.path().join("run.time");
    let mut runs: Vec<Usage> = (0..20)
        .map(|_| {
            measure(
                timed(workspace_binary("stb-client"), &report)
                    .args(["--display", "headless", "--profile", "hd1080"])
                    .args(["--region", REGION, "--server", &down, "--keys", ""])
                    .arg("--cache")
                    .arg(&cache)
                    .stderr(Stdio::null()),
                &report,
            )
        })
        .collect();
    assert!(runs.iter().all(|u| u.ok));
    runs.sort_by_key(|u| u.wall);
    let chromium: Vec<Usage> = (0..5)
        .map(|_| {
            measure(
                timed("chromium", &report)
                    .args([
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--hide-scrollbars",
                        "--window-size=1920,1080",
                    ])
                    .arg(format!(
                        "--user-data-dir={}",
                        dir.path().join("chromium").display()
                    ))
                    .arg(format!(
                        "--screenshot={}",
                        dir.path().join("chromium.png").display()
                    ))
                    .arg(format!("file://{}", dir.path().join("page.html").display()))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
                &report,
            )
        })
        .collect();
    let mut chromium = chromium;
    chromium.sort_by_key(|u| u.wall);
    println!();
    println!("| start to first 1080p screen, headend down | runs | median ms | max ms | CPU-s (median run) | peak RSS MB |");
    println!("|---|---|---|---|---|---|");
    for (name, r) in [
        ("stb-client, warm cache", &runs),
        ("headless Chromium, same page from a local file", &chromium),
    ] {
        let med = &r[r.len() / 2];
        println!(
            "| {name} | {} | {:.0} | {:.0} | {:.3} | {:.1} |",
            r.len(),
            med.wall.as_secs_f64() * 1000.0,
            r.last().unwrap().wall.as_secs_f64() * 1000.0,
            med.cpu.as_secs_f64(),
            r.iter().map(|u| u.max_rss_kib).max().unwrap() as f64 / 1024.0,
        );
    }
    assert!(chromium.iter().all(|u| u.ok), "chromium runs");
}
