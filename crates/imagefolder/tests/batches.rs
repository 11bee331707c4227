//! The batch functions on real files: geometry of the training crops, the
//! 10-crop layout, the mean image, and independence from the thread count.
mod common;

use std::path::PathBuf;

use common::*;
use image::{Rgb, RgbImage};
use imagefolder::{
    center_crop_batch, mean_image, ten_crop_batch, ten_crop_square_batch, train_batch, view_len,
    FolderError, ImageFolder, TrainAugment,
};

const C: usize = 224;
const V: usize = 3 * C * C;

/// A 256x200 PNG with R = x (0..=255), G = y (0..=199), B = 7: exactly
/// linear in both directions, so every resized crop is a linear ramp whose
/// slope tells the scale (200 / shorter side).
fn gradient_item(dir: &std::path::Path) -> (PathBuf, u16) {
    let img = RgbImage::from_fn(256, 200, |x, y| Rgb([x as u8, y as u8, 7]));
    png_item(dir, "gradient.png", &img, 5)
}

/// What one training crop of the gradient image looks like.
struct Ramp {
    flipped: bool,
    /// Mean change of R per output pixel along a row (absolute).
    slope_x: f64,
    /// Mean change of G per output pixel down a column.
    slope_y: f64,
}

/// Checks that `view` is a (possibly mirrored) window of a resized copy of
/// the gradient: every row monotone in one common direction, every column
/// non-decreasing (no vertical flip), B untouched.
fn ramp(view: &[u8]) -> Ramp {
    let first = at(view, C, 0, 0, 0);
    let last = at(view, C, 0, C - 1, 0);
    assert_ne!(first, last, "a 224-wide window of the ramp cannot be flat");
    let flipped = last < first;
    let (mut sx, mut sy) = (0.0, 0.0);
    for i in 0..C {
        let row: Vec<u8> = (0..C).map(|x| at(view, C, 0, x, i)).collect();
        let ok = if flipped {
            row.windows(2).all(|w| w[0] >= w[1])
        } else {
            row.windows(2).all(|w| w[0] <= w[1])
        };
        assert!(
            ok,
            "row {i} is not monotone in one direction (flipped = {flipped}): {row:?}"
        );
        sx += f64::from(row[0].abs_diff(row[C - 1])) / (C - 1) as f64;
        let col: Vec<u8> = (0..C).map(|y| at(view, C, 1, i, y)).collect();
        assert!(
            col.windows(2).all(|w| w[0] <= w[1]),
            "column {i} not increasing: {col:?}"
        );
        sy += f64::from(col[C - 1] - col[0]) / (C - 1) as f64;
    }
    assert!(view[2 * C * C..].iter().all(|&b| b == 7));
    Ramp {
        flipped,
        slope_x: sx / C as f64,
        slope_y: sy / C as f64,
    }
}

#[test]
fn train_crops_are_scaled_possibly_flipped_windows() {
    let dir = tempfile::tempdir().unwrap();
    let items = vec![gradient_item(dir.path())];
    let indices = [0; 64];
    let aug = TrainAugment::default();
    assert_eq!((aug.scale_min, aug.scale_max, aug.crop), (256, 480, 224));
    let (data, labels) = train_batch(&items, &indices, &aug, 2015).unwrap();
    assert_eq!(data.len(), 64 * V);
    assert_eq!(labels, [5; 64]);

    let ramps: Vec<Ramp> = data.chunks_exact(V).map(ramp).collect();
    let mut scales = Vec::new();
    for r in &ramps {
        // Aspect ratio kept: the same scale in both directions.
        let rel = (r.slope_x - r.slope_y).abs() / r.slope_y;
        assert!(rel < 0.03, "anisotropic: {} vs {}", r.slope_x, r.slope_y);
        // Shorter side 200 -> s, so the ramp of 1 level per pixel becomes
        // 200 / s levels per pixel.
        let s = 200.0 / r.slope_y;
        assert!(
            (250.0..=490.0).contains(&s),
            "shorter side {s} outside [256, 480]"
        );
        scales.push(s);
    }
    let flips = ramps.iter().filter(|r| r.flipped).count();
    assert!((8..=56).contains(&flips), "{flips} of 64 crops flipped");
    let (lo, hi) = scales
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &s| (a.min(s), b.max(s)));
    assert!(
        lo < 300.0 && hi > 430.0,
        "scales only span {lo:.0}..{hi:.0}"
    );
}

