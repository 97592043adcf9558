//! The channel as a viewer sees it, through the real binary: a 20-minute recording of the
//! demo county with its urgent notice in force, checked from the as-run log and the
//! layout record of every aired frame; and a served channel where a notice published
//! through ingest airs next and a withdrawn urgent notice leaves at the next page change.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::{demo_data, http_get, wait_for, workspace_binary, Headend};
use serde_json::Value;

fn headend(args: &[&str]) -> std::process::Output {
    Command::new(workspace_binary("headend"))
        .args(args)
        .output()
        .unwrap()
}

fn lines_of(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn rect(v: &Value) -> (f64, f64, f64, f64) {
    let f = |k: &str| v[k].as_f64().unwrap();
    (f("x"), f("y"), f("w"), f("h"))
}

fn overlaps(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
}

const CLAUSE_ENDS: &[char] = &['。', '；', '！', '？', '，', '、', '：', ';', '!', '?', ','];

#[test]
fn twenty_minutes_of_the_county_channel_with_an_urgent_notice_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_data(dir.path()).unwrap();
    super::unschedule(&data);
    let (ts, log, layouts) = (
        dir.path().join("county.ts"),
        dir.path().join("asrun.jsonl"),
        dir.path().join("layouts"),
    );
    let seconds = 1200u64;
    let o = headend(&[
        "stream",
        "--data",
        data.to_str().unwrap(),
        "--channel",
        "county",
        "--seconds",
        &seconds.to_string(),
        "--out",
        ts.to_str().unwrap(),
        "--as-run",
        log.to_str().unwrap(),
        "--layouts",
        layouts.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines = lines_of(&log);
    let record = |hash: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(layouts.join(format!("{hash}.json"))).unwrap(),
        )
        .unwrap()
    };

    // As-run durations add up to the recording, and the recording is that long.
    let total: u64 = lines.iter().map(|l| l["seconds"].as_u64().unwrap()).sum();
    assert_eq!(total, seconds);
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "stream=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(&ts)
        .output()
        .unwrap();
    let duration: f64 = String::from_utf8_lossy(&probe.stdout)
        .lines()
        .next()
        .unwrap()
        .trim_end_matches(',')
        .parse()
        .unwrap();
    assert!(
        (duration - seconds as f64).abs() <= 0.04,
        "TS lasts {duration} s"
    );
    assert!(
        lines.iter().all(|l| !l["slate"].as_bool().unwrap()),
        "no slate"
    );

    // Every frame: a heading, no key hints, nothing but the alert under the band.
    let mut urgent_item = None;
    let mut urgent_text = String::new();
    let mut urgent_done = None;
    let mut title = String::new();
    let mut index_seconds = 0;
    let mut banded_lines = 0;
    for l in &lines {
        let layout = record(l["hash"].as_str().unwrap());
        let texts: Vec<(&str, &str)> = layout["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["role"].as_str().unwrap(), x["text"].as_str().unwrap()))
            .collect();
        assert!(
            texts.iter().any(|(r, _)| *r == "title" || *r == "heading"),
            "{l}"
        );
        for (role, text) in &texts {
            if *role == "footer" {
                for hint in ["数字", "返回", "翻页", "菜单", "按信息键"] {
                    assert!(!text.contains(hint), "key hint on air: {text}");
                }
            }
        }
        if matches!(l["kind"].as_str(), Some("list" | "summary" | "home")) {
            index_seconds += l["seconds"].as_u64().unwrap();
        }
        // The urgent notice's first page has its 紧急通知 line; its text is read from the
        // pages of its first airing.
        if l["kind"] == "notice" && texts.iter().any(|(r, t)| *r == "alert" && *t == "紧急通知")
        {
            if urgent_item.is_none() {
                title = texts
                    .iter()
                    .filter(|(r, _)| *r == "title")
                    .map(|(_, t)| *t)
                    .collect();
            }
            urgent_item = urgent_item.or(l["item"].as_i64());
        }
        let first_airing = urgent_done.is_none()
            && urgent_item.is_some()
            && l["kind"] == "notice"
            && l["item"].as_i64() == urgent_item;
        if first_airing {
            urgent_text.extend(
                texts
                    .iter()
                    .filter(|(r, _)| *r == "body")
                    .flat_map(|(_, t)| t.chars()),
            );
            if l["page"] == l["pages"] {
                urgent_done = Some(());
            }
        }
        match layout.get("band") {
            Some(band) if !band.is_null() => {
                assert!(l["banner"].as_bool().unwrap());
                banded_lines += 1;
                let band = rect(band);
                for x in layout["lines"].as_array().unwrap() {
                    let inside = overlaps(rect(x), band);
                    assert_eq!(
                        inside,
                        x["role"] == "alert",
                        "{} line {} vs band {band:?}",
                        x["role"],
                        x["text"]
                    );
                }
            }
            _ => assert!(!l["banner"].as_bool().unwrap()),
        }
    }
    assert!(banded_lines > 50, "{banded_lines} frames with the band");
    assert!(
        index_seconds * 10 <= seconds,
        "index screens air {index_seconds} of {seconds} s"
    );

    // The full urgent notice within every 180 s window: airings (page 1 to its last page,
    // in a row) start at most 180 s apart, the first at once.
    let urgent = urgent_item.expect("the urgent notice aired full screen");
    let mut t = 0u64;
    let mut starts = Vec::new();
    let mut i = 0;
    let at: Vec<u64> = lines
        .iter()
        .map(|l| {
            let s = t;
            t += l["seconds"].as_u64().unwrap();
            s
        })
        .collect();
    while i < lines.len() {
        let l = &lines[i];
        let is_urgent = |l: &Value| l["kind"] == "notice" && l["item"].as_i64() == Some(urgent);
        if is_urgent(l) && l["page"] == 1 && !l["banner"].as_bool().unwrap() {
            let pages = l["pages"].as_u64().unwrap();
            let mut page = 1;
            let mut j = i;
            while j < lines.len() && is_urgent(&lines[j]) {
                page = lines[j]["page"].as_u64().unwrap();
                j += 1;
            }
            if page == pages {
                starts.push(at[i]);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    assert_eq!(starts.first(), Some(&0), "the urgent notice airs first");
    for w in starts.windows(2) {
        assert!(w[1] - w[0] <= 180, "urgent airings at {starts:?}");
    }
    assert!(seconds - starts.last().unwrap() <= 180, "{starts:?}");

    // Strips: the title, then runs of whole clauses of the notice's text.
    let mut strips = std::collections::BTreeSet::new();
    for l in lines.iter().filter(|l| l["banner"].as_bool().unwrap()) {
        let layout = record(l["hash"].as_str().unwrap());
        let band = rect(&layout["band"]);
        let strip: String = layout["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["role"] == "alert" && overlaps(rect(x), band) && x["text"] != "紧急")
            .map(|x| x["text"].as_str().unwrap())
            .collect();
        strips.insert(strip);
    }
    assert!(strips.len() >= 5, "{strips:?}");
    assert!(strips.contains(&title), "the title is a strip: {title}");
    for strip in strips.iter().filter(|s| **s != title) {
        let at = urgent_text
            .find(strip.as_str())
            .unwrap_or_else(|| panic!("{strip} is not the notice's text {urgent_text}"));
        let ok_start = at == 0 || urgent_text[..at].ends_with(CLAUSE_ENDS);
        let ok_end = at + strip.len() == urgent_text.len() || strip.ends_with(CLAUSE_ENDS);
        assert!(ok_start && ok_end, "{strip} is not a run of whole clauses");
    }

    // Content, not titles: notices in full (every page) and guides or flows.
    let mut pages_seen: HashMap<i64, (u64, u64)> = HashMap::new();
    for l in lines.iter().filter(|l| l["kind"] == "notice") {
        let e = pages_seen.entry(l["item"].as_i64().unwrap()).or_default();
        e.0 = e.0.max(l["page"].as_u64().unwrap());
        e.1 = l["pages"].as_u64().unwrap();
    }
    assert!(pages_seen.len() >= 3, "{pages_seen:?}");
    assert!(lines
        .iter()
        .any(|l| matches!(l["kind"].as_str(), Some("guide" | "flow"))));
    let complete = pages_seen.values().filter(|(seen, of)| seen == of).count();
    assert!(
        complete + 1 >= pages_seen.len(),
        "notices air every page: {pages_seen:?}"
    );
}

/// Seconds since the epoch, now.
fn county_now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Seconds since the epoch of an as-run `start` (RFC 3339, +08:00).
fn start_secs(line: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(line["start"].as_str().unwrap())
        .unwrap()
        .timestamp()
}

#[test]
fn a_published_notice_airs_next_and_a_withdrawn_urgent_notice_leaves_at_the_next_page() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_data(dir.path()).unwrap();
    super::unschedule(&data);
    let config = super::fast_county_config(dir.path());
    let server = Headend::start(&data, &["--config", config.to_str().unwrap()]).unwrap();
    let asrun_dir = data.join("asrun");
    let log = || -> Vec<Value> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&asrun_dir)
            .into_iter()
            .flatten()
            .flatten()
        {
            out.extend(lines_of(&e.path()));
        }
        out.sort_by_key(start_secs);
        out
    };
    assert!(
        wait_for(60, || (log().len() >= 3).then_some(())).is_some(),
        "the channel airs and logs"
    );
    let urgent: i64 = log()
        .iter()
        .find(|l| l["banner"] == false && l["kind"] == "notice")
        .and_then(|l| l["item"].as_i64())
        .unwrap();

    // Publish through ingest (a trusted feed): it airs next, before the cycle ends.
    let feed = dir.path().join("feed.xml");
    std::fs::write(
        &feed,
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>示范县</title>\
         <item><title>关于开展冬季消防安全大检查的通知</title><guid>e2e-fire-1</guid><pubDate>{}</pubDate>\
         <description>各乡镇、各部门：为预防冬季火灾，县里决定开展消防安全大检查。请各单位认真排查隐患，确保安全。</description>\
         </item></channel></rss>",
            chrono::Utc::now().to_rfc2822()
        ),
    )
    .unwrap();
    let published = county_now_secs();
    let o = headend(&[
        "import",
        feed.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--trusted",
        "--department",
        "xfb",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("added 1"));
    let first = wait_for(60, || {
        log().into_iter().find(|l| {
            start_secs(l) >= published && l["kind"] == "notice" && {
                let (status, body) = http_get(
                    &server.addr,
                    &format!("/api/v1/screens/{}/layout", l["hash"].as_str().unwrap()),
                )
                .unwrap();
                status == 200 && {
                    let layout: Value = serde_json::from_str(&body).unwrap();
                    layout["lines"].as_array().unwrap().iter().any(|x| {
                        x["role"] == "title" && x["text"].as_str().unwrap().contains("消防安全")
                    })
                }
            }
        })
    })
    .expect("the new notice airs within a minute");
    let between: Vec<Value> = log()
        .into_iter()
        .filter(|l| start_secs(l) >= published && start_secs(l) < start_secs(&first))
        .collect();
    assert!(
        between.iter().all(|l| l["kind"] != "summary"),
        "it airs in the same cycle: {between:?}"
    );

    // Withdraw the urgent notice: the band and its pages leave at the next page change.
    assert!(
        wait_for(60, || log()
            .iter()
            .any(|l| l["banner"] == true)
            .then_some(()))
        .is_some(),
        "the band is on after the urgent notice's first airing"
    );
    let db = data.join("headend.db");
    let withdrawn = county_now_secs();
    withdraw(&db, urgent);
    let after = wait_for(60, || {
        let after: Vec<Value> = log()
            .into_iter()
            .filter(|l| start_secs(l) >= withdrawn + 6)
            .collect();
        (after.len() >= 3).then_some(after)
    })
    .expect("the channel keeps airing");
    for l in &after {
        assert_eq!(l["banner"], false, "the band left: {l}");
        assert!(
            !(l["kind"] == "notice" && l["item"].as_i64() == Some(urgent)),
            "the urgent notice left: {l}"
        );
    }
    assert!(server.stop().success());
}

/// Marks notice `id` withdrawn, as the review workflow will.
fn withdraw(db: &Path, id: i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let n = conn
        .execute(
            "UPDATE notices SET status = 'withdrawn', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
            [id],
        )
        .unwrap();
    assert_eq!(n, 1);
}
