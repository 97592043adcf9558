//! Content addressing: a screen's hash is SHA-256 over (template version, page model,
//! profile, theme), so the same content always yields the same images and any change
//! yields new ones; rendered pages are cached by (hash, page).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::{
    Layout, Profile, RenderError, Renderer, Screen, ScreenContext, Theme, TEMPLATE_VERSION,
};

/// The content address of a screen: 128 bits of SHA-256, shown as 32 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScreenHash([u8; 16]);

impl ScreenHash {
    /// The hash of `screen` drawn for `profile` with `theme`.
    pub fn of(screen: &Screen, profile: Profile, theme: &Theme) -> ScreenHash {
        ScreenHash::of_in(screen, profile, theme, &ScreenContext::Interactive)
    }

    /// The hash of `screen` drawn for `profile` with `theme` in `context` (the
    /// interactive context hashes as [`ScreenHash::of`] always did).
    pub fn of_in(
        screen: &Screen,
        profile: Profile,
        theme: &Theme,
        context: &ScreenContext,
    ) -> ScreenHash {
        let mut h = Sha256::new();
        h.update(TEMPLATE_VERSION.to_le_bytes());
        // Serialising plain data cannot fail; an empty input would still hash uniquely
        // together with the profile and theme.
        h.update(serde_json::to_vec(screen).unwrap_or_default());
        h.update(profile.as_str().as_bytes());
        h.update(serde_json::to_vec(theme).unwrap_or_default());
        if context.on_air().is_some() {
            h.update(serde_json::to_vec(context).unwrap_or_default());
        }
        ScreenHash::from_digest(h)
    }

    /// The hash of one frame of this screen: page `page` with alert strip `strip`, if any.
    /// It names the frame's layout record (`/api/v1/screens/{hash}/layout`).
    pub fn frame(self, page: u32, strip: Option<u32>) -> ScreenHash {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(page.to_le_bytes());
        h.update(strip.unwrap_or(0).to_le_bytes());
        ScreenHash::from_digest(h)
    }

    /// Parses 32 hex digits.
    pub fn parse(text: &str) -> Option<ScreenHash> {
        if text.len() != 32 || !text.is_ascii() {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(ScreenHash(out))
    }

    pub(crate) fn from_digest(h: Sha256) -> ScreenHash {
        let digest = h.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        ScreenHash(out)
    }
}

impl fmt::Display for ScreenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// One rendered page.
#[derive(Debug)]
pub struct RenderedPage {
    /// Content address of the screen.
    pub hash: ScreenHash,
    /// The PNG.
    pub png: Vec<u8>,
    /// Its layout.
    pub layout: Layout,
}

/// Cached pages and their insertion order (oldest first).
type PageMap = (
    HashMap<(ScreenHash, u32), Arc<RenderedPage>>,
    VecDeque<(ScreenHash, u32)>,
);

/// A renderer behind a lock plus a bounded cache of rendered pages, shared by callers on
/// any thread. Rendering happens on the caller's thread (callers on an async runtime use
/// `spawn_blocking`).
pub struct ScreenCache {
    renderer: Mutex<Renderer>,
    theme: Theme,
    pages: Mutex<PageMap>,
    capacity: usize,
}

impl fmt::Debug for ScreenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScreenCache")
            .field("pages", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl ScreenCache {
    /// A cache holding at most `capacity` pages (oldest evicted first).
    pub fn new(capacity: usize) -> Result<ScreenCache, RenderError> {
        Ok(ScreenCache {
            renderer: Mutex::new(Renderer::new()?),
            theme: Theme::DEFAULT,
            pages: Mutex::new((HashMap::new(), VecDeque::new())),
            capacity: capacity.max(1),
        })
    }

    /// Page `page` of `screen` for `profile`, from the cache or rendered now.
    pub fn page(
        &self,
        screen: &Screen,
        profile: Profile,
        page: u32,
    ) -> Result<Arc<RenderedPage>, RenderError> {
        let hash = ScreenHash::of(screen, profile, &self.theme);
        if let Some(hit) = self.lock_pages().0.get(&(hash, page)) {
            return Ok(Arc::clone(hit));
        }
        let (png, layout) = {
            let mut renderer = self
                .renderer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            renderer.render_png(screen, profile, page)?
        };
        let rendered = Arc::new(RenderedPage { hash, png, layout });
        let mut guard = self.lock_pages();
        let (map, order) = &mut *guard;
        if map.insert((hash, page), Arc::clone(&rendered)).is_none() {
            order.push_back((hash, page));
        }
        while order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
        Ok(rendered)
    }

    /// Runs `f` with the shared renderer (one caller at a time).
    pub fn with_renderer<T>(&self, f: impl FnOnce(&mut Renderer) -> T) -> T {
        let mut renderer = self
            .renderer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut renderer)
    }

    /// Number of cached pages.
    pub fn len(&self) -> usize {
        self.lock_pages().0.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock_pages(&self) -> std::sync::MutexGuard<'_, PageMap> {
        self.pages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::screen::SlateScreen;

    fn slate(time: &str) -> Screen {
        Screen::Slate(SlateScreen {
            channel: "示范县政务频道".into(),
            time: time.into(),
        })
    }

    #[test]
    fn hashes_follow_content_and_profile() {
        let t = Theme::DEFAULT;
        let a = ScreenHash::of(&slate("08:00"), Profile::Sd, &t);
        assert_eq!(a, ScreenHash::of(&slate("08:00"), Profile::Sd, &t));
        assert_ne!(a, ScreenHash::of(&slate("08:01"), Profile::Sd, &t));
        assert_ne!(a, ScreenHash::of(&slate("08:00"), Profile::Hd720, &t));
        assert_eq!(a.to_string().len(), 32);
    }

    #[test]
    fn pages_are_cached_and_evicted_oldest_first() {
        let cache = ScreenCache::new(2).unwrap();
        let first = cache.page(&slate("08:00"), Profile::Sd, 1).unwrap();
        let again = cache.page(&slate("08:00"), Profile::Sd, 1).unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "second request is served from the cache"
        );
        assert!(first.png.starts_with(b"\x89PNG"));
        cache.page(&slate("08:01"), Profile::Sd, 1).unwrap();
        cache.page(&slate("08:02"), Profile::Sd, 1).unwrap();
        assert_eq!(cache.len(), 2);
        let fresh = cache.page(&slate("08:00"), Profile::Sd, 1).unwrap();
        assert!(!Arc::ptr_eq(&first, &fresh), "evicted, rendered again");
        assert_eq!(first.png, fresh.png, "rendering is deterministic");
        assert!(matches!(
            cache.page(&slate("08:00"), Profile::Sd, 2),
            Err(RenderError::NoSuchPage { page: 2, pages: 1 })
        ));
    }
}
