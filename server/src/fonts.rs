//! The pinned faces every screen is rendered with, embedded in the binary.
//!
//! A face is read in place from the embedded file (ab_glyph over ttf-parser): loading
//! one parses only its tables' headers, and a glyph's outline is read from the file when
//! that glyph is first rasterised, so a process holds no copy of the outlines it does not
//! draw. (fontdue, used before, parsed every glyph of a face when it loaded it: ~45 MB and
//! ~0.1 s for each primary subset below, ~290 MB and ~1 s for a whole Noto Sans CJK face.)
//!
//! The faces are subsets built by `fonts/make-subsets.py` from Debian's `fonts-noto-cjk`
//! (see `fonts/README.md`):
//!
//! - the **primary** faces, Noto Sans CJK SC Regular and Bold, hold the 8,105 characters of
//!   the 2013 Table of General Standard Chinese Characters (通用规范汉字表) plus punctuation,
//!   full-width forms, Latin, Greek, Cyrillic, kana, Bopomofo and common symbols;
//! - **fallback chunks** hold every other CJK ideograph of Noto Sans CJK SC, cut by code
//!   point into faces of about 2,200–2,600 glyphs (10 per weight); a chunk is opened the
//!   first time a character in its range is missing from the primary face;
//! - a **last-resort** face (a renamed subset of `LXGW WenKai`) holds the 26 ideographs of
//!   U+3400–U+4DBF and U+4E00–U+9FFF that Noto Sans CJK SC lacks (U+4DB6–U+4DBF,
//!   U+9FF0–U+9FFF), so that every code point of both blocks has a glyph.
//!
//! Nothing here shapes text: callers keep a glyph cache keyed by ([`FaceId`], glyph
//! index, size), and must report characters for which [`FontBook::face_for`] returns
//! `None` instead of dropping them.

use std::sync::OnceLock;

use ab_glyph::{Font as _, FontRef, GlyphId, PxScale, ScaleFont as _};

/// Where a rasterised glyph's coverage box sits, in whole pixels (advances come from
/// [`Font::advance_width`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Metrics {
    /// Left edge of the coverage box, from the pen position.
    pub xmin: i32,
    /// Bottom edge of the coverage box, up from the baseline (negative below it).
    pub ymin: i32,
    /// Width of the coverage box.
    pub width: usize,
    /// Height of the coverage box.
    pub height: usize,
}

/// One embedded face, read in place: glyph outlines are read from the file when a glyph
/// is rasterised.
pub struct Font {
    face: FontRef<'static>,
    /// Pixels per em → ab_glyph's scale (which is the face's height in pixels).
    height_per_em: f32,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font")
            .field("glyphs", &self.face.glyph_count())
            .finish()
    }
}

impl Font {
    /// Reads a face from `bytes`; `None` when it is not an OpenType face with a
    /// usable size.
    fn from_bytes(bytes: &'static [u8]) -> Option<Font> {
        let face = FontRef::try_from_slice(bytes).ok()?;
        let per_em = face.units_per_em()?;
        let height_per_em = face.height_unscaled() / per_em;
        (height_per_em.is_finite() && height_per_em > 0.0).then_some(Font {
            face,
            height_per_em,
        })
    }

    fn scale(&self, px: f32) -> PxScale {
        PxScale::from(px * self.height_per_em)
    }

    /// The glyph index of `ch` (0, `.notdef`, when the face has none).
    #[must_use]
    pub fn lookup_glyph_index(&self, ch: char) -> u16 {
        self.face.glyph_id(ch).0
    }

    /// The horizontal advance of `ch` at `px` pixels per em (read from the face's metrics
    /// table: no outline is read).
    #[must_use]
    pub fn advance_width(&self, ch: char, px: f32) -> f32 {
        let id = self.face.glyph_id(ch);
        self.face.as_scaled(self.scale(px)).h_advance(id)
    }

    /// Rasterises `ch` at `px` pixels per em: its metrics and its coverage (rows top to
    /// bottom, `width` × `height`, 0–255).
    #[must_use]
    pub fn rasterize(&self, ch: char, px: f32) -> (Metrics, Vec<u8>) {
        self.rasterize_indexed(self.lookup_glyph_index(ch), px)
    }

