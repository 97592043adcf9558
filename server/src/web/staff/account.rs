//! Login, logout, the forced password change, the dashboard and the users page.

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::{cookie, page, set_cookie, PageError, Staff, LOGIN_COOKIE, SESSION_COOKIE};
use crate::accounts::{self, Role};
use crate::content::NoticeStatus;
use crate::digest::{random_hex, same_secret};
use crate::publishing::{self, NoticeQuery};
use crate::web::{ApiError, AppState};

/// Query of the login page.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

fn no_randomness(e: std::io::Error) -> PageError {
    PageError::Api(ApiError::Unavailable(format!("no randomness: {e}")))
}

fn login_form(
    headers: &HeaderMap,
    status: StatusCode,
    name: &str,
    next: &str,
    error: Option<&str>,
) -> Result<Response, PageError> {
    // The double-submit token: a cookie only this site can set, echoed by the form.
    let token = match cookie(headers, LOGIN_COOKIE) {
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => t,
        _ => random_hex(32).map_err(no_randomness)?,
    };
    let html = page(
        "login.html",
        None,
        "login",
        minijinja::context! { login_csrf => token, name, next, error },
    )?;
    let mut response = (status, html).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(headers, LOGIN_COOKIE, &token, "/login", 3600),
    );
    Ok(response)
}

/// `GET /login`.
pub async fn login_page(
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Result<Response, PageError> {
    login_form(&headers, StatusCode::OK, "", &q.next, None)
}

/// The login form.
#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: checks the double-submit token, the address's rate, the account's
/// lock and the password; opens a session.
pub async fn login(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_secret(form.csrf.as_bytes(), expected.as_bytes()) {
        return login_form(
            &headers,
            StatusCode::FORBIDDEN,
            &form.name,
            &form.next,
            Some("登录页面已过期，请重新输入后登录"),
        );
    }
    let address = peer.map_or_else(|| "local".to_owned(), |p| p.0 .0.ip().to_string());
    if !state
        .stb
        .limiter
        .allow(&format!("login:{address}"), super::LOGINS_PER_ADDRESS)
    {
        return login_form(
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            &form.name,
            &form.next,
            Some("登录尝试过于频繁，请一分钟后再试"),
        );
    }
    let name: String = form.name.trim().chars().take(64).collect();
    let now = chrono::Utc::now();
    let n = name.clone();
    let record = state
        .store
        .call(move |conn| Ok(accounts::login_record(conn, &n, now)))
        .await??;
    if let Some(r) = &record {
        if r.disabled {
            return login_form(
                &headers,
                StatusCode::FORBIDDEN,
                &name,
                &form.next,
                Some("该账号已停用，请联系管理员"),
            );
        }
        if r.locked {
            return login_form(
                &headers,
                StatusCode::FORBIDDEN,
                &name,
                &form.next,
                Some("连续输错密码次数过多，账号已锁定15分钟；如需立即使用请联系管理员"),
            );
        }
    }
    // Verify against a decoy hash when the user does not exist: the same time either way.
    let hash = record.as_ref().map_or_else(
        || accounts::decoy_hash().to_owned(),
        |r| r.password_hash.clone(),
    );
    let ok = match state.passwords.verify(&hash, &form.password).await {
        Ok(ok) => ok && record.is_some(),
        Err(accounts::AccountError::Busy) => {
            return login_form(
                &headers,
                StatusCode::SERVICE_UNAVAILABLE,
                &name,
                &form.next,
                Some("系统繁忙，请稍后再试"),
            );
        }
        Err(e) => return Err(e.into()),
    };
    let Some(record) = record.filter(|_| ok) else {
        let n = name.clone();
        let a = address.clone();
        let locked = state
            .store
            .call(move |conn| Ok(accounts::login_failed(conn, &n, &a, now)))
            .await??;
        let message = if locked {
            "连续输错密码次数过多，账号已锁定15分钟；如需立即使用请联系管理员"
        } else {
            "用户名或密码不正确"
        };
        return login_form(
            &headers,
            StatusCode::UNAUTHORIZED,
            &name,
            &form.next,
            Some(message),
        );
    };
    let id = record.id;
    let session = state
        .store
        .call(move |conn| Ok(accounts::login_succeeded(conn, id, &address, now)))
        .await??;
    let to = if record.must_change {
        "/admin/password".to_owned()
    } else if form.next.starts_with("/admin") && !form.next.starts_with("//") {
        form.next.clone()
    } else {
        "/admin".to_owned()
    };
    let mut response = Redirect::to(&to).into_response();
    let max_age = accounts::SESSION_LIFETIME.num_seconds();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, &session.token, "/", max_age),
    );
    Ok(response)
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    staff: Staff,
) -> Result<Response, PageError> {
    let now = chrono::Utc::now();
    let token = staff.token.clone();
    state
        .store
        .call(move |conn| Ok(accounts::logout(conn, &token, now)))
        .await??;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, "", "/", 0),
    );
    Ok(response)
}

/// `GET /admin/password`.
pub async fn password_page(staff: Staff) -> Result<Response, PageError> {
    Ok(page(
        "password.html",
        Some(&staff),
        "password",
        minijinja::context! { must_change => staff.user.must_change, errors => minijinja::context! {} },
    )?
    .into_response())
}

/// The password form.
#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    repeat: String,
}

