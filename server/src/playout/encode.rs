//! Encoding: each distinct frame becomes one closed GOP of [`FPS`] pictures, encoded once
//! and re-sent for as long as the frame airs; audio is one steady-state silent packet
//! repeated with advancing timestamps.
//!
//! A fresh encoder is opened for every GOP and flushed at its end, so a GOP never depends
//! on what was encoded before it (and an encoder that failed is simply never reused). The
//! cost is an encoder open per distinct screen, which is small next to the 25 pictures.
//!
//! Codecs per profile: SD (4:3 and 16:9 anamorphic) is MPEG-2 video MP@ML with MP2 audio,
//! BT.601; HD is H.264 (libx264) with AAC (or MP2), BT.709. All limited range, 25 fps,
//! no B-frames (so DTS = PTS and a cached GOP can be re-stamped by adding an offset).

use std::sync::OnceLock;

use ffmpeg::codec;
use ffmpeg::format::Pixel;
use ffmpeg::util::color;
use ffmpeg::{ChannelLayout, Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};

use super::frame::{Matrix, Yuv420};
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
    init()?;
    let name = video_encoder_name(profile);
    let codec = codec::encoder::find_by_name(name).ok_or(EncodeError::NoEncoder(name))?;
    let mut enc = codec::context::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(ff("creating the video encoder"))?;
    enc.set_width(profile.width());
    enc.set_height(profile.height());
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
        // A 5-frame lookahead (veryfast's is 10) at CRF 18: the encoder holds half the
        // frames (the demo's start-up peak 189 → 157 MiB, a fifth less CPU per GOP) and a
        // still page comes out the same (the hard page at 720p: 83.7 → 85.2 KB a GOP,
        // PSNR 44.4 → 44.6 dB; lookahead 5 at CRF 20 lost 1.5 dB).
        let params = format!(
            "keyint={FPS}:min-keyint={FPS}:scenecut=0:bframes=0:open-gop=0:repeat-headers=1:rc-lookahead=5:vbv-maxrate={vbv}:vbv-bufsize={vbv}"
        );
        for (k, v) in [
            ("preset", "veryfast"),
            ("tune", "stillimage"),
            ("crf", "18"),
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

    /// The pictures, in presentation order.
    pub fn packets(&self) -> impl ExactSizeIterator<Item = CachedPacket<'_>> + '_ {
        self.ends.iter().enumerate().map(|(i, &(end, key))| {
            let start = i
                .checked_sub(1)
                .and_then(|j| self.ends.get(j))
                .map_or(0, |e| e.0 as usize);
            CachedPacket {
                data: self.data.get(start..end as usize).unwrap_or_default(),
                key,
            }
        })
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
    let mut enc = open_video(profile)?;
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
    let mut packets = Vec::with_capacity(FPS as usize);
    for i in 0..FPS {
        frame.set_pts(Some(i64::from(i)));
        frame.set_kind(if i == 0 {
            ffmpeg::picture::Type::I
        } else {
            ffmpeg::picture::Type::None
        });
        enc.send_frame(&frame).map_err(ff("sending a picture"))?;
        drain_video(&mut enc, &mut packets)?;
    }
    enc.send_eof().map_err(ff("flushing the encoder"))?;
    drain_video(&mut enc, &mut packets)?;
    packets.sort_by_key(|(pts, _)| *pts);
    let key = packets.first().is_some_and(|(_, p)| p.key);
    if packets.len() != FPS as usize || !key {
        return Err(EncodeError::Gop {
            got: packets.len(),
            key,
        });
    }
    let pictures: Vec<CodedPicture> = packets.into_iter().map(|(_, p)| p).collect();
    Ok(Gop::from_pictures(&pictures))
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
