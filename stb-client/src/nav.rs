//! Navigation: where the viewer is in the screen graph and what a key does there. Pure: no
//! I/O; the runtime ([`crate::app`]) performs the [`Effect`]s (network calls) and draws
//! [`Nav::view`].
//!
//! - Digits, colour keys, MENU, INFO and BACK act as the manifest binds them on the page
//!   ([`Manifest::action`]).
//! - UP/DOWN (and LEFT/RIGHT) move the focus through the page's focus regions; past the last
//!   region DOWN turns the page, past the first UP turns back. OK triggers the focused
//!   region, or the page's own OK binding.
//! - BACK returns to the previous screen with its page and focus restored; on a digit-entry
//!   screen with digits typed, BACK deletes the last digit first.
//! - On a digit-entry screen, digits fill the field and OK submits it.

use std::sync::Arc;

use stb_protocol::{Action, Key, Manifest, Screen};

/// Screens kept for BACK.
const HISTORY: usize = 64;

/// The screen on show: one of the manifest's, or an answer of the headend (a case result,
/// vote results), which lives only in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A manifest screen, by id.
    Screen(String),
    /// An answer screen.
    Answer(Arc<Screen>),
}

/// Where the viewer is: a screen, a page of it (from 0), the focused region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// The screen.
    pub place: Place,
    /// Page index.
    pub page: usize,
    /// Focused region of the page, if it has any.
    pub focus: Option<usize>,
}

/// What the runtime must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Nothing visible changed.
    None,
    /// Draw the view again.
    Redraw,
    /// Went home: draw, and refresh the manifest.
    Home,
    /// Look this case number up (prefix and digits) and show the answer.
    Lookup(String),
    /// Cast this vote and show the answer.
    Vote {
        /// Poll id.
        poll: i64,
        /// Option, from 1.
        option: u32,
    },
}

/// The navigation state.
#[derive(Debug, Clone)]
pub struct Nav {
    manifest: Arc<Manifest>,
    view: View,
    history: Vec<View>,
    entry: String,
}

impl Nav {
    /// Starts at the manifest's home screen.
    pub fn new(manifest: Arc<Manifest>) -> Nav {
        let view = View {
            place: Place::Screen(manifest.home.clone()),
            page: 0,
            focus: None,
        };
        let mut nav = Nav {
            manifest,
            view,
            history: Vec::new(),
            entry: String::new(),
        };
        nav.view.focus = nav.first_focus();
        nav
    }

    /// The manifest navigated.
    pub fn manifest(&self) -> &Arc<Manifest> {
        &self.manifest
    }

    /// Where the viewer is.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// The digits typed into the current screen's entry field.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// The screen on show (`None` only if the manifest lacks it, which a checked manifest
    /// never does).
    pub fn screen(&self) -> Option<&Screen> {
        match &self.view.place {
            Place::Screen(id) => self.manifest.screen(id),
            Place::Answer(s) => Some(s),
        }
    }

    /// Id of the screen on show.
    pub fn screen_id(&self) -> &str {
        match &self.view.place {
            Place::Screen(id) => id,
            Place::Answer(s) => &s.id,
        }
    }

    /// Name of the page image on show.
    pub fn image(&self) -> Option<String> {
        self.screen().map(|s| s.page_image(self.view.page))
    }

    fn first_focus(&self) -> Option<usize> {
        let page = self.screen()?.pages.get(self.view.page)?;
        (!page.focus.is_empty()).then_some(0)
    }

    fn focus_count(&self) -> usize {
        self.screen()
            .and_then(|s| s.pages.get(self.view.page))
            .map_or(0, |p| p.focus.len())
    }

    fn page_count(&self) -> usize {
        self.screen().map_or(0, |s| s.pages.len())
    }

    fn enter(&mut self, place: Place) {
        let previous = std::mem::replace(
            &mut self.view,
            View {
                place,
                page: 0,
                focus: None,
            },
        );
        self.history.push(previous);
        if self.history.len() > HISTORY {
            self.history.remove(0);
        }
        self.entry.clear();
        self.view.focus = self.first_focus();
    }

