//! Who may call what: one table of every JSON endpoint ([`ENDPOINTS`]) with the roles it
//! needs, enforced in one middleware ([`guard`]) before any handler runs, and published as
//! the OpenAPI document at `/api/openapi.json` (each operation's `x-roles`), from which
//! the permission-matrix test is generated.
//!
//! Callers identify themselves with `Authorization: Bearer <API token>` (per user, made on
//! `POST /api/v1/tokens`), with the staff session cookie (state-changing requests then
//! also need `X-CSRF-Token`), or with the deprecated shared `admin_token` of the config
//! (acts as an administrator). An `/api/` route missing from the table is refused: new
//! endpoints fail closed until they are listed.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, AppState};
use crate::accounts::{self, Role, User};
use crate::digest::same_secret;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, metrics, the set-top-box API, which checks box secrets itself).
    Public,
    /// Any signed-in staff member.
    Staff,
    /// Staff holding one of these roles (department checks follow in the handler).
    Roles(&'static [Role]),
}

/// One endpoint: method, path as routed, who may call it, a summary for the document,
/// and the name of its JSON request body's schema, if it takes one.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// HTTP method.
    pub method: &'static str,
    /// Path with `{param}`s, as the route table spells it.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does (Chinese, for the document).
    pub summary: &'static str,
    /// Request body schema in the document's components, if any.
    pub body: Option<&'static str>,
}

const EDITORS: &[Role] = &[Role::Editor];
const REVIEWERS: &[Role] = &[Role::Reviewer, Role::Admin];
const ADMINS: &[Role] = &[Role::Admin];
const OPERATORS: &[Role] = &[Role::Operator, Role::Admin];

macro_rules! endpoints {
    ($($method:literal $path:literal $access:expr, $summary:literal $(, $body:literal)?;)+) => {
        /// Every JSON endpoint of the route table.
        pub const ENDPOINTS: &[Endpoint] = &[
            $(Endpoint { method: $method, path: $path, access: $access, summary: $summary, body: endpoints!(@body $($body)?) },)+
        ];
    };
    (@body) => { None };
    (@body $b:literal) => { Some($b) };
}

