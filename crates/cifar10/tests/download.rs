//! `Source::Download` against a local HTTP server started by the test.
mod common;

use cifar10::{load, load_recognising, DataError, Source, OFFICIAL_LABEL, UNVERIFIED_BINARY_LABEL};
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How the server answers.
#[derive(Clone)]
enum Mode {
    /// 200 with the whole body.
    Full(Vec<u8>),
    /// 200 announcing the whole length, then half the body and a closed connection.
    Drop(Vec<u8>),
    /// 404.
    NotFound,
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 that counts requests.
struct Server {
    url: String,
    hits: Arc<AtomicUsize>,
    mode: Arc<Mutex<Mode>>,
}

impl Server {
    fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/cifar-10-binary.tar.gz",
            listener.local_addr().unwrap()
        );
        let hits = Arc::new(AtomicUsize::new(0));
        let mode = Arc::new(Mutex::new(mode));
        let (h, m) = (hits.clone(), mode.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                h.fetch_add(1, Ordering::SeqCst);
                let mode = m.lock().unwrap().clone();
                let _ = serve(stream, mode);
            }
        });
        Server { url, hits, mode }
    }
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn serve(mut stream: TcpStream, mode: Mode) -> std::io::Result<()> {
    // Read the request head (we serve the same file for any path).
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    match mode {
        Mode::Full(body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)?;
        }
        Mode::Drop(body) => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body[..body.len() / 2])?;
        }
        Mode::NotFound => {
            stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
        }
    }
    stream.flush()?;
    stream.shutdown(Shutdown::Both)
}

/// A small archive shaped like the official one, its MD5 and contents.
fn official_like(tmp: &Path) -> (Vec<u8>, String, Expected) {
    let data = tmp.join("src-batches");
    let expected = write_binary(&data, 5, 50);
    // The official archive also holds these two non-data files.
    std::fs::write(data.join("readme.html"), "<html></html>").unwrap();
    std::fs::write(data.join("batches.meta.txt"), cifar10::CLASSES.join("\n")).unwrap();
    let archive = tmp.join("src.tar.gz");
    tar_gz(&data, &archive, "cifar-10-batches-bin");
    let bytes = std::fs::read(&archive).unwrap();
    let md5 = md5_hex(&bytes);
    (bytes, md5, expected)
}

/// Nothing a later run could mistake for a finished download or extraction.
fn assert_nothing_trusted_left(cache: &Path) {
    let left = entries(cache);
    assert!(
        left.iter().all(|n| n == ".cifar-10-download.lock"),
        "cache dir holds {left:?}"
    );
}

#[test]
fn good_download_loads_then_uses_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let (bytes, md5, expected) = official_like(tmp.path());
    let server = Server::start(Mode::Full(bytes.clone()));
    let cache = tmp.path().join("cache");
    let source = Source::Download {
        url: server.url.clone(),
        md5: md5.to_uppercase(), // case does not matter
    };
    let log = Log::default();
    // This archive stands in for the official one: its MD5 is taken as the
    // published one.
    let d = load_recognising(&source, &cache, &md5, &log.f()).unwrap();
    expected.assert_matches(&d);
    assert_eq!(d.label, OFFICIAL_LABEL);
    assert_eq!(d.source, server.url);
    assert_eq!(d.source_sha256, sha256_hex(&bytes));
    assert_eq!(server.hits(), 1);
    assert_eq!(
        std::fs::read(cache.join("cifar-10-binary.tar.gz")).unwrap(),
        bytes
    );
    assert!(cache
        .join("cifar-10-batches-bin/data_batch_1.bin")
        .is_file());
    assert!(cache
        .join(format!("cifar10-{}.u8", &d.source_sha256[..16]))
        .is_file());
    assert!(!entries(&cache)
        .iter()
        .any(|n| n.ends_with(".part") || n.starts_with(".cifar-10-extract")));

    // Second load: no request, answered from the ready-to-load cache.
    log.clear();
    let again = load(&source, &cache, &log.f()).unwrap();
    expected.assert_matches(&again);
    assert_eq!(server.hits(), 1);
    assert!(log.contains("loaded from cache"));

    // Without the extracted folder and the cache, the verified archive is reused.
    std::fs::remove_dir_all(cache.join("cifar-10-batches-bin")).unwrap();
    std::fs::remove_file(cache.join(format!("cifar10-{}.u8", &d.source_sha256[..16]))).unwrap();
    let third = load(&source, &cache, &|_| {}).unwrap();
    expected.assert_matches(&third);
    assert_eq!(server.hits(), 1);
    assert!(cache
        .join("cifar-10-batches-bin/data_batch_1.bin")
        .is_file());
}

