//! Flowing a screen's content into pages: a cursor moves down the safe area; text blocks
//! are broken into lines and placed one line at a time; when the next line does not fit
//! above the footer, a new page starts. The footer (key hints and "第N/M页") is added to
//! every page once the page count is known.

use super::context::{self, Alert, ScreenContext};
use super::layout::{even, Layout, QrMark, Role, Selectable, Shape, TextLine};
use super::profile::{Profile, Rect};
use super::text::{break_paragraph, paragraphs, Line, Measure, TextStyle};
use super::theme::{Rgb, Theme};
use crate::fonts::Weight;

/// Horizontal placement of a text block's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Flush left (justified when the block asks for it).
    Left,
    /// Centred in the box.
    Center,
}

/// How one block of text is set.
#[derive(Debug, Clone, Copy)]
pub struct BlockStyle {
    /// What the lines are.
    pub role: Role,
    /// Weight.
    pub weight: Weight,
    /// Size in pixels.
    pub px: f32,
    /// Line pitch as a multiple of `px`.
    pub pitch: f32,
    /// Text colour.
    pub fg: Rgb,
    /// Colour behind the text.
    pub bg: Rgb,
    /// Placement.
    pub align: Align,
    /// First-line indent in ems.
    pub indent_em: f32,
    /// Justify all but the last line of each paragraph.
    pub justify: bool,
}

#[derive(Debug, Default)]
struct Page {
    lines: Vec<TextLine>,
    shapes: Vec<Shape>,
    selectables: Vec<Selectable>,
    qr: Vec<QrMark>,
}

/// Builds the pages of one screen.
pub struct Composer<'a> {
    /// Output profile.
    pub profile: Profile,
    /// Palette.
    pub theme: Theme,
    measure: &'a dyn Measure,
    /// The text box: the safe area less the footer.
    area: Rect,
    y: f32,
    pages: Vec<Page>,
    missing: Vec<char>,
    footer_px: f32,
    /// Where the footer (key hints or status line) starts.
    footer_top: f32,
    /// Where the screen is shown.
    context: ScreenContext,
    /// The alert band (broadcast with an urgent notice in force).
    band: Option<Rect>,
    /// The heading continuation pages repeat, and whether it is drawn in urgent colours.
    heading: Option<(String, bool)>,
}

/// Line pitch of the status line's rows (broadcast).
const STATUS_PITCH: f32 = 1.3;
/// Line pitch of the alert band's text.
const BAND_PITCH: f32 = 1.3;

impl<'a> Composer<'a> {
    /// A composer with one empty page, for a set-top box screen (interactive context).
    pub fn new(profile: Profile, theme: Theme, measure: &'a dyn Measure) -> Composer<'a> {
        Composer::in_context(profile, theme, measure, ScreenContext::Interactive)
    }

    /// A composer with one empty page for a screen shown in `context`: on air, the text
    /// box also leaves room for the two-row status line and, with an alert, the band.
    pub fn in_context(
        profile: Profile,
        theme: Theme,
        measure: &'a dyn Measure,
        context: ScreenContext,
    ) -> Composer<'a> {
        let safe = profile.canvas_safe();
        let footer_px = (profile.body_em() * 0.8).round();
        let footer_h = match context {
            ScreenContext::Interactive => footer_px * 1.5,
            ScreenContext::Broadcast(_) => even(2.0 * footer_px * STATUS_PITCH + 4.0),
        };
        let band_h = match context.alert() {
            Some(_) => even(profile.body_em() * (2.0 * BAND_PITCH + 0.4)),
            None => 0.0,
        };
        let area = Rect::new(safe.x, safe.y, safe.w, safe.h - footer_h - band_h);
        let band = (band_h > 0.0)
            .then(|| Rect::new(0.0, even(area.bottom()), profile.canvas_width(), band_h));
        let footer_top = band.map_or(area.bottom(), |b| b.bottom());
        Composer {
            profile,
            theme,
            measure,
            area,
            y: area.y,
            pages: vec![Page::default()],
            missing: Vec::new(),
            footer_px,
            footer_top,
            context,
            band,
            heading: None,
        }
    }

    /// Whether the screen airs (broadcast context).
    pub fn on_air(&self) -> bool {
        self.context.on_air().is_some()
    }

    /// Sets the heading every later page repeats as "heading（续）" (in urgent colours with
    /// `urgent`).
    pub fn set_heading(&mut self, heading: &str, urgent: bool) {
        self.heading = Some((heading.to_owned(), urgent));
    }

