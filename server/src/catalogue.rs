//! Editing catalogue entries (政务公开目录) by the editors of their department: the
//! title, 文号, summary, body, end of validity, required update frequency, and for items
//! with a service guide (办事指南) its conditions, materials, steps, promised time limit,
//! fees, place, hours and phone. Saving counts as an update (the entry's update clock
//! restarts) and is audited with every changed field before and after. Entries that an
//! ingest source maintains are not edited here: the next pass would overwrite the change,
//! so staff are sent to the source platform instead.
//!
//! Plain functions over a connection, run on the store's thread.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::accounts::User;
use crate::content::UpdateFrequency;
use crate::pages::json_list;
use crate::publishing::{may_edit, PublishError, MAX_BODY_CHARS, MAX_TITLE_CHARS};
use crate::store::stamp;

/// Longest summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 500;
/// Most lines in a list of the guide (conditions, materials, steps).
pub const MAX_LIST_LINES: usize = 30;
/// Longest line of such a list, in characters.
pub const MAX_LINE_CHARS: usize = 200;
/// Longest short field of the guide (fees, place, hours, phone), in characters.
pub const MAX_SHORT_CHARS: usize = 200;

/// One required material of a service guide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    /// Name.
    pub name: String,
    /// Copies, e.g. 原件1份.
    #[serde(default)]
    pub copies: String,
    /// Note.
    #[serde(default)]
    pub note: String,
}

/// The editable part of a service guide.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuideForm {
    /// 办理条件, one per item.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// 申请材料.
    #[serde(default)]
    pub materials: Vec<Material>,
    /// 办理流程, one per step.
    #[serde(default)]
    pub steps: Vec<String>,
    /// 承诺时限 in working days (none: 即来即办 unless a legal limit is stored).
    #[serde(default)]
    pub promised_limit_days: Option<u32>,
    /// 收费标准.
    #[serde(default)]
    pub fees: String,
    /// 办理地点.
    #[serde(default)]
    pub place: String,
    /// 办理时间.
    #[serde(default)]
    pub hours: String,
    /// 咨询电话.
    #[serde(default)]
    pub phone: String,
}

/// The editable fields of a catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryForm {
    /// 标题.
    pub title: String,
    /// 文号.
    #[serde(default)]
    pub doc_no: String,
    /// 摘要.
    #[serde(default)]
    pub summary: String,
    /// 正文.
    #[serde(default)]
    pub body: String,
    /// 有效期至 (YYYY-MM-DD), empty for none.
    #[serde(default)]
    pub valid_until: String,
    /// 更新频率 (`monthly`, …).
    pub update_frequency: String,
    /// The service guide, for entries that have one.
    #[serde(default)]
    pub guide: Option<GuideForm>,
}

/// What the edit page shows besides the form.
#[derive(Debug, Clone, Serialize)]
pub struct EntryInfo {
    /// Row id.
    pub id: i64,
    /// 索引号.
    pub index_no: String,
    /// Department code.
    pub department: String,
    /// Department name.
    pub department_name: String,
    /// The ingest source that maintains it, if any.
    pub source: Option<String>,
    /// Last update (RFC 3339).
    pub updated_at: String,
    /// Whether it has a service guide.
    pub has_guide: bool,
}

