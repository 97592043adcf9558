//! The embedded demo county (示范县): a fictional county's complete content, loaded into
//! an empty store on the first `headend serve` so a newcomer sees a realistic channel.
//!
//! The data is `assets/demo/county.json`, written by `assets/demo/generate.py`. Its dates
//! are written relative to `anchor_date`; loading shifts every date by (today − anchor) so
//! notices are current, objection periods open and cases recent whenever the demo starts.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;

use crate::content::{
    ApplicantKind, CaseStatus, CatalogueKind, NoticeKind, NoticeStatus, Priority, RegionLevel,
    UpdateFrequency,
};
use crate::store::StoreError;

/// The demo county as shipped, embedded in the binary.
pub const COUNTY_JSON: &str = include_str!("../../assets/demo/county.json");

/// Key in `store_facts` recording that (and which) demo county was loaded.
pub const LOADED_FACT: &str = "demo_county";

/// What can go wrong loading a county bundle.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The JSON does not match the bundle schema.
    #[error("county data is not valid")]
    Parse(#[from] serde_json::Error),
    /// The bundle refers to something it does not define.
    #[error("county data refers to unknown {kind} {code:?} (in {context})")]
    UnknownReference {
        /// What kind of thing (e.g. "catalogue item").
        kind: &'static str,
        /// The missing code.
        code: String,
        /// Where the reference was.
        context: String,
    },
    /// Writing to the store failed; the load was rolled back.
    #[error("loading the county failed at {context}")]
    Store {
        /// Which record was being written.
        context: String,
        /// Why.
        source: rusqlite::Error,
    },
    /// Any other store failure.
    #[error(transparent)]
    StoreHandle(#[from] StoreError),
}

/// A county bundle: everything one county's channel needs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct County {
    /// Bundle format version (1).
    pub format: u32,
    /// The day the bundle's dates are written relative to.
    pub anchor_date: NaiveDate,
    /// The county itself.
    pub county: CountyInfo,
    /// Region tree.
    pub regions: Vec<Region>,
    /// Publishing bodies.
    pub departments: Vec<Department>,
    /// Subject categories (主题分类).
    pub subjects: Vec<CodeName>,
    /// Audience categories (服务对象).
    pub audiences: Vec<CodeName>,
    /// Catalogue entries.
    pub catalogue: Vec<CatalogueEntry>,
    /// Notices and 公示.
    pub notices: Vec<Notice>,
    /// Cases (办件).
    pub cases: Vec<Case>,
    /// Polls.
    pub polls: Vec<Poll>,
    /// Channels.
    pub channels: Vec<Channel>,
    /// Programme blocks (none: every channel airs its default sequence).
    #[serde(default)]
    pub blocks: Vec<DemoBlock>,
    /// The channels' schedule.
    #[serde(default)]
    pub schedule: Vec<DemoEntry>,
}

/// A programme block.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoBlock {
    /// Name (unique).
    pub name: String,
    /// Guide description.
    pub description: String,
    /// Selectors in order.
    pub items: Vec<crate::schedule::block::BlockItem>,
}

/// A schedule entry; dates are shifted like every other date.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoEntry {
    /// Channel name.
    pub channel: String,
    /// Block name.
    pub block: String,
    /// `HH:MM`.
    pub start: String,
    /// Length.
    pub minutes: u32,
    /// `once`, `daily`, `weekdays` or `days`.
    pub repeat: String,
    /// For `days`: 1 = Monday … 7 = Sunday.
    pub weekdays: Vec<u8>,
    /// First date.
    pub from: NaiveDate,
    /// Last date.
    pub until: Option<NaiveDate>,
    /// Cuts in at the second.
    pub hard: bool,
    /// Priority.
    pub priority: i32,
}

/// The county's identity.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountyInfo {
    /// Region code of the county.
    pub code: String,
    /// Short name, e.g. 示范县.
    pub name: String,
    /// Name with province, e.g. 浙江省示范县.
    pub full_name: String,
}

/// A node of the region tree.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Region code.
    pub code: String,
    /// Name.
    pub name: String,
    /// County, town or village.
    pub level: RegionLevel,
    /// Parent's code (None for the county).
    pub parent: Option<String>,
}

