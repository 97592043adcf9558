//! Urgent overrides: an operator puts a published notice on chosen channels from a start
//! to an end time, full screen (it replaces the program, cutting in at the second) or as
//! the alert band over the program. Nothing airs until a second person holding the
//! operator or admin role approves it (two-person rule); it ends by itself, or earlier
//! when cancelled. Every step is written to the audit log.

use chrono::{DateTime, FixedOffset, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::edit::{EditError, Fields};
use crate::accounts::{Role, User};
use crate::names::vocabulary;
use crate::store::{self, StoreError};

/// Longest override.
pub const MAX_HOURS: i64 = 72;

vocabulary! {
    /// How an override airs.
    pub Form as "override form" {
        /// The notice alone, full screen, replacing the program.
        Full = "full" / "全屏播出",
        /// The alert band over the program.
        Band = "band" / "滚动字幕条",
    }
}

/// A stored override.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Override {
    /// Store id.
    pub id: i64,
    /// The notice.
    pub notice_id: i64,
    /// Its title.
    pub notice_title: String,
    /// Channel names.
    pub channels: Vec<String>,
    /// Start (county time).
    pub starts_at: DateTime<FixedOffset>,
    /// End (county time).
    pub ends_at: DateTime<FixedOffset>,
    /// How it airs.
    pub form: Form,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub requested_at: String,
    /// Who approved, once approved.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
    /// Who cancelled, if cancelled.
    pub cancelled_by: Option<String>,
    /// When.
    pub cancelled_at: Option<String>,
}

impl Override {
    /// 待批准, 已批准（未开始）, 播出中, 已结束, 已取消, 已过期（未获批准）.
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        if self.cancelled_at.is_some() {
            "已取消"
        } else if self.approved_by.is_none() {
            if self.ends_at <= now {
                "已过期（未获批准）"
            } else {
                "待批准"
            }
        } else if now < self.starts_at {
            "已批准（未开始）"
        } else if now < self.ends_at {
            "播出中"
        } else {
            "已结束"
        }
    }
}

/// An override as asked for.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OverrideForm {
    /// The notice id.
    pub notice_id: i64,
    /// Channel names.
    pub channels: Vec<String>,
    /// Start, `YYYY-MM-DDTHH:MM` (county time) or RFC 3339.
    pub starts_at: String,
    /// End, same forms.
    pub ends_at: String,
    /// `full` or `band`.
    pub form: String,
}

/// A county time typed by staff (`2026-12-07T08:30`, with or without seconds) or RFC 3339.
pub fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&crate::content::county_offset()));
    }
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
    .and_then(super::airing::at_county)
}

