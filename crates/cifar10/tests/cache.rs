//! The ready-to-load cache is used when valid and never trusted when not.
mod common;

use cifar10::{load, Source};
use common::*;
use std::fs;
use std::path::{Path, PathBuf};

/// The single `.u8` cache file in `cache`.
fn cache_file(cache: &Path) -> PathBuf {
    let files: Vec<String> = entries(cache)
        .into_iter()
        .filter(|n| n.ends_with(".u8"))
        .collect();
    assert_eq!(files.len(), 1, "cache dir holds {:?}", entries(cache));
    cache.join(&files[0])
}

fn setup(seed: u64) -> (tempfile::TempDir, Source, PathBuf, Expected) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pngs");
    let expected = write_folder(&root, 2, 1, Format::Png, seed);
    let archive = tmp.path().join("pngs.tar.gz");
    tar_gz(&root, &archive, "pngs");
    let cache = tmp.path().join("cache");
    (tmp, Source::Path(archive), cache, expected)
}

#[test]
fn second_load_comes_from_the_cache() {
    let (_tmp, source, cache, expected) = setup(40);
    let log = Log::default();
    let first = load(&source, &cache, &log.f()).unwrap();
    assert!(log.contains("decoding"));
    let file = cache_file(&cache);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(name, format!("cifar10-{}.u8", &first.source_sha256[..16]));
    // Header + 30 images + trailer.
    assert!(fs::metadata(&file).unwrap().len() > 30 * 3073);
    log.clear();
    let second = load(&source, &cache, &log.f()).unwrap();
    assert!(log.contains("loaded from cache"), "{:?}", log.0.borrow());
    assert!(!log.contains("decoding"));
    expected.assert_matches(&second);
    assert_eq!(second.label, first.label);
    assert_eq!(second.source_sha256, first.source_sha256);
    // No temporary files remain.
    assert_eq!(entries(&cache), vec![name]);
}

#[test]
fn truncated_cache_is_ignored_and_rebuilt() {
    let (_tmp, source, cache, expected) = setup(41);
    load(&source, &cache, &|_| {}).unwrap();
    let file = cache_file(&cache);
    let full = fs::read(&file).unwrap();
    for cut in [full.len() - 1, full.len() / 2, 10, 0] {
        fs::write(&file, &full[..cut]).unwrap();
        let log = Log::default();
        let d = load(&source, &cache, &log.f()).unwrap();
        expected.assert_matches(&d);
        assert!(
            log.contains("ignoring invalid cache"),
            "cut {cut}: {:?}",
            log.0.borrow()
        );
        assert!(log.contains("decoding"));
        assert_eq!(fs::read(&file).unwrap(), full, "cache rebuilt identically");
    }
}

#[test]
fn flipped_byte_in_cache_is_detected() {
    let (_tmp, source, cache, expected) = setup(42);
    load(&source, &cache, &|_| {}).unwrap();
    let file = cache_file(&cache);
    let full = fs::read(&file).unwrap();
    // A pixel, a label (last byte before the trailer) and the header counts.
    for pos in [full.len() / 2, full.len() - 33, 12] {
        let mut bad = full.clone();
        bad[pos] ^= 0x01;
        fs::write(&file, &bad).unwrap();
        let log = Log::default();
        let d = load(&source, &cache, &log.f()).unwrap();
        expected.assert_matches(&d);
        assert!(
            log.contains("ignoring invalid cache"),
            "byte {pos}: {:?}",
            log.0.borrow()
        );
    }
}

#[test]
fn cache_of_another_source_is_not_used() {
    // A valid cache file copied under this source's name must be rejected:
    // the header carries the full source digest.
    let (tmp, source, cache, expected) = setup(43);
    let other_root = tmp.path().join("other");
    write_folder(&other_root, 1, 1, Format::Png, 44);
    let other_cache = tmp.path().join("other-cache");
    load(&Source::Path(other_root), &other_cache, &|_| {}).unwrap();
    let d = load(&source, &cache, &|_| {}).unwrap();
    let mine = cache_file(&cache);
    fs::copy(cache_file(&other_cache), &mine).unwrap();
    let log = Log::default();
    let again = load(&source, &cache, &log.f()).unwrap();
    expected.assert_matches(&again);
    assert_eq!(again.source_sha256, d.source_sha256);
    assert!(log.contains("built for source"), "{:?}", log.0.borrow());
}

#[test]
fn unwritable_cache_does_not_fail_a_local_load() {
    let (tmp, source, _, expected) = setup(45);
    // A file where the cache directory should be.
    let blocked = tmp.path().join("blocked");
    fs::write(&blocked, "x").unwrap();
    let log = Log::default();
    let d = load(&source, &blocked, &log.f()).unwrap();
    expected.assert_matches(&d);
    assert!(
        log.contains("could not write the cache"),
        "{:?}",
        log.0.borrow()
    );
}
