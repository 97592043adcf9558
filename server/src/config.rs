//! Headend configuration: a TOML file read once at start into typed values.
//!
//! Precedence: command-line flags, then the file, then the defaults documented on each
//! field. Unknown keys are an error naming the key, so a typo never silently falls back
//! to a default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./data";

/// What can go wrong reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid for this schema (the message names the key).
    #[error("config file {path} is invalid")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: Invalid,
    },
}

/// What is wrong with a configuration's text; each message names the key (on one line:
/// the parser's and the channel's are told here, not as causes of their own).
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// Not TOML, or not this schema (an unknown key, a wrong type); the parser's message
    /// names the key and position.
    #[error("{}", .0.to_string().trim().replace('\n', " "))]
    Toml(toml::de::Error),
    /// `admin_token` too short to be a secret.
    #[error("admin_token must be at least {MIN_ADMIN_TOKEN_LEN} characters")]
    ShortAdminToken,
    /// Two `[[sources]]` with one name.
    #[error("[[sources]] name {0:?} is used twice")]
    SourceTwice(String),
    /// `gop_cache_mb` out of range.
    #[error("gop_cache_mb must be 1–4096")]
    GopCacheSize,
    /// A `[[channels]]` entry that does not validate.
    #[error("[[channels]] {0}")]
    Channel(crate::playout::spec::SpecError),
    /// Two `[[channels]]` with one name.
    #[error("[[channels]] name {0:?} is used twice")]
    ChannelTwice(String),
}

/// The file's shape. Every field is optional; see [`Config`] for defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<SocketAddr>,
    allow_non_loopback: Option<bool>,
    data: Option<PathBuf>,
    demo: Option<bool>,
    admin_token: Option<String>,
    sources: Option<Vec<crate::ingest::SourceSpec>>,
    channels: Option<Vec<crate::playout::ChannelSpec>>,
    air_unconfigured: Option<bool>,
    gop_cache_mb: Option<u64>,
    min_free_disk_mb: Option<u64>,
    allow_local_sources: Option<bool>,
    source_files_dir: Option<PathBuf>,
}

/// The headend's resolved configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Address the HTTP server listens on. Default: `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Allow `listen` to be an address other machines reach (else refused). Default: false.
    pub allow_non_loopback: bool,
    /// Directory holding `headend.db` and generated files. Default: `./data`.
    pub data_dir: PathBuf,
    /// Load the embedded demo county into an empty database on `serve`. Default: true.
    pub load_demo: bool,
    /// Bearer token that authorises the admin API's write endpoints (sources) until
    /// accounts exist; at least 16 characters. Default: none (those endpoints answer 403).
    pub admin_token: Option<String>,
    /// `[[sources]]`: what ingest polls (seeded into the sources table at start).
    /// Default: none.
    pub sources: Vec<crate::ingest::SourceSpec>,
    /// `[[channels]]`: how channels of the store air (dwell, outputs: UDP, HLS, file).
    /// Default: none.
    pub channels: Vec<crate::playout::ChannelSpec>,
    /// Air every store channel that has no `[[channels]]` entry, with one HLS output
    /// (`hd720`). Default: false (each airing channel costs memory and CPU).
    pub air_unconfigured: bool,
    /// Byte budget of the GOP cache every channel shares, in MiB (1–4096). Default: 64.
    pub gop_cache_mb: u64,
    /// Free space under the data directory below which `/readyz` fails, in MiB.
    /// Default: 100.
    pub min_free_disk_mb: u64,
    /// Let source URLs reach loopback and link-local addresses (this machine, a cloud
    /// metadata service). Default: false.
    pub allow_local_sources: bool,
    /// The directory `headend serve` reads file sources from: a file source elsewhere
    /// (after following links) is refused. Default: `<data>/sources`.
    pub source_files_dir: Option<PathBuf>,
}

impl Config {
    /// The directory file sources must lie in.
    pub fn source_files_dir(&self) -> PathBuf {
        self.source_files_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("sources"))
    }
}

/// Default `min_free_disk_mb`.
pub const DEFAULT_MIN_FREE_DISK_MB: u64 = 100;

/// Default `gop_cache_mb`.
pub const DEFAULT_GOP_CACHE_MB: u64 = (crate::playout::worker::DEFAULT_CACHE_BYTES >> 20) as u64;

/// Shortest accepted `admin_token`.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            allow_non_loopback: false,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            load_demo: true,
            admin_token: None,
            sources: Vec::new(),
            channels: Vec::new(),
            air_unconfigured: false,
            gop_cache_mb: DEFAULT_GOP_CACHE_MB,
            min_free_disk_mb: DEFAULT_MIN_FREE_DISK_MB,
            allow_local_sources: false,
            source_files_dir: None,
        }
    }
}

