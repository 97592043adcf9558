//! Channel and output configuration (`[[channels]]` in the config file) and its
//! resolution into output plans.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::encode::{self, AudioCodec};
use super::lane::LaneOptions;
use super::output::{Destination, OutputPlan};
use super::sdt;
use super::ts::Service;
use crate::names::vocabulary;
use crate::render::Profile;

/// Default UDP destination: loopback.
pub const DEFAULT_UDP: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    5000,
));
/// Default service provider name in the SDT.
pub const DEFAULT_PROVIDER: &str = "县级融媒体中心";

/// `[[channels]]`: how one channel of the store airs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    /// Name of a channel in the store (`county`).
    pub name: String,
    /// Seconds per screen page. Default: 10.
    pub dwell: Option<u64>,
    /// Reading speed for long text, characters per second (0 = fixed dwell). Default: 8.
    pub read_rate: Option<u32>,
    /// Seconds per alert-band strip. Default: 5.
    pub banner_period: Option<u32>,
    /// Longest cycle in minutes (what does not fit takes turns). Default: 15.
    pub cycle_minutes: Option<u64>,
    /// An urgent notice in force airs full screen again at the latest this many seconds
    /// after its last airing started. Default: 180.
    pub urgent_every: Option<u64>,
    /// Outputs. Default: one HLS output in `hd720`.
    #[serde(default)]
    pub outputs: Vec<OutputSpec>,
}

vocabulary! {
    /// Kind of output.
    pub OutputKind as "output kind" {
        /// MPEG-TS over UDP for the cable multiplexer.
        Udp = "udp" / "UDP（MPEG-TS）",
        /// HLS at `/live/{channel}/index.m3u8`.
        Hls = "hls" / "HLS",
        /// MPEG-TS recorded to a file.
        File = "file" / "录制文件",
    }
}

/// Character set of SDT names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Charset {
    /// UTF-8 (0x15; plain ASCII unmarked). Default.
    #[default]
    Utf8,
    /// GB2312 (0x13), for older set-top boxes.
    Gb2312,
}

/// `[[channels.outputs]]`: one output of a channel, by its `kind`. Each kind takes only
/// its own fields (any other is an error naming it); every field is optional but a file's
/// `path`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutputSpec {
    /// MPEG-TS over UDP for the cable multiplexer.
    Udp(UdpOutput),
    /// HLS at `/live/{channel}/index.m3u8`.
    Hls(HlsOutput),
    /// MPEG-TS recorded to a file.
    File(FileOutput),
}

/// `kind = "udp"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UdpOutput {
    /// `sd`, `sd_wide`, `hd720` or `hd1080`. Default: `sd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// `mp2` or `aac`. Default: mp2 for SD, aac for HD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioCodec>,
    /// UDP receiver. Default: 127.0.0.1:5000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<SocketAddr>,
    /// Send UDP to an address that is not loopback. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_non_loopback: Option<bool>,
    /// CBR rate in bit/s. Default: 3 Mbit/s SD, 5 Mbit/s 720p, 8 Mbit/s 1080.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muxrate: Option<u64>,
    /// DVB service id. Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<u16>,
    /// PMT PID. Default: 0x1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmt_pid: Option<u16>,
    /// Video PID (audio is the next). Default: 0x100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_pid: Option<u16>,
    /// Service name. Default: the channel's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Service provider. Default: 县级融媒体中心.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Character set of the names. Default: utf8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<Charset>,
}

/// `kind = "file"`: a recorder, with the same MPEG-TS fields as UDP.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileOutput {
    /// File path of the recording (relative to the data directory).
    pub path: PathBuf,
    /// `sd`, `sd_wide`, `hd720` or `hd1080`. Default: `sd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// `mp2` or `aac`. Default: mp2 for SD, aac for HD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioCodec>,
    /// CBR rate in bit/s. Default: 3 Mbit/s SD, 5 Mbit/s 720p, 8 Mbit/s 1080.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muxrate: Option<u64>,
    /// DVB service id. Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<u16>,
    /// PMT PID. Default: 0x1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmt_pid: Option<u16>,
    /// Video PID (audio is the next). Default: 0x100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_pid: Option<u16>,
    /// Service name. Default: the channel's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Service provider. Default: 县级融媒体中心.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Character set of the names. Default: utf8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<Charset>,
}

