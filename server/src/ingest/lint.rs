//! Quality lint: the reasons an item is rejected instead of stored, each with a Chinese
//! text for staff and an English code for logs and filters.
//!
//! The pilot evaluation found catalogue entries reading "无公开信息", items without a clear
//! publishing body, and duplicated junk. Text checks ([`check_text`]) need only the item
//! and run while parsing; publisher, reference and duplicate checks need the store and run
//! when a pass is applied.

use serde::Serialize;

/// Why an item was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No title.
    EmptyTitle,
    /// A title like 无 or 无标题.
    PlaceholderTitle(String),
    /// No body.
    EmptyBody,
    /// A body like 暂无 or 无公开信息.
    PlaceholderBody(String),
    /// A body like 详见附件 with no attachment.
    AttachmentMissing(String),
    /// Neither the item nor the source names a publishing body.
    NoPublisher,
    /// The publishing body the item names is not in the store.
    UnknownPublisher(String),
    /// Same title and body as another item.
    Duplicate {
        /// The other item's title.
        of: String,
    },
    /// Two items of the same document share a key.
    DuplicateKey(String),
    /// A required field is missing (Chinese field name).
    MissingField(&'static str),
    /// A field's value cannot be understood.
    BadValue {
        /// Chinese field name.
        field: &'static str,
        /// The value (shortened).
        value: String,
    },
    /// A subject category (主题分类) not in the store.
    UnknownSubject(String),
    /// The key (索引号 / 办件编号) belongs to a local entry or another source.
    KeyTaken(String),
    /// A power item (行政职权事项) without its power type.
    PowerTypeMissing,
}

/// Shortens a quoted value for a message.
fn short(value: &str) -> String {
    let mut s: String = value.chars().take(30).collect();
    if value.chars().count() > 30 {
        s.push('…');
    }
    s
}

impl Reason {
    /// English slug for logs and filters.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::EmptyTitle => "empty_title",
            Reason::PlaceholderTitle(_) => "placeholder_title",
            Reason::EmptyBody => "empty_body",
            Reason::PlaceholderBody(_) => "placeholder_body",
            Reason::AttachmentMissing(_) => "attachment_missing",
            Reason::NoPublisher => "no_publisher",
            Reason::UnknownPublisher(_) => "unknown_publisher",
            Reason::Duplicate { .. } => "duplicate",
            Reason::DuplicateKey(_) => "duplicate_key",
            Reason::MissingField(_) => "missing_field",
            Reason::BadValue { .. } => "bad_value",
            Reason::UnknownSubject(_) => "unknown_subject",
            Reason::KeyTaken(_) => "key_taken",
            Reason::PowerTypeMissing => "power_type_missing",
        }
    }

    /// What staff read.
    pub fn zh(&self) -> String {
        match self {
            Reason::EmptyTitle => "标题为空".to_owned(),
            Reason::PlaceholderTitle(t) => format!("标题为占位内容“{}”", short(t)),
            Reason::EmptyBody => "正文为空".to_owned(),
            Reason::PlaceholderBody(t) => format!("正文为空或为占位内容“{}”", short(t)),
            Reason::AttachmentMissing(t) => format!("正文仅为“{}”，但没有附件", short(t)),
            Reason::NoPublisher => {
                "缺少发布机构（条目未注明，来源也未设置默认发布机构）".to_owned()
            }
            Reason::UnknownPublisher(n) => format!(
                "发布机构“{}”不在机构名录中：请在机构名录中添加这个机构（或改用名录中的名称），或为这个采集来源设置默认发布机构",
                short(n)
            ),
            Reason::Duplicate { of } => {
                format!("与已有条目《{}》标题和正文相同，判为重复", short(of))
            }
            Reason::DuplicateKey(k) => format!("来源中有多个条目使用同一标识“{}”", short(k)),
            Reason::MissingField(f) => format!("缺少{f}"),
            Reason::BadValue { field, value } => format!("{field}“{}”无法识别", short(value)),
            Reason::UnknownSubject(s) => format!("主题分类“{}”未登记", short(s)),
            Reason::KeyTaken(k) => format!("编号“{}”已被本地或其他来源的条目使用", short(k)),
            Reason::PowerTypeMissing => "行政职权事项缺少职权类型".to_owned(),
        }
    }
}

/// One rejected item: its key in the source, its title (if any) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// guid / link / 索引号 / 办件编号, or `第N行` / `第N条` when it has none.
    pub key: String,
    /// Title, possibly empty.
    pub title: String,
    /// Why.
    pub reason: Reason,
}

impl Serialize for Rejection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Rejection", 4)?;
        st.serialize_field("key", &self.key)?;
        st.serialize_field("title", &self.title)?;
        st.serialize_field("code", self.reason.code())?;
        st.serialize_field("reason", &self.reason.zh())?;
        st.end()
    }
}

/// Texts that mean "nothing here" (compared after [`normalise`]).
const PLACEHOLDERS: &[&str] = &[
    "无",
    "暂无",
    "空",
    "略",
    "待定",
    "无内容",
    "暂无内容",
    "无信息",
    "暂无信息",
    "无公开信息",
    "暂无公开信息",
    "无相关信息",
    "暂无相关信息",
    "无数据",
    "暂无数据",
    "无记录",
    "暂无记录",
    "待补充",
    "待完善",
    "待更新",
    "内容待补充",
    "测试",
    "测试内容",
    "此处为正文",
    "正文",
    "内容",
    "无标题",
    "标题",
    "新建文档",
    "未命名",
    "test",
    "testing",
    "null",
    "none",
    "nil",
    "na",
    "n/a",
    "tbd",
    "todo",
    "undefined",
    "empty",
    "lorem ipsum",
    "0",
    "…",
    "...",
];

