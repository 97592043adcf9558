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
    /// A catalogue entry (disclosure, power or service item).
    Entry(EntryScreen),
    /// A service guide (办事指南).
    Guide(GuideScreen),
    /// A power item's process as a flowchart.
    Flow(FlowScreen),
    /// A public list (already masked by the caller).
    PublicList(PublicListScreen),
    /// Case lookup: digit entry of a case number.
    CaseLookup(CaseLookupScreen),
    /// A case's progress.
    CaseResult(CaseResultScreen),
    /// A poll, with results when `votes` is given.
    Poll(PollScreen),
    /// The urgent banner strip.
    Banner(BannerScreen),
    /// The keys and what they do.
    Help(HelpScreen),
    /// The start of a broadcast cycle: channel, date, headlines.
    Summary(SummaryScreen),
}

/// A catalogue entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryScreen {
    /// Kind label, e.g. 政府信息公开事项.
    pub kind_label: String,
    /// Title.
    pub title: String,
    /// 索引号.
    pub index_no: String,
    /// Publishing body.
    pub publisher: String,
    /// 文号.
    #[serde(default)]
    pub doc_no: Option<String>,
    /// Date, `YYYY-MM-DD`.
    pub date: String,
    /// Summary.
    #[serde(default)]
    pub summary: String,
    /// Body.
    pub body: String,
    /// Online page (a QR code is drawn).
    #[serde(default)]
    pub url: Option<String>,
    /// Related screens offered as numbered items after the text (办事指南, 办理流程): a
    /// set-top box opens them with their digit. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<ListItem>,
}

/// A service guide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuideScreen {
    /// Item title.
    pub title: String,
    /// 办理条件.
    pub conditions: Vec<String>,
    /// 申请材料.
    pub materials: Vec<String>,
    /// 办理流程.
    pub steps: Vec<String>,
    /// 办理时限, e.g. 法定20个工作日，承诺5个工作日.
    pub time_limit: String,
    /// 收费.
    pub fees: String,
    /// 办理地点.
    pub place: String,
    /// 办公时间.
    pub hours: String,
    /// 咨询电话.
    pub phone: String,
    /// Online page.
    #[serde(default)]
    pub url: Option<String>,
}

/// A power item's process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowScreen {
    /// Item title.
    pub title: String,
    /// Steps in order.
    pub steps: Vec<FlowBox>,
}

/// One step of a flowchart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowBox {
    /// Step name.
    pub name: String,
    /// 岗位.
    pub post: String,
    /// 时限.
    pub time_limit: String,
}

/// A public list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicListScreen {
    /// Title.
    pub title: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows of cells, masked.
    pub rows: Vec<Vec<String>>,
}

/// Case lookup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseLookupScreen {
    /// Digits entered so far.
    #[serde(default)]
    pub entered: String,
    /// A message (e.g. 未找到该办件).
    #[serde(default)]
    pub message: Option<String>,
}

/// A case's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseResultScreen {
    /// Case number.
    pub case_no: String,
    /// Item applied for.
    pub item: String,
    /// Handling department.
    pub department: String,
    /// Applicant, masked.
    pub applicant: String,
    /// Status in plain words.
    pub status: String,
    /// Received, `YYYY-MM-DD`.
    pub received: String,
    /// Due, `YYYY-MM-DD`.
    pub due: String,
    /// Completed, `YYYY-MM-DD`.
    #[serde(default)]
    pub completed: Option<String>,
    /// Open and past its due date.
    #[serde(default)]
    pub overdue: bool,
}

/// A poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollScreen {
    /// Question.
    pub question: String,
    /// Options (2–9).
    pub options: Vec<String>,
    /// Last day, `YYYY-MM-DD`.
    pub closes: String,
    /// Votes per option: results are shown as bars when present.
    #[serde(default)]
    pub votes: Option<Vec<u32>>,
    /// The option (counting from 1) a viewer chose and is asked to confirm: the screen
    /// shows that choice alone and asks for OK (vote) or Back (cancel). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<u32>,
}

/// The urgent banner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BannerScreen {
    /// Title of the urgent notice.
    pub title: String,
    /// Its text; paginated strip by strip.
    pub text: String,
}

/// The help screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelpScreen {
    /// Channel title.
    pub channel: String,
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
    /// Online page (a QR code is drawn after the body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An urgent notice aired full screen: the title band is drawn in urgent colours under
    /// a 紧急通知 line. Default: false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub urgent: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a channel airs at the start of each cycle: the channel, the date and the
/// headlines of what follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryScreen {
    /// Channel title, e.g. 示范县政务频道.
    pub channel: String,
    /// Date line, e.g. 2026年11月22日 星期日.
    pub date: String,
    /// Headlines in airing order; as many as fit one page are shown.
    pub headlines: Vec<String>,
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

/// A numbered list, six items a page, numbered through the list.
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

/// Items per list page. Items are numbered through the whole list (page 2 starts at 7);
/// the digits 1–9 choose the first nine.
pub const LIST_PAGE: usize = 6;

const HINTS_ITEM: &[(&str, &str)] = &[("返回", "上一级"), ("翻页", "看下一页"), ("菜单", "回首页")];
const HINTS_LIST: &[(&str, &str)] = &[("数字", "选择"), ("返回", "上一级"), ("翻页", "看更多")];
const HINTS_HOME: &[(&str, &str)] = &[("数字", "选择栏目"), ("帮助", "按信息键")];
const HINTS_SLATE: &[(&str, &str)] = &[("菜单", "回首页")];
const HINTS_LOOKUP: &[(&str, &str)] = &[("数字", "输入编号"), ("确定", "查询"), ("返回", "删除")];
const HINTS_POLL: &[(&str, &str)] = &[("数字", "投票"), ("返回", "上一级")];
const HINTS_CONFIRM: &[(&str, &str)] = &[("确定", "投票"), ("返回", "取消")];

