//! Notice feeds (RSS 2.0/1.0/0.9x, Atom, JSON Feed) to [`NoticeItem`]s: charset decoding,
//! feed-rs parsing, HTML bodies to text, and the text lint. Pure: bytes in, items and
//! per-item rejections out, no store — which is what the property tests drive.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::charset::{self, CharsetError};
use super::html::{self, Attachment};
use super::lint::{self, Reason, Rejection};
use super::source::Format;

/// Longest source id kept as is; longer ids are replaced by their hash.
pub const MAX_SOURCE_ID_CHARS: usize = 300;

/// A notice as the feed gives it, cleaned and linted, before publisher resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeItem {
    /// guid / Atom id / JSON Feed id, else the link, else a hash of the title.
    pub source_id: String,
    /// One line.
    pub title: String,
    /// Paragraphs separated by blank lines; a last `附件：…` paragraph lists attachments.
    pub body: String,
    /// The author the item (or the feed) names: matched against publishing bodies.
    pub author: Option<String>,
    /// Publication (or else update) time.
    pub published: Option<DateTime<Utc>>,
    /// The item's page on the platform.
    pub link: Option<String>,
    /// Linked or enclosed documents.
    pub attachments: Vec<Attachment>,
}

/// Items that passed parsing and the text lint, and the ones that did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    /// Good items, in document order, with unique keys.
    pub items: Vec<T>,
    /// Rejected items with their reasons.
    pub rejected: Vec<Rejection>,
    /// Every key the document holds (good or rejected): what is not here is missing.
    pub seen: Vec<String>,
}

impl<T> Parsed<T> {
    /// Takes `key` for the item being read: records it as seen and returns true, or, when an
    /// earlier item of the document has it, rejects this one as a duplicate and returns false.
    pub(crate) fn claim_key(&mut self, keys: &mut HashSet<String>, key: &str, title: &str) -> bool {
        if !keys.insert(key.to_owned()) {
            self.rejected.push(Rejection {
                key: key.to_owned(),
                title: title.to_owned(),
                reason: Reason::DuplicateKey(key.to_owned()),
            });
            return false;
        }
        self.seen.push(key.to_owned());
        true
    }
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Parsed {
            items: Vec::new(),
            rejected: Vec::new(),
            seen: Vec::new(),
        }
    }
}

