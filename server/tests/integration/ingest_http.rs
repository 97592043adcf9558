//! Feeds and exports over real HTTP on 127.0.0.1: every supported format and charset, the
//! misbehaving servers (each leaves the store as it was and records an error), conditional
//! GET, the pollers' latency and the sources API.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use headend::ingest::{FetchError, Fetcher, Hub, IngestError, ParseError, PassMode, PassOutcome};
use headend::web::{app, AppState};
use tower::ServiceExt;

use super::*;

const RSS: &str = "application/rss+xml";

#[tokio::test]
async fn rss_in_utf8_is_cleaned_linted_and_held_for_review() {
    let server = TestServer::start().await;
    server.put("/rss.xml", Page::ok(RSS, fixture("notices-utf8.rss")));
    let store = county_store().await;
    let s = spec(
        "county-notices",
        &server.url("/rss.xml"),
        "notices",
        Some("xkz"),
    );
    register(&store, &s).await;

    let r = applied(&store, &s).await;
    assert_eq!(counts(&r), (3, 0, 0, 1, 0), "{r:#?}");
    assert_eq!(r.rejections[0].key, "xy-tzgg-2026-103");
    assert_eq!(
        r.rejections[0].reason.zh(),
        "正文为空或为占位内容“无公开信息”"
    );

    let rows = texts(
        &store,
        "SELECT source_id || ' ' || kind || ' ' || department || ' ' || region || ' ' || status
         FROM notices WHERE source = 'county-notices' ORDER BY source_id",
    )
    .await;
    assert_eq!(
        rows,
        [
            "xy-tzgg-2026-101 notice xkz 339902 submitted",
            // Named by its dc:creator, a 公示 by its title.
            "xy-tzgg-2026-102 publicity mzj 339902 submitted",
            // The author is a person: the source's default body.
            "xy-tzgg-2026-104 notice xkz 339902 submitted",
        ]
    );
    let bodies = texts(
        &store,
        "SELECT body FROM notices WHERE source = 'county-notices' ORDER BY source_id",
    )
    .await;
    assert_eq!(
        bodies[0],
        "各村（社区）：\n\n因线路检修，11月24日8:00至16:00上溪村、下溪村部分农户停电，请提前做好准备。\n\n咨询电话：0579-87110002"
    );
    assert_eq!(
        bodies[1],
        "经村级评议、乡镇审核，拟对以下对象给予临时救助，现予公示：\n\n\
         姓名：陈某某；村（社区）：上溪村；救助金额（元）：1500\n\n\
         姓名：楼某某；村（社区）：下溪村；救助金额（元）：800\n\n\
         公示期为2026年11月20日至11月26日。如有异议，请向县民政局社会救助科反映。"
    );
    let all = bodies.join("\n");
    assert!(!all.contains("trackVisit") && !all.contains("border") && !all.contains('<'));

    let state = record(&store, "county-notices").await.state;
    assert!(state.last_success_at.is_some());
    assert_eq!(state.last_error, None);
    assert_eq!(state.last_report.unwrap()["added"], 3);
    let reasons = texts(
        &store,
        "SELECT reason FROM ingest_rejections WHERE source = 'county-notices'",
    )
    .await;
    assert_eq!(reasons, ["正文为空或为占位内容“无公开信息”"]);
}

#[tokio::test]
async fn rss_in_gb2312_is_decoded_from_its_declaration() {
    let server = TestServer::start().await;
    // No charset in Content-Type: only the XML declaration says gb2312.
    server.put(
        "/gg.xml",
        Page::ok("text/xml", fixture("notices-gb2312.rss")),
    );
    let store = county_store().await;
    let s = spec("xkz-gg", &server.url("/gg.xml"), "notices", Some("xkz"));
    let r = applied(&store, &s).await;
    assert_eq!(counts(&r), (2, 0, 0, 0, 0), "{r:#?}");
    let rows = texts(
        &store,
        "SELECT title || '|' || valid_from FROM notices WHERE source = 'xkz-gg' ORDER BY source_id",
    )
    .await;
    assert_eq!(
        rows,
        [
            "溪口镇2027年度城乡居民医保参保缴费提醒|2026-11-19",
            "关于做好冬季农田水利设施管护的通知|2026-11-20",
        ]
    );
}