/// `POST /admin/password`.
pub async fn change_password(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let id = staff.user.id;
    let stored = state
        .store
        .call(move |conn| Ok(accounts::password_hash(conn, id)))
        .await??;
    let current_ok = state.passwords.verify(&stored, &form.current).await?;
    let mut errors: Vec<(&str, &str)> = Vec::new();
    if !current_ok {
        errors.push(("current", "当前密码不正确"));
    }
    if let Err(m) = accounts::check_new_password(&staff.user.name, &form.new) {
        errors.push(("new", m));
    } else if form.new == form.current {
        errors.push(("new", "新密码不能与当前密码相同"));
    }
    if form.repeat != form.new {
        errors.push(("repeat", "两次输入的新密码不一致"));
    }
    if !errors.is_empty() {
        let errors: std::collections::BTreeMap<&str, &str> = errors.into_iter().collect();
        let html = page(
            "password.html",
            Some(&staff),
            "password",
            minijinja::context! { must_change => staff.user.must_change, errors },
        )?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    }
    let hash = state.passwords.hash(&form.new).await?;
    let now = chrono::Utc::now();
    let keep = staff.token.clone();
    state
        .store
        .call(move |conn| Ok(accounts::change_password(conn, id, &hash, &keep, now)))
        .await??;
    Ok(Redirect::to("/admin?flash=password").into_response())
}

/// Query of pages that show a one-line message after a redirect.
#[derive(Debug, Default, Deserialize)]
pub struct FlashQuery {
    #[serde(default)]
    flash: String,
}

/// The message for a `flash` key (only known keys: nothing typed by anyone is echoed).
pub fn flash_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "password" => "密码已修改。",
        "saved" => "已保存。",
        "submitted" => "已提交审核。",
        "approved" => "已审核通过。",
        "published" => "已审核通过并发布，下一轮播出即可看到。",
        "returned" => "已退回信息员修改。",
        "withdrawn" => "已撤回，不再播出。",
        _ => return None,
    })
}

type Dashboard = (
    Vec<publishing::NoticeRow>,
    Vec<publishing::NoticeRow>,
    Vec<minijinja::Value>,
);

fn dashboard_data(
    conn: &rusqlite::Connection,
    user: &accounts::User,
) -> Result<Dashboard, publishing::PublishError> {
    let run = |status: NoticeStatus| {
        publishing::list(
            conn,
            user,
            &NoticeQuery {
                status: status.as_str().into(),
                ..NoticeQuery::default()
            },
        )
    };
    let queue: Vec<_> = if user.has(Role::Reviewer) || user.has(Role::Admin) {
        run(NoticeStatus::Submitted)?
            .0
            .into_iter()
            .filter(|n| n.created_by.as_deref() != Some(user.name.as_str()))
            .collect()
    } else {
        Vec::new()
    };
    let mut mine = Vec::new();
    for status in [NoticeStatus::Returned, NoticeStatus::Draft] {
        mine.extend(
            run(status)?
                .0
                .into_iter()
                .filter(|n| n.created_by.as_deref() == Some(user.name.as_str())),
        );
    }
    let mut counts = Vec::new();
    for status in NoticeStatus::ALL {
        let total = run(*status)?.1;
        counts.push(minijinja::context! { status => status.as_str(), label => status.label(), count => total });
    }
    Ok((queue, mine, counts))
}

/// `GET /admin`: what waits for the user.
pub async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<FlashQuery>,
) -> Result<Response, PageError> {
    let user = staff.user.clone();
    let (queue, mine, counts) = state
        .store
        .call(move |conn| Ok(dashboard_data(conn, &user)))
        .await??;
    // Overdue catalogue entries: of the departments the user edits for, or all.
    let mine_departments = super::openness::editable(&staff);
    let overdue_department = (mine_departments.len() == 1).then(|| mine_departments[0].clone());
    let now = chrono::Utc::now();
    let (overdue, overdue_total) = state
        .store
        .call(move |conn| {
            let scope = (!mine_departments.is_empty()).then_some(mine_departments.as_slice());
            let q = crate::openness::EntryQuery {
                overdue: "1".into(),
                ..crate::openness::EntryQuery::default()
            };
            let (rows, total) = crate::openness::entries(conn, scope, &q, now)?;
            Ok((rows.into_iter().take(5).collect::<Vec<_>>(), total))
        })
        .await?;
    Ok(page(
        "dashboard.html",
        Some(&staff),
        "dashboard",
        minijinja::context! {
            queue, mine, counts, overdue, overdue_total, overdue_department,
            can_draft => staff.user.has(Role::Editor),
            flash => flash_text(&q.flash),
        },
    )?
    .into_response())
}

/// Departments as (code, name) for select boxes.
pub fn departments(
    conn: &rusqlite::Connection,
) -> Result<Vec<minijinja::Value>, crate::store::StoreError> {
    let mut stmt = conn.prepare("SELECT code, name FROM departments ORDER BY rowid")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(minijinja::context! { code => r.get::<_, String>(0)?, name => r.get::<_, String>(1)? })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Regions as (code, name) for select boxes: the county, its towns, then villages.
pub fn regions(
    conn: &rusqlite::Connection,
) -> Result<Vec<minijinja::Value>, crate::store::StoreError> {
    let mut stmt = conn.prepare(
        "SELECT code, name FROM regions
         ORDER BY CASE level WHEN 'county' THEN 0 WHEN 'town' THEN 1 ELSE 2 END, code",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(minijinja::context! { code => r.get::<_, String>(0)?, name => r.get::<_, String>(1)? })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The county's region code (the default audience of new notices and polls).
pub async fn county_code(state: &AppState) -> Result<String, PageError> {
    Ok(state
        .store
        .call(|conn| crate::pages::county_code(conn))
        .await?)
}
