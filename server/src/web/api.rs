//! The staff JSON API under `/api/v1`: everything the staff pages do, for scripts and
//! other systems. Who may call what is decided before these handlers run
//! ([`super::access`]); department checks happen in the domain functions they call.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::Caller;
use super::staff::audit::{self as audit_log, AuditQuery};
use super::{ApiError, AppState};
use crate::accounts::{self, AccountError, Grant, NewUser, Role};
use crate::publishing::{self, NoticeForm, NoticeQuery, PublishError};

/// Errors of the staff API: an [`ApiError`], or fields to fix (422 with each field's
/// Chinese message).
#[derive(Debug)]
pub enum StaffApiError {
    /// Anything with a status of its own.
    Api(ApiError),
    /// Fields to fix.
    Fields(Vec<(&'static str, String)>),
}

impl From<ApiError> for StaffApiError {
    fn from(e: ApiError) -> Self {
        StaffApiError::Api(e)
    }
}

impl From<crate::store::StoreError> for StaffApiError {
    fn from(e: crate::store::StoreError) -> Self {
        StaffApiError::Api(ApiError::Store(e))
    }
}

impl From<PublishError> for StaffApiError {
    fn from(e: PublishError) -> Self {
        StaffApiError::Api(match e {
            PublishError::Store(s) => ApiError::Store(s),
            PublishError::Forbidden(m) => ApiError::Forbidden(m),
            PublishError::NotFound(id) => ApiError::NotFound(format!("没有编号为{id}的信息")),
            PublishError::WrongState(m) => ApiError::Conflict(m),
            PublishError::Invalid(fields) => return StaffApiError::Fields(fields),
        })
    }
}

impl From<AccountError> for StaffApiError {
    fn from(e: AccountError) -> Self {
        let message = e.staff_message().unwrap_or_default().to_owned();
        StaffApiError::Api(match e {
            AccountError::Store(s) => ApiError::Store(s),
            AccountError::Hash(m) => ApiError::Unavailable(m),
            AccountError::Exists(_) | AccountError::LastAdmin | AccountError::OwnAccount => {
                ApiError::Conflict(message)
            }
            AccountError::BadName(_) => return StaffApiError::Fields(vec![("name", message)]),
            AccountError::UnknownDepartment(_) | AccountError::EditorWithoutDepartment => {
                return StaffApiError::Fields(vec![("department", message)])
            }
            AccountError::NoRoles => return StaffApiError::Fields(vec![("grants", message)]),
            AccountError::UnknownUser(n) => ApiError::NotFound(format!("没有用户{n}")),
            AccountError::Busy => ApiError::TooMany(message),
        })
    }
}

impl From<crate::schedule::EditError> for StaffApiError {
    fn from(e: crate::schedule::EditError) -> Self {
        use crate::schedule::EditError;
        StaffApiError::Api(match e {
            EditError::Store(s) => ApiError::Store(s),
            EditError::Forbidden(m) => ApiError::Forbidden(m),
            EditError::NotFound => ApiError::NotFound("没有这一项".into()),
            EditError::Conflict(m) => ApiError::Conflict(m),
            EditError::Invalid(fields) => return StaffApiError::Fields(fields),
        })
    }
}

impl IntoResponse for StaffApiError {
    fn into_response(self) -> Response {
        match self {
            StaffApiError::Api(e) => e.into_response(),
            StaffApiError::Fields(fields) => {
                let message = fields
                    .iter()
                    .map(|(_, m)| m.as_str())
                    .collect::<Vec<_>>()
                    .join("；");
                let by_field: serde_json::Map<String, Value> = fields
                    .into_iter()
                    .map(|(f, m)| (f.to_owned(), Value::from(m)))
                    .collect();
                tracing::info!(%message, "staff API request with fields to fix");
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({ "error": message, "fields": by_field })),
                )
                    .into_response()
            }
        }
    }
}

pub(crate) type ApiResult = Result<Response, StaffApiError>;

/// Reads a JSON body into `T`, with a Chinese message for anything malformed.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StaffApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        StaffApiError::Api(ApiError::BadRequest(format!(
            "请求内容格式不正确：第{}行第{}列附近有误（{}）",
            e.line(),
            e.column(),
            match e.classify() {
                serde_json::error::Category::Data => "字段缺失或类型不对",
                _ => "不是有效的JSON",
            }
        )))
    })
}

/// Largest JSON body of the staff API.
pub const MAX_BODY: usize = 512 * 1024;

