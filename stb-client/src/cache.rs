//! The box's disk cache: the manifest, page images, the box's identity and its view counts,
//! under one directory (`--cache DIR`).
//!
//! Every file is framed as `GCCACHE1`, the SHA-256 of the payload, then the payload, and is
//! written to `tmp/` and renamed into place, so a reader sees either the old file or the new
//! one. A file that is truncated or damaged anyway (a power cut before the data reached the
//! flash, a bad block) fails its hash on read: it is deleted and reported missing, so the
//! caller fetches it again and nothing damaged is ever shown. Images are kept under a size
//! cap, least recently used first out; the order survives restarts through file mtimes.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"GCCACHE1";
const HEADER: usize = MAGIC.len() + 32;

/// Name of the manifest file.
const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, Copy)]
struct Meta {
    size: u64,
    used: u64,
}

/// The cache directory.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    cap: u64,
    images: HashMap<String, Meta>,
    total: u64,
    clock: u64,
    tmp_seq: u64,
    repaired: u64,
}

/// Wraps `payload` in the cache's frame.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(payload);
    out
}

/// The payload of a framed file, if it is whole.
fn unframe(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < HEADER || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let payload = &bytes[HEADER..];
    (Sha256::digest(payload).as_slice() == &bytes[MAGIC.len()..HEADER]).then_some(payload)
}

/// Whether `name` may name a cached image file: what the protocol names page images
/// (`<32 hex>-<n>`), nothing that could leave the directory.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Cache {
    /// Opens (creating) the cache in `dir`, keeping at most `cap_bytes` of images.
    pub fn open(dir: &Path, cap_bytes: u64) -> io::Result<Cache> {
        fs::create_dir_all(dir.join("img"))?;
        // Half-written files of an interrupted run.
        let tmp = dir.join("tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        let mut found: Vec<(SystemTime, String, u64)> = Vec::new();
        for entry in fs::read_dir(dir.join("img"))? {
            let entry = entry?;
            let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".png"))
                .map(str::to_owned)
            else {
                continue;
            };
            let meta = entry.metadata()?;
            found.push((
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                name,
                meta.len(),
            ));
        }
        found.sort();
        let mut cache = Cache {
            dir: dir.to_path_buf(),
            cap: cap_bytes,
            images: HashMap::with_capacity(found.len()),
            total: 0,
            clock: 0,
            tmp_seq: 0,
            repaired: 0,
        };
        for (_, name, size) in found {
            cache.clock += 1;
            cache.total += size;
            cache.images.insert(
                name,
                Meta {
                    size,
                    used: cache.clock,
                },
            );
        }
        cache.evict(None);
        Ok(cache)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes of images held.
    pub fn image_bytes(&self) -> u64 {
        self.total
    }

    /// Images held.
    pub fn image_count(&self) -> usize {
        self.images.len()
    }

    /// Damaged files found (and deleted) since opening.
    pub fn repaired(&self) -> u64 {
        self.repaired
    }

    fn image_path(&self, name: &str) -> PathBuf {
        self.dir.join("img").join(format!("{name}.png"))
    }

    /// Writes `payload` framed to `path` through `tmp/`; `durable` also syncs the data and
    /// the directory (for what cannot be fetched again, such as the box secret).
    fn write_framed(&mut self, path: &Path, payload: &[u8], durable: bool) -> io::Result<()> {
        self.tmp_seq += 1;
        let tmp = self
            .dir
            .join("tmp")
            .join(format!("{}.{}", std::process::id(), self.tmp_seq));
        let result = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(&frame(payload))?;
            if durable {
                file.sync_all()?;
            }
            fs::rename(&tmp, path)?;
            if durable {
                if let Some(parent) = path.parent() {
                    fs::File::open(parent)?.sync_all()?;
                }
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Reads a framed file; a damaged one is deleted and reported as missing.
    fn read_framed(&mut self, path: &Path) -> Option<Vec<u8>> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                eprintln!("stb-client: cache: cannot read {}: {e}", path.display());
                return None;
            }
        };
        match unframe(&bytes) {
            Some(payload) => Some(payload.to_vec()),
            None => {
                eprintln!(
                    "stb-client: cache: {} is damaged ({} bytes): deleted, will fetch again",
                    path.display(),
                    bytes.len()
                );
                self.repaired += 1;
                let _ = fs::remove_file(path);
                None
            }
        }
    }

    /// Whether an image is on disk (not verified: [`Cache::image`] checks it).
    pub fn has_image(&self, name: &str) -> bool {
        self.images.contains_key(name)
    }

    /// A cached image, verified; marks it as just used.
    pub fn image(&mut self, name: &str) -> Option<Vec<u8>> {
        if !safe_name(name) || !self.images.contains_key(name) {
            return None;
        }
        let path = self.image_path(name);
        match self.read_framed(&path) {
            Some(bytes) => {
                self.clock += 1;
                if let Some(meta) = self.images.get_mut(name) {
                    meta.used = self.clock;
                }
                // Keep the order for the next start (best effort).
                if let Ok(file) = fs::File::options().write(true).open(&path) {
                    let _ = file.set_modified(SystemTime::now());
                }
                Some(bytes)
            }
            None => {
                if let Some(meta) = self.images.remove(name) {
                    self.total = self.total.saturating_sub(meta.size);
                }
                None
            }
        }
    }

    /// Stores an image and evicts the least recently used others beyond the cap.
    pub fn put_image(&mut self, name: &str, png: &[u8]) -> io::Result<()> {
        if !safe_name(name) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad image name {name:?}"),
            ));
        }
        let path = self.image_path(name);
        self.write_framed(&path, png, false)?;
        let size = (HEADER + png.len()) as u64;
        self.clock += 1;
        if let Some(old) = self.images.insert(
            name.to_owned(),
            Meta {
                size,
                used: self.clock,
            },
        ) {
            self.total = self.total.saturating_sub(old.size);
        }
        self.total += size;
        self.evict(Some(name));
        Ok(())
    }

    /// Removes least recently used images until the total is within the cap, never `keep`.
    fn evict(&mut self, keep: Option<&str>) {
        if self.total <= self.cap {
            return;
        }
        let mut order: Vec<(u64, String)> = self
            .images
            .iter()
            .filter(|(name, _)| Some(name.as_str()) != keep)
            .map(|(name, meta)| (meta.used, name.clone()))
            .collect();
        order.sort_unstable();
        for (_, name) in order {
            if self.total <= self.cap {
                break;
            }
            if let Some(meta) = self.images.remove(&name) {
                self.total = self.total.saturating_sub(meta.size);
                let _ = fs::remove_file(self.image_path(&name));
            }
        }
    }

    /// The cached manifest (its JSON) and when it was stored.
    pub fn manifest(&mut self) -> Option<(Vec<u8>, SystemTime)> {
        let path = self.dir.join(MANIFEST);
        let when = fs::metadata(&path).and_then(|m| m.modified()).ok()?;
        self.read_framed(&path).map(|b| (b, when))
    }

    /// Stores the manifest.
    pub fn put_manifest(&mut self, json: &[u8]) -> io::Result<()> {
        let path = self.dir.join(MANIFEST);
        self.write_framed(&path, json, true)
    }

    /// Marks the cached manifest as confirmed current (a 304), for the 更新于 time.
    pub fn touch_manifest(&self) {
        if let Ok(file) = fs::File::options()
            .write(true)
            .open(self.dir.join(MANIFEST))
        {
            let _ = file.set_modified(SystemTime::now());
        }
    }

    /// A small state file of the box (`box.json`, `views.json`), verified.
    pub fn state(&mut self, name: &str) -> Option<Vec<u8>> {
        if !safe_name(name.trim_end_matches(".json")) {
            return None;
        }
        let path = self.dir.join(name);
        self.read_framed(&path)
    }

    /// Stores a small state file durably.
    pub fn put_state(&mut self, name: &str, payload: &[u8]) -> io::Result<()> {
        let path = self.dir.join(name);
        self.write_framed(&path, payload, true)
    }
}