/// Why a whole document was refused (nothing from it is stored).
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The bytes are not text in the declared charset.
    #[error(transparent)]
    Charset(#[from] CharsetError),
    /// Neither XML nor JSON.
    #[error("the document is not a feed (it starts with neither '<' nor '{{')")]
    NotAFeed,
    /// feed-rs refused the document (malformed or truncated XML/JSON, no feed root …).
    #[error("the feed cannot be parsed")]
    Feed(#[source] feed_rs::parser::ParseFeedError),
    /// The document is a different format than the source declares.
    #[error("the source declares {declared} but the document is {found}")]
    FormatMismatch {
        /// Declared.
        declared: Format,
        /// Found.
        found: &'static str,
    },
    /// A CSV document is malformed.
    #[error("the CSV document is malformed")]
    Csv(#[from] csv::Error),
    /// A JSON export is malformed.
    #[error("the JSON document is malformed")]
    Json(#[from] serde_json::Error),
    /// A JSON export holds no list of records.
    #[error("the JSON document holds no list of records")]
    NoRecords,
    /// The export lacks a column every record needs.
    #[error("the export has no {0} column")]
    MissingColumn(&'static str),
    /// The parser library panicked on this input (a bug there; the source is refused).
    #[error("the parser failed on this document")]
    ParserPanicked,
}

impl ParseError {
    /// A short Chinese description for staff.
    pub fn zh(&self) -> String {
        match self {
            ParseError::Charset(e) => e.zh(),
            ParseError::NotAFeed => "来源返回的不是订阅源（可能是错误页面）".to_owned(),
            ParseError::Feed(_) => "订阅源格式错误或内容不完整，无法解析".to_owned(),
            ParseError::FormatMismatch { declared, found } => {
                format!("来源设置的格式为 {declared}，实际内容为 {found}")
            }
            ParseError::Csv(_) => "CSV 文件格式错误".to_owned(),
            ParseError::Json(_) => "JSON 文件格式错误或内容不完整".to_owned(),
            ParseError::NoRecords => "JSON 文件中没有找到记录列表".to_owned(),
            ParseError::MissingColumn(c) => format!("导出文件缺少“{c}”列"),
            ParseError::ParserPanicked => "解析程序无法处理该内容".to_owned(),
        }
    }
}

/// Hex SHA-256 prefix used for generated ids.
pub fn short_hash(text: &str) -> String {
    crate::digest::hex(&Sha256::digest(text.as_bytes())[..12])
}

/// A key fit for storage: trimmed, invisible characters removed, long ones hashed.
pub fn clean_key(raw: &str) -> String {
    let key = html::one_line(raw);
    if key.chars().count() > MAX_SOURCE_ID_CHARS {
        format!("sha256:{}", short_hash(&key))
    } else {
        key
    }
}

/// Parses timestamps as feeds write them: RFC 3339, RFC 2822 (with the usual breakage),
/// and the forms Chinese platforms use (`2026-11-20 09:30:00`, `2026年11月20日` …), the
/// latter in county time.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if t.is_empty() || t.len() > 64 {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(t) {
        return Some(d.with_timezone(&Utc));
    }
    // RFC 2822 with a wrong or long weekday, or "UTC"/"Z" zones.
    let no_weekday = match t.split_once(", ") {
        Some((w, rest)) if w.chars().all(|c| c.is_ascii_alphabetic()) => rest,
        _ => t,
    };
    let fixed = no_weekday
        .trim_end_matches(" UTC")
        .trim_end_matches(" Z")
        .to_owned();
    let fixed = if fixed.len() != no_weekday.len() {
        format!("{fixed} +0000")
    } else {
        fixed
    };
    if let Ok(d) = DateTime::parse_from_str(&fixed, "%d %b %Y %H:%M:%S %z") {
        return Some(d.with_timezone(&Utc));
    }
    let county = crate::content::county_offset();
    const DATETIMES: &[&str] = &[
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y年%m月%d日 %H:%M:%S",
        "%Y年%m月%d日 %H:%M",
        "%Y年%m月%d日%H:%M",
    ];
    for f in DATETIMES {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
            return county
                .from_local_datetime(&n)
                .single()
                .map(|d| d.with_timezone(&Utc));
        }
    }
    let date = parse_date(t)?;
    let n = date.and_hms_opt(0, 0, 0)?;
    county
        .from_local_datetime(&n)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// Parses a date as exports write it: `2026-11-20`, `2026/11/20`, `2026.11.20`,
/// `2026年11月20日`, `20261120`, or any of these followed by a time.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if t.is_empty() || t.len() > 64 {
        return None;
    }
    const DATES: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d"];
    for f in DATES {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return Some(d);
        }
    }
    // A date followed by a time: parse the part before the first space or 'T'.
    let head = t.split([' ', 'T']).next().unwrap_or("");
    if head.len() < t.len() && !head.is_empty() {
        for f in DATES {
            if let Ok(d) = NaiveDate::parse_from_str(head, f) {
                return Some(d);
            }
        }
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(
            d.with_timezone(&crate::content::county_offset())
                .date_naive(),
        );
    }
    None
}

/// Skips a byte-order mark and whitespace; returns the first byte.
fn first_significant(bytes: &[u8]) -> Option<u8> {
    let rest = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .or_else(|| bytes.strip_prefix(b"\x84\x31\x95\x33"))
        .unwrap_or(bytes);
    if rest.starts_with(b"\xFF\xFE") || rest.starts_with(b"\xFE\xFF") {
        // UTF-16: look at the decoded text instead.
        return None;
    }
    rest.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// A title or name as one line. Always read as HTML, whatever its declared type: feeds
/// put markup in "plain" titles often enough, and a tag is never wanted on screen (a bare
/// `&` or `<` followed by a digit stays text in HTML too).
fn text_of(text: &feed_rs::model::Text) -> String {
    html::one_line(&html::html_to_text(&text.content).text)
}

/// Turns a feed-rs entry's body into text plus attachments.
fn body_of(entry: &feed_rs::model::Entry) -> (String, Vec<Attachment>) {
    let (raw, media) = match (&entry.content, &entry.summary) {
        (Some(c), _) if c.body.as_deref().is_some_and(|b| !b.trim().is_empty()) => (
            c.body.clone().unwrap_or_default(),
            c.content_type.to_string(),
        ),
        (_, Some(s)) => (s.content.clone(), s.content_type.to_string()),
        _ => (String::new(), String::new()),
    };
    if media.starts_with("text/plain") {
        (html::plain_to_text(&raw), Vec::new())
    } else {
        let c = html::html_to_text(&raw);
        (c.text, c.attachments)
    }
}

fn enclosures(entry: &feed_rs::model::Entry) -> Vec<Attachment> {
    let mut out = Vec::new();
    for link in &entry.links {
        if link.rel.as_deref() == Some("enclosure") {
            out.push(Attachment {
                name: link
                    .title
                    .clone()
                    .map(|t| html::one_line(&t))
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| file_name(&link.href)),
                url: link.href.clone(),
            });
        }
    }
    for media in &entry.media {
        for content in &media.content {
            if let Some(url) = &content.url {
                out.push(Attachment {
                    name: media
                        .title
                        .as_ref()
                        .map(text_of)
                        .filter(|t| !t.is_empty())
                        .unwrap_or_else(|| file_name(url.as_str())),
                    url: url.to_string(),
                });
            }
        }
    }
    out
}

