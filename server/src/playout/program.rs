//! What a channel airs: its program, the pool of screens a cycle is planned from (see
//! [`super::cycle`]), plus the urgent notice in force, if any.
//!
//! Until operator scheduling exists, every channel airs the default sequence built from
//! the store ([`StoreProgram`]): a summary → every notice on air for the channel's region
//! in full (with its public lists), newest first → service guides and flows taking turns
//! across cycles → cases completed today → open polls with their results.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use rusqlite::Connection;

use crate::pages;
use crate::render::screens::NoticeScreen;
use crate::render::{Alert, Screen};
use crate::store::{Store, StoreError};

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
}

impl Item {
    /// An item that airs in every cycle.
    pub fn always(key: impl Into<String>, screen: Screen) -> Item {
        Item {
            key: key.into(),
            screen: Arc::new(screen),
            part: Part::Always,
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
    /// When the program changes by itself (validity ends at midnight): the lane re-reads
    /// it at the first page change from then on. Default: never.
    pub expires: Option<DateTime<FixedOffset>>,
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
    fn program(&self, now: DateTime<FixedOffset>) -> Result<Program, StoreError>;
}

/// A channel as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    /// ASCII name (`county`).
    pub name: String,
    /// Title on air (示范县政务频道).
    pub title: String,
    /// Region code it serves.
    pub region: String,
}

/// Every channel in the store, by name.
pub fn channels(conn: &Connection) -> Result<Vec<ChannelInfo>, StoreError> {
    let mut stmt = conn.prepare("SELECT name, title, region FROM channels ORDER BY id")?;
    let rows = stmt
        .query_map([], |r| {
            Ok(ChannelInfo {
                name: r.get(0)?,
                title: r.get(1)?,
                region: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The default sequence of one channel, read from the store.
#[derive(Debug, Clone)]
pub struct StoreProgram {
    store: Store,
    channel: ChannelInfo,
}

impl StoreProgram {
    /// The default sequence of `channel`.
    pub fn new(store: Store, channel: ChannelInfo) -> StoreProgram {
        StoreProgram { store, channel }
    }
}

impl ProgramSource for StoreProgram {
    fn program(&self, now: DateTime<FixedOffset>) -> Result<Program, StoreError> {
        let channel = self.channel.clone();
        self.store
            .call_blocking(move |conn| default_sequence(conn, &channel, now))
    }
}

/// Notices published this many days ago or later air in every cycle; older ones take
/// turns when not all of them fit.
pub const FRESH_DAYS: i64 = 3;

/// Builds the default sequence of `channel` at `now`.
pub fn default_sequence(
    conn: &Connection,
    channel: &ChannelInfo,
    now: DateTime<FixedOffset>,
) -> Result<Program, StoreError> {
    use crate::content::Priority;
    let today = now.date_naive();
    let region = channel.region.as_str();
    let urgent = pages::urgent_notice(conn, region, today)?;
    let fresh_from = (today - chrono::Duration::days(FRESH_DAYS)).to_string();
    let mut items = Vec::new();
    for (id, priority, notice) in pages::notices_on_air(conn, region, today, usize::MAX)? {
        if urgent.as_ref().is_some_and(|(u, _)| *u == id) {
            continue;
        }
        let part = if priority != Priority::Normal || notice.date >= fresh_from {
            Part::Always
        } else {
            Part::Turns
        };
        items.push(Item {
            key: format!("notice:{id}"),
            screen: Arc::new(Screen::Notice(notice)),
            part,
        });
        for (list_id, list) in pages::public_lists_of(conn, id)? {
            items.push(Item {
                key: format!("public_list:{list_id}"),
                screen: Arc::new(Screen::PublicList(list)),
                part: Part::Attached,
            });
        }
    }
    let guides = pages::service_guides(conn)?;
    let flows = pages::power_flows(conn)?;
    let (mut guides, mut flows) = (guides.into_iter(), flows.into_iter());
    loop {
        let (g, f) = (guides.next(), flows.next());
        if g.is_none() && f.is_none() {
            break;
        }
        if let Some((id, guide)) = g {
            items.push(Item {
                key: format!("guide:{id}"),
                screen: Arc::new(Screen::Guide(guide)),
                part: Part::Rotation,
            });
        }
        if let Some((id, flow)) = f {
            items.push(Item {
                key: format!("flow:{id}"),
                screen: Arc::new(Screen::Flow(flow)),
                part: Part::Rotation,
            });
        }
    }
    if let Some(list) = pages::cases_completed_today(conn, region, today)? {
        items.push(Item {
            key: "cases:today".to_owned(),
            screen: Arc::new(Screen::List(list)),
            part: Part::Closing,
        });
    }
    for (id, poll) in pages::open_polls(conn, region, today)? {
        items.push(Item {
            key: format!("poll:{id}"),
            screen: Arc::new(Screen::Poll(poll)),
            part: Part::Closing,
        });
    }
    let midnight = (today + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(*now.offset()).single());
    Ok(Program {
        items,
        urgent: urgent.map(|(id, n)| Urgent::of_notice(id, n)),
        summary: true,
        expires: midnight,
    })
}

/// A fixed program (tests, drills, a single page for the benchmark).
#[derive(Debug, Clone, Default)]
pub struct FixedProgram(pub Program);

impl ProgramSource for FixedProgram {
    fn program(&self, _now: DateTime<FixedOffset>) -> Result<Program, StoreError> {
        Ok(self.0.clone())
    }
}

/// A cheap fingerprint of the store's content that changes with every committed write:
/// SQLite's `data_version` (commits by other connections, e.g. `headend import` or a
/// tool) and this connection's total change count (its own writes). A change makes every
/// lane re-read its program at the next second; what actually airs changes only if the
/// program did.
pub fn content_fingerprint(conn: &Connection) -> Result<String, StoreError> {
    let version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
    Ok(format!("{version}/{}", conn.total_changes()))
}
