//! What airs on a channel at a moment: the schedule's segment then (a block, or the
//! channel's fallback in a gap), an urgent override in force, and when that changes next
//! (at a page change, or at the second for hard starts and full-screen overrides).

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, NaiveTime};
use rusqlite::{Connection, OptionalExtension};

use super::block;
use super::recurrence::{Repeat, Rule};
use super::timeline::{self, Entry, Segment, Source};
use super::urgent::{self, Form};
use crate::pages;
use crate::playout::spec::HlsOutput;
use crate::playout::ChannelSpec;
use crate::playout::{
    ChannelPlan, Faults, Item, OutputSpec, Part, PlayoutError, Program, ProgramError,
    ProgramSource, Urgent,
};
use crate::render::Screen;
use crate::store::{Store, StoreError};

impl From<StoreError> for ProgramError {
    fn from(e: StoreError) -> Self {
        ProgramError(crate::web::error_chain(&e))
    }
}

/// A channel as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChannelInfo {
    /// ASCII name (`county`).
    pub name: String,
    /// Title on air (示范县政务频道).
    pub title: String,
    /// Region code it serves.
    pub region: String,
    /// The block that fills the gaps; `None`: the default sequence.
    pub fallback: Option<i64>,
    /// The guide lists each screen of a block rather than one programme per block.
    pub epg_per_notice: bool,
    /// Outputs set by operators (a configured channel's `[[channels.outputs]]` win).
    pub outputs: Vec<OutputSpec>,
}

const CHANNEL_COLUMNS: &str = "name, title, region, fallback_block, epg_per_notice, outputs";

fn channel_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChannelInfo> {
    let outputs: String = r.get(5)?;
    Ok(ChannelInfo {
        name: r.get(0)?,
        title: r.get(1)?,
        region: r.get(2)?,
        fallback: r.get(3)?,
        epg_per_notice: r.get(4)?,
        outputs: serde_json::from_str(&outputs).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
        })?,
    })
}

/// Every channel in the store, in the order they were made.
pub fn channels(conn: &Connection) -> Result<Vec<ChannelInfo>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM channels ORDER BY id"
    ))?;
    let rows = stmt.query_map([], channel_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The channel named `name`.
pub fn channel(conn: &Connection, name: &str) -> Result<Option<ChannelInfo>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE name = ?1"),
            [name],
            channel_row,
        )
        .optional()?)
}

/// Notices published this many days ago or later air in every cycle of the default
/// sequence; older ones take turns when not all of them fit.
pub const FRESH_DAYS: i64 = 3;

/// The default sequence of `channel` at `now` (the fallback unless the operator chose a
/// block): a summary → every notice on air for the channel's region in full (with its
/// public lists), newest first → service guides and flows taking turns across cycles →
/// cases completed today → open polls with their results.
pub fn default_sequence(
    conn: &Connection,
    channel: &ChannelInfo,
    now: DateTime<FixedOffset>,
) -> Result<Program, StoreError> {
    use crate::content::Priority;
    let today = now.date_naive();
    let region = channel.region.as_str();
    let urgent = pages::urgent_notice(conn, region, today)?;
    let fresh_from = (today - Duration::days(FRESH_DAYS)).to_string();
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
        items.push(Item::new(
            format!("notice:{id}"),
            Screen::Notice(notice),
            part,
        ));
        for (list_id, list) in pages::public_lists_of(conn, id)? {
            items.push(Item::new(
                format!("public_list:{list_id}"),
                Screen::PublicList(list),
                Part::Attached,
            ));
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
            items.push(Item::new(
                format!("guide:{id}"),
                Screen::Guide(guide),
                Part::Rotation,
            ));
        }
        if let Some((id, flow)) = f {
            items.push(Item::new(
                format!("flow:{id}"),
                Screen::Flow(flow),
                Part::Rotation,
            ));
        }
    }
    if let Some(list) = pages::cases_completed_today(conn, region, today)? {
        items.push(Item::new("cases:today", Screen::List(list), Part::Closing));
    }
    for (id, poll) in pages::open_polls(conn, region, today)? {
        items.push(Item::new(
            format!("poll:{id}"),
            Screen::Poll(poll),
            Part::Closing,
        ));
    }
    Ok(Program {
        items,
        urgent: urgent.map(|(id, n)| Urgent::of_notice(id, n)),
        summary: true,
        expires: at_county(next_midnight(now.naive_local())),
        cut_at: None,
        segment: "fallback".into(),
    })
}

