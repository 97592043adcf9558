//! The set-top-box protocol under `/stb/v1`: the region's screen graph (manifest) and the
//! page images it names.
//!
//! - `GET /stb/v1/manifest?profile=sd|sd_wide|hd720|hd1080&region=CODE`: JSON
//!   ([`stb_protocol::Manifest`]), `ETag` = its version, `304` on `If-None-Match`, gzip when
//!   accepted. Rebuilt when the store changed (any committed write) or the day turned, so
//!   a published or withdrawn notice changes the version on the next request.
//! - `GET /stb/v1/img/{image}-{page}.png`: an immutable indexed-colour PNG, rendered on
//!   first request and cached by name.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::render::{Profile, ScreenHash};
use crate::stb::content::ContentError;
use crate::stb::{self, Images};

/// A manifest as served: built graph, its gzip, and what it was built from.
#[derive(Debug)]
struct Served {
    stamp: String,
    version: String,
    json: Bytes,
    gzip: Bytes,
}

/// Manifests and images served to set-top boxes.
#[derive(Debug, Default)]
pub struct StbState {
    manifests: Mutex<HashMap<(String, &'static str), Arc<Served>>>,
    /// Page images by hash.
    pub images: Images,
    /// Case lookups per box and per address.
    pub limiter: RateLimiter,
    /// Rows changed by the boxes' own writes (registration, last contact, votes, views):
    /// none of them changes a manifest, so they are not counted in its fingerprint.
    box_changes: Arc<std::sync::atomic::AtomicU64>,
}

/// Query of the manifest.
#[derive(Debug, Deserialize)]
pub struct ManifestQuery {
    /// Picture profile.
    profile: Option<String>,
    /// Region code.
    region: Option<String>,
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.trim().split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t == etag || t.strip_prefix("W/") == Some(etag)
        })
}

/// Parses the profile of a request, with a Chinese message when it is not one of ours.
pub fn profile_of(name: Option<&str>) -> Result<Profile, ApiError> {
    let name = name.ok_or_else(|| {
        ApiError::BadRequest("缺少画面规格（profile），可选 sd、sd_wide、hd720、hd1080".into())
    })?;
    Profile::parse(name).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "不支持的画面规格“{name}”，可选 sd、sd_wide、hd720、hd1080"
        ))
    })
}

/// Builds (or reuses) the manifest of `region` in `profile`.
async fn served(state: &AppState, region: &str, profile: Profile) -> Result<Arc<Served>, ApiError> {
    let now = chrono::Utc::now().with_timezone(&crate::content::county_offset());
    // The store's fingerprint without the boxes' own writes (read on the store's thread,
    // where those writes happen, so the two agree).
    let counter = Arc::clone(&state.stb.box_changes);
    let fingerprint = state
        .store
        .call(move |conn| {
            let version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
            let own = conn
                .total_changes()
                .saturating_sub(counter.load(std::sync::atomic::Ordering::Relaxed));
            Ok(format!("{version}/{own}"))
        })
        .await?;
    let stamp = format!("{fingerprint}|{}", now.date_naive());
    let key = (region.to_owned(), profile.as_str());
    if let Some(hit) = state
        .stb
        .manifests
        .lock()
        .ok()
        .and_then(|m| m.get(&key).cloned())
        .filter(|s| s.stamp == stamp)
    {
        return Ok(hit);
    }
    let region_owned = region.to_owned();
    let content = state
        .store
        .read(
            move |conn| match stb::content::read(conn, &region_owned, now) {
                Ok(c) => Ok(Ok(c)),
                Err(ContentError::UnknownRegion(r)) => Ok(Err(r)),
                Err(ContentError::Store(e)) => Err(e),
            },
        )
        .await?
        .map_err(|r| ApiError::NotFound(format!("没有编号为“{r}”的地区")))?;
    let state2 = state.clone();
    let built = tokio::task::spawn_blocking(move || -> Result<stb::Built, ApiError> {
        let screens = state2.screens()?;
        Ok(screens.with_renderer(|r| stb::build(&content, profile, r)))
    })
    .await
    .map_err(|e| ApiError::Unavailable(format!("manifest task failed: {e}")))??;
    state.stb.images.register(&built.images);
    let served = Arc::new(Served {
        stamp,
        version: built.manifest.version.clone(),
        gzip: Bytes::from(gzip(&built.json)),
        json: Bytes::from_owner(built.json),
    });
    if let Ok(mut m) = state.stb.manifests.lock() {
        m.insert(key, Arc::clone(&served));
    }
    Ok(served)
}

