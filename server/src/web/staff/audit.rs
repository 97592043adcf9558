//! The audit log for staff: filter by who, what and which object; page; export as CSV.
//! Administrators see every entry; everyone else sees their own actions.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::{page, PageError, Staff};
use crate::accounts::Role;
use crate::web::AppState;

/// Rows per page.
pub const PAGE_ROWS: u32 = 50;
/// Most rows one CSV export holds.
const MAX_EXPORT_ROWS: u32 = 100_000;

/// Filter of the log.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    /// Exactly this actor.
    #[serde(default)]
    pub actor: String,
    /// Exactly this action.
    #[serde(default)]
    pub action: String,
    /// An object kind (`notice`) or kind and id (`notice:12`).
    #[serde(default)]
    pub object: String,
    /// 1-based page.
    #[serde(default)]
    pub page: Option<u32>,
}

/// One entry.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    at: String,
    actor: String,
    action: String,
    action_label: &'static str,
    object_kind: String,
    object_id: String,
    detail: String,
}

/// What staff read for an action name.
pub fn action_label(action: &str) -> &'static str {
    match action {
        "create" => "新建",
        "edit" => "修改",
        "submit" => "提交审核",
        "approve" => "审核通过",
        "return" => "退回",
        "publish" => "发布",
        "expire" => "到期下线",
        "withdraw" => "撤回",
        "login" => "登录",
        "login_failed" => "登录失败",
        "user_locked" => "账号锁定",
        "logout" => "退出",
        "user_add" => "新增账号",
        "password_change" => "修改密码",
        "password_reset" => "重置密码",
        _ => "其他",
    }
}

/// The entries matching `q` (only `staff_name`'s own when given): (rows, total).
pub fn read(
    conn: &rusqlite::Connection,
    staff_name: Option<&str>,
    q: &AuditQuery,
    limit: u32,
    offset: u32,
) -> Result<(Vec<AuditRow>, u32), rusqlite::Error> {
    let (kind, id) = match q.object.split_once(':') {
        Some((k, i)) => (k.trim(), Some(i.trim())),
        None => (q.object.trim(), None),
    };
    let filter = "FROM audit_log
         WHERE (?1 IS NULL OR actor = ?1) AND (?2 = '' OR actor = ?2) AND (?3 = '' OR action = ?3)
           AND (?4 = '' OR object_kind = ?4) AND (?5 IS NULL OR object_id = ?5)";
    let args = params![staff_name, q.actor.trim(), q.action.trim(), kind, id];
    let total: u32 = conn.query_row(&format!("SELECT count(*) {filter}"), args, |r| r.get(0))?;
    let mut stmt = conn.prepare(&format!(
        "SELECT at, actor, action, object_kind, object_id, detail {filter}
         ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
    ))?;
    let rows = stmt
        .query_map(args, |r| {
            let action: String = r.get(2)?;
            Ok(AuditRow {
                at: r.get(0)?,
                actor: r.get(1)?,
                action_label: action_label(&action),
                action,
                object_kind: r.get(3)?,
                object_id: r.get(4)?,
                detail: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

fn scope(staff: &Staff) -> Option<String> {
    (!staff.user.has(Role::Admin)).then(|| staff.user.name.clone())
}

/// `GET /admin/audit`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let page_no = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let who = scope(&staff);
    let query = q.clone();
    let (rows, total) = state
        .store
        .call(move |conn| {
            Ok(read(
                conn,
                who.as_deref(),
                &query,
                PAGE_ROWS,
                (page_no - 1) * PAGE_ROWS,
            )?)
        })
        .await?;
    let pages = total.div_ceil(PAGE_ROWS).max(1);
    Ok(page(
        "audit.html",
        Some(&staff),
        "audit",
        minijinja::context! {
            rows, total, pages, page => page_no,
            query => minijinja::context! { actor => q.actor, action => q.action, object => q.object },
        },
    )?
    .into_response())
}

/// A CSV cell that spreadsheet programs will not run as a formula.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// `GET /admin/audit.csv`: the filtered log as CSV (UTF-8 with a byte-order mark so that
/// spreadsheet programs read the Chinese).
pub async fn csv(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let who = scope(&staff);
    let (rows, _) = state
        .store
        .call(move |conn| Ok(read(conn, who.as_deref(), &q, MAX_EXPORT_ROWS, 0)?))
        .await?;
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = out.write_record([
        "时间",
        "操作人",
        "操作",
        "操作代码",
        "对象类型",
        "对象编号",
        "详情",
    ]);
    for r in &rows {
        let _ = out.write_record([
            cell(&r.at),
            cell(&r.actor),
            r.action_label.to_owned(),
            cell(&r.action),
            cell(&r.object_kind),
            cell(&r.object_id),
            cell(&r.detail),
        ]);
    }
    let bytes = out.into_inner().unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}
