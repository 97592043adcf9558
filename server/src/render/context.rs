//! Where a screen is shown, which changes its frame (never its content):
//!
//! - [`ScreenContext::Interactive`]: a set-top box that sends key presses. The footer
//!   lists the keys that work on the screen and the page number.
//! - [`ScreenContext::Broadcast`]: the channel as it airs to one-way boxes, where keys change
//!   the TV channel or do nothing. No key hints; a two-row status line with the channel's
//!   name, the position (第2/5页) and what comes next (下一条：…); and, while an urgent
//!   notice is in force, an alert band the page is laid out around (nothing lies under it).
//!
//! Both contexts keep every layout rule (safe areas, sizes, contrast, clreq); every
//! continuation page carries its heading (通知公告（续）) in both.

use serde::{Deserialize, Serialize};

use super::text;

/// Where a screen is shown. Default: interactive.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "context", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScreenContext {
    /// A set-top box screen: key hints in the footer.
    #[default]
    Interactive,
    /// On air: status line instead of key hints, optional alert band.
    Broadcast(OnAir),
}

impl ScreenContext {
    /// The broadcast frame, if this is one.
    pub fn on_air(&self) -> Option<&OnAir> {
        match self {
            ScreenContext::Interactive => None,
            ScreenContext::Broadcast(o) => Some(o),
        }
    }

    /// The alert band's notice, if one is shown.
    pub fn alert(&self) -> Option<&Alert> {
        self.on_air().and_then(|o| o.alert.as_ref())
    }
}

/// What frames a screen on air.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnAir {
    /// The channel's name on air (示范县政务频道).
    pub channel: String,
    /// The headline of what airs next (shortened to fit). Default: none.
    #[serde(default)]
    pub next: Option<String>,
    /// The urgent notice shown in the alert band. Default: none.
    #[serde(default)]
    pub alert: Option<Alert>,
}

/// An urgent notice as the alert band shows it: strip 1 is the title, the following
/// strips carry the text in runs of whole clauses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// The notice's title.
    pub title: String,
    /// Its text (paragraphs separated by line breaks).
    pub text: String,
}

/// Sentence ends: a strip may always break after one of these.
pub const SENTENCE_ENDS: &[char] = &['。', '；', '！', '？', ';', '!', '?'];
/// Clause ends inside a sentence: a strip breaks after these only when one sentence is
/// longer than a strip.
pub const CLAUSE_ENDS: &[char] = &['，', '、', '：', ','];

/// Splits `text` after every character in `ends`, keeping the punctuation (and closing
/// marks such as ” or ） that follow it) with the piece before.
pub fn split_after(text: &str, ends: &[char]) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while i < chars.len() {
        cur.push(chars[i]);
        if ends.contains(&chars[i]) {
            while i + 1 < chars.len()
                && text::is_closing(chars[i + 1])
                && !ends.contains(&chars[i + 1])
            {
                i += 1;
                cur.push(chars[i]);
            }
            out.push(std::mem::take(&mut cur));
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Packs `text` into strips: whole sentences while they fit (`fits`), a sentence longer
/// than a strip by its clauses, and a clause longer than a strip by `fallback` (whole
/// lines, so a number or a Latin word is never split). Paragraph ends are sentence ends.
pub fn pack_strips(
    text: &str,
    fits: &mut dyn FnMut(&str) -> bool,
    fallback: &mut dyn FnMut(&str) -> Vec<String>,
) -> Vec<String> {
    let mut units: Vec<String> = Vec::new();
    for para in text::paragraphs(text) {
        for sentence in split_after(para, SENTENCE_ENDS) {
            if fits(&sentence) {
                units.push(sentence);
                continue;
            }
            for clause in split_after(&sentence, CLAUSE_ENDS) {
                if fits(&clause) {
                    units.push(clause);
                } else {
                    units.extend(fallback(&clause));
                }
            }
        }
    }
    let mut strips = Vec::new();
    let mut cur = String::new();
    for unit in units {
        let joined = format!("{cur}{unit}");
        if cur.is_empty() || fits(&joined) {
            cur = joined;
        } else {
            strips.push(std::mem::replace(&mut cur, unit));
        }
    }
    if !cur.is_empty() {
        strips.push(cur);
    }
    strips
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_after_keeps_punctuation_and_closing_quotes() {
        assert_eq!(
            split_after("他说：“好。”然后走了。", SENTENCE_ENDS),
            vec!["他说：“好。”", "然后走了。"]
        );
        assert_eq!(split_after("无标点", SENTENCE_ENDS), vec!["无标点"]);
    }

    #[test]
    fn strips_break_only_at_clause_ends() {
        let text = "第一句话。第二句比较长，有两个分句。短。\n\n新段落。";
        let mut fits = |s: &str| s.chars().count() <= 10;
        let mut fallback = |s: &str| vec![s.to_owned()];
        let strips = pack_strips(text, &mut fits, &mut fallback);
        assert_eq!(
            strips,
            vec![
                "第一句话。",
                "第二句比较长，",
                "有两个分句。短。",
                "新段落。"
            ]
        );
        assert_eq!(strips.concat(), text.replace('\n', ""));
    }

    #[test]
    fn shorten_marks_the_cut() {
        assert_eq!(shorten("一二三四五", 5), "一二三四五");
        assert_eq!(shorten("一二三四五六", 5), "一二三四…");
    }
}
