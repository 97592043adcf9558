//! The publishing workflow for notices and 公示: editors (信息员) draft for their
//! department, confirm the confidentiality review and submit; reviewers (审核员) of that
//! department or the county approve or return them with a reason (never their own);
//! approved items publish when their validity starts and expire when it ends; a reviewer
//! or administrator may withdraw a published item. Every step is checked against the
//! actor's roles here, on the server, and written to the audit log with what changed.
//!
//! Plain functions over a connection, run on the store's thread.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use crate::accounts::{Role, User};
use crate::content::{NoticeKind, NoticeStatus, Priority};
use crate::mask::{self, Finding};
use crate::store::{stamp, StoreError};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;
/// Most rows in a notice's recipient list.
pub const MAX_LIST_ROWS: usize = 500;
/// Longest reason for returning or withdrawing.
pub const MAX_REASON_CHARS: usize = 500;

/// Why a workflow step was refused.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The actor may not do this; the message (Chinese) says why.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such notice.
    #[error("no notice {0}")]
    NotFound(i64),
    /// The notice is not in a state this step applies to; Chinese.
    #[error("wrong state: {0}")]
    WrongState(String),
    /// Fields are missing or wrong: (field, Chinese message) pairs.
    #[error("invalid fields: {0:?}")]
    Invalid(Vec<(&'static str, String)>),
}

impl From<rusqlite::Error> for PublishError {
    fn from(e: rusqlite::Error) -> Self {
        PublishError::Store(StoreError::from(e))
    }
}

/// One row of a recipient list (公示名单) as staff type it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    /// 姓名 (masked on air).
    pub name: String,
    /// 金额 or what the person receives.
    #[serde(default)]
    pub amount: String,
    /// 身份证号 (masked on air).
    #[serde(default)]
    pub id_number: String,
    /// 联系电话 (masked on air).
    #[serde(default)]
    pub phone: String,
    /// 备注.
    #[serde(default)]
    pub note: String,
}

/// What an editor fills in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeForm {
    /// `notice` or `publicity`.
    pub kind: String,
    /// 标题.
    pub title: String,
    /// Department code (发布单位).
    pub department: String,
    /// Region code the notice is for.
    pub region: String,
    /// First day on air, YYYY-MM-DD.
    pub valid_from: String,
    /// Last day on air, YYYY-MM-DD; empty for none.
    #[serde(default)]
    pub valid_until: String,
    /// `normal`, `important` or `urgent`.
    pub priority: String,
    /// 正文.
    pub body: String,
    /// 公示: first and last day of the objection period, YYYY-MM-DD.
    #[serde(default)]
    pub objection_start: String,
    /// Last day of the objection period.
    #[serde(default)]
    pub objection_end: String,
    /// 公示: who takes objections, and their (public, office) phone.
    #[serde(default)]
    pub objection_contact: String,
    /// The office phone for objections.
    #[serde(default)]
    pub objection_phone: String,
    /// Title of the recipient list; empty for none.
    #[serde(default)]
    pub list_title: String,
    /// The recipient list.
    #[serde(default)]
    pub list: Vec<ListRow>,
    /// The editor confirms the confidentiality review (保密审查).
    #[serde(default)]
    pub confidentiality_checked: bool,
}

/// A stored notice as staff see it (unmasked).
#[derive(Debug, Clone, Serialize)]
pub struct NoticeRecord {
    /// Row id.
    pub id: i64,
    /// The fields.
    pub form: NoticeForm,
    /// Workflow state.
    pub status: NoticeStatus,
    /// Its label (草稿, 待审核 …).
    pub status_label: &'static str,
    /// Department's name.
    pub department_name: String,
    /// Region's name.
    pub region_name: String,
    /// Who drafted it (`None` for ingested and demo items).
    pub created_by: Option<String>,
    /// Where it came from, for ingested items.
    pub source: Option<String>,
    /// Last submission.
    pub submitted_at: Option<String>,
    /// Who approved or returned it last, and when.
    pub reviewed_by: Option<String>,
    /// When.
    pub reviewed_at: Option<String>,
    /// Why it was returned.
    pub return_reason: Option<String>,
    /// Why it was withdrawn.
    pub withdraw_reason: Option<String>,
    /// When it was published.
    pub published_at: Option<String>,
    /// Last change.
    pub updated_at: String,
}

fn county_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&crate::content::county_offset())
        .date_naive()
}

/// An audit record about notice `id`.
fn audit(
    tx: &Transaction<'_>,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    id: i64,
    detail: serde_json::Value,
) -> Result<(), rusqlite::Error> {
    crate::store::audit(tx, now, actor, action, "notice", &id.to_string(), &detail)
}

