//! The upsert rules, driven through file sources: idempotence, updates in place with an
//! audit record, review status, missing items flagged (never deleted), duplicates and the
//! recorded rejections.

use headend::ingest::PassMode;

use super::*;

/// A feed of (guid, title, body) items, written to `dir/feed.xml`; returns its path.
fn write_feed(dir: &std::path::Path, items: &[(&str, &str, &str)]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>溪口镇人民政府 通知公告</title>\n",
    );
    for (guid, title, body) in items {
        s.push_str(&format!(
            "<item><guid>{guid}</guid><title>{title}</title><author>溪口镇人民政府</author>\
             <pubDate>2026-11-20 09:00:00</pubDate><description><![CDATA[{body}]]></description></item>\n"
        ));
    }
    s.push_str("</channel></rss>\n");
    let path = dir.join("feed.xml");
    std::fs::write(&path, s).unwrap();
    path.display().to_string()
}

const A: (&str, &str, &str) = (
    "g-1",
    "关于上溪村道路硬化施工的通知",
    "<p>11月23日起上溪村主路硬化施工，为期十天，请绕行。</p>",
);
const B: (&str, &str, &str) = (
    "g-2",
    "溪口镇集中开展秋冬季爱国卫生运动",
    "<p>各村组织清理房前屋后垃圾，整治沟渠。</p>",
);
const C: (&str, &str, &str) = (
    "g-3",
    "溪口镇2026年冬季征兵报名通知",
    "<p>年满18至22周岁的男性青年可到镇武装部报名。</p>",
);

async fn audit(store: &Store, action: &'static str) -> Vec<String> {
    let sql: &'static str = match action {
        "ingest_add" => "SELECT actor || ' ' || object_kind || ' ' || detail FROM audit_log WHERE action = 'ingest_add' ORDER BY id",
        "ingest_update" => "SELECT actor || ' ' || object_kind || ' ' || detail FROM audit_log WHERE action = 'ingest_update' ORDER BY id",
        "ingest_missing" => "SELECT actor || ' ' || object_kind || ' ' || detail FROM audit_log WHERE action = 'ingest_missing' ORDER BY id",
        _ => "SELECT actor || ' ' || object_kind || ' ' || detail FROM audit_log WHERE action = 'ingest_reappeared' ORDER BY id",
    };
    texts(store, sql).await
}

#[tokio::test]
async fn re_reading_an_unchanged_feed_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_feed(dir.path(), &[A, B, C]);
    let store = county_store().await;
    let s = spec("xkz", &path, "notices", None);
    assert_eq!(counts(&applied(&store, &s).await), (3, 0, 0, 0, 0));
    let before = content(&store).await;
    assert_eq!(counts(&applied(&store, &s).await), (0, 0, 3, 0, 0));
    assert_eq!(
        content(&store).await,
        before,
        "a second pass writes nothing"
    );
    assert_eq!(audit(&store, "ingest_add").await.len(), 3);
    assert!(audit(&store, "ingest_add").await[0].starts_with("ingest:xkz notice "));
}

#[tokio::test]
async fn an_edited_item_is_updated_in_place_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let store = county_store().await;
    let s = spec("xkz", &write_feed(dir.path(), &[A, B]), "notices", None);
    applied(&store, &s).await;
    let ids = texts(
        &store,
        "SELECT id FROM notices WHERE source = 'xkz' ORDER BY source_id",
    )
    .await;

    let edited = (
        A.0,
        A.1,
        "<p>11月23日起上溪村主路硬化施工，工期延长为十五天，请绕行。</p>",
    );
    write_feed(dir.path(), &[edited, B]);
    assert_eq!(counts(&applied(&store, &s).await), (0, 1, 1, 0, 0));
    let after = texts(
        &store,
        "SELECT id FROM notices WHERE source = 'xkz' ORDER BY source_id",
    )
    .await;
    assert_eq!(after, ids, "updated in place, same ids");
    let body = texts(&store, "SELECT body FROM notices WHERE source_id = 'g-1'").await;
    assert_eq!(
        body,
        ["11月23日起上溪村主路硬化施工，工期延长为十五天，请绕行。"]
    );
    let updates = audit(&store, "ingest_update").await;
    assert_eq!(updates.len(), 1);
    assert!(updates[0].starts_with("ingest:xkz notice {"), "{updates:?}");
    assert!(updates[0].contains("\"changed\":[\"body\"]"), "{updates:?}");
    assert!(updates[0].contains("\"source_id\":\"g-1\""), "{updates:?}");
    // Again: nothing more.
    assert_eq!(counts(&applied(&store, &s).await), (0, 0, 2, 0, 0));
}

