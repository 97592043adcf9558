//! Ingest: real feeds and exports served over HTTP on 127.0.0.1 by a small in-test server
//! (and by raw sockets for misbehaving servers), the upsert rules, the sources API, the
//! `headend import` command and a property-test harness for the feed conversion.
//!
//! Fixtures in `fixtures/ingest/` are written for the mini county (小样县): departments
//! `mzj` (小样县民政局) and `xkz` (溪口镇人民政府), subject `11`.

#[path = "ingest_cli.rs"]
mod cli;
#[path = "ingest_fuzz.rs"]
mod fuzz;
#[path = "ingest_http.rs"]
mod http;
#[path = "ingest_upsert.rs"]
mod upsert;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use headend::ingest::source::SourceFields;
use headend::ingest::sources::{self, Origin, SourceRecord};
use headend::ingest::{
    run_pass, Fetcher, IngestError, PassMode, PassOutcome, PassReport, SourceSpec,
};
use headend::store::Store;

/// A fixture file's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration/fixtures/ingest")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Path of a fixture file.
pub fn fixture_path(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration/fixtures/ingest")
        .join(name)
        .display()
        .to_string()
}

/// What the test server answers on one path.
#[derive(Clone, Debug)]
pub struct Page {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Page {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Page {
        Page {
            status: 200,
            content_type: content_type.to_owned(),
            body: body.into(),
            etag: None,
            last_modified: None,
        }
    }

    pub fn with_validators(mut self, etag: &str, last_modified: &str) -> Page {
        self.etag = Some(etag.to_owned());
        self.last_modified = Some(last_modified.to_owned());
        self
    }
}

/// One request the test server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub at: Instant,
}

#[derive(Default)]
struct Site {
    pages: HashMap<String, Page>,
    log: Vec<Seen>,
}

/// A small HTTP server on 127.0.0.1:0 serving whatever pages the test puts, honouring
/// If-None-Match / If-Modified-Since, and logging every request.
pub struct TestServer {
    pub addr: SocketAddr,
    site: Arc<Mutex<Site>>,
}

async fn answer(State(site): State<Arc<Mutex<Site>>>, uri: Uri, headers: HeaderMap) -> Response {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut site = site.lock().unwrap();
    let seen = Seen {
        path: uri.path().to_owned(),
        if_none_match: header("if-none-match"),
        if_modified_since: header("if-modified-since"),
        at: Instant::now(),
    };
    site.log.push(seen.clone());
    let Some(page) = site.pages.get(uri.path()).cloned() else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let not_modified = (page.etag.is_some() && seen.if_none_match == page.etag)
        || (page.last_modified.is_some() && seen.if_modified_since == page.last_modified);
    let mut builder = Response::builder();
    if let Some(e) = &page.etag {
        builder = builder.header("etag", e);
    }
    if let Some(m) = &page.last_modified {
        builder = builder.header("last-modified", m);
    }
    if not_modified {
        return builder.status(304).body(axum::body::Body::empty()).unwrap();
    }
    builder
        .status(page.status)
        .header("content-type", page.content_type)
        .body(axum::body::Body::from(page.body))
        .unwrap()
}

impl TestServer {
    pub async fn start() -> TestServer {
        let site = Arc::new(Mutex::new(Site::default()));
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(site.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestServer { addr, site }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn put(&self, path: &str, page: Page) {
        self.site
            .lock()
            .unwrap()
            .pages
            .insert(path.to_owned(), page);
    }

    pub fn requests(&self, path: &str) -> Vec<Seen> {
        self.site
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

/// An in-memory store holding the mini county.
pub async fn county_store() -> Store {
    tokio::task::spawn_blocking(crate::mini_store)
        .await
        .unwrap()
}

/// A source spec with a 5 s timeout; `department` is the default publishing body.
pub fn spec(name: &str, url: &str, kind: &str, department: Option<&str>) -> SourceSpec {
    SourceSpec::try_from(SourceFields {
        name: name.into(),
        url: url.into(),
        kind: kind.into(),
        department: department.map(str::to_owned),
        timeout: Some(5),
        ..SourceFields::default()
    })
    .unwrap()
}

/// Adds `spec` to the sources table (so passes record state).
pub async fn register(store: &Store, spec: &SourceSpec) {
    let spec = spec.clone();
    assert!(store
        .call(move |c| sources::insert(c, &spec, Origin::Api))
        .await
        .unwrap());
}

pub fn fetcher() -> Fetcher {
    Fetcher::new(Duration::from_secs(2), headend::ingest::Reach::anywhere()).unwrap()
}

/// Runs one pass.
pub async fn pass(
    store: &Store,
    spec: &SourceSpec,
    mode: PassMode,
) -> Result<PassOutcome, IngestError> {
    run_pass(store, &fetcher(), spec, mode).await
}

/// Runs one full pass that must apply, and returns its report.
pub async fn applied(store: &Store, spec: &SourceSpec) -> PassReport {
    match pass(store, spec, PassMode::Full).await {
        Ok(PassOutcome::Applied(r)) => r,
        other => panic!("expected an applied pass, got {other:?}"),
    }
}

/// (added, updated, unchanged, rejected, missing).
pub fn counts(r: &PassReport) -> (usize, usize, usize, usize, usize) {
    (r.added, r.updated, r.unchanged, r.rejected, r.missing)
}

/// The source's row.
pub async fn record(store: &Store, name: &str) -> SourceRecord {
    let name = name.to_owned();
    store
        .call(move |c| sources::get(c, &name))
        .await
        .unwrap()
        .unwrap()
}

/// Every content row ingest may touch, as text, for "the store is unchanged" checks.
pub async fn content(store: &Store) -> Vec<String> {
    store
        .call(|c| {
            let mut out = Vec::new();
            for sql in [
                "SELECT * FROM notices ORDER BY id",
                "SELECT * FROM catalogue_entries ORDER BY id",
                "SELECT * FROM catalogue_audiences ORDER BY entry_id, audience",
                "SELECT * FROM cases ORDER BY id",
                "SELECT * FROM audit_log ORDER BY id",
                "SELECT * FROM ingest_rejections ORDER BY source, item_key",
            ] {
                let mut stmt = c.prepare(sql)?;
                let n = stmt.column_count();
                let rows = stmt.query_map([], |r| {
                    let mut line = Vec::new();
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        line.push(format!("{v:?}"));
                    }
                    Ok(line.join("|"))
                })?;
                for row in rows {
                    out.push(row?);
                }
            }
            Ok(out)
        })
        .await
        .unwrap()
}

/// Runs `sql` returning one text column per row.
pub async fn texts(store: &Store, sql: &'static str) -> Vec<String> {
    store
        .call(move |c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map([], |r| {
                let v: rusqlite::types::Value = r.get(0)?;
                Ok(match v {
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Null => "NULL".to_owned(),
                    other => format!("{other:?}"),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .unwrap()
}

/// Waits until `check` holds, polling every 20 ms, failing after `limit`.
pub async fn wait_for<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