fn date_field(
    errors: &mut Vec<(&'static str, String)>,
    field: &'static str,
    label: &str,
    value: &str,
    required: bool,
) -> Option<NaiveDate> {
    let value = value.trim();
    if value.is_empty() {
        if required {
            errors.push((field, format!("请填写{label}")));
        }
        return None;
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push((
                field,
                format!("{label}格式不正确，应为 2026-12-05 这样的日期"),
            ));
            None
        }
    }
}

fn exists(conn: &Connection, sql: &str, code: &str) -> Result<bool, rusqlite::Error> {
    conn.query_row(sql, [code], |r| r.get(0))
}

/// Checks `form`; every problem as (field, Chinese message).
pub fn validate(
    conn: &Connection,
    form: &NoticeForm,
) -> Result<Vec<(&'static str, String)>, PublishError> {
    let mut errors = Vec::new();
    let kind = NoticeKind::parse(&form.kind);
    if kind.is_none() {
        errors.push(("kind", "请选择类别（通知公告或公示）".to_owned()));
    }
    let title = form.title.trim();
    if title.is_empty() {
        errors.push(("title", "请填写标题".to_owned()));
    } else if title.chars().count() > MAX_TITLE_CHARS {
        errors.push(("title", format!("标题不能超过{MAX_TITLE_CHARS}个字")));
    }
    if form.body.trim().is_empty() {
        errors.push(("body", "请填写正文".to_owned()));
    } else if form.body.chars().count() > MAX_BODY_CHARS {
        errors.push((
            "body",
            format!("正文不能超过{MAX_BODY_CHARS}个字，请分成几条发布"),
        ));
    }
    if !exists(
        conn,
        "SELECT EXISTS (SELECT 1 FROM departments WHERE code = ?1)",
        &form.department,
    )? {
        errors.push(("department", "请选择发布单位".to_owned()));
    }
    if !exists(
        conn,
        "SELECT EXISTS (SELECT 1 FROM regions WHERE code = ?1)",
        &form.region,
    )? {
        errors.push(("region", "请选择发布范围（地区）".to_owned()));
    }
    if Priority::parse(&form.priority).is_none() {
        errors.push(("priority", "请选择重要程度".to_owned()));
    }
    let from = date_field(
        &mut errors,
        "valid_from",
        "开始日期",
        &form.valid_from,
        true,
    );
    let until = date_field(
        &mut errors,
        "valid_until",
        "截止日期",
        &form.valid_until,
        false,
    );
    if let (Some(f), Some(u)) = (from, until) {
        if u < f {
            errors.push(("valid_until", "截止日期不能早于开始日期".to_owned()));
        }
    }
    if kind == Some(NoticeKind::Publicity) {
        let s = date_field(
            &mut errors,
            "objection_start",
            "公示开始日期",
            &form.objection_start,
            true,
        );
        let e = date_field(
            &mut errors,
            "objection_end",
            "公示结束日期",
            &form.objection_end,
            true,
        );
        if let (Some(s), Some(e)) = (s, e) {
            if e < s {
                errors.push(("objection_end", "公示结束日期不能早于开始日期".to_owned()));
            }
        }
        if form.objection_contact.trim().is_empty() {
            errors.push(("objection_contact", "请填写异议受理单位或联系人".to_owned()));
        }
    }
    if form.list.len() > MAX_LIST_ROWS {
        errors.push(("list", format!("名单最多{MAX_LIST_ROWS}行，请分成几条发布")));
    }
    if !form.list.is_empty() && form.list_title.trim().is_empty() {
        errors.push(("list_title", "请填写名单标题".to_owned()));
    }
    if form.list.iter().any(|r| r.name.trim().is_empty()) {
        errors.push(("list", "名单每一行都需要姓名".to_owned()));
    }
    Ok(errors)
}

/// Whether `user` may draft and edit for `department`.
pub fn may_edit(user: &User, department: &str) -> bool {
    user.has_for(Role::Editor, department)
}

/// Whether `user` may review (approve, return, withdraw) items of `department`.
pub fn may_review(user: &User, department: &str) -> bool {
    user.has_for(Role::Reviewer, department) || user.has(Role::Admin)
}

/// Whether `user` may see items of `department` at all.
pub fn may_see(user: &User, department: &str) -> bool {
    may_edit(user, department) || may_review(user, department)
}

