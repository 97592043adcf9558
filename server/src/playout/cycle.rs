//! Planning one cycle of a channel from its program.
//!
//! A cycle is what a viewer sees between two summary screens: the summary → the notices
//! (newest first, each with its public lists) → service guides and flows taking turns →
//! the closing screens (cases completed today, polls). It lasts at most
//! [`super::LaneOptions::cycle`] of airtime (15 minutes by default), measured from the
//! real layout of every screen in the lane's profile, so the planned length is the aired
//! length. What does not fit takes turns across cycles:
//!
//! - [`Part::Always`] items (fresh and important notices) air in every cycle while they
//!   fit; if even they do not, they take turns too (and the note in the log says so);
//! - [`Part::Turns`] items (older notices) fill what the `Always` items leave;
//! - [`Part::Rotation`] items fill the rest, at least one a cycle, from where the last
//!   cycle stopped, so over successive cycles every one of them airs;
//! - [`Part::Closing`] lists (cases completed today) air in every cycle, polls take
//!   turns (at least one a cycle).
//!
//! Index screens (the summary, lists) are kept to at most a tenth of the cycle's airtime.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use super::program::{Item, Part, Program};
use crate::render::screen::SummaryScreen;
use crate::render::Screen;

/// Key of the summary screen that opens each cycle.
pub const SUMMARY_KEY: &str = "summary";

/// What the status line calls the next cycle's summary.
pub const SUMMARY_HEADLINE: &str = "本轮节目导视";

/// Units longer than the room passed over in a row before a pool's turn ends.
const MAX_PASSED: usize = 8;

/// Index screens' largest share of a cycle's airtime, in percent.
pub const INDEX_SHARE_PERCENT: u64 = 10;

/// Where each pool's turn stopped last cycle (by item key, so it survives program
/// changes). Default: every pool starts at its first item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Turns {
    always: Option<String>,
    turns: Option<String>,
    rotation: Option<String>,
    polls: Option<String>,
}

/// A notice (or other item) with the items attached to it.
struct Unit<'a> {
    items: Vec<&'a Item>,
    part: Part,
}

impl Unit<'_> {
    fn key(&self) -> &str {
        self.items.first().map_or("", |i| i.key.as_str())
    }
}

/// What a cycle costs to air, as the lane measures it.
pub trait Airtime {
    /// Seconds `screen` stays on air, all its pages.
    fn seconds(&mut self, screen: &Screen) -> u64;
}

impl<F: FnMut(&Screen) -> u64> Airtime for F {
    fn seconds(&mut self, screen: &Screen) -> u64 {
        self(screen)
    }
}

/// Plans the next cycle of `program` for a channel titled `title` at `now`, within
/// `budget` seconds of airtime, continuing the turns in `turns`. Empty when the program
/// has nothing to air.
pub fn plan(
    program: &Program,
    title: &str,
    now: DateTime<FixedOffset>,
    budget: u64,
    airtime: &mut dyn Airtime,
    turns: &mut Turns,
) -> Vec<Item> {
    let units = units(&program.items);
    if units.is_empty() {
        return Vec::new();
    }
    let unit_time = |u: &Unit<'_>, airtime: &mut dyn Airtime| -> u64 {
        u.items.iter().map(|i| airtime.seconds(&i.screen)).sum()
    };
    let of = |part: Part| -> Vec<usize> {
        units
            .iter()
            .enumerate()
            .filter(|(_, u)| u.part == part)
            .map(|(i, _)| i)
            .collect()
    };
    let (always, older, rotation, closing) = (
        of(Part::Always),
        of(Part::Turns),
        of(Part::Rotation),
        of(Part::Closing),
    );
    let summary_estimate = if program.summary {
        airtime.seconds(&summary_screen(title, now, Vec::new()))
    } else {
        0
    };
    let is_index = |i: usize| units[i].items.iter().all(|it| it.screen.is_index());
    // Closing lists (今日办结) air in every cycle; polls take turns, at least one a cycle.
    let (closing_fixed, polls): (Vec<usize>, Vec<usize>) =
        closing.iter().partition(|&&i| is_index(i));
    let closing_time: u64 = closing_fixed
        .iter()
        .map(|&i| unit_time(&units[i], airtime))
        .sum();
    let mut room = budget.saturating_sub(summary_estimate + closing_time);
    // Keep room for one rotation item and one poll, so guides, flows and polls air in
    // every cycle.
    let share = room / 3;
    let reserve = match first_turn(&units, &rotation, turns.rotation.as_deref()) {
        Some(i) => unit_time(&units[i], airtime).min(share),
        None => 0,
    };
    let poll_reserve = match first_turn(&units, &polls, turns.polls.as_deref()) {
        Some(i) => unit_time(&units[i], airtime).min(share),
        None => 0,
    };
    room = room.saturating_sub(reserve + poll_reserve);
    let mut chosen: Vec<usize> = Vec::new();
    let picked = take_turns(
        &units,
        &always,
        &mut turns.always,
        &mut room,
        false,
        airtime,
    );
    if picked.len() < always.len() {
        tracing::info!(
            aired = picked.len(),
            of = always.len(),
            "fresh and important notices do not all fit one cycle; they take turns"
        );
    }
    chosen.extend(picked);
    chosen.extend(take_turns(
        &units,
        &older,
        &mut turns.turns,
        &mut room,
        false,
        airtime,
    ));
    chosen.sort_unstable();
    room += poll_reserve;
    let polled = take_turns(&units, &polls, &mut turns.polls, &mut room, true, airtime);
    room += reserve;
    let rotated = take_turns(
        &units,
        &rotation,
        &mut turns.rotation,
        &mut room,
        true,
        airtime,
    );
    let mut closing_units: Vec<usize> = closing_fixed.into_iter().chain(polled).collect();
    // Index screens at most a tenth of the airtime: drop closing lists first.
    let total_of = |ids: &[usize], airtime: &mut dyn Airtime| -> u64 {
        ids.iter().map(|&i| unit_time(&units[i], airtime)).sum()
    };
    let body_time = total_of(&chosen, airtime) + total_of(&rotated, airtime);
    let mut with_summary = program.summary;
    loop {
        let index_time: u64 = closing_units
            .iter()
            .filter(|&&i| is_index(i))
            .map(|&i| unit_time(&units[i], airtime))
            .sum::<u64>()
            + if with_summary { summary_estimate } else { 0 };
        let total = body_time
            + total_of(&closing_units, airtime)
            + if with_summary { summary_estimate } else { 0 };
        if index_time * 100 <= total * INDEX_SHARE_PERCENT {
            break;
        }
        if let Some(pos) = closing_units.iter().rposition(|&i| is_index(i)) {
            closing_units.remove(pos);
        } else if with_summary {
            with_summary = false;
        } else {
            break;
        }
    }
    let order: Vec<usize> = chosen
        .into_iter()
        .chain(rotated)
        .chain(closing_units)
        .collect();
    let mut out: Vec<Item> = Vec::new();
    if with_summary {
        let headlines = order
            .iter()
            .map(|&i| units[i].items[0].screen.headline())
            .collect();
        out.push(Item {
            key: SUMMARY_KEY.to_owned(),
            screen: Arc::new(summary_screen(title, now, headlines)),
            part: Part::Always,
            dwell: None,
        });
    }
    for i in order {
        out.extend(units[i].items.iter().map(|&it| it.clone()));
    }
    out
}