/// `kind = "hls"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HlsOutput {
    /// `sd`, `sd_wide`, `hd720` or `hd1080`. Default: `hd720`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// `mp2` or `aac`. Default: mp2 for SD, aac for HD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioCodec>,
    /// Service name. Default: the channel's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Service provider. Default: 县级融媒体中心.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Segment length in seconds (1–6). Default: 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_seconds: Option<u32>,
    /// Playlist window in segments (6–10). Default: 6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
}

/// The MPEG-TS fields of an output (UDP and file set them; HLS takes the defaults).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TsFields {
    /// CBR rate in bit/s.
    pub muxrate: Option<u64>,
    /// DVB service id.
    pub service_id: Option<u16>,
    /// PMT PID.
    pub pmt_pid: Option<u16>,
    /// Video PID.
    pub video_pid: Option<u16>,
    /// Character set of the names.
    pub charset: Option<Charset>,
}

impl OutputSpec {
    /// Its kind.
    pub fn kind(&self) -> OutputKind {
        match self {
            OutputSpec::Udp(_) => OutputKind::Udp,
            OutputSpec::Hls(_) => OutputKind::Hls,
            OutputSpec::File(_) => OutputKind::File,
        }
    }

    /// Where a UDP output sends; `None` for other kinds.
    pub fn udp_address(&self) -> Option<SocketAddr> {
        match self {
            OutputSpec::Udp(u) => Some(u.address.unwrap_or(DEFAULT_UDP)),
            _ => None,
        }
    }

    /// The profile this output airs.
    pub fn profile(&self) -> Profile {
        match self {
            OutputSpec::Udp(u) => u.profile.unwrap_or(Profile::Sd),
            OutputSpec::File(f) => f.profile.unwrap_or(Profile::Sd),
            OutputSpec::Hls(h) => h.profile.unwrap_or(Profile::Hd720),
        }
    }

    /// Sets the profile.
    pub fn set_profile(&mut self, profile: Option<Profile>) {
        match self {
            OutputSpec::Udp(u) => u.profile = profile,
            OutputSpec::File(f) => f.profile = profile,
            OutputSpec::Hls(h) => h.profile = profile,
        }
    }

    /// The audio codec asked for, if any.
    pub fn audio(&self) -> Option<AudioCodec> {
        match self {
            OutputSpec::Udp(u) => u.audio,
            OutputSpec::File(f) => f.audio,
            OutputSpec::Hls(h) => h.audio,
        }
    }

    /// The service name and provider asked for, if any.
    pub fn names(&self) -> (Option<&str>, Option<&str>) {
        let (name, provider) = match self {
            OutputSpec::Udp(u) => (&u.service_name, &u.provider),
            OutputSpec::File(f) => (&f.service_name, &f.provider),
            OutputSpec::Hls(h) => (&h.service_name, &h.provider),
        };
        (name.as_deref(), provider.as_deref())
    }

    /// The MPEG-TS fields (all unset for HLS).
    pub fn ts(&self) -> TsFields {
        match self {
            OutputSpec::Udp(u) => TsFields {
                muxrate: u.muxrate,
                service_id: u.service_id,
                pmt_pid: u.pmt_pid,
                video_pid: u.video_pid,
                charset: u.charset,
            },
            OutputSpec::File(f) => TsFields {
                muxrate: f.muxrate,
                service_id: f.service_id,
                pmt_pid: f.pmt_pid,
                video_pid: f.video_pid,
                charset: f.charset,
            },
            OutputSpec::Hls(_) => TsFields::default(),
        }
    }

