//! The foundation: serve with the demo county, restart without duplicates, and one clear
//! error line (never a panic) for a damaged database, an unusable data directory, an
//! occupied port and a bad config file.

use std::process::{Command, Output};

use e2e::{http_get, workspace_binary, Headend};

fn headend(args: &[&str]) -> Output {
    Command::new(workspace_binary("headend"))
        .args(args)
        .output()
        .expect("run headend")
}

/// Asserts the process failed with exactly one line on stderr, an `error:` line containing
/// every `needle`, and no panic.
fn assert_one_error_line(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, stderr: {stderr}");
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    for needle in needles {
        assert!(
            lines[0].contains(needle),
            "{needle:?} missing from: {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn stats_json(data: &std::path::Path) -> serde_json::Value {
    let out = headend(&["stats", "--data", data.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn serve_loads_the_demo_county_once_and_keeps_it_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let server = Headend::start(&data, &[]).unwrap();
    assert_eq!(
        http_get(&server.addr, "/healthz").unwrap(),
        (200, "ok".to_owned())
    );
    let (status, body) = http_get(&server.addr, "/api/v1/stats").unwrap();
    assert_eq!(status, 200);
    let first: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(first["catalogue"]["power"], 295, "{first}");
    assert!(first["cases"]["total"].as_i64().unwrap() >= 300);
    assert!(server.stop().success(), "graceful shutdown exits 0");

    // The CLI reads the same file and agrees.
    assert_eq!(stats_json(&data), first);

    // A restart finds a county in the store and loads nothing more.
    let server = Headend::start(&data, &[]).unwrap();
    let (_, body) = http_get(&server.addr, "/api/v1/stats").unwrap();
    let second: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(second, first);
    assert!(server.stop().success());
    assert!(data.join("headend.db").is_file());
}

#[test]
fn no_demo_starts_with_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let server = Headend::start(dir.path(), &["--no-demo"]).unwrap();
    let (status, body) = http_get(&server.addr, "/api/v1/stats").unwrap();
    assert_eq!(status, 200);
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["notices"]["total"], 0);
    assert_eq!(stats["departments"], 0);
    // Every migration file in the repository has been applied.
    let migrations = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../server/src/store/migrations"
    ))
    .unwrap()
    .filter(|e| {
        e.as_ref()
            .unwrap()
            .path()
            .extension()
            .is_some_and(|x| x == "sql")
    })
    .count();
    assert!(migrations >= 2);
    assert_eq!(stats["schema_version"], migrations);
}

#[test]
fn a_damaged_database_gives_one_error_line_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("headend.db");
    let junk: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&db, &junk).unwrap();
    let out = headend(&[
        "serve",
        "--data",
        dir.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_one_error_line(&out, &["headend.db", "not a usable SQLite database"]);
    assert_eq!(
        std::fs::read(&db).unwrap(),
        junk,
        "the damaged file is untouched"
    );

    let out = headend(&["stats", "--data", dir.path().to_str().unwrap()]);
    assert_one_error_line(&out, &["headend.db"]);
}

#[test]
fn an_unusable_data_directory_gives_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    // Below a regular file: cannot be created by anyone, root included.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let data = file.join("data");
    let out = headend(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_one_error_line(&out, &["data directory", "not-a-dir/data", "not usable"]);

    // A read-only directory: by its permissions for an ordinary user; for root, whom
    // permissions do not stop, a file system mounted read-only.
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(true);
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mounted = if is_root {
        Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(&ro)
            .status()
            .is_ok_and(|s| s.success())
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        false
    };
    if is_root && !mounted {
        eprintln!("SKIPPED (read-only part): running as root without the right to mount a read-only tmpfs");
    } else {
        // Unmounted however the check ends.
        struct Unmount<'a>(&'a std::path::Path, bool);
        impl Drop for Unmount<'_> {
            fn drop(&mut self) {
                if self.1 {
                    let _ = Command::new("umount").arg("-l").arg(self.0).status();
                }
            }
        }
        let _unmount = Unmount(&ro, mounted);
        let out = headend(&[
            "serve",
            "--data",
            ro.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ]);
        assert_one_error_line(&out, &["data directory", "not usable"]);
    }
}

#[test]
fn an_occupied_port_gives_one_error_line() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = headend(&[
        "serve",
        "--data",
        dir.path().to_str().unwrap(),
        "--listen",
        &addr,
    ]);
    assert_one_error_line(&out, &["cannot listen on", &addr]);
}