/// A publishing body (of the demo county, or of a county's `departments.csv`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    /// Short ASCII code.
    pub code: String,
    /// Full name.
    pub name: String,
    /// Short name for tight layouts.
    pub short_name: String,
    /// Region it serves.
    pub region: String,
    /// Public phone.
    pub phone: String,
    /// Address.
    pub address: String,
}

/// Writes publishing body `d` into the directory, serving `region`.
pub fn insert_department(
    conn: &Connection,
    d: &Department,
    region: &str,
) -> Result<(), rusqlite::Error> {
    conn.execute(
        "INSERT INTO departments (code, name, short_name, region, phone, address)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![d.code, d.name, d.short_name, region, d.phone, d.address],
    )?;
    Ok(())
}

/// A (code, name) pair for small vocabularies.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeName {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// A catalogue entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueEntry {
    /// 索引号.
    pub index_no: String,
    /// Kind of entry.
    pub kind: CatalogueKind,
    /// Title.
    pub title: String,
    /// Publishing body code.
    pub department: String,
    /// 文号.
    pub doc_no: Option<String>,
    /// Issue date.
    pub date: NaiveDate,
    /// Subject code.
    pub subject: String,
    /// Audience codes.
    pub audiences: Vec<String>,
    /// Start of validity.
    pub valid_from: Option<NaiveDate>,
    /// End of validity.
    pub valid_until: Option<NaiveDate>,
    /// Summary.
    pub summary: String,
    /// Body, paragraphs separated by blank lines.
    pub body: String,
    /// Required update frequency.
    pub update_frequency: UpdateFrequency,
    /// Last update.
    pub updated_at: DateTime<FixedOffset>,
    /// Power type for power items.
    pub power_type: Option<String>,
    /// Online page.
    pub url: Option<String>,
    /// Service guide for power and service items.
    pub guide: Option<Guide>,
    /// Process steps for power items.
    pub flow: Vec<FlowStep>,
}

/// A service guide (办事指南).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guide {
    /// Conditions.
    pub conditions: Vec<String>,
    /// Required materials.
    pub materials: Vec<Material>,
    /// Steps.
    pub steps: Vec<String>,
    /// Legal time limit in working days.
    pub legal_limit_days: Option<u32>,
    /// Promised time limit in working days.
    pub promised_limit_days: Option<u32>,
    /// Fees.
    pub fees: String,
    /// Where to apply.
    pub place: String,
    /// Opening hours.
    pub hours: String,
    /// Phone.
    pub phone: String,
    /// Online application URL.
    pub online_url: Option<String>,
    /// Legal basis.
    pub basis: String,
}

/// One required material.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Material {
    /// Name.
    pub name: String,
    /// Copies, e.g. 原件1份.
    pub copies: String,
    /// Note.
    pub note: String,
}

/// One step of a power item's process.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowStep {
    /// Step name.
    pub name: String,
    /// 岗位.
    pub post: String,
    /// 权限.
    pub authority: String,
    /// 程序.
    pub procedure: String,
    /// 时限.
    pub time_limit: String,
}

/// A notice or 公示.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// Kind.
    pub kind: NoticeKind,
    /// Title.
    pub title: String,
    /// Publishing body code.
    pub department: String,
    /// Target region code.
    pub region: String,
    /// Publication time.
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Start of validity.
    pub valid_from: NaiveDate,
    /// End of validity.
    pub valid_until: Option<NaiveDate>,
    /// Objection period for 公示.
    pub objection: Option<Objection>,
    /// Priority.
    pub priority: Priority,
    /// Workflow status.
    pub status: NoticeStatus,
    /// Body.
    pub body: String,
    /// Attached public list.
    pub list: Option<PublicList>,
}

/// A 公示's objection period.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objection {
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Who takes objections.
    pub contact: String,
    /// Their phone.
    pub phone: String,
    /// Their address.
    pub address: String,
}

/// A public list attached to a notice.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicList {
    /// Title.
    pub title: String,
    /// Column headings as published.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<PublicListRow>,
}

/// One person on a public list (stored whole, masked on air).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicListRow {
    /// Name.
    pub name: String,
    /// Village region code.
    pub village: Option<String>,
    /// Amount.
    pub amount: Option<String>,
    /// ID number.
    pub id_number: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Note.
    pub note: String,
}

