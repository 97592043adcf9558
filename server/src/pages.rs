//! Page models built from the store: the bridge between stored content and the pure
//! renderer (which knows nothing of SQLite).

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension};

use crate::render::screens::{NoticeScreen, Publicity};
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
    Ok(Some(NoticeScreen {
        title,
        publisher,
        date,
        body,
        publicity,
    }))
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
