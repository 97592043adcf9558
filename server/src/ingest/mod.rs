//! Ingest from the county e-government platform: notice feeds (RSS/Atom/JSON Feed) and
//! catalogue and case exports (CSV/JSON), polled over HTTP(S) or read from files, cleaned,
//! linted and upserted into the store.
//!
//! One pass ([`run_pass`]) is: fetch ([`fetch`]; conditional GET, timeouts, a body limit)
//! → decode and parse off the async runtime ([`charset`], [`feed`], [`export`], [`html`],
//! [`lint`]) → apply in one transaction ([`apply`]). Any failure before the apply leaves
//! the store untouched: the last good content stays on air and only the source's state
//! (last error, failures, next attempt with backoff) changes. [`Hub`] owns the sources
//! table's pollers (one task per source) for `headend serve` and the admin API;
//! `headend import` runs a single pass.
//!
//! Trade-offs: a whole document is parsed in memory (bodies are capped, 8 MiB by default)
//! rather than streamed, which keeps every parser simple and lets one transaction see the
//! complete list of keys for missing-item flags. Charsets are decoded strictly, so a
//! mislabelled document is an error staff see rather than mojibake viewers see.

pub mod apply;
pub mod charset;
pub mod export;
pub mod feed;
pub mod fetch;
pub mod html;
pub mod lint;
mod poller;
pub mod source;
pub mod sources;

pub use apply::{ApplyError, PassReport};
pub use feed::ParseError;
pub use fetch::{FetchError, Fetcher, Reach};
pub use poller::{Hub, RejectionRow};
pub use source::{Format, Location, SourceKind, SourceName, SourceSpec, SpecError};

use chrono::Utc;

use crate::store::{Store, StoreError};
use fetch::{FetchRequest, Fetched, Validators};
use sources::Outcome;

/// Why a pass failed. Every variant leaves the store's content as it was.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The document could not be read.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The document could not be decoded or parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The source's defaults do not fit the store, or the store failed mid-pass.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking parse task was lost (it panicked or the runtime is stopping).
    #[error("the parse task failed")]
    Task,
    /// No source by that name.
    #[error("no source named {0:?}")]
    UnknownSource(String),
}

impl IngestError {
    /// A short Chinese description for staff.
    pub fn zh(&self) -> String {
        match self {
            IngestError::Fetch(e) => e.zh(),
            IngestError::Parse(e) => e.zh(),
            IngestError::Apply(e) => e.zh(),
            IngestError::Store(_) | IngestError::Task => "采集程序内部错误".to_owned(),
            IngestError::UnknownSource(n) => format!("没有名为“{n}”的采集来源"),
        }
    }

    /// What staff see as the source's last error: the Chinese description, then the
    /// technical chain in English.
    pub fn for_staff(&self) -> String {
        format!("{}（{}）", self.zh(), chain(self))
    }
}

pub use crate::errors::chain;

/// Whether a pass sends the stored validators (a poll) or fetches unconditionally (an
/// import, or a source whose definition changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassMode {
    /// Send If-None-Match / If-Modified-Since from the last document.
    Conditional,
    /// Fetch the whole document.
    Full,
}

/// How a completed pass ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PassOutcome {
    /// The document was read and applied.
    Applied(PassReport),
    /// 304 Not Modified: nothing to do.
    NotModified,
}

/// A parsed document of any kind.
enum ParsedDoc {
    Notices(feed::Parsed<feed::NoticeItem>),
    Catalogue(feed::Parsed<export::CatalogueItem>),
    Cases(feed::Parsed<export::CaseItem>),
}

/// Decodes and parses a document by the source's kind and format (blocking work).
fn parse_document(
    kind: SourceKind,
    format: Format,
    doc: &fetch::Document,
) -> Result<ParsedDoc, ParseError> {
    let charset = doc.charset.as_deref();
    Ok(match kind {
        SourceKind::Notices => {
            ParsedDoc::Notices(feed::parse_notices(&doc.bytes, charset, format)?)
        }
        SourceKind::Catalogue => {
            ParsedDoc::Catalogue(export::parse_catalogue(&doc.bytes, charset, format)?)
        }
        SourceKind::Cases => ParsedDoc::Cases(export::parse_cases(&doc.bytes, charset, format)?),
    })
}

