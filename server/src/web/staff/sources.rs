//! Ingest sources for staff: every source with its state (any staff member), and for
//! administrators adding, editing and deleting sources (audited by the ingest hub with
//! the definition before and after) and running a pass on demand. Sources from the
//! config file can be edited too, but the file wins again at the next start; the page
//! says so.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::{Deserialize, Serialize};

use super::account::{departments, regions};
use super::{page, paginate, require_admin, PageError, Staff};
use crate::accounts::Role;
use crate::ingest::source::SourceFields;
use crate::ingest::sources::{Origin, SourceRecord};
use crate::ingest::SourceSpec;
use crate::web::sources::IngestApi;
use crate::web::{ApiError, AppState};

/// Query of the sources page: the outcome of what was just done.
#[derive(Debug, Default, Deserialize)]
pub struct SourcesQuery {
    #[serde(default)]
    result: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<usize>,
}

/// Sources per page.
pub const PAGE_ROWS: usize = 50;

fn ingest(state: &AppState) -> Result<&IngestApi, PageError> {
    state
        .ingest
        .as_ref()
        .ok_or_else(|| PageError::Api(ApiError::Unavailable("ingest is not enabled".into())))
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "notices" => "通知公告",
        "catalogue" => "政务公开目录",
        "cases" => "办件",
        _ => "其他",
    }
}

/// `GET /admin/sources`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<SourcesQuery>,
) -> Result<Response, PageError> {
    let all = match &state.ingest {
        Some(api) => api.hub.list().await?,
        None => Vec::new(),
    };
    let needle = q.q.trim();
    let matching: Vec<&SourceRecord> = all
        .iter()
        .filter(|s| {
            needle.is_empty()
                || s.spec.name.as_str().contains(needle)
                || s.spec.location.to_string().contains(needle)
        })
        .collect();
    let paged = paginate(matching, q.page, PAGE_ROWS);
    let sources: Vec<minijinja::Value> = paged
        .rows
        .into_iter()
        .map(|s| {
            let f = SourceFields::from(&s.spec);
            minijinja::context! {
                name => f.name, url => f.url, kind => kind_label(&f.kind),
                trusted => s.spec.trusted, interval => s.spec.interval.as_secs(),
                from_config => s.origin == Origin::Config,
                last_success => s.state.last_success_at.clone(),
                last_error => s.state.last_error.clone(),
            }
        })
        .collect();
    // Only the outcome words this page itself puts in the link are shown.
    let result = match q.result.as_str() {
        "ok" => Some("采集完成。"),
        "failed" => Some("采集失败，原因见“最近错误”。"),
        "created" => Some("采集来源已新增，随即开始采集。"),
        "saved" => Some("采集来源已保存，随即按新设置采集。"),
        "deleted" => Some("采集来源已删除；已采集的内容保留。"),
        _ => None,
    };
    Ok(page(
        "sources.html",
        Some(&staff),
        "sources",
        minijinja::context! {
            sources, result, total => paged.total, pages => paged.pages, page => paged.page,
            query => minijinja::context! { q => q.q },
            enabled => state.ingest.is_some(),
            is_admin => staff.user.has(Role::Admin),
        },
    )?
    .into_response())
}

/// The source form as the browser sends it (every field text, as typed).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct SourceInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    interval: String,
    #[serde(default)]
    trusted: Option<String>,
}

impl SourceInput {
    fn from_record(r: &SourceRecord) -> SourceInput {
        let f = SourceFields::from(&r.spec);
        SourceInput {
            name: f.name,
            url: f.url,
            kind: f.kind,
            format: f.format.unwrap_or_default(),
            department: f.department.unwrap_or_default(),
            region: f.region.unwrap_or_default(),
            interval: f.interval.unwrap_or(60).to_string(),
            trusted: r.spec.trusted.then(|| "on".to_owned()),
        }
    }

    /// The definition, or each field's problem (Chinese).
    fn spec(&self, old: Option<&SourceRecord>) -> Result<SourceSpec, Vec<(&'static str, String)>> {
        let interval = match self.interval.trim() {
            "" => None,
            t => match t.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => return Err(vec![("interval", "采集间隔应填写秒数（整数）".to_owned())]),
            },
        };
        let optional = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        // Fields the form does not show keep their values.
        let fields = SourceFields {
            name: self.name.trim().to_owned(),
            url: self.url.trim().to_owned(),
            kind: self.kind.trim().to_owned(),
            format: optional(&self.format),
            department: optional(&self.department),
            region: optional(&self.region),
            interval,
            trusted: Some(self.trusted.is_some()),
            timeout: old.map(|o| o.spec.timeout.as_secs()),
            max_bytes: old.map(|o| o.spec.max_bytes),
        };
        SourceSpec::try_from(fields).map_err(|e| vec![e.for_staff()])
    }
}

