//! Broadcast screens over the whole demo county, in every profile: what a viewer of the
//! channel sees (issue: "the channel as a viewer sees it"). Layout records only, no
//! encoding: every screen of the county and town programmes, with and without the alert
//! band.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, TimeZone};
use headend::playout::program::{Part, Program};
use headend::render::context::{CLAUSE_ENDS, SENTENCE_ENDS};
use headend::render::{Layout, OnAir, Profile, Rect, Renderer, Role, Screen, ScreenContext};
use headend::schedule::{self as program, ChannelInfo};
use headend::store::Store;

use super::render::broken_rules;

/// Footer texts of the interactive context: none may air.
const KEY_HINTS: &[&str] = &["数字", "返回", "翻页", "菜单", "确定", "按信息键", "帮助"];

fn now() -> DateTime<FixedOffset> {
    headend::content::county_offset()
        .with_ymd_and_hms(2026, 11, 22, 9, 30, 0)
        .single()
        .unwrap()
}

/// The demo county loaded as of `now()`, and the programmes of the county channel and of
/// one town channel.
pub fn demo_programs() -> Vec<(ChannelInfo, Program)> {
    let store = Store::open_in_memory().unwrap();
    let county = headend::demo::embedded().unwrap();
    store
        .call_blocking(move |c| {
            headend::demo::load(c, &county, now().date_naive()).unwrap();
            let channels = program::channels(c)?;
            let mut out = Vec::new();
            for info in channels.into_iter().take(2) {
                let p = program::default_sequence(c, &info, now())?;
                out.push((info, p));
            }
            Ok(out)
        })
        .unwrap()
}

fn overlaps(a: &Rect, b: &Rect) -> bool {
    a.x < b.right() && b.x < a.right() && a.y < b.bottom() && b.y < a.bottom()
}

/// What is wrong with one broadcast page.
fn broadcast_problems(l: &Layout, channel: &str) -> Vec<String> {
    let mut out = broken_rules(l);
    if !l.missing.is_empty() {
        out.push(format!("no glyph for {:?}", l.missing));
    }
    let footer: Vec<&str> = l
        .lines
        .iter()
        .filter(|x| x.role == Role::Footer)
        .map(|x| x.text.as_str())
        .collect();
    for text in &footer {
        if let Some(hint) = KEY_HINTS.iter().find(|h| text.contains(*h)) {
            out.push(format!("key hint {hint:?} on air: {text:?}"));
        }
    }
    if !footer.iter().any(|t| t.contains(channel)) {
        out.push(format!("no channel name in the status line: {footer:?}"));
    }
    if l.pages > 1
        && !footer
            .iter()
            .any(|t| *t == format!("第{}/{}页", l.page, l.pages))
    {
        out.push(format!("no position in the status line: {footer:?}"));
    }
    if !footer.iter().any(|t| t.starts_with("下一条：")) {
        out.push(format!("no 下一条 in the status line: {footer:?}"));
    }
    if !l
        .lines
        .iter()
        .any(|x| matches!(x.role, Role::Title | Role::Heading))
    {
        out.push("a page without a heading".into());
    }
    if l.page > 1
        && !l
            .lines
            .iter()
            .any(|x| x.role == Role::Title && x.text.ends_with("（续）"))
    {
        out.push("a continuation page not marked （续）".into());
    }
    if let Some(band) = &l.band {
        for x in l.lines.iter().filter(|x| x.role != Role::Alert) {
            let r = Rect::new(x.x, x.y, x.w, x.h);
            if overlaps(&r, band) {
                out.push(format!("{:?} line under the band: {:?}", x.role, x.text));
            }
        }
        for strip in &l.strip_lines {
            for x in strip {
                let r = Rect::new(x.x, x.y, x.w, x.h);
                if !band.contains(&r) || !l.safe.contains(&r) {
                    out.push(format!(
                        "strip line outside the band or safe area: {:?}",
                        x.text
                    ));
                }
            }
        }
    }
    out
}

