//! Notices, the urgent banner and the cycle summary.

use super::*;

pub(super) fn notice(n: &NoticeScreen, mut c: Composer<'_>) -> Vec<Layout> {
    title_band_in(&mut c, &n.title, n.urgent);
    let meta = c.meta();
    let one_line = format!("{}　{}", n.publisher, chinese_date(&n.date));
    if c.lines(&one_line, meta, c.area().w).len() == 1 {
        c.block(&one_line, meta);
    } else {
        c.block(&n.publisher, meta);
        c.block(&chinese_date(&n.date), meta);
    }
    if let Some(p) = &n.publicity {
        let alert = BlockStyle {
            role: Role::Alert,
            weight: Weight::Bold,
            fg: c.theme.accent,
            ..meta
        };
        let text = if p.days_left > 0 {
            format!("公示期还剩{}天（至{}）", p.days_left, month_day(&p.end))
        } else {
            format!("公示期已于{}结束", chinese_date(&p.end))
        };
        c.block(&text, alert);
    }
    let rule = c.theme.rule;
    c.gap(c.profile.body_em() * 0.2);
    c.rule(2.0, rule);
    c.gap(c.profile.body_em() * 0.2);
    let body = c.body();
    c.block(&n.body, body);
    if let Some(p) = &n.publicity {
        let contact = BlockStyle {
            role: Role::Meta,
            fg: c.theme.muted,
            ..body
        };
        c.block(
            &format!(
                "公示期间（{}至{}），如有异议，请向{}反映，电话：{}。",
                chinese_date(&p.start),
                chinese_date(&p.end),
                p.contact,
                p.phone
            ),
            contact,
        );
    }
    if let Some(url) = &n.url {
        c.gap(c.profile.body_em() * 0.3);
        c.qr(url, QR_CAPTION);
    }
    c.finish(HINTS_ITEM)
}

pub(super) fn banner(b: &BannerScreen, mut c: Composer<'_>) -> Vec<Layout> {
    // The strip: a label and two body lines at the bottom of the text area; the text
    // advances strip by strip (one page per strip).
    let area = c.area();
    let body = c.body();
    let label_w = body.px * 3.0;
    let style = BlockStyle {
        role: Role::Alert,
        weight: Weight::Bold,
        indent_em: 0.0,
        justify: true,
        fg: c.theme.urgent_text,
        bg: c.theme.urgent,
        ..body
    };
    let lines = c.lines(&format!("{}：{}", b.title, b.text), style, area.w - label_w);
    let per_strip = 2usize;
    let strip_h = even_px(per_strip as f32 * style.px * style.pitch);
    let top = even_px(area.bottom() - strip_h);
    for (n, chunk) in lines.chunks(per_strip).enumerate() {
        if n > 0 {
            c.page_break();
        }
        let urgent = c.theme.urgent;
        c.shape(
            Rect::new(0.0, top, c.profile.canvas_width(), strip_h),
            urgent,
        );
        c.gap(top - c.y());
        if let Some(label) = c
            .lines(
                "紧急",
                BlockStyle {
                    justify: false,
                    ..style
                },
                label_w,
            )
            .first()
        {
            c.place(
                label,
                BlockStyle {
                    justify: false,
                    ..style
                },
                area.x,
                label_w,
            );
            c.gap(top - c.y());
        }
        for l in chunk {
            c.place(l, style, area.x + label_w, area.w - label_w);
        }
    }
    c.finish(&[])
}

pub(super) fn summary(s: &SummaryScreen, mut c: Composer<'_>) -> Vec<Layout> {
    title_band(&mut c, &s.channel);
    let meta = c.meta();
    c.block(&s.date, meta);
    c.gap(c.profile.body_em() * 0.2);
    heading(&mut c, "本轮节目");
    let body = c.body();
    let item = item_line(body);
    let area = c.area();
    // One line a headline, as many as fit this one page.
    for headline in &s.headlines {
        if c.y() + item.px * item.pitch > area.bottom() {
            break;
        }
        if let Some(line) = c.fit_one_line(headline, "▶ ", item, area.w) {
            c.place(&line, item, area.x, area.w);
        }
    }
    c.finish(&[])
}
