//! Finding one's way: the home screen, numbered lists, the slate and the key help.

use super::*;

pub(super) fn home(h: &HomeScreen, mut c: Composer<'_>) -> Vec<Layout> {
    title_band(&mut c, &h.title);
    let meta = c.meta();
    c.block(&h.now, meta);
    c.gap(c.profile.body_em() * 0.3);
    let area = c.area();
    let cols = 3usize;
    let rows = h.tiles.len().min(9).div_ceil(cols).max(1);
    let gap = (c.profile.body_em() * 0.3).round();
    let top = c.y();
    let tile_w = ((area.w - gap * (cols as f32 - 1.0)) / cols as f32).floor();
    let tile_h = ((area.bottom() - top - gap * (rows as f32 - 1.0)) / rows as f32).floor();
    let body = c.body();
    let label_style = panel_label(&c, body);
    for (i, tile) in h.tiles.iter().take(9).enumerate() {
        let (row, col) = (i / cols, i % cols);
        let x = area.x + col as f32 * (tile_w + gap);
        let y = top + row as f32 * (tile_h + gap);
        let rect = Rect::new(x, y, tile_w, tile_h);
        let panel = c.theme.panel;
        c.shape(rect, panel);
        let key = i as u8 + 1;
        let text = format!("{key} {}", tile.label);
        let lines = c.lines(&text, label_style, tile_w);
        let text_h = lines.len() as f32 * label_style.px * label_style.pitch;
        // Place the label centred in the tile.
        let saved = c.y();
        c.gap(y + (tile_h - text_h) / 2.0 - saved);
        for line in &lines {
            c.place(line, label_style, x, tile_w);
        }
        let after = c.y();
        c.gap(saved - after);
        c.selectable(Some(key), rect, tile.target.clone(), tile.label.clone());
    }
    c.finish(HINTS_HOME)
}

pub(super) fn list(l: &ListScreen, mut c: Composer<'_>) -> Vec<Layout> {
    let body = c.body();
    let item_style = item_line(body);
    let detail_style = BlockStyle {
        role: Role::Meta,
        fg: c.theme.muted,
        px: (body.px * 0.8).round(),
        ..item_style
    };
    let chunks: Vec<&[ListItem]> = if l.items.is_empty() {
        vec![&[]]
    } else {
        l.items.chunks(LIST_PAGE).collect()
    };
    // Items are numbered through the whole list; the number column holds the widest.
    let digits = l.items.len().max(1).to_string().len() as f32;
    let number_w = body.px * (0.6 * digits + 0.4).max(1.5);
    for (p, chunk) in chunks.into_iter().enumerate() {
        if p > 0 {
            c.page_break();
        } else {
            title_band(&mut c, &l.title);
        }
        if chunk.is_empty() {
            let meta = c.meta();
            c.block("暂无内容", meta);
        }
        let area = c.area();
        // Secondary lines only when the whole page of items still fits with them: six
        // numbered items a page matter more than dates and publishers.
        let height = |c: &mut Composer<'_>, with_detail: bool| -> f32 {
            chunk
                .iter()
                .map(|item| {
                    let label = c.lines(&item.label, item_style, area.w - number_w).len() as f32;
                    let detail = match (&item.detail, with_detail) {
                        (Some(d), true) => c.lines(d, detail_style, area.w - number_w).len() as f32,
                        _ => 0.0,
                    };
                    label * item_style.px * item_style.pitch
                        + detail * detail_style.px * detail_style.pitch
                })
                .sum()
        };
        let show_detail = height(&mut c, true) <= area.bottom() - c.y();
        for (i, item) in chunk.iter().enumerate() {
            let number = p * LIST_PAGE + i + 1;
            let label_lines = c.lines(&item.label, item_style, area.w - number_w);
            let detail_lines = match (&item.detail, show_detail) {
                (Some(d), true) => c.lines(d, detail_style, area.w - number_w),
                _ => Vec::new(),
            };
            let h = label_lines.len() as f32 * item_style.px * item_style.pitch
                + detail_lines.len() as f32 * detail_style.px * detail_style.pitch;
            c.need(h);
            let top = c.y();
            let number_lines = c.lines(
                &number.to_string(),
                BlockStyle {
                    fg: c.theme.accent,
                    weight: Weight::Bold,
                    ..item_style
                },
                number_w,
            );
            if let Some(n) = number_lines.first() {
                c.place(
                    n,
                    BlockStyle {
                        fg: c.theme.accent,
                        weight: Weight::Bold,
                        ..item_style
                    },
                    area.x,
                    number_w,
                );
                let back = c.y() - top;
                c.gap(-back);
            }
            for line in &label_lines {
                c.place(line, item_style, area.x + number_w, area.w - number_w);
            }
            for line in &detail_lines {
                c.place(line, detail_style, area.x + number_w, area.w - number_w);
            }
            let rect = Rect::new(area.x, top, area.w, c.y() - top);
            // Items 1–9 are chosen with their digit (on any page of the list: a set-top
            // box binds them all); further items by focus.
            let key = u8::try_from(number).ok().filter(|k| *k <= 9);
            c.selectable(key, rect, item.target.clone(), item.label.clone());
        }
    }
    c.finish(HINTS_LIST)
}

pub(super) fn slate(s: &SlateScreen, mut c: Composer<'_>) -> Vec<Layout> {
    let area = c.area();
    let title = c.title();
    let meta = c.meta();
    let block_h = title.px * title.pitch * 2.0 + meta.px * meta.pitch;
    c.gap(((area.h - block_h) / 2.0).max(0.0));
    c.block(&s.channel, title);
    c.block(
        "节目准备中，请稍候",
        BlockStyle {
            role: Role::Heading,
            weight: Weight::Bold,
            px: c.profile.body_em() * 1.2,
            pitch: 1.5,
            fg: c.theme.accent,
            ..meta
        },
    );
    c.block(&s.time, meta);
    c.finish(HINTS_SLATE)
}

pub(super) fn help(h: &HelpScreen, mut c: Composer<'_>) -> Vec<Layout> {
    title_band(&mut c, "按键说明");
    let meta = c.meta();
    c.block(&h.channel, meta);
    let body = c.body();
    let style = BlockStyle {
        indent_em: 0.0,
        justify: false,
        ..body
    };
    for (key, what) in [
        ("数字键", "直接选择屏幕上编号的栏目或条目"),
        ("确定键", "打开选中的内容"),
        ("返回键", "回到上一级"),
        ("上下键", "移动选择"),
        ("翻页键", "看上一页、下一页"),
        ("菜单键", "回到首页"),
        ("红色键", "办件查询"),
        ("绿色键", "民意调查"),
        ("信息键", "打开本说明"),
    ] {
        c.block(&format!("{key}：{what}"), style);
    }
    c.finish(HINTS_SLATE)
}