/// A case (办件).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Case number.
    pub case_no: String,
    /// 索引号 of the catalogue item applied for.
    pub item: String,
    /// Handling department code.
    pub department: String,
    /// Applicant.
    pub applicant: String,
    /// Individual or enterprise.
    pub applicant_kind: ApplicantKind,
    /// Received.
    pub received: NaiveDate,
    /// Due.
    pub due: NaiveDate,
    /// Completed.
    pub completed: Option<NaiveDate>,
    /// Status.
    pub status: CaseStatus,
    /// Note.
    pub note: String,
}

/// A poll.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Poll {
    /// Question.
    pub question: String,
    /// Options (2–9).
    pub options: Vec<String>,
    /// First day open.
    pub opens: NaiveDate,
    /// Last day open.
    pub closes: NaiveDate,
    /// Region code.
    pub region: String,
    /// Votes per option.
    pub votes: Vec<u32>,
}

/// A channel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// ASCII name used in URLs and the CLI.
    pub name: String,
    /// Title on air.
    pub title: String,
    /// Region it serves.
    pub region: String,
}

/// How many records a load wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LoadReport {
    /// Days every date was shifted by.
    pub shifted_days: i64,
    /// Regions.
    pub regions: usize,
    /// Catalogue entries.
    pub catalogue: usize,
    /// Notices.
    pub notices: usize,
    /// Cases.
    pub cases: usize,
}

/// A demo account: login name, name shown, password, and roles (role, department).
pub struct DemoAccount {
    /// Login name.
    pub name: &'static str,
    /// Name shown to staff.
    pub display_name: &'static str,
    /// Its password, published in the README: demo stores only.
    pub password: &'static str,
    /// The password's argon2id hash, made once (`accounts::hash_password`) and kept here
    /// so that starting the demo hashes nothing (each hash takes 19 MiB and tens of ms).
    pub password_hash: &'static str,
    /// Roles held, each for a department or (`None`) the county.
    pub grants: &'static [(crate::accounts::Role, Option<&'static str>)],
}

/// The demo county's staff: one account per role, with published passwords (the README
/// lists them). A real county adds its accounts with `headend user add`, which hands out
/// one-time passwords instead.
pub const ACCOUNTS: &[DemoAccount] = {
    use crate::accounts::Role::{Admin, Editor, Operator, Reviewer};
    &[
        DemoAccount {
            name: "admin",
            display_name: "系统管理员",
            password: "shifan-admin-2026",
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$RbZxGLMi4dztD1PdQDI3Cw$aPOasA7PLpaQltkVVBu9i/kOkWkK8XOOcs0U4R4niEU",
            grants: &[(Admin, None)],
        },
        DemoAccount {
            name: "editor",
            display_name: "民政局信息员",
            password: "shifan-editor-2026",
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$Zyon4tNK30ChNWYUCxxKcw$W5tXdjUUt0+JNpKIjp8T23Qb/ez2vi5O6+AYFvdZ6b8",
            grants: &[(Editor, Some("mzj"))],
        },
        DemoAccount {
            name: "reviewer",
            display_name: "民政局审核员",
            password: "shifan-reviewer-2026",
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$2cNDv8saBx6JHudTPgoXPQ$0hZmOYQ3VFcNOZEhtcol47O2ZoFzNYEzMGi+QEoWXkQ",
            grants: &[(Reviewer, Some("mzj"))],
        },
        DemoAccount {
            name: "chief",
            display_name: "县政府办审核员",
            password: "shifan-chief-2026",
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$OlEcK6plo1cUot6JafC0fA$skrQAhlz+hZX7wkdCB/I70roplEBOseaRfw4IVRDs8Q",
            grants: &[(Reviewer, None), (Editor, Some("xfb"))],
        },
        DemoAccount {
            name: "operator",
            display_name: "广电播出员",
            password: "shifan-operator-2026",
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$yqQRiQcOcqE7FJyOJzrDBA$g4HRXCu4F6xY77cSmCaqiro9BJuBmnGepUwEjNrFj7o",
            grants: &[(Operator, None)],
        },
    ]
};