#[tokio::test]
async fn atom_and_json_feed() {
    let server = TestServer::start().await;
    server.put(
        "/atom",
        Page::ok("application/atom+xml", fixture("notices.atom")),
    );
    server.put(
        "/feed.json",
        Page::ok("application/feed+json", fixture("notices.json")),
    );
    let store = county_store().await;

    let atom = spec("mzj-atom", &server.url("/atom"), "notices", None);
    let r = applied(&store, &atom).await;
    assert_eq!(counts(&r), (2, 0, 0, 0, 0), "{r:#?}");
    let rows = texts(
        &store,
        "SELECT title || '|' || department || '|' || body FROM notices WHERE source = 'mzj-atom' ORDER BY source_id",
    )
    .await;
    assert_eq!(
        rows,
        [
            "关于开展2026年度高龄津贴资格认证的通知|mzj|请享受高龄津贴的老年人或其家属于12月15日前到所在村代办点完成资格认证。\n\n行动不便的，可电话预约工作人员上门认证。",
            "关于调整城乡低保标准的公告|mzj|自2027年1月1日起，城乡低保标准提高到每人每月1180元。",
        ]
    );

    let json = spec("xkz-json", &server.url("/feed.json"), "notices", None);
    let r = applied(&store, &json).await;
    assert_eq!(counts(&r), (2, 0, 0, 1, 0), "{r:#?}");
    assert_eq!(r.rejections[0].reason.code(), "placeholder_title");
    let rows = texts(
        &store,
        "SELECT department || '|' || body FROM notices WHERE source = 'xkz-json' ORDER BY source_id",
    )
    .await;
    assert_eq!(
        rows,
        [
            "xkz|11月25日至27日，溪口镇卫生院为65周岁以上老年人免费体检。\n\n请携带身份证和医保卡，空腹前往。",
            "xkz|为方便外出务工人员办事，11月28日（周六）便民服务中心照常办公。\n\n办公时间：8:30至12:00。",
        ]
    );
}

#[tokio::test]
async fn a_gb18030_catalogue_export_with_bom() {
    let server = TestServer::start().await;
    server.put(
        "/catalogue.csv",
        Page::ok("text/csv", fixture("catalogue-gb18030.csv")),
    );
    let store = county_store().await;
    let s = spec(
        "catalogue",
        &server.url("/catalogue.csv"),
        "catalogue",
        None,
    );
    let r = applied(&store, &s).await;
    assert_eq!(counts(&r), (3, 0, 0, 3, 0), "{r:#?}");
    let reasons: Vec<_> = r
        .rejections
        .iter()
        .map(|x| (x.key.as_str(), x.reason.zh()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "339902-xkz-2026-00104",
                "标题为占位内容“无公开信息”".to_owned()
            ),
            (
                "339902-xkz-2026-00105",
                "主题分类“财政预决算”未登记".to_owned()
            ),
            (
                "339902-mzj-2026-00001",
                "编号“339902-mzj-2026-00001”已被本地或其他来源的条目使用".to_owned()
            ),
        ]
    );
    let rows = texts(
        &store,
        "SELECT index_no || '|' || kind || '|' || department || '|' || subject || '|' || issued_on || '|' || ifnull(power_type, '-')
         FROM catalogue_entries WHERE source = 'catalogue' ORDER BY index_no",
    )
    .await;
    assert_eq!(
        rows,
        [
            "339902-mzj-2026-00101|disclosure|mzj|11|2026-11-10|-",
            "339902-mzj-2026-00102|power|mzj|11|2026-11-10|行政给付",
            "339902-xkz-2026-00103|service|xkz|11|2026-11-12|-",
        ]
    );
    let audiences = texts(
        &store,
        "SELECT group_concat(a.audience, ',') FROM catalogue_audiences a JOIN catalogue_entries e ON e.id = a.entry_id
         WHERE e.index_no = '339902-mzj-2026-00102'",
    )
    .await;
    assert_eq!(audiences, ["elderly,individual"]);
    // The local entry with the same 索引号 is untouched.
    let local = texts(
        &store,
        "SELECT title FROM catalogue_entries WHERE index_no = '339902-mzj-2026-00001'",
    )
    .await;
    assert_eq!(local, ["小样县2026年城乡最低生活保障标准"]);
}

