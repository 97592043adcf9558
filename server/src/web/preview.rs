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

async fn rendered(
    state: AppState,
    query: PreviewQuery,
    body: Bytes,
) -> Result<std::sync::Arc<crate::render::cache::RenderedPage>, ApiError> {
    let profile = match query.profile.as_deref() {
        None => Profile::Sd,
        Some(name) => Profile::parse(name).ok_or_else(|| {
            ApiError::BadRequest(format!("不支持的画面规格“{name}”，可选 sd、hd720、hd1080"))
        })?,
    };
    let screen: Screen = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "画面内容格式不正确：第{}行第{}列附近有误",
            e.line(),
            e.column()
        ))
    })?;
    let page = query.page.unwrap_or(1);
    tokio::task::spawn_blocking(move || {
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
    body: Bytes,
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
    body: Bytes,
) -> Result<Response, ApiError> {
    let page = rendered(state, query, body).await?;
    Ok((headers(&page), Json(page.layout.clone())).into_response())
}
