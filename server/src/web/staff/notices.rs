//! Notices and 公示 for staff: the list, the edit page with its live TV preview and
//! confidentiality findings, and the workflow buttons (submit, approve, return, withdraw).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use rusqlite::OptionalExtension;
use serde::Deserialize;

use super::account::{county_code, departments, flash_text, regions};
use super::{page, PageError, Staff};
use crate::accounts::Role;
use crate::content::{NoticeKind, NoticeStatus, Priority};
use crate::mask::Finding;
use crate::publishing::{self, ListRow, NoticeForm, NoticeQuery, NoticeRecord, PublishError};
use crate::render::{OnAir, Profile, Screen, ScreenContext};
use crate::web::{ApiError, AppState};

/// The notice form as the browser sends it (every field optional, so that nothing the
/// user typed is lost to a parse error).
#[derive(Debug, Default, Deserialize)]
pub struct FormInput {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_until: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    objection_start: String,
    #[serde(default)]
    objection_end: String,
    #[serde(default)]
    objection_contact: String,
    #[serde(default)]
    objection_phone: String,
    #[serde(default)]
    list_title: String,
    #[serde(default)]
    list: String,
    #[serde(default)]
    confidentiality_checked: Option<String>,
    /// `save` or `submit`.
    #[serde(default)]
    then: String,
}

/// Parses the list textarea: one person a line, `姓名,金额,身份证号,联系电话,备注`
/// (commas full- or half-width, or tabs).
pub fn parse_list(text: &str) -> Vec<ListRow> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut cells = line.split([',', '，', '\t']).map(str::trim);
            let mut next = || cells.next().unwrap_or("").to_owned();
            ListRow {
                name: next(),
                amount: next(),
                id_number: next(),
                phone: next(),
                note: next(),
            }
        })
        .collect()
}

fn list_text(rows: &[ListRow]) -> String {
    rows.iter()
        .map(|r| {
            let cells = [&r.name, &r.amount, &r.id_number, &r.phone, &r.note];
            let last = cells.iter().rposition(|c| !c.is_empty()).unwrap_or(0);
            cells[..=last]
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl FormInput {
    fn into_form(self) -> (NoticeForm, bool) {
        let submit = self.then == "submit";
        (
            NoticeForm {
                kind: self.kind,
                title: self.title,
                department: self.department,
                region: self.region,
                valid_from: self.valid_from,
                valid_until: self.valid_until,
                priority: self.priority,
                body: self.body.replace("\r\n", "\n"),
                objection_start: self.objection_start,
                objection_end: self.objection_end,
                objection_contact: self.objection_contact,
                objection_phone: self.objection_phone,
                list_title: self.list_title,
                list: parse_list(&self.list),
                confidentiality_checked: self.confidentiality_checked.is_some_and(|v| v == "on"),
            },
            submit,
        )
    }
}

async fn store_call<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut rusqlite::Connection) -> Result<T, PublishError> + Send + 'static,
) -> Result<T, PageError> {
    Ok(state.store.call(move |conn| Ok(f(conn))).await??)
}

/// Query of the list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    query: NoticeQuery,
    #[serde(default)]
    flash: String,
}

/// `GET /admin/notices`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    let user = staff.user.clone();
    let query = q.query.clone();
    let (rows, total) =
        store_call(&state, move |conn| publishing::list(conn, &user, &query)).await?;
    let pages = total.div_ceil(publishing::PAGE_ROWS).max(1);
    let statuses: Vec<minijinja::Value> = NoticeStatus::ALL
        .iter()
        .map(|s| minijinja::context! { value => s.as_str(), label => s.label() })
        .collect();
    Ok(page(
        "notices.html",
        Some(&staff),
        "notices",
        minijinja::context! {
            rows, total, pages, statuses,
            page => q.query.page.unwrap_or(1).max(1),
            query => minijinja::context! { q => q.query.q, status => q.query.status },
            can_draft => staff.user.has(Role::Editor),
            flash => flash_text(&q.flash),
        },
    )?
    .into_response())
}

