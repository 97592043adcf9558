//! Operators' edits of channels, blocks and the schedule: checked (a Chinese message per
//! field; nothing changes when anything is wrong), written in one transaction and
//! audited.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::block::{self, BlockItem, MAX_ITEMS};
use super::recurrence::{Repeat, Rule};
use super::timeline::{self, Entry};
use crate::accounts::{Role, User};
use crate::playout::sdt::NameError;
use crate::playout::spec::SpecError;
use crate::playout::{OutputKind, OutputSpec};
use crate::store::{self, StoreError};

/// Fields to fix: (field, Chinese message).
pub type Fields = Vec<(&'static str, String)>;

/// Why an edit was refused.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The caller may not do this (Chinese).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such object.
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state (Chinese).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Fields to fix.
    #[error("invalid: {0:?}")]
    Invalid(Fields),
}

/// How far ahead conflicts with other entries are looked for when an entry is saved.
pub const CHECK_DAYS: i64 = 400;
/// Dates accepted in the schedule.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Whether `user` may edit channels, blocks and the schedule.
pub fn may_schedule(user: &User) -> bool {
    user.has(Role::Operator) || user.has(Role::Admin)
}

fn require(user: &User) -> Result<(), EditError> {
    if may_schedule(user) {
        Ok(())
    } else {
        Err(EditError::Forbidden(
            "只有播出员或管理员可以编排节目".into(),
        ))
    }
}

fn audit(
    conn: &Connection,
    now: DateTime<Utc>,
    user: &User,
    action: &str,
    kind: &str,
    id: &str,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    store::audit(conn, now, &user.name, action, kind, id, &detail)?;
    Ok(())
}

/// A channel's schedule settings as edited.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ChannelForm {
    /// Title on air.
    pub title: String,
    /// Region code it serves.
    pub region: String,
    /// Fallback block id; `None`: the default sequence.
    #[serde(default)]
    pub fallback: Option<i64>,
    /// The guide lists each screen.
    #[serde(default)]
    pub epg_per_notice: bool,
}

