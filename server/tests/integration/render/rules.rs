//! Layout rules over every sample screen and every notice of the demo county, in every
//! profile.

use chrono::NaiveDate;
use headend::render::screen::ListItem;
use headend::render::{Profile, Renderer, Screen};
use headend::store::Store;

use super::{broken_rules, sample_screens};

#[test]
fn every_sample_screen_keeps_the_rules_in_every_profile() {
    let renderer = Renderer::new().unwrap();
    for (name, screen) in sample_screens() {
        for &profile in Profile::ALL {
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
        for &profile in Profile::ALL {
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

#[test]
fn every_screen_of_the_demo_county_keeps_the_rules_in_every_profile() {
    let store = Store::open_in_memory().unwrap();
    let county = headend::demo::embedded().unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let screens: Vec<(String, Screen)> = store
        .call_blocking(move |c| {
            headend::demo::load(c, &county, today).unwrap();
            let ids = |sql: &str| -> Vec<i64> {
                let mut stmt = c.prepare(sql).unwrap();
                stmt.query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            };
            let mut out = Vec::new();
            for id in ids("SELECT id FROM catalogue_entries ORDER BY id") {
                out.push((
                    format!("entry {id}"),
                    Screen::Entry(headend::pages::entry(c, id)?.unwrap()),
                ));
                if let Some(g) = headend::pages::guide(c, id)? {
                    out.push((format!("guide {id}"), Screen::Guide(g)));
                }
                if let Some(f) = headend::pages::flow(c, id)? {
                    out.push((format!("flow {id}"), Screen::Flow(f)));
                }
            }
            for id in ids("SELECT id FROM public_lists ORDER BY id") {
                out.push((
                    format!("list {id}"),
                    Screen::PublicList(headend::pages::public_list(c, id)?.unwrap()),
                ));
            }
            let mut stmt = c.prepare("SELECT case_no FROM cases ORDER BY id")?;
            let case_nos: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for no in case_nos {
                let screen = headend::pages::case_result(c, &no, today)?.unwrap();
                out.push((format!("case {no}"), Screen::CaseResult(screen)));
            }
            for id in ids("SELECT id FROM polls ORDER BY id") {
                for results in [false, true] {
                    out.push((
                        format!("poll {id}"),
                        Screen::Poll(headend::pages::poll(c, id, results)?.unwrap()),
                    ));
                }
            }
            Ok(out)
        })
        .unwrap();
    assert!(screens.len() > 385 + 300, "{} screens", screens.len());
    let renderer = Renderer::new().unwrap();
    let mut pages_checked = 0;
    for (name, screen) in &screens {
        for &profile in Profile::ALL {
            for page in renderer.layout(screen, profile) {
                let broken = broken_rules(&page);
                assert!(
                    broken.is_empty(),
                    "{name} {profile:?} page {}: {broken:#?}",
                    page.page
                );
                assert!(
                    page.missing.is_empty(),
                    "{name}: no glyph for {:?}",
                    page.missing
                );
                pages_checked += 1;
            }
        }
    }
    assert!(pages_checked > screens.len() * 3);
}

#[test]
fn public_lists_never_air_whole_id_numbers_or_phones() {
    let store = Store::open_in_memory().unwrap();
    let county = headend::demo::embedded().unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let (lists, secrets): (Vec<headend::render::screen::PublicListScreen>, Vec<String>) = store
        .call_blocking(move |c| {
            headend::demo::load(c, &county, today).unwrap();
            let mut stmt = c.prepare("SELECT id FROM public_lists")?;
            let ids: Vec<i64> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let lists = ids
                .iter()
                .map(|id| headend::pages::public_list(c, *id).unwrap().unwrap())
                .collect();
            let mut stmt = c.prepare(
                "SELECT id_number FROM public_list_rows WHERE id_number IS NOT NULL
                 UNION ALL SELECT phone FROM public_list_rows WHERE phone IS NOT NULL
                 UNION ALL SELECT name FROM public_list_rows WHERE length(name) >= 2",
            )?;
            let secrets = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok((lists, secrets))
        })
        .unwrap();
    assert!(lists.len() >= 3 && secrets.len() >= 60);
    let aired: String = lists
        .iter()
        .flat_map(|l| l.rows.iter().flatten())
        .cloned()
        .collect::<Vec<_>>()
        .join("|");
    for secret in &secrets {
        assert!(!aired.contains(secret.as_str()), "{secret} airs unmasked");
    }
}

#[test]
fn a_list_shows_six_numbered_items_a_page_in_every_profile() {
    let renderer = Renderer::new().unwrap();
    let (_, list) = sample_screens()
        .into_iter()
        .find(|(n, _)| *n == "list")
        .unwrap();
    for &profile in Profile::ALL {
        let pages = renderer.layout(&list, profile);
        assert_eq!(pages.len(), 2, "{profile:?}: 7 items make 2 pages");
        let keys: Vec<u8> = pages[0].selectables.iter().filter_map(|s| s.key).collect();
        assert_eq!(keys, vec![1, 2, 3, 4, 5, 6], "{profile:?}");
        // Numbers run through the list: page 2 starts at 7.
        let keys: Vec<u8> = pages[1].selectables.iter().filter_map(|s| s.key).collect();
        assert_eq!(keys, vec![7], "{profile:?}");
        assert!(
            pages[0].selectables.iter().any(|s| s.target == "page"),
            "page hint is selectable"
        );
    }
    // Items past 9 are numbered and selectable, but have no digit.
    let Screen::List(mut long) = list else {
        unreachable!()
    };
    long.items = (1..=12)
        .map(|i| ListItem {
            label: format!("第{i}条通知"),
            detail: None,
            target: format!("notice:{i}"),
        })
        .collect();
    let pages = renderer.layout(&Screen::List(long), Profile::Sd);
    let items: Vec<_> = pages[1]
        .selectables
        .iter()
        .filter(|s| s.target.starts_with("notice:"))
        .collect();
    assert_eq!(items.len(), 6);
    let keys: Vec<Option<u8>> = items.iter().map(|s| s.key).collect();
    assert_eq!(keys, vec![Some(7), Some(8), Some(9), None, None, None]);
    for n in ["7", "12"] {
        assert!(
            pages[1].lines.iter().any(|l| l.text == n),
            "number {n} on page 2"
        );
    }
}

#[test]
fn an_hd_frame_on_air_splits_into_a_body_shared_by_every_channel_and_a_status_line() {
    use headend::render::{Alert, OnAir, ScreenContext};
    let mut renderer = Renderer::new().unwrap();
    let on_air = |channel: &str, alert: bool| {
        ScreenContext::Broadcast(OnAir {
            channel: channel.to_owned(),
            next: Some(format!("{channel}的下一条通知")),
            alert: alert.then(|| Alert {
                title: "暴雨红色预警".to_owned(),
                text: "请沿河群众立即转移。各村做好巡查。".to_owned(),
            }),
        })
    };
    let mut checked = 0;
    for (name, screen) in sample_screens() {
        for profile in [Profile::Hd720, Profile::Hd1080] {
            for alert in [false, true] {
                let frame = |r: &Renderer, channel: &str| {
                    r.layout_in(&screen, profile, &on_air(channel, alert))
                        .remove(0)
                        .with_strip(1)
                };
                let (a, b) = (
                    frame(&renderer, "甲镇政务频道"),
                    frame(&renderer, "乙镇政务频道"),
                );
                let split = a.status_split().expect("a frame on air has a status line");
                assert_eq!(split % 16, 0);
                assert!(split >= a.height * 3 / 4, "{name}: split at {split}");
                // The body does not depend on the channel; the status line does.
                assert_eq!(
                    a.rows(0, split).digest(),
                    b.rows(0, split).digest(),
                    "{name} {profile:?}"
                );
                assert_ne!(
                    a.rows(split, a.height).digest(),
                    b.rows(split, b.height).digest()
                );
                // The two bands drawn apart are the frame drawn whole, to the pixel.
                let whole = renderer.raster(&a).unwrap();
                let top = renderer.raster(&a.rows(0, split)).unwrap();
                let bottom = renderer.raster(&a.rows(split, a.height)).unwrap();
                let cut = (split * a.width * 4) as usize;
                assert!(
                    whole.data()[..cut] == *top.data(),
                    "{name} {profile:?} alert {alert}: the body band differs"
                );
                assert!(
                    whole.data()[cut..] == *bottom.data(),
                    "{name} {profile:?} alert {alert}: the status band differs"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 40, "{checked}");
}
