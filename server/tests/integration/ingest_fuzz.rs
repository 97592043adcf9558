//! Property tests (a fuzz harness) of the feed-to-notice conversion: arbitrary bytes,
//! structured random feeds (RSS/Atom/JSON Feed, UTF-8/GBK/GB18030, HTML with scripts,
//! tables, entities, placeholders, duplicate ids) and mutations of them. Nothing may panic;
//! every accepted item satisfies the output invariants; clean items come through exactly;
//! applying the result to a store succeeds with consistent counts.
//!
//! Runs a small batch in the normal suite. For a long run:
//!
//! ```sh
//! INGEST_FUZZ_SECONDS=600 cargo test --release -p headend --test integration ingest::fuzz -- --nocapture
//! ```
//!
//! `INGEST_FUZZ_CASES` sets the cases per strategy per batch (default 48);
//! `INGEST_FUZZ_SECONDS` keeps running batches until that many seconds have passed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use headend::ingest::feed::{parse_notices, NoticeItem, ParseError, Parsed};
use headend::ingest::{apply, lint, Format, SourceSpec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::spec;

/// Text inside `<script>`/`<style>` that must never reach a notice.
const MARKER: &str = "SCRIPTMARKERZ";

/// Words that together never form a placeholder.
const WORDS: &[&str] = &[
    "关于",
    "溪口镇",
    "上溪村",
    "冬季",
    "森林防火",
    "停水",
    "通知",
    "公告",
    "医保缴费",
    "老年人",
    "免费体检",
    "道路施工",
    "请绕行",
    "临时救助",
    "名单公示",
    "村委会",
    "便民服务中心",
    "办公时间",
    "征兵报名",
    "低保标准",
    "调整",
    "2026年",
    "11月",
    "20日",
    "上午9时",
    "PM2.5",
    "AQI",
];

const MESSY: &[&str] = &[
    "<p>",
    "</p>",
    "<br/>",
    "<div>",
    "</div>",
    "<b>",
    "</b>",
    "&amp;",
    "&nbsp;",
    "&#x4e2d;",
    "&#20013;",
    "&lt;",
    "&bogus;",
    "&",
    "<",
    ">",
    "\"",
    "'",
    "<!-- 注释 -->",
    "<td>",
    "</td>",
    "<tr>",
    "</tr>",
    "<table>",
    "</table>",
    "<th>姓名</th>",
    "<li>",
    "<ul>",
    "</ul>",
    // The leading `>` closes whatever tag or bogus comment the fragment before may have
    // left open (`<A`, `</`, `<?xml`), so these are real script and style elements.
    "><p><script>document.write('SCRIPTMARKERZ')</script>",
    "><p><style>.SCRIPTMARKERZ{color:red}</style>",
    "<a href=\"/f/名单.pdf\">名单</a>",
    "<a href='x.html'>链接</a>",
    "<img src=x.png>",
    "\u{3000}",
    "\u{a0}",
    "\r\n",
    "\n\n\n",
    "\t",
    " ",
    "\u{200b}",
    "\u{feff}",
    "无",
    "暂无",
    "详见附件",
    "无公开信息",
    "N/A",
    "——",
    "…",
    "<![CDATA[",
    "]]>",
    "<?xml",
    "&#0;",
    "&#xD800;",
];

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(str::to_owned),
        3 => prop::sample::select(MESSY).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
        1 => "\\PC{0,6}",
    ]
}

fn messy_text() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..10).prop_map(|v| v.concat())
}

fn clean_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 1..6).prop_map(|v| v.concat())
}

#[derive(Debug, Clone)]
struct Entry {
    id: Option<String>,
    link: Option<String>,
    title: String,
    body: String,
    /// Plain words only: must come through exactly.
    clean: bool,
    author: Option<String>,
    date: Option<String>,
}