fn opt(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

fn write_fields(
    tx: &Transaction<'_>,
    id: i64,
    form: &NoticeForm,
    now: DateTime<Utc>,
) -> Result<(), rusqlite::Error> {
    let publicity = form.kind == NoticeKind::Publicity.as_str();
    tx.execute(
        "UPDATE notices SET kind = ?2, title = ?3, department = ?4, region = ?5, valid_from = ?6,
                valid_until = ?7, priority = ?8, body = ?9, objection_start = ?10,
                objection_end = ?11, objection_contact = ?12, objection_phone = ?13,
                confidentiality_checked = ?14, updated_at = ?15
         WHERE id = ?1",
        params![
            id,
            form.kind,
            form.title.trim(),
            form.department,
            form.region,
            form.valid_from.trim(),
            opt(&form.valid_until),
            form.priority,
            form.body,
            if publicity {
                opt(&form.objection_start)
            } else {
                None
            },
            if publicity {
                opt(&form.objection_end)
            } else {
                None
            },
            if publicity {
                opt(&form.objection_contact)
            } else {
                None
            },
            if publicity {
                opt(&form.objection_phone)
            } else {
                None
            },
            form.confidentiality_checked,
            stamp(now),
        ],
    )?;
    tx.execute("DELETE FROM public_lists WHERE notice_id = ?1", [id])?;
    if !form.list.is_empty() {
        tx.execute(
            "INSERT INTO public_lists (notice_id, title, columns) VALUES (?1, ?2, ?3)",
            params![
                id,
                form.list_title.trim(),
                r#"["姓名","金额","身份证号","联系电话","备注"]"#
            ],
        )?;
        let list_id = tx.last_insert_rowid();
        for (i, row) in form.list.iter().enumerate() {
            tx.execute(
                "INSERT INTO public_list_rows (list_id, seq, name, amount, id_number, phone, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    list_id,
                    i as i64 + 1,
                    row.name.trim(),
                    opt(&row.amount),
                    opt(&row.id_number),
                    opt(&row.phone),
                    row.note.trim()
                ],
            )?;
        }
    }
    Ok(())
}

