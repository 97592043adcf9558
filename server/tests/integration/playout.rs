//! Playout validated with independent tools: ffprobe (service, codecs, size, aspect,
//! frame rate, duration), tsreport from tstools (PCR gaps, continuity counters, CBR rate)
//! and a full decode by ffmpeg with zero errors.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeZone};
use headend::playout::spec::{FileOutput, HlsOutput, UdpOutput};
use headend::playout::{
    self, FixedProgram, Item, LaneOptions, OutputKind, OutputPlan, OutputSpec, Program,
    ProgramSource,
};
use headend::render::screen::{NoticeScreen, SlateScreen};
use headend::render::{Profile, Screen};

pub const TITLE: &str = "示范县政务频道";

pub fn start() -> DateTime<FixedOffset> {
    headend::content::county_offset()
        .with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
        .single()
        .unwrap()
}

pub fn notice(i: usize) -> Screen {
    Screen::Notice(NoticeScreen {
        title: format!("第{i}号通知"),
        publisher: "示范县人民政府办公室".into(),
        date: "2026-11-22".into(),
        body: format!("这是第{i}条测试通知的正文。"),
        publicity: None,
        url: None,
        urgent: false,
    })
}

pub fn program(n: usize) -> Program {
    Program {
        items: (0..n)
            .map(|i| Item::always(format!("notice:{i}"), notice(i)))
            .collect(),
        ..Program::default()
    }
}

pub fn fast() -> LaneOptions {
    LaneOptions {
        dwell: Duration::from_secs(1),
        read_rate: 0,
        ..LaneOptions::default()
    }
}

pub fn plan(kind: OutputKind, profile: Profile, dir: &Path) -> OutputPlan {
    let mut spec = match kind {
        OutputKind::File => OutputSpec::File(FileOutput {
            path: dir.join("out.ts"),
            ..FileOutput::default()
        }),
        OutputKind::Udp => OutputSpec::Udp(UdpOutput::default()),
        OutputKind::Hls => OutputSpec::Hls(HlsOutput::default()),
    };
    spec.set_profile(Some(profile));
    spec.plan("county", TITLE, dir).unwrap()
}

pub fn record(
    source: impl ProgramSource + 'static,
    opts: LaneOptions,
    plan: OutputPlan,
    out: &Path,
    seconds: u64,
    faults: Arc<playout::Faults>,
) -> playout::RecordReport {
    playout::record(
        playout::Recording {
            title: TITLE.to_owned(),
            source: Arc::new(source),
            options: opts,
            output: plan,
            start: start(),
            faults,
            as_run: Default::default(),
        },
        out,
        seconds,
    )
    .unwrap()
}

/// Runs `cmd`, which must succeed.
fn output(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn run(cmd: &mut Command) -> (String, String) {
    let out = output(cmd);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `key=value` lines of `ffprobe -show_programs -show_streams` (flat), by key, in order.
pub fn ffprobe(file: &Path) -> Vec<(String, String)> {
    let (out, _) = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_programs",
            "-show_streams",
            "-of",
            "flat",
        ])
        .arg(file));
    out.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.to_owned(), v.trim_matches('"').to_owned()))
        })
        .collect()
}

pub fn probe_value<'a>(probe: &'a [(String, String)], suffix: &str) -> Vec<&'a str> {
    probe
        .iter()
        .filter(|(k, _)| k.ends_with(suffix))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Checks a TS file with tsreport: PCR gaps ≤ 40 ms, every continuity counter in sequence,
