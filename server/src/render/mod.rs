//! The page renderer: page model → layout (line breaking, pagination, positions) → raster.
//!
//! Pure: no I/O, no database, no web types. [`Renderer::layout`] cannot fail; rastering
//! cannot fail once a layout exists (a glyph no face has leaves an empty em and is listed
//! in [`Layout::missing`]). Screens are content-addressed by [`screen_hash`].

pub mod cache;
pub mod compose;
pub mod context;
pub mod indexed;
pub mod layout;
pub mod profile;
pub mod raster;
pub mod registry;
pub mod screen;
mod templates;
pub mod text;
pub mod theme;

pub use cache::{ScreenCache, ScreenHash};
pub use context::{Alert, OnAir, ScreenContext};
pub use layout::{Layout, Role};
pub use profile::{Profile, Rect};
pub use registry::LayoutRegistry;
pub use screen::Screen;
pub use theme::{Rgb, Theme};

use crate::fonts::{FontBook, FontError, Weight};

/// Bumped whenever templates change what they draw, so content hashes change with them.
pub const TEMPLATE_VERSION: u32 = 4;

/// What can go wrong rendering.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The pinned faces failed to load.
    #[error(transparent)]
    Font(#[from] FontError),
    /// A page number outside the screen's pages.
    #[error("page {page} does not exist (the screen has {pages})")]
    NoSuchPage {
        /// Asked for.
        page: u32,
        /// Available.
        pages: u32,
    },
    /// PNG encoding failed.
    #[error("PNG encoding failed")]
    Png(#[from] png::EncodingError),
    /// The page (or a picture made of pages) has no pixels to draw on: a zero or
    /// oversized canvas.
    #[error("a {width}×{height} canvas cannot be drawn on")]
    Canvas {
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
    },
}

/// Glyph advances from the pinned faces.
pub struct FontMeasure<'a>(pub &'a FontBook);

impl text::Measure for FontMeasure<'_> {
    fn advance(&self, ch: char, weight: Weight, px: f32) -> Option<f32> {
        if ch == ' ' {
            return Some(px * 0.25);
        }
        let (_, font) = self.0.face_for(ch, weight)?;
        Some(font.advance_width(ch, px))
    }
}

/// Renders screens with the shared faces and its own glyph cache.
pub struct Renderer {
    book: &'static FontBook,
    theme: Theme,
    cache: raster::GlyphCache,
}

impl Renderer {
    /// A renderer with the default theme.
    pub fn new() -> Result<Renderer, RenderError> {
        Ok(Renderer {
            book: FontBook::shared()?,
            theme: Theme::DEFAULT,
            cache: raster::GlyphCache::new(),
        })
    }

    /// Every page of `screen` for `profile`, as a set-top box shows it.
    pub fn layout(&self, screen: &Screen, profile: Profile) -> Vec<Layout> {
        self.layout_in(screen, profile, &ScreenContext::Interactive)
    }

    /// Every page of `screen` for `profile`, shown in `context` (on a set-top box or on
    /// air). Pages with an alert band carry its strips; pick one with
    /// [`Layout::with_strip`].
    pub fn layout_in(
        &self,
        screen: &Screen,
        profile: Profile,
        context: &ScreenContext,
    ) -> Vec<Layout> {
        let measure = FontMeasure(self.book);
        screen.compose(compose::Composer::in_context(
            profile,
            self.theme,
            &measure,
            context.clone(),
        ))
    }

    /// The theme screens are drawn with.
    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    /// Draws one page.
    pub fn raster(&mut self, layout: &Layout) -> Option<tiny_skia::Pixmap> {
        raster::raster(layout, self.book, &mut self.cache)
    }

    /// Draws one page into an existing pixmap of the layout's size (see
    /// [`raster::raster_into`]).
    pub fn raster_into(&mut self, layout: &Layout, pixmap: &mut tiny_skia::Pixmap) -> bool {
        raster::raster_into(layout, self.book, &mut self.cache, pixmap)
    }

    /// Lays out `screen` in `context` and draws page `page` (1-based): its pixels and
    /// its layout.
    pub fn draw_page(
        &mut self,
        screen: &Screen,
        profile: Profile,
        context: &ScreenContext,
        page: u32,
    ) -> Result<(tiny_skia::Pixmap, Layout), RenderError> {
        let mut pages = self.layout_in(screen, profile, context);
        let count = pages.len() as u32;
        if page == 0 || page > count {
            return Err(RenderError::NoSuchPage { page, pages: count });
        }
        let layout = pages.swap_remove(page as usize - 1);
        let pixmap = self.raster(&layout).ok_or(RenderError::Canvas {
            width: layout.width,
            height: layout.height,
        })?;
        Ok((pixmap, layout))
    }

    /// Lays out `screen` and draws page `page` (1-based) as PNG.
    pub fn render_png(
        &mut self,
        screen: &Screen,
        profile: Profile,
        page: u32,
    ) -> Result<(Vec<u8>, Layout), RenderError> {
        let (pixmap, layout) =
            self.draw_page(screen, profile, &ScreenContext::Interactive, page)?;
        let png = raster::encode_png(&pixmap)?;
        Ok((png, layout))
    }

    /// Lays out `screen` in `context` and draws page `page` (1-based) as an indexed-colour
    /// PNG over the layout's own palette (what set-top boxes fetch).
    pub fn render_indexed(
        &mut self,
        screen: &Screen,
        profile: Profile,
        context: &ScreenContext,
        page: u32,
    ) -> Result<(indexed::IndexedPng, Layout), RenderError> {
        let (pixmap, layout) = self.draw_page(screen, profile, context, page)?;
        let png = indexed::encode(&pixmap, &layout)?;
        Ok((png, layout))
    }

    /// Glyphs in the cache.
    pub fn cached_glyphs(&self) -> usize {
        self.cache.len()
    }
}
