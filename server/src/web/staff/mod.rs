//! The staff web UI (管理后台): server-rendered Simplified Chinese pages for county staff,
//! with no JavaScript. This module owns what every page shares: the session cookie, the
//! CSRF check on every form, the templates, and errors shown as pages. The pages
//! themselves are in [`account`] (login, logout, password, users), [`notices`] (drafting
//! and review), [`openness`] (catalogue maintenance, the scorecard) and [`audit`] (the
//! audit log).
//!
//! Sessions: the cookie holds a random token (only its SHA-256 is stored), `HttpOnly`,
//! `SameSite=Strict`, and `Secure` when the request came over TLS (a reverse proxy's
//! `X-Forwarded-Proto: https`). Every POST under `/admin` and to `/logout` must carry the
//! session's CSRF token (form field `csrf` or header `X-CSRF-Token`); the login form,
//! before there is a session, uses a double-submit cookie.

pub mod account;
pub mod audit;
pub mod consultation;
pub mod notices;
pub mod openness;
pub mod schedule;
pub mod sources;
pub mod users;
pub mod words;

use std::sync::OnceLock;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::Environment;

use super::{ApiError, AppState};
use crate::accounts::{self, Role, User};
use crate::digest::same_secret;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "govchannel_session";
/// Name of the login form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "govchannel_login";
/// Largest form body accepted.
pub const MAX_FORM_BYTES: usize = 512 * 1024;
/// Login attempts one address may make a minute (on top of the per-account lockout).
pub const LOGINS_PER_ADDRESS: usize = 20;

/// The county's name in page titles.
const COUNTY: &str = "示范县";

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in [
            ("base.html", include_str!("../../../templates/base.html")),
            ("login.html", include_str!("../../../templates/login.html")),
            (
                "password.html",
                include_str!("../../../templates/password.html"),
            ),
            ("error.html", include_str!("../../../templates/error.html")),
            (
                "dashboard.html",
                include_str!("../../../templates/dashboard.html"),
            ),
            (
                "notices.html",
                include_str!("../../../templates/notices.html"),
            ),
            (
                "notice.html",
                include_str!("../../../templates/notice.html"),
            ),
            ("audit.html", include_str!("../../../templates/audit.html")),
            ("users.html", include_str!("../../../templates/users.html")),
            ("user.html", include_str!("../../../templates/user.html")),
            (
                "source.html",
                include_str!("../../../templates/source.html"),
            ),
            (
                "catalogue.html",
                include_str!("../../../templates/catalogue.html"),
            ),
            (
                "scorecard.html",
                include_str!("../../../templates/scorecard.html"),
            ),
            ("polls.html", include_str!("../../../templates/polls.html")),
            ("cases.html", include_str!("../../../templates/cases.html")),
            ("words.html", include_str!("../../../templates/words.html")),
            (
                "channels.html",
                include_str!("../../../templates/channels.html"),
            ),
            (
                "schedule.html",
                include_str!("../../../templates/schedule.html"),
            ),
            ("epg.html", include_str!("../../../templates/epg.html")),
            (
                "blocks.html",
                include_str!("../../../templates/blocks.html"),
            ),
            ("block.html", include_str!("../../../templates/block.html")),
            (
                "overrides.html",
                include_str!("../../../templates/overrides.html"),
            ),
            ("entry.html", include_str!("../../../templates/entry.html")),
            (
                "sources.html",
                include_str!("../../../templates/sources.html"),
            ),
        ] {
            if let Err(e) = env.add_template(name, text) {
                // The templates are compiled into the binary and tested; a broken one
                // shows as an error page for the pages using it.
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        env
    })
}

/// A signed-in staff member and their session.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Who.
    pub user: User,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
    /// The session cookie's value.
    pub token: String,
}

impl Staff {
    /// What the page header shows about the user.
    fn header(&self) -> minijinja::Value {
        minijinja::context! {
            display_name => self.user.display_name,
            roles => roles_text(&self.user.grants),
            admin => self.user.has(Role::Admin),
        }
    }
}