#[test]
fn fixed_scale_gives_a_fixed_slope_and_varied_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let items = vec![gradient_item(dir.path())];
    let aug = TrainAugment::single_scale(400, C as u32);
    let (data, _) = train_batch(&items, &[0; 32], &aug, 9).unwrap();
    let mut corners = std::collections::HashSet::new();
    for view in data.chunks_exact(V) {
        let r = ramp(view);
        assert!(
            (r.slope_y - 0.5).abs() < 0.01,
            "slope {} at scale 400",
            r.slope_y
        );
        corners.insert((
            at(view, C, 0, 0, 0).min(at(view, C, 0, C - 1, 0)),
            at(view, C, 1, 0, 0),
        ));
    }
    // Crop positions are random too (the ramp's minimum is the left edge).
    assert!(
        corners.len() > 16,
        "only {} distinct crop positions",
        corners.len()
    );
}

#[test]
fn train_batches_are_pure_functions_of_their_seed() {
    let dir = tree();
    let f = ImageFolder::open(dir.path()).unwrap();
    let grad = gradient_item(dir.path());
    let mut items = f.train.clone();
    items.push(grad);
    let indices = [9, 0, 9, 4, 9, 8];
    let aug = TrainAugment::default();
    let a = train_batch(&items, &indices, &aug, 42).unwrap();
    let b = train_batch(&items, &indices, &aug, 42).unwrap();
    assert_eq!(a, b);
    let c = train_batch(&items, &indices, &aug, 43).unwrap();
    assert_eq!(a.1, c.1);
    assert_ne!(a.0, c.0);
    // Same image, different position in the batch: different crops.
    let views: Vec<&[u8]> = a.0.chunks_exact(V).collect();
    assert_ne!(views[0], views[2]);
    assert_ne!(views[2], views[4]);
}

#[test]
fn train_batch_labels_and_contents_follow_the_indices() {
    let dir = tree();
    let f = ImageFolder::open(dir.path()).unwrap();
    let indices = [8, 0, 4, 3, 7];
    let (data, labels) = train_batch(&f.train, &indices, &TrainAugment::default(), 1).unwrap();
    assert_eq!(labels, [2, 0, 1, 1, 2]);
    assert_eq!(data.len(), indices.len() * V);
    for (view, &l) in data.chunks_exact(V).zip(&labels) {
        assert!(is_solid(view, COLOURS[l as usize], JPEG_TOLERANCE));
    }
    // Other crop sizes.
    let aug = TrainAugment {
        scale_min: 120,
        scale_max: 150,
        crop: 112,
    };
    let (data, _) = train_batch(&f.train, &indices, &aug, 1).unwrap();
    assert_eq!(data.len(), indices.len() * 3 * 112 * 112);
    assert_eq!(aug.image_len(), view_len(112));
    // An empty batch is empty.
    let (data, labels) = train_batch(&f.train, &[], &aug, 1).unwrap();
    assert!(data.is_empty() && labels.is_empty());
}

#[test]
#[should_panic(expected = "crop <= scale_min")]
fn crop_larger_than_scale_is_rejected() {
    let aug = TrainAugment {
        scale_min: 200,
        scale_max: 480,
        crop: 224,
    };
    let _ = train_batch(&[], &[], &aug, 0);
}

#[test]
#[should_panic(expected = "out of range")]
fn out_of_range_index_panics() {
    let _ = center_crop_batch(&[], &[0], 256, 224);
}