/// Runs one pass of `spec` against `store` and records the outcome in the source's state
/// (a source that is not in the `sources` table, like an ad-hoc import, records nothing).
pub async fn run_pass(
    store: &Store,
    fetcher: &Fetcher,
    spec: &SourceSpec,
    mode: PassMode,
) -> Result<PassOutcome, IngestError> {
    let started = Utc::now();
    let result = pass(store, fetcher, spec, mode, started).await;
    match &result {
        Ok(PassOutcome::Applied(report)) => tracing::info!(
            source = %spec.name,
            added = report.added,
            updated = report.updated,
            unchanged = report.unchanged,
            rejected = report.rejected,
            missing = report.missing,
            "ingest pass applied"
        ),
        Ok(PassOutcome::NotModified) => {
            tracing::debug!(source = %spec.name, "source not modified")
        }
        Err(IngestError::Store(StoreError::Closed)) => {}
        Err(e) => {
            // Logged by the caller (the poller logs a warning; `headend import` prints it).
            let text = e.for_staff();
            let spec = spec.clone();
            let recorded = store
                .call(move |conn| sources::record_failure(conn, &spec, started, &text))
                .await;
            if let Err(e) = recorded {
                tracing::error!(error = %chain(&e), "cannot record the failure of a source");
            }
        }
    }
    result
}

async fn pass(
    store: &Store,
    fetcher: &Fetcher,
    spec: &SourceSpec,
    mode: PassMode,
    started: chrono::DateTime<Utc>,
) -> Result<PassOutcome, IngestError> {
    let validators = match (mode, &spec.location) {
        (PassMode::Conditional, Location::Http(_)) => {
            let name = spec.name.to_string();
            store
                .call(move |conn| sources::get(conn, &name))
                .await?
                .map(|r| Validators {
                    etag: r.state.etag,
                    last_modified: r.state.last_modified,
                })
                .filter(|v| v.etag.is_some() || v.last_modified.is_some())
        }
        _ => None,
    };
    let fetched = fetcher
        .fetch(FetchRequest {
            location: &spec.location,
            timeout: spec.timeout,
            max_bytes: spec.max_bytes,
            validators,
        })
        .await?;
    let doc = match fetched {
        Fetched::NotModified => {
            let spec = spec.clone();
            store
                .call(move |conn| {
                    sources::record_success(conn, &spec, started, Outcome::NotModified, None, None)
                })
                .await?;
            return Ok(PassOutcome::NotModified);
        }
        Fetched::Document(doc) => doc,
    };
    let (kind, format) = (spec.kind, spec.format);
    let (parsed, doc) = tokio::task::spawn_blocking(move || {
        let parsed = parse_document(kind, format, &doc);
        (parsed, doc)
    })
    .await
    .map_err(|_| IngestError::Task)?;
    let parsed = parsed?;
    let spec = spec.clone();
    let report = store
        .call(move |conn| {
            let now = Utc::now();
            let applied = match parsed {
                ParsedDoc::Notices(p) => apply::apply_notices(conn, &spec, p, now),
                ParsedDoc::Catalogue(p) => apply::apply_catalogue(conn, &spec, p, now),
                ParsedDoc::Cases(p) => apply::apply_cases(conn, &spec, p, now),
            };
            let report = match applied {
                Ok(r) => r,
                // A failing store (e.g. a full disk) fails the job itself, so the store's
                // health sees it.
                Err(ApplyError::Store(e)) => return Err(e),
                Err(e) => return Ok(Err(e)),
            };
            let v = &doc.validators;
            sources::record_success(
                conn,
                &spec,
                started,
                Outcome::Changed,
                Some((&v.etag, &v.last_modified)),
                Some(&report.counts()),
            )?;
            Ok(Ok(report))
        })
        .await??;
    // The store took a whole pass: whatever storage fault an earlier one met is over.
    store.storage_recovered();
    Ok(PassOutcome::Applied(report))
}
