//! `ImageFolder::open`: layout, labels, ordering and every scan error, plus
//! decode-time errors and colour conversion.
mod common;

use std::fs;
use std::path::Path;

use common::*;
use image::codecs::jpeg::JpegEncoder;
use image::{GrayImage, ImageFormat, Luma, Rgba, RgbaImage};
use imagefolder::{center_crop_batch, train_batch, FolderError, ImageFolder, TrainAugment};

fn names(items: &[(std::path::PathBuf, u16)], root: &Path) -> Vec<(String, u16)> {
    items
        .iter()
        .map(|(p, l)| (p.strip_prefix(root).unwrap().display().to_string(), *l))
        .collect()
}

#[test]
fn scans_classes_labels_and_files_in_order() {
    let dir = tree();
    let root = dir.path();
    let f = ImageFolder::open(root).unwrap();
    assert_eq!(f.root, root);
    assert_eq!(f.classes, ["n01", "n02", "n03"]);
    assert_eq!(f.num_classes(), 3);
    assert_eq!(f.label_of("n02"), Some(1));
    assert_eq!(f.label_of("n04"), None);
    let mut expected = Vec::new();
    for (k, class) in ["n01", "n02", "n03"].iter().enumerate() {
        for file in ["a.png", "b.JPEG", "c.jpg"] {
            expected.push((format!("train/{class}/{file}"), k as u16));
        }
    }
    assert_eq!(names(&f.train, root), expected);
    // val/ lacks n02: n03's images still get train's label 2, not 1.
    assert_eq!(
        names(&f.val, root),
        [
            ("val/n01/v1.png".to_string(), 0),
            ("val/n03/v3.JPEG".to_string(), 2)
        ]
    );
}

#[test]
fn classes_are_sorted_not_in_directory_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Created in reverse order, and with file names out of order.
    for class in ["n09", "n05", "n01"] {
        for file in ["z.png", "m.PNG", "b.Jpg"] {
            write_png(
                &root.join("train").join(class).join(file),
                &solid(8, 8, [1, 2, 3]),
            );
        }
    }
    write_png(&root.join("val/n09/q.png"), &solid(8, 8, [1, 2, 3]));
    let f = ImageFolder::open(root).unwrap();
    assert_eq!(f.classes, ["n01", "n05", "n09"]);
    let files: Vec<_> = names(&f.train, root);
    assert_eq!(files[0], ("train/n01/b.Jpg".into(), 0));
    assert_eq!(files[1], ("train/n01/m.PNG".into(), 0));
    assert_eq!(files[2], ("train/n01/z.png".into(), 0));
    assert_eq!(files[8], ("train/n09/z.png".into(), 2));
    assert_eq!(names(&f.val, root), [("val/n09/q.png".to_string(), 2)]);
    // Deterministic: a second scan gives the same lists.
    let g = ImageFolder::open(root).unwrap();
    assert_eq!(f.train, g.train);
}

/// Asserts that `err` is about `path` and that its message shows the path.
fn names_path(err: &FolderError, path: &Path) {
    assert_eq!(err.path(), path, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name {}: {msg}",
        path.display()
    );
}

#[test]
fn missing_splits_are_named() {
    let dir = tree();
    let root = dir.path();
    fs::remove_dir_all(root.join("val")).unwrap();
    let err = ImageFolder::open(root).unwrap_err();
    assert!(
        matches!(err, FolderError::MissingSplit { split: "val", .. }),
        "{err}"
    );
    names_path(&err, &root.join("val"));

    fs::remove_dir_all(root.join("train")).unwrap();
    let err = ImageFolder::open(root).unwrap_err();
    assert!(
        matches!(err, FolderError::MissingSplit { split: "train", .. }),
        "{err}"
    );
    names_path(&err, &root.join("train"));

    // A file called `val` is no split either.
    let dir = tree();
    fs::remove_dir_all(dir.path().join("val")).unwrap();
    fs::write(dir.path().join("val"), b"").unwrap();
    let err = ImageFolder::open(dir.path()).unwrap_err();
    assert!(matches!(err, FolderError::MissingSplit { .. }), "{err}");
}

#[test]
fn unknown_val_class_is_named() {
    let dir = tree();
    let path = dir.path().join("val/n07");
    write_png(&path.join("x.png"), &solid(8, 8, [0, 0, 0]));
    let err = ImageFolder::open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, FolderError::UnknownValClass { class, .. } if class == "n07"),
        "{err}"
    );
    names_path(&err, &path);
}

#[test]
fn empty_class_folders_are_named() {
    let dir = tree();
    let path = dir.path().join("train/n04");
    fs::create_dir(&path).unwrap();
    // A class folder holding only dot-files is empty too.
    fs::write(path.join(".DS_Store"), b"").unwrap();
    let err = ImageFolder::open(dir.path()).unwrap_err();
    assert!(matches!(err, FolderError::EmptyClass { .. }), "{err}");
    names_path(&err, &path);

    let dir = tree();
    let path = dir.path().join("val/n02");
    fs::create_dir(&path).unwrap();
    let err = ImageFolder::open(dir.path()).unwrap_err();
    assert!(matches!(err, FolderError::EmptyClass { .. }), "{err}");
    names_path(&err, &path);
}