fn choices<T: Copy>(
    all: &[T],
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<minijinja::Value> {
    all.iter()
        .map(|x| minijinja::context! { value => value(*x), label => label(*x) })
        .collect()
}

/// Everything the edit page shows besides the form.
#[derive(Default)]
struct PageExtras {
    record: Option<NoticeRecord>,
    errors: Vec<(&'static str, String)>,
    flash: Option<&'static str>,
    preview: Option<PreviewSummary>,
    findings: Option<publishing::ScanReport>,
}

/// Splits `text` at the findings into (text, kind label) segments for highlighting.
fn marked(text: &str, findings: &[Finding]) -> Vec<minijinja::Value> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    for f in findings {
        if f.start < at {
            continue;
        }
        out.push(minijinja::context! { text => chars[at..f.start].iter().collect::<String>() });
        out.push(minijinja::context! { text => f.text.clone(), kind => f.kind.label() });
        at = f.end;
    }
    out.push(minijinja::context! { text => chars[at..].iter().collect::<String>() });
    out
}

async fn edit_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    form: &NoticeForm,
    extras: PageExtras,
) -> Result<Response, PageError> {
    let user = staff.user.clone();
    let (all_departments, regions) = state
        .store
        .call(move |conn| Ok((departments(conn)?, regions(conn)?)))
        .await?;
    let mine: Vec<minijinja::Value> = all_departments
        .into_iter()
        .filter(|d| {
            d.get_attr("code")
                .ok()
                .and_then(|c| c.as_str().map(|c| publishing::may_edit(&user, c)))
                .unwrap_or(false)
        })
        .collect();
    let record = extras.record.as_ref();
    let id = record.map(|r| r.id);
    let status_now = record.map(|r| r.status);
    let department = record.map_or(form.department.as_str(), |r| r.form.department.as_str());
    let own = record.and_then(|r| r.created_by.as_deref()) == Some(staff.user.name.as_str());
    let may_edit = publishing::may_edit(&staff.user, department);
    let may_review = publishing::may_review(&staff.user, department);
    let editable = may_edit
        && status_now.is_none_or(|s| matches!(s, NoticeStatus::Draft | NoticeStatus::Returned));
    let can_submit = editable && id.is_some();
    let can_review = may_review && !own && status_now == Some(NoticeStatus::Submitted);
    let can_withdraw = may_review
        && matches!(
            status_now,
            Some(NoticeStatus::Published | NoticeStatus::Approved)
        );
    let (errors, field_errors) = super::form_errors(&extras.errors);
    let mut findings = Vec::new();
    let mut scan_count = 0;
    let mut body_marked = vec![minijinja::context! { text => form.body.clone() }];
    if let Some(report) = &extras.findings {
        scan_count = report.count();
        for f in &report.title {
            findings.push(
                minijinja::context! { place => "标题", text => f.text, kind => f.kind.label() },
            );
        }
        for f in &report.body {
            findings.push(
                minijinja::context! { place => "正文", text => f.text, kind => f.kind.label() },
            );
        }
        for (row, found) in &report.list {
            for f in found {
                findings.push(minijinja::context! { place => format!("名单第{row}行"), text => f.text, kind => f.kind.label() });
            }
        }
        body_marked = marked(&form.body, &report.body);
    }
    let previews: Vec<minijinja::Value> = [
        ("sd", "interactive", "机顶盒画面（标清）"),
        ("sd", "broadcast", "直播画面（标清）"),
        ("hd720", "interactive", "机顶盒画面（高清）"),
        ("hd720", "broadcast", "直播画面（高清）"),
    ]
    .into_iter()
    .map(|(profile, context, label)| minijinja::context! { profile, context, label })
    .collect();
    let summary = extras.preview.clone().unwrap_or_default();
    let (preview_pages, preview_missing) = (summary.pages, summary.missing);
    let list_pages = summary.list_pages;
    let html = page(
        "notice.html",
        Some(staff),
        "notices",
        minijinja::context! {
            id, form, record, errors, field_errors, editable, can_submit, can_review, can_withdraw,
            departments => mine, regions,
            list_text => list_text(&form.list),
            kinds => choices(NoticeKind::ALL, NoticeKind::as_str, NoticeKind::label),
            priorities => choices(Priority::ALL, Priority::as_str, Priority::label),
            kind_label => NoticeKind::parse(&form.kind).map_or("", |k| k.label()),
            priority_label => Priority::parse(&form.priority).map_or("", |p| p.label()),
            findings, scan_count, body_marked, previews, preview_pages, preview_missing, list_pages,
            version => record.map(|r| r.updated_at.clone()),
            flash => extras.flash,
        },
    )?;
    Ok((status, html).into_response())
}

