//! Render benchmarks (issue: TV page renderer).
//!
//! `cargo bench -p headend --bench render` measures, single-threaded, an hd1080 notice page
//! with ~350 Han characters:
//! - `warm`: layout + raster with the glyph cache already holding the page's glyphs;
//! - `cold`: the same with an empty glyph cache (faces already loaded, as in a running
//!   headend);
//! - `warm_png`: warm plus PNG encoding;
//! - `chromium_screenshot`: the same page as HTML in headless Chromium (browser already
//!   running, page loaded once, the content swapped in by script before each screenshot),
//!   through chromedriver on loopback — the obvious alternative. The page is a file with
//!   the pinned faces beside it, and the bench stops unless Chromium reports both faces
//!   loaded (a fallback font would be timed otherwise); a failed screenshot fails the
//!   bench. Skipped with a note when
//!   `/usr/bin/chromium` or `/usr/bin/chromedriver` is missing (`make bench` installs them).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
// `criterion_group!` defines an undocumented `pub fn` in this binary.
#![allow(missing_docs)]

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use headend::render::raster::GlyphCache;
use headend::render::screen::NoticeScreen;
use headend::render::{Profile, Renderer, Screen};

const BODY_A: &str = "各乡镇人民政府、街道办事处，县级有关单位：\n\n入冬以来，我县降水偏少，林区可燃物积累较多，森林火险等级持续偏高。为切实做好今冬明春森林防火工作，保护人民群众生命财产安全，现将有关事项通知如下。\n\n一、严格管控野外用火。森林防火期内，禁止在林区及林缘烧荒、烧田埂、焚烧秸秆和垃圾，禁止上坟烧纸、燃放烟花爆竹。确需生产用火的，须经乡镇人民政府批准，并落实防范措施。\n\n二、落实网格巡护责任。各村要组织护林员每日巡山，重点时段加密巡查，发现火情立即报告，做到早发现、早处置。\n\n三、加强宣传教育。利用广播、村务公开栏和政务频道，向群众宣传防火知识和报警电话，提高群众防火意识。\n\n四、强化应急值守。各乡镇、各有关单位要严格执行领导带班和二十四小时值班制度，确保通信畅通，扑火队伍和物资装备随时待命，一旦发生火情，做到快速响应、科学扑救，坚决防止小火酿成大灾。";

fn notice(body: &str) -> Screen {
    Screen::Notice(NoticeScreen {
        title: "关于做好今冬明春森林防火工作的通知".into(),
        publisher: "示范县人民政府办公室".into(),
        date: "2026-11-20".into(),
        body: body.into(),
        publicity: None,
        url: None,
        urgent: false,
    })
}

fn han_count(s: &str) -> usize {
    s.chars()
        .filter(|c| headend::render::text::is_han(*c))
        .count()
}

fn bench_render(c: &mut Criterion) {
    let screen = notice(BODY_A);
    let mut renderer = Renderer::new().expect("fonts");
    let pages = renderer.layout(&screen, Profile::Hd1080);
    eprintln!(
        "hd1080 notice: {} Han characters in the body, {} page(s)",
        han_count(BODY_A),
        pages.len()
    );
    let mut group = c.benchmark_group("hd1080_notice");
    // Frames are drawn into one reused 1920x1080 pixmap, as an output does.
    let mut frame = tiny_skia::Pixmap::new(1920, 1080).expect("frame");
    group.bench_function("warm", |b| {
        b.iter(|| {
            let pages = renderer.layout(black_box(&screen), Profile::Hd1080);
            black_box(renderer.raster_into(&pages[0], &mut frame))
        })
    });
    group.bench_function("cold", |b| {
        let book = headend::fonts::FontBook::shared().expect("fonts");
        b.iter(|| {
            let mut cache = GlyphCache::new();
            let pages = renderer.layout(black_box(&screen), Profile::Hd1080);
            black_box(headend::render::raster::raster_into(
                &pages[0], book, &mut cache, &mut frame,
            ))
        })
    });
    group.bench_function("warm_new_frame", |b| {
        b.iter(|| {
            let pages = renderer.layout(black_box(&screen), Profile::Hd1080);
            black_box(renderer.raster(&pages[0]))
        })
    });
    group.bench_function("warm_png", |b| {
        b.iter(|| black_box(renderer.render_png(black_box(&screen), Profile::Hd1080, 1)))
    });
    if let Some(mut chrome) = Chromium::start() {
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(20));
        let mut flip = false;
        group.bench_function("chromium_screenshot", |b| {
            b.iter(|| {
                flip = !flip;
                // A failed screenshot fails the bench instead of being timed.
                black_box(
                    chrome
                        .swap_and_screenshot(flip)
                        .expect("Chromium failed to draw the page"),
                )
            })
        });
    } else {
        eprintln!(
            "chromium_screenshot: skipped (needs /usr/bin/chromium and /usr/bin/chromedriver)"
        );
    }
    group.finish();
}

/// A headless Chromium driven through chromedriver's WebDriver HTTP API on loopback.
struct Chromium {
    driver: Child,
    port: u16,
    session: String,
}

