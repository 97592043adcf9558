//! Openness (政务公开) statistics: which catalogue entries are overdue for their required
//! update (更新频率), and a scorecard per department computed by published rules
//! ([`RULES`]), so that staff see how each score came about.
//!
//! Plain functions over a connection, run on the store's thread.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::content::{CatalogueKind, UpdateFrequency};
use crate::store::{stamp, StoreError};

/// Days an entry may go without an update before it is overdue; `None`: only when it changes.
pub fn allowed_days(f: UpdateFrequency) -> Option<i64> {
    match f {
        UpdateFrequency::Monthly => Some(31),
        UpdateFrequency::Quarterly => Some(92),
        UpdateFrequency::HalfYearly => Some(183),
        UpdateFrequency::Yearly => Some(366),
        UpdateFrequency::OnChange => None,
    }
}

/// The scoring rules as staff read them, shown beside every score.
pub const RULES: &[&str] = &[
    "满分100分，按统计期（默认最近90天）计算，最低0分。",
    "目录逾期：每有1条政务公开目录超过其更新频率未更新，扣5分，最多扣40分（每月更新31天、每季度92天、每半年183天、每年366天；“变动时更新”不计逾期）。",
    "发布频率：统计期内每满30天没有发布任何通知公告，扣10分，最多扣30分。",
    "退回修改：统计期内每有1条信息被审核退回，扣2分，最多扣20分。",
    "审核时效：统计期内平均审核用时超过3天，扣10分。",
    "采集拒收：统计期内本单位的采集来源每有1条内容因不合格被拒收（如正文为空或为占位内容、缺少必填项），扣1分，最多扣10分。",
];

/// A catalogue entry as the maintenance list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EntryRow {
    /// Row id.
    pub id: i64,
    /// 索引号.
    pub index_no: String,
    /// 标题.
    pub title: String,
    /// Kind label.
    pub kind_label: &'static str,
    /// Department code.
    pub department: String,
    /// Department name.
    pub department_name: String,
    /// Stored frequency name.
    pub update_frequency: String,
    /// Its label.
    pub frequency_label: &'static str,
    /// Last update (RFC 3339).
    pub updated_at: String,
    /// Days past the allowed interval (0: not overdue).
    pub overdue_days: i64,
}

/// Filter of the catalogue list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EntryQuery {
    /// Words in the title or index number.
    #[serde(default)]
    pub q: String,
    /// Only this department.
    #[serde(default)]
    pub department: String,
    /// Only overdue entries (`1`).
    #[serde(default)]
    pub overdue: String,
    /// 1-based page.
    #[serde(default)]
    pub page: Option<u32>,
}

/// Rows per page.
pub const PAGE_ROWS: u32 = 30;

fn days_overdue(frequency: &str, updated_at: &str, now: DateTime<Utc>) -> i64 {
    let Some(allowed) = UpdateFrequency::parse(frequency).and_then(allowed_days) else {
        return 0;
    };
    let Ok(updated) = DateTime::parse_from_rfc3339(updated_at) else {
        // An unreadable stamp counts as never updated.
        return allowed;
    };
    let age = now
        .signed_duration_since(updated.with_timezone(&Utc))
        .num_days();
    (age - allowed).max(0)
}

