//! Loading county bundles: the mini fixture in detail, the embedded demo county at scale.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use headend::demo::{self, County, DemoError};
use headend::store::{Stats, Store};

use crate::{mini_store, MINI_COUNTY};

fn stats(store: &Store) -> Stats {
    store.call_blocking(Stats::read).unwrap()
}

fn map(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn the_mini_county_loads_every_kind_of_record() {
    let s = stats(&mini_store());
    assert_eq!(
        s.regions,
        map(&[("county", 1), ("town", 1), ("village", 1)])
    );
    assert_eq!(s.departments, 2);
    assert_eq!(
        s.catalogue,
        map(&[("disclosure", 1), ("power", 1), ("service", 1)])
    );
    assert_eq!(s.service_guides, 2);
    assert_eq!(s.power_steps, 3);
    assert_eq!(s.notices.total, 3);
    assert_eq!(s.notices.by_status, map(&[("draft", 1), ("published", 2)]));
    assert_eq!(s.public_lists, 1);
    assert_eq!(s.public_list_rows, 1);
    assert_eq!(s.cases.total, 2);
    assert_eq!(s.polls, 1);
    assert_eq!(s.poll_options, 3);
    assert_eq!(s.channels, 2);
    assert_eq!(s.audit_log, 1, "the load itself is audited");
}

#[test]
fn dates_shift_so_the_anchor_becomes_today() {
    let store = Store::open_in_memory().unwrap();
    let county: County = serde_json::from_str(MINI_COUNTY).unwrap();
    let today = county.anchor_date + Duration::days(45);
    let report = store
        .call_blocking(move |c| Ok(demo::load(c, &county, today)))
        .unwrap()
        .unwrap();
    assert_eq!(report.shifted_days, 45);
    let (valid_from, published_at, objection_end): (String, String, String) = store
        .call_blocking(|c| {
            Ok(c.query_row(
                "SELECT n.valid_from, n.published_at, p.objection_end FROM notices n, notices p
                 WHERE n.title LIKE '%停水%' AND p.kind = 'publicity'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .unwrap();
    // 2026-11-19 + 45 days, 2026-11-25 + 45 days.
    assert_eq!(valid_from, "2027-01-03");
    assert!(
        published_at.starts_with("2027-01-03T16:00:00"),
        "{published_at}"
    );
    assert_eq!(objection_end, "2027-01-09");
}

#[test]
fn a_failed_load_writes_nothing() {
    let store = mini_store();
    let before = stats(&store);
    // Loading the same county again collides on every key: the whole load must roll back.
    let county: County = serde_json::from_str(MINI_COUNTY).unwrap();
    let anchor = county.anchor_date;
    let err = store
        .call_blocking(move |c| Ok(demo::load(c, &county, anchor)))
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, DemoError::Store { .. }), "{err:?}");
    assert!(err.to_string().contains("region 339902"), "{err}");
    assert_eq!(stats(&store), before);
}

#[test]
fn a_case_for_an_unknown_item_is_named_and_rolls_back() {
    let text = MINI_COUNTY.replace(
        "\"item\": \"339902-xkz-2026-00001\"",
        "\"item\": \"339902-xkz-2026-99999\"",
    );
    let county: County = serde_json::from_str(&text).unwrap();
    let store = Store::open_in_memory().unwrap();
    let anchor = county.anchor_date;
    let err = store
        .call_blocking(move |c| Ok(demo::load(c, &county, anchor)))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, DemoError::UnknownReference { code, .. } if code == "339902-xkz-2026-99999"),
        "{err:?}"
    );
    assert_eq!(stats(&store).regions, BTreeMap::new());
}

#[test]
fn unknown_fields_in_a_bundle_are_rejected() {
    let text = MINI_COUNTY.replacen("\"format\": 1,", "\"format\": 1, \"colour\": \"red\",", 1);
    let err = serde_json::from_str::<County>(&text).unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
}

/// The embedded demo county at the scale the foundation issue asks for.
#[test]
fn the_embedded_demo_county_is_a_whole_county() {
    let store = Store::open_in_memory().unwrap();
    let county = demo::embedded().unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    store
        .call_blocking(move |c| Ok(demo::load(c, &county, today)))
        .unwrap()
        .unwrap();
    let s = stats(&store);
    let n = |m: &BTreeMap<String, i64>, k: &str| m.get(k).copied().unwrap_or(0);
    assert_eq!(n(&s.regions, "county"), 1);
    assert!(n(&s.regions, "town") >= 8, "{:?}", s.regions);
    assert!(n(&s.regions, "village") >= 40, "{:?}", s.regions);
    assert!(s.departments >= 30);
    assert_eq!(
        s.catalogue,
        map(&[("disclosure", 65), ("power", 295), ("service", 25)])
    );
    assert_eq!(
        s.service_guides,
        295 + 25,
        "every power and service item has a guide"
    );
    assert!(s.notices.total >= 40);
    for status in headend::content::NoticeStatus::ALL {
        assert!(
            n(&s.notices.by_status, status.as_str()) >= 1,
            "no {status} notice"
        );
    }
    for priority in headend::content::Priority::ALL {
        assert!(
            n(&s.notices.by_priority, priority.as_str()) >= 1,
            "no {priority} notice"
        );
    }
    assert!(s.cases.total >= 300);
    for status in headend::content::CaseStatus::ALL {
        assert!(
            n(&s.cases.by_status, status.as_str()) >= 1,
            "no {status} case"
        );
    }
    assert!(s.cases.overdue >= 1 || s.cases.total == 0);
    assert!(s.polls >= 3);
    assert_eq!(
        s.channels,
        1 + n(&s.regions, "town"),
        "a county channel and one per town"
    );

    let checks: (i64, i64, i64, i64, i64) = store
        .call_blocking(|c| {
            Ok(c.query_row(
                "SELECT
                   (SELECT count(*) FROM catalogue_entries e WHERE kind = 'power'
                      AND (SELECT count(*) FROM power_steps s WHERE s.entry_id = e.id) < 3),
                   (SELECT count(*) FROM public_lists l WHERE
                      (SELECT count(*) FROM public_list_rows r WHERE r.list_id = l.id) >= 20),
                   (SELECT count(*) FROM notices WHERE kind = 'publicity' AND objection_end IS NULL),
                   (SELECT count(*) FROM channels WHERE name = 'county'),
                   (SELECT count(DISTINCT department) FROM catalogue_entries)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?)
        })
        .unwrap();
    assert_eq!(checks.0, 0, "power items with fewer than 3 process steps");
    assert!(checks.1 >= 3, "公示 lists with 20+ people: {}", checks.1);
    assert_eq!(checks.2, 0, "公示 without an objection period");
    assert_eq!(checks.3, 1, "the county channel");
    assert!(
        checks.4 >= 20,
        "catalogue spread over departments: {}",
        checks.4
    );
}
