//! The staff JSON API: the permission matrix generated from `/api/openapi.json` (every
//! operation × anonymous and every role), per-user API tokens, the publishing workflow
//! over JSON, and a property test in the manner of schemathesis (random parameters and
//! bodies for every operation: no 5xx, every error in the documented shape).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use headend::accounts::{self, Grant, NewUser, Role};
use headend::store::Store;
use headend::web::{app, AppState};
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::mini_store;

/// Sends one request; (status, body as JSON or `Null`, content type).
async fn send(
    state: &AppState,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value, String) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        content_type,
    )
}

/// The mini county with one account (and API token) per role, and a notice of 民政局
/// drafted and submitted by another editor: (store, tokens by role name, notice id).
async fn county() -> (Store, Vec<(&'static str, String)>, i64) {
    let store = tokio::task::spawn_blocking(mini_store).await.unwrap();
    let out = store
        .call(|conn| {
            let now = chrono::Utc::now();
            let mut tokens = Vec::new();
            let mut author = None;
            for (name, role, department) in [
                ("author", Role::Editor, Some("mzj")),
                ("editor", Role::Editor, Some("mzj")),
                ("reviewer", Role::Reviewer, Some("mzj")),
                ("operator", Role::Operator, None),
                ("admin", Role::Admin, None),
            ] {
                let grants = [Grant {
                    role,
                    department: department.map(str::to_owned),
                }];
                let user = NewUser {
                    name,
                    display_name: "",
                    password_hash: "$unused",
                    grants: &grants,
                    must_change: false,
                };
                let id = accounts::add_user(conn, &user, "test", now).unwrap();
                let (_, token) = accounts::create_token(conn, id, "test", now).unwrap();
                if name == "author" {
                    author = Some(accounts::token_user(conn, &token, now).unwrap().unwrap());
                } else {
                    tokens.push((role.as_str(), token));
                }
            }
            let author = author.unwrap();
            let id = headend::publishing::create(conn, &author, &notice_form(), now).unwrap();
            headend::publishing::submit(conn, &author, id, now).unwrap();
            Ok((tokens, id))
        })
        .await
        .unwrap();
    (store, out.0, out.1)
}

fn notice_form() -> headend::publishing::NoticeForm {
    serde_json::from_value(notice_json()).unwrap()
}

fn notice_json() -> Value {
    json!({
        "kind": "notice", "title": "关于冬季取暖补贴申领的通知", "department": "mzj",
        "region": "339902", "valid_from": headend::content::county_today().to_string(),
        "priority": "normal", "body": "符合条件的困难家庭请于本月底前到村委会申领。",
        "confidentiality_checked": true
    })
}

/// A request body for schema `name` that passes validation where it can.
fn example(name: &str, n: usize) -> Value {
    match name {
        "NoticeForm" => notice_json(),
        "Reason" => json!({"reason": "测试原因"}),
        "NewToken" => json!({"name": format!("令牌{n}")}),
        "NewUser" => json!({"name": format!("user{n}"), "role": "operator"}),
        "Grants" => json!({"grants": [{"role": "operator"}]}),
        "Words" => json!({"words": [format!("词{n}")]}),
        "CatalogueEntry" => json!({"title": format!("目录{n}"), "update_frequency": "yearly"}),
        "Source" => {
            json!({"name": format!("src{n}"), "url": "/nonexistent/feed.xml", "kind": "notices", "department": "mzj"})
        }
        "Screen" => {
            json!({"kind": "notice", "title": "预览", "publisher": "小样县民政局", "date": "2026-11-20", "body": "正文"})
        }
        _ => json!({}),
    }
}

fn fill(path: &str, notice: i64) -> String {
    path.replace(
        "/stb/v1/img/{file}",
        "/stb/v1/img/00000000000000000000000000000000-1.png",
    )
    // No token of anyone's: revoking one would change the matrix under way.
    .replace("/api/v1/tokens/{id}", "/api/v1/tokens/999999")
    .replace("{id}", &notice.to_string())
    .replace("{name}", "no-such-source")
    .replace("{action}", "unlock")
    .replace("{word}", "nosuchword")
    .replace("{channel}", "county")
    .replace("{file}", "index.m3u8")
    .replace("{hash}", "0123456789abcdef0123456789abcdef")
}

/// Whether a response is the access guard's refusal (as opposed to a handler's own
/// answer, e.g. 403 for another department's item, 409 for the wrong state).
fn refused(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::UNAUTHORIZED
        || (status == StatusCode::FORBIDDEN
            && body["error"]
                .as_str()
                .is_some_and(|m| m.contains("需要以下角色之一") || m.contains("请先登录")))
}

#[tokio::test]
async fn every_operation_answers_every_role_as_the_document_says() {
    let (store, tokens, notice) = county().await;
    let hub = headend::ingest::Hub::new(
        store.clone(),
        headend::ingest::Fetcher::new(
            std::time::Duration::from_secs(1),
            headend::ingest::Reach::anywhere(),
        )
        .unwrap(),
    );
    let state = AppState::new(store).with_ingest(hub, None);
    let (status, doc, _) = send(&state, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut callers: Vec<(&str, Option<&str>)> = vec![("anonymous", None)];
    callers.extend(tokens.iter().map(|(r, t)| (*r, Some(t.as_str()))));
    let mut checked = 0;
    let mut n = 0;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 30, "{} paths", paths.len());
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            // Deletions name things that do not exist, so the matrix does not change itself.
            let allowed: Vec<&str> = op["x-roles"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let body_schema = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .map(|r| r.rsplit('/').next().unwrap().to_owned());
            for (role, token) in &callers {
                n += 1;
                let body = body_schema.as_deref().map(|s| example(s, n));
                let uri = fill(path, notice);
                let m = method.to_ascii_uppercase();
                let (status, answer, _) = send(&state, &m, &uri, *token, body.as_ref()).await;
                assert!(
                    !status.is_server_error() || status == StatusCode::BAD_GATEWAY,
                    "{m} {uri} as {role}: {status} {answer}"
                );
                let expect_allow = allowed.contains(role);
                if expect_allow {
                    assert!(
                        !refused(status, &answer),
                        "{m} {uri} as {role} refused: {status} {answer}"
                    );
                } else {
                    assert!(
                        status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
                        "UNEXPECTED ALLOW: {m} {uri} as {role}: {status} {answer}"
                    );
                    if *role == "anonymous" {
                        assert_eq!(status, StatusCode::UNAUTHORIZED, "{m} {uri}");
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 150, "{checked} checks");
}

#[tokio::test]
async fn tokens_are_personal_shown_once_and_revocable_and_the_workflow_runs_over_json() {
    let (store, tokens, notice) = county().await;
    let state = AppState::new(store.clone());
    let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    let (editor, reviewer) = (token("editor"), token("reviewer"));

    let (status, me, _) = send(&state, "GET", "/api/v1/me", Some(&editor), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["name"], "editor");
    // A second token, listed without its value, then revoked: it stops working.
    let (status, made, _) = send(
        &state,
        "POST",
        "/api/v1/tokens",
        Some(&editor),
        Some(&json!({"name": "脚本"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let second = made["token"].as_str().unwrap().to_owned();
    assert!(second.starts_with("gct_"));
    let (_, list, _) = send(&state, "GET", "/api/v1/tokens", Some(&second), None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(
        !list.to_string().contains(&second[4..]),
        "the value is never listed"
    );
    let path = format!("/api/v1/tokens/{}", made["id"]);
    assert_eq!(
        send(&state, "DELETE", &path, Some(&editor), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(&state, "GET", "/api/v1/me", Some(&second), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // Another user's token id is not yours to revoke.
    let (_, reviewer_tokens, _) =
        send(&state, "GET", "/api/v1/tokens", Some(&reviewer), None).await;
    let other = format!("/api/v1/tokens/{}", reviewer_tokens[0]["id"]);
    assert_eq!(
        send(&state, "DELETE", &other, Some(&editor), None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&state, "GET", "/api/v1/me", Some(&reviewer), None)
            .await
            .0,
        StatusCode::OK
    );

    // Bad fields: 422 naming each field, nothing stored.
    let mut bad = notice_json();
    bad["title"] = json!("");
    bad["valid_from"] = json!("2026/12/05");
    let (status, body, _) =
        send(&state, "POST", "/api/v1/notices", Some(&editor), Some(&bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["fields"]["title"].is_string() && body["fields"]["valid_from"].is_string(),
        "{body}"
    );
    let (status, body, _) = send(
        &state,
        "POST",
        "/api/v1/notices",
        Some(&editor),
        Some(&json!({"title": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Draft, submit, approve over JSON; SQL-looking text stored verbatim.
    let mut form = notice_json();
    form["title"] = json!("'); DELETE FROM notices; --");
    let (status, made, _) = send(
        &state,
        "POST",
        "/api/v1/notices",
        Some(&editor),
        Some(&form),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["id"].as_i64().unwrap();
    let act = |what: &str| format!("/api/v1/notices/{id}/{what}");
    assert_eq!(
        send(&state, "POST", &act("submit"), Some(&editor), None)
            .await
            .0,
        StatusCode::OK
    );
    let (status, body, _) = send(&state, "POST", &act("approve"), Some(&reviewer), None).await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &json!("published")),
        "{body}"
    );
    let (_, got, _) = send(
        &state,
        "GET",
        &format!("/api/v1/notices/{id}"),
        Some(&editor),
        None,
    )
    .await;
    assert_eq!(
        got["notice"]["form"]["title"],
        "'); DELETE FROM notices; --"
    );
    let (_, list, _) = send(
        &state,
        "GET",
        "/api/v1/notices?status=published",
        Some(&reviewer),
        None,
    )
    .await;
    assert!(list["total"].as_u64().unwrap() >= 1);
    // The other notice (by `author`) is waiting; the operator sees no notices at all.
    let (_, list, _) = send(
        &state,
        "GET",
        "/api/v1/notices",
        Some(&token("operator")),
        None,
    )
    .await;
    assert_eq!(list["total"], 0);
    let (status, _, _) = send(
        &state,
        "GET",
        &format!("/api/v1/notices/{notice}"),
        Some(&token("operator")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The audit log over JSON: the admin sees the reviewer's approval.
    let (_, log, _) = send(
        &state,
        "GET",
        "/api/v1/audit?action=approve",
        Some(&token("admin")),
        None,
    )
    .await;
    assert_eq!(log["items"][0]["actor"], "reviewer");
    drop(store);
}

/// Operations the property test drives, from the document (sources need an ingest hub,
/// which would fetch URLs: left to `ingest::http`).
fn fuzzable(doc: &Value) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if path.starts_with("/api/v1/sources") {
            continue;
        }
        for (method, op) in ops.as_object().unwrap() {
            let schema = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .map(|r| r.rsplit('/').next().unwrap().to_owned());
            out.push((method.to_ascii_uppercase(), path.clone(), schema));
        }
    }
    out
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[\\PC]{0,40}".prop_map(Value::from),
        Just(Value::from("<script>alert(1)</script>")),
        Just(Value::from("' OR 1=1 --")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body: random JSON, or the schema's example with one field replaced by random JSON.
fn arb_body(schema: Option<String>) -> impl Strategy<Value = Option<Value>> {
    let base = schema.map(|s| example(&s, 0));
    (arb_json(), any::<bool>(), "[a-z_]{1,20}").prop_map(move |(random, mutate, field)| {
        let base = base.clone()?;
        if !mutate {
            return Some(random);
        }
        let mut body = base;
        if let Some(obj) = body.as_object_mut() {
            let key = obj
                .keys()
                .nth(field.len() % obj.len().max(1))
                .cloned()
                .unwrap_or(field);
            obj.insert(key, random);
        }
        Some(body)
    })
}

#[test]
fn random_requests_never_get_a_5xx_and_every_error_has_the_documented_shape() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (state, admin, editor, doc) = runtime.block_on(async {
        let (store, tokens, _) = county().await;
        let state = AppState::new(store);
        let (_, doc, _) = send(&state, "GET", "/api/openapi.json", None, None).await;
        let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
        (state, token("admin"), token("editor"), doc)
    });
    let ops = fuzzable(&doc);
    let n = ops.len();
    let strategy = (
        0..n,
        "[\\PC]{0,24}",
        prop_oneof![Just(None), Just(Some(0)), Just(Some(1))],
    )
        .prop_flat_map(move |(i, param, who)| {
            let (method, path, schema) = ops[i].clone();
            (
                Just(method),
                Just(path),
                Just(param),
                Just(who),
                arb_body(schema),
            )
        });
    let config = ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |((method, path, param, who, body) in strategy)| {
        let token = match who {
            Some(0) => Some(admin.as_str()),
            Some(_) => Some(editor.as_str()),
            None => None,
        };
        // Path parameters: random text, percent-encoded.
        let encoded: String = param
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        let encoded = if encoded.is_empty() { "0".to_owned() } else { encoded };
        let mut uri = path.clone();
        while let Some(start) = uri.find('{') {
            let end = uri[start..].find('}').unwrap() + start;
            uri.replace_range(start..=end, &encoded);
        }
        if method == "GET" {
            uri.push_str(&format!("?q={encoded}&page={}&status={encoded}&profile={encoded}&region={encoded}", param.len()));
        }
        let (status, answer, content_type) =
            runtime.block_on(send(&state, &method, &uri, token, body.as_ref()));
        prop_assert!(!status.is_server_error(), "{method} {uri} {body:?}: {status} {answer}");
        if status.is_client_error() {
            prop_assert!(content_type.starts_with("application/json"), "{method} {uri}: {content_type}");
            prop_assert!(answer["error"].as_str().is_some_and(|m| !m.is_empty()), "{method} {uri}: {answer}");
        } else if content_type.starts_with("application/json") {
            prop_assert!(!answer.is_null(), "{method} {uri}: JSON that does not parse");
        }
    });
}

#[tokio::test]
async fn administrators_change_roles_and_accounts_over_json() {
    let (store, tokens, _) = county().await;
    let state = AppState::new(store.clone());
    let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    let (admin, operator) = (token("admin"), token("operator"));

    // The operator becomes a county reviewer too; their token carries the new role at once.
    let grants = json!({"grants": [{"role": "operator"}, {"role": "reviewer"}]});
    let (status, body, _) = send(
        &state,
        "PUT",
        "/api/v1/users/operator/roles",
        Some(&admin),
        Some(&grants),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["grants"].as_array().unwrap().len(), 2, "{body}");
    let (_, me, _) = send(&state, "GET", "/api/v1/me", Some(&operator), None).await;
    assert!(me.to_string().contains("reviewer"), "{me}");
    // No roles, or an editor without a department: 422 naming the field, nothing changed.
    for bad in [
        json!({"grants": []}),
        json!({"grants": [{"role": "editor"}]}),
        json!({"grants": [{"role": "boss"}]}),
    ] {
        let (status, body, _) = send(
            &state,
            "PUT",
            "/api/v1/users/operator/roles",
            Some(&admin),
            Some(&bad),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["fields"].is_object(), "{body}");
    }
    // The last administrator keeps the role.
    let (status, body, _) = send(
        &state,
        "PUT",
        "/api/v1/users/admin/roles",
        Some(&admin),
        Some(&json!({"grants": [{"role": "operator"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Disabled: the token stops working; enabled again: it works.
    let act = |name: &str, what: &str| format!("/api/v1/users/{name}/{what}");
    let (status, body, _) = send(
        &state,
        "POST",
        &act("operator", "disable"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!((status, &body["disabled"]), (StatusCode::OK, &json!(true)));
    assert_eq!(
        send(&state, "GET", "/api/v1/me", Some(&operator), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    send(
        &state,
        "POST",
        &act("operator", "enable"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        send(&state, "GET", "/api/v1/me", Some(&operator), None)
            .await
            .0,
        StatusCode::OK
    );
    // A reset answers a one-time password; unknown users and actions are 404.
    let (status, body, _) = send(&state, "POST", &act("editor", "reset"), Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["one_time_password"].as_str().unwrap().chars().count(),
        12
    );
    for path in [act("nobody", "unlock"), act("editor", "promote")] {
        let (status, body, _) = send(&state, "POST", &path, Some(&admin), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let changes = store
        .call(|conn| {
            Ok(conn.query_row(
                "SELECT count(*) FROM audit_log WHERE action IN
                 ('permission_change', 'user_disable', 'user_enable', 'password_reset')",
                [],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(changes, 4);
}