/// Entry `id`'s form and facts, if it exists.
pub fn entry(conn: &Connection, id: i64) -> Result<Option<(EntryForm, EntryInfo)>, PublishError> {
    let row = conn
        .query_row(
            "SELECT e.title, e.doc_no, e.summary, e.body, e.valid_until, e.update_frequency,
                    e.index_no, e.department, d.name, e.source, e.updated_at
             FROM catalogue_entries e JOIN departments d ON d.code = e.department
             WHERE e.id = ?1",
            [id],
            |r| {
                Ok((
                    EntryForm {
                        title: r.get(0)?,
                        doc_no: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        summary: r.get(2)?,
                        body: r.get(3)?,
                        valid_until: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        update_frequency: r.get(5)?,
                        guide: None,
                    },
                    EntryInfo {
                        id,
                        index_no: r.get(6)?,
                        department: r.get(7)?,
                        department_name: r.get(8)?,
                        source: r.get(9)?,
                        updated_at: r.get(10)?,
                        has_guide: false,
                    },
                ))
            },
        )
        .optional()?;
    let Some((mut form, mut info)) = row else {
        return Ok(None);
    };
    // A list that does not read is an error, never an empty list (saving it would lose it).
    let guide = conn
        .query_row(
            "SELECT conditions, materials, steps, promised_limit_days, fees, place, hours, phone
             FROM service_guides WHERE entry_id = ?1",
            [id],
            |r| {
                Ok((
                    [r.get::<_, String>(0)?, r.get(1)?, r.get(2)?],
                    r.get(3)?,
                    [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
                ))
            },
        )
        .optional()?;
    form.guide = match guide {
        None => None,
        Some((
            [conditions, materials, steps],
            promised_limit_days,
            [fees, place, hours, phone],
        )) => Some(GuideForm {
            conditions: json_list(&conditions, "service_guides.conditions")?,
            materials: json_list(&materials, "service_guides.materials")?,
            steps: json_list(&steps, "service_guides.steps")?,
            promised_limit_days,
            fees,
            place,
            hours,
            phone,
        }),
    };
    info.has_guide = form.guide.is_some();
    Ok(Some((form, info)))
}

fn too_long(text: &str, max: usize) -> bool {
    text.chars().count() > max
}

/// Checks `form`: each problem as (field, Chinese message).
pub fn check(form: &EntryForm) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    let title = form.title.trim();
    if title.is_empty() {
        errors.push(("title", "请填写标题".to_owned()));
    } else if too_long(title, MAX_TITLE_CHARS) {
        errors.push(("title", format!("标题不能超过{MAX_TITLE_CHARS}个字")));
    }
    if too_long(&form.doc_no, 100) {
        errors.push(("doc_no", "文号不能超过100个字".to_owned()));
    }
    if too_long(&form.summary, MAX_SUMMARY_CHARS) {
        errors.push(("summary", format!("摘要不能超过{MAX_SUMMARY_CHARS}个字")));
    }
    if too_long(&form.body, MAX_BODY_CHARS) {
        errors.push(("body", format!("正文不能超过{MAX_BODY_CHARS}个字")));
    }
    let until = form.valid_until.trim();
    if !until.is_empty() && NaiveDate::parse_from_str(until, "%Y-%m-%d").is_err() {
        errors.push(("valid_until", "有效期应为“年-月-日”格式的日期".to_owned()));
    }
    if UpdateFrequency::parse(&form.update_frequency).is_none() {
        errors.push(("update_frequency", "请选择更新频率".to_owned()));
    }
    if let Some(g) = &form.guide {
        for (field, label, lines) in [
            ("conditions", "办理条件", &g.conditions),
            ("steps", "办理流程", &g.steps),
        ] {
            if lines.len() > MAX_LIST_LINES {
                errors.push((field, format!("{label}最多{MAX_LIST_LINES}条")));
            } else if lines.iter().any(|l| too_long(l, MAX_LINE_CHARS)) {
                errors.push((field, format!("{label}每条不超过{MAX_LINE_CHARS}个字")));
            }
        }
        if g.materials.len() > MAX_LIST_LINES {
            errors.push(("materials", format!("申请材料最多{MAX_LIST_LINES}项")));
        } else if g.materials.iter().any(|m| m.name.trim().is_empty()) {
            errors.push(("materials", "每项申请材料都要写名称".to_owned()));
        } else if g.materials.iter().any(|m| {
            too_long(&m.name, MAX_LINE_CHARS)
                || too_long(&m.copies, MAX_SHORT_CHARS)
                || too_long(&m.note, MAX_LINE_CHARS)
        }) {
            errors.push((
                "materials",
                format!("申请材料每项不超过{MAX_LINE_CHARS}个字"),
            ));
        }
        if g.promised_limit_days.is_some_and(|d| d > 365) {
            errors.push((
                "promised_limit_days",
                "承诺时限不能超过365个工作日".to_owned(),
            ));
        }
        for (field, label, text) in [
            ("fees", "收费标准", &g.fees),
            ("place", "办理地点", &g.place),
            ("hours", "办理时间", &g.hours),
            ("phone", "咨询电话", &g.phone),
        ] {
            if too_long(text, MAX_SHORT_CHARS) {
                errors.push((field, format!("{label}不能超过{MAX_SHORT_CHARS}个字")));
            }
        }
    }
    errors
}

