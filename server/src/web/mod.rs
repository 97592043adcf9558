//! HTTP: the route table ([`app`]), shared state and the error-to-status mapping.
//!
//! One `Router` built in one function is what production serves and what tests drive
//! (`app(state).oneshot(request)`), so tests never assemble their own routes.

pub mod access;
pub mod api;
pub mod health;
mod live;
pub mod metrics;
mod overview;
pub mod preview;
pub mod schedule;
pub mod sources;
pub mod staff;
pub mod stb;

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};

use crate::render::{LayoutRegistry, RenderError, ScreenCache, ScreenHash};
use crate::store::{Store, StoreError};

/// Pages the preview cache keeps.
const PREVIEW_CACHE_PAGES: usize = 256;

/// State shared by every handler: one pointer, so the clones axum makes for every
/// request's extractors and middleware cost one atomic increment (cloning each field
/// was ~12 % of the CPU of serving a cached set-top-box image).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] points to.
#[derive(Clone, Debug)]
pub struct Shared {
    /// The content store.
    pub store: Store,
    /// When this process started serving.
    pub started: Instant,
    /// Renderer and page cache, created on first use (loading the faces takes a moment).
    screens: Arc<OnceLock<Result<ScreenCache, RenderError>>>,
    /// The channels on air, once playout has started (serve starts it after it listens);
    /// empty until then, and in tests that do not start it.
    pub playout: Arc<OnceLock<crate::playout::Playout>>,
    /// Which channels air and how (the config's channels and the store's); `None` in
    /// tests that do not air: edits of outputs are then only stored.
    pub planner: Option<crate::schedule::Planner>,
    /// Layout records of every frame drawn (aired or previewed), by frame hash.
    pub layouts: Arc<LayoutRegistry>,
    /// Manifests and page images served to set-top boxes.
    pub stb: Arc<stb::StbState>,
    /// Previews drawn at once (see [`preview::MAX_CONCURRENT_PREVIEWS`]).
    pub preview_permits: Arc<tokio::sync::Semaphore>,
    /// Password hashing and verification, one at a time on their own thread.
    pub passwords: crate::accounts::Passwords,
    /// Ingest sources and the admin token for their write endpoints; `None` (the default
    /// of [`AppState::new`]) answers the sources endpoints with 503.
    pub ingest: Option<sources::IngestApi>,
    /// Programme guides served (public XMLTV), kept until the store changes or the day
    /// turns.
    pub guides: Arc<schedule::GuideCache>,
    /// Free space under the data directory below which `/readyz` fails, in MiB.
    pub min_free_disk_mb: u64,
    /// The last `/readyz` answer (one check at a time, served again for a few seconds).
    pub readyz: health::Cache,
}

impl AppState {
    /// State over an opened store.
    pub fn new(store: Store) -> AppState {
        AppState(Arc::new(Shared {
            store,
            started: Instant::now(),
            screens: Arc::new(OnceLock::new()),
            playout: Arc::new(OnceLock::new()),
            planner: None,
            layouts: Arc::new(LayoutRegistry::default()),
            stb: Arc::new(stb::StbState::default()),
            preview_permits: Arc::new(tokio::sync::Semaphore::new(
                preview::MAX_CONCURRENT_PREVIEWS,
            )),
            ingest: None,
            guides: Arc::new(schedule::GuideCache::default()),
            min_free_disk_mb: crate::config::DEFAULT_MIN_FREE_DISK_MB,
            readyz: Arc::default(),
            passwords: crate::accounts::Passwords::start().unwrap_or_else(|e| {
                // Only when no thread can be spawned at all; every password check then
                // answers 503.
                tracing::error!(error = %e, "no password thread");
                crate::accounts::Passwords::stopped()
            }),
        }))
    }

    // The `with_*` builders below set the state up before it is cloned into the router
    // (after that, `make_mut` would change a copy only the caller holds).

    /// Enables the sources endpoints over `hub`; writes need `admin_token`.
    pub fn with_ingest(mut self, hub: crate::ingest::Hub, admin_token: Option<String>) -> AppState {
        Arc::make_mut(&mut self.0).ingest = Some(sources::IngestApi { hub, admin_token });
        self
    }

    /// Lets edits of channels and their outputs reach what airs through `planner`.
    pub fn with_planner(mut self, planner: crate::schedule::Planner) -> AppState {
        Arc::make_mut(&mut self.0).planner = Some(planner);
        self
    }

    /// `/readyz` fails below `mb` MiB free under the data directory.
    pub fn with_min_free_disk_mb(mut self, mb: u64) -> AppState {
        Arc::make_mut(&mut self.0).min_free_disk_mb = mb;
        self
    }

    /// Serves programme guides from `guides` (tests set how stale a guide may get).
    pub fn with_guides(mut self, guides: schedule::GuideCache) -> AppState {
        Arc::make_mut(&mut self.0).guides = Arc::new(guides);
        self
    }

