//! `POST /api/v1/preview[?profile=sd&page=1]`: the admin UI's live TV preview. The body
//! is a screen description (the same JSON `headend render --input` reads); the answer is
//! the page as PNG (`/preview`) or its layout (`/preview/layout`). Headers name the
//! screen's content hash, its page count and any characters no font has.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::render::{Profile, RenderError, Screen};

/// Query parameters.
#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    /// `sd`, `hd720` or `hd1080`. Default: `sd`.
    profile: Option<String>,
    /// 1-based page. Default: 1.
    page: Option<u32>,
}

/// Largest screen description the preview takes.
pub const MAX_PREVIEW_BYTES: usize = 256 * 1024;
/// Most characters of text in one previewed screen.
pub const MAX_PREVIEW_CHARS: usize = 20_000;
/// Most entries in any one list of a previewed screen (list items, table rows …).
pub const MAX_PREVIEW_ITEMS: usize = 500;
/// Previews drawn at once; more wait (at most [`PREVIEW_WAIT`]) for their turn.
pub const MAX_CONCURRENT_PREVIEWS: usize = 2;
/// Longest a preview waits for its turn before a 503.
pub const PREVIEW_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Characters of text and the longest list in a JSON value.
fn extent(v: &serde_json::Value) -> (usize, usize) {
    match v {
        serde_json::Value::String(s) => (s.chars().count(), 0),
        serde_json::Value::Array(a) => a
            .iter()
            .map(extent)
            .fold((0, a.len()), |(c, n), (c2, n2)| (c + c2, n.max(n2))),
        serde_json::Value::Object(o) => o
            .values()
            .map(extent)
            .fold((0, 0), |(c, n), (c2, n2)| (c + c2, n.max(n2))),
        _ => (0, 0),
    }
}

async fn rendered(
    state: AppState,
    query: PreviewQuery,
    body: axum::body::Body,
) -> Result<std::sync::Arc<crate::render::cache::RenderedPage>, ApiError> {
    let body: Bytes = axum::body::to_bytes(body, MAX_PREVIEW_BYTES)
        .await
        .map_err(|_| {
            ApiError::TooLarge(format!(
                "画面内容过大（上限{}KB），请分成几条发布",
                MAX_PREVIEW_BYTES / 1024
            ))
        })?;
    let profile = match query.profile.as_deref() {
        None => Profile::Sd,
        Some(name) => Profile::parse(name).ok_or_else(|| {
            ApiError::BadRequest(format!("不支持的画面规格“{name}”，可选 sd、hd720、hd1080"))
        })?,
    };
    let bad = |e: serde_json::Error| {
        ApiError::BadRequest(format!(
            "画面内容格式不正确：第{}行第{}列附近有误",
            e.line(),
            e.column()
        ))
    };
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(bad)?;
    let (chars, items) = extent(&value);
    if chars > MAX_PREVIEW_CHARS || items > MAX_PREVIEW_ITEMS {
        return Err(ApiError::Unprocessable(format!(
            "画面内容过多（最多{MAX_PREVIEW_CHARS}字、每个列表{MAX_PREVIEW_ITEMS}项），请分成几条发布"
        )));
    }
    let screen: Screen = serde_json::from_value(value).map_err(bad)?;
    let page = query.page.unwrap_or(1);
    let permit = tokio::time::timeout(
        PREVIEW_WAIT,
        std::sync::Arc::clone(&state.preview_permits).acquire_owned(),
    )
    .await
    .map_err(|_| ApiError::Unavailable("too many previews at once".into()))?
    .map_err(|_| ApiError::Unavailable("preview permits closed".into()))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let screens = state.screens()?;
        let rendered = screens.page(&screen, profile, page).map_err(|e| match e {
            RenderError::NoSuchPage { pages, .. } => {
                ApiError::NotFound(format!("第{page}页不存在，共{pages}页"))
            }
            other => ApiError::Render(other),
        })?;
        state
            .layouts
            .insert(rendered.hash.frame(page, None), &rendered.layout);
        Ok(rendered)
    })
    .await
    .map_err(|e| ApiError::Unavailable(format!("render task failed: {e}")))?
}

fn headers(page: &crate::render::cache::RenderedPage) -> [(&'static str, String); 4] {
    let missing: String = page
        .layout
        .missing
        .iter()
        .map(|c| format!("U+{:04X} ", u32::from(*c)))
        .collect();
    [
        ("x-screen-hash", page.hash.to_string()),
        ("x-pages", page.layout.pages.to_string()),
        (
            "x-frame-hash",
            page.hash.frame(page.layout.page, None).to_string(),
        ),
        ("x-missing-chars", missing.trim_end().to_owned()),
    ]
}

/// The page as PNG.
pub async fn png(
    State(state): State<AppState>,
    Query(query): Query<PreviewQuery>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let page = rendered(state, query, body).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/png".to_owned())],
        headers(&page),
        page.png.clone(),
    )
        .into_response())
}

/// The page's layout as JSON.
pub async fn layout(
    State(state): State<AppState>,
    Query(query): Query<PreviewQuery>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let page = rendered(state, query, body).await?;
    Ok((headers(&page), Json(page.layout.clone())).into_response())
}
