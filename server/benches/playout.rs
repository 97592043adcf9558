//! Playout benchmarks (issue: channel playout). Run with
//! `cargo bench -p headend --bench playout` (release build); results go to stdout as the
//! lines BENCHMARKS.md records. Everything is sent to 127.0.0.1 only.
//!
//! 1. `steady`: CPU per channel in steady state (screen unchanged) for SD MPEG-2 and 720p25
//!    H.264, ten channels at once so the 10 ms accounting tick does not dominate, side by
//!    side with two ffmpeg peers airing the same page: the naive one,
//!    `ffmpeg -re -loop 1 -i page.png … -f mpegts udp://127.0.0.1:PORT` (re-encodes the
//!    page 25 times a second), and the strongest simple one,
//!    `ffmpeg -re -stream_loop -1 -i one-gop.ts -c copy -f mpegts …` (one GOP of the page
//!    encoded beforehand with the same settings, copied in a loop), one and ten processes;
//!    ours with ten channels in one process and with one.
//! 2. `many`: 100 simultaneous real-time SD channels (`PLAYOUT_CHANNELS=N` for another
//!    count); total CPU, RSS, late/dropped GOPs, and four channels captured from UDP and
//!    checked with tsreport and ffmpeg's decoder.
//! 3. `publish`: time from publishing a notice in the store to its first GOP on air, with
//!    the default 10 s dwell (bound: one dwell slot + 2 s).
//!
//! `PLAYOUT_BENCH=steady,many,publish` picks parts (default: all).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use headend::playout::spec::UdpOutput;
use headend::playout::{
    self, ChannelPlan, FixedProgram, Item, LaneOptions, LaneStats, OutputSpec, Playout, Program,
};
use headend::render::screen::NoticeScreen;
use headend::render::{OnAir, Profile, Renderer, Screen, ScreenContext};

const TITLE: &str = "示范县政务频道";

fn page() -> Screen {
    Screen::Notice(NoticeScreen {
        title: "关于做好今冬明春森林防火工作的通知".into(),
        publisher: "示范县应急管理局".into(),
        date: "2026-11-20".into(),
        body: "入冬以来，我县降水偏少，林区可燃物积累较多，森林火险等级持续偏高。为切实做好今冬明春森林防火工作，保护人民群众生命财产安全，现将有关事项通知如下。严格管控野外用火，落实网格巡护责任。".into(),
        publicity: None,
        url: None,
        urgent: false,
    })
}

/// CPU seconds (user + system) used so far by process `pid` ("self" for this one).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the command name.
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// A bound loopback socket nobody reads (the kernel drops what overflows its buffer): a
/// destination that costs the receiver nothing.
fn sink() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

fn udp_plan(profile: Profile, addr: SocketAddr, name: &str) -> playout::OutputPlan {
    let spec = OutputSpec::Udp(UdpOutput {
        profile: Some(profile),
        address: Some(addr),
        ..UdpOutput::default()
    });
    spec.plan(name, TITLE, std::path::Path::new("/tmp"))
        .unwrap()
}

fn channel(name: &str, outputs: Vec<playout::OutputPlan>, program: Program) -> ChannelPlan {
    ChannelPlan {
        name: name.to_owned(),
        title: TITLE.to_owned(),
        source: Arc::new(FixedProgram(program)),
        options: LaneOptions::default(),
        outputs,
        faults: Default::default(),
        as_run_dir: None,
        layouts: None,
    }
}

fn one_page() -> Program {
    Program {
        items: vec![Item::always("notice:1", page())],
        ..Program::default()
    }
}