#[test]
fn no_class_folders_is_named() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("train/.hidden")).unwrap();
    fs::create_dir_all(dir.path().join("val")).unwrap();
    let err = ImageFolder::open(dir.path()).unwrap_err();
    assert!(matches!(err, FolderError::NoClasses { .. }), "{err}");
    names_path(&err, &dir.path().join("train"));
}

#[test]
fn non_image_files_are_named() {
    let dir = tree();
    let path = dir.path().join("train/n02/labels.txt");
    fs::write(&path, b"n02").unwrap();
    let err = ImageFolder::open(dir.path()).unwrap_err();
    assert!(matches!(err, FolderError::NotAnImage { .. }), "{err}");
    names_path(&err, &path);

    // No extension, and a folder inside a class folder, are not images.
    let dir = tree();
    let path = dir.path().join("val/n03/README");
    fs::write(&path, b"").unwrap();
    names_path(&ImageFolder::open(dir.path()).unwrap_err(), &path);
    let dir = tree();
    let path = dir.path().join("train/n01/sub.jpg");
    fs::create_dir(&path).unwrap();
    names_path(&ImageFolder::open(dir.path()).unwrap_err(), &path);

    // A file directly in train/ is not a class folder.
    let dir = tree();
    let path = dir.path().join("train/synsets.txt");
    fs::write(&path, b"").unwrap();
    let err = ImageFolder::open(dir.path()).unwrap_err();
    assert!(matches!(err, FolderError::NotAClassFolder { .. }), "{err}");
    names_path(&err, &path);
}

#[test]
fn undecodable_image_is_named_by_the_batch_that_decodes_it() {
    let dir = tree();
    let path = dir.path().join("train/n02/bad.JPEG");
    fs::write(&path, b"this is not a JPEG file at all").unwrap();
    // Scanning only lists names...
    let f = ImageFolder::open(dir.path()).unwrap();
    let bad = f.train.iter().position(|(p, _)| *p == path).unwrap();
    // ...decoding names the file.
    let err = train_batch(&f.train, &[0, bad, 1], &TrainAugment::default(), 1).unwrap_err();
    assert!(matches!(err, FolderError::Undecodable { .. }), "{err}");
    names_path(&err, &path);
    let err = center_crop_batch(&f.train, &[bad], 256, 224).unwrap_err();
    names_path(&err, &path);
    // The rest of the list still decodes.
    let good: Vec<usize> = (0..f.train.len()).filter(|&i| i != bad).collect();
    assert!(center_crop_batch(&f.train, &good, 256, 224).is_ok());

    // A truncated JPEG is an error too, not a silently grey image.
    let good_bytes = fs::read(dir.path().join("train/n01/b.JPEG")).unwrap();
    let truncated = dir.path().join("train/n01/t.JPEG");
    fs::write(&truncated, &good_bytes[..good_bytes.len() / 3]).unwrap();
    let err = center_crop_batch(&[(truncated.clone(), 0)], &[0], 256, 224).unwrap_err();
    names_path(&err, &truncated);

    // A file that vanished after the scan is an I/O error naming it.
    let gone = dir.path().join("train/n01/gone.png");
    let err = center_crop_batch(&[(gone.clone(), 0)], &[0], 256, 224).unwrap_err();
    assert!(matches!(err, FolderError::Io { .. }), "{err}");
    names_path(&err, &gone);
}

#[test]
fn any_colour_type_and_misnamed_format_decode_to_rgb() {
    let dir = tempfile::tempdir().unwrap();
    // Grey JPEG: R = G = B.
    let grey = dir.path().join("grey.JPEG");
    let mut file = fs::File::create(&grey).unwrap();
    JpegEncoder::new_with_quality(&mut file, 95)
        .encode_image(&GrayImage::from_pixel(300, 250, Luma([77])))
        .unwrap();
    drop(file);
    // RGBA PNG: alpha dropped.
    let rgba = dir.path().join("rgba.png");
    RgbaImage::from_pixel(250, 260, Rgba([10, 20, 30, 40]))
        .save_with_format(&rgba, ImageFormat::Png)
        .unwrap();
    // A PNG named .JPEG (ImageNet has one: n02105855_2933.JPEG).
    let png_as_jpeg = dir.path().join("png.JPEG");
    solid(260, 256, [9, 99, 199])
        .save_with_format(&png_as_jpeg, ImageFormat::Png)
        .unwrap();

    let items = vec![(grey, 0), (rgba, 1), (png_as_jpeg, 2)];
    let (data, labels) = center_crop_batch(&items, &[0, 1, 2], 256, 224).unwrap();
    assert_eq!(labels, [0, 1, 2]);
    let views: Vec<&[u8]> = data.chunks_exact(3 * 224 * 224).collect();
    assert!(is_solid(views[0], [77, 77, 77], 2));
    assert!(is_solid(views[1], [10, 20, 30], 0));
    assert!(is_solid(views[2], [9, 99, 199], 0));
}
