//! The content store: one SQLite file (`<data>/headend.db`, WAL mode) owned by one thread.
//!
//! Writes (and reads that must agree with them) go through [`Store::call`], which sends a
//! closure to the owner thread and awaits its reply on a oneshot channel, so async handlers
//! never block the runtime and the writing connection is never shared; one writer rules out
//! `SQLITE_BUSY` between our own writers. Reads that only need a committed snapshot go
//! through [`Store::read`] to a small pool of read-only connections (WAL lets them read
//! while a write is running), so a long ingest write does not stall the API.
//!
//! Both queues are bounded ([`QUEUE_LIMIT`]): when one is full a call is refused at once
//! with [`StoreError::Busy`] (the API answers 503 系统繁忙) instead of queueing without end.
//! A job that panics is caught on its thread: its transaction is rolled back, its caller
//! gets [`StoreError::JobPanicked`], the thread carries on with the next job, and
//! [`Store::health`] counts it for `/readyz`.
//!
//! The schema is a numbered list of SQL migrations ([`migrate`]); the applied version is
//! SQLite's `user_version`.

mod migrate;
mod stats;

pub use migrate::{migrate, migrate_to, schema_version, MIGRATIONS};
pub use stats::{CaseCounts, NoticeCounts, Stats};

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
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
    /// The owner thread has stopped (it only stops when every handle is dropped).
    #[error("the database thread has stopped")]
    Closed,
    /// The queue of jobs waiting for a connection is full; nothing was done.
    #[error("the database is busy: {waiting} jobs are waiting already")]
    Busy {
        /// Jobs queued when this one was refused.
        waiting: usize,
    },
    /// The job panicked; its transaction was rolled back and the store carries on.
    #[error("a database job panicked and was rolled back")]
    JobPanicked,
}

/// A job runs on the owner thread and returns its reply, sent once the change counter
/// has been bumped for what the job wrote (so a caller that sees the answer sees the
/// counter move too).
type Job = Box<dyn FnOnce(&mut Connection) -> Reply + Send>;
type ReadJob = Box<dyn FnOnce(&Connection) -> Reply + Send>;
type Reply = Box<dyn FnOnce() + Send>;

/// Jobs that may wait for the owner thread, and reads that may wait for a reader; one
/// more is refused with [`StoreError::Busy`].
pub const QUEUE_LIMIT: usize = 1024;
/// Read-only connections serving [`Store::read`] for a file store.
pub const READERS: usize = 2;

/// A cloneable handle to the store's owner thread and its readers.
#[derive(Clone, Debug)]
pub struct Store {
    jobs: mpsc::SyncSender<Job>,
    /// `None` for an in-memory store: its reads go to the owner.
    reads: Option<mpsc::SyncSender<ReadJob>>,
    path: Option<PathBuf>,
    changes: Arc<AtomicU64>,
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    /// Jobs sent and not yet started, on the owner's queue and the readers' queue.
    queued: AtomicUsize,
    read_queued: AtomicUsize,
    /// Jobs that panicked since start, and the last one's message.
    panics: AtomicU64,
    last_panic: Mutex<Option<String>>,
    /// The last storage fault (disk full, I/O error) a write met, until a pass of the
    /// same kind succeeds ([`Store::storage_recovered`]) or a write commits after
    /// [`FAULT_HOLD`].
    fault: Mutex<Option<Fault>>,
}

impl Counters {
    /// Keeps `e` as the storage fault if it is one.
    fn note_fault(&self, e: &StoreError) {
        if let Some(fault) = e.storage_fault() {
            self.keep_fault(fault);
        }
    }

    fn keep_fault(&self, StorageFault(error): StorageFault) {
        if let Ok(mut fault) = self.fault.lock() {
            *fault = Some(Fault {
                error,
                at: chrono::Utc::now(),
            });
        }
    }
}

/// A storage fault (disk full, I/O, damage) as met by a caller: what a response carries
/// so that the web layer records it in the store's health ([`Store::keep_fault`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageFault(String);

impl StoreError {
    /// The storage fault this error is, if it is one (not a bad query or a busy queue).
    pub fn storage_fault(&self) -> Option<StorageFault> {
        match self {
            StoreError::Sqlite(e) if is_storage_fault(e) => Some(StorageFault(e.to_string())),
            _ => None,
        }
    }
}

