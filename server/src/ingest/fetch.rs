//! Reading a source's document: HTTP(S) with connect and total timeouts, conditional GET
//! and a body limit enforced while the body streams in; or a local file with the same limit.
//!
//! The client is reqwest over rustls (ring, bundled Mozilla roots), HTTP/1.1 only, without
//! compression or proxies: the platforms we poll are plain web servers, and a small
//! dependency set matters more than features we would not use.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::source::Location;

/// Default time allowed to establish a connection. Default: 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("GovChannel-headend/", env!("CARGO_PKG_VERSION"));

/// Why a document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The HTTP client could not be built (TLS backend failed to initialise).
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// Connecting or sending the request failed.
    #[error("cannot reach {url}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// No complete answer within the total timeout.
    #[error("no complete answer from {url} within {}s", .timeout.as_secs_f32())]
    Timeout {
        /// The URL or path.
        url: String,
        /// The limit.
        timeout: Duration,
    },
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body is larger than the source's limit.
    #[error("{url} sent more than {limit} bytes (the source's max_bytes)")]
    TooLarge {
        /// The URL or path.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The connection broke while the body was read.
    #[error("reading the body from {url} failed")]
    Body {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// A redirect was refused (to plain http from https, or too many).
    #[error("{url}: redirect refused")]
    Redirect {
        /// The URL asked for.
        url: String,
        /// The refusal, with the reason.
        #[source]
        source: reqwest::Error,
    },
    /// A file source names something other than a regular file (a FIFO, a device, a
    /// directory).
    #[error("{} is not a regular file", .path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A file source could not be read.
    #[error("cannot read {}", .path.display())]
    File {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The blocking file read task was lost.
    #[error("the file read task failed")]
    Task,
    /// The source points where sources may not reach: a loopback or link-local address
    /// (unless `allow_local_sources`), or a file outside `source_files_dir`.
    #[error("{target}: {why}")]
    Refused {
        /// The URL or path.
        target: String,
        /// Why (English, for the log).
        why: String,
        /// What staff are told (Chinese).
        zh: &'static str,
    },
}

impl FetchError {
    /// A short Chinese description for staff.
    pub fn zh(&self) -> String {
        match self {
            FetchError::Client(_) | FetchError::Task => "采集程序内部错误".to_owned(),
            FetchError::Connect { .. } => "无法连接来源服务器".to_owned(),
            FetchError::Timeout { timeout, .. } => {
                format!("来源服务器在{}秒内没有完整应答", timeout.as_secs())
            }
            FetchError::Status { status, .. } => format!("来源服务器返回错误状态 HTTP {status}"),
            FetchError::TooLarge { limit, .. } => {
                format!("来源内容超过大小上限（{limit} 字节）")
            }
            FetchError::Body { .. } => "读取来源内容时连接中断".to_owned(),
            FetchError::File { .. } => "无法读取来源文件".to_owned(),
            FetchError::NotAFile { .. } => {
                "来源路径不是普通文件（不能是管道、设备或目录）".to_owned()
            }
            FetchError::Redirect { .. } => {
                "来源服务器把请求转到了不安全的 http 地址，或转向次数过多，已拒绝".to_owned()
            }
            FetchError::Refused { zh, .. } => (*zh).to_owned(),
        }
    }
}

/// Validators from the last document read, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag`, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// `Last-Modified`, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// A document read from a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The body as sent.
    pub bytes: Vec<u8>,
    /// The `charset` parameter of `Content-Type`, if any.
    pub charset: Option<String>,
    /// The media type of `Content-Type` (lower case, without parameters), if any.
    pub media_type: Option<String>,
    /// Validators for the next conditional GET.
    pub validators: Validators,
}

/// What a fetch produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// A document.
    Document(Document),
    /// 304: the document has not changed since the validators were issued.
    NotModified,
}

/// One fetch: where, how long, how much, and the validators to send.
#[derive(Debug, Clone)]
pub struct FetchRequest<'a> {
    /// Where.
    pub location: &'a Location,
    /// Total time allowed.
    pub timeout: Duration,
    /// Largest body accepted.
    pub max_bytes: u64,
    /// Send these for a conditional GET (HTTP only).
    pub validators: Option<Validators>,
}

