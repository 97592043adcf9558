//! The staff pages over the production route table (`app().oneshot`), with a cookie jar:
//! login and lockout, CSRF, the forced password change, the publishing workflow from
//! draft to the air and off, permissions by role and department, escaping, the audit log.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use headend::accounts::{self, Grant, NewUser, Role};
use headend::store::Store;
use headend::web::{app, AppState};
use tower::ServiceExt;

use crate::mini_store;

const PASSWORD: &str = "correct-horse-9";

/// One browser: the app, its cookies, and the last page's CSRF token.
struct Browser {
    app: axum::Router,
    cookies: HashMap<String, String>,
    forwarded_https: bool,
}

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

impl Browser {
    fn new(store: &Store) -> Browser {
        Browser::with_state(AppState::new(store.clone()))
    }

    fn with_state(state: AppState) -> Browser {
        Browser {
            app: app(state),
            cookies: HashMap::new(),
            forwarded_https: false,
        }
    }

    async fn send(&mut self, request: Request<Body>) -> Page {
        let mut request = request;
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !jar.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, jar.join("; ").parse().unwrap());
        }
        if self.forwarded_https {
            request
                .headers_mut()
                .insert("x-forwarded-proto", "https".parse().unwrap());
        }
        let response = self.app.clone().oneshot(request).await.unwrap();
        for v in response.headers().get_all(header::SET_COOKIE) {
            let text = v.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap_or((text, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 8 << 20)
            .await
            .unwrap();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(form).unwrap();
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    async fn login(&mut self, name: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            "/login",
            &[("csrf", &csrf), ("name", name), ("password", password)],
        )
        .await
    }

    /// A form posted with the CSRF token of the page at `from`.
    async fn submit(&mut self, from: &str, to: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(from).await;
        assert_eq!(page.status, StatusCode::OK, "{from}: {}", page.body);
        let csrf = page.csrf();
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post(to, &form).await
    }
}

/// Roles, each for a department or the county.
type Grants = &'static [(Role, Option<&'static str>)];

async fn county() -> Store {
    let store = tokio::task::spawn_blocking(mini_store).await.unwrap();
    let hash = tokio::task::spawn_blocking(|| accounts::hash_password(PASSWORD).unwrap())
        .await
        .unwrap();
    store
        .call(move |conn| {
            let users: [(&str, Grants, bool); 6] = [
                ("editor", &[(Role::Editor, Some("mzj"))], false),
                ("reviewer", &[(Role::Reviewer, Some("mzj"))], false),
                ("townrev", &[(Role::Reviewer, Some("xkz"))], false),
                (
                    "both",
                    &[(Role::Editor, Some("mzj")), (Role::Reviewer, None)],
                    false,
                ),
                ("admin", &[(Role::Admin, None)], false),
                ("newbie", &[(Role::Operator, None)], true),
            ];
            for (name, grants, must_change) in users {
                let grants: Vec<Grant> = grants
                    .iter()
                    .map(|(role, d)| Grant {
                        role: *role,
                        department: d.map(str::to_owned),
                    })
                    .collect();
                let user = NewUser {
                    name,
                    display_name: "",
                    password_hash: &hash,
                    grants: &grants,
                    must_change,
                };
                accounts::add_user(conn, &user, "test", chrono::Utc::now()).unwrap();
            }
            Ok(())
        })
        .await
        .unwrap();
    store
}