/// and (for CBR) the overall rate. Returns the overall rate.
pub fn tsreport_checks(file: &Path, pids: &[u16]) -> u64 {
    let scratch = tempfile::tempdir().unwrap();
    let (out, _) = run(Command::new("tsreport")
        .current_dir(scratch.path())
        .args(["-b"])
        .arg(std::fs::canonicalize(file).unwrap()));
    let max_gap: u64 = out
        .split("Max gap: ")
        .nth(1)
        .and_then(|r| r.split('t').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no PCR gap in tsreport output:\n{out}"));
    assert!(max_gap <= 3600, "PCR gap {max_gap} ticks of 90 kHz > 40 ms");
    assert!(out.contains("Bad (>.1s) gaps: 0"), "{out}");
    let rate: u64 = out
        .split("Overall stream rate=")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no overall rate:\n{out}"));
    let dir = tempfile::tempdir().unwrap();
    for pid in pids {
        run(Command::new("tsreport")
            .current_dir(dir.path())
            .args(["-cnt", &pid.to_string()])
            .arg(std::fs::canonicalize(file).unwrap()));
        let text = std::fs::read_to_string(dir.path().join("continuity_counter.txt")).unwrap();
        let cc: Vec<u8> = text
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        assert!(cc.len() >= 3, "pid {pid}: too few packets");
        // tsreport lists every packet; adaptation-only packets (PCR) repeat the counter.
        for w in cc.windows(2) {
            assert!(
                w[1] == (w[0] + 1) % 16 || w[1] == w[0],
                "continuity error on pid {pid}: {} then {}",
                w[0],
                w[1]
            );
        }
    }
    continuity_exact(&std::fs::read(file).unwrap());
    rate
}

/// Continuity counters by the book: +1 per packet with payload, unchanged without.
fn continuity_exact(ts: &[u8]) {
    let mut last: std::collections::HashMap<u16, u8> = Default::default();
    for pkt in ts.chunks_exact(188) {
        assert_eq!(pkt[0], 0x47, "sync byte");
        let pid = (u16::from(pkt[1] & 0x1f) << 8) | u16::from(pkt[2]);
        if pid == 0x1fff {
            continue;
        }
        let cc = pkt[3] & 0x0f;
        let payload = pkt[3] & 0x10 != 0;
        if let Some(prev) = last.insert(pid, cc) {
            let want = if payload { (prev + 1) % 16 } else { prev };
            assert_eq!(cc, want, "continuity on pid {pid:#x}");
        }
    }
}

/// Decodes every frame with ffmpeg; stderr at warning level must be empty. Returns the
/// per-frame MD5s of the video.
pub fn decode_clean(file: &Path) -> Vec<String> {
    let (out, err) = run(Command::new("ffmpeg")
        .args(["-v", "warning", "-xerror", "-i"])
        .arg(file)
        .args([
            "-map", "0:v", "-f", "framemd5", "-", "-map", "0:a", "-f", "null", "-",
        ]));
    assert!(err.trim().is_empty(), "decoder complained:\n{err}");
    out.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|s| s.trim().to_owned()))
        .collect()
}