/// Queues `job`, counted in `queued` while it waits; a full queue refuses it at once.
fn try_queue<J>(
    queue: &mpsc::SyncSender<J>,
    queued: &AtomicUsize,
    job: J,
) -> Result<(), StoreError> {
    // Counted before it is sent: a thread may start it (and count it down) at once.
    queued.fetch_add(1, Ordering::Relaxed);
    queue.try_send(job).map_err(|e| {
        let waiting = queued.fetch_sub(1, Ordering::Relaxed) - 1;
        match e {
            mpsc::TrySendError::Full(_) => StoreError::Busy { waiting },
            mpsc::TrySendError::Disconnected(_) => StoreError::Closed,
        }
    })
}

#[derive(Debug, Clone)]
struct Fault {
    error: String,
    at: chrono::DateTime<chrono::Utc>,
}

/// How long a storage fault stands before any committing write clears it. Sooner, only
/// [`Store::storage_recovered`] does: a small write (e.g. noting the failure itself) may
/// pass where the large one failed.
pub const FAULT_HOLD: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Whether `e` says the storage failed (full, I/O, damaged), not the query.
fn is_storage_fault(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    matches!(
        e.sqlite_error_code(),
        Some(C::DiskFull | C::SystemIoFailure | C::DatabaseCorrupt | C::CannotOpen | C::ReadOnly)
    )
}

/// Where a read went: to the owner (in-memory store) or to the readers' queue.
enum Route<O, R> {
    Owner(O),
    Reader(R),
}

