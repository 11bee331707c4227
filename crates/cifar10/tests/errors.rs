//! Every kind of bad input fails with a message that names the offending file
//! (or folder) and says what is wrong.
mod common;

use cifar10::{DataError, Source};
use common::*;
use std::fs;
use std::path::Path;

fn err(path: &Path, cache: &Path) -> (String, DataError) {
    let e = cifar10::load(&Source::Path(path.to_path_buf()), cache, &|_| {})
        .expect_err("load should fail");
    println!("error: {e}");
    (e.to_string(), e)
}

#[test]
fn label_out_of_range_names_file_and_record() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    write_binary(&data, 3, 20);
    let p = data.join("data_batch_3.bin");
    let mut b = fs::read(&p).unwrap();
    b[2 * 3073] = 10;
    fs::write(&p, b).unwrap();
    let (msg, e) = err(&data, tmp.path());
    assert!(
        matches!(
            e,
            DataError::LabelOutOfRange {
                record: 2,
                label: 10,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        msg.contains("data_batch_3.bin") && msg.contains("record 2") && msg.contains("label 10"),
        "{msg}"
    );
}

#[test]
fn batch_size_not_a_multiple_of_the_record_size() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    write_binary(&data, 3, 21);
    let p = data.join("data_batch_5.bin");
    let b = fs::read(&p).unwrap();
    fs::write(&p, &b[..b.len() - 100]).unwrap();
    let (msg, e) = err(&data, tmp.path());
    assert!(matches!(e, DataError::BadBatch { .. }), "{e:?}");
    assert!(
        msg.contains("data_batch_5.bin") && msg.contains("3073"),
        "{msg}"
    );
}

#[test]
fn batch_cut_at_a_record_boundary_is_reported_as_truncated() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    write_binary(&data, 3, 22);
    let p = data.join("test_batch.bin");
    let b = fs::read(&p).unwrap();
    fs::write(&p, &b[..3073]).unwrap();
    let (msg, _) = err(&data, tmp.path());
    assert!(
        msg.contains("test_batch.bin") && msg.contains("holds 1 records"),
        "{msg}"
    );
    // An empty batch file too.
    fs::write(&p, b"").unwrap();
    let (msg, _) = err(&data, tmp.path());
    assert!(
        msg.contains("test_batch.bin") && msg.contains("size 0"),
        "{msg}"
    );
}

#[test]
fn missing_batch_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    write_binary(&data, 1, 23);
    fs::remove_file(data.join("data_batch_4.bin")).unwrap();
    let (msg, e) = err(&data, tmp.path());
    assert!(matches!(e, DataError::MissingBatch { .. }), "{e:?}");
    assert!(msg.contains("data_batch_4.bin"), "{msg}");
}

#[test]
fn missing_class_folder_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("f");
    write_folder(&root, 1, 1, Format::Png, 24);
    fs::remove_dir_all(root.join("test/dog")).unwrap();
    let (msg, e) = err(&root, tmp.path());
    assert!(matches!(e, DataError::MissingClass { .. }), "{e:?}");
    assert!(
        msg.contains(&format!("test{}dog", std::path::MAIN_SEPARATOR)),
        "{msg}"
    );
}

#[test]
fn unknown_class_folder_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("f");
    write_folder(&root, 1, 1, Format::Png, 25);
    fs::create_dir(root.join("train/unicorn")).unwrap();
    let (msg, e) = err(&root, tmp.path());
    assert!(matches!(e, DataError::UnknownClass { .. }), "{e:?}");
    assert!(msg.contains("unicorn"), "{msg}");
}

#[test]
fn stray_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("f");
    write_folder(&root, 1, 1, Format::Png, 26);
    fs::write(root.join("train/cat/notes.txt"), "x").unwrap();
    let (msg, e) = err(&root, tmp.path());
    assert!(matches!(e, DataError::UnexpectedEntry { .. }), "{e:?}");
    assert!(msg.contains("notes.txt"), "{msg}");
    fs::remove_file(root.join("train/cat/notes.txt")).unwrap();
    fs::write(root.join("test/labels.csv"), "x").unwrap();
    let (msg, _) = err(&root, tmp.path());
    assert!(msg.contains("labels.csv"), "{msg}");
}