/// `GET /stb/v1/manifest`.
pub async fn manifest(
    State(state): State<AppState>,
    Query(query): Query<ManifestQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let profile = profile_of(query.profile.as_deref())?;
    let region = query
        .region
        .as_deref()
        .filter(|r| !r.is_empty() && r.len() <= 32 && r.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::BadRequest("地区编号（region）缺失或格式不正确，应为数字".into())
        })?;
    let served = served(&state, region, profile).await?;
    let etag = format!("\"{}\"", served.version);
    let mut common = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        common.insert(header::ETAG, v);
    }
    common.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    common.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if etag_matches(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    common.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if accepts_gzip(&headers) {
        common.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return Ok((common, served.gzip.clone()).into_response());
    }
    Ok((common, served.json.clone()).into_response())
}

/// `GET /stb/v1/img/{image}-{page}.png`.
pub async fn image(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = file
        .strip_suffix(".png")
        .and_then(stb_protocol::parse_page_image)
        .and_then(|(hash, page)| Some((ScreenHash::parse(hash)?, page)))
        .ok_or_else(|| ApiError::NotFound(format!("没有名为“{file}”的图片")))?;
    let etag = format!("\"{}-{}\"", key.0, key.1);
    let mut common = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        common.insert(header::ETAG, v);
    }
    common.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if etag_matches(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let png = match state.stb.images.cached(key) {
        Some(png) => png,
        None => {
            let source = state
                .stb
                .images
                .source(key)
                .ok_or_else(|| ApiError::NotFound(format!("没有名为“{file}”的图片")))?;
            let state2 = state.clone();
            let png = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
                let screens = state2.screens()?;
                Ok(screens.with_renderer(|r| stb::images::render(r, &source))?)
            })
            .await
            .map_err(|e| ApiError::Unavailable(format!("image task failed: {e}")))??;
            let png: Arc<[u8]> = Arc::from(png);
            state.stb.images.keep(key, Arc::clone(&png));
            png
        }
    };
    common.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    Ok((common, Bytes::from_owner(png)).into_response())
}

/// Largest body the box endpoints take.
pub const MAX_BODY: usize = 64 * 1024;
/// Case lookups one box may make a minute.
pub const LOOKUPS_PER_BOX: usize = 10;
/// Case lookups one address may make a minute (boxes behind one address share it).
pub const LOOKUPS_PER_ADDRESS: usize = 30;

/// A sliding one-minute window of requests per key.
#[derive(Debug, Default)]
pub struct RateLimiter {
    hits: Mutex<HashMap<String, std::collections::VecDeque<std::time::Instant>>>,
}

impl RateLimiter {
    /// Counts a request for `key`; false when `limit` were made in the last minute.
    pub fn allow(&self, key: &str, limit: usize) -> bool {
        let now = std::time::Instant::now();
        let window = std::time::Duration::from_secs(60);
        let Ok(mut hits) = self.hits.lock() else {
            return true;
        };
        if hits.len() > 100_000 {
            hits.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let q = hits.entry(key.to_owned()).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
        if q.len() >= limit {
            return false;
        }
        q.push_back(now);
        true
    }
}

/// Reads a JSON body of at most [`MAX_BODY`] bytes into `T`, with Chinese errors.
async fn json_body<T: serde::de::DeserializeOwned>(body: axum::body::Body) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::TooLarge(format!("请求内容过大（上限{}KB）", MAX_BODY / 1024)))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "请求内容格式不正确：第{}行第{}列附近有误",
            e.line(),
            e.column()
        ))
    })
}