    /// Rasterises glyph `index` at `px` pixels per em.
    #[must_use]
    pub fn rasterize_indexed(&self, index: u16, px: f32) -> (Metrics, Vec<u8>) {
        let glyph = GlyphId(index).with_scale(self.scale(px));
        let Some(outlined) = self.face.outline_glyph(glyph) else {
            return (Metrics::default(), Vec::new());
        };
        let b = outlined.px_bounds();
        let (width, height) = (b.width() as usize, b.height() as usize);
        let mut coverage = vec![0u8; width * height];
        outlined.draw(|x, y, c| {
            if let Some(v) = coverage.get_mut(y as usize * width + x as usize) {
                *v = (c.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        });
        let metrics = Metrics {
            xmin: b.min.x as i32,
            ymin: -(b.max.y as i32),
            width,
            height,
        };
        (metrics, coverage)
    }

    /// Every character the face maps to a glyph.
    pub fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.face
            .codepoint_ids()
            .filter(|(id, _)| id.0 != 0)
            .map(|(_, ch)| ch)
    }
}

/// The weight of a face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weight {
    /// Noto Sans CJK SC Regular (body text).
    Regular,
    /// Noto Sans CJK SC Bold (titles, emphasis).
    Bold,
}

/// Identifies one face of the [`FontBook`]: a small `Copy` value, usable as part of a
/// glyph-cache key together with the glyph index and the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaceId(u8);

impl FaceId {
    /// The primary face of `weight`.
    #[must_use]
    pub const fn primary(weight: Weight) -> FaceId {
        match weight {
            Weight::Regular => FaceId(0),
            Weight::Bold => FaceId(1),
        }
    }

    /// The face's number, stable for a given build of the fonts.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Whether this is one of the two primary faces.
    #[must_use]
    pub const fn is_primary(self) -> bool {
        self.0 < PRIMARY_COUNT
    }
}

/// Which face serves a character (see [`FontBook::coverage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coverage {
    /// The primary face has the glyph.
    Primary,
    /// A fallback chunk or the last-resort face has it.
    Fallback(FaceId),
    /// No face has it: the caller must report the character.
    Missing,
}

/// A face failed to load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FontError {
    /// The embedded face's data could not be read.
    #[error("font face {face} failed to parse: {reason}")]
    Parse {
        /// The face's file name under `fonts/`.
        face: &'static str,
        /// Why.
        reason: &'static str,
    },
}

/// One embedded face and the code points it is consulted for.
struct FaceSpec {
    /// File name under `fonts/`, for diagnostics.
    name: &'static str,
    /// The weight the face serves.
    weight: Weight,
    /// First code point the face maps; it is only consulted for characters in
    /// `first..=last`.
    first: u32,
    /// Last code point the face maps.
    last: u32,
    /// The embedded file.
    bytes: &'static [u8],
}

/// Number of primary faces (Regular, Bold); their [`FaceId`]s are `0..PRIMARY_COUNT`.
const PRIMARY_COUNT: u8 = 2;

/// The primary faces, in [`FaceId`] order.
static PRIMARY: [FaceSpec; PRIMARY_COUNT as usize] = [
    FaceSpec {
        name: "NotoSansSC-Regular-subset.otf",
        weight: Weight::Regular,
        first: 0,
        last: 0x0010_FFFF,
        bytes: include_bytes!("../../fonts/NotoSansSC-Regular-subset.otf"),
    },
    FaceSpec {
        name: "NotoSansSC-Bold-subset.otf",
        weight: Weight::Bold,
        first: 0,
        last: 0x0010_FFFF,
        bytes: include_bytes!("../../fonts/NotoSansSC-Bold-subset.otf"),
    },
];

/// The primary face file of `weight` (Noto Sans SC subset, OFL), as embedded: the staff
/// pages serve it so they look the same on any office PC, with or without CJK fonts.
pub fn primary_file(weight: Weight) -> &'static [u8] {
    match weight {
        Weight::Regular => PRIMARY[0].bytes,
        Weight::Bold => PRIMARY[1].bytes,
    }
}

/// A fallback chunk's [`FaceSpec`]: weight, code-point range and file under `fonts/fallback/`.
macro_rules! fallback {
    ($weight:ident, $first:literal, $last:literal, $file:literal) => {
        FaceSpec {
            name: concat!("fallback/", $file),
            weight: Weight::$weight,
            first: $first,
            last: $last,
            bytes: include_bytes!(concat!("../../fonts/fallback/", $file)),
        }
    };
}

/// Number of fallback chunks (both weights).
const FALLBACK_COUNT: usize = 20;