/// The notice `id` as staff see it.
pub fn get(conn: &Connection, id: i64) -> Result<Option<NoticeRecord>, PublishError> {
    let row = conn
        .query_row(
            "SELECT n.kind, n.title, n.department, n.region, n.valid_from, n.valid_until, n.priority,
                    n.body, n.objection_start, n.objection_end, n.objection_contact, n.objection_phone,
                    n.confidentiality_checked, n.status, d.name, r.name, n.created_by, n.source,
                    n.submitted_at, n.reviewed_by, n.reviewed_at, n.return_reason, n.withdraw_reason,
                    n.published_at, n.updated_at
             FROM notices n JOIN departments d ON d.code = n.department
                  JOIN regions r ON r.code = n.region
             WHERE n.id = ?1",
            [id],
            |r| {
                let status: String = r.get(13)?;
                Ok(NoticeRecord {
                    id,
                    form: NoticeForm {
                        kind: r.get(0)?,
                        title: r.get(1)?,
                        department: r.get(2)?,
                        region: r.get(3)?,
                        valid_from: r.get(4)?,
                        valid_until: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                        priority: r.get(6)?,
                        body: r.get(7)?,
                        objection_start: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                        objection_end: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
                        objection_contact: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
                        objection_phone: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
                        list_title: String::new(),
                        list: Vec::new(),
                        confidentiality_checked: r.get::<_, i64>(12)? != 0,
                    },
                    status: NoticeStatus::parse(&status).unwrap_or(NoticeStatus::Draft),
                    status_label: NoticeStatus::parse(&status).map_or("未知", |s| s.label()),
                    department_name: r.get(14)?,
                    region_name: r.get(15)?,
                    created_by: r.get(16)?,
                    source: r.get(17)?,
                    submitted_at: r.get(18)?,
                    reviewed_by: r.get(19)?,
                    reviewed_at: r.get(20)?,
                    return_reason: r.get(21)?,
                    withdraw_reason: r.get(22)?,
                    published_at: r.get(23)?,
                    updated_at: r.get(24)?,
                })
            },
        )
        .optional()?;
    let Some(mut record) = row else {
        return Ok(None);
    };
    let list: Option<(i64, String)> = conn
        .query_row(
            "SELECT id, title FROM public_lists WHERE notice_id = ?1 ORDER BY id LIMIT 1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((list_id, title)) = list {
        record.form.list_title = title;
        let mut stmt = conn.prepare(
            "SELECT name, amount, id_number, phone, note FROM public_list_rows
             WHERE list_id = ?1 ORDER BY seq",
        )?;
        record.form.list = stmt
            .query_map([list_id], |r| {
                Ok(ListRow {
                    name: r.get(0)?,
                    amount: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    id_number: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    phone: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    note: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(Some(record))
}

fn load_for(conn: &Connection, id: i64) -> Result<NoticeRecord, PublishError> {
    get(conn, id)?.ok_or(PublishError::NotFound(id))
}

fn forbidden(message: &str) -> PublishError {
    PublishError::Forbidden(message.to_owned())
}

/// The fields that differ between `before` and `after`, as {"field": [before, after]}.
fn changes(before: &NoticeForm, after: &NoticeForm) -> serde_json::Value {
    let (Ok(serde_json::Value::Object(b)), Ok(serde_json::Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return serde_json::json!({});
    };
    let mut out = serde_json::Map::new();
    for (k, av) in &a {
        let bv = b.get(k).cloned().unwrap_or(serde_json::Value::Null);
        if &bv != av {
            out.insert(k.clone(), serde_json::json!([bv, av]));
        }
    }
    serde_json::Value::Object(out)
}

/// Creates a draft for `form.department` by `user` (an editor of that department).
pub fn create(
    conn: &mut Connection,
    user: &User,
    form: &NoticeForm,
    now: DateTime<Utc>,
) -> Result<i64, PublishError> {
    if !may_edit(user, &form.department) {
        return Err(forbidden("您不是该单位的信息员，不能为其起草"));
    }
    let errors = validate(conn, form)?;
    if !errors.is_empty() {
        return Err(PublishError::Invalid(errors));
    }
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO notices (kind, title, department, region, valid_from, priority, status, body,
                              created_at, updated_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', ?7, ?8, ?8, ?9)",
        params![
            form.kind,
            form.title.trim(),
            form.department,
            form.region,
            form.valid_from.trim(),
            form.priority,
            form.body,
            stamp(now),
            user.name
        ],
    )?;
    let id = tx.last_insert_rowid();
    write_fields(&tx, id, form, now)?;
    audit(
        &tx,
        now,
        &user.name,
        "create",
        id,
        serde_json::json!({ "after": form }),
    )?;
    tx.commit()?;
    Ok(id)
}

/// Saves `form` over draft or returned notice `id`.
pub fn update(
    conn: &mut Connection,
    user: &User,
    id: i64,
    form: &NoticeForm,
    now: DateTime<Utc>,
) -> Result<(), PublishError> {
    let before = load_for(conn, id)?;
    if !may_edit(user, &before.form.department) || !may_edit(user, &form.department) {
        return Err(forbidden("您不是该单位的信息员，不能修改"));
    }
    if !matches!(before.status, NoticeStatus::Draft | NoticeStatus::Returned) {
        return Err(PublishError::WrongState(format!(
            "“{}”的信息不能修改，只有草稿和已退回的可以",
            before.status_label
        )));
    }
    let errors = validate(conn, form)?;
    if !errors.is_empty() {
        return Err(PublishError::Invalid(errors));
    }
    let tx = conn.transaction()?;
    write_fields(&tx, id, form, now)?;
    audit(
        &tx,
        now,
        &user.name,
        "edit",
        id,
        changes(&before.form, form),
    )?;
    tx.commit()?;
    Ok(())
}

/// Submits draft or returned notice `id` for review.
pub fn submit(
    conn: &mut Connection,
    user: &User,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), PublishError> {
    let n = load_for(conn, id)?;
    if !may_edit(user, &n.form.department) {
        return Err(forbidden("您不是该单位的信息员，不能提交"));
    }
    if !matches!(n.status, NoticeStatus::Draft | NoticeStatus::Returned) {
        return Err(PublishError::WrongState(format!(
            "“{}”的信息不能再提交",
            n.status_label
        )));
    }
    if !n.form.confidentiality_checked {
        return Err(PublishError::Invalid(vec![(
            "confidentiality_checked",
            "提交前请完成保密审查并勾选确认".to_owned(),
        )]));
    }
    let errors = validate(conn, &n.form)?;
    if !errors.is_empty() {
        return Err(PublishError::Invalid(errors));
    }
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE notices SET status = 'submitted', submitted_at = ?2, updated_at = ?2 WHERE id = ?1",
        params![id, stamp(now)],
    )?;
    audit(
        &tx,
        now,
        &user.name,
        "submit",
        id,
        serde_json::json!({ "before": n.status, "after": "submitted" }),
    )?;
    tx.commit()?;
    Ok(())
}

fn check_review(user: &User, n: &NoticeRecord) -> Result<(), PublishError> {
    if !may_review(user, &n.form.department) {
        return Err(forbidden("您不是该单位的审核员，不能审核"));
    }
    if n.created_by.as_deref() == Some(user.name.as_str()) {
        return Err(forbidden("不能审核自己起草的信息，请由其他审核员审核"));
    }
    if n.status != NoticeStatus::Submitted {
        return Err(PublishError::WrongState(format!(
            "“{}”的信息不在待审核状态",
            n.status_label
        )));
    }
    Ok(())
}

/// Approves submitted notice `id`; it publishes at once when its validity has started
/// (otherwise on that day, by [`sweep`]). Returns the new state.
pub fn approve(
    conn: &mut Connection,
    user: &User,
    id: i64,
    now: DateTime<Utc>,
) -> Result<NoticeStatus, PublishError> {
    let n = load_for(conn, id)?;
    check_review(user, &n)?;
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE notices SET status = 'approved', reviewed_by = ?2, reviewed_at = ?3, updated_at = ?3,
                return_reason = NULL
         WHERE id = ?1",
        params![id, user.name, stamp(now)],
    )?;
    audit(
        &tx,
        now,
        &user.name,
        "approve",
        id,
        serde_json::json!({ "before": "submitted", "after": "approved" }),
    )?;
    publish_due(&tx, now)?;
    tx.commit()?;
    Ok(load_for(conn, id)?.status)
}

/// Returns submitted notice `id` to its editor with `reason`.
pub fn send_back(
    conn: &mut Connection,
    user: &User,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), PublishError> {
    let n = load_for(conn, id)?;
    check_review(user, &n)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(PublishError::Invalid(vec![(
            "reason",
            "请填写退回原因".to_owned(),
        )]));
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(PublishError::Invalid(vec![(
            "reason",
            format!("退回原因不能超过{MAX_REASON_CHARS}个字"),
        )]));
    }
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE notices SET status = 'returned', reviewed_by = ?2, reviewed_at = ?3, updated_at = ?3,
                return_reason = ?4, confidentiality_checked = 0
         WHERE id = ?1",
        params![id, user.name, stamp(now), reason],
    )?;
    audit(
        &tx,
        now,
        &user.name,
        "return",
        id,
        serde_json::json!({ "before": "submitted", "after": "returned", "reason": reason }),
    )?;
    tx.commit()?;
    Ok(())
}

/// Withdraws published or approved notice `id` from the air with `reason`.
pub fn withdraw(
    conn: &mut Connection,
    user: &User,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), PublishError> {
    let n = load_for(conn, id)?;
    if !may_review(user, &n.form.department) {
        return Err(forbidden("只有该单位的审核员或管理员可以撤回"));
    }
    if !matches!(n.status, NoticeStatus::Published | NoticeStatus::Approved) {
        return Err(PublishError::WrongState(format!(
            "“{}”的信息不能撤回",
            n.status_label
        )));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(PublishError::Invalid(vec![(
            "reason",
            "请填写撤回原因".to_owned(),
        )]));
    }
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE notices SET status = 'withdrawn', withdraw_reason = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, reason.chars().take(MAX_REASON_CHARS).collect::<String>(), stamp(now)],
    )?;
    audit(
        &tx,
        now,
        &user.name,
        "withdraw",
        id,
        serde_json::json!({ "before": n.status, "after": "withdrawn", "reason": reason }),
    )?;
    tx.commit()?;
    Ok(())
}

