//! The sources table at run time: [`Hub`] seeds it from the config, serves it to the admin
//! API, and (once [`Hub::start_pollers`] is called by `headend serve`) runs one tokio task
//! per source that sleeps until the source's next attempt time, polls, and sleeps again.
//!
//! Each task re-reads its source row before every attempt, so a definition changed through
//! the API takes effect at once (an update makes the source due now and wakes its task),
//! and a deleted source's task ends. Passes of one source never overlap: the poller and a
//! poll triggered through the API take the same per-source lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::fetch::Fetcher;
use super::source::{SourceFields, SourceSpec};
use super::sources::{self, Origin, SeedReport, SourceRecord};
use super::{run_pass, IngestError, PassMode, PassOutcome};
use crate::store::{Store, StoreError};

/// How long a poller waits before retrying when the store itself failed.
const STORE_RETRY: Duration = Duration::from_secs(5);
/// Shortest time between the starts of two passes of one source (the shortest interval).
const MIN_GAP: Duration = Duration::from_secs(1);

/// A recorded rejection, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectionRow {
    /// guid / link / 索引号 / 办件编号, or the row.
    pub item_key: String,
    /// Title, possibly empty.
    pub title: String,
    /// English code.
    pub code: String,
    /// Chinese reason.
    pub reason: String,
    /// First pass that rejected it.
    pub first_at: String,
    /// Latest pass that rejected it.
    pub last_at: String,
}

