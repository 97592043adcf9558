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

/// What one pass works with: the store's lookups, the source, the time.
struct Pass<'a> {
    ctx: Context,
    spec: &'a SourceSpec,
    /// The source's name.
    source: &'a str,
    /// When, in UTC.
    at: DateTime<Utc>,
    /// When, as content timestamps are written.
    now: String,
}

/// The stored row of an item's key.
struct Stored<O> {
    id: i64,
    hash: Option<String>,
    missing: bool,
    /// What an update's audit record compares with.
    old: O,
}

/// An item resolved and checked, ready to write.
struct Checked<R, O> {
    /// What is written.
    row: R,
    /// The row of the same key, if one is stored.
    stored: Option<Stored<O>>,
}

/// `Ok(Err(reason))`: the item is rejected.
type Check<R, O> = Result<Result<Checked<R, O>, Reason>, rusqlite::Error>;

/// What differs between the kinds of row a source feeds (notices, catalogue entries,
/// cases). [`apply`] is the rest: one transaction, rejections, insert or update or
/// leave alone, the audit log, flagging what the source no longer lists.
trait Upsert: Sized {
    /// An item as parsed.
    type Item;
    /// An item resolved against the store, as written.
    type Row;
    /// What is kept of a stored row for its update.
    type Old;
    /// The table written.
    const TABLE: &'static str;
    /// The audit log's object kind.
    const OBJECT: &'static str;
    /// Whether an unchanged item the source lists again has its `updated_at` touched.
    const TOUCH_ON_REAPPEAR: bool;