#[tokio::test]
async fn review_status_untrusted_changes_go_back_to_review_trusted_publish() {
    let dir = tempfile::tempdir().unwrap();
    let store = county_store().await;
    let path = write_feed(dir.path(), &[A, B]);
    let s = spec("xkz", &path, "notices", None);
    applied(&store, &s).await;
    let statuses = texts(
        &store,
        "SELECT status FROM notices WHERE source = 'xkz' ORDER BY source_id",
    )
    .await;
    assert_eq!(statuses, ["submitted", "submitted"]);
    // A reviewer publishes A and withdraws B.
    store
        .call(|c| {
            c.execute_batch(
                "UPDATE notices SET status = 'published', published_at = '2026-11-20T10:00:00+08:00' WHERE source_id = 'g-1';
                 UPDATE notices SET status = 'withdrawn' WHERE source_id = 'g-2';",
            )?;
            Ok(())
        })
        .await
        .unwrap();
    // Unchanged items keep the reviewers' decisions.
    assert_eq!(counts(&applied(&store, &s).await), (0, 0, 2, 0, 0));
    // Edited: the published one needs review again; the withdrawn one stays withdrawn.
    write_feed(
        dir.path(),
        &[
            (A.0, "关于上溪村道路硬化施工的通知（更正）", A.2),
            (B.0, B.1, "<p>各村组织清理垃圾。</p>"),
        ],
    );
    assert_eq!(counts(&applied(&store, &s).await), (0, 2, 0, 0, 0));
    let statuses = texts(
        &store,
        "SELECT status FROM notices WHERE source = 'xkz' ORDER BY source_id",
    )
    .await;
    assert_eq!(statuses, ["submitted", "withdrawn"]);

    // A trusted source publishes directly.
    let mut trusted = spec(
        "xkz-trusted",
        &write_feed(dir.path(), &[C]),
        "notices",
        None,
    );
    trusted.trusted = true;
    applied(&store, &trusted).await;
    let rows = texts(
        &store,
        "SELECT status || ' ' || published_at FROM notices WHERE source = 'xkz-trusted'",
    )
    .await;
    assert_eq!(rows, ["published 2026-11-20T09:00:00+08:00"]);
}

#[tokio::test]
async fn an_item_missing_from_the_source_is_flagged_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = county_store().await;
    let s = spec("xkz", &write_feed(dir.path(), &[A, B, C]), "notices", None);
    applied(&store, &s).await;

    write_feed(dir.path(), &[A, C]);
    assert_eq!(counts(&applied(&store, &s).await), (0, 0, 2, 0, 1));
    let rows = texts(
        &store,
        "SELECT source_id || ' ' || missing_from_source FROM notices WHERE source = 'xkz' ORDER BY source_id",
    )
    .await;
    assert_eq!(rows, ["g-1 0", "g-2 1", "g-3 0"]);
    assert_eq!(audit(&store, "ingest_missing").await.len(), 1);
    // Flagged once, not again.
    assert_eq!(counts(&applied(&store, &s).await), (0, 0, 2, 0, 0));

    // An empty feed flags nothing (a platform hiccup, more likely than a withdrawal).
    write_feed(dir.path(), &[]);
    assert_eq!(counts(&applied(&store, &s).await), (0, 0, 0, 0, 0));

    // It comes back: the flag is cleared.
    write_feed(dir.path(), &[A, B, C]);
    assert_eq!(counts(&applied(&store, &s).await), (0, 1, 2, 0, 0));
    let rows = texts(
        &store,
        "SELECT sum(missing_from_source) FROM notices WHERE source = 'xkz'",
    )
    .await;
    assert_eq!(rows, ["0"]);
    assert_eq!(audit(&store, "ingest_reappeared").await.len(), 1);
}

#[tokio::test]
async fn duplicates_placeholders_and_missing_publishers_are_rejected_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let store = county_store().await;
    // The same text under another guid, and a copy of a notice staff wrote locally.
    let copy = ("g-9", A.1, A.2);
    let local = (
        "g-10",
        "关于溪口镇部分区域临时停水的通知",
        "因主管道维修，11月21日8:00至18:00溪口镇上溪村一带停水，请提前储水。",
    );
    let attachment_only = ("g-11", "2026年度低保对象名单", "<p>详见附件。</p>");
    let path = write_feed(dir.path(), &[A, copy, local, attachment_only]);
    // The feed names no known body (its author element is missing): no default either.
    let raw = std::fs::read_to_string(&path)
        .unwrap()
        .replace("<author>溪口镇人民政府</author>", "");
    std::fs::write(
        &path,
        raw.replacen(
            "<guid>g-1</guid>",
            "<guid>g-1</guid><author>溪口镇人民政府</author>",
            1,
        ),
    )
    .unwrap();
    let s = spec("xkz", &path, "notices", None);
    let r = applied(&store, &s).await;
    assert_eq!((r.added, r.rejected), (1, 3), "{r:#?}");
    let reasons: Vec<_> = r
        .rejections
        .iter()
        .map(|x| (x.key.as_str(), x.reason.zh()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("g-11", "正文仅为“详见附件。”，但没有附件".to_owned()),
            (
                "g-9",
                "缺少发布机构（条目未注明，来源也未设置默认发布机构）".to_owned()
            ),
            (
                "g-10",
                "缺少发布机构（条目未注明，来源也未设置默认发布机构）".to_owned()
            ),
        ]
    );

    // With a default body: the copy of A and the copy of the local notice are duplicates.
    let s = spec("xkz", &path, "notices", Some("xkz"));
    let r = applied(&store, &s).await;
    let reasons: Vec<_> = r
        .rejections
        .iter()
        .map(|x| (x.key.as_str(), x.reason.code()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("g-11", "attachment_missing"),
            ("g-9", "duplicate"),
            ("g-10", "duplicate")
        ]
    );
    assert_eq!(
        r.rejections[1].reason.zh(),
        "与已有条目《关于上溪村道路硬化施工的通知》标题和正文相同，判为重复"
    );
    // The table holds the latest pass's rejections, with Chinese reasons.
    let stored = texts(
        &store,
        "SELECT item_key || ' ' || code || ' ' || reason FROM ingest_rejections WHERE source = 'xkz' ORDER BY item_key",
    )
    .await;
    assert_eq!(stored.len(), 3);
    assert!(
        stored[0].starts_with("g-10 duplicate 与已有条目《关于溪口镇部分区域临时停水的通知》"),
        "{stored:?}"
    );

    // Fixed at the source: the rejection goes away.
    write_feed(dir.path(), &[A]);
    let r = applied(&store, &s).await;
    assert_eq!(r.rejected, 0);
    let stored = texts(
        &store,
        "SELECT count(*) FROM ingest_rejections WHERE source = 'xkz'",
    )
    .await;
    assert_eq!(stored, ["0"]);
}

