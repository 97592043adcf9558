//! Building a region's screen graph (the set-top-box manifest) from its content: every
//! screen laid out in the interactive context, every page named by its image hash, keys
//! and focus regions taken from what the layout marks selectable.
//!
//! Keys: on every page, the digits of the numbered items (a list's items 1–9, the home
//! tiles, an entry's 办事指南/办理流程, a poll's options, each leading to a confirmation
//! screen where OK votes) and, on lists, `0` for the next
//! page; for the whole manifest (global keys), BACK, MENU home, INFO help, RED the case
//! lookup, GREEN the polls; PAGEDOWN/PAGEUP page implicitly. On the case lookup, digits go
//! into the entry field and OK submits it. Page images are named `<screen image>-<page>`,
//! so a manifest carries one hash a screen, not one a page.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use stb_protocol::{Action, Binding, Entry, Focus, Key, Manifest, Page, Screen, PROTOCOL_VERSION};

use super::content::{Content, ContentScreen};
use super::images::ImageRef;
use crate::render::{Layout, Profile, Renderer, ScreenContext, ScreenHash};

/// Digits a case number has after its `SF` prefix.
pub const CASE_DIGITS: u32 = 14;

/// A built graph: the manifest, its exact bytes as served, and every image it names.
#[derive(Debug, Clone)]
pub struct Built {
    /// The manifest.
    pub manifest: Manifest,
    /// Its JSON, byte for byte what the API serves and `headend bundle` writes.
    pub json: Arc<[u8]>,
    /// Every page image, by hash.
    pub images: Vec<ImageRef>,
}

/// Which poll a screen belongs to: a poll's own screen (`poll:<id>`), or one of its
/// confirmation screens (`vote:<id>:<option>`).
#[derive(Debug, Clone, Copy)]
enum PollScreen {
    Choose(i64),
    Confirm(i64),
}

impl PollScreen {
    fn of(id: &str) -> Option<PollScreen> {
        if let Some(poll) = id.strip_prefix("poll:") {
            return poll.parse().ok().map(PollScreen::Choose);
        }
        let (poll, _option) = id.strip_prefix("vote:")?.split_once(':')?;
        poll.parse().ok().map(PollScreen::Confirm)
    }
}

/// The action of a selectable `target` on a screen (`poll` when it is a poll's): `None`
/// for targets that lead nowhere in this graph. On a poll an option leads to its
/// confirmation screen; there, the chosen option votes.
fn action_for(
    target: &str,
    poll: Option<PollScreen>,
    known: &dyn Fn(&str) -> bool,
) -> Option<Action> {
    if let Some(option) = target.strip_prefix("vote:") {
        let option: u32 = option.parse().ok()?;
        return match poll? {
            PollScreen::Confirm(poll) => Some(Action::Vote { poll, option }),
            PollScreen::Choose(poll) => {
                let screen = format!("vote:{poll}:{option}");
                known(&screen).then_some(Action::Go { screen })
            }
        };
    }
    match target {
        "help" => Some(Action::Help),
        t if known(t) => Some(Action::Go {
            screen: t.to_owned(),
        }),
        _ => None,
    }
}

fn rect(layout: &Layout, r: &crate::render::Rect) -> (u32, u32, u32, u32) {
    let clamp = |v: f32, max: u32| (v.max(0.0).round() as u32).min(max);
    (
        clamp(r.x, layout.width),
        clamp(r.y, layout.height),
        clamp(r.w, layout.width),
        clamp(r.h, layout.height),
    )
}

/// The version of a manifest: a hash of everything in it but the version itself.
fn version_of(manifest: &Manifest) -> String {
    let mut unversioned = manifest.clone();
    unversioned.version = String::new();
    let bytes = serde_json::to_vec(&unversioned).unwrap_or_default();
    crate::digest::hex(&Sha256::digest(&bytes)[..8])
}

/// Keys that work on every page unless the page binds them itself.
fn global_keys(has_polls: bool) -> Vec<Binding> {
    let mut keys = vec![
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
    ];
    if has_polls {
        keys.push(Binding {
            key: Key::Green,
            action: Action::Go {
                screen: "section:polls".into(),
            },
        });
    }
    keys
}

