//! HTML bodies to the plain text the renderer lays out: paragraphs separated by blank
//! lines, no tags, entities decoded, scripts and styles dropped, tables flattened into one
//! readable line per row.
//!
//! Built on html5gum's WHATWG tokenizer (which decodes entities and treats `<script>`,
//! `<style>` and `<title>` content as raw text), with a small flow model on top instead
//! of a DOM: platform pages are tag soup, and a tokenizer never fails on them. Whitespace
//! between two CJK characters is dropped (HTML source line breaks inside Chinese text are
//! not word spaces); elsewhere runs of whitespace become one space. Every block boundary
//! (`<p>`, `<div>`, `<br>`, `<li>`, headings …) is a paragraph break, because Chinese CMS
//! output marks paragraphs with any of them.
//!
//! Tables: a row with a header row above it reads `表头：值；表头：值`; without headers the
//! cells are joined by an ideographic space. Single-column tables (the layout tables many
//! platforms wrap whole articles in) keep their cells' paragraphs.

use html5gum::{DefaultEmitter, Token, Tokenizer};

/// A document linked from a body (`<a href="….pdf">`) or attached to a feed item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Attachment {
    /// What the link says, or the file name.
    pub name: String,
    /// Where it is.
    pub url: String,
}

/// The text of an HTML body and the attachments it links to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Converted {
    /// Paragraphs separated by one blank line; no leading or trailing whitespace.
    pub text: String,
    /// Linked documents (pdf, doc(x), xls(x), wps, ofd, zip, rar …).
    pub attachments: Vec<Attachment>,
}

/// File extensions that make a link an attachment.
const ATTACHMENT_EXTENSIONS: &[&str] = &[
    "pdf", "doc", "docx", "xls", "xlsx", "wps", "et", "ofd", "zip", "rar", "7z", "txt", "csv",
    "ppt", "pptx", "jpg", "jpeg", "png",
];

/// Elements whose content is never text for viewers.
const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "title", "iframe", "object", "noembed", "noframes",
    "select", "textarea", "svg", "math", "head",
];

/// Elements that belong in `<head>`; anything else there starts the body.
const HEAD_CONTENT: &[&str] = &[
    "head", "title", "meta", "link", "base", "script", "style", "noscript", "template",
];

/// Elements that start and end a paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "hr",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "figure",
    "figcaption",
    "address",
    "center",
    "form",
    "fieldset",
    "legend",
    "details",
    "summary",
    "body",
    "html",
    "caption",
];

/// Whether `c` belongs to East Asian running text, where spaces are not word separators.
pub fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF
        | 0x2014 | 0x2018..=0x201F | 0x2026
        | 0x2E80..=0x2FFF
        | 0x3000..=0x30FF
        | 0x3100..=0x312F
        | 0x3190..=0x31FF
        | 0x3200..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFFEF
        | 0x20000..=0x3FFFF)
}

/// Whitespace for collapsing: ASCII/Unicode whitespace, NBSP and the ideographic space.
fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{a0}' || c == '\u{3000}'
}

/// Characters dropped entirely: controls, zero-width marks, the BOM.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// Text being laid into paragraphs.
#[derive(Debug, Default)]
struct Flow {
    paras: Vec<String>,
    line: String,
    space: bool,
}

impl Flow {
    fn text(&mut self, s: &str) {
        for c in s.chars() {
            if is_space(c) {
                self.space = true;
            } else if is_invisible(c) {
                continue;
            } else {
                if self.space {
                    if let Some(last) = self.line.chars().next_back() {
                        if !is_wide(last) && !is_wide(c) {
                            self.line.push(' ');
                        }
                    }
                }
                self.space = false;
                self.line.push(c);
            }
        }
    }

    fn brk(&mut self) {
        self.space = false;
        let line = std::mem::take(&mut self.line);
        let line = line.trim();
        if !line.is_empty() {
            self.paras.push(line.to_owned());
        }
    }

    fn push_paragraphs(&mut self, paras: Vec<String>) {
        self.brk();
        self.paras
            .extend(paras.into_iter().filter(|p| !p.is_empty()));
    }

    fn finish(mut self) -> Vec<String> {
        self.brk();
        self.paras
    }
}

