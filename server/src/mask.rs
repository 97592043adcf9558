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
}
