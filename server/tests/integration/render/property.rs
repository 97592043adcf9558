//! Random Chinese, Latin and punctuation text of 0–20,000 characters always lays out,
//! paginates, and keeps every non-whitespace character exactly once, in order.

use headend::render::screen::NoticeScreen;
use headend::render::{Profile, Renderer, Role, Screen};
use proptest::prelude::*;

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(&['示', '范', '县', '政', '务', '公', '开', '喆', '龘', '𠮷', '的', '一'][..]).prop_map(String::from),
        3 => proptest::sample::select(&["，", "。", "、", "；", "：", "？", "！", "“", "”", "《", "》", "（", "）", "——", "……", "·", "/", "%", "℃"][..]).prop_map(String::from),
        2 => "[A-Za-z]{1,12}",
        2 => "[0-9]{1,8}",
        1 => proptest::sample::select(&[" ", "\n", "\n\n", "\u{3000}", "GB/T 15834—2011", "https://zw.example/a/b?c=1"][..]).prop_map(String::from),
    ]
}

fn text(max_pieces: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 0..max_pieces).prop_map(|v| v.concat())
}

fn check(body: &str, profile: Profile) {
    let renderer = Renderer::new().unwrap();
    let screen = Screen::Notice(NoticeScreen {
        title: "测试".into(),
        publisher: "示范县".into(),
        date: "2026-11-22".into(),
        body: body.to_owned(),
        publicity: None,
        url: None,
        urgent: false,
    });
    let pages = renderer.layout(&screen, profile);
    assert!(!pages.is_empty());
    let count = pages.len() as u32;
    let mut seen = String::new();
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(page.page, i as u32 + 1);
        assert_eq!(page.pages, count);
        for line in &page.lines {
            let ink = headend::render::Rect::new(line.x, line.y, line.w, line.h);
            assert!(
                page.safe.contains(&ink),
                "{:?} outside {:?}",
                line.text,
                page.safe
            );
            if line.role == Role::Body {
                seen.extend(line.text.chars().filter(|c| !c.is_whitespace()));
            }
        }
    }
    let expected: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(seen, expected);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn short_random_text_lays_out_completely(body in text(200), p in 0usize..3) {
        check(&body, Profile::ALL[p]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn long_random_text_lays_out_completely(body in text(6000)) {
        // Up to ~20,000 characters.
        let body: String = body.chars().take(20_000).collect();
        check(&body, Profile::Sd);
    }
}
