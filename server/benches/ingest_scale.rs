//! Ingest cost as inputs grow (issue 15): reading a JSON export and collecting a body's
//! attachments must stay linear. `cargo bench -p headend --bench ingest_scale` times each
//! reader on an input and on the same input four times larger (best of 5 runs each) and
//! fails when the time grows more than 5× (linear is 4×, quadratic 16×).
//!
//! Inputs: a JSON export whose records each carry the usual catalogue fields plus one key
//! of their own (the shape that made column collection quadratic: every record adds a
//! column), the same without the extra keys, and an HTML body linking N distinct files.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use headend::ingest::export::read_records;
use headend::ingest::html::html_to_text;
use headend::ingest::source::Format;

fn export(n: usize, own_key: bool) -> String {
    let records: Vec<String> = (0..n)
        .map(|i| {
            let extra = if own_key {
                format!(r#","备注{i}":"第{i}条""#)
            } else {
                String::new()
            };
            format!(
                r#"{{"索引号":"339901-{i:06}","标题":"关于第{i}项事项的公告","类别":"行政职权","发布机构":"县市场监管局","发布日期":"2026-11-20"{extra}}}"#
            )
        })
        .collect();
    format!("[{}]", records.join(","))
}

fn body(n: usize) -> String {
    let links: Vec<String> = (0..n)
        .map(|i| format!(r#"<p>附件{i}：<a href="/files/{i}.pdf">第{i}号文件</a></p>"#))
        .collect();
    links.join("")
}

/// Best of 5 runs of `f`.
fn best(mut f: impl FnMut()) -> Duration {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let mut failed = Vec::new();
    let mut check = |what: &str, small: usize, run: &dyn Fn(usize) -> Duration| {
        let (a, b) = (run(small), run(small * 4));
        let ratio = b.as_secs_f64() / a.as_secs_f64().max(1e-9);
        println!(
            "ingest_scale {what}: {small} → {:.1} ms, {} → {:.1} ms: {ratio:.2}× for 4× the input",
            a.as_secs_f64() * 1e3,
            small * 4,
            b.as_secs_f64() * 1e3
        );
        if ratio > 5.0 {
            failed.push(format!("{what}: {ratio:.2}× > 5×"));
        }
    };
    check("JSON export, a key per record (records)", 20_000, &|n| {
        let text = export(n, true);
        best(|| {
            let r = read_records(text.as_bytes(), None, Format::Json).unwrap();
            assert_eq!(r.records.len(), n);
            black_box(r);
        })
    });
    check("JSON export, usual columns (records)", 20_000, &|n| {
        let text = export(n, false);
        best(|| {
            black_box(read_records(text.as_bytes(), None, Format::Json).unwrap());
        })
    });
    check("HTML body, distinct links (links)", 5_000, &|n| {
        let html = body(n);
        best(|| {
            let c = html_to_text(&html);
            assert_eq!(c.attachments.len(), n);
            black_box(c);
        })
    });
    assert!(failed.is_empty(), "grew faster than linear: {failed:?}");
}