/// Saves channel `name`'s settings.
pub fn update_channel(
    conn: &mut Connection,
    user: &User,
    name: &str,
    form: &ChannelForm,
    now: DateTime<Utc>,
) -> Result<(), EditError> {
    require(user)?;
    let before = super::airing::channel(conn, name)?.ok_or(EditError::NotFound)?;
    let mut errors: Fields = Vec::new();
    let title = form.title.trim();
    if title.is_empty() || title.chars().count() > 30 {
        errors.push(("title", "频道名称须为1到30个字".into()));
    }
    let region_ok: bool = conn
        .query_row(
            "SELECT count(*) FROM regions WHERE code = ?1",
            [form.region.trim()],
            |r| r.get::<_, i64>(0),
        )
        .map_err(StoreError::from)?
        > 0;
    if !region_ok {
        errors.push((
            "region",
            format!("没有代码为“{}”的地区", form.region.trim()),
        ));
    }
    if let Some(b) = form.fallback {
        let items = block::items_of(conn, b)?;
        if block::get(conn, b)?.is_none() {
            errors.push(("fallback", format!("没有编号为{b}的节目块")));
        } else if block::screens(
            conn,
            &items,
            form.region.trim(),
            crate::content::county_today(),
        )?
        .is_empty()
        {
            errors.push((
                "fallback",
                "这个节目块目前选不到任何内容，不能作为空档节目".into(),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(EditError::Invalid(errors));
    }
    let tx = conn.transaction().map_err(StoreError::from)?;
    tx.execute(
        "UPDATE channels SET title = ?2, region = ?3, fallback_block = ?4, epg_per_notice = ?5 WHERE name = ?1",
        rusqlite::params![name, title, form.region.trim(), form.fallback, form.epg_per_notice],
    )
    .map_err(StoreError::from)?;
    audit(
        &tx,
        now,
        user,
        "channel.update",
        "channel",
        name,
        serde_json::json!({ "before": before, "after": form }),
    )?;
    tx.commit().map_err(StoreError::from)?;
    Ok(())
}

/// Most outputs a channel may have from the store.
pub const MAX_OUTPUTS: usize = 4;
/// Highest CBR rate accepted from operators, bit/s.
pub const MAX_MUXRATE: u64 = 20_000_000;

/// Checks one output set by operators: `Err` holds the Chinese message. Only UDP to this
/// machine and HLS: sending beyond loopback and recording to files stay in the config.
fn check_output(o: &OutputSpec, channel: &str, title: &str) -> Result<(), String> {
    match o {
        OutputSpec::File(_) => {
            return Err("只能设置 UDP 或 HLS 输出；录制文件请用 headend stream".into())
        }
        OutputSpec::Udp(u) => {
            if u.allow_non_loopback.is_some() {
                return Err("发往其他机器的地址只能在配置文件 [[channels]] 中设定".into());
            }
            if let Some(addr) = u.address {
                if !addr.ip().is_loopback() {
                    return Err(format!(
                        "只能发送到本机地址（127.0.0.1 或 ::1），{addr} 不是；发往有线前端的地址须在配置文件 [[channels]] 中设定"
                    ));
                }
                if addr.port() == 0 {
                    return Err("UDP 端口不能为 0".into());
                }
            }
        }
        OutputSpec::Hls(h) => {
            if h.segment_seconds.is_some_and(|s| !(1..=6).contains(&s)) {
                return Err("HLS 切片时长须为1到6秒".into());
            }
            if h.window.is_some_and(|w| !(6..=10).contains(&w)) {
                return Err("HLS 播放列表须保留6到10个切片".into());
            }
        }
    }
    let ts = o.ts();
    if let Some(rate) = ts.muxrate {
        if !(1_000_000..=MAX_MUXRATE).contains(&rate) {
            return Err(format!(
                "码率须在 1000 到 {} kbit/s 之间",
                MAX_MUXRATE / 1000
            ));
        }
    }
    if o.names()
        .0
        .is_some_and(|n| n.trim().is_empty() || n.chars().count() > 30)
    {
        return Err("节目名称须为1到30个字".into());
    }
    if ts
        .pmt_pid
        .into_iter()
        .chain(ts.video_pid)
        .any(|p| !(0x20..=0x1ff0).contains(&p))
    {
        return Err("PID 须在 0x20 到 0x1ff0 之间".into());
    }
    // What remains (names the SDT cannot carry, PIDs that clash, the service id, field
    // combinations) is checked by planning it; its errors get their Chinese here.
    o.plan(channel, title, std::path::Path::new("."))
        .map(|_| ())
        .map_err(|e| match e {
            SpecError::PidClash { .. } => {
                "PMT PID 不能与视频 PID 或音频 PID（视频 PID + 1）相同".into()
            }
            SpecError::OutOfRange {
                field: "service_id",
                ..
            } => "节目号须在 1 到 65535 之间".into(),
            SpecError::ServiceName(NameError::TooLong { .. }) => "节目名称或提供者过长".into(),
            SpecError::ServiceName(NameError::NotGb2312 { .. }) => {
                "节目名称或提供者含有 GB2312 无法表示的字".into()
            }
            e => format!("输出设置有误（{e}）"),
        })
}

/// Replaces channel `name`'s outputs. An empty list: the channel airs as the config says
/// (one HLS output with `air_unconfigured`, else not at all).
pub fn set_outputs(
    conn: &mut Connection,
    user: &User,
    name: &str,
    outputs: &[OutputSpec],
    now: DateTime<Utc>,
) -> Result<(), EditError> {
    require(user)?;
    let before = super::airing::channel(conn, name)?.ok_or(EditError::NotFound)?;
    let mut errors: Fields = Vec::new();
    if outputs.len() > MAX_OUTPUTS {
        errors.push(("outputs", format!("一个频道最多{MAX_OUTPUTS}路输出")));
    }
    if outputs
        .iter()
        .filter(|o| o.kind() == OutputKind::Hls)
        .count()
        > 1
    {
        errors.push(("outputs", "一个频道只能有一路 HLS 输出".into()));
    }
    let others = super::airing::channels(conn)?;
    let mut taken: Vec<std::net::SocketAddr> = Vec::new();
    for (i, o) in outputs.iter().enumerate() {
        let n = i + 1;
        if let Err(e) = check_output(o, name, &before.title) {
            errors.push(("outputs", format!("第{n}路输出：{e}")));
            continue;
        }
        let Some(addr) = o.udp_address() else {
            continue;
        };
        if taken.contains(&addr) {
            errors.push(("outputs", format!("第{n}路输出：地址 {addr} 重复了")));
        }
        taken.push(addr);
        if let Some(c) = others.iter().find(|c| {
            c.name != name
                && c.outputs
                    .iter()
                    .filter_map(OutputSpec::udp_address)
                    .any(|a| a == addr)
        }) {
            errors.push((
                "outputs",
                format!("第{n}路输出：地址 {addr} 已由频道“{}”使用", c.title),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(EditError::Invalid(errors));
    }
    let json = serde_json::to_string(outputs)
        .map_err(|e| StoreError::Malformed(format!("outputs of channel {name}: {e}")))?;
    let tx = conn.transaction().map_err(StoreError::from)?;
    tx.execute(
        "UPDATE channels SET outputs = ?2 WHERE name = ?1",
        rusqlite::params![name, json],
    )
    .map_err(StoreError::from)?;
    audit(
        &tx,
        now,
        user,
        "channel.outputs",
        "channel",
        name,
        serde_json::json!({ "before": before.outputs, "after": outputs }),
    )?;
    tx.commit().map_err(StoreError::from)?;
    Ok(())
}

/// A block as edited.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct BlockForm {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Selectors in order.
    pub items: Vec<BlockItem>,
}

fn check_block(conn: &Connection, form: &BlockForm, id: Option<i64>) -> Result<Fields, StoreError> {
    let mut errors: Fields = Vec::new();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        errors.push(("name", "节目块名称须为1到40个字".into()));
    }
    let taken: Option<i64> = conn
        .query_row("SELECT id FROM blocks WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?;
    if taken.is_some_and(|t| Some(t) != id) {
        errors.push(("name", format!("已有名为“{name}”的节目块")));
    }
    if form.description.chars().count() > 200 {
        errors.push(("description", "简介最多200字".into()));
    }
    if form.items.is_empty() {
        errors.push(("items", "节目块至少要有一项内容".into()));
    }
    if form.items.len() > MAX_ITEMS {
        errors.push(("items", format!("节目块最多{MAX_ITEMS}项内容")));
    }
    let county = crate::pages::county_code(conn)?;
    let today = crate::content::county_today();
    for (i, item) in form.items.iter().enumerate() {
        match item.parse() {
            Err(m) => errors.push(("items", format!("第{}项：{m}", i + 1))),
            Ok(_) => {
                if block::select(conn, item, &county, today)?.is_empty() {
                    errors.push((
                        "items",
                        format!("第{}项“{}”目前选不到任何内容", i + 1, item.describe()),
                    ));
                }
            }
        }
    }
    Ok(errors)
}

fn write_items(conn: &Connection, id: i64, items: &[BlockItem]) -> Result<(), StoreError> {
    conn.execute("DELETE FROM block_items WHERE block_id = ?1", [id])?;
    for (pos, i) in items.iter().enumerate() {
        conn.execute(
            "INSERT INTO block_items (block_id, position, selector, arg, count, dwell) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![id, pos as i64, i.selector.trim(), i.arg.trim(), i.count, i.dwell],
        )?;
    }
    Ok(())
}

/// Creates a block: its id.
pub fn create_block(
    conn: &mut Connection,
    user: &User,
    form: &BlockForm,
    now: DateTime<Utc>,
) -> Result<i64, EditError> {
    require(user)?;
    let errors = check_block(conn, form, None)?;
    if !errors.is_empty() {
        return Err(EditError::Invalid(errors));
    }
    let tx = conn.transaction().map_err(StoreError::from)?;
    tx.execute(
        "INSERT INTO blocks (name, description, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![
            form.name.trim(),
            form.description.trim(),
            user.name,
            store::stamp(now)
        ],
    )
    .map_err(StoreError::from)?;
    let id = tx.last_insert_rowid();
    write_items(&tx, id, &form.items)?;
    audit(
        &tx,
        now,
        user,
        "block.create",
        "block",
        &id.to_string(),
        serde_json::json!(form),
    )?;
    tx.commit().map_err(StoreError::from)?;
    Ok(id)
}

/// Replaces block `id`.
pub fn update_block(
    conn: &mut Connection,
    user: &User,
    id: i64,
    form: &BlockForm,
    now: DateTime<Utc>,
) -> Result<(), EditError> {
    require(user)?;
    let before = block::get(conn, id)?.ok_or(EditError::NotFound)?;
    let errors = check_block(conn, form, Some(id))?;
    if !errors.is_empty() {
        return Err(EditError::Invalid(errors));
    }
    let tx = conn.transaction().map_err(StoreError::from)?;
    tx.execute(
        "UPDATE blocks SET name = ?2, description = ?3, updated_by = ?4, updated_at = ?5 WHERE id = ?1",
        rusqlite::params![id, form.name.trim(), form.description.trim(), user.name, store::stamp(now)],
    )
    .map_err(StoreError::from)?;
    write_items(&tx, id, &form.items)?;
    audit(
        &tx,
        now,
        user,
        "block.update",
        "block",
        &id.to_string(),
        serde_json::json!({ "before": before, "after": form }),
    )?;
    tx.commit().map_err(StoreError::from)?;
    Ok(())
}

/// Deletes block `id` (refused while the schedule or a channel uses it).
pub fn delete_block(
    conn: &mut Connection,
    user: &User,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), EditError> {
    require(user)?;
    let before = block::get(conn, id)?.ok_or(EditError::NotFound)?;
    let used: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM schedule_entries WHERE block_id = ?1)
                  + (SELECT count(*) FROM channels WHERE fallback_block = ?1)",
            [id],
            |r| r.get(0),
        )
        .map_err(StoreError::from)?;
    if used > 0 {
        return Err(EditError::Conflict(format!(
            "节目块“{}”仍在节目表或作为空档节目使用，不能删除",
            before.name
        )));
    }
    let tx = conn.transaction().map_err(StoreError::from)?;
    tx.execute("DELETE FROM blocks WHERE id = ?1", [id])
        .map_err(StoreError::from)?;
    audit(
        &tx,
        now,
        user,
        "block.delete",
        "block",
        &id.to_string(),
        serde_json::json!(before),
    )?;
    tx.commit().map_err(StoreError::from)?;
    Ok(())
}

/// A schedule entry as edited.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct EntryForm {
    /// Block id.
    pub block: i64,
    /// Start time, `HH:MM` or `HH:MM:SS` (county time).
    pub start: String,
    /// Length in minutes.
    pub minutes: u32,
    /// `once`, `daily`, `weekdays` or `days`.
    pub repeat: String,
    /// For `days`: weekday numbers, 1 = Monday … 7 = Sunday.
    #[serde(default)]
    pub weekdays: Vec<u8>,
    /// First date (the date of a `once`), `YYYY-MM-DD`.
    pub from: String,
    /// Last date, if it ends.
    #[serde(default)]
    pub until: Option<String>,
    /// Dates it does not air.
    #[serde(default)]
    pub except: Vec<String>,
    /// Cuts in at the second.
    #[serde(default)]
    pub hard: bool,
    /// Higher wins.
    #[serde(default)]
    pub priority: i32,
}

/// A stored entry with what staff read.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    /// Store id.
    pub id: i64,
    /// Channel.
    pub channel: String,
    /// Block id.
    pub block: i64,
    /// Block name.
    pub block_name: String,
    /// `HH:MM:SS`.
    pub start: String,
    /// Minutes.
    pub minutes: u32,
    /// The form's fields.
    pub form: EntryForm,
    /// 每天 08:00–09:00 …
    pub describe: String,
    /// Who made it.
    pub created_by: String,
}

fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| YEARS.contains(&chrono::Datelike::year(d)))
}

/// Checks an entry form: the entry (id 0), or the fields to fix.
pub fn parse_entry(form: &EntryForm) -> Result<Entry, Fields> {
    let mut errors: Fields = Vec::new();
    let start = NaiveTime::parse_from_str(form.start.trim(), "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(form.start.trim(), "%H:%M"))
        .ok();
    if start.is_none() {
        errors.push(("start", "开始时间格式不正确（例如 08:30）".into()));
    }
    if !(1..=1440).contains(&form.minutes) {
        errors.push(("minutes", "时长须在1到1440分钟之间".into()));
    }
    let mask = Repeat::mask_of(&form.weekdays);
    let repeat = Repeat::parse(form.repeat.trim(), mask);
    match repeat {
        None => errors.push((
            "repeat",
            "重复方式只能是仅一次、每天、工作日或每周指定几天".into(),
        )),
        Some(Repeat::Days(0)) => errors.push(("weekdays", "请至少选择一天".into())),
        _ => {}
    }
    let from = day(&form.from);
    if from.is_none() {
        errors.push((
            "from",
            "开始日期格式不正确（例如 2026-12-07，2000至2100年）".into(),
        ));
    }
    let until = match form
        .until
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => match day(s) {
            Some(d) => Some(d),
            None => {
                errors.push((
                    "until",
                    "结束日期格式不正确（例如 2026-12-31，2000至2100年）".into(),
                ));
                None
            }
        },
    };
    if let (Some(f), Some(u)) = (from, until) {
        if u < f {
            errors.push(("until", "结束日期不能早于开始日期".into()));
        }
    }
    let mut except = BTreeSet::new();
    for s in form
        .except
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        match day(s) {
            Some(d) => {
                except.insert(d);
            }
            None => errors.push(("except", format!("例外日期“{s}”格式不正确"))),
        }
    }
    if !(-9..=9).contains(&form.priority) {
        errors.push(("priority", "优先级须在-9到9之间".into()));
    }
    match (start, repeat, from, errors.is_empty()) {
        (Some(start), Some(repeat), Some(from), true) => Ok(Entry {
            id: 0,
            block: form.block,
            start,
            minutes: form.minutes,
            rule: Rule {
                repeat,
                from,
                until,
                except,
            },
            hard: form.hard,
            priority: form.priority,
        }),
        _ => Err(errors),
    }
}

