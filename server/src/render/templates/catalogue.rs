//! The disclosure catalogue: entries, service guides and process flowcharts.

use super::*;

pub(super) fn entry(e: &EntryScreen, mut c: Composer<'_>) -> Vec<Layout> {
    title_band(&mut c, &e.title);
    let meta = c.meta();
    c.block(
        &e.kind_label,
        BlockStyle {
            fg: c.theme.accent,
            ..meta
        },
    );
    let left = BlockStyle {
        align: Align::Left,
        ..meta
    };
    c.block(&format!("发布机构：{}", e.publisher), left);
    if let Some(doc) = &e.doc_no {
        c.block(&format!("文号：{doc}"), left);
    }
    c.block(&format!("发布日期：{}", chinese_date(&e.date)), left);
    c.block(&format!("索引号：{}", e.index_no), left);
    let rule = c.theme.rule;
    c.rule(2.0, rule);
    let body = c.body();
    if !e.summary.trim().is_empty() && !e.body.contains(e.summary.trim()) {
        c.block(&e.summary, body);
    }
    c.block(&e.body, body);
    if let Some(url) = &e.url {
        c.gap(c.profile.body_em() * 0.3);
        c.qr(url, QR_CAPTION);
    }
    links(&mut c, &e.links);
    c.finish(HINTS_ITEM)
}

pub(super) fn guide(g: &GuideScreen, mut c: Composer<'_>) -> Vec<Layout> {
    title_band(&mut c, &format!("办事指南：{}", g.title));
    heading(&mut c, "办理条件");
    numbered(&mut c, &g.conditions);
    heading(&mut c, "申请材料");
    numbered(&mut c, &g.materials);
    heading(&mut c, "办理流程");
    c.block(
        &g.steps.join(" → "),
        BlockStyle {
            indent_em: 0.0,
            justify: false,
            ..c.body()
        },
    );
    heading(&mut c, "办理须知");
    field(&mut c, "办理时限", &g.time_limit);
    field(&mut c, "收费标准", &g.fees);
    field(&mut c, "办理地点", &g.place);
    field(&mut c, "办公时间", &g.hours);
    field(&mut c, "咨询电话", &g.phone);
    if let Some(url) = &g.url {
        c.gap(c.profile.body_em() * 0.3);
        c.qr(url, QR_CAPTION);
    }
    c.finish(HINTS_ITEM)
}

pub(super) fn flow(f: &FlowScreen, mut c: Composer<'_>) -> Vec<Layout> {
    title_band(&mut c, &format!("办理流程：{}", f.title));
    let area = c.area();
    let body = c.body();
    let name_style = panel_label(&c, body);
    let detail_style = BlockStyle {
        role: Role::Meta,
        weight: Weight::Regular,
        fg: c.theme.muted,
        ..name_style
    };
    let arrow_style = BlockStyle {
        role: Role::Meta,
        fg: c.theme.accent,
        bg: c.theme.background,
        pitch: 1.0,
        ..name_style
    };
    let pad = (body.px * 0.2).round();
    let box_w = area.w;
    for (i, step) in f.steps.iter().enumerate() {
        let name = c.lines(
            &format!("第{}步　{}", i + 1, step.name),
            name_style,
            box_w - 2.0 * pad,
        );
        let detail = c.lines(
            &format!("{}　{}", step.post, step.time_limit),
            detail_style,
            box_w - 2.0 * pad,
        );
        let h = name.len() as f32 * name_style.px * name_style.pitch
            + detail.len() as f32 * detail_style.px * detail_style.pitch
            + 2.0 * pad;
        let arrow_h = if i > 0 {
            arrow_style.px * arrow_style.pitch
        } else {
            0.0
        };
        c.need(h + arrow_h);
        if i > 0 && !c.page_is_empty() {
            let arrow = c.lines("▼", arrow_style, box_w);
            if let Some(a) = arrow.first() {
                c.place(a, arrow_style, area.x, box_w);
            }
        }
        let top = c.y();
        let panel = c.theme.panel;
        c.shape(Rect::new(area.x, top, box_w, h), panel);
        c.gap(pad);
        for l in &name {
            c.place(l, name_style, area.x + pad, box_w - 2.0 * pad);
        }
        for l in &detail {
            c.place(l, detail_style, area.x + pad, box_w - 2.0 * pad);
        }
        c.gap(pad);
    }
    c.finish(HINTS_ITEM)
}
