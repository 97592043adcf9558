//! HLS muxing: one long-lived FFmpeg HLS muxer per HLS output, fed whole GOPs with
//! rewritten timestamps. Audio (steady-state silence) is generated here, so it runs on
//! without a gap whatever the video does. (Transport streams for UDP and files are made
//! by the headend's own muxer, [`super::ts`].)
//!
//! Every option given to FFmpeg must be used: `write_header_with` returns the ones a muxer
//! ignored, and a leftover is an error (a silently ignored option is a bug).

use std::path::PathBuf;

use ffmpeg::{Dictionary, Packet, Rational};
use ffmpeg_next as ffmpeg;

use super::encode::{self, AudioCodec, EncodeError, Gop, SilentAudio, AUDIO_RATE, FPS};
use crate::render::Profile;

/// Muxer delay in microseconds: without it FFmpeg's HLS segments break the buffer model
/// (`DTS < PCR`), measured on this stack.
const MAX_DELAY_US: &str = "700000";

/// What can go wrong muxing.
#[derive(Debug, thiserror::Error)]
pub enum MuxError {
    /// Setting up the codecs failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// An FFmpeg call failed.
    #[error("{what} failed: {source}")]
    Ffmpeg {
        /// The step.
        what: &'static str,
        /// FFmpeg's error.
        source: ffmpeg::Error,
    },
    /// The muxer did not use an option it was given.
    #[error("the {muxer} muxer ignored option(s): {options}")]
    UnusedOptions {
        /// Muxer name.
        muxer: &'static str,
        /// The options left over.
        options: String,
    },
}

fn ff(what: &'static str) -> impl FnOnce(ffmpeg::Error) -> MuxError {
    move |source| MuxError::Ffmpeg { what, source }
}

/// Where an HLS muxer writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hls {
    /// Directory of the playlist (`index.m3u8`) and segments.
    pub dir: PathBuf,
    /// Segment length in seconds (whole GOPs). Default 2.
    pub segment_seconds: u32,
    /// Segments in the playlist window (6–10). Default 6.
    pub window: u32,
}

/// One HLS output's muxer.
pub struct Muxer {
    octx: ffmpeg::format::context::Output,
    video_tb: Rational,
    audio_tb: Rational,
    silence: SilentAudio,
    audio_next: i64,
}

impl std::fmt::Debug for Muxer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Muxer")
            .field("audio_next", &self.audio_next)
            .finish()
    }
}

impl Muxer {
    /// Opens the muxer, adds the video and audio streams of `profile` and writes the header.
    pub fn open(profile: Profile, audio: AudioCodec, target: &Hls) -> Result<Muxer, MuxError> {
        encode::init()?;
        let video = encode::open_video(profile)?;
        let audio_enc = encode::open_audio(audio)?;
        let silence = encode::silent_audio(audio)?;
        let mut opts = Dictionary::new();
        opts.set("max_delay", MAX_DELAY_US);
        let playlist = target.dir.join("index.m3u8");
        let mut octx =
            ffmpeg::format::output_as(&playlist, "hls").map_err(ff("opening the HLS output"))?;
        opts.set("hls_time", &target.segment_seconds.to_string());
        opts.set("hls_list_size", &target.window.to_string());
        opts.set(
            "hls_flags",
            "delete_segments+program_date_time+independent_segments+temp_file",
        );
        opts.set("hls_start_number_source", "epoch");
        opts.set(
            "hls_segment_filename",
            &target.dir.join("seg-%d.ts").to_string_lossy(),
        );
        {
            let mut ost = octx
                .add_stream(ffmpeg::encoder::find_by_name(encode::video_encoder_name(
                    profile,
                )))
                .map_err(ff("adding the video stream"))?;
            ost.set_parameters(&video);
            ost.set_time_base(Rational(1, FPS));
            ost.set_avg_frame_rate(Rational(FPS, 1));
            ost.set_rate(Rational(FPS, 1));
        }
        {
            let mut ost = octx
                .add_stream(ffmpeg::encoder::find_by_name(audio.encoder_name()))
                .map_err(ff("adding the audio stream"))?;
            ost.set_parameters(&audio_enc);
            ost.set_time_base(Rational(1, AUDIO_RATE));
        }
        let left: Vec<String> = {
            let unused = octx
                .write_header_with(opts)
                .map_err(ff("writing the header"))?;
            unused.iter().map(|(k, v)| format!("{k}={v}")).collect()
        };
        if !left.is_empty() {
            return Err(MuxError::UnusedOptions {
                muxer: "hls",
                options: left.join(", "),
            });
        }
        let video_tb = octx
            .stream(0)
            .map(|s| s.time_base())
            .unwrap_or(Rational(1, 90_000));
        let audio_tb = octx
            .stream(1)
            .map(|s| s.time_base())
            .unwrap_or(Rational(1, 90_000));
        Ok(Muxer {
            octx,
            video_tb,
            audio_tb,
            silence,
            audio_next: 0,
        })
    }

    /// Writes `gop` as second `index` of the output (pictures `index × FPS …`), and the
    /// audio that covers the same second.
    pub fn write_gop(&mut self, gop: &Gop, index: u64) -> Result<(), MuxError> {
        let base = index as i64 * i64::from(FPS);
        let end_audio = (index as i64 + 1) * i64::from(AUDIO_RATE);
        let samples = i64::from(self.silence.samples);
        for (i, cached) in gop.packets().enumerate() {
            // write_interleaved consumes the packet's data: each re-send is a fresh copy.
            let mut packet = Packet::copy(cached.data);
            let pts = base + i as i64;
            packet.set_pts(Some(pts));
            packet.set_dts(Some(pts));
            packet.set_duration(1);
            packet.set_stream(0);
            if cached.key {
                packet.set_flags(ffmpeg::packet::Flags::KEY);
            }
            packet.rescale_ts(Rational(1, FPS), self.video_tb);
            packet
                .write_interleaved(&mut self.octx)
                .map_err(ff("writing video"))?;
            // Audio up to the end of this picture keeps the interleaving queue short.
            let until = (pts + 1) * i64::from(AUDIO_RATE) / i64::from(FPS);
            while self.audio_next < until.min(end_audio) {
                self.write_audio(samples)?;
            }
        }
        while self.audio_next < end_audio {
            self.write_audio(samples)?;
        }
        Ok(())
    }

    fn write_audio(&mut self, samples: i64) -> Result<(), MuxError> {
        let mut packet = Packet::copy(&self.silence.data);
        packet.set_pts(Some(self.audio_next));
        packet.set_dts(Some(self.audio_next));
        packet.set_duration(samples);
        packet.set_stream(1);
        packet.set_flags(ffmpeg::packet::Flags::KEY);
        packet.rescale_ts(Rational(1, AUDIO_RATE), self.audio_tb);
        packet
            .write_interleaved(&mut self.octx)
            .map_err(ff("writing audio"))?;
        self.audio_next += samples;
        Ok(())
    }

    /// Flushes and writes the trailer.
    pub fn finish(mut self) -> Result<(), MuxError> {
        self.octx.write_trailer().map_err(ff("writing the trailer"))
    }
}
