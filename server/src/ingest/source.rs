//! Sources: what is polled (a validated [`SourceSpec`]), and the per-source state the
//! poller keeps in the `sources` table (validators for conditional GET, last success, last
//! error, failures and the next attempt).
//!
//! A spec is the same value whether it comes from `[[sources]]` in the config file or from
//! the admin API: both deserialize [`SourceFields`] and validate it into a [`SourceSpec`],
//! so an invalid source is refused with a message naming the field before anything runs.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// Default poll interval. Default: 60 s.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Default total time allowed for one fetch (connect, headers and body). Default: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default largest body accepted. Default: 8 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// Smallest body limit a source may set (a limit below this is surely a typo).
pub const MIN_MAX_BYTES: u64 = 1024;
/// The largest document a source may be allowed to send: 64 MiB (a county's whole
/// catalogue export is a few MB; more is a misconfiguration or an attack).
pub const MAX_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Longest a failing source waits between attempts, unless its own interval is longer.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);
/// Longest source name.
pub const MAX_NAME_LEN: usize = 64;

/// Why a source definition is refused. Each message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The name is not an ASCII slug.
    #[error("source name {0:?} must be 1-64 characters of a-z, 0-9 and '-', starting with a letter or digit")]
    Name(String),
    /// The URL is neither http(s) nor a file path, or does not parse.
    #[error("source url {url:?} is not usable: {why}")]
    Url {
        /// The value given.
        url: String,
        /// Why.
        why: String,
    },
    /// An unknown kind.
    #[error("source kind {0:?} is unknown (notices, catalogue or cases)")]
    Kind(String),
    /// An unknown format.
    #[error("source format {0:?} is unknown (auto, rss, atom, json_feed, csv or json)")]
    Format(String),
    /// The format does not fit the kind (e.g. a catalogue as RSS).
    #[error("source format {format} does not fit kind {kind}")]
    FormatForKind {
        /// The kind.
        kind: SourceKind,
        /// The format.
        format: Format,
    },
    /// A number out of range.
    #[error("source {field} must be {rule}")]
    Range {
        /// The field.
        field: &'static str,
        /// What it must be.
        rule: &'static str,
    },
    /// An empty code where one is required if present.
    #[error("source {0} must not be empty when given")]
    EmptyCode(&'static str),
}

impl SpecError {
    /// The form field at fault and what staff are told (Chinese).
    pub fn for_staff(&self) -> (&'static str, String) {
        match self {
            SpecError::Name(_) => (
                "name",
                "名称只能用小写字母、数字和“-”，不超过64个字符，且不能以“-”开头".into(),
            ),
            SpecError::Url { .. } => (
                "url",
                "地址应为 http:// 或 https:// 开头的网址，或服务器上的文件路径".into(),
            ),
            SpecError::Kind(_) => ("kind", "请选择内容类型".into()),
            SpecError::Format(_) => ("format", "请选择数据格式".into()),
            SpecError::FormatForKind { kind, format } => (
                "format",
                format!(
                    "数据格式 {} 不适用于{}",
                    format.as_str(),
                    match kind {
                        SourceKind::Notices => "通知公告",
                        SourceKind::Catalogue => "政务公开目录",
                        SourceKind::Cases => "办件",
                    }
                ),
            ),
            SpecError::Range { field, .. } => (
                field,
                match *field {
                    "interval" => "采集间隔应在1秒到7天之间".into(),
                    "timeout" => "超时时间超出允许范围".into(),
                    _ => "大小上限应在1 KB到64 MB之间".into(),
                },
            ),
            SpecError::EmptyCode(field) => (field, "请选择或留空".into()),
        }
    }
}

/// A source's name: an ASCII slug (`county-notices`), the key of everything it ingests.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SourceName(String);

