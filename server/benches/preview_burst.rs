//! Preview burst benchmark (issue: hardening). Run with
//! `cargo bench -p headend --bench preview_burst` (release build). Everything stays on
//! 127.0.0.1.
//!
//! The production route table, runtime and server over the demo county, in this process.
//! Sixteen signed-in clients post the largest screen the preview API takes (a notice of
//! ~19,800 characters, asking for its last page; each client's title differs, so nothing
//! comes from the preview cache) at once; while they are being answered a
//! seventeenth posts a small notice. Reported: each answer's status and time, the small
//! preview's time, and this process's RSS before, at its peak (sampled every 20 ms) and
//! after. Targets: RSS under 300 MB, the small preview answered within 1 s.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

mod common;

const BURST: usize = 16;

/// One POST over a fresh connection: (status, response head, time to the whole answer).
fn post(addr: SocketAddr, path: &str, token: &str, body: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let took = started.elapsed();
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head, took)
}

fn notice(title: &str, body: &str) -> String {
    serde_json::json!({
        "kind": "notice",
        "title": title,
        "publisher": "示范县人民政府办公室",
        "date": "2026-11-20",
        "body": body,
        "publicity": null,
        "url": null,
        "urgent": false
    })
    .to_string()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::demo_store(dir.path());
    let token = store
        .call_blocking(move |c| {
            use headend::accounts::{self, Grant, NewUser, Role};
            let now = chrono::Utc::now();
            let grants = [Grant {
                role: Role::Editor,
                department: Some("mzj".into()),
            }];
            let user = NewUser {
                name: "editor",
                display_name: "",
                password_hash: "$unused",
                grants: &grants,
                must_change: false,
            };
            let id = accounts::add_user(c, &user, "bench", now).unwrap();
            Ok(accounts::create_token(c, id, "bench", now).unwrap().1)
        })
        .unwrap();
    let (_rt, addr) = common::serve(store);

    // The largest screen the API takes: just under its character limit.
    let paragraph = "各乡镇人民政府、街道办事处，县级有关单位：入冬以来，我县降水偏少，林区可燃物积累较多，森林火险等级持续偏高。\n\n";
    let body: String = paragraph
        .repeat(19_800 / paragraph.chars().count())
        .chars()
        .collect();
    let large = notice("关于做好今冬明春森林防火工作的通知", &body);
    let (status, head, first) = post(addr, "/api/v1/preview?profile=hd1080", &token, &large);
    assert_eq!(status, 200, "{head}");
    let pages: u32 = head
        .lines()
        .find_map(|l| l.strip_prefix("x-pages: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let path = format!("/api/v1/preview?profile=hd1080&page={pages}");
    let other = notice("关于做好今冬明春森林防火工作的补充通知", &body);
    let (status, _, last_alone) = post(addr, &path, &token, &other);
    assert_eq!(status, 200);
    let small_alone = post(
        addr,
        "/api/v1/preview?profile=hd1080",
        &token,
        &notice(
            "关于开展老年人体检的补充通知",
            "全县65周岁以上老年人可免费体检。",
        ),
    )
    .2;
    let small = notice(
        "关于开展老年人体检的通知",
        "全县65周岁以上老年人可到所在乡镇卫生院免费体检。",
    );
    eprintln!(
        "preview burst: a {}-character notice, {pages} pages at hd1080; page 1 alone {:.0} ms, page {pages} alone {:.0} ms; a small notice alone {:.0} ms",
        body.chars().count(),
        first.as_secs_f64() * 1e3,
        last_alone.as_secs_f64() * 1e3,
        small_alone.as_secs_f64() * 1e3
    );

    let rss_before = common::rss_kib();
    let peak = Arc::new(AtomicU64::new(rss_before));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(common::rss_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let start = Arc::new(Barrier::new(BURST + 1));
    // Each client's screen differs (its title), so none is answered from the preview
    // cache: every one is laid out and drawn.
    let clients: Vec<_> = (0..BURST)
        .map(|n| {
            let large = notice(&format!("关于做好今冬明春森林防火工作的第{n}号通知"), &body);
            let (start, token, path) = (Arc::clone(&start), token.clone(), path.clone());
            std::thread::spawn(move || {
                start.wait();
                post(addr, &path, &token, &large)
            })
        })
        .collect();
    start.wait();
    let burst_started = Instant::now();
    // The small preview goes out once the burst's requests are on their way.
    std::thread::yield_now();
    let (small_status, _, small_during) =
        post(addr, "/api/v1/preview?profile=hd1080", &token, &small);
    let answers: Vec<(u16, String, Duration)> =
        clients.into_iter().map(|c| c.join().unwrap()).collect();
    let burst = burst_started.elapsed();
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let rss_after = common::rss_kib();
    let ok = answers.iter().filter(|a| a.0 == 200).count();
    let mut times: Vec<f64> = answers.iter().map(|a| a.2.as_secs_f64() * 1e3).collect();
    times.sort_by(f64::total_cmp);
    println!(
        "burst of {BURST} largest previews (page {pages} of {pages}, hd1080): {ok} answered 200 (others: {:?}), {:.0}–{:.0} ms each, all in {:.0} ms",
        answers
            .iter()
            .filter(|a| a.0 != 200)
            .map(|a| a.0)
            .collect::<Vec<_>>(),
        times[0],
        times[times.len() - 1],
        burst.as_secs_f64() * 1e3
    );
    println!(
        "small preview during the burst: {small_status} in {:.0} ms (target ≤ 1,000 ms)",
        small_during.as_secs_f64() * 1e3
    );
    println!(
        "process RSS: {} MiB before, peak {} MiB during (target < 300 MB), {} MiB after",
        rss_before / 1024,
        peak.load(Ordering::Relaxed) / 1024,
        rss_after / 1024
    );
}