fn next_midnight(t: NaiveDateTime) -> NaiveDateTime {
    (t.date() + Duration::days(1)).and_time(NaiveTime::MIN)
}

/// A county-time `NaiveDateTime` as an instant (+08:00, which has no gaps or folds).
pub fn at_county(t: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    t.and_local_timezone(crate::content::county_offset())
        .single()
}

/// A schedule entry row as stored.
type EntryRow = (
    i64,
    i64,
    String,
    u32,
    String,
    u8,
    String,
    Option<String>,
    String,
    bool,
    i32,
);

/// The schedule entries of `channel`.
pub fn entries_of(conn: &Connection, channel: &str) -> Result<Vec<Entry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, block_id, start_time, minutes, repeat, weekdays, date_from, date_until,
                exceptions, hard, priority
         FROM schedule_entries WHERE channel = ?1 ORDER BY id",
    )?;
    let rows: Vec<EntryRow> = stmt
        .query_map([channel], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let bad = |id: i64, what: &str| StoreError::Malformed(format!("schedule entry {id}: {what}"));
    rows.into_iter()
        .map(
            |(id, block, start, minutes, repeat, mask, from, until, except, hard, priority)| {
                let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d");
                let except: Vec<String> =
                    serde_json::from_str(&except).map_err(|_| bad(id, "exceptions"))?;
                Ok(Entry {
                    id,
                    block,
                    start: NaiveTime::parse_from_str(&start, "%H:%M:%S")
                        .map_err(|_| bad(id, "start time"))?,
                    minutes,
                    rule: Rule {
                        repeat: Repeat::parse(&repeat, mask).ok_or_else(|| bad(id, "repeat"))?,
                        from: day(&from).map_err(|_| bad(id, "first date"))?,
                        until: until
                            .map(|u| day(&u))
                            .transpose()
                            .map_err(|_| bad(id, "last date"))?,
                        except: except
                            .iter()
                            .map(|d| day(d))
                            .collect::<Result<_, _>>()
                            .map_err(|_| bad(id, "exceptions"))?,
                    },
                    hard,
                    priority,
                })
            },
        )
        .collect()
}

/// The segments of `channel` over `from..to` (county time).
pub fn segments(
    conn: &Connection,
    channel: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<Segment>, StoreError> {
    Ok(timeline::resolve(&entries_of(conn, channel)?, from, to))
}

/// The screens of the channel's fallback at `now`, as a program.
fn fallback(
    conn: &Connection,
    channel: &ChannelInfo,
    now: DateTime<FixedOffset>,
) -> Result<Program, StoreError> {
    if let Some(b) = channel.fallback {
        let items = block::screens(
            conn,
            &block::items_of(conn, b)?,
            &channel.region,
            now.date_naive(),
        )?;
        if let Some(p) = block_program(conn, channel, items, now, "fallback".into())? {
            return Ok(p);
        }
        tracing::warn!(channel = %channel.name, block = b, "the fallback block selects nothing now; airing the default sequence");
    }
    default_sequence(conn, channel, now)
}

/// The program of a block's screens, the urgent notice in force carried apart; `None`
/// when nothing is left to air between urgent airings.
fn block_program(
    conn: &Connection,
    channel: &ChannelInfo,
    items: Vec<Item>,
    now: DateTime<FixedOffset>,
    segment: String,
) -> Result<Option<Program>, StoreError> {
    let urgent = pages::urgent_notice(conn, &channel.region, now.date_naive())?;
    let items: Vec<Item> = items
        .into_iter()
        .filter(|i| {
            urgent
                .as_ref()
                .is_none_or(|(u, _)| i.key != format!("notice:{u}"))
        })
        .collect();
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(Program {
        items,
        urgent: urgent.map(|(id, n)| Urgent::of_notice(id, n)),
        summary: false,
        expires: None,
        cut_at: None,
        segment,
    }))
}