    /// Per-pass state read before the first item.
    fn new(pass: &Pass<'_>) -> Result<Self, ApplyError>;
    /// The item's key and title, as its rejection records them.
    fn key(item: &Self::Item) -> (String, String);
    /// The hash of what `row` writes (`source_hash`): equal to the stored one, nothing is
    /// written.
    fn hash(row: &Self::Row) -> &str;
    /// Resolves and checks an item and finds its stored row.
    fn check(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        item: Self::Item,
    ) -> Check<Self::Row, Self::Old>;
    /// Inserts a new row: its id and the audit detail.
    fn insert(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        row: &Self::Row,
    ) -> Result<(i64, serde_json::Value), rusqlite::Error>;
    /// Updates stored row `id`: the audit detail.
    fn update(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        id: i64,
        row: &Self::Row,
        old: Self::Old,
    ) -> Result<serde_json::Value, rusqlite::Error>;
    /// Writes what hangs off a row just inserted or updated.
    fn written(
        &self,
        _tx: &Transaction<'_>,
        _id: i64,
        _row: &Self::Row,
    ) -> Result<(), rusqlite::Error> {
        Ok(())
    }
}

/// Applies a parsed document of kind `K` in one transaction.
fn apply<K: Upsert>(
    conn: &mut Connection,
    spec: &SourceSpec,
    parsed: Parsed<K::Item>,
    at: DateTime<Utc>,
) -> Result<PassReport, ApplyError> {
    let tx = conn.transaction()?;
    let ctx = Context::load(&tx)?;
    ctx.check_spec(spec)?;
    let pass = Pass {
        ctx,
        spec,
        source: spec.name.as_str(),
        at,
        now: stamp(at),
    };
    let kind = K::new(&pass)?;
    let mut report = PassReport {
        rejections: parsed.rejected,
        ..PassReport::default()
    };
    for item in parsed.items {
        let (key, title) = K::key(&item);
        let checked = match kind.check(&pass, &tx, item)? {
            Ok(checked) => checked,
            Err(reason) => {
                report.rejections.push(Rejection { key, title, reason });
                continue;
            }
        };
        let (row, hash) = (&checked.row, K::hash(&checked.row));
        let id = match checked.stored {
            None => {
                let (id, detail) = kind.insert(&pass, &tx, row)?;
                audit(&tx, spec, &pass.now, "ingest_add", K::OBJECT, id, detail)?;
                report.added += 1;
                id
            }
            Some(old) if old.hash.as_deref() == Some(hash) => {
                unchanged_or_reappeared(
                    &tx,
                    spec,
                    &pass.now,
                    (K::TABLE, K::OBJECT, K::TOUCH_ON_REAPPEAR),
                    old.id,
                    old.missing,
                    &key,
                    &mut report,
                )?;
                continue;
            }
            Some(old) => {
                let detail = kind.update(&pass, &tx, old.id, row, old.old)?;
                audit(
                    &tx,
                    spec,
                    &pass.now,
                    "ingest_update",
                    K::OBJECT,
                    old.id,
                    detail,
                )?;
                report.updated += 1;
                old.id
            }
        };
        kind.written(&tx, id, row)?;
    }
    finish(
        tx,
        spec,
        &pass.now,
        K::TABLE,
        K::OBJECT,
        &parsed.seen,
        report,
    )
}

/// Applies a notice feed.
pub fn apply_notices(
    conn: &mut Connection,
    spec: &SourceSpec,
    parsed: Parsed<NoticeItem>,
    now: DateTime<Utc>,
) -> Result<PassReport, ApplyError> {
    apply::<Notices>(conn, spec, parsed, now)
}

/// Applies a catalogue export.
pub fn apply_catalogue(
    conn: &mut Connection,
    spec: &SourceSpec,
    parsed: Parsed<CatalogueItem>,
    now: DateTime<Utc>,
) -> Result<PassReport, ApplyError> {
    apply::<Catalogue>(conn, spec, parsed, now)
}

/// Applies a case export.
pub fn apply_cases(
    conn: &mut Connection,
    spec: &SourceSpec,
    parsed: Parsed<CaseItem>,
    now: DateTime<Utc>,
) -> Result<PassReport, ApplyError> {
    apply::<Cases>(conn, spec, parsed, now)
}

/// Notices (通知公告, 公示), keyed by (source, source id).
struct Notices {
    /// The region the source's notices are addressed to.
    region: String,
    /// The county's date, for notices without one.
    today: String,
}

struct NoticeRow {
    item: NoticeItem,
    hash: String,
    kind: NoticeKind,
    department: String,
    /// Its publication time as a content timestamp.
    published: Option<String>,
    /// Its publication date in the county.
    date: Option<String>,
}

struct StoredNotice {
    status: String,
    fields: [String; 5],
    valid_from: String,
    published_at: Option<String>,
}

impl Upsert for Notices {
    type Item = NoticeItem;
    type Row = NoticeRow;
    type Old = StoredNotice;
    const TABLE: &'static str = "notices";
    const OBJECT: &'static str = "notice";
    const TOUCH_ON_REAPPEAR: bool = true;

    fn new(pass: &Pass<'_>) -> Result<Self, ApplyError> {
        let region = match &pass.spec.region {
            Some(r) => r.clone(),
            None => pass.ctx.county.clone().ok_or(ApplyError::NoCounty)?,
        };
        let today = pass
            .at
            .with_timezone(&county_offset())
            .date_naive()
            .to_string();
        Ok(Notices { region, today })
    }

    fn key(item: &NoticeItem) -> (String, String) {
        (item.source_id.clone(), item.title.clone())
    }

    fn hash(row: &NoticeRow) -> &str {
        &row.hash
    }