/// Where sources may point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// Whether URLs may reach loopback and link-local addresses (this machine, a cloud
    /// metadata service): `allow_local_sources` in the config.
    pub local_network: bool,
    /// The directory file sources must lie in (after following links): `source_files_dir`
    /// in the config; `None` lets them be anywhere.
    pub file_dir: Option<PathBuf>,
}

impl Reach {
    /// No limits: for an operator's own `headend import` and for tests on loopback.
    pub fn anywhere() -> Reach {
        Reach {
            local_network: true,
            file_dir: None,
        }
    }
}

/// Whether `ip` is this machine or a link-local neighbour (169.254.0.0/16 and fe80::/10,
/// where cloud metadata services answer), or no address at all. Private networks
/// (10/8, 192.168/16 …) are not: a county's platform may well live on one.
pub fn is_local(ip: std::net::IpAddr) -> bool {
    use std::net::{IpAddr, Ipv4Addr};
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || METADATA_V4.contains(&v4)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let o = v6.octets();
            // IPv4 carried inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d),
            // NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
            let embedded = if let Some(v4) = v6.to_ipv4_mapped() {
                Some(v4)
            } else if (s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified())
                || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
            {
                Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]))
            } else if s[0] == 0x2002 {
                Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]))
            } else {
                None
            };
            if let Some(v4) = embedded {
                return is_local(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xffc0) == 0xfe80
                || METADATA_V6.contains(&v6)
        }
    }
}

/// Cloud metadata services outside the link-local range: Alibaba Cloud's.
const METADATA_V4: [std::net::Ipv4Addr; 1] = [std::net::Ipv4Addr::new(100, 100, 100, 200)];
/// Cloud metadata services on IPv6 outside fe80::/10: AWS's (in the otherwise allowed
/// unique-local range).
const METADATA_V6: [std::net::Ipv6Addr; 1] = [std::net::Ipv6Addr::new(
    0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254,
)];

const LOCAL_REFUSED_ZH: &str =
    "来源地址指向本机或链路本地地址，默认不允许采集（如确需采集，请在配置中设置 allow_local_sources = true）";
/// The refusal of a URL that reaches this machine or a link-local neighbour.
fn refused_local(target: &str) -> FetchError {
    FetchError::Refused {
        target: target.to_owned(),
        why: "a loopback or link-local address (allow_local_sources is off)".into(),
        zh: LOCAL_REFUSED_ZH,
    }
}

const OUTSIDE_DIR_ZH: &str = "来源文件不在允许的采集目录（source_files_dir）之内";

/// Resolves host names with the system resolver and drops loopback and link-local
/// addresses, so a name that points (or is re-pointed) at them is never connected to.
struct GuardedResolver;