impl SourceName {
    /// Validates a slug: 1–64 of `a-z`, `0-9`, `-`, not starting with `-`.
    pub fn new(name: &str) -> Result<SourceName, SpecError> {
        let ok = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && !name.starts_with('-')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(SourceName(name.to_owned()))
        } else {
            Err(SpecError::Name(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The audit-log actor for this source's writes: `ingest:<name>`.
    pub fn actor(&self) -> String {
        format!("ingest:{}", self.0)
    }
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $err:ident { $($(#[$vmeta:meta])* $variant:ident = $s:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// The stored and JSON name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s,)+ }
            }
            /// Parses a stored name.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }

        impl FromStr for $name {
            type Err = SpecError;
            fn from_str(s: &str) -> Result<Self, SpecError> {
                $name::parse(s).ok_or_else(|| SpecError::$err(s.to_owned()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// What a source holds, which decides the table its items go to.
    SourceKind, Kind {
        /// 通知公告 and 公示 as a feed (RSS 2.0, Atom or JSON Feed) → `notices`.
        Notices = "notices",
        /// A disclosure-catalogue export (CSV or JSON) → `catalogue_entries`.
        Catalogue = "catalogue",
        /// A case (办件) export (CSV or JSON) → `cases`.
        Cases = "cases",
    }
}

string_enum! {
    /// How a source's document is written. `auto` sniffs it.
    Format, Format {
        /// Detect from the content. The default.
        Auto = "auto",
        /// RSS (2.0, 1.0 or 0.9x).
        Rss = "rss",
        /// Atom 1.0.
        Atom = "atom",
        /// JSON Feed 1.x.
        JsonFeed = "json_feed",
        /// CSV with a header row.
        Csv = "csv",
        /// JSON: an array of objects, or an object holding one.
        Json = "json",
    }
}

impl Format {
    /// Whether a source of `kind` may declare this format.
    pub fn fits(self, kind: SourceKind) -> bool {
        match (kind, self) {
            (_, Format::Auto) => true,
            (SourceKind::Notices, f) => matches!(f, Format::Rss | Format::Atom | Format::JsonFeed),
            (SourceKind::Catalogue | SourceKind::Cases, f) => {
                matches!(f, Format::Csv | Format::Json)
            }
        }
    }
}

/// Where a source's document is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An `http://` or `https://` URL, fetched with conditional GET.
    Http(reqwest::Url),
    /// A local file (e.g. an export dropped by a sync job).
    File(PathBuf),
}

impl Location {
    /// Parses `http(s)://…` as a URL, `file:///…` and anything without a scheme as a path.
    pub fn parse(text: &str) -> Result<Location, SpecError> {
        let bad = |why: &str| SpecError::Url {
            url: text.to_owned(),
            why: why.to_owned(),
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(bad("it is empty"));
        }
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let url = reqwest::Url::parse(trimmed).map_err(|e| bad(&e.to_string()))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(bad("it has no host"));
            }
            return Ok(Location::Http(url));
        }
        if let Some(path) = trimmed.strip_prefix("file://") {
            if path.is_empty() {
                return Err(bad("the file path is empty"));
            }
            return Ok(Location::File(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = trimmed.split_once("://") {
            if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(bad("only http://, https:// and file paths are supported"));
            }
        }
        Ok(Location::File(PathBuf::from(trimmed)))
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Http(url) => f.write_str(url.as_str()),
            Location::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A source as written in `[[sources]]` or sent to the admin API, before validation.
/// Every field but `name`, `url` and `kind` is optional; defaults are on [`SourceSpec`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFields {
    /// ASCII slug naming the source.
    pub name: String,
    /// `http(s)://…` URL or a file path.
    pub url: String,
    /// `notices`, `catalogue` or `cases`.
    pub kind: String,
    /// `auto` (default), `rss`, `atom`, `json_feed`, `csv` or `json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Default publishing body (department code) for items that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Default region code for notices (default: the county).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Poll interval in seconds (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
    /// Publish items directly (default false: they arrive as 待审核 for review).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    /// Total seconds allowed for one fetch (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Largest body accepted, in bytes (default 8 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
}

/// A validated source definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// Name; the key of every item the source ingests.
    pub name: SourceName,
    /// Where the document is read.
    pub location: Location,
    /// What it holds.
    pub kind: SourceKind,
    /// How it is written. Default: [`Format::Auto`].
    pub format: Format,
    /// Default publishing body (department code) for items that name none. Default: none
    /// (such items are rejected).
    pub department: Option<String>,
    /// Region notices are addressed to. Default: none, meaning the county.
    pub region: Option<String>,
    /// Time between polls. Default: 60 s.
    pub interval: Duration,
    /// Publish directly (`published`) instead of holding for review (`submitted`).
    /// Default: false.
    pub trusted: bool,
    /// Total time allowed for one fetch. Default: 30 s.
    pub timeout: Duration,
    /// Largest body accepted. Default: 8 MiB.
    pub max_bytes: u64,
}

fn optional_code(value: Option<String>, field: &'static str) -> Result<Option<String>, SpecError> {
    match value {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Err(SpecError::EmptyCode(field)),
        Some(v) => Ok(Some(v.trim().to_owned())),
    }
}

impl TryFrom<SourceFields> for SourceSpec {
    type Error = SpecError;

    fn try_from(f: SourceFields) -> Result<SourceSpec, SpecError> {
        let name = SourceName::new(&f.name)?;
        let location = Location::parse(&f.url)?;
        let kind: SourceKind = f.kind.parse()?;
        let format = match f.format.as_deref() {
            None => Format::Auto,
            Some(s) => s.parse()?,
        };
        if !format.fits(kind) {
            return Err(SpecError::FormatForKind { kind, format });
        }
        let interval = match f.interval {
            None => DEFAULT_INTERVAL,
            Some(0) => {
                return Err(SpecError::Range {
                    field: "interval",
                    rule: "at least 1 second",
                })
            }
            Some(s) if s > 7 * 24 * 3600 => {
                return Err(SpecError::Range {
                    field: "interval",
                    rule: "at most one week (604800 seconds)",
                })
            }
            Some(s) => Duration::from_secs(s),
        };
        let timeout = match f.timeout {
            None => DEFAULT_TIMEOUT,
            Some(s) if (1..=600).contains(&s) => Duration::from_secs(s),
            Some(_) => {
                return Err(SpecError::Range {
                    field: "timeout",
                    rule: "between 1 and 600 seconds",
                })
            }
        };
        let max_bytes = match f.max_bytes {
            None => DEFAULT_MAX_BYTES,
            Some(n) if (MIN_MAX_BYTES..=MAX_MAX_BYTES).contains(&n) => n,
            Some(_) => {
                return Err(SpecError::Range {
                    field: "max_bytes",
                    rule: "between 1024 and 67108864 (64 MiB)",
                })
            }
        };
        Ok(SourceSpec {
            name,
            location,
            kind,
            format,
            department: optional_code(f.department, "department")?,
            region: optional_code(f.region, "region")?,
            interval,
            trusted: f.trusted.unwrap_or(false),
            timeout,
            max_bytes,
        })
    }
}

impl From<&SourceSpec> for SourceFields {
    fn from(s: &SourceSpec) -> SourceFields {
        SourceFields {
            name: s.name.to_string(),
            url: s.location.to_string(),
            kind: s.kind.as_str().to_owned(),
            format: Some(s.format.as_str().to_owned()),
            department: s.department.clone(),
            region: s.region.clone(),
            interval: Some(s.interval.as_secs()),
            trusted: Some(s.trusted),
            timeout: Some(s.timeout.as_secs()),
            max_bytes: Some(s.max_bytes),
        }
    }
}

impl<'de> Deserialize<'de> for SourceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SourceSpec, D::Error> {
        let fields = SourceFields::deserialize(d)?;
        let name = fields.name.clone();
        SourceSpec::try_from(fields)
            .map_err(|e| serde::de::Error::custom(format!("source {name:?}: {e}")))
    }
}

impl Serialize for SourceSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SourceFields::from(self).serialize(s)
    }
}

/// Where a source's definition came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `[[sources]]` in the config file: rewritten from the file at every start.
    Config,
    /// Created through the admin API.
    Api,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Api => "api",
        }
    }
}

/// How the last attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The document was read and a pass completed.
    Changed,
    /// The server answered 304 Not Modified.
    NotModified,
    /// The attempt failed; see `last_error`.
    Error,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Changed => "changed",
            Outcome::NotModified => "not_modified",
            Outcome::Error => "error",
        }
    }

    fn parse(s: &str) -> Option<Outcome> {
        match s {
            "changed" => Some(Outcome::Changed),
            "not_modified" => Some(Outcome::NotModified),
            "error" => Some(Outcome::Error),
            _ => None,
        }
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
    let origin = match row.get::<_, String>(10)?.as_str() {
        "api" => Origin::Api,
        _ => Origin::Config,
    };
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

/// Inserts a new source. Returns false (and writes nothing) if the name is taken.
pub fn insert(conn: &Connection, spec: &SourceSpec, origin: Origin) -> Result<bool, StoreError> {
    let now = stamp(Utc::now());
    let n = conn.execute(
        "INSERT INTO sources (name, url, kind, format, department, region, interval_secs, trusted,
           timeout_secs, max_bytes, origin, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
         ON CONFLICT (name) DO NOTHING",
        params![
            spec.name.as_str(),
            spec.location.to_string(),
            spec.kind.as_str(),
            spec.format.as_str(),
            spec.department,
            spec.region,
            spec.interval.as_secs() as i64,
            spec.trusted,
            spec.timeout.as_secs() as i64,
            spec.max_bytes as i64,
            origin.as_str(),
            now,
        ],
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
        params![
            spec.name.as_str(),
            spec.location.to_string(),
            spec.kind.as_str(),
            spec.format.as_str(),
            spec.department,
            spec.region,
            spec.interval.as_secs() as i64,
            spec.trusted,
            spec.timeout.as_secs() as i64,
            spec.max_bytes as i64,
            origin.as_str(),
            url_changed,
            now,
        ],
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

    fn fields(name: &str, url: &str, kind: &str) -> SourceFields {
        SourceFields {
            name: name.into(),
            url: url.into(),
            kind: kind.into(),
            ..SourceFields::default()
        }
    }

    #[test]
    fn names_are_ascii_slugs() {
        assert!(SourceName::new("county-notices").is_ok());
        assert!(SourceName::new("a1").is_ok());
        for bad in ["", "-x", "County", "县公告", "a_b", "a b", &"x".repeat(65)] {
            assert!(SourceName::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn locations_are_http_urls_or_paths() {
        assert!(matches!(
            Location::parse("https://zwgk.example.gov.cn/rss.xml"),
            Ok(Location::Http(_))
        ));
        assert_eq!(
            Location::parse("exports/catalogue.csv").unwrap(),
            Location::File("exports/catalogue.csv".into())
        );
        assert_eq!(
            Location::parse("file:///srv/a.csv").unwrap(),
            Location::File("/srv/a.csv".into())
        );
        assert!(Location::parse("ftp://x/y").is_err());
        assert!(Location::parse("http://").is_err());
        assert!(Location::parse("  ").is_err());
    }

    #[test]
    fn defaults_and_validation() {
        let s = SourceSpec::try_from(fields("n", "http://127.0.0.1/x", "notices")).unwrap();
        assert_eq!(s.interval, DEFAULT_INTERVAL);
        assert_eq!(s.format, Format::Auto);
        assert!(!s.trusted);
        let mut f = fields("n", "a.csv", "catalogue");
        f.format = Some("rss".into());
        assert!(matches!(
            SourceSpec::try_from(f),
            Err(SpecError::FormatForKind { .. })
        ));
        let mut f = fields("n", "a.csv", "cases");
        f.interval = Some(0);
        assert!(SourceSpec::try_from(f).is_err());
        assert!(SourceSpec::try_from(fields("n", "a.csv", "feeds")).is_err());
        let mut f = fields("n", "a.csv", "cases");
        f.department = Some(" ".into());
        assert_eq!(
            SourceSpec::try_from(f),
            Err(SpecError::EmptyCode("department"))
        );
        // At most 64 MiB a document.
        let mut f = fields("n", "a.csv", "cases");
        f.max_bytes = Some(MAX_MAX_BYTES);
        assert_eq!(SourceSpec::try_from(f).unwrap().max_bytes, MAX_MAX_BYTES);
        for too_big in [MAX_MAX_BYTES + 1, 1 << 30] {
            let mut f = fields("n", "a.csv", "cases");
            f.max_bytes = Some(too_big);
            assert!(matches!(
                SourceSpec::try_from(f),
                Err(SpecError::Range {
                    field: "max_bytes",
                    ..
                })
            ));
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