    fn check(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        item: NoticeItem,
    ) -> Check<NoticeRow, StoredNotice> {
        let department = match pass.ctx.attribute(item.author.as_deref(), pass.spec, false) {
            Ok(d) => d,
            Err(reason) => return Ok(Err(reason)),
        };
        if let Some(of) = tx
            .query_row(
                "SELECT title FROM notices WHERE title = ?1 AND body = ?2
                   AND NOT (source IS ?3 AND source_id IS ?4) LIMIT 1",
                params![item.title, item.body, pass.source, item.source_id],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            return Ok(Err(Reason::Duplicate { of }));
        }
        let kind = if item.title.contains("公示") {
            NoticeKind::Publicity
        } else {
            NoticeKind::Notice
        };
        let published = item.published.map(stamp);
        let hash = content_hash(&json!({
            "kind": kind.as_str(), "title": item.title, "body": item.body,
            "department": department, "region": self.region, "published": published,
            "link": item.link,
        }));
        let stored = tx
            .query_row(
                "SELECT id, source_hash, status, missing_from_source, kind, title, body, department,
                   region, valid_from, published_at
                 FROM notices WHERE source = ?1 AND source_id = ?2",
                params![pass.source, item.source_id],
                |r| {
                    Ok(Stored {
                        id: r.get(0)?,
                        hash: r.get(1)?,
                        missing: r.get::<_, i64>(3)? != 0,
                        old: StoredNotice {
                            status: r.get(2)?,
                            fields: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
                            valid_from: r.get(9)?,
                            published_at: r.get(10)?,
                        },
                    })
                },
            )
            .optional()?;
        let date = item
            .published
            .map(|t| t.with_timezone(&county_offset()).date_naive().to_string());
        Ok(Ok(Checked {
            row: NoticeRow {
                item,
                hash,
                kind,
                department,
                published,
                date,
            },
            stored,
        }))
    }

    fn insert(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        row: &NoticeRow,
    ) -> Result<(i64, serde_json::Value), rusqlite::Error> {
        let status = if pass.spec.trusted {
            NoticeStatus::Published
        } else {
            NoticeStatus::Submitted
        };
        let published_at = pass
            .spec
            .trusted
            .then(|| row.published.clone().unwrap_or_else(|| pass.now.clone()));
        let item = &row.item;
        tx.execute(
            "INSERT INTO notices (kind, title, department, region, published_at, valid_from,
               priority, status, body, source, source_id, source_hash, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'normal', ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
            params![
                row.kind.as_str(),
                item.title,
                row.department,
                self.region,
                published_at,
                row.date.as_deref().unwrap_or(&self.today),
                status.as_str(),
                item.body,
                pass.source,
                item.source_id,
                row.hash,
                pass.now,
            ],
        )?;
        Ok((
            tx.last_insert_rowid(),
            json!({"source_id": item.source_id, "title": item.title, "status": status.as_str()}),
        ))
    }

    fn update(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        id: i64,
        row: &NoticeRow,
        old: StoredNotice,
    ) -> Result<serde_json::Value, rusqlite::Error> {
        let item = &row.item;
        let old_status = NoticeStatus::parse(&old.status).unwrap_or(NoticeStatus::Submitted);
        let status = match (pass.spec.trusted, old_status) {
            (_, NoticeStatus::Withdrawn | NoticeStatus::Expired) => old_status,
            (true, _) => NoticeStatus::Published,
            (false, NoticeStatus::Draft | NoticeStatus::Submitted) => old_status,
            (false, _) => NoticeStatus::Submitted,
        };
        let published_at = if status == NoticeStatus::Published {
            old.published_at
                .clone()
                .or_else(|| row.published.clone())
                .or_else(|| Some(pass.now.clone()))
        } else {
            old.published_at.clone()
        };
        let new_fields = [
            row.kind.as_str(),
            item.title.as_str(),
            item.body.as_str(),
            row.department.as_str(),
            self.region.as_str(),
        ];
        let changed = changed_fields(
            &["kind", "title", "body", "department", "region"],
            old.fields.iter().map(String::as_str).zip(new_fields),
            "source_metadata",
        );
        tx.execute(
            "UPDATE notices SET kind = ?2, title = ?3, body = ?4, department = ?5, region = ?6,
               valid_from = ?7, published_at = ?8, status = ?9, source_hash = ?10,
               missing_from_source = 0, updated_at = ?11
             WHERE id = ?1",
            params![
                id,
                row.kind.as_str(),
                item.title,
                item.body,
                row.department,
                self.region,
                row.date.as_deref().unwrap_or(&old.valid_from),
                published_at,
                status.as_str(),
                row.hash,
                pass.now,
            ],
        )?;
        Ok(json!({"source_id": item.source_id, "changed": changed,
                  "status": [old_status.as_str(), status.as_str()]}))
    }
}

/// The names of the fields whose old and new values differ; `otherwise` when none does
/// (what changed is something the audit does not compare).
fn changed_fields<'a>(
    names: &[&'static str],
    values: impl Iterator<Item = (&'a str, &'a str)>,
    otherwise: &'static str,
) -> Vec<&'static str> {
    let changed: Vec<&'static str> = names
        .iter()
        .zip(values)
        .filter(|(_, (old, new))| old != new)
        .map(|(name, _)| *name)
        .collect();
    if changed.is_empty() {
        vec![otherwise]
    } else {
        changed
    }
}

