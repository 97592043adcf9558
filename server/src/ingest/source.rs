//! Sources: what is polled, a validated [`SourceSpec`]. The `sources` table that keeps
//! them with the poller's state is [`super::sources`].
//!
//! A spec is the same value whether it comes from `[[sources]]` in the config file or from
//! the admin API: both deserialize [`SourceFields`] and validate it into a [`SourceSpec`],
//! so an invalid source is refused with a message naming the field before anything runs.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::names::{vocabulary, UnknownName};

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
    #[error(transparent)]
    Kind(UnknownName),
    /// An unknown format.
    #[error(transparent)]
    Format(UnknownName),
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

vocabulary! {
    /// What a source holds, which decides the table its items go to.
    pub SourceKind as "source kind" {
        /// 通知公告 and 公示 as a feed (RSS 2.0, Atom or JSON Feed) → `notices`.
        Notices = "notices",
        /// A disclosure-catalogue export (CSV or JSON) → `catalogue_entries`.
        Catalogue = "catalogue",
        /// A case (办件) export (CSV or JSON) → `cases`.
        Cases = "cases",
    }
}

vocabulary! {
    /// How a source's document is written. `auto` sniffs it.
    pub Format as "source format" {
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
        let kind: SourceKind = f.kind.parse().map_err(SpecError::Kind)?;
        let format = match f.format.as_deref() {
            None => Format::Auto,
            Some(s) => s.parse().map_err(SpecError::Format)?,
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
}
