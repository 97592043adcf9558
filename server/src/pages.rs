//! Page models built from the store: the bridge between stored content and the pure
//! renderer (which knows nothing of SQLite).

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension};

use crate::content::{CaseStatus, CatalogueKind, Priority};
use crate::mask;
use crate::render::screen::{
    month_day, CaseResultScreen, EntryScreen, FlowBox, FlowScreen, GuideScreen, HomeScreen,
    ListItem, ListScreen, NoticeScreen, PollScreen, PublicListScreen, Publicity, Tile,
};
use crate::store::StoreError;

/// Days of an objection period left on `today` (inclusive of today; 0 once it ended).
pub fn days_left(end: NaiveDate, today: NaiveDate) -> u32 {
    let days = end.signed_duration_since(today).num_days() + 1;
    u32::try_from(days.max(0)).unwrap_or(0)
}

/// The notice `id` as a page model, as of `today`; `None` when there is no such notice.
pub fn notice(
    conn: &Connection,
    id: i64,
    today: NaiveDate,
) -> Result<Option<NoticeScreen>, StoreError> {
    let row = conn
        .query_row(
            "SELECT n.title, d.name, COALESCE(substr(n.published_at, 1, 10), n.valid_from), n.body,
                    n.objection_start, n.objection_end, n.objection_contact, n.objection_phone
             FROM notices n JOIN departments d ON d.code = n.department WHERE n.id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            },
        )
        .optional()?;
    let Some((title, publisher, date, body, start, end, contact, phone)) = row else {
        return Ok(None);
    };
    let publicity = match (start, end) {
        (Some(start), Some(end)) => {
            let end_date = NaiveDate::parse_from_str(&end, "%Y-%m-%d").map_err(|e| {
                StoreError::Malformed(format!("notice {id} objection_end {end:?}: {e}"))
            })?;
            Some(Publicity {
                days_left: days_left(end_date, today),
                start,
                end,
                contact: contact.unwrap_or_default(),
                phone: phone.unwrap_or_default(),
            })
        }
        _ => None,
    };
    // Personal data typed into the text airs masked; the store keeps it whole.
    Ok(Some(NoticeScreen {
        title: mask::text(&title),
        publisher,
        date,
        body: mask::text(&body),
        publicity,
        url: None,
        urgent: false,
    }))
}

/// A list stored as a JSON array; `what` names the column in the error.
pub(crate) fn json_list<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &str,
) -> Result<Vec<T>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Malformed(format!("{what}: {e}")))
}

/// Catalogue entry `id` as a page model.
pub fn entry(conn: &Connection, id: i64) -> Result<Option<EntryScreen>, StoreError> {
    let row = conn
        .query_row(
            "SELECT e.kind, e.title, e.index_no, d.name, e.doc_no, e.issued_on, e.summary, e.body, e.url
             FROM catalogue_entries e JOIN departments d ON d.code = e.department WHERE e.id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    EntryScreen {
                        kind_label: String::new(),
                        title: r.get(1)?,
                        index_no: r.get(2)?,
                        publisher: r.get(3)?,
                        doc_no: r.get(4)?,
                        date: r.get(5)?,
                        summary: r.get(6)?,
                        body: r.get(7)?,
                        url: r.get(8)?,
                        links: Vec::new(),
                    },
                ))
            },
        )
        .optional()?;
    Ok(row.map(|(kind, mut screen)| {
        screen.kind_label = CatalogueKind::parse(&kind).map_or(kind, |k| k.label().to_owned());
        screen
    }))
}

/// The service guide of catalogue entry `id`.
pub fn guide(conn: &Connection, id: i64) -> Result<Option<GuideScreen>, StoreError> {
    let row = conn
        .query_row(
            "SELECT e.title, g.conditions, g.materials, g.steps, g.legal_limit_days, g.promised_limit_days,
                    g.fees, g.place, g.hours, g.phone, COALESCE(g.online_url, e.url)
             FROM service_guides g JOIN catalogue_entries e ON e.id = g.entry_id WHERE g.entry_id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<u32>>(4)?,
                    r.get::<_, Option<u32>>(5)?,
                    [r.get::<_, String>(6)?, r.get::<_, String>(7)?, r.get::<_, String>(8)?, r.get::<_, String>(9)?],
                    r.get::<_, Option<String>>(10)?,
                ))
            },
        )
        .optional()?;
    let Some((
        title,
        conditions,
        materials,
        steps,
        legal,
        promised,
        [fees, place, hours, phone],
        url,
    )) = row
    else {
        return Ok(None);
    };
    let materials: Vec<crate::catalogue::Material> =
        json_list(&materials, "service_guides.materials")?;
    let time_limit = match (legal, promised) {
        (Some(l), Some(p)) => format!("法定{l}个工作日，承诺{p}个工作日"),
        (Some(l), None) => format!("法定{l}个工作日"),
        (None, Some(p)) => format!("承诺{p}个工作日"),
        (None, None) => "即来即办".to_owned(),
    };
    Ok(Some(GuideScreen {
        title,
        conditions: json_list(&conditions, "service_guides.conditions")?,
        materials: materials
            .into_iter()
            .map(|m| {
                let mut text = format!("{}（{}）", m.name, m.copies);
                if !m.note.trim().is_empty() {
                    text.push_str(&format!("，{}", m.note.trim()));
                }
                text
            })
            .collect(),
        steps: json_list(&steps, "service_guides.steps")?,
        time_limit,
        fees,
        place,
        hours,
        phone,
        url,
    }))
}

