//! `/readyz` against real faults: a database page damaged under a running headend, and a
//! data directory whose file system fills up during an ingest pass.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use e2e::{http_get, http_raw, wait_for, workspace_binary, Headend};

fn readyz(addr: &str) -> (u16, serde_json::Value) {
    let (status, body) = http_get(addr, "/readyz").unwrap();
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, json)
}

fn logged(log: &Arc<Mutex<Vec<String>>>, needle: &str) -> bool {
    log.lock().unwrap().iter().any(|l| l.contains(needle))
}

/// Overwrites the b-tree page header of table `table`'s root page in the database file
/// (the page type byte and the cell count), as a failing disk or a stray write would.
fn damage_root_page(db: &Path, table: &str) {
    let root: i64 =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap()
            .query_row(
                "SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
    // What the running server committed goes into the file first (else a newer copy of
    // the page in the WAL would hide the damage).
    let c = rusqlite::Connection::open(db).unwrap();
    let busy: i64 = c
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint could not complete");
    drop(c);
    let mut bytes = std::fs::read(db).unwrap();
    let page_size = match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65536,
        n => usize::from(n),
    };
    let at = (usize::try_from(root).unwrap() - 1) * page_size;
    let mut file = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(at as u64)).unwrap();
    // 0x42 is no page type SQLite knows.
    file.write_all(&[0x42, 0xff, 0xff, 0xff, 0xff]).unwrap();
    file.sync_all().unwrap();
    bytes.clear();
}

#[test]
fn readyz_fails_loudly_when_a_page_of_the_database_is_damaged_under_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    // A copy of the demo store (made by one start and stop, so the WAL is checkpointed
    // into the file).
    let data = e2e::demo_data(dir.path()).unwrap();
    let db = data.join("headend.db");
    let mut server = Headend::start(&data, &[]).unwrap();
    let log = server.collect_log();

    let (status, ready) = readyz(&server.addr);
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ok", "{ready}");
    assert_eq!(ready["store"]["integrity"], "ok", "{ready}");
    assert!(ready["disk"]["free_bytes"].as_u64().unwrap() > 0, "{ready}");
    assert!(
        ready["sources"].is_array() && ready["channels"].is_array(),
        "{ready}"
    );

    // A table nothing writes while serving (the publishing sweep may rewrite notices).
    damage_root_page(&db, "regions");
    // The answer before the damage is served again for a few seconds.
    let (status, ready) = wait_for(20, || {
        let (status, ready) = readyz(&server.addr);
        (status == 503).then_some((status, ready))
    })
    .expect("/readyz never reported the damaged page");
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["status"], "failing", "{ready}");
    assert_eq!(ready["store"]["status"], "failing", "{ready}");
    let problems = ready["store"]["integrity"]
        .as_array()
        .unwrap_or_else(|| panic!("{ready}"));
    assert!(!problems.is_empty(), "{ready}");
    assert!(
        ready["store"]["message"]
            .as_str()
            .unwrap()
            .contains("数据库文件已损坏"),
        "{ready}"
    );
    assert!(
        wait_for(10, || logged(
            &log,
            "the database failed its integrity check"
        )
        .then_some(()))
        .is_some(),
        "not logged: {:?}",
        log.lock().unwrap()
    );
    // The plain liveness check still answers (the process is alive; readiness is not).
    let (status, _) = http_get(&server.addr, "/healthz").unwrap();
    assert_eq!(status, 200);
}

/// Mounts a tmpfs of `mib` MiB at `at`; false when this user may not mount.
fn mount_tmpfs(at: &Path, mib: u32) -> bool {
    std::fs::create_dir_all(at).unwrap();
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
        .arg(at)
        .status()
        .is_ok_and(|s| s.success())
}

struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0).status();
    }
}

/// Fills the file system holding `dir` with `dir/filler` until a write fails, then gives
/// back `leave` bytes.
fn fill(dir: &Path, leave: u64) -> std::path::PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    let _ = f.sync_all();
    f.set_len(written.saturating_sub(leave)).unwrap();
    path
}

