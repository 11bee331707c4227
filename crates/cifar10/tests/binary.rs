//! The official binary layout, as a directory and as a `.tar.gz`.
mod common;

use cifar10::{load, load_recognising, Source, OFFICIAL_LABEL, UNVERIFIED_BINARY_LABEL};
use common::*;
use std::fs;

#[test]
fn binary_directory_round_trips_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let expected = write_binary(&data, 7, 1);
    let log = Log::default();
    let d = load(
        &Source::Path(data.clone()),
        &tmp.path().join("cache"),
        &log.f(),
    )
    .unwrap();
    expected.assert_matches(&d);
    assert_eq!(d.train.len(), 35);
    assert_eq!(d.test.len(), 7);
    // The binary layout alone does not make the official release: a directory
    // of unknown origin is a copy (it may be relabelled or re-encoded).
    assert_eq!(d.label, UNVERIFIED_BINARY_LABEL);
    assert!(cifar10::is_copy(&d.label));
    assert!(log.contains("not verifiably the official release"));
    assert_eq!(d.source, data.display().to_string());
    assert_eq!(d.source_sha256.len(), 64);
    // Record 0 of test_batch.bin is test image 0, record 3 of data_batch_2.bin is train image 10.
    let test0 = &fs::read(data.join("test_batch.bin")).unwrap()[..3073];
    assert_eq!(d.test.labels[0], test0[0]);
    assert_eq!(d.test.image(0), &test0[1..]);
    let b2 = fs::read(data.join("data_batch_2.bin")).unwrap();
    assert_eq!(d.train.image(10), &b2[3 * 3073 + 1..4 * 3073]);
}

#[test]
fn binary_inside_batches_subfolder_and_extra_files_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("download");
    let expected = write_binary(&root.join("cifar-10-batches-bin"), 3, 2);
    fs::write(root.join("cifar-10-batches-bin/readme.html"), "not data").unwrap();
    let d = load(&Source::Path(root), &tmp.path().join("cache"), &|_| {}).unwrap();
    expected.assert_matches(&d);
}

#[test]
fn binary_tar_gz_round_trips_and_hashes_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let expected = write_binary(&data, 4, 3);
    let archive = tmp.path().join("cifar-10-binary.tar.gz");
    // Same shape as the official archive: everything under cifar-10-batches-bin/.
    tar_gz(&data, &archive, "cifar-10-batches-bin");
    let d = load(
        &Source::Path(archive.clone()),
        &tmp.path().join("cache"),
        &|_| {},
    )
    .unwrap();
    expected.assert_matches(&d);
    // Not the archive whose MD5 is published: a copy.
    assert_eq!(d.label, UNVERIFIED_BINARY_LABEL);
    let bytes = fs::read(&archive).unwrap();
    let sha = sha256_hex(&bytes);
    assert_eq!(d.source_sha256, sha);
    // The archive whose MD5 is the published one (here: stood in for by this
    // archive's) is the official release, from the cache too.
    for cache in ["cache", "cache-2"] {
        let d = load_recognising(
            &Source::Path(archive.clone()),
            &tmp.path().join(cache),
            &md5_hex(&bytes).to_uppercase(),
            &|_| {},
        )
        .unwrap();
        assert_eq!(d.label, OFFICIAL_LABEL, "{cache}");
        expected.assert_matches(&d);
    }

    // Members at the archive root (`./data_batch_1.bin`) work too.
    let flat = tmp.path().join("flat.tar.gz");
    tar_gz(&data, &flat, "");
    let d = load(&Source::Path(flat), &tmp.path().join("cache"), &|_| {}).unwrap();
    expected.assert_matches(&d);
}

#[test]
fn channel_planes_are_red_green_blue() {
    // One record whose R plane is 10, G plane 20 and B plane 30 stays CHW.
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut record = vec![4u8];
    for v in [10u8, 20, 30] {
        record.extend(std::iter::repeat_n(v, 1024));
    }
    fs::create_dir_all(&data).unwrap();
    for name in BATCHES {
        fs::write(data.join(name), &record).unwrap();
    }
    let d = load(&Source::Path(data), &tmp.path().join("cache"), &|_| {}).unwrap();
    let img = d.test.image(0);
    assert!(img[..1024].iter().all(|&p| p == 10));
    assert!(img[1024..2048].iter().all(|&p| p == 20));
    assert!(img[2048..].iter().all(|&p| p == 30));
    assert_eq!(d.test.labels, [4]);
}

#[test]
fn binary_and_png_copies_of_the_same_pixels_load_identically() {
    // Same images written as official records and as PNGs (which store HWC):
    // both loaders must produce the same CHW arrays.
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let expected = write_binary(&bin, 2, 4);
    let folder = tmp.path().join("folder");
    let split_images = |imgs: &[u8], labels: &[u8], split: &str| {
        for (i, (chw, label)) in imgs.chunks(IMG).zip(labels).enumerate() {
            let dir = folder
                .join(split)
                .join(cifar10::CLASSES[usize::from(*label)]);
            fs::create_dir_all(&dir).unwrap();
            chw_to_rgb(chw)
                .save(dir.join(format!("{i:04}.png")))
                .unwrap();
        }
    };
    split_images(&expected.train_images, &expected.train_labels, "train");
    split_images(&expected.test_images, &expected.test_labels, "test");
    for split in ["train", "test"] {
        for class in cifar10::CLASSES {
            fs::create_dir_all(folder.join(split).join(class)).unwrap();
        }
    }
    let cache = tmp.path().join("cache");
    let a = load(&Source::Path(bin), &cache, &|_| {}).unwrap();
    let b = load(&Source::Path(folder), &cache, &|_| {}).unwrap();
    // The folder groups by class; compare as multisets of (label, image).
    let pairs = |s: &cifar10::Split| {
        let mut v: Vec<(u8, Vec<u8>)> = (0..s.len())
            .map(|i| (s.labels[i], s.image(i).to_vec()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(pairs(&a.train), pairs(&b.train));
    assert_eq!(pairs(&a.test), pairs(&b.test));
    assert_ne!(a.source_sha256, b.source_sha256);
}

#[test]
fn directory_digest_is_stable_and_content_sensitive() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_binary(&data, 2, 5);
    let cache = tmp.path().join("cache");
    let a = load(&Source::Path(data.clone()), &cache, &|_| {}).unwrap();
    // Unused files do not change the digest.
    fs::write(data.join("batches.meta.txt"), "airplane\n").unwrap();
    let b = load(&Source::Path(data.clone()), &cache, &|_| {}).unwrap();
    assert_eq!(a.source_sha256, b.source_sha256);
    // One changed pixel does.
    let p = data.join("data_batch_4.bin");
    let mut bytes = fs::read(&p).unwrap();
    bytes[100] ^= 1;
    fs::write(&p, bytes).unwrap();
    let c = load(&Source::Path(data), &cache, &|_| {}).unwrap();
    assert_ne!(a.source_sha256, c.source_sha256);
    assert_ne!(a.train, c.train);
}