/// How staff read an entry: 每天 08:00:00 起 60 分钟（硬开始，优先级 1）.
pub fn describe(e: &Entry) -> String {
    let mut text = format!(
        "{} {} 起 {} 分钟",
        e.rule.repeat.describe(),
        e.start.format("%H:%M:%S"),
        e.minutes
    );
    let mut notes = Vec::new();
    if e.hard {
        notes.push("硬开始".to_owned());
    }
    if e.priority != 0 {
        notes.push(format!("优先级 {}", e.priority));
    }
    if !notes.is_empty() {
        text.push_str(&format!("（{}）", notes.join("，")));
    }
    text
}

fn check_entry(
    conn: &Connection,
    channel: &str,
    form: &EntryForm,
    id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Result<Entry, Fields>, StoreError> {
    let mut entry = match parse_entry(form) {
        Ok(e) => e,
        Err(errors) => return Ok(Err(errors)),
    };
    entry.id = id.unwrap_or(-1);
    let mut errors: Fields = Vec::new();
    match block::get(conn, form.block)? {
        None => errors.push(("block", format!("没有编号为{}的节目块", form.block))),
        Some(b) if b.items.is_empty() => {
            errors.push(("block", format!("节目块“{}”没有内容", b.name)))
        }
        Some(_) => {}
    }
    // Conflicts with the channel's other entries, from today (or the entry's first date)
    // on, as far as they can be seen.
    let today = now
        .with_timezone(&crate::content::county_offset())
        .date_naive();
    let first = entry.rule.from.max(today);
    let last = match entry.rule.until {
        Some(u) => u.min(first + Duration::days(CHECK_DAYS)),
        None => first + Duration::days(CHECK_DAYS),
    };
    if last >= first {
        let mut all: Vec<Entry> = super::airing::entries_of(conn, channel)?
            .into_iter()
            .filter(|e| Some(e.id) != id)
            .collect();
        all.push(entry.clone());
        let from = first.and_time(NaiveTime::MIN);
        let to = (last + Duration::days(1)).and_time(NaiveTime::MIN);
        if let Some(c) = timeline::conflicts(&all, from, to)
            .into_iter()
            .find(|c| c.a == entry.id || c.b == entry.id)
        {
            let other = if c.a == entry.id { c.b } else { c.a };
            let what = if entry.hard {
                "硬开始时段"
            } else {
                "时段"
            };
            errors.push((
                "start",
                format!(
                    "与编号#{other}的编排（同一优先级）的{what}重叠：{} 至 {}。请调整时间，或设置不同的优先级",
                    c.start.format("%Y-%m-%d %H:%M"),
                    c.end.format("%Y-%m-%d %H:%M")
                ),
            ));
        }
    }
    Ok(if errors.is_empty() {
        Ok(entry)
    } else {
        Err(errors)
    })
}

fn entry_params(e: &Entry) -> (String, String, u8, String, Option<String>, String) {
    (
        e.start.format("%H:%M:%S").to_string(),
        e.rule.repeat.name().to_owned(),
        e.rule.repeat.mask(),
        e.rule.from.to_string(),
        e.rule.until.map(|u| u.to_string()),
        serde_json::to_string(
            &e.rule
                .except
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|_| "[]".into()),
    )
}

/// Adds an entry to `channel`'s schedule: its id.
pub fn create_entry(
    conn: &mut Connection,
    user: &User,
    channel: &str,
    form: &EntryForm,
    now: DateTime<Utc>,
) -> Result<i64, EditError> {
    require(user)?;
    if super::airing::channel(conn, channel)?.is_none() {
        return Err(EditError::NotFound);
    }
    let entry = check_entry(conn, channel, form, None, now)?.map_err(EditError::Invalid)?;
    let (start, repeat, mask, from, until, except) = entry_params(&entry);
    let tx = conn.transaction().map_err(StoreError::from)?;
    tx.execute(
        "INSERT INTO schedule_entries (channel, block_id, start_time, minutes, repeat, weekdays, date_from, date_until, exceptions, hard, priority, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        rusqlite::params![channel, entry.block, start, entry.minutes, repeat, mask, from, until, except, entry.hard, entry.priority, user.name, store::stamp(now)],
    )
    .map_err(StoreError::from)?;
    let id = tx.last_insert_rowid();
    audit(
        &tx,
        now,
        user,
        "schedule.create",
        "schedule_entry",
        &id.to_string(),
        serde_json::json!({ "channel": channel, "entry": form }),
    )?;
    tx.commit().map_err(StoreError::from)?;
    Ok(id)
}

/// Replaces entry `id` of `channel`.
pub fn update_entry(
    conn: &mut Connection,
    user: &User,
    channel: &str,
    id: i64,
    form: &EntryForm,
    now: DateTime<Utc>,
) -> Result<(), EditError> {
    require(user)?;
    let before = entry_view(conn, id)?
        .filter(|e| e.channel == channel)
        .ok_or(EditError::NotFound)?;
    let entry = check_entry(conn, channel, form, Some(id), now)?.map_err(EditError::Invalid)?;
    let (start, repeat, mask, from, until, except) = entry_params(&entry);
    let tx = conn.transaction().map_err(StoreError::from)?;
    tx.execute(
        "UPDATE schedule_entries SET block_id = ?2, start_time = ?3, minutes = ?4, repeat = ?5, weekdays = ?6, date_from = ?7, date_until = ?8, exceptions = ?9, hard = ?10, priority = ?11 WHERE id = ?1",
        rusqlite::params![id, entry.block, start, entry.minutes, repeat, mask, from, until, except, entry.hard, entry.priority],
    )
    .map_err(StoreError::from)?;
    audit(
        &tx,
        now,
        user,
        "schedule.update",
        "schedule_entry",
        &id.to_string(),
        serde_json::json!({ "channel": channel, "before": before.form, "after": form }),
    )?;
    tx.commit().map_err(StoreError::from)?;
    Ok(())
}

/// Removes entry `id` of `channel`.
pub fn delete_entry(
    conn: &mut Connection,
    user: &User,
    channel: &str,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), EditError> {
    require(user)?;
    let before = entry_view(conn, id)?
        .filter(|e| e.channel == channel)
        .ok_or(EditError::NotFound)?;
    let tx = conn.transaction().map_err(StoreError::from)?;
    tx.execute("DELETE FROM schedule_entries WHERE id = ?1", [id])
        .map_err(StoreError::from)?;
    audit(
        &tx,
        now,
        user,
        "schedule.delete",
        "schedule_entry",
        &id.to_string(),
        serde_json::json!({ "channel": channel, "entry": before.form }),
    )?;
    tx.commit().map_err(StoreError::from)?;
    Ok(())
}

fn view_of(
    conn: &Connection,
    channel: String,
    created_by: String,
    e: Entry,
) -> Result<EntryView, StoreError> {
    let block_name: String = conn
        .query_row("SELECT name FROM blocks WHERE id = ?1", [e.block], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or_default();
    let mask = e.rule.repeat.mask();
    Ok(EntryView {
        id: e.id,
        channel,
        block: e.block,
        block_name,
        start: e.start.format("%H:%M:%S").to_string(),
        minutes: e.minutes,
        describe: describe(&e),
        created_by,
        form: EntryForm {
            block: e.block,
            start: e.start.format("%H:%M:%S").to_string(),
            minutes: e.minutes,
            repeat: e.rule.repeat.name().to_owned(),
            weekdays: Repeat::days_of(mask),
            from: e.rule.from.to_string(),
            until: e.rule.until.map(|u| u.to_string()),
            except: e.rule.except.iter().map(|d| d.to_string()).collect(),
            hard: e.hard,
            priority: e.priority,
        },
    })
}

/// Entry `id` as staff read it.
pub fn entry_view(conn: &Connection, id: i64) -> Result<Option<EntryView>, StoreError> {
    let head: Option<(String, String)> = conn
        .query_row(
            "SELECT channel, created_by FROM schedule_entries WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((channel, created_by)) = head else {
        return Ok(None);
    };
    let entry = super::airing::entries_of(conn, &channel)?
        .into_iter()
        .find(|e| e.id == id);
    entry
        .map(|e| view_of(conn, channel, created_by, e))
        .transpose()
}

/// Every entry of `channel` as staff read them, by start time.
pub fn entry_views(conn: &Connection, channel: &str) -> Result<Vec<EntryView>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT id, created_by FROM schedule_entries WHERE channel = ?1")?;
    let mut by: std::collections::HashMap<i64, String> = stmt
        .query_map([channel], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for e in super::airing::entries_of(conn, channel)? {
        let created_by = by.remove(&e.id).unwrap_or_default();
        out.push(view_of(conn, channel.to_owned(), created_by, e)?);
    }
    out.sort_by(|a, b| (a.start.as_str(), a.id).cmp(&(b.start.as_str(), b.id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playout::spec::{Charset, UdpOutput};

    fn udp(f: impl FnOnce(&mut UdpOutput)) -> OutputSpec {
        let mut u = UdpOutput::default();
        f(&mut u);
        OutputSpec::Udp(u)
    }

    #[test]
    fn output_settings_the_ts_cannot_carry_get_their_own_chinese_message() {
        let check = |o: OutputSpec| check_output(&o, "county", "示范县政务频道").unwrap_err();
        let long = udp(|u| u.provider = Some("县".repeat(50)));
        assert_eq!(check(long), "节目名称或提供者过长");
        let outside = udp(|u| {
            u.provider = Some("小样😀".into());
            u.charset = Some(Charset::Gb2312);
        });
        assert_eq!(check(outside), "节目名称或提供者含有 GB2312 无法表示的字");
        let clash = udp(|u| u.pmt_pid = Some(0x101));
        assert!(check(clash).starts_with("PMT PID 不能与"));
        assert_eq!(
            check(udp(|u| u.service_id = Some(0))),
            "节目号须在 1 到 65535 之间"
        );
        assert_eq!(
            check_output(&udp(|_| {}), "county", "示范县政务频道"),
            Ok(())
        );
    }
}