/// What `channel` airs at `now`, with when that changes next.
pub fn program_at(
    conn: &Connection,
    channel: &ChannelInfo,
    now: DateTime<FixedOffset>,
) -> Result<Program, StoreError> {
    Ok(resolve_at(conn, channel, now)?.0)
}

/// What `channel` airs at `now` and the schedule's segment then.
fn resolve_at(
    conn: &Connection,
    channel: &ChannelInfo,
    now: DateTime<FixedOffset>,
) -> Result<(Program, Option<Segment>), StoreError> {
    let local = now.naive_local();
    let day_start = local.date().and_time(NaiveTime::MIN);
    let window_end = day_start + Duration::days(2);
    let segs = segments(conn, &channel.name, day_start, window_end)?;
    let seg = segs
        .iter()
        .find(|s| s.start <= local && local < s.end)
        .copied();
    let next = seg.and_then(|s| segs.iter().find(|n| n.start == s.end).copied());
    let mut program = match seg.map(|s| s.source) {
        Some(Source::Block {
            entry,
            block,
            since,
        }) => {
            let items = block::screens(
                conn,
                &block::items_of(conn, block)?,
                &channel.region,
                now.date_naive(),
            )?;
            match block_program(conn, channel, items, now, format!("entry:{entry}@{since}"))? {
                Some(p) => p,
                None => {
                    tracing::warn!(channel = %channel.name, entry, block, "the scheduled block selects nothing to air now; airing the fallback");
                    fallback(conn, channel, now)?
                }
            }
        }
        Some(Source::Fallback) | None => fallback(conn, channel, now)?,
    };
    let mut expires: Vec<NaiveDateTime> = vec![next_midnight(local)];
    let mut cuts: Vec<NaiveDateTime> = Vec::new();
    if let Some(s) = seg {
        if s.end < window_end {
            expires.push(s.end);
        }
        if next.is_some_and(|n| n.hard) {
            cuts.push(s.end);
        }
    }
    // Urgent overrides: a full-screen one replaces the program; a band one adds its band.
    let overrides = urgent::airing_on(conn, &channel.name, now.with_timezone(&chrono::Utc))?;
    let in_force = |form: Form| {
        overrides
            .iter()
            .filter(|o| o.form == form && o.starts_at <= now && now < o.ends_at)
            .max_by_key(|o| (o.starts_at, o.id))
    };
    for o in &overrides {
        for t in [o.starts_at, o.ends_at] {
            if t > now {
                let t = t.naive_local();
                match o.form {
                    Form::Full => cuts.push(t),
                    Form::Band => expires.push(t),
                }
            }
        }
    }
    let today = now.date_naive();
    if let Some(o) = in_force(Form::Full) {
        if let Some(n) = pages::notice(conn, o.notice_id, today)? {
            let u = Urgent::of_notice(o.notice_id, n);
            program = Program {
                items: vec![Item {
                    key: u.key.clone(),
                    screen: u.screen,
                    part: Part::Always,
                    dwell: None,
                }],
                urgent: None,
                summary: false,
                expires: None,
                cut_at: None,
                segment: format!("override:{}", o.id),
            };
        }
    } else if let Some(o) = in_force(Form::Band) {
        if let Some(n) = pages::notice(conn, o.notice_id, today)? {
            let mut u = Urgent::of_notice(o.notice_id, n);
            u.band_only = true;
            // The region's own urgent notice, displaced from the band, airs in the cycle.
            if let Some(displaced) = program.urgent.take().filter(|d| d.key != u.key) {
                program.items.insert(
                    0,
                    Item {
                        key: displaced.key,
                        screen: displaced.screen,
                        part: Part::Always,
                        dwell: None,
                    },
                );
            }
            program.urgent = Some(u);
        }
    }
    program.expires = expires.into_iter().min().and_then(at_county);
    program.cut_at = cuts
        .into_iter()
        .filter(|t| *t > local)
        .min()
        .and_then(at_county);
    Ok((program, seg))
}

/// A channel's program read from the store: its schedule, fallback and overrides.
#[derive(Debug, Clone)]
pub struct ScheduleProgram {
    store: Store,
    channel: String,
}

impl ScheduleProgram {
    /// The program of the channel named `channel`.
    pub fn new(store: Store, channel: &str) -> ScheduleProgram {
        ScheduleProgram {
            store,
            channel: channel.to_owned(),
        }
    }
}

