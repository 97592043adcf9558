//! Pixels to pictures: RGBA rasters from the renderer become limited-range Y′CbCr 4:2:0
//! with an explicit matrix (BT.601 for SD, BT.709 for HD), and the urgent banner strip is
//! laid over whatever airs.
//!
//! The conversion is done here rather than by swscale so the matrix and range are never a
//! library default (swscale converts with BT.601 untagged unless told otherwise).

/// The Y′CbCr matrix of an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matrix {
    /// ITU-R BT.601 (SD, 625 lines).
    Bt601,
    /// ITU-R BT.709 (HD).
    Bt709,
}

impl Matrix {
    /// (Kr, Kb) of the matrix.
    fn kr_kb(self) -> (f64, f64) {
        match self {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
        }
    }
}

/// A planar 4:2:0 picture, limited range (Y 16–235, Cb/Cr 16–240).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Yuv420 {
    /// Width in pixels (even).
    pub width: usize,
    /// Height in pixels (even).
    pub height: usize,
    /// Luma, `width × height`.
    pub y: Vec<u8>,
    /// Cb, `width/2 × height/2`.
    pub cb: Vec<u8>,
    /// Cr, `width/2 × height/2`.
    pub cr: Vec<u8>,
}

/// Fixed-point (×2¹⁶) coefficients of one matrix, limited range.
struct Coefficients {
    y: [i32; 3],
    cb: [i32; 3],
    cr: [i32; 3],
}

impl Coefficients {
    fn new(m: Matrix) -> Coefficients {
        let (kr, kb) = m.kr_kb();
        let kg = 1.0 - kr - kb;
        let fix = |v: f64| (v * 65536.0).round() as i32;
        let ys = 219.0 / 255.0;
        let cs = 224.0 / 255.0;
        Coefficients {
            y: [fix(kr * ys), fix(kg * ys), fix(kb * ys)],
            cb: [
                fix(-kr / (2.0 * (1.0 - kb)) * cs),
                fix(-kg / (2.0 * (1.0 - kb)) * cs),
                fix(0.5 * cs),
            ],
            cr: [
                fix(0.5 * cs),
                fix(-kg / (2.0 * (1.0 - kr)) * cs),
                fix(-kb / (2.0 * (1.0 - kr)) * cs),
            ],
        }
    }
}

fn apply(c: [i32; 3], r: i32, g: i32, b: i32, offset: i32) -> u8 {
    let v = (c[0] * r + c[1] * g + c[2] * b + 32768) >> 16;
    (v + offset).clamp(0, 255) as u8
}

/// Converts opaque RGBA (as tiny-skia stores it; premultiplication is a no-op for opaque
/// pixels) of `width × height` to 4:2:0 with `matrix`, limited range. Chroma is the mean of
/// each 2×2 block. Odd sizes lose their last column/row of chroma resolution only.
pub fn rgba_to_yuv420(rgba: &[u8], width: usize, height: usize, matrix: Matrix) -> Yuv420 {
    let k = Coefficients::new(matrix);
    let mut y = vec![16u8; width * height];
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    let mut cb = vec![128u8; cw * ch];
    let mut cr = vec![128u8; cw * ch];
    let px = |x: usize, yy: usize| -> (i32, i32, i32) {
        let i = (yy * width + x) * 4;
        match rgba.get(i..i + 3) {
            Some(p) => (i32::from(p[0]), i32::from(p[1]), i32::from(p[2])),
            None => (0, 0, 0),
        }
    };
    for row in 0..height {
        for col in 0..width {
            let (r, g, b) = px(col, row);
            y[row * width + col] = apply(k.y, r, g, b, 16);
        }
    }
    for crow in 0..ch {
        for ccol in 0..cw {
            let (mut r, mut g, mut b, mut n) = (0, 0, 0, 0);
            for dy in 0..2 {
                for dx in 0..2 {
                    let (x, yy) = (ccol * 2 + dx, crow * 2 + dy);
                    if x < width && yy < height {
                        let p = px(x, yy);
                        r += p.0;
                        g += p.1;
                        b += p.2;
                        n += 1;
                    }
                }
            }
            let n = n.max(1);
            let (r, g, b) = ((r + n / 2) / n, (g + n / 2) / n, (b + n / 2) / n);
            cb[crow * cw + ccol] = apply(k.cb, r, g, b, 128);
            cr[crow * cw + ccol] = apply(k.cr, r, g, b, 128);
        }
    }
    Yuv420 {
        width,
        height,
        y,
        cb,
        cr,
    }
}

/// A solid frame in `rgb`: what airs if even the slate cannot be drawn (never black).
pub fn solid_rgba(width: usize, height: usize, rgb: (u8, u8, u8)) -> Vec<u8> {
    let mut out = Vec::with_capacity(width * height * 4);
    for _ in 0..width * height {
        out.extend_from_slice(&[rgb.0, rgb.1, rgb.2, 255]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(rgb: (u8, u8, u8), m: Matrix) -> (u8, u8, u8) {
        let img = solid_rgba(2, 2, rgb);
        let p = rgba_to_yuv420(&img, 2, 2, m);
        (p.y[0], p.cb[0], p.cr[0])
    }

    #[test]
    fn limited_range_extremes_and_matrices() {
        for m in [Matrix::Bt601, Matrix::Bt709] {
            assert_eq!(one((0, 0, 0), m), (16, 128, 128));
            assert_eq!(one((255, 255, 255), m), (235, 128, 128));
            assert_eq!(one((128, 128, 128), m).1, 128);
        }
        // Pure red differs between the matrices: Y 81 (601) vs 63 (709), Cr 240 in both.
        let r601 = one((255, 0, 0), Matrix::Bt601);
        let r709 = one((255, 0, 0), Matrix::Bt709);
        assert_eq!((r601.0, r601.2), (81, 240));
        assert_eq!((r709.0, r709.2), (63, 240));
        assert_eq!(one((0, 0, 255), Matrix::Bt601).1, 240);
    }

    #[test]
    fn chroma_is_the_mean_of_each_block() {
        let mut img = solid_rgba(4, 2, (0, 0, 0));
        img[..8].copy_from_slice(&[255, 255, 255, 255, 255, 255, 255, 255]);
        let p = rgba_to_yuv420(&img, 4, 2, Matrix::Bt709);
        assert_eq!(p.cb.len(), 2);
        assert_eq!(p.y[0], 235);
        assert_eq!(p.y[4], 16);
    }
}
