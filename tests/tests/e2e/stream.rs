//! Playout through the real binary: `headend stream` to a file, and a served channel's HLS
//! checked against RFC 8216 and played by ffmpeg over HTTP; `/metrics` shows the outputs.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::{http_get, wait_for, workspace_binary, Headend};

fn headend(args: &[&str]) -> std::process::Output {
    Command::new(workspace_binary("headend"))
        .args(args)
        .output()
        .unwrap()
}

fn tool(cmd: &mut Command) -> (String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Only the county channel airs, in SD, with HLS; two-second dwell so a short recording
/// changes screens often.
const CONFIG: &str = "air_unconfigured = false\n\
[[channels]]\nname = \"county\"\ndwell = 2\nread_rate = 0\n\
[[channels.outputs]]\nkind = \"udp\"\nprofile = \"sd\"\nservice_name = \"示范县政务频道\"\nprovider = \"示范县融媒体中心\"\n\
[[channels.outputs]]\nkind = \"hls\"\nprofile = \"sd\"\n";

/// Checks a live playlist against RFC 8216's rules for what we produce; returns
/// (media sequence, segment URIs).
fn check_playlist(text: &str) -> (u64, Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"#EXTM3U"), "{text}");
    let tag = |name: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    let target: f64 = tag("#EXT-X-TARGETDURATION:").parse().unwrap();
    assert!(target <= 6.0, "target duration {target}");
    let sequence: u64 = tag("#EXT-X-MEDIA-SEQUENCE:").parse().unwrap();
    assert!(!text.contains("#EXT-X-ENDLIST"), "a live playlist");
    assert!(!text.contains("#EXT-X-DISCONTINUITY"), "no encoder restart");
    let mut segments = Vec::new();
    let (mut saw_pdt, mut saw_inf) = (false, false);
    for line in &lines[1..] {
        if let Some(d) = line.strip_prefix("#EXTINF:") {
            let d: f64 = d
                .trim_end_matches(',')
                .split(',')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(d.round() <= target, "EXTINF {d} > target {target}");
            saw_inf = true;
        } else if line.starts_with("#EXT-X-PROGRAM-DATE-TIME:") {
            saw_pdt = true;
        } else if !line.starts_with('#') && !line.is_empty() {
            assert!(
                saw_inf && saw_pdt,
                "segment {line} lacks EXTINF or PROGRAM-DATE-TIME"
            );
            segments.push((*line).to_owned());
            saw_pdt = false;
            saw_inf = false;
        }
    }
    assert!(
        segments.len() <= 10,
        "window of {} segments",
        segments.len()
    );
    (sequence, segments)
}