#[derive(Debug, Default)]
struct Row {
    cells: Vec<Vec<String>>,
    header: bool,
}

#[derive(Debug, Default)]
struct Table {
    caption: Flow,
    rows: Vec<Row>,
    row: Option<Row>,
    cell: Option<(Flow, bool)>,
    in_thead: bool,
}

impl Table {
    fn close_cell(&mut self) {
        if let Some((flow, is_th)) = self.cell.take() {
            let row = self.row.get_or_insert_with(|| Row {
                cells: Vec::new(),
                header: true,
            });
            row.header &= is_th || self.in_thead;
            row.cells.push(flow.finish());
        }
    }

    fn close_row(&mut self) {
        self.close_cell();
        if let Some(row) = self.row.take() {
            if row.cells.iter().any(|c| !c.is_empty()) {
                self.rows.push(row);
            }
        }
    }

    fn flatten(mut self) -> Vec<String> {
        self.close_row();
        let mut out = self.caption.finish();
        let rows = self.rows;
        let single_column = rows
            .iter()
            .all(|r| r.cells.iter().filter(|c| !c.is_empty()).count() <= 1);
        if single_column {
            for row in rows {
                for cell in row.cells {
                    out.extend(cell);
                }
            }
            return out;
        }
        let joined = |row: &Row| -> Vec<String> { row.cells.iter().map(|c| c.join(" ")).collect() };
        let mut rows = rows.into_iter().peekable();
        let header = match rows.peek() {
            Some(r) if r.header => rows.next().map(|r| joined(&r)),
            _ => None,
        };
        let mut any_data = false;
        for row in rows {
            let cells = joined(&row);
            let line = match &header {
                Some(h) if h.len() >= 2 => cells
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(i, v)| match h.get(i).filter(|h| !h.is_empty()) {
                        Some(h) => format!("{h}：{v}"),
                        None => v.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("；"),
                _ => cells
                    .into_iter()
                    .filter(|c| !c.is_empty())
                    .collect::<Vec<_>>()
                    .join("\u{3000}"),
            };
            if !line.is_empty() {
                any_data = true;
                out.push(line);
            }
        }
        if let (Some(h), false) = (header, any_data) {
            let line = h
                .into_iter()
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
                .join("\u{3000}");
            if !line.is_empty() {
                out.push(line);
            }
        }
        out
    }
}

struct Converter {
    root: Flow,
    tables: Vec<Table>,
    skip: Vec<String>,
    link: Option<(String, String)>,
    attachments: Vec<Attachment>,
    /// The attachments already listed (a body may link one file many times).
    listed: std::collections::HashSet<Attachment>,
}

impl Converter {
    /// Lists `a` unless it is listed already.
    fn attach(&mut self, a: Attachment) {
        if self.listed.insert(a.clone()) {
            self.attachments.push(a);
        }
    }

    fn flow(&mut self) -> &mut Flow {
        match self.tables.last_mut() {
            Some(t) => match &mut t.cell {
                Some((flow, _)) => flow,
                None => &mut t.caption,
            },
            None => &mut self.root,
        }
    }