impl ProgramSource for ScheduleProgram {
    fn program(&self, now: DateTime<FixedOffset>) -> Result<Program, ProgramError> {
        let name = self.channel.clone();
        Ok(self.store.call_blocking(move |conn| {
            let info = channel(conn, &name)?.ok_or_else(|| {
                StoreError::Malformed(format!("channel {name} is no longer in the store"))
            })?;
            program_at(conn, &info, now)
        })?)
    }
}

/// Plans every channel to air: the configured ones, plus (with `air_unconfigured`) every
/// other channel in the store with one HLS output. A configured channel the store does not
/// have is logged and skipped.
pub fn plan_channels(
    store: &Store,
    specs: &[ChannelSpec],
    air_unconfigured: bool,
    data_dir: &Path,
) -> Result<Vec<ChannelPlan>, PlayoutError> {
    Planner::new(store.clone(), specs.to_vec(), air_unconfigured, data_dir).plan_all()
}

/// Decides which channels air and with which outputs:
/// - a channel in the config's `[[channels]]` airs with its configured outputs (one HLS
///   output when it lists none): the config wins over the store;
/// - any other channel airs with the outputs operators set in the store, if any;
/// - and otherwise, with `air_unconfigured`, with one HLS output.
#[derive(Clone)]
pub struct Planner {
    store: Store,
    specs: Vec<ChannelSpec>,
    air_unconfigured: bool,
    data_dir: std::path::PathBuf,
    layouts: Option<Arc<crate::render::LayoutRegistry>>,
}

impl std::fmt::Debug for Planner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planner")
            .field("specs", &self.specs)
            .field("air_unconfigured", &self.air_unconfigured)
            .finish()
    }
}

impl Planner {
    /// A planner over `store` with the config's channels.
    pub fn new(
        store: Store,
        specs: Vec<ChannelSpec>,
        air_unconfigured: bool,
        data_dir: &Path,
    ) -> Planner {
        Planner {
            store,
            specs,
            air_unconfigured,
            data_dir: data_dir.to_owned(),
            layouts: None,
        }
    }

    /// Keeps the layout record of every aired frame in `layouts`.
    pub fn with_layouts(mut self, layouts: Arc<crate::render::LayoutRegistry>) -> Planner {
        self.layouts = Some(layouts);
        self
    }

    /// Whether channel `name` is set up in the config (its outputs cannot be edited).
    pub fn configured(&self, name: &str) -> bool {
        self.specs.iter().any(|s| s.name == name)
    }

    /// The outputs the config sets for channel `name`, if it is configured.
    pub fn configured_outputs(&self, name: &str) -> Option<Vec<OutputSpec>> {
        let spec = self.specs.iter().find(|s| s.name == name)?;
        Some(if spec.outputs.is_empty() {
            vec![OutputSpec::Hls(HlsOutput::default())]
        } else {
            spec.outputs.clone()
        })
    }

    /// Every channel to air.
    pub fn plan_all(&self) -> Result<Vec<ChannelPlan>, PlayoutError> {
        let known = self
            .store
            .call_blocking(|conn| channels(conn))
            .map_err(ProgramError::from)?;
        for spec in &self.specs {
            if known.iter().all(|c| c.name != spec.name) {
                tracing::error!(channel = %spec.name, "configured channel is not in the store; not airing it");
            }
        }
        let mut plans = Vec::new();
        // Configured channels first, in the config's order, then the store's.
        for spec in &self.specs {
            if let Some(info) = known.iter().find(|c| c.name == spec.name) {
                plans.extend(self.plan_of(info)?);
            }
        }
        for info in known.iter().filter(|c| !self.configured(&c.name)) {
            plans.extend(self.plan_of(info)?);
        }
        Ok(plans)
    }

    /// Channel `name` as it should air now; `None` when it does not air (or is gone).
    pub fn plan(&self, name: &str) -> Result<Option<ChannelPlan>, PlayoutError> {
        let n = name.to_owned();
        let info = self
            .store
            .call_blocking(move |conn| channel(conn, &n))
            .map_err(ProgramError::from)?;
        match info {
            Some(info) => self.plan_of(&info),
            None => Ok(None),
        }
    }