#[test]
fn fifty_content_changes_in_one_stream_are_valid_for_every_tool() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("changes.ts");
    let report = record(
        FixedProgram(program(55)),
        fast(),
        plan(OutputKind::Udp, Profile::Sd, dir.path()),
        &out,
        60,
        Default::default(),
    );
    assert_eq!(report.gops, 60);
    assert!(report.screens >= 55, "{report:?}");
    assert_eq!(report.slate_gops, 0, "{report:?}");

    let probe = ffprobe(&out);
    assert_eq!(probe_value(&probe, ".service_name"), [TITLE]);
    assert_eq!(
        probe_value(&probe, ".service_provider"),
        [playout::spec::DEFAULT_PROVIDER]
    );
    assert!(probe_value(&probe, ".codec_name").contains(&"mpeg2video"));
    assert!(probe_value(&probe, ".codec_name").contains(&"mp2"));
    assert!(probe_value(&probe, ".width").contains(&"720"));
    assert!(probe_value(&probe, ".height").contains(&"576"));
    assert!(probe_value(&probe, ".display_aspect_ratio").contains(&"4:3"));
    assert!(probe_value(&probe, ".r_frame_rate").contains(&"25/1"));
    let duration: f64 = probe_value(&probe, "streams.stream.0.duration")[0]
        .parse()
        .unwrap();
    assert!((duration - 60.0).abs() < 0.1, "duration {duration}");

    let rate = tsreport_checks(&out, &[0x100, 0x101]);
    assert_eq!(rate, 3_000_000, "CBR at the configured mux rate");
    // PAT and PMT at least every 100 ms: at 3 Mbit/s that is every 37 500 bytes.
    let ts = std::fs::read(&out).unwrap();
    for table in [0u16, 0x1000] {
        let at: Vec<usize> = ts
            .chunks_exact(188)
            .enumerate()
            .filter(|(_, p)| ((u16::from(p[1] & 0x1f) << 8) | u16::from(p[2])) == table)
            .map(|(i, _)| i * 188)
            .collect();
        let gap = at.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(
            gap <= 37_500,
            "table pid {table:#x} repeats after {gap} bytes"
        );
    }
    assert_eq!(
        std::fs::metadata(&out).unwrap().len() % 188,
        0,
        "whole TS packets"
    );

    let frames = decode_clean(&out);
    assert_eq!(frames.len(), 60 * 25, "one picture every 40 ms, no gap");
    // Each second shows one screen, and the next second a different one.
    let mut changes = 0;
    for w in frames.chunks(25).collect::<Vec<_>>().windows(2) {
        if w[0][0] != w[1][0] {
            changes += 1;
        }
    }
    assert!(changes >= 50, "{changes} content changes");
}

/// The MD5s of the slate GOP's pictures, from a recording of a channel with nothing to air.
fn slate_md5(dir: &Path) -> Vec<String> {
    let out = dir.join("slate.ts");
    let report = record(
        FixedProgram(Program::default()),
        fast(),
        plan(OutputKind::Udp, Profile::Sd, dir),
        &out,
        2,
        Default::default(),
    );
    assert_eq!(report.slate_gops, 2);
    decode_clean(&out)[..25].to_vec()
}

#[test]
fn a_screen_that_fails_to_render_airs_the_slate_without_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let slate = slate_md5(dir.path());
    let faults = Arc::new(playout::Faults::default());
    faults
        .fail_render
        .lock()
        .unwrap()
        .insert("notice:1".to_owned());
    let out = dir.path().join("fault.ts");
    let report = record(
        FixedProgram(program(3)),
        fast(),
        plan(OutputKind::Udp, Profile::Sd, dir.path()),
        &out,
        9,
        Arc::clone(&faults),
    );
    // notice:1 airs at seconds 1, 4 and 7 — as the slate.
    assert_eq!(report.slate_gops, 3, "{report:?}");
    let frames = decode_clean(&out);
    assert_eq!(frames.len(), 9 * 25, "no gap");
    for second in [1, 4, 7] {
        assert_eq!(
            frames[second * 25..(second + 1) * 25],
            slate[..],
            "second {second}"
        );
    }
    for second in [0, 2, 3, 5] {
        assert_ne!(
            frames[second * 25],
            slate[0],
            "second {second} airs its screen"
        );
    }
    tsreport_checks(&out, &[0x100, 0x101]);
}

/// Arms an encoder failure once the lane has made its slate (the first program read).
struct FailFirstEncode {
    inner: FixedProgram,
    faults: Arc<playout::Faults>,
    armed: std::sync::atomic::AtomicBool,
}

impl ProgramSource for FailFirstEncode {
    fn program(
        &self,
        now: DateTime<FixedOffset>,
    ) -> Result<Program, headend::playout::ProgramError> {
        if !self.armed.swap(true, Ordering::SeqCst) {
            self.faults.fail_encodes.store(1, Ordering::SeqCst);
        }
        self.inner.program(now)
    }
}

