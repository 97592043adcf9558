//! The screen graph a set-top box navigates: a [`Manifest`] of [`Screen`]s, each a list of
//! pre-rendered [`Page`]s with their key map and focusable regions, the manifest's global
//! keys, how a key press resolves ([`Manifest::action`]), plus the checks the headend tests
//! and the box run over it ([`Manifest::check`], [`Manifest::digit_presses`]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::Key;

/// A region's screen graph for one picture profile, the answer of
/// `GET /stb/v1/manifest?profile=..&region=..`.
///
/// A box keeps the manifest until [`version`](Manifest::version) changes and fetches page
/// images by name ([`Screen::page_image`]); a screen's image base changes whenever one of its
/// page images does, so an unchanged image is never downloaded twice.
///
/// What a key does on a page is resolved by [`Manifest::action`]: the page's own binding, else
/// the manifest's global [`keys`](Manifest::keys), else implicit paging (`PAGEDOWN`/`PAGEUP`
/// on screens of more than one page).
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
    /// Global key map: bindings that apply on every page of every screen (those of
    /// [`ScreenAnswer`](crate::ScreenAnswer)s included) unless the page binds the same key
    /// itself. Read leniently like [`Page::keys`]; absent means none.
    #[serde(default, deserialize_with = "lenient_keys")]
    pub keys: Vec<Binding>,
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
    /// Image base of the screen (32 lowercase hex digits): page `n` (counting from 1) is
    /// `GET /stb/v1/img/{image}-{n}.png`, see [`Screen::page_image`]. A headend changes it
    /// whenever any page image of the screen changes.
    pub image: String,
    /// The pages of the screen, at least one; a box enters a screen at its first page.
    pub pages: Vec<Page>,
    /// A digit-entry field on this screen (the case lookup), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
}

/// One pre-rendered page of a screen with its key map. Its image is named after the screen's
/// ([`Screen::page_image`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Key map of this page, over the manifest's global [`keys`](Manifest::keys): a key bound
    /// here (even to an action the box does not know) hides the global binding of that key on
    /// this page; should a key be bound twice, the first binding counts. When read, bindings of keys this box does not know are dropped
    /// (a newer headend may bind keys of newer remotes); bindings whose action is unknown are
    /// kept as [`Action::Unknown`], which the box ignores.
    #[serde(default, deserialize_with = "lenient_keys")]
    pub keys: Vec<Binding>,
    /// Focusable regions in arrow-key order: `UP`/`DOWN` move the focus through them, `OK`
    /// triggers the focused region's action.
    #[serde(default)]
    pub focus: Vec<Focus>,
}

/// A key of the remote bound to an action, on one page or globally.
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

/// Reads a key map (of a page or the global one), dropping bindings of unknown keys.
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

/// Splits the name of a page image, `"{image}-{n}"` as made by [`Screen::page_image`] (without
/// the `.png` of the URL), into the screen's image base and the page number `n`, counting from 1.
///
/// `None` unless the name is exactly an image hash (32 lowercase hex digits), a `-` and a
/// decimal number from 1 to [`u32::MAX`] without sign or leading zeros, so that every page
/// image has exactly one name.
pub fn parse_page_image(name: &str) -> Option<(&str, u32)> {
    let (image, n) = name.split_once('-')?;
    let canonical = is_image_hash(image)
        && !n.starts_with('0')
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit());
    if !canonical {
        return None;
    }
    n.parse().ok().map(|n| (image, n))
}

impl Screen {
    /// Name of the image of the page with 0-based `index`: `"{image}-{index + 1}"`, fetched as
    /// `GET /stb/v1/img/{name}.png`. Does not check that the screen has such a page.
    pub fn page_image(&self, index: usize) -> String {
        format!("{}-{}", self.image, index.saturating_add(1))
    }
}

impl Page {
    /// The action of this page's own binding of `key` (its first, should there be several).
    fn binding(&self, key: Key) -> Option<&Action> {
        self.keys.iter().find(|b| b.key == key).map(|b| &b.action)
    }

