//! County time without a time-zone database: the offset comes from the manifest's
//! `generated_at` (RFC 3339), dates are computed from days since 1970.

use std::time::SystemTime;

/// The UTC offset in seconds of an RFC 3339 time (`…+08:00`, `…Z`).
pub fn offset_of(rfc3339: &str) -> Option<i64> {
    if rfc3339.ends_with('Z') || rfc3339.ends_with('z') {
        return Some(0);
    }
    let tail = rfc3339.get(rfc3339.len().checked_sub(6)?..)?;
    let sign = match tail.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = tail[1..].split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

/// (year, month, day) of a day counted from 1970-01-01.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn local_secs(when: SystemTime, offset: i64) -> i64 {
    let secs = match when.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    secs + offset
}

/// The county day of `when`, `YYYY-MM-DD`.
pub fn day(when: SystemTime, offset: i64) -> String {
    let (y, m, d) = civil(local_secs(when, offset).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `MM-DD HH:MM` of `when` in county time (what the 更新于 corner shows).
pub fn stamp(when: SystemTime, offset: i64) -> String {
    let secs = local_secs(when, offset);
    let (_, m, d) = civil(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{m:02}-{d:02} {:02}:{:02}",
        of_day / 3600,
        of_day % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn county_time_from_the_manifest_offset() {
        assert_eq!(offset_of("2026-12-04T00:00:00+08:00"), Some(28_800));
        assert_eq!(offset_of("2026-12-04T00:00:00-03:30"), Some(-12_600));
        assert_eq!(offset_of("2026-12-04T00:00:00Z"), Some(0));
        assert_eq!(offset_of("garbage"), None);
        // 2026-12-04T17:30:00Z is 2026-12-05 01:30 in UTC+8.
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_405_400);
        assert_eq!(day(t, 0), "2026-12-04");
        assert_eq!(day(t, 28_800), "2026-12-05");
        assert_eq!(stamp(t, 28_800), "12-05 01:30");
        assert_eq!(day(SystemTime::UNIX_EPOCH, 0), "1970-01-01");
        assert_eq!(civil(59), (1970, 3, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
    }
}