#[tokio::test]
async fn a_source_default_that_is_not_in_the_store_fails_the_pass_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let store = county_store().await;
    let s = spec(
        "xkz",
        &write_feed(dir.path(), &[A]),
        "notices",
        Some("nosuch"),
    );
    register(&store, &s).await;
    let before = content(&store).await;
    let err = pass(&store, &s, PassMode::Full).await.unwrap_err();
    assert_eq!(err.zh(), "来源设置的默认发布机构“nosuch”不在机构名录中");
    assert_eq!(content(&store).await, before);
    assert!(record(&store, "xkz")
        .await
        .state
        .last_error
        .unwrap()
        .contains("nosuch"));
}

#[tokio::test]
async fn catalogue_and_case_updates_are_audited_and_missing_rows_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let store = county_store().await;
    let path = dir.path().join("cases.csv");
    let header = "办件编号,事项名称,办理部门,申请人,受理日期,承诺办结日期,办结日期,办理状态\n";
    let row1 = "SF20261120000301,高龄津贴申领,xkz,应某某,2026-11-20,2026-11-30,,已受理\n";
    let row2 = "SF20261120000302,最低生活保障审批,mzj,傅某某,2026-11-20,2026-12-05,,正在办理\n";
    std::fs::write(&path, format!("{header}{row1}{row2}")).unwrap();
    let s = spec("cases", &path.display().to_string(), "cases", None);
    assert_eq!(counts(&applied(&store, &s).await), (2, 0, 0, 0, 0));
    assert_eq!(counts(&applied(&store, &s).await), (0, 0, 2, 0, 0));

    let done = "SF20261120000301,高龄津贴申领,xkz,应某某,2026-11-20,2026-11-30,2026-11-24,已办结\n";
    std::fs::write(&path, format!("{header}{done}")).unwrap();
    assert_eq!(counts(&applied(&store, &s).await), (0, 1, 0, 0, 1));
    let rows = texts(
        &store,
        "SELECT case_no || ' ' || status || ' ' || ifnull(completed_on, '-') || ' ' || missing_from_source FROM cases WHERE source = 'cases' ORDER BY case_no",
    )
    .await;
    assert_eq!(
        rows,
        [
            "SF20261120000301 completed 2026-11-24 0",
            "SF20261120000302 in_progress - 1",
        ]
    );
    let updates = audit(&store, "ingest_update").await;
    assert_eq!(updates.len(), 1);
    assert!(
        updates[0].contains("\"status\":[\"accepted\",\"completed\"]"),
        "{updates:?}"
    );

    // Catalogue: an edited summary updates the entry and its updated_at.
    let cpath = dir.path().join("catalogue.csv");
    let chead = "索引号,标题,发布机构,发布日期,主题分类,摘要,正文\n";
    std::fs::write(
        &cpath,
        format!("{chead}339902-xkz-2026-00201,溪口镇村级公益事业建设项目公示,xkz,2026-11-20,11,项目清单。,上溪村文化礼堂修缮等三个项目。\n"),
    )
    .unwrap();
    let c = spec("cat", &cpath.display().to_string(), "catalogue", None);
    assert_eq!(counts(&applied(&store, &c).await), (1, 0, 0, 0, 0));
    std::fs::write(
        &cpath,
        format!("{chead}339902-xkz-2026-00201,溪口镇村级公益事业建设项目公示,xkz,2026-11-20,11,项目清单及资金安排。,上溪村文化礼堂修缮等三个项目。\n"),
    )
    .unwrap();
    assert_eq!(counts(&applied(&store, &c).await), (0, 1, 0, 0, 0));
    let updates = audit(&store, "ingest_update").await;
    assert!(
        updates[1].starts_with("ingest:cat catalogue_entry "),
        "{updates:?}"
    );
    assert!(
        updates[1].contains("\"changed\":[\"summary\"]"),
        "{updates:?}"
    );
}
