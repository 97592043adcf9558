//! Polls (民意调查) and cases (办件) for staff: creating and closing polls, their results,
//! and browsing cases with search. Operators and administrators manage polls; cases are
//! read-only here (they arrive from the platform's exports).
//!
//! Plain functions over a connection, run on the store's thread.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::content::CaseStatus;
use crate::store::{stamp, StoreError};

/// Most options a poll has (the remote's digits 1–9).
pub const MAX_OPTIONS: usize = 9;

/// What staff fill in for a new poll.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PollForm {
    /// The question.
    pub question: String,
    /// Region code it is asked in.
    pub region: String,
    /// First day of voting, YYYY-MM-DD.
    pub opens_on: String,
    /// Last day of voting.
    pub closes_on: String,
    /// The options, 2–9.
    pub options: Vec<String>,
}

/// A poll with its results.
#[derive(Debug, Clone, Serialize)]
pub struct PollRow {
    /// Row id.
    pub id: i64,
    /// The question.
    pub question: String,
    /// Region's name.
    pub region_name: String,
    /// First day.
    pub opens_on: String,
    /// Last day.
    pub closes_on: String,
    /// When staff closed it early.
    pub closed_at: Option<String>,
    /// 进行中, 未开始, 已结束.
    pub state: &'static str,
    /// (label, votes) in order.
    pub options: Vec<(String, i64)>,
    /// Votes in all.
    pub total: i64,
}

/// Checks `form`: (field, Chinese message) for each problem.
pub fn validate(
    conn: &Connection,
    form: &PollForm,
) -> Result<Vec<(&'static str, String)>, StoreError> {
    let mut errors = Vec::new();
    let q = form.question.trim();
    if q.is_empty() || q.chars().count() > 100 {
        errors.push(("question", "请填写问题（不超过100个字）".to_owned()));
    }
    let known: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM regions WHERE code = ?1)",
        [&form.region],
        |r| r.get(0),
    )?;
    if !known {
        errors.push(("region", "请选择地区".to_owned()));
    }
    let day = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    match (day(&form.opens_on), day(&form.closes_on)) {
        (Some(o), Some(c)) if c < o => {
            errors.push(("closes_on", "截止日期不能早于开始日期".to_owned()))
        }
        (Some(_), Some(_)) => {}
        (o, c) => {
            if o.is_none() {
                errors.push((
                    "opens_on",
                    "开始日期格式不正确，应为 2026-12-05 这样的日期".to_owned(),
                ));
            }
            if c.is_none() {
                errors.push((
                    "closes_on",
                    "截止日期格式不正确，应为 2026-12-05 这样的日期".to_owned(),
                ));
            }
        }
    }
    let options: Vec<&str> = form
        .options
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if options.len() < 2 || options.len() > MAX_OPTIONS {
        errors.push(("options", format!("选项需要2到{MAX_OPTIONS}个，每行一个")));
    } else if options.iter().any(|o| o.chars().count() > 40) {
        errors.push(("options", "每个选项不超过40个字".to_owned()));
    }
    Ok(errors)
}

/// An audit record about poll `id`.
fn audit(
    conn: &Connection,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    id: i64,
    detail: serde_json::Value,
) -> Result<(), rusqlite::Error> {
    crate::store::audit(conn, now, actor, action, "poll", &id.to_string(), &detail)
}

/// Creates a poll (validated by the caller with [`validate`]); returns its id.
pub fn create_poll(
    conn: &mut Connection,
    actor: &str,
    form: &PollForm,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO polls (question, region, opens_on, closes_on, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![form.question.trim(), form.region, form.opens_on.trim(), form.closes_on.trim(), actor],
    )?;
    let id = tx.last_insert_rowid();
    let options: Vec<&str> = form
        .options
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    for (i, label) in options.iter().enumerate() {
        tx.execute(
            "INSERT INTO poll_options (poll_id, seq, label) VALUES (?1, ?2, ?3)",
            params![id, i as i64 + 1, label],
        )?;
    }
    audit(
        &tx,
        now,
        actor,
        "poll_create",
        id,
        serde_json::json!({ "after": form }),
    )?;
    tx.commit()?;
    Ok(id)
}

/// Closes poll `id` now (no more votes); false when there is no such open poll.
pub fn close_poll(
    conn: &Connection,
    actor: &str,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let closed = conn.execute(
        "UPDATE polls SET closed_at = ?2 WHERE id = ?1 AND closed_at IS NULL",
        params![id, stamp(now)],
    )? > 0;
    if closed {
        audit(conn, now, actor, "poll_close", id, serde_json::json!({}))?;
    }
    Ok(closed)
}

