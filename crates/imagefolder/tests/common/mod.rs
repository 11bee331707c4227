//! Tiny image-folder trees written into temporary folders.
#![allow(dead_code)]
use std::fs;
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, Rgb, RgbImage};

/// Solid colour of each class of [`tree`]: n01, n02, n03.
pub const COLOURS: [[u8; 3]; 3] = [[200, 30, 40], [20, 180, 60], [40, 50, 220]];

/// Sizes of the three training images of each class: both orientations and
/// a square-ish one, none already at 256 on the shorter side.
pub const SIZES: [(u32, u32); 3] = [(300, 260), (500, 280), (260, 600)];

/// Largest per-channel error allowed for a solid colour after JPEG.
pub const JPEG_TOLERANCE: u8 = 4;

pub fn solid(w: u32, h: u32, c: [u8; 3]) -> RgbImage {
    RgbImage::from_pixel(w, h, Rgb(c))
}

pub fn write_png(path: &Path, image: &RgbImage) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    image.save_with_format(path, ImageFormat::Png).unwrap();
}

pub fn write_jpeg(path: &Path, image: &RgbImage) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = fs::File::create(path).unwrap();
    JpegEncoder::new_with_quality(&mut file, 95)
        .encode_image(image)
        .unwrap();
}

/// A 3-class tree:
///
/// ```text
/// train/n0{1,2,3}/a.png    300x260  (PNG)
///                 b.JPEG   500x280  (JPEG)
///                 c.jpg    260x600  (JPEG)
/// train/n01/.DS_Store, train/.hidden/   (ignored)
/// val/n01/v1.png  val/n03/v3.JPEG     (no val/n02)
/// ```
///
/// Every image of class k is the solid colour `COLOURS[k]`.
pub fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (k, class) in ["n01", "n02", "n03"].iter().enumerate() {
        let c = COLOURS[k];
        let d = root.join("train").join(class);
        write_png(&d.join("a.png"), &solid(SIZES[0].0, SIZES[0].1, c));
        write_jpeg(&d.join("b.JPEG"), &solid(SIZES[1].0, SIZES[1].1, c));
        write_jpeg(&d.join("c.jpg"), &solid(SIZES[2].0, SIZES[2].1, c));
    }
    fs::write(root.join("train/n01/.DS_Store"), b"junk").unwrap();
    fs::create_dir_all(root.join("train/.hidden")).unwrap();
    write_png(&root.join("val/n01/v1.png"), &solid(280, 300, COLOURS[0]));
    write_jpeg(&root.join("val/n03/v3.JPEG"), &solid(320, 240, COLOURS[2]));
    dir
}

/// One `(path, label)` item for an image written as PNG to `dir/name`.
pub fn png_item(dir: &Path, name: &str, image: &RgbImage, label: u16) -> (PathBuf, u16) {
    let path = dir.join(name);
    write_png(&path, image);
    (path, label)
}

/// Pixel (`x`, `y`) of channel `c` of a CHW view of side `crop`.
pub fn at(view: &[u8], crop: usize, c: usize, x: usize, y: usize) -> u8 {
    view[c * crop * crop + y * crop + x]
}

/// Whether every pixel of a CHW view is within `tol` of colour `c`.
pub fn is_solid(view: &[u8], c: [u8; 3], tol: u8) -> bool {
    let plane = view.len() / 3;
    (0..3).all(|ch| {
        view[ch * plane..(ch + 1) * plane]
            .iter()
            .all(|&v| v.abs_diff(c[ch]) <= tol)
    })
}

/// The left-right mirror of a CHW view of side `crop`.
pub fn mirror(view: &[u8], crop: usize) -> Vec<u8> {
    view.chunks_exact(crop)
        .flat_map(|row| row.iter().rev().copied())
        .collect()
}