#[test]
fn an_encoder_forced_to_fail_airs_the_slate_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let slate = slate_md5(dir.path());
    let faults = Arc::new(playout::Faults::default());
    let source = FailFirstEncode {
        inner: FixedProgram(program(2)),
        faults: Arc::clone(&faults),
        armed: Default::default(),
    };
    let out = dir.path().join("encoder.ts");
    let report = record(
        source,
        fast(),
        plan(OutputKind::Udp, Profile::Sd, dir.path()),
        &out,
        6,
        Arc::clone(&faults),
    );
    assert_eq!(report.slate_gops, 1, "{report:?}");
    let frames = decode_clean(&out);
    assert_eq!(frames.len(), 6 * 25, "no gap");
    assert_eq!(
        frames[..25],
        slate[..],
        "the failed screen airs as the slate"
    );
    // The restarted encoder makes the same screen next time round (seconds 2 and 4).
    assert_ne!(frames[2 * 25], slate[0]);
    assert_eq!(frames[2 * 25], frames[4 * 25]);
    assert_ne!(frames[25], slate[0]);
    tsreport_checks(&out, &[0x100, 0x101]);
}

#[test]
fn gb2312_service_names_carry_the_0x13_marker() {
    let dir = tempfile::tempdir().unwrap();
    let spec = OutputSpec::Udp(UdpOutput {
        charset: Some(playout::spec::Charset::Gb2312),
        service_id: Some(7),
        pmt_pid: Some(0x200),
        video_pid: Some(0x300),
        ..UdpOutput::default()
    });
    let plan = spec.plan("county", TITLE, dir.path()).unwrap();
    let out = dir.path().join("gb.ts");
    record(
        FixedProgram(program(1)),
        fast(),
        plan,
        &out,
        2,
        Default::default(),
    );
    let bytes = std::fs::read(&out).unwrap();
    let mut name = vec![0x13u8];
    name.extend_from_slice(&encoding_rs::GBK.encode(TITLE).0);
    assert!(
        bytes.windows(name.len()).any(|w| w == name.as_slice()),
        "0x13 + GB2312 name in the SDT"
    );
    let probe = ffprobe(&out);
    assert_eq!(
        probe_value(&probe, ".service_name"),
        [TITLE],
        "decoders read it back"
    );
    assert_eq!(probe_value(&probe, ".program_id"), ["7"]);
    assert_eq!(probe_value(&probe, ".pmt_pid"), ["512"]);
    assert!(probe_value(&probe, "streams.stream.0.id").contains(&"0x300"));
    tsreport_checks(&out, &[0x300, 0x301]);
}

#[test]
fn widescreen_sd_and_hd_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide.ts");
    record(
        FixedProgram(program(2)),
        fast(),
        plan(OutputKind::Udp, Profile::SdWide, dir.path()),
        &wide,
        2,
        Default::default(),
    );
    let probe = ffprobe(&wide);
    assert!(probe_value(&probe, ".display_aspect_ratio").contains(&"16:9"));
    assert!(probe_value(&probe, ".sample_aspect_ratio").contains(&"64:45"));

    let hd = dir.path().join("hd.ts");
    record(
        FixedProgram(program(2)),
        fast(),
        plan(OutputKind::Udp, Profile::Hd720, dir.path()),
        &hd,
        3,
        Default::default(),
    );
    let probe = ffprobe(&hd);
    let codecs = probe_value(&probe, ".codec_name");
    assert!(
        codecs.contains(&"h264") && codecs.contains(&"aac"),
        "{codecs:?}"
    );
    assert!(probe_value(&probe, ".width").contains(&"1280"));
    assert!(probe_value(&probe, ".color_space").contains(&"bt709"));
    assert!(probe_value(&probe, ".color_range").contains(&"tv"));
    assert_eq!(decode_clean(&hd).len(), 75);
    let rate = tsreport_checks(&hd, &[0x100, 0x101]);
    assert!(rate.abs_diff(5_000_000) < 5_000, "CBR at 5 Mbit/s: {rate}");
}