fn entry() -> impl Strategy<Value = Entry> {
    let id = prop::option::weighted(0.85, (0u8..12).prop_map(|n| format!("id-{n}")));
    let link = prop::option::of((0u8..12).prop_map(|n| format!("https://zw.example/a/{n}.html")));
    let author = prop::option::of(
        prop::sample::select(&["溪口镇人民政府", "小样县民政局", "县民政局", "信息员", ""][..])
            .prop_map(str::to_owned),
    );
    let date = prop::option::of(
        prop::sample::select(
            &[
                "Fri, 20 Nov 2026 09:30:00 +0800",
                "2026-11-20T09:30:00+08:00",
                "2026-11-20 09:30:00",
                "2026年11月20日",
                "昨天",
                "Thursday, 32 Nov 2026 25:00:00 XYZ",
            ][..],
        )
        .prop_map(str::to_owned),
    );
    let clean = (clean_text(), clean_text()).prop_map(|(t, b)| (t, b, true));
    let messy = (messy_text(), messy_text()).prop_map(|(t, b)| (t, b, false));
    (id, link, prop_oneof![clean, messy], author, date).prop_map(
        |(id, link, (title, body, clean), author, date)| Entry {
            id,
            link,
            title,
            body,
            clean,
            author,
            date,
        },
    )
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Rss,
    Atom,
    Json,
}

#[derive(Debug, Clone)]
struct Feed {
    kind: Kind,
    charset: &'static str,
    http_charset: Option<&'static str>,
    entries: Vec<Entry>,
}

fn feed() -> impl Strategy<Value = Feed> {
    (
        prop_oneof![Just(Kind::Rss), Just(Kind::Atom), Just(Kind::Json)],
        prop::sample::select(&["utf-8", "gbk", "gb18030"][..]),
        any::<bool>(),
        prop::collection::vec(entry(), 0..8),
    )
        .prop_map(|(kind, charset, send_http, entries)| Feed {
            kind,
            charset: if matches!(kind, Kind::Json) {
                "utf-8"
            } else {
                charset
            },
            http_charset: send_http.then_some(if matches!(kind, Kind::Json) {
                "utf-8"
            } else {
                charset
            }),
            entries,
        })
}

/// XML-escapes text, dropping characters XML 1.0 cannot carry.
fn esc(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn render(feed: &Feed) -> Vec<u8> {
    let text = match feed.kind {
        Kind::Rss => {
            let mut s = format!(
                "<?xml version=\"1.0\" encoding=\"{}\"?>\n<rss version=\"2.0\"><channel><title>测试</title>\n",
                feed.charset
            );
            for e in &feed.entries {
                s.push_str("<item>");
                if let Some(id) = &e.id {
                    s.push_str(&format!("<guid>{}</guid>", esc(id)));
                }
                if let Some(l) = &e.link {
                    s.push_str(&format!("<link>{}</link>", esc(l)));
                }
                s.push_str(&format!("<title>{}</title>", esc(&e.title)));
                if let Some(a) = &e.author {
                    s.push_str(&format!("<author>{}</author>", esc(a)));
                }
                if let Some(d) = &e.date {
                    s.push_str(&format!("<pubDate>{}</pubDate>", esc(d)));
                }
                let body = if e.clean {
                    format!("<![CDATA[<p>{}</p>]]>", e.body)
                } else {
                    esc(&e.body)
                };
                s.push_str(&format!("<description>{body}</description></item>\n"));
            }
            s.push_str("</channel></rss>");
            s
        }
        Kind::Atom => {
            let mut s = format!(
                "<?xml version=\"1.0\" encoding=\"{}\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>测试</title><id>f</id><updated>2026-11-20T00:00:00Z</updated>\n",
                feed.charset
            );
            for e in &feed.entries {
                s.push_str("<entry>");
                if let Some(id) = &e.id {
                    s.push_str(&format!("<id>{}</id>", esc(id)));
                }
                if let Some(l) = &e.link {
                    s.push_str(&format!("<link rel=\"alternate\" href=\"{}\"/>", esc(l)));
                }
                s.push_str(&format!("<title type=\"text\">{}</title>", esc(&e.title)));
                if let Some(a) = &e.author {
                    s.push_str(&format!("<author><name>{}</name></author>", esc(a)));
                }
                if let Some(d) = &e.date {
                    s.push_str(&format!("<updated>{}</updated>", esc(d)));
                }
                s.push_str(&format!(
                    "<content type=\"html\">{}</content></entry>\n",
                    esc(&e.body)
                ));
            }
            s.push_str("</feed>");
            s
        }
        Kind::Json => {
            let items: Vec<serde_json::Value> = feed
                .entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let mut item = serde_json::json!({
                        "id": e.id.clone().unwrap_or_else(|| format!("j-{i}")),
                        "title": e.title,
                        "content_html": if e.clean { format!("<p>{}</p>", e.body) } else { e.body.clone() },
                    });
                    if let Some(l) = &e.link {
                        item["url"] = serde_json::json!(l);
                    }
                    if let Some(a) = &e.author {
                        item["authors"] = serde_json::json!([{ "name": a }]);
                    }
                    if let Some(d) = &e.date {
                        item["date_published"] = serde_json::json!(d);
                    }
                    item
                })
                .collect();
            serde_json::json!({
                "version": "https://jsonfeed.org/version/1.1",
                "title": "测试",
                "items": items,
            })
            .to_string()
        }
    };
    let encoding = encoding_rs::Encoding::for_label(feed.charset.as_bytes()).unwrap();
    encoding.encode(&text).0.into_owned()
}