#[tokio::test]
async fn case_exports_as_csv_and_json() {
    let server = TestServer::start().await;
    server.put(
        "/cases.csv",
        Page::ok("text/csv; charset=utf-8", fixture("cases.csv")),
    );
    server.put(
        "/cases.json",
        Page::ok("application/json", fixture("cases.json")),
    );
    let store = county_store().await;

    let csv = spec("cases-csv", &server.url("/cases.csv"), "cases", None);
    let r = applied(&store, &csv).await;
    assert_eq!(counts(&r), (3, 0, 0, 2, 0), "{r:#?}");
    let codes: Vec<_> = r
        .rejections
        .iter()
        .map(|x| (x.key.as_str(), x.reason.code()))
        .collect();
    assert_eq!(
        codes,
        [
            ("SF20261115000205", "bad_value"),
            ("SF20261101000001", "key_taken")
        ]
    );
    let rows = texts(
        &store,
        "SELECT case_no || '|' || ifnull(entry_id, '-') || '|' || item_title || '|' || department || '|' || status || '|' || ifnull(completed_on, '-')
         FROM cases WHERE source = 'cases-csv' ORDER BY case_no",
    )
    .await;
    assert_eq!(
        rows,
        [
            "SF20261115000201|2|最低生活保障审批|mzj|in_progress|-",
            "SF20261115000202|3|高龄津贴申领|xkz|completed|2026-11-19",
            "SF20261115000203|3|高龄津贴申领|xkz|awaiting_materials|-",
        ]
    );

    let json = spec("cases-json", &server.url("/cases.json"), "cases", None);
    let r = applied(&store, &json).await;
    assert_eq!(counts(&r), (2, 0, 0, 1, 0), "{r:#?}");
    let rows = texts(
        &store,
        "SELECT case_no || '|' || item_title || '|' || received_on || '|' || status FROM cases WHERE source = 'cases-json' ORDER BY case_no",
    )
    .await;
    assert_eq!(
        rows,
        [
            "SF20261118000101|最低生活保障审批|2026-11-18|in_progress",
            "SF20261118000102|高龄津贴申领|2026-11-18|completed",
        ]
    );
}

/// Loads the UTF-8 RSS through `path` on `server`, then asserts that the next pass fails
/// with `expected`, leaves the content as it was and records the error.
async fn bad_case(
    server: &TestServer,
    name: &str,
    url: String,
    timeout: Option<u64>,
    expected: impl Fn(&IngestError) -> bool,
) -> String {
    let store = &county_store().await;
    let mut s = spec(name, &url, "notices", Some("xkz"));
    if let Some(t) = timeout {
        s.timeout = Duration::from_secs(t);
    }
    register(store, &s).await;
    // Good content first, from a good path of the same source.
    let mut good = s.clone();
    good.location = headend::ingest::Location::parse(&server.url("/rss.xml")).unwrap();
    let r = applied(store, &good).await;
    assert_eq!(r.added, 3);
    let success = record(store, name).await.state.last_success_at;
    let before = content(store).await;

    let err = pass(store, &s, PassMode::Full).await.unwrap_err();
    assert!(expected(&err), "{name}: unexpected error {err:?}");
    assert_eq!(content(store).await, before, "{name}: content changed");
    let state = record(store, name).await.state;
    assert_eq!(state.consecutive_failures, 1, "{name}");
    assert_eq!(state.last_success_at, success, "{name}");
    assert!(state.last_error_at.is_some(), "{name}");
    assert!(state.next_attempt().is_some(), "{name}");
    state.last_error.unwrap()
}