/// An urgent notice for the tests.
pub fn urgent(id: i64) -> playout::Urgent {
    playout::Urgent::of_notice(
        id,
        NoticeScreen {
            title: "关于防范寒潮的紧急通知".into(),
            publisher: "示范县应急管理局".into(),
            date: "2026-11-22".into(),
            body: "受强冷空气影响，今晚起全县将出现大风降温天气。请注意防寒保暖，加固户外设施。"
                .repeat(3),
            publicity: None,
            url: None,
            urgent: false,
        },
    )
}

/// The as-run lines of a recording.
pub fn as_run_lines(path: &Path) -> Vec<playout::AsRunLine> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn an_urgent_notice_airs_full_screen_first_then_as_a_band_over_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let mut with = program(1);
    with.urgent = Some(urgent(99));
    let opts = LaneOptions {
        banner_period: 1,
        ..fast()
    };
    let a = dir.path().join("banner.ts");
    let log = dir.path().join("banner.jsonl");
    let report = playout::record(
        playout::Recording {
            title: TITLE.to_owned(),
            source: Arc::new(FixedProgram(with)),
            options: opts.clone(),
            output: plan(OutputKind::Udp, Profile::Sd, dir.path()),
            start: start(),
            faults: Default::default(),
            as_run: playout::AsRun::new("county", playout::asrun::Target::File(log.clone())),
        },
        &a,
        12,
    )
    .unwrap();
    assert_eq!(report.slate_gops, 0);
    let lines = as_run_lines(&log);
    assert_eq!(lines.iter().map(|l| l.seconds).sum::<u64>(), 12);
    // The full notice first (every page), without the band.
    let urgent_pages = lines[0].pages;
    assert!(lines[..urgent_pages as usize]
        .iter()
        .all(|l| l.item == Some(99) && !l.banner && l.kind == "notice"));
    // Then the program with the band; its strips advance.
    let banded: Vec<_> = lines[urgent_pages as usize..].iter().collect();
    assert!(!banded.is_empty());
    assert!(
        banded.iter().all(|l| l.item == Some(0) && l.banner),
        "{banded:?}"
    );
    let b = dir.path().join("plain.ts");
    record(
        FixedProgram(program(1)),
        opts,
        plan(OutputKind::Udp, Profile::Sd, dir.path()),
        &b,
        2,
        Default::default(),
    );
    let banner = decode_clean(&a);
    let plain = decode_clean(&b);
    let first_banded = (urgent_pages as usize) * 25;
    assert_ne!(banner[first_banded], plain[0], "the band is drawn");
    assert_ne!(
        banner[first_banded],
        banner[first_banded + 25],
        "the strip advances"
    );
    assert_eq!(banner.len(), 12 * 25);
}

#[test]
fn slate_screen_is_plain_slate_data() {
    // The slate is an ordinary screen: the renderer draws it like any other.
    let s = Screen::Slate(SlateScreen {
        channel: TITLE.into(),
        time: "政务服务便民热线 12345".into(),
    });
    let mut r = headend::render::Renderer::new().unwrap();
    assert_eq!(r.layout(&s, Profile::Sd).len(), 1);
    assert!(r.raster(&r.layout(&s, Profile::Sd)[0]).is_some());
}

/// A receiving socket on loopback and the address to send to.
fn receiver() -> (std::net::UdpSocket, std::net::SocketAddr) {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let addr = sock.local_addr().unwrap();
    (sock, addr)
}

fn live_plan(
    name: &str,
    outputs: Vec<OutputPlan>,
    source: impl ProgramSource + 'static,
) -> playout::ChannelPlan {
    playout::ChannelPlan {
        name: name.to_owned(),
        title: TITLE.to_owned(),
        source: Arc::new(source),
        options: fast(),
        outputs,
        faults: Default::default(),
        as_run_dir: None,
        layouts: None,
    }
}