    fn start(&mut self, name: &str, href: Option<String>, self_closing: bool) {
        if SKIPPED.contains(&name) {
            if !self_closing {
                self.skip.push(name.to_owned());
            }
            return;
        }
        if self.skip.last().is_some_and(|s| s == "head") && !HEAD_CONTENT.contains(&name) {
            // An unclosed <head> ends where body content starts, as in a browser.
            self.skip.pop();
        }
        if !self.skip.is_empty() {
            return;
        }
        match name {
            "table" => {
                self.flow().brk();
                self.tables.push(Table::default());
            }
            "thead" | "tbody" | "tfoot" => {
                if let Some(t) = self.tables.last_mut() {
                    t.close_row();
                    t.in_thead = name == "thead";
                }
            }
            "tr" => match self.tables.last_mut() {
                Some(t) => {
                    t.close_row();
                    t.row = Some(Row {
                        cells: Vec::new(),
                        header: true,
                    });
                }
                None => self.flow().brk(),
            },
            "td" | "th" => match self.tables.last_mut() {
                Some(t) => {
                    t.close_cell();
                    t.cell = Some((Flow::default(), name == "th"));
                }
                None => self.flow().text(" "),
            },
            "a" => {
                if let Some(href) = href {
                    self.link = Some((href, String::new()));
                }
            }
            _ if BLOCKS.contains(&name) => self.flow().brk(),
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        if let Some(pos) = self.skip.iter().rposition(|s| s == name) {
            self.skip.truncate(pos);
            return;
        }
        if !self.skip.is_empty() {
            return;
        }
        match name {
            "table" => {
                if let Some(t) = self.tables.pop() {
                    let paras = t.flatten();
                    self.flow().push_paragraphs(paras);
                }
            }
            "thead" => {
                if let Some(t) = self.tables.last_mut() {
                    t.close_row();
                    t.in_thead = false;
                }
            }
            "tr" => {
                if let Some(t) = self.tables.last_mut() {
                    t.close_row();
                }
            }
            "td" | "th" => {
                if let Some(t) = self.tables.last_mut() {
                    t.close_cell();
                }
            }
            "a" => {
                if let Some((href, text)) = self.link.take() {
                    if let Some(a) = attachment(&href, &text) {
                        self.attach(a);
                    }
                }
            }
            _ if BLOCKS.contains(&name) => self.flow().brk(),
            _ => {}
        }
    }

    fn text(&mut self, s: &str) {
        if !self.skip.is_empty() {
            return;
        }
        if let Some((_, text)) = &mut self.link {
            text.push_str(s);
        }
        self.flow().text(s);
    }

    fn finish(mut self) -> Converted {
        while let Some(t) = self.tables.pop() {
            let paras = t.flatten();
            self.flow().push_paragraphs(paras);
        }
        if let Some((href, text)) = self.link.take() {
            if let Some(a) = attachment(&href, &text) {
                self.attach(a);
            }
        }
        Converted {
            text: self.root.finish().join("\n\n"),
            attachments: self.attachments,
        }
    }
}

/// The attachment a link points to, if its target is a document file.
fn attachment(href: &str, text: &str) -> Option<Attachment> {
    let href = href.trim();
    let path = href.split(['?', '#']).next().unwrap_or("");
    let file = path.rsplit('/').next().unwrap_or("");
    let (_, ext) = file.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    if !ATTACHMENT_EXTENSIONS.contains(&ext.as_str()) {
        return None;
    }
    let name = one_line(text);
    let name = if name.is_empty() {
        file.to_owned()
    } else {
        name
    };
    Some(Attachment {
        name,
        url: href.to_owned(),
    })
}

/// Converts an HTML fragment or document to paragraphs of plain text.
pub fn html_to_text(html: &str) -> Converted {
    let mut emitter = DefaultEmitter::default();
    emitter.naively_switch_states(true);
    let mut c = Converter {
        root: Flow::default(),
        tables: Vec::new(),
        skip: Vec::new(),
        link: None,
        attachments: Vec::new(),
        listed: std::collections::HashSet::new(),
    };
    for token in Tokenizer::new_with_emitter(html, emitter) {
        let Ok(token) = token;
        match token {
            Token::StartTag(tag) => {
                let name = String::from_utf8_lossy(&tag.name).to_ascii_lowercase();
                let href = if name == "a" {
                    tag.attributes
                        .get(b"href".as_slice())
                        .map(|v| String::from_utf8_lossy(&v.value).into_owned())
                } else {
                    None
                };
                c.start(&name, href, tag.self_closing);
            }
            Token::EndTag(tag) => {
                let name = String::from_utf8_lossy(&tag.name).to_ascii_lowercase();
                c.end(&name);
            }
            Token::String(s) => c.text(&String::from_utf8_lossy(&s.value)),
            Token::Comment(_) | Token::Doctype(_) | Token::Error(_) => {}
        }
    }
    c.finish()
}

/// Normalises plain text: every line break is a paragraph break (Chinese text is not
/// hard-wrapped), whitespace inside a line collapses, invisible characters go.
pub fn plain_to_text(text: &str) -> String {
    let mut flow = Flow::default();
    for line in text.split(['\n', '\r', '\u{2028}', '\u{2029}']) {
        flow.text(line);
        flow.brk();
    }
    flow.finish().join("\n\n")
}

/// One line of text (a title, a name): whitespace collapsed, invisible characters dropped.
pub fn one_line(text: &str) -> String {
    let mut flow = Flow::default();
    flow.text(text);
    flow.finish().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_entities_and_scripts() {
        let html = r#"<div class="art"><script>var x = "<p>不要</p>";</script>
            <style>p { color: red }</style>
            <p>&nbsp;&nbsp;各村（社区）：</p><p>为做好冬季森林防火工作，
            现将有关事项通知如下&hellip;</p>请相互转告&amp;配合。<br>联系电话：0579&#x2d;87110002</div>"#;
        let c = html_to_text(html);
        assert_eq!(
            c.text,
            "各村（社区）：\n\n为做好冬季森林防火工作，现将有关事项通知如下…\n\n请相互转告&配合。\n\n联系电话：0579-87110002"
        );
        assert!(c.attachments.is_empty());
    }

    #[test]
    fn latin_words_keep_their_spaces() {
        assert_eq!(
            html_to_text("<p>PM2.5 指数  低于 35\n μg/m³, AQI 42</p>").text,
            "PM2.5指数低于35 μg/m³, AQI 42"
        );
    }

    #[test]
    fn tables_with_headers_read_as_label_value_pairs() {
        let html = "<p>名单如下：</p><table><thead><tr><th>姓名</th><th>村</th><th>金额（元）</th></tr></thead>
            <tbody><tr><td>王秀英</td><td>上溪村</td><td>1200.00</td></tr>
            <tr><td>李建国</td><td></td><td>800.00</td></tr></tbody></table><p>公示期七天。</p>";
        assert_eq!(
            html_to_text(html).text,
            "名单如下：\n\n姓名：王秀英；村：上溪村；金额（元）：1200.00\n\n姓名：李建国；金额（元）：800.00\n\n公示期七天。"
        );
    }

    #[test]
    fn tables_without_headers_and_layout_tables() {
        let html = "<table><tr><td>时间</td><td>11月21日</td></tr><tr><td>地点</td><td>村委会</td></tr></table>";
        assert_eq!(
            html_to_text(html).text,
            "时间\u{3000}11月21日\n\n地点\u{3000}村委会"
        );
        let layout = "<table><tr><td><p>第一段。</p><p>第二段。</p></td></tr></table>";
        assert_eq!(html_to_text(layout).text, "第一段。\n\n第二段。");
        // Unclosed and nested tables neither panic nor lose text.
        let messy = "<table><tr><td>甲<table><tr><td>乙</td><td>丙</td></tr></table><td>丁";
        assert_eq!(html_to_text(messy).text, "甲 乙\u{3000}丙\u{3000}丁");
    }

    #[test]
    fn document_links_are_attachments() {
        let c = html_to_text(
            r#"<p>详见附件：<a href="/upload/2026/名单.xlsx?v=2">临时救助名单</a>，<a href="/news/1.html">新闻</a></p>"#,
        );
        assert_eq!(
            c.attachments,
            vec![Attachment {
                name: "临时救助名单".into(),
                url: "/upload/2026/名单.xlsx?v=2".into()
            }]
        );
        assert_eq!(c.text, "详见附件：临时救助名单，新闻");
    }

    #[test]
    fn a_whole_page_keeps_only_the_body_text() {
        let page = "<!doctype html><html><head><title>标题栏</title><meta charset=utf-8>
            <script src=x.js></script></head><body><h1>停水通知</h1><p>明天停水。</p></body></html>";
        assert_eq!(html_to_text(page).text, "停水通知\n\n明天停水。");
        let unclosed = "<html><head><meta charset=utf-8><title>标题栏</title><p>明天停水。";
        assert_eq!(html_to_text(unclosed).text, "明天停水。");
    }

    #[test]
    fn plain_text_lines_are_paragraphs() {
        assert_eq!(
            plain_to_text("  第一段\r\n\r\n第二段\u{200b}\n  第三 段 "),
            "第一段\n\n第二段\n\n第三段"
        );
        assert_eq!(
            one_line(" 关于\n溪口镇 停水\t的通知 "),
            "关于溪口镇停水的通知"
        );
    }
}
