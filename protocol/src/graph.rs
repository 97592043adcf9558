//! The screen graph a set-top box navigates: a [`Manifest`] of [`Screen`]s, each a list of
//! pre-rendered [`Page`]s with their key map and focusable regions, plus the checks the headend
//! tests and the box run over it ([`Manifest::check`], [`Manifest::digit_presses`]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::Key;

/// A region's screen graph for one picture profile, the answer of
/// `GET /stb/v1/manifest?profile=..&region=..`.
///
/// A box keeps the manifest until [`version`](Manifest::version) changes and fetches page
/// images by hash, so an unchanged image is never downloaded twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Protocol version of the headend that wrote this manifest, [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION)
    /// at the time of writing.
    pub protocol: u32,
    /// Content version: changes whenever anything in the graph changes.
    pub version: String,
    /// Region code, e.g. `"339901101"`.
    pub region: String,
    /// Picture profile: `"sd"`, `"sd_wide"`, `"hd720"` or `"hd1080"`.
    pub profile: String,
    /// Width of every page image, in pixels.
    pub width: u32,
    /// Height of every page image, in pixels.
    pub height: u32,
    /// When the headend generated this manifest (RFC 3339).
    pub generated_at: String,
    /// Id of the home screen: where the box starts and where `MENU` and [`Action::Home`] lead.
    pub home: String,
    /// Id of the help screen, where [`Action::Help`] leads.
    pub help: String,
    /// Every screen of the graph.
    pub screens: Vec<Screen>,
}

/// One screen of the graph: a titled sequence of pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    /// Stable id, e.g. `"home"`, `"section:notices"`, `"notice:42"`, `"poll:3"`.
    pub id: String,
    /// Title of the screen (as shown on its pages).
    pub title: String,
    /// What the screen shows, for information only (`notice`, `list`, `guide`, `flow`, `poll`,
    /// `case_lookup`, `case_result`, `help`, `home`, ...): a box must not depend on it.
    pub kind: String,
    /// The pages of the screen, at least one; a box enters a screen at its first page.
    pub pages: Vec<Page>,
    /// A digit-entry field on this screen (the case lookup), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
}

/// One pre-rendered page of a screen with its key map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Image hash (32 lowercase hex digits); the image is `GET /stb/v1/img/{image}.png`.
    pub image: String,
    /// Key map of this page. When read, bindings of keys this box does not know are dropped
    /// (a newer headend may bind keys of newer remotes); bindings whose action is unknown are
    /// kept as [`Action::Unknown`], which the box ignores.
    #[serde(default, deserialize_with = "lenient_keys")]
    pub keys: Vec<Binding>,
    /// Focusable regions in arrow-key order: `UP`/`DOWN` move the focus through them, `OK`
    /// triggers the focused region's action.
    #[serde(default)]
    pub focus: Vec<Focus>,
}

/// A key of the remote bound to an action on one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The key, by its script name (`"2"`, `"OK"`, `"PAGEDOWN"`).
    pub key: Key,
    /// What pressing the key does.
    pub action: Action,
}

/// A focusable rectangle of a page, in image pixels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Focus {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
    /// What `OK` does while this region has the focus.
    pub action: Action,
}

/// A digit-entry field drawn by the box over the page image (the case lookup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Name of the field, e.g. `"case_no"`; [`Action::Entry`] and [`Action::Submit`] name it.
    pub field: String,
    /// Fixed text shown before the digits and sent with them, e.g. `"SF"`.
    pub prefix: String,
    /// Most digits the field takes.
    pub max_digits: u32,
    /// Left edge of the field, in image pixels.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

