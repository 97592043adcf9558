//! Masking personal data before it airs: names in public lists, ID numbers, phone
//! numbers. What is stored stays whole; everything that leaves for the screen goes
//! through here.

/// A person's name, masked for airing: the first character stays and, for names of
/// three or more characters, the last; everything between (a middle dot part included)
/// is masked: `王秀英` → `王*英`, `李明` → `李*`, `买买提·艾力` → `买****力`. A single
/// character stays.
pub fn name(full: &str) -> String {
    let chars: Vec<char> = full.trim().chars().collect();
    match chars.len() {
        0 | 1 => chars.iter().collect(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// Endings of organisations' names (public, never masked).
const ORGANISATION_ENDINGS: &[&str] = &[
    "公司",
    "合作社",
    "农场",
    "厂",
    "店",
    "中心",
    "协会",
    "学校",
    "医院",
    "卫生院",
    "委员会",
    "村委会",
    "居委会",
    "工作室",
    "商行",
    "超市",
    "酒店",
    "宾馆",
    "事务所",
    "研究院",
    "集团",
];

/// A party in a public list or a case: an organisation's name is public and stays whole,
/// a person's name is masked by [`name`].
pub fn party(full: &str) -> String {
    let trimmed = full.trim();
    if trimmed.chars().count() >= 4 && ORGANISATION_ENDINGS.iter().any(|e| trimmed.ends_with(e)) {
        trimmed.to_owned()
    } else {
        name(trimmed)
    }
}

/// An 18-digit ID number keeps its first 6 and last 4 characters:
/// `339901195301021238` → `339901********1238`. Anything else is masked but for its last
/// two characters.
pub fn id_number(id: &str) -> String {
    let chars: Vec<char> = id.trim().chars().collect();
    if chars.len() == 18 {
        let head: String = chars[..6].iter().collect();
        let tail: String = chars[14..].iter().collect();
        return format!("{head}********{tail}");
    }
    keep_last(&chars, 2)
}

/// An 11-digit mobile number keeps its first 3 and last 4 digits: `13812345678` →
/// `138****5678`; a landline keeps its area code and last 2 digits.
pub fn phone(number: &str) -> String {
    let chars: Vec<char> = number.trim().chars().collect();
    if chars.len() == 11 && chars.iter().all(char::is_ascii_digit) {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[7..].iter().collect();
        return format!("{head}****{tail}");
    }
    if let Some(dash) = chars.iter().position(|&c| c == '-') {
        let area: String = chars[..=dash].iter().collect();
        return format!("{area}{}", keep_last(&chars[dash + 1..], 2));
    }
    keep_last(&chars, 2)
}

fn keep_last(chars: &[char], n: usize) -> String {
    let keep = n.min(chars.len() / 2);
    let masked = chars.len() - keep;
    let tail: String = chars[masked..].iter().collect();
    format!("{}{tail}", "*".repeat(masked))
}

/// What kind of personal or sensitive data a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// 身份证号: 18 characters (17 digits and a digit or X) or the old 15 digits.
    IdNumber,
    /// 手机号: 11 digits starting 13–19.
    Mobile,
    /// 银行卡号: 16–19 digits passing the Luhn check (groups of four may be spaced).
    BankCard,
    /// A word from the county's sensitive-word list.
    SensitiveWord,
}

impl FindingKind {
    /// Its name for staff.
    pub fn label(self) -> &'static str {
        match self {
            FindingKind::IdNumber => "身份证号",
            FindingKind::Mobile => "手机号码",
            FindingKind::BankCard => "银行卡号",
            FindingKind::SensitiveWord => "敏感词",
        }
    }
}

/// A place in a text the confidentiality scan flags for the reviewer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// What it looks like.
    pub kind: FindingKind,
    /// First character (index in chars, not bytes).
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// The flagged text.
    pub text: String,
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// Runs of digits in `chars` (an 18-character ID may end in X; groups of four digits
/// separated by one space or hyphen count as one run, as card numbers are written):
/// (start, end, digits).
fn digit_runs(chars: &[char]) -> Vec<(usize, usize, Vec<u8>)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = Vec::new();
        let mut group = 0;
        loop {
            while i < chars.len() && chars[i].is_ascii_digit() {
                digits.push(chars[i] as u8 - b'0');
                group += 1;
                i += 1;
            }
            // "6222 0212 3456 7890": a separator between groups of four digits.
            let spaced = group == 4
                && i + 4 < chars.len() + 1
                && i < chars.len()
                && matches!(chars[i], ' ' | '-')
                && chars[i + 1..]
                    .iter()
                    .take(4)
                    .filter(|c| c.is_ascii_digit())
                    .count()
                    == 4;
            if spaced && digits.len() < 19 {
                i += 1;
                group = 0;
                continue;
            }
            break;
        }
        // An ID number's check character.
        if digits.len() == 17 && i < chars.len() && matches!(chars[i], 'X' | 'x') {
            digits.push(10);
            i += 1;
        }
        runs.push((start, i, digits));
    }
    runs
}