/// What every successful conversion must satisfy, whatever the input.
fn check_invariants(p: &Parsed<NoticeItem>) -> Result<(), TestCaseError> {
    let mut ids = std::collections::HashSet::new();
    for item in &p.items {
        prop_assert!(!item.source_id.is_empty());
        prop_assert!(
            item.source_id.chars().count() <= 300,
            "{:?}",
            item.source_id
        );
        prop_assert!(
            ids.insert(item.source_id.clone()),
            "duplicate id {:?}",
            item.source_id
        );
        prop_assert!(p.seen.contains(&item.source_id));
        prop_assert!(!item.title.is_empty());
        prop_assert_eq!(item.title.trim(), item.title.as_str());
        prop_assert!(
            !item.title.chars().any(char::is_control),
            "{:?}",
            item.title
        );
        prop_assert!(!item.body.is_empty());
        prop_assert!(
            !item.body.contains("\n\n\n") && !item.body.contains('\r'),
            "{:?}",
            item.body
        );
        for para in item.body.split("\n\n") {
            prop_assert!(!para.is_empty(), "empty paragraph in {:?}", item.body);
            prop_assert_eq!(para.trim(), para);
            prop_assert!(!para.chars().any(char::is_control), "{:?}", para);
        }
        prop_assert!(
            lint::check_text(&item.title, &item.body, !item.attachments.is_empty()).is_ok(),
            "{item:?}"
        );
    }
    for r in &p.rejected {
        prop_assert!(!r.reason.zh().is_empty());
        prop_assert!(!r.key.is_empty());
    }
    Ok(())
}

/// Applies `p` to the fuzz store and checks the counts add up.
fn check_apply(
    conn: &RefCell<rusqlite::Connection>,
    spec: &SourceSpec,
    p: Parsed<NoticeItem>,
) -> Result<(), TestCaseError> {
    let items = p.items.len();
    let parse_rejected = p.rejected.len();
    let report = apply::apply_notices(&mut conn.borrow_mut(), spec, p, chrono::Utc::now())
        .map_err(|e| TestCaseError::fail(format!("apply failed: {e:?}")))?;
    prop_assert_eq!(
        report.added + report.updated + report.unchanged + report.rejected - parse_rejected,
        items
    );
    Ok(())
}

