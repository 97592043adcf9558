//! Turning a source's bytes into text, strictly: a document that does not decode cleanly in
//! the charset it declares is an error recorded for the source, never mojibake in the store.
//!
//! XML (RSS/Atom): a byte-order mark wins; then the HTTP `charset`; then the XML
//! declaration's `encoding`; then UTF-8. When the HTTP charset and the declaration disagree
//! and the HTTP one fails, the declaration is tried before giving up (platforms often send
//! a server-wide `charset=utf-8` over GBK files that declare themselves correctly).
//! CSV and JSON have no declaration: BOM, then the HTTP charset, then UTF-8 if the bytes
//! are valid UTF-8, else GB18030.
//!
//! A document declared as anything but UTF-8 whose bytes are valid UTF-8 with non-ASCII
//! text is refused as mislabelled: real GBK text of any length is practically never valid
//! UTF-8, while GBK-decoding UTF-8 "succeeds" with garbage.

use encoding_rs::{Encoding, GB18030, UTF_8};

/// Why a document's bytes cannot be turned into text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CharsetError {
    /// A charset label that names no known encoding.
    #[error("unknown charset {label:?} declared in {place}")]
    Unknown {
        /// The label.
        label: String,
        /// Where it was declared.
        place: &'static str,
    },
    /// The bytes are not valid in the declared charset.
    #[error("the body is not valid {encoding} (declared in {place})")]
    Invalid {
        /// The encoding tried.
        encoding: &'static str,
        /// Where it was declared (or "default").
        place: &'static str,
    },
    /// Declared as a legacy charset but the bytes are UTF-8.
    #[error("the body is declared {encoding} (in {place}) but is UTF-8")]
    Mislabelled {
        /// The declared encoding.
        encoding: &'static str,
        /// Where it was declared.
        place: &'static str,
    },
    /// Neither UTF-8 nor GB18030.
    #[error("the body is neither UTF-8 nor GB18030 text")]
    Undetectable,
}

impl CharsetError {
    /// A short Chinese description for staff.
    pub fn zh(&self) -> String {
        match self {
            CharsetError::Unknown { label, .. } => format!("来源声明了无法识别的字符集“{label}”"),
            CharsetError::Invalid { encoding, .. } => {
                format!("来源内容与声明的字符集 {encoding} 不符（声明错误或内容损坏）")
            }
            CharsetError::Mislabelled { encoding, .. } => {
                format!("来源声明的字符集 {encoding} 有误：内容实为 UTF-8")
            }
            CharsetError::Undetectable => "来源内容既不是 UTF-8 也不是 GB18030 编码".to_owned(),
        }
    }
}

/// The GB18030 byte-order mark (U+FEFF encoded in GB18030), which `Encoding::for_bom` does
/// not know.
const GB18030_BOM: &[u8] = &[0x84, 0x31, 0x95, 0x33];

/// The encoding a byte-order mark announces, and the mark's length.
fn bom(bytes: &[u8]) -> Option<(&'static Encoding, usize)> {
    if bytes.starts_with(GB18030_BOM) {
        return Some((GB18030, GB18030_BOM.len()));
    }
    Encoding::for_bom(bytes)
}

fn lookup(label: &str, place: &'static str) -> Result<&'static Encoding, CharsetError> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| CharsetError::Unknown {
        label: label.chars().take(40).collect(),
        place,
    })
}

/// Decodes `bytes` as `encoding` without replacement; refuses mislabelled UTF-8.
fn strict(
    bytes: &[u8],
    encoding: &'static Encoding,
    place: &'static str,
) -> Result<String, CharsetError> {
    if encoding != UTF_8
        && encoding.is_ascii_compatible()
        && !bytes.is_ascii()
        && std::str::from_utf8(bytes).is_ok()
    {
        return Err(CharsetError::Mislabelled {
            encoding: encoding.name(),
            place,
        });
    }
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
        .ok_or(CharsetError::Invalid {
            encoding: encoding.name(),
            place,
        })
}

/// The `encoding` pseudo-attribute of a leading `<?xml … ?>` declaration, read from bytes
/// in any ASCII-compatible encoding.
pub fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &bytes[start..];
    if !rest.starts_with(b"<?xml") {
        return None;
    }
    let end = rest.windows(2).take(1024).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&rest[..end]).ok()?;
    let at = decl.find("encoding")?;
    let after = decl[at + "encoding".len()..].trim_start();
    let after = after.strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    let close = value.find(quote)?;
    Some(value[..close].to_owned())
}

/// Removes a leading XML declaration (the text is UTF-8 now, whatever it said).
fn strip_xml_declaration(text: &str) -> &str {
    let t = text.trim_start();
    if t.starts_with("<?xml") {
        if let Some(end) = t.find("?>") {
            return &t[end + 2..];
        }
    }
    text
}