async fn audit_actions(store: &Store, kind: &str) -> Vec<(String, String)> {
    let kind = kind.to_owned();
    store
        .call(move |conn| {
            Ok(conn
                .prepare("SELECT actor, action FROM audit_log WHERE object_kind = ?1 ORDER BY id")?
                .query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_wrong_passwords_lock_the_account() {
    let store = county().await;
    let mut b = Browser::new(&store);
    // Anonymous: every staff page sends you to the login page, and back afterwards.
    let page = b.get("/admin/notices?status=submitted").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location(),
        "/login?next=%2Fadmin%2Fnotices%3Fstatus%3Dsubmitted"
    );
    // No double-submit token: refused.
    let page = b
        .post("/login", &[("name", "editor"), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("登录页面已过期"), "{}", page.body);

    let page = b.login("editor", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/admin");
    let cookie = page.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("govchannel_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );
    let page = b.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("信息员（mzj）"), "{}", page.body);

    // Behind a TLS proxy the cookie is Secure as well.
    let mut tls = Browser::new(&store);
    tls.forwarded_https = true;
    let page = tls.login("reviewer", PASSWORD).await;
    let cookie = page.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");

    // Five wrong passwords lock the account; then even the right one is refused.
    let mut attacker = Browser::new(&store);
    for i in 1..=5 {
        let page = attacker.login("reviewer", "guess-wrong-1").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert!(!attacker.cookies.contains_key("govchannel_session"));
        if i == 5 {
            assert!(page.body.contains("账号已锁定15分钟"), "{}", page.body);
        } else {
            assert!(page.body.contains("用户名或密码不正确"), "{}", page.body);
        }
    }
    let page = attacker.login("reviewer", PASSWORD).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("已锁定"));
    assert!(!attacker.cookies.contains_key("govchannel_session"));
    // An unknown name reads exactly like a wrong password.
    let page = attacker.login("nobody", PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("用户名或密码不正确"));
    let actions = audit_actions(&store, "user").await;
    assert_eq!(
        actions.iter().filter(|(_, a)| a == "login_failed").count(),
        6
    );
    assert!(actions.contains(&("system".into(), "user_locked".into())));

    // Logging out needs the token too, and ends the session.
    let page = b.post("/logout", &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = b.submit("/admin", "/logout", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/admin").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_one_time_password_must_be_changed_before_anything_else() {
    let store = county().await;
    let mut b = Browser::new(&store);
    let page = b.login("newbie", PASSWORD).await;
    assert_eq!(page.location(), "/admin/password");
    let page = b.get("/admin/notices").await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/admin/password")
    );
    let page = b.get("/admin/password").await;
    assert!(page.body.contains("请先设置您自己的密码"));
    // Too short, and not repeated the same: both said next to their fields.
    let page = b
        .submit(
            "/admin/password",
            "/admin/password",
            &[("current", PASSWORD), ("new", "short"), ("repeat", "other")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("新密码至少需要10个字符")
            && page.body.contains("两次输入的新密码不一致")
    );
    let page = b
        .submit(
            "/admin/password",
            "/admin/password",
            &[
                ("current", PASSWORD),
                ("new", "my-own-secret-7"),
                ("repeat", "my-own-secret-7"),
            ],
        )
        .await;
    assert_eq!(
        (page.status, page.location()),
        (StatusCode::SEE_OTHER, "/admin?flash=password")
    );
    assert_eq!(b.get("/admin/notices").await.status, StatusCode::OK);
    // The old password no longer works; the new one does, without the detour.
    let mut again = Browser::new(&store);
    assert_eq!(
        again.login("newbie", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        again.login("newbie", "my-own-secret-7").await.location(),
        "/admin"
    );
}

fn notice_form<'a>(
    title: &'a str,
    today: &'a str,
    checked: bool,
    list: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("kind", "publicity"),
        ("title", title),
        ("department", "mzj"),
        ("region", "339902"),
        ("valid_from", today),
        ("valid_until", ""),
        ("priority", "normal"),
        (
            "body",
            "经评议，以下人员拟享受临时救助，联系人手机13812345678。",
        ),
        ("objection_start", today),
        ("objection_end", today),
        ("objection_contact", "县民政局社会救助科"),
        ("objection_phone", "0579-87110001"),
        ("list_title", "临时救助对象名单"),
        ("list", list),
        ("then", "save"),
    ];
    if checked {
        form.push(("confidentiality_checked", "on"));
    }
    form
}

async fn notice_status(store: &Store, id: i64) -> String {
    store
        .call(move |conn| {
            Ok(
                conn.query_row("SELECT status FROM notices WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_notice_is_drafted_returned_fixed_approved_aired_and_withdrawn() {
    let store = county().await;
    let today = headend::content::county_today().to_string();
    let xss = "冬季救助公示<script>alert('x')</script>";
    let sql = "'; DROP TABLE notices; --";
    let list = format!("张三明,1200元,339902195301021238,13912345678\n{sql},800元");
    let mut editor = Browser::new(&store);
    editor.login("editor", PASSWORD).await;

    // A mistake keeps everything typed and says what to fix next to the field.
    let mut bad = notice_form(xss, &today, false, &list);
    bad[1] = ("title", "");
    let page = editor
        .submit("/admin/notices/new", "/admin/notices/new", &bad)
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("请填写标题"));
    assert!(
        page.body.contains("县民政局社会救助科") && page.body.contains("339902195301021238"),
        "input kept"
    );

    // Saved, then submitting without the confidentiality box is refused with a reason.
    let page = editor
        .submit(
            "/admin/notices/new",
            "/admin/notices/new",
            &notice_form(xss, &today, false, &list),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let path = page.location().split('?').next().unwrap().to_owned();
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let page = editor.get(&path).await;
    assert!(page.body.contains("草稿"));
    assert!(!page.body.contains("<script>alert"), "escaped in the UI");
    assert!(page.body.contains("&lt;script&gt;"));
    // The scan flags the ID number and both mobiles for the reviewer.
    assert!(page.body.contains("保密审查提示（3 处）"), "{}", page.body);
    let page = editor.submit(&path, &format!("{path}/submit"), &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("提交前请完成保密审查并勾选确认"));
    let mut form = notice_form(xss, &today, true, &list);
    form.retain(|(k, _)| *k != "then");
    form.push(("then", "submit"));
    let page = editor.submit(&path, &path, &form).await;
    assert_eq!(page.location(), format!("{path}?flash=submitted"));
    assert_eq!(notice_status(&store, id).await, "submitted");

    // A reviewer of another department cannot see it; the department's reviewer returns it.
    let mut town = Browser::new(&store);
    town.login("townrev", PASSWORD).await;
    assert_eq!(town.get(&path).await.status, StatusCode::FORBIDDEN);
    let mut reviewer = Browser::new(&store);
    reviewer.login("reviewer", PASSWORD).await;
    let page = reviewer.get("/admin").await;
    assert!(page.body.contains("待我审核（1）"), "{}", page.body);
    let page = reviewer.get(&path).await;
    assert!(page.body.contains("<mark"), "findings highlighted");
    let page = reviewer
        .submit(
            &path,
            &format!("{path}/return"),
            &[("reason", "名单缺少村别，请补充")],
        )
        .await;
    assert_eq!(page.location(), format!("{path}?flash=returned"));
    let page = editor.get(&path).await;
    assert!(page.body.contains("退回原因：名单缺少村别，请补充"));
    // The editor cannot approve; fixes it and submits again.
    let page = editor.submit(&path, &format!("{path}/approve"), &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let fixed = format!("{list},城关村");
    let mut form = notice_form(xss, &today, true, &fixed);
    form.retain(|(k, _)| *k != "then");
    form.push(("then", "submit"));
    assert_eq!(
        editor.submit(&path, &path, &form).await.status,
        StatusCode::SEE_OTHER
    );

    // A county reviewer who is also an editor may approve others' items, never their own.
    let mut both = Browser::new(&store);
    both.login("both", PASSWORD).await;
    let page = both.get(&path).await;
    assert!(page.body.contains("id=\"approve\""), "{}", page.body);
    let mut own = notice_form("自己起草的通知", &today, true, "");
    own.retain(|(k, _)| *k != "then");
    own.push(("then", "submit"));
    let page = both
        .submit("/admin/notices/new", "/admin/notices/new", &own)
        .await;
    let own_path = page.location().split('?').next().unwrap().to_owned();
    let page = both.get(&own_path).await;
    assert!(page.body.contains("待审核") && !page.body.contains("id=\"approve\""));
    let page = both
        .submit(&own_path, &format!("{own_path}/approve"), &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("不能审核自己起草的信息"),
        "{}",
        page.body
    );

    let page = reviewer
        .submit(&path, &format!("{path}/approve"), &[])
        .await;
    assert_eq!(page.location(), format!("{path}?flash=published"));
    assert_eq!(notice_status(&store, id).await, "published");

    // On air: masked, and SQL-looking text stored and drawn verbatim.
    let today_date = headend::content::county_today();
    let on_air = store
        .call(move |conn| headend::pages::notices_on_air(conn, "339902", today_date, 50))
        .await
        .unwrap();
    let (_, _, screen) = on_air
        .iter()
        .find(|(nid, _, _)| *nid == id)
        .expect("published notice on air");
    assert!(
        screen.title.contains("<script>alert('x')</script>"),
        "drawn literally"
    );
    assert!(screen.body.contains("138****5678") && !screen.body.contains("13812345678"));
    let stored: (String, String) = store
        .call(move |conn| {
            Ok(conn.query_row(
                "SELECT n.title, r.name FROM notices n JOIN public_lists l ON l.notice_id = n.id
                 JOIN public_list_rows r ON r.list_id = l.id WHERE n.id = ?1 AND r.seq = 2",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(stored, (xss.to_owned(), sql.to_owned()));
    let list_screen = store
        .call(move |conn| headend::pages::public_lists_of(conn, id))
        .await
        .unwrap();
    let text = serde_json::to_string(&list_screen).unwrap();
    assert!(
        !text.contains("339902195301021238") && !text.contains("13912345678"),
        "{text}"
    );
    assert!(text.contains("张*明"), "{text}");

    // Withdrawn: off the air.
    let page = reviewer
        .submit(
            &path,
            &format!("{path}/withdraw"),
            &[("reason", "政策调整")],
        )
        .await;
    assert_eq!(page.location(), format!("{path}?flash=withdrawn"));
    let on_air = store
        .call(move |conn| headend::pages::notices_on_air(conn, "339902", today_date, 50))
        .await
        .unwrap();
    assert!(on_air.iter().all(|(nid, _, _)| *nid != id));

    // Every step in the audit log, by who did it.
    let id_text = id.to_string();
    let steps: Vec<(String, String)> = store
        .call(move |conn| {
            Ok(conn
                .prepare("SELECT actor, action FROM audit_log WHERE object_kind = 'notice' AND object_id = ?1 ORDER BY id")?
                .query_map([id_text], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .unwrap();
    let steps: Vec<(&str, &str)> = steps
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("editor", "create"),
            ("editor", "edit"),
            ("editor", "submit"),
            ("reviewer", "return"),
            ("editor", "edit"),
            ("editor", "submit"),
            ("reviewer", "approve"),
            ("system", "publish"),
            ("reviewer", "withdraw"),
        ]
    );
    // The admin exports the log as CSV; the editor sees only their own actions.
    let mut admin = Browser::new(&store);
    admin.login("admin", PASSWORD).await;
    let csv = admin
        .get(&format!("/admin/audit.csv?object=notice:{id}"))
        .await;
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(csv.body.lines().count(), 1 + 9, "{}", csv.body);
    assert!(csv.body.contains("审核通过") && csv.body.contains("名单缺少村别"));
    let page = editor.get("/admin/audit?action=return").await;
    assert!(page.body.contains("共 0 条"), "{}", page.body);
    let page = admin.get("/admin/audit?action=return").await;
    assert!(page.body.contains("共 1 条"));
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let store = county().await;
    let today = headend::content::county_today().to_string();
    let mut editor = Browser::new(&store);
    editor.login("editor", PASSWORD).await;
    let form = notice_form("无令牌", &today, true, "");
    let page = editor.post("/admin/notices/new", &form).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("请求未通过安全校验"));
    let mut forged = vec![("csrf", "0".repeat(64))];
    forged.extend(form.iter().map(|(k, v)| (*k, v.to_string())));
    let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        editor.post("/admin/notices/new", &forged).await.status,
        StatusCode::FORBIDDEN
    );
    let created: i64 = store
        .call(|conn| {
            Ok(conn.query_row(
                "SELECT count(*) FROM notices WHERE title = '无令牌'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(created, 0);
    // The header form of the token works for scripts.
    let csrf = editor.get("/admin").await.csrf();
    let body = serde_urlencoded::to_string(&form).unwrap();
    let page = editor
        .send(
            Request::post("/admin/notices/new")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("x-csrf-token", csrf)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn only_administrators_manage_accounts_and_new_ones_get_a_one_time_password() {
    let store = county().await;
    let mut editor = Browser::new(&store);
    editor.login("editor", PASSWORD).await;
    assert_eq!(
        editor.get("/admin/users").await.status,
        StatusCode::FORBIDDEN
    );
    let mut admin = Browser::new(&store);
    admin.login("admin", PASSWORD).await;
    let page = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("name", "li"),
                ("display_name", "李"),
                ("role", "editor"),
                ("department", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("信息员必须选择所属单位"));
    let page = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("name", "li"),
                ("display_name", "李"),
                ("role", "editor"),
                ("department", "xkz"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let at = page.body.find("id=\"one-time-password\">").unwrap();
    let password = &page.body[at + 23..at + 35];
    let mut li = Browser::new(&store);
    assert_eq!(li.login("li", password).await.location(), "/admin/password");
    assert!(audit_actions(&store, "user")
        .await
        .contains(&("admin".into(), "user_add".into())));
}

/// The audit record of the last `action` on user `name`: (actor, detail JSON).
async fn last_user_audit(store: &Store, name: &str, action: &str) -> (String, serde_json::Value) {
    let (name, action) = (name.to_owned(), action.to_owned());
    store
        .call(move |conn| {
            Ok(conn.query_row(
                "SELECT actor, detail FROM audit_log
                 WHERE object_kind = 'user' AND object_id = ?1 AND action = ?2
                 ORDER BY id DESC LIMIT 1",
                [name, action],
                |r| {
                    let detail: String = r.get(1)?;
                    Ok((r.get(0)?, serde_json::from_str(&detail).unwrap()))
                },
            )?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn administrators_change_roles_disable_unlock_and_reset_accounts_and_each_change_is_audited()
{
    let store = county().await;
    let mut admin = Browser::new(&store);
    admin.login("admin", PASSWORD).await;
    let mut editor = Browser::new(&store);
    editor.login("editor", PASSWORD).await;
    // Others' account pages are for administrators only.
    assert_eq!(
        editor.get("/admin/users/reviewer").await.status,
        StatusCode::FORBIDDEN
    );
    let page = editor
        .submit("/admin", "/admin/users/editor/roles", &[("keep", "admin")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    // The list searches; the account page shows the roles with department names.
    let list = admin.get("/admin/users?q=REV").await;
    assert!(
        list.body.contains("href=\"/admin/users/reviewer\""),
        "{}",
        list.body
    );
    assert!(list.body.contains("townrev") && !list.body.contains(">editor<"));
    let page = admin.get("/admin/users/editor").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("value=\"editor:mzj\" checked"),
        "{}",
        page.body
    );

    // Keep the editor role, add county-wide reviewing: audited with before and after.
    let page = admin
        .submit(
            "/admin/users/editor",
            "/admin/users/editor/roles",
            &[
                ("keep", "editor:mzj"),
                ("add_role", "reviewer"),
                ("add_department", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let shown = admin.get(page.location()).await;
    assert!(shown.body.contains("角色已保存"), "{}", shown.body);
    let (actor, detail) = last_user_audit(&store, "editor", "permission_change").await;
    assert_eq!(actor, "admin");
    assert_eq!(detail["before"].as_array().unwrap().len(), 1, "{detail}");
    assert_eq!(detail["after"].as_array().unwrap().len(), 2, "{detail}");
    // The editor's session sees the new role at once.
    let me = editor.get("/api/v1/me").await;
    assert!(me.body.contains("\"reviewer\""), "{}", me.body);
    // Removing every role is refused: disabling is the way to take all rights away.
    let page = admin
        .submit("/admin/users/editor", "/admin/users/editor/roles", &[])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("至少要有一个角色"));
    // An editor without a department is refused with the field's message.
    let page = admin
        .submit(
            "/admin/users/editor",
            "/admin/users/editor/roles",
            &[
                ("keep", "editor:mzj"),
                ("add_role", "editor"),
                ("add_department", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("信息员必须选择所属单位"));
    // The only administrator can neither drop the role nor disable themselves.
    let page = admin
        .submit(
            "/admin/users/admin",
            "/admin/users/admin/roles",
            &[("keep", "operator")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("没有可用的管理员"), "{}", page.body);
    let page = admin
        .submit("/admin/users/admin", "/admin/users/admin/disable", &[])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("不能停用自己的账号"));
    assert_eq!(admin.get("/api/v1/me").await.status, StatusCode::OK);

    // Disabling ends the editor's session at once; enabling lets them log in again.
    let page = admin
        .submit("/admin/users/editor", "/admin/users/editor/disable", &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(editor.get("/admin").await.status, StatusCode::SEE_OTHER);
    let mut again = Browser::new(&store);
    let refused = again.login("editor", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("该账号已停用"));
    assert!(!again
        .cookies
        .contains_key(headend::web::staff::SESSION_COOKIE));
    admin
        .submit("/admin/users/editor", "/admin/users/editor/enable", &[])
        .await;
    assert_eq!(again.login("editor", PASSWORD).await.location(), "/admin");

    // Five wrong passwords lock the reviewer; the administrator unlocks them.
    let mut reviewer = Browser::new(&store);
    for _ in 0..accounts::MAX_FAILURES {
        reviewer.login("reviewer", "wrong-password-1").await;
    }
    assert!(admin
        .get("/admin/users/reviewer")
        .await
        .body
        .contains("已锁定"));
    assert_ne!(
        reviewer.login("reviewer", PASSWORD).await.location(),
        "/admin"
    );
    let page = admin
        .submit("/admin/users/reviewer", "/admin/users/reviewer/unlock", &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reviewer.login("reviewer", PASSWORD).await.location(),
        "/admin"
    );

    // A reset ends the sessions and shows a one-time password once.
    let page = admin
        .submit("/admin/users/reviewer", "/admin/users/reviewer/reset", &[])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let at = page.body.find("id=\"one-time-password\">").unwrap();
    let password = page.body[at + 23..at + 35].to_owned();
    assert_eq!(reviewer.get("/admin").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reviewer.login("reviewer", &password).await.location(),
        "/admin/password"
    );
    let actions = audit_actions(&store, "user").await;
    for action in [
        "permission_change",
        "user_disable",
        "user_enable",
        "user_unlock",
        "password_reset",
    ] {
        assert!(
            actions.contains(&("admin".into(), action.into())),
            "{action} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn administrators_add_edit_and_delete_ingest_sources_from_the_pages_and_each_change_is_audited(
) {
    let store = county().await;
    let hub = headend::ingest::Hub::new(
        store.clone(),
        headend::ingest::Fetcher::new(
            std::time::Duration::from_secs(1),
            headend::ingest::Reach::anywhere(),
        )
        .unwrap(),
    );
    let state = AppState::new(store.clone()).with_ingest(hub, None);
    let mut editor = Browser::with_state(state.clone());
    editor.login("editor", PASSWORD).await;
    assert_eq!(
        editor.get("/admin/sources/new").await.status,
        StatusCode::FORBIDDEN
    );
    let mut admin = Browser::with_state(state.clone());
    admin.login("admin", PASSWORD).await;
    let list = admin.get("/admin/sources").await;
    assert!(
        list.body.contains("href=\"/admin/sources/new\""),
        "{}",
        list.body
    );

    // Bad fields: each message next to its field, everything typed kept, nothing stored.
    let page = admin
        .submit(
            "/admin/sources/new",
            "/admin/sources",
            &[
                ("name", "Town Feed"),
                ("url", "/srv/feeds/xkz.xml"),
                ("kind", "notices"),
                ("format", "auto"),
                ("interval", "600"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("href=\"#name\">名称只能用小写字母"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("required><span class=\"field-error\">名称只能用小写字母"),
        "the message stands next to the field: {}",
        page.body
    );
    assert!(page.body.contains("feeds&#x2f;xkz.xml\""), "{}", page.body);
    let page = admin
        .submit(
            "/admin/sources/new",
            "/admin/sources",
            &[
                ("name", "xkz-feed"),
                ("url", "/srv/feeds/xkz.csv"),
                ("kind", "catalogue"),
                ("format", "rss"),
                ("interval", "600"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("不适用于政务公开目录"), "{}", page.body);
    assert!(audit_actions(&store, "source").await.is_empty());

    // Added, then edited (a longer interval, trusted), then deleted.
    let page = admin
        .submit(
            "/admin/sources/new",
            "/admin/sources",
            &[
                ("name", "xkz-feed"),
                ("url", "/srv/feeds/xkz.xml"),
                ("kind", "notices"),
                ("format", "auto"),
                ("department", "mzj"),
                ("region", "339902"),
                ("interval", "600"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let list = admin.get(page.location()).await;
    assert!(list.body.contains("采集来源已新增") && list.body.contains("xkz-feed"));
    assert!(admin
        .get("/admin/sources?q=xkz")
        .await
        .body
        .contains("共 1 个"));
    assert!(admin
        .get("/admin/sources?q=nothing")
        .await
        .body
        .contains("共 0 个"));
    let page = admin.get("/admin/sources/xkz-feed/edit").await;
    assert!(page.body.contains("value=\"600\"") && page.body.contains("value=\"339902\" selected"));
    let page = admin
        .submit(
            "/admin/sources/xkz-feed/edit",
            "/admin/sources/xkz-feed/edit",
            &[
                ("url", "/srv/feeds/xkz.xml"),
                ("kind", "notices"),
                ("format", "auto"),
                ("department", "mzj"),
                ("region", "339902"),
                ("interval", "1800"),
                ("trusted", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let source = state
        .ingest
        .as_ref()
        .unwrap()
        .hub
        .get("xkz-feed")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(source.spec.interval.as_secs(), 1800);
    assert!(source.spec.trusted);
    let page = admin
        .submit(
            "/admin/sources/xkz-feed/edit",
            "/admin/sources/xkz-feed/delete",
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(state
        .ingest
        .as_ref()
        .unwrap()
        .hub
        .get("xkz-feed")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        admin.get("/admin/sources/xkz-feed/edit").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        audit_actions(&store, "source").await,
        vec![
            ("admin".to_owned(), "source_create".to_owned()),
            ("admin".to_owned(), "source_update".to_owned()),
            ("admin".to_owned(), "source_delete".to_owned()),
        ]
    );
    let detail: serde_json::Value = store
        .call(|conn| {
            let text: String = conn.query_row(
                "SELECT detail FROM audit_log WHERE action = 'source_update'",
                [],
                |r| r.get(0),
            )?;
            Ok(serde_json::from_str(&text).unwrap())
        })
        .await
        .unwrap();
    assert_eq!(
        (&detail["before"]["interval"], &detail["after"]["interval"]),
        (&serde_json::json!(600), &serde_json::json!(1800))
    );
}

#[tokio::test]
async fn county_reviewers_keep_the_sensitive_word_list_and_the_scan_flags_new_words_at_once() {
    let store = county().await;
    // A department's reviewer sees the list but cannot change it.
    let mut reviewer = Browser::new(&store);
    reviewer.login("reviewer", PASSWORD).await;
    let page = reviewer.get("/admin/words?q=%E6%9C%BA%E5%AF%86").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<td>机密</td>") && !page.body.contains("<td>绝密</td>"));
    assert!(!page.body.contains("id=\"add-words\""));
    let page = reviewer
        .submit("/admin/words", "/admin/words", &[("words", "拆迁补偿")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    // A county-wide reviewer adds two words (blank lines and repeats ignored).
    let mut both = Browser::new(&store);
    both.login("both", PASSWORD).await;
    let page = both
        .submit(
            "/admin/words",
            "/admin/words",
            &[("words", "拆迁补偿\n\n  征地名单 \n拆迁补偿")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(both.get(page.location()).await.body.contains("已添加"));
    // Too long a word: the message, and what was typed is kept.
    let long = "很".repeat(33);
    let page = both
        .submit("/admin/words", "/admin/words", &[("words", &long)])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("不超过32个字") && page.body.contains(&long));

    // The editor's next notice is scanned against the new list.
    let mut editor = Browser::new(&store);
    editor.login("editor", PASSWORD).await;
    let csrf = editor.get("/admin").await.csrf();
    let form = serde_json::json!({
        "kind": "notice", "title": "关于征地名单的说明", "department": "mzj", "region": "339902",
        "valid_from": headend::content::county_today().to_string(), "priority": "normal",
        "body": "拆迁补偿标准另行公布。"
    });
    let made = editor
        .send(
            Request::post("/api/v1/notices")
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-csrf-token", csrf)
                .body(Body::from(form.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id: serde_json::Value = serde_json::from_str(&made.body).unwrap();
    let got = editor.get(&format!("/api/v1/notices/{}", id["id"])).await;
    let got: serde_json::Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(got["findings"]["title"][0]["text"], "征地名单", "{got}");
    assert_eq!(got["findings"]["body"][0]["text"], "拆迁补偿", "{got}");

    // Removed again; both changes are in the audit log with who made them.
    let page = both
        .submit(
            "/admin/words",
            "/admin/words/remove",
            &[("word", "征地名单")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let list = both.get("/admin/words").await;
    assert!(!list.body.contains("<td>征地名单</td>") && list.body.contains("<td>拆迁补偿</td>"));
    assert_eq!(
        audit_actions(&store, "sensitive_words").await,
        vec![
            ("both".to_owned(), "sensitive_words_add".to_owned()),
            ("both".to_owned(), "sensitive_words_remove".to_owned()),
        ]
    );
}

#[tokio::test]
async fn editors_edit_their_departments_catalogue_entries_and_service_guides_and_the_screen_follows(
) {
    let store = county().await;
    let (id, ingested) = store
        .call(|conn| {
            let id: i64 = conn.query_row(
                "SELECT id FROM catalogue_entries WHERE index_no = '339902-mzj-2026-00002'",
                [],
                |r| r.get(0),
            )?;
            // Another entry as if a source maintained it.
            let other: i64 = conn.query_row(
                "SELECT id FROM catalogue_entries WHERE index_no = '339902-mzj-2026-00001'",
                [],
                |r| r.get(0),
            )?;
            conn.execute(
                "UPDATE catalogue_entries SET source = 'platform', source_id = 'x1' WHERE id = ?1",
                [other],
            )?;
            Ok((id, other))
        })
        .await
        .unwrap();
    let path = format!("/admin/catalogue/{id}");
    // Another department's reviewer reads it but cannot save.
    let mut townrev = Browser::new(&store);
    townrev.login("townrev", PASSWORD).await;
    let page = townrev.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("只有本单位的信息员") && !page.body.contains(">保存</button>"));
    let page = townrev
        .submit(
            &path,
            &path,
            &[("title", "改"), ("update_frequency", "yearly")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let mut editor = Browser::new(&store);
    editor.login("editor", PASSWORD).await;
    let page = editor.get(&path).await;
    assert!(page.body.contains(">保存</button>") && page.body.contains("id=\"materials\""));
    // Bad fields: each message, everything typed kept.
    let page = editor
        .submit(
            &path,
            &path,
            &[
                ("title", ""),
                ("update_frequency", "yearly"),
                ("valid_until", "明年"),
                ("materials", "身份证｜原件1份"),
                ("promised_limit_days", "十天"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("承诺时限应填写工作日天数"),
        "{}",
        page.body
    );
    let page = editor
        .submit(
            &path,
            &path,
            &[
                ("title", ""),
                ("update_frequency", "yearly"),
                ("valid_until", "明年"),
                ("materials", "身份证｜原件1份"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("请填写标题") && page.body.contains("有效期应为"));
    assert!(page
        .body
        .contains("required><span class=\"field-error\">请填写标题"));
    assert!(page.body.contains("身份证｜原件1份"));

    let page = editor
        .submit(
            &path,
            &path,
            &[
                ("title", "最低生活保障审批（2026年修订）"),
                ("doc_no", "示民〔2026〕8号"),
                ("summary", ""),
                ("body", ""),
                ("valid_until", ""),
                ("update_frequency", "half_yearly"),
                ("conditions", "本县户籍\n家庭人均收入低于当地低保标准"),
                (
                    "materials",
                    "身份证｜原件1份｜核验后退还\n\n户口簿｜复印件1份｜",
                ),
                ("steps", "申请\n审核\n公示\n审批"),
                ("promised_limit_days", "15"),
                ("fees", "不收费"),
                ("place", "各乡镇便民服务中心"),
                ("hours", "工作日 8:30-17:00"),
                ("phone", "0579-00000000"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(editor.get(page.location()).await.body.contains("已保存"));
    // The guide screen shows the new materials and time limit.
    let guide = store
        .call(move |conn| Ok(headend::pages::guide(conn, id)?.unwrap()))
        .await
        .unwrap();
    assert_eq!(guide.title, "最低生活保障审批（2026年修订）");
    assert_eq!(
        guide.materials,
        vec!["身份证（原件1份），核验后退还", "户口簿（复印件1份）"]
    );
    // The legal limit comes from the law, not from this form: it stays.
    assert_eq!(guide.time_limit, "法定30个工作日，承诺15个工作日");
    // Audited with the fields before and after.
    let detail: serde_json::Value = store
        .call(|conn| {
            let (actor, text): (String, String) = conn.query_row(
                "SELECT actor, detail FROM audit_log WHERE action = 'catalogue_edit'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            assert_eq!(actor, "editor");
            Ok(serde_json::from_str(&text).unwrap())
        })
        .await
        .unwrap();
    assert_eq!(detail["title"]["before"], "最低生活保障审批", "{detail}");
    assert_eq!(detail["update_frequency"]["after"], "half_yearly");

    // An entry a source maintains is not edited here.
    let other = format!("/admin/catalogue/{ingested}");
    assert!(editor.get(&other).await.body.contains("请在源平台修改"));
    let page = editor
        .submit(
            &other,
            &other,
            &[("title", "改"), ("update_frequency", "yearly")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
}

#[tokio::test]
async fn the_json_api_takes_the_session_cookie_with_the_csrf_header_for_writes() {
    let store = county().await;
    let mut b = Browser::new(&store);
    b.login("editor", PASSWORD).await;
    let me = b.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert!(me.body.contains("\"editor\""));
    let today = headend::content::county_today().to_string();
    let form = serde_json::json!({
        "kind": "notice", "title": "会话写入", "department": "mzj", "region": "339902",
        "valid_from": today, "priority": "normal", "body": "正文"
    })
    .to_string();
    let post = |csrf: Option<String>| {
        let mut req =
            Request::post("/api/v1/notices").header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.body(Body::from(form.clone())).unwrap()
    };
    let page = b.send(post(None)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains("X-CSRF-Token"));
    let csrf = b.get("/admin").await.csrf();
    let page = b.send(post(Some(csrf))).await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
}

#[tokio::test]
async fn overdue_catalogue_entries_are_confirmed_by_their_department_and_scored() {
    let store = county().await;
    store
        .call(|conn| {
            Ok(conn.execute(
                "UPDATE catalogue_entries SET updated_at = '2025-01-01T00:00:00Z'
                 WHERE index_no IN ('339902-mzj-2026-00001', '339902-xkz-2026-00001')",
                [],
            )?)
        })
        .await
        .unwrap();
    let ids: Vec<i64> = store
        .call(|conn| {
            Ok(conn
                .prepare("SELECT id FROM catalogue_entries WHERE index_no IN ('339902-mzj-2026-00001', '339902-xkz-2026-00001') ORDER BY index_no")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .unwrap();
    let (mzj_entry, xkz_entry) = (ids[0], ids[1]);
    let mut editor = Browser::new(&store);
    editor.login("editor", PASSWORD).await;
    let page = editor.get("/admin").await;
    assert!(
        page.body.contains("逾期未更新的目录（1）"),
        "only the editor's department: {}",
        page.body
    );
    let page = editor.get("/admin/catalogue?overdue=1").await;
    assert!(page.body.contains("共 2 条"), "{}", page.body);
    assert!(page.body.contains("逾期"));
    assert!(page
        .body
        .contains(&format!("/admin/catalogue/{mzj_entry}/confirm")));
    assert!(
        !page
            .body
            .contains(&format!("/admin/catalogue/{xkz_entry}/confirm")),
        "not another department's"
    );
    let page = editor
        .submit(
            "/admin/catalogue",
            &format!("/admin/catalogue/{xkz_entry}/confirm"),
            &[("update_frequency", "yearly")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = editor
        .submit(
            "/admin/catalogue",
            &format!("/admin/catalogue/{mzj_entry}/confirm"),
            &[("update_frequency", "half_yearly")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let page = editor.get("/admin/catalogue?overdue=1").await;
    assert!(page.body.contains("共 1 条"), "{}", page.body);
    let frequency: String = store
        .call(move |conn| {
            Ok(conn.query_row(
                "SELECT update_frequency FROM catalogue_entries WHERE id = ?1",
                [mzj_entry],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(frequency, "half_yearly");
    assert!(audit_actions(&store, "catalogue_entry")
        .await
        .contains(&("editor".into(), "catalogue_confirm".into())));

    // The scorecard: rules beside the scores; the town still has an overdue entry.
    let page = editor.get("/admin/scorecard?days=90").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("计分规则")
            && page
                .body
                .contains("每有1条政务公开目录超过其更新频率未更新，扣5分")
    );
    assert!(page.body.contains("1条目录逾期未更新"), "{}", page.body);
    let csv = editor.get("/admin/scorecard.csv?days=90").await;
    assert!(
        csv.body.contains("单位代码,单位,得分") && csv.body.contains("xkz"),
        "{}",
        csv.body
    );
}

#[tokio::test]
async fn operators_run_polls_and_staff_browse_cases_with_other_departments_masked() {
    let store = county().await;
    let today = headend::content::county_today();
    let mut editor = Browser::new(&store);
    editor.login("editor", PASSWORD).await;
    // Editors see polls but cannot start one.
    let page = editor.get("/admin/polls").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("id=\"new-poll\""));
    let mut operator = Browser::new(&store);
    operator.login("newbie", PASSWORD).await;
    operator
        .submit(
            "/admin/password",
            "/admin/password",
            &[
                ("current", PASSWORD),
                ("new", "operator-own-7"),
                ("repeat", "operator-own-7"),
            ],
        )
        .await;
    let closes = (today + chrono::Duration::days(7)).to_string();
    let opens = today.to_string();
    let page = operator
        .submit(
            "/admin/polls",
            "/admin/polls",
            &[
                ("question", "村里最需要修的是？"),
                ("region", "339902"),
                ("opens_on", &opens),
                ("closes_on", &closes),
                ("options", "道路"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("选项需要2到9个") && page.body.contains("村里最需要修的是？"),
        "input kept"
    );
    let page = operator
        .submit(
            "/admin/polls",
            "/admin/polls",
            &[
                ("question", "村里最需要修的是？"),
                ("region", "339902"),
                ("opens_on", &opens),
                ("closes_on", &closes),
                ("options", "道路\n路灯\n水渠"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let id: i64 = store
        .call(|conn| {
            Ok(conn.query_row(
                "SELECT id FROM polls WHERE question = '村里最需要修的是？'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    let on_air = store
        .call(move |conn| headend::pages::open_polls(conn, "339902", today))
        .await
        .unwrap();
    assert!(on_air.iter().any(|(p, _)| *p == id), "open on air");
    // The list searches by question (and region).
    let found = editor.get("/admin/polls?q=%E6%B0%B4%E6%B8%A0").await;
    assert!(found.body.contains("共 0 项"), "no question holds 水渠");
    let found = editor
        .get("/admin/polls?q=%E6%9C%80%E9%9C%80%E8%A6%81")
        .await;
    assert!(found.body.contains("共 1 项") && found.body.contains("村里最需要修的是？"));
    let page = editor
        .submit("/admin/polls", &format!("/admin/polls/{id}/close"), &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let csv = editor.get(&format!("/admin/polls/{id}.csv")).await;
    assert!(
        csv.body.contains("水渠") && csv.body.contains("进行中"),
        "{}",
        csv.body
    );
    let page = operator
        .submit("/admin/polls", &format!("/admin/polls/{id}/close"), &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let on_air = store
        .call(move |conn| headend::pages::open_polls(conn, "339902", today))
        .await
        .unwrap();
    assert!(on_air.iter().all(|(p, _)| *p != id), "closed: off the air");
    assert!(audit_actions(&store, "poll")
        .await
        .contains(&("newbie".into(), "poll_close".into())));

    // Cases: the editor of 民政局 sees its applicants whole, the town's masked.
    let page = editor.get("/admin/cases").await;
    assert!(page.body.contains("共 2 件"), "{}", page.body);
    assert!(page.body.contains("李建国"));
    assert!(page.body.contains("张*兰") && !page.body.contains("张桂兰"));
    let page = editor.get("/admin/cases?q=SF20261101000002").await;
    assert!(page.body.contains("共 1 件"));
    // Sources: the page says when ingest is off.
    let page = editor.get("/admin/sources").await;
    assert!(page.body.contains("未启用采集功能"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_give_a_channel_its_outputs_and_it_airs_them_at_once_while_configured_ones_stay_as_configured(
) {
    use headend::playout::spec::HlsOutput;
    use headend::playout::{ChannelSpec, OutputSpec, Playout};
    use headend::schedule::Planner;
    let store = county().await;
    let dir = tempfile::tempdir().unwrap();
    // The config sets up xikou (one SD HLS output); county airs only what operators give it.
    let hls = OutputSpec::Hls(HlsOutput {
        profile: Some(headend::render::Profile::Sd),
        ..HlsOutput::default()
    });
    let specs = vec![ChannelSpec::new("xikou", vec![hls])];
    let planner = Planner::new(store.clone(), specs, false, dir.path());
    let state = AppState::new(store.clone()).with_planner(planner.clone());
    let (p, changes) = (planner.clone(), store.changes());
    let playout = tokio::task::spawn_blocking(move || Playout::start(p.plan_all()?, Some(changes)))
        .await
        .unwrap()
        .unwrap();
    state.playout.set(playout).unwrap();
    let slot = std::sync::Arc::clone(&state.playout);
    let on_air = |name: &str| {
        slot.get().unwrap().channel(name).map(|c| {
            c.lanes
                .iter()
                .flat_map(|l| l.outputs.iter().map(|o| o.label.clone()))
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        on_air("county"),
        None,
        "not configured, no outputs: off air"
    );
    assert_eq!(on_air("xikou"), Some(vec!["hls".to_owned()]));

    let mut admin = Browser::with_state(state);
    admin.login("admin", PASSWORD).await;
    let page = admin.get("/admin/channels").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("未在播出"), "{}", page.body);
    assert!(page
        .body
        .contains("这个频道的输出由配置文件中的 [[channels]] 设定"));

    // A UDP output to a receiver on this machine airs at once.
    let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = receiver.local_addr().unwrap().to_string();
    let page = admin
        .submit(
            "/admin/channels",
            "/admin/channels/county/outputs",
            &[
                ("kind", "udp"),
                ("profile", "sd"),
                ("address", &address),
                ("muxrate", "2500"),
                ("service_name", "小样新闻"),
                ("charset", "gb2312"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(on_air("county"), Some(vec![format!("udp:{address}")]));
    let packet = tokio::task::spawn_blocking(move || {
        receiver
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut buf = [0u8; 2048];
        let n = receiver
            .recv(&mut buf)
            .expect("TS packets from the new output");
        buf[..n].to_vec()
    })
    .await
    .unwrap();
    assert!(
        packet.len() % 188 == 0 && packet.chunks(188).all(|p| p[0] == 0x47),
        "MPEG-TS packets"
    );
    let page = admin.get("/admin/channels").await;
    assert!(
        page.body.contains(&format!("正在播出：udp:{address}")) && page.body.contains("2500 kbit"),
        "{}",
        page.body
    );

    // Bad outputs are refused with a Chinese message, and nothing changes.
    for (fields, message) in [
        (
            vec![("kind", "udp"), ("address", "10.1.2.3:5000")],
            "只能发送到本机地址",
        ),
        (vec![("kind", "udp"), ("address", "本机")], "格式不对"),
        (vec![("kind", "udp"), ("muxrate", "99")], "码率须在"),
        (
            vec![("kind", "udp"), ("address", address.as_str())],
            "重复了",
        ),
        (
            vec![
                ("kind", "udp"),
                ("service_name", "小样新闻😀"),
                ("charset", "gb2312"),
            ],
            "GB2312",
        ),
    ] {
        let page = admin
            .submit("/admin/channels", "/admin/channels/county/outputs", &fields)
            .await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}: {}",
            page.body
        );
        assert!(page.body.contains(message), "{fields:?}: {}", page.body);
    }
    assert_eq!(on_air("county"), Some(vec![format!("udp:{address}")]));
    let page = admin
        .submit(
            "/admin/channels",
            "/admin/channels/xikou/outputs",
            &[("kind", "udp")],
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.body.contains("请修改配置文件"), "{}", page.body);

    // An HLS output joins (the channel restarts with both), then each goes.
    let page = admin
        .submit(
            "/admin/channels",
            "/admin/channels/county/outputs",
            &[("kind", "hls"), ("profile", "sd")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        on_air("county"),
        Some(vec![format!("udp:{address}"), "hls".to_owned()])
    );
    let page = admin
        .submit(
            "/admin/channels",
            "/admin/channels/county/outputs/1/delete",
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(on_air("county"), Some(vec!["hls".to_owned()]));
    let page = admin
        .submit(
            "/admin/channels",
            "/admin/channels/county/outputs/1/delete",
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(on_air("county"), None, "no outputs left: off air");
    assert_eq!(
        on_air("xikou"),
        Some(vec!["hls".to_owned()]),
        "the other channel went on"
    );
    let actions = audit_actions(&store, "channel").await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == &("admin".to_owned(), "channel.outputs".to_owned()))
            .count(),
        4,
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_staff_page_write_that_meets_a_full_database_is_told_and_reaches_readyz() {
    let store = county().await;
    let today = headend::content::county_today().to_string();
    let mut editor = Browser::new(&store);
    editor.login("editor", PASSWORD).await;
    let form_page = editor.get("/admin/notices/new").await;
    assert_eq!(form_page.status, StatusCode::OK);
    let csrf = form_page.csrf();
    // The database may not grow from here: SQLite answers SQLITE_FULL, as on a full disk.
    store
        .call(|conn| {
            conn.execute_batch("VACUUM")?;
            let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            conn.pragma_update(None, "max_page_count", pages)?;
            Ok(())
        })
        .await
        .unwrap();
    let body = "各村（社区）：请做好冬季防火工作。".repeat(1000);
    let mut form = notice_form("冬季防火通知", &today, false, "");
    form.retain(|(k, _)| *k != "body");
    form.push(("body", &body));
    form.push(("csrf", &csrf));
    let page = editor.post("/admin/notices/new", &form).await;
    assert_eq!(
        page.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        page.body
    );
    assert!(page.body.contains("服务器内部错误"), "{}", page.body);
    let stored: i64 = store
        .call(|conn| {
            Ok(conn.query_row(
                "SELECT count(*) FROM notices WHERE title = '冬季防火通知'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(stored, 0);

    let mut request = Request::get("/readyz").body(Body::empty()).unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40000,
        ))));
    let response = app(AppState::new(store.clone()))
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let ready: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let fault = ready["store"]["storage_fault"]
        .as_str()
        .unwrap_or_else(|| panic!("{ready}"));
    assert!(fault.contains("full"), "{ready}");
    assert!(
        ready["store"]["message"]
            .as_str()
            .unwrap()
            .contains("数据库写入失败"),
        "{ready}"
    );
}