/// How the store's threads are doing, for the health answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoreHealth {
    /// Jobs waiting for the owner thread.
    pub queued_writes: usize,
    /// Reads waiting for a reader.
    pub queued_reads: usize,
    /// Most jobs either queue holds.
    pub queue_limit: usize,
    /// Jobs that panicked (caught and rolled back) since start.
    pub panicked_jobs: u64,
    /// The last panic's message.
    pub last_panic: Option<String>,
    /// The storage fault the last failed write met (e.g. `database or disk is full`).
    pub storage_fault: Option<String>,
    /// When it happened (RFC 3339, UTC).
    pub storage_fault_at: Option<String>,
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
        let (jobs, inbox) = mpsc::sync_channel::<Job>(QUEUE_LIMIT);
        let changes = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&changes);
        let counters = Arc::new(Counters::default());
        let owner_counters = Arc::clone(&counters);
        // Jobs catch their own panics (see `guarded`), so this thread only ends when every
        // handle is gone.
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
                        Ok(job) => {
                            owner_counters.queued.fetch_sub(1, Ordering::Relaxed);
                            Some(job(&mut conn))
                        }
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
        let reads = match &path {
            Some(p) => Some(start_readers(p, &counters)?),
            None => None,
        };
        Ok(Store {
            jobs,
            reads,
            path,
            changes,
            counters,
        })
    }

    /// Keeps a storage fault a caller met inside its own result type, where the store's
    /// thread could not see it (see [`StoreError::storage_fault`]).
    pub fn keep_fault(&self, fault: StorageFault) {
        self.counters.keep_fault(fault);
    }

    /// Clears the storage fault: a write of the kind that met it (an ingest pass) has
    /// committed since.
    pub fn storage_recovered(&self) {
        if let Ok(mut fault) = self.counters.fault.lock() {
            *fault = None;
        }
    }

    /// How the store's threads are doing: queue depths and panicked jobs.
    pub fn health(&self) -> StoreHealth {
        let fault = self.counters.fault.lock().ok().and_then(|f| f.clone());
        StoreHealth {
            queued_writes: self.counters.queued.load(Ordering::Relaxed),
            queued_reads: self.counters.read_queued.load(Ordering::Relaxed),
            queue_limit: QUEUE_LIMIT,
            panicked_jobs: self.counters.panics.load(Ordering::Relaxed),
            last_panic: self.counters.last_panic.lock().ok().and_then(|p| p.clone()),
            storage_fault: fault.as_ref().map(|f| f.error.clone()),
            storage_fault_at: fault.as_ref().map(|f| stamp(f.at)),
        }
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

    /// Runs `f` on the owner thread with the connection and returns its result. The job
    /// is queued when `call` is made (not when the future is first polled); a full queue
    /// answers [`StoreError::Busy`] at once.
    pub fn call<T, F>(&self, f: F) -> impl Future<Output = Result<T, StoreError>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = self.owner_job(f, reply);
        let sent = try_queue(&self.jobs, &self.counters.queued, job);
        async move {
            sent?;
            answer.await.map_err(|_| StoreError::Closed)?
        }
    }

    /// Runs `f` on a read-only connection (a committed snapshot; it runs beside the owner's
    /// writes) and returns its result; an in-memory store runs it on the owner. A write in
    /// `f` fails (`SQLITE_READONLY`).
    pub fn read<T, F>(&self, f: F) -> impl Future<Output = Result<T, StoreError>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let route = match &self.reads {
            None => Route::Owner(self.call(move |conn| f(conn))),
            Some(reads) => {
                let (reply, answer) = oneshot::channel();
                let counters = Arc::clone(&self.counters);
                let job: ReadJob = Box::new(move |conn| {
                    let result = guarded(&counters, "store-read", || f(conn));
                    // A reader left inside a transaction would serve an old snapshot for
                    // ever and hold back checkpoints.
                    end_open_transaction(conn, "store-read");
                    Box::new(move || {
                        let _ = reply.send(result);
                    })
                });
                Route::Reader(try_queue(reads, &self.counters.read_queued, job).map(|()| answer))
            }
        };
        async move {
            match route {
                Route::Owner(on_owner) => on_owner.await,
                Route::Reader(sent) => sent?.await.map_err(|_| StoreError::Closed)?,
            }
        }
    }

    /// `f` as a job for the owner: a panic in it is caught, its open transaction rolled
    /// back, and `reply` gets [`StoreError::JobPanicked`].
    fn owner_job<T, F>(&self, f: F, reply: oneshot::Sender<Result<T, StoreError>>) -> Job
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let counters = Arc::clone(&self.counters);
        Box::new(move |conn| {
            let before = conn.total_changes();
            let result = guarded(&counters, "store", || f(conn));
            match &result {
                Err(e) => counters.note_fault(e),
                Ok(_) if conn.total_changes() != before => {
                    if let Ok(mut fault) = counters.fault.lock() {
                        if fault
                            .as_ref()
                            .is_some_and(|f| chrono::Utc::now() - f.at >= FAULT_HOLD)
                        {
                            *fault = None;
                        }
                    }
                }
                _ => {}
            }
            end_open_transaction(conn, "store");
            Box::new(move || {
                // The receiver may have gone away (caller cancelled); nothing to do then.
                let _ = reply.send(result);
            })
        })
    }

    /// Like [`Store::call`], for synchronous callers outside the async runtime: a full
    /// queue makes it wait for room (back-pressure on an ingest pass or a CLI command).
    pub fn call_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = self.owner_job(f, reply);
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        if self.jobs.send(job).is_err() {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::Closed);
        }
        answer.blocking_recv().map_err(|_| StoreError::Closed)?
    }

    /// `PRAGMA quick_check` of the database on a connection opened for it (so no cached
    /// page hides a damaged one on disk): `Ok(empty)` when it is sound, else the problems
    /// SQLite names (at most 10). Runs beside the owner's writes.
    pub fn quick_check(
        &self,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send + 'static {
        fn check(conn: &Connection) -> Result<Vec<String>, StoreError> {
            let mut stmt = conn.prepare("PRAGMA quick_check(10)")?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows.into_iter().filter(|r| r != "ok").collect())
        }
        let path = self.path.clone();
        let on_owner = path.is_none().then(|| self.read(check));
        async move {
            match (on_owner, path) {
                (Some(on_owner), _) => on_owner.await,
                (None, Some(path)) => tokio::task::spawn_blocking(move || {
                    let conn = Connection::open_with_flags(
                        &path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .map_err(|source| StoreError::Open {
                        path: path.clone(),
                        source,
                    })?;
                    conn.busy_timeout(Duration::from_secs(5))?;
                    match check(&conn) {
                        // A page too damaged to walk fails the statement itself.
                        Err(StoreError::Sqlite(e))
                            if matches!(
                                e.sqlite_error_code(),
                                Some(
                                    rusqlite::ErrorCode::DatabaseCorrupt
                                        | rusqlite::ErrorCode::NotADatabase
                                )
                            ) =>
                        {
                            Ok(vec![e.to_string()])
                        }
                        other => other,
                    }
                })
                .await
                .map_err(|_| StoreError::Closed)?,
                (None, None) => Ok(Vec::new()),
            }
        }
    }

    /// Counts of everything the store holds.
    pub async fn stats(&self) -> Result<Stats, StoreError> {
        self.call(Stats::read).await
    }
}