fn classify(digits: &[u8]) -> Option<FindingKind> {
    let plain = digits.iter().all(|d| *d < 10);
    match digits.len() {
        18 if !plain => Some(FindingKind::IdNumber),
        11 if digits[0] == 1 && digits[1] >= 3 => Some(FindingKind::Mobile),
        15 => Some(FindingKind::IdNumber),
        18 if plain && id_like(digits) => Some(FindingKind::IdNumber),
        16..=19 if plain && luhn(digits) => Some(FindingKind::BankCard),
        _ => None,
    }
}

/// An 18-digit run that reads as an ID number: a plausible birth date in characters
/// 7–14 (year 19xx or 20xx, month 01–12, day 01–31).
fn id_like(d: &[u8]) -> bool {
    let century = d[6] * 10 + d[7];
    let month = d[10] * 10 + d[11];
    let day = d[12] * 10 + d[13];
    matches!(century, 19 | 20) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Places in `text` a reviewer must look at: ID numbers, mobile numbers, bank card
/// numbers and any of `words`, in text order.
pub fn scan(text: &str, words: &[String]) -> Vec<Finding> {
    let chars: Vec<char> = text.chars().collect();
    let mut found: Vec<Finding> = digit_runs(&chars)
        .into_iter()
        .filter_map(|(start, end, digits)| {
            classify(&digits).map(|kind| Finding {
                kind,
                start,
                end,
                text: chars[start..end].iter().collect(),
            })
        })
        .collect();
    for word in words.iter().filter(|w| !w.is_empty()) {
        let w: Vec<char> = word.chars().collect();
        let mut i = 0;
        while i + w.len() <= chars.len() {
            if chars[i..i + w.len()] == w[..] {
                found.push(Finding {
                    kind: FindingKind::SensitiveWord,
                    start: i,
                    end: i + w.len(),
                    text: word.clone(),
                });
                i += w.len();
            } else {
                i += 1;
            }
        }
    }
    found.sort_by_key(|f| (f.start, f.end));
    found
}

/// Free text as it may air: ID numbers, mobile numbers and bank card numbers in it are
/// masked ([`id_number`], [`phone`], all but the last four digits of a card); landlines
/// (an office's public number) stay.
pub fn text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in scan(text, &[]) {
        out.extend(&chars[at..f.start]);
        match f.kind {
            FindingKind::IdNumber => out.push_str(&id_number(&f.text)),
            FindingKind::Mobile => out.push_str(&phone(&f.text)),
            FindingKind::BankCard | FindingKind::SensitiveWord => {
                let digits: Vec<char> = f.text.chars().filter(char::is_ascii_digit).collect();
                out.push_str(&keep_last(&digits, 4));
            }
        }
        at = f.end;
    }
    out.extend(&chars[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_first_and_last() {
        assert_eq!(name("王秀英"), "王*英");
        assert_eq!(name("李明"), "李*");
        assert_eq!(name("欧阳春花"), "欧**花");
        assert_eq!(name("买买提·艾力"), "买****力");
        assert_eq!(name("阿卜杜热合曼·买买提"), "阿********提");
        assert_eq!(
            party("示范县绿源农业专业合作社"),
            "示范县绿源农业专业合作社"
        );
        assert_eq!(party("买买提·艾力"), "买****力");
        assert_eq!(party("王秀英"), "王*英");
    }

    #[test]
    fn id_numbers_and_phones_hide_the_middle() {
        assert_eq!(id_number("339901195301021238"), "339901********1238");
        assert_eq!(phone("13812345678"), "138****5678");
        assert_eq!(phone("0579-87110001"), "0579-******01");
        assert!(!id_number("12345").contains("123"));
    }

    #[test]
    fn the_scan_flags_ids_phones_cards_and_words() {
        let words = vec!["内部资料".to_owned()];
        let text = "申请人李明，身份证33990119530102123X，电话13812345678，\
                    卡号6222 0212 3456 7894，办公室0579-87110001，本件为内部资料。";
        let found = scan(text, &words);
        let kinds: Vec<FindingKind> = found.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                FindingKind::IdNumber,
                FindingKind::Mobile,
                FindingKind::BankCard,
                FindingKind::SensitiveWord
            ],
            "{found:?}"
        );
        assert_eq!(found[0].text, "33990119530102123X");
        let chars: Vec<char> = text.chars().collect();
        for f in &found {
            assert_eq!(chars[f.start..f.end].iter().collect::<String>(), f.text);
        }
        let aired = super::text(text);
        assert!(aired.contains("339901********123X"), "{aired}");
        assert!(aired.contains("138****5678"), "{aired}");
        assert!(aired.contains("0579-87110001"), "landlines stay: {aired}");
        assert!(!aired.contains("6222"), "{aired}");
        // Dates, amounts and index numbers are not personal data.
        assert!(scan(
            "2026年12月5日，补助金额1200元，索引号001002003/2026-00012",
            &[]
        )
        .is_empty());
    }
}
