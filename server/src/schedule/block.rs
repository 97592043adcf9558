//! Programme blocks: a named, ordered list of content selectors, each with a dwell time.
//! A selector is evaluated when the block airs (and for its preview and the guide), so a
//! block of "the latest 10 notices" always airs the latest ones.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::pages;
use crate::playout::{Item, Part};
use crate::render::Screen;
use crate::store::StoreError;

/// Most screens one list selector yields.
pub const MAX_COUNT: u32 = 50;
/// Dwell bounds of a block item, seconds.
pub const DWELL: std::ops::RangeInclusive<u32> = 3..=300;
/// Most items in a block.
pub const MAX_ITEMS: usize = 30;

/// One line of a block as stored and as the API and forms carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockItem {
    /// Selector kind (see [`Selector`]): `notices`, `notice`, `entry`, `section`,
    /// `guides`, `cases_today`, `poll`, `polls`.
    pub selector: String,
    /// Its argument: a notice, entry or poll id, a section (`disclosure`, `power`,
    /// `service`) or a department code; empty when it takes none.
    #[serde(default)]
    pub arg: String,
    /// How many screens at most (list selectors; 0 = all, at most [`MAX_COUNT`]).
    #[serde(default)]
    pub count: u32,
    /// Seconds each page stays up.
    pub dwell: u32,
}

/// What a block item selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The latest notices on air for the channel's region, with their public lists.
    Notices,
    /// One notice.
    Notice(i64),
    /// One catalogue entry (its guide for a service item, its flow for a power item).
    Entry(i64),
    /// A catalogue section: 政府信息公开 (`disclosure`), 行政职权 flows (`power`) or
    /// 便民服务 guides (`service`).
    Section(String),
    /// The service guides of a department.
    Guides(String),
    /// Cases completed today in the channel's region.
    CasesToday,
    /// One poll, with its results so far.
    Poll(i64),
    /// Polls open in the channel's region.
    Polls,
}

/// Chinese name of a catalogue section.
pub fn section_name(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "disclosure" => "政府信息公开",
        "power" => "行政职权",
        "service" => "便民服务",
        _ => return None,
    })
}

/// Every selector kind with its Chinese name and what its argument is, for the forms.
pub const SELECTORS: &[(&str, &str, &str)] = &[
    ("notices", "本地区最新通知公告", "不填"),
    ("notice", "指定通知公告", "通知编号"),
    ("entry", "指定目录条目", "目录编号"),
    ("section", "目录栏目", "disclosure、power 或 service"),
    ("guides", "某部门的办事指南", "部门代码"),
    ("cases_today", "今日办结", "不填"),
    ("poll", "指定民意调查（含结果）", "调查编号"),
    ("polls", "正在进行的民意调查", "不填"),
];

impl BlockItem {
    /// The selector, or what is wrong with it (Chinese).
    pub fn parse(&self) -> Result<Selector, String> {
        let arg = self.arg.trim();
        let id = |what: &str| -> Result<i64, String> {
            arg.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{what}编号“{arg}”不是正整数"))
        };
        if !DWELL.contains(&self.dwell) {
            return Err(format!(
                "每页停留时间须在{}到{}秒之间",
                DWELL.start(),
                DWELL.end()
            ));
        }
        if self.count > MAX_COUNT {
            return Err(format!("条数最多{MAX_COUNT}"));
        }
        Ok(match self.selector.as_str() {
            "notices" => Selector::Notices,
            "notice" => Selector::Notice(id("通知")?),
            "entry" => Selector::Entry(id("目录")?),
            "section" => {
                if section_name(arg).is_none() {
                    return Err(format!(
                        "目录栏目“{arg}”不存在（可选 disclosure 政府信息公开、power 行政职权、service 便民服务）"
                    ));
                }
                Selector::Section(arg.to_owned())
            }
            "guides" => {
                if arg.is_empty() {
                    return Err("请填写部门代码".into());
                }
                Selector::Guides(arg.to_owned())
            }
            "cases_today" => Selector::CasesToday,
            "poll" => Selector::Poll(id("民意调查")?),
            "polls" => Selector::Polls,
            other => return Err(format!("没有“{other}”这种内容选择")),
        })
    }