    /// Every action of the page: its key bindings' first, then its focus regions'.
    fn actions(&self) -> impl Iterator<Item = &Action> {
        self.keys
            .iter()
            .map(|b| &b.action)
            .chain(self.focus.iter().map(|f| &f.action))
    }
}

/// What implicit paging resolves to; see [`Manifest::action`].
static NEXT_PAGE: Action = Action::NextPage;
static PREV_PAGE: Action = Action::PrevPage;

/// The keys [`Manifest::digit_presses`] counts.
const PRESS_KEYS: [Key; 12] = [
    Key::Digit(0),
    Key::Digit(1),
    Key::Digit(2),
    Key::Digit(3),
    Key::Digit(4),
    Key::Digit(5),
    Key::Digit(6),
    Key::Digit(7),
    Key::Digit(8),
    Key::Digit(9),
    Key::PageUp,
    Key::PageDown,
];

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
    /// A screen image base that is not 32 lowercase hex digits.
    BadImage {
        /// The screen id.
        screen: String,
        /// The offending image base.
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
    /// A global key's [`Action::Go`] to a screen that does not exist.
    MissingGlobalTarget {
        /// The key.
        key: Key,
        /// The id the action names.
        target: String,
    },
    /// A global key's action with an empty field, as for [`Problem::EmptyField`].
    EmptyGlobalField {
        /// The key.
        key: Key,
        /// The offending action.
        action: Action,
    },
    /// A screen that cannot be reached from home by following the `Go`, `Home` and `Help`
    /// actions of keys (the pages' own and the global ones) and focus regions. Only checked
    /// when the home screen exists.
    Unreachable {
        /// The screen id.
        screen: String,
    },
    /// A page of a screen other than home where `BACK` does not resolve to [`Action::Back`]
    /// (neither by the page's own binding nor, failing that, by a global one).
    NoBack {
        /// The screen id.
        screen: String,
        /// The page.
        page: usize,
    },
    /// A page with neither key bindings nor focus regions, in a manifest without global keys.
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
            Problem::BadImage { screen, image } => write!(
                f,
                "screen {screen:?}: image {image:?} is not 32 lowercase hex digits"
            ),
            Problem::MissingGlobalTarget { key, target } => write!(
                f,
                "global key {key}: go to screen {target:?}, which does not exist"
            ),
            Problem::EmptyGlobalField { key, action } => {
                write!(f, "global key {key}: action {action:?} has an empty field")
            }
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
                write!(f, "screen {screen:?} page {page}: BACK does not go back")
            }
            Problem::DeadEnd { screen, page } => write!(
                f,
                "screen {screen:?} page {page}: no key bindings, no focus regions, no global keys"
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

    /// What pressing `key` does on page `page` (counting from 0) of `screen`, as a box
    /// resolves it: the page's own binding of the key (its first); else the manifest's global
    /// binding of the key (its first); else implicit paging: on a screen of more than one page,
    /// `PAGEDOWN` is [`Action::NextPage`] on every page but the last and `PAGEUP` is
    /// [`Action::PrevPage`] on every page but the first; else `None`, and the key does nothing.
    ///
    /// Borrows the action from the page, the global keys or a static. `screen` need not be one
    /// of [`screens`](Manifest::screens): the global keys apply to the screen of a
    /// [`ScreenAnswer`](crate::ScreenAnswer) as well. `None` when the screen has no such page.
    /// A resolved [`Action::Unknown`] means the key is bound, and the box ignores it.
    pub fn action<'a>(&'a self, screen: &'a Screen, page: usize, key: Key) -> Option<&'a Action> {
        let own = screen.pages.get(page)?;
        own.binding(key)
            .or_else(|| self.keys.iter().find(|b| b.key == key).map(|b| &b.action))
            .or(match key {
                Key::PageDown if page + 1 < screen.pages.len() => Some(&NEXT_PAGE),
                Key::PageUp if page > 0 => Some(&PREV_PAGE),
                _ => None,
            })
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
    /// Checked: duplicate screen ids, a missing home or help screen, global keys' `Go` actions
    /// to missing screens and `Entry`/`Submit`/`Vote` actions with empty fields, screens without
    /// pages, malformed screen image bases, pages' `Go` actions to missing screens, screens
    /// unreachable from home, pages of non-home screens where `BACK` does not resolve
    /// ([`Manifest::action`]) to [`Action::Back`], pages without any binding or focus region in
    /// a manifest without global keys, and pages' `Entry`/`Submit`/`Vote` actions with empty
    /// fields. See [`Problem`].
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
        for binding in &self.keys {
            match bad_action(&binding.action, &index) {
                Some(Bad::MissingTarget(target)) => problems.push(Problem::MissingGlobalTarget {
                    key: binding.key,
                    target: target.to_owned(),
                }),
                Some(Bad::EmptyField) => problems.push(Problem::EmptyGlobalField {
                    key: binding.key,
                    action: binding.action.clone(),
                }),
                None => {}
            }
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

    /// The problems of one screen and its pages.
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
        if !is_image_hash(&screen.image) {
            problems.push(Problem::BadImage {
                screen: id.clone(),
                image: screen.image.clone(),
            });
        }
        for (page_no, page) in screen.pages.iter().enumerate() {
            if page.keys.is_empty() && page.focus.is_empty() && self.keys.is_empty() {
                problems.push(Problem::DeadEnd {
                    screen: id.clone(),
                    page: page_no,
                });
            }
            let goes_back = self.action(screen, page_no, Key::Back) == Some(&Action::Back);
            if *id != self.home && !goes_back {
                problems.push(Problem::NoBack {
                    screen: id.clone(),
                    page: page_no,
                });
            }
            for action in page.actions() {
                match bad_action(action, index) {
                    Some(Bad::MissingTarget(target)) => problems.push(Problem::MissingTarget {
                        screen: id.clone(),
                        page: page_no,
                        target: target.to_owned(),
                    }),
                    Some(Bad::EmptyField) => problems.push(Problem::EmptyField {
                        screen: id.clone(),
                        page: page_no,
                        action: action.clone(),
                    }),
                    None => {}
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

    /// Indices of the screens reachable from `home` through keys and focus regions: every
    /// action of a page's own, and the global bindings of the keys the page does not bind.
    fn reachable(&self, home: usize, index: &HashMap<&str, usize>) -> HashSet<usize> {
        let mut reached = HashSet::from([home]);
        let mut queue = VecDeque::from([home]);
        while let Some(s) = queue.pop_front() {
            let Some(screen) = self.screens.get(s) else {
                continue;
            };
            for page in &screen.pages {
                let global = self
                    .keys
                    .iter()
                    .filter(|g| page.binding(g.key).is_none())
                    .map(|g| &g.action);
                for action in page.actions().chain(global) {
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
    /// presses. On every page, each of the keys `0`–`9`, `PAGEUP` and `PAGEDOWN` is resolved
    /// as the box resolves it ([`Manifest::action`]: the page's binding, the global one,
    /// implicit paging) and followed at one press: [`Action::Go`], [`Action::Home`] and
    /// [`Action::Help`] open a screen at its first page, [`Action::NextPage`] and
    /// [`Action::PrevPage`] move within the screen and do nothing on its last or first page;
    /// other actions and focus regions are not followed. Since every screen is entered at its
    /// first page, this is also the least number of presses to any page of the screen. Screens
    /// not reachable this way are absent; home maps to 0 (when it exists).
    pub fn digit_presses(&self) -> BTreeMap<String, u32> {
        let index = self.index();
        let mut result = BTreeMap::new();
        let Some(&home) = index.get(self.home.as_str()) else {
            return result;
        };
        let mut presses: HashMap<(usize, usize), u32> = HashMap::from([((home, 0), 0)]);
        let mut queue = VecDeque::from([(home, 0usize, 0u32)]);
        while let Some((s, p, n)) = queue.pop_front() {
            let Some(screen) = self.screens.get(s) else {
                continue;
            };
            for key in PRESS_KEYS {
                let next = match self.action(screen, p, key) {
                    Some(Action::NextPage) => (p + 1 < screen.pages.len()).then_some((s, p + 1)),
                    Some(Action::PrevPage) => p.checked_sub(1).map(|q| (s, q)),
                    Some(action) => self.target(action, &index).map(|t| (t, 0)),
                    None => None,
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

/// What is wrong with an action, whoever binds it.
enum Bad<'a> {
    /// A `Go` to this missing screen.
    MissingTarget(&'a str),
    /// An empty field name, or a poll id or option number that is not positive.
    EmptyField,
}

/// What is wrong with `action` in a graph whose screens are `index`, if anything.
fn bad_action<'a>(action: &'a Action, index: &HashMap<&str, usize>) -> Option<Bad<'a>> {
    match action {
        Action::Go { screen } => {
            (!index.contains_key(screen.as_str())).then_some(Bad::MissingTarget(screen))
        }
        Action::Entry { field } | Action::Submit { field } => {
            field.is_empty().then_some(Bad::EmptyField)
        }
        Action::Vote { poll, option } => (*poll <= 0 || *option == 0).then_some(Bad::EmptyField),
        Action::NextPage
        | Action::PrevPage
        | Action::Back
        | Action::Home
        | Action::Help
        | Action::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed image base made from `id`.
    fn img(id: &str) -> String {
        let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("{hash:032x}")
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

    fn page(keys: Vec<Binding>) -> Page {
        Page {
            keys,
            focus: Vec::new(),
        }
    }

    fn screen(id: &str, kind: &str, pages: Vec<Page>) -> Screen {
        Screen {
            id: id.into(),
            title: id.into(),
            kind: kind.into(),
            image: img(id),
            pages,
            entry: None,
        }
    }

    fn back() -> Binding {
        bind("BACK", Action::Back)
    }

    /// home (2 pages, paged explicitly) -> 1: notices (list, focus to notice:1), 2: lookup,
    /// INFO: help; notice:1 has 2 pages, paged implicitly. No global keys.
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
            keys: Vec::new(),
            screens: vec![
                screen(
                    "home",
                    "home",
                    vec![
                        page(vec![
                            bind("1", go("section:notices")),
                            bind("2", go("lookup")),
                            bind("INFO", Action::Help),
                            bind("PAGEDOWN", Action::NextPage),
                        ]),
                        page(vec![
                            bind("3", go("poll:3")),
                            bind("PAGEUP", Action::PrevPage),
                        ]),
                    ],
                ),
                Screen {
                    pages: vec![Page {
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
                    vec![page(vec![back()]), page(vec![back()])],
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
                        vec![page(vec![
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
                        ])],
                    )
                },
                screen(
                    "poll:3",
                    "poll",
                    vec![page(vec![
                        back(),
                        bind("1", Action::Vote { poll: 3, option: 1 }),
                    ])],
                ),
                screen("help", "help", vec![page(vec![back()])]),
            ],
        }
    }

    /// [`valid`] with the keys every page shares bound globally instead: BACK, MENU, INFO.
    /// Pages left without bindings of their own are fine.
    fn valid_global() -> Manifest {
        let mut m = valid();
        m.keys = vec![
            back(),
            bind("MENU", Action::Home),
            bind("INFO", Action::Help),
        ];
        for screen in &mut m.screens {
            for page in &mut screen.pages {
                page.keys
                    .retain(|b| !matches!(b.key, Key::Back | Key::Menu | Key::Info));
            }
        }
        m
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
        let g = valid_global();
        assert!(g.screen("help").unwrap().pages[0].keys.is_empty());
        assert_eq!(g.check(), Vec::new());
        assert_eq!(g.digit_presses(), m.digit_presses());
    }

    #[test]
    fn page_images_are_named_after_the_screen() {
        let m = valid();
        let notice = m.screen("notice:1").unwrap();
        let base = img("notice:1");
        assert_eq!(notice.page_image(0), format!("{base}-1"));
        assert_eq!(notice.page_image(1), format!("{base}-2"));
        assert_eq!(notice.page_image(41), format!("{base}-42"));
        for n in [0, 1, 9, 10, 4_294_967_295] {
            let name = notice.page_image(n);
            let number = u32::try_from(n).ok().and_then(|n| n.checked_add(1));
            assert_eq!(
                parse_page_image(&name),
                number.map(|number| (base.as_str(), number)),
                "{name}"
            );
        }
    }

    #[test]
    fn page_image_names_are_parsed_strictly() {
        let hash = "0123456789abcdef0123456789abcdef";
        assert_eq!(parse_page_image(&format!("{hash}-1")), Some((hash, 1)));
        assert_eq!(parse_page_image(&format!("{hash}-907")), Some((hash, 907)));
        assert_eq!(
            parse_page_image(&format!("{hash}-4294967295")),
            Some((hash, u32::MAX))
        );
        for bad in [
            String::new(),
            hash.to_owned(),
            format!("{hash}-"),
            format!("{hash}-0"),
            format!("{hash}-01"),
            format!("{hash}-+1"),
            format!("{hash}--1"),
            format!("{hash}-1-2"),
            format!("{hash}-1 "),
            format!("{hash}-1.png"),
            format!("{hash}-٣"),
            format!("{hash}-4294967296"),
            format!("{}-1", hash.to_uppercase()),
            format!("{}-1", &hash[1..]),
            format!("{hash}0-1"),
            format!("-{hash}-1"),
            "-1".to_owned(),
        ] {
            assert_eq!(parse_page_image(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keys_resolve_page_then_global_then_implicit_paging() {
        let mut m = valid_global();
        let notice = m.screen("notice:1").unwrap().clone();
        // Global keys, implicit paging.
        assert_eq!(m.action(&notice, 0, Key::Back), Some(&Action::Back));
        assert_eq!(m.action(&notice, 1, Key::Info), Some(&Action::Help));
        assert_eq!(m.action(&notice, 0, Key::PageDown), Some(&Action::NextPage));
        assert_eq!(m.action(&notice, 0, Key::PageUp), None);
        assert_eq!(m.action(&notice, 1, Key::PageDown), None);
        assert_eq!(m.action(&notice, 1, Key::PageUp), Some(&Action::PrevPage));
        assert_eq!(m.action(&notice, 0, Key::Ok), None);
        assert_eq!(m.action(&notice, 0, Key::Digit(1)), None);
        // No such page.
        assert_eq!(m.action(&notice, 2, Key::Back), None);
        // A single page does not page.
        let help = m.screen("help").unwrap().clone();
        assert_eq!(m.action(&help, 0, Key::PageDown), None);
        assert_eq!(m.action(&help, 0, Key::PageUp), None);

        // The page's own binding hides the global one and implicit paging, even when the box
        // does not know its action; the first of two bindings counts.
        let mut own = notice.clone();
        own.pages[0].keys = vec![
            bind("BACK", Action::Home),
            bind("BACK", Action::Back),
            bind("PAGEDOWN", Action::Unknown),
            bind("PAGEUP", go("help")),
        ];
        assert_eq!(m.action(&own, 0, Key::Back), Some(&Action::Home));
        assert_eq!(m.action(&own, 0, Key::PageDown), Some(&Action::Unknown));
        assert_eq!(m.action(&own, 0, Key::PageUp), Some(&go("help")));
        assert_eq!(m.action(&own, 1, Key::Back), Some(&Action::Back));

        // Global keys hide implicit paging too; the first global binding counts.
        m.keys.push(bind("PAGEDOWN", go("lookup")));
        m.keys.push(bind("PAGEDOWN", go("help")));
        m.keys.push(bind("PAGEUP", Action::Unknown));
        assert_eq!(m.action(&notice, 0, Key::PageDown), Some(&go("lookup")));
        assert_eq!(m.action(&notice, 1, Key::PageUp), Some(&Action::Unknown));
        assert_eq!(m.action(&own, 0, Key::PageDown), Some(&Action::Unknown));
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
            "0123456789abcdef0123456789abcdef-1",
        ] {
            let mut m = valid();
            screen_mut(&mut m, "notice:1").image = image.to_owned();
            assert_eq!(
                m.check(),
                vec![Problem::BadImage {
                    screen: "notice:1".into(),
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
    fn bad_global_keys_are_found() {
        let mut m = valid_global();
        m.keys.push(bind("RED", go("ghost")));
        m.keys
            .push(bind("GREEN", Action::Submit { field: "".into() }));
        m.keys
            .push(bind("BLUE", Action::Vote { poll: 1, option: 0 }));
        m.keys.push(bind("YELLOW", go("lookup")));
        assert_eq!(
            m.check(),
            vec![
                Problem::MissingGlobalTarget {
                    key: Key::Red,
                    target: "ghost".into()
                },
                Problem::EmptyGlobalField {
                    key: Key::Green,
                    action: Action::Submit { field: "".into() }
                },
                Problem::EmptyGlobalField {
                    key: Key::Blue,
                    action: Action::Vote { poll: 1, option: 0 }
                },
            ]
        );
        assert_eq!(
            m.check()[0].to_string(),
            r#"global key RED: go to screen "ghost", which does not exist"#
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
            .push(screen("orphan", "notice", vec![page(vec![back()])]));
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
    fn global_keys_reach_screens_from_every_page_not_binding_them() {
        let mut m = valid_global();
        m.screens
            .push(screen("orphan", "notice", vec![page(Vec::new())]));
        m.keys.push(bind("RED", go("orphan")));
        // Help only by the global INFO, orphan only by the global RED: reachable.
        assert_eq!(m.check(), Vec::new());
        // Every page of every screen reached binds INFO (to nothing the box knows) and RED
        // itself, so neither global binding works anywhere.
        for screen in &mut m.screens {
            for page in &mut screen.pages {
                page.keys.push(bind("INFO", Action::Unknown));
                page.keys.push(bind("RED", Action::Unknown));
            }
        }
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
        // One page not binding RED (notice:1's second) is enough.
        screen_mut(&mut m, "notice:1").pages[1]
            .keys
            .retain(|b| b.key != Key::Red);
        assert_eq!(
            m.check(),
            vec![Problem::Unreachable {
                screen: "help".into()
            }]
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
    fn a_global_back_serves_pages_not_binding_back_otherwise() {
        let mut m = valid_global();
        // BACK bound to something else on the page hides the global BACK.
        screen_mut(&mut m, "notice:1").pages[1]
            .keys
            .push(bind("BACK", Action::Home));
        // So does the first of two page bindings.
        screen_mut(&mut m, "poll:3").pages[0].keys = vec![
            bind("BACK", Action::Unknown),
            back(),
            bind("1", Action::Vote { poll: 3, option: 1 }),
        ];
        // A global BACK that is not back serves nobody.
        let mut other = valid_global();
        other.keys[0].action = Action::Home;
        let expected = vec![
            Problem::NoBack {
                screen: "notice:1".into(),
                page: 1,
            },
            Problem::NoBack {
                screen: "poll:3".into(),
                page: 0,
            },
        ];
        assert_eq!(m.check(), expected);
        let problems = other.check();
        assert_eq!(
            problems
                .iter()
                .filter(|p| matches!(p, Problem::NoBack { .. }))
                .count(),
            6,
            "{problems:?}"
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
        // With global keys, no page is a dead end.
        m.keys.push(back());
        assert_eq!(
            m.check(),
            vec![Problem::Unreachable {
                screen: "poll:3".into()
            }]
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
        assert_eq!(
            Problem::BadImage {
                screen: "a".into(),
                image: "x".into()
            }
            .to_string(),
            r#"screen "a": image "x" is not 32 lowercase hex digits"#
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
        // 1, 7, PAGEDOWN (implicit), 9.
        assert_eq!(presses["help"], 4);
        assert_eq!(presses["poll:3"], 2);
        // A direct digit from home wins.
        screen_mut(&mut m, "home").pages[0]
            .keys
            .push(bind("8", Action::Help));
        assert_eq!(m.digit_presses()["help"], 1);
    }

    #[test]
    fn digit_presses_follow_global_keys_and_implicit_paging() {
        let mut m = valid_global();
        // poll:3 is on home's second page: PAGEDOWN (now implicit), 3.
        screen_mut(&mut m, "home").pages.iter_mut().for_each(|p| {
            p.keys
                .retain(|b| !matches!(b.key, Key::PageUp | Key::PageDown))
        });
        assert_eq!(m.digit_presses()["poll:3"], 2);
        // A global digit works from every page that does not bind it.
        m.keys.push(bind("9", Action::Help));
        m.keys.push(bind("1", go("poll:3")));
        let presses = m.digit_presses();
        assert_eq!(presses["help"], 1);
        // Home's first page binds 1 itself; its second page does not: PAGEDOWN, 1 is no
        // shorter than PAGEDOWN, 3.
        assert_eq!(presses["poll:3"], 2);
        // Paging is hidden by a global PAGEDOWN: now poll:3 is only behind a lookup ...
        m.keys.push(bind("PAGEDOWN", go("lookup")));
        screen_mut(&mut m, "lookup").pages[0]
            .keys
            .push(bind("5", go("poll:3")));
        let presses = m.digit_presses();
        assert_eq!(presses["lookup"], 1);
        assert_eq!(presses["poll:3"], 2);
        // ... and NextPage/PrevPage bound at the ends of a screen do nothing.
        m.keys
            .retain(|b| b.key != Key::PageDown && b.key != Key::Digit(1));
        screen_mut(&mut m, "lookup").pages[0]
            .keys
            .retain(|b| b.key != Key::Digit(5));
        screen_mut(&mut m, "home").pages[0]
            .keys
            .push(bind("PAGEUP", Action::PrevPage));
        screen_mut(&mut m, "home").pages[1]
            .keys
            .push(bind("PAGEDOWN", Action::NextPage));
        let presses = m.digit_presses();
        assert_eq!(presses["poll:3"], 2);
        assert_eq!(presses["home"], 0);
        assert!(!presses.contains_key("notice:1"));
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
        let bare: Page = serde_json::from_str("{}").unwrap();
        assert!(bare.keys.is_empty() && bare.focus.is_empty());
    }

    #[test]
    fn global_keys_are_read_leniently_and_may_be_absent() {
        let mut v = serde_json::to_value(valid()).unwrap();
        v.as_object_mut().unwrap().remove("keys");
        assert_eq!(
            serde_json::from_value::<Manifest>(v.clone()).unwrap(),
            valid()
        );
        v["keys"] = serde_json::json!([
            {"key": "BACK", "action": {"do": "back"}},
            {"key": "VOLUME_UP", "action": {"do": "louder"}},
            {"key": "INFO", "action": {"do": "subtitles"}},
        ]);
        let m: Manifest = serde_json::from_value(v).unwrap();
        assert_eq!(m.keys, vec![back(), bind("INFO", Action::Unknown)]);
    }

    #[test]
    fn malformed_known_actions_are_errors() {
        let json = r#"{"keys": [{"key": "2", "action": {"do": "go"}}]}"#;
        assert!(serde_json::from_str::<Page>(json).is_err());
        let mut v = serde_json::to_value(valid()).unwrap();
        v["keys"] = serde_json::json!([{"key": "2", "action": {"do": "go"}}]);
        assert!(serde_json::from_value::<Manifest>(v).is_err());
    }

    #[test]
    fn screens_need_an_image() {
        let mut v = serde_json::to_value(valid()).unwrap();
        v["screens"][2].as_object_mut().unwrap().remove("image");
        assert!(serde_json::from_value::<Manifest>(v).is_err());
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
        for m in [valid(), valid_global()] {
            let json = serde_json::to_string(&m).unwrap();
            assert!(!json.contains("\"entry\":null"));
            assert_eq!(serde_json::from_str::<Manifest>(&json).unwrap(), m);

            let mut v = serde_json::to_value(&m).unwrap();
            v["theme"] = serde_json::json!("spring");
            v["screens"][0]["audio"] = serde_json::json!({"track": 1});
            v["screens"][0]["pages"][0]["image"] = serde_json::json!("old");
            v["screens"][3]["entry"]["mask"] = serde_json::json!(true);
            assert_eq!(serde_json::from_value::<Manifest>(v).unwrap(), m);
        }
    }
}