/// `GET /admin/notices/new`.
pub async fn new_page(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    let Some(department) = staff
        .user
        .grants
        .iter()
        .find(|g| g.role == Role::Editor)
        .and_then(|g| g.department.clone())
    else {
        return Err(PageError::Api(ApiError::Forbidden(
            "只有信息员可以起草信息".into(),
        )));
    };
    let county = county_code(&state).await?;
    let form = NoticeForm {
        kind: NoticeKind::Notice.as_str().into(),
        department,
        region: county,
        valid_from: crate::content::county_today().to_string(),
        priority: Priority::Normal.as_str().into(),
        ..NoticeForm::default()
    };
    edit_page(&state, &staff, StatusCode::OK, &form, PageExtras::default()).await
}

/// What a save (and maybe submit) did.
async fn after_save(
    state: &AppState,
    staff: &Staff,
    id: i64,
    submit: bool,
) -> Result<Response, PageError> {
    if !submit {
        return Ok(Redirect::to(&format!("/admin/notices/{id}?flash=saved")).into_response());
    }
    let user = staff.user.clone();
    let now = chrono::Utc::now();
    let submitted = state
        .store
        .call(move |conn| Ok(publishing::submit(conn, &user, id, now)))
        .await?;
    match submitted {
        Ok(()) => Ok(Redirect::to(&format!("/admin/notices/{id}?flash=submitted")).into_response()),
        // Saved, but not submittable yet (e.g. the confidentiality box): say so on the page.
        Err(PublishError::Invalid(errors)) => {
            show_with(
                state,
                staff,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                None,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /admin/notices/new`.
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(input): Form<FormInput>,
) -> Result<Response, PageError> {
    let (form, submit) = input.into_form();
    let user = staff.user.clone();
    let now = chrono::Utc::now();
    let f = form.clone();
    let created = state
        .store
        .call(move |conn| Ok(publishing::create(conn, &user, &f, now)))
        .await?;
    match created {
        Ok(id) => after_save(&state, &staff, id, submit).await,
        Err(PublishError::Invalid(errors)) => {
            edit_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                PageExtras {
                    errors,
                    ..PageExtras::default()
                },
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /admin/notices/{id}`: saves the edit form.
pub async fn save(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(input): Form<FormInput>,
) -> Result<Response, PageError> {
    let (form, submit) = input.into_form();
    let user = staff.user.clone();
    let now = chrono::Utc::now();
    let f = form.clone();
    let saved = state
        .store
        .call(move |conn| {
            Ok(publishing::update(conn, &user, id, &f, now)
                .and_then(|()| publishing::get(conn, id)))
        })
        .await?;
    match saved {
        Ok(_) => after_save(&state, &staff, id, submit).await,
        Err(PublishError::Invalid(errors)) => {
            let record = store_call(&state, move |conn| publishing::get(conn, id)).await?;
            edit_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                PageExtras {
                    record,
                    errors,
                    ..PageExtras::default()
                },
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// Query of the notice page.
#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    flash: String,
}

async fn show_with(
    state: &AppState,
    staff: &Staff,
    id: i64,
    status: StatusCode,
    errors: Vec<(&'static str, String)>,
    flash: Option<&'static str>,
) -> Result<Response, PageError> {
    let (record, words) = store_call(state, move |conn| {
        Ok((
            publishing::get(conn, id)?,
            publishing::sensitive_words(conn)?,
        ))
    })
    .await?;
    let record = record
        .ok_or_else(|| PageError::Api(ApiError::NotFound(format!("没有编号为{id}的信息"))))?;
    if !publishing::may_see(&staff.user, &record.form.department) {
        return Err(PageError::Api(ApiError::Forbidden(
            "您不能查看其他单位的信息".into(),
        )));
    }
    let findings = publishing::scan(&record.form, &words);
    let preview = preview_summary(state, id).await.ok();
    let form = record.form.clone();
    edit_page(
        state,
        staff,
        status,
        &form,
        PageExtras {
            record: Some(record),
            errors,
            flash,
            preview,
            findings: Some(findings),
        },
    )
    .await
}

/// `GET /admin/notices/{id}`.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, PageError> {
    show_with(
        &state,
        &staff,
        id,
        StatusCode::OK,
        Vec::new(),
        flash_text(&q.flash),
    )
    .await
}

/// A workflow step's form.
#[derive(Debug, Default, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    reason: String,
}

/// `POST /admin/notices/{id}/{submit|approve|return|withdraw}`.
pub async fn act(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, action)): Path<(i64, String)>,
    Form(form): Form<ActForm>,
) -> Result<Response, PageError> {
    let user = staff.user.clone();
    let now = chrono::Utc::now();
    let reason = form.reason;
    let action_name = action.clone();
    let done = state
        .store
        .call(move |conn| {
            Ok(match action_name.as_str() {
                "submit" => publishing::submit(conn, &user, id, now).map(|()| "submitted"),
                "approve" => publishing::approve(conn, &user, id, now).map(|s| {
                    if s == NoticeStatus::Published {
                        "published"
                    } else {
                        "approved"
                    }
                }),
                "return" => {
                    publishing::send_back(conn, &user, id, &reason, now).map(|()| "returned")
                }
                "withdraw" => {
                    publishing::withdraw(conn, &user, id, &reason, now).map(|()| "withdrawn")
                }
                _ => Err(PublishError::NotFound(id)),
            })
        })
        .await?;
    match done {
        Ok(flash) => {
            Ok(Redirect::to(&format!("/admin/notices/{id}?flash={flash}")).into_response())
        }
        Err(PublishError::Invalid(errors)) => {
            show_with(
                &state,
                &staff,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                None,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// Query of the preview image.
#[derive(Debug, Default, Deserialize)]
pub struct PreviewQuery {
    /// `notice` (default) or `list`: the 公示 list screen that airs after it.
    #[serde(default)]
    screen: String,
    #[serde(default)]
    profile: String,
    #[serde(default)]
    context: String,
    #[serde(default)]
    page: Option<u32>,
}

async fn screen_of(state: &AppState, id: i64, list: bool) -> Result<Screen, PageError> {
    let today = crate::content::county_today();
    let screen = state
        .store
        .call(move |conn| {
            if list {
                let list_id: Option<i64> = conn
                    .query_row(
                        "SELECT id FROM public_lists WHERE notice_id = ?1 ORDER BY id LIMIT 1",
                        [id],
                        |r| r.get(0),
                    )
                    .optional()?;
                Ok(match list_id {
                    Some(l) => crate::pages::public_list(conn, l)?.map(Screen::PublicList),
                    None => None,
                })
            } else {
                Ok(crate::pages::notice(conn, id, today)?.map(Screen::Notice))
            }
        })
        .await?;
    screen.ok_or_else(|| {
        PageError::Api(ApiError::NotFound(if list {
            format!("编号为{id}的信息没有名单")
        } else {
            format!("没有编号为{id}的信息")
        }))
    })
}

fn broadcast_context() -> ScreenContext {
    ScreenContext::Broadcast(OnAir {
        channel: "示范县政务频道".into(),
        next: None,
        alert: None,
    })
}

/// What the renderer says of a notice's screens on a standard-definition box.
#[derive(Debug, Clone, Default)]
pub struct PreviewSummary {
    /// Pages of the notice screen.
    pub pages: usize,
    /// Pages of its list screen, if it has a list.
    pub list_pages: Option<usize>,
    /// Characters no font has, in either screen.
    pub missing: String,
}

/// Pages of the notice (and its list) on a standard-definition box and the characters
/// no font has.
async fn preview_summary(state: &AppState, id: i64) -> Result<PreviewSummary, PageError> {
    let screen = screen_of(state, id, false).await?;
    let list = screen_of(state, id, true).await.ok();
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let screens = state.screens()?;
        let layouts = screens
            .with_renderer(|r| r.layout_in(&screen, Profile::Sd, &ScreenContext::Interactive));
        let list_layouts = list.map(|l| {
            screens.with_renderer(|r| r.layout_in(&l, Profile::Sd, &ScreenContext::Interactive))
        });
        let mut missing: Vec<char> = layouts
            .iter()
            .chain(list_layouts.iter().flatten())
            .flat_map(|l| l.missing.iter().copied())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        Ok::<_, ApiError>(PreviewSummary {
            pages: layouts.len(),
            list_pages: list_layouts.map(|l| l.len()),
            missing: missing.into_iter().collect(),
        })
    })
    .await
    .map_err(|e| PageError::Api(ApiError::Unavailable(e.to_string())))?
    .map_err(PageError::from)
}

/// `GET /admin/notices/{id}/preview.png?profile=sd&context=interactive|broadcast&page=1`:
/// the notice as it airs (masked), for staff who may see it.
pub async fn preview(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<PreviewQuery>,
) -> Result<Response, PageError> {
    let department = store_call(&state, move |conn| {
        Ok(publishing::get(conn, id)?.map(|r| r.form.department))
    })
    .await?
    .ok_or_else(|| PageError::Api(ApiError::NotFound(format!("没有编号为{id}的信息"))))?;
    if !publishing::may_see(&staff.user, &department) {
        return Err(PageError::Api(ApiError::Forbidden(
            "您不能查看其他单位的信息".into(),
        )));
    }
    let profile = Profile::parse(if q.profile.is_empty() {
        "sd"
    } else {
        &q.profile
    })
    .ok_or_else(|| PageError::Api(ApiError::BadRequest("不支持的画面规格".into())))?;
    let context = match q.context.as_str() {
        "" | "interactive" => ScreenContext::Interactive,
        "broadcast" => broadcast_context(),
        _ => {
            return Err(PageError::Api(ApiError::BadRequest(
                "画面类型应为 interactive 或 broadcast".into(),
            )))
        }
    };
    let page_no = q.page.unwrap_or(1);
    let list = match q.screen.as_str() {
        "" | "notice" => false,
        "list" => true,
        _ => {
            return Err(PageError::Api(ApiError::BadRequest(
                "画面应为 notice 或 list".into(),
            )))
        }
    };
    let screen = screen_of(&state, id, list).await?;
    let permit = tokio::time::timeout(
        crate::web::preview::PREVIEW_WAIT,
        std::sync::Arc::clone(&state.preview_permits).acquire_owned(),
    )
    .await
    .map_err(|_| PageError::Api(ApiError::Unavailable("too many previews at once".into())))?
    .map_err(|_| PageError::Api(ApiError::Unavailable("preview permits closed".into())))?;
    let png = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let screens = state.screens()?;
        screens
            .with_renderer(|r| r.render_indexed(&screen, profile, &context, page_no))
            .map(|(png, _)| png.png)
            .map_err(|e| match e {
                crate::render::RenderError::NoSuchPage { pages, .. } => {
                    ApiError::NotFound(format!("第{page_no}页不存在，共{pages}页"))
                }
                other => ApiError::Render(other),
            })
    })
    .await
    .map_err(|e| PageError::Api(ApiError::Unavailable(e.to_string())))??;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        png,
    )
        .into_response())
}
