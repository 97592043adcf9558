//! Counts of what the store holds (`headend stats`, `/api/v1/stats`).

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;

use super::{schema_version, StoreError};

/// Counts per kind of content. Maps are keyed by the stored enum value (e.g. `"power"`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// Applied schema migration.
    pub schema_version: u32,
    /// Regions per level (`county`, `town`, `village`).
    pub regions: BTreeMap<String, i64>,
    /// Publishing bodies.
    pub departments: i64,
    /// Subject categories (主题分类).
    pub subjects: i64,
    /// Audience categories (服务对象).
    pub audiences: i64,
    /// Catalogue entries per kind (`disclosure`, `power`, `service`).
    pub catalogue: BTreeMap<String, i64>,
    /// Service guides (办事指南).
    pub service_guides: i64,
    /// Process steps of power items.
    pub power_steps: i64,
    /// Notices.
    pub notices: NoticeCounts,
    /// Public lists attached to notices.
    pub public_lists: i64,
    /// Rows of all public lists.
    pub public_list_rows: i64,
    /// Cases (办件).
    pub cases: CaseCounts,
    /// Polls.
    pub polls: i64,
    /// Options over all polls.
    pub poll_options: i64,
    /// Channels.
    pub channels: i64,
    /// Staff and operator accounts.
    pub users: i64,
    /// Live sessions.
    pub sessions: i64,
    /// Audit log records.
    pub audit_log: i64,
}

/// Notice counts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NoticeCounts {
    /// All notices.
    pub total: i64,
    /// Per kind (`notice`, `publicity`).
    pub by_kind: BTreeMap<String, i64>,
    /// Per workflow status.
    pub by_status: BTreeMap<String, i64>,
    /// Per priority.
    pub by_priority: BTreeMap<String, i64>,
}

/// Case counts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CaseCounts {
    /// All cases.
    pub total: i64,
    /// Per status.
    pub by_status: BTreeMap<String, i64>,
    /// Open cases past their due date (county local time).
    pub overdue: i64,
}

fn count(conn: &Connection, table: &str) -> Result<i64, StoreError> {
    // `table` is always one of our own literals, never input.
    Ok(conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
}

fn grouped(
    conn: &Connection,
    table: &str,
    column: &str,
) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {column}, count(*) FROM {table} GROUP BY {column}"
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Stats {
    /// Reads the counts in one read transaction, so they are consistent with each other.
    pub fn read(conn: &mut Connection) -> Result<Stats, StoreError> {
        let tx = conn.transaction()?;
        let today = crate::content::county_today().to_string();
        let stats = Stats {
            schema_version: schema_version(&tx)?,
            regions: grouped(&tx, "regions", "level")?,
            departments: count(&tx, "departments")?,
            subjects: count(&tx, "subjects")?,
            audiences: count(&tx, "audiences")?,
            catalogue: grouped(&tx, "catalogue_entries", "kind")?,
            service_guides: count(&tx, "service_guides")?,
            power_steps: count(&tx, "power_steps")?,
            notices: NoticeCounts {
                total: count(&tx, "notices")?,
                by_kind: grouped(&tx, "notices", "kind")?,
                by_status: grouped(&tx, "notices", "status")?,
                by_priority: grouped(&tx, "notices", "priority")?,
            },
            public_lists: count(&tx, "public_lists")?,
            public_list_rows: count(&tx, "public_list_rows")?,
            cases: CaseCounts {
                total: count(&tx, "cases")?,
                by_status: grouped(&tx, "cases", "status")?,
                overdue: tx.query_row(
                    "SELECT count(*) FROM cases WHERE completed_on IS NULL
                     AND status IN ('accepted', 'in_progress', 'awaiting_materials') AND due_on < ?1",
                    [&today],
                    |r| r.get(0),
                )?,
            },
            polls: count(&tx, "polls")?,
            poll_options: count(&tx, "poll_options")?,
            channels: count(&tx, "channels")?,
            users: count(&tx, "users")?,
            sessions: count(&tx, "sessions")?,
            audit_log: count(&tx, "audit_log")?,
        };
        tx.finish()?;
        Ok(stats)
    }
}