#[test]
fn only_a_folder_extracted_from_the_published_archive_and_unchanged_is_official() {
    let tmp = tempfile::tempdir().unwrap();
    let (bytes, md5, expected) = official_like(tmp.path());
    let server = Server::start(Mode::Full(bytes));
    let cache = tmp.path().join("cache");
    let source = Source::Download {
        url: server.url.clone(),
        md5: md5.clone(),
    };
    // An archive of another MD5 than the published one: downloaded and
    // verified against the MD5 given, but not the official release.
    let d = load(&source, &cache, &|_| {}).unwrap();
    assert_eq!(d.label, UNVERIFIED_BINARY_LABEL);
    // Taken as the published archive (its MD5 injected), it is, from the cache too.
    let d = load_recognising(&source, &cache, &md5, &|_| {}).unwrap();
    assert_eq!(d.label, OFFICIAL_LABEL);

    // The folder extracted from it, given as a directory.
    let extracted = cache.join("cifar-10-batches-bin");
    let as_dir = |dir: &std::path::Path, cache: &str| {
        let d = load_recognising(
            &Source::Path(dir.to_path_buf()),
            &tmp.path().join(cache),
            &md5,
            &|_| {},
        )
        .unwrap();
        expected.assert_matches(&d);
        d.label
    };
    assert_eq!(as_dir(&extracted, "c1"), OFFICIAL_LABEL);
    // ...its parent, in which the loader finds it, too.
    assert_eq!(as_dir(&cache, "c2"), OFFICIAL_LABEL);
    // ...but not against the real published MD5: this is not that archive.
    let d = load(
        &Source::Path(extracted.clone()),
        &tmp.path().join("c3"),
        &|_| {},
    )
    .unwrap();
    assert_eq!(d.label, UNVERIFIED_BINARY_LABEL);

    // A copy without the extraction's marker is of unknown origin.
    let copy = tmp.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for name in BATCHES {
        std::fs::copy(extracted.join(name), copy.join(name)).unwrap();
    }
    assert_eq!(as_dir(&copy, "c4"), UNVERIFIED_BINARY_LABEL);

    // A relabelled one (the marker kept, one label byte changed) is a copy.
    let batch = extracted.join("data_batch_1.bin");
    let mut b = std::fs::read(&batch).unwrap();
    b[0] = (b[0] + 1) % 10;
    std::fs::write(&batch, &b).unwrap();
    let d = load_recognising(
        &Source::Path(extracted.clone()),
        &tmp.path().join("c5"),
        &md5,
        &|_| {},
    )
    .unwrap();
    assert_eq!(d.label, UNVERIFIED_BINARY_LABEL);
    assert_eq!(d.train.labels[0], b[0]);
}