/// Decodes an XML document (RSS/Atom) to UTF-8 text with its declaration removed.
pub fn decode_xml(bytes: &[u8], http_charset: Option<&str>) -> Result<String, CharsetError> {
    if let Some((encoding, len)) = bom(bytes) {
        let text = strict(&bytes[len..], encoding, "byte-order mark")?;
        return Ok(strip_xml_declaration(&text).to_owned());
    }
    let http = http_charset
        .map(|l| lookup(l, "HTTP Content-Type"))
        .transpose()?;
    let declared = xml_declared_encoding(bytes)
        .map(|l| lookup(&l, "XML declaration"))
        .transpose()?;
    let text = match (http, declared) {
        (Some(h), Some(d)) if h != d => strict(bytes, h, "HTTP Content-Type")
            .or_else(|first| strict(bytes, d, "XML declaration").map_err(|_| first))?,
        (Some(h), _) => strict(bytes, h, "HTTP Content-Type")?,
        (None, Some(d)) => strict(bytes, d, "XML declaration")?,
        (None, None) => strict(bytes, UTF_8, "default (no declaration)")?,
    };
    Ok(strip_xml_declaration(&text).to_owned())
}

/// Decodes a CSV or JSON document: BOM, HTTP charset, else UTF-8 or GB18030.
pub fn decode_text(bytes: &[u8], http_charset: Option<&str>) -> Result<String, CharsetError> {
    if let Some((encoding, len)) = bom(bytes) {
        return strict(&bytes[len..], encoding, "byte-order mark");
    }
    if let Some(label) = http_charset {
        return strict(
            bytes,
            lookup(label, "HTTP Content-Type")?,
            "HTTP Content-Type",
        );
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_owned());
    }
    GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|t| t.into_owned())
        .ok_or(CharsetError::Undetectable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(text: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(text).0.into_owned()
    }

    #[test]
    fn the_xml_declaration_is_honoured() {
        let doc = "<?xml version=\"1.0\" encoding=\"gb2312\"?><rss><title>县民政局</title></rss>";
        let text = decode_xml(&gbk(doc), None).unwrap();
        assert_eq!(text, "<rss><title>县民政局</title></rss>");
        assert_eq!(
            xml_declared_encoding(b"  <?xml version='1.0' encoding='GBK' ?><a/>"),
            Some("GBK".into())
        );
        assert_eq!(xml_declared_encoding(b"<?xml version='1.0'?><a/>"), None);
    }

    /// Long enough that its GBK bytes are not accidentally valid UTF-8 (short texts can be:
    /// 通知 is CD A8 D6 AA in GBK, two valid UTF-8 sequences).
    const SENTENCE: &str = "关于溪口镇部分区域临时停水的通知";

    #[test]
    fn the_http_charset_wins_and_a_correct_declaration_rescues_a_wrong_one() {
        let doc = format!("<?xml version=\"1.0\" encoding=\"GBK\"?><a>{SENTENCE}</a>");
        // HTTP says UTF-8 (wrong), the declaration says GBK (right).
        assert_eq!(
            decode_xml(&gbk(&doc), Some("utf-8")).unwrap(),
            format!("<a>{SENTENCE}</a>")
        );
        // HTTP says GB18030 over a UTF-8 declaration with GBK bytes: fine.
        let doc = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><a>{SENTENCE}</a>");
        assert_eq!(
            decode_xml(&gbk(&doc), Some("GB18030")).unwrap(),
            format!("<a>{SENTENCE}</a>")
        );
    }

    #[test]
    fn a_wrong_declaration_is_an_error_not_mojibake() {
        // Declared UTF-8, actually GBK.
        let doc = gbk(&format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><a>{SENTENCE}</a>"
        ));
        assert!(matches!(
            decode_xml(&doc, None),
            Err(CharsetError::Invalid {
                encoding: "UTF-8",
                ..
            })
        ));
        // Declared GB2312, actually UTF-8.
        let doc = "<?xml version=\"1.0\" encoding=\"gb2312\"?><a>通知</a>".as_bytes();
        assert!(matches!(
            decode_xml(doc, None),
            Err(CharsetError::Mislabelled { .. })
        ));
        assert!(matches!(
            decode_xml(b"<?xml version=\"1.0\" encoding=\"klingon\"?><a/>", None),
            Err(CharsetError::Unknown { .. })
        ));
    }

    #[test]
    fn csv_text_is_utf8_or_gb18030_with_or_without_bom() {
        assert_eq!(
            decode_text("索引号,标题".as_bytes(), None).unwrap(),
            "索引号,标题"
        );
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("索引号".as_bytes());
        assert_eq!(decode_text(&bom, None).unwrap(), "索引号");
        let mut gb = vec![0x84, 0x31, 0x95, 0x33]; // GB18030 BOM
        gb.extend_from_slice(&gbk("索引号"));
        assert_eq!(decode_text(&gb, None).unwrap(), "索引号");
        assert_eq!(decode_text(&gbk("索引号"), None).unwrap(), "索引号");
        assert_eq!(
            decode_text(&[0xFF, 0xFF, 0x00, 0x81], None).unwrap_err(),
            CharsetError::Undetectable
        );
    }
}