    /// Number of pages so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// The text box of a page (safe area minus footer).
    pub fn area(&self) -> Rect {
        self.area
    }

    /// Current vertical position.
    pub fn y(&self) -> f32 {
        self.y
    }

    /// Body style of this profile.
    pub fn body(&self) -> BlockStyle {
        BlockStyle {
            role: Role::Body,
            weight: Weight::Regular,
            px: self.profile.body_em(),
            pitch: self.profile.line_pitch(),
            fg: self.theme.text,
            bg: self.theme.background,
            align: Align::Left,
            indent_em: 2.0,
            justify: true,
        }
    }

    /// Title style of this profile (bold, 1.5× body, centred).
    pub fn title(&self) -> BlockStyle {
        BlockStyle {
            role: Role::Title,
            weight: Weight::Bold,
            px: self.profile.heading_em(),
            pitch: 1.3,
            fg: self.theme.title,
            bg: self.theme.background,
            align: Align::Center,
            indent_em: 0.0,
            justify: false,
        }
    }

    /// Meta style (muted, body size, centred).
    pub fn meta(&self) -> BlockStyle {
        BlockStyle {
            role: Role::Meta,
            fg: self.theme.muted,
            align: Align::Center,
            indent_em: 0.0,
            justify: false,
            ..self.body()
        }
    }

    /// Starts a new page, headed by the continued heading when one is set.
    pub fn page_break(&mut self) {
        self.pages.push(Page::default());
        self.y = self.area.y;
        if let Some((heading, urgent)) = self.heading.clone() {
            self.continuation_band(&heading, urgent);
        }
    }

    /// The one-line band heading a continuation page: the heading, shortened to fit one
    /// line, followed by （续）.
    fn continuation_band(&mut self, heading: &str, urgent: bool) {
        let (panel, fg) = if urgent {
            (self.theme.urgent, self.theme.urgent_text)
        } else {
            (self.theme.panel, self.theme.title)
        };
        let style = BlockStyle {
            bg: panel,
            fg,
            ..self.title()
        };
        let width = self.area.w;
        let mut max = heading.chars().count();
        let line = loop {
            let text = format!("{}（续）", context::shorten(heading, max));
            let lines = self.lines(&text, style, width);
            if lines.len() <= 1 || max <= 2 {
                break lines.into_iter().next();
            }
            max -= 1;
        };
        let Some(line) = line else { return };
        let band_h = style.px * style.pitch;
        let top = self.y;
        self.shape(
            Rect::new(
                0.0,
                0.0,
                self.profile.canvas_width(),
                top + band_h + style.px * 0.2,
            ),
            panel,
        );
        let area = self.area;
        self.place(&line, style, area.x, area.w);
        self.gap(style.px * 0.2);
    }

    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Whether the current page is still empty.
    pub fn page_is_empty(&self) -> bool {
        self.pages
            .last()
            .is_none_or(|p| p.lines.is_empty() && p.selectables.is_empty())
    }

    /// Moves down by `h`, or to a new page if that leaves no room.
    pub fn gap(&mut self, h: f32) {
        self.y += h;
    }

    /// Ensures `h` pixels fit on the current page, starting a new page if not.
    pub fn need(&mut self, h: f32) {
        if self.y + h > self.area.bottom() + 0.01 && !self.page_is_empty() {
            self.page_break();
        }
    }

    /// Breaks `text` into lines of `width` (default: the whole area) without placing them.
    pub fn lines(&mut self, text: &str, style: BlockStyle, width: f32) -> Vec<Line> {
        let mut out = Vec::new();
        let ts = TextStyle {
            weight: style.weight,
            px: style.px,
        };
        for para in paragraphs(text) {
            out.extend(break_paragraph(
                para,
                ts,
                width,
                style.indent_em * style.px,
                style.justify,
                self.measure,
                &mut self.missing,
            ));
        }
        out
    }

    /// Places one already broken line at the cursor, at horizontal offset `x` within the
    /// area box of `width`, and moves the cursor down.
    pub fn place(&mut self, line: &Line, style: BlockStyle, x: f32, width: f32) -> TextLine {
        let h = style.px * style.pitch;
        self.need(h);
        let left = match style.align {
            Align::Left => x + line.indent,
            Align::Center => x + ((width - line.width) / 2.0).max(0.0),
        };
        let text_line = TextLine {
            text: line.text(),
            x: left,
            y: self.y,
            w: line.width,
            h,
            em: style.px,
            fg: style.fg.hex(),
            bg: style.bg.hex(),
            role: style.role,
            glyphs: line.glyphs.clone(),
            weight: style.weight,
            fg_rgb: style.fg,
            bg_rgb: style.bg,
        };
        self.page().lines.push(text_line.clone());
        self.y += h;
        text_line
    }

