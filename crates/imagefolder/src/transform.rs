//! Decoding, shorter-side resizing and cropping into CHW `u8`.
use std::io::Cursor;
use std::path::Path;

use image::imageops::{self, FilterType};
use image::RgbImage;

use crate::FolderError;

/// Decodes `path` into 8-bit RGB.
///
/// The format is taken from the file's first bytes, not its extension:
/// ImageNet's training set has a PNG saved as `.JPEG`
/// (n02105855_2933.JPEG). Grey, grey+alpha, RGBA, 16-bit and CMYK JPEGs
/// (22 of ImageNet's training files; the JPEG decoder converts them to RGB)
/// all come out as RGB8, alpha dropped.
pub fn decode_rgb(path: &Path) -> Result<RgbImage, FolderError> {
    let bytes = std::fs::read(path).map_err(|e| FolderError::io(path, "reading", e))?;
    let image = image::io::Reader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| FolderError::io(path, "reading", e))?
        .decode()
        .map_err(|source| FolderError::Undecodable {
            path: path.to_path_buf(),
            source,
        })?;
    let rgb = image.into_rgb8();
    if rgb.width() == 0 || rgb.height() == 0 {
        return Err(FolderError::EmptyImage {
            path: path.to_path_buf(),
        });
    }
    Ok(rgb)
}

/// Size of a `width` x `height` image whose shorter side is scaled to
/// `shorter`, keeping the aspect ratio; the longer side is rounded to the
/// nearest integer (halves up) and never below `shorter`.
pub fn shorter_side_size(width: u32, height: u32, shorter: u32) -> (u32, u32) {
    let scaled = |long: u32, short: u32| -> u32 {
        let (long, short, target) = (u64::from(long), u64::from(short), u64::from(shorter));
        let rounded = (2 * long * target + short) / (2 * short);
        u32::try_from(rounded).unwrap_or(u32::MAX).max(shorter)
    };
    if width <= height {
        (shorter, scaled(height, width))
    } else {
        (scaled(width, height), shorter)
    }
}

/// Resizes the whole image bilinearly (`FilterType::Triangle`, which also
/// low-passes when shrinking) so that its shorter side is `shorter`.
/// "The image is resized with its shorter side ..." (He et al. 2015, Sec.
/// 3.4; Simonyan & Zisserman 2015, Sec. 3.1). An image already of that size
/// is returned unchanged.
pub fn resize_shorter(image: RgbImage, shorter: u32) -> RgbImage {
    let (w, h) = shorter_side_size(image.width(), image.height(), shorter);
    if (w, h) == image.dimensions() {
        image
    } else {
        imageops::resize(&image, w, h, FilterType::Triangle)
    }
}

/// Writes the `crop` x `crop` window at (`x0`, `y0`) of `image` into `out`
/// as planar CHW RGB (`out.len() == 3 * crop * crop`), mirrored left-right
/// when `flip`.
///
/// # Panics
/// If the window does not fit in the image or `out` has the wrong length.
pub fn write_crop(image: &RgbImage, x0: u32, y0: u32, crop: u32, flip: bool, out: &mut [u8]) {
    let (w, h) = image.dimensions();
    assert!(
        x0 + crop <= w && y0 + crop <= h,
        "crop {crop}x{crop} at ({x0}, {y0}) does not fit in a {w}x{h} image"
    );
    let crop = crop as usize;
    let plane = crop * crop;
    assert_eq!(out.len(), 3 * plane, "output slice length");
    let (w, x0, y0) = (w as usize, x0 as usize, y0 as usize);
    let raw = image.as_raw();
    let (r, rest) = out.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    for y in 0..crop {
        let row = &raw[((y0 + y) * w + x0) * 3..][..crop * 3];
        let dst = y * crop..(y + 1) * crop;
        let (r, g, b) = (&mut r[dst.clone()], &mut g[dst.clone()], &mut b[dst]);
        for (x, px) in row.chunks_exact(3).enumerate() {
            let x = if flip { crop - 1 - x } else { x };
            r[x] = px[0];
            g[x] = px[1];
            b[x] = px[2];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorter_side_rounds_the_longer_side() {
        assert_eq!(shorter_side_size(500, 375, 256), (341, 256)); // 341.33
        assert_eq!(shorter_side_size(375, 500, 256), (256, 341));
        assert_eq!(shorter_side_size(300, 200, 256), (384, 256));
        assert_eq!(shorter_side_size(3, 2, 5), (8, 5)); // 7.5 rounds up
        assert_eq!(shorter_side_size(256, 256, 480), (480, 480));
        assert_eq!(shorter_side_size(1, 10_000, 224), (224, 2_240_000));
    }

    #[test]
    fn crop_is_planar_and_flips() {
        let img = RgbImage::from_fn(4, 3, |x, y| {
            image::Rgb([x as u8, y as u8, 10 * x as u8 + y as u8])
        });
        let mut out = vec![0; 12];
        write_crop(&img, 1, 1, 2, false, &mut out);
        assert_eq!(out, [1, 2, 1, 2, 1, 1, 2, 2, 11, 21, 12, 22]);
        write_crop(&img, 1, 1, 2, true, &mut out);
        assert_eq!(out, [2, 1, 2, 1, 1, 1, 2, 2, 21, 11, 22, 12]);
    }
}