/// The process of power item `id` as a flowchart; `None` when it has no steps.
pub fn flow(conn: &Connection, id: i64) -> Result<Option<FlowScreen>, StoreError> {
    let title: Option<String> = conn
        .query_row(
            "SELECT title FROM catalogue_entries WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(title) = title else { return Ok(None) };
    let mut stmt = conn.prepare(
        "SELECT name, post, time_limit FROM power_steps WHERE entry_id = ?1 ORDER BY seq",
    )?;
    let steps: Vec<FlowBox> = stmt
        .query_map([id], |r| {
            Ok(FlowBox {
                name: r.get(0)?,
                post: r.get(1)?,
                time_limit: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok((!steps.is_empty()).then_some(FlowScreen { title, steps }))
}

/// Public list `id`, masked for airing: names, ID numbers and phones never leave whole.
pub fn public_list(conn: &Connection, id: i64) -> Result<Option<PublicListScreen>, StoreError> {
    let head: Option<(String, String)> = conn
        .query_row(
            "SELECT title, columns FROM public_lists WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((title, columns)) = head else {
        return Ok(None);
    };
    let published: Vec<String> = json_list(&columns, "public_lists.columns")?;
    let mut stmt = conn.prepare(
        "SELECT r.name, COALESCE(v.name, ''), COALESCE(r.amount, ''), COALESCE(r.id_number, ''), COALESCE(r.phone, '')
         FROM public_list_rows r LEFT JOIN regions v ON v.code = r.village WHERE r.list_id = ?1 ORDER BY r.seq",
    )?;
    let rows: Vec<[String; 5]> = stmt
        .query_map([id], |r| {
            Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
        })?
        .collect::<Result<_, _>>()?;
    // Keep the published columns we know how to fill, in a fixed order; ID numbers and
    // phones are masked, names partly hidden.
    let mut columns = vec!["姓名".to_owned()];
    let has = |needle: &str| published.iter().any(|c| c.contains(needle));
    let (village, amount, id_no, phone) = (
        has("村"),
        has("金额") || has("元"),
        has("身份证"),
        has("电话"),
    );
    if village {
        columns.push("村（社区）".into());
    }
    if amount {
        columns.push("金额（元）".into());
    }
    if id_no {
        columns.push("身份证号".into());
    }
    if phone {
        columns.push("联系电话".into());
    }
    let rows = rows
        .into_iter()
        .map(|[name, v, a, i, p]| {
            let mut cells = vec![mask::party(&name)];
            if village {
                cells.push(v);
            }
            if amount {
                cells.push(a);
            }
            if id_no {
                cells.push(mask::id_number(&i));
            }
            if phone {
                cells.push(mask::phone(&p));
            }
            cells
        })
        .collect();
    Ok(Some(PublicListScreen {
        title,
        columns,
        rows,
    }))
}

/// Case `case_no` as of `today`, applicant masked.
pub fn case_result(
    conn: &Connection,
    case_no: &str,
    today: NaiveDate,
) -> Result<Option<CaseResultScreen>, StoreError> {
    let row = conn
        .query_row(
            "SELECT c.case_no, c.item_title, d.name, c.applicant, c.applicant_kind, c.status, c.received_on,
                    c.due_on, c.completed_on
             FROM cases c JOIN departments d ON d.code = c.department WHERE c.case_no = ?1",
            [case_no],
            |r| {
                Ok((
                    [r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
                    r.get::<_, Option<String>>(8)?,
                ))
            },
        )
        .optional()?;
    let Some(([case_no, item, department, applicant, kind, status, received, due], completed)) =
        row
    else {
        return Ok(None);
    };
    let status = CaseStatus::parse(&status)
        .ok_or_else(|| StoreError::Malformed(format!("case {case_no} status {status:?}")))?;
    let overdue = !status.is_closed() && due.as_str() < today.to_string().as_str();
    Ok(Some(CaseResultScreen {
        case_no,
        item,
        department,
        applicant: if kind == "enterprise" {
            applicant
        } else {
            mask::name(&applicant)
        },
        status: status.label().to_owned(),
        received,
        due,
        completed,
        overdue,
    }))
}

/// Poll `id`; with `results` the vote counts are shown as bars.
pub fn poll(conn: &Connection, id: i64, results: bool) -> Result<Option<PollScreen>, StoreError> {
    let head: Option<(String, String)> = conn
        .query_row(
            "SELECT question, closes_on FROM polls WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((question, closes)) = head else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare("SELECT label, votes FROM poll_options WHERE poll_id = ?1 ORDER BY seq")?;
    let options: Vec<(String, u32)> = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(Some(PollScreen {
        question,
        closes,
        votes: results.then(|| options.iter().map(|o| o.1).collect()),
        chosen: None,
        options: options.into_iter().map(|o| o.0).collect(),
    }))
}

// ---------------------------------------------------------------------------------------
// What channels and set-top boxes show of a region: notices on air for it, the urgent
// notice in force, cases completed today, open polls.

/// A recursive CTE `scope(code)`: region `?1`, its ancestors and its descendants — what a
/// channel for that region carries (a town channel airs county-wide notices and its
/// villages'; the county channel airs everything).
const SCOPE: &str = "WITH RECURSIVE
    up(code, parent) AS (SELECT code, parent FROM regions WHERE code = ?1
        UNION SELECT r.code, r.parent FROM regions r JOIN up ON r.code = up.parent),
    down(code) AS (SELECT code FROM regions WHERE code = ?1
        UNION SELECT r.code FROM regions r JOIN down ON r.parent = down.code),
    scope(code) AS (SELECT code FROM up UNION SELECT code FROM down)";

use crate::content::WEEKDAYS;

/// `2026年11月22日 星期日 08:00` for the home screen.
pub fn now_line(now: chrono::DateTime<chrono::FixedOffset>) -> String {
    use chrono::{Datelike, Timelike};
    let weekday = WEEKDAYS[now.weekday().num_days_from_monday() as usize];
    format!(
        "{}年{}月{}日 星期{} {:02}:{:02}",
        now.year(),
        now.month(),
        now.day(),
        weekday,
        now.hour(),
        now.minute()
    )
}

/// The home screen of a channel titled `title` at `now`.
pub fn home(title: &str, now: chrono::DateTime<chrono::FixedOffset>) -> HomeScreen {
    let tiles = [
        ("通知公告", "section:notices"),
        ("信息公开", "section:disclosure"),
        ("便民服务", "section:service"),
        ("行政职权", "section:power"),
        ("办件查询", "case_lookup"),
        ("今日办结", "section:cases_today"),
        ("民意调查", "section:polls"),
        ("按键说明", "help"),
    ];
    HomeScreen {
        title: title.to_owned(),
        now: now_line(now),
        tiles: tiles
            .iter()
            .map(|(label, target)| Tile {
                label: (*label).to_owned(),
                target: (*target).to_owned(),
            })
            .collect(),
    }
}

/// The county's region code (the one region without a parent); empty before a county is
/// loaded.
pub fn county_code(conn: &Connection) -> Result<String, StoreError> {
    Ok(conn
        .query_row(
            "SELECT code FROM regions WHERE level = 'county' ORDER BY code LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default())
}

/// Published notices valid on `today` for `region`'s scope, newest first, at most `limit`:
/// (id, priority, page model).
pub fn notices_on_air(
    conn: &Connection,
    region: &str,
    today: NaiveDate,
    limit: usize,
) -> Result<Vec<(i64, Priority, NoticeScreen)>, StoreError> {
    let day = today.to_string();
    let mut stmt = conn.prepare(&format!(
        "{SCOPE} SELECT n.id, n.priority FROM notices n
         WHERE n.status = 'published' AND n.region IN (SELECT code FROM scope)
           AND n.valid_from <= ?2 AND (n.valid_until IS NULL OR n.valid_until >= ?2)
         ORDER BY COALESCE(n.published_at, n.valid_from) DESC, n.id DESC LIMIT ?3"
    ))?;
    let rows: Vec<(i64, String)> = stmt
        .query_map(rusqlite::params![region, day, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, priority) in rows {
        let priority = Priority::parse(&priority)
            .ok_or_else(|| StoreError::Malformed(format!("notice {id} priority {priority:?}")))?;
        if let Some(screen) = notice(conn, id, today)? {
            out.push((id, priority, screen));
        }
    }
    Ok(out)
}

/// The urgent notice in force for `region` on `today`: the newest urgent notice on air
/// addressed to the region itself or a region above it (a village's water cut is no alert
/// over the whole county), if any.
pub fn urgent_notice(
    conn: &Connection,
    region: &str,
    today: NaiveDate,
) -> Result<Option<(i64, NoticeScreen)>, StoreError> {
    let mut stmt = conn.prepare(
        "WITH RECURSIVE up(code, parent) AS (SELECT code, parent FROM regions WHERE code = ?1
             UNION SELECT r.code, r.parent FROM regions r JOIN up ON r.code = up.parent)
         SELECT n.id FROM notices n
         WHERE n.status = 'published' AND n.priority = 'urgent'
           AND n.region IN (SELECT code FROM up)
           AND n.valid_from <= ?2 AND (n.valid_until IS NULL OR n.valid_until >= ?2)
         ORDER BY COALESCE(n.published_at, n.valid_from) DESC, n.id DESC LIMIT 1",
    )?;
    let id: Option<i64> = stmt
        .query_row(rusqlite::params![region, today.to_string()], |r| r.get(0))
        .optional()?;
    match id {
        Some(id) => Ok(notice(conn, id, today)?.map(|n| (id, n))),
        None => Ok(None),
    }
}

/// Runs `sql` (one id column) with `params` and loads each id with `load`, keeping those
/// that exist: (id, model).
fn load_each<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    load: impl Fn(&Connection, i64) -> Result<Option<T>, StoreError>,
) -> Result<Vec<(i64, T)>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let ids: Vec<i64> = stmt
        .query_map(params, |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(model) = load(conn, id)? {
            out.push((id, model));
        }
    }
    Ok(out)
}

/// The public lists attached to notice `id` (masked for airing): (list id, screen).
pub fn public_lists_of(
    conn: &Connection,
    id: i64,
) -> Result<Vec<(i64, PublicListScreen)>, StoreError> {
    load_each(
        conn,
        "SELECT id FROM public_lists WHERE notice_id = ?1 ORDER BY id",
        [id],
        public_list,
    )
}

/// The service guides of the convenience-service items (便民服务), newest first.
pub fn service_guides(conn: &Connection) -> Result<Vec<(i64, GuideScreen)>, StoreError> {
    load_each(
        conn,
        "SELECT e.id FROM catalogue_entries e JOIN service_guides g ON g.entry_id = e.id
         WHERE e.kind = 'service' ORDER BY e.issued_on DESC, e.id DESC",
        [],
        guide,
    )
}

/// The process flows of the administrative power items (行政职权) that have steps.
pub fn power_flows(conn: &Connection) -> Result<Vec<(i64, FlowScreen)>, StoreError> {
    load_each(
        conn,
        "SELECT e.id FROM catalogue_entries e
         WHERE e.kind = 'power' AND EXISTS (SELECT 1 FROM power_steps s WHERE s.entry_id = e.id)
         ORDER BY e.index_no, e.id",
        [],
        flow,
    )
}

pub use crate::content::date_line;

/// Cases completed on `today` by departments in `region`'s scope, applicants masked;
/// `None` when there are none.
pub fn cases_completed_today(
    conn: &Connection,
    region: &str,
    today: NaiveDate,
) -> Result<Option<ListScreen>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "{SCOPE} SELECT c.case_no, c.item_title, d.short_name, c.applicant, c.applicant_kind
         FROM cases c JOIN departments d ON d.code = c.department
         WHERE c.status = 'completed' AND c.completed_on = ?2
           AND d.region IN (SELECT code FROM scope)
         ORDER BY c.case_no"
    ))?;
    let items: Vec<ListItem> = stmt
        .query_map(rusqlite::params![region, today.to_string()], |r| {
            let (case_no, item, dept, applicant, kind): (String, String, String, String, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
            let who = if kind == "enterprise" {
                applicant
            } else {
                mask::name(&applicant)
            };
            Ok(ListItem {
                label: item,
                detail: Some(format!("{dept}　申请人：{who}　已办结")),
                target: format!("case:{case_no}"),
            })
        })?
        .collect::<Result<_, _>>()?;
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(ListScreen {
        title: format!("今日办结（{}）", month_day(&today.to_string())),
        items,
    }))
}

/// Polls open on `today` in `region`'s scope, with their results so far: (id, poll).
pub fn open_polls(
    conn: &Connection,
    region: &str,
    today: NaiveDate,
) -> Result<Vec<(i64, PollScreen)>, StoreError> {
    load_each(
        conn,
        &format!(
            "{SCOPE} SELECT p.id FROM polls p
             WHERE p.region IN (SELECT code FROM scope) AND p.opens_on <= ?2 AND p.closes_on >= ?2
               AND p.closed_at IS NULL
             ORDER BY p.closes_on, p.id"
        ),
        rusqlite::params![region, today.to_string()],
        |c, id| poll(c, id, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_left_counts_today_and_stops_at_zero() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(days_left(d("2026-11-25"), d("2026-11-22")), 4);
        assert_eq!(days_left(d("2026-11-22"), d("2026-11-22")), 1);
        assert_eq!(days_left(d("2026-11-21"), d("2026-11-22")), 0);
    }
}
