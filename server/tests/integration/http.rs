//! The production route table, driven without a socket (`app().oneshot`).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use headend::accounts::{self, Grant, NewUser, Role};
use headend::web::{app, AppState};
use tower::ServiceExt;

use crate::mini_store;

async fn get(path: &str) -> (StatusCode, String) {
    let store = tokio::task::spawn_blocking(mini_store).await.unwrap();
    let response = app(AppState::new(store))
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn healthz_answers_ok() {
    assert_eq!(get("/healthz").await, (StatusCode::OK, "ok".to_owned()));
}

#[tokio::test]
async fn readyz_is_degraded_after_a_store_job_panicked_and_the_store_still_answers() {
    let store = tokio::task::spawn_blocking(mini_store).await.unwrap();
    // Each answer is served again for a few seconds: a new state asks afresh.
    let router = || app(AppState::new(store.clone()));
    let ready =
        |router: axum::Router, from: [u8; 4]| async move {
            let mut request = Request::get("/readyz").body(Body::empty()).unwrap();
            request.extensions_mut().insert(axum::extract::ConnectInfo(
                std::net::SocketAddr::from((from, 40000)),
            ));
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            )
        };
    let (status, v) = ready(router(), [127, 0, 0, 1]).await;
    assert_eq!(
        (status, v["status"].as_str()),
        (StatusCode::OK, Some("ok")),
        "{v}"
    );
    let panicked = store
        .call(|_| -> Result<(), headend::store::StoreError> { panic!("test: a job that panics") })
        .await;
    assert!(matches!(
        panicked,
        Err(headend::store::StoreError::JobPanicked)
    ));
    let router = router();
    let (status, v) = ready(router.clone(), [127, 0, 0, 1]).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "degraded", "{v}");
    assert_eq!(v["store"]["panicked_jobs"], 1, "{v}");
    assert_eq!(v["store"]["last_panic"], "test: a job that panics", "{v}");
    assert!(
        v["store"]["message"].as_str().unwrap().contains("已回滚"),
        "{v}"
    );
    // Another machine sees the statuses and messages, not the panic's text.
    let (status, v) = ready(router.clone(), [192, 0, 2, 7]).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["store"]["status"], "degraded", "{v}");
    assert!(v["store"]["message"].is_string(), "{v}");
    assert!(v["store"].get("last_panic").is_none(), "{v}");
    assert!(v["store"].get("integrity").is_none(), "{v}");
    // Everything else still works.
    let response = router
        .oneshot(Request::get("/api/v1/stats").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn stats_are_served_as_json() {
    let (status, body) = get("/api/v1/stats").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["catalogue"]["power"], 1);
    assert_eq!(v["cases"]["total"], 2);
    assert_eq!(v["schema_version"], headend::store::MIGRATIONS.len());
}