/// Catalogue entries matching `q` within `departments` (`None`: every department),
/// most overdue first: (rows on the page, total matching).
pub fn entries(
    conn: &Connection,
    departments: Option<&[String]>,
    q: &EntryQuery,
    now: DateTime<Utc>,
) -> Result<(Vec<EntryRow>, u32), StoreError> {
    let scope = departments.map(|d| serde_json::to_string(d).unwrap_or_else(|_| "[]".into()));
    let like = crate::store::contains_pattern(&q.q);
    let mut stmt = conn.prepare(
        "SELECT e.id, e.index_no, e.title, e.kind, e.department, d.name, e.update_frequency, e.updated_at
         FROM catalogue_entries e JOIN departments d ON d.code = e.department
         WHERE (?1 IS NULL OR e.department IN (SELECT value FROM json_each(?1)))
           AND (?2 = '' OR e.department = ?2)
           AND (e.title LIKE ?3 ESCAPE '\\' OR e.index_no LIKE ?3 ESCAPE '\\')",
    )?;
    let mut rows: Vec<EntryRow> = stmt
        .query_map(params![scope, q.department.trim(), like], |r| {
            let kind: String = r.get(3)?;
            let frequency: String = r.get(6)?;
            let updated_at: String = r.get(7)?;
            Ok(EntryRow {
                id: r.get(0)?,
                index_no: r.get(1)?,
                title: r.get(2)?,
                kind_label: CatalogueKind::parse(&kind).map_or("", |k| k.label()),
                department: r.get(4)?,
                department_name: r.get(5)?,
                frequency_label: UpdateFrequency::parse(&frequency).map_or("", |f| f.label()),
                overdue_days: days_overdue(&frequency, &updated_at, now),
                update_frequency: frequency,
                updated_at,
            })
        })?
        .collect::<Result<_, _>>()?;
    if q.overdue == "1" {
        rows.retain(|r| r.overdue_days > 0);
    }
    rows.sort_by(|a, b| {
        b.overdue_days
            .cmp(&a.overdue_days)
            .then(a.index_no.cmp(&b.index_no))
    });
    let total = rows.len() as u32;
    let page = q.page.unwrap_or(1).max(1);
    let rows = rows
        .into_iter()
        .skip(((page - 1) * PAGE_ROWS) as usize)
        .take(PAGE_ROWS as usize)
        .collect();
    Ok((rows, total))
}

