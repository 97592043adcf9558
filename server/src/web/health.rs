//! `GET /readyz`: the deep health answer for monitoring. `/healthz` only says the store
//! answers a query; this one says whether the headend can do its work:
//!
//! - the store: `PRAGMA quick_check` of the database file, its queues, jobs that panicked,
//!   and the last storage fault a write met (a full disk, an I/O error): failing until an
//!   ingest pass succeeds again, or a write commits a minute later;
//! - the disk: free space under the data directory against `min_free_disk_mb`;
//! - each channel on air: its outputs up or down;
//! - each ingest source: its last success and failures since (no URLs or error texts:
//!   those are for signed-in staff at `/api/v1/sources`).
//!
//! Each part has a `status` (`ok`, `degraded` or `failing`) and, when not ok, a Chinese
//! `message` for the operator; the overall status is the worst part's. The answer is 200
//! unless the overall status is `failing` (503), so a load balancer or a watchdog can act
//! on the code alone. One check runs at a time and its answer is served again for
//! [`FRESH`] (the integrity check reads the whole file). Callers on this machine see
//! every detail; others the statuses and messages only.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use super::AppState;

/// How a part is doing; ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Working.
    Ok,
    /// Working, but something needs an operator's look.
    Degraded,
    /// Cannot do its work.
    Failing,
}

/// How long one answer is served again: callers within it share one check (the
/// integrity check reads the whole file, and `/readyz` is public).
pub const FRESH: Duration = Duration::from_secs(5);
/// Longest one check may take; it answers `failing` after that.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// The last answer and when it was made; one check at a time holds the lock.
pub type Cache = Arc<tokio::sync::Mutex<Option<(Instant, StatusCode, Value)>>>;

/// `GET /readyz`. Callers on this machine get every detail; others only the statuses and
/// the Chinese messages (no paths, panic texts or SQLite's findings).
pub async fn readyz(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let local = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|p| p.0.ip().is_loopback());
    // The check runs in a task of its own that holds the lock: a caller that goes away
    // does not leave a check running without it (the next one would start another).
    let cache = Arc::clone(&state.readyz);
    let task = tokio::spawn(async move {
        let mut last = cache.lock_owned().await;
        if let Some((at, code, body)) = last.as_ref() {
            if at.elapsed() < FRESH {
                return (*code, body.clone());
            }
        }
        let (code, body) = match tokio::time::timeout(CHECK_TIMEOUT, check(&state)).await {
            Ok(answer) => answer,
            Err(_) => {
                tracing::error!(after = ?CHECK_TIMEOUT, "the readiness check timed out");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "status": Status::Failing, "message": "运行状态检查超时" }),
                )
            }
        };
        *last = Some((Instant::now(), code, body.clone()));
        (code, body)
    });
    let (code, body) = match task.await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::error!(error = %e, "the readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "status": Status::Failing, "message": "运行状态检查失败" }),
            )
        }
    };
    let body = if local { body } else { public(&body) };
    (code, Json(body)).into_response()
}

/// The answer without details: each part's status and message, channel and source names.
fn public(full: &Value) -> Value {
    let part = |v: &Value| json!({ "status": v["status"], "message": v["message"] });
    let list = |v: &Value, key: &str| -> Value {
        v.as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| json!({ key: i[key], "status": i["status"], "message": i["message"] }))
                    .collect()
            })
            .unwrap_or_default()
    };
    json!({
        "status": full["status"],
        "message": full["message"],
        "store": part(&full["store"]),
        "disk": part(&full["disk"]),
        "channels": list(&full["channels"], "channel"),
        "sources": list(&full["sources"], "source"),
    })
}

async fn check(state: &AppState) -> (StatusCode, Value) {
    let (store_status, store) = store_part(state).await;
    let (disk_status, disk) = disk_part(state).await;
    let (channels_status, channels) = channels_part(state);
    let (sources_status, sources) = sources_part(state).await;
    let overall = [store_status, disk_status, channels_status, sources_status]
        .into_iter()
        .max()
        .unwrap_or(Status::Ok);
    if overall != Status::Ok {
        tracing::warn!(
            store = ?store_status,
            disk = ?disk_status,
            channels = ?channels_status,
            sources = ?sources_status,
            "readiness check is not ok"
        );
    }
    let code = if overall == Status::Failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (
        code,
        json!({
            "status": overall,
            "store": store,
            "disk": disk,
            "channels": channels,
            "sources": sources,
        }),
    )
}