#[test]
fn udp_is_1316_byte_datagrams_paced_at_the_mux_rate() {
    let dir = tempfile::tempdir().unwrap();
    let (sock, addr) = receiver();
    let spec = OutputSpec::Udp(UdpOutput {
        address: Some(addr),
        muxrate: Some(2_000_000),
        ..UdpOutput::default()
    });
    let udp = spec.plan("live", TITLE, dir.path()).unwrap();
    let playout = playout::Playout::start(
        vec![live_plan("live", vec![udp], FixedProgram(program(3)))],
        None,
    )
    .unwrap();
    let mut buf = [0u8; 2048];
    let mut ts = Vec::new();
    // Skip the first second (start-up fills one second ahead), then measure three.
    let first = std::time::Instant::now();
    while first.elapsed() < Duration::from_secs(1) {
        sock.recv(&mut buf).unwrap();
    }
    let t0 = std::time::Instant::now();
    let mut bytes = 0usize;
    while t0.elapsed() < Duration::from_secs(3) {
        let n = sock.recv(&mut buf).unwrap();
        assert_eq!(n, 1316, "7 TS packets per datagram");
        assert!(buf[..n].chunks(188).all(|p| p[0] == 0x47));
        bytes += n;
        ts.extend_from_slice(&buf[..n]);
    }
    let rate = bytes as f64 * 8.0 / t0.elapsed().as_secs_f64();
    assert!(
        (rate - 2_000_000.0).abs() < 200_000.0,
        "paced at {rate:.0} bit/s, configured 2000000"
    );
    let channel = playout.channel("live").unwrap();
    let out = &channel.lanes[0].outputs[0];
    assert!(out.stats.datagrams.load(Ordering::Relaxed) > 0);
    assert_eq!(out.stats.send_errors.load(Ordering::Relaxed), 0);
    playout.stop();
    // What arrived is itself a valid stream (cut mid-way, so from its first PAT on).
    let file = dir.path().join("udp.ts");
    std::fs::write(&file, &ts).unwrap();
    tsreport_checks(&file, &[0x100]);
}

/// Waits up to `secs` for `f` to hold.
pub fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn a_failing_udp_output_never_stops_hls() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on: every send is refused by the kernel.
    let dead = {
        let (sock, addr) = receiver();
        drop(sock);
        addr
    };
    let spec = OutputSpec::Udp(UdpOutput {
        address: Some(dead),
        ..UdpOutput::default()
    });
    let udp = spec.plan("faulty", TITLE, dir.path()).unwrap();
    let hls = OutputSpec::Hls(HlsOutput {
        profile: Some(Profile::Sd),
        ..HlsOutput::default()
    });
    let hls = hls.plan("faulty", TITLE, dir.path()).unwrap();
    let playout = playout::Playout::start(
        vec![live_plan(
            "faulty",
            vec![udp, hls],
            FixedProgram(program(2)),
        )],
        None,
    )
    .unwrap();
    let channel = playout.channel("faulty").unwrap();
    let hls_dir: PathBuf = channel.hls_dir.clone().unwrap();
    let lane = &channel.lanes[0];
    let errors = || lane.outputs[0].stats.send_errors.load(Ordering::Relaxed);
    let segments = || {
        std::fs::read_to_string(hls_dir.join("index.m3u8"))
            .map(|p| p.lines().filter(|l| l.ends_with(".ts")).count())
            .unwrap_or(0)
    };
    assert!(
        wait_for(20, || errors() > 0 && segments() >= 3),
        "errors {} segments {}",
        errors(),
        segments()
    );
    assert_eq!(lane.outputs[1].stats.mux_errors.load(Ordering::Relaxed), 0);
    assert_eq!(
        lane.outputs[0].stats.mux_errors.load(Ordering::Relaxed),
        0,
        "the muxer goes on"
    );
    playout.stop();
}

/// A program whose urgent notice is in force until `until`.
struct UrgentUntil {
    until: DateTime<FixedOffset>,
}

