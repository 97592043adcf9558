//! Helpers for GovChannel's whole-system tests: run the real `headend` binary on loopback
//! with its own data directory and wait for it to say it is serving.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Path of a workspace binary built next to the test executable (`target/<profile>/NAME`).
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/e2e-hash → target/<profile>/NAME
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    profile_dir.join(name)
}

/// A `headend serve` process; killed when dropped.
pub struct Headend {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:43121`.
    pub url: String,
    /// `host:port` it listens on.
    pub addr: String,
}

impl Headend {
    /// Resident memory of the process in KiB (from `/proc/PID/status`).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    }

    /// The process's environment variable `name` as it runs (from `/proc/PID/environ`).
    pub fn env_var(&self, name: &str) -> Option<String> {
        let environ = std::fs::read(format!("/proc/{}/environ", self.child.id())).ok()?;
        environ.split(|b| *b == 0).find_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            kv.strip_prefix(&format!("{name}=")).map(str::to_owned)
        })
    }

    /// Starts `headend serve --data DIR --listen 127.0.0.1:0 EXTRA…` and returns once the
    /// process prints its serving line (the server accepts connections from then on).
    /// Returns the process's stderr text instead if it exits before serving.
    pub fn start(data: &Path, extra: &[&str]) -> Result<Headend, String> {
        Headend::start_at(data, "127.0.0.1:0", extra)
    }

    /// Like [`Headend::start`], listening on `listen` (e.g. the address of a headend that
    /// was stopped, to restart it where its clients expect it).
    pub fn start_at(data: &Path, listen: &str, extra: &[&str]) -> Result<Headend, String> {
        let mut child = Command::new(workspace_binary("headend"))
            .arg("serve")
            .arg("--data")
            .arg(data)
            .args(["--listen", listen])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start headend: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        // Blocks until the line arrives or the process closes stdout (exit).
        for line in lines.by_ref() {
            let line = line.map_err(|e| e.to_string())?;
            if let Some(rest) = line.strip_prefix("headend: serving http://") {
                let addr = rest.trim_end_matches('/').to_owned();
                // Keep draining stdout so the child never blocks on a full pipe.
                std::thread::spawn(move || for _ in lines {});
                return Ok(Headend {
                    url: format!("http://{addr}"),
                    addr,
                    child,
                });
            }
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// Collects the process's log (stderr) from now on, line by line, in the background;
    /// the lines so far are in the returned vector. Call once.
    pub fn collect_log(&mut self) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        if let Some(stderr) = self.child.stderr.take() {
            let sink = std::sync::Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(mut l) = sink.lock() {
                        l.push(line);
                    }
                }
            });
        }
        lines
    }

    /// Stops the process with SIGTERM (graceful shutdown) and waits for it.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap_or_default()
    }
}

impl Drop for Headend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET over a fresh loopback connection: (status, body).
pub fn http_get(addr: &str, path: &str) -> Result<(u16, String), String> {
    http_request(addr, "GET", path, "")
}

/// A minimal HTTP/1.1 POST of a JSON body: (status, body as text, lossy).
pub fn http_post(addr: &str, path: &str, json: &str) -> Result<(u16, String), String> {
    http_request(addr, "POST", path, json)
}

fn http_request(addr: &str, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    let (status, _, body) = http_raw(addr, method, path, &[], body.as_bytes())?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// One HTTP/1.1 request with extra `headers` over a fresh loopback connection: (status,
/// response head in lower case, body bytes, de-chunked).
pub fn http_raw(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, String, Vec<u8>), String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let content_type = if headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{content_type}Content-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    stream.write_all(body).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no header end")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_vec()
    };
    Ok((status, head, body))
}

/// A data directory holding the demo county: `DIR/data`, made by one start and stop of
/// the server.
pub fn demo_data(dir: &Path) -> Result<PathBuf, String> {
    let data = dir.join("data");
    let server = Headend::start(&data, &[])?;
    if server.stop().success() {
        Ok(data)
    } else {
        Err("the headend did not stop cleanly".into())
    }
}

/// Polls `f` every 200 ms until it answers, for at most `secs` (waiting for a condition,
/// never a fixed sleep).
pub fn wait_for<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    None
}

/// Debian's `chromedriver` (package `chromium-driver`) on a free loopback port; killed
/// when dropped.
pub struct ChromeDriver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl ChromeDriver {
    /// Starts chromedriver and returns once its `/status` says it is ready (at most 30 s).
    pub fn start() -> Result<ChromeDriver, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot start chromedriver (Debian package chromium-driver): {e}")
            })?;
        let driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let addr = format!("127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if driver_ready(&addr) {
                return Ok(driver);
            }
            if std::time::Instant::now() > deadline {
                return Err("chromedriver did not become ready within 30 s".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Capabilities for headless Chromium at an office PC's 1366×768, with its profile in
    /// `profile_dir`.
    pub fn headless_chromium(profile_dir: &Path) -> serde_json::Map<String, serde_json::Value> {
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1366,768", "--no-first-run", "--disable-extensions",
                    "--disable-background-networking", "--disable-sync", "--disable-component-update",
                    format!("--user-data-dir={}", profile_dir.display()),
                ]
            }
        });
        match caps {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// Whether the WebDriver server at `addr` says it is ready. chromedriver keeps the
/// connection open after answering, so this reads only until the answer is seen.
fn driver_ready(addr: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    if write!(
        stream,
        "GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
        if seen.windows(12).any(|w| w == b"\"ready\":true") {
            return true;
        }
    }
    false
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `application/x-www-form-urlencoded` text of `fields`.
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Logs in to the staff pages as a browser would (the login page's double-submit cookie
/// and token, then the form): (status, response head in lower case, session cookie).
pub fn staff_login(
    addr: &str,
    name: &str,
    password: &str,
) -> Result<(u16, String, Option<String>), String> {
    let (status, head, body) = http_raw(addr, "GET", "/login", &[], b"")?;
    if status != 200 {
        return Err(format!("GET /login answered {status}"));
    }
    let cookie_of = |head: &str, name: &str| {
        head.lines()
            .filter_map(|l| l.strip_prefix("set-cookie: "))
            .find_map(|c| {
                c.strip_prefix(&format!("{name}="))
                    .map(|v| v.split(';').next().unwrap_or("").to_owned())
            })
    };
    let login_cookie = cookie_of(&head, "govchannel_login").ok_or("no login cookie")?;
    let body = String::from_utf8_lossy(&body);
    let at = body.find("name=\"csrf\" value=\"").ok_or("no csrf field")? + 19;
    let token = &body[at..at + body[at..].find('"').ok_or("unterminated csrf")?];
    let form = form_encode(&[("csrf", token), ("name", name), ("password", password)]);
    let cookie = format!("govchannel_login={login_cookie}");
    let (status, head, _) = http_raw(
        addr,
        "POST",
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &cookie),
        ],
        form.as_bytes(),
    )?;
    let session = cookie_of(&head, "govchannel_session");
    Ok((status, head, session))
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&body[..eol]);
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        let rest = &body[eol + 2..];
        if n == 0 || rest.len() < n {
            break;
        }
        out.extend_from_slice(&rest[..n]);
        body = rest[n..].strip_prefix(b"\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// The shortest key path from home (first page) to the first page of every other screen of
/// `m`, in breadth-first order: over the keys bound on each page and the global keys
/// (digits, 0 = next page, colour keys) and PAGEDOWN on screens of several pages.
pub fn key_paths(m: &stb_protocol::Manifest) -> Vec<(String, Vec<stb_protocol::Key>)> {
    use stb_protocol::{Action, Key};
    let mut seen = std::collections::HashSet::new();
    let mut queue = std::collections::VecDeque::from([((m.home.clone(), 0usize), Vec::new())]);
    let mut out = Vec::new();
    while let Some(((id, page), keys)) = queue.pop_front() {
        if !seen.insert((id.clone(), page)) {
            continue;
        }
        if page == 0 && id != m.home {
            out.push((id.clone(), keys.clone()));
        }
        let Some(screen) = m.screen(&id) else {
            continue;
        };
        let Some(p) = screen.pages.get(page) else {
            continue;
        };
        for b in p.keys.iter().chain(&m.keys) {
            let next = match &b.action {
                Action::Go { screen } => (screen.clone(), 0),
                Action::NextPage => (id.clone(), page + 1),
                _ => continue,
            };
            let mut k: Vec<Key> = keys.clone();
            k.push(b.key);
            queue.push_back((next, k));
        }
        if page + 1 < screen.pages.len() {
            let mut k = keys.clone();
            k.push(Key::PageDown);
            queue.push_back(((id.clone(), page + 1), k));
        }
    }
    out
}
