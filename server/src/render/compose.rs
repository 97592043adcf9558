//! Flowing a screen's content into pages: a cursor moves down the safe area; text blocks
//! are broken into lines and placed one line at a time; when the next line does not fit
//! above the footer, a new page starts. The footer (key hints and "第N/M页") is added to
//! every page once the page count is known.

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
}

impl<'a> Composer<'a> {
    /// A composer with one empty page.
    pub fn new(profile: Profile, theme: Theme, measure: &'a dyn Measure) -> Composer<'a> {
        let safe = profile.canvas_safe();
        let footer_px = (profile.body_em() * 0.8).round();
        let footer_h = footer_px * 1.5;
        let area = Rect::new(safe.x, safe.y, safe.w, safe.h - footer_h);
        Composer {
            profile,
            theme,
            measure,
            area,
            y: area.y,
            pages: vec![Page::default()],
            missing: Vec::new(),
            footer_px,
        }
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

    /// Starts a new page.
    pub fn page_break(&mut self) {
        self.pages.push(Page::default());
        self.y = self.area.y;
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

    /// Finishes: adds the footer (hints, which are dropped from the end while they do not
    /// fit, and the page number when there is more than one page) to every page.
    pub fn finish(mut self, hints: &[(&str, &str)]) -> Vec<Layout> {
        let pages = self.pages.len() as u32;
        let safe = self.profile.canvas_safe();
        let px = self.footer_px;
        let footer = BlockStyle {
            role: Role::Footer,
            weight: Weight::Regular,
            px,
            pitch: 1.5,
            fg: self.theme.muted,
            bg: self.theme.panel,
            align: Align::Left,
            indent_em: 0.0,
            justify: false,
        };
        let band_top = self.area.bottom();
        let page_list = std::mem::take(&mut self.pages);
        let mut out = Vec::with_capacity(page_list.len());
        for (i, mut page) in page_list.into_iter().enumerate() {
            let number = (pages > 1).then(|| format!("第{}/{}页", i + 1, pages));
            let number_line = number
                .as_deref()
                .and_then(|n| self.lines(n, footer, safe.w).into_iter().next());
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
            page.shapes.push(Shape {
                rect: Rect::new(
                    0.0,
                    even(band_top),
                    self.profile.canvas_width(),
                    self.profile.height() as f32 - even(band_top),
                ),
                fill: self.theme.panel.hex(),
                rgb: self.theme.panel,
            });
            let y = band_top + (safe.bottom() - band_top - px * 1.5) / 2.0;
            let mut push = |line: &Line, x: f32| {
                page.lines.push(TextLine {
                    text: line.text(),
                    x,
                    y,
                    w: line.width,
                    h: px * 1.5,
                    em: px,
                    fg: footer.fg.hex(),
                    bg: footer.bg.hex(),
                    role: Role::Footer,
                    glyphs: line.glyphs.clone(),
                    weight: footer.weight,
                    fg_rgb: footer.fg,
                    bg_rgb: footer.bg,
                });
            };
            if let Some(l) = &hint_line {
                push(l, safe.x);
            }
            if let Some(l) = &number_line {
                push(l, safe.right() - l.width);
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
            if let (Some(n), Some(l)) = (&number, &number_line) {
                page.selectables.push(Selectable {
                    key: None,
                    rect: Rect::new(safe.right() - l.width, y, l.width, px * 1.5),
                    target: "page".to_owned(),
                    label: n.clone(),
                });
            }
            let mut layout = Layout {
                profile: self.profile.name(),
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
                background: self.theme.background,
                profile_kind: self.profile,
                x_scale: 1.0,
            };
            layout.squeeze(self.profile.x_scale());
            out.push(layout);
        }
        out
    }
}