/// QR caption.
const QR_CAPTION: &str = "用手机扫码，查看网上详情和在线办理";

impl Screen {
    /// Lays the screen out into pages.
    pub fn compose(&self, c: Composer<'_>) -> Vec<super::layout::Layout> {
        match self {
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

    /// The screen kind as written in JSON (`notice`, `list`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Screen::Notice(_) => "notice",
            Screen::Home(_) => "home",
            Screen::List(_) => "list",
            Screen::Slate(_) => "slate",
            Screen::Entry(_) => "entry",
            Screen::Guide(_) => "guide",
            Screen::Flow(_) => "flow",
            Screen::PublicList(_) => "public_list",
            Screen::CaseLookup(_) => "case_lookup",
            Screen::CaseResult(_) => "case_result",
            Screen::Poll(_) => "poll",
            Screen::Banner(_) => "banner",
            Screen::Help(_) => "help",
            Screen::Summary(_) => "summary",
        }
    }

    /// What a viewer would call the screen (a status line's 下一条：…).
    pub fn headline(&self) -> String {
        match self {
            Screen::Notice(n) => n.title.clone(),
            Screen::Home(h) => h.title.clone(),
            Screen::List(l) => l.title.clone(),
            Screen::Slate(s) => s.channel.clone(),
            Screen::Entry(e) => e.title.clone(),
            Screen::Guide(g) => format!("办事指南：{}", g.title),
            Screen::Flow(f) => format!("办理流程：{}", f.title),
            Screen::PublicList(p) => p.title.clone(),
            Screen::CaseLookup(_) => "办件查询".to_owned(),
            Screen::CaseResult(r) => format!("办件进度：{}", r.item),
            Screen::Poll(p) => format!("民意调查：{}", p.question),
            Screen::Banner(b) => b.title.clone(),
            Screen::Help(_) => "按键说明".to_owned(),
            Screen::Summary(_) => "本轮节目导视".to_owned(),
        }
    }

    /// Whether the screen is an index (a list of titles, the summary) rather than content.
    pub fn is_index(&self) -> bool {
        matches!(self, Screen::List(_) | Screen::Home(_) | Screen::Summary(_))
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

fn notice(n: &NoticeScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
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

fn entry(e: &EntryScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
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

/// Numbered links to related screens, each selectable by its digit.
fn links(c: &mut Composer<'_>, links: &[ListItem]) {
    if links.is_empty() {
        return;
    }
    let body = c.body();
    let style = BlockStyle {
        role: Role::Item,
        weight: Weight::Bold,
        indent_em: 0.0,
        justify: false,
        fg: c.theme.accent,
        ..body
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

fn guide(g: &GuideScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
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

fn flow(f: &FlowScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
    title_band(&mut c, &format!("办理流程：{}", f.title));
    let area = c.area();
    let body = c.body();
    let name_style = BlockStyle {
        role: Role::Item,
        weight: Weight::Bold,
        align: Align::Center,
        indent_em: 0.0,
        justify: false,
        pitch: 1.3,
        bg: c.theme.panel,
        ..body
    };
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

fn public_list(p: &PublicListScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
    title_band(&mut c, &p.title);
    let area = c.area();
    let body = c.body();
    let cell = BlockStyle {
        role: Role::Item,
        indent_em: 0.0,
        justify: false,
        ..body
    };
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

fn case_lookup(l: &CaseLookupScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
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

fn even_px(v: f32) -> f32 {
    super::layout::even(v)
}

fn case_result(r: &CaseResultScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
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

/// A poll's confirmation: the question, the chosen option alone, what OK and Back do.
fn confirm_vote(
    p: &PollScreen,
    key: u32,
    option: &str,
    mut c: Composer<'_>,
) -> Vec<super::layout::Layout> {
    title_band(&mut c, &p.question);
    let meta = c.meta();
    c.block("您选择了：", meta);
    let body = c.body();
    let chosen = BlockStyle {
        role: Role::Item,
        indent_em: 0.0,
        justify: false,
        fg: c.theme.accent,
        weight: Weight::Bold,
        ..body
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

fn poll(p: &PollScreen, c: Composer<'_>) -> Vec<super::layout::Layout> {
    let chosen = p.chosen.and_then(|k| {
        let option = p.options.get((k as usize).checked_sub(1)?)?;
        (k <= 9).then_some((k, option))
    });
    match chosen {
        Some((k, option)) => confirm_vote(p, k, option, c),
        None => poll_options(p, c),
    }
}

fn poll_options(p: &PollScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
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
    let item = BlockStyle {
        role: Role::Item,
        indent_em: 0.0,
        justify: false,
        ..body
    };
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

fn banner(b: &BannerScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
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

fn help(h: &HelpScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
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

fn summary(s: &SummaryScreen, mut c: Composer<'_>) -> Vec<super::layout::Layout> {
    title_band(&mut c, &s.channel);
    let meta = c.meta();
    c.block(&s.date, meta);
    c.gap(c.profile.body_em() * 0.2);
    heading(&mut c, "本轮节目");
    let body = c.body();
    let item = BlockStyle {
        role: Role::Item,
        indent_em: 0.0,
        justify: false,
        ..body
    };
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
