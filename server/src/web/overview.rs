//! `GET /`: a plain overview page in Chinese of what this headend holds, until the admin
//! UI takes this path over.

use axum::extract::State;
use axum::response::Html;

use super::{ApiError, AppState};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders the overview.
pub async fn get(State(state): State<AppState>) -> Result<Html<String>, ApiError> {
    let stats = state.store.stats().await?;
    let county: Option<String> = state
        .store
        .call(|conn| {
            use rusqlite::OptionalExtension;
            Ok(conn
                .query_row(
                    "SELECT value FROM store_facts WHERE key = 'county_name'",
                    [],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await?;
    let county = county.unwrap_or_else(|| "尚未载入县域数据".to_owned());
    let n = |m: &std::collections::BTreeMap<String, i64>, k: &str| m.get(k).copied().unwrap_or(0);
    let rows = [
        ("乡镇（街道）", n(&stats.regions, "town")),
        ("村（社区）", n(&stats.regions, "village")),
        ("发布机构", stats.departments),
        ("政府信息公开事项", n(&stats.catalogue, "disclosure")),
        ("行政职权事项", n(&stats.catalogue, "power")),
        ("便民服务事项", n(&stats.catalogue, "service")),
        ("办事指南", stats.service_guides),
        ("通知公告与公示", stats.notices.total),
        ("办件", stats.cases.total),
        ("其中已超期", stats.cases.overdue),
        ("民意调查", stats.polls),
        ("频道", stats.channels),
    ];
    let mut table = String::new();
    for (label, value) in rows {
        table.push_str(&format!(
            "<tr><th>{}</th><td>{value}</td></tr>",
            escape(label)
        ));
    }
    Ok(Html(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>{county} 政务频道前端</title>\
         <style>body{{font-family:sans-serif;background:#1c2a3a;color:#e8e8e8;margin:2em}}\
         table{{border-collapse:collapse}}th,td{{padding:.3em 1em;text-align:left}}</style></head>\
         <body><h1>{county} 政务频道前端</h1><p>服务运行中，已运行 {secs} 秒。<a style=\"color:#9cf\" href=\"/admin\">工作人员登录</a></p>\
         <table>{table}</table></body></html>",
        county = escape(&county),
        secs = state.started.elapsed().as_secs(),
    )))
}
