//! Encoding: each distinct frame becomes one closed GOP of [`FPS`] pictures, encoded once
//! and re-sent for as long as the frame airs; audio is one steady-state silent packet
//! repeated with advancing timestamps.
//!
//! A fresh encoder is opened for every GOP (or band) and flushed at its end, so a GOP never
//! depends on what was encoded before it (and an encoder that failed is simply never
//! reused).
//!
//! Codecs per profile: SD (4:3 and 16:9 anamorphic) is MPEG-2 video MP@ML with MP2 audio,
//! BT.601; HD is H.264 (libx264) with AAC (or MP2), BT.709. All limited range, 25 fps,
//! no B-frames (so DTS = PTS and a cached GOP can be re-stamped by adding an offset).
//!
//! An HD GOP is one intra picture that x264 codes, followed by pictures written by
//! [`super::stitch`] that repeat it at a few bytes each. Its intra picture may be stitched
//! from bands coded apart (the screen's body, shared by every channel airing it, and a
//! channel's status line): see [`encode_band`] and [`stitch_gop`].

use std::sync::OnceLock;

use ffmpeg::codec;
use ffmpeg::format::Pixel;
use ffmpeg::util::color;
use ffmpeg::{ChannelLayout, Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};

use super::frame::{Matrix, Yuv420};
use super::mpeg2::{Mpeg2Error, Mpeg2Picture};
use super::stitch::{Headers, StitchError};
use crate::render::Profile;

/// Pictures per second, and per GOP (one GOP is one second).
pub const FPS: i32 = 25;
/// Audio sample rate.
pub const AUDIO_RATE: i32 = 48_000;

/// What can go wrong encoding.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The FFmpeg libraries could not be initialised.
    #[error("FFmpeg could not be initialised")]
    Init(#[source] ffmpeg::Error),
    /// This FFmpeg build lacks an encoder we need.
    #[error("FFmpeg has no {0} encoder")]
    NoEncoder(&'static str),
    /// An FFmpeg call failed.
    #[error("{what} failed: {source}")]
    Ffmpeg {
        /// The step.
        what: &'static str,
        /// FFmpeg's error.
        source: ffmpeg::Error,
    },
    /// The encoder did not return one packet per picture, key picture first.
    #[error("the encoder returned {got} packets for a {FPS}-picture GOP (first key: {key})")]
    Gop {
        /// Packets returned.
        got: usize,
        /// Whether the first was a key frame.
        key: bool,
    },
    /// The picture does not match the profile's size.
    #[error("picture is {got_w}×{got_h}, the profile needs {want_w}×{want_h}")]
    Size {
        /// Picture width.
        got_w: usize,
        /// Picture height.
        got_h: usize,
        /// Profile width.
        want_w: u32,
        /// Profile height.
        want_h: u32,
    },
    /// A failure injected on purpose (fault drills and tests).
    #[error("injected encoder failure")]
    Injected,
    /// x264's pictures could not be stitched.
    #[error("stitching H.264 bands failed")]
    Stitch(#[from] StitchError),
    /// The MPEG-2 encoder's intra picture could not be repeated.
    #[error("repeating the MPEG-2 picture failed")]
    Mpeg2(#[from] Mpeg2Error),
}

fn ff(what: &'static str) -> impl FnOnce(ffmpeg::Error) -> EncodeError {
    move |source| EncodeError::Ffmpeg { what, source }
}

/// Initialises FFmpeg once per process and quietens its log to errors.
pub fn init() -> Result<(), EncodeError> {
    static DONE: OnceLock<Result<(), ffmpeg::Error>> = OnceLock::new();
    let done = *DONE.get_or_init(|| {
        ffmpeg::init()?;
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Error);
        Ok(())
    });
    done.map_err(EncodeError::Init)
}

/// The audio codec of an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioCodec {
    /// MPEG-1 Layer II, 192 kbit/s stereo (SD's codec; HD may use it too).
    Mp2,
    /// AAC-LC, 128 kbit/s stereo (HD's default).
    Aac,
}

impl AudioCodec {
    /// The default for a profile: MP2 for SD, AAC for HD.
    pub fn default_for(profile: Profile) -> AudioCodec {
        if is_sd(profile) {
            AudioCodec::Mp2
        } else {
            AudioCodec::Aac
        }
    }

    /// FFmpeg's encoder name.
    pub fn encoder_name(self) -> &'static str {
        match self {
            AudioCodec::Mp2 => "mp2",
            AudioCodec::Aac => "aac",
        }
    }
}

