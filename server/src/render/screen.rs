//! The page models: what a screen says.
//!
//! Page models are plain data, deserialised from `headend render --input` JSON or built
//! from the store by callers; [`super::templates`] turn a model into pages with a
//! [`Composer`].

use serde::{Deserialize, Serialize};

use super::compose::Composer;
use super::layout::Layout;

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

impl Screen {
    /// Lays the screen out into pages (with its family's template).
    pub fn compose(&self, c: Composer<'_>) -> Vec<Layout> {
        super::templates::compose(self, c)
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