/// The fallback chunks, as printed by `fonts/make-subsets.py`: every CJK ideograph of
/// Noto Sans CJK SC that is not in the primary subset, by weight and code-point range.
/// Ranges of one weight do not overlap.
#[rustfmt::skip]
static FALLBACK: [FaceSpec; FALLBACK_COUNT] = [
    fallback!(Regular, 0x3400, 0x3C92, "NotoSansSC-Regular-fb-3400-3C92.otf"),
    fallback!(Regular, 0x3C93, 0x4528, "NotoSansSC-Regular-fb-3C93-4528.otf"),
    fallback!(Regular, 0x4529, 0x4DB5, "NotoSansSC-Regular-fb-4529-4DB5.otf"),
    fallback!(Regular, 0x4E02, 0x6030, "NotoSansSC-Regular-fb-4E02-6030.otf"),
    fallback!(Regular, 0x6031, 0x713C, "NotoSansSC-Regular-fb-6031-713C.otf"),
    fallback!(Regular, 0x713D, 0x81BE, "NotoSansSC-Regular-fb-713D-81BE.otf"),
    fallback!(Regular, 0x81BF, 0x91DA, "NotoSansSC-Regular-fb-81BF-91DA.otf"),
    fallback!(Regular, 0x91DB, 0x9FEF, "NotoSansSC-Regular-fb-91DB-9FEF.otf"),
    fallback!(Regular, 0xF900, 0xFA6D, "NotoSansSC-Regular-fb-F900-FA6D.otf"),
    fallback!(Regular, 0x2000B, 0x3106C, "NotoSansSC-Regular-fb-2000B-3106C.otf"),
    fallback!(Bold, 0x3400, 0x3C92, "NotoSansSC-Bold-fb-3400-3C92.otf"),
    fallback!(Bold, 0x3C93, 0x4528, "NotoSansSC-Bold-fb-3C93-4528.otf"),
    fallback!(Bold, 0x4529, 0x4DB5, "NotoSansSC-Bold-fb-4529-4DB5.otf"),
    fallback!(Bold, 0x4E02, 0x6030, "NotoSansSC-Bold-fb-4E02-6030.otf"),
    fallback!(Bold, 0x6031, 0x713C, "NotoSansSC-Bold-fb-6031-713C.otf"),
    fallback!(Bold, 0x713D, 0x81BE, "NotoSansSC-Bold-fb-713D-81BE.otf"),
    fallback!(Bold, 0x81BF, 0x91DA, "NotoSansSC-Bold-fb-81BF-91DA.otf"),
    fallback!(Bold, 0x91DB, 0x9FEF, "NotoSansSC-Bold-fb-91DB-9FEF.otf"),
    fallback!(Bold, 0xF900, 0xFA6D, "NotoSansSC-Bold-fb-F900-FA6D.otf"),
    fallback!(Bold, 0x2000B, 0x3106C, "NotoSansSC-Bold-fb-2000B-3106C.otf"),
];

/// Number of last-resort faces.
const LAST_RESORT_COUNT: usize = 2;

/// The last-resort faces: the ideographs no Noto face has.
static LAST_RESORT: [FaceSpec; LAST_RESORT_COUNT] = [
    FaceSpec {
        name: "lastresort/GovLastResortKai-Regular.ttf",
        weight: Weight::Regular,
        first: 0x4DB6,
        last: 0x9FFF,
        bytes: include_bytes!("../../fonts/lastresort/GovLastResortKai-Regular.ttf"),
    },
    FaceSpec {
        name: "lastresort/GovLastResortKai-Bold.ttf",
        weight: Weight::Bold,
        first: 0x4DB6,
        last: 0x9FFF,
        bytes: include_bytes!("../../fonts/lastresort/GovLastResortKai-Bold.ttf"),
    },
];

/// Faces loaded on demand: the fallback chunks, then the last-resort faces.
const LAZY_COUNT: usize = FALLBACK_COUNT + LAST_RESORT_COUNT;

/// The spec of lazily loaded face `index` (fallback chunks first, then last resort).
fn lazy_spec(index: usize) -> Option<&'static FaceSpec> {
    FALLBACK
        .get(index)
        .or_else(|| LAST_RESORT.get(index.checked_sub(FALLBACK_COUNT)?))
}

/// Opens one embedded face.
fn parse(spec: &FaceSpec) -> Result<Font, FontError> {
    Font::from_bytes(spec.bytes).ok_or(FontError::Parse {
        face: spec.name,
        reason: "not an OpenType face with a usable em size",
    })
}

/// Whether `font` has a real glyph (not `.notdef`) for `ch`.
fn has_glyph(font: &Font, ch: char) -> bool {
    font.lookup_glyph_index(ch) != 0
}

