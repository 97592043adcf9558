//! The headend's own MPEG-TS muxer, for the outputs that carry a transport stream (UDP and
//! files).
//!
//! It makes the stream on demand, a packet or a table at a time, from the GOPs handed to
//! it: the pacing thread draws a UDP output's bytes straight from it, and a recording
//! writes them straight to its file. Nothing passes through a pipe or another thread.
//!
//! The timing is the usual constant-bit-rate model, the one FFmpeg's muxer followed when it
//! made these streams:
//! - packet *n* leaves *n* × 1504 / muxrate seconds after the first, and the PCR it carries
//!   says so;
//! - a picture or an audio frame is sent no earlier than `LEAD` (0.7 s) before its decoding time,
//!   and null packets fill the wait;
//! - PAT and PMT repeat every 90 ms and come right before each key picture, the SDT
//!   repeats every 500 ms, and the PCR (on the video PID) every 20 ms.
//!
//! Each picture is one PES packet. An H.264 picture starts with an access unit delimiter,
//! and a key picture's first packet sets `random_access_indicator`. Each audio frame is
//! one PES packet too, and AAC frames get their ADTS header here.

use std::collections::VecDeque;
use std::sync::Arc;

use super::encode::{self, AudioCodec, Gop, SilentAudio, AUDIO_RATE, FPS};
use super::sdt;
use crate::render::Profile;

/// Bytes in a TS packet.
pub const TS_PACKET: usize = 188;
/// Payload bytes of a TS packet without an adaptation field.
const PAYLOAD: usize = TS_PACKET - 4;
/// PID of the PAT.
const PAT_PID: u16 = 0;
/// PID of the SDT.
const SDT_PID: u16 = 0x11;
/// PID of null packets.
const NULL_PID: u16 = 0x1fff;

/// Bits × 27 MHz: a byte's bits times this, over the mux rate, is its time in PCR ticks.
const BITS_TO_PCR: u64 = 8 * 27_000_000;
/// How long (in 90 kHz ticks) before its decoding time a unit may be sent: 0.7 s.
const LEAD: i64 = 63_000;
/// Decoding time of second 0's first picture (1.4 s, where FFmpeg's muxer put it).
const FIRST_DTS: i64 = 2 * LEAD;
/// PCR repetition, in 27 MHz ticks: 20 ms.
const PCR_PERIOD: u128 = 540_000;
/// PAT and PMT repetition: 90 ms.
const PAT_PERIOD: u128 = 2_430_000;
/// SDT repetition: 500 ms.
const SDT_PERIOD: u128 = 13_500_000;
/// PTS and PCR base wrap at 2^33 ticks of 90 kHz (26.5 hours).
const WRAP_90K: u64 = 1 << 33;
/// `transport_stream_id` in the PAT and SDT.
const TRANSPORT_STREAM_ID: u16 = 1;
/// `original_network_id` in the SDT (the private range, as FFmpeg writes).
const ORIGINAL_NETWORK_ID: u16 = 0xff01;
/// PES stream ids.
const VIDEO_STREAM_ID: u8 = 0xe0;
const AUDIO_STREAM_ID: u8 = 0xc0;
/// An H.264 access unit delimiter (primary_pic_type 7: any slice type).
const H264_AUD: [u8; 6] = [0, 0, 0, 1, 0x09, 0xf0];

/// The DVB service an MPEG-TS output carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// `service_id` (program number). Default 1.
    pub service_id: u16,
    /// PID of the PMT. Default 0x1000.
    pub pmt_pid: u16,
    /// PID of the video stream; audio is the next PID. Default 0x100.
    pub video_pid: u16,
    /// Service name as DVB text, with its character-set marker ([`super::sdt`]).
    pub name: Vec<u8>,
    /// Provider name, the same way.
    pub provider: Vec<u8>,
}

impl Default for Service {
    fn default() -> Self {
        Service {
            service_id: 1,
            pmt_pid: 0x1000,
            video_pid: 0x100,
            name: Vec::new(),
            provider: Vec::new(),
        }
    }
}

/// A table's packets, sent together each time it repeats.
#[derive(Debug)]
struct Table {
    packets: Vec<[u8; TS_PACKET]>,
    cc: u8,
}

impl Table {
    /// `section` on `pid`: a pointer field, the section, then 0xff to the packet's end.
    fn new(pid: u16, section: &[u8]) -> Table {
        let mut payload = Vec::with_capacity(section.len() + 1);
        payload.push(0);
        payload.extend_from_slice(section);
        let packets = payload
            .chunks(PAYLOAD)
            .enumerate()
            .map(|(i, chunk)| {
                let mut pkt = [0xffu8; TS_PACKET];
                pkt[0] = 0x47;
                pkt[1] = if i == 0 { 0x40 } else { 0 } | (pid >> 8) as u8;
                pkt[2] = pid as u8;
                pkt[4..4 + chunk.len()].copy_from_slice(chunk);
                pkt
            })
            .collect();
        Table { packets, cc: 0 }
    }

    fn write(&mut self, out: &mut Vec<u8>) -> u64 {
        for pkt in &mut self.packets {
            pkt[3] = 0x10 | self.cc;
            self.cc = (self.cc + 1) & 0x0f;
            out.extend_from_slice(pkt);
        }
        self.packets.len() as u64
    }
}

