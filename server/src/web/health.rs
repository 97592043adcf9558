//! `GET /readyz`: the deep health answer for monitoring. `/healthz` only says the store
//! answers a query; this one says whether the headend can do its work:
//!
//! - the store: `PRAGMA quick_check` of the database file, its queues, jobs that panicked,
//!   and the last storage fault a write met (a full disk, an I/O error): failing until a
//!   write commits again, degraded for [`RECENT_FAULT_SECS`] after;
//! - the disk: free space under the data directory against `min_free_disk_mb`;
//! - each channel on air: its outputs up or down;
//! - each ingest source: its last success and failures since (no URLs or error texts:
//!   those are for signed-in staff at `/api/v1/sources`).
//!
//! Each part has a `status` (`ok`, `degraded` or `failing`) and, when not ok, a Chinese
//! `message` for the operator; the overall status is the worst part's. The answer is 200
//! unless the overall status is `failing` (503), so a load balancer or a watchdog can act
//! on the code alone. One check runs at a time (the integrity check reads the whole file).

use std::path::Path;

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

/// Serialises checks: at most one integrity check reads the database at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `GET /readyz`.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let _one = ONE_AT_A_TIME.lock().await;
    let (store_status, store) = store_part(&state).await;
    let (disk_status, disk) = disk_part(&state);
    let (channels_status, channels) = channels_part(&state);
    let (sources_status, sources) = sources_part(&state).await;
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
        Json(json!({
            "status": overall,
            "store": store,
            "disk": disk,
            "channels": channels,
            "sources": sources,
        })),
    )
        .into_response()
}

/// How long a storage fault keeps the store `degraded` after writes work again.
pub const RECENT_FAULT_SECS: i64 = 600;

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
        Ok(_) if health.storage_fault.is_some() && !health.written_since_fault => (
            Status::Failing,
            Some("数据库写入失败（磁盘已满或读写错误），新内容未能保存".to_owned()),
        ),
        Ok(_)
            if health
                .storage_fault_age_secs
                .is_some_and(|age| age < RECENT_FAULT_SECS) =>
        {
            (
                Status::Degraded,
                Some(
                    "数据库最近有写入失败（磁盘已满或读写错误），之后已恢复写入，请查看日志"
                        .to_owned(),
                ),
            )
        }
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
    let integrity = match integrity {
        Ok(p) if p.is_empty() => json!("ok"),
        Ok(p) => json!(p),
        Err(e) => json!(e.to_string()),
    };
    (
        status,
        json!({
            "status": status,
            "message": message,
            "integrity": integrity,
            "queued_writes": health.queued_writes,
            "queued_reads": health.queued_reads,
            "queue_limit": health.queue_limit,
            "panicked_jobs": health.panicked_jobs,
            "last_panic": health.last_panic,
            "storage_fault": health.storage_fault,
            "storage_fault_at": health.storage_fault_at,
            "written_since_fault": health.written_since_fault,
        }),
    )
}

/// Bytes free to an unprivileged writer on the file system holding `dir`.
fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let v = rustix::fs::statvfs(dir)?;
    Ok(v.f_bavail.saturating_mul(v.f_frsize))
}

fn disk_part(state: &AppState) -> (Status, Value) {
    let Some(dir) = state.store.path().and_then(Path::parent) else {
        return (Status::Ok, json!({ "status": Status::Ok, "path": null }));
    };
    let min = state.min_free_disk_mb.saturating_mul(1 << 20);
    match free_bytes(dir) {
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
    let listed = state.store.read(crate::ingest::source::list).await;
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