/// Checks that `strip` is a run of whole clauses of `text` (punctuation-wise).
pub fn whole_clauses(strip: &str, title: &str, text: &str) -> Result<(), String> {
    if strip == title {
        return Ok(());
    }
    let at = text
        .find(strip)
        .ok_or_else(|| format!("strip {strip:?} is not in the notice's text"))?;
    let ends = |c: char| SENTENCE_ENDS.contains(&c) || CLAUSE_ENDS.contains(&c);
    let before = text[..at]
        .chars()
        .rev()
        .find(|c| !headend::render::text::is_closing(*c) || ends(*c));
    if at > 0 && !before.is_some_and(ends) {
        return Err(format!("strip {strip:?} starts mid-clause"));
    }
    let last = strip
        .chars()
        .rev()
        .find(|c| !headend::render::text::is_closing(*c) || ends(*c));
    let tail = &text[at + strip.len()..];
    if !tail.is_empty() && !last.is_some_and(ends) {
        return Err(format!("strip {strip:?} ends mid-clause"));
    }
    Ok(())
}

#[test]
fn every_broadcast_screen_has_a_heading_no_key_hints_and_nothing_under_the_band() {
    let renderer = Renderer::new().unwrap();
    let programs = demo_programs();
    assert!(programs.len() >= 2);
    let mut pages = 0;
    let mut banded = 0;
    for (info, program) in &programs {
        let urgent = program
            .urgent
            .as_ref()
            .expect("the demo county has an urgent notice in force");
        // Every screen a cycle can air: the urgent notice, the summary, every item; the
        // flows sampled (they share one template).
        let mut screens: Vec<Arc<Screen>> = vec![Arc::clone(&urgent.screen)];
        screens.push(Arc::new(headend::playout::cycle::summary_screen(
            &info.title,
            now(),
            program.items.iter().map(|i| i.screen.headline()).collect(),
        )));
        let mut flows = 0;
        for item in &program.items {
            if matches!(*item.screen, Screen::Flow(_)) {
                flows += 1;
                if flows % 10 != 1 {
                    continue;
                }
            }
            screens.push(Arc::clone(&item.screen));
        }
        assert!(program.items.iter().any(|i| i.part == Part::Rotation));
        for &profile in Profile::ALL {
            for (n, screen) in screens.iter().enumerate() {
                for band in [false, true] {
                    if n == 0 && band {
                        continue; // the urgent notice itself airs without the band
                    }
                    let context = ScreenContext::Broadcast(OnAir {
                        channel: info.title.clone(),
                        next: Some("关于做好今冬明春森林防火工作的通知".into()),
                        alert: band.then(|| urgent.alert.clone()),
                    });
                    for layout in renderer.layout_in(screen, profile, &context) {
                        let problems = broadcast_problems(&layout, &info.title);
                        assert!(
                            problems.is_empty(),
                            "{} {profile:?} {} page {}: {problems:#?}",
                            info.name,
                            screen.kind(),
                            layout.page
                        );
                        pages += 1;
                        if band {
                            assert!(layout.band.is_some() && layout.strips >= 2);
                            banded += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(
        pages > 2000 && banded > 1000,
        "{pages} pages, {banded} with the band"
    );
}

#[test]
fn alert_strips_are_runs_of_whole_clauses_starting_with_the_title() {
    let renderer = Renderer::new().unwrap();
    let (info, program) = demo_programs().remove(0);
    let urgent = program.urgent.unwrap();
    let text: String = urgent
        .alert
        .text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let filler = Screen::Help(headend::render::screen::HelpScreen {
        channel: info.title.clone(),
    });
    for &profile in Profile::ALL {
        let context = ScreenContext::Broadcast(OnAir {
            channel: info.title.clone(),
            next: None,
            alert: Some(urgent.alert.clone()),
        });
        let layout = renderer.layout_in(&filler, profile, &context).remove(0);
        let mut joined = String::new();
        for (i, strip) in layout.strip_lines.iter().enumerate() {
            let body: String = strip
                .iter()
                .filter(|l| l.text != "紧急")
                .map(|l| l.text.as_str())
                .collect();
            assert!(
                strip.len() <= 3,
                "{profile:?} strip {i}: {} lines",
                strip.len()
            );
            if i == 0 {
                assert_eq!(
                    body, urgent.alert.title,
                    "{profile:?}: strip 1 is the title"
                );
                assert!(strip.iter().any(|l| l.text == "紧急"));
                continue;
            }
            whole_clauses(&body, &urgent.alert.title, &text)
                .unwrap_or_else(|e| panic!("{profile:?} strip {i}: {e}"));
            joined.push_str(&body);
            // A frame showing it carries its lines, all of role alert.
            let frame = layout.with_strip(i as u32 + 1);
            assert_eq!(frame.strip, Some(i as u32 + 1));
            assert!(frame
                .lines
                .iter()
                .filter(|l| frame
                    .band
                    .is_some_and(|b| b.contains(&Rect::new(l.x, l.y, l.w, l.h))))
                .all(|l| l.role == Role::Alert));
        }
        assert_eq!(joined, text, "{profile:?}: the strips carry the whole text");
    }
}

#[test]
fn interactive_screens_keep_their_key_hints() {
    let renderer = Renderer::new().unwrap();
    let (_, program) = demo_programs().remove(0);
    let item = program
        .items
        .iter()
        .find(|i| matches!(*i.screen, Screen::Notice(_)))
        .unwrap();
    let pages = renderer.layout(&item.screen, Profile::Sd);
    assert!(pages.len() > 1);
    for page in &pages {
        assert!(page
            .lines
            .iter()
            .any(|l| l.role == Role::Footer && l.text.contains("返回")));
        assert!(page.band.is_none());
    }
    assert!(pages[1]
        .lines
        .iter()
        .any(|l| l.role == Role::Title && l.text.ends_with("（续）")));
}

/// Whether `text` holds a run of 11 digits starting with 1 (a mobile number) or of 17
/// digits and a check character (an ID number).
fn looks_personal(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == 'X') {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            if (run.len() == 11 && run.starts_with('1')) || run.len() == 18 {
                return Some(run);
            }
        } else {
            i += 1;
        }
    }
    None
}

#[test]
fn no_personal_data_airs_on_any_screen_of_the_demo_county() {
    let store = Store::open_in_memory().unwrap();
    let county = headend::demo::embedded().unwrap();
    let (programs, secrets, cases) = store
        .call_blocking(move |c| {
            headend::demo::load(c, &county, now().date_naive()).unwrap();
            // The county channel's scope holds every region's notices and lists.
            let mut programs = Vec::new();
            for info in program::channels(c)?.into_iter().take(1) {
                programs.push((info.clone(), program::default_sequence(c, &info, now())?));
            }
            let mut stmt = c.prepare(
                "SELECT name FROM public_list_rows WHERE length(name) >= 2
                 UNION SELECT id_number FROM public_list_rows WHERE id_number IS NOT NULL
                 UNION SELECT phone FROM public_list_rows WHERE phone IS NOT NULL
                 UNION SELECT applicant FROM cases WHERE applicant_kind <> 'enterprise'",
            )?;
            let secrets: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut stmt = c.prepare("SELECT case_no FROM cases ORDER BY id")?;
            let nos: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut cases = Vec::new();
            for no in nos.iter().step_by(7) {
                cases.push(Screen::CaseResult(
                    headend::pages::case_result(c, no, now().date_naive())?.unwrap(),
                ));
            }
            Ok((programs, secrets, cases))
        })
        .unwrap();
    assert!(secrets.len() > 300, "{} secrets", secrets.len());
    let renderer = Renderer::new().unwrap();
    let mut screens: Vec<(String, Arc<Screen>)> = Vec::new();
    for (info, p) in &programs {
        for item in &p.items {
            if matches!(*item.screen, Screen::Flow(_) | Screen::Guide(_)) {
                continue; // catalogue text: no personal data (checked by the rules tests)
            }
            screens.push((info.title.clone(), Arc::clone(&item.screen)));
        }
    }
    screens.extend(
        cases
            .into_iter()
            .map(|s| ("示范县政务频道".to_owned(), Arc::new(s))),
    );
    let mut pages = 0;
    for &profile in Profile::ALL {
        for (channel, screen) in &screens {
            for context in [
                ScreenContext::Interactive,
                ScreenContext::Broadcast(OnAir {
                    channel: channel.clone(),
                    next: None,
                    alert: None,
                }),
            ] {
                for layout in renderer.layout_in(screen, profile, &context) {
                    let text: String = layout.lines.iter().map(|l| l.text.as_str()).collect();
                    for secret in &secrets {
                        assert!(
                            !text.contains(secret.as_str()),
                            "{secret} airs unmasked on {} ({profile:?})",
                            screen.kind()
                        );
                    }
                    assert_eq!(looks_personal(&text), None, "{}: {text}", screen.kind());
                    pages += 1;
                }
            }
        }
    }
    assert!(pages > 500, "{pages} pages checked");
}