#[tokio::test]
async fn truncated_xml_wrong_charset_http_500_and_html_pages_change_nothing() {
    let server = TestServer::start().await;
    server.put("/rss.xml", Page::ok(RSS, fixture("notices-utf8.rss")));
    let full = fixture("notices-utf8.rss");
    server.put(
        "/cut.xml",
        Page::ok(RSS, full[..full.len() * 2 / 3].to_vec()),
    );
    // Declared UTF-8 in the XML, actually GB2312 bytes.
    let gb = fixture("notices-gb2312.rss");
    let lying = String::from_utf8_lossy(&gb[..40]).replace("gb2312", "utf-8");
    let mut wrong = lying.into_bytes();
    wrong.extend_from_slice(&gb[40..]);
    server.put("/wrong.xml", Page::ok("text/xml", wrong));
    // Declared GB2312 over HTTP and in XML, actually UTF-8.
    let utf8_as_gb = String::from_utf8(full.clone())
        .unwrap()
        .replace("encoding=\"UTF-8\"", "encoding=\"gb2312\"");
    server.put(
        "/mislabelled.xml",
        Page::ok("text/xml; charset=gb2312", utf8_as_gb),
    );
    let mut e500 = Page::ok("text/html", "<h1>500 Internal Server Error</h1>");
    e500.status = 500;
    server.put("/500", e500);
    server.put(
        "/waf.html",
        Page::ok(
            "text/html; charset=utf-8",
            "<!doctype html><html><head><script>location.href='/verify?'+Math.random()</script></head><body>正在验证您的浏览器……</body></html>",
        ),
    );

    let e = bad_case(&server, "cut", server.url("/cut.xml"), None, |e| {
        matches!(e, IngestError::Parse(ParseError::Feed(_)))
    })
    .await;
    assert!(e.starts_with("订阅源格式错误或内容不完整"), "{e}");

    let e = bad_case(&server, "wrong", server.url("/wrong.xml"), None, |e| {
        matches!(e, IngestError::Parse(ParseError::Charset(_)))
    })
    .await;
    assert!(e.contains("与声明的字符集 UTF-8 不符"), "{e}");

    let e = bad_case(
        &server,
        "mislabelled",
        server.url("/mislabelled.xml"),
        None,
        |e| matches!(e, IngestError::Parse(ParseError::Charset(_))),
    )
    .await;
    assert!(e.contains("内容实为 UTF-8"), "{e}");

    let e = bad_case(&server, "e500", server.url("/500"), None, |e| {
        matches!(
            e,
            IngestError::Fetch(FetchError::Status { status: 500, .. })
        )
    })
    .await;
    assert!(e.starts_with("来源服务器返回错误状态 HTTP 500"), "{e}");

    let e = bad_case(&server, "waf", server.url("/waf.html"), None, |e| {
        matches!(e, IngestError::Parse(ParseError::Feed(_)))
    })
    .await;
    assert!(e.contains("无法解析"), "{e}");
}

/// A server that accepts connections and never answers; returns its address.
fn silent_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(8) {
            // Keep the socket open, read nothing, answer nothing.
            held.push(stream);
        }
    });
    addr
}

/// A server that streams a 10 MB chunked body with no Content-Length.
fn chunked_flood_server() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n\r\n",
                );
                let chunk = vec![b'x'; 64 * 1024];
                for _ in 0..160 {
                    let head = format!("{:x}\r\n", chunk.len());
                    if stream.write_all(head.as_bytes()).is_err()
                        || stream.write_all(&chunk).is_err()
                        || stream.write_all(b"\r\n").is_err()
                    {
                        return;
                    }
                }
                let _ = stream.write_all(b"0\r\n\r\n");
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = TestServer::start().await;
    server.put("/rss.xml", Page::ok(RSS, fixture("notices-utf8.rss")));
    let silent = silent_server();
    let started = Instant::now();
    let e = bad_case(
        &server,
        "silent",
        format!("http://{silent}/rss.xml"),
        Some(1),
        |e| matches!(e, IngestError::Fetch(FetchError::Timeout { .. })),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(e.starts_with("来源服务器在1秒内没有完整应答"), "{e}");
}