    /// Shows an answer of the headend (case result, vote results) as a new screen.
    pub fn show_answer(&mut self, screen: Screen) {
        self.enter(Place::Answer(Arc::new(screen)));
    }

    /// Every image one key away from here: other pages of this screen and the first page of
    /// every screen a key or focus region of this page leads to (prefetch).
    pub fn neighbours(&self) -> Vec<String> {
        let mut out = Vec::new();
        let Some(screen) = self.screen() else {
            return out;
        };
        for p in [self.view.page + 1, self.view.page.wrapping_sub(1)] {
            if p < screen.pages.len() {
                out.push(screen.page_image(p));
            }
        }
        let Some(page) = screen.pages.get(self.view.page) else {
            return out;
        };
        let actions = page
            .keys
            .iter()
            .map(|b| &b.action)
            .chain(page.focus.iter().map(|f| &f.action))
            .chain(self.manifest.keys.iter().map(|b| &b.action));
        for action in actions {
            let target = match action {
                Action::Go { screen } => self.manifest.screen(screen),
                Action::Home => self.manifest.screen(&self.manifest.home),
                Action::Help => self.manifest.screen(&self.manifest.help),
                _ => None,
            };
            if let Some(t) = target {
                let name = t.page_image(0);
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    }

    /// Replaces the manifest (a refresh): the viewer stays where they are if the screen
    /// still exists (page and focus clamped), else goes home; history entries of screens
    /// that are gone are dropped.
    pub fn replace_manifest(&mut self, manifest: Arc<Manifest>) {
        self.manifest = manifest;
        let exists = |nav: &Nav, v: &View| match &v.place {
            Place::Screen(id) => nav.manifest.screen(id).is_some(),
            Place::Answer(_) => true,
        };
        let history = std::mem::take(&mut self.history);
        self.history = history.into_iter().filter(|v| exists(self, v)).collect();
        if !exists(self, &self.view) {
            self.view = View {
                place: Place::Screen(self.manifest.home.clone()),
                page: 0,
                focus: None,
            };
            self.history.clear();
            self.entry.clear();
        }
        self.view.page = self.view.page.min(self.page_count().saturating_sub(1));
        let n = self.focus_count();
        self.view.focus = match self.view.focus {
            Some(f) if f < n => Some(f),
            _ => self.first_focus(),
        };
    }

    /// Handles one key.
    pub fn press(&mut self, key: Key) -> Effect {
        let Some(screen) = self.screen() else {
            return self.go_home();
        };
        let entry = screen.entry.clone();
        // Digit entry: BACK deletes first.
        if key == Key::Back && entry.is_some() && !self.entry.is_empty() {
            self.entry.pop();
            return Effect::Redraw;
        }
        match key {
            Key::Up | Key::Left => return self.move_focus(false),
            Key::Down | Key::Right => return self.move_focus(true),
            _ => {}
        }
        let action = if key == Key::Ok {
            let page = screen.pages.get(self.view.page);
            let own = page.and_then(|p| p.keys.iter().find(|b| b.key == Key::Ok));
            match (own, self.view.focus.and_then(|f| page?.focus.get(f))) {
                (Some(b), _) => Some(b.action.clone()),
                (None, Some(focus)) => Some(focus.action.clone()),
                (None, None) => self.manifest.action(screen, self.view.page, key).cloned(),
            }
        } else {
            self.manifest.action(screen, self.view.page, key).cloned()
        };
        let Some(action) = action else {
            return Effect::None;
        };
        self.perform(action, key, entry.as_ref())
    }

    fn perform(&mut self, action: Action, key: Key, entry: Option<&stb_protocol::Entry>) -> Effect {
        match action {
            Action::Go { screen } => {
                if self.manifest.screen(&screen).is_none() {
                    return Effect::None;
                }
                self.enter(Place::Screen(screen));
                Effect::Redraw
            }
            Action::NextPage => self.turn(true),
            Action::PrevPage => self.turn(false),
            Action::Back => match self.history.pop() {
                Some(previous) => {
                    self.view = previous;
                    self.entry.clear();
                    Effect::Redraw
                }
                None => self.go_home(),
            },
            Action::Home => self.go_home(),
            Action::Help => {
                let help = self.manifest.help.clone();
                if self.screen_id() == help || self.manifest.screen(&help).is_none() {
                    return Effect::None;
                }
                self.enter(Place::Screen(help));
                Effect::Redraw
            }
            Action::Entry { field } => {
                let (Some(e), Key::Digit(d)) = (entry, key) else {
                    return Effect::None;
                };
                if e.field != field || self.entry.len() >= e.max_digits as usize {
                    return Effect::None;
                }
                self.entry.push(char::from(b'0' + d.min(9)));
                Effect::Redraw
            }
            Action::Submit { field } => match entry {
                Some(e) if e.field == field && !self.entry.is_empty() => {
                    Effect::Lookup(format!("{}{}", e.prefix, self.entry))
                }
                _ => Effect::None,
            },
            Action::Vote { poll, option } => Effect::Vote { poll, option },
            Action::Unknown => Effect::None,
        }
    }

    fn go_home(&mut self) -> Effect {
        self.history.clear();
        self.entry.clear();
        self.view = View {
            place: Place::Screen(self.manifest.home.clone()),
            page: 0,
            focus: None,
        };
        self.view.focus = self.first_focus();
        Effect::Home
    }

    fn turn(&mut self, forward: bool) -> Effect {
        let pages = self.page_count();
        let next = if forward {
            self.view.page + 1
        } else {
            match self.view.page.checked_sub(1) {
                Some(p) => p,
                None => return Effect::None,
            }
        };
        if next >= pages {
            return Effect::None;
        }
        self.view.page = next;
        self.view.focus = self.first_focus();
        Effect::Redraw
    }

    fn move_focus(&mut self, forward: bool) -> Effect {
        let n = self.focus_count();
        match (self.view.focus, forward) {
            (Some(f), true) if f + 1 < n => {
                self.view.focus = Some(f + 1);
                Effect::Redraw
            }
            (Some(f), false) if f > 0 => {
                self.view.focus = Some(f - 1);
                Effect::Redraw
            }
            (None, _) if n > 0 => {
                self.view.focus = Some(if forward { 0 } else { n - 1 });
                Effect::Redraw
            }
            (_, true) => self.turn(true),
            (_, false) => {
                let effect = self.turn(false);
                if effect == Effect::Redraw {
                    let n = self.focus_count();
                    self.view.focus = n.checked_sub(1);
                }
                effect
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stb_protocol::{Binding, Entry, Focus, Page};

    fn screen(id: &str, pages: Vec<Page>) -> Screen {
        Screen {
            id: id.into(),
            title: id.into(),
            kind: "list".into(),
            image: format!("{:032x}", id.len()),
            pages,
            entry: None,
        }
    }

    fn blank() -> Page {
        Page {
            keys: vec![],
            focus: vec![],
        }
    }

    fn go(key: u8, to: &str) -> Binding {
        Binding {
            key: Key::Digit(key),
            action: Action::Go { screen: to.into() },
        }
    }

    fn focus(to: &str) -> Focus {
        Focus {
            x: 0,
            y: 0,
            w: 10,
            h: 10,
            action: Action::Go { screen: to.into() },
        }
    }

    fn manifest() -> Manifest {
        let list_page = |a: &str, b: &str| Page {
            keys: vec![go(1, a), go(2, b)],
            focus: vec![focus(a), focus(b)],
        };
        let mut lookup = screen(
            "case_lookup",
            vec![Page {
                keys: (0..=9)
                    .map(|d| Binding {
                        key: Key::Digit(d),
                        action: Action::Entry {
                            field: "case_no".into(),
                        },
                    })
                    .chain([Binding {
                        key: Key::Ok,
                        action: Action::Submit {
                            field: "case_no".into(),
                        },
                    }])
                    .collect(),
                focus: vec![],
            }],
        );
        lookup.entry = Some(Entry {
            field: "case_no".into(),
            prefix: "SF".into(),
            max_digits: 3,
            x: 0,
            y: 0,
            w: 100,
            h: 20,
        });
        Manifest {
            protocol: 1,
            version: "v1".into(),
            region: "r".into(),
            profile: "sd".into(),
            width: 720,
            height: 576,
            generated_at: "2026-12-04T00:00:00+08:00".into(),
            home: "home".into(),
            help: "help".into(),
            keys: vec![
                Binding {
                    key: Key::Back,
                    action: Action::Back,
                },
                Binding {
                    key: Key::Menu,
                    action: Action::Home,
                },
                Binding {
                    key: Key::Info,
                    action: Action::Help,
                },
                Binding {
                    key: Key::Red,
                    action: Action::Go {
                        screen: "case_lookup".into(),
                    },
                },
            ],
            screens: vec![
                screen("home", vec![list_page("list", "case_lookup")]),
                screen(
                    "list",
                    vec![
                        list_page("a", "b"),
                        list_page("c", "d"),
                        list_page("e", "f"),
                    ],
                ),
                screen("a", vec![blank(), blank()]),
                screen("b", vec![blank()]),
                screen("c", vec![blank()]),
                screen("d", vec![blank()]),
                screen("e", vec![blank()]),
                screen("f", vec![blank()]),
                screen("help", vec![blank()]),
                lookup,
            ],
        }
    }

    fn nav() -> Nav {
        Nav::new(Arc::new(manifest()))
    }

    fn press(nav: &mut Nav, script: &str) -> Vec<Effect> {
        stb_protocol::parse_keys(script)
            .unwrap()
            .into_iter()
            .map(|k| nav.press(k))
            .collect()
    }

    #[test]
    fn digits_and_back_restore_page_and_focus() {
        let mut n = nav();
        press(&mut n, "1 DOWN DOWN DOWN");
        assert_eq!(n.screen_id(), "list");
        assert_eq!((n.view().page, n.view().focus), (1, Some(1)));
        press(&mut n, "OK");
        assert_eq!(n.screen_id(), "d");
        press(&mut n, "BACK");
        assert_eq!(n.screen_id(), "list");
        assert_eq!((n.view().page, n.view().focus), (1, Some(1)));
        press(&mut n, "UP UP");
        assert_eq!((n.view().page, n.view().focus), (0, Some(1)));
        assert_eq!(press(&mut n, "MENU"), vec![Effect::Home]);
        assert_eq!(n.screen_id(), "home");
        assert_eq!(
            press(&mut n, "BACK"),
            vec![Effect::Home],
            "BACK at home stays"
        );
    }

    #[test]
    fn digit_entry_fills_deletes_and_submits() {
        let mut n = nav();
        press(&mut n, "RED 1 2 3 4");
        assert_eq!(n.entry(), "123", "at most max_digits");
        press(&mut n, "BACK");
        assert_eq!(n.entry(), "12");
        assert_eq!(press(&mut n, "OK"), vec![Effect::Lookup("SF12".into())]);
        press(&mut n, "BACK BACK BACK");
        assert_eq!(n.screen_id(), "home");
    }

    #[test]
    fn pages_prefetch_and_refresh() {
        let mut n = nav();
        press(&mut n, "1");
        let next = n.neighbours();
        assert!(next.contains(&n.screen().unwrap().page_image(1)));
        assert!(next.iter().any(|i| i.ends_with("-1")));
        press(&mut n, "PAGEDOWN PAGEDOWN PAGEDOWN");
        assert_eq!(n.view().page, 2);
        // The list disappears in a new version: home.
        let mut m = manifest();
        m.screens.retain(|s| s.id != "list");
        n.replace_manifest(Arc::new(m));
        assert_eq!(n.screen_id(), "home");
        press(&mut n, "INFO");
        assert_eq!(n.screen_id(), "help");
    }
}
