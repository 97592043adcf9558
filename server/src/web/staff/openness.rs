//! Catalogue maintenance and the openness scorecard for staff.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::account::departments;
use super::{page, PageError, Staff};
use crate::accounts::Role;
use crate::catalogue;
use crate::content::UpdateFrequency;
use crate::openness::{self, EntryQuery};
use crate::publishing::PublishError;
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

/// The update frequencies as (value, label) for select boxes.
fn frequencies() -> Vec<minijinja::Value> {
    UpdateFrequency::ALL
        .iter()
        .map(|f| minijinja::context! { value => f.as_str(), label => f.label() })
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
    Ok(page(
        "catalogue.html",
        Some(&staff),
        "catalogue",
        minijinja::context! {
            rows, total, pages, departments, frequencies => frequencies(),
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

/// The entry form as the browser sends it: lists one item per line; materials as
/// `名称｜份数｜备注`.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct EntryInput {
    #[serde(default)]
    title: String,
    #[serde(default)]
    doc_no: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    valid_until: String,
    #[serde(default)]
    update_frequency: String,
    #[serde(default)]
    conditions: String,
    #[serde(default)]
    materials: String,
    #[serde(default)]
    steps: String,
    #[serde(default)]
    promised_limit_days: String,
    #[serde(default)]
    fees: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    phone: String,
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

impl EntryInput {
    fn from_form(f: &catalogue::EntryForm) -> EntryInput {
        // Entries without a guide show (and send back) empty guide fields.
        let g = f.guide.clone().unwrap_or_default();
        EntryInput {
            title: f.title.clone(),
            doc_no: f.doc_no.clone(),
            summary: f.summary.clone(),
            body: f.body.clone(),
            valid_until: f.valid_until.clone(),
            update_frequency: f.update_frequency.clone(),
            conditions: g.conditions.join("\n"),
            materials: g
                .materials
                .iter()
                .map(|m| format!("{}｜{}｜{}", m.name, m.copies, m.note))
                .collect::<Vec<_>>()
                .join("\n"),
            steps: g.steps.join("\n"),
            promised_limit_days: g
                .promised_limit_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            fees: g.fees,
            place: g.place,
            hours: g.hours,
            phone: g.phone,
        }
    }

    /// The form, or the fields this page itself could not read.
    fn to_form(
        &self,
        has_guide: bool,
    ) -> Result<catalogue::EntryForm, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let guide = if has_guide {
            let promised_limit_days = match self.promised_limit_days.trim() {
                "" => None,
                t => t.parse::<u32>().ok().or_else(|| {
                    errors.push((
                        "promised_limit_days",
                        "承诺时限应填写工作日天数（整数）".to_owned(),
                    ));
                    None
                }),
            };
            let materials = lines(&self.materials)
                .into_iter()
                .map(|l| {
                    let mut parts = l.split(['|', '｜']).map(str::trim);
                    catalogue::Material {
                        name: parts.next().unwrap_or_default().to_owned(),
                        copies: parts.next().unwrap_or_default().to_owned(),
                        note: parts.collect::<Vec<_>>().join("｜"),
                    }
                })
                .collect();
            Some(catalogue::GuideForm {
                conditions: lines(&self.conditions),
                materials,
                steps: lines(&self.steps),
                promised_limit_days,
                fees: self.fees.clone(),
                place: self.place.clone(),
                hours: self.hours.clone(),
                phone: self.phone.clone(),
            })
        } else {
            None
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(catalogue::EntryForm {
            title: self.title.clone(),
            doc_no: self.doc_no.clone(),
            summary: self.summary.clone(),
            body: self.body.clone(),
            valid_until: self.valid_until.clone(),
            update_frequency: self.update_frequency.clone(),
            guide,
        })
    }
}

fn entry_page(
    staff: &Staff,
    status: StatusCode,
    info: &catalogue::EntryInfo,
    form: &EntryInput,
    errors: Vec<(&'static str, String)>,
    saved: bool,
) -> Result<Response, PageError> {
    let (errors, field_errors) = super::form_errors(&errors);
    let html = page(
        "entry.html",
        Some(staff),
        "catalogue",
        minijinja::context! {
            entry => info, form, errors, field_errors, frequencies => frequencies(),
            may_edit => crate::publishing::may_edit(&staff.user, &info.department),
            saved,
        },
    )?;
    Ok((status, html).into_response())
}

async fn load_entry(
    state: &AppState,
    id: i64,
) -> Result<(catalogue::EntryForm, catalogue::EntryInfo), PageError> {
    state
        .store
        .call(move |conn| Ok(catalogue::entry(conn, id)))
        .await??
        .ok_or_else(|| PageError::Api(ApiError::NotFound(format!("没有编号为{id}的目录"))))
}

/// `GET /admin/catalogue/{id}`: an entry, editable by its department's editors.
pub async fn entry(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    let (form, info) = load_entry(&state, id).await?;
    let input = EntryInput::from_form(&form);
    entry_page(
        &staff,
        StatusCode::OK,
        &info,
        &input,
        Vec::new(),
        q.saved == "1",
    )
}

/// Whether the entry was just saved.
#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: String,
}

/// `POST /admin/catalogue/{id}`: saves an entry.
pub async fn save_entry(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    Form(input): Form<EntryInput>,
) -> Result<Response, PageError> {
    let (_, info) = load_entry(&state, id).await?;
    let form = match input.to_form(info.has_guide) {
        Ok(form) => form,
        Err(errors) => {
            return entry_page(
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                &info,
                &input,
                errors,
                false,
            )
        }
    };
    let (user, now) = (staff.user.clone(), chrono::Utc::now());
    let saved = state
        .store
        .call(move |conn| Ok(catalogue::update(conn, &user, id, &form, now)))
        .await?;
    match saved {
        Ok(()) => Ok(Redirect::to(&format!("/admin/catalogue/{id}?saved=1")).into_response()),
        Err(PublishError::Invalid(errors)) => entry_page(
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            &info,
            &input,
            errors,
            false,
        ),
        Err(e) => Err(e.into()),
    }
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
        "采集拒收",
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
            s.rejected.to_string(),
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