/// A PSI section with its header, `body` and CRC. `extension` is the 16 bits after the
/// length (transport_stream_id or program_number); version 0, current, section 0 of 0.
fn section(table_id: u8, extension: u16, body: &[u8]) -> Vec<u8> {
    let len = 5 + body.len() + 4;
    let mut s = Vec::with_capacity(3 + len);
    s.push(table_id);
    // section_syntax_indicator, '0' ('1' for the SDT's reserved_future_use), reserved '11'.
    let flags = if table_id == 0x42 { 0xf0 } else { 0xb0 };
    s.push(flags | ((len >> 8) as u8 & 0x0f));
    s.push(len as u8);
    s.extend_from_slice(&extension.to_be_bytes());
    s.extend_from_slice(&[0xc1, 0, 0]);
    s.extend_from_slice(body);
    let crc = crc32_mpeg(&s);
    s.extend_from_slice(&crc.to_be_bytes());
    s
}

/// CRC-32/MPEG-2 (poly 0x04C11DB7, init all ones, no reflection, no final xor).
fn crc32_mpeg(data: &[u8]) -> u32 {
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

/// The PMT `stream_type` of the video of `profile` and of `audio`.
fn stream_types(profile: Profile, audio: AudioCodec) -> (u8, u8) {
    let video = if encode::is_sd(profile) { 0x02 } else { 0x1b };
    let audio = match audio {
        AudioCodec::Mp2 => 0x03,
        AudioCodec::Aac => 0x0f,
    };
    (video, audio)
}

/// Appends a DVB text field: its length byte, then the text (at most
/// [`sdt::MAX_NAME`] bytes kept; `sdt` refuses longer names before they get here).
fn text_field(out: &mut Vec<u8>, text: &[u8]) {
    let text = &text[..text.len().min(sdt::MAX_NAME)];
    out.push(text.len() as u8);
    out.extend_from_slice(text);
}

/// One picture or audio frame being sent.
#[derive(Debug)]
struct Unit {
    video: bool,
    /// PES header (and an H.264 access unit delimiter).
    head: [u8; 20],
    head_len: usize,
    /// Picture of the front GOP (video).
    picture: usize,
    /// Head + body bytes, and how many are sent.
    len: usize,
    pos: usize,
    /// Decoding time, 90 kHz, not wrapped.
    dts: i64,
    key: bool,
    /// Whether the PAT and PMT went right before it (key pictures).
    announced: bool,
}

/// One MPEG-TS output's muxer: CBR at `muxrate`, the service's tables, video and audio.
#[derive(Debug)]
pub struct TsMux {
    muxrate: u64,
    video_pid: u16,
    audio_pid: u16,
    h264: bool,
    pat: Table,
    pmt: Table,
    sdt: Table,
    video_cc: u8,
    audio_cc: u8,
    /// Packets written so far.
    written: u64,
    /// PCR of the stream's start (27 MHz), set by the first GOP.
    pcr0: Option<u128>,
    /// The clock, kept without a 128-bit division per packet: packet `clock_n`'s PCR is
    /// `pcr0 + clock_q`, and the division left `clock_r` (see [`TsMux::now`]).
    clock_n: u64,
    clock_q: u64,
    clock_r: u64,
    next_pat: u128,
    next_sdt: u128,
    next_pcr: u128,
    /// GOPs to send, with their second index; the front one is being sent.
    queue: VecDeque<(Arc<Gop>, u64)>,
    /// Next picture of the front GOP.
    picture: usize,
    /// One coded audio frame as it is carried (for AAC, behind its ADTS header).
    audio: Box<[u8]>,
    audio_samples: i64,
    /// Next audio frame's first sample, counted from second 0.
    audio_next: i64,
    unit: Option<Unit>,
    /// Units whose last packet left after their decoding time.
    late: u64,
    /// A fault for the pacer's tests: panic once this many packets are written.
    #[cfg(test)]
    pub(crate) panic_at: Option<u64>,
}

impl TsMux {
    /// A muxer for `profile` video and `audio` (its steady-state frame `silence`), at
    /// `muxrate` bit/s, carrying `service`.
    pub fn new(
        profile: Profile,
        audio: AudioCodec,
        silence: &SilentAudio,
        muxrate: u64,
        service: &Service,
    ) -> TsMux {
        let video_pid = service.video_pid & 0x1fff;
        let audio_pid = (video_pid + 1) & 0x1fff;
        let pmt_pid = service.pmt_pid & 0x1fff;
        let (video_type, audio_type) = stream_types(profile, audio);

        let mut pat = Vec::new();
        pat.extend_from_slice(&service.service_id.to_be_bytes());
        pat.extend_from_slice(&(0xe000 | pmt_pid).to_be_bytes());
        let pat = Table::new(PAT_PID, &section(0x00, TRANSPORT_STREAM_ID, &pat));

        let mut pmt = Vec::new();
        pmt.extend_from_slice(&(0xe000 | video_pid).to_be_bytes()); // PCR PID
        pmt.extend_from_slice(&0xf000u16.to_be_bytes()); // no program descriptors
        for (kind, pid) in [(video_type, video_pid), (audio_type, audio_pid)] {
            pmt.push(kind);
            pmt.extend_from_slice(&(0xe000 | pid).to_be_bytes());
            pmt.extend_from_slice(&0xf000u16.to_be_bytes());
        }
        let pmt = Table::new(pmt_pid, &section(0x02, service.service_id, &pmt));

        // Each name at most MAX_NAME bytes, so the descriptor's length fits its byte.
        let mut descriptor = vec![0x01]; // digital television service
        text_field(&mut descriptor, &service.provider);
        text_field(&mut descriptor, &service.name);
        let mut sdt = Vec::new();
        sdt.extend_from_slice(&ORIGINAL_NETWORK_ID.to_be_bytes());
        sdt.push(0xff);
        sdt.extend_from_slice(&service.service_id.to_be_bytes());
        sdt.push(0xfc); // no EIT
        let loop_len = 2 + descriptor.len();
        sdt.push(0x80 | (loop_len >> 8) as u8); // running, not scrambled
        sdt.push(loop_len as u8);
        sdt.push(0x48);
        sdt.push(descriptor.len() as u8);
        sdt.extend_from_slice(&descriptor);
        let sdt = Table::new(SDT_PID, &section(0x42, TRANSPORT_STREAM_ID, &sdt));

        let audio_frame = match audio {
            AudioCodec::Mp2 => silence.data.clone(),
            AudioCodec::Aac => {
                let mut framed = adts_header(silence.data.len()).to_vec();
                framed.extend_from_slice(&silence.data);
                framed.into_boxed_slice()
            }
        };
        let muxrate = muxrate.max(1);
        // Packet 0's PCR byte is its 11th.
        let first = 11 * BITS_TO_PCR;
        TsMux {
            muxrate,
            video_pid,
            audio_pid,
            h264: !encode::is_sd(profile),
            pat,
            pmt,
            sdt,
            // The first packet with payload is counter 0.
            video_cc: 15,
            audio_cc: 15,
            written: 0,
            pcr0: None,
            clock_n: 0,
            clock_q: first / muxrate,
            clock_r: first % muxrate,
            next_pat: 0,
            next_sdt: 0,
            next_pcr: 0,
            queue: VecDeque::new(),
            picture: 0,
            audio: audio_frame,
            audio_samples: i64::from(silence.samples.max(1)),
            audio_next: 0,
            unit: None,
            late: 0,
            #[cfg(test)]
            panic_at: None,
        }
    }

    /// Queues `gop` as second `index` of the output (pictures `index × FPS …`), with the
    /// audio that covers the same second.
    pub fn push(&mut self, gop: Arc<Gop>, index: u64) {
        if self.pcr0.is_none() && self.queue.is_empty() {
            // The stream starts with this second: its audio starts with it too, and the
            // clock so that its first picture may go at once.
            let index = i64::try_from(index).unwrap_or(i64::MAX);
            self.audio_next = index.saturating_mul(i64::from(AUDIO_RATE));
            let first = FIRST_DTS.saturating_add(index.saturating_mul(90_000));
            self.pcr0 = Some(u128::try_from(first.saturating_sub(LEAD)).unwrap_or(0) * 300);
        }
        self.queue.push_back((gop, index));
    }

    /// Whether nothing is queued (true once [`TsMux::write_next`] has returned false).
    #[cfg(test)]
    fn is_idle(&self) -> bool {
        self.unit.is_none() && self.queue.is_empty()
    }

    /// Packets written so far.
    #[cfg(test)]
    fn packets(&self) -> u64 {
        self.written
    }

    /// The mux rate in bit/s (at least 1).
    pub fn muxrate(&self) -> u64 {
        self.muxrate
    }

    /// Pictures and audio frames whose last packet left after their decoding time: the
    /// mux rate is too low for what it carries, and a decoder would run dry.
    pub fn late_units(&self) -> u64 {
        self.late
    }

    /// Appends the stream's next packet (or a table's packets) to `out`; false, writing
    /// nothing, once everything queued has been written.
    pub fn write_next(&mut self, out: &mut Vec<u8>) -> bool {
        #[cfg(test)]
        if self.panic_at.is_some_and(|n| self.written >= n) {
            panic!("a muxer fault for the tests");
        }
        if self.unit.is_none() {
            self.unit = self.next_unit();
            if self.unit.is_none() {
                return false;
            }
        }
        let now = self.now();
        if now >= self.next_pat {
            self.next_pat = now + PAT_PERIOD;
            self.written += self.pat.write(out);
            self.written += self.pmt.write(out);
            return true;
        }
        if now >= self.next_sdt {
            self.next_sdt = now + SDT_PERIOD;
            self.written += self.sdt.write(out);
            return true;
        }
        let Some(unit) = &self.unit else {
            return false;
        };
        let waiting =
            unit.pos == 0 && i128::from(unit.dts.saturating_sub(LEAD)) * 300 > now as i128;
        let carries = unit.video && !waiting;
        if carries && unit.key && unit.pos == 0 && !unit.announced {
            // PAT and PMT right before each key picture: a receiver tuning in starts
            // decoding at the first key picture after them.
            self.next_pat = now + PAT_PERIOD;
            self.written += self.pat.write(out);
            self.written += self.pmt.write(out);
            if let Some(unit) = self.unit.as_mut() {
                unit.announced = true;
            }
            return true;
        }
        let due = now >= self.next_pcr;
        if due && !carries {
            self.next_pcr = now + PCR_PERIOD;
            self.write_pcr_only(out, now);
            return true;
        }
        if waiting {
            write_null(out);
            self.written += 1;
            return true;
        }
        // A key picture's first packet always carries a PCR.
        let pcr = (carries && (due || (unit.key && unit.pos == 0))).then_some(now);
        if pcr.is_some() {
            self.next_pcr = now + PCR_PERIOD;
        }
        self.write_unit_packet(out, pcr, now);
        true
    }

    /// Writes everything queued to `out`.
    pub fn write_all(&mut self, out: &mut Vec<u8>) {
        while self.write_next(out) {}
    }

    /// The PCR (27 MHz, not wrapped) of the next packet: when its PCR field's last byte
    /// leaves, `(packets × 188 + 11) × 8 × 27 MHz / muxrate` after the start.
    fn now(&mut self) -> u128 {
        let step = TS_PACKET as u64 * BITS_TO_PCR;
        // A few packets since the last call (it is made for every packet), so no overflow.
        let num = (self.written - self.clock_n)
            .saturating_mul(step)
            .saturating_add(self.clock_r);
        self.clock_q += num / self.muxrate;
        self.clock_r = num % self.muxrate;
        self.clock_n = self.written;
        self.pcr0.unwrap_or(0) + u128::from(self.clock_q)
    }

    /// The next picture or audio frame by decoding time (a picture first on a tie), or
    /// `None` once the queue is sent.
    fn next_unit(&mut self) -> Option<Unit> {
        loop {
            let (gop, index) = self.queue.front()?;
            let index = i64::try_from(*index).unwrap_or(i64::MAX);
            let end_audio = index
                .saturating_add(1)
                .saturating_mul(i64::from(AUDIO_RATE));
            let video = (self.picture < gop.len()).then(|| {
                let picture = index
                    .saturating_mul(i64::from(FPS))
                    .saturating_add(self.picture as i64);
                FIRST_DTS.saturating_add(picture.saturating_mul(3600))
            });
            let audio = (self.audio_next < end_audio).then(|| {
                let ticks = self.audio_next.saturating_mul(90_000) / i64::from(AUDIO_RATE);
                FIRST_DTS.saturating_add(ticks)
            });
            let take_video = match (video, audio) {
                (None, None) => {
                    self.queue.pop_front();
                    self.picture = 0;
                    continue;
                }
                (Some(v), Some(a)) => v <= a,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if let (true, Some(dts)) = (take_video, video) {
                let picture = gop.packet(self.picture)?;
                let aud = self.h264 && !starts_with_aud(picture.data);
                let mut unit = self.pes_unit(true, dts, picture.data.len(), aud, picture.key);
                unit.picture = self.picture;
                self.picture += 1;
                return Some(unit);
            }
            if let Some(dts) = audio {
                self.audio_next += self.audio_samples;
                return Some(self.pes_unit(false, dts, self.audio.len(), false, true));
            }
        }
    }

    /// A unit with its PES header: PTS only (no picture is reordered).
    fn pes_unit(&self, video: bool, dts: i64, body: usize, aud: bool, key: bool) -> Unit {
        let mut head = [0u8; 20];
        head[..3].copy_from_slice(&[0, 0, 1]);
        head[3] = if video {
            VIDEO_STREAM_ID
        } else {
            AUDIO_STREAM_ID
        };
        let extra = if aud { H264_AUD.len() } else { 0 };
        // A video PES may leave its length 0 (unbounded); audio states it.
        let pes_len = if video { 0 } else { 8 + body };
        let pes_len = u16::try_from(pes_len).unwrap_or(0);
        head[4..6].copy_from_slice(&pes_len.to_be_bytes());
        head[6] = 0x84; // '10', data_alignment_indicator
        head[7] = 0x80; // PTS only
        head[8] = 5;
        let pts = dts.rem_euclid(WRAP_90K as i64) as u64;
        head[9] = 0x21 | ((pts >> 29) & 0x0e) as u8;
        head[10] = (pts >> 22) as u8;
        head[11] = 0x01 | ((pts >> 14) & 0xfe) as u8;
        head[12] = (pts >> 7) as u8;
        head[13] = 0x01 | ((pts << 1) & 0xfe) as u8;
        if aud {
            head[14..20].copy_from_slice(&H264_AUD);
        }
        let head_len = 14 + extra;
        Unit {
            video,
            head,
            head_len,
            picture: 0,
            len: head_len + body,
            pos: 0,
            dts,
            key,
            announced: false,
        }
    }

    /// A packet of the current unit, carrying `pcr` if given; `now` is its time.
    fn write_unit_packet(&mut self, out: &mut Vec<u8>, pcr: Option<u128>, now: u128) {
        let Some(unit) = self.unit.as_mut() else {
            return;
        };
        let start = unit.pos == 0;
        let rai = start && unit.video && unit.key;
        let mut af = match (pcr.is_some(), rai) {
            (true, _) => 8,
            (false, true) => 2,
            (false, false) => 0,
        };
        let take = (unit.len - unit.pos).min(PAYLOAD - af);
        // The last packet of a unit pads itself with adaptation-field stuffing.
        af = PAYLOAD - take;
        let (pid, cc) = if unit.video {
            self.video_cc = (self.video_cc + 1) & 0x0f;
            (self.video_pid, self.video_cc)
        } else {
            self.audio_cc = (self.audio_cc + 1) & 0x0f;
            (self.audio_pid, self.audio_cc)
        };
        let at = out.len();
        out.extend_from_slice(&[
            0x47,
            if start { 0x40 } else { 0 } | (pid >> 8) as u8,
            pid as u8,
            if af > 0 { 0x30 } else { 0x10 } | cc,
        ]);
        if af > 0 {
            out.push((af - 1) as u8);
            if af > 1 {
                out.push(if rai { 0x40 } else { 0 } | if pcr.is_some() { 0x10 } else { 0 });
                if let Some(pcr) = pcr {
                    out.extend_from_slice(&pcr_field(pcr));
                }
                out.resize(at + 4 + af, 0xff);
            }
        }
        // The payload: the rest of the head, then the body.
        let mut pos = unit.pos;
        let end = unit.pos + take;
        if pos < unit.head_len {
            let upto = end.min(unit.head_len);
            out.extend_from_slice(&unit.head[pos..upto]);
            pos = upto;
        }
        if pos < end {
            let (from, to) = (pos - unit.head_len, end - unit.head_len);
            let body: &[u8] = if unit.video {
                self.queue
                    .front()
                    .and_then(|(gop, _)| gop.packet(unit.picture))
                    .map_or(&[][..], |p| p.data)
            } else {
                &self.audio
            };
            match body.get(from..to) {
                Some(bytes) => out.extend_from_slice(bytes),
                // Cannot happen (the unit was sized from this body); keep the packet whole.
                None => out.resize(at + TS_PACKET, 0xff),
            }
        }
        unit.pos = end;
        self.written += 1;
        if unit.pos >= unit.len {
            if now > u128::try_from(unit.dts).unwrap_or(0) * 300 {
                self.late += 1;
            }
            self.unit = None;
        }
    }

    /// A packet on the video PID with only a PCR (its continuity counter unchanged).
    fn write_pcr_only(&mut self, out: &mut Vec<u8>, pcr: u128) {
        let at = out.len();
        out.extend_from_slice(&[
            0x47,
            (self.video_pid >> 8) as u8,
            self.video_pid as u8,
            0x20 | self.video_cc,
            (PAYLOAD - 1) as u8,
            0x10,
        ]);
        out.extend_from_slice(&pcr_field(pcr));
        out.resize(at + TS_PACKET, 0xff);
        self.written += 1;
    }
}

fn write_null(out: &mut Vec<u8>) {
    let at = out.len();
    out.extend_from_slice(&[0x47, (NULL_PID >> 8) as u8, NULL_PID as u8, 0x10]);
    out.resize(at + TS_PACKET, 0xff);
}

/// The 6-byte PCR field: 33-bit base (90 kHz), 6 reserved bits, 9-bit extension.
fn pcr_field(pcr: u128) -> [u8; 6] {
    let base = ((pcr / 300) % u128::from(WRAP_90K)) as u64;
    let ext = (pcr % 300) as u64;
    [
        (base >> 25) as u8,
        (base >> 17) as u8,
        (base >> 9) as u8,
        (base >> 1) as u8,
        ((base & 1) << 7) as u8 | 0x7e | (ext >> 8) as u8,
        ext as u8,
    ]
}

/// Whether an H.264 picture already starts with an access unit delimiter.
fn starts_with_aud(data: &[u8]) -> bool {
    data.starts_with(&[0, 0, 0, 1, 0x09]) || data.starts_with(&[0, 0, 1, 0x09])
}

/// The ADTS header of an AAC-LC, 48 kHz, stereo frame of `raw` bytes.
fn adts_header(raw: usize) -> [u8; 7] {
    let len = (raw + 7).min(0x1fff);
    [
        0xff,
        0xf1,                     // MPEG-4, layer 0, no CRC
        0x4c,                     // AAC LC, 48 kHz (index 3), channel configuration bit 2 = 0
        0x80 | (len >> 11) as u8, // channel configuration 2
        (len >> 3) as u8,
        ((len & 7) << 5) as u8 | 0x1f, // buffer fullness 0x7ff (variable)
        0xfc,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playout::encode::{encode_gop, matrix, silent_audio};
    use crate::playout::frame::{rgba_to_yuv420, solid_rgba};
    use std::collections::HashMap;

    fn gop(profile: Profile, rgb: (u8, u8, u8)) -> Arc<Gop> {
        let (w, h) = (profile.width() as usize, profile.height() as usize);
        let pic = rgba_to_yuv420(&solid_rgba(w, h, rgb), w, h, matrix(profile));
        Arc::new(encode_gop(profile, &pic).unwrap())
    }

    fn service() -> Service {
        Service {
            name: sdt_text("政务频道"),
            provider: sdt_text("县级融媒体中心"),
            ..Service::default()
        }
    }

    fn sdt_text(s: &str) -> Vec<u8> {
        super::super::sdt::utf8(s).unwrap()
    }

    fn pid(p: &[u8]) -> u16 {
        (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2])
    }

    /// The adaptation field of a packet (empty if none) and its payload.
    fn split(p: &[u8]) -> (&[u8], &[u8]) {
        match (p[3] >> 4) & 3 {
            1 => (&[], &p[4..]),
            2 => (&p[4..], &[]),
            _ => {
                let len = usize::from(p[4]);
                (&p[4..5 + len], &p[5 + len..])
            }
        }
    }

    fn pcr_of(af: &[u8]) -> Option<u128> {
        if af.len() < 8 || af[1] & 0x10 == 0 {
            return None;
        }
        let b = &af[2..8];
        let base = (u128::from(b[0]) << 25)
            | (u128::from(b[1]) << 17)
            | (u128::from(b[2]) << 9)
            | (u128::from(b[3]) << 1)
            | u128::from(b[4] >> 7);
        let ext = (u128::from(b[4] & 1) << 8) | u128::from(b[5]);
        Some(base * 300 + ext)
    }

    fn pts_of(h: &[u8]) -> i64 {
        (i64::from(h[0] & 0x0e) << 29)
            | (i64::from(h[1]) << 22)
            | (i64::from(h[2] >> 1) << 15)
            | (i64::from(h[3]) << 7)
            | i64::from(h[4] >> 1)
    }

    /// A PES as received: the packet index it started at, its PTS, its payload, whether
    /// its first packet set random_access_indicator.
    #[derive(Debug)]
    struct Pes {
        at: usize,
        pts: i64,
        payload: Vec<u8>,
        rai: bool,
    }

    /// Everything the tests check, read back from the stream.
    #[derive(Debug, Default)]
    struct Parsed {
        pcrs: Vec<(usize, u128)>,
        tables: HashMap<u16, Vec<usize>>,
        pes: HashMap<u16, Vec<Pes>>,
        sections: HashMap<u16, Vec<u8>>,
    }

    fn parse(ts: &[u8]) -> Parsed {
        assert_eq!(ts.len() % TS_PACKET, 0, "whole packets");
        let mut out = Parsed::default();
        let mut cc: HashMap<u16, u8> = HashMap::new();
        for (i, p) in ts.chunks_exact(TS_PACKET).enumerate() {
            assert_eq!(p[0], 0x47, "sync byte of packet {i}");
            let pid = pid(p);
            if pid == NULL_PID {
                continue;
            }
            let (af, payload) = split(p);
            let has_payload = p[3] & 0x10 != 0;
            if let Some(prev) = cc.insert(pid, p[3] & 0x0f) {
                let want = if has_payload { (prev + 1) & 0x0f } else { prev };
                assert_eq!(p[3] & 0x0f, want, "continuity on {pid:#x} at packet {i}");
            }
            if let Some(pcr) = pcr_of(af) {
                assert_eq!(pid, 0x100, "PCR on the video PID");
                out.pcrs.push((i, pcr));
            }
            let start = p[1] & 0x40 != 0;
            if matches!(pid, 0 | 0x11 | 0x1000) {
                if start {
                    out.tables.entry(pid).or_default().push(i);
                    let section = &payload[1 + usize::from(payload[0])..];
                    let len = 3 + ((usize::from(section[1] & 0x0f) << 8) | usize::from(section[2]));
                    out.sections.insert(pid, section[..len].to_vec());
                }
                continue;
            }
            let list = out.pes.entry(pid).or_default();
            if start {
                assert_eq!(&payload[..3], [0, 0, 1], "PES start code");
                assert_eq!(payload[7] & 0xc0, 0x80, "PTS only");
                let header = 9 + usize::from(payload[8]);
                list.push(Pes {
                    at: i,
                    pts: pts_of(&payload[9..14]),
                    payload: payload[header..].to_vec(),
                    rai: af.len() > 1 && af[1] & 0x40 != 0,
                });
            } else if has_payload {
                list.last_mut().unwrap().payload.extend_from_slice(payload);
            }
        }
        out
    }

    /// Muxes `gops` (with their seconds) at 3 Mbit/s, every unit in time: the stream and
    /// the silent audio frame.
    fn mux(profile: Profile, audio: AudioCodec, gops: &[(Arc<Gop>, u64)]) -> (Vec<u8>, Vec<u8>) {
        let (ts, silence, late) = mux_at(profile, audio, 3_000_000, gops);
        assert_eq!(late, 0, "everything in time at 3 Mbit/s");
        (ts, silence)
    }

    /// Muxes `gops` at `rate`: the stream, the silent audio frame and the late units.
    fn mux_at(
        profile: Profile,
        audio: AudioCodec,
        rate: u64,
        gops: &[(Arc<Gop>, u64)],
    ) -> (Vec<u8>, Vec<u8>, u64) {
        let silence = silent_audio(audio).unwrap();
        let mut m = TsMux::new(profile, audio, &silence, rate, &service());
        let mut ts = Vec::new();
        for (g, i) in gops {
            m.push(Arc::clone(g), *i);
            m.write_all(&mut ts);
        }
        assert!(m.is_idle());
        assert_eq!(m.packets() as usize * TS_PACKET, ts.len());
        (ts, silence.data.to_vec(), m.late_units())
    }

    #[test]
    fn an_sd_stream_is_cbr_with_its_tables_pcrs_and_every_picture_in_time() {
        let (a, b) = (
            gop(Profile::Sd, (20, 40, 60)),
            gop(Profile::Sd, (200, 180, 40)),
        );
        let gops = [
            (Arc::clone(&a), 0),
            (Arc::clone(&b), 1),
            (Arc::clone(&a), 2),
        ];
        let (ts, silence) = mux(Profile::Sd, AudioCodec::Mp2, &gops);
        let parsed = parse(&ts);
        let t = |packet: usize| -> u128 {
            // Time of a packet's PCR byte, from the first PCR and the byte count.
            let (i0, p0) = parsed.pcrs[0];
            let bytes = (packet as i128 - i0 as i128) * TS_PACKET as i128;
            (p0 as i128 + bytes * 8 * 27_000_000 / 3_000_000) as u128
        };

        // CBR: every PCR is where the byte count at 3 Mbit/s puts it; one every 20 ms.
        assert!(parsed.pcrs.len() > 140, "{} PCRs", parsed.pcrs.len());
        for &(i, pcr) in &parsed.pcrs {
            assert_eq!(pcr, t(i), "PCR of packet {i}");
        }
        for w in parsed.pcrs.windows(2) {
            // (A table may delay a due PCR by its packets.)
            assert!(
                w[1].1 - w[0].1 <= PCR_PERIOD + 4 * 13_536,
                "PCR gap {:?}",
                w
            );
        }
        // Tables: PAT and PMT every 90 ms, SDT every 500 ms (plus a packet).
        for (pid, period) in [(0, PAT_PERIOD), (0x1000, PAT_PERIOD), (0x11, SDT_PERIOD)] {
            let at = &parsed.tables[&pid];
            assert!(at.len() >= 2, "{pid:#x}");
            for w in at.windows(2) {
                assert!(t(w[1]) - t(w[0]) <= period + 3 * 13_536, "{pid:#x} gap");
            }
            assert_eq!(crc32_mpeg(&parsed.sections[&pid]), 0, "CRC of {pid:#x}");
        }
        assert_eq!(
            parsed.sections[&0],
            [
                0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, 0x2a, 0xb1,
                0x04, 0xb2
            ],
            "the PAT FFmpeg wrote"
        );
        let sdt = &parsed.sections[&0x11];
        let mut name = vec![0x15];
        name.extend_from_slice("政务频道".as_bytes());
        assert!(sdt.windows(name.len()).any(|w| w == name.as_slice()));
        let pmt = &parsed.sections[&0x1000];
        assert_eq!(
            (pmt[12], pmt[17]),
            (0x02, 0x03),
            "MPEG-2 video, MPEG-1 audio"
        );

        // Every picture, whole and in order, 40 ms apart, the key pictures marked.
        let video = &parsed.pes[&0x100];
        assert_eq!(video.len(), 75);
        for (n, pes) in video.iter().enumerate() {
            let (g, _) = &gops[n / 25];
            let picture = g.packet(n % 25).unwrap();
            assert_eq!(pes.payload, picture.data, "picture {n}");
            assert_eq!(pes.pts, FIRST_DTS + n as i64 * 3600);
            assert_eq!(pes.rai, n % 25 == 0, "picture {n}");
            if pes.rai {
                let pcr = parsed.pcrs.iter().any(|&(i, _)| i == pes.at);
                assert!(pcr, "PCR at key {n}");
                // The PAT and PMT right before it, for a receiver tuning in.
                assert!(
                    parsed.tables[&0].contains(&(pes.at - 2)),
                    "PAT before key {n}"
                );
                assert!(
                    parsed.tables[&0x1000].contains(&(pes.at - 1)),
                    "PMT before key {n}"
                );
            }
            // Sent no earlier than LEAD before its time, and all of it before its time.
            assert!(t(pes.at) >= ((pes.pts - LEAD) * 300) as u128 - 13_536 * 300);
            let last = video.get(n + 1).map_or(ts.len() / TS_PACKET, |p| p.at);
            assert!(t(last) <= (pes.pts * 300) as u128, "picture {n} late");
        }
        // Audio: 48 kHz in 1152-sample frames, covering the three seconds.
        let audio = &parsed.pes[&0x101];
        assert_eq!(audio.len(), (3 * 48_000usize).div_ceil(1152));
        for (n, pes) in audio.iter().enumerate() {
            assert_eq!(pes.payload, silence);
            assert_eq!(pes.pts, FIRST_DTS + n as i64 * 2160);
        }
    }

    #[test]
    fn hd_pictures_get_an_access_unit_delimiter_and_aac_frames_an_adts_header() {
        let a = gop(Profile::Hd720, (20, 40, 60));
        let (ts, silence) = mux(Profile::Hd720, AudioCodec::Aac, &[(Arc::clone(&a), 0)]);
        let parsed = parse(&ts);
        let pmt = &parsed.sections[&0x1000];
        assert_eq!(
            (pmt[12], pmt[17]),
            (0x1b, 0x0f),
            "H.264 video, AAC (ADTS) audio"
        );
        let video = &parsed.pes[&0x100];
        assert_eq!(video.len(), 25);
        for (n, pes) in video.iter().enumerate() {
            assert_eq!(pes.payload[..6], H264_AUD);
            assert_eq!(&pes.payload[6..], a.packet(n).unwrap().data);
        }
        let audio = &parsed.pes[&0x101];
        let frame = &audio[0].payload;
        assert_eq!(&frame[7..], silence.as_slice());
        let len = (usize::from(frame[3] & 3) << 11)
            | (usize::from(frame[4]) << 3)
            | usize::from(frame[5] >> 5);
        assert_eq!(len, frame.len(), "ADTS frame length");
        assert_eq!(frame[..3], [0xff, 0xf1, 0x4c]);
    }

    #[test]
    fn ffmpeg_demuxes_and_decodes_the_stream() {
        let (a, b) = (
            gop(Profile::Hd720, (20, 40, 60)),
            gop(Profile::Hd720, (90, 90, 200)),
        );
        let (ts, _) = mux(Profile::Hd720, AudioCodec::Aac, &[(a, 0), (b, 1)]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ts");
        std::fs::write(&path, &ts).unwrap();
        encode::init().unwrap();
        let mut input = ffmpeg_next::format::input(&path).unwrap();
        let video = input
            .streams()
            .best(ffmpeg_next::media::Type::Video)
            .unwrap();
        let params = video.parameters();
        let index = video.index();
        let mut decoder = ffmpeg_next::codec::context::Context::from_parameters(params)
            .unwrap()
            .decoder()
            .video()
            .unwrap();
        let (mut pictures, mut audio, mut width) = (0, 0, 0);
        let mut frame = ffmpeg_next::frame::Video::empty();
        for (stream, packet) in input.packets() {
            if stream.index() != index {
                audio += 1;
                continue;
            }
            decoder.send_packet(&packet).unwrap();
            while decoder.receive_frame(&mut frame).is_ok() {
                pictures += 1;
                width = frame.width();
            }
        }
        decoder.send_eof().unwrap();
        while decoder.receive_frame(&mut frame).is_ok() {
            pictures += 1;
        }
        assert_eq!(pictures, 50);
        assert_eq!(width, 1280);
        assert!(audio >= 90, "{audio} audio frames");
    }

    #[test]
    fn a_missing_second_is_bridged_by_null_packets_and_timestamps_wrap_at_33_bits() {
        let a = gop(Profile::Sd, (20, 40, 60));
        // Seconds 95_443 and 95_445 (the 33-bit PTS wraps in 95_443.7 s); 95_444 was lost.
        let (ts, _) = mux(
            Profile::Sd,
            AudioCodec::Mp2,
            &[(Arc::clone(&a), 95_443), (a, 95_445)],
        );
        let parsed = parse(&ts);
        let video = &parsed.pes[&0x100];
        assert_eq!(video.len(), 50);
        let wrap = 1i64 << 33;
        for (n, pes) in video.iter().enumerate() {
            let second = if n < 25 { 95_443 } else { 95_445 };
            let want = (FIRST_DTS + (second * 25 + (n % 25) as i64) * 3600) % wrap;
            assert_eq!(pes.pts, want, "picture {n}");
        }
        // The lost second is a second of stream: about 2000 packets, mostly null.
        let nulls = ts
            .chunks_exact(TS_PACKET)
            .filter(|p| pid(p) == NULL_PID)
            .count();
        assert!(nulls > 2_000, "{nulls} null packets");
        let pcr_wrapped = parsed.pcrs.windows(2).any(|w| w[1].1 < w[0].1);
        assert!(pcr_wrapped, "the PCR wraps with the PTS");
    }

    #[test]
    fn units_that_miss_their_decoding_time_are_counted() {
        // 200 kbit/s cannot carry MP2 at 192 kbit/s with its packet overhead.
        let g = gop(Profile::Sd, (20, 40, 60));
        let gops: Vec<_> = (0..3).map(|i| (Arc::clone(&g), i)).collect();
        let (_, _, late) = mux_at(Profile::Sd, AudioCodec::Mp2, 200_000, &gops);
        assert!(late > 50, "{late} late");
    }

    /// Muxes GOPs of `sizes`-byte pictures (the first of each GOP a key picture) as
    /// seconds `seconds`, and checks the stream reads back whole: every picture's bytes,
    /// key flag and PTS, every audio frame.
    fn reads_back(sizes: &[usize], seconds: &[u64], rate: u64, hd: bool) -> Result<(), String> {
        let (profile, audio) = if hd {
            (Profile::Hd720, AudioCodec::Aac)
        } else {
            (Profile::Sd, AudioCodec::Mp2)
        };
        let pictures: Vec<(Vec<u8>, bool)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| ((0..n).map(|j| (j * 7 + i) as u8 | 1).collect(), i == 0))
            .collect();
        let gop = Arc::new(Gop::of_pictures(&pictures));
        let gops: Vec<_> = seconds.iter().map(|&s| (Arc::clone(&gop), s)).collect();
        let (ts, silence, _) = mux_at(profile, audio, rate, &gops);
        let parsed = parse(&ts);
        let video = &parsed.pes[&0x100];
        if video.len() != sizes.len() * seconds.len() {
            return Err(format!("{} pictures", video.len()));
        }
        for (n, pes) in video.iter().enumerate() {
            let (data, key) = &pictures[n % sizes.len()];
            let body = if hd {
                &pes.payload[6..]
            } else {
                &pes.payload[..]
            };
            let second = seconds[n / sizes.len()] as i64;
            let pts = FIRST_DTS + (second * 25 + (n % sizes.len()) as i64) * 3600;
            if body != data.as_slice() || pes.rai != *key || pes.pts != pts {
                return Err(format!("picture {n} of {} bytes", data.len()));
            }
        }
        let framed = if hd { 7 } else { 0 };
        for pes in &parsed.pes[&0x101] {
            if pes.payload[framed..] != silence[..] {
                return Err("an audio frame".into());
            }
        }
        Ok(())
    }

    #[test]
    fn pictures_of_every_size_from_1_to_400_bytes_read_back_whole() {
        // Every length the last packet of a picture can have, so every stuffing case (0,
        // 1, 2 … 183 bytes), with and without a PCR in the packet.
        let sizes: Vec<usize> = (1..=400).collect();
        for (chunk, hd) in sizes.chunks(25).zip([false, true].into_iter().cycle()) {
            for rate in [1_000_000, 3_000_000] {
                reads_back(chunk, &[0, 1], rate, hd).unwrap();
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Pictures of any size, any mux rate, seconds with gaps, SD or HD.
        #[test]
        fn any_pictures_at_any_rate_read_back_whole_and_in_order(
            sizes in proptest::collection::vec(1usize..3000, 1..26),
            gaps in proptest::collection::vec(0u64..3, 1..4),
            rate in 1_000_000u64..8_000_000,
            hd in proptest::bool::ANY,
        ) {
            let mut seconds = Vec::new();
            let mut next = 0;
            for gap in gaps {
                seconds.push(next + gap);
                next += gap + 1;
            }
            let result = reads_back(&sizes, &seconds, rate, hd);
            proptest::prop_assert!(result.is_ok(), "{:?}", result);
        }
    }

    #[test]
    fn crc_of_a_known_section() {
        let pat = [
            0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00,
        ];
        assert_eq!(crc32_mpeg(&pat), 0x2ab1_04b2);
    }
}
