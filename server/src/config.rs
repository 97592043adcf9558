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
    /// The file is not valid TOML for this schema (the message names the key and line).
    #[error("config file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key and position.
        message: String,
    },
}

/// The file's shape. Every field is optional; see [`Config`] for defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<SocketAddr>,
    data: Option<PathBuf>,
    demo: Option<bool>,
}

/// The headend's resolved configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Address the HTTP server listens on. Default: `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Directory holding `headend.db` and generated files. Default: `./data`.
    pub data_dir: PathBuf,
    /// Load the embedded demo county into an empty database on `serve`. Default: true.
    pub load_demo: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            load_demo: true,
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
        Config::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses TOML text over the defaults; the error is the parser's message.
    pub fn parse(text: &str) -> Result<Config, String> {
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))?;
        let defaults = Config::default();
        Ok(Config {
            listen: file.listen.unwrap_or(defaults.listen),
            data_dir: file.data.unwrap_or(defaults.data_dir),
            load_demo: file.demo.unwrap_or(defaults.load_demo),
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
    fn unknown_keys_are_named() {
        let err = Config::parse("lissten = \"127.0.0.1:1\"").unwrap_err();
        assert!(err.contains("lissten"), "{err}");
    }
}
