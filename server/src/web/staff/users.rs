//! The users-and-roles pages (administrators): the list with search, adding an account
//! (its one-time password shown once), and one account's page: its roles, disable or
//! enable, unlock after failed logins, and a password reset. Every change is made by
//! [`accounts`] and written to the audit log there (permission changes with the roles
//! before and after).

use axum::extract::{Path, Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::account::departments;
use super::{page, paginate, require_admin, roles_text, PageError, Staff};
use crate::accounts::{self, AccountError, Grant, NewUser, Role, UserRow};
use crate::web::{ApiError, AppState};

/// Accounts per page of the list.
pub const PAGE_ROWS: usize = 50;

/// The add-user form.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct UserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    department: String,
}

/// Search and page of the list.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct UserQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<usize>,
}

fn state_text(u: &UserRow) -> String {
    let mut state = Vec::new();
    if u.disabled {
        state.push("已停用");
    }
    if u.locked {
        state.push("已锁定");
    }
    if u.must_change {
        state.push("待首次改密");
    }
    if state.is_empty() {
        state.push("正常");
    }
    state.join("、")
}

fn role_options() -> Vec<minijinja::Value> {
    Role::ALL
        .iter()
        .map(|r| minijinja::context! { value => r.as_str(), label => r.label() })
        .collect()
}

async fn users_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    (query, form): (&UserQuery, &UserForm),
    errors: Vec<String>,
    created: Option<(String, String)>,
) -> Result<Response, PageError> {
    let now = chrono::Utc::now();
    let (users, departments) = state
        .store
        .call(move |conn| {
            let users = accounts::list_users(conn, now);
            let departments = departments(conn)?;
            Ok((users, departments))
        })
        .await?;
    let needle = query.q.trim().to_lowercase();
    let matching: Vec<UserRow> = users?
        .into_iter()
        .filter(|u| {
            needle.is_empty()
                || u.name.to_lowercase().contains(&needle)
                || u.display_name.to_lowercase().contains(&needle)
        })
        .collect();
    let paged = paginate(matching, query.page, PAGE_ROWS);
    let users: Vec<minijinja::Value> = paged
        .rows
        .iter()
        .map(|u| {
            minijinja::context! {
                name => u.name, display_name => u.display_name, roles => roles_text(&u.grants),
                state => state_text(u), created_at => u.created_at,
            }
        })
        .collect();
    let (new_name, new_password) = created.unzip();
    let html = page(
        "users.html",
        Some(staff),
        "users",
        minijinja::context! {
            users, roles => role_options(), departments, form, errors, new_name, new_password,
            query, total => paged.total, page => paged.page, pages => paged.pages,
        },
    )?;
    Ok((status, html).into_response())
}

/// `GET /admin/users?q=&page=` (administrators).
pub async fn users(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<UserQuery>,
) -> Result<Response, PageError> {
    require_admin(&staff, "管理账号")?;
    users_page(
        &state,
        &staff,
        StatusCode::OK,
        (&query, &UserForm::default()),
        Vec::new(),
        None,
    )
    .await
}

