//! Property tests of the wire types: reading arbitrary input never panics, written values read
//! back equal, keys resolve as specified, page image names round-trip, and graphs valid by
//! construction pass [`Manifest::check`].
//!
//! 256 cases per property by default; set `PROTOCOL_PROPTEST_CASES` for more.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;
use stb_protocol::{
    parse_page_image, Action, Binding, BoxCredentials, CaseLookup, Entry, ErrorBody, Focus, Key,
    Manifest, Page, Problem, RegisterBox, Screen, ScreenAnswer, ViewCount, ViewReport, VoteRequest,
    PROTOCOL_VERSION,
};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROTOCOL_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

const NAMED_KEYS: [Key; 14] = [
    Key::Ok,
    Key::Back,
    Key::Up,
    Key::Down,
    Key::Left,
    Key::Right,
    Key::PageUp,
    Key::PageDown,
    Key::Red,
    Key::Green,
    Key::Yellow,
    Key::Blue,
    Key::Menu,
    Key::Info,
];

/// Any text, control characters and non-ASCII included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9:_]{0,12}", "(?s).{0,16}"]
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        (0u8..=9).prop_map(Key::Digit),
        proptest::sample::select(NAMED_KEYS.to_vec()),
    ]
}

/// Every action but [`Action::Unknown`], with arbitrary fields.
fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        text().prop_map(|screen| Action::Go { screen }),
        Just(Action::NextPage),
        Just(Action::PrevPage),
        Just(Action::Back),
        Just(Action::Home),
        Just(Action::Help),
        text().prop_map(|field| Action::Entry { field }),
        text().prop_map(|field| Action::Submit { field }),
        (any::<i64>(), any::<u32>()).prop_map(|(poll, option)| Action::Vote { poll, option }),
    ]
}

fn image() -> impl Strategy<Value = String> {
    "[0-9a-f]{32}"
}

fn focus(action: impl Strategy<Value = Action>) -> impl Strategy<Value = Focus> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        action,
    )
        .prop_map(|(x, y, w, h, action)| Focus { x, y, w, h, action })
}

fn entry() -> impl Strategy<Value = Entry> {
    (text(), text(), any::<u32>(), any::<[u32; 4]>()).prop_map(
        |(field, prefix, max_digits, [x, y, w, h])| Entry {
            field,
            prefix,
            max_digits,
            x,
            y,
            w,
            h,
        },
    )
}