    fn plan_of(&self, info: &ChannelInfo) -> Result<Option<ChannelPlan>, PlayoutError> {
        let spec = match self.specs.iter().find(|s| s.name == info.name) {
            Some(spec) => spec.clone(),
            None if !info.outputs.is_empty() => ChannelSpec::new(&info.name, info.outputs.clone()),
            None if self.air_unconfigured => ChannelSpec::new(&info.name, Vec::new()),
            None => return Ok(None),
        };
        let mut plan = plan_one(&self.store, info, &spec, &self.data_dir)?;
        plan.layouts.clone_from(&self.layouts);
        Ok(Some(plan))
    }
}

fn plan_one(
    store: &Store,
    info: &ChannelInfo,
    spec: &ChannelSpec,
    data_dir: &Path,
) -> Result<ChannelPlan, PlayoutError> {
    spec.validate().map_err(PlayoutError::Config)?;
    let outputs = if spec.outputs.is_empty() {
        vec![OutputSpec::Hls(HlsOutput::default())]
    } else {
        spec.outputs.clone()
    };
    let outputs = outputs
        .iter()
        .map(|o| o.plan(&info.name, &info.title, data_dir))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            PlayoutError::Config(crate::playout::spec::SpecError::InChannel {
                channel: info.name.clone(),
                source: Box::new(e),
            })
        })?;
    Ok(ChannelPlan {
        name: info.name.clone(),
        title: info.title.clone(),
        source: Arc::new(ScheduleProgram::new(store.clone(), &info.name)),
        options: spec.lane_options(),
        outputs,
        faults: Arc::new(Faults::default()),
        as_run_dir: Some(data_dir.join("asrun")),
        layouts: None,
    })
}

/// What a channel airs at a moment, as planned: the segment, the program and how far into
/// it the moment is.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The segment then (`None` only for a channel with no schedule window, which cannot
    /// happen for a stored channel).
    pub segment: Option<Segment>,
    /// Its block's name, or the fallback's title.
    pub title: String,
    /// The program then.
    pub program: Program,
    /// Seconds from the start of the program's airing (segment start, midnight, or the
    /// override's start) to the moment.
    pub elapsed: u64,
}

/// The plan of `channel` at `at`.
pub fn planned_at(
    conn: &Connection,
    channel: &ChannelInfo,
    at: DateTime<FixedOffset>,
) -> Result<Planned, StoreError> {
    let local = at.naive_local();
    let day_start = local.date().and_time(NaiveTime::MIN);
    let (program, segment) = resolve_at(conn, channel, at)?;
    let mut since = segment.map_or(day_start, |s| s.start);
    if let Some(id) = program
        .segment
        .strip_prefix("override:")
        .and_then(|i| i.parse().ok())
    {
        if let Some(o) = urgent::get(conn, id)? {
            since = o.starts_at.naive_local();
        }
    }
    let title = match segment.map(|s| s.source) {
        _ if program.segment.starts_with("override:") => "紧急插播".to_owned(),
        Some(Source::Block { block, .. }) if !program.segment.starts_with("fallback") => {
            block::get(conn, block)?.map_or_else(String::new, |b| b.name)
        }
        _ => match channel
            .fallback
            .map(|b| block::get(conn, b))
            .transpose()?
            .flatten()
        {
            Some(b) => b.name,
            None => super::epg::DEFAULT_TITLE.to_owned(),
        },
    };
    Ok(Planned {
        segment,
        title,
        program,
        elapsed: u64::try_from((local - since).num_seconds()).unwrap_or(0),
    })
}

/// Which item and which page (1-based) is up `elapsed` seconds into airing items in
/// order, over and over, where `times[i]` holds the seconds of each page of item `i`.
pub fn position(times: &[Vec<u64>], elapsed: u64) -> Option<(usize, u32)> {
    let cycle: u64 = times.iter().flatten().sum();
    if cycle == 0 {
        return None;
    }
    let mut left = elapsed % cycle;
    for (i, t) in times.iter().enumerate() {
        for (p, secs) in t.iter().enumerate() {
            if left < *secs {
                return Some((i, p as u32 + 1));
            }
            left -= secs;
        }
    }
    None
}
