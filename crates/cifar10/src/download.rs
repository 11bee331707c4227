//! `Source::Download`: fetch the official archive into the cache directory,
//! verify it, extract it, and load the batches.
//!
//! Crash safety: the archive is streamed to a `.part` file and renamed to its
//! final name only after its MD5 matched; extraction goes to a temporary
//! directory that is renamed to `cifar-10-batches-bin/` only once complete.
//! So whatever an interrupted run leaves behind is either complete and
//! verified, or a temporary name that no run trusts (and the next run
//! deletes). A lock file serialises concurrent runs sharing a cache directory,
//! so two experiments started together download once.
use crate::hash::hex;
use crate::layout::{self, Kind, BATCHES_DIR};
use crate::release::Marker;
use crate::tree::Tree;
use crate::{cache, finish, temp_name, Cifar10, DataError};
use fileio::sync_dir;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Name of the archive inside the cache directory.
pub const ARCHIVE_NAME: &str = "cifar-10-binary.tar.gz";
const LOCK_NAME: &str = ".cifar-10-download.lock";
/// Prefixes of temporary names; leftovers from a killed run are removed.
const PART_PREFIX: &str = ".cifar-10-binary.tar.gz";
const EXTRACT_PREFIX: &str = ".cifar-10-extract";

/// Removes a temporary file or directory when dropped, unless disarmed.
struct TempGuard {
    path: Option<PathBuf>,
}

impl TempGuard {
    fn new(path: PathBuf) -> Self {
        Self { path: Some(path) }
    }
    fn disarm(&mut self) {
        self.path = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            if p.is_dir() {
                let _ = fs::remove_dir_all(&p);
            } else {
                let _ = fs::remove_file(&p);
            }
        }
    }
}

/// Downloads (unless already there and verified against `md5`) and loads the
/// archive at `url`; it is the official release when `md5`, which it was
/// verified against, is `official_md5`, the published one.
pub(crate) fn load(
    url: &str,
    md5: &str,
    cache_dir: &Path,
    official_md5: &str,
    log: &dyn Fn(&str),
) -> Result<Cifar10, DataError> {
    fs::create_dir_all(cache_dir).map_err(|e| DataError::io(cache_dir, "creating directory", e))?;
    let lock_path = cache_dir.join(LOCK_NAME);
    let lock =
        File::create(&lock_path).map_err(|e| DataError::io(&lock_path, "creating lock file", e))?;
    lock.lock()
        .map_err(|e| DataError::io(&lock_path, "locking", e))?;
    remove_leftovers(cache_dir, log);

    let archive = cache_dir.join(ARCHIVE_NAME);
    let sha = ensure_archive(url, md5, &archive, log)?;
    let official = md5.trim().eq_ignore_ascii_case(official_md5.trim());
    if let Some(c) = cache::load(cache_dir, &sha, log) {
        log(&format!(
            "CIFAR-10: loaded from cache {}",
            cache::path_for(cache_dir, &sha).display()
        ));
        return Ok(Cifar10 {
            train: c.train,
            test: c.test,
            label: crate::relabel(c.label, official),
            source_sha256: sha,
            source: url.to_string(),
        });
    }
    let batches = ensure_extracted(&archive, md5, &sha, cache_dir, log)?;
    let tree = Tree::Dir { root: batches };
    let plan = layout::plan(&tree)?;
    if plan.kind != Kind::Binary {
        return Err(DataError::UnrecognizedLayout { path: archive });
    }
    let contents = layout::read_used(&tree, &plan)?;
    finish(
        &tree,
        &plan,
        &contents,
        sha,
        url.to_string(),
        official,
        cache_dir,
        log,
    )
}

/// Deletes temporary files and folders of earlier runs that died mid-way.
/// Only called under the lock, so none of them belongs to a live run.
fn remove_leftovers(cache_dir: &Path, log: &dyn Fn(&str)) {
    let Ok(rd) = fs::read_dir(cache_dir) else {
        return;
    };
    for item in rd.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        let p = item.path();
        if name.starts_with(PART_PREFIX) && name.ends_with(".part") {
            log(&format!(
                "CIFAR-10: removing unfinished download {}",
                p.display()
            ));
            let _ = fs::remove_file(&p);
        } else if name.starts_with(EXTRACT_PREFIX) {
            log(&format!(
                "CIFAR-10: removing unfinished extraction {}",
                p.display()
            ));
            let _ = fs::remove_dir_all(&p);
        }
    }
}

