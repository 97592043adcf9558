//! The set-top-box screen graph, its images and bundles: graph checks over the demo
//! county, and the `/stb/v1` routes of the production route table.

use std::collections::{HashMap, HashSet};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::{DateTime, FixedOffset, TimeZone};
use headend::render::{Profile, Renderer};
use headend::stb;
use headend::store::Store;
use headend::web::{app, AppState};
use stb_protocol::{Action, Key, Manifest};
use tower::ServiceExt;

use crate::mini_store;

fn now() -> DateTime<FixedOffset> {
    headend::content::county_offset()
        .with_ymd_and_hms(2026, 11, 22, 9, 30, 0)
        .single()
        .unwrap()
}

/// A village of the demo county, its town, and another village of another town.
const VILLAGE: &str = "339901101201";

// Graph checks over the whole demo county: a village, a town of another branch and the
// county, each in every profile.

#[test]
fn a_village_graph_of_the_demo_county_passes_every_check_in_every_profile() {
    graph_checks(VILLAGE);
}

#[test]
fn a_town_graph_passes_every_check_in_every_profile() {
    graph_checks("339901102");
}

#[test]
fn the_county_graph_passes_every_check_in_every_profile() {
    graph_checks("339901");
}

/// Loads the demo county once, then checks the region's graph in every profile.
fn graph_checks(region: &'static str) {
    let store = Store::open_in_memory().unwrap();
    let county = headend::demo::embedded().unwrap();
    let (content, foreign) = store
        .call_blocking(move |c| {
            headend::demo::load(c, &county, now().date_naive()).unwrap();
            let content = stb::content::read(c, region, now()).unwrap();
            // Notices addressed to regions neither above nor below this one.
            let mut stmt = c.prepare(
                "WITH RECURSIVE
                   up(code, parent) AS (SELECT code, parent FROM regions WHERE code = ?1
                     UNION SELECT r.code, r.parent FROM regions r JOIN up ON r.code = up.parent),
                   down(code) AS (SELECT code FROM regions WHERE code = ?1
                     UNION SELECT r.code FROM regions r JOIN down ON r.parent = down.code)
                 SELECT n.id FROM notices n
                 WHERE n.region NOT IN (SELECT code FROM up) AND n.region NOT IN (SELECT code FROM down)",
            )?;
            let foreign: Vec<i64> = stmt
                .query_map([region], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok((content, foreign))
        })
        .unwrap();
    assert_eq!(
        foreign.is_empty(),
        region == "339901",
        "only the county sees every notice"
    );
    let renderer = Renderer::new().unwrap();
    for &profile in Profile::ALL {
        let built = stb::build(&content, profile, &renderer);
        check_graph(region, profile, &built, &foreign);
        if profile == Profile::Sd {
            no_personal_data_on_screen(region, &built, &renderer);
        }
    }
}

/// No page of any screen shows an ID, mobile or bank card number unmasked: the text of
/// every page (lines joined, so that a number broken over two lines is seen whole) passes
/// the confidentiality scan. The demo's public lists and cases hold such numbers.
fn no_personal_data_on_screen(region: &str, built: &stb::Built, renderer: &Renderer) {
    let mut screens = HashSet::new();
    let mut pages = 0;
    for image in &built.images {
        if !screens.insert(image.hash) {
            continue;
        }
        for layout in renderer.layout(&image.screen, image.profile) {
            pages += 1;
            let text: String = layout.lines.iter().map(|l| l.text.as_str()).collect();
            let found = headend::mask::scan(&text, &[]);
            assert!(
                found.is_empty(),
                "{region}: unmasked personal data {found:?} on page {} of {text}",
                layout.page
            );
        }
    }
    eprintln!(
        "region {region}: {pages} pages of {} screens scanned for personal data",
        screens.len()
    );
    assert!(pages > 100, "{pages} pages");
}

fn check_graph(region: &str, profile: Profile, built: &stb::Built, foreign: &[i64]) {
    let m = &built.manifest;
    let problems = m.check();
    assert!(problems.is_empty(), "{region} {profile:?}: {problems:#?}");
    let ids: HashSet<&str> = m.screens.iter().map(|s| s.id.as_str()).collect();
    for id in foreign {
        assert!(
            !ids.contains(format!("notice:{id}").as_str()),
            "notice {id} of another village ({profile:?})"
        );
    }
    // Every kind of content is there and reachable by digits (and paging).
    for kind in [
        "notice",
        "entry",
        "guide",
        "flow",
        "poll",
        "case_lookup",
        "help",
    ] {
        assert!(
            m.screens.iter().any(|s| s.kind == kind),
            "no {kind} screen ({region} {profile:?})"
        );
    }
    let presses = m.digit_presses();
    let content_screens: Vec<&str> = m
        .screens
        .iter()
        .filter(|s| s.id != "home")
        .map(|s| s.id.as_str())
        .collect();
    for id in &content_screens {
        assert!(
            presses.contains_key(*id),
            "{id} cannot be reached by digits and paging ({region} {profile:?})"
        );
    }
    let within3 = content_screens
        .iter()
        .filter(|id| presses.get(**id).is_some_and(|p| *p <= 3))
        .count();
    let max = presses.values().max().copied().unwrap_or(0);
    // Served gzipped (best compression, as the API does): at most 64 KB for any region.
    let gzipped = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&built.json).unwrap();
        enc.finish().unwrap().len()
    };
    eprintln!(
        "region {region}, {profile:?}: {} screens, {} images, {within3} of {} within 3 presses, at most {max}; manifest {} bytes, {gzipped} gzipped",
        m.screens.len(),
        built.images.len(),
        content_screens.len(),
        built.json.len()
    );
    assert!(
        gzipped <= 64 * 1024,
        "{region} {profile:?}: {gzipped} bytes gzipped"
    );
    // Sections are one digit from home; an item is as many more as its section's index
    // has levels (sections of up to 9 items: 1, up to 81: 2, up to 729: 3); a guide or
    // flow is one more than its entry. See docs/architecture.md for why three presses for
    // everything cannot be had.
    assert_eq!(presses.get("section:notices"), Some(&1));
    assert_eq!(presses.get("case_lookup"), Some(&1));
    assert_eq!(presses.get("help"), Some(&1));
    let mut levels: HashMap<&str, u32> = HashMap::new();
    for s in &m.screens {
        let Some(section) = s.id.strip_prefix("section:") else {
            continue;
        };
        let name = section.split(':').next().unwrap();
        let depth = section.split(':').count() as u32;
        let level = levels.entry(name).or_insert(1);
        *level = (*level).max(depth);
        // Every list a box shows offers all its items by digit, on every page.
        let items: HashSet<String> = s
            .pages
            .iter()
            .flat_map(|p| p.focus.iter())
            .map(|f| format!("{:?}", f.action))
            .collect();
        assert!(items.len() <= 9, "{}: {} items", s.id, items.len());
        for page in &s.pages {
            let digits: HashSet<String> = page
                .keys
                .iter()
                .filter(|b| matches!(b.key, Key::Digit(1..=9)))
                .map(|b| format!("{:?}", b.action))
                .collect();
            assert_eq!(digits, items, "{}: digits on a page", s.id);
        }
    }
    let section_of = |id: &str| -> Option<&str> {
        match id.split(':').next()? {
            "notice" => Some("notices"),
            "poll" => Some("polls"),
            "case" => Some("cases_today"),
            _ => None,
        }
    };
    let entry_sections: HashMap<String, &str> =
        m.screens
            .iter()
            .filter_map(|s| {
                let section = s.id.strip_prefix("section:")?.split(':').next()?;
                Some(s.pages.iter().flat_map(|p| p.keys.iter()).filter_map(
                    move |b| match &b.action {
                        Action::Go { screen } if screen.starts_with("entry:") => {
                            Some((screen.clone(), section))
                        }
                        _ => None,
                    },
                ))
            })
            .flatten()
            .collect();
    let mut bounded = 0;
    for s in &m.screens {
        let (kind, id) = s.id.split_once(':').unwrap_or((s.id.as_str(), ""));
        let bound = match kind {
            "notice" | "poll" | "case" => 1 + levels[section_of(&s.id).unwrap()],
            "entry" => 1 + levels[entry_sections[&s.id]],
            "guide" | "flow" => 2 + levels[entry_sections[&format!("entry:{id}")]],
            "vote" => 2 + levels["polls"],
            _ => continue,
        };
        let got = presses[&s.id];
        assert!(
            got <= bound,
            "{}: {got} presses > {bound} ({region} {profile:?})",
            s.id
        );
        bounded += 1;
    }
    assert!(bounded > 100, "{bounded} items checked");
    // The demo's sections: notices and 信息公开 up to 81 items, 行政职权 more.
    if levels.get("power").is_some_and(|l| *l > 1) {
        assert!(max <= 5, "at most {max} presses ({region} {profile:?})");
    }
    // The polls' options vote.
    let poll = m.screens.iter().find(|s| s.kind == "poll").unwrap();
    assert!(poll.pages[0]
        .keys
        .iter()
        .any(|b| matches!(b.action, Action::Vote { option: 1, .. })));
    // The case lookup takes digits into its field and submits with OK.
    let lookup = m.screen("case_lookup").unwrap();
    assert!(lookup.entry.is_some());
}

