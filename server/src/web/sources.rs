//! `/api/v1/sources`: the ingest sources with their state (read: any staff member), and
//! creating, replacing, deleting and polling them (write: administrators).
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/api/v1/sources` | every source: definition, origin, state (last success, last error …) |
//! | GET | `/api/v1/sources/{name}` | one source, plus the rejections of its latest pass |
//! | POST | `/api/v1/sources` | create (JSON body as in `[[sources]]`); 201, or 409 if the name is taken |
//! | PUT | `/api/v1/sources/{name}` | replace the definition (the body's `name` may be omitted) |
//! | DELETE | `/api/v1/sources/{name}` | delete the source; its content stays; 204 |
//! | POST | `/api/v1/sources/{name}/poll` | run a pass now; 200 with the counts, 502 if the source failed |
//!
//! Callers identify themselves as [`super::access`] describes (API token, session, or the
//! deprecated shared `admin_token`); the access table decides who may call what.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use super::access::Caller;
use super::{error_chain, ApiError, AppState};
use crate::ingest::source::SourceFields;
use crate::ingest::sources::SourceRecord;
use crate::ingest::{Hub, IngestError, PassOutcome, RejectionRow, SourceSpec};
use crate::store::StoreError;

/// What the sources endpoints need: the hub and the token that authorises writes.
#[derive(Clone)]
pub struct IngestApi {
    /// Sources and pollers.
    pub hub: Hub,
    /// Bearer token for write endpoints; `None` refuses every write.
    pub admin_token: Option<String>,
}

impl std::fmt::Debug for IngestApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("IngestApi")
            .field("hub", &self.hub)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Errors of the sources endpoints; the status is decided in one match.
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    /// Ingest is not set up in this process (e.g. a test app without a hub).
    #[error("ingest is not enabled")]
    Disabled,
    /// The body is not a valid source (the message is the validation error).
    #[error("invalid source: {0}")]
    Invalid(String),
    /// No such source.
    #[error("no source named {0:?}")]
    NotFound(String),
    /// The name is taken.
    #[error("source {0:?} exists")]
    Exists(String),
    /// A triggered pass failed: the source's error, as recorded for staff.
    #[error("the pass failed: {0}")]
    Pass(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoResponse for SourcesError {
    fn into_response(self) -> Response {
        let detail = error_chain(&self);
        let (status, message) = match self {
            SourcesError::Store(e) => return ApiError::Store(e).into_response(),
            SourcesError::Disabled => (
                StatusCode::SERVICE_UNAVAILABLE,
                "本前端未启用采集功能".to_owned(),
            ),
            SourcesError::Invalid(m) => (StatusCode::BAD_REQUEST, format!("采集来源设置有误：{m}")),
            SourcesError::NotFound(n) => {
                (StatusCode::NOT_FOUND, format!("没有名为“{n}”的采集来源"))
            }
            SourcesError::Exists(n) => (StatusCode::CONFLICT, format!("采集来源“{n}”已存在")),
            SourcesError::Pass(m) => (StatusCode::BAD_GATEWAY, m),
        };
        tracing::info!(error = %detail, status = status.as_u16(), "sources request refused");
        (status, Json(json!({ "error": message }))).into_response()
    }
}

fn api(state: &AppState) -> Result<&IngestApi, SourcesError> {
    state.ingest.as_ref().ok_or(SourcesError::Disabled)
}

/// The sources API of a write request: who may write was checked before the handler ran
/// ([`super::access`]: administrators, by API token, session or the deprecated shared
/// `admin_token`).
pub(super) fn authorise<'a>(
    state: &'a AppState,
    _headers: &HeaderMap,
) -> Result<&'a IngestApi, SourcesError> {
    api(state)
}

/// One source as the API shows it.
#[derive(Debug, Serialize)]
pub struct SourceView {
    /// Definition, origin and state.
    #[serde(flatten)]
    pub source: SourceRecord,
    /// Rejections of the latest pass (only on the single-source endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejections: Option<Vec<RejectionRow>>,
}

/// `GET /api/v1/sources`.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<SourceView>>, SourcesError> {
    let all = api(&state)?.hub.list().await?;
    Ok(Json(
        all.into_iter()
            .map(|source| SourceView {
                source,
                rejections: None,
            })
            .collect(),
    ))
}

/// `GET /api/v1/sources/{name}`.
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<SourceView>, SourcesError> {
    let hub = &api(&state)?.hub;
    let source = hub
        .get(&name)
        .await?
        .ok_or_else(|| SourcesError::NotFound(name.clone()))?;
    let rejections = hub.rejections(&name).await?;
    Ok(Json(SourceView {
        source,
        rejections: Some(rejections),
    }))
}

fn spec_from(
    body: Result<Json<serde_json::Value>, JsonRejection>,
    name: Option<&str>,
) -> Result<SourceSpec, SourcesError> {
    let Json(mut value) = body.map_err(|e| SourcesError::Invalid(e.body_text()))?;
    if let (Some(name), Some(obj)) = (name, value.as_object_mut()) {
        match obj.get("name") {
            None => {
                obj.insert("name".into(), json!(name));
            }
            Some(given) if given != name => {
                return Err(SourcesError::Invalid(format!(
                    "body names source {given} but the path names {name:?}"
                )))
            }
            Some(_) => {}
        }
    }
    let fields: SourceFields =
        serde_json::from_value(value).map_err(|e| SourcesError::Invalid(e.to_string()))?;
    SourceSpec::try_from(fields).map_err(|e| SourcesError::Invalid(e.to_string()))
}

/// `POST /api/v1/sources`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<(StatusCode, Json<SourceView>), SourcesError> {
    let api = authorise(&state, &headers)?;
    let spec = spec_from(body, None)?;
    let name = spec.name.to_string();
    if !api.hub.create(spec, &caller.user.name).await? {
        return Err(SourcesError::Exists(name));
    }
    let source = api
        .hub
        .get(&name)
        .await?
        .ok_or_else(|| SourcesError::NotFound(name.clone()))?;
    tracing::info!(source = %name, "source created through the API");
    Ok((
        StatusCode::CREATED,
        Json(SourceView {
            source,
            rejections: None,
        }),
    ))
}

/// `PUT /api/v1/sources/{name}`.
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Json<SourceView>, SourcesError> {
    let api = authorise(&state, &headers)?;
    let spec = spec_from(body, Some(&name))?;
    if !api.hub.update(spec, &caller.user.name).await? {
        return Err(SourcesError::NotFound(name));
    }
    let source = api
        .hub
        .get(&name)
        .await?
        .ok_or_else(|| SourcesError::NotFound(name.clone()))?;
    tracing::info!(source = %name, "source replaced through the API");
    Ok(Json(SourceView {
        source,
        rejections: None,
    }))
}

/// `DELETE /api/v1/sources/{name}`.
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, SourcesError> {
    let api = authorise(&state, &headers)?;
    if !api.hub.delete(&name, &caller.user.name).await? {
        return Err(SourcesError::NotFound(name));
    }
    tracing::info!(source = %name, "source deleted through the API");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/sources/{name}/poll`.
pub async fn poll(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<PassOutcome>, SourcesError> {
    let api = authorise(&state, &headers)?;
    match api.hub.poll_now(&name).await {
        Ok(outcome) => Ok(Json(outcome)),
        Err(IngestError::UnknownSource(n)) => Err(SourcesError::NotFound(n)),
        Err(IngestError::Store(e)) => Err(SourcesError::Store(e)),
        Err(e) => Err(SourcesError::Pass(e.for_staff())),
    }
}