endpoints! {
    "GET" "/healthz" Access::Public, "健康检查";
    "GET" "/readyz" Access::Public, "运行状态检查（数据库、磁盘、频道、采集来源）";
    "GET" "/metrics" Access::Public, "运行指标（Prometheus）";
    "GET" "/api/openapi.json" Access::Public, "本接口文档";
    "GET" "/api/v1/stats" Access::Public, "内容统计";
    "GET" "/live/{channel}/{file}" Access::Public, "频道直播（HLS）";
    "POST" "/api/v1/preview" Access::Staff, "电视画面预览（PNG）", "Screen";
    "POST" "/api/v1/preview/layout" Access::Staff, "电视画面预览（版面记录）", "Screen";
    "GET" "/api/v1/screens/{hash}/layout" Access::Public, "已播出或预览画面的版面记录";
    "GET" "/stb/v1/manifest" Access::Public, "机顶盒画面图";
    "GET" "/stb/v1/img/{file}" Access::Public, "机顶盒画面图片";
    "POST" "/stb/v1/boxes" Access::Public, "机顶盒注册", "RegisterBox";
    "POST" "/stb/v1/cases/lookup" Access::Public, "办件查询", "CaseLookup";
    "POST" "/stb/v1/polls/{id}/votes" Access::Public, "投票", "Vote";
    "POST" "/stb/v1/views" Access::Public, "收看统计上报", "Views";
    "GET" "/api/v1/me" Access::Staff, "当前用户及角色";
    "GET" "/api/v1/tokens" Access::Staff, "我的接口令牌";
    "POST" "/api/v1/tokens" Access::Staff, "新建接口令牌（只显示一次）", "NewToken";
    "DELETE" "/api/v1/tokens/{id}" Access::Staff, "吊销接口令牌";
    "GET" "/api/v1/notices" Access::Staff, "通知公告列表（本人可见范围）";
    "GET" "/api/v1/notices/{id}" Access::Staff, "通知公告详情（含保密审查提示）";
    "POST" "/api/v1/notices" Access::Roles(EDITORS), "起草通知公告", "NoticeForm";
    "PUT" "/api/v1/notices/{id}" Access::Roles(EDITORS), "修改草稿或退回的通知公告", "NoticeForm";
    "POST" "/api/v1/notices/{id}/submit" Access::Roles(EDITORS), "提交审核";
    "POST" "/api/v1/notices/{id}/approve" Access::Roles(REVIEWERS), "审核通过";
    "POST" "/api/v1/notices/{id}/return" Access::Roles(REVIEWERS), "退回修改", "Reason";
    "POST" "/api/v1/notices/{id}/withdraw" Access::Roles(REVIEWERS), "撤回", "Reason";
    "GET" "/api/v1/sensitive-words" Access::Staff, "保密审查敏感词列表";
    "POST" "/api/v1/sensitive-words" Access::Roles(REVIEWERS), "添加敏感词（管理员和全县审核员）", "Words";
    "DELETE" "/api/v1/sensitive-words/{word}" Access::Roles(REVIEWERS), "删除敏感词（管理员和全县审核员）";
    "GET" "/api/v1/catalogue" Access::Staff, "政务公开目录及逾期情况";
    "GET" "/api/v1/catalogue/{id}" Access::Staff, "政务公开目录详情（含办事指南）";
    "PUT" "/api/v1/catalogue/{id}" Access::Roles(EDITORS), "修改目录及办事指南（本单位信息员；采集来的目录请在源平台修改）", "CatalogueEntry";
    "POST" "/api/v1/catalogue/{id}/confirm" Access::Roles(EDITORS), "核对目录（可同时修改更新频率）", "Confirm";
    "GET" "/api/v1/scorecard" Access::Staff, "各单位政务公开考评";
    "GET" "/api/v1/polls" Access::Staff, "民意调查及结果";
    "POST" "/api/v1/polls" Access::Roles(OPERATORS), "发起民意调查", "PollForm";
    "POST" "/api/v1/polls/{id}/close" Access::Roles(OPERATORS), "结束民意调查";
    "GET" "/api/v1/cases" Access::Staff, "办件查询（其他单位的申请人遮挡）";
    "GET" "/api/v1/audit" Access::Staff, "审计日志（管理员可见全部，其他人可见本人）";
    "GET" "/api/v1/users" Access::Roles(ADMINS), "账号列表";
    "POST" "/api/v1/users" Access::Roles(ADMINS), "新增账号（返回一次性密码）", "NewUser";
    "PUT" "/api/v1/users/{name}/roles" Access::Roles(ADMINS), "修改账号的角色（记入审计日志）", "Grants";
    "POST" "/api/v1/users/{name}/{action}" Access::Roles(ADMINS), "停用（disable）、启用（enable）、解锁（unlock）或重置密码（reset，返回一次性密码）";
    "GET" "/api/v1/sources" Access::Staff, "采集来源及状态";
    "POST" "/api/v1/sources" Access::Roles(ADMINS), "新增采集来源", "Source";
    "GET" "/api/v1/sources/{name}" Access::Staff, "采集来源详情";
    "PUT" "/api/v1/sources/{name}" Access::Roles(ADMINS), "修改采集来源", "Source";
    "DELETE" "/api/v1/sources/{name}" Access::Roles(ADMINS), "删除采集来源";
    "POST" "/api/v1/sources/{name}/poll" Access::Roles(ADMINS), "立即采集一次";
    "GET" "/api/v1/boxes" Access::Roles(OPERATORS), "已注册的机顶盒";
    "GET" "/api/v1/views" Access::Roles(OPERATORS), "各画面收看次数";
    "GET" "/api/v1/channels" Access::Staff, "频道列表（含空档节目和节目指南设置）";
    "PUT" "/api/v1/channels/{name}" Access::Roles(OPERATORS), "修改频道（名称、地区、空档节目块、节目指南方式）", "ChannelForm";
    "PUT" "/api/v1/channels/{name}/outputs" Access::Roles(OPERATORS), "修改频道的输出（本机 UDP、HLS；保存后该频道按新输出重新开播）", "Outputs";
    "GET" "/api/v1/channels/{name}/schedule" Access::Staff, "频道节目表：编排条目、时段和冲突（?from=&days=）";
    "POST" "/api/v1/channels/{name}/schedule" Access::Roles(OPERATORS), "添加节目编排（重复规则、硬开始、优先级）", "EntryForm";
    "PUT" "/api/v1/channels/{name}/schedule/{id}" Access::Roles(OPERATORS), "修改节目编排", "EntryForm";
    "DELETE" "/api/v1/channels/{name}/schedule/{id}" Access::Roles(OPERATORS), "删除节目编排";
    "GET" "/api/v1/channels/{name}/epg.xml" Access::Public, "节目指南（XMLTV，供有线电视运营商导入）";
    "GET" "/api/v1/channels/{name}/epg" Access::Staff, "节目指南（JSON）";
    "GET" "/api/v1/channels/{name}/on-air" Access::Staff, "某一时刻播出的内容（?at=）";
    "GET" "/api/v1/channels/{name}/on-air.png" Access::Staff, "某一时刻播出的画面（PNG，?at=&profile=）";
    "GET" "/api/v1/blocks" Access::Staff, "节目块列表";
    "POST" "/api/v1/blocks" Access::Roles(OPERATORS), "新建节目块", "BlockForm";
    "GET" "/api/v1/blocks/{id}" Access::Staff, "节目块详情及目前选到的画面";
    "PUT" "/api/v1/blocks/{id}" Access::Roles(OPERATORS), "修改节目块", "BlockForm";
    "DELETE" "/api/v1/blocks/{id}" Access::Roles(OPERATORS), "删除节目块（未被使用时）";
    "GET" "/api/v1/blocks/{id}/strip.png" Access::Staff, "节目块预览（缩略图条）";
    "GET" "/api/v1/overrides" Access::Staff, "紧急插播列表";
    "POST" "/api/v1/overrides" Access::Roles(OPERATORS), "申请紧急插播（须另一位播出员或管理员批准）", "OverrideForm";
    "POST" "/api/v1/overrides/{id}/{action}" Access::Roles(OPERATORS), "批准（approve）或取消（cancel）紧急插播";
}