async fn store_part(state: &AppState) -> (Status, Value) {
    let health = state.store.health();
    let integrity = state.store.quick_check().await;
    let (status, message) = match &integrity {
        Err(e) => {
            tracing::error!(error = %super::error_chain(e), "the integrity check could not run");
            (
                Status::Failing,
                Some("数据库无法检查，请查看日志".to_owned()),
            )
        }
        Ok(problems) if !problems.is_empty() => {
            tracing::error!(problems = ?problems, "the database failed its integrity check");
            (
                Status::Failing,
                Some("数据库文件已损坏，请停止服务并从备份恢复".to_owned()),
            )
        }
        Ok(_) if health.storage_fault.is_some() => (
            Status::Failing,
            Some("数据库写入失败（磁盘已满或读写错误），新内容未能保存".to_owned()),
        ),
        Ok(_) if health.panicked_jobs > 0 => (
            Status::Degraded,
            Some("数据库任务曾发生内部错误（已回滚），请查看日志".to_owned()),
        ),
        Ok(_) if health.queued_writes.max(health.queued_reads) * 4 >= health.queue_limit * 3 => (
            Status::Degraded,
            Some("数据库繁忙，排队任务过多".to_owned()),
        ),
        Ok(_) => (Status::Ok, None),
    };
    // The store's own health, with the verdict and the integrity check beside it.
    let mut part = serde_json::to_value(&health).unwrap_or_else(|_| json!({}));
    part["status"] = json!(status);
    part["message"] = json!(message);
    part["integrity"] = match integrity {
        Ok(p) if p.is_empty() => json!("ok"),
        Ok(p) => json!(p),
        Err(e) => json!(e.to_string()),
    };
    (status, part)
}

/// Bytes free to an unprivileged writer on the file system holding `dir`.
fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let v = rustix::fs::statvfs(dir)?;
    Ok(v.f_bavail.saturating_mul(v.f_frsize))
}

async fn disk_part(state: &AppState) -> (Status, Value) {
    let Some(dir) = state
        .store
        .path()
        .and_then(Path::parent)
        .map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }
        })
        .map(Path::to_path_buf)
    else {
        return (Status::Ok, json!({ "status": Status::Ok, "path": null }));
    };
    let min = state.min_free_disk_mb.saturating_mul(1 << 20);
    // statvfs can hang on a stuck network file system: never on a runtime worker.
    let probe = dir.clone();
    let free = tokio::task::spawn_blocking(move || free_bytes(&probe))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
    match free {
        Ok(free) => {
            let status = if free < min {
                Status::Failing
            } else {
                Status::Ok
            };
            let message = (status != Status::Ok).then(|| {
                format!(
                    "数据目录所在磁盘剩余空间不足：剩余{}MB，至少需要{}MB",
                    free >> 20,
                    min >> 20
                )
            });
            (
                status,
                json!({
                    "status": status,
                    "message": message,
                    "path": dir.display().to_string(),
                    "free_bytes": free,
                    "min_free_bytes": min,
                }),
            )
        }
        Err(e) => {
            tracing::error!(dir = %dir.display(), error = %e, "cannot read the free space of the data directory");
            (
                Status::Failing,
                json!({
                    "status": Status::Failing,
                    "message": "无法读取数据目录所在磁盘的剩余空间",
                    "path": dir.display().to_string(),
                }),
            )
        }
    }
}

fn channels_part(state: &AppState) -> (Status, Value) {
    use std::sync::atomic::Ordering::Relaxed;
    let Some(playout) = state.playout.get() else {
        return (Status::Ok, json!([]));
    };
    let mut worst = Status::Ok;
    let channels: Vec<Value> = playout
        .channels()
        .iter()
        .map(|c| {
            let outputs: Vec<Value> = c
                .lanes
                .iter()
                .flat_map(|l| &l.outputs)
                .map(|o| {
                    json!({
                        "output": o.label,
                        "up": o.stats.up.load(Relaxed),
                        "send_errors": o.stats.send_errors.load(Relaxed),
                        "dropped_gops": o.stats.dropped_gops.load(Relaxed),
                        "late_units": o.stats.late_units.load(Relaxed),
                    })
                })
                .collect();
            let down = outputs.iter().filter(|o| o["up"] != json!(true)).count();
            let status = if down > 0 {
                Status::Degraded
            } else {
                Status::Ok
            };
            worst = worst.max(status);
            json!({
                "channel": c.name,
                "status": status,
                "message": (down > 0).then(|| format!("{down}路输出未在播出")),
                "outputs": outputs,
            })
        })
        .collect();
    (worst, json!(channels))
}

/// Failures in a row after which a source counts as degraded.
pub const SOURCE_FAILURES_DEGRADED: u32 = 3;

async fn sources_part(state: &AppState) -> (Status, Value) {
    let listed = state.store.read(crate::ingest::sources::list).await;
    let list = match listed {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %super::error_chain(&e), "cannot read the sources for /readyz");
            return (
                Status::Degraded,
                json!({ "status": Status::Degraded, "message": "无法读取采集来源" }),
            );
        }
    };
    let mut worst = Status::Ok;
    let sources: Vec<Value> = list
        .iter()
        .map(|r| {
            let failures = r.state.consecutive_failures;
            let status = if failures >= SOURCE_FAILURES_DEGRADED {
                Status::Degraded
            } else {
                Status::Ok
            };
            worst = worst.max(status);
            json!({
                "source": r.spec.name.as_str(),
                "status": status,
                "message": (status != Status::Ok).then(|| format!("已连续{failures}次采集失败")),
                "last_success_at": r.state.last_success_at,
                "consecutive_failures": failures,
            })
        })
        .collect();
    (worst, json!(sources))
}