/// The summary screen opening a cycle.
pub fn summary_screen(title: &str, now: DateTime<FixedOffset>, headlines: Vec<String>) -> Screen {
    Screen::Summary(SummaryScreen {
        channel: title.to_owned(),
        date: crate::content::date_line(now),
        headlines,
    })
}

/// Groups attached items with the item before them.
fn units(items: &[Item]) -> Vec<Unit<'_>> {
    let mut out: Vec<Unit<'_>> = Vec::new();
    for item in items {
        match (item.part, out.last_mut()) {
            (Part::Attached, Some(unit)) => unit.items.push(item),
            (Part::Attached, None) => {}
            (part, _) => out.push(Unit {
                items: vec![item],
                part,
            }),
        }
    }
    out
}

/// Index (into `pool`) where the pool's turn starts: after the key taken last.
fn start_of(units: &[Unit<'_>], pool: &[usize], last: Option<&str>) -> usize {
    last.and_then(|key| pool.iter().position(|&i| units[i].key() == key))
        .map_or(0, |p| (p + 1) % pool.len().max(1))
}

fn first_turn(units: &[Unit<'_>], pool: &[usize], last: Option<&str>) -> Option<usize> {
    (!pool.is_empty()).then(|| pool[start_of(units, pool, last)])
}

/// Takes units of `pool` from where its turn stopped while they fit `room` (at least one
/// with `at_least_one`); remembers where it stopped when not all were taken.
fn take_turns(
    units: &[Unit<'_>],
    pool: &[usize],
    last: &mut Option<String>,
    room: &mut u64,
    at_least_one: bool,
    airtime: &mut dyn Airtime,
) -> Vec<usize> {
    if pool.is_empty() {
        return Vec::new();
    }
    let start = start_of(units, pool, last.as_deref());
    let mut taken = Vec::new();
    // A unit longer than the room is passed over (a smaller one after it may fit); after
    // a few in a row the pool's turn ends.
    let mut passed = 0;
    for off in 0..pool.len() {
        let i = pool[(start + off) % pool.len()];
        let t: u64 = units[i]
            .items
            .iter()
            .map(|it| airtime.seconds(&it.screen))
            .sum();
        if t <= *room || (at_least_one && taken.is_empty()) {
            *room = room.saturating_sub(t);
            taken.push(i);
            passed = 0;
        } else {
            passed += 1;
            if passed >= MAX_PASSED {
                break;
            }
        }
    }
    if taken.len() < pool.len() {
        *last = taken
            .last()
            .map(|&i| units[i].key().to_owned())
            .or(last.take());
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::screen::NoticeScreen;
    use chrono::TimeZone;

    fn notice(n: u64) -> Screen {
        Screen::Notice(NoticeScreen {
            title: format!("通知{n}"),
            publisher: "办公室".into(),
            date: "2026-11-22".into(),
            body: "正".repeat(n as usize),
            publicity: None,
            url: None,
            urgent: false,
        })
    }

    fn item(key: &str, part: Part, secs: u64) -> Item {
        Item {
            key: key.into(),
            screen: Arc::new(notice(secs)),
            part,
            dwell: None,
        }
    }

    /// Airtime = the body length of the test notices, 10 s for anything else.
    fn secs(s: &Screen) -> u64 {
        match s {
            Screen::Notice(n) => n.body.chars().count() as u64,
            _ => 10,
        }
    }

    fn now() -> DateTime<FixedOffset> {
        crate::content::county_offset()
            .with_ymd_and_hms(2026, 11, 22, 8, 0, 0)
            .single()
            .unwrap()
    }

    fn keys(items: &[Item]) -> Vec<&str> {
        items.iter().map(|i| i.key.as_str()).collect()
    }

    #[test]
    fn everything_airs_when_it_fits() {
        let program = Program {
            items: vec![
                item("n1", Part::Always, 100),
                item("l1", Part::Attached, 20),
                item("n2", Part::Turns, 100),
                item("g1", Part::Rotation, 50),
                item("g2", Part::Rotation, 50),
                item("p1", Part::Closing, 30),
            ],
            summary: true,
            ..Program::default()
        };
        let mut turns = Turns::default();
        let cycle = plan(&program, "台", now(), 900, &mut secs, &mut turns);
        assert_eq!(
            keys(&cycle),
            ["summary", "n1", "l1", "n2", "g1", "g2", "p1"]
        );
    }

    #[test]
    fn rotation_takes_turns_across_cycles_and_covers_every_item() {
        let mut items = vec![item("n1", Part::Always, 300)];
        for g in 0..10 {
            items.push(item(&format!("g{g}"), Part::Rotation, 100));
        }
        let program = Program {
            items,
            summary: false,
            ..Program::default()
        };
        let mut turns = Turns::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..4 {
            let cycle = plan(&program, "台", now(), 600, &mut secs, &mut turns);
            assert_eq!(cycle[0].key, "n1", "the fresh notice airs in every cycle");
            let total: u64 = cycle.iter().map(|i| secs(&i.screen)).sum();
            assert!(total <= 600, "{total}");
            seen.extend(cycle.iter().map(|i| i.key.clone()));
        }
        assert_eq!(
            seen.len(),
            11,
            "every guide aired within four cycles: {seen:?}"
        );
    }

    #[test]
    fn older_notices_take_turns_when_they_do_not_fit() {
        let mut items = vec![item("fresh", Part::Always, 100)];
        for n in 0..6 {
            items.push(item(&format!("old{n}"), Part::Turns, 200));
        }
        items.push(item("g", Part::Rotation, 50));
        let program = Program {
            items,
            summary: false,
            ..Program::default()
        };
        let mut turns = Turns::default();
        let a = plan(&program, "台", now(), 700, &mut secs, &mut turns);
        let b = plan(&program, "台", now(), 700, &mut secs, &mut turns);
        assert_eq!(keys(&a), ["fresh", "old0", "old1", "g"]);
        assert_eq!(keys(&b), ["fresh", "old2", "old3", "g"]);
    }

    #[test]
    fn polls_take_turns_when_they_do_not_all_fit() {
        let program = Program {
            items: vec![
                item("n1", Part::Always, 500),
                item("p1", Part::Closing, 200),
                item("p2", Part::Closing, 200),
                item("p3", Part::Closing, 200),
            ],
            summary: false,
            ..Program::default()
        };
        let mut turns = Turns::default();
        let a = plan(&program, "台", now(), 800, &mut secs, &mut turns);
        let b = plan(&program, "台", now(), 800, &mut secs, &mut turns);
        assert_eq!(keys(&a), ["n1", "p1"]);
        assert_eq!(keys(&b), ["n1", "p2"]);
    }

    #[test]
    fn index_screens_stay_under_a_tenth() {
        let list = Item {
            key: "cases:today".into(),
            screen: Arc::new(Screen::List(crate::render::screen::ListScreen {
                title: "今日办结".into(),
                items: Vec::new(),
            })),
            part: Part::Closing,
            dwell: None,
        };
        let program = Program {
            items: vec![item("n1", Part::Always, 60), list],
            summary: true,
            ..Program::default()
        };
        let cycle = plan(&program, "台", now(), 900, &mut secs, &mut Turns::default());
        // summary 10 + list 10 of 80 s is 25 %: the list goes, then the summary.
        assert_eq!(keys(&cycle), ["n1"]);
    }

    #[test]
    fn an_empty_program_plans_nothing() {
        let cycle = plan(
            &Program::default(),
            "台",
            now(),
            900,
            &mut secs,
            &mut Turns::default(),
        );
        assert!(cycle.is_empty());
    }
}