/// Whether the store holds the demo county (loaded now or by an earlier start).
pub fn is_demo_store(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM store_facts WHERE key = ?1)",
        [LOADED_FACT],
        |r| r.get(0),
    )?)
}

/// Parses the embedded demo county.
pub fn embedded() -> Result<County, DemoError> {
    Ok(serde_json::from_str(COUNTY_JSON)?)
}

/// Whether the store holds no county yet (no regions).
pub fn store_is_empty(conn: &Connection) -> Result<bool, StoreError> {
    let any: Option<i64> = conn
        .query_row("SELECT 1 FROM regions LIMIT 1", [], |r| r.get(0))
        .optional()?;
    Ok(any.is_none())
}

/// `text` with every date it writes shifted by `shift`: `2026年11月17日` (any year), and
/// `11月24日` read in `year`. Other numbers (`2027年度`, `11月`) are left alone.
pub fn shift_text_dates(text: &str, shift: Duration, year: i32) -> String {
    let chars: Vec<char> = text.chars().collect();
    let number = |from: usize, max: usize| -> Option<(u32, usize)> {
        let digits: String = chars[from.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if digits.is_empty() || digits.len() > max {
            return None;
        }
        Some((digits.parse().ok()?, from + digits.len()))
    };
    // (year?, month, day) at `i`: the date and where it ends.
    let date_at = |i: usize| -> Option<(Option<i32>, u32, u32, usize)> {
        let (first, mut j) = number(i, 4)?;
        let mut y = None;
        let month;
        if chars.get(j) == Some(&'年') && j - i == 4 {
            y = Some(first as i32);
            let (m, k) = number(j + 1, 2)?;
            month = m;
            j = k;
        } else {
            month = first;
        }
        if chars.get(j) != Some(&'月') {
            return None;
        }
        let (day, k) = number(j + 1, 2)?;
        if chars.get(k) != Some(&'日') {
            return None;
        }
        Some((y, month, day, k + 1))
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_digit());
        if starts {
            if let Some((y, m, d, end)) = date_at(i) {
                if let Some(date) = NaiveDate::from_ymd_opt(y.unwrap_or(year), m, d) {
                    let shifted = date + shift;
                    match y {
                        Some(_) => out.push_str(&format!(
                            "{}年{}月{}日",
                            shifted.year(),
                            shifted.month(),
                            shifted.day()
                        )),
                        None => out.push_str(&format!("{}月{}日", shifted.month(), shifted.day())),
                    }
                    i = end;
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Loads `county` into the store in one transaction, shifting its dates so that its
/// anchor day becomes `today`. Nothing is written if any record fails.
pub fn load(
    conn: &mut Connection,
    county: &County,
    today: NaiveDate,
) -> Result<LoadReport, DemoError> {
    let shift = today.signed_duration_since(county.anchor_date);
    let tx = conn.transaction().map_err(|source| DemoError::Store {
        context: "begin".into(),
        source,
    })?;
    let mut loader = Loader {
        tx: &tx,
        shift,
        year: county.anchor_date.year(),
    };
    let report = loader.all(county)?;
    tx.commit().map_err(|source| DemoError::Store {
        context: "commit".into(),
        source,
    })?;
    Ok(report)
}

/// JSON text of a list-valued field. Serialising strings and plain structs cannot fail.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

struct Loader<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    shift: Duration,
    /// The anchor's year: a date written without one in a text (11月24日) is in it.
    year: i32,
}

fn at(context: impl FnOnce() -> String) -> impl FnOnce(rusqlite::Error) -> DemoError {
    move |source| DemoError::Store {
        context: context(),
        source,
    }
}

impl Loader<'_> {
    fn day(&self, d: NaiveDate) -> String {
        (d + self.shift).to_string()
    }

    fn opt_day(&self, d: Option<NaiveDate>) -> Option<String> {
        d.map(|d| self.day(d))
    }

    fn time(&self, t: DateTime<FixedOffset>) -> String {
        (t + self.shift).to_rfc3339()
    }

    fn all(&mut self, c: &County) -> Result<LoadReport, DemoError> {
        let tx = self.tx;
        for r in &c.regions {
            tx.execute(
                "INSERT INTO regions (code, name, level, parent) VALUES (?1, ?2, ?3, ?4)",
                params![r.code, r.name, r.level.as_str(), r.parent],
            )
            .map_err(at(|| format!("region {}", r.code)))?;
        }
        for d in &c.departments {
            insert_department(tx, d, &d.region).map_err(at(|| format!("department {}", d.code)))?;
        }
        for s in &c.subjects {
            tx.execute(
                "INSERT INTO subjects (code, name) VALUES (?1, ?2)",
                params![s.code, s.name],
            )
            .map_err(at(|| format!("subject {}", s.code)))?;
        }
        for a in &c.audiences {
            tx.execute(
                "INSERT INTO audiences (code, name) VALUES (?1, ?2)",
                params![a.code, a.name],
            )
            .map_err(at(|| format!("audience {}", a.code)))?;
        }
        let entries = self.catalogue(&c.catalogue)?;
        self.notices(&c.notices)?;
        self.cases(&c.cases, &entries)?;
        self.polls(&c.polls)?;
        for ch in &c.channels {
            tx.execute(
                "INSERT INTO channels (name, title, region) VALUES (?1, ?2, ?3)",
                params![ch.name, ch.title, ch.region],
            )
            .map_err(at(|| format!("channel {}", ch.name)))?;
        }
        self.schedule(c)?;
        let now = chrono::Utc::now()
            .with_timezone(&crate::content::county_offset())
            .to_rfc3339();
        let fact = format!(
            "{} (bundle format {}, dates shifted {} days)",
            c.county.full_name,
            c.format,
            self.shift.num_days()
        );
        tx.execute(
            "INSERT OR REPLACE INTO store_facts (key, value) VALUES (?1, ?2)",
            params![LOADED_FACT, fact],
        )
        .map_err(at(|| "store fact".into()))?;
        tx.execute(
            "INSERT OR REPLACE INTO store_facts (key, value) VALUES ('county_code', ?1), ('county_name', ?2)",
            params![c.county.code, c.county.name],
        )
        .map_err(at(|| "store fact".into()))?;
        tx.execute(
            "INSERT INTO audit_log (at, actor, action, object_kind, object_id, detail)
             VALUES (?1, 'system', 'load_demo_county', 'county', ?2, ?3)",
            params![
                now,
                c.county.code,
                serde_json::json!({"shifted_days": self.shift.num_days()}).to_string()
            ],
        )
        .map_err(at(|| "audit record".into()))?;
        Ok(LoadReport {
            shifted_days: self.shift.num_days(),
            regions: c.regions.len(),
            catalogue: c.catalogue.len(),
            notices: c.notices.len(),
            cases: c.cases.len(),
        })
    }

    /// Inserts the blocks and the schedule (as the system account).
    fn schedule(&mut self, c: &County) -> Result<(), DemoError> {
        let tx = self.tx;
        let stamp = crate::store::stamp(chrono::Utc::now());
        let mut ids = HashMap::new();
        for b in &c.blocks {
            tx.execute(
                "INSERT INTO blocks (name, description, updated_by, updated_at) VALUES (?1, ?2, 'system', ?3)",
                params![b.name, b.description, stamp],
            )
            .map_err(at(|| format!("block {}", b.name)))?;
            let id = tx.last_insert_rowid();
            ids.insert(b.name.as_str(), id);
            for (pos, i) in b.items.iter().enumerate() {
                tx.execute(
                    "INSERT INTO block_items (block_id, position, selector, arg, count, dwell) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![id, pos as i64, i.selector, i.arg, i.count, i.dwell],
                )
                .map_err(at(|| format!("block {} item {}", b.name, pos + 1)))?;
            }
        }
        for (n, e) in c.schedule.iter().enumerate() {
            let block = *ids
                .get(e.block.as_str())
                .ok_or_else(|| DemoError::UnknownReference {
                    kind: "block",
                    code: e.block.clone(),
                    context: format!("schedule entry {}", n + 1),
                })?;
            let mask = crate::schedule::recurrence::Repeat::mask_of(&e.weekdays);
            tx.execute(
                "INSERT INTO schedule_entries (channel, block_id, start_time, minutes, repeat, weekdays, date_from, date_until, exceptions, hard, priority, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '[]', ?9, ?10, 'system', ?11)",
                params![
                    e.channel,
                    block,
                    format!("{}:00", e.start),
                    e.minutes,
                    e.repeat,
                    mask,
                    self.day(e.from),
                    self.opt_day(e.until),
                    e.hard,
                    e.priority,
                    stamp
                ],
            )
            .map_err(at(|| format!("schedule entry {}", n + 1)))?;
        }
        Ok(())
    }

    /// Inserts catalogue entries; returns index_no → (row id, title).
    fn catalogue(
        &mut self,
        entries: &[CatalogueEntry],
    ) -> Result<HashMap<String, (i64, String)>, DemoError> {
        let tx = self.tx;
        let mut ids = HashMap::with_capacity(entries.len());
        let mut entry_stmt = tx
            .prepare(
                "INSERT INTO catalogue_entries (index_no, kind, title, department, doc_no, issued_on, subject,
                   valid_from, valid_until, summary, body, update_frequency, updated_at, power_type, url)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )
            .map_err(at(|| "catalogue statement".into()))?;
        for e in entries {
            let context = || format!("catalogue entry {}", e.index_no);
            entry_stmt
                .execute(params![
                    e.index_no,
                    e.kind.as_str(),
                    e.title,
                    e.department,
                    e.doc_no,
                    self.day(e.date),
                    e.subject,
                    self.opt_day(e.valid_from),
                    self.opt_day(e.valid_until),
                    e.summary,
                    e.body,
                    e.update_frequency.as_str(),
                    self.time(e.updated_at),
                    e.power_type,
                    e.url,
                ])
                .map_err(at(context))?;
            let id = tx.last_insert_rowid();
            for a in &e.audiences {
                tx.execute(
                    "INSERT INTO catalogue_audiences (entry_id, audience) VALUES (?1, ?2)",
                    params![id, a],
                )
                .map_err(at(context))?;
            }
            if let Some(g) = &e.guide {
                tx.execute(
                    "INSERT INTO service_guides (entry_id, conditions, materials, steps, legal_limit_days,
                       promised_limit_days, fees, place, hours, phone, online_url, basis)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        id,
                        to_json(&g.conditions),
                        to_json(&g.materials),
                        to_json(&g.steps),
                        g.legal_limit_days,
                        g.promised_limit_days,
                        g.fees,
                        g.place,
                        g.hours,
                        g.phone,
                        g.online_url,
                        g.basis
                    ],
                )
                .map_err(at(context))?;
            }
            for (seq, s) in e.flow.iter().enumerate() {
                tx.execute(
                    "INSERT INTO power_steps (entry_id, seq, name, post, authority, procedure, time_limit)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, seq as i64 + 1, s.name, s.post, s.authority, s.procedure, s.time_limit],
                )
                .map_err(at(context))?;
            }
            ids.insert(e.index_no.clone(), (id, e.title.clone()));
        }
        Ok(ids)
    }

    /// `text` with every date written in it (2026年11月17日, 11月24日) shifted like the
    /// structured dates, so a notice's text agrees with its validity and objection period.
    fn text(&self, text: &str) -> String {
        shift_text_dates(text, self.shift, self.year)
    }

    fn notices(&mut self, notices: &[Notice]) -> Result<(), DemoError> {
        let tx = self.tx;
        for (i, n) in notices.iter().enumerate() {
            let context = || format!("notice #{} {}", i + 1, n.title);
            let stamp = n
                .published_at
                .map(|t| self.time(t))
                .unwrap_or_else(|| format!("{}T09:00:00+08:00", self.day(n.valid_from)));
            let o = n.objection.as_ref();
            tx.execute(
                "INSERT INTO notices (kind, title, department, region, published_at, valid_from, valid_until,
                   objection_start, objection_end, objection_contact, objection_phone, objection_address,
                   priority, status, body, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)",
                params![
                    n.kind.as_str(),
                    self.text(&n.title),
                    n.department,
                    n.region,
                    n.published_at.map(|t| self.time(t)),
                    self.day(n.valid_from),
                    self.opt_day(n.valid_until),
                    o.map(|o| self.day(o.start)),
                    o.map(|o| self.day(o.end)),
                    o.map(|o| o.contact.as_str()),
                    o.map(|o| o.phone.as_str()),
                    o.map(|o| o.address.as_str()),
                    n.priority.as_str(),
                    n.status.as_str(),
                    self.text(&n.body),
                    stamp,
                ],
            )
            .map_err(at(context))?;
            let notice_id = tx.last_insert_rowid();
            if let Some(list) = &n.list {
                tx.execute(
                    "INSERT INTO public_lists (notice_id, title, columns) VALUES (?1, ?2, ?3)",
                    params![notice_id, list.title, to_json(&list.columns)],
                )
                .map_err(at(context))?;
                let list_id = tx.last_insert_rowid();
                for (seq, r) in list.rows.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO public_list_rows (list_id, seq, name, village, amount, id_number, phone, note)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![list_id, seq as i64 + 1, r.name, r.village, r.amount, r.id_number, r.phone, r.note],
                    )
                    .map_err(at(context))?;
                }
            }
        }
        Ok(())
    }

    fn cases(
        &mut self,
        cases: &[Case],
        entries: &HashMap<String, (i64, String)>,
    ) -> Result<(), DemoError> {
        let tx = self.tx;
        let now = chrono::Utc::now()
            .with_timezone(&crate::content::county_offset())
            .to_rfc3339();
        let mut stmt = tx
            .prepare(
                "INSERT INTO cases (case_no, entry_id, item_title, department, applicant, applicant_kind,
                   received_on, due_on, completed_on, status, note, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .map_err(at(|| "case statement".into()))?;
        for c in cases {
            let (entry_id, title) =
                entries
                    .get(&c.item)
                    .ok_or_else(|| DemoError::UnknownReference {
                        kind: "catalogue item",
                        code: c.item.clone(),
                        context: format!("case {}", c.case_no),
                    })?;
            stmt.execute(params![
                c.case_no,
                entry_id,
                title,
                c.department,
                c.applicant,
                c.applicant_kind.as_str(),
                self.day(c.received),
                self.day(c.due),
                self.opt_day(c.completed),
                c.status.as_str(),
                c.note,
                now,
            ])
            .map_err(at(|| format!("case {}", c.case_no)))?;
        }
        Ok(())
    }

    fn polls(&mut self, polls: &[Poll]) -> Result<(), DemoError> {
        let tx = self.tx;
        for p in polls {
            let context = || format!("poll {}", p.question);
            tx.execute(
                "INSERT INTO polls (question, region, opens_on, closes_on) VALUES (?1, ?2, ?3, ?4)",
                params![p.question, p.region, self.day(p.opens), self.day(p.closes)],
            )
            .map_err(at(context))?;
            let poll_id = tx.last_insert_rowid();
            for (i, label) in p.options.iter().enumerate() {
                let votes = p.votes.get(i).copied().unwrap_or(0);
                tx.execute(
                    "INSERT INTO poll_options (poll_id, seq, label, votes) VALUES (?1, ?2, ?3, ?4)",
                    params![poll_id, i as i64 + 1, label, votes],
                )
                .map_err(at(context))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_written_in_texts_move_with_the_load_date() {
        let shift = Duration::days(17);
        assert_eq!(
            shift_text_dates("公示期为2026年11月17日至2026年11月23日。", shift, 2026),
            "公示期为2026年12月4日至2026年12月10日。"
        );
        // Across the year end, without a year, and numbers that are not dates.
        assert_eq!(
            shift_text_dates("12月20日8:00起，2027年度预算，11月份，第12号", shift, 2026),
            "1月6日8:00起，2027年度预算，11月份，第12号"
        );
        assert_eq!(
            shift_text_dates("2026年2月30日", shift, 2026),
            "2026年2月30日"
        );
    }

    #[test]
    fn every_demo_account_hash_is_argon2id_of_its_published_password() {
        for a in ACCOUNTS {
            assert!(a.password_hash.starts_with("$argon2id$"), "{}", a.name);
            assert!(
                crate::accounts::verify_password(a.password_hash, a.password),
                "{}",
                a.name
            );
            assert!(
                crate::accounts::check_new_password(a.name, a.password).is_ok(),
                "{}",
                a.name
            );
        }
    }
}