/// `POST /admin/users`: adds an account and shows its one-time password once.
pub async fn add_user(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    require_admin(&staff, "管理账号")?;
    let query = UserQuery::default();
    let Some(role) = Role::parse(&form.role) else {
        return users_page(
            &state,
            &staff,
            StatusCode::UNPROCESSABLE_ENTITY,
            (&query, &form),
            vec!["请选择角色".into()],
            None,
        )
        .await;
    };
    let department = Some(form.department.trim().to_owned())
        .filter(|d| !d.is_empty() && matches!(role, Role::Editor | Role::Reviewer));
    let password = accounts::one_time_password()?;
    let hash = state.passwords.hash(&password).await?;
    let now = chrono::Utc::now();
    let actor = staff.user.name.clone();
    let (name, display_name) = (
        form.name.trim().to_owned(),
        form.display_name.trim().to_owned(),
    );
    let (n, d) = (name.clone(), display_name.clone());
    let added = state
        .store
        .call(move |conn| {
            let grants = [Grant { role, department }];
            let user = NewUser {
                name: &n,
                display_name: &d,
                password_hash: &hash,
                grants: &grants,
                must_change: true,
            };
            Ok(accounts::add_user(conn, &user, &actor, now))
        })
        .await?;
    let message = match added {
        Ok(_) => {
            return users_page(
                &state,
                &staff,
                StatusCode::OK,
                (&query, &UserForm::default()),
                Vec::new(),
                Some((name, password)),
            )
            .await
        }
        Err(e) => match e.staff_message() {
            Some(m) => m.to_owned(),
            None => return Err(e.into()),
        },
    };
    users_page(
        &state,
        &staff,
        StatusCode::UNPROCESSABLE_ENTITY,
        (&query, &form),
        vec![message],
        None,
    )
    .await
}

/// A grant as the roles form spells it: `role` or `role:department`.
fn grant_key(g: &Grant) -> String {
    match &g.department {
        Some(d) => format!("{}:{d}", g.role.as_str()),
        None => g.role.as_str().to_owned(),
    }
}

fn parse_grant(key: &str) -> Option<Grant> {
    let (role, department) = match key.split_once(':') {
        Some((r, d)) => (r, Some(d.to_owned()).filter(|d| !d.is_empty())),
        None => (key, None),
    };
    let role = Role::parse(role)?;
    let department = department.filter(|_| matches!(role, Role::Editor | Role::Reviewer));
    Some(Grant { role, department })
}

/// What one account's page shows besides the account: a message, errors, a new password.
#[derive(Debug, Default)]
struct Outcome {
    flash: Option<&'static str>,
    errors: Vec<String>,
    new_password: Option<String>,
}

async fn user_page(
    state: &AppState,
    staff: &Staff,
    name: String,
    status: StatusCode,
    outcome: Outcome,
) -> Result<Response, PageError> {
    let now = chrono::Utc::now();
    let (user, departments) = state
        .store
        .call(move |conn| Ok((accounts::find_user(conn, &name, now), departments(conn)?)))
        .await?;
    let Some(user) = user? else {
        return Err(PageError::Api(ApiError::NotFound("没有这个用户".into())));
    };
    let names: std::collections::HashMap<String, String> = departments
        .iter()
        .filter_map(|d| {
            let attr = |key| d.get_attr(key).ok().map(|v| v.to_string());
            Some((attr("code")?, attr("name")?))
        })
        .collect();
    let grants: Vec<minijinja::Value> = user
        .grants
        .iter()
        .map(|g| {
            let scope = match (&g.department, g.role) {
                (Some(d), _) => names.get(d).cloned().unwrap_or_else(|| d.clone()),
                (None, Role::Reviewer) => "全县".to_owned(),
                (None, _) => String::new(),
            };
            minijinja::context! { key => grant_key(g), role => g.role.label(), scope }
        })
        .collect();
    let html = page(
        "user.html",
        Some(staff),
        "users",
        minijinja::context! {
            user => minijinja::context! {
                name => user.name, display_name => user.display_name,
                state => state_text(&user), disabled => user.disabled, locked => user.locked,
                created_at => user.created_at,
            },
            grants, roles => role_options(), departments,
            myself => user.name == staff.user.name,
            flash => outcome.flash, errors => outcome.errors,
            new_password => outcome.new_password,
        },
    )?;
    Ok((status, html).into_response())
}

/// What was just done to an account (the `done` query after a change).
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

fn done_text(action: &str) -> Option<&'static str> {
    Some(match action {
        "roles" => "角色已保存，立即生效。",
        "disable" => "账号已停用，已登录的会话和接口令牌立即失效。",
        "enable" => "账号已启用。",
        "unlock" => "已解除锁定。",
        "reset" => "密码已重置，原会话已全部退出。",
        _ => return None,
    })
}

