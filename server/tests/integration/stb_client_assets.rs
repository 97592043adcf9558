//! The set-top-box client's built-in bitmaps (`stb-client/assets/*.png`): it has no CJK
//! font, so what it must say in Chinese without the headend (an empty cache, 更新于, a
//! network error) is drawn here, by the headend's renderer with the pinned fonts, and
//! shipped in its binary. This test checks the committed files are what the renderer draws
//! today; `GOVCHANNEL_BLESS=1` rewrites them.

use headend::render::screen::SlateScreen;
use headend::render::{OnAir, Profile, Renderer, Screen, ScreenContext};
use tiny_skia::{IntRect, Pixmap};

fn assets_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../stb-client/assets")
}

fn slate(channel: &str, time: &str) -> Screen {
    Screen::Slate(SlateScreen {
        channel: channel.into(),
        time: time.into(),
    })
}

/// `text` as drawn for the slate's time line (body text) at SD, cropped with a margin of a
/// fifth of its height.
fn label(renderer: &mut Renderer, text: &str) -> Pixmap {
    let (page, layout) = renderer
        .draw_page(
            &slate("政务服务", text),
            Profile::Sd,
            &ScreenContext::Interactive,
            1,
        )
        .unwrap();
    let line = layout
        .lines
        .iter()
        .find(|l| l.text == text)
        .unwrap_or_else(|| {
            panic!(
                "{text:?} not one line: {:?}",
                layout.lines.iter().map(|l| &l.text).collect::<Vec<_>>()
            )
        });
    let pad = (line.h / 5.0).round();
    let rect = IntRect::from_xywh(
        (line.x - pad).round() as i32,
        (line.y - pad).round() as i32,
        (line.w + 2.0 * pad).round() as u32,
        (line.h + 2.0 * pad).round() as u32,
    )
    .unwrap();
    page.clone_rect(rect).unwrap()
}

#[test]
fn the_clients_built_in_bitmaps_are_what_the_renderer_draws() {
    let bless = std::env::var("GOVCHANNEL_BLESS").is_ok_and(|v| v == "1");
    let mut renderer = Renderer::new().unwrap();
    let (empty, _) = renderer
        .draw_page(
            &slate("电视政务服务", "正在连接服务器"),
            Profile::Sd,
            // No key hints: no key does anything yet.
            &ScreenContext::Broadcast(OnAir {
                channel: "电视政务服务".into(),
                next: None,
                alert: None,
            }),
            1,
        )
        .unwrap();
    let cases = [
        ("empty.png", empty),
        ("updated.png", label(&mut renderer, "更新于")),
        (
            "offline.png",
            label(&mut renderer, "网络暂时不通，请稍后再试"),
        ),
    ];
    let mut failures = Vec::new();
    for (name, pixmap) in cases {
        let path = assets_dir().join(name);
        let png = pixmap.encode_png().unwrap();
        if bless {
            std::fs::write(&path, &png).unwrap();
            continue;
        }
        match Pixmap::load_png(&path) {
            Ok(committed) if committed.data() == pixmap.data() => {}
            Ok(_) => failures.push(format!("{name}: differs from today's rendering (bless)")),
            Err(e) => failures.push(format!("{name}: {e} (run with GOVCHANNEL_BLESS=1)")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