fn publish_due(
    tx: &Transaction<'_>,
    now: DateTime<Utc>,
) -> Result<(Vec<i64>, Vec<i64>), rusqlite::Error> {
    let today = county_day(now).to_string();
    let ids = |sql: &str| -> Result<Vec<i64>, rusqlite::Error> {
        tx.prepare(sql)?
            .query_map([&today], |r| r.get(0))?
            .collect()
    };
    let publish = ids("SELECT id FROM notices WHERE status = 'approved' AND valid_from <= ?1")?;
    let expire = ids(
        "SELECT id FROM notices WHERE status = 'published' AND valid_until IS NOT NULL AND valid_until < ?1",
    )?;
    for id in &publish {
        tx.execute(
            "UPDATE notices SET status = 'published', published_at = ?2, updated_at = ?2 WHERE id = ?1",
            params![id, now.with_timezone(&crate::content::county_offset()).to_rfc3339_opts(SecondsFormat::Secs, false)],
        )?;
        audit(
            tx,
            now,
            "system",
            "publish",
            *id,
            serde_json::json!({ "before": "approved", "after": "published" }),
        )?;
    }
    for id in &expire {
        tx.execute(
            "UPDATE notices SET status = 'expired', updated_at = ?2 WHERE id = ?1",
            params![id, stamp(now)],
        )?;
        audit(
            tx,
            now,
            "system",
            "expire",
            *id,
            serde_json::json!({ "before": "published", "after": "expired" }),
        )?;
    }
    Ok((publish, expire))
}

/// Publishes approved notices whose validity has started and expires published ones
/// whose validity has ended; returns (published, expired) ids.
pub fn sweep(
    conn: &mut Connection,
    now: DateTime<Utc>,
) -> Result<(Vec<i64>, Vec<i64>), PublishError> {
    let tx = conn.transaction()?;
    let done = publish_due(&tx, now)?;
    tx.commit()?;
    Ok(done)
}