pub(crate) async fn read_body<T: serde::de::DeserializeOwned>(
    b: axum::body::Body,
) -> Result<T, StaffApiError> {
    let bytes = axum::body::to_bytes(b, MAX_BODY).await.map_err(|_| {
        StaffApiError::Api(ApiError::TooLarge(format!(
            "请求内容过大（上限{}KB）",
            MAX_BODY / 1024
        )))
    })?;
    body(&bytes)
}

/// Runs a read-only `f` on one of the store's readers (beside any write in progress).
pub(crate) async fn read<T: Send + 'static, E: Into<StaffApiError> + Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T, E> + Send + 'static,
) -> Result<T, StaffApiError> {
    state
        .store
        .read(move |conn| Ok(f(conn)))
        .await?
        .map_err(Into::into)
}

pub(crate) async fn call<T: Send + 'static, E: Into<StaffApiError> + Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut rusqlite::Connection) -> Result<T, E> + Send + 'static,
) -> Result<T, StaffApiError> {
    state
        .store
        .call(move |conn| Ok(f(conn)))
        .await?
        .map_err(Into::into)
}

/// `GET /api/v1/me`.
pub async fn me(caller: Caller) -> Json<Value> {
    Json(json!({
        "name": caller.user.name,
        "display_name": caller.user.display_name,
        "grants": caller.user.grants,
    }))
}

/// `GET /api/v1/tokens`.
pub async fn tokens(State(state): State<AppState>, caller: Caller) -> ApiResult {
    let id = caller.user.id;
    let rows = read(&state, move |conn| accounts::list_tokens(conn, id)).await?;
    Ok(Json(rows).into_response())
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
}

/// `POST /api/v1/tokens`: a new token, shown once.
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    b: axum::body::Body,
) -> ApiResult {
    let req: NewToken = read_body(b).await?;
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(StaffApiError::Fields(vec![(
            "name",
            "请填写令牌用途（1–64个字）".into(),
        )]));
    }
    if caller.user.id == 0 {
        return Err(ApiError::Forbidden(
            "共享管理令牌不能再创建令牌，请用个人账号登录后创建".into(),
        )
        .into());
    }
    let (id, now) = (caller.user.id, chrono::Utc::now());
    let (row, token) = call(&state, move |conn| {
        accounts::create_token(conn, id, &name, now)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": row, "token": token })),
    )
        .into_response())
}

/// `DELETE /api/v1/tokens/{id}`.
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(token): Path<i64>,
) -> ApiResult {
    let (id, now) = (caller.user.id, chrono::Utc::now());
    if call(&state, move |conn| {
        accounts::revoke_token(conn, id, token, now)
    })
    .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound(format!("没有编号为{token}的令牌")).into())
    }
}

/// `GET /api/v1/notices?q=&status=&page=`.
pub async fn notices(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<NoticeQuery>,
) -> ApiResult {
    let user = caller.user;
    let page = q.page.unwrap_or(1).max(1);
    let (rows, total) = read(&state, move |conn| publishing::list(conn, &user, &q)).await?;
    Ok(Json(
        json!({ "total": total, "page": page, "per_page": publishing::PAGE_ROWS, "items": rows }),
    )
    .into_response())
}

/// `GET /api/v1/notices/{id}`: the notice as staff see it, with the scan's findings.
pub async fn notice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    let (record, words) = call(&state, move |conn| {
        Ok::<_, PublishError>((
            publishing::get(conn, id)?,
            publishing::sensitive_words(conn)?,
        ))
    })
    .await?;
    let record = record.ok_or_else(|| ApiError::NotFound(format!("没有编号为{id}的信息")))?;
    if !publishing::may_see(&caller.user, &record.form.department) {
        return Err(ApiError::Forbidden("您不能查看其他单位的信息".into()).into());
    }
    let findings = publishing::scan(&record.form, &words);
    Ok(Json(json!({ "notice": record, "findings": findings })).into_response())
}

/// `POST /api/v1/notices`: a new draft; 201 with its id.
pub async fn create_notice(
    State(state): State<AppState>,
    caller: Caller,
    b: axum::body::Body,
) -> ApiResult {
    let form: NoticeForm = read_body(b).await?;
    let (user, now) = (caller.user, chrono::Utc::now());
    let id = call(&state, move |conn| {
        publishing::create(conn, &user, &form, now)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "status": "draft" })),
    )
        .into_response())
}

