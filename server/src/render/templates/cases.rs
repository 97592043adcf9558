//! Cases (办件) and public lists: the lists, case lookup and a case's progress.

use super::*;

pub(super) fn public_list(p: &PublicListScreen, mut c: Composer<'_>) -> Vec<Layout> {
    title_band(&mut c, &p.title);
    let area = c.area();
    let body = c.body();
    let cell = item_line(body);
    let head = BlockStyle {
        role: Role::Heading,
        weight: Weight::Bold,
        fg: c.theme.accent,
        ..cell
    };
    let gap = body.px * 0.75;
    // Natural column widths (one line per cell).
    let ncols = p
        .columns
        .len()
        .max(p.rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0.0f32; ncols];
    let mut measure = |c: &mut Composer<'_>, text: &str, style: BlockStyle, col: usize| {
        let w: f32 = c
            .lines(text, style, f32::MAX / 4.0)
            .iter()
            .map(|l| l.width)
            .fold(0.0, f32::max);
        if let Some(slot) = widths.get_mut(col) {
            *slot = slot.max(w);
        }
    };
    for (i, h) in p.columns.iter().enumerate() {
        measure(&mut c, h, head, i);
    }
    for row in &p.rows {
        for (i, v) in row.iter().enumerate() {
            measure(&mut c, v, cell, i);
        }
    }
    let total: f32 = widths.iter().sum::<f32>() + gap * (ncols.saturating_sub(1)) as f32;
    if total <= area.w {
        // Aligned columns; the heading repeats on every page.
        let row_h = cell.px * cell.pitch;
        let mut first = true;
        for row in &p.rows {
            if first || c.y() + row_h > area.bottom() {
                if !first {
                    c.page_break();
                }
                first = false;
                let y = c.y();
                let mut x = area.x;
                for (i, h) in p.columns.iter().enumerate() {
                    if let Some(l) = c.lines(h, head, widths[i]).first() {
                        c.gap(y - c.y());
                        c.place(l, head, x, widths[i]);
                    }
                    x += widths[i] + gap;
                }
                c.gap(y + row_h - c.y());
            }
            let y = c.y();
            let mut x = area.x;
            for (i, v) in row.iter().enumerate() {
                if let Some(l) = c.lines(v, cell, widths[i]).first() {
                    c.gap(y - c.y());
                    c.place(l, cell, x, widths[i]);
                }
                x += widths[i] + gap;
            }
            c.gap(y + row_h - c.y());
        }
    } else {
        // Too wide for the screen: each person becomes a short block, "heading：value".
        for (n, row) in p.rows.iter().enumerate() {
            let text: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, v)| match p.columns.get(i) {
                    Some(h) => format!("{h}：{v}"),
                    None => v.clone(),
                })
                .collect();
            let lines = c.lines(&format!("{}. {}", n + 1, text.join("　")), cell, area.w);
            c.need(lines.len() as f32 * cell.px * cell.pitch);
            for l in &lines {
                c.place(l, cell, area.x, area.w);
            }
        }
    }
    c.finish(HINTS_ITEM)
}

pub(super) fn case_lookup(l: &CaseLookupScreen, mut c: Composer<'_>) -> Vec<Layout> {
    title_band(&mut c, "办件查询");
    let body = c.body();
    let plain = BlockStyle {
        indent_em: 0.0,
        justify: false,
        ..body
    };
    c.block(
        "请用遥控器数字键输入办件编号（“SF”后面的数字），输完按确定键查询。",
        plain,
    );
    c.gap(body.px * 0.5);
    let area = c.area();
    let field_h = even_px(body.px * 2.0);
    c.need(field_h);
    let top = even_px(c.y());
    let panel = c.theme.panel;
    let rect = Rect::new(area.x, top, area.w, field_h);
    c.shape(rect, panel);
    let shown = if l.entered.is_empty() {
        "SF＿".to_owned()
    } else {
        format!("SF{}", l.entered)
    };
    let entry_style = BlockStyle {
        role: Role::Item,
        weight: Weight::Bold,
        align: Align::Center,
        fg: c.theme.title,
        bg: panel,
        pitch: 1.5,
        ..plain
    };
    let lines = c.lines(&shown, entry_style, area.w);
    c.gap(top + (field_h - entry_style.px * entry_style.pitch) / 2.0 - c.y());
    for line in &lines {
        c.place(line, entry_style, area.x, area.w);
    }
    c.gap(top + field_h - c.y());
    c.selectable(None, rect, "case_lookup".into(), "办件编号".into());
    if let Some(m) = &l.message {
        c.gap(body.px * 0.3);
        let alert = BlockStyle {
            role: Role::Alert,
            weight: Weight::Bold,
            fg: c.theme.accent,
            ..plain
        };
        c.block(m, alert);
    }
    c.finish(HINTS_LOOKUP)
}

pub(super) fn case_result(r: &CaseResultScreen, mut c: Composer<'_>) -> Vec<Layout> {
    title_band(&mut c, "办件进度");
    let body = c.body();
    let status_style = BlockStyle {
        role: Role::Alert,
        weight: Weight::Bold,
        px: c.profile.heading_em(),
        pitch: 1.3,
        align: Align::Center,
        indent_em: 0.0,
        justify: false,
        fg: c.theme.accent,
        ..body
    };
    c.block(&r.status, status_style);
    if r.overdue {
        let alert = BlockStyle {
            px: body.px,
            pitch: 1.5,
            fg: c.theme.urgent_text,
            bg: c.theme.urgent,
            ..status_style
        };
        let lines = c.lines("已超过承诺办结时间", alert, c.area().w);
        let h = lines.len() as f32 * alert.px * alert.pitch;
        c.need(h);
        let area = c.area();
        let urgent = c.theme.urgent;
        let top = c.y();
        c.shape(Rect::new(area.x, top, area.w, h), urgent);
        for l in &lines {
            c.place(l, alert, area.x, area.w);
        }
    }
    field(&mut c, "办件编号", &r.case_no);
    field(&mut c, "办理事项", &r.item);
    field(&mut c, "承办部门", &r.department);
    field(&mut c, "申请人", &r.applicant);
    field(&mut c, "受理日期", &chinese_date(&r.received));
    field(&mut c, "承诺办结", &chinese_date(&r.due));
    if let Some(done) = &r.completed {
        field(&mut c, "办结日期", &chinese_date(done));
    }
    c.finish(HINTS_ITEM)
}