impl ProgramSource for UrgentUntil {
    fn program(
        &self,
        now: DateTime<FixedOffset>,
    ) -> Result<Program, headend::playout::ProgramError> {
        let mut p = program(3);
        if now < self.until {
            p.urgent = Some(urgent(7));
            p.expires = Some(self.until);
        }
        Ok(p)
    }
}

#[test]
fn an_urgent_notice_leaves_the_air_at_the_first_page_change_after_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("asrun.jsonl");
    let end = 17;
    let opts = LaneOptions {
        dwell: Duration::from_secs(3),
        read_rate: 0,
        banner_period: 1,
        ..LaneOptions::default()
    };
    playout::record(
        playout::Recording {
            title: TITLE.to_owned(),
            source: Arc::new(UrgentUntil {
                until: start() + chrono::Duration::seconds(end),
            }),
            options: opts,
            output: plan(OutputKind::Udp, Profile::Sd, dir.path()),
            start: start(),
            faults: Default::default(),
            as_run: playout::AsRun::new("county", playout::asrun::Target::File(log.clone())),
        },
        &dir.path().join("out.ts"),
        40,
    )
    .unwrap();
    let lines = as_run_lines(&log);
    let mut t = 0;
    let mut last_band_end = 0;
    for l in &lines {
        if l.banner || l.item == Some(7) {
            last_band_end = t + l.seconds;
        }
        t += l.seconds;
    }
    assert_eq!(t, 40);
    assert!(last_band_end > 0, "the band was on");
    // Pages change every 3 s: the band is gone at the first change after second 17.
    assert!(
        (end as u64..=end as u64 + 3).contains(&last_band_end),
        "the band aired until second {last_band_end}"
    );
}

fn recording(dir: &Path, items: usize) -> playout::Recording {
    playout::Recording {
        title: TITLE.to_owned(),
        source: Arc::new(FixedProgram(program(items))),
        options: fast(),
        output: plan(OutputKind::Udp, Profile::Sd, dir),
        start: start(),
        faults: Default::default(),
        as_run: Default::default(),
    }
}

#[test]
fn two_channels_airing_the_same_screens_encode_each_frame_once() {
    use playout::EncoderStats;
    let dir = tempfile::tempdir().unwrap();
    // One channel alone: how many frames it makes.
    let alone =
        playout::record(recording(dir.path(), 12), &dir.path().join("alone.ts"), 30).unwrap();
    assert!(alone.encodes > 12, "{alone:?}");
    // Two channels airing the same screens at once, sharing the process's encoders.
    let encoders = playout::Encoders::new(64 << 20, 2).unwrap();
    let runs: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let (rec, out, encoders) = (
                recording(dir.path(), 12),
                dir.path().join(format!("{name}.ts")),
                encoders.clone(),
            );
            std::thread::spawn(move || playout::record_with(rec, &out, 30, encoders).unwrap())
        })
        .collect();
    let reports: Vec<_> = runs.into_iter().map(|t| t.join().unwrap()).collect();
    let stats = encoders.stats();
    assert_eq!(
        EncoderStats::get(&stats.encodes),
        alone.encodes,
        "each frame encoded once for both channels: {reports:?}"
    );
    assert_eq!(
        reports.iter().map(|r| r.encodes).sum::<u64>(),
        alone.encodes,
        "{reports:?}"
    );
    assert!(
        EncoderStats::get(&stats.hits) + EncoderStats::get(&stats.joined) >= alone.encodes,
        "the other channel's requests were all answered without an encode"
    );
    // Sharing changes nothing on air: both streams are the stream of the channel alone.
    let a = std::fs::read(dir.path().join("a.ts")).unwrap();
    assert_eq!(a, std::fs::read(dir.path().join("b.ts")).unwrap());
    assert_eq!(a, std::fs::read(dir.path().join("alone.ts")).unwrap());
}