fn notices_in(db: &Path) -> i64 {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    c.query_row("SELECT count(*) FROM notices", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_full_disk_during_ingest_loses_nothing_is_reported_and_recovers_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let fs = dir.path().join("fs");
    if !mount_tmpfs(&fs, 24) {
        // Mounting needs root (as `make test` runs here and in CI); say so, do not pretend.
        eprintln!("SKIPPED: cannot mount a tmpfs as this user; the full-disk check needs root");
        return;
    }
    let _unmount = Unmount(&fs);
    let data = fs.join("data");
    let d = data.to_str().unwrap();
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let departments = file(
        "departments.csv",
        "code,name,short_name,region,phone\nmzj,测试县民政局,县民政局,,0579-80000001\n",
    );
    let out = Command::new(workspace_binary("headend"))
        .args([
            "init",
            "--county",
            "330799",
            "测试县",
            "--departments",
            &departments,
        ])
        .args(["--data", d])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 400 notices of ~6 KB each: ~2.4 MB of text to store in one pass.
    let mut feed = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>测试县</title><link>http://feeds.example/</link><description>通知</description>\n",
    );
    let body = "各村（社区）：请按要求做好冬季防火、防寒和困难群众走访慰问工作。".repeat(60);
    for n in 0..400 {
        feed.push_str(&format!(
            "<item><title>第{n}号通知：冬季工作安排</title><link>http://feeds.example/{n}</link><guid>full-{n}</guid><description>{body}</description></item>\n"
        ));
    }
    feed.push_str("</channel></rss>\n");
    // The source starts with one item (the poller's first pass at start stores it); the
    // large feed replaces it once the disk is full.
    let first = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>测试县</title><link>http://feeds.example/</link><description>通知</description>\n<item><title>关于冬季防火的通知</title><link>http://feeds.example/first</link><guid>first</guid><description>请做好冬季防火工作。</description></item></channel></rss>\n";
    let large = feed;
    let feed = file("feed.rss", first);
    let token = "full-disk-test-admin-token";
    let config = file(
        "headend.toml",
        &format!(
            "admin_token = \"{token}\"\nmin_free_disk_mb = 4\nsource_files_dir = \"{}\"\n\n[[sources]]\nname = \"notices\"\nurl = \"{feed}\"\nkind = \"notices\"\ndepartment = \"mzj\"\ninterval = 86400\ntrusted = true\n",
            dir.path().display()
        ),
    );
    let mut server = Headend::start(&data, &["--no-demo", "--config", &config]).unwrap();
    let log = server.collect_log();
    let db = data.join("headend.db");
    let poll = || {
        let (status, _, body) = http_raw(
            &server.addr,
            "POST",
            "/api/v1/sources/notices/poll",
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
        )
        .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    // The poller's first pass at start may still be running: wait for it to be over
    // (the source has an attempt recorded) so that the store is idle.
    wait_for(30, || {
        let c =
            rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .ok()?;
        c.query_row(
            "SELECT last_attempt_at FROM sources WHERE name = 'notices'",
            [],
            |r| r.get::<_, Option<String>>(0),
        )
        .ok()
        .flatten()
    })
    .expect("the source was never attempted");
    let before = notices_in(&db);

    assert_eq!(before, 1);
    std::fs::write(&feed, &large).unwrap();
    let filler = fill(&fs, 512 * 1024);
    let (status, body) = poll();
    assert!(status >= 500, "{status} {body}");
    assert_eq!(
        notices_in(&db),
        before,
        "a failed pass changed what was stored"
    );
    let (status, ready) = readyz(&server.addr);
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["disk"]["status"], "failing", "{ready}");
    assert!(
        ready["disk"]["message"]
            .as_str()
            .unwrap()
            .contains("剩余空间不足"),
        "{ready}"
    );
    // The pass failed on the full disk (recording that failure, a small write, passed:
    // the fault stands until a pass succeeds).
    let fault = ready["store"]["storage_fault"]
        .as_str()
        .unwrap_or_else(|| panic!("{ready}"));
    assert!(fault.contains("full"), "{ready}");
    assert_eq!(ready["store"]["status"], "failing", "{ready}");
    assert!(
        ready["store"]["message"]
            .as_str()
            .unwrap()
            .contains("数据库写入失败"),
        "{ready}"
    );
    assert_eq!(ready["sources"][0]["consecutive_failures"], 1, "{ready}");
    assert!(
        wait_for(10, || logged(&log, "disk is full").then_some(())).is_some(),
        "not logged: {:?}",
        log.lock().unwrap()
    );

    // Space returns: the next pass stores the feed and the answer is ok again.
    std::fs::remove_file(filler).unwrap();
    let (status, body) = poll();
    assert_eq!(status, 200, "{body}");
    assert!(notices_in(&db) >= before + 400);
    // (The failing answer is served again for a few seconds.)
    let (status, ready) = wait_for(20, || {
        let (status, ready) = readyz(&server.addr);
        (status == 200).then_some((status, ready))
    })
    .expect("/readyz never recovered");
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "ok", "{ready}");
    assert_eq!(ready["disk"]["status"], "ok", "{ready}");
    assert!(ready["store"]["storage_fault"].is_null(), "{ready}");
    assert_eq!(ready["sources"][0]["consecutive_failures"], 0, "{ready}");
    drop(server);
}

