//! Polls: the options with their bars, and a vote's confirmation.

use super::*;

pub(super) fn poll(p: &PollScreen, c: Composer<'_>) -> Vec<Layout> {
    let chosen = p.chosen.and_then(|k| {
        let option = p.options.get((k as usize).checked_sub(1)?)?;
        (k <= 9).then_some((k, option))
    });
    match chosen {
        Some((k, option)) => confirm_vote(p, k, option, c),
        None => poll_options(p, c),
    }
}

pub(super) fn poll_options(p: &PollScreen, mut c: Composer<'_>) -> Vec<Layout> {
    title_band(&mut c, &p.question);
    let meta = c.meta();
    let total: u32 = p.votes.as_ref().map_or(0, |v| v.iter().sum());
    match &p.votes {
        Some(_) => c.block(
            &format!("投票结果（共{total}票，{}截止）", month_day(&p.closes)),
            meta,
        ),
        None => c.block(&format!("按数字键投票，{}截止", month_day(&p.closes)), meta),
    }
    let area = c.area();
    let body = c.body();
    let item = item_line(body);
    let bar_h = even_px(body.px * 0.5);
    for (i, option) in p.options.iter().take(9).enumerate() {
        let key = i as u8 + 1;
        let votes = p.votes.as_ref().and_then(|v| v.get(i)).copied();
        let text = match votes {
            Some(n) => {
                let pct = if total > 0 {
                    f64::from(n) * 100.0 / f64::from(total)
                } else {
                    0.0
                };
                format!("{key}. {option}　{n}票（{pct:.0}%）")
            }
            None => format!("{key}. {option}"),
        };
        let lines = c.lines(&text, item, area.w);
        let h = lines.len() as f32 * item.px * item.pitch
            + if votes.is_some() { bar_h * 2.0 } else { 0.0 };
        c.need(h);
        let top = c.y();
        for l in &lines {
            c.place(l, item, area.x, area.w);
        }
        if let Some(n) = votes {
            let frac = if total > 0 {
                n as f32 / total as f32
            } else {
                0.0
            };
            let y = even_px(c.y());
            let track = c.theme.panel;
            let accent = c.theme.accent;
            c.shape(Rect::new(area.x, y, area.w, bar_h), track);
            if frac > 0.0 {
                c.shape(
                    Rect::new(area.x, y, (area.w * frac).max(2.0), bar_h),
                    accent,
                );
            }
            c.gap(y + bar_h * 2.0 - c.y());
        }
        let rect = Rect::new(area.x, top, area.w, c.y() - top);
        if p.votes.is_none() {
            c.selectable(Some(key), rect, format!("vote:{key}"), option.clone());
        }
    }
    // Results are read, not voted on.
    c.finish(if p.votes.is_some() {
        HINTS_ITEM
    } else {
        HINTS_POLL
    })
}

/// A poll's confirmation: the question, the chosen option alone, what OK and Back do.
pub(super) fn confirm_vote(
    p: &PollScreen,
    key: u32,
    option: &str,
    mut c: Composer<'_>,
) -> Vec<Layout> {
    title_band(&mut c, &p.question);
    let meta = c.meta();
    c.block("您选择了：", meta);
    let body = c.body();
    let chosen = BlockStyle {
        fg: c.theme.accent,
        weight: Weight::Bold,
        ..item_line(body)
    };
    let area = c.area();
    let lines = c.lines(&format!("{key}. {option}"), chosen, area.w);
    c.need(lines.len() as f32 * chosen.px * chosen.pitch);
    let top = c.y();
    for l in &lines {
        c.place(l, chosen, area.x, area.w);
    }
    let rect = Rect::new(area.x, top, area.w, c.y() - top);
    c.selectable(None, rect, format!("vote:{key}"), option.to_owned());
    c.block("按确定键投票，按返回键取消", meta);
    c.finish(HINTS_CONFIRM)
}