fn fuzz_store() -> RefCell<rusqlite::Connection> {
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    headend::store::migrate(&mut conn).unwrap();
    let county: headend::demo::County = serde_json::from_str(crate::MINI_COUNTY).unwrap();
    let anchor = county.anchor_date;
    headend::demo::load(&mut conn, &county, anchor).unwrap();
    RefCell::new(conn)
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn feed_conversion_never_panics_and_keeps_its_invariants() {
    let cases = env_number("INGEST_FUZZ_CASES", 48).clamp(1, u32::MAX as u64) as u32;
    let budget = Duration::from_secs(env_number("INGEST_FUZZ_SECONDS", 0));
    let started = Instant::now();
    let store_spec = spec("fuzz", "fuzz.xml", "notices", Some("xkz"));
    const FORMATS: &[Format] = &[Format::Auto, Format::Rss, Format::Atom, Format::JsonFeed];
    let mut totals: HashMap<&str, u64> = HashMap::new();
    let mut batches = 0u64;
    loop {
        // A fresh store per batch keeps every pass's scans small.
        let conn = fuzz_store();
        // 1. Arbitrary bytes, with or without a feed-like prefix.
        let prefixes = prop::sample::select(
            &[
                "",
                "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>",
                "{\"version\":\"https://jsonfeed.org/version/1\",\"items\":[",
                "<feed xmlns=\"http://www.w3.org/2005/Atom\">",
            ][..],
        );
        let bytes = (
            prefixes,
            prop::collection::vec(any::<u8>(), 0..2048),
            prop::sample::select(FORMATS),
            prop::option::of(prop::sample::select(
                &["utf-8", "gbk", "gb2312", "latin1", "bogus"][..],
            )),
        );
        runner(cases)
            .run(&bytes, |(prefix, tail, format, charset)| {
                let mut doc = prefix.as_bytes().to_vec();
                doc.extend_from_slice(&tail);
                if let Ok(p) = parse_notices(&doc, charset, format) {
                    check_invariants(&p)?;
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("arbitrary bytes: {e}"));
        *totals.entry("bytes").or_default() += cases as u64;

        // 2. Structured feeds: well formed, so they must parse; clean items come through.
        runner(cases)
            .run(&feed(), |f| {
                let doc = render(&f);
                let p = match parse_notices(&doc, f.http_charset, Format::Auto) {
                    Ok(p) => p,
                    // GBK can mislabel a tiny all-CJK document as UTF-8 by chance; only
                    // then is a charset error acceptable.
                    Err(ParseError::Charset(_))
                        if f.charset != "utf-8" && std::str::from_utf8(&doc).is_ok() =>
                    {
                        return Ok(())
                    }
                    Err(e) => {
                        return Err(TestCaseError::fail(format!(
                            "valid feed refused: {e}\n{}",
                            String::from_utf8_lossy(&doc)
                        )))
                    }
                };
                check_invariants(&p)?;
                prop_assert_eq!(p.items.len() + p.rejected.len(), f.entries.len(), "{:?}", p);
                // Script and style content never reaches a notice.
                for item in &p.items {
                    prop_assert!(
                        !item.title.contains(MARKER) && !item.body.contains(MARKER),
                        "{:?}",
                        item
                    );
                }
                let mut id_counts: HashMap<&str, usize> = HashMap::new();
                for e in &f.entries {
                    if let Some(id) = &e.id {
                        *id_counts.entry(id).or_default() += 1;
                    }
                }
                for e in f.entries.iter().filter(|e| e.clean) {
                    let Some(id) = e.id.as_deref().filter(|id| id_counts[id] == 1) else {
                        continue;
                    };
                    let Some(item) = p.items.iter().find(|i| i.source_id == id) else {
                        return Err(TestCaseError::fail(format!(
                            "clean item {id} missing: {p:?}"
                        )));
                    };
                    prop_assert_eq!(&item.title, &e.title);
                    prop_assert_eq!(&item.body, &e.body);
                }
                check_apply(&conn, &store_spec, p)
            })
            .unwrap_or_else(|e| panic!("structured feeds: {e}"));
        *totals.entry("structured").or_default() += cases as u64;

        // 3. Mutated feeds: truncated, bytes flipped or inserted.
        let mutated = (
            feed(),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
            any::<prop::sample::Index>(),
        );
        runner(cases)
            .run(&mutated, |(f, edits, cut)| {
                let mut doc = render(&f);
                for (at, byte, op) in edits {
                    if doc.is_empty() {
                        doc.push(byte);
                        continue;
                    }
                    let i = at.index(doc.len());
                    match op {
                        0 => doc[i] = byte,
                        1 => doc.insert(i, byte),
                        _ => {
                            doc.remove(i);
                        }
                    }
                }
                if !doc.is_empty() && cut.index(4) == 0 {
                    doc.truncate(cut.index(doc.len()));
                }
                if let Ok(p) = parse_notices(&doc, f.http_charset, Format::Auto) {
                    check_invariants(&p)?;
                    check_apply(&conn, &store_spec, p)?;
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("mutated feeds: {e}"));
        *totals.entry("mutated").or_default() += cases as u64;
        batches += 1;
        if started.elapsed() >= budget {
            break;
        }
    }
    let total: u64 = totals.values().sum();
    println!(
        "ingest fuzz: {total} cases in {batches} batches ({} arbitrary, {} structured, {} mutated) in {:.1} s",
        totals["bytes"], totals["structured"], totals["mutated"], started.elapsed().as_secs_f64()
    );
}
