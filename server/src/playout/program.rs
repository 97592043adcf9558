//! What a channel airs: its program, the pool of screens a cycle is planned from (see
//! [`super::cycle`]), plus the urgent notice in force, if any.
//!
//! Playout does not decide what airs: a [`ProgramSource`] hands it a ready program (the
//! operator's schedule, see `crate::schedule`), with the moments it changes by itself
//! ([`Program::expires`] at the next page change, [`Program::cut_at`] at the second).

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};

use crate::render::screen::NoticeScreen;
use crate::render::{Alert, Screen};

/// Why a program could not be read (the previous one keeps airing).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProgramError(pub String);

/// Where an item goes in a cycle and whether it must air in every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Airs in every cycle, in program order (fresh or important notices, fixed screens).
    Always,
    /// Airs in program order with the `Always` items, but takes turns across cycles when
    /// not all of them fit (older notices).
    Turns,
    /// Airs right after the item before it, and only with it (a notice's public lists).
    Attached,
    /// Takes turns after the notices, filling what is left of the cycle (service guides
    /// and flows).
    Rotation,
    /// Closes every cycle (cases completed today, polls).
    Closing,
}

/// One screen of a program.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Stable identity across rebuilds (`notice:42`, `guide:7`, `poll:3` …): a key that was
    /// not in the previous program is new content and airs next.
    pub key: String,
    /// What to draw.
    pub screen: Arc<Screen>,
    /// Where it goes in a cycle.
    pub part: Part,
    /// Seconds each of its pages stays up, when its block says so; `None` takes the
    /// channel's dwell (longer for long text).
    pub dwell: Option<u32>,
}

impl Item {
    /// An item that airs in every cycle.
    pub fn always(key: impl Into<String>, screen: Screen) -> Item {
        Item::new(key, screen, Part::Always)
    }

    /// An item at the channel's dwell.
    pub fn new(key: impl Into<String>, screen: Screen, part: Part) -> Item {
        Item {
            key: key.into(),
            screen: Arc::new(screen),
            part,
            dwell: None,
        }
    }

    /// The store id in the key (`notice:42` → 42), if any.
    pub fn store_id(&self) -> Option<i64> {
        self.key.rsplit(':').next().and_then(|id| id.parse().ok())
    }
}

/// The urgent notice in force for a channel's region.
#[derive(Debug, Clone, PartialEq)]
pub struct Urgent {
    /// Its key (`notice:42`).
    pub key: String,
    /// The full notice, drawn in urgent styling.
    pub screen: Arc<Screen>,
    /// What the alert band shows.
    pub alert: Alert,
    /// Only the alert band airs (an operator's band override): the notice is not aired
    /// full screen between the pages.
    pub band_only: bool,
}

impl Urgent {
    /// The urgent notice `id`, for the full-screen airing and the alert band.
    pub fn of_notice(id: i64, mut notice: NoticeScreen) -> Urgent {
        notice.urgent = true;
        let alert = Alert {
            title: notice.title.clone(),
            text: notice.body.clone(),
        };
        Urgent {
            key: format!("notice:{id}"),
            screen: Arc::new(Screen::Notice(notice)),
            alert,
            band_only: false,
        }
    }
}

/// A channel's program at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Program {
    /// Screens in program order.
    pub items: Vec<Item>,
    /// The urgent notice in force, if any: it airs full screen first and again at least
    /// every [`super::LaneOptions::urgent_every`], and as the alert band meanwhile.
    pub urgent: Option<Urgent>,
    /// Each cycle opens with a summary screen (channel, date, headlines). Default: false.
    pub summary: bool,
    /// When the program changes by itself (validity ends at midnight, a soft schedule
    /// boundary): the lane re-reads it at the first page change from then on. Default:
    /// never.
    pub expires: Option<DateTime<FixedOffset>>,
    /// When the program changes at the second (a hard start, an urgent override starting
    /// or ending): the lane cuts to the new program at the first GOP that airs at or
    /// after it, whatever page is up. Default: never.
    pub cut_at: Option<DateTime<FixedOffset>>,
    /// Which part of the schedule this is (block occurrence, fallback, override): when it
    /// differs from the program before, the cycle starts afresh from the new program.
    pub segment: String,
}

impl Program {
    /// Index of the item with `key`.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.items.iter().position(|i| i.key == key)
    }

    /// The item with `key`.
    pub fn item(&self, key: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.key == key)
    }
}

/// Where a channel's program comes from.
pub trait ProgramSource: Send + Sync {
    /// The program as of `now` (county time).
    fn program(&self, now: DateTime<FixedOffset>) -> Result<Program, ProgramError>;
}

/// A fixed program (tests, drills, a single page for the benchmark).
#[derive(Debug, Clone, Default)]
pub struct FixedProgram(pub Program);

impl ProgramSource for FixedProgram {
    fn program(&self, _now: DateTime<FixedOffset>) -> Result<Program, ProgramError> {
        Ok(self.0.clone())
    }
}