/// Reads a source's recorded rejections.
pub fn rejections(
    conn: &rusqlite::Connection,
    source: &str,
) -> Result<Vec<RejectionRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT item_key, title, code, reason, first_at, last_at FROM ingest_rejections
         WHERE source = ?1 ORDER BY item_key LIMIT 500",
    )?;
    let rows = stmt.query_map([source], |r| {
        Ok(RejectionRow {
            item_key: r.get(0)?,
            title: r.get(1)?,
            code: r.get(2)?,
            reason: r.get(3)?,
            first_at: r.get(4)?,
            last_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

struct Poller {
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    /// Per-source pass locks.
    locks: HashMap<String, Arc<tokio::sync::Mutex<()>>>,
    /// Running pollers; `None` until [`Hub::start_pollers`].
    pollers: Option<HashMap<String, Poller>>,
}

struct Inner {
    store: Store,
    fetcher: Fetcher,
    shared: Mutex<Shared>,
}

/// Sources and their pollers. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let shared = self.shared.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(pollers) = &shared.pollers {
            for p in pollers.values() {
                p.task.abort();
            }
        }
    }
}

impl Hub {
    /// A hub over `store` fetching with `fetcher`. No pollers run until
    /// [`Hub::start_pollers`].
    pub fn new(store: Store, fetcher: Fetcher) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                store,
                fetcher,
                shared: Mutex::new(Shared::default()),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding this lock cannot leave the maps inconsistent.
        self.inner.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_for(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.shared()
            .locks
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Makes the sources table agree with the config's `[[sources]]`.
    pub async fn seed(&self, specs: &[SourceSpec]) -> Result<SeedReport, StoreError> {
        let specs = specs.to_vec();
        self.inner
            .store
            .call(move |conn| sources::seed(conn, &specs))
            .await
    }

    /// Starts one poller per source in the table. Returns how many. Calling it again
    /// starts pollers only for sources that have none.
    pub async fn start_pollers(&self) -> Result<usize, StoreError> {
        let all = self.inner.store.call(|conn| sources::list(conn)).await?;
        {
            let mut shared = self.shared();
            shared.pollers.get_or_insert_with(HashMap::new);
        }
        for record in &all {
            self.spawn(record.spec.name.as_str());
        }
        Ok(all.len())
    }

    fn spawn(&self, name: &str) {
        let mut shared = self.shared();
        let Some(pollers) = shared.pollers.as_mut() else {
            return;
        };
        if pollers.get(name).is_some_and(|p| !p.task.is_finished()) {
            return;
        }
        let wake = Arc::new(Notify::new());
        // Every event of this poller names its source.
        let task = tokio::spawn(tracing::Instrument::instrument(
            poll_loop(Arc::downgrade(&self.inner), name.to_owned(), wake.clone()),
            tracing::info_span!("source", name),
        ));
        pollers.insert(name.to_owned(), Poller { wake, task });
    }

    fn wake(&self, name: &str) {
        if let Some(p) = self.shared().pollers.as_ref().and_then(|p| p.get(name)) {
            p.wake.notify_one();
        }
    }

    /// Every source with its state.
    pub async fn list(&self) -> Result<Vec<SourceRecord>, StoreError> {
        self.inner.store.call(|conn| sources::list(conn)).await
    }

    /// One source with its state.
    pub async fn get(&self, name: &str) -> Result<Option<SourceRecord>, StoreError> {
        let name = name.to_owned();
        self.inner
            .store
            .call(move |conn| sources::get(conn, &name))
            .await
    }

    /// The rejections recorded by a source's latest pass.
    pub async fn rejections(&self, name: &str) -> Result<Vec<RejectionRow>, StoreError> {
        let name = name.to_owned();
        self.inner
            .store
            .call(move |conn| rejections(conn, &name))
            .await
    }

    /// Adds a source (origin `api`) on behalf of `actor` (audited as `source_create`).
    /// Returns false if the name is taken.
    pub async fn create(&self, spec: SourceSpec, actor: &str) -> Result<bool, StoreError> {
        let name = spec.name.to_string();
        let actor = actor.to_owned();
        let created = self
            .inner
            .store
            .call(move |conn| {
                let tx = conn.transaction()?;
                let created = sources::insert(&tx, &spec, Origin::Api)?;
                if created {
                    let after = definition(&spec);
                    let detail = serde_json::json!({ "after": after });
                    let name = spec.name.as_str();
                    crate::store::audit(
                        &tx,
                        Utc::now(),
                        &actor,
                        "source_create",
                        "source",
                        name,
                        &detail,
                    )?;
                }
                tx.commit()?;
                Ok(created)
            })
            .await?;
        if created {
            self.spawn(&name);
        }
        Ok(created)
    }

    /// Replaces a source's definition on behalf of `actor` (audited as `source_update`
    /// with before and after; its origin and state are kept; it becomes due now).
    /// Returns false if there is no such source.
    pub async fn update(&self, spec: SourceSpec, actor: &str) -> Result<bool, StoreError> {
        let name = spec.name.to_string();
        let actor = actor.to_owned();
        let found = self
            .inner
            .store
            .call(move |conn| {
                let tx = conn.transaction()?;
                let Some(old) = sources::get(&tx, spec.name.as_str())? else {
                    return Ok(false);
                };
                let found = sources::update(&tx, &spec, old.origin)?;
                let before = definition(&old.spec);
                let after = definition(&spec);
                if found && before != after {
                    let detail = serde_json::json!({ "before": before, "after": after });
                    let name = spec.name.as_str();
                    crate::store::audit(
                        &tx,
                        Utc::now(),
                        &actor,
                        "source_update",
                        "source",
                        name,
                        &detail,
                    )?;
                }
                tx.commit()?;
                Ok(found)
            })
            .await?;
        if found {
            self.wake(&name);
        }
        Ok(found)
    }

    /// Deletes a source on behalf of `actor` (audited as `source_delete` with its last
    /// definition) and stops its poller; its content stays in the store. Returns false
    /// if there was none.
    pub async fn delete(&self, name: &str, actor: &str) -> Result<bool, StoreError> {
        let owned = name.to_owned();
        let actor = actor.to_owned();
        let deleted = self
            .inner
            .store
            .call(move |conn| {
                let tx = conn.transaction()?;
                let old = sources::get(&tx, &owned)?;
                let deleted = sources::delete(&tx, &owned)?;
                if let (true, Some(old)) = (deleted, old) {
                    let before = definition(&old.spec);
                    let detail = serde_json::json!({ "before": before });
                    crate::store::audit(
                        &tx,
                        Utc::now(),
                        &actor,
                        "source_delete",
                        "source",
                        &owned,
                        &detail,
                    )?;
                }
                tx.commit()?;
                Ok(deleted)
            })
            .await?;
        let mut shared = self.shared();
        if let Some(p) = shared.pollers.as_mut().and_then(|p| p.remove(name)) {
            p.task.abort();
        }
        shared.locks.remove(name);
        Ok(deleted)
    }

    /// Runs a pass of the named source now (conditional GET), waiting for any pass of it
    /// already under way.
    pub async fn poll_now(&self, name: &str) -> Result<PassOutcome, IngestError> {
        let record = self
            .get(name)
            .await?
            .ok_or_else(|| IngestError::UnknownSource(name.to_owned()))?;
        self.run_locked(&record.spec, PassMode::Conditional).await
    }

    async fn run_locked(
        &self,
        spec: &SourceSpec,
        mode: PassMode,
    ) -> Result<PassOutcome, IngestError> {
        let lock = self.lock_for(spec.name.as_str());
        let _guard = lock.lock().await;
        let result = run_pass(&self.inner.store, &self.inner.fetcher, spec, mode).await;
        if let Err(e) = &result {
            tracing::warn!(source = %spec.name, error = %super::chain(e), "ingest pass failed");
        }
        result
    }
}

/// One source's poller. Holds only a weak reference to the hub, so dropping every `Hub`
/// handle ends the task.
async fn poll_loop(hub: std::sync::Weak<Inner>, name: String, wake: Arc<Notify>) {
    // Passes of one source start at most once per MIN_GAP, whatever the recorded state says
    // (e.g. when recording it failed).
    let mut not_before = tokio::time::Instant::now();
    loop {
        tokio::time::sleep_until(not_before).await;
        let Some(inner) = hub.upgrade() else { return };
        let hub_handle = Hub { inner };
        let record = match hub_handle.get(&name).await {
            Ok(Some(r)) => r,
            Ok(None) | Err(StoreError::Closed) => return,
            Err(e) => {
                tracing::error!(source = %name, error = %e, "cannot read the source; retrying");
                drop(hub_handle);
                tokio::select! {
                    _ = tokio::time::sleep(STORE_RETRY) => {}
                    _ = wake.notified() => {}
                }
                continue;
            }
        };
        let now = Utc::now();
        let due = record.state.next_attempt().map(|t| t.with_timezone(&Utc));
        if let Some(due) = due.filter(|d| *d > now) {
            let wait = (due - now).to_std().unwrap_or_default();
            drop(hub_handle);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wake.notified() => {}
            }
            continue;
        }
        not_before = tokio::time::Instant::now() + MIN_GAP;
        let result = hub_handle
            .run_locked(&record.spec, PassMode::Conditional)
            .await;
        if let Err(IngestError::Store(_)) = result {
            // The state could not be advanced; do not spin.
            drop(hub_handle);
            tokio::select! {
                _ = tokio::time::sleep(STORE_RETRY.max(record.spec.interval)) => {}
                _ = wake.notified() => {}
            }
        }
    }
}

/// A source's definition as the audit log records it (the fields of `[[sources]]`).
fn definition(spec: &SourceSpec) -> serde_json::Value {
    serde_json::to_value(SourceFields::from(spec)).unwrap_or_default()
}