/// The pinned faces: the two primary faces, parsed once, and the fallback and
/// last-resort faces, each parsed on first need.
#[derive(Debug)]
pub struct FontBook {
    /// The primary Regular face.
    regular: Font,
    /// The primary Bold face.
    bold: Font,
    /// One slot per lazily loaded face (see [`lazy_spec`]); `None` once a face failed to
    /// parse (the embedded data is checked by the tests, so this does not happen).
    lazy: [OnceLock<Option<Font>>; LAZY_COUNT],
}

impl FontBook {
    /// Parses the primary Regular and Bold faces. Fallback faces are parsed later, when a
    /// character needs them.
    ///
    /// # Errors
    ///
    /// [`FontError::Parse`] when a primary face cannot be read.
    pub fn load() -> Result<FontBook, FontError> {
        let [regular, bold] = &PRIMARY;
        Ok(FontBook {
            regular: parse(regular)?,
            bold: parse(bold)?,
            lazy: std::array::from_fn(|_| OnceLock::new()),
        })
    }

    /// The process-wide font book, loaded on first call.
    ///
    /// # Errors
    ///
    /// The error of the first [`FontBook::load`], on every call.
    pub fn shared() -> Result<&'static FontBook, FontError> {
        static SHARED: OnceLock<Result<FontBook, FontError>> = OnceLock::new();
        SHARED
            .get_or_init(FontBook::load)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The primary face of `weight`.
    pub fn primary(&self, weight: Weight) -> &Font {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    /// The face for `ch` at `weight`: the primary face when it has the glyph, otherwise
    /// the fallback chunk whose range covers `ch` (parsed now if it was not yet), otherwise
    /// the last-resort face. `None` when no face has the glyph: the caller must report the
    /// character, not drop it silently.
    ///
    /// Fallback chunks and last-resort faces exist in both weights; should a build ship
    /// only one weight for some range, that weight serves both.
    pub fn face_for(&self, ch: char, weight: Weight) -> Option<(FaceId, &Font)> {
        let primary = self.primary(weight);
        if has_glyph(primary, ch) {
            return Some((FaceId::primary(weight), primary));
        }
        let cp = u32::from(ch);
        let covers = |spec: &FaceSpec| spec.first <= cp && cp <= spec.last;
        self.lazy_candidate(&FALLBACK, 0, weight, covers, ch)
            .or_else(|| self.lazy_candidate(&LAST_RESORT, FALLBACK_COUNT, weight, covers, ch))
    }

    /// Searches `specs` (lazy slots `base..`) for a face whose range covers `ch` and
    /// which has its glyph, preferring `weight`.
    fn lazy_candidate(
        &self,
        specs: &'static [FaceSpec],
        base: usize,
        weight: Weight,
        covers: impl Fn(&FaceSpec) -> bool,
        ch: char,
    ) -> Option<(FaceId, &Font)> {
        let in_range = || specs.iter().enumerate().filter(|(_, spec)| covers(spec));
        // Faces of the other weight only when `weight` has none for this range (never
        // both: a miss would parse two faces for nothing).
        let has_weight = in_range().any(|(_, spec)| spec.weight == weight);
        let mut candidates = in_range().filter(|(_, spec)| (spec.weight == weight) == has_weight);
        candidates.find_map(|(offset, _)| {
            let index = base + offset;
            let font = self.lazy_face(index)?;
            has_glyph(font, ch).then(|| (lazy_face_id(index), font))
        })
    }

    /// Lazily loaded face `index`, parsed on first use.
    fn lazy_face(&self, index: usize) -> Option<&Font> {
        let slot = self.lazy.get(index)?;
        slot.get_or_init(|| lazy_spec(index).and_then(|spec| parse(spec).ok()))
            .as_ref()
    }

    /// Which face serves `ch` at the Regular weight (fallback chunks and last-resort faces
    /// are shipped in both weights, so Bold is covered alike). May parse a fallback face.
    pub fn coverage(&self, ch: char) -> Coverage {
        match self.face_for(ch, Weight::Regular) {
            Some((id, _)) if id.is_primary() => Coverage::Primary,
            Some((id, _)) => Coverage::Fallback(id),
            None => Coverage::Missing,
        }
    }

    /// The face `id` names (parsing it if it is a fallback face not yet loaded); `None` for
    /// an id this build does not have.
    pub fn face(&self, id: FaceId) -> Option<&Font> {
        match id.0 {
            0 => Some(&self.regular),
            1 => Some(&self.bold),
            n => self.lazy_face(usize::from(n - PRIMARY_COUNT)),
        }
    }

    /// The file name (under `fonts/`) of face `id`, for diagnostics.
    #[must_use]
    pub fn face_name(id: FaceId) -> Option<&'static str> {
        match id.0 {
            0 | 1 => PRIMARY.get(usize::from(id.0)).map(|spec| spec.name),
            n => lazy_spec(usize::from(n - PRIMARY_COUNT)).map(|spec| spec.name),
        }
    }