/// Roles as staff read them: 信息员（民政局）、审核员（全县）.
pub fn roles_text(grants: &[accounts::Grant]) -> String {
    grants
        .iter()
        .map(|g| match (&g.department, g.role) {
            (Some(d), _) => format!("{}（{d}）", g.role.label()),
            (None, Role::Reviewer) => format!("{}（全县）", g.role.label()),
            (None, _) => g.role.label().to_owned(),
        })
        .collect::<Vec<_>>()
        .join("、")
}

/// One page of a list filtered in memory.
#[derive(Debug)]
pub struct Paged<T> {
    /// The rows of the page.
    pub rows: Vec<T>,
    /// Rows matching in all.
    pub total: usize,
    /// Pages in all (at least 1).
    pub pages: usize,
    /// The page shown (1-based, within range).
    pub page: usize,
}

/// Page `page` (1-based; clamped to the pages there are) of `items`, `per_page` each.
pub fn paginate<T>(items: Vec<T>, page: Option<usize>, per_page: usize) -> Paged<T> {
    let total = items.len();
    let pages = total.div_ceil(per_page).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    let rows = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    Paged {
        rows,
        total,
        pages,
        page,
    }
}

/// Refuses anyone but an administrator, saying what only they may do (`what`, Chinese).
pub fn require_admin(staff: &Staff, what: &str) -> Result<(), PageError> {
    if staff.user.has(Role::Admin) {
        Ok(())
    } else {
        Err(PageError::Api(ApiError::Forbidden(format!(
            "只有管理员可以{what}"
        ))))
    }
}

/// A form's problems for a template: the summary list (`field`, `message`, linking to
/// each field) and the message by field, shown beside it.
pub fn form_errors(
    errors: &[(&'static str, String)],
) -> (
    Vec<minijinja::Value>,
    std::collections::BTreeMap<&'static str, String>,
) {
    let list = errors
        .iter()
        .map(|(f, m)| minijinja::context! { field => f, message => m })
        .collect();
    let by_field = errors.iter().cloned().collect();
    (list, by_field)
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in: to the login page, then back to `next`.
    Login {
        /// Where to go after logging in.
        next: String,
    },
    /// Signed in with a one-time password: to the password page first.
    MustChange,
    /// The CSRF token is missing or wrong.
    Csrf,
    /// Anything else, shown as an error page with its Chinese message.
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError::Api(e)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        PageError::Api(ApiError::Store(e))
    }
}

impl From<accounts::AccountError> for PageError {
    fn from(e: accounts::AccountError) -> Self {
        match e {
            accounts::AccountError::Store(s) => PageError::Api(ApiError::Store(s)),
            accounts::AccountError::Busy => {
                PageError::Api(ApiError::TooMany("系统繁忙，请稍后再试".into()))
            }
            accounts::AccountError::UnknownUser(_) => {
                PageError::Api(ApiError::NotFound("没有这个用户".into()))
            }
            other => match other.staff_message() {
                Some(m) => PageError::Api(ApiError::BadRequest(m.into())),
                None => PageError::Api(ApiError::Unavailable(other.to_string())),
            },
        }
    }
}

impl From<crate::publishing::PublishError> for PageError {
    fn from(e: crate::publishing::PublishError) -> Self {
        use crate::publishing::PublishError as P;
        PageError::Api(match e {
            P::Store(s) => ApiError::Store(s),
            P::Forbidden(m) => ApiError::Forbidden(m),
            P::NotFound(id) => ApiError::NotFound(format!("没有编号为{id}的信息")),
            P::WrongState(m) => ApiError::Conflict(m),
            P::Invalid(errors) => ApiError::BadRequest(
                errors
                    .into_iter()
                    .map(|(_, m)| m)
                    .collect::<Vec<_>>()
                    .join("；"),
            ),
        })
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login { next } => {
                let next = if next.starts_with("/admin") {
                    next
                } else {
                    "/admin".into()
                };
                let query =
                    serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
                Redirect::to(&format!("/login?{query}")).into_response()
            }
            PageError::MustChange => Redirect::to("/admin/password").into_response(),
            PageError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "请求未通过安全校验",
                "页面已过期或请求来源不明（缺少或不符的表单令牌）。请返回并刷新页面后重试。",
            ),
            PageError::Api(e) => {
                let (status, message) = e.status_and_message();
                let heading = match status {
                    StatusCode::FORBIDDEN => "没有权限",
                    StatusCode::NOT_FOUND => "没有找到",
                    StatusCode::CONFLICT => "当前状态下不能这样办理",
                    StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "填写的内容有误",
                    _ => "出错了",
                };
                e.with_fault(error_page(status, heading, &message))
            }
        }
    }
}

fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let ctx = minijinja::context! { county => COUNTY, heading, message, back => "/admin" };
    match templates()
        .get_template("error.html")
        .and_then(|t| t.render(ctx))
    {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_owned()).into_response(),
    }
}

/// Renders template `name` for `staff` (or nobody) with `ctx` merged in.
pub fn page(
    name: &str,
    staff: Option<&Staff>,
    nav: &str,
    ctx: minijinja::Value,
) -> Result<Html<String>, PageError> {
    let base = minijinja::context! {
        county => COUNTY,
        me => staff.map(Staff::header),
        csrf => staff.map(|s| s.csrf.clone()),
        nav,
    };
    let ctx = minijinja::context! { ..ctx, ..base };
    templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| PageError::Api(ApiError::Unavailable(format!("template {name}: {e:#}"))))
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Whether the request came over TLS (as a reverse proxy says).
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure over TLS.
pub fn set_cookie(
    headers: &HeaderMap,
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = if over_tls(headers) { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn session_of(state: &AppState, headers: &HeaderMap) -> Result<Option<Staff>, PageError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let t = token.clone();
    let now = chrono::Utc::now();
    let session = state
        .store
        .call(move |conn| Ok(accounts::session(conn, &t, now)))
        .await??;
    Ok(session.map(|s| Staff {
        user: s.user,
        csrf: s.csrf,
        token,
    }))
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let staff = match parts.extensions.get::<Staff>() {
            Some(s) => s.clone(),
            None => session_of(state, &parts.headers)
                .await?
                .ok_or_else(|| PageError::Login {
                    next: parts
                        .uri
                        .path_and_query()
                        .map_or("/admin".into(), |p| p.as_str().to_owned()),
                })?,
        };
        if staff.user.must_change
            && parts.uri.path() != "/admin/password"
            && parts.uri.path() != "/logout"
        {
            return Err(PageError::MustChange);
        }
        Ok(staff)
    }
}