/// Catalogue entries, keyed by their index number (owned by the source that first
/// listed it).
struct Catalogue;

struct CatalogueRow {
    item: CatalogueItem,
    hash: String,
    department: String,
    subject: String,
    audiences: Vec<String>,
    issued_on: String,
    valid_from: Option<String>,
    valid_until: Option<String>,
}

impl CatalogueRow {
    /// The values `?1`–`?17` of both the insert and the update.
    fn values<'a>(&'a self, pass: &'a Pass<'_>) -> [&'a dyn rusqlite::ToSql; 17] {
        let item = &self.item;
        [
            &item.index_no,
            &item.kind,
            &item.title,
            &self.department,
            &item.doc_no,
            &self.issued_on,
            &self.subject,
            &self.valid_from,
            &self.valid_until,
            &item.summary,
            &item.body,
            &item.update_frequency,
            &pass.now,
            &item.power_type,
            &item.url,
            &pass.source,
            &self.hash,
        ]
    }
}

impl Upsert for Catalogue {
    type Item = CatalogueItem;
    type Row = CatalogueRow;
    type Old = [String; 4];
    const TABLE: &'static str = "catalogue_entries";
    const OBJECT: &'static str = "catalogue_entry";
    const TOUCH_ON_REAPPEAR: bool = false;

    fn new(_: &Pass<'_>) -> Result<Self, ApplyError> {
        Ok(Catalogue)
    }

    fn key(item: &CatalogueItem) -> (String, String) {
        (item.index_no.clone(), item.title.clone())
    }

    fn hash(row: &CatalogueRow) -> &str {
        &row.hash
    }

