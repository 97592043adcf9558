//! Bit-level reading and writing, most significant bit first (H.264 RBSPs, MPEG-2
//! headers).

use super::stitch::StitchError;

/// Reads bits of an RBSP, most significant first.
pub(super) struct Bits<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    pub(super) what: &'static str,
}

impl<'a> Bits<'a> {
    pub(super) fn new(data: &'a [u8], what: &'static str) -> Bits<'a> {
        Bits { data, pos: 0, what }
    }

    pub(super) fn bit(&mut self) -> Result<u32, StitchError> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or(StitchError::Truncated(self.what))?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(b))
    }

    pub(super) fn u(&mut self, n: u32) -> Result<u32, StitchError> {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Ok(v)
    }

    pub(super) fn flag(&mut self) -> Result<bool, StitchError> {
        Ok(self.bit()? == 1)
    }

    pub(super) fn ue(&mut self) -> Result<u32, StitchError> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(StitchError::Unsupported("an Exp-Golomb code over 32 bits"));
            }
        }
        Ok((1u32 << zeros) - 1 + self.u(zeros)?)
    }

    pub(super) fn se(&mut self) -> Result<i32, StitchError> {
        let k = self.ue()?;
        let magnitude = k.div_ceil(2) as i32;
        Ok(if k % 2 == 1 { magnitude } else { -magnitude })
    }

    pub(super) fn aligned(&self) -> bool {
        self.pos % 8 == 0
    }
}

/// Writes bits of an RBSP.
#[derive(Default)]
pub(super) struct BitWriter {
    pub(super) out: Vec<u8>,
    bits: u32,
}

impl BitWriter {
    pub(super) fn bit(&mut self, b: u32) {
        if self.bits % 8 == 0 {
            self.out.push(0);
        }
        if b != 0 {
            if let Some(last) = self.out.last_mut() {
                *last |= 0x80 >> (self.bits % 8);
            }
        }
        self.bits += 1;
    }

    pub(super) fn u(&mut self, n: u32, v: u32) {
        for i in (0..n).rev() {
            self.bit((v >> i) & 1);
        }
    }

    pub(super) fn flag(&mut self, f: bool) {
        self.bit(u32::from(f));
    }

    pub(super) fn ue(&mut self, v: u32) {
        let code = u64::from(v) + 1;
        let len = 64 - code.leading_zeros();
        for _ in 1..len {
            self.bit(0);
        }
        for i in (0..len).rev() {
            self.bit(((code >> i) & 1) as u32);
        }
    }

    pub(super) fn se(&mut self, v: i32) {
        let k = if v > 0 {
            (v as u32) * 2 - 1
        } else {
            v.unsigned_abs() * 2
        };
        self.ue(k);
    }

    pub(super) fn aligned(&self) -> bool {
        self.bits % 8 == 0
    }

    /// Writes `bits`, a string of `0` and `1` (a code from a table).
    pub(super) fn code(&mut self, bits: &str) {
        for c in bits.bytes() {
            self.bit(u32::from(c == b'1'));
        }
    }

    /// Zero bits to the byte boundary.
    pub(super) fn align_zero(&mut self) {
        while !self.aligned() {
            self.bit(0);
        }
    }

    /// Whole bytes (after aligning with zeros), e.g. a start code.
    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.align_zero();
        self.out.extend_from_slice(b);
        self.bits += 8 * b.len() as u32;
    }

    /// rbsp_trailing_bits: a one, then zeros to the byte boundary.
    pub(super) fn trailing(&mut self) {
        self.bit(1);
        while !self.aligned() {
            self.bit(0);
        }
    }

    /// Copies what is left of `r`, bit for bit.
    pub(super) fn rest(&mut self, r: &mut Bits<'_>) -> Result<(), StitchError> {
        if self.aligned() && r.aligned() {
            self.out
                .extend_from_slice(r.data.get(r.pos / 8..).unwrap_or_default());
            self.bits += ((r.data.len() - r.pos / 8) * 8) as u32;
            r.pos = r.data.len() * 8;
            return Ok(());
        }
        // Unaligned: copy through the stop bit, then pad to the byte again (copying the old
        // padding would leave a zero byte at the end).
        let Some(last) = r.data.iter().rposition(|&b| b != 0) else {
            return Err(StitchError::Truncated(r.what));
        };
        let stop = last * 8 + 7 - r.data[last].trailing_zeros() as usize;
        while r.pos <= stop {
            let b = r.bit()?;
            self.bit(b);
        }
        while !self.aligned() {
            self.bit(0);
        }
        r.pos = r.data.len() * 8;
        Ok(())
    }
}