fn bindings(
    action: impl Strategy<Value = Action>,
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<Binding>> {
    vec((key(), action), len).prop_map(|keys| {
        keys.into_iter()
            .map(|(key, action)| Binding { key, action })
            .collect()
    })
}

fn page() -> impl Strategy<Value = Page> {
    (bindings(action(), 0..6), vec(focus(action()), 0..3))
        .prop_map(|(keys, focus)| Page { keys, focus })
}

fn screen() -> impl Strategy<Value = Screen> {
    (
        text(),
        text(),
        text(),
        prop_oneof![4 => image(), 1 => text()],
        vec(page(), 1..4),
        proptest::option::of(entry()),
    )
        .prop_map(|(id, title, kind, image, pages, entry)| Screen {
            id,
            title,
            kind,
            image,
            pages,
            entry,
        })
}

/// Well-formed manifests: arbitrary content, every field representable.
fn manifest() -> impl Strategy<Value = Manifest> {
    (
        (text(), text(), text(), any::<u32>(), any::<u32>(), text()),
        (text(), text()),
        bindings(action(), 0..5),
        vec(screen(), 0..6),
    )
        .prop_map(
            |(
                (version, region, profile, width, height, generated_at),
                (home, help),
                keys,
                screens,
            )| {
                Manifest {
                    protocol: PROTOCOL_VERSION,
                    version,
                    region,
                    profile,
                    width,
                    height,
                    generated_at,
                    home,
                    help,
                    keys,
                    screens,
                }
            },
        )
}

fn id(i: usize) -> String {
    format!("screen:{i}")
}

/// Actions that pass the check in a graph of `n` screens named by [`id`].
fn valid_action(n: usize) -> impl Strategy<Value = Action> {
    prop_oneof![
        (0..n).prop_map(|i| Action::Go { screen: id(i) }),
        Just(Action::NextPage),
        Just(Action::PrevPage),
        Just(Action::Back),
        Just(Action::Home),
        Just(Action::Help),
        "[a-z_]{1,8}".prop_map(|field| Action::Entry { field }),
        "[a-z_]{1,8}".prop_map(|field| Action::Submit { field }),
        (1..=i64::MAX, 1..=u32::MAX).prop_map(|(poll, option)| Action::Vote { poll, option }),
    ]
}

fn valid_page(n: usize) -> impl Strategy<Value = Page> {
    (
        bindings(valid_action(n), 0..6),
        vec(focus(valid_action(n)), 0..3),
    )
        .prop_map(|(keys, focus)| Page { keys, focus })
}

/// Graphs that pass [`Manifest::check`] by construction: screen `i > 0` is opened by a focus
/// region of an earlier screen; `BACK` goes back on every page of a non-home screen, bound
/// either globally (and on no such page) or first thing on every such page; `MENU` goes home,
/// bound either globally or on every page of home; some more global keys may follow. So every
/// page has a binding, or there are global keys.
fn valid_manifest() -> impl Strategy<Value = Manifest> {
    (1usize..8)
        .prop_flat_map(|n| {
            (
                vec(any::<Index>(), n),
                vec(vec(valid_page(n), 1..4), n),
                any::<Index>(),
                (any::<bool>(), any::<bool>()),
                bindings(valid_action(n), 0..3),
                vec(image(), n),
            )
        })
        .prop_map(
            |(parents, pages, help, (global_back, global_menu), more_keys, images)| {
                let n = pages.len();
                let mut screens: Vec<Screen> = pages
                    .into_iter()
                    .zip(images)
                    .enumerate()
                    .map(|(i, (pages, image))| Screen {
                        id: id(i),
                        title: format!("第{i}屏"),
                        kind: "notice".into(),
                        image,
                        pages,
                        entry: None,
                    })
                    .collect();
                for (i, parent) in parents.iter().enumerate().skip(1) {
                    let parent = parent.index(i);
                    screens[parent].pages[0].focus.push(Focus {
                        x: 0,
                        y: 0,
                        w: 10,
                        h: 10,
                        action: Action::Go { screen: id(i) },
                    });
                }
                let back = Binding {
                    key: Key::Back,
                    action: Action::Back,
                };
                let menu = Binding {
                    key: Key::Menu,
                    action: Action::Home,
                };
                let mut keys = Vec::new();
                for screen in screens.iter_mut().skip(1) {
                    for page in &mut screen.pages {
                        if global_back {
                            page.keys.retain(|b| b.key != Key::Back);
                        } else {
                            page.keys.insert(0, back.clone());
                        }
                    }
                }
                if global_back {
                    keys.push(back);
                }
                if global_menu {
                    keys.push(menu);
                } else {
                    for page in &mut screens[0].pages {
                        page.keys.push(menu.clone());
                    }
                }
                keys.extend(more_keys);
                Manifest {
                    protocol: PROTOCOL_VERSION,
                    version: "v".into(),
                    region: "339901101".into(),
                    profile: "hd720".into(),
                    width: 1280,
                    height: 720,
                    generated_at: "2025-03-01T08:00:00+08:00".into(),
                    home: id(0),
                    help: id(help.index(n)),
                    keys,
                    screens,
                }
            },
        )
}

/// Every key of the remote.
fn all_keys() -> impl Iterator<Item = Key> {
    (0..=9).map(Key::Digit).chain(NAMED_KEYS)
}

/// What `key` does on page `p` of `screen`: a reference for [`Manifest::action`], written from
/// its specification. The first binding of the key on the page, else the first among the
/// global keys, else `PAGEDOWN`/`PAGEUP` page on screens of several pages, short of the ends.
fn reference_action(m: &Manifest, screen: &Screen, p: usize, key: Key) -> Option<Action> {
    let page = screen.pages.get(p)?;
    if let Some(b) = page.keys.iter().chain(&m.keys).find(|b| b.key == key) {
        return Some(b.action.clone());
    }
    let pages = screen.pages.len();
    match key {
        Key::PageDown if pages > 1 && p != pages - 1 => Some(Action::NextPage),
        Key::PageUp if pages > 1 && p != 0 => Some(Action::PrevPage),
        _ => None,
    }
}

/// Least presses by relaxing every edge until nothing changes: a reference for
/// [`Manifest::digit_presses`], written independently of its breadth-first search and
/// resolving keys with [`reference_action`].
fn reference_presses(m: &Manifest) -> BTreeMap<String, u32> {
    let index: HashMap<&str, usize> = m
        .screens
        .iter()
        .enumerate()
        .rev()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut best: HashMap<(usize, usize), u32> = HashMap::new();
    if let Some(&home) = index.get(m.home.as_str()) {
        best.insert((home, 0), 0);
    }
    let press_keys: Vec<Key> = all_keys()
        .filter(|k| matches!(k, Key::Digit(_) | Key::PageUp | Key::PageDown))
        .collect();
    loop {
        let mut changed = false;
        let states: Vec<_> = best.iter().map(|(&s, &n)| (s, n)).collect();
        for ((s, p), n) in states {
            let screen = &m.screens[s];
            for &key in &press_keys {
                let to = match reference_action(m, screen, p, key) {
                    Some(Action::Go { screen }) => index.get(screen.as_str()).map(|&t| (t, 0)),
                    Some(Action::Home) => index.get(m.home.as_str()).map(|&t| (t, 0)),
                    Some(Action::Help) => index.get(m.help.as_str()).map(|&t| (t, 0)),
                    Some(Action::NextPage) if p + 1 < screen.pages.len() => Some((s, p + 1)),
                    Some(Action::PrevPage) if p > 0 => Some((s, p - 1)),
                    _ => None,
                };
                if let Some(to) = to {
                    if best.get(&to).is_none_or(|&old| old > n + 1) {
                        best.insert(to, n + 1);
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    best.into_iter()
        .filter(|&((_, p), _)| p == 0)
        .map(|((s, _), n)| (m.screens[s].id.clone(), n))
        .collect()
}

/// Reads `bytes` as every wire type; only the absence of panics matters.
fn read_everything(bytes: &[u8]) {
    let _ = serde_json::from_slice::<Manifest>(bytes);
    let _ = serde_json::from_slice::<Screen>(bytes);
    let _ = serde_json::from_slice::<Page>(bytes);
    let _ = serde_json::from_slice::<Action>(bytes);
    let _ = serde_json::from_slice::<Key>(bytes);
    let _ = serde_json::from_slice::<Vec<Binding>>(bytes);
    let _ = serde_json::from_slice::<RegisterBox>(bytes);
    let _ = serde_json::from_slice::<BoxCredentials>(bytes);
    let _ = serde_json::from_slice::<CaseLookup>(bytes);
    let _ = serde_json::from_slice::<VoteRequest>(bytes);
    let _ = serde_json::from_slice::<ScreenAnswer>(bytes);
    let _ = serde_json::from_slice::<ViewReport>(bytes);
    let _ = serde_json::from_slice::<ViewCount>(bytes);
    let _ = serde_json::from_slice::<ErrorBody>(bytes);
    if let Ok(m) = serde_json::from_slice::<Manifest>(bytes) {
        let _ = m.check();
        let _ = m.digit_presses();
    }
}

/// Names the wire types use, so random objects often look like ours.
const NAMES: &[&str] = &[
    "protocol",
    "version",
    "region",
    "profile",
    "width",
    "height",
    "generated_at",
    "home",
    "help",
    "screens",
    "id",
    "title",
    "kind",
    "pages",
    "entry",
    "image",
    "keys",
    "focus",
    "key",
    "action",
    "do",
    "screen",
    "field",
    "poll",
    "option",
    "x",
    "y",
    "w",
    "h",
    "prefix",
    "max_digits",
    "go",
    "next_page",
    "prev_page",
    "back",
    "vote",
    "submit",
    "unknown",
    "OK",
    "BACK",
    "PAGEDOWN",
    "7",
    "device",
    "secret",
    "box_id",
    "case_no",
    "day",
    "counts",
    "views",
    "error",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(NAMES).prop_map(str::to_owned),
        1 => text(),
    ]
}

/// JSON values shaped a little like ours.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        name().prop_map(Value::String),
        image().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((name(), inner), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Strings of JSON tokens, mostly not well-formed.
fn json_ish() -> impl Strategy<Value = String> {
    vec(
        prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(":".to_owned()),
            Just(",".to_owned()),
            Just("null".to_owned()),
            Just("true".to_owned()),
            "-?[0-9]{1,20}(\\.[0-9]{1,5})?(e[+-]?[0-9]{1,4})?",
            name().prop_map(|n| format!("{n:?}")),
            "\"(\\\\[\"\\\\/bfnrtu]|[^\"\\\\]){0,8}\"?",
            "[ \\t\\n]{1,3}",
        ],
        0..80,
    )
    .prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        read_everything(&bytes);
    }

    #[test]
    fn json_ish_text_never_panics(s in json_ish()) {
        read_everything(s.as_bytes());
    }

    #[test]
    fn random_json_values_never_panic(v in json_value()) {
        read_everything(v.to_string().as_bytes());
        // The same value as a manifest's only screen and as a page's key map.
        let mut m = serde_json::to_value(manifest_skeleton()).unwrap();
        m["screens"] = Value::Array(vec![v.clone()]);
        read_everything(m.to_string().as_bytes());
        m["screens"] = serde_json::json!([{"id": "home", "title": "", "kind": "", "image": "", "pages": [{"keys": v}]}]);
        read_everything(m.to_string().as_bytes());
        m["screens"] = serde_json::json!([{"id": "home", "title": "", "kind": "", "image": "", "pages": [{}, {}]}]);
        m["keys"] = v;
        read_everything(m.to_string().as_bytes());
    }

    #[test]
    fn damaged_manifests_never_panic(m in manifest(), damage in vec((any::<Index>(), any::<u8>()), 1..8), cut in any::<Index>()) {
        let mut bytes = serde_json::to_vec(&m).unwrap();
        for (at, byte) in damage {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        read_everything(&bytes);
        read_everything(&bytes[..cut.index(bytes.len() + 1)]);
    }

    #[test]
    fn manifests_round_trip(m in manifest()) {
        let json = serde_json::to_string(&m).unwrap();
        let back: Manifest = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, m);
    }

    #[test]
    fn api_bodies_round_trip(
        strings in vec(text(), 6),
        option in any::<u32>(),
        box_id in proptest::option::of(text()),
        counts in vec((text(), any::<u32>()), 0..5),
        screen in screen(),
    ) {
        fn round_trip<T>(value: &T) -> Result<(), TestCaseError>
        where
            T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
        {
            let json = serde_json::to_string(value).unwrap();
            prop_assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value);
            Ok(())
        }
        let s = |i: usize| strings[i].clone();
        round_trip(&RegisterBox { device: s(0), region: s(1), profile: s(2) })?;
        round_trip(&BoxCredentials { id: s(3), secret: s(4) })?;
        round_trip(&CaseLookup { case_no: s(5), box_id })?;
        round_trip(&VoteRequest { box_id: s(0), secret: s(1), option })?;
        round_trip(&ScreenAnswer { screen })?;
        round_trip(&ViewReport {
            box_id: s(2),
            secret: s(3),
            day: s(4),
            counts: counts.into_iter().map(|(screen, views)| ViewCount { screen, views }).collect(),
        })?;
        round_trip(&ErrorBody {
            error: s(5),
            screen: None,
        })?;
    }

    #[test]
    fn valid_graphs_pass_the_check(m in valid_manifest()) {
        prop_assert_eq!(m.check(), Vec::<Problem>::new());
        let json = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Manifest>(&json).unwrap(), &m);
    }

    #[test]
    fn a_missing_back_is_found(
        m in valid_manifest(),
        which in any::<Index>(),
        page in any::<Index>(),
        hide in any::<bool>(),
    ) {
        prop_assume!(m.screens.len() > 1);
        let mut m = m;
        let s = 1 + which.index(m.screens.len() - 1);
        let p = page.index(m.screens[s].pages.len());
        if hide {
            // BACK bound otherwise on the page hides a global BACK.
            m.screens[s].pages[p].keys.insert(0, Binding { key: Key::Back, action: Action::Home });
        } else {
            m.screens[s].pages[p].keys.retain(|b| b.key != Key::Back);
            m.keys.retain(|b| b.key != Key::Back);
        }
        let problems = m.check();
        prop_assert!(problems.contains(&Problem::NoBack { screen: id(s), page: p }), "{:?}", problems);
    }

    #[test]
    fn keys_resolve_as_specified(m in manifest()) {
        for screen in &m.screens {
            for p in 0..=screen.pages.len() {
                for key in all_keys() {
                    prop_assert_eq!(
                        m.action(screen, p, key).cloned(),
                        reference_action(&m, screen, p, key),
                        "screen {:?} page {} key {}", screen.id, p, key
                    );
                }
            }
        }
    }

    #[test]
    fn page_image_names_round_trip(
        image in image(),
        index in prop_oneof![0usize..100, 0usize..=(u32::MAX as usize - 1)],
        name in prop_oneof![text(), "[0-9a-fA-F]{31,33}-[-+0-9]{0,12}"],
    ) {
        let screen = Screen {
            id: "s".into(),
            title: String::new(),
            kind: String::new(),
            image: image.clone(),
            pages: Vec::new(),
            entry: None,
        };
        let number = u32::try_from(index + 1).unwrap();
        let own = screen.page_image(index);
        prop_assert_eq!(parse_page_image(&own), Some((image.as_str(), number)));
        // Every name read is the one name of its page.
        if let Some((image, n)) = parse_page_image(&name) {
            prop_assert_eq!(format!("{image}-{n}"), name.clone());
        }
    }

    #[test]
    fn digit_presses_are_least(m in valid_manifest()) {
        let presses = m.digit_presses();
        prop_assert_eq!(presses.get(&m.home), Some(&0));
        prop_assert_eq!(&presses, &reference_presses(&m));
    }

    #[test]
    fn digit_presses_of_arbitrary_graphs_are_least(m in manifest()) {
        prop_assert_eq!(m.digit_presses(), reference_presses(&m));
    }
}

fn manifest_skeleton() -> Manifest {
    Manifest {
        protocol: PROTOCOL_VERSION,
        version: "v".into(),
        region: "r".into(),
        profile: "sd".into(),
        width: 720,
        height: 576,
        generated_at: "2025-03-01T08:00:00+08:00".into(),
        home: "home".into(),
        help: "help".into(),
        keys: Vec::new(),
        screens: Vec::new(),
    }
}
