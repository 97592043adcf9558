//! Applying a parsed document to the store, in one transaction: resolve publishing
//! bodies, subjects and catalogue items; reject duplicates and taken keys; insert new
//! items, update changed ones in place, leave unchanged ones alone; flag what the source no
//! longer lists; record every rejection with its reason; audit every write.
//!
//! Items are keyed by (source, source id). A SHA-256 of the fields an item is written from
//! (`source_hash`) decides unchanged vs updated, so re-reading an unchanged document writes
//! nothing and staff edits to fields the source does not carry survive.
//!
//! Review before publishing: an untrusted source's new notices arrive `submitted`; when
//! one of its notices changes after review (`approved`, `published`, `returned`) it goes
//! back to `submitted`, because the new text has not been reviewed. A trusted source's
//! notices are `published`. Notices staff withdrew (or that expired) keep that status.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use serde_json::json;

use super::export::{CaseItem, CatalogueItem};
use super::feed::{NoticeItem, Parsed};
use super::lint::{Reason, Rejection};
use super::source::SourceSpec;
use crate::content::{county_offset, CaseStatus, NoticeKind, NoticeStatus};
use crate::store::StoreError;

/// Why a whole pass could not be applied (nothing was written).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The source's default publishing body is not in the store.
    #[error("the source's default department {0:?} is not in the store")]
    UnknownDepartment(String),
    /// The source's region is not in the store.
    #[error("the source's region {0:?} is not in the store")]
    UnknownRegion(String),
    /// Notices need a region and the store has no county yet.
    #[error("the store holds no county region to address notices to: set the county up with `headend init --county CODE NAME` (or load the demo with `headend serve`)")]
    NoCounty,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ApplyError {
    fn from(e: rusqlite::Error) -> Self {
        ApplyError::Store(StoreError::Sqlite(e))
    }
}