    fn check(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        item: CatalogueItem,
    ) -> Check<CatalogueRow, [String; 4]> {
        let ctx = &pass.ctx;
        let department = match ctx.attribute(item.department.as_deref(), pass.spec, true) {
            Ok(d) => d,
            Err(reason) => return Ok(Err(reason)),
        };
        let subject = match &item.subject {
            None => return Ok(Err(Reason::MissingField("主题分类"))),
            Some(s) => match ctx.subjects.get(s.trim()) {
                Some(code) => code.clone(),
                None => return Ok(Err(Reason::UnknownSubject(s.clone()))),
            },
        };
        let mut audiences: Vec<String> = Vec::new();
        for a in &item.audiences {
            match ctx.audiences.get(a.as_str()) {
                Some(code) if !audiences.contains(code) => audiences.push(code.clone()),
                Some(_) => {}
                None => {
                    tracing::debug!(source = pass.source, audience = %a, "unknown audience ignored")
                }
            }
        }
        let stored = tx
            .query_row(
                "SELECT id, source, source_hash, missing_from_source, title, body, summary, department
                 FROM catalogue_entries WHERE index_no = ?1",
                [&item.index_no],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(1)?,
                        Stored {
                            id: r.get(0)?,
                            hash: r.get(2)?,
                            missing: r.get::<_, i64>(3)? != 0,
                            old: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
                        },
                    ))
                },
            )
            .optional()?;
        if let Some((owner, _)) = &stored {
            if owner.as_deref() != Some(pass.source) {
                return Ok(Err(Reason::KeyTaken(item.index_no.clone())));
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
            return Ok(Err(Reason::Duplicate { of }));
        }
        let issued_on = item.issued_on.to_string();
        let valid_from = item.valid_from.map(|d| d.to_string());
        let valid_until = item.valid_until.map(|d| d.to_string());
        let hash = content_hash(&json!({
            "kind": item.kind.as_str(), "title": item.title, "department": department,
            "doc_no": item.doc_no, "issued_on": issued_on, "subject": subject,
            "valid_from": valid_from, "valid_until": valid_until,
            "summary": item.summary, "body": item.body,
            "update_frequency": item.update_frequency.as_str(), "power_type": item.power_type,
            "url": item.url, "audiences": audiences,
        }));
        let row = CatalogueRow {
            item,
            hash,
            department,
            subject,
            audiences,
            issued_on,
            valid_from,
            valid_until,
        };
        Ok(Ok(Checked {
            row,
            stored: stored.map(|(_, s)| s),
        }))
    }

    fn insert(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        row: &CatalogueRow,
    ) -> Result<(i64, serde_json::Value), rusqlite::Error> {
        tx.execute(
            "INSERT INTO catalogue_entries (index_no, kind, title, department, doc_no, issued_on,
               subject, valid_from, valid_until, summary, body, update_frequency, updated_at,
               power_type, url, source, source_id, source_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?1, ?17)",
            row.values(pass).as_slice(),
        )?;
        Ok((
            tx.last_insert_rowid(),
            json!({"source_id": row.item.index_no, "title": row.item.title}),
        ))
    }

    fn update(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        _id: i64,
        row: &CatalogueRow,
        old: [String; 4],
    ) -> Result<serde_json::Value, rusqlite::Error> {
        tx.execute(
            "UPDATE catalogue_entries SET kind = ?2, title = ?3, department = ?4, doc_no = ?5,
               issued_on = ?6, subject = ?7, valid_from = ?8, valid_until = ?9, summary = ?10,
               body = ?11, update_frequency = ?12, updated_at = ?13, power_type = ?14, url = ?15,
               source = ?16, source_id = ?1, source_hash = ?17, missing_from_source = 0
             WHERE index_no = ?1",
            row.values(pass).as_slice(),
        )?;
        let item = &row.item;
        let new = [&item.title, &item.body, &item.summary, &row.department];
        let changed = changed_fields(
            &["title", "body", "summary", "department"],
            old.iter()
                .map(String::as_str)
                .zip(new.into_iter().map(String::as_str)),
            "other_fields",
        );
        Ok(json!({"source_id": item.index_no, "changed": changed}))
    }

    fn written(
        &self,
        tx: &Transaction<'_>,
        id: i64,
        row: &CatalogueRow,
    ) -> Result<(), rusqlite::Error> {
        tx.execute("DELETE FROM catalogue_audiences WHERE entry_id = ?1", [id])?;
        for a in &row.audiences {
            tx.execute(
                "INSERT INTO catalogue_audiences (entry_id, audience) VALUES (?1, ?2)",
                params![id, a],
            )?;
        }
        Ok(())
    }
}

/// Cases (办件), keyed by their case number (owned by the source that first listed it).
struct Cases;

struct CaseRow {
    item: CaseItem,
    hash: String,
    department: String,
    /// The catalogue entry of the matter, if found.
    entry_id: Option<i64>,
    item_title: String,
    received_on: String,
    due_on: String,
    completed_on: Option<String>,
}

impl CaseRow {
    /// The values `?1`–`?14` of both the insert and the update.
    fn values<'a>(&'a self, pass: &'a Pass<'_>) -> [&'a dyn rusqlite::ToSql; 14] {
        let item = &self.item;
        [
            &item.case_no,
            &self.entry_id,
            &self.item_title,
            &self.department,
            &item.applicant,
            &item.applicant_kind,
            &self.received_on,
            &self.due_on,
            &self.completed_on,
            &item.status,
            &item.note,
            &pass.source,
            &pass.now,
            &self.hash,
        ]
    }
}

