//! The set-top-box API of the real binary over HTTP on loopback: registration, the
//! conditional and gzipped manifest, immutable images, one vote per box, the case lookup.

use e2e::{http_raw, Headend};

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

#[test]
fn a_box_registers_fetches_its_graph_votes_once_and_looks_up_a_case() {
    let dir = tempfile::tempdir().unwrap();
    let server = Headend::start(&dir.path().join("data"), &[]).unwrap();
    let addr = server.addr.clone();
    let call = |method: &str, path: &str, headers: &[(&str, &str)], body: &str| {
        http_raw(&addr, method, path, headers, body.as_bytes()).unwrap()
    };

    let (status, _, body) = call(
        "POST",
        "/stb/v1/boxes",
        &[],
        r#"{"device":"e2e-box-1","region":"339901101201","profile":"sd"}"#,
    );
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let creds: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let (id, secret) = (
        creds["id"].as_str().unwrap().to_owned(),
        creds["secret"].as_str().unwrap().to_owned(),
    );

    let manifest_path = "/stb/v1/manifest?profile=sd&region=339901101201";
    let (status, head, gz) = call("GET", manifest_path, &[("Accept-Encoding", "gzip")], "");
    assert_eq!(status, 200);
    assert_eq!(header(&head, "content-encoding"), Some("gzip"));
    assert!(gz.len() <= 64 * 1024, "{} bytes gzipped", gz.len());
    let etag = header(&head, "etag").unwrap().to_owned();
    let (status, _, body) = call("GET", manifest_path, &[], "");
    assert_eq!(status, 200);
    let manifest: stb_like::Manifest = serde_json::from_slice(&body).unwrap();
    assert_eq!(etag, format!("\"{}\"", manifest.version));
    let (status, _, body) = call("GET", manifest_path, &[("If-None-Match", &etag)], "");
    assert_eq!((status, body.len()), (304, 0));

    let home = manifest.screens.iter().find(|s| s.id == "home").unwrap();
    let (status, head, png) = call("GET", &format!("/stb/v1/img/{}-1.png", home.image), &[], "");
    assert_eq!(status, 200);
    assert_eq!(
        header(&head, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(&png[1..4], b"PNG");

    let poll = manifest
        .screens
        .iter()
        .find_map(|s| s.id.strip_prefix("poll:"))
        .unwrap()
        .to_owned();
    let vote = format!(r#"{{"box_id":"{id}","secret":"{secret}","option":1}}"#);
    let path = format!("/stb/v1/polls/{poll}/votes");
    let (status, _, body) = call("POST", &path, &[], &vote);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, _, body) = call("POST", &path, &[], &vote);
    assert_eq!(status, 409);
    assert!(String::from_utf8_lossy(&body).contains("投过票"));

    let (status, _, body) = call(
        "POST",
        "/stb/v1/cases/lookup",
        &[],
        r#"{"case_no":"SF00000000000000"}"#,
    );
    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        answer["screen"]["kind"], "case_lookup",
        "a friendly not-found screen"
    );
    assert!(server.stop().success());
}

/// The few manifest fields this test reads (the e2e crate does not depend on the protocol
/// crate: it checks the wire format as a box would see it).
mod stb_like {
    #[derive(serde::Deserialize)]
    pub struct Manifest {
        pub version: String,
        pub screens: Vec<Screen>,
    }
    #[derive(serde::Deserialize)]
    pub struct Screen {
        pub id: String,
        pub image: String,
    }
}
