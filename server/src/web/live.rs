//! `GET /live/{channel}/{file}`: a channel's HLS playlist (`index.m3u8`) and segments
//! (`seg-N.ts`), read from the directory its HLS muxer writes. Only those two name forms
//! are served, so no path from the request ever reaches the file system unchecked.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};

/// Whether `file` is a name the HLS muxer writes: `index.m3u8` or `seg-<digits>.ts`.
pub fn is_hls_file(file: &str) -> bool {
    file == "index.m3u8"
        || file
            .strip_prefix("seg-")
            .and_then(|r| r.strip_suffix(".ts"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `GET /live/{channel}/{file}`.
pub async fn get(
    State(state): State<AppState>,
    Path((channel, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::NotFound(format!("频道 {channel} 没有直播流 {file}"));
    if !is_hls_file(&file) {
        return Err(missing());
    }
    let dir = state
        .playout
        .get()
        .and_then(|p| p.channel(&channel))
        .and_then(|c| c.hls_dir.clone())
        .ok_or_else(missing)?;
    let path = dir.join(&file);
    let read = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(|e| ApiError::Unavailable(format!("reading {file}: {e}")))?;
    let body = match read {
        // The muxer creates the playlist empty and fills it with the first segment.
        Ok(b) if b.is_empty() => return Err(missing()),
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(ApiError::Unavailable(format!("reading {file}: {e}"))),
    };
    let (kind, cache) = if file.ends_with(".m3u8") {
        ("application/vnd.apple.mpegurl", "no-cache")
    } else {
        ("video/mp2t", "public, max-age=60")
    };
    Ok((
        [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, cache)],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_playlist_and_segment_names_are_served() {
        assert!(is_hls_file("index.m3u8"));
        assert!(is_hls_file("seg-1763800000.ts"));
        for bad in [
            "../headend.db",
            "seg-.ts",
            "seg-1.ts/x",
            "seg-a.ts",
            "index.m3u8.tmp",
            "",
        ] {
            assert!(!is_hls_file(bad), "{bad}");
        }
    }
}