const COLUMNS: &str = "o.id, o.notice_id, n.title, o.channels, o.starts_at, o.ends_at, o.form,
    o.requested_by, o.requested_at, o.approved_by, o.approved_at, o.cancelled_by, o.cancelled_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Override, String, String, String, String)> {
    let county = crate::content::county_offset();
    let placeholder = DateTime::<Utc>::MIN_UTC.with_timezone(&county);
    Ok((
        Override {
            id: r.get(0)?,
            notice_id: r.get(1)?,
            notice_title: r.get(2)?,
            channels: Vec::new(),
            starts_at: placeholder,
            ends_at: placeholder,
            form: Form::Full,
            requested_by: r.get(7)?,
            requested_at: r.get(8)?,
            approved_by: r.get(9)?,
            approved_at: r.get(10)?,
            cancelled_by: r.get(11)?,
            cancelled_at: r.get(12)?,
        },
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn finish(
    (mut o, channels, starts, ends, form): (Override, String, String, String, String),
) -> Result<Override, StoreError> {
    let bad = |what: &str| StoreError::Malformed(format!("override {}: {what}", o.id));
    let county = crate::content::county_offset();
    o.channels = serde_json::from_str(&channels).map_err(|_| bad("channels"))?;
    o.starts_at = DateTime::parse_from_rfc3339(&starts)
        .map_err(|_| bad("start"))?
        .with_timezone(&county);
    o.ends_at = DateTime::parse_from_rfc3339(&ends)
        .map_err(|_| bad("end"))?
        .with_timezone(&county);
    o.form = Form::parse(&form).ok_or_else(|| bad("form"))?;
    Ok(o)
}

fn query(
    conn: &Connection,
    filter: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Override>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM overrides o JOIN notices n ON n.id = o.notice_id {filter}"
    ))?;
    let rows = stmt
        .query_map(params, row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(finish).collect()
}

/// Every override, newest first.
pub fn all(conn: &Connection) -> Result<Vec<Override>, StoreError> {
    query(conn, "ORDER BY o.id DESC", [])
}

/// Override `id`.
pub fn get(conn: &Connection, id: i64) -> Result<Option<Override>, StoreError> {
    Ok(query(conn, "WHERE o.id = ?1", [id])?.into_iter().next())
}

/// Approved, not cancelled overrides of `channel` that have not ended at `now` (those in
/// force and those to come), of notices still published (a withdrawn notice leaves the
/// air even under an override).
pub fn airing_on(
    conn: &Connection,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Override>, StoreError> {
    let found = query(
        conn,
        "WHERE o.approved_by IS NOT NULL AND o.cancelled_at IS NULL AND o.ends_at > ?1
           AND n.status = 'published'
           AND EXISTS (SELECT 1 FROM json_each(o.channels) c WHERE c.value = ?2)
         ORDER BY o.starts_at",
        rusqlite::params![store::stamp(now), channel],
    )?;
    Ok(found)
}

/// Whether `user` may ask for, approve and cancel overrides.
pub fn may_override(user: &User) -> bool {
    (user.has(Role::Operator) || user.has(Role::Admin)) && !shared_token(user)
}

/// The deprecated shared admin token is nobody in particular: it cannot be one of the
/// two people the rule asks for.
fn shared_token(user: &User) -> bool {
    user.id == 0 && user.name == "admin_token"
}

fn forbidden(user: &User) -> EditError {
    if shared_token(user) {
        EditError::Forbidden(
            "紧急插播须由具名的播出员或管理员账号申请和批准，共享管理令牌不能用于紧急插播".into(),
        )
    } else {
        EditError::Forbidden("只有播出员或管理员可以安排紧急插播".into())
    }
}

/// The workflow status of notice `id` (`published` …), if it exists.
fn notice_status(conn: &Connection, id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT status FROM notices WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?)
}

/// A checked override: channels, start, end and form.
type Checked = (
    Vec<String>,
    DateTime<FixedOffset>,
    DateTime<FixedOffset>,
    Form,
);

/// Checks `form` as of `now`: the fields to fix, or the override to store.
fn check(
    conn: &Connection,
    form: &OverrideForm,
    now: DateTime<Utc>,
) -> Result<Result<Checked, Fields>, StoreError> {
    let mut errors: Fields = Vec::new();
    match notice_status(conn, form.notice_id)?.as_deref() {
        None => errors.push((
            "notice_id",
            format!("没有编号为{}的通知公告", form.notice_id),
        )),
        Some("published") => {}
        Some(_) => errors.push((
            "notice_id",
            "只能插播已发布的通知公告，请先完成审核发布".into(),
        )),
    }
    let mut channels: Vec<String> = form
        .channels
        .iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    channels.sort();
    channels.dedup();
    if channels.is_empty() {
        errors.push(("channels", "请至少选择一个频道".into()));
    }
    for c in &channels {
        if super::airing::channel(conn, c)?.is_none() {
            errors.push(("channels", format!("没有名为“{c}”的频道")));
        }
    }
    let start = parse_time(&form.starts_at);
    let end = parse_time(&form.ends_at);
    if start.is_none() {
        errors.push((
            "starts_at",
            "开始时间格式不正确（例如 2026-12-07T08:30）".into(),
        ));
    }
    if end.is_none() {
        errors.push((
            "ends_at",
            "结束时间格式不正确（例如 2026-12-07T09:30）".into(),
        ));
    }
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            errors.push(("ends_at", "结束时间必须晚于开始时间".into()));
        } else if e <= now {
            errors.push(("ends_at", "结束时间已经过去".into()));
        } else if e - s > chrono::Duration::hours(MAX_HOURS) {
            errors.push(("ends_at", format!("一次紧急插播最长{MAX_HOURS}小时")));
        }
    }
    let kind = Form::parse(form.form.trim());
    if kind.is_none() {
        errors.push((
            "form",
            "播出方式只能是全屏播出（full）或滚动字幕条（band）".into(),
        ));
    }
    match (start, end, kind, errors.is_empty()) {
        (Some(s), Some(e), Some(k), true) => Ok(Ok((channels, s, e, k))),
        _ => Ok(Err(errors)),
    }
}

