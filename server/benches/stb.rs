//! Set-top-box HTTP benchmark (issue: set-top-box protocol and API). Run with
//! `cargo bench -p headend --bench stb` (release build; needs `wrk` and `nginx-light`,
//! which `make bench` installs). Everything stays on 127.0.0.1.
//!
//! The headend (the production route table, in this process, over the demo county) and
//! nginx (`sendfile on`, serving the same image bytes from a file written the way
//! `headend bundle` writes it) are loaded in turn by `wrk` with 1,000 connections:
//!
//! 1. one page image (`GET /stb/v1/img/<image>-<page>.png`) from each server;
//! 2. conditional manifest requests (`If-None-Match` = its ETag: 304) from the headend;
//!
//! and the headend's RSS is read before and after. `STB_BENCH_SECONDS` sets each run's
//! length (default 60).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

const REGION: &str = "339901101201";

/// One wrk run: (requests/s, p99 latency in ms, errors, non-2xx/3xx responses).
fn wrk(url: &str, seconds: u64, header: Option<&str>) -> (f64, f64, u64, u64) {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        "-c1000",
        &format!("-d{seconds}s"),
        "--latency",
        "--timeout",
        "10s",
    ]);
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    let out = cmd
        .arg(url)
        .output()
        .expect("wrk (Debian package wrk) runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in\n{text}"));
    let p99 = text
        .lines()
        .find(|l| l.trim_start().starts_with("99%"))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(|v| {
            let (n, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
            let n: f64 = n.parse().unwrap_or(f64::NAN);
            match unit {
                "us" => n / 1000.0,
                "s" => n * 1000.0,
                _ => n,
            }
        })
        .unwrap_or(f64::NAN);
    let errors: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map(|l| {
            l.split(',')
                .filter_map(|p| p.split_whitespace().last())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let bad: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    eprintln!("{}", text.trim_end());
    (rps, p99, errors, bad)
}

fn nginx(root: &Path, port: u16) -> std::process::Child {
    let conf = root.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "daemon off;\nworker_processes auto;\npid {pid};\nerror_log {root}/error.log;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n\
               types {{ image/png png; application/json json; }}\n\
               client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;\n\
               server {{\n    listen 127.0.0.1:{port};\n    root {root}/www;\n\
                 location /stb/v1/img/ {{ add_header Cache-Control \"public, max-age=31536000, immutable\"; }}\n  }}\n}}\n",
            pid = root.join("nginx.pid").display(),
            root = root.display(),
        ),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    Command::new("nginx")
        .args(["-c", conf.to_str().unwrap(), "-p", root.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx (Debian package nginx-light) runs")
}

fn main() {
    let seconds: u64 = std::env::var("STB_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let (_rt, addr) = common::serve(common::demo_store(dir.path()));
    // The manifest (builds the graph), then one image: a home page, as a box's first fetch.
    let manifest_url = format!("http://{addr}/stb/v1/manifest?profile=sd&region={REGION}");
    let out = Command::new("curl")
        .args(["-s", "-D", "-", &manifest_url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let etag = text
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .unwrap()
        .trim()
        .to_owned();
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    let manifest: stb_protocol::Manifest = serde_json::from_str(body).unwrap();
    let screen = manifest
        .screens
        .iter()
        .find(|s| s.kind == "notice")
        .unwrap();
    let image = format!("{}.png", screen.page_image(0));
    let www = dir.path().join("www/stb/v1/img");
    std::fs::create_dir_all(&www).unwrap();
    let png = Command::new("curl")
        .args(["-s", &format!("http://{addr}/stb/v1/img/{image}")])
        .output()
        .unwrap()
        .stdout;
    std::fs::write(www.join(&image), &png).unwrap();
    eprintln!(
        "stb bench on {} cores: image {image} ({} bytes), manifest {} bytes, version {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        png.len(),
        body.len(),
        manifest.version
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut nginx = nginx(dir.path(), port);
    std::thread::sleep(Duration::from_secs(1));
    let ng_url = format!("http://127.0.0.1:{port}/stb/v1/img/{image}");
    let check = Command::new("curl")
        .args(["-s", &ng_url])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(check, png, "nginx serves the same bytes");

    let rss0 = common::rss_kib();
    // RSS every second while the image run goes on (from its fifth second: once the
    // 1,000 connections and their buffers exist).
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = std::sync::Arc::clone(&sampling);
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            let mut t = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(1));
                t += 1;
                if t >= 5 {
                    samples.push(common::rss_kib());
                }
            }
            samples
        })
    };
    let (ours_rps, ours_p99, ours_err, ours_bad) =
        wrk(&format!("http://{addr}/stb/v1/img/{image}"), seconds, None);
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    let rss1 = common::rss_kib();
    let (ng_rps, ng_p99, ng_err, ng_bad) = wrk(&ng_url, seconds, None);
    let (m_rps, m_p99, m_err, m_bad) = wrk(
        &manifest_url,
        seconds,
        Some(&format!("If-None-Match: {etag}")),
    );
    let rss2 = common::rss_kib();
    let _ = nginx.kill();
    let _ = nginx.wait();
    println!("image ours: {ours_rps:.0} req/s, p99 {ours_p99:.1} ms, socket errors {ours_err}, bad {ours_bad}");
    println!(
        "image nginx: {ng_rps:.0} req/s, p99 {ng_p99:.1} ms, socket errors {ng_err}, bad {ng_bad}"
    );
    println!(
        "image ratio: requests/s {:.2} × nginx, p99 {:.2} × nginx",
        ours_rps / ng_rps,
        ours_p99 / ng_p99
    );
    println!("manifest 304 ours: {m_rps:.0} req/s, p99 {m_p99:.1} ms, socket errors {m_err}, bad {m_bad}");
    let (lo, hi) = (
        samples.iter().min().copied().unwrap_or(0),
        samples.iter().max().copied().unwrap_or(0),
    );
    println!(
        "headend RSS: {} MiB idle before; during the image run from its 5th second {} to {} MiB ({:+.1} % from the first sample to the last); {} MiB after it, {} MiB after the manifest run",
        rss0 / 1024,
        lo / 1024,
        hi / 1024,
        match (samples.first(), samples.last()) {
            (Some(&a), Some(&b)) if a > 0 => (b as f64 - a as f64) * 100.0 / a as f64,
            _ => f64::NAN,
        },
        rss1 / 1024,
        rss2 / 1024
    );
}
