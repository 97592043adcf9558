//! Registered set-top boxes: registration (a box secret, only its hash stored), one vote
//! per box per poll, and the anonymous view counts boxes report once a day. Plain
//! functions over a connection, run on the store's thread.

use crate::digest::{same_secret, sha256_hex};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::store::StoreError;

/// Longest device id accepted.
pub const MAX_DEVICE: usize = 64;
/// Most screens one view report may name.
pub const MAX_VIEW_SCREENS: usize = 2000;
/// Most views of one screen one box may report for a day.
pub const MAX_VIEWS: u32 = 10_000;

/// Why a box request is refused (each with a Chinese message for the box's log).
#[derive(Debug, thiserror::Error)]
pub enum BoxError {
    /// The request is malformed.
    #[error("{0}")]
    Invalid(String),
    /// Unknown box or wrong secret.
    #[error("机顶盒身份验证失败，请重新注册")]
    Unauthorised,
    /// No such poll, or it is not open.
    #[error("{0}")]
    NotFound(String),
    /// The box already did this (voted, reported the day).
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for BoxError {
    fn from(e: rusqlite::Error) -> Self {
        BoxError::Store(StoreError::from(e))
    }
}

/// Registers the box `device` with `secret` (again: a box that lost its secret gets new
/// credentials under the same id); returns the box id.
pub fn register(
    conn: &Connection,
    device: &str,
    region: &str,
    profile: &str,
    now: &str,
    secret: &str,
) -> Result<String, BoxError> {
    let device = device.trim();
    if device.is_empty()
        || device.len() > MAX_DEVICE
        || !device
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c))
    {
        return Err(BoxError::Invalid(format!(
            "设备编号须为1至{MAX_DEVICE}个字母、数字或 - _ : ."
        )));
    }
    let known: Option<String> = conn
        .query_row("SELECT code FROM regions WHERE code = ?1", [region], |r| {
            r.get(0)
        })
        .optional()?;
    if known.is_none() {
        return Err(BoxError::Invalid(format!("没有编号为“{region}”的地区")));
    }
    if crate::render::Profile::parse(profile).is_none() {
        return Err(BoxError::Invalid(format!(
            "不支持的画面规格“{profile}”，可选 sd、sd_wide、hd720、hd1080"
        )));
    }
    let existing: Option<String> = conn
        .query_row("SELECT id FROM boxes WHERE device = ?1", [device], |r| {
            r.get(0)
        })
        .optional()?;
    let hash = sha256_hex(secret);
    let id = match existing {
        Some(id) => {
            conn.execute(
                "UPDATE boxes SET region = ?2, profile = ?3, secret_sha256 = ?4, last_seen = ?5 WHERE id = ?1",
                params![id, region, profile, hash, now],
            )?;
            id
        }
        None => {
            let id = format!("box-{}", &sha256_hex(&format!("{device}|{secret}"))[..16]);
            conn.execute(
                "INSERT INTO boxes (id, device, region, profile, secret_sha256, registered_at, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![id, device, region, profile, hash, now],
            )?;
            id
        }
    };
    Ok(id)
}

/// Checks a box's credentials and notes its contact; returns its region.
pub fn authenticate(
    conn: &Connection,
    id: &str,
    secret: &str,
    now: &str,
) -> Result<String, BoxError> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT secret_sha256, region FROM boxes WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((stored, region)) = row else {
        return Err(BoxError::Unauthorised);
    };
    if !same_secret(stored.as_bytes(), sha256_hex(secret).as_bytes()) {
        return Err(BoxError::Unauthorised);
    }
    conn.execute(
        "UPDATE boxes SET last_seen = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(region)
}

/// Records box `id`'s vote for `option` of poll `poll` (open on `today`): one vote per box
/// per poll.
pub fn vote(
    conn: &Connection,
    id: &str,
    poll: i64,
    option: u32,
    today: &str,
    now: &str,
) -> Result<(), BoxError> {
    let open: Option<(String, String)> = conn
        .query_row(
            "SELECT opens_on, CASE WHEN closed_at IS NULL THEN closes_on ELSE '' END
             FROM polls WHERE id = ?1",
            [poll],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match open {
        None => return Err(BoxError::NotFound("没有这项民意调查".into())),
        Some((opens, closes)) if today < opens.as_str() || today > closes.as_str() => {
            return Err(BoxError::NotFound("这项民意调查不在投票期内".into()))
        }
        Some(_) => {}
    }
    let options: u32 = conn.query_row(
        "SELECT count(*) FROM poll_options WHERE poll_id = ?1",
        [poll],
        |r| r.get(0),
    )?;
    if option == 0 || option > options {
        return Err(BoxError::Invalid(format!("请选择1至{options}之间的选项")));
    }
    let tx = conn.unchecked_transaction()?;
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO box_votes (poll_id, box_id, option, voted_at) VALUES (?1, ?2, ?3, ?4)",
        params![poll, id, option, now],
    )?;
    if inserted == 0 {
        return Err(BoxError::Conflict(
            "本机已经投过票了，每台机顶盒每项调查只能投一票".into(),
        ));
    }
    tx.execute(
        "UPDATE poll_options SET votes = votes + 1 WHERE poll_id = ?1 AND seq = ?2",
        params![poll, option],
    )?;
    tx.commit()?;
    Ok(())
}

/// Adds box `id`'s view counts for `day` (one report a box a day).
pub fn report_views(
    conn: &Connection,
    id: &str,
    region: &str,
    day: &str,
    counts: &[(String, u32)],
) -> Result<(), BoxError> {
    if chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err() {
        return Err(BoxError::Invalid("日期格式应为 YYYY-MM-DD".into()));
    }
    if counts.len() > MAX_VIEW_SCREENS {
        return Err(BoxError::Invalid(format!(
            "一次最多报告{MAX_VIEW_SCREENS}个画面"
        )));
    }
    for (screen, views) in counts {
        if screen.is_empty() || screen.len() > 64 || *views > MAX_VIEWS {
            return Err(BoxError::Invalid("画面编号或次数超出范围".into()));
        }
    }
    let tx = conn.unchecked_transaction()?;
    let fresh = tx.execute(
        "INSERT OR IGNORE INTO box_reports (box_id, day) VALUES (?1, ?2)",
        params![id, day],
    )?;
    if fresh == 0 {
        return Err(BoxError::Conflict("本机当天的浏览次数已经报告过了".into()));
    }
    for (screen, views) in counts {
        tx.execute(
            "INSERT INTO screen_views (day, screen, region, views) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (day, screen, region) DO UPDATE SET views = views + excluded.views",
            params![day, screen, region, views],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// A registered box as operators see it (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoxView {
    /// Box id.
    pub id: String,
    /// Device id.
    pub device: String,
    /// Region code.
    pub region: String,
    /// Picture profile.
    pub profile: String,
    /// First registration.
    pub registered_at: String,
    /// Last contact.
    pub last_seen: String,
}

/// Every registered box, most recently seen first.
pub fn list(conn: &Connection) -> Result<Vec<BoxView>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, device, region, profile, registered_at, last_seen FROM boxes ORDER BY last_seen DESC, id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(BoxView {
                id: r.get(0)?,
                device: r.get(1)?,
                region: r.get(2)?,
                profile: r.get(3)?,
                registered_at: r.get(4)?,
                last_seen: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Views per screen (all regions), for staff: (screen, day, views), newest day first.
pub fn views(conn: &Connection) -> Result<Vec<(String, String, i64)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT screen, day, sum(views) FROM screen_views GROUP BY screen, day ORDER BY day DESC, screen",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
