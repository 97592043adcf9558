//! Operator scheduling over the demo county: hard starts cutting in at the second (in a
//! recorded TS and in the as-run log), urgent overrides under the two-person rule, the
//! fallback in gaps, conflicts refused, and the programme guide validated by
//! `tv_validate_file` (Debian xmltv-util).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use headend::accounts::{Grant, Role, User};
use headend::playout::{self, LaneOptions, OutputKind};
use headend::render::Profile;
use headend::schedule::{self, airing, edit, epg, urgent, EditError};
use headend::store::Store;

use super::playout::{as_run_lines, plan};

/// The day the demo is loaded for (a Monday).
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
}

fn at(h: u32, m: u32, s: u32) -> DateTime<FixedOffset> {
    headend::content::county_offset()
        .with_ymd_and_hms(2026, 12, 7, h, m, s)
        .single()
        .unwrap()
}

fn demo_store() -> Store {
    let store = Store::open_in_memory().unwrap();
    let county = headend::demo::embedded().unwrap();
    store
        .call_blocking(move |c| Ok(headend::demo::load(c, &county, day())))
        .unwrap()
        .unwrap();
    store
}

fn staff(name: &str, role: Role) -> User {
    User {
        id: 1,
        name: name.into(),
        display_name: name.into(),
        must_change: false,
        grants: vec![Grant {
            role,
            department: None,
        }],
    }
}

/// Records `seconds` of `channel` from `start` (as it would air then) with its as-run log.
fn record(
    store: &Store,
    channel: &str,
    start: DateTime<FixedOffset>,
    seconds: u64,
    dir: &Path,
) -> Vec<playout::AsRunLine> {
    let log = dir.join(format!("{channel}.jsonl"));
    let ts = dir.join(format!("{channel}.ts"));
    playout::record(
        playout::Recording {
            title: channel.into(),
            source: Arc::new(schedule::ScheduleProgram::new(store.clone(), channel)),
            options: LaneOptions::default(),
            output: plan(OutputKind::File, Profile::Sd, dir),
            start,
            faults: Default::default(),
            as_run: playout::AsRun::new(channel, playout::asrun::Target::File(log.clone())),
        },
        &ts,
        seconds,
    )
    .unwrap();
    as_run_lines(&log)
}

fn second_of(line: &playout::AsRunLine, origin: DateTime<FixedOffset>) -> i64 {
    (DateTime::parse_from_rfc3339(&line.start).unwrap() - origin).num_seconds()
}

/// The intra picture of every GOP in `ts`: (PTS in 1/25 s from the stream start, MD5 of
/// the decoded picture), decoded by ffmpeg.
fn keyframes(ts: &Path) -> Vec<(i64, String)> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-skip_frame", "nokey", "-i"])
        .arg(ts)
        .args([
            "-map",
            "0:v",
            "-fps_mode",
            "passthrough",
            "-f",
            "framemd5",
            "-",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            (f[2].parse().unwrap(), f[5].to_owned())
        })
        .collect()
}