/// The department of entry `id`, if it exists.
pub fn entry_department(conn: &Connection, id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT department FROM catalogue_entries WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Records that entry `id` was checked and is current (its update clock restarts), and,
/// when given, its new required update frequency; audited with before and after.
pub fn confirm_entry(
    conn: &mut Connection,
    actor: &str,
    id: i64,
    frequency: Option<UpdateFrequency>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let (before_frequency, before_updated): (String, String) = tx.query_row(
        "SELECT update_frequency, updated_at FROM catalogue_entries WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let after_frequency = frequency.map_or(before_frequency.clone(), |f| f.as_str().to_owned());
    tx.execute(
        "UPDATE catalogue_entries SET update_frequency = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, after_frequency, stamp(now)],
    )?;
    crate::store::audit(
        &tx,
        now,
        actor,
        "catalogue_confirm",
        "catalogue_entry",
        &id.to_string(),
        &serde_json::json!({
            "update_frequency": [before_frequency, after_frequency],
            "updated_at": [before_updated, stamp(now)],
        }),
    )?;
    tx.commit()?;
    Ok(())
}

/// One department's line of the scorecard.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    /// Department code.
    pub department: String,
    /// Its name.
    pub name: String,
    /// Notices published in the period.
    pub published: i64,
    /// Catalogue entries overdue now, and entries in all.
    pub overdue: i64,
    /// Catalogue entries.
    pub entries: i64,
    /// Items returned by reviewers in the period.
    pub returned: i64,
    /// Items withdrawn in the period.
    pub withdrawn: i64,
    /// Items the department's ingest sources sent that were rejected (not stored) in
    /// the period.
    pub rejected: i64,
    /// Average days from submission to review, over items reviewed in the period.
    pub average_review_days: Option<f64>,
    /// Whole 30-day stretches of the period without a publication.
    pub silent_months: i64,
    /// The score, 0–100.
    pub score: i64,
    /// How the score came about: each deduction with its reason (Chinese).
    pub deductions: Vec<String>,
}

/// The scorecard of every department over the `days` before `now`, worst first.
pub fn scorecard(
    conn: &Connection,
    days: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Score>, StoreError> {
    let since = now - Duration::days(days);
    let since_text = stamp(since);
    let departments: Vec<(String, String)> = conn
        .prepare("SELECT code, name FROM departments ORDER BY rowid")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(departments.len());
    for (code, name) in departments {
        let entries: Vec<(String, String)> = conn
            .prepare(
                "SELECT update_frequency, updated_at FROM catalogue_entries WHERE department = ?1",
            )?
            .query_map([&code], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let overdue = entries
            .iter()
            .filter(|(f, u)| days_overdue(f, u, now) > 0)
            .count() as i64;
        // Publication times are stored with the county's offset; compare as instants.
        let published_at: Vec<String> = conn
            .prepare("SELECT published_at FROM notices WHERE department = ?1 AND published_at IS NOT NULL")?
            .query_map([&code], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut times: Vec<DateTime<Utc>> = published_at
            .iter()
            .filter_map(|t| {
                DateTime::parse_from_rfc3339(t)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            })
            .filter(|t| *t >= since && *t <= now)
            .collect();
        times.sort();
        let published = times.len() as i64;
        // 30-day stretches without a publication: gaps between period start, each
        // publication and now.
        let mut silent_months = 0;
        let mut last = since;
        for t in times.iter().chain(std::iter::once(&now)) {
            silent_months += t.signed_duration_since(last).num_days() / 30;
            last = *t;
        }
        let count = |sql: &str| -> Result<i64, rusqlite::Error> {
            conn.query_row(sql, params![code, since_text], |r| r.get(0))
        };
        let returned = count(
            "SELECT count(*) FROM audit_log a JOIN notices n ON a.object_kind = 'notice' AND a.object_id = CAST(n.id AS TEXT)
             WHERE n.department = ?1 AND a.action = 'return' AND a.at >= ?2",
        )?;
        let withdrawn = count(
            "SELECT count(*) FROM audit_log a JOIN notices n ON a.object_kind = 'notice' AND a.object_id = CAST(n.id AS TEXT)
             WHERE n.department = ?1 AND a.action = 'withdraw' AND a.at >= ?2",
        )?;
        // Rejections are stamped with the county's offset; compare as instants.
        let rejected_at: Vec<String> = conn
            .prepare(
                "SELECT r.last_at FROM ingest_rejections r JOIN sources s ON s.name = r.source
                 WHERE s.department = ?1",
            )?
            .query_map([&code], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let rejected = rejected_at
            .iter()
            .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
            .filter(|t| t.with_timezone(&Utc) >= since)
            .count() as i64;
        let reviews: Vec<(String, String)> = conn
            .prepare(
                "SELECT submitted_at, reviewed_at FROM notices
                 WHERE department = ?1 AND reviewed_at >= ?2 AND submitted_at IS NOT NULL",
            )?
            .query_map(params![code, since_text], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let spans: Vec<f64> = reviews
            .iter()
            .filter_map(|(s, r)| {
                let s = DateTime::parse_from_rfc3339(s).ok()?;
                let r = DateTime::parse_from_rfc3339(r).ok()?;
                Some(r.signed_duration_since(s).num_seconds().max(0) as f64 / 86_400.0)
            })
            .collect();
        let average_review_days =
            (!spans.is_empty()).then(|| spans.iter().sum::<f64>() / spans.len() as f64);
        let mut deductions = Vec::new();
        let mut score = 100;
        let mut deduct = |points: i64, why: String| {
            if points > 0 {
                score -= points;
                deductions.push(format!("−{points}：{why}"));
            }
        };
        deduct((overdue * 5).min(40), format!("{overdue}条目录逾期未更新"));
        deduct(
            (silent_months * 10).min(30),
            format!("{silent_months}个30天内没有发布信息"),
        );
        deduct(
            (returned * 2).min(20),
            format!("{returned}条信息被退回修改"),
        );
        if average_review_days.is_some_and(|d| d > 3.0) {
            deduct(10, "平均审核用时超过3天".to_owned());
        }
        deduct(
            rejected.min(10),
            format!("{rejected}条采集内容因不合格被拒收"),
        );
        out.push(Score {
            department: code,
            name,
            published,
            overdue,
            entries: entries.len() as i64,
            returned,
            withdrawn,
            rejected,
            average_review_days,
            silent_months,
            score: score.max(0),
            deductions,
        });
    }
    out.sort_by(|a, b| a.score.cmp(&b.score).then(a.department.cmp(&b.department)));
    Ok(out)
}

/// The first day of the period `days` before `now`, for headings.
pub fn period_start(days: i64, now: DateTime<Utc>) -> NaiveDate {
    (now - Duration::days(days))
        .with_timezone(&crate::content::county_offset())
        .date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO regions (code, name, level, parent) VALUES ('339901', '示范县', 'county', NULL);
             INSERT INTO departments (code, name, short_name, region) VALUES ('mzj', '示范县民政局', '民政局', '339901');
             INSERT INTO departments (code, name, short_name, region) VALUES ('jtj', '示范县交通运输局', '交通局', '339901');
             INSERT INTO subjects (code, name) VALUES ('s', '社会保障');
             INSERT INTO catalogue_entries (index_no, kind, title, department, issued_on, subject, update_frequency, updated_at)
               VALUES ('A1', 'disclosure', '低保标准', 'mzj', '2026-01-01', 's', 'monthly', '2026-10-01T00:00:00Z'),
                      ('A2', 'disclosure', '机构职能', 'mzj', '2026-01-01', 's', 'yearly', '2026-10-01T00:00:00Z'),
                      ('A3', 'disclosure', '政策解读', 'mzj', '2026-01-01', 's', 'on_change', '2020-01-01T00:00:00Z'),
                      ('B1', 'disclosure', '道路养护', 'jtj', '2026-01-01', 's', 'quarterly', '2026-11-20T00:00:00Z');
             INSERT INTO notices (kind, title, department, region, published_at, valid_from, priority, status, body, created_at, updated_at, submitted_at, reviewed_at)
               VALUES ('notice', '通知', 'jtj', '339901', '2026-11-25T10:00:00+08:00', '2026-11-25', 'normal', 'published', '正文',
                       '2026-11-20T00:00:00Z', '2026-11-25T02:00:00Z', '2026-11-20T02:00:00Z', '2026-11-25T02:00:00Z');
             INSERT INTO sources (name, url, kind, department, origin, created_at, updated_at)
               VALUES ('jtj-feed', '/srv/jtj.xml', 'notices', 'jtj', 'api', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z');
             INSERT INTO ingest_rejections (source, item_key, title, code, reason, first_at, last_at)
               VALUES ('jtj-feed', 'g1', '暂无', 'placeholder_body', '正文为空或为占位内容“暂无”', '2026-12-01T09:00:00.000+08:00', '2026-12-01T09:00:00.000+08:00'),
                      ('jtj-feed', 'g2', '旧稿', 'placeholder_body', '正文为空', '2026-01-01T09:00:00.000+08:00', '2026-01-01T09:00:00.000+08:00');",
        )
        .unwrap();
        conn
    }

    #[test]
    fn overdue_entries_and_scores_follow_the_published_rules() {
        let mut c = store();
        let now = DateTime::parse_from_rfc3339("2026-12-05T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (rows, total) = entries(
            &c,
            None,
            &EntryQuery {
                overdue: "1".into(),
                ..EntryQuery::default()
            },
            now,
        )
        .unwrap();
        assert_eq!(
            total, 1,
            "only the monthly entry is overdue (on_change never is)"
        );
        assert_eq!(
            (rows[0].index_no.as_str(), rows[0].overdue_days),
            ("A1", 34)
        );
        let cards = scorecard(&c, 90, now).unwrap();
        let mzj = cards.iter().find(|s| s.department == "mzj").unwrap();
        // 1 overdue entry (−5) and three silent 30-day stretches in 90 days (−30).
        assert_eq!(
            (mzj.overdue, mzj.silent_months, mzj.score),
            (1, 3, 65),
            "{mzj:?}"
        );
        assert_eq!(mzj.deductions.len(), 2);
        let jtj = cards.iter().find(|s| s.department == "jtj").unwrap();
        // One publication 10 days ago: the 80 days before it hold two silent stretches;
        // reviewed 5 days after submission (−10).
        assert_eq!((jtj.published, jtj.silent_months), (1, 2), "{jtj:?}");
        assert!(jtj.average_review_days.unwrap() > 4.9);
        // One rejection in the period (the other is older): −1.
        assert_eq!(jtj.rejected, 1, "{jtj:?}");
        assert_eq!(jtj.score, 100 - 20 - 10 - 1);
        assert_eq!(cards[0].department, "mzj", "worst first");
        // Confirming the entry restarts its clock, audited.
        let id: i64 = c
            .query_row(
                "SELECT id FROM catalogue_entries WHERE index_no = 'A1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        confirm_entry(&mut c, "editor", id, Some(UpdateFrequency::Quarterly), now).unwrap();
        let (_, total) = entries(
            &c,
            None,
            &EntryQuery {
                overdue: "1".into(),
                ..EntryQuery::default()
            },
            now,
        )
        .unwrap();
        assert_eq!(total, 0);
        let detail: String = c
            .query_row(
                "SELECT detail FROM audit_log WHERE action = 'catalogue_confirm'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            detail.contains("monthly") && detail.contains("quarterly"),
            "{detail}"
        );
        // Scoped to departments.
        let (_, total) =
            entries(&c, Some(&["jtj".to_owned()]), &EntryQuery::default(), now).unwrap();
        assert_eq!(total, 1);
    }
}
