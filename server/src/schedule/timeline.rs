//! A channel's day as it airs: schedule entries expanded into occurrences, and the
//! occurrences resolved into back-to-back segments, gaps filled by the fallback.
//!
//! Pure functions of the entries and a window, in county time (+08:00, no daylight
//! saving, so local times are plain `NaiveDateTime`s). Resolution, for every moment:
//! the occurrence with the highest priority airs; at equal priority a hard start cuts in
//! over a soft occurrence already airing; otherwise the one that started first keeps
//! airing. Equal-priority overlaps are conflicts, except a hard start cutting into a soft
//! occurrence that still airs around it: editing refuses them and the schedule pages
//! list any that remain, so none is resolved silently.

use chrono::{Duration, NaiveDateTime, NaiveTime};
use serde::Serialize;

use super::recurrence::Rule;

/// A block placed on a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Store id.
    pub id: i64,
    /// The block it airs.
    pub block: i64,
    /// Start time of day.
    pub start: NaiveTime,
    /// Length in minutes.
    pub minutes: u32,
    /// Dates.
    pub rule: Rule,
    /// Cuts in at the second, whatever page is up.
    pub hard: bool,
    /// Higher wins.
    pub priority: i32,
}

/// One airing of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    /// The entry.
    pub entry: i64,
    /// Its block.
    pub block: i64,
    /// Start (county time).
    pub start: NaiveDateTime,
    /// End, exclusive.
    pub end: NaiveDateTime,
    /// A hard start.
    pub hard: bool,
    /// Priority.
    pub priority: i32,
}

/// What airs during a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// An occurrence of an entry.
    Block {
        /// The entry.
        entry: i64,
        /// Its block.
        block: i64,
        /// When the occurrence started (a segment may resume it after an interruption).
        since: NaiveDateTime,
    },
    /// Nothing scheduled: the channel's fallback.
    Fallback,
}

/// A stretch of time with one thing on air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// Start (county time).
    pub start: NaiveDateTime,
    /// End, exclusive.
    pub end: NaiveDateTime,
    /// What airs.
    pub source: Source,
    /// It starts at the second (a hard-start occurrence beginning here).
    pub hard: bool,
}

/// Two occurrences that overlap without a rule deciding between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// One entry.
    pub a: i64,
    /// The other.
    pub b: i64,
    /// Start of the overlap.
    pub start: NaiveDateTime,
    /// End of the overlap.
    pub end: NaiveDateTime,
}

/// Every occurrence of `entries` that overlaps `from..to`, by start.
pub fn occurrences(entries: &[Entry], from: NaiveDateTime, to: NaiveDateTime) -> Vec<Occurrence> {
    let mut out = Vec::new();
    // An occurrence lasts at most a day, so one that started the day before can reach in.
    let first = from.date() - Duration::days(1);
    let last = to.date();
    for e in entries {
        for date in e.rule.dates(first, last) {
            let start = date.and_time(e.start);
            let end = start + Duration::minutes(i64::from(e.minutes));
            if end > from && start < to {
                out.push(Occurrence {
                    entry: e.id,
                    block: e.block,
                    start,
                    end,
                    hard: e.hard,
                    priority: e.priority,
                });
            }
        }
    }
    out.sort_by_key(|o| (o.start, o.entry));
    out
}

/// Which of two occurrences both on air airs: higher priority; at equal priority a hard
/// start inside a soft occurrence; otherwise the earlier start (then the lower id).
fn wins(a: &Occurrence, b: &Occurrence) -> bool {
    if a.priority != b.priority {
        return a.priority > b.priority;
    }
    if a.hard != b.hard {
        return a.hard;
    }
    (a.start, a.entry) < (b.start, b.entry)
}

/// `from..to` as back-to-back segments.
pub fn resolve(entries: &[Entry], from: NaiveDateTime, to: NaiveDateTime) -> Vec<Segment> {
    let occs = occurrences(entries, from, to);
    let mut cuts: Vec<NaiveDateTime> = vec![from, to];
    for o in &occs {
        cuts.push(o.start.max(from));
        cuts.push(o.end.min(to));
    }
    cuts.sort();
    cuts.dedup();
    let mut out: Vec<Segment> = Vec::new();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let winner = occs.iter().filter(|o| o.start <= a && o.end >= b).fold(
            None::<&Occurrence>,
            |best, o| match best {
                Some(x) if !wins(o, x) => Some(x),
                _ => Some(o),
            },
        );
        let source = match winner {
            Some(o) => Source::Block {
                entry: o.entry,
                block: o.block,
                since: o.start,
            },
            None => Source::Fallback,
        };
        let hard = winner.is_some_and(|o| o.hard && o.start == a);
        match out.last_mut() {
            Some(last) if last.source == source && !hard => last.end = b,
            _ => out.push(Segment {
                start: a,
                end: b,
                source,
                hard,
            }),
        }
    }
    out
}

/// Whether two overlapping occurrences conflict: equal priority, and either both hard,
/// both soft, or the soft one lying entirely under the hard one (it would never air). A
/// hard start cutting into a soft occurrence, which airs around it, is how hard starts
/// work.
fn conflicting(a: &Occurrence, b: &Occurrence) -> bool {
    if a.priority != b.priority {
        return false;
    }
    if a.hard == b.hard {
        return true;
    }
    let (hard, soft) = if a.hard { (a, b) } else { (b, a) };
    soft.start >= hard.start && soft.end <= hard.end
}

