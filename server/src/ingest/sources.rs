//! The `sources` table: every source's definition, where it came from (the config file
//! or the admin API), and the state the poller keeps (validators for conditional GET, last
//! success, last error, failures and the next attempt).

use std::time::Duration;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::source::{SourceFields, SourceSpec};
use crate::names::vocabulary;
use crate::store::StoreError;

/// Longest a failing source waits between attempts, unless its own interval is longer.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);

vocabulary! {
    /// Where a source's definition came from.
    pub Origin as "source origin" {
        /// `[[sources]]` in the config file: rewritten from the file at every start.
        Config = "config",
        /// Created through the admin API.
        Api = "api",
    }
}

vocabulary! {
    /// How the last attempt ended.
    pub Outcome as "poll outcome" {
        /// The document was read and a pass completed.
        Changed = "changed",
        /// The server answered 304 Not Modified.
        NotModified = "not_modified",
        /// The attempt failed; see `last_error`.
        Error = "error",
    }
}

/// What the poller knows about a source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceState {
    /// ETag of the last document read, sent as If-None-Match.
    pub etag: Option<String>,
    /// Last-Modified of the last document read, sent as If-Modified-Since.
    pub last_modified: Option<String>,
    /// When the last attempt started.
    pub last_attempt_at: Option<String>,
    /// When an attempt last succeeded (a pass completed or 304).
    pub last_success_at: Option<String>,
    /// How the last attempt ended.
    pub last_outcome: Option<Outcome>,
    /// Counts of the last completed pass.
    pub last_report: Option<serde_json::Value>,
    /// The last error, for staff (kept after recovery; compare its time with `last_success_at`).
    pub last_error: Option<String>,
    /// When the last error happened.
    pub last_error_at: Option<String>,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// When the poller tries next (`None`: now).
    pub next_attempt_at: Option<String>,
}

impl SourceState {
    /// The next attempt time, parsed (`None`: due now, or unreadable).
    pub fn next_attempt(&self) -> Option<DateTime<FixedOffset>> {
        self.next_attempt_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    }
}

/// A source row: definition, where it came from, and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRecord {
    /// Definition.
    #[serde(flatten)]
    pub spec: SourceSpec,
    /// Config file or API.
    pub origin: Origin,
    /// Poller state.
    pub state: SourceState,
}

/// The current time in county time, for stored timestamps (millisecond precision).
pub fn stamp(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::content::county_offset())
        .to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// Delay before the next attempt after `failures` consecutive failures: the interval,
/// doubled per further failure, capped at 30 min (or the interval, if longer).
pub fn retry_delay(interval: Duration, failures: u32) -> Duration {
    let cap = MAX_BACKOFF.max(interval);
    let doublings = failures.saturating_sub(1).min(20);
    interval.saturating_mul(1u32 << doublings).min(cap)
}

const COLUMNS: &str = "name, url, kind, format, department, region, interval_secs, trusted,
    timeout_secs, max_bytes, origin, etag, last_modified, last_attempt_at, last_success_at,
    last_outcome, last_report, last_error, last_error_at, consecutive_failures, next_attempt_at";

fn read_row(row: &Row<'_>) -> rusqlite::Result<Result<SourceRecord, StoreError>> {
    let name: String = row.get(0)?;
    let fields = SourceFields {
        name: name.clone(),
        url: row.get(1)?,
        kind: row.get(2)?,
        format: Some(row.get(3)?),
        department: row.get(4)?,
        region: row.get(5)?,
        interval: Some(row.get::<_, i64>(6)?.max(1) as u64),
        trusted: Some(row.get::<_, i64>(7)? != 0),
        timeout: Some(row.get::<_, i64>(8)?.max(1) as u64),
        max_bytes: Some(row.get::<_, i64>(9)?.max(0) as u64),
    };
    let origin = Origin::parse(&row.get::<_, String>(10)?).unwrap_or(Origin::Config);
    let report: Option<String> = row.get(16)?;
    let state = SourceState {
        etag: row.get(11)?,
        last_modified: row.get(12)?,
        last_attempt_at: row.get(13)?,
        last_success_at: row.get(14)?,
        last_outcome: row
            .get::<_, Option<String>>(15)?
            .as_deref()
            .and_then(Outcome::parse),
        last_report: report.and_then(|r| serde_json::from_str(&r).ok()),
        last_error: row.get(17)?,
        last_error_at: row.get(18)?,
        consecutive_failures: row.get::<_, i64>(19)?.clamp(0, u32::MAX as i64) as u32,
        next_attempt_at: row.get(20)?,
    };
    Ok(SourceSpec::try_from(fields)
        .map(|spec| SourceRecord {
            spec,
            origin,
            state,
        })
        .map_err(|e| StoreError::Malformed(format!("source {name}: {e}"))))
}