impl Chromium {
    fn start() -> Option<Chromium> {
        if !std::path::Path::new("/usr/bin/chromium").exists()
            || !std::path::Path::new("/usr/bin/chromedriver").exists()
        {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // chromedriver prints "... started successfully" once it listens.
        let stdout = driver.stdout.take()?;
        let mut lines = BufReader::new(stdout).lines();
        // A read error ends the search too; the session request below then fails.
        let _ = lines
            .by_ref()
            .find(|l| !matches!(l, Ok(text) if !text.contains("successfully")))?;
        std::thread::spawn(move || for _ in lines {});
        let profile = std::env::temp_dir().join(format!("govchannel-bench-chromium-{port}"));
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--hide-scrollbars", "--force-device-scale-factor=1", "--window-size=1920,1080",
                     "--allow-file-access-from-files",
                     format!("--user-data-dir={}", profile.display())]
        }}}});
        let reply = request(port, "POST", "/session", &caps.to_string())?;
        let session = reply["value"]["sessionId"].as_str()?.to_owned();
        let mut chrome = Chromium {
            driver,
            port,
            session,
        };
        // The page and copies of the pinned faces in one directory, loaded as a file: a
        // `data:` page may not load `file://` fonts, and Chromium would silently draw a
        // fallback face instead.
        let dir = std::env::temp_dir().join(format!("govchannel-bench-page-{port}"));
        std::fs::create_dir_all(&dir).ok()?;
        for face in [
            "NotoSansSC-Regular-subset.otf",
            "NotoSansSC-Bold-subset.otf",
        ] {
            std::fs::copy(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../fonts")
                    .join(face),
                dir.join(face),
            )
            .ok()?;
        }
        let html = "<!doctype html><html lang=zh-CN><head><meta charset=utf-8><style>\
             @font-face{font-family:P;src:url('NotoSansSC-Regular-subset.otf')}@font-face{font-family:P;font-weight:bold;src:url('NotoSansSC-Bold-subset.otf')}\
             html,body{margin:0;width:1920px;height:1080px;overflow:hidden;background:#1c2a3a;color:#e8e8e2;font-family:P}\
             header{background:#22364c;padding:54px 96px 10px;text-align:center;color:#ebe0b0;font:bold 108px/1.3 P}\
             .meta{text-align:center;color:#c8cfd6;font-size:72px;line-height:1.5}\
             main{padding:0 96px;font-size:72px;line-height:1.5;text-align:justify}main p{margin:0;text-indent:2em}\
             </style></head><body><header id=t></header><div class=meta id=m></div><main id=b></main></body></html>";
        std::fs::write(dir.join("page.html"), html).ok()?;
        let url = format!("file://{}/page.html", dir.display());
        request(
            port,
            "POST",
            &format!("/session/{}/url", chrome.session),
            &serde_json::json!({"url": url}).to_string(),
        )?;
        // Make sure the faces are loaded before timing, and that they are the pinned ones:
        // both faces of family P loaded, none failed.
        chrome.swap_and_screenshot(true)?;
        chrome.swap_and_screenshot(false)?;
        let faces = request(
            port,
            "POST",
            &format!("/session/{}/execute/sync", chrome.session),
            &serde_json::json!({
                "script": "return [...document.fonts].filter(f => f.family === 'P').map(f => f.status);",
                "args": []
            })
            .to_string(),
        )?;
        assert_eq!(
            faces["value"],
            serde_json::json!(["loaded", "loaded"]),
            "Chromium did not load the pinned faces; it would time a fallback font"
        );
        Some(chrome)
    }

    /// Swaps the page content (alternating two bodies, so every shot repaints) and takes a
    /// PNG screenshot; returns its size in bytes.
    fn swap_and_screenshot(&mut self, flip: bool) -> Option<usize> {
        let body = if flip {
            BODY_A.to_owned()
        } else {
            BODY_A.replacen("入冬以来", "今冬以来", 1)
        };
        let paras: Vec<String> = body.split("\n\n").map(|p| format!("<p>{p}</p>")).collect();
        let script = serde_json::json!({
            "script": "document.getElementById('t').textContent=arguments[0];document.getElementById('m').textContent=arguments[1];document.getElementById('b').innerHTML=arguments[2];return document.fonts.ready.then(()=>1);",
            "args": ["关于做好今冬明春森林防火工作的通知", "示范县人民政府办公室　2026年11月20日", paras.join("")]
        });
        // execute/sync awaits the promise the script returns (W3C WebDriver), so the new
        // text is laid out with its faces loaded before the screenshot is taken.
        request(
            self.port,
            "POST",
            &format!("/session/{}/execute/sync", self.session),
            &script.to_string(),
        )?;
        let shot = request(
            self.port,
            "GET",
            &format!("/session/{}/screenshot", self.session),
            "",
        )?;
        Some(shot["value"].as_str()?.len())
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = request(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            "",
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// One WebDriver call over a fresh loopback connection.
fn request(port: u16, method: &str, path: &str, body: &str) -> Option<serde_json::Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    // chromedriver keeps the connection open whatever the request says, so read exactly
    // the header block and then Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let (split, length) = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))?
                .trim()
                .parse()
                .ok()?;
            break (split + 4, length);
        }
    };
    while raw.len() < split + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let value: serde_json::Value = serde_json::from_slice(&raw[split..split + length]).ok()?;
    if value["value"].get("error").is_some() {
        eprintln!("webdriver {path}: {}", value["value"]["message"]);
        return None;
    }
    Some(value)
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