/// Makes sure `archive` holds the file with the expected MD5, downloading it
/// if needed. Returns the archive's SHA-256.
fn ensure_archive(
    url: &str,
    md5: &str,
    archive: &Path,
    log: &dyn Fn(&str),
) -> Result<String, DataError> {
    let expected = md5.trim().to_ascii_lowercase();
    if archive.is_file() {
        log(&format!("CIFAR-10: verifying {}", archive.display()));
        let (have_md5, sha) = crate::hash::md5_and_sha256_file(archive)?;
        if have_md5 == expected {
            return Ok(sha);
        }
        log(&format!(
            "CIFAR-10: {} has MD5 {have_md5}, expected {expected}; downloading it again",
            archive.display()
        ));
        fs::remove_file(archive)
            .map_err(|e| DataError::io(archive, "removing stale archive", e))?;
    }
    let dir = archive.parent().unwrap_or(Path::new("."));
    let part = temp_name(dir, PART_PREFIX, ".part");
    let mut guard = TempGuard::new(part.clone());
    log(&format!(
        "CIFAR-10: downloading {url} to {}",
        archive.display()
    ));
    let (have_md5, sha) = fetch(url, &part, log).map_err(|message| DataError::Download {
        url: url.to_string(),
        path: archive.to_path_buf(),
        message,
    })?;
    if have_md5 != expected {
        // `guard` deletes the bad download.
        return Err(DataError::ChecksumMismatch {
            url: url.to_string(),
            path: archive.to_path_buf(),
            expected,
            actual: have_md5,
        });
    }
    fs::rename(&part, archive)
        .map_err(|e| DataError::io(archive, "renaming finished download", e))?;
    guard.disarm();
    sync_dir(dir);
    Ok(sha)
}

/// Streams `url` into `part`, fsyncs it, and returns (hex MD5, hex SHA-256).
fn fetch(url: &str, part: &Path, log: &dyn Fn(&str)) -> Result<(String, String), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_recv_body(Some(Duration::from_secs(3600)))
        .build()
        .into();
    let response = agent.get(url).call().map_err(|e| e.to_string())?;
    let total: Option<u64> = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut body = response.into_body().into_reader();
    let file = File::create(part).map_err(|e| format!("cannot create {}: {e}", part.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let (mut md5, mut sha) = (Md5::new(), Sha256::new());
    let mut buf = vec![0u8; 1 << 16];
    let (mut done, mut next_report) = (0u64, 10u64);
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("transfer interrupted after {done} bytes: {e}")),
        };
        md5.update(&buf[..n]);
        sha.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
        done += n as u64;
        if let Some(t) = total.filter(|&t| t > 0) {
            let pct = done.saturating_mul(100) / t;
            if pct >= next_report {
                log(&format!("CIFAR-10: downloaded {pct}% ({} MB)", done >> 20));
                next_report = pct / 10 * 10 + 10;
            }
        }
    }
    if let Some(t) = total {
        if done != t {
            return Err(format!("received {done} of {t} bytes"));
        }
    }
    let file = out
        .into_inner()
        .map_err(|e| format!("cannot write {}: {}", part.display(), e.error()))?;
    file.sync_all()
        .map_err(|e| format!("cannot sync {}: {e}", part.display()))?;
    Ok((
        hex(md5.finalize().as_slice()),
        hex(sha.finalize().as_slice()),
    ))
}

/// Returns `<cache_dir>/cifar-10-batches-bin`, extracting the archive (of
/// MD5 `md5`, SHA-256 `sha`) there unless a complete extraction of this very
/// archive already exists. The folder's marker (`release::Marker`) says which
/// archive it came from, and what its batch files were.
fn ensure_extracted(
    archive: &Path,
    md5: &str,
    sha: &str,
    cache_dir: &Path,
    log: &dyn Fn(&str),
) -> Result<PathBuf, DataError> {
    let target = cache_dir.join(BATCHES_DIR);
    if target.is_dir() {
        if Marker::read(&target).is_some_and(|m| m.archive_sha256 == sha) {
            return Ok(target);
        }
        log(&format!(
            "CIFAR-10: {} does not come from {}; extracting again",
            target.display(),
            archive.display()
        ));
        fs::remove_dir_all(&target)
            .map_err(|e| DataError::io(&target, "removing stale extraction", e))?;
    }
    log(&format!(
        "CIFAR-10: extracting {} to {}",
        archive.display(),
        target.display()
    ));
    let tmp = temp_name(cache_dir, EXTRACT_PREFIX, "");
    let _guard = TempGuard::new(tmp.clone());
    fs::create_dir(&tmp).map_err(|e| DataError::io(&tmp, "creating directory", e))?;
    let mut tar = crate::tree::open_tar(archive)?;
    tar.unpack(&tmp).map_err(|e| DataError::BadArchive {
        path: archive.to_path_buf(),
        message: format!("extracting: {e}"),
    })?;
    // The official archive holds cifar-10-batches-bin/; accept files at the root too.
    let inner = if tmp.join(BATCHES_DIR).is_dir() {
        tmp.join(BATCHES_DIR)
    } else {
        tmp.clone()
    };
    if !inner.join("data_batch_1.bin").is_file() {
        return Err(DataError::UnrecognizedLayout {
            path: archive.to_path_buf(),
        });
    }
    Marker::write(&inner, md5, sha)?;
    for entry in fs::read_dir(&inner)
        .map_err(|e| DataError::io(&inner, "listing directory", e))?
        .flatten()
    {
        // Data must be on disk before the rename publishes the folder.
        if let Ok(f) = File::open(entry.path()) {
            let _ = f.sync_all();
        }
    }
    sync_dir(&inner);
    fs::rename(&inner, &target)
        .map_err(|e| DataError::io(&target, "renaming extracted folder", e))?;
    sync_dir(cache_dir);
    Ok(target)
}
