//! MPEG-2 pictures that repeat the picture before: P pictures whose macroblocks are all
//! copies of the reference (no motion, no residual), written here so an SD GOP costs one
//! intra picture from the encoder.
//!
//! In a P picture a skipped macroblock is a copy with a zero motion vector, but a slice
//! must begin and end with a coded macroblock. Each macroblock row is one slice: its first
//! and last macroblocks are "motion compensated, not coded" with a zero vector (the same
//! copy), the ones between are skipped.

use super::bits::BitWriter;

/// What a repeated picture needs from the intra picture the encoder wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mpeg2Picture {
    mb_width: u32,
    mb_height: u32,
    /// The 14 bits of the intra picture's picture coding extension after its f_codes
    /// (intra_dc_precision … composite_display_flag): the repeats keep every coding flag
    /// of the intra picture.
    flags: u32,
    frame_pred_frame_dct: bool,
}

/// What is missing from the intra picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Mpeg2Error {
    /// No sequence header (size) or picture coding extension in the picture.
    #[error("the MPEG-2 intra picture has no {0}")]
    Missing(&'static str),
}

fn find(data: &[u8], code: u8) -> impl Iterator<Item = usize> + '_ {
    data.windows(4)
        .enumerate()
        .filter(move |(_, w)| w[0] == 0 && w[1] == 0 && w[2] == 1 && w[3] == code)
        .map(|(i, _)| i + 4)
}

impl Mpeg2Picture {
    /// Reads the size and coding flags from the encoder's first (intra) picture, which
    /// carries the sequence header.
    pub fn from_intra(data: &[u8]) -> Result<Mpeg2Picture, Mpeg2Error> {
        let seq = find(data, 0xb3)
            .next()
            .and_then(|i| data.get(i..i + 3))
            .ok_or(Mpeg2Error::Missing("sequence header"))?;
        let width = (u32::from(seq[0]) << 4) | (u32::from(seq[1]) >> 4);
        let height = ((u32::from(seq[1]) & 0x0f) << 8) | u32::from(seq[2]);
        // Extension id 8 (the top nibble of the first byte): picture coding extension.
        let ext = find(data, 0xb5)
            .filter_map(|i| data.get(i..i + 5))
            .find(|e| e[0] >> 4 == 8)
            .ok_or(Mpeg2Error::Missing("picture coding extension"))?;
        // ext: 4 bits id, 4×4 bits f_code, then intra_dc_precision(2) picture_structure(2)
        // top_field_first frame_pred_frame_dct concealment_motion_vectors q_scale_type
        // intra_vlc_format alternate_scan repeat_first_field chroma_420_type
        // progressive_frame composite_display_flag: bits 20..34.
        let bits20 =
            (u32::from(ext[2] & 0x0f) << 16) | (u32::from(ext[3]) << 8) | u32::from(ext[4]);
        if ext[4] & 0x40 != 0 {
            return Err(Mpeg2Error::Missing(
                "plain display (composite_display_flag is set)",
            ));
        }
        Ok(Mpeg2Picture {
            mb_width: width.div_ceil(16),
            mb_height: height.div_ceil(16),
            flags: bits20 >> 6,
            frame_pred_frame_dct: ext[3] & 0x40 != 0,
        })
    }

    /// Repeat `n` (1 …) of the GOP's intra picture, temporal reference `n`.
    pub fn skipped_picture(&self, n: u32) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.bytes(&[0, 0, 1, 0x00]);
        w.u(10, n & 0x3ff); // temporal_reference
        w.u(3, 2); // P
        w.u(16, 0xffff); // vbv_delay: not given
        w.u(1, 0); // full_pel_forward_vector
        w.u(3, 7); // forward_f_code: 111 in MPEG-2
        w.u(1, 0); // extra_bit_picture
        w.align_zero();
        w.bytes(&[0, 0, 1, 0xb5]);
        w.u(4, 8); // picture coding extension
                   // f_code: forward 1/1 (zero vectors need no more), backward unused (15/15).
        w.u(4, 1);
        w.u(4, 1);
        w.u(4, 15);
        w.u(4, 15);
        // The intra picture's coding flags, as they were.
        w.u(14, self.flags);
        w.align_zero();
        for row in 0..self.mb_height {
            w.bytes(&[0, 0, 1, (row + 1) as u8]);
            w.u(5, 1); // quantiser_scale_code (no coefficients follow)
            w.u(1, 0); // extra_bit_slice
            self.copy_macroblock(&mut w, 1);
            if self.mb_width > 1 {
                self.copy_macroblock(&mut w, self.mb_width - 1);
            }
            w.align_zero();
        }
        w.out
    }

    /// A "motion compensated, not coded" macroblock with a zero vector, `increment`
    /// macroblocks after the previous one (the ones between are skipped).
    fn copy_macroblock(&self, w: &mut BitWriter, mut increment: u32) {
        while increment > 33 {
            w.code("00000001000"); // macroblock_escape: 33 more
            increment -= 33;
        }
        w.code(ADDRESS_INCREMENT[increment as usize - 1]);
        w.code("001"); // macroblock_type: forward motion, no coded blocks
        if !self.frame_pred_frame_dct {
            w.code("10"); // frame_motion_type: frame
        }
        w.code("1"); // motion_code 0, horizontal
        w.code("1"); // motion_code 0, vertical
    }
}

/// macroblock_address_increment 1 … 33 (ISO/IEC 13818-2 table B.1).
const ADDRESS_INCREMENT: [&str; 33] = [
    "1",
    "011",
    "010",
    "0011",
    "0010",
    "00011",
    "00010",
    "0000111",
    "0000110",
    "00001011",
    "00001010",
    "00001001",
    "00001000",
    "00000111",
    "00000110",
    "0000010111",
    "0000010110",
    "0000010101",
    "0000010100",
    "0000010011",
    "0000010010",
    "00000100011",
    "00000100010",
    "00000100001",
    "00000100000",
    "00000011111",
    "00000011110",
    "00000011101",
    "00000011100",
    "00000011011",
    "00000011010",
    "00000011001",
    "00000011000",
];