/// The endpoint routed as `path` for `method`.
pub fn endpoint(method: &Method, path: &str) -> Option<&'static Endpoint> {
    ENDPOINTS
        .iter()
        .find(|e| e.path == path && e.method == method.as_str())
}

/// Who is calling, once [`guard`] has let them through.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The staff member (the deprecated shared token acts as user `admin_token`).
    pub user: User,
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let mut response = (status, Json(json!({ "error": message }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

/// The caller of a request, if they proved who they are: `Err` is the refusal to send.
async fn identify(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<User>, Response> {
    let now = chrono::Utc::now();
    if let Some(token) = bearer(headers) {
        let shared = state.ingest.as_ref().and_then(|i| i.admin_token.as_deref());
        if let Some(shared) = shared {
            if same_secret(token.as_bytes(), shared.as_bytes()) {
                return Ok(Some(User {
                    id: 0,
                    name: "admin_token".into(),
                    display_name: "共享管理令牌".into(),
                    must_change: false,
                    grants: vec![accounts::Grant {
                        role: Role::Admin,
                        department: None,
                    }],
                }));
            }
        }
        let t = token.to_owned();
        return match state
            .store
            .call(move |conn| Ok(accounts::token_user(conn, &t, now)))
            .await
        {
            Ok(Ok(user)) => Ok(user),
            Ok(Err(e)) => Err(super::staff::PageError::from(e).into_response()),
            Err(e) => Err(ApiError::Store(e).into_response()),
        };
    }
    let Some(cookie) = super::staff::cookie(headers, super::staff::SESSION_COOKIE) else {
        return Ok(None);
    };
    let session = match state
        .store
        .call(move |conn| Ok(accounts::session(conn, &cookie, now)))
        .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(super::staff::PageError::from(e).into_response()),
        Err(e) => return Err(ApiError::Store(e).into_response()),
    };
    let Some(session) = session else {
        return Ok(None);
    };
    if session.user.must_change {
        return Err(refuse(StatusCode::FORBIDDEN, "请先修改一次性密码"));
    }
    if !matches!(*method, Method::GET | Method::HEAD) {
        let given = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if given.is_empty() || !same_secret(given.as_bytes(), session.csrf.as_bytes()) {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "请求未通过安全校验：缺少或不符的 X-CSRF-Token",
            ));
        }
    }
    Ok(Some(session.user))
}

/// Checks every routed JSON request against [`ENDPOINTS`]; hands the caller on in the
/// request's extensions ([`Caller`]).
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(path) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
    else {
        return next.run(request).await;
    };
    let api = path.starts_with("/api/")
        || path.starts_with("/stb/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
        || path.starts_with("/live/");
    if !api {
        // The staff pages check their session themselves (`web::staff`).
        return next.run(request).await;
    }
    let method = if request.method() == Method::HEAD {
        Method::GET
    } else {
        request.method().clone()
    };
    let Some(endpoint) = endpoint(&method, &path) else {
        if ENDPOINTS.iter().any(|e| e.path == path) {
            // A method the route does not have: the router answers 405.
            return next.run(request).await;
        }
        tracing::error!(%path, %method, "an API route has no entry in the access table: refused");
        return refuse(StatusCode::FORBIDDEN, "此接口尚未登记访问权限，暂不可用");
    };
    if endpoint.access == Access::Public {
        return next.run(request).await;
    }
    let user = match identify(&state, &method, request.headers()).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "请先登录，或提供有效的接口令牌（Authorization: Bearer …）",
            )
        }
        Err(response) => return response,
    };
    if let Access::Roles(roles) = endpoint.access {
        if !roles.iter().any(|r| user.has(*r)) {
            let needed: Vec<&str> = roles.iter().map(|r| r.label()).collect();
            return refuse(
                StatusCode::FORBIDDEN,
                &format!("此操作需要以下角色之一：{}", needed.join("、")),
            );
        }
    }
    request.extensions_mut().insert(Caller { user });
    next.run(request).await
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Forbidden("请先登录".into()))
    }
}