/// The county's sensitive-word list.
pub fn sensitive_words(conn: &Connection) -> Result<Vec<String>, PublishError> {
    Ok(conn
        .prepare("SELECT word FROM sensitive_words ORDER BY word")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Longest sensitive word, in characters.
pub const MAX_WORD_CHARS: usize = 32;
/// Most words the list may hold (every scan checks each of them).
pub const MAX_WORDS: usize = 500;

/// Adds `words` (blank ones skipped, duplicates ignored) to the sensitive-word list on
/// behalf of `actor`, audited as `sensitive_words_add` with the words added. Returns the
/// words that were new.
pub fn add_sensitive_words(
    conn: &mut Connection,
    words: &[String],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, PublishError> {
    let mut fresh: Vec<String> = Vec::new();
    for w in words.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
        if w.chars().count() > MAX_WORD_CHARS {
            return Err(PublishError::Invalid(vec![(
                "words",
                format!(
                    "“{}…”过长：每个敏感词不超过{MAX_WORD_CHARS}个字",
                    w.chars().take(8).collect::<String>()
                ),
            )]));
        }
        if !fresh.iter().any(|f| f == w) {
            fresh.push(w.to_owned());
        }
    }
    if fresh.is_empty() {
        return Err(PublishError::Invalid(vec![(
            "words",
            "请填写至少一个敏感词（每行一个）".into(),
        )]));
    }
    let tx = conn.transaction()?;
    let mut added = Vec::new();
    for w in fresh {
        let n = tx.execute(
            "INSERT OR IGNORE INTO sensitive_words (word, added_by, added_at) VALUES (?1, ?2, ?3)",
            params![w, actor, stamp(now)],
        )?;
        if n > 0 {
            added.push(w);
        }
    }
    let total: i64 = tx.query_row("SELECT count(*) FROM sensitive_words", [], |r| r.get(0))?;
    if total as usize > MAX_WORDS {
        return Err(PublishError::Invalid(vec![(
            "words",
            format!("敏感词最多{MAX_WORDS}个，请先删除不再需要的词"),
        )]));
    }
    if !added.is_empty() {
        crate::store::audit(
            &tx,
            now,
            actor,
            "sensitive_words_add",
            "sensitive_words",
            "",
            &serde_json::json!({ "added": added }),
        )?;
    }
    tx.commit()?;
    Ok(added)
}

/// Removes `word` from the sensitive-word list on behalf of `actor` (audited as
/// `sensitive_words_remove`). Returns whether it was there.
pub fn remove_sensitive_word(
    conn: &mut Connection,
    word: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<bool, PublishError> {
    let tx = conn.transaction()?;
    let n = tx.execute("DELETE FROM sensitive_words WHERE word = ?1", [word])?;
    if n > 0 {
        crate::store::audit(
            &tx,
            now,
            actor,
            "sensitive_words_remove",
            "sensitive_words",
            "",
            &serde_json::json!({ "removed": word }),
        )?;
    }
    tx.commit()?;
    Ok(n > 0)
}

/// Who may change the sensitive-word list: administrators and county-wide reviewers.
pub fn may_edit_words(user: &User) -> bool {
    user.has(Role::Admin)
        || user
            .grants
            .iter()
            .any(|g| g.role == Role::Reviewer && g.department.is_none())
}

/// What the confidentiality scan flags in a notice: in its title, body and list.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    /// Findings in the title.
    pub title: Vec<Finding>,
    /// Findings in the body.
    pub body: Vec<Finding>,
    /// Rows of the list (1-based) with what they hold; lists are masked on air by column.
    pub list: Vec<(usize, Vec<Finding>)>,
}

impl ScanReport {
    /// Number of places flagged.
    pub fn count(&self) -> usize {
        self.title.len() + self.body.len() + self.list.iter().map(|(_, f)| f.len()).sum::<usize>()
    }
}

/// Scans `form` against `words`.
pub fn scan(form: &NoticeForm, words: &[String]) -> ScanReport {
    ScanReport {
        title: mask::scan(&form.title, words),
        body: mask::scan(&form.body, words),
        list: form
            .list
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let text = format!(
                    "{} {} {} {} {}",
                    r.name, r.amount, r.id_number, r.phone, r.note
                );
                let found = mask::scan(&text, words);
                (!found.is_empty()).then_some((i + 1, found))
            })
            .collect(),
    }
}

/// A notice in a staff list.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeRow {
    /// Row id.
    pub id: i64,
    /// 标题.
    pub title: String,
    /// Kind label.
    pub kind_label: &'static str,
    /// Department name.
    pub department_name: String,
    /// State.
    pub status: NoticeStatus,
    /// State label.
    pub status_label: &'static str,
    /// Drafted by.
    pub created_by: Option<String>,
    /// Last change.
    pub updated_at: String,
}

/// Filter and page of a staff list of notices.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NoticeQuery {
    /// Words in the title.
    #[serde(default)]
    pub q: String,
    /// Only this state.
    #[serde(default)]
    pub status: String,
    /// 1-based page.
    #[serde(default)]
    pub page: Option<u32>,
}

/// Rows per page of staff lists.
pub const PAGE_ROWS: u32 = 20;