#[tokio::test]
async fn a_10_mb_body_is_refused_with_or_without_content_length() {
    let server = TestServer::start().await;
    server.put("/rss.xml", Page::ok(RSS, fixture("notices-utf8.rss")));
    server.put("/big.xml", Page::ok(RSS, vec![b' '; 10 * 1024 * 1024]));
    let e = bad_case(&server, "big", server.url("/big.xml"), None, |e| {
        matches!(
            e,
            IngestError::Fetch(FetchError::TooLarge {
                limit: 8_388_608,
                ..
            })
        )
    })
    .await;
    assert!(e.starts_with("来源内容超过大小上限"), "{e}");

    let flood = chunked_flood_server();
    bad_case(
        &server,
        "flood",
        format!("http://{flood}/rss.xml"),
        None,
        |e| matches!(e, IngestError::Fetch(FetchError::TooLarge { .. })),
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_server_and_backoff() {
    let store = county_store().await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = spec(
        "down",
        &format!("http://{closed}/rss.xml"),
        "notices",
        Some("xkz"),
    );
    register(&store, &s).await;
    for n in 1..=3u32 {
        let before = chrono::Utc::now();
        let err = pass(&store, &s, PassMode::Conditional).await.unwrap_err();
        assert!(
            matches!(err, IngestError::Fetch(FetchError::Connect { .. })),
            "{err:?}"
        );
        let state = record(&store, "down").await.state;
        assert_eq!(state.consecutive_failures, n);
        assert!(state
            .last_error
            .as_deref()
            .unwrap()
            .starts_with("无法连接来源服务器"));
        // 60 s, 120 s, 240 s after the failure.
        let wait = state.next_attempt().unwrap().signed_duration_since(before);
        let expected = 60 * 2i64.pow(n - 1);
        assert!(
            (expected - 1..=expected + 5).contains(&wait.num_seconds()),
            "failure {n}: next attempt in {wait}"
        );
    }
}

#[tokio::test]
async fn conditional_get_sends_validators_and_a_304_changes_nothing() {
    let server = TestServer::start().await;
    server.put(
        "/rss.xml",
        Page::ok(RSS, fixture("notices-utf8.rss"))
            .with_validators("\"v1-9f2c\"", "Fri, 20 Nov 2026 03:00:00 GMT"),
    );
    let store = county_store().await;
    let s = spec("cond", &server.url("/rss.xml"), "notices", Some("xkz"));
    register(&store, &s).await;

    let first = pass(&store, &s, PassMode::Conditional).await.unwrap();
    assert!(
        matches!(first, PassOutcome::Applied(ref r) if r.added == 3),
        "{first:?}"
    );
    let state = record(&store, "cond").await.state;
    assert_eq!(state.etag.as_deref(), Some("\"v1-9f2c\""));
    let before = content(&store).await;

    let second = pass(&store, &s, PassMode::Conditional).await.unwrap();
    assert_eq!(second, PassOutcome::NotModified);
    let seen = server.requests("/rss.xml");
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].if_none_match, None,
        "the first request is unconditional"
    );
    assert_eq!(seen[1].if_none_match.as_deref(), Some("\"v1-9f2c\""));
    assert_eq!(
        seen[1].if_modified_since.as_deref(),
        Some("Fri, 20 Nov 2026 03:00:00 GMT")
    );
    assert_eq!(content(&store).await, before);
    let state = record(&store, "cond").await.state;
    assert_eq!(
        serde_json::to_value(state.last_outcome).unwrap(),
        "not_modified"
    );
    assert_eq!(
        state.last_report.unwrap()["added"],
        3,
        "the last pass's counts stay"
    );

    // A full pass (an import) ignores the validators.
    let third = pass(&store, &s, PassMode::Full).await.unwrap();
    assert!(
        matches!(third, PassOutcome::Applied(ref r) if r.unchanged == 3),
        "{third:?}"
    );
    assert_eq!(server.requests("/rss.xml")[2].if_none_match, None);
}