/// Every source, by name.
pub fn list(conn: &Connection) -> Result<Vec<SourceRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM sources ORDER BY name"))?;
    let rows = stmt.query_map([], read_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

/// One source by name.
pub fn get(conn: &Connection, name: &str) -> Result<Option<SourceRecord>, StoreError> {
    let row = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM sources WHERE name = ?1"),
            [name],
            read_row,
        )
        .optional()?;
    row.transpose()
}

/// The values `?1`–`?11` of both [`insert`] and [`update`]: name, url, kind, format,
/// department, region, interval, trusted, timeout, max_bytes, origin.
fn definition(spec: &SourceSpec, origin: Origin) -> [Value; 11] {
    [
        spec.name.as_str().to_owned().into(),
        spec.location.to_string().into(),
        spec.kind.as_str().to_owned().into(),
        spec.format.as_str().to_owned().into(),
        spec.department.clone().into(),
        spec.region.clone().into(),
        (spec.interval.as_secs() as i64).into(),
        spec.trusted.into(),
        (spec.timeout.as_secs() as i64).into(),
        (spec.max_bytes as i64).into(),
        origin.as_str().to_owned().into(),
    ]
}

/// Inserts a new source. Returns false (and writes nothing) if the name is taken.
pub fn insert(conn: &Connection, spec: &SourceSpec, origin: Origin) -> Result<bool, StoreError> {
    let now = stamp(Utc::now());
    let n = conn.execute(
        "INSERT INTO sources (name, url, kind, format, department, region, interval_secs, trusted,
           timeout_secs, max_bytes, origin, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
         ON CONFLICT (name) DO NOTHING",
        params_from_iter(definition(spec, origin).into_iter().chain([now.into()])),
    )?;
    Ok(n == 1)
}

/// Replaces a source's definition, keeping its state. A changed URL forgets the
/// validators; any change makes the source due now. Returns false if there is no such source.
pub fn update(conn: &Connection, spec: &SourceSpec, origin: Origin) -> Result<bool, StoreError> {
    let Some(old) = get(conn, spec.name.as_str())? else {
        return Ok(false);
    };
    if old.spec == *spec && old.origin == origin {
        return Ok(true);
    }
    let url_changed = old.spec.location != spec.location;
    let now = stamp(Utc::now());
    conn.execute(
        "UPDATE sources SET url = ?2, kind = ?3, format = ?4, department = ?5, region = ?6,
           interval_secs = ?7, trusted = ?8, timeout_secs = ?9, max_bytes = ?10, origin = ?11,
           etag = CASE WHEN ?12 THEN NULL ELSE etag END,
           last_modified = CASE WHEN ?12 THEN NULL ELSE last_modified END,
           next_attempt_at = NULL, updated_at = ?13
         WHERE name = ?1",
        params_from_iter(
            definition(spec, origin)
                .into_iter()
                .chain([url_changed.into(), now.into()]),
        ),
    )?;
    Ok(true)
}

/// Deletes a source (its ingested content stays). Returns false if there was none.
pub fn delete(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM sources WHERE name = ?1", [name])? == 1)
}

/// What [`seed`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Sources added from the config.
    pub added: usize,
    /// Existing sources whose definition the config rewrote (or confirmed).
    pub kept: usize,
    /// Config sources no longer in the config, removed.
    pub removed: usize,
}