impl Config {
    /// Reads `path` (if given) over the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Parses TOML text over the defaults.
    pub fn parse(text: &str) -> Result<Config, Invalid> {
        let file: ConfigFile = toml::from_str(text).map_err(Invalid::Toml)?;
        let defaults = Config::default();
        if let Some(token) = &file.admin_token {
            if token.trim().chars().count() < MIN_ADMIN_TOKEN_LEN {
                return Err(Invalid::ShortAdminToken);
            }
        }
        let sources = file.sources.unwrap_or_default();
        for (i, s) in sources.iter().enumerate() {
            if sources[..i].iter().any(|o| o.name == s.name) {
                return Err(Invalid::SourceTwice(s.name.as_str().to_owned()));
            }
        }
        if file.gop_cache_mb.is_some_and(|m| !(1..=4096).contains(&m)) {
            return Err(Invalid::GopCacheSize);
        }
        let channels = file.channels.unwrap_or_default();
        for (i, c) in channels.iter().enumerate() {
            c.validate().map_err(Invalid::Channel)?;
            if channels[..i].iter().any(|o| o.name == c.name) {
                return Err(Invalid::ChannelTwice(c.name.clone()));
            }
        }
        Ok(Config {
            listen: file.listen.unwrap_or(defaults.listen),
            allow_non_loopback: file
                .allow_non_loopback
                .unwrap_or(defaults.allow_non_loopback),
            data_dir: file.data.unwrap_or(defaults.data_dir),
            load_demo: file.demo.unwrap_or(defaults.load_demo),
            admin_token: file.admin_token.map(|t| t.trim().to_owned()),
            sources,
            channels,
            air_unconfigured: file.air_unconfigured.unwrap_or(defaults.air_unconfigured),
            gop_cache_mb: file.gop_cache_mb.unwrap_or(defaults.gop_cache_mb),
            min_free_disk_mb: file.min_free_disk_mb.unwrap_or(defaults.min_free_disk_mb),
            allow_local_sources: file
                .allow_local_sources
                .unwrap_or(defaults.allow_local_sources),
            source_files_dir: file.source_files_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
        assert_eq!(Config::default().listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn values_override_defaults() {
        let c = Config::parse("listen = \"127.0.0.1:9099\"\ndata = \"/tmp/x\"\ndemo = false\n")
            .unwrap();
        assert_eq!(c.listen.port(), 9099);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert!(!c.load_demo);
    }

    #[test]
    fn sources_are_read_and_validated() {
        let c = Config::parse(
            "admin_token = \"0123456789abcdef\"\n\
             [[sources]]\nname = \"county-notices\"\nurl = \"https://zw.example.gov.cn/rss.xml\"\nkind = \"notices\"\n\
             department = \"mzj\"\ntrusted = true\ninterval = 120\n\
             [[sources]]\nname = \"catalogue\"\nurl = \"/srv/exports/catalogue.csv\"\nkind = \"catalogue\"\n",
        )
        .unwrap();
        assert_eq!(c.sources.len(), 2);
        assert_eq!(c.sources[0].interval, std::time::Duration::from_secs(120));
        assert!(c.sources[0].trusted);
        assert!(!c.sources[1].trusted);
        assert_eq!(c.admin_token.as_deref(), Some("0123456789abcdef"));

        let err =
            Config::parse("[[sources]]\nname = \"Bad Name\"\nurl = \"x\"\nkind = \"notices\"\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("Bad Name"), "{err}");
        let err = Config::parse(
            "[[sources]]\nname = \"a\"\nurl = \"x\"\nkind = \"notices\"\nintervall = 5\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("intervall"), "{err}");
        let twice = "[[sources]]\nname = \"a\"\nurl = \"x\"\nkind = \"cases\"\n";
        let err = Config::parse(&format!("{twice}{twice}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("used twice"), "{err}");
        assert!(Config::parse("admin_token = \"short\"").is_err());
    }

    #[test]
    fn channels_are_read_and_validated() {
        let c = Config::parse(
            "air_unconfigured = true\n\
             [[channels]]\nname = \"county\"\ndwell = 8\n\
             [[channels.outputs]]\nkind = \"udp\"\naddress = \"127.0.0.1:5004\"\ncharset = \"gb2312\"\n\
             [[channels.outputs]]\nkind = \"hls\"\nprofile = \"sd\"\n",
        )
        .unwrap();
        assert!(c.air_unconfigured);
        assert_eq!(c.channels.len(), 1);
        assert_eq!(c.channels[0].outputs.len(), 2);
        assert_eq!(c.channels[0].dwell, Some(8));
        let err = Config::parse(
            "[[channels]]\nname = \"county\"\n[[channels.outputs]]\nkind = \"udp\"\naddress = \"10.1.2.3:5000\"\n",
        )
        .unwrap_err().to_string();
        assert!(err.contains("allow_non_loopback"), "{err}");
        let err = Config::parse(
            "[[channels]]\nname = \"county\"\n[[channels.outputs]]\nkind = \"hls\"\nmuxrate = 3000000\n",
        )
        .unwrap_err().to_string();
        assert!(err.contains("muxrate"), "{err}");
        let err = Config::parse("[[channels]]\nname = \"county\"\ndwel = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("dwel"), "{err}");
    }

    #[test]
    fn the_demo_config_airs_loopback_only() {
        let c = Config::parse(include_str!("../../assets/demo/headend.toml")).unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert!(c.load_demo && c.air_unconfigured);
        let county = &c.channels[0];
        assert_eq!(county.name, "county");
        assert_eq!(county.outputs.len(), 2);
        for o in &county.outputs {
            if let Some(a) = o.udp_address() {
                assert!(a.ip().is_loopback(), "{a}");
            }
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::parse("lissten = \"127.0.0.1:1\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("lissten"), "{err}");
    }
}
