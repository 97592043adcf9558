//! `headend render`: a screen description or a stored notice to PNG plus layout JSON.

use std::process::Command;

use e2e::workspace_binary;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(workspace_binary("headend"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn render_writes_a_png_and_the_layout_record() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("notice.json");
    std::fs::write(
        &input,
        r#"{"kind":"notice","title":"关于开展冬季农技培训的通知","publisher":"示范县农业农村局","date":"2026-11-20","body":"为提高农民种植技术水平，县农业农村局定于12月1日至5日在各乡镇文化礼堂举办冬季农技培训。\n\n培训内容包括油菜越冬管理、设施蔬菜病虫害防治和农机安全使用，欢迎广大农户参加。"}"#,
    )
    .unwrap();
    for (profile, w, h, em) in [
        ("sd", 720, 576, 36.0),
        ("hd720", 1280, 720, 48.0),
        ("hd1080", 1920, 1080, 72.0),
    ] {
        let out = dir.path().join(format!("{profile}.png"));
        let layout = dir.path().join(format!("{profile}.json"));
        let o = run(&[
            "render",
            "--profile",
            profile,
            "--input",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--layout",
            layout.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let png = std::fs::read(&out).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&layout).unwrap()).unwrap();
        assert_eq!(v["profile"], profile);
        assert_eq!(
            (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap()),
            (w, h)
        );
        assert_eq!(v["page"], 1);
        assert!(v["pages"].as_u64().unwrap() >= 1);
        for key in ["x", "y", "w", "h"] {
            assert!(v["safe"][key].is_number());
        }
        let lines = v["lines"].as_array().unwrap();
        let body: Vec<_> = lines.iter().filter(|l| l["role"] == "body").collect();
        assert!(!body.is_empty());
        for l in &body {
            assert!(l["em"].as_f64().unwrap() >= em);
            assert!(l["fg"].as_str().unwrap().starts_with('#'));
            assert!(l["text"].as_str().unwrap().chars().count() > 0);
        }
    }
}

#[test]
fn render_reads_a_stored_notice_and_checks_its_page_number() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Load the demo county through a short-lived server.
    let server = e2e::Headend::start(&data, &[]).unwrap();
    assert!(server.stop().success());
    let out = dir.path().join("n.png");
    let o = run(&[
        "render",
        "--data",
        data.to_str().unwrap(),
        "--profile",
        "sd",
        "--notice",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read(&out).unwrap().starts_with(b"\x89PNG"));

    let o = run(&[
        "render",
        "--data",
        data.to_str().unwrap(),
        "--profile",
        "sd",
        "--notice",
        "1",
        "--page",
        "999",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.starts_with("error: page 999 does not exist"),
        "{stderr}"
    );

    let o = run(&[
        "render",
        "--data",
        data.to_str().unwrap(),
        "--profile",
        "sd",
        "--notice",
        "987654",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no notice with id 987654"));
}

#[test]
fn render_rejects_a_bad_description_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.json");
    std::fs::write(&input, r#"{"kind":"poster","title":"x"}"#).unwrap();
    let o = run(&[
        "render",
        "--profile",
        "sd",
        "--input",
        input.to_str().unwrap(),
        "--out",
        "/dev/null",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("bad.json is not a valid screen description"),
        "{stderr}"
    );
}

#[test]
fn the_headend_with_fonts_loaded_stays_under_80_mb() {
    let dir = tempfile::tempdir().unwrap();
    let server = e2e::Headend::start(&dir.path().join("data"), &[]).unwrap();
    let body = r#"{"kind":"notice","title":"关于做好今冬明春森林防火工作的通知","publisher":"示范县人民政府办公室","date":"2026-11-20","body":"入冬以来，我县降水偏少，林区可燃物积累较多，森林火险等级持续偏高。为切实做好今冬明春森林防火工作，现将有关事项通知如下。请各乡镇落实网格巡护责任，发现火情立即报告。"}"#;
    // Previews are for signed-in staff: anonymously refused, with a session (and the
    // session's CSRF token, as the staff pages send it) drawn.
    let (status, _) = e2e::http_post(&server.addr, "/api/v1/preview", body).unwrap();
    assert_eq!(status, 401);
    let (_, _, session) = e2e::staff_login(&server.addr, "editor", "shifan-editor-2026").unwrap();
    let cookie = format!("govchannel_session={}", session.unwrap());
    let (_, _, page) =
        e2e::http_raw(&server.addr, "GET", "/admin", &[("Cookie", &cookie)], b"").unwrap();
    let page = String::from_utf8_lossy(&page);
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with the CSRF token")
        + 19;
    let csrf = &page[at..at + page[at..].find('"').unwrap()];
    for profile in ["sd", "hd720", "hd1080"] {
        let (status, head, _) = e2e::http_raw(
            &server.addr,
            "POST",
            &format!("/api/v1/preview?profile={profile}"),
            &[
                ("Content-Type", "application/json"),
                ("Cookie", &cookie),
                ("X-CSRF-Token", csrf),
            ],
            body.as_bytes(),
        )
        .unwrap();
        assert_eq!(status, 200, "{head}");
        assert!(head.contains("content-type: image/png"), "{head}");
    }
    let rss_mib = server.rss_kib().unwrap() / 1024;
    assert!(
        rss_mib <= 80,
        "headend RSS {rss_mib} MiB with fonts loaded and three profiles rendered"
    );
}