/// Makes the table agree with the config file: every configured source exists with the
/// configured definition (state kept), and sources that came from the config but are no
/// longer in it are removed. Sources created through the API are left alone unless the
/// config names them, in which case the config wins. One transaction.
pub fn seed(conn: &mut Connection, specs: &[SourceSpec]) -> Result<SeedReport, StoreError> {
    let tx = conn.transaction()?;
    let mut report = SeedReport::default();
    for spec in specs {
        if insert(&tx, spec, Origin::Config)? {
            report.added += 1;
        } else {
            update(&tx, spec, Origin::Config)?;
            report.kept += 1;
        }
    }
    let names: Vec<String> = {
        let mut stmt = tx.prepare("SELECT name FROM sources WHERE origin = 'config'")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for name in names {
        if !specs.iter().any(|s| s.name.as_str() == name) {
            delete(&tx, &name)?;
            report.removed += 1;
        }
    }
    tx.commit()?;
    Ok(report)
}

/// Records a failed attempt: the error for staff, one more failure, and the next attempt
/// after backoff. Returns the next attempt time. A source that is not in the table (an
/// ad-hoc `headend import`) records nothing.
pub fn record_failure(
    conn: &Connection,
    spec: &SourceSpec,
    started: DateTime<Utc>,
    error: &str,
) -> Result<DateTime<Utc>, StoreError> {
    let failures: i64 = conn
        .query_row(
            "SELECT consecutive_failures FROM sources WHERE name = ?1",
            [spec.name.as_str()],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let failures = (failures.clamp(0, u32::MAX as i64 - 1) as u32) + 1;
    let now = Utc::now();
    let next =
        now + chrono::Duration::from_std(retry_delay(spec.interval, failures)).unwrap_or_default();
    conn.execute(
        "UPDATE sources SET last_attempt_at = ?2, last_outcome = 'error', last_error = ?3,
           last_error_at = ?4, consecutive_failures = ?5, next_attempt_at = ?6
         WHERE name = ?1",
        params![
            spec.name.as_str(),
            stamp(started),
            error,
            stamp(now),
            failures as i64,
            stamp(next),
        ],
    )?;
    Ok(next)
}

/// Records a successful attempt: validators for the next conditional GET (kept as they
/// were when `validators` is `None`, e.g. on 304), the outcome, the pass's counts, and the
/// next attempt one interval after this one started.
pub fn record_success(
    conn: &Connection,
    spec: &SourceSpec,
    started: DateTime<Utc>,
    outcome: Outcome,
    validators: Option<(&Option<String>, &Option<String>)>,
    report: Option<&serde_json::Value>,
) -> Result<(), StoreError> {
    let next = started + chrono::Duration::from_std(spec.interval).unwrap_or_default();
    let (set_validators, etag, last_modified) = match validators {
        Some((e, m)) => (true, e.clone(), m.clone()),
        None => (false, None, None),
    };
    conn.execute(
        "UPDATE sources SET last_attempt_at = ?2, last_success_at = ?3, last_outcome = ?4,
           last_report = COALESCE(?5, last_report), consecutive_failures = 0, next_attempt_at = ?6,
           etag = CASE WHEN ?7 THEN ?8 ELSE etag END,
           last_modified = CASE WHEN ?7 THEN ?9 ELSE last_modified END
         WHERE name = ?1",
        params![
            spec.name.as_str(),
            stamp(started),
            stamp(Utc::now()),
            outcome.as_str(),
            report.map(|r| r.to_string()),
            stamp(next),
            set_validators,
            etag,
            last_modified,
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::source::SourceFields;

    fn fields(name: &str, url: &str, kind: &str) -> SourceFields {
        SourceFields {
            name: name.into(),
            url: url.into(),
            kind: kind.into(),
            ..SourceFields::default()
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let i = Duration::from_secs(60);
        assert_eq!(retry_delay(i, 1), Duration::from_secs(60));
        assert_eq!(retry_delay(i, 2), Duration::from_secs(120));
        assert_eq!(retry_delay(i, 4), Duration::from_secs(480));
        assert_eq!(retry_delay(i, 40), MAX_BACKOFF);
        assert_eq!(retry_delay(i, u32::MAX), MAX_BACKOFF);
        let day = Duration::from_secs(86_400);
        assert_eq!(retry_delay(day, 5), day, "a long interval is its own cap");
    }

    #[test]
    fn seed_adds_rewrites_and_removes_config_sources_keeping_state() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrate(&mut conn).unwrap();
        let a = SourceSpec::try_from(fields("a", "http://127.0.0.1/a", "notices")).unwrap();
        let b = SourceSpec::try_from(fields("b", "b.csv", "cases")).unwrap();
        let api = SourceSpec::try_from(fields("c", "c.csv", "catalogue")).unwrap();
        assert!(insert(&conn, &api, Origin::Api).unwrap());
        let r = seed(&mut conn, &[a.clone(), b.clone()]).unwrap();
        assert_eq!((r.added, r.kept, r.removed), (2, 0, 0));
        record_failure(&conn, &a, Utc::now(), "boom").unwrap();

        let mut a2 = a.clone();
        a2.trusted = true;
        let r = seed(&mut conn, &[a2.clone()]).unwrap();
        assert_eq!((r.added, r.kept, r.removed), (0, 1, 1));
        let all = list(&conn).unwrap();
        let names: Vec<_> = all.iter().map(|s| s.spec.name.as_str()).collect();
        assert_eq!(names, ["a", "c"], "b removed, the API source kept");
        assert_eq!(all[0].spec, a2);
        assert_eq!(all[0].state.last_error.as_deref(), Some("boom"));
        assert_eq!(all[0].state.consecutive_failures, 1);
    }
}
