//! Chinese line breaking, justification and punctuation compression (W3C clreq,
//! GB/T 15834).
//!
//! Break opportunities come from UAX #14 (`unicode-linebreak`), then our tailoring:
//! closing punctuation never starts a line and opening punctuation never ends one;
//! "——" and "……" never split and never start a line; "/" never ends a line. Lines are
//! filled greedily; before a unit is pushed to the next line, full-width punctuation in
//! the line may give up its blank half (compression). Every line but a paragraph's last is
//! justified with even inter-character spacing (never inside a Latin word or number), a
//! ¼-em space separates Han from Latin letters and digits, the first line of a paragraph is
//! indented, and a paragraph never ends with a lone character on its last line.
//!
//! The breaker is pure: it measures through the [`Measure`] trait, so tests can run it
//! with the real faces or with a fixed-width stand-in.

use crate::fonts::Weight;

/// Supplies glyph advances.
pub trait Measure {
    /// Advance width of `ch` at `px`, in layout pixels; `None` when no face has the glyph
    /// (the layout then reserves one em and reports the character).
    fn advance(&self, ch: char, weight: Weight, px: f32) -> Option<f32>;
}

/// How a run of text is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    /// Face weight.
    pub weight: Weight,
    /// Size (em) in pixels.
    pub px: f32,
}

/// One positioned character of a line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glyph {
    /// The character.
    pub ch: char,
    /// Left edge of its advance box, relative to the line's start.
    pub x: f32,
    /// Advance after compression (before justification spacing).
    pub advance: f32,
    /// Horizontal offset to draw the glyph at (negative for compressed opening
    /// punctuation, whose ink sits in the right half of its em).
    pub shift: f32,
}

/// One laid-out line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Positioned characters (trailing spaces removed).
    pub glyphs: Vec<Glyph>,
    /// Indent of the line's start from the text box's left edge.
    pub indent: f32,
    /// Width from the line's start to the end of its last glyph, after justification.
    pub width: f32,
    /// Whether this is the last line of its paragraph (not justified).
    pub paragraph_end: bool,
}

impl Line {
    /// The line's text.
    pub fn text(&self) -> String {
        self.glyphs.iter().map(|g| g.ch).collect()
    }
}

/// Punctuation that must not start a line (GB/T 15834 行首禁则).
pub fn is_closing(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '？'
            | '！'
            | '）'
            | '》'
            | '」'
            | '』'
            | '】'
            | '〕'
            | '〉'
            | '〗'
            | '〙'
            | '”'
            | '’'
            | '％'
            | '‰'
            | '℃'
            | '·'
            | '・'
            | '．'
            | ','
            | '.'
            | ';'
            | ':'
            | '?'
            | '!'
            | ')'
            | ']'
            | '}'
            | '%'
            | '］'
            | '｝'
            | '〃'
            | '々'
            | '—'
            | '…'
            | '～'
            | 'ー'
    )
}

/// Punctuation that must not end a line (行尾禁则).
pub fn is_opening(c: char) -> bool {
    matches!(
        c,
        '（' | '《'
            | '「'
            | '『'
            | '【'
            | '〔'
            | '〈'
            | '〖'
            | '〘'
            | '“'
            | '‘'
            | '('
            | '['
            | '{'
            | '［'
            | '｛'
            | '￥'
            | '¥'
            | '$'
            | '＄'
    )
}

