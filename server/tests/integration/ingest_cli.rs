//! `headend import SOURCE`: the real binary against a data directory holding the mini county.

use std::process::{Command, Output};

use super::*;

/// A data directory whose database holds the mini county.
fn county_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).unwrap();
    let county: headend::demo::County = serde_json::from_str(crate::MINI_COUNTY).unwrap();
    let anchor = county.anchor_date;
    store
        .call_blocking(move |conn| Ok(headend::demo::load(conn, &county, anchor)))
        .unwrap()
        .unwrap();
    dir
}

fn headend(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_headend"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn importing_the_same_feed_twice_adds_nothing_the_second_time() {
    let dir = county_data_dir();
    let data = dir.path().to_str().unwrap();
    let feed = fixture_path("notices-utf8.rss");
    let args = [
        "import",
        feed.as_str(),
        "--data",
        data,
        "--department",
        "xkz",
    ];

    let out = headend(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout(&out),
        "added 3, updated 0, unchanged 0, rejected 1\n\
         rejected xy-tzgg-2026-103 《关于2026年度政府信息公开工作的说明》: 正文为空或为占位内容“无公开信息”\n"
    );
    let out = headend(&args);
    assert!(out.status.success());
    assert!(
        stdout(&out).starts_with("added 0, updated 0, unchanged 3, rejected 1\n"),
        "{}",
        stdout(&out)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Stored as held for review, under a name derived from the file.
    let store = Store::open(&dir.path().join("headend.db")).unwrap();
    let rows: Vec<(String, String)> = store
        .call_blocking(|c| {
            let mut stmt = c.prepare(
                "SELECT source, status FROM notices WHERE source IS NOT NULL ORDER BY source_id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|(s, st)| s.starts_with("import-") && st == "submitted"),
        "{rows:?}"
    );
}

#[test]
fn import_flags_choose_kind_name_and_trust() {
    let dir = county_data_dir();
    let data = dir.path().to_str().unwrap();
    let csv = fixture_path("cases.csv");
    let out = headend(&[
        "import",
        &csv,
        "--data",
        data,
        "--kind",
        "cases",
        "--name",
        "zwfw-cases",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "added 3, updated 0, unchanged 0, rejected 2");
    assert_eq!(
        lines[1],
        "rejected SF20261115000205 《高龄津贴申领》: 受理日期“昨天”无法识别"
    );
    assert_eq!(
        lines[2],
        "rejected SF20261101000001 《最低生活保障审批》: 编号“SF20261101000001”已被本地或其他来源的条目使用"
    );

    let atom = fixture_path("notices.atom");
    let out = headend(&["import", &atom, "--data", data, "--trusted"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(&dir.path().join("headend.db")).unwrap();
    let statuses: Vec<String> = store
        .call_blocking(|c| {
            let mut stmt = c.prepare("SELECT status FROM notices WHERE source LIKE 'import-%'")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap();
    assert_eq!(statuses, ["published", "published"]);

    let out = headend(&[
        "import", &atom, "--data", data, "--kind", "cases", "--format", "rss",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

/// Exactly one `error:` line on stderr, exit 1, no panic.
fn assert_one_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(needle), "{needle:?} not in {stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_source_that_cannot_be_read_is_one_error_line() {
    let dir = county_data_dir();
    let data = dir.path().to_str().unwrap();
    let missing = dir.path().join("no-such-feed.xml");
    let out = headend(&["import", missing.to_str().unwrap(), "--data", data]);
    assert_one_error(&out, "no-such-feed.xml");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}/rss.xml");
    let out = headend(&["import", &url, "--data", data]);
    assert_one_error(&out, &url);

    let junk = dir.path().join("junk.xml");
    std::fs::write(&junk, "<html><body>系统维护中</body></html>").unwrap();
    let out = headend(&["import", junk.to_str().unwrap(), "--data", data]);
    assert_one_error(&out, "cannot be parsed");

    let empty = tempfile::tempdir().unwrap();
    let out = headend(&[
        "import",
        &fixture_path("notices.atom"),
        "--data",
        empty.path().to_str().unwrap(),
    ]);
    assert_one_error(&out, "no database at");
}