#[test]
fn corrupted_download_is_rejected_and_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let (bytes, md5, expected) = official_like(tmp.path());
    let mut corrupted = bytes.clone();
    let mid = corrupted.len() / 2;
    corrupted[mid] ^= 0xff;
    let server = Server::start(Mode::Full(corrupted.clone()));
    let cache = tmp.path().join("cache");
    let source = Source::Download {
        url: server.url.clone(),
        md5: md5.clone(),
    };
    let e = load(&source, &cache, &|_| {}).expect_err("bad MD5 must fail");
    let msg = e.to_string();
    println!("{msg}");
    assert!(matches!(e, DataError::ChecksumMismatch { .. }), "{e:?}");
    assert!(msg.contains("MD5") && msg.contains(&server.url), "{msg}");
    assert!(
        msg.contains(&md5) && msg.contains(&md5_hex(&corrupted)),
        "{msg}"
    );
    assert_nothing_trusted_left(&cache);

    // Once the server is fixed, the next run succeeds.
    server.set(Mode::Full(bytes));
    expected.assert_matches(&load(&source, &cache, &|_| {}).unwrap());
    assert_eq!(server.hits(), 2);
}

#[test]
fn dropped_connection_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let (bytes, md5, expected) = official_like(tmp.path());
    let server = Server::start(Mode::Drop(bytes.clone()));
    let cache = tmp.path().join("cache");
    let source = Source::Download {
        url: server.url.clone(),
        md5,
    };
    let e = load(&source, &cache, &|_| {}).expect_err("a cut transfer must fail");
    let msg = e.to_string();
    println!("{msg}");
    assert!(msg.contains(&server.url), "{msg}");
    assert_nothing_trusted_left(&cache);

    server.set(Mode::Full(bytes));
    expected.assert_matches(&load(&source, &cache, &|_| {}).unwrap());
}

#[test]
fn http_errors_and_unreachable_servers_name_the_url() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(Mode::NotFound);
    let cache = tmp.path().join("cache");
    let source = Source::Download {
        url: server.url.clone(),
        md5: "0".repeat(32),
    };
    let e = load(&source, &cache, &|_| {}).expect_err("404 must fail");
    assert!(matches!(e, DataError::Download { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&server.url) && e.to_string().contains("404"),
        "{e}"
    );
    assert_nothing_trusted_left(&cache);

    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/cifar-10-binary.tar.gz");
    let e = load(
        &Source::Download {
            url: url.clone(),
            md5: "0".repeat(32),
        },
        &cache,
        &|_| {},
    )
    .expect_err("refused connection must fail");
    assert!(e.to_string().contains(&url), "{e}");
}

#[test]
fn leftovers_and_bad_archives_from_earlier_runs_are_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let (bytes, md5, expected) = official_like(tmp.path());
    let server = Server::start(Mode::Full(bytes));
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(cache.join(".cifar-10-extract.999-0-0/cifar-10-batches-bin")).unwrap();
    std::fs::write(cache.join(".cifar-10-binary.tar.gz.999-0-0.part"), "half").unwrap();
    // An archive with the wrong contents under the final name is re-downloaded...
    std::fs::write(cache.join("cifar-10-binary.tar.gz"), "not the archive").unwrap();
    // ...and an extracted folder that does not come from the verified archive is replaced.
    write_binary(&cache.join("cifar-10-batches-bin"), 2, 99);
    let source = Source::Download {
        url: server.url.clone(),
        md5,
    };
    let log = Log::default();
    let d = load(&source, &cache, &log.f()).unwrap();
    expected.assert_matches(&d);
    assert_eq!(server.hits(), 1);
    assert!(log.contains("removing unfinished download"));
    assert!(log.contains("removing unfinished extraction"));
    let left = entries(&cache);
    assert!(
        !left
            .iter()
            .any(|n| n.ends_with(".part") || n.starts_with(".cifar-10-extract")),
        "{left:?}"
    );
}

#[test]
fn concurrent_runs_sharing_a_cache_download_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (bytes, md5, expected) = official_like(tmp.path());
    let server = Server::start(Mode::Full(bytes));
    let cache = tmp.path().join("cache");
    let source = Source::Download {
        url: server.url.clone(),
        md5,
    };
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| load(&source, &cache, &|_| {})))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in results {
        expected.assert_matches(&r.unwrap());
    }
    assert_eq!(server.hits(), 1, "the download lock serialises runs");
}
