//! The page models (what a screen says) and their templates (where it goes).
//!
//! Page models are plain data, deserialised from `headend render --input` JSON or built
//! from the store by callers; templates turn a model into pages with a [`Composer`].

use serde::{Deserialize, Serialize};

use super::compose::{Align, BlockStyle, Composer};
use super::layout::Role;
use super::profile::Rect;
use crate::fonts::Weight;

/// A screen to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Screen {
    /// A notice or 公示.
    Notice(NoticeScreen),
    /// The home screen with numbered tiles.
    Home(HomeScreen),
    /// A numbered list (sections, entries, notices).
    List(ListScreen),
    /// The slate aired when nothing else can be.
    Slate(SlateScreen),
}

/// A notice (通知公告) or 公示.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeScreen {
    /// Title.
    pub title: String,
    /// Publishing body.
    pub publisher: String,
    /// Publication date, `YYYY-MM-DD`.
    pub date: String,
    /// Body: paragraphs separated by blank lines (or single newlines).
    pub body: String,
    /// For 公示: the objection period.
    #[serde(default)]
    pub publicity: Option<Publicity>,
}

/// A 公示's objection period as shown on screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publicity {
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    /// Last day, `YYYY-MM-DD`.
    pub end: String,
    /// Days left including today (0 once it has ended).
    pub days_left: u32,
    /// Who takes objections.
    pub contact: String,
    /// Their phone.
    pub phone: String,
}

/// The home screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeScreen {
    /// Channel title, e.g. 示范县政务频道.
    pub title: String,
    /// Date and time line, e.g. 2026年11月22日 星期日 08:00.
    pub now: String,
    /// Up to nine tiles, numbered 1–9 in order.
    pub tiles: Vec<Tile>,
}

/// One home tile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tile {
    /// Label (2–4 characters read best).
    pub label: String,
    /// What it opens.
    pub target: String,
}

/// A numbered list, six items a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListScreen {
    /// Title.
    pub title: String,
    /// Items.
    pub items: Vec<ListItem>,
}

/// One list item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListItem {
    /// Label.
    pub label: String,
    /// Secondary line (date, publisher), optional.
    #[serde(default)]
    pub detail: Option<String>,
    /// What it opens.
    pub target: String,
}

/// The slate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlateScreen {
    /// Channel title.
    pub channel: String,
    /// Time line, e.g. 08:00.
    pub time: String,
}

/// Items per list page (digit keys 1–6).
pub const LIST_PAGE: usize = 6;

const HINTS_ITEM: &[(&str, &str)] = &[("返回", "上一级"), ("翻页", "看下一页"), ("菜单", "回首页")];
const HINTS_LIST: &[(&str, &str)] = &[("数字", "选择"), ("返回", "上一级"), ("翻页", "看更多")];
const HINTS_HOME: &[(&str, &str)] = &[("数字", "选择栏目"), ("帮助", "按信息键")];
const HINTS_SLATE: &[(&str, &str)] = &[("菜单", "回首页")];

impl Screen {
    /// Lays the screen out into pages.
    pub fn compose(&self, c: Composer<'_>) -> Vec<super::layout::Layout> {
        match self {
            Screen::Notice(n) => notice(n, c),
            Screen::Home(h) => home(h, c),
            Screen::List(l) => list(l, c),
            Screen::Slate(s) => slate(s, c),
        }
    }
}

/// `2026-11-20` → `2026年11月20日`; anything else unchanged.
pub fn chinese_date(date: &str) -> String {
    let parts: Vec<&str> = date.split('-').collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => {
            let m = m.trim_start_matches('0');
            let d = d.trim_start_matches('0');
            format!("{y}年{m}月{d}日")
        }
        _ => date.to_owned(),
    }
}

/// `2026-11-25` → `11月25日`; anything else unchanged.
pub fn month_day(date: &str) -> String {
    let full = chinese_date(date);
    match full.split_once('年') {
        Some((_, rest)) if full != date => rest.to_owned(),
        _ => full,
    }
}

fn title_band(c: &mut Composer<'_>, title: &str) {
    let style = c.title();
    let top = c.y();
    let lines = c.lines(title, style, c.area().w);
    let band_h = lines.len() as f32 * style.px * style.pitch;
    let width = c.profile.width() as f32;
    let panel = c.theme.panel;
    c.shape(
        Rect::new(0.0, 0.0, width, top + band_h + style.px * 0.2),
        panel,
    );
    let area = c.area();
    let style = BlockStyle { bg: panel, ..style };
    for line in &lines {
        c.place(line, style, area.x, area.w);
    }
    c.gap(style.px * 0.3);
}

fn notice(n: &NoticeScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
    title_band(&mut c, &n.title);
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
    c.finish(HINTS_ITEM)
}

fn home(h: &HomeScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
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
    let label_style = BlockStyle {
        role: Role::Item,
        weight: Weight::Bold,
        align: Align::Center,
        indent_em: 0.0,
        justify: false,
        pitch: 1.3,
        bg: c.theme.panel,
        ..body
    };
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

fn list(l: &ListScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
    let body = c.body();
    let item_style = BlockStyle {
        role: Role::Item,
        indent_em: 0.0,
        justify: false,
        ..body
    };
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
    for (p, chunk) in chunks.into_iter().enumerate() {
        if p > 0 {
            c.page_break();
        }
        title_band(&mut c, &l.title);
        if chunk.is_empty() {
            let meta = c.meta();
            c.block("暂无内容", meta);
        }
        let area = c.area();
        let number_w = body.px * 1.5;
        for (i, item) in chunk.iter().enumerate() {
            let key = i as u8 + 1;
            let label_lines = c.lines(&item.label, item_style, area.w - number_w);
            let detail_lines = match &item.detail {
                Some(d) => c.lines(d, detail_style, area.w - number_w),
                None => Vec::new(),
            };
            let h = label_lines.len() as f32 * item_style.px * item_style.pitch
                + detail_lines.len() as f32 * detail_style.px * detail_style.pitch;
            c.need(h);
            let top = c.y();
            let number = c.lines(
                &key.to_string(),
                BlockStyle {
                    fg: c.theme.accent,
                    weight: Weight::Bold,
                    ..item_style
                },
                number_w,
            );
            if let Some(n) = number.first() {
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
            c.selectable(Some(key), rect, item.target.clone(), item.label.clone());
        }
    }
    c.finish(HINTS_LIST)
}

fn slate(s: &SlateScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
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