fn one_item_feed(items: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>溪口镇</title>",
    );
    for (guid, title) in items {
        s.push_str(&format!(
            "<item><guid>{guid}</guid><title>{title}</title><description>{title}的具体安排请留意村广播。</description></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pollers_bring_a_new_item_into_the_store_within_interval_plus_2_seconds() {
    let server = TestServer::start().await;
    server.put(
        "/live.xml",
        Page::ok(RSS, one_item_feed(&[("a1", "溪口镇冬季征兵报名开始")])),
    );
    let store = county_store().await;
    let hub = Hub::new(
        store.clone(),
        Fetcher::new(Duration::from_secs(2), headend::ingest::Reach::anywhere()).unwrap(),
    );
    assert_eq!(hub.start_pollers().await.unwrap(), 0);
    let mut s = spec("live", &server.url("/live.xml"), "notices", Some("xkz"));
    s.interval = Duration::from_secs(1);
    assert!(hub.create(s, "test").await.unwrap());

    let count = |guid: &'static str| {
        let store = store.clone();
        move || {
            let store = store.clone();
            async move {
                store
                    .call(move |c| {
                        Ok(c.query_row(
                            "SELECT count(*) FROM notices WHERE source = 'live' AND source_id = ?1",
                            [guid],
                            |r| r.get::<_, i64>(0),
                        )?)
                    })
                    .await
                    .unwrap()
                    == 1
            }
        }
    };
    wait_for(Duration::from_secs(10), "the first item", count("a1")).await;

    // The platform publishes a second item now.
    server.put(
        "/live.xml",
        Page::ok(
            RSS,
            one_item_feed(&[
                ("a1", "溪口镇冬季征兵报名开始"),
                ("a2", "溪口镇集中供暖试运行"),
            ]),
        ),
    );
    let latency = wait_for(Duration::from_secs(10), "the second item", count("a2")).await;
    println!("ingest latency with a 1 s interval: {latency:?}");
    assert!(
        latency <= Duration::from_secs(3),
        "latency {latency:?} > interval + 2 s"
    );

    // The poller keeps polling on its interval: requests are about a second apart.
    let seen = server.requests("/live.xml");
    assert!(seen.len() >= 2);
    for pair in seen.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(900),
            "polled too often: {gap:?}"
        );
    }
    // Deleting the source stops its poller; the content stays.
    assert!(hub.delete("live", "test").await.unwrap());
    let polls = server.requests("/live.xml").len();
    let stopped = Instant::now();
    wait_for(Duration::from_secs(5), "2.5 s without polls", || async {
        stopped.elapsed() > Duration::from_millis(2500)
    })
    .await;
    assert_eq!(server.requests("/live.xml").len(), polls);
    assert!(count("a2")().await);
}