/// `PUT /api/v1/notices/{id}`.
pub async fn update_notice(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    b: axum::body::Body,
) -> ApiResult {
    let form: NoticeForm = read_body(b).await?;
    let (user, now) = (caller.user, chrono::Utc::now());
    call(&state, move |conn| {
        publishing::update(conn, &user, id, &form, now)
    })
    .await?;
    Ok(Json(json!({ "id": id })).into_response())
}

#[derive(Deserialize, Default)]
struct Reason {
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/notices/{id}/submit`.
pub async fn submit(
    state: State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    b: axum::body::Body,
) -> ApiResult {
    act(state, caller, id, "submit", b).await
}

/// `POST /api/v1/notices/{id}/approve`.
pub async fn approve(
    state: State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    b: axum::body::Body,
) -> ApiResult {
    act(state, caller, id, "approve", b).await
}

/// `POST /api/v1/notices/{id}/return` with `{"reason": "…"}`.
pub async fn send_back(
    state: State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    b: axum::body::Body,
) -> ApiResult {
    act(state, caller, id, "return", b).await
}

/// `POST /api/v1/notices/{id}/withdraw` with `{"reason": "…"}`.
pub async fn withdraw(
    state: State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    b: axum::body::Body,
) -> ApiResult {
    act(state, caller, id, "withdraw", b).await
}

async fn act(
    State(state): State<AppState>,
    caller: Caller,
    id: i64,
    action: &'static str,
    b: axum::body::Body,
) -> ApiResult {
    let bytes = axum::body::to_bytes(b, MAX_BODY)
        .await
        .map_err(|_| StaffApiError::Api(ApiError::TooLarge("请求内容过大".into())))?;
    let reason: Reason = if bytes.iter().all(u8::is_ascii_whitespace) {
        Reason::default()
    } else {
        body(&bytes)?
    };
    let (user, now) = (caller.user, chrono::Utc::now());
    let status = call(&state, move |conn| -> Result<_, PublishError> {
        match action {
            "submit" => publishing::submit(conn, &user, id, now)?,
            "approve" => {
                publishing::approve(conn, &user, id, now)?;
            }
            "return" => publishing::send_back(conn, &user, id, &reason.reason, now)?,
            "withdraw" => publishing::withdraw(conn, &user, id, &reason.reason, now)?,
            _ => return Err(PublishError::NotFound(id)),
        }
        Ok(publishing::get(conn, id)?.map(|r| r.status))
    })
    .await?;
    Ok(Json(json!({ "id": id, "status": status })).into_response())
}

/// `GET /api/v1/audit?actor=&action=&object=&page=`.
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult {
    let who = (!caller.user.has(Role::Admin)).then(|| caller.user.name.clone());
    let page = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let (rows, total) = state
        .store
        .call(move |conn| {
            Ok(audit_log::read(
                conn,
                who.as_deref(),
                &q,
                audit_log::PAGE_ROWS,
                (page - 1) * audit_log::PAGE_ROWS,
            )?)
        })
        .await?;
    Ok(Json(
        json!({ "total": total, "page": page, "per_page": audit_log::PAGE_ROWS, "items": rows }),
    )
    .into_response())
}

/// `GET /api/v1/users`.
pub async fn users(State(state): State<AppState>) -> ApiResult {
    let now = chrono::Utc::now();
    let rows = read(&state, move |conn| accounts::list_users(conn, now)).await?;
    Ok(Json(rows).into_response())
}

#[derive(Deserialize)]
struct NewUserBody {
    name: String,
    #[serde(default)]
    display_name: String,
    role: String,
    #[serde(default)]
    department: Option<String>,
}

/// `POST /api/v1/users`: 201 with the one-time password.
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    b: axum::body::Body,
) -> ApiResult {
    let req: NewUserBody = read_body(b).await?;
    let role = Role::parse(&req.role).ok_or_else(|| {
        StaffApiError::Fields(vec![(
            "role",
            "角色应为 editor、reviewer、operator 或 admin".into(),
        )])
    })?;
    let department = req
        .department
        .filter(|d| !d.trim().is_empty() && matches!(role, Role::Editor | Role::Reviewer));
    let password = accounts::one_time_password()?;
    let hash = state.passwords.hash(&password).await?;
    let (actor, now) = (caller.user.name, chrono::Utc::now());
    let name = req.name.trim().to_owned();
    let n = name.clone();
    call(&state, move |conn| {
        let grants = [Grant { role, department }];
        let user = NewUser {
            name: &n,
            display_name: req.display_name.trim(),
            password_hash: &hash,
            grants: &grants,
            must_change: true,
        };
        accounts::add_user(conn, &user, &actor, now)
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "name": name, "one_time_password": password })),
    )
        .into_response())
}

#[derive(Deserialize)]
struct GrantsBody {
    grants: Vec<GrantBody>,
}

#[derive(Deserialize)]
struct GrantBody {
    role: String,
    #[serde(default)]
    department: Option<String>,
}

/// `PUT /api/v1/users/{name}/roles` with `{"grants": [{"role", "department"}]}`: replaces
/// the user's roles (audited as a permission change).
pub async fn set_roles(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    b: axum::body::Body,
) -> ApiResult {
    let req: GrantsBody = read_body(b).await?;
    let mut grants = Vec::with_capacity(req.grants.len());
    for g in req.grants {
        let role = Role::parse(&g.role).ok_or_else(|| {
            StaffApiError::Fields(vec![(
                "grants",
                "角色应为 editor、reviewer、operator 或 admin".into(),
            )])
        })?;
        let department = g
            .department
            .filter(|d| !d.trim().is_empty() && matches!(role, Role::Editor | Role::Reviewer));
        grants.push(Grant { role, department });
    }
    let (actor, now) = (caller.user.name, chrono::Utc::now());
    let n = name.clone();
    call(&state, move |conn| {
        accounts::set_grants(conn, &n, &grants, &actor, now)?;
        accounts::find_user(conn, &n, now)
    })
    .await
    .map(|user| Json(user).into_response())
}

/// `POST /api/v1/users/{name}/{disable|enable|unlock|reset}`: account actions of an
/// administrator; `reset` answers the new one-time password.
pub async fn user_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, action)): Path<(String, String)>,
) -> ApiResult {
    let (actor, now) = (caller.user.name, chrono::Utc::now());
    let n = name.clone();
    match action.as_str() {
        "disable" | "enable" => {
            let disabled = action == "disable";
            call(&state, move |conn| {
                accounts::set_disabled(conn, &n, disabled, &actor, now)
            })
            .await?;
        }
        "unlock" => call(&state, move |conn| accounts::unlock(conn, &n, &actor, now)).await?,
        "reset" => {
            let password = accounts::one_time_password()?;
            let hash = state.passwords.hash(&password).await?;
            call(&state, move |conn| {
                accounts::reset_password(conn, &n, &hash, &actor, now)
            })
            .await?;
            return Ok(Json(json!({ "name": name, "one_time_password": password })).into_response());
        }
        _ => return Err(ApiError::NotFound("没有这个操作".into()).into()),
    }
    let user = read(&state, move |conn| accounts::find_user(conn, &name, now)).await?;
    Ok(Json(user).into_response())
}

/// `GET /api/v1/sensitive-words`: the list the confidentiality scan flags.
pub async fn sensitive_words(State(state): State<AppState>) -> ApiResult {
    let words = read(&state, publishing::sensitive_words).await?;
    Ok(Json(json!({ "words": words })).into_response())
}

fn may_edit_words(caller: &Caller) -> Result<(), StaffApiError> {
    if publishing::may_edit_words(&caller.user) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("只有管理员和全县审核员可以修改敏感词".into()).into())
    }
}

#[derive(Deserialize)]
struct WordsBody {
    words: Vec<String>,
}

/// `POST /api/v1/sensitive-words` with `{"words": […]}`: adds words; answers those new.
pub async fn add_sensitive_words(
    State(state): State<AppState>,
    caller: Caller,
    b: axum::body::Body,
) -> ApiResult {
    may_edit_words(&caller)?;
    let req: WordsBody = read_body(b).await?;
    let (actor, now) = (caller.user.name, chrono::Utc::now());
    let added = call(&state, move |conn| {
        publishing::add_sensitive_words(conn, &req.words, &actor, now)
    })
    .await?;
    Ok(Json(json!({ "added": added })).into_response())
}

/// `DELETE /api/v1/sensitive-words/{word}`.
pub async fn remove_sensitive_word(
    State(state): State<AppState>,
    caller: Caller,
    Path(word): Path<String>,
) -> ApiResult {
    may_edit_words(&caller)?;
    let (actor, now) = (caller.user.name, chrono::Utc::now());
    let found = call(&state, move |conn| {
        publishing::remove_sensitive_word(conn, &word, &actor, now)
    })
    .await?;
    if !found {
        return Err(ApiError::NotFound("列表中没有这个词".into()).into());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/catalogue?q=&department=&overdue=1&page=`.
pub async fn catalogue(
    State(state): State<AppState>,
    Query(q): Query<crate::openness::EntryQuery>,
) -> ApiResult {
    let now = chrono::Utc::now();
    let page = q.page.unwrap_or(1).max(1);
    let (rows, total) = state
        .store
        .read(move |conn| crate::openness::entries(conn, None, &q, now))
        .await?;
    Ok(Json(json!({ "total": total, "page": page, "per_page": crate::openness::PAGE_ROWS, "items": rows })).into_response())
}

#[derive(Deserialize, Default)]
struct Confirm {
    #[serde(default)]
    update_frequency: String,
}

/// `GET /api/v1/catalogue/{id}`: an entry's editable fields and facts.
pub async fn catalogue_entry(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult {
    let found = read(&state, move |conn| crate::catalogue::entry(conn, id)).await?;
    let (form, info) = found.ok_or_else(|| ApiError::NotFound(format!("没有编号为{id}的目录")))?;
    Ok(Json(json!({ "entry": info, "form": form })).into_response())
}

/// `PUT /api/v1/catalogue/{id}`: saves an entry (editors of its department).
pub async fn update_catalogue_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    b: axum::body::Body,
) -> ApiResult {
    let form: crate::catalogue::EntryForm = read_body(b).await?;
    let now = chrono::Utc::now();
    let found = call(&state, move |conn| {
        crate::catalogue::update(conn, &caller.user, id, &form, now)?;
        crate::catalogue::entry(conn, id)
    })
    .await?;
    let (form, info) = found.ok_or_else(|| ApiError::NotFound(format!("没有编号为{id}的目录")))?;
    Ok(Json(json!({ "entry": info, "form": form })).into_response())
}

/// `POST /api/v1/catalogue/{id}/confirm` with `{"update_frequency": "…"}` (optional).
pub async fn confirm_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    b: axum::body::Body,
) -> ApiResult {
    let bytes = axum::body::to_bytes(b, MAX_BODY)
        .await
        .map_err(|_| StaffApiError::Api(ApiError::TooLarge("请求内容过大".into())))?;
    let req: Confirm = if bytes.iter().all(u8::is_ascii_whitespace) {
        Confirm::default()
    } else {
        body(&bytes)?
    };
    super::staff::openness::confirm_entry(&state, &caller.user, id, &req.update_frequency).await?;
    Ok(Json(json!({ "id": id })).into_response())
}