/// Texts that only point at an attachment (placeholders unless there is one).
const ATTACHMENT_REFERENCES: &[&str] = &[
    "详见附件",
    "见附件",
    "详情见附件",
    "具体见附件",
    "具体详见附件",
    "内容见附件",
    "内容详见附件",
    "请见附件",
    "请查看附件",
    "详见附件内容",
    "附件",
    "点击下载附件",
    "点击查看附件",
    "详细内容见附件",
];

/// Lower-cased, without whitespace, punctuation and trailing numbering, for comparison
/// with the placeholder lists.
pub fn normalise(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}' && *c != '\u{a0}')
        .flat_map(char::to_lowercase)
        .collect();
    let punct = |c: char| {
        (c.is_ascii_punctuation() && c != '/' && c != '.')
            || "。，、；：？！…—～·“”‘’《》〈〉【】（）「」『』〔〕".contains(c)
    };
    let trimmed = kept.trim_matches(punct);
    let trimmed = trimmed.trim_end_matches(|c: char| c.is_ascii_digit() || punct(c));
    if trimmed.is_empty() {
        // A bare number ("0") or only dots stays as it was, to match the lists.
        kept.trim_matches(punct).to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Whether a non-empty normalised text is junk: a placeholder, or only punctuation.
fn is_placeholder(normalised: &str) -> bool {
    PLACEHOLDERS.contains(&normalised)
}

/// The text checks every item gets: non-empty, non-placeholder title and body; a body that
/// only points at an attachment needs one.
pub fn check_text(title: &str, body: &str, has_attachment: bool) -> Result<(), Reason> {
    let t = normalise(title);
    if title.trim().is_empty() {
        return Err(Reason::EmptyTitle);
    }
    if t.is_empty() || is_placeholder(&t) {
        return Err(Reason::PlaceholderTitle(title.trim().to_owned()));
    }
    let b = normalise(body);
    if body.trim().is_empty() {
        return Err(Reason::EmptyBody);
    }
    if b.is_empty() || is_placeholder(&b) {
        return Err(Reason::PlaceholderBody(body.trim().to_owned()));
    }
    if ATTACHMENT_REFERENCES.contains(&b.as_str()) && !has_attachment {
        return Err(Reason::AttachmentMissing(body.trim().to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_caught_in_any_dress() {
        for body in [
            "暂无",
            " 暂无。",
            "无公开信息",
            "（无）",
            "N/A",
            "——",
            "…",
            "0",
            "【待补充】",
        ] {
            let r = check_text("关于停水的通知", body, false).unwrap_err();
            assert!(matches!(r, Reason::PlaceholderBody(_)), "{body:?}: {r:?}");
        }
        assert_eq!(
            check_text("关于停水的通知", "暂无", false)
                .unwrap_err()
                .zh(),
            "正文为空或为占位内容“暂无”"
        );
        assert_eq!(
            check_text("无", "正文内容很长。", false),
            Err(Reason::PlaceholderTitle("无".into()))
        );
        assert_eq!(check_text(" ", "x", false), Err(Reason::EmptyTitle));
        assert_eq!(check_text("通知", "", false), Err(Reason::EmptyBody));
    }

    #[test]
    fn an_attachment_reference_needs_an_attachment() {
        assert!(matches!(
            check_text("名单公示", "详见附件。", false),
            Err(Reason::AttachmentMissing(_))
        ));
        assert!(matches!(
            check_text("名单公示", "详见附件1", false),
            Err(Reason::AttachmentMissing(_))
        ));
        assert_eq!(check_text("名单公示", "详见附件。", true), Ok(()));
    }

    #[test]
    fn real_text_passes() {
        assert_eq!(
            check_text("无人机禁飞通知", "暂无人机活动的区域除外。", false),
            Ok(())
        );
        assert_eq!(check_text("2026", "1200元", false), Ok(()));
    }

    #[test]
    fn every_reason_has_a_code_and_chinese_text() {
        let all = [
            Reason::EmptyTitle,
            Reason::PlaceholderTitle("无".into()),
            Reason::EmptyBody,
            Reason::PlaceholderBody("暂无".into()),
            Reason::AttachmentMissing("详见附件".into()),
            Reason::NoPublisher,
            Reason::UnknownPublisher("某局".into()),
            Reason::Duplicate {
                of: "通知".into()
            },
            Reason::DuplicateKey("g1".into()),
            Reason::MissingField("索引号"),
            Reason::BadValue {
                field: "受理日期",
                value: "昨天".into(),
            },
            Reason::UnknownSubject("99".into()),
            Reason::KeyTaken("339902-1".into()),
            Reason::PowerTypeMissing,
        ];
        let mut codes: Vec<_> = all.iter().map(Reason::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert!(all
            .iter()
            .all(|r| r.zh().chars().any(|c| c as u32 > 0x4e00)));
    }
}
