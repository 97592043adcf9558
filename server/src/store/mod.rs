//! The content store: one SQLite file (`<data>/headend.db`, WAL mode) owned by one thread.
//!
//! Every access goes through [`Store::call`], which sends a closure to the owner thread and
//! awaits its reply on a oneshot channel, so async handlers never block the runtime and the
//! connection is never shared. The trade-off is that all queries are serialised; for a
//! county headend (hundreds of writes a day, reads cached as rendered screens) one
//! connection is far from the limit, and it rules out `SQLITE_BUSY` between our own writers.
//!
//! The schema is a numbered list of SQL migrations ([`migrate`]); the applied version is
//! SQLite's `user_version`.

mod migrate;
mod stats;

pub use migrate::{migrate, migrate_to, schema_version, MIGRATIONS};
pub use stats::{CaseCounts, NoticeCounts, Stats};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "headend.db";

/// What can go wrong opening or using the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory cannot be created or written.
    #[error("data directory {path} is not usable")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite could not open the file at all.
    #[error("cannot open database {path}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The file exists but is not an SQLite database (or is damaged).
    #[error("{path} is not a usable SQLite database (damaged or not a database file); move it away or restore a backup")]
    NotADatabase {
        /// The database file.
        path: PathBuf,
    },
    /// The database was written by a newer headend with migrations this build does not know.
    #[error("database schema version {found} is newer than this headend supports ({known}); upgrade the headend")]
    TooNew {
        /// `user_version` found in the file.
        found: u32,
        /// The highest version this build knows.
        known: u32,
    },
    /// A migration failed; the transaction was rolled back and the file is unchanged.
    #[error("migration {version} ({name}) failed")]
    Migration {
        /// Number of the failing migration.
        version: u32,
        /// Its name.
        name: &'static str,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// A query failed.
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    /// Stored data did not have the expected shape (e.g. bad JSON in a JSON column).
    #[error("stored data is malformed: {0}")]
    Malformed(String),
    /// The owner thread has stopped (it only stops when every handle is dropped, or after a panic).
    #[error("the database thread has stopped")]
    Closed,
}

/// A job runs on the owner thread and returns its reply, sent once the change counter
/// has been bumped for what the job wrote (so a caller that sees the answer sees the
/// counter move too).
type Job = Box<dyn FnOnce(&mut Connection) -> Reply + Send>;
type Reply = Box<dyn FnOnce() + Send>;

/// A cloneable handle to the store's owner thread.
#[derive(Clone, Debug)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    path: Option<PathBuf>,
    changes: Arc<AtomicU64>,
}

/// How often the owner thread, when idle, looks for commits by other processes (e.g.
/// `headend import` run beside `headend serve`).
pub const EXTERNAL_CHANGES_EVERY: Duration = Duration::from_secs(1);

impl Store {
    /// Opens (creating if needed) `<data_dir>/headend.db`, applies pending migrations and
    /// starts the owner thread. The data directory is created if missing and must be writable.
    pub fn open_in_dir(data_dir: &Path) -> Result<Store, StoreError> {
        prepare_data_dir(data_dir)?;
        Store::open(&data_dir.join(DATABASE_FILE))
    }

    /// Opens (creating if needed) the database file at `path`, applies pending migrations
    /// and starts the owner thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
        let conn = configure(conn, path)?;
        Store::start(conn, Some(path.to_owned()))
    }

    /// A private in-memory database with the full schema, for tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        let conn = configure(conn, Path::new(":memory:"))?;
        Store::start(conn, None)
    }

    fn start(mut conn: Connection, path: Option<PathBuf>) -> Result<Store, StoreError> {
        migrate(&mut conn)?;
        let (jobs, inbox) = mpsc::channel::<Job>();
        let changes = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&changes);
        std::thread::Builder::new()
            .name("store".into())
            .spawn(move || {
                // Every committed write bumps the change counter as the writer's job ends
                // (readers of the counter, e.g. playout, re-read what they show); commits by
                // other processes are noticed by SQLite's data_version when idle.
                let data_version = |c: &Connection| {
                    c.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0))
                        .unwrap_or(0)
                };
                let mut seen = (conn.total_changes(), data_version(&conn));
                let mut checked = std::time::Instant::now();
                // Runs until every `Store` handle is dropped.
                loop {
                    let reply = match inbox.recv_timeout(EXTERNAL_CHANGES_EVERY) {
                        Ok(job) => Some(job(&mut conn)),
                        Err(mpsc::RecvTimeoutError::Timeout) => None,
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    };
                    let mut changed = false;
                    let total = conn.total_changes();
                    if total != seen.0 {
                        seen.0 = total;
                        changed = true;
                    }
                    if checked.elapsed() >= EXTERNAL_CHANGES_EVERY {
                        checked = std::time::Instant::now();
                        let v = data_version(&conn);
                        if v != seen.1 {
                            seen.1 = v;
                            changed = true;
                        }
                    }
                    if changed {
                        counter.fetch_add(1, Ordering::Release);
                    }
                    if let Some(reply) = reply {
                        reply();
                    }
                }
            })
            .map_err(|source| StoreError::DataDir {
                path: path.clone().unwrap_or_default(),
                source,
            })?;
        Ok(Store {
            jobs,
            path,
            changes,
        })
    }

    /// A counter bumped after every job that committed a write and whenever another
    /// process's commit is noticed: what the store holds may have changed since it last
    /// had another value. Playout lanes compare it at each second instead of polling.
    pub fn changes(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.changes)
    }

    /// Path of the database file (`None` for an in-memory store).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Runs `f` on the owner thread with the connection and returns its result.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |conn| {
                let result = f(conn);
                Box::new(move || {
                    // The receiver may have gone away (caller cancelled); nothing to do then.
                    let _ = reply.send(result);
                })
            }))
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Like [`Store::call`], for synchronous callers outside the async runtime.
    pub fn call_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |conn| {
                let result = f(conn);
                Box::new(move || {
                    let _ = reply.send(result);
                })
            }))
            .map_err(|_| StoreError::Closed)?;
        answer.blocking_recv().map_err(|_| StoreError::Closed)?
    }

    /// Counts of everything the store holds.
    pub async fn stats(&self) -> Result<Stats, StoreError> {
        self.call(Stats::read).await
    }
}