impl ApplyError {
    /// A short Chinese description for staff.
    pub fn zh(&self) -> String {
        match self {
            ApplyError::UnknownDepartment(d) => {
                format!("来源设置的默认发布机构“{d}”不在机构名录中")
            }
            ApplyError::UnknownRegion(r) => format!("来源设置的区域“{r}”不存在"),
            ApplyError::NoCounty => "数据库中还没有县域数据，无法确定通知的发布区域".to_owned(),
            ApplyError::Store(_) => "写入数据库失败".to_owned(),
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    /// New items stored.
    pub added: usize,
    /// Stored items changed in place (or back from missing).
    pub updated: usize,
    /// Stored items the document repeats unchanged.
    pub unchanged: usize,
    /// Items rejected or held back, with reasons.
    pub rejected: usize,
    /// Stored items the document no longer lists, flagged this pass.
    pub missing: usize,
    /// The rejections.
    pub rejections: Vec<Rejection>,
}

impl PassReport {
    /// The counts without the rejection list, as stored in `sources.last_report`.
    pub fn counts(&self) -> serde_json::Value {
        json!({
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "missing": self.missing,
        })
    }
}

/// Content timestamps: RFC 3339 in county time, to the second.
fn stamp(t: DateTime<Utc>) -> String {
    t.with_timezone(&county_offset())
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn content_hash(value: &serde_json::Value) -> String {
    // serde_json's map is ordered by key, so the text (and hash) is stable.
    crate::digest::sha256_hex(&value.to_string())
}

/// Lookups a pass needs, read once at its start.
struct Context {
    departments: HashMap<String, String>,
    department_codes: HashSet<String>,
    subjects: HashMap<String, String>,
    audiences: HashMap<String, String>,
    regions: HashSet<String>,
    county: Option<String>,
}

fn pairs(tx: &Transaction<'_>, sql: &str) -> Result<Vec<Vec<String>>, rusqlite::Error> {
    let mut stmt = tx.prepare(sql)?;
    let n = stmt.column_count();
    let rows = stmt.query_map([], |r| (0..n).map(|i| r.get::<_, String>(i)).collect())?;
    rows.collect()
}

impl Context {
    fn load(tx: &Transaction<'_>) -> Result<Context, rusqlite::Error> {
        let mut departments = HashMap::new();
        let mut department_codes = HashSet::new();
        for row in pairs(
            tx,
            "SELECT code, name, short_name FROM departments ORDER BY code",
        )? {
            department_codes.insert(row[0].clone());
            for key in &row {
                departments
                    .entry(key.trim().to_owned())
                    .or_insert_with(|| row[0].clone());
            }
        }
        let mut subjects = HashMap::new();
        for row in pairs(tx, "SELECT code, name FROM subjects ORDER BY code")? {
            for key in &row {
                subjects
                    .entry(key.trim().to_owned())
                    .or_insert_with(|| row[0].clone());
            }
        }
        let mut audiences = HashMap::new();
        for row in pairs(tx, "SELECT code, name FROM audiences ORDER BY code")? {
            for key in &row {
                audiences
                    .entry(key.trim().to_owned())
                    .or_insert_with(|| row[0].clone());
            }
        }
        let regions = pairs(tx, "SELECT code FROM regions")?
            .into_iter()
            .filter_map(|mut r| r.pop())
            .collect();
        let county = tx
            .query_row(
                "SELECT code FROM regions WHERE level = 'county' ORDER BY code LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(Context {
            departments,
            department_codes,
            subjects,
            audiences,
            regions,
            county,
        })
    }

    fn department(&self, name: &str) -> Option<String> {
        let compact: String = name.chars().filter(|c| !c.is_whitespace()).collect();
        self.departments
            .get(name.trim())
            .or_else(|| self.departments.get(&compact))
            .cloned()
    }

    /// Checks the source's own defaults before anything is written.
    fn check_spec(&self, spec: &SourceSpec) -> Result<(), ApplyError> {
        if let Some(d) = &spec.department {
            if !self.department_codes.contains(d) {
                return Err(ApplyError::UnknownDepartment(d.clone()));
            }
        }
        if let Some(r) = &spec.region {
            if !self.regions.contains(r) {
                return Err(ApplyError::UnknownRegion(r.clone()));
            }
        }
        Ok(())
    }

    /// The department an item is attributed to: the one it names if that is known, else
    /// the source's default. `strict`: an item naming an unknown body is rejected rather
    /// than attributed to the default (exports name bodies in a dedicated column; feed
    /// authors are often a person's name).
    fn attribute(
        &self,
        named: Option<&str>,
        spec: &SourceSpec,
        strict: bool,
    ) -> Result<String, Reason> {
        if let Some(n) = named {
            if let Some(code) = self.department(n) {
                return Ok(code);
            }
            if strict {
                return Err(Reason::UnknownPublisher(n.to_owned()));
            }
            // It named a body we do not know and there is no default: say which.
            return spec
                .department
                .clone()
                .ok_or_else(|| Reason::UnknownPublisher(n.to_owned()));
        }
        spec.department.clone().ok_or(Reason::NoPublisher)
    }
}

/// Writes one audit record as `ingest:<source>`.
fn audit(
    tx: &Transaction<'_>,
    spec: &SourceSpec,
    now: &str,
    action: &str,
    kind: &str,
    id: i64,
    detail: serde_json::Value,
) -> Result<(), rusqlite::Error> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, object_kind, object_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            now,
            spec.name.actor(),
            action,
            kind,
            id.to_string(),
            detail.to_string()
        ],
    )?;
    Ok(())
}

/// A row whose content is unchanged: counted as unchanged, or, when it had been flagged
/// missing from the source, unflagged (audit-logged) and counted as updated. `touch` also
/// sets its `updated_at`.
#[allow(clippy::too_many_arguments)]
fn unchanged_or_reappeared(
    tx: &Transaction<'_>,
    spec: &SourceSpec,
    now: &str,
    (table, kind, touch): (&str, &str, bool),
    id: i64,
    missing: bool,
    source_id: &str,
    report: &mut PassReport,
) -> Result<(), rusqlite::Error> {
    if !missing {
        report.unchanged += 1;
        return Ok(());
    }
    if touch {
        tx.execute(
            &format!("UPDATE {table} SET missing_from_source = 0, updated_at = ?2 WHERE id = ?1"),
            params![id, now],
        )?;
    } else {
        tx.execute(
            &format!("UPDATE {table} SET missing_from_source = 0 WHERE id = ?1"),
            [id],
        )?;
    }
    audit(
        tx,
        spec,
        now,
        "ingest_reappeared",
        kind,
        id,
        json!({ "source_id": source_id }),
    )?;
    report.updated += 1;
    Ok(())
}