async fn call(
    state: &AppState,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

const TOKEN: &str = "test-admin-token-0123456789";

#[tokio::test]
async fn the_sources_api() {
    let server = TestServer::start().await;
    server.put("/rss.xml", Page::ok(RSS, fixture("notices-utf8.rss")));
    let store = county_store().await;
    let hub = Hub::new(
        store.clone(),
        Fetcher::new(Duration::from_secs(2), headend::ingest::Reach::anywhere()).unwrap(),
    );
    let source = serde_json::json!({
        "name": "county-notices", "url": server.url("/rss.xml"), "kind": "notices",
        "department": "xkz", "interval": 300
    });

    // Without a configured shared token, a bearer token must be a user's API token.
    let closed = AppState::new(store.clone()).with_ingest(hub.clone(), None);
    let (status, body) = call(
        &closed,
        "POST",
        "/api/v1/sources",
        Some(TOKEN),
        Some(source.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"].as_str().unwrap().contains("接口令牌"),
        "{body}"
    );

    let state = AppState::new(store.clone()).with_ingest(hub.clone(), Some(TOKEN.to_owned()));
    let (status, _) = call(
        &state,
        "POST",
        "/api/v1/sources",
        None,
        Some(source.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &state,
        "POST",
        "/api/v1/sources",
        Some("wrong-token-0123456789"),
        Some(source.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(
        &state,
        "POST",
        "/api/v1/sources",
        Some(TOKEN),
        Some(serde_json::json!({"name": "Bad Name", "url": "x", "kind": "notices"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("采集来源设置有误"),
        "{body}"
    );

    let (status, body) = call(
        &state,
        "POST",
        "/api/v1/sources",
        Some(TOKEN),
        Some(source.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["origin"], "api");
    assert_eq!(body["interval"], 300);
    let (status, _) = call(
        &state,
        "POST",
        "/api/v1/sources",
        Some(TOKEN),
        Some(source.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, body) = call(
        &state,
        "POST",
        "/api/v1/sources/county-notices/poll",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "applied");
    assert_eq!(body["added"], 3);
    assert_eq!(
        body["rejections"][0]["reason"],
        "正文为空或为占位内容“无公开信息”"
    );

    // Reads need staff credentials (source URLs are internal).
    let (status, _) = call(&state, "GET", "/api/v1/sources", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(&state, "GET", "/api/v1/sources", Some(TOKEN), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["name"], "county-notices");
    assert!(body[0]["state"]["last_success_at"].is_string(), "{body}");
    let (status, body) = call(
        &state,
        "GET",
        "/api/v1/sources/county-notices",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["rejections"][0]["code"], "placeholder_body");
    assert_eq!(body["state"]["last_report"]["added"], 3);

    // A broken URL: the poll answers 502 with the recorded error; the content stays.
    let mut broken = source.clone();
    broken["url"] = serde_json::json!(server.url("/gone.xml"));
    broken.as_object_mut().unwrap().remove("name");
    let (status, body) = call(
        &state,
        "PUT",
        "/api/v1/sources/county-notices",
        Some(TOKEN),
        Some(broken),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"]["etag"], serde_json::Value::Null);
    let (status, body) = call(
        &state,
        "POST",
        "/api/v1/sources/county-notices/poll",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(
        body["error"].as_str().unwrap().contains("HTTP 404"),
        "{body}"
    );
    let (_, body) = call(
        &state,
        "GET",
        "/api/v1/sources/county-notices",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(body["state"]["consecutive_failures"], 1);
    assert!(body["state"]["last_error"]
        .as_str()
        .unwrap()
        .contains("HTTP 404"));
    assert!(body["state"]["last_success_at"].is_string());

    let (status, _) = call(
        &state,
        "DELETE",
        "/api/v1/sources/county-notices",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(
        &state,
        "GET",
        "/api/v1/sources/county-notices",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().contains("county-notices"));
    let (status, _) = call(
        &state,
        "POST",
        "/api/v1/sources/county-notices/poll",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let kept = texts(
        &store,
        "SELECT count(*) FROM notices WHERE source = 'county-notices'",
    )
    .await;
    assert_eq!(kept, ["3"], "deleting a source keeps its content");

    // An app without ingest answers 503 (to staff: anonymous callers learn nothing).
    let bare = AppState::new(store.clone());
    let (status, _) = call(&bare, "GET", "/api/v1/sources", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token = store
        .call(|conn| {
            use headend::accounts::{self, Grant, NewUser, Role};
            let grants = [Grant {
                role: Role::Operator,
                department: None,
            }];
            let user = NewUser {
                name: "op",
                display_name: "",
                password_hash: "$unused",
                grants: &grants,
                must_change: false,
            };
            let now = chrono::Utc::now();
            let id = accounts::add_user(conn, &user, "test", now).unwrap();
            Ok(accounts::create_token(conn, id, "test", now).unwrap().1)
        })
        .await
        .unwrap();
    let (status, _) = call(&bare, "GET", "/api/v1/sources", Some(&token), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
