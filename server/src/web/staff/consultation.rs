//! Polls and cases for staff.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::{page, PageError, Staff};
use crate::accounts::{Role, User};
use crate::consultation::{self, CaseQuery, PollForm};
use crate::content::CaseStatus;
use crate::web::{ApiError, AppState};

/// Whether `user` may create and close polls.
pub fn may_manage_polls(user: &User) -> bool {
    user.has(Role::Operator) || user.has(Role::Admin)
}

/// The poll form as the browser sends it.
#[derive(Debug, Default, Deserialize)]
pub struct PollInput {
    #[serde(default)]
    question: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    opens_on: String,
    #[serde(default)]
    closes_on: String,
    #[serde(default)]
    options: String,
}

/// Polls per page.
pub const POLLS_PER_PAGE: usize = 10;

/// Search and page of the polls list.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct PollQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<usize>,
}

async fn polls_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    (query, form): (&PollQuery, &PollForm),
    errors: Vec<(&'static str, String)>,
) -> Result<Response, PageError> {
    let today = crate::content::county_today();
    let (polls, regions) = state
        .store
        .call(move |conn| {
            Ok((
                consultation::polls(conn, today)?,
                super::account::regions(conn)?,
            ))
        })
        .await?;
    let needle = query.q.trim();
    let matching: Vec<_> = polls
        .into_iter()
        .filter(|p| {
            needle.is_empty() || p.question.contains(needle) || p.region_name.contains(needle)
        })
        .collect();
    let paged = super::paginate(matching, query.page, POLLS_PER_PAGE);
    let (errors, _) = super::form_errors(&errors);
    let html = page(
        "polls.html",
        Some(staff),
        "polls",
        minijinja::context! {
            polls => paged.rows, regions, form, errors, query,
            total => paged.total, pages => paged.pages, page => paged.page,
            options_text => form.options.join("\n"),
            can_manage => may_manage_polls(&staff.user),
        },
    )?;
    Ok((status, html).into_response())
}

/// `GET /admin/polls`.
pub async fn polls(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<PollQuery>,
) -> Result<Response, PageError> {
    let today = crate::content::county_today();
    let county = super::account::county_code(&state).await?;
    let form = PollForm {
        region: county,
        opens_on: today.to_string(),
        closes_on: (today + chrono::Duration::days(14)).to_string(),
        ..PollForm::default()
    };
    polls_page(&state, &staff, StatusCode::OK, (&query, &form), Vec::new()).await
}

/// Creates a poll for `user` after checking it (shared with the JSON API): the id, or
/// the fields to fix.
pub async fn create(
    state: &AppState,
    user: &User,
    form: PollForm,
) -> Result<Result<i64, Vec<(&'static str, String)>>, ApiError> {
    if !may_manage_polls(user) {
        return Err(ApiError::Forbidden(
            "只有播出员或管理员可以发起民意调查".into(),
        ));
    }
    let (actor, now) = (user.name.clone(), chrono::Utc::now());
    Ok(state
        .store
        .call(move |conn| {
            let errors = consultation::validate(conn, &form)?;
            if !errors.is_empty() {
                return Ok(Err(errors));
            }
            Ok(Ok(consultation::create_poll(conn, &actor, &form, now)?))
        })
        .await?)
}

/// `POST /admin/polls`.
pub async fn create_poll(
    State(state): State<AppState>,
    staff: Staff,
    Form(input): Form<PollInput>,
) -> Result<Response, PageError> {
    let form = PollForm {
        question: input.question,
        region: input.region,
        opens_on: input.opens_on,
        closes_on: input.closes_on,
        options: input
            .options
            .lines()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect(),
    };
    match create(&state, &staff.user, form.clone()).await? {
        Ok(_) => Ok(Redirect::to("/admin/polls").into_response()),
        Err(errors) => {
            polls_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                (&PollQuery::default(), &form),
                errors,
            )
            .await
        }
    }
}

/// Closes poll `id` for `user` (shared with the JSON API).
pub async fn close(state: &AppState, user: &User, id: i64) -> Result<(), ApiError> {
    if !may_manage_polls(user) {
        return Err(ApiError::Forbidden(
            "只有播出员或管理员可以结束民意调查".into(),
        ));
    }
    let (actor, now) = (user.name.clone(), chrono::Utc::now());
    let closed = state
        .store
        .call(move |conn| {
            if !consultation::poll_exists(conn, id)? {
                return Ok(None);
            }
            Ok(Some(consultation::close_poll(conn, &actor, id, now)?))
        })
        .await?;
    match closed {
        None => Err(ApiError::NotFound(format!("没有编号为{id}的民意调查"))),
        Some(false) => Err(ApiError::Conflict("这项民意调查已经结束".into())),
        Some(true) => Ok(()),
    }
}

/// `POST /admin/polls/{id}/close`.
pub async fn close_poll(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    close(&state, &staff.user, id).await?;
    Ok(Redirect::to("/admin/polls").into_response())
}

/// `GET /admin/polls/{id}.csv` (the route's segment is `{file}`: `<id>.csv`).
pub async fn poll_csv(
    State(state): State<AppState>,
    _staff: Staff,
    Path(file): Path<String>,
) -> Result<Response, PageError> {
    let id: i64 = file
        .strip_suffix(".csv")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| PageError::Api(ApiError::NotFound("没有这个地址".into())))?;
    let today = crate::content::county_today();
    let poll = state
        .store
        .call(move |conn| consultation::poll(conn, id, today))
        .await?
        .ok_or_else(|| PageError::Api(ApiError::NotFound(format!("没有编号为{id}的民意调查"))))?;
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = out.write_record([
        "问题", "地区", "开始", "截止", "状态", "序号", "选项", "票数",
    ]);
    for (i, (label, votes)) in poll.options.iter().enumerate() {
        let _ = out.write_record([
            poll.question.as_str(),
            &poll.region_name,
            &poll.opens_on,
            &poll.closes_on,
            poll.state,
            &(i + 1).to_string(),
            label,
            &votes.to_string(),
        ]);
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"poll-{id}.csv\""),
            ),
        ],
        out.into_inner().unwrap_or_default(),
    )
        .into_response())
}

/// Whether `user` sees the applicants of `department`'s cases whole.
pub fn sees_applicants(user: &User, department: &str) -> bool {
    user.has(Role::Admin) || crate::publishing::may_see(user, department)
}

/// `GET /admin/cases?q=&status=&page=`.
pub async fn cases(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<CaseQuery>,
) -> Result<Response, PageError> {
    let today = crate::content::county_today();
    let user = staff.user.clone();
    let query = q.clone();
    let (rows, total) = state
        .store
        .call(move |conn| consultation::cases(conn, &query, today, |d| sees_applicants(&user, d)))
        .await?;
    let pages = total.div_ceil(consultation::PAGE_ROWS).max(1);
    let statuses: Vec<minijinja::Value> = CaseStatus::ALL
        .iter()
        .map(|s| minijinja::context! { value => s.as_str(), label => s.label() })
        .collect();
    Ok(page(
        "cases.html",
        Some(&staff),
        "cases",
        minijinja::context! {
            rows, total, pages, statuses,
            page => q.page.unwrap_or(1).max(1),
            query => minijinja::context! { q => q.q, status => q.status },
        },
    )?
    .into_response())
}