/// The resolver's refusal: a name with only loopback or link-local addresses. Found
/// again in the connect error's causes, so staff see [`FetchError::Refused`].
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to loopback or link-local addresses (allow_local_sources is off)")]
struct OnlyLocal(String);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<_> = found.into_iter().filter(|a| !is_local(a.ip())).collect();
            if kept.is_empty() {
                return Err(OnlyLocal(host).into());
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether `err` (a connect failure) is the guarded resolver's refusal.
fn refused_by_resolver(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(c) = cause {
        if c.is::<OnlyLocal>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A reusable HTTP client plus file reading, within a [`Reach`].
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    reach: Reach,
}

impl Fetcher {
    /// A client with `connect_timeout` for establishing connections (see
    /// [`DEFAULT_CONNECT_TIMEOUT`]) that reads only what `reach` allows.
    pub fn new(connect_timeout: Duration, reach: Reach) -> Result<Fetcher, FetchError> {
        let local_network = reach.local_network;
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            // No proxy from the environment: through a proxy the target's name would be
            // resolved by the proxy, past the guarded resolver below.
            .no_proxy()
            .connect_timeout(connect_timeout)
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                let refused = redirect_refused(attempt.previous(), attempt.url()).or_else(|| {
                    (!local_network && literal_is_local(attempt.url())).then(|| {
                        format!(
                            "redirect to a loopback or link-local address ({})",
                            attempt.url()
                        )
                    })
                });
                match refused {
                    Some(why) => attempt.error(why),
                    None => attempt.follow(),
                }
            }));
        if !local_network {
            builder = builder.dns_resolver(std::sync::Arc::new(GuardedResolver));
        }
        let client = builder.build().map_err(FetchError::Client)?;
        Ok(Fetcher { client, reach })
    }

    /// Refuses a URL whose host is a local address literal before anything is sent (names
    /// are refused by the guarded resolver as they are looked up).
    fn check_url(&self, url: &reqwest::Url) -> Result<(), FetchError> {
        if !self.reach.local_network && literal_is_local(url) {
            return Err(refused_local(url.as_str()));
        }
        Ok(())
    }

    /// Reads the document, within the source's total timeout (files included).
    pub async fn fetch(&self, req: FetchRequest<'_>) -> Result<Fetched, FetchError> {
        let read = async {
            match req.location {
                Location::Http(url) => {
                    self.check_url(url)?;
                    self.http(url, &req).await
                }
                Location::File(path) => {
                    let (path, limit) = (path.clone(), req.max_bytes);
                    let dir = self.reach.file_dir.clone();
                    tokio::task::spawn_blocking(move || read_file(&path, limit, dir.as_deref()))
                        .await
                        .map_err(|_| FetchError::Task)?
                }
            }
        };
        tokio::time::timeout(req.timeout, read)
            .await
            .unwrap_or_else(|_| {
                Err(FetchError::Timeout {
                    url: req.location.to_string(),
                    timeout: req.timeout,
                })
            })
    }

    async fn http(
        &self,
        url: &reqwest::Url,
        req: &FetchRequest<'_>,
    ) -> Result<Fetched, FetchError> {
        let name = url.to_string();
        let mut request = self
            .client
            .get(url.clone())
            .timeout(req.timeout)
            .header(
                reqwest::header::ACCEPT,
                "application/rss+xml, application/atom+xml, application/feed+json, application/json, text/csv, text/xml, application/xml, */*;q=0.5",
            );
        if let Some(v) = &req.validators {
            if let Some(etag) = &v.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &v.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, lm);
            }
        }
        let mut response = request.send().await.map_err(|source| {
            if source.is_timeout() {
                FetchError::Timeout {
                    url: name.clone(),
                    timeout: req.timeout,
                }
            } else if source.is_redirect() {
                FetchError::Redirect {
                    url: name.clone(),
                    source,
                }
            } else if refused_by_resolver(&source) {
                refused_local(&name)
            } else {
                FetchError::Connect {
                    url: name.clone(),
                    source,
                }
            }
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: name,
                status: status.as_u16(),
            });
        }
        let too_large = || FetchError::TooLarge {
            url: name.clone(),
            limit: req.max_bytes,
        };
        if response.content_length().is_some_and(|n| n > req.max_bytes) {
            return Err(too_large());
        }
        let header = |h: reqwest::header::HeaderName| {
            response
                .headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let validators = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        let mut bytes = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|source| {
                if source.is_timeout() {
                    FetchError::Timeout {
                        url: name.clone(),
                        timeout: req.timeout,
                    }
                } else {
                    FetchError::Body {
                        url: name.clone(),
                        source,
                    }
                }
            })?;
            let Some(chunk) = chunk else { break };
            if (bytes.len() + chunk.len()) as u64 > req.max_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let (media_type, charset) = split_content_type(content_type.as_deref());
        Ok(Fetched::Document(Document {
            bytes,
            charset,
            media_type,
            validators,
        }))
    }
}

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// Why a redirect to `next` after `previous` URLs is not followed: too many, or from
/// https to plain http (the document would travel unprotected, and could be altered, on a
/// source set up to be read over TLS). `None` to follow it.
pub fn redirect_refused(previous: &[reqwest::Url], next: &reqwest::Url) -> Option<String> {
    if previous.len() > MAX_REDIRECTS {
        return Some(format!("more than {MAX_REDIRECTS} redirects"));
    }
    let from_tls = previous.iter().any(|u| u.scheme() == "https");
    (from_tls && next.scheme() == "http")
        .then(|| format!("redirect from https to plain http ({next})"))
}

/// Whether `url`'s host is an IP address [`is_local`] refuses.
fn literal_is_local(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_local(ip.into()),
        Some(url::Host::Ipv6(ip)) => is_local(ip.into()),
        _ => false,
    }
}

/// `O_NONBLOCK` (Linux): opening a FIFO for reading must not wait for a writer.
const O_NONBLOCK: i32 = 0o4000;