async fn form_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    existing: Option<&SourceRecord>,
    form: &SourceInput,
    errors: Vec<(&'static str, String)>,
) -> Result<Response, PageError> {
    let (departments, regions) = state
        .store
        .call(|conn| Ok((departments(conn)?, regions(conn)?)))
        .await?;
    let (errors, field_errors) = super::form_errors(&errors);
    let html = page(
        "source.html",
        Some(staff),
        "sources",
        minijinja::context! {
            form, errors, field_errors, departments, regions,
            editing => existing.is_some(),
            from_config => existing.is_some_and(|r| r.origin == Origin::Config),
            last_error => existing.and_then(|r| r.state.last_error.clone()),
        },
    )?;
    Ok((status, html).into_response())
}

/// `GET /admin/sources/new` (administrators).
pub async fn new_form(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    require_admin(&staff, "新增采集来源")?;
    let form = SourceInput {
        kind: "notices".into(),
        interval: "300".into(),
        ..SourceInput::default()
    };
    form_page(&state, &staff, StatusCode::OK, None, &form, Vec::new()).await
}

/// `POST /admin/sources` (administrators): adds a source.
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<SourceInput>,
) -> Result<Response, PageError> {
    require_admin(&staff, "新增采集来源")?;
    let api = ingest(&state)?;
    let spec = match form.spec(None) {
        Ok(spec) => spec,
        Err(errors) => {
            return form_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &form,
                errors,
            )
            .await
        }
    };
    if !api.hub.create(spec, &staff.user.name).await? {
        let errors = vec![("name", "已有同名的采集来源，请换一个名称".to_owned())];
        return form_page(
            &state,
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            &form,
            errors,
        )
        .await;
    }
    Ok(Redirect::to("/admin/sources?result=created").into_response())
}

async fn existing(api: &IngestApi, name: &str) -> Result<SourceRecord, PageError> {
    api.hub
        .get(name)
        .await?
        .ok_or_else(|| PageError::Api(ApiError::NotFound(format!("没有名为“{name}”的采集来源"))))
}

/// `GET /admin/sources/{name}/edit` (administrators): the edit form.
pub async fn edit_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&staff, "修改采集来源")?;
    let record = existing(ingest(&state)?, &name).await?;
    let form = SourceInput::from_record(&record);
    form_page(
        &state,
        &staff,
        StatusCode::OK,
        Some(&record),
        &form,
        Vec::new(),
    )
    .await
}

/// `POST /admin/sources/{name}/edit` (administrators): saves a source (its name stays).
pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Form(mut form): Form<SourceInput>,
) -> Result<Response, PageError> {
    require_admin(&staff, "修改采集来源")?;
    let api = ingest(&state)?;
    let record = existing(api, &name).await?;
    form.name = name;
    let spec = match form.spec(Some(&record)) {
        Ok(spec) => spec,
        Err(errors) => {
            return form_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&record),
                &form,
                errors,
            )
            .await
        }
    };
    if !api.hub.update(spec, &staff.user.name).await? {
        return Err(PageError::Api(ApiError::NotFound(
            "该采集来源已被删除".into(),
        )));
    }
    Ok(Redirect::to("/admin/sources?result=saved").into_response())
}

/// `POST /admin/sources/{name}/delete` (administrators): deletes a source; what it
/// ingested stays.
pub async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&staff, "删除采集来源")?;
    let api = ingest(&state)?;
    if !api.hub.delete(&name, &staff.user.name).await? {
        return Err(PageError::Api(ApiError::NotFound(format!(
            "没有名为“{name}”的采集来源"
        ))));
    }
    Ok(Redirect::to("/admin/sources?result=deleted").into_response())
}

/// `POST /admin/sources/{name}/poll` (administrators): a pass now.
pub async fn poll(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&staff, "触发采集")?;
    let api = ingest(&state)?;
    existing(api, &name).await?;
    let outcome = api.hub.poll_now(&name).await;
    let result = if outcome.is_ok() { "ok" } else { "failed" };
    tracing::info!(source = %name, user = %staff.user.name, result, "ingest pass triggered from the staff pages");
    Ok(Redirect::to(&format!("/admin/sources?result={result}")).into_response())
}