fn roles_of(access: Access) -> Value {
    match access {
        Access::Public => json!(["anonymous", "editor", "reviewer", "operator", "admin"]),
        Access::Staff => json!(["editor", "reviewer", "operator", "admin"]),
        Access::Roles(roles) => Value::from(roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
    }
}

fn schemas() -> Value {
    let s = json!({"type": "string"});
    let notice_form = json!({
        "type": "object",
        "required": ["kind", "title", "department", "region", "valid_from", "priority", "body"],
        "properties": {
            "kind": {"type": "string", "enum": ["notice", "publicity"]},
            "title": {"type": "string", "maxLength": crate::publishing::MAX_TITLE_CHARS},
            "department": s, "region": s,
            "valid_from": {"type": "string", "format": "date"},
            "valid_until": s,
            "priority": {"type": "string", "enum": ["normal", "important", "urgent"]},
            "body": s, "objection_start": s, "objection_end": s, "objection_contact": s,
            "objection_phone": s, "list_title": s,
            "list": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
                "name": s, "amount": s, "id_number": s, "phone": s, "note": s}}},
            "confidentiality_checked": {"type": "boolean"}
        }
    });
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "NoticeForm": notice_form,
        "Reason": {"type": "object", "properties": {"reason": s}},
        "ChannelForm": {"type": "object", "required": ["title", "region"], "properties": {
            "title": s, "region": s, "fallback": {"type": ["integer", "null"]}, "epg_per_notice": {"type": "boolean"}}},
        "Outputs": {"type": "array", "maxItems": crate::schedule::edit::MAX_OUTPUTS, "items": {"type": "object", "required": ["kind"], "properties": {
            "kind": {"type": "string", "enum": ["udp", "hls"]},
            "profile": {"type": "string", "enum": ["sd", "sd_wide", "hd720", "hd1080"]},
            "audio": {"type": "string", "enum": ["mp2", "aac"]},
            "address": {"type": "string", "description": "127.0.0.1:PORT 或 [::1]:PORT"},
            "muxrate": {"type": "integer", "minimum": 1_000_000, "maximum": crate::schedule::edit::MAX_MUXRATE},
            "service_id": {"type": "integer"}, "pmt_pid": {"type": "integer"}, "video_pid": {"type": "integer"},
            "service_name": s, "provider": s, "charset": {"type": "string", "enum": ["utf8", "gb2312"]},
            "segment_seconds": {"type": "integer", "minimum": 1, "maximum": 6},
            "window": {"type": "integer", "minimum": 6, "maximum": 10}}}},
        "BlockForm": {"type": "object", "required": ["name", "items"], "properties": {
            "name": s, "description": s,
            "items": {"type": "array", "minItems": 1, "maxItems": crate::schedule::block::MAX_ITEMS, "items": {"type": "object", "required": ["selector", "dwell"], "properties": {
                "selector": {"type": "string", "enum": crate::schedule::block::SELECTORS.iter().map(|x| x.0).collect::<Vec<_>>()},
                "arg": s, "count": {"type": "integer", "minimum": 0}, "dwell": {"type": "integer", "minimum": 3, "maximum": 300}}}}}},
        "EntryForm": {"type": "object", "required": ["block", "start", "minutes", "repeat", "from"], "properties": {
            "block": {"type": "integer"}, "start": s, "minutes": {"type": "integer", "minimum": 1, "maximum": 1440},
            "repeat": {"type": "string", "enum": ["once", "daily", "weekdays", "days"]},
            "weekdays": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 7}},
            "from": {"type": "string", "format": "date"}, "until": {"type": ["string", "null"]},
            "except": {"type": "array", "items": s}, "hard": {"type": "boolean"},
            "priority": {"type": "integer", "minimum": -9, "maximum": 9}}},
        "OverrideForm": {"type": "object", "required": ["notice_id", "channels", "starts_at", "ends_at", "form"], "properties": {
            "notice_id": {"type": "integer"}, "channels": {"type": "array", "items": s},
            "starts_at": s, "ends_at": s, "form": {"type": "string", "enum": ["full", "band"]}}},
        "PollForm": {"type": "object", "required": ["question", "region", "opens_on", "closes_on", "options"], "properties": {
            "question": s, "region": s, "opens_on": {"type": "string", "format": "date"},
            "closes_on": {"type": "string", "format": "date"},
            "options": {"type": "array", "minItems": 2, "maxItems": 9, "items": s}}},
        "Confirm": {"type": "object", "properties": {"update_frequency": {"type": "string", "enum": ["monthly", "quarterly", "half_yearly", "yearly", "on_change"]}}},
        "NewToken": {"type": "object", "required": ["name"], "properties": {"name": s}},
        "NewUser": {"type": "object", "required": ["name", "role"], "properties": {
            "name": s, "display_name": s,
            "role": {"type": "string", "enum": ["editor", "reviewer", "operator", "admin"]},
            "department": s}},
        "CatalogueEntry": {"type": "object", "required": ["title", "update_frequency"], "properties": {
            "title": {"type": "string", "maxLength": crate::publishing::MAX_TITLE_CHARS},
            "doc_no": s, "summary": s, "body": s,
            "valid_until": s,
            "update_frequency": {"type": "string", "enum": ["monthly", "quarterly", "half_yearly", "yearly", "on_change"]},
            "guide": {"type": ["object", "null"], "properties": {
                "conditions": {"type": "array", "items": s},
                "materials": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {"name": s, "copies": s, "note": s}}},
                "steps": {"type": "array", "items": s},
                "promised_limit_days": {"type": ["integer", "null"], "minimum": 0},
                "fees": s, "place": s, "hours": s, "phone": s}}}},
        "Words": {"type": "object", "required": ["words"], "properties": {
            "words": {"type": "array", "items": {"type": "string", "maxLength": crate::publishing::MAX_WORD_CHARS}}}},
        "Grants": {"type": "object", "required": ["grants"], "properties": {
            "grants": {"type": "array", "items": {"type": "object", "required": ["role"], "properties": {
                "role": {"type": "string", "enum": ["editor", "reviewer", "operator", "admin"]},
                "department": s}}}}},
        "Source": {"type": "object", "required": ["name", "url", "kind"], "properties": {
            "name": s, "url": s, "kind": {"type": "string", "enum": ["notices", "catalogue", "cases"]},
            "format": s, "department": s, "region": s, "interval": {"type": "integer"},
            "trusted": {"type": "boolean"}}},
        "Screen": {"type": "object", "required": ["kind"], "properties": {"kind": s}},
        "RegisterBox": {"type": "object"},
        "CaseLookup": {"type": "object"},
        "Vote": {"type": "object"},
        "Views": {"type": "object"}
    })
}