/// The luma of the first picture of a recording.
fn first_luma(file: &Path) -> Vec<u8> {
    output(
        Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(file)
            .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"]),
    )
    .stdout
}

#[test]
fn hd_channels_of_their_own_names_share_each_screens_body_and_code_only_their_status_lines() {
    use playout::EncoderStats;
    let dir = tempfile::tempdir().unwrap();
    let hd = |title: &str| playout::Recording {
        title: title.to_owned(),
        output: plan(OutputKind::Udp, Profile::Hd720, dir.path()),
        ..recording(dir.path(), 8)
    };
    let alone = playout::Encoders::new(64 << 20, 2).unwrap();
    let alone_out = dir.path().join("alone.ts");
    playout::record_with(hd("甲镇政务频道"), &alone_out, 12, alone.clone()).unwrap();
    let bodies = EncoderStats::get(&alone.stats().encodes);
    let status_lines = EncoderStats::get(&alone.stats().status_encodes);
    assert!(bodies >= 8 && status_lines >= 8, "{bodies} {status_lines}");

    let shared = playout::Encoders::new(64 << 20, 2).unwrap();
    let runs: Vec<_> = [("a", "甲镇政务频道"), ("b", "乙镇政务频道")]
        .into_iter()
        .map(|(name, title)| {
            let (rec, out, encoders) = (
                hd(title),
                dir.path().join(format!("{name}.ts")),
                shared.clone(),
            );
            std::thread::spawn(move || playout::record_with(rec, &out, 12, encoders).unwrap())
        })
        .collect();
    for r in runs {
        assert_eq!(r.join().unwrap().slate_gops, 0);
    }
    let stats = shared.stats();
    // Each channel has its own slate (it names the channel); every screen's body is
    // coded once for both.
    assert_eq!(
        EncoderStats::get(&stats.encodes),
        bodies + 1,
        "each screen's body coded once for both channels"
    );
    assert_eq!(
        EncoderStats::get(&stats.status_encodes),
        2 * status_lines,
        "each channel codes its own status lines"
    );
    // Sharing changes nothing on air: 甲 airs what it airs alone.
    let (a, b) = (dir.path().join("a.ts"), dir.path().join("b.ts"));
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&alone_out).unwrap()
    );
    assert_eq!(decode_clean(&a).len(), 12 * 25);
    assert_eq!(decode_clean(&b).len(), 12 * 25);
    // The two pictures are the same screen above the status line and differ in it.
    let (la, lb) = (first_luma(&a), first_luma(&b));
    assert_eq!(la.len(), 1280 * 720);
    let first_diff = la.iter().zip(&lb).position(|(x, y)| x != y).unwrap() / 1280;
    // 720p: the status line's panel starts at row 582, its band at row 576.
    assert!(
        first_diff >= 576,
        "the pictures differ from row {first_diff}"
    );
}

#[test]
fn the_gop_cache_stays_within_its_budget_under_a_program_larger_than_it() {
    use playout::EncoderStats;
    let dir = tempfile::tempdir().unwrap();
    let budget = 1 << 20;
    let encoders = playout::Encoders::new(budget, 1).unwrap();
    let out = dir.path().join("budget.ts");
    let report =
        playout::record_with(recording(dir.path(), 40), &out, 90, encoders.clone()).unwrap();
    let stats = encoders.stats();
    assert!(
        EncoderStats::get(&stats.evictions) > 0,
        "the program is larger than the budget"
    );
    assert!(
        EncoderStats::get(&stats.bytes) <= budget as u64,
        "{} bytes cached",
        EncoderStats::get(&stats.bytes)
    );
    // Evicted screens are made again when they come round, and nothing airs the slate.
    assert!(report.encodes > 41, "{report:?}");
    assert_eq!(report.slate_gops, 0, "{report:?}");
    assert_eq!(decode_clean(&out).len(), 90 * 25, "no gap");
}