/// Every poll, newest first, with results as of `today`.
pub fn polls(conn: &Connection, today: NaiveDate) -> Result<Vec<PollRow>, StoreError> {
    let today = today.to_string();
    let mut stmt = conn.prepare(
        "SELECT p.id, p.question, r.name, p.opens_on, p.closes_on, p.closed_at
         FROM polls p JOIN regions r ON r.code = p.region ORDER BY p.opens_on DESC, p.id DESC",
    )?;
    let rows: Vec<PollRow> = stmt
        .query_map([], |r| {
            let opens: String = r.get(3)?;
            let closes: String = r.get(4)?;
            let closed_at: Option<String> = r.get(5)?;
            let state = if closed_at.is_some() || closes < today {
                "已结束"
            } else if opens > today {
                "未开始"
            } else {
                "进行中"
            };
            Ok(PollRow {
                id: r.get(0)?,
                question: r.get(1)?,
                region_name: r.get(2)?,
                opens_on: opens,
                closes_on: closes,
                closed_at,
                state,
                options: Vec::new(),
                total: 0,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    let mut options =
        conn.prepare("SELECT label, votes FROM poll_options WHERE poll_id = ?1 ORDER BY seq")?;
    for mut row in rows {
        row.options = options
            .query_map([row.id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        row.total = row.options.iter().map(|(_, v)| v).sum();
        out.push(row);
    }
    Ok(out)
}

/// Poll `id`, if it exists.
pub fn poll(conn: &Connection, id: i64, today: NaiveDate) -> Result<Option<PollRow>, StoreError> {
    Ok(polls(conn, today)?.into_iter().find(|p| p.id == id))
}

/// A case as staff browse it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    /// 办件编号.
    pub case_no: String,
    /// 事项.
    pub item_title: String,
    /// Department code.
    pub department: String,
    /// Department name.
    pub department_name: String,
    /// Applicant: whole for the department's staff, masked for others.
    pub applicant: String,
    /// Received.
    pub received_on: String,
    /// Due.
    pub due_on: String,
    /// Completed.
    pub completed_on: Option<String>,
    /// Status label.
    pub status_label: &'static str,
    /// Overdue: not completed and past its due date.
    pub overdue: bool,
}

/// Filter of the case list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CaseQuery {
    /// Case number, item or applicant contains.
    #[serde(default)]
    pub q: String,
    /// Only this status.
    #[serde(default)]
    pub status: String,
    /// 1-based page.
    #[serde(default)]
    pub page: Option<u32>,
}

/// Rows per page.
pub const PAGE_ROWS: u32 = 30;

/// Cases matching `q`, newest first: (rows on the page, total). Applicants are shown
/// whole only where `sees_applicant(department)`.
pub fn cases(
    conn: &Connection,
    q: &CaseQuery,
    today: NaiveDate,
    sees_applicant: impl Fn(&str) -> bool,
) -> Result<(Vec<CaseRow>, u32), StoreError> {
    let like = crate::store::contains_pattern(&q.q);
    let status = CaseStatus::parse(&q.status).map(|s| s.as_str());
    let filter = "FROM cases c JOIN departments d ON d.code = c.department
         WHERE (?1 IS NULL OR c.status = ?1)
           AND (c.case_no LIKE ?2 ESCAPE '\\' OR c.item_title LIKE ?2 ESCAPE '\\' OR c.applicant LIKE ?2 ESCAPE '\\')";
    let total: u32 = conn.query_row(
        &format!("SELECT count(*) {filter}"),
        params![status, like],
        |r| r.get(0),
    )?;
    let page = q.page.unwrap_or(1).max(1);
    let today = today.to_string();
    let mut stmt = conn.prepare(&format!(
        "SELECT c.case_no, c.item_title, c.department, d.name, c.applicant, c.received_on, c.due_on,
                c.completed_on, c.status {filter}
         ORDER BY c.received_on DESC, c.id DESC LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt
        .query_map(
            params![status, like, PAGE_ROWS, (page - 1) * PAGE_ROWS],
            |r| {
                let department: String = r.get(2)?;
                let applicant: String = r.get(4)?;
                let due_on: String = r.get(6)?;
                let completed_on: Option<String> = r.get(7)?;
                let status: String = r.get(8)?;
                let status = CaseStatus::parse(&status);
                Ok(CaseRow {
                    case_no: r.get(0)?,
                    item_title: r.get(1)?,
                    applicant: if sees_applicant(&department) {
                        applicant
                    } else {
                        crate::mask::party(&applicant)
                    },
                    department,
                    department_name: r.get(3)?,
                    received_on: r.get(5)?,
                    overdue: completed_on.is_none()
                        && due_on < today
                        && status.is_some_and(|s| {
                            matches!(
                                s,
                                CaseStatus::Accepted
                                    | CaseStatus::InProgress
                                    | CaseStatus::AwaitingMaterials
                            )
                        }),
                    due_on,
                    completed_on,
                    status_label: status.map_or("未知", |s| s.label()),
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

/// Whether poll `id` exists.
pub fn poll_exists(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .query_row("SELECT 1 FROM polls WHERE id = ?1", [id], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_are_created_closed_and_counted() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::migrate(&mut c).unwrap();
        c.execute_batch("INSERT INTO regions (code, name, level, parent) VALUES ('339901', '示范县', 'county', NULL);")
            .unwrap();
        let now = Utc::now();
        let today = crate::content::county_today();
        let mut form = PollForm {
            question: "村里最需要修的是？".into(),
            region: "339901".into(),
            opens_on: today.to_string(),
            closes_on: "2026-01-01".into(),
            options: vec!["道路".into(), " ".into()],
        };
        let errors = validate(&c, &form).unwrap();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["closes_on", "options"]);
        form.closes_on = (today + chrono::Duration::days(7)).to_string();
        form.options.push("路灯".into());
        assert!(validate(&c, &form).unwrap().is_empty());
        let id = create_poll(&mut c, "operator", &form, now).unwrap();
        c.execute(
            "UPDATE poll_options SET votes = 3 WHERE poll_id = ?1 AND seq = 2",
            [id],
        )
        .unwrap();
        let p = poll(&c, id, today).unwrap().unwrap();
        assert_eq!(
            (p.state, p.total, p.options.len()),
            ("进行中", 3, 2),
            "the blank option is dropped"
        );
        // Open on air until closed.
        let open = crate::pages::open_polls(&c, "339901", today).unwrap();
        assert_eq!(open.len(), 1);
        assert!(close_poll(&c, "operator", id, now).unwrap());
        assert!(!close_poll(&c, "operator", id, now).unwrap(), "closed once");
        assert_eq!(poll(&c, id, today).unwrap().unwrap().state, "已结束");
        assert!(crate::pages::open_polls(&c, "339901", today)
            .unwrap()
            .is_empty());
    }
}
