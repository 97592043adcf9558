//! Page images for set-top boxes, by name (`<screen hash>-<page>`): immutable
//! indexed-colour PNGs, rendered on the first request and kept (bounded by bytes, least
//! recently used first out).

use std::collections::{HashMap, VecDeque};
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
    rendered: HashMap<ImageKey, Arc<[u8]>>,
    order: VecDeque<ImageKey>,
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

    /// The rendered PNG of `hash`, if cached.
    pub fn cached(&self, hash: ImageKey) -> Option<Arc<[u8]>> {
        let mut g = self.lock();
        let hit = g.rendered.get(&hash).cloned();
        if hit.is_some() {
            if let Some(pos) = g.order.iter().position(|h| *h == hash) {
                g.order.remove(pos);
            }
            g.order.push_back(hash);
        }
        hit
    }

    /// Keeps a rendered PNG.
    pub fn keep(&self, hash: ImageKey, png: Arc<[u8]>) {
        let mut g = self.lock();
        if g.rendered.contains_key(&hash) {
            return;
        }
        g.bytes += png.len();
        g.rendered.insert(hash, png);
        g.order.push_back(hash);
        while g.bytes > self.budget && g.order.len() > 1 {
            if let Some(old) = g.order.pop_front() {
                if let Some(p) = g.rendered.remove(&old) {
                    g.bytes -= p.len();
                }
            }
        }
    }
}
