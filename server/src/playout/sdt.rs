//! Service and provider names as DVB text for the SDT (EN 300 468 annex A).
//!
//! Names in plain ASCII go as they are; other names in UTF-8 behind the 0x15 marker, or,
//! for older set-top boxes that only know GB2312, in GB2312 behind the 0x13 marker.

/// Longest name, in encoded bytes, an output may carry (the SDT stays in two packets).
pub const MAX_NAME: usize = 120;

/// Why a name cannot go in the SDT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// A character outside GB2312.
    #[error("{text:?} has a character outside GB2312: {ch}")]
    NotGb2312 {
        /// The name.
        text: String,
        /// The first offending character.
        ch: char,
    },
    /// Longer than an SDT descriptor holds.
    #[error("{text:?} is too long for the SDT ({len} bytes, at most {MAX_NAME})")]
    TooLong {
        /// The name.
        text: String,
        /// Encoded length.
        len: usize,
    },
}

/// `0x13` + GB2312 (EUC-CN) bytes of `text`.
pub fn gb2312(text: &str) -> Result<Vec<u8>, NameError> {
    let mut out = vec![0x13u8];
    for ch in text.chars() {
        let mut buf = [0u8; 4];
        let s = ch.encode_utf8(&mut buf);
        if ch.is_ascii() {
            out.push(ch as u8);
            continue;
        }
        let (bytes, _, bad) = encoding_rs::GBK.encode(s);
        // GB2312 is the EUC-CN subset of GBK: both bytes in 0xA1..=0xFE.
        let ok = !bad && bytes.len() == 2 && bytes.iter().all(|b| (0xA1..=0xFE).contains(b));
        if !ok {
            return Err(NameError::NotGb2312 {
                text: text.to_owned(),
                ch,
            });
        }
        out.extend_from_slice(&bytes);
    }
    within_limit(text, out)
}

/// `text` as DVB text in UTF-8: as it is if plain ASCII, else `0x15` + UTF-8 (as FFmpeg
/// wrote names).
pub fn utf8(text: &str) -> Result<Vec<u8>, NameError> {
    let mut out = Vec::with_capacity(text.len() + 1);
    if !text.is_ascii() {
        out.push(0x15);
    }
    out.extend_from_slice(text.as_bytes());
    within_limit(text, out)
}

/// `out`, the encoding of `text`, if the SDT can carry it.
fn within_limit(text: &str, out: Vec<u8>) -> Result<Vec<u8>, NameError> {
    if out.len() > MAX_NAME {
        return Err(NameError::TooLong {
            text: text.to_owned(),
            len: out.len(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb2312_names_have_the_marker_and_euc_cn_bytes() {
        assert_eq!(gb2312("政务").unwrap(), vec![0x13, 0xd5, 0xfe, 0xce, 0xf1]);
        assert_eq!(gb2312("TV").unwrap(), vec![0x13, b'T', b'V']);
        assert!(matches!(gb2312("𠀀"), Err(NameError::NotGb2312 { .. })));
        assert!(matches!(
            gb2312(&"县".repeat(60)),
            Err(NameError::TooLong { len: 121, .. })
        ));
    }

    #[test]
    fn utf8_names_are_marked_unless_ascii() {
        assert_eq!(utf8("County TV").unwrap(), b"County TV".to_vec());
        let mut want = vec![0x15];
        want.extend_from_slice("政务".as_bytes());
        assert_eq!(utf8("政务").unwrap(), want);
        assert!(matches!(
            utf8(&"县".repeat(40)),
            Err(NameError::TooLong { len: 121, .. })
        ));
    }
}