    /// How many fallback and last-resort faces have been parsed so far.
    pub fn loaded_fallback_faces(&self) -> usize {
        self.lazy.iter().filter(|slot| slot.get().is_some()).count()
    }
}

/// The [`FaceId`] of lazily loaded face `index`.
fn lazy_face_id(index: usize) -> FaceId {
    // LAZY_COUNT + PRIMARY_COUNT is far below 256; saturate rather than wrap regardless.
    FaceId(u8::try_from(index).map_or(u8::MAX, |i| i.saturating_add(PRIMARY_COUNT)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TONGYONG_8105: &str = include_str!("../../fonts/tongyong-8105.txt");

    fn book() -> FontBook {
        FontBook::load().expect("primary faces parse")
    }

    fn lit(font: &Font, ch: char) -> bool {
        let (metrics, coverage) = font.rasterize(ch, 48.0);
        metrics.width > 0 && metrics.height > 0 && coverage.iter().any(|&alpha| alpha > 0)
    }

    #[test]
    fn every_general_standard_character_is_in_both_primary_faces() {
        let book = book();
        let chars: Vec<char> = TONGYONG_8105
            .lines()
            .map(|line| {
                let mut chars = line.chars();
                let ch = chars.next().expect("one character per line");
                assert_eq!(chars.next(), None, "line {line:?} holds one character");
                ch
            })
            .collect();
        assert_eq!(chars.len(), 8105);
        for weight in [Weight::Regular, Weight::Bold] {
            let font = book.primary(weight);
            let missing: String = chars.iter().filter(|&&ch| !has_glyph(font, ch)).collect();
            assert!(missing.is_empty(), "{weight:?} lacks {missing}");
        }
        for ch in ['喆', '堃', '彧', '犇', '垚', '䶮', '𫖯'] {
            assert_eq!(book.coverage(ch), Coverage::Primary, "{ch}");
        }
        assert_eq!(book.loaded_fallback_faces(), 0);
    }

    #[test]
    fn punctuation_and_symbols_are_in_both_primary_faces() {
        let book = book();
        let symbols = "，。、；：？！“”‘’《》〈〉（）【】〔〕「」『』——……·•℃％‰№①⑳⑴⒇⒈⒛ⅠⅫⅰⅻ\
                       ★☆●○■□▲△◆◇→←↑↓×÷±≤≥≠¥©®™０９ＡＺａｚ　〇々─│┌┼㈠㊀㎡\
                       AZaz09ǎǘüāéèê";
        for weight in [Weight::Regular, Weight::Bold] {
            let font = book.primary(weight);
            let missing: String = symbols.chars().filter(|&ch| !has_glyph(font, ch)).collect();
            assert!(missing.is_empty(), "{weight:?} lacks {missing}");
        }
        assert!(lit(book.primary(Weight::Bold), '№'));
        assert_eq!(book.loaded_fallback_faces(), 0);
    }

    #[test]
    fn rare_characters_come_from_fallback_faces_and_rasterize() {
        let book = book();
        // 龘 (URO), 㐀 (Extension A), 𠮷 (Extension B), 﨑 (compatibility), 鿰 and 䶶 (in no
        // Noto face: last resort).
        for ch in ['龘', '㐀', '𠮷', '﨑', '鿰', '䶶'] {
            assert!(
                !TONGYONG_8105.contains(ch),
                "{ch} is a general standard character"
            );
            let Coverage::Fallback(id) = book.coverage(ch) else {
                panic!("{ch} is not served by a fallback face");
            };
            assert!(!id.is_primary());
            for weight in [Weight::Regular, Weight::Bold] {
                let (id, font) = book.face_for(ch, weight).expect("some face has it");
                assert!(!id.is_primary(), "{ch}");
                assert!(
                    lit(font, ch),
                    "{ch} rasterizes empty from {:?}",
                    FontBook::face_name(id)
                );
                let same = book.face(id).expect("face by id");
                assert_eq!(same.lookup_glyph_index(ch), font.lookup_glyph_index(ch));
                let expected = match weight {
                    Weight::Regular => "-Regular",
                    Weight::Bold => "-Bold",
                };
                let name = FontBook::face_name(id).expect("name");
                assert!(name.contains(expected), "{ch} {weight:?} from {name}");
            }
        }
        assert_eq!(
            FontBook::face_name(book.face_for('龘', Weight::Bold).expect("龘").0),
            Some("fallback/NotoSansSC-Bold-fb-91DB-9FEF.otf")
        );
        assert_eq!(
            FontBook::face_name(book.face_for('鿰', Weight::Regular).expect("鿰").0),
            Some("lastresort/GovLastResortKai-Regular.ttf")
        );
    }

    #[test]
    fn every_unified_ideograph_has_a_face() {
        let book = book();
        for weight in [Weight::Regular, Weight::Bold] {
            let missing: Vec<String> = (0x4E00..=0x9FFF_u32)
                .filter_map(char::from_u32)
                .filter(|&ch| book.face_for(ch, weight).is_none())
                .map(|ch| format!("U+{:04X}", u32::from(ch)))
                .collect();
            assert!(missing.is_empty(), "{weight:?}: {missing:?}");
        }
        // Extension A too: Noto has all but ten, the last resort has those.
        let missing = (0x3400..=0x4DBF_u32)
            .filter_map(char::from_u32)
            .filter(|&ch| book.coverage(ch) == Coverage::Missing)
            .count();
        assert_eq!(missing, 0);
    }

    #[test]
    fn loading_the_primary_faces_loads_no_fallback() {
        let book = book();
        assert_eq!(book.loaded_fallback_faces(), 0);
        assert_eq!(book.coverage('中'), Coverage::Primary);
        assert_eq!(book.coverage('A'), Coverage::Primary);
        assert_eq!(book.loaded_fallback_faces(), 0);
        assert!(matches!(book.coverage('龘'), Coverage::Fallback(_)));
        assert_eq!(book.loaded_fallback_faces(), 1);
        assert!(book.face_for('龘', Weight::Regular).is_some());
        assert_eq!(book.loaded_fallback_faces(), 1, "a loaded chunk is reused");
    }

    #[test]
    fn characters_outside_every_face_are_missing() {
        let book = book();
        for ch in ['😀', '한', '\u{E000}'] {
            assert_eq!(book.coverage(ch), Coverage::Missing, "{ch}");
            assert!(book.face_for(ch, Weight::Bold).is_none());
        }
        // A miss outside every fallback range parses nothing.
        assert_eq!(book.loaded_fallback_faces(), 0);
    }

    #[test]
    fn fallback_table_matches_the_embedded_faces() {
        for (index, spec) in FALLBACK.iter().chain(LAST_RESORT.iter()).enumerate() {
            assert_eq!(lazy_spec(index).map(|s| s.name), Some(spec.name));
            let font = parse(spec).expect("embedded face parses");
            let cps: Vec<u32> = font.chars().map(u32::from).collect();
            assert!(!cps.is_empty(), "{}", spec.name);
            assert_eq!(cps.iter().min(), Some(&spec.first), "{}", spec.name);
            assert_eq!(cps.iter().max(), Some(&spec.last), "{}", spec.name);
            let weight = match spec.weight {
                Weight::Regular => "-Regular",
                Weight::Bold => "-Bold",
            };
            assert!(spec.name.contains(weight), "{}", spec.name);
        }
        for table in [&FALLBACK[..], &LAST_RESORT[..]] {
            for (i, a) in table.iter().enumerate() {
                for b in &table[i + 1..] {
                    let disjoint = a.last < b.first || b.last < a.first;
                    assert!(
                        a.weight != b.weight || disjoint,
                        "{} overlaps {}",
                        a.name,
                        b.name
                    );
                }
            }
        }
        assert_eq!(lazy_spec(LAZY_COUNT).map(|s| s.name), None);
        assert_eq!(FontBook::face_name(FaceId(u8::MAX)), None);
    }

    #[test]
    fn shared_book_is_loaded_once() {
        let first = FontBook::shared().expect("shared book");
        let second = FontBook::shared().expect("shared book");
        assert!(std::ptr::eq(first, second));
        assert_eq!(FaceId::primary(Weight::Bold).get(), 1);
        assert_eq!(
            FontBook::face_name(FaceId::primary(Weight::Regular)),
            Some(PRIMARY[0].name)
        );
    }
}