/// Full-width punctuation whose ink occupies one half of the em; the other half may be
/// given up (compression). Closing marks keep their left half, opening marks their right.
fn compressible(c: char) -> Option<Side> {
    match c {
        '，' | '。' | '、' | '；' | '：' | '）' | '》' | '」' | '』' | '】' | '〕' | '〉' | '”'
        | '’' => Some(Side::KeepLeft),
        '（' | '《' | '「' | '『' | '【' | '〔' | '〈' | '“' | '‘' => {
            Some(Side::KeepRight)
        }
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Side {
    KeepLeft,
    KeepRight,
}

/// Han ideographs (and the other CJK letters set solid with them).
pub fn is_han(c: char) -> bool {
    matches!(u32::from(c),
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF | 0x3040..=0x30FF)
}

/// Latin letters and digits (the neighbours that get a ¼-em space next to Han).
fn is_latin(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, 'À'..='ɏ')
}

/// Extra space between two neighbouring characters: ¼ em between Han and Latin.
fn mixed_gap(a: char, b: char, px: f32) -> f32 {
    if (is_han(a) && is_latin(b)) || (is_latin(a) && is_han(b)) {
        px * 0.25
    } else {
        0.0
    }
}

/// Splits text into paragraphs: one per non-blank line, surrounding whitespace (including
/// U+3000 indents typed by hand) removed.
pub fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// Break opportunities: `allowed[i]` says a line may break between `chars[i-1]` and
/// `chars[i]` (`allowed[0]` is unused).
fn break_opportunities(text: &str, chars: &[char]) -> Vec<bool> {
    let mut allowed = vec![false; chars.len() + 1];
    // Byte offset → char index.
    let mut char_at = std::collections::HashMap::with_capacity(chars.len());
    for (i, (byte, _)) in text.char_indices().enumerate() {
        char_at.insert(byte, i);
    }
    for (byte, _) in unicode_linebreak::linebreaks(text) {
        if let Some(&i) = char_at.get(&byte) {
            allowed[i] = true;
        }
    }
    for i in 1..chars.len() {
        let (prev, next) = (chars[i - 1], chars[i]);
        // UAX #14 treats “ ” ‘ ’ as ambiguous quotes and glues them to both sides; in
        // Chinese text they are ordinary opening and closing marks.
        if !prev.is_ascii() && is_closing(prev) && !is_closing(next) {
            allowed[i] = true;
        }
        if !next.is_ascii() && is_opening(next) && !is_opening(prev) {
            allowed[i] = true;
        }
        if is_closing(next) || is_opening(prev) || prev == '/' {
            allowed[i] = false;
        }
        // Between two Han characters (or Han and full-width punctuation already handled
        // above) a break is always possible.
        if is_han(prev) && is_han(next) {
            allowed[i] = true;
        }
    }
    allowed
}

/// A run of characters that must stay on one line.
struct Unit {
    start: usize,
    end: usize,
}

/// Lays out one paragraph into lines of `width` pixels; the first line is indented by
/// `indent`. `justify` spreads every line but the last to the full width. Characters no
/// face has are given one em and appended to `missing`.
pub fn break_paragraph(
    text: &str,
    style: TextStyle,
    width: f32,
    indent: f32,
    justify: bool,
    measure: &dyn Measure,
    missing: &mut Vec<char>,
) -> Vec<Line> {
    // Collapse runs of whitespace to one space; keep U+3000 as is.
    let mut clean = String::with_capacity(text.len());
    let mut last_space = true;
    for c in text.trim().chars() {
        if c.is_whitespace() && c != '\u{3000}' {
            if !last_space {
                clean.push(' ');
            }
            last_space = true;
        } else {
            clean.push(c);
            last_space = false;
        }
    }
    let chars: Vec<char> = clean.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let px = style.px;
    let advances: Vec<f32> = chars
        .iter()
        .map(|&c| {
            measure.advance(c, style.weight, px).unwrap_or_else(|| {
                if !missing.contains(&c) {
                    missing.push(c);
                }
                px
            })
        })
        .collect();
    let allowed = break_opportunities(&clean, &chars);
    let mut units = Vec::new();
    let mut start = 0;
    for (i, &ok) in allowed.iter().enumerate().take(chars.len()).skip(1) {
        if ok {
            units.push(Unit { start, end: i });
            start = i;
        }
    }
    units.push(Unit {
        start,
        end: chars.len(),
    });

    // Greedy fill over units; each line is a range of char indices.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut line_start = 0;
    let mut line_end = 0; // exclusive; == line_start when empty
    let avail = |line_no: usize| if line_no == 0 { width - indent } else { width };
    let mut queue: std::collections::VecDeque<Unit> = units.into();
    while let Some(unit) = queue.pop_front() {
        let line_no = ranges.len();
        let candidate_end = unit.end;
        let fits = {
            let natural = natural_width(&chars, &advances, line_start, candidate_end, px);
            natural - compressible_savings(&chars, &advances, line_start, candidate_end, px)
                <= avail(line_no) + 0.01
        };
        if fits {
            line_end = candidate_end;
            continue;
        }
        if line_end > line_start {
            ranges.push((line_start, line_end));
            line_start = line_end;
            queue.push_front(unit);
            continue;
        }
        // A unit wider than the whole line: cut it where it stops fitting (at least one
        // character, so the layout always advances).
        let mut cut = unit.start + 1;
        while cut < unit.end
            && natural_width(&chars, &advances, unit.start, cut + 1, px) <= avail(line_no) + 0.01
        {
            cut += 1;
        }
        ranges.push((unit.start, cut));
        line_start = cut;
        line_end = cut;
        if cut < unit.end {
            queue.push_front(Unit {
                start: cut,
                end: unit.end,
            });
        }
    }
    if line_end > line_start {
        ranges.push((line_start, line_end));
    }

    avoid_lone_last_character(&chars, &allowed, &mut ranges);

    let count = ranges.len();
    ranges
        .into_iter()
        .enumerate()
        .map(|(n, (s, e))| {
            let last = n + 1 == count;
            let line_indent = if n == 0 { indent } else { 0.0 };
            set_line(
                &chars,
                &advances,
                s,
                e,
                px,
                avail(n),
                justify && !last,
                line_indent,
                last,
            )
        })
        .collect()
}

/// Index one past the last non-space character in `s..e`.
fn trim_end(chars: &[char], s: usize, mut e: usize) -> usize {
    while e > s && chars[e - 1] == ' ' {
        e -= 1;
    }
    e
}

/// Width of `s..e` without trailing spaces, with Han–Latin gaps.
fn natural_width(chars: &[char], advances: &[f32], s: usize, e: usize, px: f32) -> f32 {
    let e = trim_end(chars, s, e);
    let mut w = 0.0;
    for i in s..e {
        w += advances[i];
        if i + 1 < e {
            w += mixed_gap(chars[i], chars[i + 1], px);
        }
    }
    w
}

/// How much `s..e` can shrink by compressing full-width punctuation.
fn compressible_savings(chars: &[char], advances: &[f32], s: usize, e: usize, px: f32) -> f32 {
    let e = trim_end(chars, s, e);
    (s..e)
        .filter(|&i| compressible(chars[i]).is_some() && advances[i] >= 0.9 * px)
        .map(|i| advances[i] - 0.5 * px)
        .sum()
}

/// If the paragraph's last line holds a single character (plus closing punctuation), pull
/// the previous line's last unit down to keep it company.
fn avoid_lone_last_character(chars: &[char], allowed: &[bool], ranges: &mut [(usize, usize)]) {
    let n = ranges.len();
    if n < 2 {
        return;
    }
    let (ls, le) = ranges[n - 1];
    let letters = (ls..le)
        .filter(|&i| !is_closing(chars[i]) && chars[i] != ' ')
        .count();
    if letters != 1 {
        return;
    }
    let (ps, pe) = ranges[n - 2];
    // The last break opportunity inside the previous line, leaving it at least two units.
    let Some(cut) = (ps + 2..pe).rev().find(|&i| allowed[i]) else {
        return;
    };
    ranges[n - 2] = (ps, cut);
    ranges[n - 1] = (cut, le);
}

/// Positions the characters of `s..e`: compression as needed to fit `avail`, then
/// justification.
#[allow(clippy::too_many_arguments)]
fn set_line(
    chars: &[char],
    advances: &[f32],
    s: usize,
    e: usize,
    px: f32,
    avail: f32,
    justify: bool,
    indent: f32,
    paragraph_end: bool,
) -> Line {
    let e = trim_end(chars, s, e);
    let mut adv: Vec<f32> = advances[s..e].to_vec();
    let mut shift = vec![0.0f32; e - s];
    // Compress until it fits: the line's last mark first, then marks next to other
    // punctuation (。” 》，), then the rest from the end, so that isolated marks inside
    // the line keep their full width whenever possible.
    let mut overflow = natural_width(chars, advances, s, e, px) - avail;
    let n = e - s;
    let beside_mark = |k: usize| {
        (k > 0 && compressible(chars[s + k - 1]).is_some())
            || (k + 1 < n && compressible(chars[s + k + 1]).is_some())
    };
    let mut order: Vec<usize> = (0..n).rev().collect();
    order.sort_by_key(|&k| {
        if k + 1 == n {
            0
        } else if beside_mark(k) {
            1
        } else {
            2
        }
    });
    for k in order {
        if overflow <= 0.0 {
            break;
        }
        if let Some(side) = compressible(chars[s + k]) {
            if adv[k] >= 0.9 * px {
                let give = (adv[k] - 0.5 * px).min(overflow);
                adv[k] -= give;
                if side == Side::KeepRight {
                    shift[k] = -give;
                }
                overflow -= give;
            }
        }
    }
    // Gaps between neighbours and which of them may stretch.
    let mut gaps = vec![0.0f32; n.saturating_sub(1)];
    let mut stretchable = 0usize;
    for k in 0..n.saturating_sub(1) {
        gaps[k] = mixed_gap(chars[s + k], chars[s + k + 1], px);
        if !(is_latin(chars[s + k]) && is_latin(chars[s + k + 1])) {
            stretchable += 1;
        }
    }
    let natural: f32 = adv.iter().sum::<f32>() + gaps.iter().sum::<f32>();
    let mut extra = 0.0;
    if justify && stretchable > 0 && natural < avail {
        let per = (avail - natural) / stretchable as f32;
        // A line this sparse (a forced break of a long unbreakable run) stays ragged.
        if per <= px {
            extra = per;
        }
    }
    let mut glyphs = Vec::with_capacity(n);
    let mut x = 0.0;
    for k in 0..n {
        glyphs.push(Glyph {
            ch: chars[s + k],
            x,
            advance: adv[k],
            shift: shift[k],
        });
        x += adv[k];
        if k + 1 < n {
            x += gaps[k];
            if !(is_latin(chars[s + k]) && is_latin(chars[s + k + 1])) {
                x += extra;
            }
        }
    }
    Line {
        glyphs,
        indent,
        width: x,
        paragraph_end,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every character one em wide except ASCII (half an em): enough to test the rules.
    pub struct Fixed;

    impl Measure for Fixed {
        fn advance(&self, ch: char, _: Weight, px: f32) -> Option<f32> {
            Some(if ch.is_ascii() { px * 0.5 } else { px })
        }
    }

    const STYLE: TextStyle = TextStyle {
        weight: Weight::Regular,
        px: 10.0,
    };

    fn lines(text: &str, ems: f32) -> Vec<String> {
        let mut missing = Vec::new();
        break_paragraph(text, STYLE, ems * 10.0, 0.0, true, &Fixed, &mut missing)
            .iter()
            .map(Line::text)
            .collect()
    }

    fn assert_rules(lines: &[String]) {
        for (i, l) in lines.iter().enumerate() {
            let first = l.chars().next().unwrap();
            let last = l.chars().last().unwrap();
            assert!(
                !is_closing(first),
                "line {i} starts with {first:?}: {lines:?}"
            );
            assert!(!is_opening(last), "line {i} ends with {last:?}: {lines:?}");
            assert_ne!(last, '/', "line {i} ends with '/': {lines:?}");
        }
        let joined: String = lines.concat();
        assert!(!joined.is_empty());
    }

    #[test]
    fn closing_punctuation_never_starts_a_line() {
        // Ten ems: the comma would fall at the start of line 2 without the rule.
        let l = lines("一二三四五六七八九十，十一十二。", 10.0);
        assert_rules(&l);
        assert_eq!(l.concat(), "一二三四五六七八九十，十一十二。");
    }

    #[test]
    fn compression_pulls_punctuation_onto_the_line_instead_of_pushing_a_character() {
        // "壬。”" is one unit of 3 ems after 8 ems of text: 11 > 10, but compressing both
        // marks to half an em makes it 10.
        let l = lines("甲乙丙丁戊己庚辛壬。”癸子丑", 10.0);
        assert_eq!(l[0], "甲乙丙丁戊己庚辛壬。”");
        let l = lines("甲乙丙丁戊己庚辛“壬”子丑寅卯", 10.0);
        assert_eq!(l[0], "甲乙丙丁戊己庚辛“壬”");
        // Without enough compressible marks the character moves down with its comma.
        let l = lines("甲乙丙丁戊己庚辛壬癸，子丑寅卯", 10.0);
        assert_rules(&l);
        assert_eq!(l[0], "甲乙丙丁戊己庚辛壬");
    }

    #[test]
    fn compression_prefers_the_line_end_over_marks_inside_the_line() {
        let mut missing = Vec::new();
        // "甲，乙丙丁戊己庚辛壬。" is 11 ems in 10.5: one half em must go; the final 。
        // gives it, the inner ， keeps its full width.
        let ls = break_paragraph(
            "甲，乙丙丁戊己庚辛壬。",
            STYLE,
            105.0,
            0.0,
            false,
            &Fixed,
            &mut missing,
        );
        assert_eq!(ls.len(), 1);
        let g = &ls[0].glyphs;
        assert_eq!(g[1].advance, 10.0, "inner comma keeps its width");
        assert_eq!(g[10].advance, 5.0, "final stop is compressed");
    }

    #[test]
    fn opening_punctuation_never_ends_a_line() {
        let l = lines(
            "根据有关规定和要求特制定《示范县农村公路养护管理办法》如下",
            10.0,
        );
        assert_rules(&l);
    }

    #[test]
    fn dashes_and_ellipses_never_split_or_start_a_line() {
        for text in [
            "甲乙丙丁戊己庚辛壬——癸子丑寅卯辰巳午未申",
            "甲乙丙丁戊己庚辛壬……癸子丑寅卯辰巳午未申",
            "甲乙丙丁戊己庚辛壬癸——子丑寅卯辰巳午未申",
        ] {
            let l = lines(text, 10.0);
            assert_rules(&l);
            for line in &l {
                assert!(!line.starts_with('—') && !line.starts_with('…'), "{l:?}");
            }
            let joined = l.join("|");
            assert!(!joined.contains("—|—") && !joined.contains("…|…"), "{l:?}");
        }
    }

    #[test]
    fn standard_numbers_and_latin_words_stay_whole() {
        let l = lines("标点符号用法见GB/T 15834—2011的规定以及PM2.5监测数据", 8.0);
        assert_rules(&l);
        let joined = l.join("|");
        assert!(joined.contains("15834"), "{joined}");
        assert!(joined.contains("PM2.5"), "{joined}");
        assert!(!joined.contains("GB/|"), "{joined}");
    }

    #[test]
    fn justified_lines_fill_the_width_and_the_last_does_not() {
        let mut missing = Vec::new();
        let ls = break_paragraph(
            "示范县人民政府关于做好今冬明春森林防火工作的通知，各乡镇人民政府。",
            STYLE,
            95.0,
            20.0,
            true,
            &Fixed,
            &mut missing,
        );
        assert!(ls.len() >= 3);
        assert_eq!(ls[0].indent, 20.0);
        for l in &ls[..ls.len() - 1] {
            let end = l.indent + l.width;
            assert!((end - 95.0).abs() < 0.5, "line ends at {end}: {}", l.text());
        }
        assert!(ls.last().unwrap().paragraph_end);
    }

    #[test]
    fn a_lone_last_character_is_given_company() {
        // 11 characters at 10 per line would leave "。" with one Han character alone.
        let l = lines("甲乙丙丁戊己庚辛壬癸子。", 10.0);
        assert_rules(&l);
        let last = l.last().unwrap();
        assert!(last.chars().filter(|c| is_han(*c)).count() >= 2, "{l:?}");
    }

    #[test]
    fn han_and_latin_get_a_quarter_em() {
        let mut missing = Vec::new();
        let ls = break_paragraph("共12人", STYLE, 200.0, 0.0, false, &Fixed, &mut missing);
        let g = &ls[0].glyphs;
        // 共(10) + gap 2.5 → '1' at 12.5; '1','2' half-em each; gap 2.5 → 人 at 25.
        assert_eq!(g[1].x, 12.5);
        assert_eq!(g[3].x, 25.0);
    }

    #[test]
    fn a_run_longer_than_a_line_is_cut_not_lost() {
        let url = "https://zwfw.shifan.example/item/0123456789abcdefghijklmnopqrstuvwxyz";
        let l = lines(url, 8.0);
        assert!(l.len() > 1);
        assert_eq!(l.concat(), url);
    }
}
