//! `headend serve`: open the store, load the demo county into an empty store, listen.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::Config;
use crate::demo::{self, DemoError};
use crate::ingest::{Fetcher, Hub};
use crate::store::{Store, StoreError};
use crate::web::{app, AppState};

/// What can stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The demo county could not be loaded.
    #[error(transparent)]
    Demo(#[from] DemoError),
    /// The listen address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The listen address is not loopback and the config does not allow that.
    #[error("refusing to listen on {addr}: it is not a loopback address; set `allow_non_loopback = true` in the config to serve other machines (and put TLS in front)")]
    NotLoopback {
        /// The address.
        addr: SocketAddr,
    },
    /// The server stopped with an I/O error.
    #[error("HTTP server failed")]
    Io(#[from] std::io::Error),
    /// The ingest HTTP client could not be built.
    #[error(transparent)]
    Ingest(#[from] crate::ingest::FetchError),
}

/// Opens the store in `config.data_dir` and, when it holds no county yet and
/// `config.load_demo` is set, loads the embedded demo county. Returns the store.
pub async fn open_store(config: &Config) -> Result<Store, ServeError> {
    let store = Store::open_in_dir(&config.data_dir)?;
    if config.load_demo {
        let loaded = store
            .call(|conn| {
                if !demo::store_is_empty(conn)? {
                    return Ok(None);
                }
                Ok(Some(demo::embedded().and_then(|county| {
                    demo::load(conn, &county, crate::content::county_today())
                })))
            })
            .await?;
        if let Some(report) = loaded.transpose()? {
            tracing::info!(
                regions = report.regions,
                catalogue = report.catalogue,
                notices = report.notices,
                cases = report.cases,
                shifted_days = report.shifted_days,
                "loaded the demo county into an empty store"
            );
        }
        add_demo_accounts(&store).await?;
    }
    Ok(store)
}

/// Gives a demo store without accounts the demo county's staff ([`demo::ACCOUNTS`]).
async fn add_demo_accounts(store: &Store) -> Result<(), ServeError> {
    use crate::accounts::{self, Grant, NewUser};
    let wanted = store
        .call(|conn| {
            Ok(demo::is_demo_store(conn)?
                && accounts::no_users(conn).map_err(account_store_error)?)
        })
        .await?;
    if !wanted {
        return Ok(());
    }
    let now = chrono::Utc::now();
    let names = store
        .call(move |conn| {
            let mut names = Vec::new();
            for a in demo::ACCOUNTS {
                let grants: Vec<Grant> = a
                    .grants
                    .iter()
                    .map(|(role, d)| Grant {
                        role: *role,
                        department: d.map(str::to_owned),
                    })
                    .collect();
                let user = NewUser {
                    name: a.name,
                    display_name: a.display_name,
                    password_hash: a.password_hash,
                    grants: &grants,
                    must_change: false,
                };
                accounts::add_user(conn, &user, "demo", now).map_err(account_store_error)?;
                names.push(a.name);
            }
            Ok(names)
        })
        .await?;
    tracing::info!(accounts = ?names, "added the demo county's staff accounts (passwords in the README)");
    Ok(())
}

fn account_store_error(e: crate::accounts::AccountError) -> StoreError {
    match e {
        crate::accounts::AccountError::Store(s) => s,
        other => StoreError::Malformed(other.to_string()),
    }
}

/// Seeds the sources table from the config's `[[sources]]` and starts one poller per source.
pub async fn start_ingest(config: &Config, store: Store) -> Result<Hub, ServeError> {
    let files = config.source_files_dir();
    if let Err(e) = std::fs::create_dir_all(&files) {
        tracing::warn!(dir = %files.display(), error = %e, "cannot create the source files directory; file sources will be refused");
    }
    let reach = crate::ingest::Reach {
        local_network: config.allow_local_sources,
        file_dir: Some(files),
    };
    let fetcher = Fetcher::new(crate::ingest::fetch::DEFAULT_CONNECT_TIMEOUT, reach)?;
    let hub = Hub::new(store, fetcher);
    let seeded = hub.seed(&config.sources).await?;
    let running = hub.start_pollers().await?;
    tracing::info!(
        configured = config.sources.len(),
        added = seeded.added,
        removed = seeded.removed,
        pollers = running,
        "ingest sources ready"
    );
    Ok(hub)
}

/// Starts the channels `planner` plans in the background (outputs open and slates encode
/// while the server already answers) and publishes them into `slot` for `/live`,
/// `/metrics` and channel edits. A failure is logged; the rest of the headend keeps
/// serving.
pub fn start_playout(
    planner: crate::schedule::Planner,
    store: Store,
    slot: std::sync::Arc<std::sync::OnceLock<crate::playout::Playout>>,
    gop_cache_mb: u64,
) {
    tokio::task::spawn_blocking(move || {
        let encoders = crate::playout::Encoders::new(
            usize::try_from(gop_cache_mb << 20).unwrap_or(usize::MAX),
            crate::playout::worker::default_threads(),
        )
        .map_err(|source| crate::playout::PlayoutError::Io {
            what: "starting the encoder threads".into(),
            source,
        });
        let started = encoders.and_then(|encoders| {
            crate::playout::Playout::start_with(
                planner.plan_all()?,
                Some(store.changes()),
                encoders,
            )
        });
        match started {
            Ok(playout) => {
                tracing::info!(channels = playout.channels().len(), "playout started");
                let _ = slot.set(playout);
            }
            Err(e) => {
                tracing::error!(error = %crate::web::error_chain(&e), "playout failed to start");
            }
        }
    });
}

/// Runs the headend until Ctrl-C or SIGTERM. `ready` is called with the bound address once
/// the server accepts connections (the binary prints it; tests wait for it).
pub async fn run(config: Config, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    if !config.listen.ip().is_loopback() {
        if !config.allow_non_loopback {
            return Err(ServeError::NotLoopback {
                addr: config.listen,
            });
        }
        tracing::warn!(addr = %config.listen, "serving plain HTTP beyond this machine: put TLS (a reverse proxy) in front");
    }
    // Bind first: an occupied port fails fast, before the store is touched.
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let store = open_store(&config).await?;
    let hub = start_ingest(&config, store.clone()).await?;
    let addr = listener.local_addr()?;
    let shutdown = Shutdown::install();
    ready(addr);
    if config.admin_token.is_some() {
        tracing::warn!("admin_token in the config is deprecated: it still acts as an administrator on the JSON API, but give each person an account and an API token (POST /api/v1/tokens) instead");
    }
    let state = AppState::new(store.clone())
        .with_ingest(hub, config.admin_token.clone())
        .with_min_free_disk_mb(config.min_free_disk_mb);
    let planner = crate::schedule::Planner::new(
        store.clone(),
        config.channels.clone(),
        config.air_unconfigured,
        &config.data_dir,
    )
    .with_layouts(std::sync::Arc::clone(&state.layouts));
    let state = state.with_planner(planner.clone());
    start_publishing_clock(store.clone());
    start_playout(
        planner,
        store,
        std::sync::Arc::clone(&state.playout),
        config.gop_cache_mb,
    );
    serve_http(listener, app(state), shutdown.wait()).await;
    Ok(())
}

/// How often approved notices are checked for their first day and published ones for
/// their last.
pub const PUBLISHING_SWEEP: Duration = Duration::from_secs(30);

/// Publishes approved notices when their validity starts and expires published ones when
/// it ends ([`crate::publishing::sweep`]), now and every [`PUBLISHING_SWEEP`].
fn start_publishing_clock(store: Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PUBLISHING_SWEEP);
        loop {
            tick.tick().await;
            let now = chrono::Utc::now();
            match store
                .call(move |conn| Ok(crate::publishing::sweep(conn, now)))
                .await
            {
                Ok(Ok((published, expired))) => {
                    if !published.is_empty() || !expired.is_empty() {
                        tracing::info!(
                            ?published,
                            ?expired,
                            "publishing clock: notices published and expired"
                        );
                    }
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %crate::web::error_chain(&e), "publishing clock failed")
                }
                Err(StoreError::Closed) => return,
                Err(e) => {
                    tracing::error!(error = %crate::web::error_chain(&e), "publishing clock failed")
                }
            }
        }
    });
}