/// Checks the CSRF token of every state-changing request to the staff pages (`/admin…`,
/// `/logout`) against the session, before any handler runs; the session found is handed
/// on in the request's extensions.
pub async fn csrf_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let guarded = (path.starts_with("/admin") || path == "/logout")
        && !matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        );
    if !guarded {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let staff = match session_of(&state, &parts.headers).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return PageError::Login {
                next: "/admin".into(),
            }
            .into_response()
        }
        Err(e) => return e.into_response(),
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return PageError::Api(ApiError::TooLarge("提交的内容过大".into())).into_response();
    };
    let from_header = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let from_form = || {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v))
    };
    let given = from_header.or_else(from_form).unwrap_or_default();
    if given.is_empty() || !same_secret(given.as_bytes(), staff.csrf.as_bytes()) {
        tracing::warn!(path = %parts.uri.path(), user = %staff.user.name, "form without a valid CSRF token refused");
        return PageError::Csrf.into_response();
    }
    parts.extensions.insert(staff);
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// The routes of the staff pages.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/login", get(account::login_page).post(account::login))
        .route("/logout", post(account::logout))
        .route("/admin", get(account::dashboard))
        .route(
            "/admin/password",
            get(account::password_page).post(account::change_password),
        )
        .route("/admin/users", get(users::users).post(users::add_user))
        .route("/admin/users/{name}", get(users::user))
        .route("/admin/users/{name}/{action}", post(users::act))
        .route("/admin/notices", get(notices::list))
        .route(
            "/admin/notices/new",
            get(notices::new_page).post(notices::create),
        )
        .route(
            "/admin/notices/{id}",
            get(notices::show).post(notices::save),
        )
        .route("/admin/notices/{id}/{action}", post(notices::act))
        .route("/admin/notices/{id}/preview.png", get(notices::preview))
        .route("/admin/catalogue", get(openness::catalogue))
        .route("/admin/catalogue/{id}/confirm", post(openness::confirm))
        .route(
            "/admin/catalogue/{id}",
            get(openness::entry).post(openness::save_entry),
        )
        .route("/admin/scorecard", get(openness::scorecard))
        .route("/admin/scorecard.csv", get(openness::scorecard_csv))
        .route("/admin/static/sans-regular.otf", get(font_regular))
        .route("/admin/static/sans-bold.otf", get(font_bold))
        .route(
            "/admin/polls",
            get(consultation::polls).post(consultation::create_poll),
        )
        .route("/admin/polls/{id}/close", post(consultation::close_poll))
        .route("/admin/polls/{file}", get(consultation::poll_csv))
        .route("/admin/cases", get(consultation::cases))
        .route("/admin/sources", get(sources::list).post(sources::create))
        .route("/admin/sources/new", get(sources::new_form))
        .route(
            "/admin/sources/{name}/edit",
            get(sources::edit_form).post(sources::update),
        )
        .route("/admin/sources/{name}/poll", post(sources::poll))
        .route("/admin/sources/{name}/delete", post(sources::delete))
        .route("/admin/words", get(words::list).post(words::add))
        .route("/admin/words/remove", post(words::remove))
        .route("/admin/channels", get(schedule::channels))
        .route("/admin/channels/{name}", post(schedule::update_channel))
        .route("/admin/channels/{name}/outputs", post(schedule::add_output))
        .route(
            "/admin/channels/{name}/outputs/{n}/delete",
            post(schedule::delete_output),
        )
        .route(
            "/admin/channels/{name}/schedule",
            get(schedule::schedule_page).post(schedule::add_entry),
        )
        .route(
            "/admin/channels/{name}/schedule/{id}",
            post(schedule::update_entry),
        )
        .route(
            "/admin/channels/{name}/schedule/{id}/delete",
            post(schedule::delete_entry),
        )
        .route("/admin/channels/{name}/epg", get(schedule::epg_page))
        .route(
            "/admin/blocks",
            get(schedule::blocks).post(schedule::create_block),
        )
        .route("/admin/blocks/new", get(schedule::new_block))
        .route(
            "/admin/blocks/{id}",
            get(schedule::show_block).post(schedule::update_block),
        )
        .route("/admin/blocks/{id}/delete", post(schedule::delete_block))
        .route(
            "/admin/overrides",
            get(schedule::overrides).post(schedule::request_override),
        )
        .route(
            "/admin/overrides/{id}/{action}",
            post(schedule::override_action),
        )
        .route("/admin/audit", get(audit::list))
        .route("/admin/audit.csv", get(audit::csv))
}

fn font(weight: crate::fonts::Weight) -> Response {
    (
        [
            (header::CONTENT_TYPE, "font/otf"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        crate::fonts::primary_file(weight),
    )
        .into_response()
}

/// `GET /admin/static/sans-regular.otf`: the pinned Noto Sans SC (OFL) for the staff pages.
async fn font_regular() -> Response {
    font(crate::fonts::Weight::Regular)
}

/// `GET /admin/static/sans-bold.otf`.
async fn font_bold() -> Response {
    font(crate::fonts::Weight::Bold)
}

#[cfg(test)]
mod tests {
    /// Every file in `templates/` is registered and parses (a missing one would only
    /// show as an error page at run time).
    #[test]
    fn every_template_file_is_registered_and_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                super::templates().get_template(&name).is_ok(),
                "{name} is not registered in templates() or does not parse"
            );
            n += 1;
        }
        assert!(n >= 15, "{n} templates");
    }
}