/// A 300x256 image (already at shorter side 256, so not resampled) encoding
/// its own coordinates: R = x mod 256, B = x / 256, G = y.
fn coordinate_item(dir: &std::path::Path) -> (PathBuf, u16) {
    let img = RgbImage::from_fn(300, 256, |x, y| {
        Rgb([(x % 256) as u8, y as u8, (x / 256) as u8])
    });
    png_item(dir, "coords.png", &img, 1)
}

/// The source (x, y) of every pixel of a view of the coordinate image.
fn source_xy(view: &[u8], x: usize, y: usize) -> (usize, usize) {
    let sx = at(view, C, 0, x, y) as usize + 256 * at(view, C, 2, x, y) as usize;
    (sx, at(view, C, 1, x, y) as usize)
}

/// Asserts that `view` is exactly the window at (`x0`, `y0`), mirrored if
/// `flip`.
fn assert_window(view: &[u8], x0: usize, y0: usize, flip: bool, what: &str) {
    for y in 0..C {
        for x in 0..C {
            let dx = if flip { C - 1 - x } else { x };
            assert_eq!(
                source_xy(view, x, y),
                (x0 + dx, y0 + y),
                "{what} at ({x}, {y})"
            );
        }
    }
}

#[test]
fn ten_crops_are_the_corners_center_and_their_mirrors() {
    let dir = tempfile::tempdir().unwrap();
    let items = vec![coordinate_item(dir.path())];
    let (data, labels) = ten_crop_batch(&items, &[0], 256, 224).unwrap();
    assert_eq!(labels, [1]);
    assert_eq!(data.len(), 10 * V);
    let views: Vec<&[u8]> = data.chunks_exact(V).collect();
    // 300x256: margins 76 and 32; center offset (38, 16).
    let windows = [(0, 0), (76, 0), (0, 32), (76, 32), (38, 16)];
    for (k, &(x0, y0)) in windows.iter().enumerate() {
        assert_window(views[k], x0, y0, false, &format!("view {k}"));
        assert_window(views[k + 5], x0, y0, true, &format!("view {}", k + 5));
    }
    // AlexNet's variant takes the corners of the central 256x256 square
    // (offset 22).
    let (data, _) = ten_crop_square_batch(&items, &[0], 256, 224).unwrap();
    let views: Vec<&[u8]> = data.chunks_exact(V).collect();
    let windows = [(22, 0), (54, 0), (22, 32), (54, 32), (38, 16)];
    for (k, &(x0, y0)) in windows.iter().enumerate() {
        assert_window(views[k], x0, y0, false, &format!("square view {k}"));
        assert_window(
            views[k + 5],
            x0,
            y0,
            true,
            &format!("square view {}", k + 5),
        );
    }
}

/// 400x300 PNG with four coloured quadrants.
const QUADRANTS: [[u8; 3]; 4] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];

fn quadrant_item(dir: &std::path::Path) -> (PathBuf, u16) {
    let img = RgbImage::from_fn(400, 300, |x, y| {
        Rgb(QUADRANTS[usize::from(x >= 200) + 2 * usize::from(y >= 150)])
    });
    png_item(dir, "quadrants.png", &img, 0)
}