fn box_error(e: stb::boxes::BoxError) -> ApiError {
    use stb::boxes::BoxError;
    match e {
        BoxError::Invalid(m) => ApiError::BadRequest(m),
        BoxError::Unauthorised => ApiError::Forbidden(e.to_string()),
        BoxError::NotFound(m) => ApiError::NotFound(m),
        BoxError::Conflict(m) => ApiError::Conflict(m),
        BoxError::Store(s) => ApiError::Store(s),
    }
}

fn county_now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Utc::now().with_timezone(&crate::content::county_offset())
}

fn stamp() -> String {
    county_now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Runs a box operation on the store's thread.
async fn boxes_call<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T, stb::boxes::BoxError> + Send + 'static,
) -> Result<T, ApiError> {
    let counter = Arc::clone(&state.stb.box_changes);
    state
        .store
        .call(move |conn| {
            let before = conn.total_changes();
            let result = f(conn);
            let changed = conn.total_changes().saturating_sub(before);
            counter.fetch_add(changed, std::sync::atomic::Ordering::Relaxed);
            Ok(result)
        })
        .await?
        .map_err(box_error)
}

/// One screen for a box to show now, its images registered for `/stb/v1/img`.
async fn answer(
    state: &AppState,
    id: String,
    model: crate::render::Screen,
    profile: Profile,
) -> Result<stb_protocol::ScreenAnswer, ApiError> {
    let state2 = state.clone();
    let (screen, images) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let screens = state2.screens()?;
        let cs = stb::ContentScreen { id, model };
        Ok(screens.with_renderer(|r| stb::node(&cs, profile, r, &|_| false)))
    })
    .await
    .map_err(|e| ApiError::Unavailable(format!("screen task failed: {e}")))??;
    state.stb.images.register(&images);
    Ok(stb_protocol::ScreenAnswer { screen })
}

/// `POST /stb/v1/boxes`: registers a box; answers its id and secret (201).
pub async fn register(
    State(state): State<AppState>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let req: stb_protocol::RegisterBox = json_body(body).await?;
    let secret = crate::digest::random_hex(16)
        .map_err(|e| ApiError::Unavailable(format!("no randomness: {e}")))?;
    let s = secret.clone();
    let id = boxes_call(&state, move |c| {
        stb::boxes::register(c, &req.device, &req.region, &req.profile, &stamp(), &s)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(stb_protocol::BoxCredentials { id, secret }),
    )
        .into_response())
}

/// Query of the endpoints that answer a screen.
#[derive(Debug, Deserialize)]
pub struct ProfileQuery {
    /// Picture profile of the answer. Default: sd.
    profile: Option<String>,
}

/// `POST /stb/v1/cases/lookup`: a case number in, a screen out (the case's progress with
/// the applicant masked, or a friendly 未查到该办件); rate-limited per box and per address.
pub async fn lookup(
    State(state): State<AppState>,
    Query(query): Query<ProfileQuery>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let profile = profile_of(Some(query.profile.as_deref().unwrap_or("sd")))?;
    let address = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".to_owned());
    let req: stb_protocol::CaseLookup = json_body(request.into_body()).await?;
    let too_many = || ApiError::TooMany("查询太频繁，请一分钟后再试".into());
    if !state
        .stb
        .limiter
        .allow(&format!("ip:{address}"), LOOKUPS_PER_ADDRESS)
    {
        return Err(too_many());
    }
    if let Some(id) = &req.box_id {
        if !state
            .stb
            .limiter
            .allow(&format!("box:{id}"), LOOKUPS_PER_BOX)
        {
            return Err(too_many());
        }
    }
    let digits: String = req
        .case_no
        .trim()
        .trim_start_matches(['S', 's'])
        .trim_start_matches(['F', 'f'])
        .to_owned();
    let valid =
        !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit());
    let today = county_now().date_naive();
    let case_no = format!("SF{digits}");
    let found = if valid {
        let no = case_no.clone();
        state
            .store
            .call(move |c| crate::pages::case_result(c, &no, today))
            .await?
    } else {
        None
    };
    let (id, model) = match found {
        Some(result) => (
            format!("case:{case_no}"),
            crate::render::Screen::CaseResult(result),
        ),
        None => (
            "case_lookup:not_found".to_owned(),
            crate::render::Screen::CaseLookup(crate::render::screen::CaseLookupScreen {
                entered: if valid { digits } else { String::new() },
                message: Some("未查到该办件，请核对编号后重新输入".into()),
            }),
        ),
    };
    Ok(axum::Json(answer(&state, id, model, profile).await?).into_response())
}

