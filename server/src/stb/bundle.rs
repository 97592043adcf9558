//! A region's set-top-box content as plain files, for one-way networks: `manifest.json`
//! and `img/<image>-<page>.png`, byte for byte what the API serves (`headend bundle`).

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use chrono::{DateTime, FixedOffset};

use super::content::{self, ContentError};
use super::{build, images};
use crate::render::{Profile, RenderError, Renderer};
use crate::store::{Store, StoreError};

/// What a bundle holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleReport {
    /// Screens in the manifest.
    pub screens: usize,
    /// Image files written.
    pub images: usize,
    /// Bytes written (manifest and images).
    pub bytes: u64,
    /// The manifest's version.
    pub version: String,
}

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// No such region.
    #[error("there is no region {0:?}")]
    UnknownRegion(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Writing a file failed.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Writes `region`'s bundle for `profile` as of `now` into `out`.
pub fn write(
    store: &Store,
    region: &str,
    profile: Profile,
    now: DateTime<FixedOffset>,
    out: &Path,
) -> Result<BundleReport, BundleError> {
    let region_owned = region.to_owned();
    let content = store
        .call_blocking(move |conn| match content::read(conn, &region_owned, now) {
            Ok(c) => Ok(Ok(c)),
            Err(ContentError::UnknownRegion(r)) => Ok(Err(r)),
            Err(ContentError::Store(e)) => Err(e),
        })?
        .map_err(BundleError::UnknownRegion)?;
    let built = build(&content, profile, &Renderer::new()?);
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| BundleError::Io { path, source }
    };
    let img_dir = out.join("img");
    std::fs::create_dir_all(&img_dir).map_err(io(&img_dir))?;
    let manifest = out.join("manifest.json");
    std::fs::write(&manifest, &*built.json).map_err(io(&manifest))?;
    // Each image once, rendered by one worker a core, each with its own renderer.
    let mut seen = HashSet::new();
    let unique: Vec<&images::ImageRef> = built
        .images
        .iter()
        .filter(|image| seen.insert(image.key()))
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, unique.len().max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || -> Result<u64, BundleError> {
        let mut renderer = Renderer::new()?;
        let mut bytes = 0;
        while !failed.load(Ordering::Relaxed) {
            let Some(image) = unique.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            let written = images::render(&mut renderer, image)
                .map_err(BundleError::from)
                .and_then(|png| {
                    let path = img_dir.join(image.file_name());
                    std::fs::write(&path, &png).map_err(io(&path))?;
                    Ok(png.len() as u64)
                });
            match written {
                Ok(n) => bytes += n,
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(bytes)
    };
    let results: Vec<Result<u64, BundleError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut bytes = built.json.len() as u64;
    for r in results {
        bytes += r?;
    }
    Ok(BundleReport {
        screens: built.manifest.screens.len(),
        images: unique.len(),
        bytes,
        version: built.manifest.version,
    })
}