/// Asks for an override (it airs once someone else approves it): its id.
pub fn request(
    conn: &mut Connection,
    user: &User,
    form: &OverrideForm,
    now: DateTime<Utc>,
) -> Result<i64, EditError> {
    if !may_override(user) {
        return Err(forbidden(user));
    }
    let (channels, start, end, kind) = check(conn, form, now)?.map_err(EditError::Invalid)?;
    let tx = conn.transaction().map_err(StoreError::from)?;
    tx.execute(
        "INSERT INTO overrides (notice_id, channels, starts_at, ends_at, form, requested_by, requested_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params![
            form.notice_id,
            serde_json::to_string(&channels).unwrap_or_default(),
            store::stamp(start.with_timezone(&Utc)),
            store::stamp(end.with_timezone(&Utc)),
            kind.as_str(),
            user.name,
            store::stamp(now),
        ],
    )
    .map_err(StoreError::from)?;
    let id = tx.last_insert_rowid();
    store::audit(
        &tx,
        now,
        &user.name,
        "override.request",
        "override",
        &id.to_string(),
        &serde_json::json!({
            "notice_id": form.notice_id, "channels": channels, "form": kind.as_str(),
            "starts_at": start.to_rfc3339(), "ends_at": end.to_rfc3339(),
        }),
    )
    .map_err(StoreError::from)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(id)
}

/// Approves override `id`: by an operator or admin other than the one who asked.
pub fn approve(
    conn: &mut Connection,
    user: &User,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), EditError> {
    if !may_override(user) {
        return Err(forbidden(user));
    }
    let o = get(conn, id)?.ok_or(EditError::NotFound)?;
    if o.requested_by == user.name {
        return Err(EditError::Conflict(
            "紧急插播须由另一位播出员或管理员批准，不能批准自己提出的插播".into(),
        ));
    }
    match o.state(now) {
        "待批准" => {}
        state => {
            return Err(EditError::Conflict(format!(
                "这条紧急插播{state}，不能再批准"
            )))
        }
    }
    if notice_status(conn, o.notice_id)?.as_deref() != Some("published") {
        return Err(EditError::Conflict(
            "这条通知已不在发布状态（可能已撤回或过期），不能批准插播".into(),
        ));
    }
    let tx = conn.transaction().map_err(StoreError::from)?;
    tx.execute(
        "UPDATE overrides SET approved_by = ?2, approved_at = ?3 WHERE id = ?1 AND approved_by IS NULL",
        rusqlite::params![id, user.name, store::stamp(now)],
    )
    .map_err(StoreError::from)?;
    store::audit(
        &tx,
        now,
        &user.name,
        "override.approve",
        "override",
        &id.to_string(),
        &serde_json::json!({ "requested_by": o.requested_by }),
    )
    .map_err(StoreError::from)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(())
}

/// Cancels override `id` (before it airs, or ending it now).
pub fn cancel(
    conn: &mut Connection,
    user: &User,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), EditError> {
    if !may_override(user) {
        return Err(forbidden(user));
    }
    let o = get(conn, id)?.ok_or(EditError::NotFound)?;
    match o.state(now) {
        "待批准" | "已批准（未开始）" | "播出中" => {}
        state => {
            return Err(EditError::Conflict(format!(
                "这条紧急插播{state}，不能再取消"
            )))
        }
    }
    let tx = conn.transaction().map_err(StoreError::from)?;
    tx.execute(
        "UPDATE overrides SET cancelled_by = ?2, cancelled_at = ?3 WHERE id = ?1",
        rusqlite::params![id, user.name, store::stamp(now)],
    )
    .map_err(StoreError::from)?;
    store::audit(
        &tx,
        now,
        &user.name,
        "override.cancel",
        "override",
        &id.to_string(),
        &serde_json::json!({ "state": o.state(now) }),
    )
    .map_err(StoreError::from)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(())
}