/// Whether the profile is SD (MPEG-2, BT.601).
pub fn is_sd(profile: Profile) -> bool {
    matches!(profile, Profile::Sd | Profile::SdWide)
}

/// The Y′CbCr matrix of a profile.
pub fn matrix(profile: Profile) -> Matrix {
    if is_sd(profile) {
        Matrix::Bt601
    } else {
        Matrix::Bt709
    }
}

/// FFmpeg's video encoder name for a profile.
pub fn video_encoder_name(profile: Profile) -> &'static str {
    if is_sd(profile) {
        "mpeg2video"
    } else {
        "libx264"
    }
}

/// Sample aspect ratio: 720×576 shown 4:3 is 16:15, shown 16:9 is 64:45; HD is square.
pub fn sample_aspect(profile: Profile) -> Rational {
    match profile {
        Profile::Sd => Rational(16, 15),
        Profile::SdWide => Rational(64, 45),
        Profile::Hd720 | Profile::Hd1080 => Rational(1, 1),
    }
}

/// Default CBR mux rate of a TS output in bit/s: 3 Mbit/s SD, 5 Mbit/s 720p, 8 Mbit/s 1080.
pub fn default_muxrate(profile: Profile) -> u64 {
    match profile {
        Profile::Sd | Profile::SdWide => 3_000_000,
        Profile::Hd720 => 5_000_000,
        Profile::Hd1080 => 8_000_000,
    }
}

/// Opens a video encoder for `profile` with the settings every GOP uses.
pub fn open_video(profile: Profile) -> Result<codec::encoder::Video, EncodeError> {
    open_video_sized(profile, profile.width(), profile.height())
}

/// Opens a video encoder for `profile`'s settings at `width` × `height` (a band).
fn open_video_sized(
    profile: Profile,
    width: u32,
    height: u32,
) -> Result<codec::encoder::Video, EncodeError> {
    init()?;
    let name = video_encoder_name(profile);
    let codec = codec::encoder::find_by_name(name).ok_or(EncodeError::NoEncoder(name))?;
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(ff("creating the video encoder"))?;
    enc.set_width(width);
    enc.set_height(height);
    enc.set_format(Pixel::YUV420P);
    enc.set_time_base(Rational(1, FPS));
    enc.set_frame_rate(Some(Rational(FPS, 1)));
    enc.set_aspect_ratio(sample_aspect(profile));
    enc.set_gop(FPS as u32);
    enc.set_max_b_frames(0);
    enc.set_color_range(color::Range::MPEG);
    let mut opts = Dictionary::new();
    if is_sd(profile) {
        enc.set_colorspace(color::Space::BT470BG);
        enc.set_color_primaries(color::Primaries::BT470BG);
        enc.set_color_transfer_characteristic(color::TransferCharacteristic::SMPTE170M);
        // MP@ML: VBV 1.835 Mbit. A still page costs one intra picture and 24 skipped ones.
        // sc_threshold: +cgop alone fails to open (pitfall measured on this stack).
        for (k, v) in [
            ("b", "2000000"),
            ("maxrate", "2500000"),
            ("bufsize", "1835008"),
            ("qmin", "2"),
            ("qmax", "12"),
            ("flags", "+cgop"),
            ("sc_threshold", "1000000000"),
            ("threads", "1"),
        ] {
            opts.set(k, v);
        }
    } else {
        enc.set_colorspace(color::Space::BT709);
        enc.set_color_primaries(color::Primaries::BT709);
        enc.set_color_transfer_characteristic(color::TransferCharacteristic::BT709);
        let vbv = if profile == Profile::Hd1080 {
            6000
        } else {
            3500
        };
        // x264 codes one intra picture per GOP (the rest repeat it, see `stitch`). Alone,
        // an intra picture gets none of the quality the following pictures would have
        // added, so it is coded at CRF 12: the hard page at 720p is then 45.1 dB (the
        // 25-picture GOP at CRF 18 was 44.6 dB over its pictures) in 79 KB (76 KB).
        // `stitchable`: parameter sets that do not depend on the content or the size, so
        // bands coded apart share the frame's.
        let params = format!(
            "keyint={FPS}:min-keyint={FPS}:scenecut=0:bframes=0:open-gop=0:repeat-headers=1:rc-lookahead=5:stitchable=1:vbv-maxrate={vbv}:vbv-bufsize={vbv}"
        );
        for (k, v) in [
            ("preset", "veryfast"),
            ("tune", "stillimage"),
            ("crf", "12"),
            ("threads", "1"),
            ("x264-params", params.as_str()),
        ] {
            opts.set(k, v);
        }
    }
    enc.open_with(opts).map_err(ff("opening the video encoder"))
}