/// How many tasks a worker runs from its own queue before it looks at the shared one
/// (tokio's default is 31). With 1,000 busy connections on two workers, woken connections
/// overflow the per-worker queues into the shared one and waited there: a p99 of
/// 50–120 ms for a cached image against 17–29 ms at 4 (`cargo bench -p headend --bench
/// stb`, BENCHMARKS.md).
pub const GLOBAL_QUEUE_INTERVAL: u32 = 4;
/// How many tasks a worker runs before it polls for I/O and timers (tokio's default is
/// 61): fewer, larger batches of readiness under load, at no cost when idle (an idle
/// worker polls at once).
pub const EVENT_INTERVAL: u32 = 256;

/// The runtime `headend serve` runs on: one worker a core, with the scheduling above.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .global_queue_interval(GLOBAL_QUEUE_INTERVAL)
        .event_interval(EVENT_INTERVAL)
        .enable_all()
        .build()
}

/// Longest a client may take to send a request's headers: a half-sent request line never
/// holds a connection for longer.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a request may take to be answered (a triggered ingest pass included).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Most connections served at once; further clients wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 4096;
/// How long in-flight requests may finish after a stop request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves: HTTP/1.1 with a header-read
/// timeout, a per-request timeout and a connection cap; each request carries its peer's
/// address (`ConnectInfo`). In-flight requests get [`SHUTDOWN_GRACE`] to finish.
pub async fn serve_http(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    continue;
                }
            },
        };
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                let router = router.clone();
                async move {
                    let call = router.oneshot(req.map(axum::body::Body::new));
                    match tokio::time::timeout(REQUEST_TIMEOUT, call).await {
                        Ok(Ok(response)) => Ok::<_, std::convert::Infallible>(response),
                        Ok(Err(never)) => match never {},
                        Err(_) => {
                            tracing::warn!(%peer, "request timed out");
                            Ok(axum::response::IntoResponse::into_response((
                                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                                axum::Json(
                                    serde_json::json!({ "error": "请求处理超时，请稍后再试" }),
                                ),
                            )))
                        }
                    }
                }
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still running after the shutdown grace period were cut");
        }
    }
}

/// Signal handlers installed before the server reports ready, so a stop request that
/// arrives right after start-up is never lost to the default (abrupt) action.
struct Shutdown {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Shutdown {
    fn install() -> Shutdown {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signals = match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(term), Ok(int)) => Some((term, int)),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot watch SIGTERM/SIGINT; falling back to Ctrl-C only");
                    None
                }
            };
            Shutdown { signals }
        }
        #[cfg(not(unix))]
        {
            Shutdown {}
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        match self.signals {
            Some((mut term, mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}
