//! Where screens come from: the headend's `/stb/v1` API over HTTP (blocking, ureq), or a
//! bundle directory written by `headend bundle` (`manifest.json`, `img/<name>.png`).
//! Both answer the same calls; a bundle cannot look up cases, take votes or register boxes
//! (a one-way network has no return channel), which the caller shows as such.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use stb_protocol::{
    BoxCredentials, CaseLookup, ErrorBody, RegisterBox, Screen, ScreenAnswer, ViewReport,
    VoteRequest,
};

/// Largest manifest accepted.
const MAX_MANIFEST: u64 = 8 << 20;
/// Largest image accepted.
const MAX_IMAGE: u64 = 4 << 20;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The headend cannot be reached (connection refused, timeout, DNS).
    #[error("cannot reach {0}")]
    Unreachable(String),
    /// The headend answered with an error; `message` is its Chinese text.
    #[error("headend answered {status}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The answer's `error` text (Chinese), or a summary.
        message: String,
        /// A screen the headend offers instead (a second vote: the results).
        screen: Option<Box<Screen>>,
    },
    /// The answer could not be read.
    #[error("bad answer from {what}: {why}")]
    Invalid {
        /// Which call.
        what: String,
        /// Why.
        why: String,
    },
    /// A bundle directory has no return channel.
    #[error("a bundle directory cannot {0}")]
    OneWay(&'static str),
}

/// A manifest fetch.
#[derive(Debug)]
pub enum Fetched {
    /// Unchanged since the version asked about.
    NotModified,
    /// A manifest: its JSON bytes.
    Manifest(Vec<u8>),
}

/// A source of screens.
#[derive(Debug, Clone)]
pub enum Source {
    /// The headend's API at this base URL (`http://host:port`).
    Http {
        /// Base URL without a trailing slash.
        base: String,
        /// The HTTP agent (keeps connections open).
        agent: ureq::Agent,
    },
    /// A bundle directory.
    Dir(PathBuf),
}

impl Source {
    /// `http://…` (or `https://…`) is the API, anything else a bundle directory.
    pub fn new(server: &str) -> Source {
        if server.starts_with("http://") || server.starts_with("https://") {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_connect(Some(Duration::from_secs(3)))
                .timeout_global(Some(Duration::from_secs(10)))
                .user_agent(concat!("govchannel-stb/", env!("CARGO_PKG_VERSION")))
                .build()
                .into();
            Source::Http {
                base: server.trim_end_matches('/').to_owned(),
                agent,
            }
        } else {
            Source::Dir(PathBuf::from(server))
        }
    }

    /// Whether this source has a return channel (case lookups, votes, registration).
    pub fn two_way(&self) -> bool {
        matches!(self, Source::Http { .. })
    }

    /// The manifest of `region` for `profile`, unless its version is still `version`.
    pub fn manifest(
        &self,
        profile: &str,
        region: &str,
        version: Option<&str>,
    ) -> Result<Fetched, SourceError> {
        match self {
            Source::Http { base, agent } => {
                let url = format!("{base}/stb/v1/manifest?profile={profile}&region={region}");
                let mut req = agent.get(&url);
                if let Some(v) = version {
                    req = req.header("If-None-Match", format!("\"{v}\""));
                }
                let resp = req.call().map_err(|e| unreachable(&url, &e))?;
                let status = resp.status().as_u16();
                if status == 304 {
                    return Ok(Fetched::NotModified);
                }
                let body = read_body(resp, MAX_MANIFEST, "manifest")?;
                if status != 200 {
                    return Err(refused(status, &body));
                }
                Ok(Fetched::Manifest(body))
            }
            Source::Dir(dir) => {
                let path = dir.join("manifest.json");
                let body = std::fs::read(&path)
                    .map_err(|e| SourceError::Unreachable(format!("{}: {e}", path.display())))?;
                if let (Some(v), Ok(m)) = (
                    version,
                    serde_json::from_slice::<VersionOnly>(&body).map(|m| m.version),
                ) {
                    if v == m {
                        return Ok(Fetched::NotModified);
                    }
                }
                Ok(Fetched::Manifest(body))
            }
        }
    }