/// The OpenAPI 3.1 document of [`ENDPOINTS`]: each operation names the roles that may
/// call it in `x-roles` (`anonymous` for public ones).
pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for e in ENDPOINTS {
        let params: Vec<Value> = e
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                let schema = if name == "id" {
                    json!({"type": "integer"})
                } else {
                    json!({"type": "string"})
                };
                json!({"name": name, "in": "path", "required": true, "schema": schema})
            })
            .collect();
        let mut op = json!({
            "summary": e.summary,
            "x-roles": roles_of(e.access),
            "parameters": params,
            "responses": {
                "default": {"description": "错误", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "200": {"description": "成功"}
            }
        });
        if e.access != Access::Public {
            op["security"] = json!([{"bearer": []}, {"session": []}]);
        }
        if let Some(body) = e.body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}}});
        }
        let entry = paths.entry(e.path.to_owned()).or_insert_with(|| json!({}));
        entry[e.method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "GovChannel 县级数字电视政务频道 API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "个人接口令牌（POST /api/v1/tokens）"},
                "session": {"type": "apiKey", "in": "cookie", "name": super::staff::SESSION_COOKIE, "description": "登录会话；修改类请求另需 X-CSRF-Token 请求头"}
            }
        }
    })
}

/// `GET /api/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(openapi())
}