/// `POST /stb/v1/polls/{id}/votes`: one vote per registered box per poll; answers the
/// results screen, also to a second vote (409 with `error` and `screen`).
pub async fn vote(
    State(state): State<AppState>,
    Path(poll): Path<String>,
    Query(query): Query<ProfileQuery>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let profile = profile_of(Some(query.profile.as_deref().unwrap_or("sd")))?;
    let poll: i64 = poll
        .parse()
        .map_err(|_| ApiError::NotFound("没有这项民意调查".into()))?;
    let req: stb_protocol::VoteRequest = json_body(body).await?;
    let today = county_now().date_naive().to_string();
    let voted = boxes_call(&state, move |c| {
        let now = stamp();
        stb::boxes::authenticate(c, &req.box_id, &req.secret, &now)?;
        stb::boxes::vote(c, &req.box_id, poll, req.option, &today, &now)
    })
    .await;
    // A second vote is refused (409), with the results screen a box shows instead.
    let duplicate = match voted {
        Ok(()) => None,
        Err(ApiError::Conflict(message)) => Some(message),
        Err(e) => return Err(e),
    };
    let results = state
        .store
        .call(move |c| crate::pages::poll(c, poll, true))
        .await?
        .ok_or_else(|| ApiError::NotFound("没有这项民意调查".into()))?;
    let screen = answer(
        &state,
        format!("poll:{poll}:results"),
        crate::render::Screen::Poll(results),
        profile,
    )
    .await?;
    Ok(match duplicate {
        None => axum::Json(screen).into_response(),
        Some(error) => (
            StatusCode::CONFLICT,
            axum::Json(serde_json::json!({"error": error, "screen": screen.screen})),
        )
            .into_response(),
    })
}

/// `POST /stb/v1/views`: a box's anonymous view counts for one day (204).
pub async fn views(
    State(state): State<AppState>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let req: stb_protocol::ViewReport = json_body(body).await?;
    boxes_call(&state, move |c| {
        let region = stb::boxes::authenticate(c, &req.box_id, &req.secret, &stamp())?;
        let counts: Vec<(String, u32)> = req
            .counts
            .into_iter()
            .map(|v| (v.screen, v.views))
            .collect();
        stb::boxes::report_views(c, &req.box_id, &region, &req.day, &counts)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/boxes`: registered boxes and their last contact (operators and
/// administrators, see [`super::access`]).
pub async fn boxes(State(state): State<AppState>) -> Response {
    match state.store.read(stb::boxes::list).await {
        Ok(list) => axum::Json(list).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// One row of `GET /api/v1/views`.
#[derive(Debug, serde::Serialize)]
struct ViewRow {
    screen: String,
    day: String,
    views: i64,
}

/// `GET /api/v1/views`: views per screen and day as boxes reported them (operators and
/// administrators, see [`super::access`]).
pub async fn view_counts(State(state): State<AppState>) -> Response {
    match state.store.read(stb::boxes::views).await {
        Ok(rows) => axum::Json(
            rows.into_iter()
                .map(|(screen, day, views)| ViewRow { screen, day, views })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