#[test]
fn a_non_loopback_listen_address_needs_the_config_to_allow_it() {
    // Refused before anything is bound: nothing listens beyond this machine.
    let dir = tempfile::tempdir().unwrap();
    let out = headend(&[
        "serve",
        "--data",
        dir.path().to_str().unwrap(),
        "--listen",
        "0.0.0.0:0",
    ]);
    assert_one_error_line(&out, &["0.0.0.0:0", "allow_non_loopback"]);
    assert!(
        !dir.path().join("headend.db").exists(),
        "refused before the store is touched"
    );
}

#[test]
fn a_config_file_with_an_unknown_key_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("headend.toml");
    std::fs::write(&config, "lissen = \"127.0.0.1:0\"\n").unwrap();
    let out = headend(&["serve", "--config", config.to_str().unwrap()]);
    assert_one_error_line(&out, &["headend.toml", "lissen"]);
}

#[test]
fn the_programme_guide_of_the_demo_week_is_valid_xmltv_and_names_a_missing_channel() {
    let dir = tempfile::tempdir().unwrap();
    let data = e2e::demo_data(dir.path()).unwrap();
    let d = data.to_str().unwrap();
    let out = headend(&["epg", "--channel", "county", "--days", "7", "--data", d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.contains("<display-name lang=\"zh\">示范县政务频道</display-name>"));
    assert!(
        xml.matches("<programme ").count() >= 7 * 5,
        "a week of programmes"
    );
    let file = dir.path().join("county.xml");
    std::fs::write(&file, &xml).unwrap();
    let check = std::process::Command::new("tv_validate_file")
        .env("XMLTV_SUPPLEMENT", "/usr/share/xmltv")
        .arg(&file)
        .output()
        .expect("tv_validate_file (Debian xmltv-util) runs");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let out = headend(&[
        "epg",
        "--channel",
        "county",
        "--days",
        "1",
        "--json",
        "--data",
        d,
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["programmes"].as_array().is_some_and(|p| !p.is_empty()));
    let out = headend(&["epg", "--channel", "nowhere", "--data", d]);
    assert_one_error_line(&out, &["\"nowhere\"", "county"]);
}

#[test]
fn user_add_prints_a_one_time_password_and_refuses_bad_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    // No database yet: said, and none created.
    let out = headend(&["user", "add", "wang", "--role", "reviewer", "--data", d]);
    assert_one_error_line(&out, &["no database at"]);
    let server = Headend::start(&data, &[]).unwrap();
    let out = headend(&[
        "user",
        "add",
        "wang",
        "--role",
        "reviewer",
        "--role",
        "editor",
        "--department",
        "mzj",
        "--display-name",
        "王伟",
        "--data",
        d,
    ]);
    assert!(out.status.success(), "{out:?}");
    let password = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(password.len(), 12, "{password:?}");
    for (args, words) in [
        (
            vec!["user", "add", "wang", "--role", "admin"],
            vec!["exists"],
        ),
        (
            vec!["user", "add", "li", "--role", "editor"],
            vec!["department"],
        ),
        (
            vec!["user", "add", "li", "--role", "boss"],
            vec!["unknown role", "boss"],
        ),
        (
            vec![
                "user",
                "add",
                "li",
                "--role",
                "editor",
                "--department",
                "nope",
            ],
            vec!["no department", "nope"],
        ),
    ] {
        let mut args = args.clone();
        args.extend(["--data", d]);
        let out = headend(&args);
        assert_one_error_line(&out, &words);
    }
    let out = headend(&["user", "list", "--data", d]);
    let listed = String::from_utf8(out.stdout).unwrap();
    let wang = listed.lines().find(|l| l.starts_with("wang\t")).unwrap();
    assert!(
        wang.contains("editor@mzj") && wang.contains("reviewer@mzj"),
        "{wang}"
    );
    assert!(wang.contains("one-time password"), "{wang}");
    // The demo county's accounts are there too, already usable.
    for name in ["admin", "editor", "reviewer", "chief", "operator"] {
        assert!(
            listed.lines().any(|l| l.starts_with(&format!("{name}\t"))),
            "{listed}"
        );
    }
    // The one-time password logs in, and the account must change it first.
    let (status, head, session) = e2e::staff_login(&server.addr, "wang", &password).unwrap();
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("location: /admin/password"), "{head}");
    assert!(session.is_some(), "{head}");
    // A demo account logs straight in with its published password.
    let (status, head, _) = e2e::staff_login(&server.addr, "editor", "shifan-editor-2026").unwrap();
    assert_eq!(status, 303, "{head}");
    assert!(
        head.lines().any(|l| l.trim() == "location: /admin"),
        "{head}"
    );
    drop(server);
}