#[test]
fn undecodable_image_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("f");
    write_folder(&root, 2, 1, Format::Png, 27);
    fs::write(root.join("train/frog/a.png"), b"definitely not a png").unwrap();
    let (msg, e) = err(&root, tmp.path());
    assert!(matches!(e, DataError::UndecodableImage { .. }), "{e:?}");
    assert!(
        msg.contains(&format!("frog{}a.png", std::path::MAIN_SEPARATOR)),
        "{msg}"
    );
}

#[test]
fn wrong_image_size_names_file_and_size() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("f");
    write_folder(&root, 1, 1, Format::Jpeg, 28);
    image::RgbImage::new(16, 24)
        .save(root.join("test/horse/b.jpg"))
        .unwrap();
    let (msg, e) = err(&root, tmp.path());
    assert!(
        matches!(
            e,
            DataError::WrongImageSize {
                width: 16,
                height: 24,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(msg.contains("b.jpg") && msg.contains("16x24"), "{msg}");
}

#[test]
fn missing_split_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("f");
    write_folder(&root, 1, 1, Format::Png, 29);
    fs::remove_dir_all(root.join("test")).unwrap();
    let (msg, e) = err(&root, tmp.path());
    assert!(
        matches!(e, DataError::MissingSplit { split: "test", .. }),
        "{e:?}"
    );
    assert!(msg.contains("test"), "{msg}");
}

#[test]
fn empty_split_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("f");
    write_folder(&root, 1, 0, Format::Png, 30);
    let (msg, e) = err(&root, tmp.path());
    assert!(
        matches!(e, DataError::EmptySplit { split: "test", .. }),
        "{e:?}"
    );
    assert!(
        msg.contains(&root.join("test").display().to_string()),
        "{msg}"
    );
}

#[test]
fn neither_layout_and_missing_paths_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("random-stuff");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("hello.txt"), "hi").unwrap();
    let (msg, e) = err(&dir, tmp.path());
    assert!(matches!(e, DataError::UnrecognizedLayout { .. }), "{e:?}");
    assert!(msg.contains("random-stuff"), "{msg}");

    let missing = tmp.path().join("no-such-dataset");
    let (msg, e) = err(&missing, tmp.path());
    assert!(matches!(e, DataError::NotFound { .. }), "{e:?}");
    assert!(msg.contains("no-such-dataset"), "{msg}");

    // A tar.gz of an unrelated folder.
    let other = tmp.path().join("other.tar.gz");
    tar_gz(&dir, &other, "stuff");
    let (msg, e) = err(&other, tmp.path());
    assert!(matches!(e, DataError::UnrecognizedLayout { .. }), "{e:?}");
    assert!(msg.contains("other.tar.gz"), "{msg}");
}

#[test]
fn broken_archives_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("f");
    write_folder(&root, 2, 1, Format::Png, 31);
    let good = tmp.path().join("good.tar.gz");
    tar_gz(&root, &good, "top");
    let bytes = fs::read(&good).unwrap();
    let cut = tmp.path().join("cut.tar.gz");
    fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (msg, e) = err(&cut, tmp.path());
    assert!(matches!(e, DataError::BadArchive { .. }), "{e:?}");
    assert!(msg.contains("cut.tar.gz"), "{msg}");

    let text = tmp.path().join("notes.tar.gz");
    fs::write(&text, "plain text, not an archive").unwrap();
    let (msg, e) = err(&text, tmp.path());
    assert!(matches!(e, DataError::BadArchive { .. }), "{e:?}");
    assert!(msg.contains("notes.tar.gz"), "{msg}");
}

#[test]
fn errors_inside_an_archive_name_archive_and_member() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("f");
    write_folder(&root, 2, 1, Format::Png, 32);
    fs::write(root.join("train/deer/10.png"), b"garbage").unwrap();
    let archive = tmp.path().join("broken-images.tar.gz");
    tar_gz(&root, &archive, "top");
    let (msg, e) = err(&archive, tmp.path());
    assert!(matches!(e, DataError::UndecodableImage { .. }), "{e:?}");
    assert!(
        msg.contains("broken-images.tar.gz") && msg.contains("top/train/deer/10.png"),
        "{msg}"
    );
}