    /// The shared renderer and page cache.
    pub fn screens(&self) -> Result<&ScreenCache, ApiError> {
        self.screens
            .get_or_init(|| ScreenCache::new(PREVIEW_CACHE_PAGES))
            .as_ref()
            .map_err(|e| ApiError::Unavailable(e.to_string()))
    }
}

/// The whole route table.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(overview::get))
        .route("/healthz", get(healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/v1/stats", get(stats))
        .route("/metrics", get(metrics::get))
        .route("/live/{channel}/{file}", get(live::get))
        .route("/api/v1/sources", get(sources::list).post(sources::create))
        .route(
            "/api/v1/sources/{name}",
            get(sources::show)
                .put(sources::replace)
                .delete(sources::remove),
        )
        .route("/api/v1/sources/{name}/poll", post(sources::poll))
        .route("/api/v1/preview", post(preview::png))
        .route("/api/v1/preview/layout", post(preview::layout))
        .route("/api/v1/screens/{hash}/layout", get(screen_layout))
        .route("/stb/v1/manifest", get(stb::manifest))
        .route("/stb/v1/img/{file}", get(stb::image))
        .route("/stb/v1/boxes", post(stb::register))
        .route("/stb/v1/cases/lookup", post(stb::lookup))
        .route("/stb/v1/polls/{id}/votes", post(stb::vote))
        .route("/stb/v1/views", post(stb::views))
        .route("/api/v1/boxes", get(stb::boxes))
        .route("/api/v1/views", get(stb::view_counts))
        .route("/api/openapi.json", get(access::document))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/tokens", get(api::tokens).post(api::create_token))
        .route(
            "/api/v1/tokens/{id}",
            axum::routing::delete(api::revoke_token),
        )
        .route(
            "/api/v1/notices",
            get(api::notices).post(api::create_notice),
        )
        .route(
            "/api/v1/notices/{id}",
            get(api::notice).put(api::update_notice),
        )
        .route("/api/v1/notices/{id}/submit", post(api::submit))
        .route("/api/v1/notices/{id}/approve", post(api::approve))
        .route("/api/v1/notices/{id}/return", post(api::send_back))
        .route("/api/v1/notices/{id}/withdraw", post(api::withdraw))
        .route("/api/v1/catalogue", get(api::catalogue))
        .route("/api/v1/catalogue/{id}/confirm", post(api::confirm_entry))
        .route(
            "/api/v1/catalogue/{id}",
            get(api::catalogue_entry).put(api::update_catalogue_entry),
        )
        .route("/api/v1/scorecard", get(api::scorecard))
        .route("/api/v1/polls", get(api::polls).post(api::create_poll))
        .route("/api/v1/polls/{id}/close", post(api::close_poll))
        .route("/api/v1/cases", get(api::cases))
        .route("/api/v1/audit", get(api::audit))
        .route("/api/v1/users", get(api::users).post(api::create_user))
        .route("/api/v1/users/{name}/roles", put(api::set_roles))
        .route(
            "/api/v1/sensitive-words",
            get(api::sensitive_words).post(api::add_sensitive_words),
        )
        .route(
            "/api/v1/sensitive-words/{word}",
            axum::routing::delete(api::remove_sensitive_word),
        )
        .route("/api/v1/users/{name}/{action}", post(api::user_action))
        .route("/api/v1/channels", get(schedule::channels))
        .route("/api/v1/channels/{name}", put(schedule::update_channel))
        .route(
            "/api/v1/channels/{name}/outputs",
            put(schedule::put_outputs),
        )
        .route(
            "/api/v1/channels/{name}/schedule",
            get(schedule::schedule).post(schedule::create_entry),
        )
        .route(
            "/api/v1/channels/{name}/schedule/{id}",
            put(schedule::update_entry).delete(schedule::delete_entry),
        )
        .route("/api/v1/channels/{name}/epg.xml", get(schedule::epg_xml))
        .route("/api/v1/channels/{name}/epg", get(schedule::epg_json))
        .route("/api/v1/channels/{name}/on-air", get(schedule::on_air_json))
        .route(
            "/api/v1/channels/{name}/on-air.png",
            get(schedule::on_air_png),
        )
        .route(
            "/api/v1/blocks",
            get(schedule::blocks).post(schedule::create_block),
        )
        .route(
            "/api/v1/blocks/{id}",
            get(schedule::block)
                .put(schedule::update_block)
                .delete(schedule::delete_block),
        )
        .route("/api/v1/blocks/{id}/strip.png", get(schedule::block_strip))
        .route(
            "/api/v1/overrides",
            get(schedule::overrides).post(schedule::create_override),
        )
        .route(
            "/api/v1/overrides/{id}/{action}",
            post(schedule::override_action),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ))
        .merge(staff::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            keep_storage_faults,
        ))
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            staff::csrf_guard,
        ))
        // A span per request at debug level (`RUST_LOG=tower_http=debug` shows each
        // request with its status and latency); server errors are logged where they
        // happen (`ApiError`), not again here.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(
                    tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::DEBUG),
                )
                .on_response(
                    tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG),
                )
                .on_failure(()),
        )
        .with_state(state)
}

