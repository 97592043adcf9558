//! The programme guide of a channel: its schedule over the coming days as programmes,
//! one per block occurrence (or one per screen when the operator chooses), gaps as the
//! fallback, approved full-screen urgent overrides in their place; written as XMLTV
//! (Chinese titles with `lang="zh"`, `+0800` times) for the cable operator and as JSON
//! for the admin pages.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

use super::airing::{at_county, segments, ChannelInfo};
use super::block;
use super::timeline::Source;
use super::urgent::{self, Form};
use crate::store::StoreError;

/// Most days a guide covers.
pub const MAX_DAYS: u32 = 14;
/// Seconds a page is counted for (per-screen guide, what airs at a moment) when its block
/// gives none: the channel's default dwell.
pub const DEFAULT_DWELL: u32 = 10;
/// Title of the default sequence in the guide.
pub const DEFAULT_TITLE: &str = "政务信息轮播";
const DEFAULT_DESC: &str = "本地区通知公告、办事指南、今日办结和民意调查轮流播出。";

/// One programme of the guide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Programme {
    /// Start.
    pub start: DateTime<FixedOffset>,
    /// End.
    pub stop: DateTime<FixedOffset>,
    /// Title (Chinese).
    pub title: String,
    /// Description (Chinese).
    pub desc: String,
    /// `block`, `screen`, `fallback` or `override`.
    pub kind: &'static str,
    /// The block, if any.
    pub block: Option<i64>,
}

/// What one block airs on a date: its name, description and screens' (headline, dwell).
struct BlockGuide {
    name: String,
    desc: String,
    screens: Vec<(String, i64)>,
}

fn block_guide(
    conn: &Connection,
    id: i64,
    region: &str,
    date: NaiveDate,
) -> Result<BlockGuide, StoreError> {
    let b = block::get(conn, id)?;
    let items = block::screens(conn, &block::items_of(conn, id)?, region, date)?;
    let screens: Vec<(String, i64)> = items
        .iter()
        .map(|i| {
            (
                i.screen.headline(),
                i64::from(i.dwell.unwrap_or(DEFAULT_DWELL)),
            )
        })
        .collect();
    let (name, mut desc) = b.map_or((format!("节目块{id}"), String::new()), |b| {
        (b.name, b.description)
    });
    if desc.trim().is_empty() {
        let heads: Vec<&str> = screens.iter().take(5).map(|s| s.0.as_str()).collect();
        desc = if heads.is_empty() {
            "本时段内容更新中。".into()
        } else {
            format!("本时段播出：{}。", heads.join("；"))
        };
    }
    Ok(BlockGuide {
        name,
        desc,
        screens,
    })
}

/// A programme before its times become instants: start, stop, title, description, kind,
/// block.
type Raw = (
    NaiveDateTime,
    NaiveDateTime,
    String,
    String,
    &'static str,
    Option<i64>,
);

