//! What a channel airs: its program, an ordered list of screens (each aired page by page),
//! plus the urgent banner laid over everything while an urgent notice is on air.
//!
//! Until operator scheduling exists, every channel airs the default sequence built from
//! the store ([`StoreProgram`]): home → section lists → notices on air for the channel's
//! region (all pages) → cases completed today → open polls.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use rusqlite::Connection;

use crate::pages;
use crate::render::Screen;
use crate::store::{Store, StoreError};

/// One screen of a program.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Stable identity across rebuilds (`home`, `notice:42`, `poll:3` …): a key that was
    /// not in the previous program is new content and airs next.
    pub key: String,
    /// What to draw.
    pub screen: Arc<Screen>,
}

/// A channel's program at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Program {
    /// Screens in airing order.
    pub items: Vec<Item>,
    /// The urgent banner (a `Screen::Banner`), if an urgent notice is on air.
    pub banner: Option<Arc<Screen>>,
}

impl Program {
    /// Index of the item with `key`.
    pub fn position(&self, key: &str) -> Option<usize> {
        self.items.iter().position(|i| i.key == key)
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

/// Builds the default sequence of `channel` at `now`.
pub fn default_sequence(
    conn: &Connection,
    channel: &ChannelInfo,
    now: DateTime<FixedOffset>,
) -> Result<Program, StoreError> {
    let today = now.date_naive();
    let region = channel.region.as_str();
    let mut items = vec![Item {
        key: "home".to_owned(),
        screen: Arc::new(Screen::Home(pages::home(&channel.title, now))),
    }];
    for (key, list) in pages::section_lists(conn, region, today)? {
        items.push(Item {
            key,
            screen: Arc::new(Screen::List(list)),
        });
    }
    for (id, _, notice) in pages::notices_on_air(conn, region, today, pages::NOTICES_ON_AIR)? {
        items.push(Item {
            key: format!("notice:{id}"),
            screen: Arc::new(Screen::Notice(notice)),
        });
    }
    if let Some(list) = pages::cases_completed_today(conn, region, today)? {
        items.push(Item {
            key: "cases:today".to_owned(),
            screen: Arc::new(Screen::List(list)),
        });
    }
    for (id, poll) in pages::open_polls(conn, region, today)? {
        items.push(Item {
            key: format!("poll:{id}"),
            screen: Arc::new(Screen::Poll(poll)),
        });
    }
    let banner = pages::urgent_banner(conn, region, today)?.map(|b| Arc::new(Screen::Banner(b)));
    Ok(Program { items, banner })
}

/// A fixed program (tests, drills, a single page for the benchmark).
#[derive(Debug, Clone, Default)]
pub struct FixedProgram(pub Program);

impl ProgramSource for FixedProgram {
    fn program(&self, _now: DateTime<FixedOffset>) -> Result<Program, StoreError> {
        Ok(self.0.clone())
    }
}

/// A cheap fingerprint of everything the default sequence reads; it changes when content
/// is published, updated, withdrawn or voted on.
pub fn content_fingerprint(conn: &Connection) -> Result<String, StoreError> {
    Ok(conn.query_row(
        "SELECT (SELECT count(*) || '/' || COALESCE(max(updated_at), '') FROM notices)
             || '|' || (SELECT count(*) || '/' || COALESCE(max(updated_at), '') FROM cases)
             || '|' || (SELECT count(*) || '/' || COALESCE(max(updated_at), '') FROM catalogue_entries)
             || '|' || (SELECT count(*) FROM polls)
             || '|' || (SELECT COALESCE(sum(votes), 0) FROM poll_options)
             || '|' || (SELECT count(*) FROM channels)",
        [],
        |r| r.get(0),
    )?)
}
