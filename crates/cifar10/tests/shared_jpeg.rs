//! The real shared JPEG copy of CIFAR-10, when this machine has it.
use cifar10::{load, Source, CLASSES, JPEG_COPY_LABEL, JPEG_COPY_SHA256};
use std::path::PathBuf;
use std::time::Instant;

#[test]
fn shared_jpeg_copy_loads_labels_and_caches() {
    let archive = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/cifar-10-jpeg.tar.gz");
    if !archive.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the shared archive {} is missing",
            archive.display()
        );
        println!("skipping: {} not present", archive.display());
        return;
    }
    let archive = archive.canonicalize().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let source = Source::Path(archive);
    let log = |m: &str| println!("{m}");

    let t = Instant::now();
    let first = load(&source, cache.path(), &log).unwrap();
    let first_s = t.elapsed().as_secs_f64();

    assert_eq!(first.train.len(), 50_000);
    assert_eq!(first.test.len(), 10_000);
    assert_eq!(first.train.images.len(), 50_000 * 3072);
    assert_eq!(first.test.images.len(), 10_000 * 3072);
    assert_eq!(first.source_sha256, JPEG_COPY_SHA256);
    assert_eq!(first.label, JPEG_COPY_LABEL);
    for (label, class) in CLASSES.iter().enumerate() {
        let train = first
            .train
            .labels
            .iter()
            .filter(|&&l| usize::from(l) == label)
            .count();
        let test = first
            .test
            .labels
            .iter()
            .filter(|&&l| usize::from(l) == label)
            .count();
        assert_eq!((train, test), (5000, 1000), "class {class}");
    }
    // Real photos: the mean pixel is mid-grey-ish, not 0 or 255 (catches a
    // decode that silently produced blank images).
    let mean = first
        .train
        .images
        .iter()
        .map(|&p| f64::from(p))
        .sum::<f64>()
        / first.train.images.len() as f64;
    assert!((100.0..160.0).contains(&mean), "mean pixel {mean}");

    let t = Instant::now();
    let second = load(&source, cache.path(), &log).unwrap();
    let second_s = t.elapsed().as_secs_f64();
    println!(
        "shared JPEG archive: first load {first_s:.2} s, second (cached) load {second_s:.2} s"
    );
    assert_eq!(second.label, JPEG_COPY_LABEL);
    assert!(second.train == first.train && second.test == first.test);
    assert!(second_s < 5.0, "cached load took {second_s:.2} s");
}