/// One screen of a graph and its page images: `known` says which screen ids exist (links
/// to others are dropped).
pub fn node(
    cs: &ContentScreen,
    profile: Profile,
    renderer: &Renderer,
    known: &dyn Fn(&str) -> bool,
) -> (Screen, Vec<ImageRef>) {
    let mut images = Vec::new();
    let model = Arc::new(cs.model.clone());
    let layouts = renderer.layout_in(&model, profile, &ScreenContext::Interactive);
    let hash = ScreenHash::of(&model, profile, renderer.theme());
    let pages_n = layouts.len() as u32;
    let poll_id = PollScreen::of(&cs.id);
    let confirm_option: Option<u32> = cs
        .id
        .strip_prefix("vote:")
        .and_then(|rest| rest.rsplit_once(':'))
        .and_then(|(_, option)| option.parse().ok());
    let is_home = cs.id == "home";
    let is_lookup = cs.id == "case_lookup";
    let is_list = matches!(*model, crate::render::Screen::List(_));
    let mut entry = None;
    let mut pages = Vec::with_capacity(layouts.len());
    for layout in &layouts {
        images.push(ImageRef {
            hash,
            screen: Arc::clone(&model),
            profile,
            page: layout.page,
        });
        let mut keys: Vec<Binding> = Vec::new();
        let mut focus: Vec<Focus> = Vec::new();
        for s in &layout.selectables {
            if s.target.starts_with("key:") || s.target == "page" {
                continue;
            }
            if is_lookup && s.target == "case_lookup" {
                let (x, y, w, h) = rect(layout, &s.rect);
                entry = Some(Entry {
                    field: "case_no".into(),
                    prefix: "SF".into(),
                    max_digits: CASE_DIGITS,
                    x,
                    y,
                    w,
                    h,
                });
                continue;
            }
            let Some(action) = action_for(&s.target, poll_id, known) else {
                continue;
            };
            if let Some(k) = s.key {
                keys.push(Binding {
                    key: Key::Digit(k),
                    action: action.clone(),
                });
            }
            let (x, y, w, h) = rect(layout, &s.rect);
            focus.push(Focus { x, y, w, h, action });
        }
        if is_lookup {
            for d in 0..=9 {
                keys.push(Binding {
                    key: Key::Digit(d),
                    action: Action::Entry {
                        field: "case_no".into(),
                    },
                });
            }
            keys.push(Binding {
                key: Key::Ok,
                action: Action::Submit {
                    field: "case_no".into(),
                },
            });
        }
        if let (Some(PollScreen::Confirm(poll)), Some(option)) = (poll_id, confirm_option) {
            // Confirming a vote: OK votes, on every page.
            keys.push(Binding {
                key: Key::Ok,
                action: Action::Vote { poll, option },
            });
        }
        // PAGEDOWN/PAGEUP page implicitly; on lists 0 is 更多 (the next page).
        if is_list && layout.page < pages_n {
            keys.push(Binding {
                key: Key::Digit(0),
                action: Action::NextPage,
            });
        }
        if is_home {
            // The global BACK would leave home: nothing to go back to.
            keys.push(Binding {
                key: Key::Back,
                action: Action::Home,
            });
        }
        if is_lookup {
            // The case lookup is where RED leads: RED does nothing more there.
            keys.push(Binding {
                key: Key::Red,
                action: Action::Back,
            });
        }
        pages.push(Page { keys, focus });
    }
    // A digit that leads somewhere on one page leads there on every page of the screen (a
    // list's items 7–9 are on its second page, an entry's 办事指南/办理流程 on its last, a
    // long poll question pushes its options to page 2), so a viewer who knows it need not
    // page there first.
    let links: Vec<Binding> = pages
        .iter()
        .flat_map(|p: &Page| p.keys.iter())
        .filter(|b| matches!(b.key, Key::Digit(_)) && matches!(b.action, Action::Go { .. }))
        .cloned()
        .collect();
    for page in &mut pages {
        for link in &links {
            if !page.keys.iter().any(|b| b.key == link.key) {
                page.keys.push(link.clone());
            }
        }
    }
    let screen = Screen {
        id: cs.id.clone(),
        title: cs.model.headline(),
        kind: cs.model.kind().to_owned(),
        image: hash.to_string(),
        pages,
        entry,
    };
    (screen, images)
}

/// Builds `content`'s graph for `profile`.
pub fn build(content: &Content, profile: Profile, renderer: &Renderer) -> Built {
    let ids: std::collections::HashSet<&str> =
        content.screens.iter().map(|s| s.id.as_str()).collect();
    let known = |id: &str| ids.contains(id);
    let has_polls = known("section:polls");
    let mut screens = Vec::with_capacity(content.screens.len());
    let mut images = Vec::new();
    for cs in &content.screens {
        let (screen, pages) = node(cs, profile, renderer, &known);
        screens.push(screen);
        images.extend(pages);
    }
    let mut manifest = Manifest {
        protocol: PROTOCOL_VERSION,
        version: String::new(),
        region: content.region.clone(),
        profile: profile.as_str().to_owned(),
        width: profile.width(),
        height: profile.height(),
        generated_at: content
            .day
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        home: "home".into(),
        help: "help".into(),
        keys: global_keys(has_polls),
        screens,
    };
    manifest.version = version_of(&manifest);
    let json: Arc<[u8]> = Arc::from(serde_json::to_vec(&manifest).unwrap_or_default());
    Built {
        manifest,
        json,
        images,
    }
}
