//! Page images for set-top boxes, by name (`<screen hash>-<page>`): immutable
//! indexed-colour PNGs, rendered on the first request and kept (bounded by bytes, least
//! recently used first out).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::render::{Profile, RenderError, Renderer, Screen, ScreenContext, ScreenHash};

/// Bytes of PNG the cache keeps by default.
pub const DEFAULT_CACHE_BYTES: usize = 128 << 20;

/// The name of one page image: the screen's content hash and the 1-based page.
pub type ImageKey = (ScreenHash, u32);

/// Where one page image comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageRef {
    /// The screen's content hash (the image base).
    pub hash: ScreenHash,
    /// The screen.
    pub screen: Arc<Screen>,
    /// The profile it is laid out for.
    pub profile: Profile,
    /// 1-based page.
    pub page: u32,
}

impl ImageRef {
    /// Its name: `<hash>-<page>`.
    pub fn key(&self) -> ImageKey {
        (self.hash, self.page)
    }

    /// Its file name, `<hash>-<page>.png`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.png", self.hash, self.page)
    }
}

/// Renders one image as the API serves it (interactive context, indexed PNG).
pub fn render(renderer: &mut Renderer, image: &ImageRef) -> Result<Vec<u8>, RenderError> {
    let (png, _) = renderer.render_indexed(
        &image.screen,
        image.profile,
        &ScreenContext::Interactive,
        image.page,
    )?;
    Ok(png.png)
}

#[derive(Debug, Default)]
struct Inner {
    known: HashMap<ImageKey, ImageRef>,
    /// Rendered PNGs, each with the stamp of its last use.
    rendered: HashMap<ImageKey, (Arc<[u8]>, u64)>,
    /// Least recently used first: stamp → image (a hit moves it in O(log n)).
    order: BTreeMap<u64, ImageKey>,
    stamp: u64,
    bytes: usize,
}

/// Every image a served manifest names, and the rendered ones.
#[derive(Debug)]
pub struct Images {
    inner: Mutex<Inner>,
    budget: usize,
}

impl Default for Images {
    fn default() -> Self {
        Images::new(DEFAULT_CACHE_BYTES)
    }
}

impl Images {
    /// An empty registry keeping at most `budget` bytes of rendered PNG.
    pub fn new(budget: usize) -> Images {
        Images {
            inner: Mutex::new(Inner::default()),
            budget,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers where the images of a manifest come from.
    pub fn register(&self, images: &[ImageRef]) {
        let mut g = self.lock();
        for i in images {
            g.known.entry(i.key()).or_insert_with(|| i.clone());
        }
    }

    /// Where image `hash` comes from, if a manifest named it.
    pub fn source(&self, hash: ImageKey) -> Option<ImageRef> {
        self.lock().known.get(&hash).cloned()
    }

    /// The rendered PNG of `hash`, if cached (it becomes the most recently used).
    pub fn cached(&self, hash: ImageKey) -> Option<Arc<[u8]>> {
        let mut g = self.lock();
        g.stamp += 1;
        let now = g.stamp;
        let (png, old) = g.rendered.get_mut(&hash).map(|(png, used)| {
            let old = std::mem::replace(used, now);
            (Arc::clone(png), old)
        })?;
        g.order.remove(&old);
        g.order.insert(now, hash);
        Some(png)
    }

    /// Keeps a rendered PNG, dropping the least recently used ones beyond the budget.
    pub fn keep(&self, hash: ImageKey, png: Arc<[u8]>) {
        let mut g = self.lock();
        if g.rendered.contains_key(&hash) {
            return;
        }
        g.stamp += 1;
        let now = g.stamp;
        g.bytes += png.len();
        g.rendered.insert(hash, (png, now));
        g.order.insert(now, hash);
        while g.bytes > self.budget && g.order.len() > 1 {
            let Some((_, old)) = g.order.pop_first() else {
                break;
            };
            if let Some((p, _)) = g.rendered.remove(&old) {
                g.bytes -= p.len();
            }
        }
    }

    /// Number of rendered images kept.
    pub fn len(&self) -> usize {
        self.lock().rendered.len()
    }

    /// Whether no rendered image is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> ImageKey {
        let screen = Screen::Help(crate::render::screen::HelpScreen {
            channel: format!("台{i}"),
        });
        (
            ScreenHash::of(&screen, Profile::Sd, &crate::render::Theme::default()),
            1,
        )
    }

    #[test]
    fn the_least_recently_used_images_leave_first() {
        let images = Images::new(300);
        let png = |n: usize| -> Arc<[u8]> { Arc::from(vec![0u8; n]) };
        images.keep(key(1), png(100));
        images.keep(key(2), png(100));
        images.keep(key(3), png(100));
        // A hit makes 1 the most recent: 2 is now the oldest.
        assert!(images.cached(key(1)).is_some());
        images.keep(key(4), png(100));
        assert_eq!(images.len(), 3);
        assert!(images.cached(key(2)).is_none(), "the oldest left");
        for k in [1, 3, 4] {
            assert!(images.cached(key(k)).is_some(), "{k} kept");
        }
        // Keeping a known image again changes nothing.
        images.keep(key(4), png(100));
        assert_eq!(images.len(), 3);
        // One image larger than the budget stays (the newest is never dropped).
        images.keep(key(5), png(1000));
        assert_eq!(images.len(), 1);
        assert!(images.cached(key(5)).is_some());
    }
}