fn file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if name.is_empty() {
        "附件".to_owned()
    } else {
        name.to_owned()
    }
}

/// Parses a notice feed. `http_charset` is the `charset` of the HTTP `Content-Type`;
/// `format` is what the source declares (`Auto` accepts any feed).
pub fn parse_notices(
    bytes: &[u8],
    http_charset: Option<&str>,
    format: Format,
) -> Result<Parsed<NoticeItem>, ParseError> {
    let first = match first_significant(bytes) {
        Some(b) => Some(b),
        None => {
            // UTF-16 (or empty): decode first, then look.
            let text = charset::decode_text(bytes, http_charset)?;
            text.trim_start().bytes().next()
        }
    };
    let text = match first {
        Some(b'<') => {
            if format == Format::JsonFeed {
                return Err(ParseError::FormatMismatch {
                    declared: format,
                    found: "XML",
                });
            }
            charset::decode_xml(bytes, http_charset)?
        }
        Some(b'{') => {
            if matches!(format, Format::Rss | Format::Atom) {
                return Err(ParseError::FormatMismatch {
                    declared: format,
                    found: "JSON",
                });
            }
            charset::decode_text(bytes, http_charset)?
        }
        _ => return Err(ParseError::NotAFeed),
    };
    let feed = parse_feed(&text)?;
    let found = match feed.feed_type {
        feed_rs::model::FeedType::Atom => Format::Atom,
        feed_rs::model::FeedType::JSON => Format::JsonFeed,
        _ => Format::Rss,
    };
    if format != Format::Auto && format != found {
        return Err(ParseError::FormatMismatch {
            declared: format,
            found: found.as_str(),
        });
    }
    let feed_author = feed
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref().map(html::one_line))
        .find(|n| !n.is_empty());
    let mut out = Parsed::default();
    let mut keys = HashSet::new();
    for (i, entry) in feed.entries.iter().enumerate() {
        let title = entry.title.as_ref().map(text_of).unwrap_or_default();
        let link = entry
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .map(|l| l.href.trim().to_owned())
            .filter(|l| !l.is_empty());
        let mut key = clean_key(&entry.id);
        if key.is_empty() {
            key = link.clone().map(|l| clean_key(&l)).unwrap_or_default();
        }
        if key.is_empty() {
            out.rejected.push(Rejection {
                key: format!("第{}条", i + 1),
                title,
                reason: Reason::MissingField("条目标识（guid 或链接）"),
            });
            continue;
        }
        if !out.claim_key(&mut keys, &key, &title) {
            continue;
        }
        let (mut body, mut attachments) = body_of(entry);
        for a in enclosures(entry) {
            if !attachments.iter().any(|b| b.url == a.url) {
                attachments.push(a);
            }
        }
        if let Err(reason) = lint::check_text(&title, &body, !attachments.is_empty()) {
            out.rejected.push(Rejection { key, title, reason });
            continue;
        }
        if !attachments.is_empty() {
            let names: Vec<&str> = attachments.iter().map(|a| a.name.as_str()).collect();
            body.push_str("\n\n附件：");
            body.push_str(&names.join("；"));
        }
        let author = entry
            .authors
            .iter()
            .filter_map(|p| p.name.as_deref().map(html::one_line))
            .find(|n| !n.is_empty())
            .or_else(|| feed_author.clone());
        out.items.push(NoticeItem {
            source_id: key,
            title,
            body,
            author,
            published: entry.published.or(entry.updated),
            link,
            attachments,
        });
    }
    Ok(out)
}