/// Rolls back a transaction a job left open (it panicked, or returned early without
/// committing), so the next job starts clean.
fn end_open_transaction(conn: &Connection, thread: &str) {
    if !conn.is_autocommit() {
        tracing::warn!(thread, "a store job left a transaction open; rolled back");
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            tracing::error!(thread, error = %e, "rolling back a transaction a store job left open failed");
        }
    }
}

/// Runs `job`, catching a panic: [`StoreError::JobPanicked`] then, with the panic counted,
/// kept for the health answer and logged with the thread's name.
fn guarded<T>(
    counters: &Counters,
    thread: &str,
    job: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match std::panic::catch_unwind(AssertUnwindSafe(job)) {
        Ok(r) => r,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_owned());
            tracing::error!(thread, panic = %message, "a store job panicked; its transaction was rolled back and the thread carries on");
            counters.panics.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = counters.last_panic.lock() {
                *last = Some(message);
            }
            Err(StoreError::JobPanicked)
        }
    }
}

/// Opens [`READERS`] read-only connections to `path`, each on its own thread, taking jobs
/// from one bounded queue.
fn start_readers(
    path: &Path,
    counters: &Arc<Counters>,
) -> Result<mpsc::SyncSender<ReadJob>, StoreError> {
    let (reads, inbox) = mpsc::sync_channel::<ReadJob>(QUEUE_LIMIT);
    let inbox = Arc::new(Mutex::new(inbox));
    for n in 0..READERS {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source,
        })?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let inbox = Arc::clone(&inbox);
        let counters = Arc::clone(counters);
        std::thread::Builder::new()
            .name(format!("store-read-{n}"))
            .spawn(move || loop {
                // One reader waits on the queue at a time; the lock is released before the
                // job runs.
                let job = match inbox.lock() {
                    Ok(rx) => match rx.recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    },
                    Err(_) => return,
                };
                counters.read_queued.fetch_sub(1, Ordering::Relaxed);
                job(&conn)();
            })
            .map_err(|source| StoreError::DataDir {
                path: path.to_owned(),
                source,
            })?;
    }
    Ok(reads)
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

    /// A file store with a table `t`, and a job that holds the owner thread until the
    /// returned sender is dropped (the receiver tells when it has started).
    async fn store_with_t(dir: &Path) -> Store {
        let store = Store::open(&dir.join(DATABASE_FILE)).unwrap();
        store
            .call(|c| Ok(c.execute_batch("CREATE TABLE t (n INTEGER)")?))
            .await
            .unwrap();
        store
    }

    fn hold_owner(
        store: &Store,
        before: &'static str,
    ) -> (
        mpsc::Sender<()>,
        mpsc::Receiver<()>,
        impl Future<Output = Result<(), StoreError>>,
    ) {
        let (release, gate) = mpsc::channel::<()>();
        let (started, running) = mpsc::channel::<()>();
        let held = store.call(move |c| {
            c.execute_batch(before)?;
            started.send(()).unwrap();
            // Ends when the test drops `release`.
            let _ = gate.recv();
            if !c.is_autocommit() {
                c.execute_batch("COMMIT")?;
            }
            Ok(())
        });
        (release, running, held)
    }

    #[tokio::test]
    async fn a_full_queue_refuses_a_call_at_once_and_loses_nothing_queued() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_t(dir.path()).await;
        let (release, running, held) = hold_owner(&store, "");
        running.recv().unwrap();
        let queued: Vec<_> = (0..QUEUE_LIMIT as i64)
            .map(|n| store.call(move |c| Ok(c.execute("INSERT INTO t VALUES (?1)", [n])?)))
            .collect();
        assert_eq!(store.health().queued_writes, QUEUE_LIMIT);
        let refused = store
            .call(|c| Ok(c.execute("INSERT INTO t VALUES (-1)", [])?))
            .await;
        assert!(
            matches!(refused, Err(StoreError::Busy { waiting }) if waiting == QUEUE_LIMIT),
            "{refused:?}"
        );
        drop(release);
        held.await.unwrap();
        for q in queued {
            assert_eq!(q.await.unwrap(), 1);
        }
        let (count, refused_rows): (i64, i64) = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*), count(*) FILTER (WHERE n = -1) FROM t",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .await
            .unwrap();
        assert_eq!((count, refused_rows), (QUEUE_LIMIT as i64, 0));
        assert_eq!(store.health().queued_writes, 0);
    }

    #[tokio::test]
    async fn reads_are_answered_from_the_last_commit_while_a_long_write_holds_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_t(dir.path()).await;
        store
            .call(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?))
            .await
            .unwrap();
        let (release, running, held) =
            hold_owner(&store, "BEGIN IMMEDIATE; INSERT INTO t VALUES (2);");
        running.recv().unwrap();
        // The owner is inside an open write; a read must not wait for it (the timeout
        // turns a regression into a failure instead of a hung test).
        let during = tokio::time::timeout(
            Duration::from_secs(20),
            store.read(|c| Ok(c.query_row("SELECT sum(n) FROM t", [], |r| r.get::<_, i64>(0))?)),
        )
        .await
        .expect("a read waited for the owner's write")
        .unwrap();
        assert_eq!(
            during, 1,
            "the read sees the last commit, not the open write"
        );
        drop(release);
        held.await.unwrap();
        let after = store
            .read(|c| Ok(c.query_row("SELECT sum(n) FROM t", [], |r| r.get::<_, i64>(0))?))
            .await
            .unwrap();
        assert_eq!(after, 3);
        // Readers cannot write.
        let write = store
            .read(|c| Ok(c.execute("INSERT INTO t VALUES (9)", [])?))
            .await;
        assert!(
            matches!(&write, Err(StoreError::Sqlite(e)) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly)),
            "{write:?}"
        );
    }

    #[tokio::test]
    async fn a_panicking_job_is_rolled_back_and_the_store_carries_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_t(dir.path()).await;
        let panicked = store
            .call(|c| -> Result<(), StoreError> {
                c.execute_batch("BEGIN; INSERT INTO t VALUES (5);")?;
                panic!("test: a job that panics mid-transaction");
            })
            .await;
        assert!(
            matches!(panicked, Err(StoreError::JobPanicked)),
            "{panicked:?}"
        );
        let read_panicked = store
            .read(|_| -> Result<(), StoreError> { panic!("test: a read that panics") })
            .await;
        assert!(
            matches!(read_panicked, Err(StoreError::JobPanicked)),
            "{read_panicked:?}"
        );
        let health = store.health();
        assert_eq!(health.panicked_jobs, 2);
        assert_eq!(
            health.last_panic.as_deref(),
            Some("test: a read that panics")
        );
        // Both threads still answer, and the panicked transaction left nothing behind.
        store
            .call(|c| Ok(c.execute("INSERT INTO t VALUES (7)", [])?))
            .await
            .unwrap();
        let rows: Vec<i64> = store
            .read(|c| {
                let mut stmt = c.prepare("SELECT n FROM t")?;
                let rows = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                Ok(rows)
            })
            .await
            .unwrap();
        assert_eq!(rows, vec![7]);
    }

    #[tokio::test]
    async fn a_storage_fault_kept_from_a_job_result_stands_until_recovered() {
        let store = Store::open_in_memory().unwrap();
        assert!(store.health().storage_fault.is_none());
        // A query error is not a storage fault.
        let query = StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows);
        assert_eq!(query.storage_fault(), None);
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        );
        store.keep_fault(StoreError::Sqlite(full).storage_fault().unwrap());
        let health = store.health();
        assert!(
            health
                .storage_fault
                .as_deref()
                .is_some_and(|f| f.contains("full")),
            "{health:?}"
        );
        store.storage_recovered();
        assert!(store.health().storage_fault.is_none());
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