#[test]
fn ten_crop_corners_pick_their_quadrants_after_resizing() {
    let dir = tree();
    let f = ImageFolder::open(dir.path()).unwrap();
    let mut items = f.train.clone();
    items.push(quadrant_item(dir.path()));
    let q = items.len() - 1;
    let indices = [q, 0, 5, q, 8];
    let (data, labels) = ten_crop_batch(&items, &indices, 256, 224).unwrap();
    assert_eq!(labels, [0, 0, 1, 0, 2]);
    assert_eq!(data.len(), indices.len() * 10 * V);
    let images: Vec<&[u8]> = data.chunks_exact(10 * V).collect();

    // Views 5..9 mirror views 0..4 exactly, for every image.
    for image in &images {
        let views: Vec<&[u8]> = image.chunks_exact(V).collect();
        for k in 0..5 {
            assert_eq!(
                mirror(views[k], C),
                views[k + 5],
                "view {} is not view {k} mirrored",
                k + 5
            );
        }
    }
    // The quadrant image (resized to 341x256): each corner view's outer
    // corner, and a block around it, has that quadrant's colour, and the
    // opposite corner of the view reaches into the opposite quadrant.
    let views: Vec<&[u8]> = images[0].chunks_exact(V).collect();
    let outer = [(0, 0), (C - 1, 0), (0, C - 1), (C - 1, C - 1)];
    for k in 0..4 {
        let (x, y) = outer[k];
        for (dx, dy) in [(0, 0), (20, 0), (0, 20), (20, 20)] {
            let px = if x == 0 { x + dx } else { x - dx };
            let py = if y == 0 { y + dy } else { y - dy };
            let got = [0, 1, 2].map(|c| at(views[k], C, c, px, py));
            assert_eq!(got, QUADRANTS[k], "corner view {k} at ({px}, {py})");
        }
        let (ox, oy) = outer[3 - k];
        let got = [0, 1, 2].map(|c| at(views[k], C, c, ox, oy));
        assert_eq!(got, QUADRANTS[3 - k], "corner view {k} far corner");
        // The mirrored view has the same colour at the mirrored corner.
        let got = [0, 1, 2].map(|c| at(views[k + 5], C, c, C - 1 - x, y));
        assert_eq!(got, QUADRANTS[k], "mirrored corner view {}", k + 5);
    }
    // Solid images: all ten views are the class colour.
    for i in [2, 4] {
        let c = COLOURS[labels[i] as usize];
        let worst = (0..10 * V)
            .map(|j| images[i][j].abs_diff(c[(j / (C * C)) % 3]))
            .max();
        assert!(worst <= Some(JPEG_TOLERANCE), "image {i}: off by {worst:?}");
    }
    assert!(is_solid(&images[1][..V], COLOURS[0], 0)); // a.png, exact
}

#[test]
fn center_view_of_ten_crop_is_center_crop_batch() {
    let dir = tree();
    let f = ImageFolder::open(dir.path()).unwrap();
    let mut items = f.train.clone();
    items.push(quadrant_item(dir.path()));
    items.push(coordinate_item(dir.path()));
    items.push(gradient_item(dir.path()));
    let indices: Vec<usize> = (0..items.len()).rev().collect();
    for (resize, crop) in [(256, 224), (240, 201), (224, 224)] {
        let v = view_len(crop);
        let (ten, l10) = ten_crop_batch(&items, &indices, resize, crop).unwrap();
        let (one, l1) = center_crop_batch(&items, &indices, resize, crop).unwrap();
        let (sq, _) = ten_crop_square_batch(&items, &indices, resize, crop).unwrap();
        assert_eq!(l10, l1);
        assert_eq!(one.len(), indices.len() * v);
        for (i, center) in one.chunks_exact(v).enumerate() {
            assert_eq!(
                &ten[(i * 10 + 4) * v..][..v],
                center,
                "image {i}, {resize}/{crop}"
            );
            assert_eq!(
                &sq[(i * 10 + 4) * v..][..v],
                center,
                "image {i}, {resize}/{crop}"
            );
        }
    }
    // The coordinate image at 256/224: center offset (38, 16).
    let (one, _) = center_crop_batch(&items, &[items.len() - 2], 256, 224).unwrap();
    assert_window(&one, 38, 16, false, "center crop");
}