/// The guide of `channel` for `days` days from the start of `from`'s date.
pub fn guide(
    conn: &Connection,
    channel: &ChannelInfo,
    from: NaiveDate,
    days: u32,
) -> Result<Vec<Programme>, StoreError> {
    let days = days.clamp(1, MAX_DAYS);
    let start = from.and_time(NaiveTime::MIN);
    let end = start + Duration::days(i64::from(days));
    let mut cache: HashMap<(i64, NaiveDate), BlockGuide> = HashMap::new();
    let mut raw: Vec<Raw> = Vec::new();
    for seg in segments(conn, &channel.name, start, end)? {
        let (block, fallback) = match seg.source {
            Source::Block { block, .. } => (Some(block), false),
            Source::Fallback => (channel.fallback, true),
        };
        let Some(b) = block else {
            raw.push((
                seg.start,
                seg.end,
                DEFAULT_TITLE.into(),
                DEFAULT_DESC.into(),
                "fallback",
                None,
            ));
            continue;
        };
        let date = seg.start.date();
        if let std::collections::hash_map::Entry::Vacant(v) = cache.entry((b, date)) {
            v.insert(block_guide(conn, b, &channel.region, date)?);
        }
        let Some(g) = cache.get(&(b, date)) else {
            continue;
        };
        let kind = if fallback { "fallback" } else { "block" };
        if channel.epg_per_notice && !fallback && !g.screens.is_empty() {
            // One programme per screen for one pass through the block, then the rest.
            let mut t = seg.start;
            for (headline, dwell) in &g.screens {
                let stop = (t + Duration::seconds(*dwell)).min(seg.end);
                if stop <= t {
                    break;
                }
                raw.push((
                    t,
                    stop,
                    headline.clone(),
                    format!("{}：{headline}", g.name),
                    "screen",
                    Some(b),
                ));
                t = stop;
            }
            if t < seg.end {
                raw.push((
                    t,
                    seg.end,
                    format!("{}（循环重播）", g.name),
                    g.desc.clone(),
                    "block",
                    Some(b),
                ));
            }
        } else {
            raw.push((
                seg.start,
                seg.end,
                g.name.clone(),
                g.desc.clone(),
                kind,
                Some(b),
            ));
        }
    }
    // Approved full-screen overrides take their time from whatever was planned.
    let now = Utc::now();
    let overrides: Vec<_> = urgent::airing_on(
        conn,
        &channel.name,
        now.min(at_county(start).map_or(now, |t| t.with_timezone(&Utc))),
    )?
    .into_iter()
    .filter(|o| o.form == Form::Full)
    .collect();
    for o in overrides {
        let (s, e) = (
            o.starts_at.naive_local().max(start),
            o.ends_at.naive_local().min(end),
        );
        if s >= e {
            continue;
        }
        let mut next = Vec::with_capacity(raw.len() + 2);
        for p in raw.drain(..) {
            if p.1 <= s || p.0 >= e {
                next.push(p);
                continue;
            }
            if p.0 < s {
                next.push((p.0, s, p.2.clone(), p.3.clone(), p.4, p.5));
            }
            if p.1 > e {
                next.push((e, p.1, p.2, p.3, p.4, p.5));
            }
        }
        next.push((
            s,
            e,
            format!("紧急通知：{}", o.notice_title),
            "紧急插播，全屏播出。".into(),
            "override",
            None,
        ));
        next.sort_by_key(|p| p.0);
        raw = next;
    }
    Ok(raw
        .into_iter()
        .filter_map(|(s, e, title, desc, kind, block)| {
            Some(Programme {
                start: at_county(s)?,
                stop: at_county(e)?,
                title,
                desc,
                kind,
                block,
            })
        })
        .collect())
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// The XMLTV channel id of `channel`.
pub fn channel_id(channel: &ChannelInfo) -> String {
    format!("{}.govchannel", channel.name)
}

/// The guide as an XMLTV document.
pub fn xmltv(channel: &ChannelInfo, programmes: &[Programme]) -> String {
    let id = channel_id(channel);
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n");
    x.push_str("<tv generator-info-name=\"GovChannel headend\">\n");
    let _ = writeln!(
        x,
        "  <channel id=\"{}\">\n    <display-name lang=\"zh\">{}</display-name>\n  </channel>",
        escape(&id),
        escape(&channel.title)
    );
    for p in programmes {
        let _ = writeln!(
            x,
            "  <programme start=\"{}\" stop=\"{}\" channel=\"{}\">\n    <title lang=\"zh\">{}</title>\n    <desc lang=\"zh\">{}</desc>\n    <category lang=\"zh\">政务</category>\n  </programme>",
            p.start.format("%Y%m%d%H%M%S %z"),
            p.stop.format("%Y%m%d%H%M%S %z"),
            escape(&id),
            escape(&p.title),
            escape(&p.desc),
        );
    }
    x.push_str("</tv>\n");
    x
}

/// The guide as JSON for the admin pages.
pub fn json(channel: &ChannelInfo, programmes: &[Programme]) -> serde_json::Value {
    serde_json::json!({
        "channel": { "name": channel.name, "title": channel.title, "id": channel_id(channel) },
        "programmes": programmes,
    })
}