/// Opens the audio encoder of `codec` (48 kHz stereo).
pub fn open_audio(codec: AudioCodec) -> Result<codec::encoder::Audio, EncodeError> {
    init()?;
    let name = codec.encoder_name();
    let found = codec::encoder::find_by_name(name).ok_or(EncodeError::NoEncoder(name))?;
    let mut enc = codec::context::Context::new_with_codec(found)
        .encoder()
        .audio()
        .map_err(ff("creating the audio encoder"))?;
    enc.set_rate(AUDIO_RATE);
    enc.set_channel_layout(ChannelLayout::STEREO);
    enc.set_channels(2);
    enc.set_time_base(Rational(1, AUDIO_RATE));
    let (format, rate) = match codec {
        AudioCodec::Mp2 => (
            ffmpeg::format::Sample::I16(ffmpeg::format::sample::Type::Packed),
            192_000,
        ),
        AudioCodec::Aac => (
            ffmpeg::format::Sample::F32(ffmpeg::format::sample::Type::Planar),
            128_000,
        ),
    };
    enc.set_format(format);
    enc.set_bit_rate(rate);
    enc.open_with(Dictionary::new())
        .map_err(ff("opening the audio encoder"))
}

/// One encoded picture while a GOP is being made.
#[derive(Debug, Clone)]
struct CodedPicture {
    data: Box<[u8]>,
    key: bool,
}

/// One encoded picture of a cached GOP.
#[derive(Debug, Clone, Copy)]
pub struct CachedPacket<'a> {
    /// The coded picture.
    pub data: &'a [u8],
    /// Whether it is a key (intra, IDR) picture.
    pub key: bool,
}

/// A closed GOP: [`FPS`] pictures, the first a key picture, in presentation order. The
/// pictures are kept in one allocation: a cache of hundreds of GOPs is then hundreds of
/// blocks, not thousands of small ones and a large one each, which the allocator could
/// not give back once the cache evicts.
#[derive(Debug)]
pub struct Gop {
    data: Box<[u8]>,
    /// Where each picture ends in `data`, and whether it is a key picture.
    ends: Box<[(u32, bool)]>,
}