/// What a key or a focused region does. On the wire an object tagged by `"do"`, e.g.
/// `{"do": "go", "screen": "notice:42"}` or `{"do": "next_page"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// Open a screen at its first page.
    Go {
        /// Id of the screen.
        screen: String,
    },
    /// Show the next page of this screen.
    NextPage,
    /// Show the previous page of this screen.
    PrevPage,
    /// Return to the screen (and page) shown before this one.
    Back,
    /// Go to the home screen.
    Home,
    /// Go to the help screen.
    Help,
    /// Open (or continue) digit entry into the screen's [`Entry`] field.
    Entry {
        /// Name of the field.
        field: String,
    },
    /// Submit the entered digits (`POST /stb/v1/cases/lookup`, see [`CaseLookup`](crate::CaseLookup)).
    Submit {
        /// Name of the field.
        field: String,
    },
    /// Vote in a poll (`POST /stb/v1/polls/{poll}/votes`, see [`VoteRequest`](crate::VoteRequest)).
    Vote {
        /// Id of the poll (positive).
        poll: i64,
        /// Number of the chosen option, counting from 1.
        option: u32,
    },
    /// An action a newer headend knows and this box does not: ignored. Written as
    /// `{"do": "unknown"}`; a headend never sends it.
    #[serde(other)]
    Unknown,
}

/// Reads a key map, dropping bindings of unknown keys.
fn lenient_keys<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Binding>, D::Error> {
    #[derive(Deserialize)]
    struct RawBinding {
        key: String,
        action: Action,
    }
    let raw = Vec::<RawBinding>::deserialize(deserializer)?;
    Ok(raw
        .into_iter()
        .filter_map(|b| {
            b.key.parse().ok().map(|key| Binding {
                key,
                action: b.action,
            })
        })
        .collect())
}

/// Whether `s` is a well-formed image hash: exactly 32 lowercase hex digits.
pub fn is_image_hash(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Page {
    /// Every action of the page: its key bindings' first, then its focus regions'.
    fn actions(&self) -> impl Iterator<Item = &Action> {
        self.keys
            .iter()
            .map(|b| &b.action)
            .chain(self.focus.iter().map(|f| &f.action))
    }
}

/// Something wrong with a screen graph, found by [`Manifest::check`]. Pages are numbered from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A screen id used by more than one screen (reported for every screen after the first).
    DuplicateScreen {
        /// The id.
        screen: String,
    },
    /// The manifest's home id names no screen.
    MissingHome {
        /// The home id.
        screen: String,
    },
    /// The manifest's help id names no screen.
    MissingHelp {
        /// The help id.
        screen: String,
    },
    /// A screen without pages.
    NoPages {
        /// The screen id.
        screen: String,
    },
    /// A page image that is not 32 lowercase hex digits.
    BadImage {
        /// The screen id.
        screen: String,
        /// The page.
        page: usize,
        /// The offending image hash.
        image: String,
    },
    /// A [`Action::Go`] (of a key or a focus region) to a screen that does not exist.
    MissingTarget {
        /// The screen id.
        screen: String,
        /// The page.
        page: usize,
        /// The id the action names.
        target: String,
    },
    /// A screen that cannot be reached from home by following `Go` actions (and `Help` to the
    /// help screen). Only checked when the home screen exists.
    Unreachable {
        /// The screen id.
        screen: String,
    },
    /// A page of a screen other than home without `BACK` bound to [`Action::Back`].
    NoBack {
        /// The screen id.
        screen: String,
        /// The page.
        page: usize,
    },
    /// A page with neither key bindings nor focus regions.
    DeadEnd {
        /// The screen id.
        screen: String,
        /// The page.
        page: usize,
    },
    /// An [`Action::Entry`] or [`Action::Submit`] with an empty field name, or an
    /// [`Action::Vote`] with a poll id or an option number that is not positive.
    EmptyField {
        /// The screen id.
        screen: String,
        /// The page.
        page: usize,
        /// The offending action.
        action: Action,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::DuplicateScreen { screen } => {
                write!(f, "screen id {screen:?} is used more than once")
            }
            Problem::MissingHome { screen } => write!(f, "home screen {screen:?} does not exist"),
            Problem::MissingHelp { screen } => write!(f, "help screen {screen:?} does not exist"),
            Problem::NoPages { screen } => write!(f, "screen {screen:?} has no pages"),
            Problem::BadImage {
                screen,
                page,
                image,
            } => write!(
                f,
                "screen {screen:?} page {page}: image {image:?} is not 32 lowercase hex digits"
            ),
            Problem::MissingTarget {
                screen,
                page,
                target,
            } => write!(
                f,
                "screen {screen:?} page {page}: go to screen {target:?}, which does not exist"
            ),
            Problem::Unreachable { screen } => {
                write!(f, "screen {screen:?} cannot be reached from home")
            }
            Problem::NoBack { screen, page } => {
                write!(
                    f,
                    "screen {screen:?} page {page}: BACK is not bound to back"
                )
            }
            Problem::DeadEnd { screen, page } => write!(
                f,
                "screen {screen:?} page {page}: no key bindings and no focus regions"
            ),
            Problem::EmptyField {
                screen,
                page,
                action,
            } => write!(
                f,
                "screen {screen:?} page {page}: action {action:?} has an empty field"
            ),
        }
    }
}