#[test]
fn stats_without_a_database_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let out = headend(&["stats", "--data", dir.path().to_str().unwrap()]);
    assert_one_error_line(&out, &["no database at", "headend.db"]);
    assert!(
        !dir.path().join("headend.db").exists(),
        "stats must not create a database"
    );
}

#[test]
fn a_half_sent_request_is_cut_off_while_other_clients_are_served() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = Headend::start(&dir.path().join("data"), &["--no-demo"]).unwrap();
    let mut slow = std::net::TcpStream::connect(&server.addr).unwrap();
    slow.write_all(b"GET /heal").unwrap();
    let started = std::time::Instant::now();
    // Meanwhile the server answers others.
    for _ in 0..3 {
        let (status, body) = e2e::http_get(&server.addr, "/healthz").unwrap();
        assert_eq!((status, body.as_str()), (200, "ok"));
    }
    // The half request is dropped after the header-read timeout (10 s): the read ends
    // (EOF, or a 408 and EOF) well before the 40 s this read would wait.
    slow.set_read_timeout(Some(std::time::Duration::from_secs(40)))
        .unwrap();
    let mut rest = Vec::new();
    let result = slow.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        result.is_ok(),
        "the server closed the connection: {result:?}"
    );
    assert!(
        waited >= std::time::Duration::from_secs(8) && waited < std::time::Duration::from_secs(30),
        "cut off after {waited:?}"
    );
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    assert!(server.stop().success());
}

#[test]
fn a_newcomer_sets_up_a_county_imports_its_feed_and_the_notice_airs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let regions = file(
        "regions.csv",
        "code,name,level,parent\n330799101,清溪镇,town,\n330799101201,上清村,village,330799101\n",
    );
    let departments = file(
        "departments.csv",
        "code,name,short_name,region,phone\nmzj,测试县民政局,县民政局,,0579-80000001\nqxz,清溪镇人民政府,清溪镇,330799101,\n",
    );
    // Before set-up, import says what to do.
    let feed = file(
        "feed.rss",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>测试县</title><link>http://feeds.example/</link><description>通知</description>\n\
         <item><title>关于清溪镇冬季防火的通知</title><link>http://feeds.example/1</link><guid>t-1</guid><dc:creator>清溪镇人民政府</dc:creator><description>各村：入冬以来天干物燥，请做好森林防火工作，严禁野外用火。</description></item>\n\
         <item><title>关于开展老年人体检的通知</title><link>http://feeds.example/2</link><guid>t-2</guid><dc:creator>测试县卫生健康局</dc:creator><description>全县65周岁以上老年人可到所在乡镇卫生院免费体检。</description></item>\n\
         </channel></rss>\n",
    );
    let out = headend(&["import", &feed, "--trusted", "--data", d]);
    assert_one_error_line(&out, &["no database at", "headend init"]);

    let out = headend(&[
        "init",
        "--county",
        "330799",
        "测试县",
        "--regions",
        &regions,
        "--departments",
        &departments,
        "--data",
        d,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("3 regions, 2 publishing bodies"), "{said}");
    // Twice: refused, nothing changed.
    let out = headend(&["init", "--county", "330799", "测试县", "--data", d]);
    assert_one_error_line(&out, &["already holds the county 330799"]);

    // The feed: one item from a known body, one naming a body not in the directory.
    let out = headend(&["import", &feed, "--trusted", "--data", d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("added 1") && said.contains("rejected 1"),
        "{said}"
    );
    assert!(
        said.contains("发布机构“测试县卫生健康局”不在机构名录中") && said.contains("默认发布机构"),
        "{said}"
    );

    // Served without the demo: the county channel airs the imported notice.
    let config = super::fast_county_config(dir.path());
    let server =
        Headend::start(&data, &["--no-demo", "--config", config.to_str().unwrap()]).unwrap();
    let id: i64 = rusqlite::Connection::open(data.join("headend.db"))
        .unwrap()
        .query_row(
            "SELECT id FROM notices WHERE title = '关于清溪镇冬季防火的通知'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let aired = e2e::wait_for(120, || {
        let dir = std::fs::read_dir(data.join("asrun")).ok()?;
        dir.flatten()
            .flat_map(|e| {
                std::fs::read_to_string(e.path())
                    .unwrap_or_default()
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
            .any(|l| l["item"].as_i64() == Some(id) && l["kind"] == "notice")
            .then_some(())
    });
    assert!(aired.is_some(), "the imported notice never aired");
    let (status, body) = http_get(&server.addr, "/").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("测试县"), "the overview names the county");
    assert!(server.stop().success());
}
