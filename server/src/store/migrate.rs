//! Numbered schema migrations. Each runs in its own transaction together with the bump of
//! `PRAGMA user_version`, so a failed migration leaves the file exactly as it was.

use rusqlite::Connection;

use super::StoreError;

/// Every migration in order: (version, name, SQL). Versions start at 1 and have no gaps.
/// Never edit a released migration; add a new one.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "content", include_str!("migrations/0001_content.sql")),
    (
        2,
        "operations",
        include_str!("migrations/0002_operations.sql"),
    ),
    (3, "ingest", include_str!("migrations/0003_ingest.sql")),
    (4, "boxes", include_str!("migrations/0004_boxes.sql")),
    (5, "accounts", include_str!("migrations/0005_accounts.sql")),
    (
        6,
        "publishing",
        include_str!("migrations/0006_publishing.sql"),
    ),
    (
        7,
        "api_tokens",
        include_str!("migrations/0007_api_tokens.sql"),
    ),
    (
        8,
        "poll_closing",
        include_str!("migrations/0008_poll_closing.sql"),
    ),
    (9, "schedule", include_str!("migrations/0009_schedule.sql")),
];

/// The schema version recorded in the file (0 for a new, empty database).
pub fn schema_version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Applies every pending migration. Returns the versions applied.
pub fn migrate(conn: &mut Connection) -> Result<Vec<u32>, StoreError> {
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    migrate_to(conn, latest)
}

/// Applies pending migrations up to and including `target` (tests use this to build a
/// database as an earlier release left it). Returns the versions applied.
pub fn migrate_to(conn: &mut Connection, target: u32) -> Result<Vec<u32>, StoreError> {
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    let found = schema_version(conn)?;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    let mut applied = Vec::new();
    for &(version, name, sql) in MIGRATIONS {
        if version <= found || version > target {
            continue;
        }
        let fail = |source| StoreError::Migration {
            version,
            name,
            source,
        };
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        tracing::info!(version, name, "applied schema migration");
        applied.push(version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn versions_are_numbered_from_one_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.0 as usize, i + 1, "migration {} out of order", m.1);
        }
    }

    #[test]
    fn an_empty_file_migrates_to_the_latest_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(schema_version(&conn).unwrap(), 0);
        let applied = migrate(&mut conn).unwrap();
        assert_eq!(applied, (1..=MIGRATIONS.len() as u32).collect::<Vec<_>>());
        assert_eq!(schema_version(&conn).unwrap(), MIGRATIONS.len() as u32);
        for t in [
            "regions",
            "catalogue_entries",
            "notices",
            "cases",
            "users",
            "audit_log",
        ] {
            assert!(tables(&conn).contains(&t.to_string()), "missing table {t}");
        }
        // Running again is a no-op.
        assert!(migrate(&mut conn).unwrap().is_empty());
    }

    #[test]
    fn every_earlier_version_migrates_forward_keeping_its_rows() {
        for start in 1..MIGRATIONS.len() as u32 {
            let mut conn = Connection::open_in_memory().unwrap();
            conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
            migrate_to(&mut conn, start).unwrap();
            assert_eq!(schema_version(&conn).unwrap(), start);
            // Content a release at `start` could hold (every version has regions).
            conn.execute(
                "INSERT INTO regions (code, name, level, parent) VALUES ('339901', '示范县', 'county', NULL)",
                [],
            )
            .unwrap();
            let applied = migrate(&mut conn).unwrap();
            assert_eq!(
                applied,
                (start + 1..=MIGRATIONS.len() as u32).collect::<Vec<_>>()
            );
            let name: String = conn
                .query_row("SELECT name FROM regions WHERE code = '339901'", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(name, "示范县");
        }
    }

    #[test]
    fn a_newer_database_is_refused_and_left_alone() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(
            matches!(err, StoreError::TooNew { found: 999, .. }),
            "{err:?}"
        );
        assert!(tables(&conn).is_empty());
    }

    #[test]
    fn the_audit_log_refuses_updates_and_deletes() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, object_kind, object_id) VALUES ('2026-11-22T08:00:00+08:00', 'system', 'test', 'notice', '1')",
            [],
        )
        .unwrap();
        assert!(conn
            .execute("UPDATE audit_log SET actor = 'x'", [])
            .is_err());
        assert!(conn.execute("DELETE FROM audit_log", []).is_err());
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM audit_log WHERE actor = 'system'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
    }
}