    /// Sets `text` as a block across the whole area width.
    pub fn block(&mut self, text: &str, style: BlockStyle) {
        let (x, w) = (self.area.x, self.area.w);
        self.block_in(text, style, x, w);
    }

    /// Sets `text` as a block in the column `x..x+width`.
    pub fn block_in(&mut self, text: &str, style: BlockStyle, x: f32, width: f32) {
        for line in self.lines(text, style, width) {
            self.place(&line, style, x, width);
        }
    }

    /// A horizontal rule of `thickness` (rounded to even pixels, at least 2) across the area.
    pub fn rule(&mut self, thickness: f32, color: Rgb) {
        let t = even(thickness).max(2.0);
        let y = even(self.y);
        self.shape(Rect::new(self.area.x, y, self.area.w, t), color);
        self.y = y + t;
    }

    /// Adds a filled shape to the current page (edges rounded to even pixels vertically).
    pub fn shape(&mut self, rect: Rect, color: Rgb) {
        let y = even(rect.y);
        let h = even(rect.bottom()) - y;
        self.page().shapes.push(Shape {
            rect: Rect::new(rect.x.round(), y, rect.w.round(), h.max(2.0)),
            fill: color.hex(),
            rgb: color,
        });
    }

    /// Records something selectable on the current page.
    pub fn selectable(&mut self, key: Option<u8>, rect: Rect, target: String, label: String) {
        self.page().selectables.push(Selectable {
            key,
            rect,
            target,
            label,
        });
    }

    /// Places a QR code for `url` with a caption, centred, on the current page (or the
    /// next if it does not fit). Does nothing for a URL too long to encode.
    pub fn qr(&mut self, url: &str, caption: &str) {
        let Ok(code) =
            qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        else {
            return;
        };
        let modules = code.width() as u32;
        let dark: Vec<bool> = code
            .to_colors()
            .iter()
            .map(|c| *c == qrcode::Color::Dark)
            .collect();
        // Even module size (interlace), about three body lines tall.
        let module_px = even((self.profile.body_em() * 3.5 / (modules as f32 + 4.0)).max(2.0));
        let side = module_px * (modules as f32 + 4.0);
        let caption_style = BlockStyle {
            role: Role::Meta,
            fg: self.theme.muted,
            align: Align::Left,
            indent_em: 0.0,
            justify: false,
            ..self.body()
        };
        let caption_lines = self.lines(
            caption,
            caption_style,
            self.area.w - side - self.profile.body_em(),
        );
        self.need(side);
        let y = even(self.y);
        let x = self.area.x;
        self.page().qr.push(QrMark {
            rect: Rect::new(x, y, side, side),
            url: url.to_owned(),
            modules,
            dark,
            module_px,
        });
        let text_h = caption_lines.len() as f32 * caption_style.px * caption_style.pitch;
        let saved = y;
        self.y = y + ((side - text_h) / 2.0).max(0.0);
        let cx = x + side + self.profile.body_em() * 0.5;
        let cw = self.area.w - side - self.profile.body_em() * 0.5;
        for line in &caption_lines {
            self.place(line, caption_style, cx, cw);
        }
        self.y = saved + side;
    }

    /// Finishes: adds the footer to every page. Interactive: the key hints (dropped from
    /// the end while they do not fit) and the page number when there is more than one page.
    /// Broadcast: the status line (channel, 第N/M页, 下一条：…), and the alert band with
    /// its strips.
    pub fn finish(mut self, hints: &[(&str, &str)]) -> Vec<Layout> {
        let pages = self.pages.len() as u32;
        let strips = match self.context.alert().cloned() {
            Some(alert) => self.strips(&alert),
            None => Vec::new(),
        };
        let page_list = std::mem::take(&mut self.pages);
        let mut out = Vec::with_capacity(page_list.len());
        for (i, mut page) in page_list.into_iter().enumerate() {
            let number = (pages > 1).then(|| format!("第{}/{}页", i + 1, pages));
            page.shapes.push(Shape {
                rect: Rect::new(
                    0.0,
                    even(self.footer_top),
                    self.profile.canvas_width(),
                    self.profile.height() as f32 - even(self.footer_top),
                ),
                fill: self.theme.panel.hex(),
                rgb: self.theme.panel,
            });
            match self.context.on_air().cloned() {
                None => self.key_hints(&mut page, hints, number.as_deref()),
                Some(on_air) => self.status_line(
                    &mut page,
                    &on_air.channel,
                    on_air.next.as_deref(),
                    number.as_deref(),
                ),
            }
            if let Some(band) = self.band {
                page.shapes.push(Shape {
                    rect: band,
                    fill: self.theme.urgent.hex(),
                    rgb: self.theme.urgent,
                });
            }
            let mut layout = Layout {
                profile: self.profile.as_str(),
                width: self.profile.width(),
                height: self.profile.height(),
                page: i as u32 + 1,
                pages,
                safe: self.profile.safe(),
                lines: page.lines,
                shapes: page.shapes,
                selectables: page.selectables,
                qr: page.qr,
                missing: self.missing.clone(),
                band: self.band,
                strip: None,
                strips: strips.len() as u32,
                strip_lines: strips.clone(),
                background: self.theme.background,
                profile_kind: self.profile,
                x_scale: 1.0,
                footer_top: self
                    .context
                    .on_air()
                    .is_some()
                    .then(|| even(self.footer_top)),
            };
            layout.squeeze(self.profile.x_scale());
            out.push(layout);
        }
        out
    }

