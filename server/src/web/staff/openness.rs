//! Catalogue maintenance and the openness scorecard for staff.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::account::departments;
use super::{page, PageError, Staff};
use crate::accounts::Role;
use crate::content::UpdateFrequency;
use crate::openness::{self, EntryQuery};
use crate::web::{ApiError, AppState};

/// Departments `staff` edits for.
pub fn editable(staff: &Staff) -> Vec<String> {
    staff
        .user
        .grants
        .iter()
        .filter(|g| g.role == Role::Editor)
        .filter_map(|g| g.department.clone())
        .collect()
}

/// `GET /admin/catalogue?q=&department=&overdue=1&page=`.
pub async fn catalogue(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<EntryQuery>,
) -> Result<Response, PageError> {
    let now = chrono::Utc::now();
    let query = q.clone();
    let ((rows, total), departments) = state
        .store
        .call(move |conn| {
            Ok((
                openness::entries(conn, None, &query, now)?,
                departments(conn)?,
            ))
        })
        .await?;
    let pages = total.div_ceil(openness::PAGE_ROWS).max(1);
    let frequencies: Vec<minijinja::Value> = UpdateFrequency::ALL
        .iter()
        .map(|f| minijinja::context! { value => f.as_str(), label => f.label() })
        .collect();
    Ok(page(
        "catalogue.html",
        Some(&staff),
        "catalogue",
        minijinja::context! {
            rows, total, pages, departments, frequencies,
            editable => editable(&staff),
            page => q.page.unwrap_or(1).max(1),
            query => minijinja::context! { q => q.q, department => q.department, overdue => q.overdue },
        },
    )?
    .into_response())
}

/// The confirm form.
#[derive(Debug, Default, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    update_frequency: String,
}

/// `POST /admin/catalogue/{id}/confirm`: the entry is current (editors of its department).
pub async fn confirm(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    confirm_entry(&state, &staff.user, id, &form.update_frequency).await?;
    Ok(Redirect::to("/admin/catalogue?overdue=1").into_response())
}

/// Checks and records a confirmation by `user` (shared with the JSON API).
pub async fn confirm_entry(
    state: &AppState,
    user: &crate::accounts::User,
    id: i64,
    frequency: &str,
) -> Result<(), ApiError> {
    let frequency = if frequency.is_empty() {
        None
    } else {
        Some(UpdateFrequency::parse(frequency).ok_or_else(|| {
            ApiError::BadRequest(
                "更新频率应为 monthly、quarterly、half_yearly、yearly 或 on_change".into(),
            )
        })?)
    };
    let department = state
        .store
        .call(move |conn| openness::entry_department(conn, id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("没有编号为{id}的目录")))?;
    if !crate::publishing::may_edit(user, &department) {
        return Err(ApiError::Forbidden(
            "只有该单位的信息员可以核对其目录".into(),
        ));
    }
    let (actor, now) = (user.name.clone(), chrono::Utc::now());
    state
        .store
        .call(move |conn| openness::confirm_entry(conn, &actor, id, frequency, now))
        .await?;
    Ok(())
}

/// Query of the scorecard.
#[derive(Debug, Default, Deserialize)]
pub struct ScoreQuery {
    #[serde(default)]
    days: Option<String>,
}

/// The period asked for: 7–366 days, 90 by default.
pub fn period(q: &ScoreQuery) -> i64 {
    q.days
        .as_deref()
        .and_then(|d| d.trim().parse::<i64>().ok())
        .map_or(90, |d| d.clamp(7, 366))
}

/// `GET /admin/scorecard?days=90`.
pub async fn scorecard(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ScoreQuery>,
) -> Result<Response, PageError> {
    let days = period(&q);
    let now = chrono::Utc::now();
    let scores = state
        .store
        .call(move |conn| openness::scorecard(conn, days, now))
        .await?;
    Ok(page(
        "scorecard.html",
        Some(&staff),
        "scorecard",
        minijinja::context! {
            scores, days, rules => openness::RULES,
            since => openness::period_start(days, now).to_string(),
        },
    )?
    .into_response())
}

/// `GET /admin/scorecard.csv?days=90`.
pub async fn scorecard_csv(
    State(state): State<AppState>,
    _staff: Staff,
    Query(q): Query<ScoreQuery>,
) -> Result<Response, PageError> {
    let days = period(&q);
    let now = chrono::Utc::now();
    let scores = state
        .store
        .call(move |conn| openness::scorecard(conn, days, now))
        .await?;
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = out.write_record([
        "单位代码",
        "单位",
        "得分",
        "发布",
        "逾期目录",
        "目录总数",
        "退回",
        "撤回",
        "平均审核天数",
        "扣分原因",
    ]);
    for s in &scores {
        let _ = out.write_record([
            s.department.clone(),
            s.name.clone(),
            s.score.to_string(),
            s.published.to_string(),
            s.overdue.to_string(),
            s.entries.to_string(),
            s.returned.to_string(),
            s.withdrawn.to_string(),
            s.average_review_days
                .map_or(String::new(), |d| format!("{d:.1}")),
            s.deductions.join("；"),
        ]);
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"scorecard.csv\"",
            ),
        ],
        out.into_inner().unwrap_or_default(),
    )
        .into_response())
}