async fn send(
    state: &AppState,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app(state.clone()).oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .unwrap();
    (status, headers, body.to_vec())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn the_manifest_is_conditional_gzipped_and_its_images_immutable() {
    let store = tokio::task::spawn_blocking(fresh_mini_store).await.unwrap();
    let state = AppState::new(store);
    let path = "/stb/v1/manifest?profile=sd&region=339902101201";
    let (status, headers, body) = send(&state, get(path)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    let manifest: Manifest = serde_json::from_slice(&body).unwrap();
    assert_eq!(etag, format!("\"{}\"", manifest.version));
    assert!(manifest.check().is_empty(), "{:#?}", manifest.check());
    assert_eq!(manifest.region, "339902101201");
    assert!(
        manifest.screens.iter().any(|s| s.kind == "notice"),
        "the village's notice is on the box"
    );

    // Conditional: 304 with no body.
    let (status, headers, body) = send(
        &state,
        Request::get(path)
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(headers[header::ETAG], etag.as_str());
    assert!(body.is_empty());

    // gzip when accepted: the same JSON.
    let (status, headers, gz) = send(
        &state,
        Request::get(path)
            .header(header::ACCEPT_ENCODING, "gzip, deflate")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).unwrap();
    assert_eq!(
        serde_json::from_slice::<Manifest>(&plain).unwrap(),
        manifest
    );

    // Every image: an immutable indexed PNG of the profile's size.
    let screen = manifest.screen("home").unwrap();
    let name = screen.page_image(0);
    let (status, headers, png) = send(&state, get(&format!("/stb/v1/img/{name}.png"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let decoder = png::Decoder::new(std::io::Cursor::new(&png[..]));
    let info = decoder.read_info().unwrap();
    assert_eq!(info.info().color_type, png::ColorType::Indexed);
    assert_eq!((info.info().width, info.info().height), (720, 576));

    // A change in the store changes the version on the next request.
    let store = state.store.clone();
    store
        .call(|c| {
            c.execute(
                "UPDATE notices SET status = 'withdrawn' WHERE region = '339902101201'",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let (_, headers, body) = send(&state, get(path)).await;
    let after: Manifest = serde_json::from_slice(&body).unwrap();
    assert_ne!(after.version, manifest.version);
    assert_ne!(headers[header::ETAG], etag.as_str());
    assert!(
        after.screens.len() < manifest.screens.len(),
        "the notice left"
    );
}

#[tokio::test]
async fn bad_requests_get_a_chinese_message_and_change_nothing() {
    let store = tokio::task::spawn_blocking(mini_store).await.unwrap();
    let state = AppState::new(store);
    for (path, status) in [
        (
            "/stb/v1/manifest?profile=4k&region=339902",
            StatusCode::BAD_REQUEST,
        ),
        ("/stb/v1/manifest?region=339902", StatusCode::BAD_REQUEST),
        ("/stb/v1/manifest?profile=sd", StatusCode::BAD_REQUEST),
        (
            "/stb/v1/manifest?profile=sd&region=12%3Bdrop",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/stb/v1/manifest?profile=sd&region=999999",
            StatusCode::NOT_FOUND,
        ),
        ("/stb/v1/img/not-a-hash.png", StatusCode::NOT_FOUND),
        (
            "/stb/v1/img/0123456789abcdef0123456789abcdef-1.png",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (got, _, body) = send(&state, get(path)).await;
        assert_eq!(got, status, "{path}");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let msg = v["error"].as_str().unwrap();
        assert!(
            msg.chars().any(headend::render::text::is_han),
            "{path}: {msg}"
        );
    }
}

#[tokio::test]
async fn a_bundle_is_byte_identical_to_what_the_api_serves() {
    let store = tokio::task::spawn_blocking(mini_store).await.unwrap();
    let state = AppState::new(store.clone());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_owned();
    let county_now = chrono::Utc::now().with_timezone(&headend::content::county_offset());
    let report = tokio::task::spawn_blocking(move || {
        stb::bundle::write(&store, "339902101", Profile::Sd, county_now, &out).unwrap()
    })
    .await
    .unwrap();
    let (status, _, body) = send(&state, get("/stb/v1/manifest?profile=sd&region=339902101")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        std::fs::read(dir.path().join("manifest.json")).unwrap(),
        body
    );
    let manifest: Manifest = serde_json::from_slice(&body).unwrap();
    assert_eq!(report.version, manifest.version);
    let mut files = 0;
    for screen in &manifest.screens {
        for i in 0..screen.pages.len() {
            let name = format!("{}.png", screen.page_image(i));
            let (status, _, png) = send(&state, get(&format!("/stb/v1/img/{name}"))).await;
            assert_eq!(status, StatusCode::OK, "{name}");
            assert_eq!(
                std::fs::read(dir.path().join("img").join(&name)).unwrap(),
                png,
                "{name}"
            );
            files += 1;
        }
    }
    assert_eq!(files, report.images);
    assert_eq!(
        std::fs::read_dir(dir.path().join("img")).unwrap().count(),
        files
    );
}

/// The mini county loaded as of the county's today (so its poll is open now).
fn fresh_mini_store() -> Store {
    let store = Store::open_in_memory().unwrap();
    let county: headend::demo::County = serde_json::from_str(crate::MINI_COUNTY).unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&headend::content::county_offset())
        .date_naive();
    store
        .call_blocking(move |conn| Ok(headend::demo::load(conn, &county, today)))
        .unwrap()
        .unwrap();
    store
}

fn post(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn chinese(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    let msg = v["error"].as_str().unwrap().to_owned();
    assert!(msg.chars().any(headend::render::text::is_han), "{msg}");
    msg
}

#[tokio::test]
async fn boxes_register_vote_once_look_up_cases_and_report_views() {
    let store = tokio::task::spawn_blocking(fresh_mini_store).await.unwrap();
    let state = AppState::new(store.clone());
    let (status, _, body) = send(
        &state,
        post(
            "/stb/v1/boxes",
            r#"{"device":"stb-0001","region":"339902101201","profile":"sd"}"#,
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let creds: stb_protocol::BoxCredentials = serde_json::from_slice(&body).unwrap();
    assert!(creds.id.starts_with("box-") && creds.secret.len() == 32);
    // Registering again: same id, new secret; the old one stops working.
    let (_, _, body) = send(
        &state,
        post(
            "/stb/v1/boxes",
            r#"{"device":"stb-0001","region":"339902101201","profile":"sd"}"#,
        ),
    )
    .await;
    let again: stb_protocol::BoxCredentials = serde_json::from_slice(&body).unwrap();
    assert_eq!(again.id, creds.id);
    assert_ne!(again.secret, creds.secret);

    let poll: i64 = store
        .call(|c| Ok(c.query_row("SELECT id FROM polls", [], |r| r.get(0))?))
        .await
        .unwrap();
    let votes = || {
        let store = store.clone();
        async move {
            store
                .call(move |c| {
                    Ok(c.query_row(
                        "SELECT sum(votes) FROM poll_options WHERE poll_id = ?1",
                        [poll],
                        |r| r.get::<_, i64>(0),
                    )?)
                })
                .await
                .unwrap()
        }
    };
    let before = votes().await;
    let vote = |secret: &str, option: u32| {
        post(
            &format!("/stb/v1/polls/{poll}/votes"),
            &format!(
                r#"{{"box_id":"{}","secret":"{secret}","option":{option}}}"#,
                again.id
            ),
        )
    };
    // A wrong (old) secret: 403, nothing counted.
    let (status, _, body) = send(&state, vote(&creds.secret, 2)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    chinese(&body);
    assert_eq!(votes().await, before);
    // An option that does not exist: 400.
    let (status, _, body) = send(&state, vote(&again.secret, 9)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    chinese(&body);
    // The vote counts once and answers the results screen.
    let (status, _, body) = send(&state, vote(&again.secret, 2)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let answer: stb_protocol::ScreenAnswer = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer.screen.kind, "poll");
    assert_eq!(votes().await, before + 1);
    let (status, _, _) = send(
        &state,
        get(&format!("/stb/v1/img/{}.png", answer.screen.page_image(0))),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the results screen's image is served"
    );
    let (status, _, body) = send(&state, vote(&again.secret, 1)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    chinese(&body);
    assert_eq!(votes().await, before + 1);

    // Case lookup: a known case, an unknown one (friendly screen), then the rate limit.
    let lookup = |no: &str| {
        post(
            "/stb/v1/cases/lookup",
            &format!(r#"{{"case_no":"{no}","box_id":"{}"}}"#, again.id),
        )
    };
    let (status, _, body) = send(&state, lookup("20261101000001")).await;
    assert_eq!(status, StatusCode::OK);
    let found: stb_protocol::ScreenAnswer = serde_json::from_slice(&body).unwrap();
    assert_eq!(found.screen.kind, "case_result");
    let (status, _, body) = send(&state, lookup("SF99999999999999")).await;
    assert_eq!(status, StatusCode::OK);
    let missing: stb_protocol::ScreenAnswer = serde_json::from_slice(&body).unwrap();
    assert_eq!(missing.screen.kind, "case_lookup");
    let mut limited = false;
    for _ in 0..20 {
        let (status, _, body) = send(&state, lookup("20261101000002")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            chinese(&body);
            limited = true;
            break;
        }
        assert_eq!(status, StatusCode::OK);
    }
    assert!(limited, "a box is limited to a few lookups a minute");

    // View counts: once a day.
    let report = format!(
        r#"{{"box_id":"{}","secret":"{}","day":"2026-11-20","counts":[{{"screen":"home","views":3}}]}}"#,
        again.id, again.secret
    );
    let (status, _, _) = send(&state, post("/stb/v1/views", &report)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = send(&state, post("/stb/v1/views", &report)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    chinese(&body);
    let views: i64 = store
        .call(|c| Ok(c.query_row("SELECT sum(views) FROM screen_views", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(views, 3);
}

#[tokio::test]
async fn malformed_or_oversized_box_requests_are_refused_in_chinese() {
    let store = tokio::task::spawn_blocking(fresh_mini_store).await.unwrap();
    let state = AppState::new(store.clone());
    let big = format!(
        r#"{{"device":"{}","region":"339902","profile":"sd"}}"#,
        "x".repeat(100_000)
    );
    for (req, status) in [
        (post("/stb/v1/boxes", "{not json"), StatusCode::BAD_REQUEST),
        (post("/stb/v1/boxes", &big), StatusCode::PAYLOAD_TOO_LARGE),
        (
            post(
                "/stb/v1/boxes",
                r#"{"device":"a b","region":"339902","profile":"sd"}"#,
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            post(
                "/stb/v1/boxes",
                r#"{"device":"ok","region":"000","profile":"sd"}"#,
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            post(
                "/stb/v1/boxes",
                r#"{"device":"ok","region":"339902","profile":"4k"}"#,
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            post(
                "/stb/v1/polls/1/votes",
                r#"{"box_id":"box-x","secret":"y","option":1}"#,
            ),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (got, _, body) = send(&state, req).await;
        assert_eq!(got, status);
        chinese(&body);
    }
    let boxes: i64 = store
        .call(|c| Ok(c.query_row("SELECT count(*) FROM boxes", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(boxes, 0, "nothing was registered");
    // Operators' list needs the admin token.
    let (status, _, _) = send(&state, get("/api/v1/boxes")).await;
    assert!(status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE);
}