fn trimmed_lines(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Saves `form` as entry `id` for `user` (an editor of its department): audited as
/// `catalogue_edit` with each changed field before and after; the update clock restarts.
pub fn update(
    conn: &mut Connection,
    user: &User,
    id: i64,
    form: &EntryForm,
    now: DateTime<Utc>,
) -> Result<(), PublishError> {
    let tx = conn.transaction()?;
    let (before, info) = entry(&tx, id)?.ok_or(PublishError::NotFound(id))?;
    if !may_edit(user, &info.department) {
        return Err(PublishError::Forbidden(
            "只有本单位的信息员可以修改这条目录".into(),
        ));
    }
    if let Some(source) = &info.source {
        return Err(PublishError::WrongState(format!(
            "这条目录由采集来源“{source}”从政务平台同步，请在源平台修改，下一次采集后自动更新"
        )));
    }
    let errors = check(form);
    if !errors.is_empty() {
        return Err(PublishError::Invalid(errors));
    }
    let mut after = form.clone();
    after.title = after.title.trim().to_owned();
    after.doc_no = after.doc_no.trim().to_owned();
    after.valid_until = after.valid_until.trim().to_owned();
    // A guide is edited only where one exists; none is created from this form.
    after.guide = match (&before.guide, &form.guide) {
        (Some(_), Some(g)) => Some(GuideForm {
            conditions: trimmed_lines(&g.conditions),
            steps: trimmed_lines(&g.steps),
            materials: g
                .materials
                .iter()
                .map(|m| Material {
                    name: m.name.trim().to_owned(),
                    copies: m.copies.trim().to_owned(),
                    note: m.note.trim().to_owned(),
                })
                .collect(),
            promised_limit_days: g.promised_limit_days,
            fees: g.fees.trim().to_owned(),
            place: g.place.trim().to_owned(),
            hours: g.hours.trim().to_owned(),
            phone: g.phone.trim().to_owned(),
        }),
        (guide, _) => guide.clone(),
    };
    let optional = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
    tx.execute(
        "UPDATE catalogue_entries SET title = ?2, doc_no = ?3, summary = ?4, body = ?5,
                valid_until = ?6, update_frequency = ?7, updated_at = ?8 WHERE id = ?1",
        params![
            id,
            after.title,
            optional(&after.doc_no),
            after.summary,
            after.body,
            optional(&after.valid_until),
            after.update_frequency,
            stamp(now)
        ],
    )?;
    if let (Some(_), Some(g)) = (&before.guide, &after.guide) {
        tx.execute(
            "UPDATE service_guides SET conditions = ?2, materials = ?3, steps = ?4,
                    promised_limit_days = ?5, fees = ?6, place = ?7, hours = ?8, phone = ?9
             WHERE entry_id = ?1",
            params![
                id,
                json(&g.conditions),
                json(&g.materials),
                json(&g.steps),
                g.promised_limit_days,
                g.fees,
                g.place,
                g.hours,
                g.phone
            ],
        )?;
    }
    let (b, a) = (
        serde_json::to_value(&before).unwrap_or_default(),
        serde_json::to_value(&after).unwrap_or_default(),
    );
    let mut changes = serde_json::Map::new();
    for (key, old) in b.as_object().into_iter().flatten() {
        let new = &a[key];
        if old != new {
            changes.insert(
                key.clone(),
                serde_json::json!({ "before": old, "after": new }),
            );
        }
    }
    crate::store::audit(
        &tx,
        now,
        &user.name,
        "catalogue_edit",
        "catalogue_entry",
        &id.to_string(),
        &serde_json::Value::Object(changes),
    )?;
    tx.commit()?;
    Ok(())
}

/// A list as stored: a JSON array.
fn json<T: Serialize>(list: &[T]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}
