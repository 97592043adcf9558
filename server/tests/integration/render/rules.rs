//! Layout rules over every sample screen and every notice of the demo county, in every
//! profile.

use chrono::NaiveDate;
use headend::render::{Profile, Renderer, Screen};
use headend::store::Store;

use super::{broken_rules, sample_screens};

#[test]
fn every_sample_screen_keeps_the_rules_in_every_profile() {
    let renderer = Renderer::new().unwrap();
    for (name, screen) in sample_screens() {
        for profile in Profile::ALL {
            let pages = renderer.layout(&screen, profile);
            assert!(!pages.is_empty(), "{name} {profile:?}");
            for page in &pages {
                let broken = broken_rules(page);
                assert!(
                    broken.is_empty(),
                    "{name} {profile:?} page {}: {broken:#?}",
                    page.page
                );
                assert!(
                    page.missing.is_empty(),
                    "{name}: missing {:?}",
                    page.missing
                );
            }
        }
    }
}

#[test]
fn every_demo_notice_keeps_the_rules_and_loses_no_text() {
    let store = Store::open_in_memory().unwrap();
    let county = headend::demo::embedded().unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let ids: Vec<i64> = store
        .call_blocking(move |c| {
            headend::demo::load(c, &county, today).unwrap();
            let mut stmt = c.prepare("SELECT id FROM notices ORDER BY id")?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(ids)
        })
        .unwrap();
    assert!(!ids.is_empty());
    let renderer = Renderer::new().unwrap();
    for id in ids {
        let notice = store
            .call_blocking(move |c| headend::pages::notice(c, id, today))
            .unwrap()
            .unwrap();
        let expected: String = notice.body.chars().filter(|c| !c.is_whitespace()).collect();
        let screen = Screen::Notice(notice);
        for profile in Profile::ALL {
            let pages = renderer.layout(&screen, profile);
            let mut body = String::new();
            for page in &pages {
                let broken = broken_rules(page);
                assert!(
                    broken.is_empty(),
                    "notice {id} {profile:?} page {}: {broken:#?}",
                    page.page
                );
                for line in page
                    .lines
                    .iter()
                    .filter(|l| l.role == headend::render::Role::Body)
                {
                    body.extend(line.text.chars().filter(|c| !c.is_whitespace()));
                }
            }
            assert_eq!(body, expected, "notice {id} {profile:?}: body text changed");
        }
    }
}
