//! The staff pages in real headless Chromium (Debian's `chromium` driven through
//! `chromedriver` with fantoccini): an editor drafts a notice with a recipient list, sees
//! the TV preview and submits it; a reviewer returns it; the editor fixes it; the reviewer
//! approves it; it airs on the county channel (as-run log) and reaches the set-top-box
//! manifest; the reviewer withdraws it and it leaves the manifest.

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::{demo_data, wait_for, ChromeDriver, Headend};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;

const TITLE: &str = "关于发放2026年冬季临时救助金的公示";

fn as_run(data: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(data.join("asrun"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
    }
    out
}

fn manifest(addr: &str) -> String {
    let (status, body) = e2e::http_get(addr, "/stb/v1/manifest?profile=sd&region=339901").unwrap();
    assert_eq!(status, 200);
    body
}

struct Staff {
    browser: Client,
    base: String,
}

impl Staff {
    async fn open(&self, path: &str) {
        self.browser
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    async fn fill(&self, id: &str, text: &str) {
        let field = self.browser.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn fill_css(&self, css: &str, text: &str) {
        let field = self.browser.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Runs `act` (a click or Enter that loads a new page) and waits until the new page
    /// has loaded (at most 20 s).
    async fn navigating<F: std::future::Future<Output = ()>>(&self, act: F) {
        self.browser
            .execute("window.__before_navigation = true;", vec![])
            .await
            .unwrap();
        act.await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let loaded = self
                .browser
                .execute(
                    "return !window.__before_navigation && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .map(|v| v == Value::Bool(true))
                .unwrap_or(false);
            if loaded {
                return;
            }
            assert!(Instant::now() < deadline, "no new page within 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks a button or link that loads a new page, and waits for it.
    async fn follow(&self, css: &str) {
        self.navigating(self.click(css)).await;
    }

    async fn path(&self) -> String {
        let url = self.browser.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Logs in through the login page as a person would: name, password, Enter.
    async fn login(&self, name: &str, password: &str) {
        self.open("/admin").await;
        assert!(
            self.path().await.starts_with("/login"),
            "anonymous staff go to the login page"
        );
        self.fill("name", name).await;
        self.navigating(self.fill("password", &format!("{password}\n")))
            .await;
        assert_eq!(self.path().await, "/admin");
        assert!(self.text("h1").await.contains("工作台"));
    }

    async fn logout(&self) {
        self.follow("header form button").await;
        assert!(self.path().await.starts_with("/login"));
    }

    /// Presses Tab (at most 200 times) until the element with id `id` has the focus,
    /// checking that everything focused on the way shows where the focus is (an outline)
    /// and that every form field reached has a label. Returns how many presses it took.
    async fn tab_to(&self, id: &str) -> usize {
        for presses in 1..=200 {
            self.browser
                .active_element()
                .await
                .unwrap()
                .send_keys("\u{E004}")
                .await
                .unwrap();
            let focused = self
                .browser
                .execute(
                    "const e = document.activeElement; const s = getComputedStyle(e);
                     const field = ['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName) && e.type !== 'hidden';
                     const labelled = !field || e.labels.length > 0 || e.hasAttribute('aria-label');
                     return [e.id, e.tagName, s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2, labelled];",
                    vec![],
                )
                .await
                .unwrap();
            let f = focused.as_array().unwrap();
            let what = format!("{} #{} on {}", f[1], f[0], self.path().await);
            if f[1] != "BODY" {
                assert_eq!(f[2], Value::Bool(true), "no visible focus on {what}");
                assert_eq!(f[3], Value::Bool(true), "no label for {what}");
            }
            if f[0] == id {
                return presses;
            }
        }
        panic!("#{id} not reached with Tab on {}", self.path().await);
    }

    /// Types `text` into the focused element (keys only).
    async fn type_keys(&self, text: &str) {
        self.browser
            .active_element()
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }

    /// Logs in with the keyboard alone: Tab to each field, type, Enter.
    async fn login_by_keyboard(&self, name: &str, password: &str) {
        self.open("/login").await;
        self.browser
            .execute("document.activeElement.blur();", vec![])
            .await
            .unwrap();
        self.tab_to("name").await;
        self.type_keys(name).await;
        assert_eq!(
            self.tab_to("password").await,
            1,
            "the password follows the name"
        );
        self.navigating(self.type_keys(&format!("{password}\u{E007}")))
            .await;
        assert_eq!(self.path().await, "/admin");
    }

    async fn status(&self) -> String {
        match self.browser.find(Locator::Css("#status")).await {
            Ok(e) => e.text().await.unwrap(),
            Err(_) => {
                let main = self.text("main").await;
                panic!("no status on {}: {main}", self.path().await)
            }
        }
    }
}

/// Runs `steps` with a staff member in headless Chromium (its profile under `dir`) on the
/// headend at `base`.
fn in_browser<F, Fut>(dir: &Path, base: &str, steps: F)
where
    F: FnOnce(Staff) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let driver = ChromeDriver::start().unwrap();
    let profile = dir.join("chromium");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(ChromeDriver::headless_chromium(&profile))
            .connect(&driver.url)
            .await
            .unwrap();
        steps(Staff {
            browser,
            base: base.to_owned(),
        })
        .await;
    });
}

#[test]
fn staff_publish_a_notice_through_review_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_data(dir.path()).unwrap();
    // The notice must air in the next cycle whatever the time of day: no blocks.
    super::unschedule(&data);
    let config = super::fast_county_config(dir.path());
    let server = Headend::start(&data, &["--config", config.to_str().unwrap()]).unwrap();
    let (data, server) = (&data, &server);
    in_browser(dir.path(), &server.url, move |staff| async move {
        // The editor drafts a 公示 with a recipient list (logged in by keyboard alone).
        staff
            .login_by_keyboard("editor", "shifan-editor-2026")
            .await;
        staff.follow("a[href='/admin/notices/new']").await;
        staff
            .browser
            .find(Locator::Id("kind"))
            .await
            .unwrap()
            .select_by_value("publicity")
            .await
            .unwrap();
        staff.fill("title", TITLE).await;
        staff
            .fill("body", "经村（居）民代表会议评议、镇街审核，以下人员拟发放冬季临时救助金。如有异议，请在公示期内反映。")
            .await;
        let today = chrono::Utc::now()
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .date_naive();
        let week = today + chrono::Duration::days(6);
        // Date fields are set as the browser's date picker sets them (typed digits follow
        // the browser's locale order).
        for (id, day) in [("objection_start", today), ("objection_end", week)] {
            staff
                .browser
                .execute(
                    "document.getElementById(arguments[0]).value = arguments[1];",
                    vec![Value::from(id), Value::from(day.to_string())],
                )
                .await
                .unwrap();
        }
        staff.fill("objection_contact", "县民政局社会救助科").await;
        staff.fill("objection_phone", "0579-87110001").await;
        staff.fill("list_title", "冬季临时救助对象名单").await;
        staff
            .fill(
                "list",
                "张三明,1200元,339901195301021238,13812345678\n李秀英,800元",
            )
            .await;
        staff.follow("button[value='save']").await;
        assert_eq!(
            staff.status().await,
            "草稿",
            "{}",
            staff.browser.source().await.unwrap()
        );
        let notice_path = staff.path().await.split('?').next().unwrap().to_owned();
        let id: i64 = notice_path.rsplit('/').next().unwrap().parse().unwrap();

        // The preview shows the notice as it airs: four frames, SD and HD, both contexts,
        // and as many of the list screen that airs after it.
        let widths = staff
            .browser
            .execute(
                "return Array.from(document.querySelectorAll('.preview img')).map(i => i.complete ? i.naturalWidth : -1);",
                vec![],
            )
            .await
            .unwrap();
        let widths: Vec<i64> = widths
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        assert_eq!(
            widths,
            [720, 720, 1280, 1280, 720, 720, 1280, 1280],
            "notice and list, SD and 720p, set-top box and on air"
        );
        assert!(staff.text(".preview").await.contains("名单 1 页"));
        // The scan flags the list's ID and mobile numbers.
        assert!(staff.text("#scan-h").await.contains("2 处"));

        // Submit: the confidentiality box first.
        staff.click("#confidentiality_checked").await;
        staff.follow("button[value='submit']").await;
        assert_eq!(staff.status().await, "待审核");
        staff.logout().await;

        // The reviewer returns it with a reason.
        staff.login("reviewer", "shifan-reviewer-2026").await;
        assert!(
            staff.text("main").await.contains(TITLE),
            "in the review queue"
        );
        staff.follow(&format!("a[href='{notice_path}']")).await;
        staff
            .fill("return-reason-input", "名单请补充所在村（社区）")
            .await;
        staff.follow("#return").await;
        assert_eq!(staff.status().await, "已退回");
        staff.logout().await;

        // The editor sees why, fixes it and submits again.
        staff.login("editor", "shifan-editor-2026").await;
        staff.open(&notice_path).await;
        assert!(staff
            .text("#return-reason")
            .await
            .contains("名单请补充所在村（社区）"));
        staff
            .fill(
                "list",
                "张三明,1200元,339901195301021238,13812345678,城关村\n李秀英,800元,,,溪口村",
            )
            .await;
        staff.click("#confidentiality_checked").await;
        staff.follow("button[value='submit']").await;
        assert_eq!(staff.status().await, "待审核");
        staff.logout().await;

        // The reviewer approves with the keyboard alone: Tab from the top of the page
        // to 审核通过, Enter. It publishes at once (its first day is today).
        staff
            .login_by_keyboard("reviewer", "shifan-reviewer-2026")
            .await;
        staff.open(&notice_path).await;
        staff
            .browser
            .execute("document.activeElement.blur();", vec![])
            .await
            .unwrap();
        staff.tab_to("approve").await;
        staff.navigating(staff.type_keys("\u{E007}")).await;
        assert_eq!(staff.status().await, "已发布");

        // On air: the county channel's as-run log names it within the next cycle, and
        // the county's set-top-box manifest carries it.
        let aired = wait_for(240, || {
            as_run(data)
                .iter()
                .any(|l| l["item"].as_i64() == Some(id) && l["kind"] == "notice")
                .then_some(())
        });
        assert!(aired.is_some(), "notice {id} not in the as-run log");
        assert!(
            wait_for(10, || manifest(&server.addr).contains(TITLE).then_some(())).is_some(),
            "not in the manifest"
        );

        // Withdrawn: it leaves the manifest.
        staff
            .fill("withdraw-reason", "救助标准调整，重新公示")
            .await;
        staff.follow("#withdraw").await;
        assert_eq!(staff.status().await, "已撤回");
        assert!(
            wait_for(10, || (!manifest(&server.addr).contains(TITLE))
                .then_some(()))
            .is_some(),
            "still in the manifest"
        );
        staff.browser.close().await.unwrap();
    });
}

impl Staff {
    /// Sets a form field's value as a script would (date-time pickers and selects).
    async fn set(&self, css: &str, value: &str) {
        let found = self
            .browser
            .execute(
                "const e = document.querySelector(arguments[0]); if (!e) return false; e.value = arguments[1]; return true;",
                vec![Value::from(css), Value::from(value)],
            )
            .await
            .unwrap();
        assert_eq!(found, Value::Bool(true), "{css}");
    }

    /// Whether the image `css` loaded (a picture the server drew).
    async fn image_loaded(&self, css: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let w = self
                .browser
                .execute(
                    "const i = document.querySelector(arguments[0]); return i && i.complete ? i.naturalWidth : -1;",
                    vec![Value::from(css)],
                )
                .await
                .unwrap();
            match w.as_i64() {
                Some(-1) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Some(n) => return n > 0,
                None => return false,
            }
        }
    }
}

fn county_minute(offset_minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(offset_minutes))
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

#[test]
fn operators_schedule_a_block_and_two_people_put_an_urgent_notice_on_air_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let data = demo_data(dir.path()).unwrap();
    let config = super::fast_county_config(dir.path());
    let server = Headend::start(&data, &["--config", config.to_str().unwrap()]).unwrap();
    let (data, server) = (&data, &server);
    in_browser(dir.path(), &server.url, move |staff| async move {
        staff.login("operator", "shifan-operator-2026").await;

        // A block: the three latest notices, five seconds a page; its preview strip draws.
        staff.follow("a[href='/admin/blocks']").await;
        staff.follow("a[href='/admin/blocks/new']").await;
        staff.fill("name", "午后通知速览").await;
        staff.set("select[name=selector_1]", "notices").await;
        staff.fill_css("input[name=count_1]", "3").await;
        staff.fill_css("input[name=dwell_1]", "5").await;
        staff.follow("#block-form button[type=submit]").await;
        let block_path = staff.path().await;
        assert!(block_path.starts_with("/admin/blocks/"), "{block_path}");
        assert!(staff.text("h1").await.contains("午后通知速览"));
        assert!(
            staff.image_loaded("#strip").await,
            "the block's thumbnail strip"
        );
        let block_id = block_path.rsplit('/').next().unwrap().to_owned();

        // The schedule: a hard start overlapping the demo's 07:00 hard start is refused
        // with the reason; at 05:00 it is placed and shows in the week grid.
        staff.open("/admin/channels/county/schedule").await;
        staff.set("#block", &block_id).await;
        staff.fill("start", "07:30").await;
        staff.fill("minutes", "30").await;
        staff.click("#hard").await;
        staff.follow("#new-entry button[type=submit]").await;
        let alert = staff.text("#new-entry .alert").await;
        assert!(alert.contains("硬开始时段重叠"), "{alert}");
        staff.set("#block", &block_id).await;
        staff.fill("start", "05:00").await;
        staff.follow("#new-entry button[type=submit]").await;
        assert!(staff
            .path()
            .await
            .starts_with("/admin/channels/county/schedule"));
        assert!(staff.text(".week").await.contains("午后通知速览"));
        // Edited on the page: the form comes back filled in; the new time shows.
        let edit = staff
            .browser
            .execute(
                "return [...document.querySelectorAll('tbody tr')].find(r => r.textContent.includes('午后通知速览')).querySelector('a[href*=edit]').getAttribute('href');",
                vec![],
            )
            .await
            .unwrap();
        staff
            .open(&format!(
                "/admin/channels/county/schedule{}",
                edit.as_str().unwrap()
            ))
            .await;
        assert!(staff.text("#new-entry h2").await.contains("修改编排"));
        let start = staff
            .browser
            .execute("return document.querySelector('#start').value;", vec![])
            .await
            .unwrap();
        assert_eq!(start.as_str(), Some("05:00"));
        staff.fill("start", "05:30").await;
        staff.follow("#new-entry button[type=submit]").await;
        let week = staff.text(".week").await;
        assert!(
            week.contains("05:30–06:00") && !week.contains("05:00–05:30"),
            "{week}"
        );

        // An urgent override, full screen on the county channel from now: it waits for a
        // second person; its requester cannot approve it.
        staff.follow("a[href='/admin/overrides']").await;
        let notice = staff
            .browser
            .execute("return document.querySelector('#notice_id').value;", vec![])
            .await
            .unwrap();
        let notice: i64 = notice.as_str().unwrap().parse().unwrap();
        staff.set("#starts_at", &county_minute(-1)).await;
        staff.set("#ends_at", &county_minute(30)).await;
        staff.follow("#new-override button[type=submit]").await;
        assert_eq!(staff.path().await, "/admin/overrides");
        let row = staff.text("tbody tr").await;
        assert!(row.contains("待批准"), "{row}");
        assert!(
            staff
                .browser
                .find(Locator::Css("form[action$='/approve']"))
                .await
                .is_err(),
            "no approving one's own request"
        );
        let id: String = staff
            .text("tbody tr td")
            .await
            .trim_start_matches('#')
            .to_owned();
        let segment = format!("override:{id}");
        assert!(
            !as_run(data)
                .iter()
                .any(|l| l["segment"] == segment.as_str()),
            "nothing airs before the second approval"
        );
        staff.logout().await;

        // The administrator approves: it airs on the county channel, full screen.
        staff.login("admin", "shifan-admin-2026").await;
        staff.open("/admin/overrides").await;
        staff
            .follow(&format!(
                "form[action='/admin/overrides/{id}/approve'] button"
            ))
            .await;
        assert!(staff.text("tbody tr").await.contains("播出中"));
        let aired = wait_for(60, || {
            as_run(data)
                .iter()
                .any(|l| l["segment"] == segment.as_str() && l["item"].as_i64() == Some(notice))
                .then_some(())
        });
        assert!(
            aired.is_some(),
            "the approved override is not in the as-run log"
        );
        // What airs now, drawn: the override.
        staff.open("/admin/channels/county/epg").await;
        assert!(staff.text("#on-air-text").await.contains("紧急插播"));
        assert!(staff.image_loaded("#on-air-image").await);

        // Cancelled: it leaves the air.
        staff.open("/admin/overrides").await;
        staff
            .follow(&format!(
                "form[action='/admin/overrides/{id}/cancel'] button"
            ))
            .await;
        assert!(staff.text("tbody tr").await.contains("已取消"));
        let left = wait_for(60, || {
            as_run(data)
                .iter()
                .rfind(|l| l["channel"] == "county")
                .is_some_and(|l| l["segment"] != segment.as_str())
                .then_some(())
        });
        assert!(left.is_some(), "still on air after cancelling");
        staff.browser.close().await.unwrap();
    });
}