/// Gives every error response the API's JSON shape, `{"error": "<Chinese message>"}`
/// (the staff pages' HTML error pages stay as they are): axum's own rejections (a malformed query, a body too large, a wrong content type, an
/// unknown path or method) answer plain text otherwise.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // JSON errors from the API and HTML error pages of the staff UI are already shaped.
    let shaped = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
        });
    if shaped {
        return response;
    }
    let message = match status {
        StatusCode::BAD_REQUEST => "请求格式不正确：参数或内容无法识别",
        StatusCode::NOT_FOUND => "没有这个地址",
        StatusCode::METHOD_NOT_ALLOWED => "不支持这种请求方法",
        StatusCode::PAYLOAD_TOO_LARGE => "请求内容过大",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "请求内容类型不支持，请使用 application/json",
        StatusCode::UNPROCESSABLE_ENTITY => "请求内容无法处理：字段缺失或类型不对",
        s if s.is_server_error() => "服务器内部错误，请稍后再试",
        _ => "请求失败",
    };
    tracing::info!(status = status.as_u16(), "request refused by the framework");
    let mut out = (status, Json(serde_json::json!({ "error": message }))).into_response();
    // Keep headers that matter to the client (e.g. Allow on 405).
    for name in [axum::http::header::ALLOW] {
        if let Some(v) = response.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// Errors a handler can return; the status is decided here, in one place.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The store failed: logged with its cause, answered with a generic 500/503.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request is malformed; the message (Chinese) says what to fix.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The thing asked for does not exist; the message is Chinese.
    #[error("not found: {0}")]
    NotFound(String),
    /// A part of the headend could not start (e.g. the fonts); logged, answered with 503.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Credentials are missing or wrong; the message is Chinese.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request conflicts with what was done before (a second vote); Chinese.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many requests from one box or address; Chinese.
    #[error("rate limited: {0}")]
    TooMany(String),
    /// The body is larger than the endpoint takes; Chinese.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The request is well formed but asks for too much (e.g. a screen too large to
    /// preview); Chinese.
    #[error("unprocessable: {0}")]
    Unprocessable(String),
}

impl ApiError {
    /// The status and the Chinese message shown for this error (logged as well).
    pub fn status_and_message(&self) -> (StatusCode, String) {
        let (status, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            ApiError::TooMany(m) => (StatusCode::TOO_MANY_REQUESTS, m.clone()),
            ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m.clone()),
            ApiError::Unprocessable(m) => (StatusCode::UNPROCESSABLE_ENTITY, m.clone()),
            ApiError::Store(StoreError::Busy { .. }) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "系统繁忙，请稍后再试".to_owned(),
            ),
            ApiError::Store(StoreError::Closed) | ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "服务暂时不可用，请稍后再试".to_owned(),
            ),
            ApiError::Store(_) | ApiError::Render(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "服务器内部错误，请稍后再试".to_owned(),
            ),
        };
        if status.is_server_error() {
            tracing::error!(error = %error_chain(self), status = status.as_u16(), "request failed");
        } else {
            tracing::info!(error = %error_chain(self), status = status.as_u16(), "request refused");
        }
        (status, message)
    }
}

impl ApiError {
    /// `response`, carrying the storage fault this error is, if it is one: the layer of
    /// [`app`] records it in the store's health (`/readyz`), whatever route met it.
    pub fn with_fault(&self, mut response: Response) -> Response {
        if let Some(fault) = match self {
            ApiError::Store(e) => e.storage_fault(),
            _ => None,
        } {
            response.extensions_mut().insert(fault);
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = self.status_and_message();
        self.with_fault((status, Json(serde_json::json!({ "error": message }))).into_response())
    }
}

/// Records in the store's health a storage fault a request met (a staff page's or the
/// API's write on a full disk), which the route's error put on its response.
async fn keep_storage_faults(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    if let Some(fault) = response
        .extensions_mut()
        .remove::<crate::store::StorageFault>()
    {
        state.store.keep_fault(fault);
    }
    response
}

pub use crate::errors::chain as error_chain;

/// `GET /healthz`: 200 `ok` when the store answers a query.
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, ApiError> {
    state
        .store
        .call(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .await?;
    Ok("ok")
}

/// `GET /api/v1/screens/{hash}/layout`: the layout record of a frame the headend has
/// drawn (aired, or previewed), by the frame hash the as-run log names.
async fn screen_layout(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path(hash): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let parsed = ScreenHash::parse(&hash).ok_or_else(|| {
        ApiError::BadRequest(format!("画面编号“{hash}”格式不正确（应为32位十六进制）"))
    })?;
    let record = state
        .layouts
        .get(parsed)
        .ok_or_else(|| ApiError::NotFound(format!("没有编号为{hash}的画面")))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        record.to_string(),
    )
        .into_response())
}

/// `GET /api/v1/stats`: counts of everything the store holds.
async fn stats(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<Json<crate::store::Stats>, ApiError> {
    Ok(Json(state.store.stats().await?))
}