/// Flags rows of this source whose key the document no longer lists. Returns how many.
fn flag_missing(
    tx: &Transaction<'_>,
    spec: &SourceSpec,
    now: &str,
    table: &str,
    kind: &str,
    seen: &[String],
) -> Result<usize, rusqlite::Error> {
    if seen.is_empty() {
        // An empty document flags nothing: an emptied feed is more often a platform
        // hiccup than a withdrawal of everything.
        return Ok(0);
    }
    let seen: HashSet<&str> = seen.iter().map(String::as_str).collect();
    // `table` is one of our own literals.
    let rows: Vec<(i64, String)> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT id, source_id FROM {table} WHERE source = ?1 AND missing_from_source = 0 AND source_id IS NOT NULL"
        ))?;
        let rows = stmt.query_map([spec.name.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut flagged = 0;
    for (id, source_id) in rows {
        if seen.contains(source_id.as_str()) {
            continue;
        }
        tx.execute(
            &format!("UPDATE {table} SET missing_from_source = 1 WHERE id = ?1"),
            [id],
        )?;
        audit(
            tx,
            spec,
            now,
            "ingest_missing",
            kind,
            id,
            json!({ "source_id": source_id }),
        )?;
        flagged += 1;
    }
    Ok(flagged)
}

/// Replaces the source's recorded rejections with this pass's, keeping when each was
/// first seen.
fn record_rejections(
    tx: &Transaction<'_>,
    spec: &SourceSpec,
    now: &str,
    rejections: &[Rejection],
) -> Result<Vec<usize>, rusqlite::Error> {
    let source = spec.name.as_str();
    let first_seen: HashMap<String, String> = {
        let mut stmt =
            tx.prepare("SELECT item_key, first_at FROM ingest_rejections WHERE source = ?1")?;
        let rows = stmt.query_map([source], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    tx.execute("DELETE FROM ingest_rejections WHERE source = ?1", [source])?;
    let mut stmt = tx.prepare(
        "INSERT INTO ingest_rejections (source, item_key, title, code, reason, first_at, last_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (source, item_key) DO UPDATE SET title = excluded.title, code = excluded.code,
           reason = excluded.reason",
    )?;
    let mut new = Vec::new();
    for (i, r) in rejections.iter().enumerate() {
        let first = match first_seen.get(&r.key) {
            Some(first) => first.as_str(),
            None => {
                new.push(i);
                now
            }
        };
        stmt.execute(params![
            source,
            r.key,
            r.title,
            r.reason.code(),
            r.reason.zh(),
            first,
            now
        ])?;
    }
    Ok(new)
}

/// Finishes a pass: flags, rejections, log lines, commit.
fn finish(
    tx: Transaction<'_>,
    spec: &SourceSpec,
    now: &str,
    table: &str,
    kind: &str,
    seen: &[String],
    mut report: PassReport,
) -> Result<PassReport, ApplyError> {
    report.missing = flag_missing(&tx, spec, now, table, kind, seen)?;
    report.rejected = report.rejections.len();
    let new = record_rejections(&tx, spec, now, &report.rejections)?;
    tx.commit()?;
    // Logged once, when an item is first rejected (the table keeps the current list).
    for r in new.iter().filter_map(|&i| report.rejections.get(i)) {
        tracing::info!(source = %spec.name, key = %r.key, reason = r.reason.code(), "ingest rejected an item");
    }
    Ok(report)
}

struct StoredNotice {
    id: i64,
    hash: Option<String>,
    status: String,
    missing: bool,
    fields: [String; 5],
    valid_from: String,
    published_at: Option<String>,
}

/// Applies a notice feed.
pub fn apply_notices(
    conn: &mut Connection,
    spec: &SourceSpec,
    parsed: Parsed<NoticeItem>,
    now: DateTime<Utc>,
) -> Result<PassReport, ApplyError> {
    let tx = conn.transaction()?;
    let ctx = Context::load(&tx)?;
    ctx.check_spec(spec)?;
    let region = match &spec.region {
        Some(r) => r.clone(),
        None => ctx.county.clone().ok_or(ApplyError::NoCounty)?,
    };
    let now_s = stamp(now);
    let today = now.with_timezone(&county_offset()).date_naive().to_string();
    let source = spec.name.as_str();
    let mut report = PassReport {
        rejections: parsed.rejected,
        ..PassReport::default()
    };
    for item in parsed.items {
        let reject = |reason| Rejection {
            key: item.source_id.clone(),
            title: item.title.clone(),
            reason,
        };
        let department = match ctx.attribute(item.author.as_deref(), spec, false) {
            Ok(d) => d,
            Err(reason) => {
                report.rejections.push(reject(reason));
                continue;
            }
        };
        if let Some(of) = tx
            .query_row(
                "SELECT title FROM notices WHERE title = ?1 AND body = ?2
                   AND NOT (source IS ?3 AND source_id IS ?4) LIMIT 1",
                params![item.title, item.body, source, item.source_id],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            report.rejections.push(reject(Reason::Duplicate { of }));
            continue;
        }
        let kind = if item.title.contains("公示") {
            NoticeKind::Publicity
        } else {
            NoticeKind::Notice
        };
        let published = item.published.map(stamp);
        let hash = content_hash(&json!({
            "kind": kind.as_str(), "title": item.title, "body": item.body,
            "department": department, "region": region, "published": published, "link": item.link,
        }));
        let stored = tx
            .query_row(
                "SELECT id, source_hash, status, missing_from_source, kind, title, body, department,
                   region, valid_from, published_at
                 FROM notices WHERE source = ?1 AND source_id = ?2",
                params![source, item.source_id],
                |r| {
                    Ok(StoredNotice {
                        id: r.get(0)?,
                        hash: r.get(1)?,
                        status: r.get(2)?,
                        missing: r.get::<_, i64>(3)? != 0,
                        fields: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
                        valid_from: r.get(9)?,
                        published_at: r.get(10)?,
                    })
                },
            )
            .optional()?;
        let item_date = item
            .published
            .map(|t| t.with_timezone(&county_offset()).date_naive().to_string());
        match stored {
            None => {
                let status = if spec.trusted {
                    NoticeStatus::Published
                } else {
                    NoticeStatus::Submitted
                };
                let published_at = spec
                    .trusted
                    .then(|| published.clone().unwrap_or_else(|| now_s.clone()));
                tx.execute(
                    "INSERT INTO notices (kind, title, department, region, published_at, valid_from,
                       priority, status, body, source, source_id, source_hash, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'normal', ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
                    params![
                        kind.as_str(),
                        item.title,
                        department,
                        region,
                        published_at,
                        item_date.clone().unwrap_or_else(|| today.clone()),
                        status.as_str(),
                        item.body,
                        source,
                        item.source_id,
                        hash,
                        now_s,
                    ],
                )?;
                let id = tx.last_insert_rowid();
                audit(
                    &tx,
                    spec,
                    &now_s,
                    "ingest_add",
                    "notice",
                    id,
                    json!({"source_id": item.source_id, "title": item.title, "status": status.as_str()}),
                )?;
                report.added += 1;
            }
            Some(old) if old.hash.as_deref() == Some(hash.as_str()) => {
                unchanged_or_reappeared(
                    &tx,
                    spec,
                    &now_s,
                    ("notices", "notice", true),
                    old.id,
                    old.missing,
                    &item.source_id,
                    &mut report,
                )?;
            }
            Some(old) => {
                let old_status =
                    NoticeStatus::parse(&old.status).unwrap_or(NoticeStatus::Submitted);
                let status = match (spec.trusted, old_status) {
                    (_, NoticeStatus::Withdrawn | NoticeStatus::Expired) => old_status,
                    (true, _) => NoticeStatus::Published,
                    (false, NoticeStatus::Draft | NoticeStatus::Submitted) => old_status,
                    (false, _) => NoticeStatus::Submitted,
                };
                let published_at = if status == NoticeStatus::Published {
                    old.published_at
                        .clone()
                        .or_else(|| published.clone())
                        .or_else(|| Some(now_s.clone()))
                } else {
                    old.published_at.clone()
                };
                let new_fields = [
                    kind.as_str(),
                    item.title.as_str(),
                    item.body.as_str(),
                    department.as_str(),
                    region.as_str(),
                ];
                let names = ["kind", "title", "body", "department", "region"];
                let mut changed: Vec<&str> = names
                    .iter()
                    .zip(old.fields.iter().zip(new_fields))
                    .filter(|(_, (o, n))| o.as_str() != *n)
                    .map(|(name, _)| *name)
                    .collect();
                if changed.is_empty() {
                    changed.push("source_metadata");
                }
                tx.execute(
                    "UPDATE notices SET kind = ?2, title = ?3, body = ?4, department = ?5, region = ?6,
                       valid_from = ?7, published_at = ?8, status = ?9, source_hash = ?10,
                       missing_from_source = 0, updated_at = ?11
                     WHERE id = ?1",
                    params![
                        old.id,
                        kind.as_str(),
                        item.title,
                        item.body,
                        department,
                        region,
                        item_date.unwrap_or(old.valid_from),
                        published_at,
                        status.as_str(),
                        hash,
                        now_s,
                    ],
                )?;
                audit(
                    &tx,
                    spec,
                    &now_s,
                    "ingest_update",
                    "notice",
                    old.id,
                    json!({"source_id": item.source_id, "changed": changed,
                           "status": [old_status.as_str(), status.as_str()]}),
                )?;
                report.updated += 1;
            }
        }
    }
    finish(tx, spec, &now_s, "notices", "notice", &parsed.seen, report)
}

/// Applies a catalogue export.
pub fn apply_catalogue(
    conn: &mut Connection,
    spec: &SourceSpec,
    parsed: Parsed<CatalogueItem>,
    now: DateTime<Utc>,
) -> Result<PassReport, ApplyError> {
    let tx = conn.transaction()?;
    let ctx = Context::load(&tx)?;
    ctx.check_spec(spec)?;
    let now_s = stamp(now);
    let source = spec.name.as_str();
    let mut report = PassReport {
        rejections: parsed.rejected,
        ..PassReport::default()
    };
    for item in parsed.items {
        let reject = |reason| Rejection {
            key: item.index_no.clone(),
            title: item.title.clone(),
            reason,
        };
        let department = match ctx.attribute(item.department.as_deref(), spec, true) {
            Ok(d) => d,
            Err(reason) => {
                report.rejections.push(reject(reason));
                continue;
            }
        };
        let subject = match &item.subject {
            None => {
                report
                    .rejections
                    .push(reject(Reason::MissingField("主题分类")));
                continue;
            }
            Some(s) => match ctx.subjects.get(s.trim()) {
                Some(code) => code.clone(),
                None => {
                    report
                        .rejections
                        .push(reject(Reason::UnknownSubject(s.clone())));
                    continue;
                }
            },
        };
        let mut audiences: Vec<String> = Vec::new();
        for a in &item.audiences {
            match ctx.audiences.get(a.as_str()) {
                Some(code) if !audiences.contains(code) => audiences.push(code.clone()),
                Some(_) => {}
                None => tracing::debug!(source, audience = %a, "unknown audience ignored"),
            }
        }
        let owner = tx
            .query_row(
                "SELECT id, source, source_hash, missing_from_source, title, body, summary, department
                 FROM catalogue_entries WHERE index_no = ?1",
                [&item.index_no],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, i64>(3)? != 0,
                        [r.get::<_, String>(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
                    ))
                },
            )
            .optional()?;
        if let Some((_, owner_source, ..)) = &owner {
            if owner_source.as_deref() != Some(source) {
                report
                    .rejections
                    .push(reject(Reason::KeyTaken(item.index_no.clone())));
                continue;
            }
        }
        if let Some(of) = tx
            .query_row(
                "SELECT title FROM catalogue_entries WHERE title = ?1 AND body = ?2 AND summary = ?3
                   AND index_no <> ?4 LIMIT 1",
                params![item.title, item.body, item.summary, item.index_no],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            report.rejections.push(reject(Reason::Duplicate { of }));
            continue;
        }
        let hash = content_hash(&json!({
            "kind": item.kind.as_str(), "title": item.title, "department": department,
            "doc_no": item.doc_no, "issued_on": item.issued_on.to_string(), "subject": subject,
            "valid_from": item.valid_from.map(|d| d.to_string()),
            "valid_until": item.valid_until.map(|d| d.to_string()),
            "summary": item.summary, "body": item.body,
            "update_frequency": item.update_frequency.as_str(), "power_type": item.power_type,
            "url": item.url, "audiences": audiences,
        }));
        let values = params![
            item.index_no,
            item.kind.as_str(),
            item.title,
            department,
            item.doc_no,
            item.issued_on.to_string(),
            subject,
            item.valid_from.map(|d| d.to_string()),
            item.valid_until.map(|d| d.to_string()),
            item.summary,
            item.body,
            item.update_frequency.as_str(),
            now_s,
            item.power_type,
            item.url,
            source,
            hash,
        ];
        let id = match owner {
            None => {
                tx.execute(
                    "INSERT INTO catalogue_entries (index_no, kind, title, department, doc_no, issued_on,
                       subject, valid_from, valid_until, summary, body, update_frequency, updated_at,
                       power_type, url, source, source_id, source_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?1, ?17)",
                    values,
                )?;
                let id = tx.last_insert_rowid();
                audit(
                    &tx,
                    spec,
                    &now_s,
                    "ingest_add",
                    "catalogue_entry",
                    id,
                    json!({"source_id": item.index_no, "title": item.title}),
                )?;
                report.added += 1;
                id
            }
            Some((id, _, old_hash, missing, _)) if old_hash.as_deref() == Some(hash.as_str()) => {
                unchanged_or_reappeared(
                    &tx,
                    spec,
                    &now_s,
                    ("catalogue_entries", "catalogue_entry", false),
                    id,
                    missing,
                    &item.index_no,
                    &mut report,
                )?;
                continue;
            }
            Some((id, _, _, _, old)) => {
                tx.execute(
                    "UPDATE catalogue_entries SET kind = ?2, title = ?3, department = ?4, doc_no = ?5,
                       issued_on = ?6, subject = ?7, valid_from = ?8, valid_until = ?9, summary = ?10,
                       body = ?11, update_frequency = ?12, updated_at = ?13, power_type = ?14, url = ?15,
                       source = ?16, source_id = ?1, source_hash = ?17, missing_from_source = 0
                     WHERE index_no = ?1",
                    values,
                )?;
                let new = [&item.title, &item.body, &item.summary, &department];
                let mut changed: Vec<&str> = ["title", "body", "summary", "department"]
                    .iter()
                    .zip(old.iter().zip(new))
                    .filter(|(_, (o, n))| o != n)
                    .map(|(name, _)| *name)
                    .collect();
                if changed.is_empty() {
                    changed.push("other_fields");
                }
                audit(
                    &tx,
                    spec,
                    &now_s,
                    "ingest_update",
                    "catalogue_entry",
                    id,
                    json!({"source_id": item.index_no, "changed": changed}),
                )?;
                report.updated += 1;
                id
            }
        };
        tx.execute("DELETE FROM catalogue_audiences WHERE entry_id = ?1", [id])?;
        for a in &audiences {
            tx.execute(
                "INSERT INTO catalogue_audiences (entry_id, audience) VALUES (?1, ?2)",
                params![id, a],
            )?;
        }
    }
    finish(
        tx,
        spec,
        &now_s,
        "catalogue_entries",
        "catalogue_entry",
        &parsed.seen,
        report,
    )
}

/// Applies a case export.
pub fn apply_cases(
    conn: &mut Connection,
    spec: &SourceSpec,
    parsed: Parsed<CaseItem>,
    now: DateTime<Utc>,
) -> Result<PassReport, ApplyError> {
    let tx = conn.transaction()?;
    let ctx = Context::load(&tx)?;
    ctx.check_spec(spec)?;
    let now_s = stamp(now);
    let source = spec.name.as_str();
    let mut report = PassReport {
        rejections: parsed.rejected,
        ..PassReport::default()
    };
    for item in parsed.items {
        let title = item.item_title.clone().unwrap_or_default();
        let reject = |reason| Rejection {
            key: item.case_no.clone(),
            title: title.clone(),
            reason,
        };
        let department = match ctx.attribute(item.department.as_deref(), spec, true) {
            Ok(d) => d,
            Err(reason) => {
                report.rejections.push(reject(reason));
                continue;
            }
        };
        let by_index = match &item.item_index_no {
            Some(ix) => tx
                .query_row(
                    "SELECT id, title FROM catalogue_entries WHERE index_no = ?1",
                    [ix],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                )
                .optional()?,
            None => None,
        };
        let (entry_id, item_title) = match (by_index, &item.item_title) {
            (Some((id, t)), given) => (Some(id), given.clone().unwrap_or(t)),
            (None, Some(t)) => {
                let id = tx
                    .query_row(
                        "SELECT id FROM catalogue_entries WHERE title = ?1 ORDER BY id LIMIT 1",
                        [t],
                        |r| r.get::<_, i64>(0),
                    )
                    .optional()?;
                (id, t.clone())
            }
            (None, None) => {
                report.rejections.push(reject(Reason::BadValue {
                    field: "事项索引号",
                    value: item.item_index_no.clone().unwrap_or_default(),
                }));
                continue;
            }
        };
        let owner = tx
            .query_row(
                "SELECT id, source, source_hash, missing_from_source, status FROM cases WHERE case_no = ?1",
                [&item.case_no],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, i64>(3)? != 0,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?;
        if let Some((_, owner_source, ..)) = &owner {
            if owner_source.as_deref() != Some(source) {
                report
                    .rejections
                    .push(reject(Reason::KeyTaken(item.case_no.clone())));
                continue;
            }
        }
        let completed_on = item.completed_on.map(|d| d.to_string());
        let hash = content_hash(&json!({
            "entry_id": entry_id, "item_title": item_title, "department": department,
            "applicant": item.applicant, "applicant_kind": item.applicant_kind.as_str(),
            "received_on": item.received_on.to_string(), "due_on": item.due_on.to_string(),
            "completed_on": completed_on, "status": item.status.as_str(), "note": item.note,
        }));
        let values = params![
            item.case_no,
            entry_id,
            item_title,
            department,
            item.applicant,
            item.applicant_kind.as_str(),
            item.received_on.to_string(),
            item.due_on.to_string(),
            completed_on,
            item.status.as_str(),
            item.note,
            source,
            now_s,
            hash,
        ];
        match owner {
            None => {
                tx.execute(
                    "INSERT INTO cases (case_no, entry_id, item_title, department, applicant, applicant_kind,
                       received_on, due_on, completed_on, status, note, source, updated_at, source_hash, source_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?1)",
                    values,
                )?;
                let id = tx.last_insert_rowid();
                audit(
                    &tx,
                    spec,
                    &now_s,
                    "ingest_add",
                    "case",
                    id,
                    json!({"source_id": item.case_no, "status": item.status.as_str()}),
                )?;
                report.added += 1;
            }
            Some((id, _, old_hash, missing, _)) if old_hash.as_deref() == Some(hash.as_str()) => {
                unchanged_or_reappeared(
                    &tx,
                    spec,
                    &now_s,
                    ("cases", "case", false),
                    id,
                    missing,
                    &item.case_no,
                    &mut report,
                )?;
            }
            Some((id, _, _, _, old_status)) => {
                tx.execute(
                    "UPDATE cases SET entry_id = ?2, item_title = ?3, department = ?4, applicant = ?5,
                       applicant_kind = ?6, received_on = ?7, due_on = ?8, completed_on = ?9, status = ?10,
                       note = ?11, source = ?12, updated_at = ?13, source_hash = ?14, source_id = ?1,
                       missing_from_source = 0
                     WHERE case_no = ?1",
                    values,
                )?;
                let status: Option<CaseStatus> = CaseStatus::parse(&old_status);
                audit(
                    &tx,
                    spec,
                    &now_s,
                    "ingest_update",
                    "case",
                    id,
                    json!({"source_id": item.case_no,
                             "status": [status.map_or(old_status.as_str(), |s| s.as_str()), item.status.as_str()]}),
                )?;
                report.updated += 1;
            }
        }
    }
    finish(tx, spec, &now_s, "cases", "case", &parsed.seen, report)
}