impl Upsert for Cases {
    type Item = CaseItem;
    type Row = CaseRow;
    /// The stored status.
    type Old = String;
    const TABLE: &'static str = "cases";
    const OBJECT: &'static str = "case";
    const TOUCH_ON_REAPPEAR: bool = false;

    fn new(_: &Pass<'_>) -> Result<Self, ApplyError> {
        Ok(Cases)
    }

    fn key(item: &CaseItem) -> (String, String) {
        (
            item.case_no.clone(),
            item.item_title.clone().unwrap_or_default(),
        )
    }

    fn hash(row: &CaseRow) -> &str {
        &row.hash
    }

    fn check(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        item: CaseItem,
    ) -> Check<CaseRow, String> {
        let department = match pass
            .ctx
            .attribute(item.department.as_deref(), pass.spec, true)
        {
            Ok(d) => d,
            Err(reason) => return Ok(Err(reason)),
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
                return Ok(Err(Reason::BadValue {
                    field: "事项索引号",
                    value: item.item_index_no.clone().unwrap_or_default(),
                }))
            }
        };
        let stored = tx
            .query_row(
                "SELECT id, source, source_hash, missing_from_source, status FROM cases WHERE case_no = ?1",
                [&item.case_no],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(1)?,
                        Stored {
                            id: r.get(0)?,
                            hash: r.get(2)?,
                            missing: r.get::<_, i64>(3)? != 0,
                            old: r.get(4)?,
                        },
                    ))
                },
            )
            .optional()?;
        if let Some((owner, _)) = &stored {
            if owner.as_deref() != Some(pass.source) {
                return Ok(Err(Reason::KeyTaken(item.case_no.clone())));
            }
        }
        let received_on = item.received_on.to_string();
        let due_on = item.due_on.to_string();
        let completed_on = item.completed_on.map(|d| d.to_string());
        let hash = content_hash(&json!({
            "entry_id": entry_id, "item_title": item_title, "department": department,
            "applicant": item.applicant, "applicant_kind": item.applicant_kind.as_str(),
            "received_on": received_on, "due_on": due_on,
            "completed_on": completed_on, "status": item.status.as_str(), "note": item.note,
        }));
        let row = CaseRow {
            item,
            hash,
            department,
            entry_id,
            item_title,
            received_on,
            due_on,
            completed_on,
        };
        Ok(Ok(Checked {
            row,
            stored: stored.map(|(_, s)| s),
        }))
    }

    fn insert(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        row: &CaseRow,
    ) -> Result<(i64, serde_json::Value), rusqlite::Error> {
        tx.execute(
            "INSERT INTO cases (case_no, entry_id, item_title, department, applicant, applicant_kind,
               received_on, due_on, completed_on, status, note, source, updated_at, source_hash, source_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?1)",
            row.values(pass).as_slice(),
        )?;
        Ok((
            tx.last_insert_rowid(),
            json!({"source_id": row.item.case_no, "status": row.item.status.as_str()}),
        ))
    }

    fn update(
        &self,
        pass: &Pass<'_>,
        tx: &Transaction<'_>,
        _id: i64,
        row: &CaseRow,
        old_status: String,
    ) -> Result<serde_json::Value, rusqlite::Error> {
        tx.execute(
            "UPDATE cases SET entry_id = ?2, item_title = ?3, department = ?4, applicant = ?5,
               applicant_kind = ?6, received_on = ?7, due_on = ?8, completed_on = ?9, status = ?10,
               note = ?11, source = ?12, updated_at = ?13, source_hash = ?14, source_id = ?1,
               missing_from_source = 0
             WHERE case_no = ?1",
            row.values(pass).as_slice(),
        )?;
        let old = CaseStatus::parse(&old_status).map_or(old_status.as_str(), |s| s.as_str());
        Ok(json!({"source_id": row.item.case_no, "status": [old, row.item.status.as_str()]}))
    }
}