impl std::error::Error for Problem {}

impl Manifest {
    /// The screen with this id (the first one, should the id be used twice).
    pub fn screen(&self, id: &str) -> Option<&Screen> {
        self.screens.iter().find(|s| s.id == id)
    }

    /// Index of the first screen of every id.
    fn index(&self) -> HashMap<&str, usize> {
        let mut index = HashMap::with_capacity(self.screens.len());
        for (i, screen) in self.screens.iter().enumerate() {
            index.entry(screen.id.as_str()).or_insert(i);
        }
        index
    }

    /// Every problem of the graph, in screen order; empty when the graph is fine.
    ///
    /// Checked: duplicate screen ids, a missing home or help screen, screens without pages,
    /// malformed image hashes, `Go` actions to missing screens, screens unreachable from home,
    /// pages of non-home screens without `BACK` bound to [`Action::Back`], pages without any
    /// binding or focus region, and `Entry`/`Submit`/`Vote` actions with empty fields.
    /// See [`Problem`].
    pub fn check(&self) -> Vec<Problem> {
        let index = self.index();
        let mut problems = Vec::new();
        let mut seen = HashSet::with_capacity(self.screens.len());
        for screen in &self.screens {
            if !seen.insert(screen.id.as_str()) {
                problems.push(Problem::DuplicateScreen {
                    screen: screen.id.clone(),
                });
            }
        }
        let home = index.get(self.home.as_str()).copied();
        if home.is_none() {
            problems.push(Problem::MissingHome {
                screen: self.home.clone(),
            });
        }
        if !index.contains_key(self.help.as_str()) {
            problems.push(Problem::MissingHelp {
                screen: self.help.clone(),
            });
        }
        for screen in &self.screens {
            self.check_screen(screen, &index, &mut problems);
        }
        if let Some(home) = home {
            let reached = self.reachable(home, &index);
            for (i, screen) in self.screens.iter().enumerate() {
                let first = index.get(screen.id.as_str()) == Some(&i);
                if first && !reached.contains(&i) {
                    problems.push(Problem::Unreachable {
                        screen: screen.id.clone(),
                    });
                }
            }
        }
        problems
    }

    /// The problems of one screen's pages.
    fn check_screen(
        &self,
        screen: &Screen,
        index: &HashMap<&str, usize>,
        problems: &mut Vec<Problem>,
    ) {
        let id = &screen.id;
        if screen.pages.is_empty() {
            problems.push(Problem::NoPages { screen: id.clone() });
        }
        for (page_no, page) in screen.pages.iter().enumerate() {
            if !is_image_hash(&page.image) {
                problems.push(Problem::BadImage {
                    screen: id.clone(),
                    page: page_no,
                    image: page.image.clone(),
                });
            }
            if page.keys.is_empty() && page.focus.is_empty() {
                problems.push(Problem::DeadEnd {
                    screen: id.clone(),
                    page: page_no,
                });
            }
            let has_back = page
                .keys
                .iter()
                .any(|b| b.key == Key::Back && b.action == Action::Back);
            if *id != self.home && !has_back {
                problems.push(Problem::NoBack {
                    screen: id.clone(),
                    page: page_no,
                });
            }
            for action in page.actions() {
                let empty = match action {
                    Action::Go { screen: target } => {
                        if !index.contains_key(target.as_str()) {
                            problems.push(Problem::MissingTarget {
                                screen: id.clone(),
                                page: page_no,
                                target: target.clone(),
                            });
                        }
                        false
                    }
                    Action::Entry { field } | Action::Submit { field } => field.is_empty(),
                    Action::Vote { poll, option } => *poll <= 0 || *option == 0,
                    Action::NextPage
                    | Action::PrevPage
                    | Action::Back
                    | Action::Home
                    | Action::Help
                    | Action::Unknown => false,
                };
                if empty {
                    problems.push(Problem::EmptyField {
                        screen: id.clone(),
                        page: page_no,
                        action: action.clone(),
                    });
                }
            }
        }
    }