#[test]
fn a_hard_start_cuts_into_the_page_on_air_at_its_second_and_a_soft_one_waits_for_the_page_end() {
    let store = demo_store();
    let dir = tempfile::tempdir().unwrap();
    // The demo's 早间要闻 starts hard at 07:00; before it the fallback airs, its first page
    // (the urgent notice, full screen) up for at least ten seconds.
    let origin = at(6, 59, 55);
    let lines = record(&store, "county", origin, 20, dir.path());
    assert_eq!(lines[0].segment, "fallback", "{lines:?}");
    assert_eq!(second_of(&lines[0], origin), 0);
    assert_eq!(lines[0].seconds, 5, "cut at 07:00:00: {lines:?}");
    assert_eq!(lines[1].start, "2026-12-07T07:00:00.000+08:00");
    assert!(lines[1].segment.starts_with("entry:"), "{lines:?}");
    // In the TS: the first GOP showing the new picture has PTS 5 s after the first one.
    let gops = keyframes(&dir.path().join("county.ts"));
    assert_eq!(gops.len(), 20, "{gops:?}");
    let change = gops.iter().position(|g| g.1 != gops[0].1).unwrap();
    assert_eq!(gops[change].0 - gops[0].0, 5 * 25, "{gops:?}");

    // The same entry made soft: the page on air keeps its time, the block follows it.
    let id: i64 = store
        .call_blocking(|c| Ok(c.query_row("SELECT id FROM schedule_entries WHERE channel = 'county' AND start_time = '07:00:00'", [], |r| r.get(0))?))
        .unwrap();
    store
        .call_blocking(move |c| {
            Ok(c.execute("UPDATE schedule_entries SET hard = 0 WHERE id = ?1", [id])?)
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lines = record(&store, "county", origin, 30, dir.path());
    assert!(lines[0].seconds > 5, "no cut: {lines:?}");
    let first_block = lines
        .iter()
        .find(|l| l.segment.starts_with("entry:"))
        .unwrap();
    assert!(
        second_of(first_block, origin) >= lines[0].seconds as i64,
        "{lines:?}"
    );
}

#[test]
fn an_approved_override_replaces_two_channels_and_ends_on_time_and_an_unapproved_one_never_airs() {
    let store = demo_store();
    let (op, admin, other_op) = (
        staff("caozuo", Role::Operator),
        staff("guanli", Role::Admin),
        staff("zhiban", Role::Operator),
    );
    // Two published notices that are not urgent.
    let ids: Vec<i64> = store
        .call_blocking(|c| {
            let mut s = c.prepare("SELECT id FROM notices WHERE status = 'published' AND priority = 'normal' ORDER BY id LIMIT 2")?;
            let v = s.query_map([], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
            Ok(v)
        })
        .unwrap();
    let (a, b) = (ids[0], ids[1]);
    // Asked for at 02:00 (before either airs).
    let asked = at(2, 0, 0).with_timezone(&Utc);
    let form = |notice: i64, from: &str, to: &str| urgent::OverrideForm {
        notice_id: notice,
        channels: vec!["county".into(), "chengguan".into()],
        starts_at: format!("2026-12-07T{from}"),
        ends_at: format!("2026-12-07T{to}"),
        form: "full".into(),
    };
    let (o1, o2) = {
        let (op, f1, f2) = (
            op.clone(),
            form(a, "03:00:10", "03:00:40"),
            form(b, "03:00:50", "03:01:10"),
        );
        store
            .call_blocking(move |c| {
                let o1 = urgent::request(c, &op, &f1, asked)
                    .map_err(|e| headend::store::StoreError::Malformed(e.to_string()))?;
                let o2 = urgent::request(c, &op, &f2, asked)
                    .map_err(|e| headend::store::StoreError::Malformed(e.to_string()))?;
                Ok((o1, o2))
            })
            .unwrap()
    };
    // Nobody approves their own request; a second operator or an admin does.
    let own = {
        let op = op.clone();
        store
            .call_blocking(move |c| Ok(urgent::approve(c, &op, o1, asked)))
            .unwrap()
    };
    assert!(
        matches!(&own, Err(EditError::Conflict(m)) if m.contains("另一位")),
        "{own:?}"
    );
    let editor = staff("xinxi", Role::Editor);
    let refused = store
        .call_blocking(move |c| Ok(urgent::approve(c, &editor, o1, asked)))
        .unwrap();
    assert!(
        matches!(refused, Err(EditError::Forbidden(_))),
        "{refused:?}"
    );
    store
        .call_blocking(move |c| Ok(urgent::approve(c, &admin, o1, asked)))
        .unwrap()
        .unwrap();
    let twice = store
        .call_blocking(move |c| Ok(urgent::approve(c, &other_op, o1, asked)))
        .unwrap();
    assert!(matches!(twice, Err(EditError::Conflict(_))), "{twice:?}");
    let steps: Vec<String> = store
        .call_blocking(move |c| {
            let mut s = c.prepare("SELECT action || ':' || actor FROM audit_log WHERE object_kind = 'override' ORDER BY id")?;
            let v = s.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(v)
        })
        .unwrap();
    assert_eq!(
        steps,
        [
            "override.request:caozuo",
            "override.request:caozuo",
            "override.approve:guanli"
        ]
    );

    let origin = at(3, 0, 0);
    for channel in ["county", "chengguan"] {
        let dir = tempfile::tempdir().unwrap();
        let lines = record(&store, channel, origin, 80, dir.path());
        let mut t = 0i64;
        for l in &lines {
            let s = second_of(l, origin);
            assert_eq!(s, t, "{channel}: lines are back to back");
            t += l.seconds as i64;
            let ours = l.segment == format!("override:{o1}");
            // Exactly 03:00:10 to 03:00:40 is the override: notice `a`, full screen.
            assert_eq!(ours, (10..40).contains(&s), "{channel} {l:?}");
            if ours {
                assert_eq!(
                    (l.item, l.kind.as_str(), l.banner),
                    (Some(a), "notice", false),
                    "{l:?}"
                );
            }
            assert_ne!(
                l.segment,
                format!("override:{o2}"),
                "an unapproved override aired: {l:?}"
            );
        }
        assert!(
            lines.iter().any(|l| second_of(l, origin) == 10),
            "{channel}: starts at its second"
        );
        assert!(
            lines
                .iter()
                .any(|l| second_of(l, origin) == 40 && !l.segment.starts_with("override")),
            "{channel}: ends at its second"
        );
    }
    // A third channel was not chosen: it never airs it.
    let dir = tempfile::tempdir().unwrap();
    let lines = record(&store, "baisha", origin, 50, dir.path());
    assert!(
        lines.iter().all(|l| !l.segment.starts_with("override")),
        "{lines:?}"
    );
    let _ = o2;
}

#[test]
fn a_gap_airs_the_fallback_and_a_chosen_fallback_block_replaces_the_default_sequence() {
    let store = demo_store();
    let admin = staff("guanli", Role::Admin);
    let (default, chosen) = store
        .call_blocking(move |c| {
            let info = schedule::channel(c, "county")?.unwrap();
            // 03:00 is a gap in the demo schedule.
            let default = airing::program_at(c, &info, at(3, 0, 0))?;
            let block: i64 = c.query_row(
                "SELECT id FROM blocks WHERE name = '办事指南'",
                [],
                |r| r.get(0),
            )?;
            let form = edit::ChannelForm {
                title: info.title.clone(),
                region: info.region.clone(),
                fallback: Some(block),
                epg_per_notice: false,
            };
            edit::update_channel(c, &admin, "county", &form, Utc::now())
                .map_err(|e| headend::store::StoreError::Malformed(e.to_string()))?;
            let info = schedule::channel(c, "county")?.unwrap();
            let chosen = airing::program_at(c, &info, at(3, 0, 0))?;
            Ok((default, chosen))
        })
        .unwrap();
    assert_eq!(default.segment, "fallback");
    assert!(
        default.summary,
        "the default sequence opens with its summary"
    );
    assert!(default.items.iter().any(|i| i.key.starts_with("notice:")));
    // The gap ends at 07:00 with a hard start: the program says when to cut.
    assert_eq!(default.cut_at, Some(at(7, 0, 0)));
    assert_eq!(chosen.segment, "fallback");
    assert!(!chosen.summary);
    assert!(
        !chosen.items.is_empty() && chosen.items.iter().all(|i| i.key.starts_with("guide:")),
        "{:?}",
        chosen.items.iter().map(|i| &i.key).collect::<Vec<_>>()
    );
}

fn entry(block: i64, start: &str, minutes: u32, hard: bool) -> edit::EntryForm {
    edit::EntryForm {
        block,
        start: start.into(),
        minutes,
        repeat: "daily".into(),
        weekdays: Vec::new(),
        from: "2026-12-07".into(),
        until: None,
        except: Vec::new(),
        hard,
        priority: 0,
    }
}

#[test]
fn conflicts_and_bad_input_are_refused_with_a_chinese_message_and_change_nothing() {
    let store = demo_store();
    let op = staff("caozuo", Role::Operator);
    let now = at(2, 0, 0).with_timezone(&Utc);
    let results = store
        .call_blocking(move |c| {
            let count = |c: &rusqlite::Connection| -> rusqlite::Result<(i64, i64)> {
                c.query_row(
                    "SELECT (SELECT count(*) FROM schedule_entries), (SELECT count(*) FROM blocks)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            };
            let before = count(c)?;
            let block: i64 = c.query_row(
                "SELECT id FROM blocks WHERE name = '早间要闻'",
                [],
                |r| r.get(0),
            )?;
            let mut out = Vec::new();
            // Overlaps the demo's 07:00 hard start (same priority).
            out.push(edit::create_entry(
                c,
                &op,
                "county",
                &entry(block, "07:30", 60, true),
                now,
            ));
            // Overlaps the 08:00 weekday block (same priority, both soft).
            out.push(edit::create_entry(
                c,
                &op,
                "county",
                &entry(block, "09:00", 30, false),
                now,
            ));
            // An end before its start.
            let mut e = entry(block, "03:00", 30, false);
            e.until = Some("2026-12-01".into());
            out.push(edit::create_entry(c, &op, "county", &e, now));
            // A block that selects nothing.
            let empty = edit::BlockForm {
                name: "空节目块".into(),
                description: String::new(),
                items: vec![headend::schedule::block::BlockItem {
                    selector: "guides".into(),
                    arg: "nosuchdept".into(),
                    count: 0,
                    dwell: 10,
                }],
            };
            let refused_block = edit::create_block(c, &op, &empty, now).map(|_| 0);
            out.push(refused_block);
            // An editor may not schedule at all.
            out.push(edit::create_entry(
                c,
                &staff("xinxi", Role::Editor),
                "county",
                &entry(block, "03:00", 30, false),
                now,
            ));
            let after = count(c)?;
            // A hard start inside a soft block at a higher priority is fine, and reported
            // nowhere as a conflict.
            let mut ok = entry(block, "09:00", 10, true);
            ok.priority = 0;
            let accepted = edit::create_entry(c, &op, "county", &ok, now);
            let conflicts = headend::schedule::timeline::conflicts(
                &airing::entries_of(c, "county")?,
                day().and_hms_opt(0, 0, 0).unwrap(),
                (day() + Duration::days(7)).and_hms_opt(0, 0, 0).unwrap(),
            );
            Ok((out, before, after, accepted.is_ok(), conflicts.len()))
        })
        .unwrap();
    let (out, before, after, accepted, conflicts) = results;
    assert_eq!(before, after, "nothing changed");
    let field_message = |r: &Result<i64, EditError>| match r {
        Err(EditError::Invalid(fields)) => fields
            .iter()
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>()
            .join("；"),
        other => panic!("expected fields to fix, got {other:?}"),
    };
    assert!(
        field_message(&out[0]).contains("硬开始时段重叠"),
        "{}",
        field_message(&out[0])
    );
    assert!(
        field_message(&out[1]).contains("时段重叠"),
        "{}",
        field_message(&out[1])
    );
    assert!(field_message(&out[2]).contains("结束日期不能早于开始日期"));
    assert!(field_message(&out[3]).contains("选不到任何内容"));
    assert!(matches!(out[4], Err(EditError::Forbidden(_))));
    assert!(
        accepted,
        "a hard start inside a soft block is how hard starts work"
    );
    assert_eq!(conflicts, 0);
}

#[test]
fn the_demo_week_as_xmltv_passes_tv_validate_file() {
    let store = demo_store();
    let dir = tempfile::tempdir().unwrap();
    for (channel, per_notice) in [("county", false), ("county", true), ("chengguan", false)] {
        let (xml, count) = store
            .call_blocking(move |c| {
                c.execute(
                    "UPDATE channels SET epg_per_notice = ?1 WHERE name = 'county'",
                    [per_notice],
                )?;
                let info = schedule::channel(c, channel)?.unwrap();
                let p = epg::guide(c, &info, day(), 7)?;
                Ok((epg::xmltv(&info, &p), p.len()))
            })
            .unwrap();
        // A week of programmes, back to back from the first midnight to the last.
        assert!(count >= 7 * 3, "{channel}: {count} programmes");
        assert!(xml.contains("早间要闻"), "{channel}");
        assert!(xml.contains("start=\"20261207070000 +0800\""));
        let path = dir.path().join(format!("{channel}-{per_notice}.xml"));
        std::fs::write(&path, &xml).unwrap();
        let out = Command::new("tv_validate_file")
            .env("XMLTV_SUPPLEMENT", "/usr/share/xmltv")
            .arg(&path)
            .output()
            .expect("tv_validate_file (Debian xmltv-util) runs");
        assert!(
            out.status.success(),
            "{channel}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn the_public_guide_is_served_as_xmltv_and_follows_schedule_edits() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;
    let store = tokio::task::spawn_blocking(demo_store).await.unwrap();
    // Written again as soon as the store changes (the default serves a guide up to 30 s
    // after a change).
    let state = headend::web::AppState::new(store.clone()).with_guides(
        headend::web::schedule::GuideCache::with_max_stale(std::time::Duration::ZERO),
    );
    let app = headend::web::app(state);
    let get = |path: &'static str| {
        let app = app.clone();
        async move {
            let r = app
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = r.status();
            let kind = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = axum::body::to_bytes(r.into_body(), 1 << 22).await.unwrap();
            (status, kind, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let (status, kind, first) = get("/api/v1/channels/county/epg.xml?days=2").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(kind.as_deref(), Some("application/xml; charset=utf-8"));
    assert!(first.contains("<title lang=\"zh\">晚间回顾</title>"));
    // A new block name on the schedule shows in the next load (not a stale copy).
    store
        .call(|c| {
            Ok(c.execute(
                "UPDATE blocks SET name = '晚间新闻回顾' WHERE name = '晚间回顾'",
                [],
            )?)
        })
        .await
        .unwrap();
    let (_, _, second) = get("/api/v1/channels/county/epg.xml?days=2").await;
    assert!(
        second.contains("<title lang=\"zh\">晚间新闻回顾</title>"),
        "{second}"
    );
    let (status, _, body) = get("/api/v1/channels/nowhere/epg.xml").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("没有名为“nowhere”的频道"), "{body}");
    let (status, _, body) = get("/api/v1/channels/county/epg.xml?days=99").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("天数"), "{body}");
}

#[test]
fn an_override_follows_its_notice_and_the_shared_token_is_nobody() {
    let store = demo_store();
    let (op, admin) = (
        staff("caozuo", Role::Operator),
        staff("guanli", Role::Admin),
    );
    let token = User {
        id: 0,
        name: "admin_token".into(),
        display_name: "共享管理令牌".into(),
        must_change: false,
        grants: vec![Grant {
            role: Role::Admin,
            department: None,
        }],
    };
    let asked = at(2, 0, 0).with_timezone(&Utc);
    let out = store
        .call_blocking(move |c| {
            let notice: i64 = c.query_row(
                "SELECT id FROM notices WHERE status = 'published' AND priority = 'normal' ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )?;
            let urgent: i64 = c.query_row(
                "SELECT id FROM notices WHERE status = 'published' AND priority = 'urgent' ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )?;
            let form = |form: &str, from: &str, to: &str| urgent::OverrideForm {
                notice_id: notice,
                channels: vec!["county".into()],
                starts_at: format!("2026-12-07T{from}"),
                ends_at: format!("2026-12-07T{to}"),
                form: form.into(),
            };
            let by_token = urgent::request(c, &token, &form("full", "03:00", "04:00"), asked);
            let band = urgent::request(c, &op, &form("band", "03:00", "04:00"), asked).unwrap();
            let token_approves = urgent::approve(c, &token, band, asked);
            urgent::approve(c, &admin, band, asked).unwrap();
            let info = schedule::channel(c, "county")?.unwrap();
            // The band override's notice is the band; the region's own urgent notice,
            // displaced from the band, airs in the program.
            let p = airing::program_at(c, &info, at(3, 30, 0))?;
            let band_key = p.urgent.as_ref().map(|u| (u.key.clone(), u.band_only));
            let displaced = p.items.iter().any(|i| i.key == format!("notice:{urgent}"));
            // Withdrawn: it leaves the air, though the override still stands.
            c.execute("UPDATE notices SET status = 'withdrawn' WHERE id = ?1", [notice])?;
            let after = airing::program_at(c, &info, at(3, 30, 0))?;
            let full = urgent::request(c, &op, &form("full", "05:00", "06:00"), asked);
            Ok((by_token, token_approves, band_key, displaced, after.urgent.map(|u| u.key), full, notice, urgent))
        })
        .unwrap();
    let (by_token, token_approves, band_key, displaced, after, full, notice, urgent) = out;
    assert!(
        matches!(&by_token, Err(EditError::Forbidden(m)) if m.contains("共享管理令牌")),
        "{by_token:?}"
    );
    assert!(
        matches!(token_approves, Err(EditError::Forbidden(_))),
        "{token_approves:?}"
    );
    assert_eq!(band_key, Some((format!("notice:{notice}"), true)));
    assert!(
        displaced,
        "the urgent notice {urgent} airs in the cycle under a band override"
    );
    assert_eq!(
        after,
        Some(format!("notice:{urgent}")),
        "the withdrawn notice's band left"
    );
    assert!(
        matches!(full, Err(EditError::Invalid(_))),
        "a withdrawn notice cannot be put on air: {full:?}"
    );
}