impl Gop {
    fn from_pictures(pictures: &[CodedPicture]) -> Gop {
        let mut data = Vec::with_capacity(pictures.iter().map(|p| p.data.len()).sum());
        let mut ends = Vec::with_capacity(pictures.len());
        for p in pictures {
            data.extend_from_slice(&p.data);
            ends.push((u32::try_from(data.len()).unwrap_or(u32::MAX), p.key));
        }
        Gop {
            data: data.into_boxed_slice(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// A GOP of one key picture of `bytes` zero bytes (for the cache's tests).
    #[cfg(test)]
    pub(crate) fn of_bytes(bytes: usize) -> Gop {
        Gop {
            data: vec![0; bytes].into_boxed_slice(),
            ends: Box::new([(u32::try_from(bytes).unwrap_or(u32::MAX), true)]),
        }
    }

    /// A GOP of the given pictures (bytes, key) (for the muxer's tests).
    #[cfg(test)]
    pub(crate) fn of_pictures(pictures: &[(Vec<u8>, bool)]) -> Gop {
        let pictures: Vec<CodedPicture> = pictures
            .iter()
            .map(|(data, key)| CodedPicture {
                data: data.clone().into_boxed_slice(),
                key: *key,
            })
            .collect();
        Gop::from_pictures(&pictures)
    }

    /// The pictures, in presentation order.
    pub fn packets(&self) -> impl ExactSizeIterator<Item = CachedPacket<'_>> + '_ {
        (0..self.ends.len()).map(|i| {
            self.packet(i).unwrap_or(CachedPacket {
                data: &[],
                key: false,
            })
        })
    }

    /// Picture `i` (presentation order), if there is one.
    pub fn packet(&self, i: usize) -> Option<CachedPacket<'_>> {
        let &(end, key) = self.ends.get(i)?;
        let start = i
            .checked_sub(1)
            .and_then(|j| self.ends.get(j))
            .map_or(0, |e| e.0 as usize);
        Some(CachedPacket {
            data: self.data.get(start..end as usize).unwrap_or_default(),
            key,
        })
    }

    /// Pictures in the GOP.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether it has no picture.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of coded video.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }
}

fn drain_video(
    enc: &mut codec::encoder::Video,
    out: &mut Vec<(i64, CodedPicture)>,
) -> Result<(), EncodeError> {
    let mut packet = Packet::empty();
    while enc.receive_packet(&mut packet).is_ok() {
        let data = packet.data().unwrap_or_default();
        out.push((
            packet.pts().unwrap_or(out.len() as i64),
            CodedPicture {
                data: data.into(),
                key: packet.is_key(),
            },
        ));
    }
    Ok(())
}

/// Encodes `picture` held for one second as a closed GOP for `profile`.
pub fn encode_gop(profile: Profile, picture: &Yuv420) -> Result<Gop, EncodeError> {
    let (w, h) = (profile.width(), profile.height());
    if picture.width != w as usize || picture.height != h as usize {
        return Err(EncodeError::Size {
            got_w: picture.width,
            got_h: picture.height,
            want_w: w,
            want_h: h,
        });
    }
    if is_sd(profile) {
        return encode_mpeg2_gop(profile, picture);
    }
    let headers = headers(profile)?;
    let band = headers.place_band(&encode_band(profile, picture)?, 0)?;
    Ok(stitch_gop(&headers, &[&band]))
}

/// Copies `picture` into a new FFmpeg frame.
fn to_frame(picture: &Yuv420) -> ffmpeg::frame::Video {
    let (w, h) = (picture.width as u32, picture.height as u32);
    let mut frame = ffmpeg::frame::Video::new(Pixel::YUV420P, w, h);
    let planes: [(&[u8], usize); 3] = [
        (&picture.y, picture.width),
        (&picture.cb, picture.width.div_ceil(2)),
        (&picture.cr, picture.width.div_ceil(2)),
    ];
    for (i, (src, width)) in planes.into_iter().enumerate() {
        let stride = frame.stride(i);
        let dst = frame.data_mut(i);
        for (row, line) in src.chunks(width).enumerate() {
            if let Some(d) = dst.get_mut(row * stride..row * stride + width) {
                d.copy_from_slice(line);
            }
        }
    }
    frame.set_color_range(color::Range::MPEG);
    frame
}

/// An SD GOP: MPEG-2 codes the picture as one intra picture; the other 24 pictures of
/// the second repeat it (written by [`super::mpeg2`]).
fn encode_mpeg2_gop(profile: Profile, picture: &Yuv420) -> Result<Gop, EncodeError> {
    let intra = encode_intra(open_video(profile)?, picture)?;
    let repeat = Mpeg2Picture::from_intra(&intra.data)?;
    let mut pictures = Vec::with_capacity(FPS as usize);
    pictures.push(intra);
    for n in 1..FPS as u32 {
        pictures.push(CodedPicture {
            data: repeat.skipped_picture(n).into_boxed_slice(),
            key: false,
        });
    }
    Ok(Gop::from_pictures(&pictures))
}

/// Codes `picture` (an HD frame, or a band of one: the frame's width, any height) as one
/// IDR picture, Annex B with its parameter sets.
pub fn encode_band(profile: Profile, picture: &Yuv420) -> Result<Vec<u8>, EncodeError> {
    if picture.width != profile.width() as usize || picture.height == 0 || is_sd(profile) {
        return Err(EncodeError::Size {
            got_w: picture.width,
            got_h: picture.height,
            want_w: profile.width(),
            want_h: profile.height(),
        });
    }
    let enc = open_video_sized(profile, picture.width as u32, picture.height as u32)?;
    Ok(encode_intra(enc, picture)?.data.into_vec())
}

/// Codes `picture` alone with `enc` (then flushed): one key picture, or an error.
fn encode_intra(
    mut enc: codec::encoder::Video,
    picture: &Yuv420,
) -> Result<CodedPicture, EncodeError> {
    let mut frame = to_frame(picture);
    frame.set_pts(Some(0));
    frame.set_kind(ffmpeg::picture::Type::I);
    let mut packets = Vec::with_capacity(1);
    enc.send_frame(&frame).map_err(ff("sending a picture"))?;
    drain_video(&mut enc, &mut packets)?;
    enc.send_eof().map_err(ff("flushing the encoder"))?;
    drain_video(&mut enc, &mut packets)?;
    match packets.pop() {
        Some((_, p)) if p.key && packets.is_empty() => Ok(p),
        other => Err(EncodeError::Gop {
            got: packets.len() + usize::from(other.is_some()),
            key: other.is_some_and(|(_, p)| p.key),
        }),
    }
}

/// The full-size parameter sets of an HD profile (x264 codes a blank frame once per
/// process and profile to get them).
pub fn headers(profile: Profile) -> Result<std::sync::Arc<Headers>, EncodeError> {
    use std::sync::{Arc, Mutex};
    static MADE: Mutex<Vec<(Profile, Arc<Headers>)>> = Mutex::new(Vec::new());
    let known = |made: &Vec<(Profile, Arc<Headers>)>| {
        made.iter()
            .find(|(p, _)| *p == profile)
            .map(|(_, h)| Arc::clone(h))
    };
    if let Some(h) = MADE.lock().ok().and_then(|m| known(&m)) {
        return Ok(h);
    }
    let (w, h) = (profile.width() as usize, profile.height() as usize);
    let blank = Yuv420 {
        width: w,
        height: h,
        y: vec![16; w * h],
        cb: vec![128; w.div_ceil(2) * h.div_ceil(2)],
        cr: vec![128; w.div_ceil(2) * h.div_ceil(2)],
    };
    let headers = Headers::from_stream(&encode_band(profile, &blank)?)?;
    let headers = Arc::new(headers.with_repeats(FPS as u32 - 1));
    if let Ok(mut made) = MADE.lock() {
        if let Some(h) = known(&made) {
            return Ok(h);
        }
        made.push((profile, Arc::clone(&headers)));
    }
    Ok(headers)
}

/// An HD GOP: the bands (slices already placed by [`Headers::place_band`], top to bottom)
/// as one IDR picture after the frame's parameter sets, then [`FPS`]` - 1` pictures that
/// repeat it.
pub fn stitch_gop(headers: &Headers, bands: &[&[u8]]) -> Gop {
    let mut first = headers.annexb().to_vec();
    for band in bands {
        first.extend_from_slice(band);
    }
    let mut pictures = Vec::with_capacity(FPS as usize);
    pictures.push(CodedPicture {
        data: first.into_boxed_slice(),
        key: true,
    });
    for n in 1..FPS as u32 {
        pictures.push(CodedPicture {
            data: headers.skipped_picture(n).into_boxed_slice(),
            key: false,
        });
    }
    Gop::from_pictures(&pictures)
}

/// A band's placed slices as a one-picture [`Gop`] (how the GOP cache keeps bands).
pub fn band_gop(slices: Vec<u8>) -> Gop {
    Gop::from_pictures(&[CodedPicture {
        data: slices.into_boxed_slice(),
        key: true,
    }])
}

/// A steady-state packet of digital silence and its length in samples.
#[derive(Debug, Clone)]
pub struct SilentAudio {
    /// The coded frame (independent of its neighbours in steady state).
    pub data: Box<[u8]>,
    /// Samples per frame (1152 for MP2, 1024 for AAC).
    pub samples: u32,
}

/// Encodes a few frames of silence and keeps one from the steady state.
pub fn silent_audio(codec: AudioCodec) -> Result<SilentAudio, EncodeError> {
    let mut enc = open_audio(codec)?;
    let samples = enc.frame_size().max(1);
    let mut frame =
        ffmpeg::frame::Audio::new(enc.format(), samples as usize, ChannelLayout::STEREO);
    frame.set_rate(AUDIO_RATE as u32);
    for plane in 0..frame.planes() {
        frame.data_mut(plane).fill(0);
    }
    let mut out: Vec<Box<[u8]>> = Vec::new();
    let mut packet = Packet::empty();
    for i in 0..8i64 {
        frame.set_pts(Some(i * i64::from(samples)));
        enc.send_frame(&frame).map_err(ff("sending silence"))?;
        while enc.receive_packet(&mut packet).is_ok() {
            out.push(packet.data().unwrap_or_default().into());
        }
    }
    let data = out
        .get(4)
        .or(out.last())
        .cloned()
        .ok_or(EncodeError::Gop { got: 0, key: false })?;
    Ok(SilentAudio { data, samples })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playout::frame::{rgba_to_yuv420, solid_rgba};

    #[test]
    fn the_repeats_made_once_are_those_written_fresh() {
        for profile in [Profile::Hd720, Profile::Hd1080] {
            let made = headers(profile).unwrap();
            let fresh = Headers::from_stream(made.annexb()).unwrap();
            for n in 1..=30 {
                assert_eq!(made.skipped_picture(n), fresh.skipped_picture(n), "{n}");
            }
        }
    }

    #[test]
    fn a_still_becomes_one_closed_gop_per_profile() {
        for profile in [Profile::Sd, Profile::Hd720] {
            let (w, h) = (profile.width() as usize, profile.height() as usize);
            let pic = rgba_to_yuv420(&solid_rgba(w, h, (28, 42, 58)), w, h, matrix(profile));
            let gop = encode_gop(profile, &pic).unwrap();
            let packets: Vec<_> = gop.packets().collect();
            assert_eq!(packets.len(), FPS as usize);
            assert!(packets[0].key);
            assert!(packets[1..].iter().all(|p| !p.key), "{profile:?}");
            assert!(packets[1].data.len() < packets[0].data.len());
            assert_eq!(
                packets.iter().map(|p| p.data.len()).sum::<usize>(),
                gop.bytes()
            );
        }
    }

    /// Decodes an H.264 GOP with FFmpeg: each picture's luma, row by row.
    fn decode_luma(gop: &Gop, width: usize) -> Vec<Vec<u8>> {
        decode_luma_with(codec::Id::H264, gop, width)
    }

    /// Decodes a GOP with FFmpeg's `id` decoder: each picture's luma, row by row.
    fn decode_luma_with(id: codec::Id, gop: &Gop, width: usize) -> Vec<Vec<u8>> {
        let codec = ffmpeg::codec::decoder::find(id).unwrap();
        let mut dec = codec::context::Context::new_with_codec(codec)
            .decoder()
            .video()
            .unwrap();
        let mut out = Vec::new();
        let mut frame = ffmpeg::frame::Video::empty();
        let mut take = |dec: &mut codec::decoder::Video, out: &mut Vec<Vec<u8>>| {
            while dec.receive_frame(&mut frame).is_ok() {
                let (stride, h) = (frame.stride(0), frame.height() as usize);
                let data = frame.data(0);
                let mut luma = Vec::with_capacity(width * h);
                for row in 0..h {
                    luma.extend_from_slice(&data[row * stride..row * stride + width]);
                }
                out.push(luma);
            }
        };
        for (i, p) in gop.packets().enumerate() {
            let mut packet = Packet::copy(p.data);
            packet.set_pts(Some(i as i64));
            packet.set_dts(Some(i as i64));
            dec.send_packet(&packet).unwrap();
            take(&mut dec, &mut out);
        }
        dec.send_eof().unwrap();
        take(&mut dec, &mut out);
        out
    }

    /// A picture with detail everywhere (stripes of every phase), so any misplaced or
    /// mis-predicted macroblock shows.
    fn busy_picture(profile: Profile, seed: u8) -> Yuv420 {
        let (w, h) = (profile.width() as usize, profile.height() as usize);
        let mut rgba = vec![0u8; w * h * 4];
        for y in 0..h {
            for x in 0..w {
                let v = ((x * 7 + y * 3 + usize::from(seed) * 11) % 64 * 4) as u8;
                let i = (y * w + x) * 4;
                rgba[i..i + 4].copy_from_slice(&[v, 255 - v, (x % 256) as u8, 255]);
            }
        }
        rgba_to_yuv420(&rgba, w, h, matrix(profile))
    }

    fn rows(p: &Yuv420, top: usize, bottom: usize) -> Yuv420 {
        let (w, cw) = (p.width, p.width.div_ceil(2));
        Yuv420 {
            width: w,
            height: bottom - top,
            y: p.y[top * w..bottom * w].to_vec(),
            cb: p.cb[top / 2 * cw..bottom.div_ceil(2) * cw].to_vec(),
            cr: p.cr[top / 2 * cw..bottom.div_ceil(2) * cw].to_vec(),
        }
    }

    #[test]
    fn bands_coded_apart_decode_as_if_coded_alone_and_every_picture_repeats_the_first() {
        for profile in [Profile::Hd720, Profile::Hd1080] {
            let (w, h) = (profile.width() as usize, profile.height() as usize);
            let split = h / 16 * 16 - 64;
            let (a, b) = (busy_picture(profile, 1), busy_picture(profile, 2));
            let top = rows(&a, 0, split);
            let bottom = rows(&b, split, h);
            let headers = headers(profile).unwrap();
            let body = headers
                .place_band(&encode_band(profile, &top).unwrap(), 0)
                .unwrap();
            let status = headers
                .place_band(&encode_band(profile, &bottom).unwrap(), split as u32 / 16)
                .unwrap();
            let gop = stitch_gop(&headers, &[&body, &status]);
            assert_eq!(gop.packets().len(), FPS as usize);
            let pictures = decode_luma(&gop, w);
            assert_eq!(pictures.len(), FPS as usize, "{profile:?}");
            // Each band decodes exactly as its own picture does.
            let alone_top = decode_luma(&encode_gop_of(profile, &top), w);
            let alone_bottom = decode_luma(&encode_gop_of(profile, &bottom), w);
            assert_eq!(
                pictures[0][..split * w],
                alone_top[0][..split * w],
                "{profile:?}"
            );
            assert_eq!(pictures[0][split * w..], alone_bottom[0][..(h - split) * w]);
            for p in &pictures[1..] {
                assert_eq!(p, &pictures[0], "a repeat differs from the first picture");
            }
            // And the frame is the source picture (the stripes are far harder than a page:
            // 34 dB at 720p, 29 dB at 1080p within its VBV; a misplaced band is ~10 dB).
            let mut source = a.y[..split * w].to_vec();
            source.extend_from_slice(&b.y[split * w..]);
            let psnr = luma_psnr(&pictures[0], &source);
            assert!(psnr > 25.0, "{profile:?}: {psnr:.1} dB");
            // The skipped pictures cost next to nothing: two CABAC bins a macroblock, each
            // a few hundredths of a bit once the context has adapted (35 bytes a 720p
            // picture, 67 at 1080p).
            let repeats: usize = gop.packets().skip(1).map(|p| p.data.len()).sum();
            assert!(repeats < 24 * 100, "{repeats} bytes of repeats");
            // One SPS and one PPS in the GOP: the repeats use the frame's own PPS (no
            // parameter set switching for a set-top box's decoder to get wrong).
            let sets = |kind: u8| {
                gop.packets()
                    .flat_map(|p| crate::playout::stitch::nal_units(p.data))
                    .filter(|n| n.first().is_some_and(|h| h & 0x1f == kind))
                    .count()
            };
            assert_eq!((sets(7), sets(8)), (1, 1), "{profile:?}");
        }
    }

    /// A one-band GOP of a band-sized picture (the band's own SPS), for comparison.
    fn encode_gop_of(profile: Profile, band: &Yuv420) -> Gop {
        let coded = encode_band(profile, band).unwrap();
        band_gop(coded)
    }

    fn luma_psnr(a: &[u8], b: &[u8]) -> f64 {
        let mse = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
    }

    #[test]
    fn an_sd_gop_is_one_intra_picture_and_24_exact_repeats() {
        for profile in [Profile::Sd, Profile::SdWide] {
            let (w, h) = (profile.width() as usize, profile.height() as usize);
            let source = busy_picture(profile, 4);
            let gop = encode_gop(profile, &source).unwrap();
            let pictures = decode_luma_with(codec::Id::MPEG2VIDEO, &gop, w);
            assert_eq!(pictures.len(), FPS as usize, "{profile:?}");
            for p in &pictures[1..] {
                assert_eq!(p, &pictures[0], "a repeat differs from the intra picture");
            }
            let psnr = luma_psnr(&pictures[0], &source.y[..w * h]);
            assert!(psnr > 25.0, "{profile:?}: {psnr:.1} dB");
            // Each repeat is 36 rows of two copied macroblocks: tens of bytes, not KB.
            let repeats: Vec<usize> = gop.packets().skip(1).map(|p| p.data.len()).collect();
            assert!(repeats.iter().all(|&n| n < 400), "{repeats:?}");
            // The encoder left vbv_delay unset (VBR), as the repeats do.
            let first = gop.packets().next().unwrap().data;
            let at = first.windows(4).position(|x| x == [0, 0, 1, 0]).unwrap() + 4;
            let bits = u32::from_be_bytes([first[at], first[at + 1], first[at + 2], first[at + 3]]);
            assert_eq!((bits >> 3) & 0xffff, 0xffff);
        }
    }

    #[test]
    fn a_band_that_does_not_fit_is_refused() {
        let profile = Profile::Hd720;
        let pic = busy_picture(profile, 3);
        let headers = headers(profile).unwrap();
        let band = encode_band(profile, &rows(&pic, 0, 64)).unwrap();
        assert!(matches!(
            headers.place_band(&band, 44),
            Err(StitchError::Placement { .. })
        ));
        assert!(headers.place_band(&band, 41).is_ok());
    }

    #[test]
    fn silence_is_one_repeatable_packet() {
        let mp2 = silent_audio(AudioCodec::Mp2).unwrap();
        assert_eq!(mp2.samples, 1152);
        assert!(!mp2.data.is_empty());
        let aac = silent_audio(AudioCodec::Aac).unwrap();
        assert_eq!(aac.samples, 1024);
    }

    #[test]
    fn a_wrong_size_is_refused() {
        let pic = rgba_to_yuv420(&solid_rgba(4, 4, (1, 2, 3)), 4, 4, Matrix::Bt601);
        assert!(matches!(
            encode_gop(Profile::Sd, &pic),
            Err(EncodeError::Size { .. })
        ));
    }
}