/// `GET /admin/users/{name}`.
pub async fn user(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    require_admin(&staff, "管理账号")?;
    let outcome = Outcome {
        flash: done_text(&q.done),
        ..Outcome::default()
    };
    user_page(&state, &staff, name, StatusCode::OK, outcome).await
}

/// `POST /admin/users/{name}/{action}`: `roles` (fields `keep` = kept grants, repeated,
/// and `add_role` + `add_department` for a new one), `disable`, `enable`, `unlock` or
/// `reset` (a new one-time password, shown once).
pub async fn act(
    State(state): State<AppState>,
    staff: Staff,
    Path((name, action)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> Result<Response, PageError> {
    require_admin(&staff, "管理账号")?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&raw)
        .map_err(|_| PageError::Api(ApiError::BadRequest("表单内容格式不正确".into())))?;
    let field = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let actor = staff.user.name.clone();
    let now = chrono::Utc::now();
    let mut new_password = None;
    let result = match action.as_str() {
        "roles" => {
            let mut grants: Vec<Grant> = Vec::new();
            let mut errors = Vec::new();
            for (k, v) in &fields {
                if k == "keep" {
                    match parse_grant(v) {
                        Some(g) => grants.push(g),
                        None => errors.push("角色内容不正确".to_owned()),
                    }
                }
            }
            let add_role = field("add_role");
            if !add_role.is_empty() {
                match parse_grant(&format!("{add_role}:{}", field("add_department"))) {
                    Some(g) => grants.push(g),
                    None => errors.push("请选择要新增的角色".to_owned()),
                }
            }
            if !errors.is_empty() {
                let outcome = Outcome {
                    errors,
                    ..Outcome::default()
                };
                return user_page(
                    &state,
                    &staff,
                    name,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    outcome,
                )
                .await;
            }
            let n = name.clone();
            let r = state
                .store
                .call(move |conn| Ok(accounts::set_grants(conn, &n, &grants, &actor, now)))
                .await?;
            r
        }
        "disable" | "enable" => {
            let disabled = action == "disable";
            let n = name.clone();
            let r = state
                .store
                .call(move |conn| Ok(accounts::set_disabled(conn, &n, disabled, &actor, now)))
                .await?;
            r
        }
        "unlock" => {
            let n = name.clone();
            let r = state
                .store
                .call(move |conn| Ok(accounts::unlock(conn, &n, &actor, now)))
                .await?;
            r
        }
        "reset" => {
            let password = accounts::one_time_password()?;
            let hash = state.passwords.hash(&password).await?;
            let n = name.clone();
            let r = state
                .store
                .call(move |conn| Ok(accounts::reset_password(conn, &n, &hash, &actor, now)))
                .await?;
            new_password = Some(password);
            r
        }
        _ => return Err(PageError::Api(ApiError::NotFound("没有这个操作".into()))),
    };
    match result {
        Ok(()) => {
            if new_password.is_none() {
                // Post/redirect/get, so that reloading does not repeat the change.
                let to = format!("/admin/users/{}?done={action}", urlencode(&name));
                return Ok(Redirect::to(&to).into_response());
            }
            let outcome = Outcome {
                flash: done_text(&action),
                new_password,
                ..Outcome::default()
            };
            user_page(&state, &staff, name, StatusCode::OK, outcome).await
        }
        Err(e @ AccountError::UnknownUser(_)) => Err(e.into()),
        Err(e) => match e.staff_message() {
            Some(m) => {
                let outcome = Outcome {
                    errors: vec![m.to_owned()],
                    ..Outcome::default()
                };
                user_page(
                    &state,
                    &staff,
                    name,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    outcome,
                )
                .await
            }
            None => Err(e.into()),
        },
    }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e[1..].to_owned())
        .unwrap_or_default()
}