/// The notices `user` may see, newest change first: (rows on the page, total matching).
pub fn list(
    conn: &Connection,
    user: &User,
    query: &NoticeQuery,
) -> Result<(Vec<NoticeRow>, u32), PublishError> {
    let everything = user.has(Role::Admin)
        || user
            .grants
            .iter()
            .any(|g| g.role == Role::Reviewer && g.department.is_none());
    let departments: Vec<String> = user
        .grants
        .iter()
        .filter_map(|g| g.department.clone())
        .collect();
    let departments = serde_json::to_string(&departments).unwrap_or_else(|_| "[]".into());
    let status = NoticeStatus::parse(&query.status).map(|s| s.as_str());
    let like = crate::store::contains_pattern(&query.q);
    let filter = "FROM notices n JOIN departments d ON d.code = n.department
         WHERE (?1 OR n.department IN (SELECT value FROM json_each(?2)))
           AND (?3 IS NULL OR n.status = ?3)
           AND n.title LIKE ?4 ESCAPE '\\'";
    let total: u32 = conn.query_row(
        &format!("SELECT count(*) {filter}"),
        params![everything, departments, status, like],
        |r| r.get(0),
    )?;
    let page = query.page.unwrap_or(1).max(1);
    let mut stmt = conn.prepare(&format!(
        "SELECT n.id, n.title, n.kind, d.name, n.status, n.created_by, n.updated_at {filter}
         ORDER BY n.updated_at DESC, n.id DESC LIMIT ?5 OFFSET ?6"
    ))?;
    let rows = stmt
        .query_map(
            params![
                everything,
                departments,
                status,
                like,
                PAGE_ROWS,
                (page - 1) * PAGE_ROWS
            ],
            |r| {
                let kind: String = r.get(2)?;
                let status: String = r.get(4)?;
                let status = NoticeStatus::parse(&status).unwrap_or(NoticeStatus::Draft);
                Ok(NoticeRow {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    kind_label: NoticeKind::parse(&kind).map_or("", |k| k.label()),
                    department_name: r.get(3)?,
                    status,
                    status_label: status.label(),
                    created_by: r.get(5)?,
                    updated_at: r.get(6)?,
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Grant;

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO regions (code, name, level, parent) VALUES ('339901', '示范县', 'county', NULL);
             INSERT INTO departments (code, name, short_name, region) VALUES ('mzj', '示范县民政局', '民政局', '339901');
             INSERT INTO departments (code, name, short_name, region) VALUES ('jtj', '示范县交通运输局', '交通局', '339901');",
        )
        .unwrap();
        conn
    }

    fn user(name: &str, grants: &[(Role, Option<&str>)]) -> User {
        User {
            id: 1,
            name: name.into(),
            display_name: name.into(),
            must_change: false,
            grants: grants
                .iter()
                .map(|(role, d)| Grant {
                    role: *role,
                    department: d.map(str::to_owned),
                })
                .collect(),
        }
    }

    fn form() -> NoticeForm {
        NoticeForm {
            kind: "publicity".into(),
            title: "2026年度低保对象公示".into(),
            department: "mzj".into(),
            region: "339901".into(),
            valid_from: "2026-12-01".into(),
            valid_until: "2026-12-20".into(),
            priority: "normal".into(),
            body: "经审核，以下人员拟纳入低保。".into(),
            objection_start: "2026-12-01".into(),
            objection_end: "2026-12-07".into(),
            objection_contact: "县民政局社会救助科".into(),
            objection_phone: "0579-87110001".into(),
            list_title: "低保对象名单".into(),
            list: vec![ListRow {
                name: "张三明".into(),
                amount: "800元/月".into(),
                id_number: "339901195301021238".into(),
                phone: "13812345678".into(),
                note: String::new(),
            }],
            confidentiality_checked: true,
        }
    }

    fn t(day: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 12, day)
            .unwrap()
            .and_hms_opt(2, 0, 0)
            .unwrap()
            .and_utc()
    }

    #[test]
    fn a_notice_goes_from_draft_through_review_to_the_air_and_off() {
        let mut c = store();
        let editor = user("editor", &[(Role::Editor, Some("mzj"))]);
        let other_editor = user("jt", &[(Role::Editor, Some("jtj"))]);
        let reviewer = user("reviewer", &[(Role::Reviewer, Some("mzj"))]);
        let wrong_reviewer = user("jtrev", &[(Role::Reviewer, Some("jtj"))]);
        let self_reviewer = user(
            "editor",
            &[(Role::Editor, Some("mzj")), (Role::Reviewer, None)],
        );

        assert!(matches!(
            create(&mut c, &other_editor, &form(), t(1)),
            Err(PublishError::Forbidden(_))
        ));
        let mut bad = form();
        bad.title = String::new();
        bad.valid_until = "2026-11-01".into();
        let Err(PublishError::Invalid(errors)) = create(&mut c, &editor, &bad, t(1)) else {
            panic!("invalid form accepted");
        };
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["title", "valid_until"]);

        let id = create(&mut c, &editor, &form(), t(1)).unwrap();
        let got = get(&c, id).unwrap().unwrap();
        assert_eq!(got.form, form(), "stored verbatim, list included");
        assert_eq!(got.status, NoticeStatus::Draft);

        submit(&mut c, &editor, id, t(1)).unwrap();
        assert!(matches!(
            approve(&mut c, &wrong_reviewer, id, t(1)),
            Err(PublishError::Forbidden(_))
        ));
        assert!(
            matches!(
                approve(&mut c, &self_reviewer, id, t(1)),
                Err(PublishError::Forbidden(_))
            ),
            "own item"
        );
        assert!(matches!(
            send_back(&mut c, &reviewer, id, " ", t(1)),
            Err(PublishError::Invalid(_))
        ));
        send_back(&mut c, &reviewer, id, "名单缺少村别", t(1)).unwrap();
        let got = get(&c, id).unwrap().unwrap();
        assert_eq!(got.status, NoticeStatus::Returned);
        assert_eq!(got.return_reason.as_deref(), Some("名单缺少村别"));
        assert!(
            !got.form.confidentiality_checked,
            "checked again after a return"
        );
        assert!(matches!(
            submit(&mut c, &editor, id, t(2)),
            Err(PublishError::Invalid(_))
        ));

        let mut fixed = form();
        fixed.list[0].note = "城关村".into();
        update(&mut c, &editor, id, &fixed, t(2)).unwrap();
        submit(&mut c, &editor, id, t(2)).unwrap();
        assert!(matches!(
            update(&mut c, &editor, id, &fixed, t(2)),
            Err(PublishError::WrongState(_))
        ));
        assert_eq!(
            approve(&mut c, &reviewer, id, t(2)).unwrap(),
            NoticeStatus::Published
        );
        let got = get(&c, id).unwrap().unwrap();
        assert!(got.published_at.is_some());

        // The last day on air is the 20th; on the 21st it expires.
        assert_eq!(sweep(&mut c, t(20)).unwrap(), (vec![], vec![]));
        assert_eq!(sweep(&mut c, t(21)).unwrap(), (vec![], vec![id]));
        assert!(matches!(
            withdraw(&mut c, &reviewer, id, "错误", t(21)),
            Err(PublishError::WrongState(_))
        ));

        let actions: Vec<(String, String)> = c
            .prepare("SELECT actor, action FROM audit_log WHERE object_kind = 'notice' ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let actions: Vec<(&str, &str)> = actions
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("editor", "create"),
                ("editor", "submit"),
                ("reviewer", "return"),
                ("editor", "edit"),
                ("editor", "submit"),
                ("reviewer", "approve"),
                ("system", "publish"),
                ("system", "expire"),
            ]
        );
        let edit: String = c
            .query_row(
                "SELECT detail FROM audit_log WHERE action = 'edit'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            edit.contains("城关村") && edit.contains("list"),
            "before/after: {edit}"
        );
    }

    #[test]
    fn approval_before_the_first_day_waits_and_withdrawal_takes_it_off() {
        let mut c = store();
        let editor = user("editor", &[(Role::Editor, Some("mzj"))]);
        let chief = user("chief", &[(Role::Reviewer, None)]);
        let mut f = form();
        f.valid_from = "2026-12-10".into();
        let id = create(&mut c, &editor, &f, t(1)).unwrap();
        submit(&mut c, &editor, id, t(1)).unwrap();
        assert_eq!(
            approve(&mut c, &chief, id, t(1)).unwrap(),
            NoticeStatus::Approved
        );
        assert_eq!(sweep(&mut c, t(9)).unwrap(), (vec![], vec![]));
        assert_eq!(sweep(&mut c, t(10)).unwrap(), (vec![id], vec![]));
        assert!(matches!(
            withdraw(&mut c, &editor, id, "x", t(11)),
            Err(PublishError::Forbidden(_))
        ));
        withdraw(&mut c, &chief, id, "政策调整", t(11)).unwrap();
        assert_eq!(
            get(&c, id).unwrap().unwrap().status,
            NoticeStatus::Withdrawn
        );
        // Visible to the county reviewer and the department's editor, not to others.
        let q = NoticeQuery::default();
        assert_eq!(list(&c, &chief, &q).unwrap().1, 1);
        assert_eq!(list(&c, &editor, &q).unwrap().1, 1);
        assert_eq!(
            list(&c, &user("jt", &[(Role::Editor, Some("jtj"))]), &q)
                .unwrap()
                .1,
            0
        );
        let q = NoticeQuery {
            q: "低保_".into(),
            ..NoticeQuery::default()
        };
        assert_eq!(
            list(&c, &chief, &q).unwrap().1,
            0,
            "LIKE wildcards are literal"
        );
    }

    #[test]
    fn the_scan_finds_personal_data_in_the_list_and_words_in_the_body() {
        let mut f = form();
        f.body.push_str("本件为内部资料。");
        let report = scan(&f, &["内部资料".to_owned()]);
        assert_eq!(report.body.len(), 1);
        assert_eq!(report.list.len(), 1);
        assert_eq!(report.list[0].1.len(), 2, "ID and mobile");
        assert_eq!(report.count(), 3);
    }
}