    /// A footer line at `y` (its role is `Footer`).
    fn footer_line(&self, line: &Line, x: f32, y: f32, h: f32) -> TextLine {
        TextLine {
            text: line.text(),
            x,
            y,
            w: line.width,
            h,
            em: self.footer_px,
            fg: self.theme.muted.hex(),
            bg: self.theme.panel.hex(),
            role: Role::Footer,
            glyphs: line.glyphs.clone(),
            weight: Weight::Regular,
            fg_rgb: self.theme.muted,
            bg_rgb: self.theme.panel,
        }
    }

    fn footer_style(&self) -> BlockStyle {
        BlockStyle {
            role: Role::Footer,
            weight: Weight::Regular,
            px: self.footer_px,
            pitch: 1.5,
            fg: self.theme.muted,
            bg: self.theme.panel,
            align: Align::Left,
            indent_em: 0.0,
            justify: false,
        }
    }

    /// The interactive footer: key hints and the page number, both selectable.
    fn key_hints(&mut self, page: &mut Page, hints: &[(&str, &str)], number: Option<&str>) {
        let safe = self.profile.canvas_safe();
        let px = self.footer_px;
        let footer = self.footer_style();
        let number_line = number.and_then(|n| self.lines(n, footer, safe.w).into_iter().next());
        let number_w = number_line.as_ref().map_or(0.0, |l| l.width + px);
        let mut shown = hints.len();
        let hint_line = loop {
            let text: Vec<String> = hints[..shown]
                .iter()
                .map(|(k, a)| format!("{k}{a}"))
                .collect();
            let text = text.join("　");
            let line = self.lines(&text, footer, safe.w).into_iter().next();
            match line {
                Some(l) if l.width + number_w <= safe.w || shown == 0 => break Some(l),
                None => break None,
                _ => shown -= 1,
            }
        };
        let y = self.footer_top + (safe.bottom() - self.footer_top - px * 1.5) / 2.0;
        if let Some(l) = &hint_line {
            page.lines.push(self.footer_line(l, safe.x, y, px * 1.5));
        }
        if let Some(l) = &number_line {
            page.lines
                .push(self.footer_line(l, safe.right() - l.width, y, px * 1.5));
        }
        // The footer's hints are selectable too: the set-top box maps their keys.
        let footer_rect = Rect::new(safe.x, y, safe.w, px * 1.5);
        for (key, action) in &hints[..shown] {
            page.selectables.push(Selectable {
                key: None,
                rect: footer_rect,
                target: format!("key:{key}"),
                label: format!("{key}{action}"),
            });
        }
        if let (Some(n), Some(l)) = (number, &number_line) {
            page.selectables.push(Selectable {
                key: None,
                rect: Rect::new(safe.right() - l.width, y, l.width, px * 1.5),
                target: "page".to_owned(),
                label: n.to_owned(),
            });
        }
    }