fn parse_feed(text: &str) -> Result<feed_rs::model::Feed, ParseError> {
    let parser = feed_rs::parser::Builder::new()
        .id_generator(|links, title, _base| {
            // No guid/id: the link is the identity; else the title.
            if let Some(link) = links.iter().find(|l| !l.href.trim().is_empty()) {
                return link.href.trim().to_owned();
            }
            match title {
                Some(t) if !t.content.trim().is_empty() => {
                    format!("title:{}", short_hash(t.content.trim()))
                }
                _ => String::new(),
            }
        })
        .timestamp_parser(parse_timestamp)
        .sanitize_content(false)
        .build();
    // feed-rs should never panic, but a panic on a hostile document must cost the source
    // one failed pass, not the poller.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        parser.parse(text.as_bytes())
    }))
    .map_err(|_| ParseError::ParserPanicked)?;
    result.map_err(ParseError::Feed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>示范县人民政府 通知公告</title><link>http://zw.example/</link>
<item><title>关于溪口镇临时停水的通知</title><link>http://zw.example/a/1.html</link>
<guid>zw-2026-1101</guid><author>溪口镇人民政府</author><pubDate>Thu, 19 Nov 2026 16:00:00 +0800</pubDate>
<description><![CDATA[<p>因主管道维修，11月21日停水。</p><p>请提前储水。</p>]]></description></item>
<item><title>无公开信息</title><guid>zw-2026-1102</guid><description>暂无</description></item>
<item><title>名单公示</title><guid>zw-2026-1103</guid><description>详见附件</description></item>
<item><title>补助名单公示</title><link>http://zw.example/a/4.html</link>
<description>&lt;p&gt;详见附件：&lt;a href="/f/名单.pdf"&gt;名单&lt;/a&gt;&lt;/p&gt;</description></item>
</channel></rss>"#;

    #[test]
    fn rss_items_are_cleaned_and_linted() {
        let p = parse_notices(RSS.as_bytes(), None, Format::Auto).unwrap();
        assert_eq!(p.items.len(), 2, "{p:#?}");
        let a = &p.items[0];
        assert_eq!(a.source_id, "zw-2026-1101");
        assert_eq!(a.title, "关于溪口镇临时停水的通知");
        assert_eq!(a.body, "因主管道维修，11月21日停水。\n\n请提前储水。");
        assert_eq!(a.author.as_deref(), Some("溪口镇人民政府"));
        assert_eq!(
            a.published.unwrap().to_rfc3339(),
            "2026-11-19T08:00:00+00:00"
        );
        let b = &p.items[1];
        assert_eq!(
            b.source_id, "http://zw.example/a/4.html",
            "no guid: the link"
        );
        assert_eq!(b.body, "详见附件：名单\n\n附件：名单");
        assert_eq!(p.rejected.len(), 2);
        assert_eq!(
            p.rejected[0].reason,
            Reason::PlaceholderTitle("无公开信息".into())
        );
        assert!(matches!(p.rejected[1].reason, Reason::AttachmentMissing(_)));
        assert_eq!(p.seen.len(), 4);
    }

    #[test]
    fn declared_formats_are_checked() {
        assert!(matches!(
            parse_notices(RSS.as_bytes(), None, Format::Atom),
            Err(ParseError::FormatMismatch { .. })
        ));
        assert!(matches!(
            parse_notices(RSS.as_bytes(), None, Format::JsonFeed),
            Err(ParseError::FormatMismatch { .. })
        ));
        assert!(parse_notices(RSS.as_bytes(), None, Format::Rss).is_ok());
    }

    #[test]
    fn garbage_is_refused_whole() {
        assert!(matches!(
            parse_notices(
                b"<html><body>502 Bad Gateway</body></html>",
                None,
                Format::Auto
            ),
            Err(ParseError::Feed(_))
        ));
        assert!(matches!(
            parse_notices(b"Service Unavailable", None, Format::Auto),
            Err(ParseError::NotAFeed)
        ));
        let cut = &RSS.as_bytes()[..RSS.len() / 2];
        assert!(parse_notices(cut, None, Format::Auto).is_err());
        assert!(parse_notices(b"", None, Format::Auto).is_err());
    }

    #[test]
    fn duplicate_guids_keep_the_first() {
        let doc = r#"<rss version="2.0"><channel><title>t</title>
<item><title>甲通知</title><guid>g</guid><description>甲的正文。</description></item>
<item><title>乙通知</title><guid>g</guid><description>乙的正文。</description></item>
</channel></rss>"#;
        let p = parse_notices(doc.as_bytes(), None, Format::Auto).unwrap();
        assert_eq!(p.items.len(), 1);
        assert_eq!(p.items[0].title, "甲通知");
        assert_eq!(p.rejected[0].reason, Reason::DuplicateKey("g".into()));
    }

    #[test]
    fn chinese_timestamps() {
        let t = parse_timestamp("2026-11-20 09:30:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-20T01:30:00+00:00");
        let t = parse_timestamp("2026年11月20日").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-19T16:00:00+00:00");
        assert!(parse_timestamp("Fri, 20 Nov 2026 09:30:00 GMT").is_some());
        assert!(parse_timestamp("Thursday, 20 Nov 2026 09:30:00 UTC").is_some());
        assert_eq!(parse_timestamp("昨天"), None);
        assert_eq!(parse_date("2026/3/5"), NaiveDate::from_ymd_opt(2026, 3, 5));
        assert_eq!(
            parse_date("2026-03-05 10:00"),
            NaiveDate::from_ymd_opt(2026, 3, 5)
        );
        assert_eq!(parse_date("20260305"), NaiveDate::from_ymd_opt(2026, 3, 5));
    }
}