/// How long ago `when` was, zero if in the future.
pub fn age(when: SystemTime) -> Duration {
    SystemTime::now().duration_since(when).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_detect_damage() {
        let f = frame(b"hello");
        assert_eq!(unframe(&f), Some(&b"hello"[..]));
        assert_eq!(unframe(&f[..f.len() - 1]), None);
        let mut bad = f.clone();
        bad[HEADER] ^= 1;
        assert_eq!(unframe(&bad), None);
        assert_eq!(unframe(b""), None);
    }

    #[test]
    fn least_recently_used_images_leave_first() {
        let dir = tempfile::tempdir().unwrap();
        let each = (HEADER + 100) as u64;
        let mut cache = Cache::open(dir.path(), each * 3).unwrap();
        for name in ["a-1", "b-1", "c-1"] {
            cache.put_image(name, &[7; 100]).unwrap();
        }
        assert!(cache.image("a-1").is_some(), "a is now the most recent");
        cache.put_image("d-1", &[8; 100]).unwrap();
        assert!(!cache.has_image("b-1"), "b was least recently used");
        assert!(cache.has_image("a-1") && cache.has_image("c-1") && cache.has_image("d-1"));
        assert_eq!(cache.image_bytes(), each * 3);
        assert!(!dir.path().join("img/b-1.png").exists());
        // The cap holds across a restart.
        drop(cache);
        let cache = Cache::open(dir.path(), each * 2).unwrap();
        assert_eq!(cache.image_count(), 2);
    }

    #[test]
    fn names_cannot_leave_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::open(dir.path(), 1 << 20).unwrap();
        assert!(cache.put_image("../x", b"x").is_err());
        assert!(cache.put_image("", b"x").is_err());
        assert!(cache.image("../manifest").is_none());
    }
}
