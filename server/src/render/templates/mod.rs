//! The templates: where each kind of screen puts what it says, one file per family.
//!
//! A template takes a page model ([`Screen`]) and a [`Composer`] and returns the pages
//! laid out. What every family shares (the title band, headings, label–value rows, the
//! key hints) lives here.

mod cases;
mod catalogue;
mod navigation;
mod notice;
mod poll;

use super::compose::{Align, BlockStyle, Composer};
use super::layout::{Layout, Role};
use super::profile::Rect;
use super::screen::*;
use crate::fonts::Weight;
use cases::*;
use catalogue::*;
use navigation::*;
use notice::*;
use poll::*;

const HINTS_ITEM: &[(&str, &str)] = &[("返回", "上一级"), ("翻页", "看下一页"), ("菜单", "回首页")];
const HINTS_LIST: &[(&str, &str)] = &[("数字", "选择"), ("返回", "上一级"), ("翻页", "看更多")];
const HINTS_HOME: &[(&str, &str)] = &[("数字", "选择栏目"), ("帮助", "按信息键")];
const HINTS_SLATE: &[(&str, &str)] = &[("菜单", "回首页")];
const HINTS_LOOKUP: &[(&str, &str)] = &[("数字", "输入编号"), ("确定", "查询"), ("返回", "删除")];
const HINTS_POLL: &[(&str, &str)] = &[("数字", "投票"), ("返回", "上一级")];
const HINTS_CONFIRM: &[(&str, &str)] = &[("确定", "投票"), ("返回", "取消")];

/// QR caption.
const QR_CAPTION: &str = "用手机扫码，查看网上详情和在线办理";

/// Lays `screen` out into pages with its family's template.
pub fn compose(screen: &Screen, c: Composer<'_>) -> Vec<Layout> {
    match screen {
        Screen::Notice(n) => notice(n, c),
        Screen::Home(h) => home(h, c),
        Screen::List(l) => list(l, c),
        Screen::Slate(s) => slate(s, c),
        Screen::Entry(e) => entry(e, c),
        Screen::Guide(g) => guide(g, c),
        Screen::Flow(f) => flow(f, c),
        Screen::PublicList(p) => public_list(p, c),
        Screen::CaseLookup(l) => case_lookup(l, c),
        Screen::CaseResult(r) => case_result(r, c),
        Screen::Poll(p) => poll(p, c),
        Screen::Banner(b) => banner(b, c),
        Screen::Help(h) => help(h, c),
        Screen::Summary(s) => summary(s, c),
    }
}

/// A list line: body text, flush left and ragged.
fn item_line(body: BlockStyle) -> BlockStyle {
    BlockStyle {
        role: Role::Item,
        indent_em: 0.0,
        justify: false,
        ..body
    }
}

/// A centred bold label on a panel (home tiles, flowchart boxes).
fn panel_label(c: &Composer<'_>, body: BlockStyle) -> BlockStyle {
    BlockStyle {
        weight: Weight::Bold,
        align: Align::Center,
        pitch: 1.3,
        bg: c.theme.panel,
        ..item_line(body)
    }
}

/// The title band at the top of a screen's first page; later pages repeat the title,
/// shortened, as "title（续）".
fn title_band(c: &mut Composer<'_>, title: &str) {
    title_band_in(c, title, false);
}

/// The title band, in urgent colours with `urgent` (and a 紧急通知 line above the title).
fn title_band_in(c: &mut Composer<'_>, title: &str, urgent: bool) {
    c.set_heading(title, urgent);
    let (panel, fg) = if urgent {
        (c.theme.urgent, c.theme.urgent_text)
    } else {
        (c.theme.panel, c.theme.title)
    };
    let style = BlockStyle {
        bg: panel,
        fg,
        ..c.title()
    };
    let top = c.y();
    let label = BlockStyle {
        role: Role::Alert,
        px: c.profile.body_em(),
        pitch: 1.3,
        ..style
    };
    let label_lines = if urgent {
        c.lines("紧急通知", label, c.area().w)
    } else {
        Vec::new()
    };
    let lines = c.lines(title, style, c.area().w);
    let band_h = lines.len() as f32 * style.px * style.pitch
        + label_lines.len() as f32 * label.px * label.pitch;
    let width = c.profile.canvas_width();
    c.shape(
        Rect::new(0.0, 0.0, width, top + band_h + style.px * 0.2),
        panel,
    );
    let area = c.area();
    for line in &label_lines {
        c.place(line, label, area.x, area.w);
    }
    for line in &lines {
        c.place(line, style, area.x, area.w);
    }
    c.gap(style.px * 0.3);
}

/// A heading inside a screen (bold, accent, body size).
fn heading(c: &mut Composer<'_>, text: &str) {
    let body = c.body();
    let style = BlockStyle {
        role: Role::Heading,
        weight: Weight::Bold,
        fg: c.theme.accent,
        indent_em: 0.0,
        justify: false,
        ..body
    };
    c.need(style.px * style.pitch * 2.0);
    c.block(text, style);
}

/// A label–value row: `label：value`, label in muted bold, wrapping under itself.
fn field(c: &mut Composer<'_>, label: &str, value: &str) {
    if value.trim().is_empty() {
        return;
    }
    let body = c.body();
    let style = BlockStyle {
        indent_em: 0.0,
        justify: false,
        ..body
    };
    c.block(&format!("{label}：{value}"), style);
}

/// A numbered list of short paragraphs (conditions, materials, steps).
fn numbered(c: &mut Composer<'_>, items: &[String]) {
    let body = c.body();
    let style = BlockStyle {
        indent_em: 0.0,
        justify: true,
        ..body
    };
    for (i, item) in items.iter().enumerate() {
        c.block(&format!("{}. {}", i + 1, item.trim()), style);
    }
}

/// Numbered links to related screens, each selectable by its digit.
fn links(c: &mut Composer<'_>, links: &[ListItem]) {
    if links.is_empty() {
        return;
    }
    let body = c.body();
    let style = BlockStyle {
        weight: Weight::Bold,
        fg: c.theme.accent,
        ..item_line(body)
    };
    c.gap(body.px * 0.3);
    c.need(style.px * style.pitch * links.len().min(9) as f32);
    let area = c.area();
    for (i, link) in links.iter().take(9).enumerate() {
        let key = i as u8 + 1;
        let top = c.y();
        c.block(&format!("{key} {}", link.label), style);
        let rect = Rect::new(area.x, top, area.w, c.y() - top);
        c.selectable(Some(key), rect, link.target.clone(), link.label.clone());
    }
}

fn even_px(v: f32) -> f32 {
    super::layout::even(v)
}