    /// A page image by name (`<image>-<n>`).
    pub fn image(&self, name: &str) -> Result<Vec<u8>, SourceError> {
        match self {
            Source::Http { base, agent } => {
                let url = format!("{base}/stb/v1/img/{name}.png");
                let resp = agent.get(&url).call().map_err(|e| unreachable(&url, &e))?;
                let status = resp.status().as_u16();
                let body = read_body(resp, MAX_IMAGE, "image")?;
                if status != 200 {
                    return Err(refused(status, &body));
                }
                Ok(body)
            }
            Source::Dir(dir) => {
                let path = dir.join("img").join(format!("{name}.png"));
                std::fs::read(&path)
                    .map_err(|e| SourceError::Unreachable(format!("{}: {e}", path.display())))
            }
        }
    }

    fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
        what: &'static str,
    ) -> Result<T, SourceError> {
        let Source::Http { base, agent } = self else {
            return Err(SourceError::OneWay(what));
        };
        let url = format!("{base}{path}");
        let json = serde_json::to_vec(body).map_err(|e| SourceError::Invalid {
            what: what.into(),
            why: e.to_string(),
        })?;
        let resp = agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(&json[..])
            .map_err(|e| unreachable(&url, &e))?;
        let status = resp.status().as_u16();
        let body = read_body(resp, MAX_MANIFEST, what)?;
        if !(200..300).contains(&status) {
            return Err(refused(status, &body));
        }
        let body: &[u8] = if body.is_empty() { b"null" } else { &body };
        serde_json::from_slice(body).map_err(|e| SourceError::Invalid {
            what: what.into(),
            why: e.to_string(),
        })
    }

    /// Registers this box.
    pub fn register(&self, req: &RegisterBox) -> Result<BoxCredentials, SourceError> {
        self.post("/stb/v1/boxes", req, "register a box")
    }

    /// Looks up a case: the screen to show, drawn for `profile`.
    pub fn lookup(&self, profile: &str, req: &CaseLookup) -> Result<ScreenAnswer, SourceError> {
        self.post(
            &format!("/stb/v1/cases/lookup?profile={profile}"),
            req,
            "look up a case",
        )
    }

    /// Votes: the results screen, drawn for `profile`.
    pub fn vote(
        &self,
        profile: &str,
        poll: i64,
        req: &VoteRequest,
    ) -> Result<ScreenAnswer, SourceError> {
        self.post(
            &format!("/stb/v1/polls/{poll}/votes?profile={profile}"),
            req,
            "vote",
        )
    }

    /// Reports a day's view counts.
    pub fn views(&self, report: &ViewReport) -> Result<(), SourceError> {
        self.post::<serde_json::Value>("/stb/v1/views", report, "report views")
            .map(|_| ())
    }
}

#[derive(serde::Deserialize)]
struct VersionOnly {
    version: String,
}

fn unreachable(url: &str, e: &ureq::Error) -> SourceError {
    SourceError::Unreachable(format!("{url}: {e}"))
}

fn refused(status: u16, body: &[u8]) -> SourceError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => SourceError::Refused {
            status,
            message: b.error,
            screen: b.screen.map(Box::new),
        },
        Err(_) => SourceError::Refused {
            status,
            message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            screen: None,
        },
    }
}

fn read_body(
    resp: ureq::http::Response<ureq::Body>,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, SourceError> {
    let mut out = Vec::new();
    resp.into_body()
        .into_reader()
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| SourceError::Invalid {
            what: what.into(),
            why: e.to_string(),
        })?;
    if out.len() as u64 > limit {
        return Err(SourceError::Invalid {
            what: what.into(),
            why: format!("larger than {limit} bytes"),
        });
    }
    Ok(out)
}