#[test]
fn a_served_channel_plays_as_hls_and_records_with_headend_stream() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("headend.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let cfg = config.to_str().unwrap();
    let server = Headend::start(&data, &["--config", cfg]).unwrap();

    // The playlist fills to the full window (6 segments of 2 s).
    let first = wait_for(90, || {
        let (status, body) = http_get(&server.addr, "/live/county/index.m3u8").ok()?;
        (status == 200 && body.starts_with("#EXTM3U") && check_playlist(&body).1.len() >= 6)
            .then_some(body)
    })
    .expect("the HLS window fills within 90 s");
    let (seq1, segs1) = check_playlist(&first);
    assert!((6..=10).contains(&segs1.len()));
    let url = format!("{}/live/county/", server.url);
    for seg in &segs1[segs1.len() - 3..] {
        // Every segment starts with a key (I) picture.
        let (out, _) = tool(Command::new("ffprobe").args([
            "-v",
            "error",
            "-select_streams",
            "v",
            "-read_intervals",
            "%+#1",
            "-show_entries",
            "frame=key_frame,pict_type",
            "-of",
            "csv=p=0",
            &format!("{url}{seg}"),
        ]));
        assert!(out.trim_start().starts_with("1,I"), "{seg}: {out}");
    }
    // ffmpeg plays the live playlist over HTTP without an error.
    let (_, err) = tool(Command::new("ffmpeg").args([
        "-v",
        "error",
        "-i",
        &format!("{url}index.m3u8"),
        "-t",
        "4",
        "-f",
        "null",
        "-",
    ]));
    assert!(err.trim().is_empty(), "ffmpeg: {err}");
    let second = wait_for(20, || {
        let (_, body) = http_get(&server.addr, "/live/county/index.m3u8").ok()?;
        let (seq, segs) = check_playlist(&body);
        (seq > seq1).then_some((seq, segs))
    })
    .expect("the media sequence advances");
    assert!(second.0 > seq1);
    let (status, _) = http_get(&server.addr, "/live/county/../headend.db").unwrap();
    assert_eq!(status, 404);
    let (status, _) = http_get(&server.addr, "/live/nowhere/index.m3u8").unwrap();
    assert_eq!(status, 404);

    // /metrics: Prometheus text with the channel's outputs up and counting.
    let (status, metrics) = http_get(&server.addr, "/metrics").unwrap();
    assert_eq!(status, 200);
    for needle in [
        "# TYPE govchannel_gops_total counter",
        "govchannel_gops_total{channel=\"county\",profile=\"sd\"}",
        "govchannel_output_up{channel=\"county\",profile=\"sd\",output=\"hls\",kind=\"hls\"} 1",
        "govchannel_output_up{channel=\"county\",profile=\"sd\",output=\"udp:127.0.0.1:5000\",kind=\"udp\"} 1",
        "govchannel_channels 1",
        "# TYPE govchannel_gop_cache_bytes gauge",
        "govchannel_gop_cache_budget_bytes 67108864",
        "# TYPE govchannel_shared_encodes_total counter",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from\n{metrics}");
    }
    // The process's encoders made at least the slate and the first screen, and the cache
    // holds them.
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from\n{metrics}"))
    };
    assert!(value("govchannel_process_encodes_total") >= 2, "{metrics}");
    // The county's UDP output is paced by the one pacing thread, which has been waking.
    assert_eq!(value("govchannel_pacer_outputs"), 1, "{metrics}");
    assert!(value("govchannel_pacer_wakeups_total") > 0, "{metrics}");
    assert!(metrics.contains("# TYPE govchannel_pacer_lateness_seconds_total counter"));
    assert!(metrics.contains("# TYPE govchannel_status_line_encodes_total counter"));
    // The headend's own muxer has had every picture and audio frame out in time.
    let late = "govchannel_output_late_units_total{channel=\"county\",profile=\"sd\",output=\"udp:127.0.0.1:5000\",kind=\"udp\"} 0";
    assert!(metrics.contains(late), "{late} missing from\n{metrics}");
    // The server runs with the allocator settings that return freed picture buffers.
    let tunables = server.env_var("GLIBC_TUNABLES").unwrap_or_default();
    assert!(
        tunables.contains("glibc.malloc.mmap_threshold=131072"),
        "GLIBC_TUNABLES={tunables}"
    );
    assert!(value("govchannel_gop_cache_bytes") > 0, "{metrics}");
    assert!(server.stop().success());

    // `headend stream`: 40 s of the county channel as it airs, faster than real time.
    let out = dir.path().join("county.ts");
    let started = Instant::now();
    let o = headend(&[
        "stream",
        "--config",
        cfg,
        "--data",
        data.to_str().unwrap(),
        "--channel",
        "county",
        "--seconds",
        "40",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "faster than real time"
    );
    check_ts(&out);

    let o = headend(&[
        "stream",
        "--data",
        data.to_str().unwrap(),
        "--channel",
        "nowhere",
        "--seconds",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("\"nowhere\"") && err.contains("county"),
        "{err}"
    );
}

fn check_ts(file: &Path) {
    let (probe, _) = tool(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_programs",
                "-show_streams",
                "-of",
                "flat",
            ])
            .arg(file),
    );
    for needle in [
        "service_name=\"示范县政务频道\"",
        "service_provider=\"示范县融媒体中心\"",
        "codec_name=\"mpeg2video\"",
        "codec_name=\"mp2\"",
        "width=720",
        "height=576",
        "display_aspect_ratio=\"4:3\"",
        "r_frame_rate=\"25/1\"",
    ] {
        assert!(probe.contains(needle), "{needle} missing:\n{probe}");
    }
    let scratch = tempfile::tempdir().unwrap();
    let (report, _) = tool(
        Command::new("tsreport")
            .current_dir(scratch.path())
            .arg("-b")
            .arg(file),
    );
    assert!(
        report.contains("Overall stream rate=3000000 bits/sec"),
        "{report}"
    );
    assert!(report.contains("Bad (>.1s) gaps: 0"), "{report}");
    let gap: u32 = report
        .split("Max gap: ")
        .nth(1)
        .and_then(|r| r.split('t').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(gap <= 3600, "PCR gap {gap}/90000 s");
    let (_, err) = tool(
        Command::new("ffmpeg")
            .args(["-v", "warning", "-i"])
            .arg(file)
            .args(["-f", "null", "-"]),
    );
    assert!(err.trim().is_empty(), "decode: {err}");
}

#[test]
fn stream_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let args = |data: &str| {
        vec![
            "stream",
            "--channel",
            "county",
            "--seconds",
            "2",
            "--out",
            "x.ts",
            "--data",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([data.to_owned()])
        .collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| headend(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let o = run(args(d));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no database"));

    // A store with no county: started once with --no-demo.
    let server = Headend::start(dir.path(), &["--no-demo"]).unwrap();
    assert!(server.stop().success());
    let o = run(args(d));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("holds no channels"), "{err}");
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
}