    /// Checks the values' ranges and the UDP destination; the error names the field.
    /// (Fields another kind takes are refused when the spec is read.)
    pub fn validate(&self) -> Result<(), SpecError> {
        if let OutputSpec::Hls(h) = self {
            if h.segment_seconds.is_some_and(|s| !(1..=6).contains(&s)) {
                return Err(SpecError::OutOfRange {
                    field: "segment_seconds",
                    range: "1–6 (RFC 8216 target duration ≤ 6 s)",
                });
            }
            if h.window.is_some_and(|w| !(6..=10).contains(&w)) {
                return Err(SpecError::OutOfRange {
                    field: "window",
                    range: "6–10 segments",
                });
            }
        }
        if let OutputSpec::Udp(UdpOutput {
            address: Some(addr),
            allow_non_loopback,
            ..
        }) = self
        {
            if addr.ip().is_multicast() {
                return Err(SpecError::Multicast(*addr));
            }
            if !addr.ip().is_loopback() && *allow_non_loopback != Some(true) {
                return Err(SpecError::NotLoopback(*addr));
            }
        }
        let ts = self.ts();
        for (field, pid) in [("pmt_pid", ts.pmt_pid), ("video_pid", ts.video_pid)] {
            if pid.is_some_and(|p| !(0x20..=0x1ff0).contains(&p)) {
                return Err(SpecError::OutOfRange {
                    field,
                    range: "0x20–0x1ff0",
                });
            }
        }
        if ts.service_id == Some(0) {
            // Program 0 in the PAT is the network PID, not a service.
            return Err(SpecError::OutOfRange {
                field: "service_id",
                range: "1–65535",
            });
        }
        let defaults = Service::default();
        let pmt_pid = ts.pmt_pid.unwrap_or(defaults.pmt_pid);
        let video_pid = ts.video_pid.unwrap_or(defaults.video_pid);
        if pmt_pid == video_pid || pmt_pid == video_pid + 1 {
            return Err(SpecError::PidClash { pmt_pid, video_pid });
        }
        if ts.muxrate.is_some_and(|rate| rate < 1_000_000) {
            return Err(SpecError::OutOfRange {
                field: "muxrate",
                range: "at least 1000000 bit/s",
            });
        }
        Ok(())
    }

    /// Resolves the output for channel `name` titled `title`; relative paths are under
    /// `data_dir`, HLS goes to `data_dir/live/NAME`.
    pub fn plan(&self, name: &str, title: &str, data_dir: &Path) -> Result<OutputPlan, SpecError> {
        self.validate()?;
        let profile = self.profile();
        let destination = match self {
            OutputSpec::Udp(u) => Destination::Udp {
                addr: u.address.unwrap_or(DEFAULT_UDP),
            },
            OutputSpec::File(f) => Destination::File {
                path: if f.path.is_absolute() {
                    f.path.clone()
                } else {
                    data_dir.join(&f.path)
                },
            },
            OutputSpec::Hls(h) => Destination::Hls {
                dir: hls_dir(data_dir, name),
                segment_seconds: h.segment_seconds.unwrap_or(2),
                window: h.window.unwrap_or(6),
            },
        };
        let (service_name, provider) = self.names();
        let service_name = service_name.unwrap_or(title).to_owned();
        let provider = provider.unwrap_or(DEFAULT_PROVIDER).to_owned();
        let ts = self.ts();
        let text = match ts.charset.unwrap_or_default() {
            Charset::Utf8 => sdt::utf8,
            Charset::Gb2312 => sdt::gb2312,
        };
        // HLS segments come from FFmpeg and carry no names of ours.
        let (service_name, provider) = if matches!(self, OutputSpec::Hls(_)) {
            (Vec::new(), Vec::new())
        } else {
            (text(&service_name)?, text(&provider)?)
        };
        let defaults = Service::default();
        Ok(OutputPlan {
            destination,
            profile,
            audio: self.audio().unwrap_or(AudioCodec::default_for(profile)),
            muxrate: ts.muxrate.unwrap_or(encode::default_muxrate(profile)),
            service: Service {
                service_id: ts.service_id.unwrap_or(defaults.service_id),
                pmt_pid: ts.pmt_pid.unwrap_or(defaults.pmt_pid),
                video_pid: ts.video_pid.unwrap_or(defaults.video_pid),
                name: service_name,
                provider,
            },
        })
    }
}