/// Reads the regular file at `path`, at most `limit` bytes; when `dir` is given the file
/// must lie inside it (links followed).
fn read_file(path: &Path, limit: u64, dir: Option<&Path>) -> Result<Fetched, FetchError> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let fail = |source| FetchError::File {
        path: path.to_owned(),
        source,
    };
    let outside = |why: String| FetchError::Refused {
        target: path.display().to_string(),
        why,
        zh: OUTSIDE_DIR_ZH,
    };
    // A relative path or `..` outside the directory is refused before it is opened.
    let dir = match dir {
        None => None,
        Some(d) => Some(std::fs::canonicalize(d).map_err(|e| {
            outside(format!(
                "the source files directory {} is not usable: {e}",
                d.display()
            ))
        })?),
    };
    // Only regular files: a FIFO, a device or a directory would block a worker or never
    // end. Opened without blocking, then checked on the open file (no race with a swap).
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(fail)?;
    let meta = file.metadata().map_err(fail)?;
    if let Some(dir) = &dir {
        // What was opened is what the resolved path names, and that lies in the
        // directory: a link swapped between the two looks at another file and is refused.
        let real = std::fs::canonicalize(path).map_err(fail)?;
        let same =
            std::fs::metadata(&real).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino());
        if !real.starts_with(dir) || !same {
            return Err(outside(format!(
                "it is outside the source files directory {}",
                dir.display()
            )));
        }
    }
    if !meta.is_file() {
        return Err(FetchError::NotAFile {
            path: path.to_owned(),
        });
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    if bytes.len() as u64 > limit {
        return Err(FetchError::TooLarge {
            url: path.display().to_string(),
            limit,
        });
    }
    Ok(Fetched::Document(Document {
        bytes,
        charset: None,
        media_type: None,
        validators: Validators::default(),
    }))
}