    /// Where a navigating action leads: the index of the screen it opens at its first page.
    fn target(&self, action: &Action, index: &HashMap<&str, usize>) -> Option<usize> {
        match action {
            Action::Go { screen } => index.get(screen.as_str()).copied(),
            Action::Home => index.get(self.home.as_str()).copied(),
            Action::Help => index.get(self.help.as_str()).copied(),
            _ => None,
        }
    }

    /// Indices of the screens reachable from `home` through keys and focus regions.
    fn reachable(&self, home: usize, index: &HashMap<&str, usize>) -> HashSet<usize> {
        let mut reached = HashSet::from([home]);
        let mut queue = VecDeque::from([home]);
        while let Some(s) = queue.pop_front() {
            let Some(screen) = self.screens.get(s) else {
                continue;
            };
            for page in &screen.pages {
                for action in page.actions() {
                    if let Some(t) = self.target(action, index) {
                        if reached.insert(t) {
                            queue.push_back(t);
                        }
                    }
                }
            }
        }
        reached
    }

    /// For every screen reachable from home pressing only digit keys and `PAGEUP`/`PAGEDOWN`,
    /// the least number of such presses from the first page of home to the screen's first page.
    ///
    /// A breadth-first search over (screen, page) states starting at (home, page 0) with 0
    /// presses. Only bindings of digit, `PAGEUP` and `PAGEDOWN` keys are followed, one press
    /// each: [`Action::Go`], [`Action::Home`] and [`Action::Help`] open a screen at its first
    /// page, [`Action::NextPage`] and [`Action::PrevPage`] move within the screen; other
    /// actions and focus regions are not followed. Since every screen is entered at its first
    /// page, this is also the least number of presses to any page of the screen. Screens not
    /// reachable this way are absent; home maps to 0 (when it exists).
    pub fn digit_presses(&self) -> BTreeMap<String, u32> {
        let index = self.index();
        let mut result = BTreeMap::new();
        let Some(&home) = index.get(self.home.as_str()) else {
            return result;
        };
        let mut presses: HashMap<(usize, usize), u32> = HashMap::from([((home, 0), 0)]);
        let mut queue = VecDeque::from([(home, 0usize, 0u32)]);
        while let Some((s, p, n)) = queue.pop_front() {
            let Some(page) = self.screens.get(s).and_then(|screen| screen.pages.get(p)) else {
                continue;
            };
            let pages = self.screens.get(s).map_or(0, |screen| screen.pages.len());
            for binding in &page.keys {
                if !matches!(binding.key, Key::Digit(_) | Key::PageUp | Key::PageDown) {
                    continue;
                }
                let next = match &binding.action {
                    Action::NextPage => (p + 1 < pages).then_some((s, p + 1)),
                    Action::PrevPage => p.checked_sub(1).map(|q| (s, q)),
                    action => self.target(action, &index).map(|t| (t, 0)),
                };
                if let Some(state) = next {
                    if let std::collections::hash_map::Entry::Vacant(slot) = presses.entry(state) {
                        slot.insert(n.saturating_add(1));
                        queue.push_back((state.0, state.1, n.saturating_add(1)));
                    }
                }
            }
        }
        for ((s, p), n) in presses {
            if p == 0 {
                if let Some(screen) = self.screens.get(s) {
                    result.insert(screen.id.clone(), n);
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(n: u8) -> String {
        format!("{n:032x}")
    }

    fn bind(key: &str, action: Action) -> Binding {
        Binding {
            key: key.parse().unwrap(),
            action,
        }
    }

    fn go(screen: &str) -> Action {
        Action::Go {
            screen: screen.into(),
        }
    }

    fn page(n: u8, keys: Vec<Binding>) -> Page {
        Page {
            image: img(n),
            keys,
            focus: Vec::new(),
        }
    }

    fn screen(id: &str, kind: &str, pages: Vec<Page>) -> Screen {
        Screen {
            id: id.into(),
            title: id.into(),
            kind: kind.into(),
            pages,
            entry: None,
        }
    }

    fn back() -> Binding {
        bind("BACK", Action::Back)
    }

    /// home (2 pages) -> 1: notices (list, focus to notice:1), 2: lookup, INFO: help;
    /// notice:1 has 2 pages.
    fn valid() -> Manifest {
        Manifest {
            protocol: crate::PROTOCOL_VERSION,
            version: "v1".into(),
            region: "339901101".into(),
            profile: "hd720".into(),
            width: 1280,
            height: 720,
            generated_at: "2025-01-01T08:00:00+08:00".into(),
            home: "home".into(),
            help: "help".into(),
            screens: vec![
                screen(
                    "home",
                    "home",
                    vec![
                        page(
                            1,
                            vec![
                                bind("1", go("section:notices")),
                                bind("2", go("lookup")),
                                bind("INFO", Action::Help),
                                bind("PAGEDOWN", Action::NextPage),
                            ],
                        ),
                        page(
                            2,
                            vec![bind("3", go("poll:3")), bind("PAGEUP", Action::PrevPage)],
                        ),
                    ],
                ),
                Screen {
                    pages: vec![Page {
                        image: img(3),
                        keys: vec![back(), bind("MENU", Action::Home)],
                        focus: vec![Focus {
                            x: 10,
                            y: 20,
                            w: 300,
                            h: 40,
                            action: go("notice:1"),
                        }],
                    }],
                    ..screen("section:notices", "list", Vec::new())
                },
                screen(
                    "notice:1",
                    "notice",
                    vec![
                        page(4, vec![back(), bind("PAGEDOWN", Action::NextPage)]),
                        page(5, vec![back(), bind("PAGEUP", Action::PrevPage)]),
                    ],
                ),
                Screen {
                    entry: Some(Entry {
                        field: "case_no".into(),
                        prefix: "SF".into(),
                        max_digits: 8,
                        x: 100,
                        y: 200,
                        w: 400,
                        h: 60,
                    }),
                    ..screen(
                        "lookup",
                        "case_lookup",
                        vec![page(
                            6,
                            vec![
                                back(),
                                bind(
                                    "0",
                                    Action::Entry {
                                        field: "case_no".into(),
                                    },
                                ),
                                bind(
                                    "OK",
                                    Action::Submit {
                                        field: "case_no".into(),
                                    },
                                ),
                            ],
                        )],
                    )
                },
                screen(
                    "poll:3",
                    "poll",
                    vec![page(
                        7,
                        vec![back(), bind("1", Action::Vote { poll: 3, option: 1 })],
                    )],
                ),
                screen("help", "help", vec![page(8, vec![back()])]),
            ],
        }
    }

    fn screen_mut<'a>(m: &'a mut Manifest, id: &str) -> &'a mut Screen {
        m.screens.iter_mut().find(|s| s.id == id).unwrap()
    }

    #[test]
    fn a_valid_graph_has_no_problems() {
        let m = valid();
        assert_eq!(m.check(), Vec::new());
        assert_eq!(m.screen("lookup").unwrap().kind, "case_lookup");
        assert!(m.screen("nope").is_none());
    }

    #[test]
    fn duplicate_ids_are_found() {
        let mut m = valid();
        let copy = m.screen("help").unwrap().clone();
        m.screens.push(copy);
        assert_eq!(
            m.check(),
            vec![Problem::DuplicateScreen {
                screen: "help".into()
            }]
        );
    }

    #[test]
    fn missing_home_and_help_are_found() {
        let mut m = valid();
        m.home = "start".into();
        m.help = "aide".into();
        let problems = m.check();
        assert!(problems.contains(&Problem::MissingHome {
            screen: "start".into()
        }));
        assert!(problems.contains(&Problem::MissingHelp {
            screen: "aide".into()
        }));
        // Without home, reachability is not judged.
        assert!(!problems
            .iter()
            .any(|p| matches!(p, Problem::Unreachable { .. })));
    }

    #[test]
    fn screens_without_pages_are_found() {
        let mut m = valid();
        screen_mut(&mut m, "help").pages.clear();
        assert_eq!(
            m.check(),
            vec![Problem::NoPages {
                screen: "help".into()
            }]
        );
    }

    #[test]
    fn bad_images_are_found() {
        for image in [
            "",
            "ABCDEF0123456789ABCDEF0123456789",
            "abc",
            &"0".repeat(33),
        ] {
            let mut m = valid();
            screen_mut(&mut m, "notice:1").pages[1].image = image.to_owned();
            assert_eq!(
                m.check(),
                vec![Problem::BadImage {
                    screen: "notice:1".into(),
                    page: 1,
                    image: image.to_owned()
                }]
            );
        }
        assert!(is_image_hash("0123456789abcdef0123456789abcdef"));
    }

    #[test]
    fn go_to_a_missing_screen_is_found_in_keys_and_focus() {
        let mut m = valid();
        screen_mut(&mut m, "help").pages[0]
            .keys
            .push(bind("5", go("ghost")));
        screen_mut(&mut m, "section:notices").pages[0].focus[0].action = go("notice:2");
        let problems = m.check();
        assert_eq!(
            problems,
            vec![
                Problem::MissingTarget {
                    screen: "section:notices".into(),
                    page: 0,
                    target: "notice:2".into()
                },
                Problem::MissingTarget {
                    screen: "help".into(),
                    page: 0,
                    target: "ghost".into()
                },
                Problem::Unreachable {
                    screen: "notice:1".into()
                },
            ]
        );
    }

    #[test]
    fn unreachable_screens_are_found() {
        let mut m = valid();
        // Help is only reachable through the Help action.
        screen_mut(&mut m, "home").pages[0]
            .keys
            .retain(|b| b.action != Action::Help);
        m.screens
            .push(screen("orphan", "notice", vec![page(9, vec![back()])]));
        assert_eq!(
            m.check(),
            vec![
                Problem::Unreachable {
                    screen: "help".into()
                },
                Problem::Unreachable {
                    screen: "orphan".into()
                },
            ]
        );
    }

    #[test]
    fn pages_without_back_are_found_but_home_needs_none() {
        let mut m = valid();
        screen_mut(&mut m, "notice:1").pages[1].keys[0].action = Action::Home;
        screen_mut(&mut m, "poll:3").pages[0].keys[0].key = Key::Menu;
        assert_eq!(
            m.check(),
            vec![
                Problem::NoBack {
                    screen: "notice:1".into(),
                    page: 1
                },
                Problem::NoBack {
                    screen: "poll:3".into(),
                    page: 0
                },
            ]
        );
    }

    #[test]
    fn dead_ends_are_found() {
        let mut m = valid();
        screen_mut(&mut m, "home").pages[1].keys.clear();
        let only_focus = screen_mut(&mut m, "section:notices");
        only_focus.pages[0].keys.clear();
        assert_eq!(
            m.check(),
            vec![
                Problem::DeadEnd {
                    screen: "home".into(),
                    page: 1
                },
                // Focus alone is not a dead end, but BACK is still missing.
                Problem::NoBack {
                    screen: "section:notices".into(),
                    page: 0
                },
                Problem::Unreachable {
                    screen: "poll:3".into()
                },
            ]
        );
    }

    #[test]
    fn empty_fields_are_found() {
        let bad = [
            Action::Entry { field: "".into() },
            Action::Submit { field: "".into() },
            Action::Vote { poll: 0, option: 1 },
            Action::Vote {
                poll: -3,
                option: 1,
            },
            Action::Vote { poll: 3, option: 0 },
        ];
        for action in bad {
            let mut m = valid();
            screen_mut(&mut m, "lookup").pages[0].focus.push(Focus {
                x: 0,
                y: 0,
                w: 1,
                h: 1,
                action: action.clone(),
            });
            assert_eq!(
                m.check(),
                vec![Problem::EmptyField {
                    screen: "lookup".into(),
                    page: 0,
                    action
                }]
            );
        }
    }

    #[test]
    fn problems_read_as_english() {
        let p = Problem::MissingTarget {
            screen: "home".into(),
            page: 0,
            target: "x".into(),
        };
        assert_eq!(
            p.to_string(),
            r#"screen "home" page 0: go to screen "x", which does not exist"#
        );
        assert_eq!(
            Problem::Unreachable { screen: "a".into() }.to_string(),
            r#"screen "a" cannot be reached from home"#
        );
    }

    #[test]
    fn digit_presses_count_digits_and_page_keys() {
        let m = valid();
        let presses = m.digit_presses();
        let expected: BTreeMap<String, u32> = [
            ("home", 0),
            ("section:notices", 1),
            ("lookup", 1),
            // PAGEDOWN then 3.
            ("poll:3", 2),
        ]
        .into_iter()
        .map(|(id, n)| (id.to_owned(), n))
        .collect();
        // notice:1 is only behind a focus region, help only behind INFO.
        assert_eq!(presses, expected);
    }

    #[test]
    fn digit_presses_take_the_shortest_path() {
        let mut m = valid();
        // A long way to poll:3 via notices page, and a digit shortcut on notice:1's 2nd page.
        screen_mut(&mut m, "section:notices").pages[0]
            .keys
            .push(bind("7", go("notice:1")));
        screen_mut(&mut m, "notice:1").pages[1]
            .keys
            .push(bind("9", Action::Help));
        let presses = m.digit_presses();
        assert_eq!(presses["notice:1"], 2);
        // 1, 7, PAGEDOWN, 9.
        assert_eq!(presses["help"], 4);
        assert_eq!(presses["poll:3"], 2);
        // A direct digit from home wins.
        screen_mut(&mut m, "home").pages[0]
            .keys
            .push(bind("8", Action::Help));
        assert_eq!(m.digit_presses()["help"], 1);
    }

    #[test]
    fn digit_presses_without_home_are_empty() {
        let mut m = valid();
        m.home = "nowhere".into();
        assert!(m.digit_presses().is_empty());
    }

    #[test]
    fn page_keys_are_read_leniently() {
        let json = r#"{
            "image": "0123456789abcdef0123456789abcdef",
            "keys": [
                {"key": "VOLUME_UP", "action": {"do": "louder"}},
                {"key": "2", "action": {"do": "go", "screen": "notice:2", "transition": "fade"}},
                {"key": "OK", "action": {"do": "play_video", "url": "x"}},
                {"key": "BACK", "action": {"do": "back", "why": 1}, "hint": "返回"}
            ],
            "focus": [{"x": 1, "y": 2, "w": 3, "h": 4, "action": {"do": "stream"}, "style": "bold"}],
            "audio": "abc"
        }"#;
        let page: Page = serde_json::from_str(json).unwrap();
        assert_eq!(
            page.keys,
            vec![
                bind("2", go("notice:2")),
                bind("OK", Action::Unknown),
                bind("BACK", Action::Back),
            ]
        );
        assert_eq!(page.focus[0].action, Action::Unknown);
        // keys and focus may be absent.
        let bare: Page =
            serde_json::from_str(r#"{"image": "0123456789abcdef0123456789abcdef"}"#).unwrap();
        assert!(bare.keys.is_empty() && bare.focus.is_empty());
    }

    #[test]
    fn malformed_known_actions_are_errors() {
        let json = r#"{"image": "x", "keys": [{"key": "2", "action": {"do": "go"}}]}"#;
        assert!(serde_json::from_str::<Page>(json).is_err());
    }

    #[test]
    fn actions_are_tagged_by_do() {
        let v = serde_json::to_value(Action::Vote { poll: 3, option: 2 }).unwrap();
        assert_eq!(v, serde_json::json!({"do": "vote", "poll": 3, "option": 2}));
        let v = serde_json::to_value(Action::NextPage).unwrap();
        assert_eq!(v, serde_json::json!({"do": "next_page"}));
    }

    #[test]
    fn manifests_round_trip_and_ignore_unknown_fields() {
        let m = valid();
        let json = serde_json::to_string(&m).unwrap();
        assert!(!json.contains("\"entry\":null"));
        assert_eq!(serde_json::from_str::<Manifest>(&json).unwrap(), m);

        let mut v = serde_json::to_value(&m).unwrap();
        v["theme"] = serde_json::json!("spring");
        v["screens"][0]["audio"] = serde_json::json!({"track": 1});
        v["screens"][3]["entry"]["mask"] = serde_json::json!(true);
        assert_eq!(serde_json::from_value::<Manifest>(v).unwrap(), m);
    }
}