#[test]
fn mean_image_is_the_average_colour() {
    let dir = tree();
    let f = ImageFolder::open(dir.path()).unwrap();
    let plane = C * C;
    let expect = |c: usize, images: &[usize]| {
        images
            .iter()
            .map(|&k| f64::from(COLOURS[k][c]))
            .sum::<f64>()
            / images.len() as f64
    };
    // Three evenly spaced picks of the nine (indices 0, 3, 6) are each
    // class's a.png: exact.
    let mean = mean_image(&f.train, 3, 256, 224).unwrap();
    assert_eq!(mean.len(), 3 * plane);
    for c in 0..3 {
        let e = expect(c, &[0, 1, 2]) as f32;
        assert!(
            mean[c * plane..(c + 1) * plane]
                .iter()
                .all(|&m| (m - e).abs() < 1e-4),
            "channel {c}"
        );
    }
    // One pick is the first image.
    let mean = mean_image(&f.train, 1, 256, 224).unwrap();
    assert!((0..3).all(|c| mean[c * plane..(c + 1) * plane]
        .iter()
        .all(|&m| m == f32::from(COLOURS[0][c]))));
    // All nine (max_images above the count), JPEGs included: tolerance.
    let mean = mean_image(&f.train, 1000, 256, 224).unwrap();
    for c in 0..3 {
        let e = expect(c, &[0, 1, 2]) as f32;
        let tol = f32::from(JPEG_TOLERANCE);
        assert!(
            mean[c * plane..(c + 1) * plane]
                .iter()
                .all(|&m| (m - e).abs() <= tol),
            "channel {c}"
        );
    }
    // Two classes only (n01's and n03's val images): their average.
    let mean = mean_image(&f.val, 10, 256, 224).unwrap();
    let e = expect(0, &[0, 2]) as f32;
    assert!(mean[..plane]
        .iter()
        .all(|&m| (m - e).abs() <= f32::from(JPEG_TOLERANCE)));
}

#[test]
fn mean_image_of_a_ramp_is_per_pixel() {
    // Not a channel mean: a horizontal ramp's mean image varies across x.
    let dir = tempfile::tempdir().unwrap();
    let items = vec![coordinate_item(dir.path())];
    let mean = mean_image(&items, 5, 256, 224).unwrap();
    for x in [0, 100, 200] {
        assert_eq!(mean[x], (38 + x) as f32);
        assert_eq!(mean[C * C + 50 * C + x], (16 + 50) as f32);
    }
}

fn with_threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn batches_do_not_depend_on_the_thread_count() {
    let dir = tree();
    let f = ImageFolder::open(dir.path()).unwrap();
    let mut items = f.train.clone();
    items.push(gradient_item(dir.path()));
    items.push(quadrant_item(dir.path()));
    let indices: Vec<usize> = (0..64).map(|i| (i * 7) % items.len()).collect();
    let aug = TrainAugment::default();

    let run = || {
        (
            train_batch(&items, &indices, &aug, 77).unwrap(),
            ten_crop_batch(&items, &indices[..16], 256, 224).unwrap(),
            center_crop_batch(&items, &indices, 256, 224).unwrap(),
            mean_image(&items, 7, 256, 224).unwrap(),
        )
    };
    let many = with_threads(4, run);
    assert_eq!(many.0 .0.len(), 64 * V);
    assert_eq!(many.0 .1.len(), 64);
    let one = with_threads(1, run);
    assert!(one == many, "1-thread and 4-thread batches differ");
    assert!(run() == many);
}

#[test]
fn the_first_bad_file_in_batch_order_is_reported() {
    let dir = tree();
    let f = ImageFolder::open(dir.path()).unwrap();
    let mut items = f.train.clone();
    for name in ["bad1.JPEG", "bad2.JPEG"] {
        let path = dir.path().join(name);
        std::fs::write(&path, b"garbage").unwrap();
        items.push((path, 0));
    }
    let (b1, b2) = (items.len() - 2, items.len() - 1);
    let mut indices: Vec<usize> = (0..40).map(|i| i % 9).collect();
    indices.insert(30, b1);
    indices.insert(5, b2);
    for threads in [1, 4] {
        let err = with_threads(threads, || {
            train_batch(&items, &indices, &TrainAugment::default(), 3)
        })
        .unwrap_err();
        assert!(matches!(err, FolderError::Undecodable { .. }));
        assert_eq!(err.path(), items[b2].0, "{threads} threads");
    }
}