/// Waits until every channel has encoded the slate and every page of its program: steady
/// state, from which nothing is drawn or encoded again. Returns the page count.
fn wait_all_encoded(p: &Playout, profile: Profile) -> u64 {
    // Pages as they air: the broadcast context (status line) paginates differently from
    // a set-top box screen.
    let on_air = ScreenContext::Broadcast(OnAir {
        channel: TITLE.to_owned(),
        next: Some(page().headline()),
        alert: None,
    });
    let pages = Renderer::new()
        .unwrap()
        .layout_in(&page(), profile, &on_air)
        .len() as u64;
    let deadline = Instant::now() + Duration::from_secs(180);
    // Every lane has aired the slate and each page once; frames other channels already
    // encoded come from the shared cache, so a lane's own encodes may stay below that.
    while p
        .channels()
        .iter()
        .any(|c| LaneStats::get(&c.lanes[0].stats.screens) < pages + 1)
    {
        assert!(
            Instant::now() < deadline,
            "the pages were never all encoded"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    pages
}

fn total_encodes(p: &Playout) -> u64 {
    p.encoders().stats().encodes.load(Ordering::Relaxed)
}

/// CPU per channel of `n` channels airing one page in `profile`, measured over `secs`
/// after a warm-up.
fn ours(profile: Profile, n: usize, secs: u64) -> f64 {
    let mut sinks = Vec::new();
    let mut plans = Vec::new();
    for i in 0..n {
        let (s, a) = sink();
        sinks.push(s);
        plans.push(channel(
            &format!("c{i}"),
            vec![udp_plan(profile, a, "c")],
            one_page(),
        ));
    }
    let p = Playout::start(plans, None).unwrap();
    let pages = wait_all_encoded(&p, profile);
    let encodes_before = total_encodes(&p);
    let c0 = cpu_seconds("self");
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let used = cpu_seconds("self") - c0;
    let wall = t0.elapsed().as_secs_f64();
    let late: u64 = p
        .channels()
        .iter()
        .map(|c| LaneStats::get(&c.lanes[0].stats.late_gops))
        .sum();
    let encodes = total_encodes(&p) - encodes_before;
    p.stop();
    drop(sinks);
    let per = used / wall / n as f64 * 100.0;
    println!(
        "steady ours {} x{n}: {:.3} % of one core per channel ({used:.2} CPU-s in {wall:.1} s), late GOPs {late}, encodes while measured {encodes} (program: {pages} page(s))",
        profile.as_str(),
        per
    );
    per
}

/// The codec and mux settings both ffmpeg peers use for `profile`: (encoder and stream
/// options, TS mux rate).
fn codec_args(profile: Profile) -> (Vec<&'static str>, &'static str) {
    if profile == Profile::Sd {
        (
            vec![
                "-c:v",
                "mpeg2video",
                "-b:v",
                "2M",
                "-maxrate",
                "2.5M",
                "-bufsize",
                "1835k",
                "-g",
                "25",
                "-bf",
                "0",
                "-aspect",
                "4:3",
                "-c:a",
                "mp2",
                "-b:a",
                "192k",
            ],
            "3000000",
        )
    } else {
        (
            vec![
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-tune",
                "stillimage",
                "-crf",
                "20",
                "-g",
                "25",
                "-bf",
                "0",
                "-threads",
                "1",
                "-c:a",
                "aac",
                "-b:a",
                "128k",
            ],
            "5000000",
        )
    }
}

/// The bench page as a PNG file in `dir`.
fn page_png(dir: &std::path::Path, profile: Profile) -> std::path::PathBuf {
    let png = dir.join("page.png");
    let (bytes, _) = Renderer::new()
        .unwrap()
        .render_png(&page(), profile, 1)
        .unwrap();
    std::fs::write(&png, bytes).unwrap();
    png
}

/// CPU (% of one core per process) of `procs` ffmpeg processes run with `args` each
/// (`{url}` replaced by a sink of its own), measured over `secs` after a warm-up.
fn ffmpeg_procs(args: &[String], procs: usize, secs: u64) -> (f64, String) {
    let mut sinks = Vec::new();
    let mut children = Vec::new();
    let mut cmd = String::new();
    for _ in 0..procs {
        let (s, addr) = sink();
        sinks.push(s);
        let url = format!("udp://{addr}?pkt_size=1316");
        let args: Vec<String> = args
            .iter()
            .map(|a| if a == "{url}" { url.clone() } else { a.clone() })
            .collect();
        cmd = format!("ffmpeg {}", args.join(" "));
        children.push(
            Command::new("ffmpeg")
                .args(&args)
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    let pids: Vec<String> = children.iter().map(|c| c.id().to_string()).collect();
    std::thread::sleep(Duration::from_secs(4));
    let cpu = || pids.iter().map(|p| cpu_seconds(p)).sum::<f64>();
    let c0 = cpu();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(secs));
    let used = cpu() - c0;
    let wall = t0.elapsed().as_secs_f64();
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    drop(sinks);
    (used / wall / procs as f64 * 100.0, cmd)
}

/// CPU of `ffmpeg -re -loop 1 -i page.png …` airing the same page to UDP for `secs`
/// (the naive peer: it re-encodes the still page 25 times a second).
fn ffmpeg(profile: Profile, secs: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let png = page_png(dir.path(), profile);
    let (codec, rate) = codec_args(profile);
    let mut args: Vec<String> = ["-v", "error", "-re", "-loop", "1", "-framerate", "25", "-i"]
        .into_iter()
        .map(String::from)
        .collect();
    args.push(png.to_string_lossy().into_owned());
    for a in [
        "-re",
        "-f",
        "lavfi",
        "-i",
        "anullsrc=r=48000:cl=stereo",
        "-pix_fmt",
        "yuv420p",
    ]
    .into_iter()
    .chain(codec)
    .chain([
        "-f",
        "mpegts",
        "-muxrate",
        rate,
        "-max_delay",
        "700000",
        "{url}",
    ]) {
        args.push(a.into());
    }
    let (per, cmd) = ffmpeg_procs(&args, 1, secs);
    println!(
        "steady ffmpeg {}: {per:.2} % of one core\n  command: {cmd}",
        profile.as_str()
    );
    per
}

/// CPU per process of `procs` × `ffmpeg -re -stream_loop -1 -i one-gop.ts -c copy …`: the
/// strongest simple peer a bureau could script, airing one GOP of the same page encoded
/// beforehand with the same codec settings, copied (not re-encoded) in a loop.
fn ffmpeg_copy(profile: Profile, procs: usize, secs: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let png = page_png(dir.path(), profile);
    let gop = dir.path().join("one-gop.ts");
    let (codec, rate) = codec_args(profile);
    let encoded = Command::new("ffmpeg")
        .args(["-v", "error", "-loop", "1", "-framerate", "25", "-i"])
        .arg(&png)
        .args([
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=48000:cl=stereo",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(&codec)
        .args(["-t", "1", "-f", "mpegts", "-muxrate", rate])
        .arg(&gop)
        .status()
        .unwrap();
    assert!(encoded.success(), "encoding one GOP failed");
    let args: Vec<String> = ["-v", "error", "-re", "-stream_loop", "-1", "-i"]
        .into_iter()
        .map(String::from)
        .chain([gop.to_string_lossy().into_owned()])
        .chain(
            [
                "-c",
                "copy",
                "-f",
                "mpegts",
                "-muxrate",
                rate,
                "-max_delay",
                "700000",
                "{url}",
            ]
            .into_iter()
            .map(String::from),
        )
        .collect();
    let (per, cmd) = ffmpeg_procs(&args, procs, secs);
    println!(
        "steady ffmpeg copy {} x{procs}: {per:.3} % of one core per process\n  command: {cmd}",
        profile.as_str()
    );
    per
}

fn steady() {
    for profile in [Profile::Sd, Profile::Hd720] {
        let o = ours(profile, 10, 20);
        let o1 = ours(profile, 1, 20);
        let f = ffmpeg(profile, 20);
        let c10 = ffmpeg_copy(profile, 10, 20);
        let c1 = ffmpeg_copy(profile, 1, 20);
        let name = profile.as_str();
        println!(
            "steady ratio {name}: ffmpeg re-encoding / ours = {:.0}x (ten channels), {:.0}x (one)",
            f / o.max(1e-6),
            f / o1.max(1e-6)
        );
        println!(
            "steady ratio {name}: ffmpeg copying one GOP / ours = {:.1}x per channel with ten channels, {:.1}x with one",
            c10 / o.max(1e-6),
            c1 / o1.max(1e-6)
        );
    }
}

/// The process's resident set and its peak, in MiB (from `/proc/self/status`).
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (kib("VmRSS:"), kib("VmHWM:"))
}

fn many() {
    // PLAYOUT_CHANNELS=300 for issue 14's county-scale target; 100 by default.
    let n: usize = std::env::var("PLAYOUT_CHANNELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n >= 4)
        .unwrap_or(100);
    let sampled = [0usize, n / 3, 2 * n / 3, n - 1];
    let mut sinks = Vec::new();
    let mut plans = Vec::new();
    let mut addrs = Vec::new();
    for i in 0..n {
        let (s, a) = sink();
        addrs.push(a);
        sinks.push(s);
        let mut program = one_page();
        // Every channel airs its own page.
        if let Screen::Notice(notice) = Arc::make_mut(&mut program.items[0].screen) {
            notice.title = format!("第{i}频道 {}", notice.title);
        }
        plans.push(channel(
            &format!("c{i}"),
            vec![udp_plan(Profile::Sd, a, "c")],
            program,
        ));
    }
    let started = Instant::now();
    let p = Playout::start(plans, None).unwrap();
    println!(
        "many: {n} SD channels on air after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let pages = wait_all_encoded(&p, Profile::Sd);
    println!(
        "many: every page ({pages} per channel) encoded after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let encodes_before = total_encodes(&p);
    let c0 = cpu_seconds("self");
    let t0 = Instant::now();
    // Capture four channels for 15 s while all run.
    let captures: Vec<_> = sampled
        .iter()
        .map(|&i| {
            let sock = sinks[i].try_clone().unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                // Drop what queued before.
                sock.set_nonblocking(true).unwrap();
                while sock.recv(&mut buf).is_ok() {}
                sock.set_nonblocking(false).unwrap();
                let mut ts = Vec::new();
                let t = Instant::now();
                while t.elapsed() < Duration::from_secs(15) {
                    if let Ok(k) = sock.recv(&mut buf) {
                        assert_eq!(k, 1316);
                        ts.extend_from_slice(&buf[..k]);
                    }
                }
                ts
            })
        })
        .collect();
    let files: Vec<_> = captures
        .into_iter()
        .zip(sampled)
        .map(|(h, i)| {
            let ts = from_random_access(&h.join().unwrap());
            let f = std::env::temp_dir().join(format!("playout-bench-c{i}.ts"));
            std::fs::write(&f, ts).unwrap();
            f
        })
        .collect();
    let used = cpu_seconds("self") - c0;
    let wall = t0.elapsed().as_secs_f64();
    let (late, dropped, slate, send_errors): (u64, u64, u64, u64) =
        p.channels().iter().fold((0, 0, 0, 0), |acc, c| {
            let l = &c.lanes[0];
            (
                acc.0 + LaneStats::get(&l.stats.late_gops),
                acc.1 + LaneStats::get(&l.outputs[0].stats.dropped_gops),
                acc.2 + LaneStats::get(&l.stats.slate_gops),
                acc.3 + LaneStats::get(&l.outputs[0].stats.send_errors),
            )
        });
    let encodes = total_encodes(&p) - encodes_before;
    p.stop();
    let (rss, peak) = rss_mib();
    println!(
        "many: {n} SD channels: {:.1} % of one core in total ({:.3} % per channel, incl. capturing 4 of them), late GOPs {late}, dropped GOPs {dropped}, slate GOPs {slate}, UDP send errors {send_errors}, encodes while measured {encodes}; RSS {rss:.0} MiB, peak {peak:.0} MiB",
        used / wall * 100.0,
        used / wall * 100.0 / n as f64
    );
    for f in files {
        // tsreport writes continuity_counter.txt into its working directory.
        let out = Command::new("tsreport")
            .current_dir(std::env::temp_dir())
            .arg("-b")
            .arg(&f)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let pick = |key: &str| {
            text.lines()
                .find(|l| l.contains(key))
                .map(str::trim)
                .unwrap_or("?")
                .to_owned()
        };
        let dec = Command::new("ffmpeg")
            .args(["-v", "warning", "-i"])
            .arg(&f)
            .args(["-f", "null", "-"])
            .output()
            .unwrap();
        let warnings = String::from_utf8_lossy(&dec.stderr).lines().count();
        println!(
            "many: tsreport {}: {} | {} | decoder warnings: {warnings}",
            f.display(),
            pick("Overall stream rate"),
            pick("PCRs found")
        );
    }
}

/// The capture from the last PAT before the first random-access video packet: a capture
/// starts mid-GOP, and a decoder would rightly complain about the pictures before it.
fn from_random_access(ts: &[u8]) -> Vec<u8> {
    let pid = |p: &[u8]| (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]);
    let packets: Vec<&[u8]> = ts.chunks_exact(188).collect();
    let rai = packets.iter().position(|p| {
        pid(p) == 0x100 && p[1] & 0x40 != 0 && p[3] & 0x20 != 0 && p[4] > 0 && p[5] & 0x40 != 0
    });
    let start = rai
        .and_then(|r| packets[..r].iter().rposition(|p| pid(p) == 0))
        .unwrap_or(0);
    packets[start..].concat()
}

fn publish() {
    use headend::store::Store;
    let store = Store::open_in_memory().unwrap();
    let county = headend::demo::embedded().unwrap();
    let today = headend::content::county_today();
    store
        .call_blocking(move |c| Ok(headend::demo::load(c, &county, today)))
        .unwrap()
        .unwrap();
    // The default sequence whatever the time of day (a block without notices would never
    // air the new one).
    store
        .call_blocking(|c| Ok(c.execute("DELETE FROM schedule_entries", [])?))
        .unwrap();
    let (_s, addr) = sink();
    let spec = playout::ChannelSpec::new(
        "county",
        vec![OutputSpec::Udp(UdpOutput {
            address: Some(addr),
            ..UdpOutput::default()
        })],
    );
    let plans =
        headend::schedule::plan_channels(&store, &[spec], false, std::path::Path::new("/tmp"))
            .unwrap();
    let p = Playout::start(plans, Some(store.changes())).unwrap();
    let stats = Arc::clone(&p.channel("county").unwrap().lanes[0].stats);
    // Let the first screens encode.
    std::thread::sleep(Duration::from_secs(12));
    let mut worst = 0.0f64;
    for round in 0..3 {
        // Publish at different phases of the dwell slot.
        std::thread::sleep(Duration::from_millis(3100 * round + 700));
        let title = format!("关于第{round}次测试发布的通知");
        let id: i64 = store
            .call_blocking(move |c| {
                let now = chrono::Utc::now().to_rfc3339();
                c.execute(
                    "INSERT INTO notices (kind, title, department, region, published_at, valid_from, priority, status, body, created_at, updated_at)
                     VALUES ('notice', ?1, 'xfb', '339901', ?2, ?3, 'normal', 'published', '测试正文。', ?2, ?2)",
                    rusqlite::params![title, now, today.to_string()],
                )?;
                Ok(c.last_insert_rowid())
            })
            .unwrap();
        let t0 = Instant::now();
        let key = format!("notice:{id}");
        loop {
            if stats.on_air().is_some_and(|a| a.item == key) {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "never aired");
            std::thread::sleep(Duration::from_millis(20));
        }
        let secs = t0.elapsed().as_secs_f64();
        worst = worst.max(secs);
        println!("publish: {key} on air {secs:.2} s after publishing (bound: dwell 10 s + 2 s)");
    }
    println!("publish: worst {worst:.2} s");
    let _ = stats.gops.load(Ordering::Relaxed);
    p.stop();
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let parts = std::env::var("PLAYOUT_BENCH").unwrap_or_else(|_| "steady,many,publish".into());
    println!(
        "playout bench on {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for part in parts.split(',') {
        match part.trim() {
            "steady" => steady(),
            "many" => many(),
            "publish" => publish(),
            other => println!("unknown part {other}"),
        }
    }
}