#[tokio::test]
async fn the_overview_page_names_the_county_in_chinese() {
    let (status, body) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("小样县 政务频道前端"), "{body}");
    assert!(
        body.contains("<tr><th>行政职权事项</th><td>1</td></tr>"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_paths_are_404() {
    assert_eq!(get("/no/such/page").await.0, StatusCode::NOT_FOUND);
}

/// The mini county with one editor and their API token.
async fn store_with_staff() -> (headend::store::Store, String) {
    let store = tokio::task::spawn_blocking(mini_store).await.unwrap();
    let token = store
        .call(|conn| {
            let now = chrono::Utc::now();
            let grants = [Grant {
                role: Role::Editor,
                department: Some("mzj".into()),
            }];
            let user = NewUser {
                name: "editor",
                display_name: "",
                password_hash: "$unused",
                grants: &grants,
                must_change: false,
            };
            let id = accounts::add_user(conn, &user, "test", now).unwrap();
            Ok(accounts::create_token(conn, id, "test", now).unwrap().1)
        })
        .await
        .unwrap();
    (store, token)
}

/// POSTs JSON as a signed-in staff member (an editor's API token).
async fn post(path: &str, body: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    post_as(path, body, true).await
}

async fn post_as(
    path: &str,
    body: &str,
    staff: bool,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let (store, token) = store_with_staff().await;
    let mut req = Request::post(path).header("content-type", "application/json");
    if staff {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let response = app(AppState::new(store))
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 8 << 20)
        .await
        .unwrap();
    (status, headers, body.to_vec())
}

const NOTICE: &str = r#"{"kind":"notice","title":"关于临时停水的通知","publisher":"溪口镇人民政府","date":"2026-11-20","body":"因主管道维修，11月21日8:00至18:00上溪村一带停水，请提前储水。\n\n给您带来不便，敬请谅解。"}"#;

#[tokio::test]
async fn preview_renders_a_png_with_its_hash_and_page_count() {
    let (status, headers, body) = post("/api/v1/preview?profile=hd720", NOTICE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert!(body.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(headers["x-screen-hash"].len(), 32);
    assert_eq!(headers["x-pages"], "1");
    let png = tiny_skia::Pixmap::decode_png(&body).unwrap();
    assert_eq!((png.width(), png.height()), (1280, 720));
}

#[tokio::test]
async fn previews_need_a_signed_in_staff_member() {
    for path in ["/api/v1/preview", "/api/v1/preview/layout"] {
        let (status, _, body) = post_as(path, NOTICE, false).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(v["error"].as_str().unwrap().contains("请先登录"), "{v}");
    }
}

#[tokio::test]
async fn preview_layout_lists_the_lines() {
    let (status, _, body) = post("/api/v1/preview/layout?profile=sd", NOTICE).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["width"], 720);
    let lines = v["lines"].as_array().unwrap();
    assert!(lines.iter().any(|l| l["role"] == "title"));
    assert!(lines
        .iter()
        .any(|l| l["role"] == "body" && l["em"].as_f64().unwrap() >= 36.0));
}

#[tokio::test]
async fn preview_errors_are_explained_in_chinese() {
    let (status, _, body) = post("/api/v1/preview", "{\"kind\":\"notice\",").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("画面内容格式不正确"),
        "{v}"
    );

    let (status, _, body) = post("/api/v1/preview?profile=4k", NOTICE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(body)
        .unwrap()
        .contains("不支持的画面规格"));

    let (status, _, body) = post("/api/v1/preview?page=9", NOTICE).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8(body).unwrap().contains("第9页不存在"));
}

#[tokio::test]
async fn framework_rejections_answer_the_json_error_shape_in_chinese() {
    let (store, token) = store_with_staff().await;
    let state = AppState::new(store);
    for (req, status) in [
        (
            Request::post("/api/v1/preview?page=abc")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(r#"{"kind":"help","channel":"台"}"#))
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::get("/no/such/page").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            Request::delete("/healthz").body(Body::empty()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ] {
        let response = app(state.clone()).oneshot(req).await.unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let msg = v["error"].as_str().unwrap();
        assert!(msg.chars().any(headend::render::text::is_han), "{msg}");
    }
}

#[tokio::test]
async fn previews_too_large_or_too_long_are_refused_in_chinese() {
    // A body over the limit: 413.
    let big = format!(
        r#"{{"kind":"notice","title":"t","publisher":"p","date":"2026-11-22","body":"{}"}}"#,
        "长".repeat(100_000)
    );
    let (status, _, body) = post("/api/v1/preview", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("过大"));
    // A small body asking for too many items: 422, nothing drawn.
    let list = |n: usize| {
        let items: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"label":"第{i}项","target":"x"}}"#))
            .collect();
        format!(
            r#"{{"kind":"list","title":"列表","items":[{}]}}"#,
            items.join(",")
        )
    };
    let (status, _, body) = post("/api/v1/preview", &list(600)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("过多"));
    // Within the limits it renders.
    let (status, headers, _) = post("/api/v1/preview?page=67", &list(400)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-pages"], "67");
}
