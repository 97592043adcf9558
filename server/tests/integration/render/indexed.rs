//! Indexed-colour PNGs for set-top boxes: small, and the same picture as the RGB render.

use std::collections::HashSet;

use headend::render::screen::NoticeScreen;
use headend::render::theme::Rgb;
use headend::render::{Layout, Profile, Renderer, Screen, ScreenContext};

/// The render benchmark's hard page: a long notice.
const BODY: &str = "各乡镇人民政府、街道办事处，县级有关单位：\n\n入冬以来，我县降水偏少，林区可燃物积累较多，森林火险等级持续偏高。为切实做好今冬明春森林防火工作，保护人民群众生命财产安全，现将有关事项通知如下。\n\n一、严格管控野外用火。森林防火期内，禁止在林区及林缘烧荒、烧田埂、焚烧秸秆和垃圾，禁止上坟烧纸、燃放烟花爆竹。确需生产用火的，须经乡镇人民政府批准，并落实防范措施。\n\n二、落实网格巡护责任。各村要组织护林员每日巡山，重点时段加密巡查，发现火情立即报告，做到早发现、早处置。\n\n三、加强宣传教育。利用广播、村务公开栏和政务频道，向群众宣传防火知识和报警电话，提高群众防火意识。\n\n四、强化应急值守。各乡镇、各有关单位要严格执行领导带班和二十四小时值班制度，确保通信畅通，扑火队伍和物资装备随时待命，一旦发生火情，做到快速响应、科学扑救，坚决防止小火酿成大灾。";

fn notice() -> Screen {
    Screen::Notice(NoticeScreen {
        title: "关于做好今冬明春森林防火工作的通知".into(),
        publisher: "示范县人民政府办公室".into(),
        date: "2026-11-20".into(),
        body: BODY.into(),
        publicity: None,
        url: None,
        urgent: false,
    })
}

/// Decodes an indexed PNG to RGB.
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    assert_eq!(reader.info().color_type, png::ColorType::Indexed);
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// What a page image loses against the RGB render: the largest per-channel difference,
/// how many pixels differ at all, and how many by more than 16.
fn difference(png_bytes: &[u8], rgba: &[u8]) -> (u8, usize, usize) {
    let (_, _, rgb) = decode(png_bytes);
    let errors: Vec<u8> = rgb
        .chunks_exact(3)
        .zip(rgba.chunks_exact(4))
        .map(|(a, b)| (0..3).map(|i| a[i].abs_diff(b[i])).max().unwrap())
        .collect();
    (
        errors.iter().copied().max().unwrap(),
        errors.iter().filter(|e| **e > 0).count(),
        errors.iter().filter(|e| **e > 16).count(),
    )
}

/// Pixels of the RGB render in one of the layout's solid colours (background, shapes,
/// text and its background) that the indexed image does not reproduce exactly.
fn solids_changed(png_bytes: &[u8], rgba: &[u8], layout: &Layout) -> usize {
    let mut solids: HashSet<[u8; 3]> = HashSet::new();
    let mut add = |c: Rgb| solids.insert([c.0, c.1, c.2]);
    add(layout.background);
    for s in &layout.shapes {
        add(s.rgb);
    }
    for l in &layout.lines {
        add(l.fg_rgb);
        add(l.bg_rgb);
    }
    let (_, _, rgb) = decode(png_bytes);
    rgb.chunks_exact(3)
        .zip(rgba.chunks_exact(4))
        .filter(|(a, b)| solids.contains(&[b[0], b[1], b[2]]) && a[..] != b[..3])
        .count()
}

#[test]
fn indexed_pngs_are_small_and_match_the_rgb_render() {
    let mut renderer = Renderer::new().unwrap();
    let screen = notice();
    for (profile, limit) in [
        // Issue 10's targets: the hard page at 1080p ≤ 64 KB, an SD page ≤ 24 KB (in
        // thousands of bytes, the stricter reading).
        (Profile::Hd1080, 64_000),
        (Profile::Hd720, 44_000),
        (Profile::Sd, 24_000),
        // Anamorphic 16:9 squeezes glyphs: more edges.
        (Profile::SdWide, 30_000),
    ] {
        for page in 1..=2 {
            let (indexed, layout) = renderer
                .render_indexed(&screen, profile, &ScreenContext::Interactive, page)
                .unwrap();
            let rgba = renderer.raster(&layout).unwrap();
            let (w, h, _) = decode(&indexed.png);
            assert_eq!((w, h), (profile.width(), profile.height()));
            let (max, differ, over16) = difference(&indexed.png, rgba.data());
            assert_eq!(max, indexed.max_error, "{profile:?}: reported error");
            // Only anti-aliased edge pixels move: solid colours (background, panels, the
            // insides of strokes) are exact.
            assert!(
                indexed.colours <= 16,
                "{profile:?}: {} colours",
                indexed.colours
            );
            assert!(
                max <= headend::render::indexed::FOUR_BIT_MAX_ERROR,
                "{profile:?} page {page}: a pixel differs by {max}"
            );
            assert_eq!(
                solids_changed(&indexed.png, rgba.data(), &layout),
                0,
                "{profile:?} page {page}: a solid-coloured pixel changed"
            );
            assert!(
                indexed.png.len() <= limit,
                "{profile:?} page {page}: {} bytes > {limit} ({} colours)",
                indexed.png.len(),
                indexed.colours
            );
            eprintln!(
                "{profile:?} page {page}: {} bytes, {} colours, max error {max}, {differ} pixels differ ({over16} by more than 16)",
                indexed.png.len(),
                indexed.colours
            );
        }
    }
}

#[test]
fn the_full_palette_is_truer_and_larger() {
    let mut renderer = Renderer::new().unwrap();
    let layout = renderer.layout(&notice(), Profile::Hd1080).remove(0);
    let pixmap = renderer.raster(&layout).unwrap();
    let full = headend::render::indexed::encode_reduced(
        &pixmap,
        &layout,
        headend::render::indexed::MAX_RAMP,
        png::Filter::NoFilter,
        256,
    )
    .unwrap();
    let small = headend::render::indexed::encode(&pixmap, &layout).unwrap();
    assert!(full.colours > 16, "{} colours", full.colours);
    let (_, _, rgb) = decode(&small.png);
    assert_eq!(rgb.len(), 1920 * 1080 * 3, "a 4-bit image decodes whole");
    assert_eq!(difference(&full.png, pixmap.data()).0, full.max_error);
    assert!(
        full.max_error <= 8,
        "full palette off by {}",
        full.max_error
    );
    assert!(small.png.len() < full.png.len() * 3 / 4);
    assert!(small.max_error > full.max_error);
    eprintln!(
        "hd1080: full palette {} colours {} bytes (max error {}); 16 colours {} bytes (max error {})",
        full.colours,
        full.png.len(),
        full.max_error,
        small.png.len(),
        small.max_error
    );
}