/// `GET /api/v1/scorecard?days=90`: every department's score with its deductions and the rules.
pub async fn scorecard(
    State(state): State<AppState>,
    Query(q): Query<super::staff::openness::ScoreQuery>,
) -> ApiResult {
    let days = super::staff::openness::period(&q);
    let now = chrono::Utc::now();
    let scores = state
        .store
        .read(move |conn| crate::openness::scorecard(conn, days, now))
        .await?;
    Ok(
        Json(json!({ "days": days, "rules": crate::openness::RULES, "departments": scores }))
            .into_response(),
    )
}

/// `GET /api/v1/polls`: every poll with its results.
pub async fn polls(State(state): State<AppState>) -> ApiResult {
    let today = crate::content::county_today();
    let rows = state
        .store
        .read(move |conn| crate::consultation::polls(conn, today))
        .await?;
    Ok(Json(rows).into_response())
}

/// `POST /api/v1/polls`: 201 with the new poll's id.
pub async fn create_poll(
    State(state): State<AppState>,
    caller: Caller,
    b: axum::body::Body,
) -> ApiResult {
    let form: crate::consultation::PollForm = read_body(b).await?;
    match super::staff::consultation::create(&state, &caller.user, form).await? {
        Ok(id) => Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response()),
        Err(fields) => Err(StaffApiError::Fields(fields)),
    }
}

/// `POST /api/v1/polls/{id}/close`.
pub async fn close_poll(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult {
    super::staff::consultation::close(&state, &caller.user, id).await?;
    Ok(Json(json!({ "id": id, "closed": true })).into_response())
}

/// `GET /api/v1/cases?q=&status=&page=`.
pub async fn cases(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<crate::consultation::CaseQuery>,
) -> ApiResult {
    let today = crate::content::county_today();
    let page = q.page.unwrap_or(1).max(1);
    let user = caller.user;
    let (rows, total) = state
        .store
        .read(move |conn| {
            crate::consultation::cases(conn, &q, today, |d| {
                super::staff::consultation::sees_applicants(&user, d)
            })
        })
        .await?;
    Ok(Json(json!({ "total": total, "page": page, "per_page": crate::consultation::PAGE_ROWS, "items": rows })).into_response())
}
