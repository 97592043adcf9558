//! GB2312 service names for older set-top boxes.
//!
//! FFmpeg writes SDT names as UTF-8 (marker 0x15). Boxes that only know GB2312 need the
//! 0x13 marker and GB2312 bytes, which FFmpeg's safe metadata API cannot carry (the value
//! would not be valid UTF-8). So the muxer is given an ASCII placeholder of exactly the
//! encoded length, and the sink replaces it in the SDT section and recomputes the section's
//! CRC — everything stays in safe Rust and no other byte of the stream changes.

/// PID of the SDT.
pub const SDT_PID: u16 = 0x0011;
/// TS packet size.
pub const TS_PACKET: usize = 188;

/// Why a name cannot be sent as GB2312.
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
    #[error("{text:?} is too long for the SDT ({len} bytes, at most 120)")]
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
    if out.len() > 120 {
        return Err(NameError::TooLong {
            text: text.to_owned(),
            len: out.len(),
        });
    }
    Ok(out)
}

/// Replaces placeholder names in SDT packets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdtPatch {
    /// (placeholder as written by FFmpeg, replacement of the same length).
    swaps: Vec<(Vec<u8>, Vec<u8>)>,
}

impl SdtPatch {
    /// A patch for `name` and `provider` in GB2312; returns it with the ASCII placeholders
    /// to give FFmpeg instead of the names.
    pub fn gb2312(name: &str, provider: &str) -> Result<(SdtPatch, String, String), NameError> {
        let n = gb2312(name)?;
        let p = gb2312(provider)?;
        // Distinct letters keep the two placeholders apart even at equal length.
        let n_ph = "N".repeat(n.len());
        let p_ph = "P".repeat(p.len());
        let swap = |ph: &str, real: Vec<u8>| {
            let mut from = vec![ph.len() as u8];
            from.extend_from_slice(ph.as_bytes());
            let mut to = vec![real.len() as u8];
            to.extend_from_slice(&real);
            (from, to)
        };
        Ok((
            SdtPatch {
                swaps: vec![swap(&n_ph, n), swap(&p_ph, p)],
            },
            n_ph,
            p_ph,
        ))
    }

    /// Whether the patch changes anything.
    pub fn is_empty(&self) -> bool {
        self.swaps.is_empty()
    }

    /// Patches every SDT packet in `buf` (whole 188-byte packets, aligned).
    pub fn apply(&self, buf: &mut [u8]) {
        if self.swaps.is_empty() {
            return;
        }
        for pkt in buf.chunks_exact_mut(TS_PACKET) {
            let pid = (u16::from(pkt[1] & 0x1f) << 8) | u16::from(pkt[2]);
            let start = pkt[1] & 0x40 != 0;
            if pkt[0] != 0x47 || pid != SDT_PID || !start {
                continue;
            }
            // Payload after the header (and any adaptation field), then the pointer field.
            let mut at = 4;
            if pkt[3] & 0x20 != 0 {
                at += 1 + usize::from(pkt[4]);
            }
            let Some(&pointer) = pkt.get(at) else {
                continue;
            };
            let section = at + 1 + usize::from(pointer);
            if section + 3 > TS_PACKET || pkt[section] != 0x42 {
                continue;
            }
            let len =
                3 + ((usize::from(pkt[section + 1] & 0x0f) << 8) | usize::from(pkt[section + 2]));
            if section + len > TS_PACKET || len < 4 {
                continue;
            }
            let body = &mut pkt[section..section + len - 4];
            let mut changed = false;
            for (from, to) in &self.swaps {
                if let Some(pos) = body.windows(from.len()).position(|w| w == from.as_slice()) {
                    body[pos..pos + to.len()].copy_from_slice(to);
                    changed = true;
                }
            }
            if changed {
                let crc = crc32_mpeg(&pkt[section..section + len - 4]);
                pkt[section + len - 4..section + len].copy_from_slice(&crc.to_be_bytes());
            }
        }
    }
}

/// CRC-32/MPEG-2 (poly 0x04C11DB7, init all ones, no reflection, no final xor).
pub fn crc32_mpeg(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb2312_names_have_the_marker_and_euc_cn_bytes() {
        assert_eq!(gb2312("政务").unwrap(), vec![0x13, 0xd5, 0xfe, 0xce, 0xf1]);
        assert_eq!(gb2312("TV").unwrap(), vec![0x13, b'T', b'V']);
        assert!(matches!(gb2312("𠀀"), Err(NameError::NotGb2312 { .. })));
    }

    #[test]
    fn crc_of_a_known_section() {
        // A PAT section (program 1 → PMT 0x1000) with its CRC (FFmpeg writes 2a b1 04 b2).
        let pat = [
            0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00,
        ];
        assert_eq!(crc32_mpeg(&pat), 0x2ab1_04b2);
        // The CRC over a section including its own CRC is zero.
        let mut whole = pat.to_vec();
        whole.extend_from_slice(&crc32_mpeg(&pat).to_be_bytes());
        assert_eq!(crc32_mpeg(&whole), 0);
    }

    #[test]
    fn the_placeholder_is_swapped_and_the_crc_fixed() {
        let (patch, name_ph, prov_ph) = SdtPatch::gb2312("政务", "县").unwrap();
        let mut section = vec![
            0x42, 0xf0, 0x00, 0, 1, 0xc1, 0, 0, 0, 1, 0xff, 0, 1, 0xfc, 0x80, 0, 0x48, 0, 1,
        ];
        section.push(prov_ph.len() as u8);
        section.extend_from_slice(prov_ph.as_bytes());
        section.push(name_ph.len() as u8);
        section.extend_from_slice(name_ph.as_bytes());
        let len = section.len() + 4 - 3;
        section[1] = 0xf0 | (len >> 8) as u8;
        section[2] = len as u8;
        let crc = crc32_mpeg(&section);
        section.extend_from_slice(&crc.to_be_bytes());
        let mut pkt = vec![0x47, 0x40, 0x11, 0x10, 0x00];
        pkt.extend_from_slice(&section);
        pkt.resize(TS_PACKET, 0xff);
        patch.apply(&mut pkt);
        let s = &pkt[5..5 + section.len()];
        assert_eq!(crc32_mpeg(s), 0, "CRC recomputed");
        let text = s.windows(5).any(|w| w == [0x05, 0x13, 0xd5, 0xfe, 0xce]);
        assert!(text, "name replaced");
    }
}