/// An RSS feed of `count` notices from the demo's 民政局, titled `第{batch}批第{n}号通知`.
fn batch_feed(batch: usize, count: usize) -> String {
    let mut feed = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>示范县</title><link>http://feeds.example/</link><description>通知</description>\n",
    );
    for n in 0..count {
        feed.push_str(&format!(
            "<item><title>第{batch}批第{n}号通知</title><link>http://feeds.example/{batch}/{n}</link><guid>k{batch}-{n}</guid><dc:creator>示范县民政局</dc:creator><description>各村（社区）：请按要求做好冬季防火、防寒和困难群众走访慰问工作。第{batch}批第{n}项。</description></item>\n"
        ));
    }
    feed.push_str("</channel></rss>\n");
    feed
}

#[test]
fn kill_9_during_ingest_a_hundred_times_loses_no_committed_item_and_leaves_the_database_sound() {
    const RUNS: usize = 100;
    const ITEMS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let data = e2e::demo_data(dir.path()).unwrap();
    let db = data.join("headend.db");
    let wal = data.join("headend.db-wal");
    let feed = dir.path().join("feed.rss");
    let titled = |c: &rusqlite::Connection, pattern: &str| -> i64 {
        c.query_row(
            "SELECT count(*) FROM notices WHERE title LIKE ?1",
            [pattern],
            |r| r.get(0),
        )
        .unwrap()
    };
    let mut committed = vec![0i64; RUNS];
    let mut seed: u64 = 0x2026_1207;
    let (mut kept, mut cut) = (0, 0);
    for run in 0..RUNS {
        std::fs::write(&feed, batch_feed(run, ITEMS)).unwrap();
        let wal_before = std::fs::metadata(&wal).map_or(0, |m| m.len());
        let mut child = Command::new(workspace_binary("headend"))
            .args(["import", feed.to_str().unwrap(), "--trusted", "--data"])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        if run % 2 == 0 {
            // Half the kills land once the pass has started writing (the WAL grows)…
            while std::fs::metadata(&wal).map_or(0, |m| m.len()) == wal_before
                && child.try_wait().unwrap().is_none()
            {
                std::thread::yield_now();
            }
        } else {
            // …the other half at a pseudo-random moment of its first 60 ms (start-up,
            // reading, parsing, writing or committing). The delay is the fault's timing,
            // not a wait for anything.
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            std::thread::sleep(std::time::Duration::from_micros((seed >> 33) % 60_000));
        }
        let _ = child.kill();
        let _ = child.wait();
        // Opened read-write as the next headend would (recovering the WAL).
        let c = rusqlite::Connection::open(&db).unwrap();
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "run {run}: the database is damaged");
        let this = titled(&c, &format!("第{run}批%"));
        assert!(
            this == 0 || this == ITEMS as i64,
            "run {run}: a pass was half stored ({this} of {ITEMS})"
        );
        committed[run] = this;
        if this == 0 {
            cut += 1;
        } else {
            kept += 1;
        }
        // Nothing an earlier run committed is gone.
        for (earlier, &count) in committed.iter().enumerate().take(run) {
            assert_eq!(
                titled(&c, &format!("第{earlier}批%")),
                count,
                "run {run}: items committed by run {earlier} were lost"
            );
        }
    }
    eprintln!(
        "kill -9 ×{RUNS}: {kept} passes had committed, {cut} had not; database sound every time"
    );
    // The kills landed on both sides of the commit, or the test proved nothing.
    assert!(kept > 0 && cut > 0, "kept {kept}, cut {cut}");
    // And the headend starts on what is left.
    let server = Headend::start(&data, &[]).unwrap();
    assert_eq!(http_get(&server.addr, "/healthz").unwrap().0, 200);
}