    /// The broadcast status line: channel (left) and position (right) on the first row,
    /// 下一条：<headline, shortened to fit> on the second. Nothing in it is selectable.
    fn status_line(
        &mut self,
        page: &mut Page,
        channel: &str,
        next: Option<&str>,
        number: Option<&str>,
    ) {
        let safe = self.profile.canvas_safe();
        let px = self.footer_px;
        let row_h = px * STATUS_PITCH;
        let style = BlockStyle {
            pitch: STATUS_PITCH,
            ..self.footer_style()
        };
        let top =
            self.footer_top + ((safe.bottom() - self.footer_top - 2.0 * row_h) / 2.0).max(0.0);
        let number_line = number.and_then(|n| self.lines(n, style, safe.w).into_iter().next());
        let number_w = number_line.as_ref().map_or(0.0, |l| l.width + px);
        if let Some(line) = self.fit_one_line(channel, "", style, safe.w - number_w) {
            page.lines.push(self.footer_line(&line, safe.x, top, row_h));
        }
        if let Some(l) = &number_line {
            page.lines
                .push(self.footer_line(l, safe.right() - l.width, top, row_h));
        }
        if let Some(next) = next {
            if let Some(line) = self.fit_one_line(next, "下一条：", style, safe.w) {
                page.lines
                    .push(self.footer_line(&line, safe.x, top + row_h, row_h));
            }
        }
    }

    /// `prefix` + `text`, with `text` shortened (…) until the whole fits one line of `width`.
    pub fn fit_one_line(
        &mut self,
        text: &str,
        prefix: &str,
        style: BlockStyle,
        width: f32,
    ) -> Option<Line> {
        let mut max = text.chars().count();
        loop {
            let candidate = format!("{prefix}{}", context::shorten(text, max));
            let mut lines = self.lines(&candidate, style, width);
            if lines.len() <= 1 || max <= 1 {
                return (!lines.is_empty()).then(|| lines.swap_remove(0));
            }
            max -= 1;
        }
    }

    /// The alert band's strips: strip 1 is the title behind a 紧急 label; the following
    /// strips carry the text in runs of whole clauses (see [`context::pack_strips`]), each at
    /// most two lines across the safe width.
    fn strips(&mut self, alert: &Alert) -> Vec<Vec<TextLine>> {
        let Some(band) = self.band else {
            return Vec::new();
        };
        let area = self.area;
        let style = BlockStyle {
            role: Role::Alert,
            weight: Weight::Bold,
            px: self.profile.body_em(),
            pitch: BAND_PITCH,
            fg: self.theme.urgent_text,
            bg: self.theme.urgent,
            align: Align::Left,
            indent_em: 0.0,
            justify: false,
        };
        let label_w = style.px * 2.5;
        let mut out = Vec::new();
        let place = |c: &mut Composer<'_>, lines: Vec<Line>, x: f32, lead: Option<&Line>| {
            let h = style.px * style.pitch;
            let block = lines.len().max(1) as f32 * h;
            let top = band.y + ((band.h - block) / 2.0).max(0.0);
            let mut strip = Vec::new();
            if let Some(label) = lead {
                strip.push(c.band_line(label, style, area.x, top));
            }
            for (n, line) in lines.iter().enumerate() {
                strip.push(c.band_line(line, style, x, top + n as f32 * h));
            }
            strip
        };
        // Strip 1: the title.
        let label = self.lines("紧急", style, label_w).into_iter().next();
        let title_lines = self.lines(&alert.title, style, area.w - label_w);
        for chunk in title_lines.chunks(2) {
            let lead = if out.is_empty() { label.as_ref() } else { None };
            out.push(place(self, chunk.to_vec(), area.x + label_w, lead));
        }
        // The text, in runs of whole clauses.
        let width = area.w;
        let texts = {
            let measure = self.measure;
            let ts = super::text::TextStyle {
                weight: style.weight,
                px: style.px,
            };
            let mut scratch = Vec::new();
            let mut break_lines = |s: &str| -> Vec<Line> {
                break_paragraph(s, ts, width, 0.0, false, measure, &mut scratch)
            };
            let mut fits = |s: &str| break_lines(s).len() <= 2;
            let mut fallback = |s: &str| -> Vec<String> {
                let lines = break_paragraph(s, ts, width, 0.0, false, measure, &mut Vec::new());
                lines
                    .chunks(2)
                    .map(|c| c.iter().map(Line::text).collect::<String>())
                    .collect()
            };
            context::pack_strips(&alert.text, &mut fits, &mut fallback)
        };
        for text in texts {
            let lines = self.lines(&text, style, width);
            out.push(place(self, lines, area.x, None));
        }
        out
    }

    fn band_line(&self, line: &Line, style: BlockStyle, x: f32, y: f32) -> TextLine {
        TextLine {
            text: line.text(),
            x: x + line.indent,
            y,
            w: line.width,
            h: style.px * style.pitch,
            em: style.px,
            fg: style.fg.hex(),
            bg: style.bg.hex(),
            role: Role::Alert,
            glyphs: line.glyphs.clone(),
            weight: style.weight,
            fg_rgb: style.fg,
            bg_rgb: style.bg,
        }
    }
}
