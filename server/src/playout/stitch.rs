//! H.264 stitching: a picture made of horizontal bands coded apart, and pictures that
//! repeat it at no cost.
//!
//! A frame on air is the body of a screen (shared by every channel that airs it) above the
//! channel's own status line. Each band is coded by x264 as its own intra picture, of the
//! frame's width and the band's height, with a single slice. Intra prediction never
//! crosses a slice, so a band's slice is valid at any macroblock row of a taller picture
//! once its header says where it starts (`first_mb_in_slice`) and that the deblocking
//! filter stops at the slice's edge (`disable_deblocking_filter_idc` 2), which is what
//! the band's own encode assumed. The frame is then the full-size parameter sets followed
//! by the bands' slices.
//!
//! The rest of the second repeats that picture: P pictures whose every macroblock is
//! skipped (a copy of the reference with no residual, so not even the deblocking filter
//! touches it). They are written here under the frame's own picture parameter set, so a
//! decoder sees one SPS and one PPS: with x264's CABAC, each macroblock's `mb_skip_flag`
//! and `end_of_slice_flag` go through H.264's arithmetic coder (`Cabac`; 35 bytes a 720p
//! picture, 67 at 1080p); with CAVLC, one `mb_skip_run` covers the picture.
//!
//! Everything here works on Annex B byte streams as x264 writes them with
//! `stitchable=1` (parameter sets that do not depend on the content).