/// A time as the store writes it: RFC 3339 in UTC, whole seconds.
pub fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Appends one record to the audit log: who did what to which object, when, with what
/// detail (before/after). Every staff action goes through here.
pub fn audit(
    conn: &Connection,
    at: chrono::DateTime<chrono::Utc>,
    actor: &str,
    action: &str,
    object_kind: &str,
    object_id: &str,
    detail: &serde_json::Value,
) -> Result<(), rusqlite::Error> {
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, object_kind, object_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            stamp(at),
            actor,
            action,
            object_kind,
            object_id,
            detail.to_string()
        ],
    )?;
    Ok(())
}

/// A `LIKE … ESCAPE '\'` pattern matching text that contains `words` literally (the
/// wildcards `%` and `_` typed into a search box match only themselves).
pub fn contains_pattern(words: &str) -> String {
    let escaped = words
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Creates `dir` if needed and proves it is writable by creating and removing a probe file.
pub fn prepare_data_dir(dir: &Path) -> Result<(), StoreError> {
    let fail = |source| StoreError::DataDir {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".write-probe");
    std::fs::write(&probe, b"govchannel").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

/// Applies the connection settings every store uses, and turns "not a database" into a
/// clear error (SQLite only notices on the first statement, not on open).
fn configure(conn: Connection, path: &Path) -> Result<Connection, StoreError> {
    let classify = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            StoreError::NotADatabase {
                path: path.to_owned(),
            }
        }
        _ => StoreError::Open {
            path: path.to_owned(),
            source: e,
        },
    };
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(classify)?;
    // journal_mode is the first statement that reads the file header.
    let _mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(classify)?;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;",
    )
    .map_err(classify)?;
    // A damaged file can pass the header check; a schema read touches the first pages.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |row| {
        row.get::<_, i64>(0)
    })
    .map_err(classify)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_calls_are_all_answered_in_order_per_caller() {
        let store = Store::open_in_memory().unwrap();
        store
            .call(|c| {
                c.execute_batch("CREATE TABLE t (caller INTEGER, n INTEGER)")?;
                Ok(())
            })
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for caller in 0..64i64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..20i64 {
                    store
                        .call(move |c| {
                            c.execute("INSERT INTO t VALUES (?1, ?2)", [caller, n])?;
                            Ok(())
                        })
                        .await
                        .unwrap();
                }
                store
                    .call(move |c| {
                        let mut stmt =
                            c.prepare("SELECT n FROM t WHERE caller = ?1 ORDER BY rowid")?;
                        let ns = stmt
                            .query_map([caller], |r| r.get::<_, i64>(0))?
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok(ns)
                    })
                    .await
                    .unwrap()
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), (0..20).collect::<Vec<_>>());
        }
        let total: i64 = store
            .call(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(total, 64 * 20);
    }

    #[tokio::test]
    async fn an_error_in_one_call_does_not_poison_the_handle() {
        let store = Store::open_in_memory().unwrap();
        let bad = store
            .call(|c| Ok(c.execute("INSERT INTO no_such_table VALUES (1)", [])?))
            .await;
        assert!(matches!(bad, Err(StoreError::Sqlite(_))), "{bad:?}");
        let one: i64 = store
            .call(|c| Ok(c.query_row("SELECT 1", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(one, 1);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE);
        std::fs::write(&path, vec![0x5a_u8; 8192]).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()));
        // Nothing was written over the damaged file.
        assert_eq!(std::fs::read(&path).unwrap(), vec![0x5a_u8; 8192]);
    }

    #[test]
    fn a_data_dir_below_a_regular_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let err = Store::open_in_dir(&file.join("data")).unwrap_err();
        assert!(matches!(err, StoreError::DataDir { .. }), "{err:?}");
    }
}