/// What is wrong with a channel or output spec; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// A number outside its range.
    #[error("{field} must be {range}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// What it may be.
        range: &'static str,
    },
    /// A PMT PID that is also the video PID or the audio PID (the video PID + 1).
    #[error(
        "pmt_pid {pmt_pid:#x} is the video PID or the audio PID (video_pid {video_pid:#x} + 1)"
    )]
    PidClash {
        /// The PMT's PID.
        pmt_pid: u16,
        /// The video PID.
        video_pid: u16,
    },
    /// A multicast UDP address.
    #[error("address {0} is multicast; only unicast is supported")]
    Multicast(SocketAddr),
    /// A UDP address off this machine without `allow_non_loopback`.
    #[error("address {0} is not loopback: set allow_non_loopback = true to send there")]
    NotLoopback(SocketAddr),
    /// A service name or provider the SDT cannot carry in the output's character set.
    #[error(transparent)]
    ServiceName(#[from] sdt::NameError),
    /// A channel name that is not lowercase ASCII.
    #[error("channel name {0:?} must be lowercase ASCII")]
    ChannelName(String),
    /// Something wrong in a named channel.
    #[error("channel {channel}: {source}")]
    InChannel {
        /// The channel.
        channel: String,
        /// What.
        source: Box<SpecError>,
    },
}

/// Where a channel's HLS lives: `data_dir/live/NAME`.
pub fn hls_dir(data_dir: &Path, channel: &str) -> PathBuf {
    data_dir.join("live").join(channel)
}

impl ChannelSpec {
    /// A channel with defaults and the given outputs.
    pub fn new(name: &str, outputs: Vec<OutputSpec>) -> ChannelSpec {
        ChannelSpec {
            name: name.to_owned(),
            dwell: None,
            read_rate: None,
            banner_period: None,
            cycle_minutes: None,
            urgent_every: None,
            outputs,
        }
    }

    /// The lane options this spec asks for.
    pub fn lane_options(&self) -> LaneOptions {
        let d = LaneOptions::default();
        LaneOptions {
            dwell: self.dwell.map_or(d.dwell, Duration::from_secs),
            read_rate: self.read_rate.unwrap_or(d.read_rate),
            banner_period: self.banner_period.unwrap_or(d.banner_period),
            cycle: self
                .cycle_minutes
                .map_or(d.cycle, |m| Duration::from_secs(m * 60)),
            urgent_every: self
                .urgent_every
                .map_or(d.urgent_every, Duration::from_secs),
        }
    }

    /// Checks the spec; the error names the channel and the field.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(SpecError::ChannelName(self.name.clone()));
        }
        let within = |source: SpecError| SpecError::InChannel {
            channel: self.name.clone(),
            source: Box::new(source),
        };
        if self.dwell == Some(0) {
            return Err(within(SpecError::OutOfRange {
                field: "dwell",
                range: "at least 1 second",
            }));
        }
        if self
            .cycle_minutes
            .is_some_and(|m| !(1..=24 * 60).contains(&m))
        {
            return Err(within(SpecError::OutOfRange {
                field: "cycle_minutes",
                range: "1–1440",
            }));
        }
        if self.urgent_every.is_some_and(|s| !(30..=3600).contains(&s)) {
            return Err(within(SpecError::OutOfRange {
                field: "urgent_every",
                range: "30–3600 seconds",
            }));
        }
        for o in &self.outputs {
            o.validate().map_err(within)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp(service_id: Option<u16>, pmt_pid: Option<u16>, video_pid: Option<u16>) -> OutputSpec {
        OutputSpec::Udp(UdpOutput {
            service_id,
            pmt_pid,
            video_pid,
            ..UdpOutput::default()
        })
    }

    #[test]
    fn a_pmt_on_a_stream_pid_or_service_0_is_refused_before_anything_airs() {
        let clash = |o: OutputSpec| matches!(o.validate(), Err(SpecError::PidClash { .. }));
        assert!(
            clash(udp(None, Some(0x100), None)),
            "PMT on the default video PID"
        );
        assert!(
            clash(udp(None, Some(0x101), None)),
            "PMT on the default audio PID"
        );
        assert!(
            clash(udp(None, None, Some(0x1000))),
            "video on the default PMT PID"
        );
        assert!(
            clash(udp(None, None, Some(0xfff))),
            "audio on the default PMT PID"
        );
        assert!(matches!(
            udp(Some(0), None, None).validate(),
            Err(SpecError::OutOfRange {
                field: "service_id",
                ..
            })
        ));
        assert_eq!(udp(Some(7), Some(0x200), Some(0x300)).validate(), Ok(()));
        assert_eq!(udp(None, None, None).validate(), Ok(()));
    }
}