/// What cannot be stitched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StitchError {
    /// A NAL unit ended in the middle of a field.
    #[error("a {0} ended early")]
    Truncated(&'static str),
    /// The stream uses a feature this module does not write.
    #[error("unsupported H.264 feature: {0}")]
    Unsupported(&'static str),
    /// A parameter set or slice is missing.
    #[error("no {0} in the coded picture")]
    Missing(&'static str),
    /// A band's parameter sets differ from the frame's.
    #[error("the band's picture parameter set differs from the frame's")]
    PpsMismatch,
    /// A band does not fit the frame.
    #[error("a band at macroblock {first} does not fit a frame of {total} macroblocks")]
    Placement {
        /// First macroblock of the band.
        first: u32,
        /// Macroblocks in the frame.
        total: u32,
    },
}

use super::bits::{BitWriter, Bits};

/// NAL unit types used here.
const NAL_SLICE: u8 = 1;
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// The NAL units of an Annex B byte stream (each without its start code, still escaped).
pub fn nal_units(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::with_capacity(starts.len());
    for (n, &s) in starts.iter().enumerate() {
        let mut end = starts.get(n + 1).map_or(stream.len(), |&next| next - 3);
        // A four-byte start code's leading zero (and trailing_zero_8bits) belongs to no unit.
        while end > s && stream[end - 1] == 0 {
            end -= 1;
        }
        if end > s {
            out.push(&stream[s..end]);
        }
    }
    out
}

/// The NAL unit type of a unit.
fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// The RBSP of a unit's payload (emulation prevention bytes removed).
fn unescape(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    let mut zeros = 0;
    for &b in payload {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Appends `rbsp` to `out` with emulation prevention bytes inserted (and the final 0x03
/// an RBSP ending in a zero byte, a cabac_zero_word, needs: 7.4.1).
fn escape_into(rbsp: &[u8], out: &mut Vec<u8>) {
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    if rbsp.last() == Some(&0) {
        out.push(3);
    }
}

/// Appends a unit (header byte and RBSP) to an Annex B stream.
fn push_nal(out: &mut Vec<u8>, header: u8, rbsp: &[u8]) {
    out.extend_from_slice(&[0, 0, 0, 1, header]);
    escape_into(rbsp, out);
}

/// What slice headers need from a sequence parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sps {
    log2_max_frame_num: u32,
    poc_type: u32,
    log2_max_poc_lsb: u32,
    /// Picture width in macroblocks.
    pub width_mbs: u32,
    /// Picture height in macroblocks.
    pub height_mbs: u32,
}

impl Sps {
    fn parse(rbsp: &[u8]) -> Result<Sps, StitchError> {
        let mut r = Bits::new(rbsp, "sequence parameter set");
        let profile = r.u(8)?;
        r.u(16)?; // constraint flags, reserved bits, level
        r.ue()?; // seq_parameter_set_id
        if matches!(
            profile,
            100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
        ) {
            if r.ue()? != 1 {
                return Err(StitchError::Unsupported("a chroma format other than 4:2:0"));
            }
            r.ue()?; // bit_depth_luma_minus8
            r.ue()?; // bit_depth_chroma_minus8
            r.flag()?; // qpprime_y_zero_transform_bypass_flag
            if r.flag()? {
                return Err(StitchError::Unsupported("sequence scaling matrices"));
            }
        }
        // The spec's ranges (7.4.2.1.1): log2 values of at most 16, and a picture of at
        // most 1024 × 1024 macroblocks here; anything else is not x264's.
        let log2 = |v: u32| {
            if v <= 12 {
                Ok(v + 4)
            } else {
                Err(StitchError::Unsupported("a log2 field out of range"))
            }
        };
        let log2_max_frame_num = log2(r.ue()?)?;
        let poc_type = r.ue()?;
        let log2_max_poc_lsb = match poc_type {
            0 => log2(r.ue()?)?,
            2 => 0,
            _ => return Err(StitchError::Unsupported("picture order count type 1")),
        };
        r.ue()?; // max_num_ref_frames
        r.flag()?; // gaps_in_frame_num_value_allowed_flag
        let size = |v: u32| {
            if v < 1024 {
                Ok(v + 1)
            } else {
                Err(StitchError::Unsupported("a picture over 16384 pixels"))
            }
        };
        let width_mbs = size(r.ue()?)?;
        let height_map_units = size(r.ue()?)?;
        if !r.flag()? {
            return Err(StitchError::Unsupported("interlaced coding"));
        }
        Ok(Sps {
            log2_max_frame_num,
            poc_type,
            log2_max_poc_lsb,
            width_mbs,
            height_mbs: height_map_units,
        })
    }
}

/// A picture parameter set, every field kept, so a band's can be compared with the frame's.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pps {
    id: u32,
    sps_id: u32,
    cabac: bool,
    bottom_field_pic_order: bool,
    num_ref_idx_l0_default_minus1: u32,
    num_ref_idx_l1_default_minus1: u32,
    weighted_pred: bool,
    weighted_bipred_idc: u32,
    pic_init_qp_minus26: i32,
    pic_init_qs_minus26: i32,
    chroma_qp_index_offset: i32,
    deblocking_control: bool,
    constrained_intra_pred: bool,
    redundant_pic_cnt: bool,
    /// transform_8x8_mode_flag and second_chroma_qp_index_offset, when present.
    extension: Option<(bool, i32)>,
}

impl Pps {
    fn parse(rbsp: &[u8]) -> Result<Pps, StitchError> {
        let mut r = Bits::new(rbsp, "picture parameter set");
        let id = r.ue()?;
        let sps_id = r.ue()?;
        let cabac = r.flag()?;
        let bottom_field_pic_order = r.flag()?;
        if r.ue()? != 0 {
            return Err(StitchError::Unsupported("slice groups"));
        }
        let mut pps = Pps {
            id,
            sps_id,
            cabac,
            bottom_field_pic_order,
            num_ref_idx_l0_default_minus1: r.ue()?,
            num_ref_idx_l1_default_minus1: r.ue()?,
            weighted_pred: r.flag()?,
            weighted_bipred_idc: r.u(2)?,
            pic_init_qp_minus26: r.se()?,
            pic_init_qs_minus26: r.se()?,
            chroma_qp_index_offset: r.se()?,
            deblocking_control: r.flag()?,
            constrained_intra_pred: r.flag()?,
            redundant_pic_cnt: r.flag()?,
            extension: None,
        };
        if more_rbsp_data(&r) {
            let t8x8 = r.flag()?;
            if r.flag()? {
                return Err(StitchError::Unsupported("picture scaling matrices"));
            }
            pps.extension = Some((t8x8, r.se()?));
        }
        Ok(pps)
    }
}

/// Whether RBSP data remains before the trailing bits.
fn more_rbsp_data(r: &Bits<'_>) -> bool {
    let Some(last) = r.data.iter().rposition(|&b| b != 0) else {
        return false;
    };
    let stop = last * 8 + 7 - r.data[last].trailing_zeros() as usize;
    r.pos < stop
}

/// The parameter sets of the full-size frame: every stitched GOP starts with them.
#[derive(Debug, Clone)]
pub struct Headers {
    sps: Sps,
    pps: Pps,
    /// The frame's SPS and PPS, as Annex B.
    annexb: Vec<u8>,
    /// Skipped pictures 1 … made once ([`Headers::with_repeats`]): every GOP of the
    /// profile repeats its IDR with the same bytes.
    repeats: Vec<Vec<u8>>,
}

impl Headers {
    /// Takes the parameter sets from a full-size picture x264 coded.
    pub fn from_stream(stream: &[u8]) -> Result<Headers, StitchError> {
        let units = nal_units(stream);
        let sps_nal = units
            .iter()
            .find(|n| nal_type(n) == NAL_SPS)
            .ok_or(StitchError::Missing("sequence parameter set"))?;
        let pps_nal = units
            .iter()
            .find(|n| nal_type(n) == NAL_PPS)
            .ok_or(StitchError::Missing("picture parameter set"))?;
        let sps = Sps::parse(&unescape(&sps_nal[1..]))?;
        let pps = Pps::parse(&unescape(&pps_nal[1..]))?;
        if pps.redundant_pic_cnt || !pps.deblocking_control || pps.id >= 255 {
            return Err(StitchError::Unsupported(
                "redundant pictures, or no deblocking control",
            ));
        }
        let mut annexb = Vec::new();
        for nal in [sps_nal, pps_nal] {
            annexb.extend_from_slice(&[0, 0, 0, 1]);
            annexb.extend_from_slice(nal);
        }
        Ok(Headers {
            sps,
            pps,
            annexb,
            repeats: Vec::new(),
        })
    }

    /// The frame's size in macroblocks.
    pub fn mbs(&self) -> u32 {
        self.sps.width_mbs * self.sps.height_mbs
    }

    /// The parameter sets, as Annex B.
    pub fn annexb(&self) -> &[u8] {
        &self.annexb
    }

    /// The slices of band `stream` (an IDR picture x264 coded of the frame's width), moved
    /// to start at macroblock row `row` of the frame, as Annex B.
    pub fn place_band(&self, stream: &[u8], row: u32) -> Result<Vec<u8>, StitchError> {
        let units = nal_units(stream);
        if let Some(pps_nal) = units.iter().find(|n| nal_type(n) == NAL_PPS) {
            if Pps::parse(&unescape(&pps_nal[1..]))? != self.pps {
                return Err(StitchError::PpsMismatch);
            }
        }
        let band_sps = match units.iter().find(|n| nal_type(n) == NAL_SPS) {
            Some(n) => Sps::parse(&unescape(&n[1..]))?,
            None => self.sps,
        };
        let first = row.saturating_mul(self.sps.width_mbs);
        let band_mbs = band_sps.width_mbs * band_sps.height_mbs;
        if band_sps.poc_type != self.sps.poc_type {
            return Err(StitchError::Unsupported(
                "a band with another picture order count type",
            ));
        }
        if band_sps.width_mbs != self.sps.width_mbs || first + band_mbs > self.mbs() {
            return Err(StitchError::Placement {
                first,
                total: self.mbs(),
            });
        }
        let mut out = Vec::new();
        let mut slices = 0;
        for nal in units.iter().filter(|n| nal_type(n) == NAL_IDR) {
            let rbsp = unescape(&nal[1..]);
            let moved = self.move_idr_slice(&rbsp, &band_sps, first)?;
            push_nal(&mut out, nal[0], &moved);
            slices += 1;
        }
        if slices == 0 {
            return Err(StitchError::Missing("IDR slice"));
        }
        Ok(out)
    }

    /// An IDR slice header read with the band's SPS and written with the frame's, starting
    /// `first` macroblocks further on, the deblocking filter stopping at its edges.
    fn move_idr_slice(&self, rbsp: &[u8], band: &Sps, first: u32) -> Result<Vec<u8>, StitchError> {
        let mut r = Bits::new(rbsp, "slice header");
        let mut w = BitWriter::default();
        let first_mb = r.ue()?.checked_add(first).filter(|&m| m < self.mbs());
        w.ue(first_mb.ok_or(StitchError::Placement {
            first,
            total: self.mbs(),
        })?);
        let slice_type = r.ue()?;
        if slice_type % 5 != 2 {
            return Err(StitchError::Unsupported("a band that is not intra coded"));
        }
        w.ue(slice_type);
        let pps_id = r.ue()?;
        if pps_id != self.pps.id {
            return Err(StitchError::PpsMismatch);
        }
        w.ue(pps_id);
        w.u(self.sps.log2_max_frame_num, r.u(band.log2_max_frame_num)?);
        w.ue(r.ue()?); // idr_pic_id
        if band.poc_type == 0 {
            w.u(self.sps.log2_max_poc_lsb, r.u(band.log2_max_poc_lsb)?);
            if self.pps.bottom_field_pic_order {
                w.se(r.se()?);
            }
        }
        // dec_ref_pic_marking of an IDR: no_output_of_prior_pics, long_term_reference.
        w.flag(r.flag()?);
        w.flag(r.flag()?);
        w.se(r.se()?); // slice_qp_delta
        let idc = r.ue()?;
        let (alpha, beta) = if idc == 1 { (0, 0) } else { (r.se()?, r.se()?) };
        // 2: filter inside the slice but not across its edges, as the band was coded.
        let idc = if idc == 1 { 1 } else { 2 };
        w.ue(idc);
        if idc != 1 {
            w.se(alpha);
            w.se(beta);
        }
        if self.pps.cabac {
            while !r.aligned() {
                if !r.flag()? {
                    return Err(StitchError::Unsupported("a CABAC slice without alignment"));
                }
            }
            while !w.aligned() {
                w.bit(1);
            }
        }
        w.rest(&mut r)?;
        Ok(w.out)
    }

    /// These headers with skipped pictures 1 ..= `count` made once, so every GOP reuses
    /// them.
    pub fn with_repeats(mut self, count: u32) -> Headers {
        self.repeats = (1..=count).map(|n| self.write_skipped(n)).collect();
        self
    }

    /// Picture `n` (1 …) after the IDR picture: every macroblock skipped, as Annex B.
    pub fn skipped_picture(&self, n: u32) -> Vec<u8> {
        let made = n.checked_sub(1).and_then(|i| self.repeats.get(i as usize));
        match made {
            Some(bytes) => bytes.clone(),
            None => self.write_skipped(n),
        }
    }

    fn write_skipped(&self, n: u32) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.ue(0); // first_mb_in_slice
        w.ue(5); // P, every slice of the picture
        w.ue(self.pps.id);
        let frame_num_mask = (1u32 << self.sps.log2_max_frame_num) - 1;
        w.u(self.sps.log2_max_frame_num, n & frame_num_mask);
        if self.sps.poc_type == 0 {
            let poc_mask = (1u32 << self.sps.log2_max_poc_lsb) - 1;
            w.u(self.sps.log2_max_poc_lsb, (2 * n) & poc_mask);
            if self.pps.bottom_field_pic_order {
                w.se(0);
            }
        }
        w.flag(true); // num_ref_idx_active_override_flag
        w.ue(0); // one reference: the picture before
        w.flag(false); // ref_pic_list_modification_flag_l0
        if self.pps.weighted_pred {
            // pred_weight_table: default weights (4:2:0, so chroma's too).
            w.ue(0); // luma_log2_weight_denom
            w.ue(0); // chroma_log2_weight_denom
            w.flag(false); // luma_weight_l0_flag
            w.flag(false); // chroma_weight_l0_flag
        }
        w.flag(false); // adaptive_ref_pic_marking_mode_flag: sliding window
        if self.pps.cabac {
            w.ue(0); // cabac_init_idc
        }
        w.se(0); // slice_qp_delta
        w.ue(1); // deblocking off (nothing to filter in a copy anyway)
        if self.pps.cabac {
            while !w.aligned() {
                w.bit(1); // cabac_alignment_one_bit
            }
            let qp = 26 + self.pps.pic_init_qp_minus26;
            // mb_skip_flag of a P slice, both neighbours skipped: ctxIdx 11, whose
            // (m, n) for cabac_init_idc 0 is (23, 33) (Table 9-13).
            let mut skip = Context::new(23, 33, qp);
            let mut cabac = Cabac::default();
            let mbs = self.mbs();
            for mb in 0..mbs {
                cabac.decision(&mut w, &mut skip, true);
                // end_of_slice_flag; its last flush writes the rbsp_stop_one_bit.
                cabac.terminate(&mut w, mb + 1 == mbs);
            }
            w.align_zero();
        } else {
            w.ue(self.mbs()); // mb_skip_run: the whole picture
            w.trailing();
        }
        let mut out = Vec::with_capacity(16);
        // nal_ref_idc 2: each skipped picture is the next one's reference (picture order
        // count type 2 allows no run of non-reference pictures).
        push_nal(&mut out, (2 << 5) | NAL_SLICE, &w.out);
        out
    }
}

/// A CABAC context variable (9.3.1.1): probability state and most probable symbol.
struct Context {
    state: usize,
    mps: bool,
}

impl Context {
    /// The context initialised from its `(m, n)` at slice QP `qp`.
    fn new(m: i32, n: i32, qp: i32) -> Context {
        let pre = (((m * qp.clamp(0, 51)) >> 4) + n).clamp(1, 126);
        if pre <= 63 {
            Context {
                state: (63 - pre) as usize,
                mps: false,
            }
        } else {
            Context {
                state: (pre - 64) as usize,
                mps: true,
            }
        }
    }
}

/// H.264's binary arithmetic encoder (9.3.4), writing into an RBSP.
struct Cabac {
    low: u32,
    range: u32,
    outstanding: u32,
    first: bool,
}

impl Default for Cabac {
    fn default() -> Self {
        Cabac {
            low: 0,
            range: 510,
            outstanding: 0,
            first: true,
        }
    }
}

impl Cabac {
    /// PutBit: the first bit is never written; then the outstanding bits, inverted.
    fn put(&mut self, w: &mut BitWriter, bit: u32) {
        if self.first {
            self.first = false;
        } else {
            w.bit(bit);
        }
        while self.outstanding > 0 {
            w.bit(1 - bit);
            self.outstanding -= 1;
        }
    }

    fn renormalise(&mut self, w: &mut BitWriter) {
        while self.range < 256 {
            if self.low < 256 {
                self.put(w, 0);
            } else if self.low >= 512 {
                self.low -= 512;
                self.put(w, 1);
            } else {
                self.low -= 256;
                self.outstanding += 1;
            }
            self.range <<= 1;
            self.low <<= 1;
        }
    }

    /// Encodes `bin` with context `ctx`, which then adapts.
    fn decision(&mut self, w: &mut BitWriter, ctx: &mut Context, bin: bool) {
        let state = ctx.state.min(63);
        let lps = u32::from(RANGE_LPS[state][((self.range >> 6) & 3) as usize]);
        self.range -= lps;
        if bin == ctx.mps {
            ctx.state = (state + 1).min(62);
        } else {
            self.low += self.range;
            self.range = lps;
            if state == 0 {
                ctx.mps = !ctx.mps;
            }
            ctx.state = usize::from(TRANS_LPS[state]);
        }
        self.renormalise(w);
    }

    /// Encodes a bin before termination (`end_of_slice_flag`); a 1 flushes the coder,
    /// whose last bit written is the rbsp_stop_one_bit.
    fn terminate(&mut self, w: &mut BitWriter, last: bool) {
        self.range -= 2;
        if last {
            self.low += self.range;
            self.range = 2;
            self.renormalise(w);
            self.put(w, (self.low >> 9) & 1);
            w.u(2, ((self.low >> 7) & 3) | 1);
        } else {
            self.renormalise(w);
        }
    }
}

/// rangeTabLPS (Table 9-44), by pStateIdx and qCodIRangeIdx.
#[rustfmt::skip]
const RANGE_LPS: [[u8; 4]; 64] = [
    [128, 176, 208, 240], [128, 167, 197, 227], [128, 158, 187, 216], [123, 150, 178, 205],
    [116, 142, 169, 195], [111, 135, 160, 185], [105, 128, 152, 175], [100, 122, 144, 166],
    [95, 116, 137, 158], [90, 110, 130, 150], [85, 104, 123, 142], [81, 99, 117, 135],
    [77, 94, 111, 128], [73, 89, 105, 122], [69, 85, 100, 116], [66, 80, 95, 110],
    [62, 76, 90, 104], [59, 72, 86, 99], [56, 69, 81, 94], [53, 65, 77, 89],
    [51, 62, 73, 85], [48, 59, 69, 80], [46, 56, 66, 76], [43, 53, 63, 72],
    [41, 50, 59, 69], [39, 48, 56, 65], [37, 45, 54, 62], [35, 43, 51, 59],
    [33, 41, 48, 56], [32, 39, 46, 53], [30, 37, 43, 50], [29, 35, 41, 48],
    [27, 33, 39, 45], [26, 31, 37, 43], [24, 30, 35, 41], [23, 28, 33, 39],
    [22, 27, 32, 37], [21, 26, 30, 35], [20, 24, 29, 33], [19, 23, 27, 31],
    [18, 22, 26, 30], [17, 21, 25, 28], [16, 20, 23, 27], [15, 19, 22, 25],
    [14, 18, 21, 24], [14, 17, 20, 23], [13, 16, 19, 22], [12, 15, 18, 21],
    [12, 14, 17, 20], [11, 14, 16, 19], [11, 13, 15, 18], [10, 12, 15, 17],
    [10, 12, 14, 16], [9, 11, 13, 15], [9, 11, 12, 14], [8, 10, 12, 14],
    [8, 9, 11, 13], [7, 9, 11, 12], [7, 9, 10, 12], [7, 8, 10, 11],
    [6, 8, 9, 11], [6, 7, 9, 10], [6, 7, 8, 9], [2, 2, 2, 2],
];

/// transIdxLPS (Table 9-45): the state after a least probable symbol.
#[rustfmt::skip]
const TRANS_LPS: [u8; 64] = [
    0, 0, 1, 2, 2, 4, 4, 5, 6, 7, 8, 9, 9, 11, 11, 12,
    13, 13, 15, 15, 16, 16, 18, 18, 19, 19, 21, 21, 22, 22, 23, 24,
    24, 25, 26, 26, 27, 27, 28, 29, 29, 30, 30, 30, 31, 32, 32, 33,
    33, 33, 34, 34, 35, 35, 35, 36, 36, 36, 37, 37, 37, 38, 38, 63,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_round_trips() {
        let mut w = BitWriter::default();
        for v in [0u32, 1, 2, 3, 7, 8, 255, 3600, 65_535] {
            w.ue(v);
        }
        for v in [0i32, 1, -1, 2, -2, 26, -26] {
            w.se(v);
        }
        w.trailing();
        let mut r = Bits::new(&w.out, "test");
        for v in [0u32, 1, 2, 3, 7, 8, 255, 3600, 65_535] {
            assert_eq!(r.ue().unwrap(), v);
        }
        for v in [0i32, 1, -1, 2, -2, 26, -26] {
            assert_eq!(r.se().unwrap(), v);
        }
        assert!(!more_rbsp_data(&r));
    }

    #[test]
    fn escaping_round_trips_and_hides_start_codes() {
        let rbsp = [0u8, 0, 1, 0, 0, 0, 0, 0, 3, 7, 0, 0, 2];
        let mut escaped = Vec::new();
        escape_into(&rbsp, &mut escaped);
        assert!(escaped.windows(3).all(|w| w != [0, 0, 1] && w != [0, 0, 0]));
        assert_eq!(unescape(&escaped), rbsp);
    }

    #[test]
    fn an_rbsp_ending_in_a_cabac_zero_word_gets_its_final_three() {
        let mut escaped = Vec::new();
        escape_into(&[0x80, 0, 0], &mut escaped);
        assert_eq!(escaped, [0x80, 0, 0, 3]);
        assert_eq!(unescape(&escaped), [0x80, 0, 0]);
    }

    #[test]
    fn an_unaligned_copy_keeps_the_stop_bit_and_no_zero_byte_after_it() {
        // Three header bits, then a payload ending in its stop bit and padding.
        let data = [0b1011_0110, 0b1000_0000];
        let mut r = Bits::new(&data, "test");
        r.u(3).unwrap();
        let mut w = BitWriter::default();
        w.u(5, 0b10101); // a header two bits longer
        w.rest(&mut r).unwrap();
        assert_eq!(w.out, [0b1010_1101, 0b1010_0000]);
    }

    #[test]
    fn units_are_split_on_both_start_code_lengths() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4,
        ];
        let units = nal_units(&stream);
        assert_eq!(units, vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4]]);
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        assert!(matches!(Sps::parse(&[100]), Err(StitchError::Truncated(_))));
        assert!(Headers::from_stream(&[0, 0, 1]).is_err());
    }
}