    /// How staff read it: 本地区最新通知公告（10条） · 每页10秒.
    pub fn describe(&self) -> String {
        let name = SELECTORS
            .iter()
            .find(|s| s.0 == self.selector)
            .map_or(self.selector.as_str(), |s| s.1);
        let arg = match self.selector.as_str() {
            "section" => section_name(&self.arg).unwrap_or("").to_owned(),
            "notices" | "cases_today" | "polls" => String::new(),
            _ => self.arg.clone(),
        };
        let mut text = name.to_owned();
        if !arg.is_empty() {
            text.push_str(&format!("：{arg}"));
        }
        if self.count > 0 {
            text.push_str(&format!("（{}条）", self.count));
        }
        text.push_str(&format!(" · 每页{}秒", self.dwell));
        text
    }
}

fn limit(count: u32) -> usize {
    if count == 0 {
        MAX_COUNT as usize
    } else {
        count.min(MAX_COUNT) as usize
    }
}

fn screen_item(key: String, screen: Screen, part: Part, dwell: u32) -> Item {
    Item {
        key,
        screen: Arc::new(screen),
        part,
        dwell: Some(dwell),
    }
}

/// The screens a catalogue entry airs as: its guide (service), flow (power) or itself.
fn entry_screen(conn: &Connection, id: i64) -> Result<Option<(String, Screen)>, StoreError> {
    let kind: Option<String> = conn
        .query_row(
            "SELECT kind FROM catalogue_entries WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(kind) = kind else { return Ok(None) };
    if kind == "service" {
        if let Some(g) = pages::guide(conn, id)? {
            return Ok(Some((format!("guide:{id}"), Screen::Guide(g))));
        }
    }
    if kind == "power" {
        if let Some(f) = pages::flow(conn, id)? {
            return Ok(Some((format!("flow:{id}"), Screen::Flow(f))));
        }
    }
    Ok(pages::entry(conn, id)?.map(|e| (format!("entry:{id}"), Screen::Entry(e))))
}

fn ids(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt
        .query_map(params, |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(rows)
}

/// The screens `item` selects for a channel of `region` on `today`, in order.
pub fn select(
    conn: &Connection,
    item: &BlockItem,
    region: &str,
    today: NaiveDate,
) -> Result<Vec<Item>, StoreError> {
    let Ok(selector) = item.parse() else {
        return Ok(Vec::new());
    };
    let (n, dwell) = (limit(item.count), item.dwell);
    let mut out = Vec::new();
    let notice_with_lists = |out: &mut Vec<Item>, id: i64, screen| -> Result<(), StoreError> {
        out.push(screen_item(
            format!("notice:{id}"),
            Screen::Notice(screen),
            Part::Always,
            dwell,
        ));
        for (list_id, list) in pages::public_lists_of(conn, id)? {
            out.push(screen_item(
                format!("public_list:{list_id}"),
                Screen::PublicList(list),
                Part::Attached,
                dwell,
            ));
        }
        Ok(())
    };
    match selector {
        Selector::Notices => {
            for (id, _, screen) in pages::notices_on_air(conn, region, today, n)? {
                notice_with_lists(&mut out, id, screen)?;
            }
        }
        Selector::Notice(id) => {
            let published: bool = conn
                .query_row(
                    "SELECT status = 'published' AND valid_from <= ?2
                            AND (valid_until IS NULL OR valid_until >= ?2)
                     FROM notices WHERE id = ?1",
                    rusqlite::params![id, today.to_string()],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(false);
            if published {
                if let Some(screen) = pages::notice(conn, id, today)? {
                    notice_with_lists(&mut out, id, screen)?;
                }
            }
        }
        Selector::Entry(id) => {
            if let Some((key, screen)) = entry_screen(conn, id)? {
                out.push(screen_item(key, screen, Part::Always, dwell));
            }
        }
        Selector::Section(kind) => {
            let found = ids(
                conn,
                "SELECT id FROM catalogue_entries WHERE kind = ?1
                 ORDER BY issued_on DESC, id DESC LIMIT ?2",
                rusqlite::params![kind, n as i64],
            )?;
            for id in found {
                if let Some((key, screen)) = entry_screen(conn, id)? {
                    out.push(screen_item(key, screen, Part::Always, dwell));
                }
            }
        }
        Selector::Guides(department) => {
            let found = ids(
                conn,
                "SELECT e.id FROM catalogue_entries e JOIN service_guides g ON g.entry_id = e.id
                 WHERE e.department = ?1 ORDER BY e.issued_on DESC, e.id DESC LIMIT ?2",
                rusqlite::params![department, n as i64],
            )?;
            for id in found {
                if let Some(g) = pages::guide(conn, id)? {
                    out.push(screen_item(
                        format!("guide:{id}"),
                        Screen::Guide(g),
                        Part::Always,
                        dwell,
                    ));
                }
            }
        }
        Selector::CasesToday => {
            if let Some(list) = pages::cases_completed_today(conn, region, today)? {
                out.push(screen_item(
                    "cases:today".into(),
                    Screen::List(list),
                    Part::Always,
                    dwell,
                ));
            }
        }
        Selector::Poll(id) => {
            // From its first day on (its results stay on air after it closes).
            let opened: bool = conn
                .query_row(
                    "SELECT opens_on <= ?2 FROM polls WHERE id = ?1",
                    rusqlite::params![id, today.to_string()],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(false);
            if !opened {
                return Ok(out);
            }
            if let Some(p) = pages::poll(conn, id, true)? {
                out.push(screen_item(
                    format!("poll:{id}"),
                    Screen::Poll(p),
                    Part::Always,
                    dwell,
                ));
            }
        }
        Selector::Polls => {
            for (id, p) in pages::open_polls(conn, region, today)?.into_iter().take(n) {
                out.push(screen_item(
                    format!("poll:{id}"),
                    Screen::Poll(p),
                    Part::Always,
                    dwell,
                ));
            }
        }
    }
    Ok(out)
}

/// The screens a block airs, in order, each once (the first selector that names a screen
/// places it).
pub fn screens(
    conn: &Connection,
    items: &[BlockItem],
    region: &str,
    today: NaiveDate,
) -> Result<Vec<Item>, StoreError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for i in items {
        for it in select(conn, i, region, today)? {
            if seen.insert(it.key.clone()) {
                out.push(it);
            }
        }
    }
    Ok(out)
}

/// A stored block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Block {
    /// Store id.
    pub id: i64,
    /// Name (the guide's programme title).
    pub name: String,
    /// Description (the guide's programme description).
    pub description: String,
    /// Its selectors in order.
    pub items: Vec<BlockItem>,
    /// Who changed it last.
    pub updated_by: String,
    /// When (RFC 3339).
    pub updated_at: String,
}

/// The items of block `id`, in order.
pub fn items_of(conn: &Connection, id: i64) -> Result<Vec<BlockItem>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT selector, arg, count, dwell FROM block_items WHERE block_id = ?1 ORDER BY position",
    )?;
    let rows = stmt
        .query_map([id], |r| {
            Ok(BlockItem {
                selector: r.get(0)?,
                arg: r.get(1)?,
                count: r.get(2)?,
                dwell: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Block `id`, if it exists.
pub fn get(conn: &Connection, id: i64) -> Result<Option<Block>, StoreError> {
    let head = conn
        .query_row(
            "SELECT name, description, updated_by, updated_at FROM blocks WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((name, description, updated_by, updated_at)) = head else {
        return Ok(None);
    };
    Ok(Some(Block {
        id,
        name,
        description,
        items: items_of(conn, id)?,
        updated_by,
        updated_at,
    }))
}

/// Every block, by name.
pub fn all(conn: &Connection) -> Result<Vec<Block>, StoreError> {
    let ids = ids(conn, "SELECT id FROM blocks ORDER BY name", [])?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(b) = get(conn, id)? {
            out.push(b);
        }
    }
    Ok(out)
}
