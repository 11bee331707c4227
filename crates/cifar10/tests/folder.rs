//! The image-folder layout (`train/<class>/*`, `test/<class>/*`), as a
//! directory and as a `.tar.gz`, with PNG and JPEG files.
mod common;

use cifar10::{load, Source, CLASSES, IMAGE_FOLDER_LABEL};
use common::*;
use image::{GrayImage, ImageBuffer, Luma, Rgba};
use std::fs;

#[test]
fn png_folder_round_trips_exactly_in_class_then_name_order() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pngs");
    let expected = write_folder(&root, 4, 2, Format::Png, 10);
    let d = load(&Source::Path(root), &tmp.path().join("cache"), &|_| {}).unwrap();
    expected.assert_matches(&d);
    assert_eq!(d.train.len(), 40);
    assert_eq!(d.test.len(), 20);
    assert_eq!(d.label, IMAGE_FOLDER_LABEL);
    // Labels follow CLASSES: the 4 images of "cat" (index 3) are train images 12..16.
    assert_eq!(CLASSES[3], "cat");
    assert_eq!(&d.train.labels[12..16], &[3, 3, 3, 3]);
    assert_eq!(
        d.train.labels,
        (0..10u8).flat_map(|l| [l; 4]).collect::<Vec<_>>()
    );
}

#[test]
fn pixels_are_stored_as_channel_planes() {
    // Pixel (x, y) = (x, y, x + y): the R plane is the x ramp, G the y ramp.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("f");
    write_folder(&root, 1, 1, Format::Png, 11);
    let img = ImageBuffer::from_fn(32, 32, |x, y| image::Rgb([x as u8, y as u8, (x + y) as u8]));
    img.save(root.join("test/airplane/b.png")).unwrap();
    let d = load(&Source::Path(root), &tmp.path().join("cache"), &|_| {}).unwrap();
    let chw = d.test.image(0);
    for y in 0..32 {
        for x in 0..32 {
            let p = y * 32 + x;
            assert_eq!(
                (chw[p], chw[1024 + p], chw[2048 + p]),
                (x as u8, y as u8, (x + y) as u8)
            );
        }
    }
}

#[test]
fn jpeg_folder_decodes_close_to_the_source_pixels() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("jpegs");
    let expected = write_folder(&root, 3, 1, Format::Jpeg, 12);
    let d = load(&Source::Path(root), &tmp.path().join("cache"), &|_| {}).unwrap();
    assert_eq!(d.train.labels, expected.train_labels);
    assert_eq!(d.test.labels, expected.test_labels);
    assert_eq!(d.train.images.len(), expected.train_images.len());
    // JPEG is lossy: compare per image by mean absolute error, which would be
    // ~50+ for a wrong image, wrong order or a plane mix-up.
    for (split, got, want) in [
        ("train", &d.train.images, &expected.train_images),
        ("test", &d.test.images, &expected.test_images),
    ] {
        for (i, (g, w)) in got.chunks(IMG).zip(want.chunks(IMG)).enumerate() {
            let mae = g
                .iter()
                .zip(w)
                .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
                .sum::<i32>() as f64
                / IMG as f64;
            assert!(mae < 3.0, "{split} image {i}: mean abs error {mae}");
        }
    }
}

#[test]
fn tar_gz_with_and_without_top_level_folder_matches_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pngs");
    let expected = write_folder(&root, 2, 1, Format::Png, 13);
    let cache = tmp.path().join("cache");
    let wrapped = tmp.path().join("wrapped.tar.gz");
    tar_gz(&root, &wrapped, "cifar-10-images");
    let d = load(&Source::Path(wrapped.clone()), &cache, &|_| {}).unwrap();
    expected.assert_matches(&d);
    assert_eq!(d.label, IMAGE_FOLDER_LABEL);
    assert_eq!(d.source_sha256, sha256_hex(&fs::read(&wrapped).unwrap()));
    let flat = tmp.path().join("flat.tar.gz");
    tar_gz(&root, &flat, "");
    expected.assert_matches(&load(&Source::Path(flat), &cache, &|_| {}).unwrap());
    // And a directory with one wrapping folder.
    let outer = tmp.path().join("outer");
    fs::create_dir(&outer).unwrap();
    fs::rename(&root, outer.join("inner")).unwrap();
    expected.assert_matches(&load(&Source::Path(outer), &cache, &|_| {}).unwrap());
}

#[test]
fn any_colour_type_becomes_rgb_and_hidden_files_are_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("f");
    write_folder(&root, 1, 1, Format::Png, 14);
    // NAMES[0] is "b": the only file per class, replaced by grey and RGBA versions.
    let grey: GrayImage = ImageBuffer::from_fn(32, 32, |x, _| Luma([(x * 8) as u8]));
    grey.save(root.join("train/ship/b.png")).unwrap();
    let rgba = ImageBuffer::from_fn(32, 32, |_, y| Rgba([1u8, 2, (y * 4) as u8, 77]));
    rgba.save(root.join("test/truck/b.png")).unwrap();
    fs::write(root.join("train/ship/.DS_Store"), "junk").unwrap();
    fs::write(root.join("train/.DS_Store"), "junk").unwrap();
    let d = load(&Source::Path(root), &tmp.path().join("cache"), &|_| {}).unwrap();
    assert_eq!(d.train.len(), 10);
    let ship = d.train.image(8);
    assert_eq!(d.train.labels[8], 8);
    for p in 0..1024 {
        let v = ((p % 32) * 8) as u8;
        assert_eq!((ship[p], ship[1024 + p], ship[2048 + p]), (v, v, v));
    }
    let truck = d.test.image(9);
    assert_eq!((truck[0], truck[1024], truck[2048 + 64]), (1, 2, 8));
}
