//! The as-run log: what aired, as broadcasters record it for proof of transmission.
//!
//! Every lane appends one JSON line per aired screen (a page, or a page with one alert
//! strip: whatever was on the picture) to `<data>/asrun/<channel>-YYYYMMDD.jsonl` (the
//! county date of its start), or to one file for a recording (`headend stream --as-run`).
//! Files older than [`RETENTION_DAYS`] days are deleted when a new day's file starts.
//! The layout record of every aired frame can also be written to a directory
//! (`<hash>.json`) and is kept in the [`LayoutRegistry`] the web API answers from.
//!
//! Writing never stops the channel: a failed write is logged and counted.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::render::{Layout, LayoutRegistry, ScreenHash};

/// Days as-run files are kept.
pub const RETENTION_DAYS: i64 = 90;

/// One aired screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsRunLine {
    /// When its first picture aired: RFC 3339, county time (+08:00), milliseconds.
    pub start: String,
    /// How long it stayed, in seconds (whole GOPs).
    pub seconds: u64,
    /// Channel name.
    pub channel: String,
    /// Picture profile (`sd`, `hd720` …).
    pub profile: String,
    /// Screen kind (`notice`, `guide`, `summary`, `slate` …).
    pub kind: String,
    /// Store id of the item (a notice's id), or null.
    pub item: Option<i64>,
    /// 1-based page.
    pub page: u32,
    /// Pages of the screen.
    pub pages: u32,
    /// Frame hash: names its layout record.
    pub hash: String,
    /// Whether the alert band was on.
    pub banner: bool,
    /// Which strip of the alert band showed (1-based), when it was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip: Option<u32>,
    /// Whether this was the slate.
    pub slate: bool,
    /// The part of the schedule it aired in (`entry:3@2026-12-07T07:00:00`, `fallback`,
    /// `override:2`); empty for programs that are not scheduled.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub segment: String,
}

/// Where a lane's as-run lines go.
#[derive(Debug, Clone, Default)]
pub enum Target {
    /// Nowhere. Default.
    #[default]
    None,
    /// One file per channel and county date in this directory.
    Daily(PathBuf),
    /// One file (a recording).
    File(PathBuf),
}

/// A lane's as-run writer.
#[derive(Debug, Default)]
pub struct AsRun {
    channel: String,
    target: Target,
    layouts: Option<PathBuf>,
    registry: Option<Arc<LayoutRegistry>>,
    written: HashSet<ScreenHash>,
    purged: Option<NaiveDate>,
    /// Lines written.
    pub lines: u64,
    /// Writes that failed.
    pub errors: u64,
}

impl AsRun {
    /// A writer for `channel` to `target`.
    pub fn new(channel: &str, target: Target) -> AsRun {
        AsRun {
            channel: channel.to_owned(),
            target,
            ..AsRun::default()
        }
    }

    /// Also writes the layout record of every aired frame to `dir/<hash>.json`.
    pub fn with_layouts(mut self, dir: Option<PathBuf>) -> AsRun {
        self.layouts = dir;
        self
    }

    /// Also keeps every aired frame's layout record in `registry`.
    pub fn with_registry(mut self, registry: Option<Arc<LayoutRegistry>>) -> AsRun {
        self.registry = registry;
        self
    }

    /// The channel's name.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Remembers the layout record of frame `hash` (registry, layouts directory).
    pub fn layout(&mut self, hash: ScreenHash, layout: &Layout) {
        if self.registry.is_none() && self.layouts.is_none() {
            return;
        }
        if !self.written.insert(hash) {
            return;
        }
        let record = match &self.registry {
            Some(r) => r.insert(hash, layout),
            None => LayoutRegistry::record(layout),
        };
        if let Some(dir) = &self.layouts {
            let path = dir.join(format!("{hash}.json"));
            if let Err(e) =
                std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, record.as_bytes()))
            {
                self.errors += 1;
                tracing::warn!(path = %path.display(), error = %e, "cannot write a layout record");
            }
        }
    }

    /// Appends one line.
    pub fn record(&mut self, line: &AsRunLine, start: DateTime<FixedOffset>) {
        let path = match &self.target {
            Target::None => return,
            Target::File(path) => path.clone(),
            Target::Daily(dir) => {
                let day = start.date_naive();
                if self.purged != Some(day) {
                    self.purged = Some(day);
                    purge(dir, &self.channel, day);
                }
                dir.join(daily_name(&self.channel, day))
            }
        };
        let mut text = match serde_json::to_string(line) {
            Ok(t) => t,
            Err(e) => {
                self.errors += 1;
                tracing::warn!(error = %e, "cannot serialise an as-run line");
                return;
            }
        };
        text.push('\n');
        let append = || -> std::io::Result<()> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?
                .write_all(text.as_bytes())
        };
        let result = append();
        match result {
            Ok(()) => self.lines += 1,
            Err(e) => {
                self.errors += 1;
                tracing::warn!(path = %path.display(), error = %e, "cannot append to the as-run log");
            }
        }
    }
}

/// `county-20261122.jsonl`.
pub fn daily_name(channel: &str, day: NaiveDate) -> String {
    format!("{channel}-{}.jsonl", day.format("%Y%m%d"))
}

/// Deletes `channel`'s as-run files in `dir` dated more than [`RETENTION_DAYS`] before
/// `today`; returns how many went.
pub fn purge(dir: &Path, channel: &str, today: NaiveDate) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let oldest = today - chrono::Duration::days(RETENTION_DAYS);
    let prefix = format!("{channel}-");
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(date) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".jsonl"))
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok())
        else {
            continue;
        };
        if date < oldest {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) => {
                    tracing::warn!(file = name, error = %e, "cannot delete an old as-run file")
                }
            }
        }
    }
    removed
}

/// RFC 3339 with milliseconds, e.g. `2026-11-22T08:00:00.000+08:00`.
pub fn timestamp(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_files_are_purged_after_ninety_days_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        for (channel, days) in [("county", 91), ("county", 90), ("county", 0), ("town", 120)] {
            let day = today - chrono::Duration::days(days);
            std::fs::write(dir.path().join(daily_name(channel, day)), "{}\n").unwrap();
        }
        std::fs::write(dir.path().join("county-notes.txt"), "x").unwrap();
        assert_eq!(purge(dir.path(), "county", today), 1);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "county-20260824.jsonl",
                "county-20261122.jsonl",
                "county-notes.txt",
                "town-20260725.jsonl"
            ]
        );
    }

    #[test]
    fn timestamps_are_county_time_with_milliseconds() {
        use chrono::TimeZone;
        let t = crate::content::county_offset()
            .with_ymd_and_hms(2026, 11, 22, 8, 0, 5)
            .single()
            .unwrap();
        assert_eq!(timestamp(t), "2026-11-22T08:00:05.000+08:00");
    }
}