/// Splits `text/xml; charset="GBK"` into (`text/xml`, `GBK`).
pub fn split_content_type(value: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(value) = value else {
        return (None, None);
    };
    let mut parts = value.split(';');
    let media = parts
        .next()
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty());
    let charset = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'').trim();
            (!v.is_empty()).then(|| v.to_owned())
        } else {
            None
        }
    });
    (media, charset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(location: &Location) -> FetchRequest<'_> {
        FetchRequest {
            location,
            timeout: Duration::from_secs(5),
            max_bytes: 1 << 20,
            validators: None,
        }
    }

    #[test]
    fn loopback_and_link_local_addresses_are_local_and_private_networks_are_not() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "255.255.255.255",
        ] {
            assert!(is_local(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.1.2.3",
            "192.168.1.20",
            "172.16.0.1",
            "203.0.113.7",
            "2001:db8::1",
            "fd00::1",
        ] {
            assert!(!is_local(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn sources_may_not_reach_this_machine_unless_allowed_and_nothing_is_sent() {
        // A real listener on loopback: a refused fetch must never connect to it.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let closed = Reach {
            local_network: false,
            file_dir: None,
        };
        let fetcher = Fetcher::new(Duration::from_secs(2), closed).unwrap();
        for url in [
            format!("http://127.0.0.1:{port}/feed.xml"),
            format!("http://localhost:{port}/feed.xml"),
            format!("http://[::ffff:127.0.0.1]:{port}/feed.xml"),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            // The url crate reads these IPv4 forms as 127.0.0.1 too.
            format!("http://2130706433:{port}/"),
            format!("http://0x7f.1:{port}/"),
            format!("http://127.1:{port}/"),
        ] {
            let location = Location::parse(&url).unwrap();
            let got = fetcher.fetch(request(&location)).await;
            match got {
                Err(e @ FetchError::Refused { .. }) => {
                    assert!(e.zh().contains("allow_local_sources"), "{e}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        assert!(
            matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "a refused source was connected to"
        );
        // Allowed: the same listener is reached.
        let open = Fetcher::new(Duration::from_secs(2), Reach::anywhere()).unwrap();
        let location = Location::parse(&format!("http://127.0.0.1:{port}/feed.xml")).unwrap();
        let pending = tokio::spawn(async move { open.fetch(request(&location)).await });
        let accepted = tokio::task::spawn_blocking(move || {
            listener.set_nonblocking(false).unwrap();
            listener.accept().map(|_| ())
        })
        .await
        .unwrap();
        assert!(accepted.is_ok());
        pending.abort();
    }

    #[tokio::test]
    async fn file_sources_must_lie_in_the_source_files_directory() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = dir.path().join("sources");
        std::fs::create_dir_all(&allowed).unwrap();
        std::fs::write(allowed.join("feed.csv"), "a,b\n1,2\n").unwrap();
        let secret = dir.path().join("secret.txt");
        std::fs::write(&secret, "not for sources").unwrap();
        std::os::unix::fs::symlink(&secret, allowed.join("link.csv")).unwrap();
        let fetcher = Fetcher::new(
            Duration::from_secs(2),
            Reach {
                local_network: false,
                file_dir: Some(allowed.clone()),
            },
        )
        .unwrap();
        let fetch = |p: std::path::PathBuf| {
            let fetcher = fetcher.clone();
            async move { fetcher.fetch(request(&Location::File(p))).await }
        };
        assert!(matches!(
            fetch(allowed.join("feed.csv")).await,
            Ok(Fetched::Document(_))
        ));
        for outside in [
            secret.clone(),
            allowed.join("link.csv"),
            allowed.join("../secret.txt"),
            std::path::PathBuf::from("/etc/passwd"),
        ] {
            match fetch(outside.clone()).await {
                Err(e @ FetchError::Refused { .. }) => {
                    assert!(e.zh().contains("source_files_dir"), "{e}");
                }
                other => panic!("{}: {other:?}", outside.display()),
            }
        }
        // A missing file inside the directory is reported as missing, not as outside.
        assert!(matches!(
            fetch(allowed.join("none.csv")).await,
            Err(FetchError::File { .. })
        ));
    }

    #[test]
    fn content_type_parameters_are_split() {
        assert_eq!(
            split_content_type(Some("text/xml; Charset=\"GB2312\"")),
            (Some("text/xml".into()), Some("GB2312".into()))
        );
        assert_eq!(
            split_content_type(Some("application/json")),
            (Some("application/json".into()), None)
        );
        assert_eq!(split_content_type(Some(";charset=")), (None, None));
        assert_eq!(split_content_type(None), (None, None));
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        std::fs::write(&path, vec![b'a'; 2048]).unwrap();
        assert!(matches!(
            read_file(&path, 1024, None),
            Err(FetchError::TooLarge { limit: 1024, .. })
        ));
        assert!(matches!(
            read_file(&path, 2048, None),
            Ok(Fetched::Document(_))
        ));
        assert!(matches!(
            read_file(&dir.path().join("none"), 2048, None),
            Err(FetchError::File { .. })
        ));
    }

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap()
    }

    #[test]
    fn redirects_never_drop_from_https_to_http_and_stop_after_five() {
        let https = [url("https://gov.example/feed")];
        assert!(redirect_refused(&https, &url("https://cdn.example/feed")).is_none());
        let why = redirect_refused(&https, &url("http://cdn.example/feed")).unwrap();
        assert!(why.contains("https to plain http"), "{why}");
        // Plain http to https is an upgrade, and http to http as before.
        let http = [url("http://gov.example/feed")];
        assert!(redirect_refused(&http, &url("https://gov.example/feed")).is_none());
        assert!(redirect_refused(&http, &url("http://gov.example/a")).is_none());
        // Once TLS, always TLS: https → https → http is refused too.
        let chain = [url("https://a.example/"), url("https://b.example/")];
        assert!(redirect_refused(&chain, &url("http://c.example/")).is_some());
        let many: Vec<reqwest::Url> = (0..6)
            .map(|i| url(&format!("http://a.example/{i}")))
            .collect();
        assert!(redirect_refused(&many, &url("http://a.example/x")).is_some());
        assert!(redirect_refused(&many[..5], &url("http://a.example/x")).is_none());
    }

    #[test]
    fn file_sources_read_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.csv");
        std::fs::write(&file, "标题\n一\n").unwrap();
        assert!(matches!(
            read_file(&file, 1024, None),
            Ok(Fetched::Document(_))
        ));
        assert!(matches!(
            read_file(dir.path(), 1024, None),
            Err(FetchError::NotAFile { .. })
        ));
        // A FIFO with no writer: refused at once instead of blocking the reader.
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = read_file(&fifo, 1024, None).unwrap_err();
        assert!(matches!(err, FetchError::NotAFile { .. }), "{err}");
        assert!(err.zh().contains("不是普通文件"));
        assert!(matches!(
            read_file(&dir.path().join("none.csv"), 1024, None),
            Err(FetchError::File { .. })
        ));
    }
}