/// Every conflict among `entries` within `from..to`, by start.
pub fn conflicts(entries: &[Entry], from: NaiveDateTime, to: NaiveDateTime) -> Vec<Conflict> {
    let occs = occurrences(entries, from, to);
    let mut out = Vec::new();
    for (i, a) in occs.iter().enumerate() {
        for b in &occs[i + 1..] {
            if b.start >= a.end {
                break;
            }
            if a.entry != b.entry && conflicting(a, b) {
                out.push(Conflict {
                    a: a.entry,
                    b: b.entry,
                    start: b.start.max(a.start),
                    end: a.end.min(b.end),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::recurrence::Repeat;
    use super::*;
    use chrono::NaiveDate;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn entry(
        id: i64,
        start: &str,
        minutes: u32,
        repeat: Repeat,
        hard: bool,
        priority: i32,
    ) -> Entry {
        Entry {
            id,
            block: id * 10,
            start: NaiveTime::parse_from_str(start, "%H:%M").unwrap(),
            minutes,
            rule: Rule {
                repeat,
                from: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                until: None,
                except: Default::default(),
            },
            hard,
            priority,
        }
    }

    fn spans(segs: &[Segment]) -> Vec<(String, String, Option<i64>, bool)> {
        segs.iter()
            .map(|s| {
                (
                    s.start.format("%H:%M").to_string(),
                    s.end.format("%H:%M").to_string(),
                    match s.source {
                        Source::Block { entry, .. } => Some(entry),
                        Source::Fallback => None,
                    },
                    s.hard,
                )
            })
            .collect()
    }

    #[test]
    fn gaps_are_filled_by_the_fallback_and_a_hard_start_interrupts_a_block() {
        let entries = [
            entry(1, "08:00", 120, Repeat::Daily, false, 0),
            entry(2, "09:00", 30, Repeat::Daily, true, 0),
            entry(3, "12:00", 60, Repeat::Daily, false, 0),
        ];
        let segs = resolve(&entries, t("2026-12-07 07:00"), t("2026-12-07 14:00"));
        let s = |a: &str, b: &str, e: Option<i64>, h: bool| (a.to_owned(), b.to_owned(), e, h);
        assert_eq!(
            spans(&segs),
            vec![
                s("07:00", "08:00", None, false),
                s("08:00", "09:00", Some(1), false),
                s("09:00", "09:30", Some(2), true),
                // The interrupted block resumes for the rest of its time.
                s("09:30", "10:00", Some(1), false),
                s("10:00", "12:00", None, false),
                s("12:00", "13:00", Some(3), false),
                s("13:00", "14:00", None, false),
            ]
        );
        assert!(conflicts(&entries, t("2026-12-07 00:00"), t("2026-12-08 00:00")).is_empty());
    }

    #[test]
    fn higher_priority_wins_and_equal_priority_overlaps_are_reported() {
        let entries = [
            entry(1, "08:00", 60, Repeat::Daily, false, 0),
            entry(2, "08:30", 60, Repeat::Daily, false, 5),
            entry(3, "08:45", 60, Repeat::Daily, false, 5),
        ];
        let segs = resolve(&entries, t("2026-12-07 08:00"), t("2026-12-07 10:00"));
        let owners: Vec<Option<i64>> = spans(&segs).into_iter().map(|s| s.2).collect();
        assert_eq!(owners, vec![Some(1), Some(2), Some(3), None]);
        let found = conflicts(&entries, t("2026-12-07 00:00"), t("2026-12-08 00:00"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].a, found[0].b), (2, 3));
        assert_eq!(found[0].start, t("2026-12-07 08:45"));
        assert_eq!(found[0].end, t("2026-12-07 09:30"));
    }

    #[test]
    fn an_occurrence_reaching_past_midnight_airs_in_the_next_day() {
        let entries = [entry(1, "23:00", 120, Repeat::Once, true, 0)];
        let segs = resolve(&entries, t("2026-12-01 22:00"), t("2026-12-02 03:00"));
        let s = |a: &str, b: &str, e: Option<i64>, h: bool| (a.to_owned(), b.to_owned(), e, h);
        assert_eq!(
            spans(&segs),
            vec![
                s("22:00", "23:00", None, false),
                s("23:00", "01:00", Some(1), true),
                s("01:00", "03:00", None, false),
            ]
        );
        // Seen from the next day, it is on air at midnight but does not start there.
        let segs = resolve(&entries, t("2026-12-02 00:00"), t("2026-12-02 02:00"));
        assert_eq!(
            spans(&segs),
            vec![
                s("00:00", "01:00", Some(1), false),
                s("01:00", "02:00", None, false)
            ]
        );
    }

    #[test]
    fn a_soft_entry_hidden_inside_a_hard_one_is_a_conflict() {
        let entries = [
            entry(1, "08:00", 120, Repeat::Daily, true, 0),
            entry(2, "09:00", 30, Repeat::Daily, false, 0),
        ];
        let found = conflicts(&entries, t("2026-12-07 00:00"), t("2026-12-08 00:00"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].a, found[0].b), (1, 2));
    }
}
