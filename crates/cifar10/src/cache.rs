//! The ready-to-load cache: decoded splits in one flat file, so a second load
//! costs a sequential read instead of 60,000 image decodes.
//!
//! File `<cache_dir>/cifar10-<first 16 hex of source sha256>.u8`, all integers
//! little-endian:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `CIFAR10\x1a` |
//! | 4 | format version (1) |
//! | 8, 8 | train count, test count |
//! | 32 | full SHA-256 of the source (the file name holds only a prefix) |
//! | 4 + n | label length, label (UTF-8) |
//! | ... | train images (N*3072, CHW), train labels, test images, test labels |
//! | 32 | SHA-256 of everything above |
//!
//! The file is written to a temporary name in the same directory, fsynced and
//! renamed (`fileio::write_atomic`), so readers see either nothing or a
//! complete file. A file that fails any check (size, magic, version, source,
//! checksum, label range) is never used: the caller logs why and rebuilds it.
use crate::hash::hex;
use crate::{Split, CLASSES, IMAGE_BYTES};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"CIFAR10\x1a";
const VERSION: u32 = 1;
/// Header bytes before the label text.
const FIXED_HEADER: usize = 8 + 4 + 8 + 8 + 32 + 4;
/// Longer labels are certainly corruption.
const MAX_LABEL: usize = 4096;

/// What a valid cache file holds.
pub(crate) struct Cached {
    pub train: Split,
    pub test: Split,
    pub label: String,
}

pub(crate) fn path_for(cache_dir: &Path, source_sha256: &str) -> PathBuf {
    let prefix = source_sha256.get(..16).unwrap_or(source_sha256);
    cache_dir.join(format!("cifar10-{prefix}.u8"))
}

fn parse_sha(source_sha256: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if source_sha256.len() != 64 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(source_sha256.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Loads the cache for `source_sha256` if it exists and passes every check.
/// A missing file is silent; an invalid one is logged and ignored.
pub(crate) fn load(cache_dir: &Path, source_sha256: &str, log: &dyn Fn(&str)) -> Option<Cached> {
    let path = path_for(cache_dir, source_sha256);
    if !path.exists() {
        return None;
    }
    match read(&path, source_sha256) {
        Ok(c) => Some(c),
        Err(why) => {
            log(&format!(
                "CIFAR-10: ignoring invalid cache file {} ({why}); rebuilding it",
                path.display()
            ));
            None
        }
    }
}

fn read(path: &Path, source_sha256: &str) -> Result<Cached, String> {
    let want_sha = parse_sha(source_sha256).ok_or("source digest is not 64 hex digits")?;
    let mut file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let file_len = file
        .metadata()
        .map_err(|e| format!("cannot stat: {e}"))?
        .len();
    let mut sha = Sha256::new();
    let mut fixed = [0u8; FIXED_HEADER];
    file.read_exact(&mut fixed)
        .map_err(|_| "shorter than its header")?;
    sha.update(fixed);
    let header = Header::parse(&fixed, &want_sha, source_sha256)?;
    header.check_len(file_len)?;
    let mut fill = |buf: &mut [u8]| -> Result<(), String> {
        file.read_exact(buf)
            .map_err(|e| format!("read failed: {e}"))?;
        sha.update(&*buf);
        Ok(())
    };
    let mut label = vec![0u8; header.label_len];
    fill(&mut label)?;
    let label = String::from_utf8(label).map_err(|_| "label is not UTF-8")?;
    // Sizes were checked against the real file length above, so allocations
    // are bounded by the file size; the conversions only fail on 32-bit targets.
    let too_big = || "too large for this platform's address space".to_string();
    let n_train = usize::try_from(header.n_train).map_err(|_| too_big())?;
    let n_test = usize::try_from(header.n_test).map_err(|_| too_big())?;
    let mut split = |n: usize| -> Result<Split, String> {
        let mut images = vec![0u8; n.checked_mul(IMAGE_BYTES).ok_or_else(too_big)?];
        let mut labels = vec![0u8; n];
        fill(&mut images)?;
        fill(&mut labels)?;
        Ok(Split { images, labels })
    };
    let train = split(n_train)?;
    let test = split(n_test)?;
    let mut trailer = [0u8; 32];
    file.read_exact(&mut trailer)
        .map_err(|_| "missing checksum trailer")?;
    if sha.finalize().as_slice() != trailer {
        return Err("checksum mismatch (corrupted)".into());
    }
    check_splits(&train, &test)?;
    Ok(Cached { train, test, label })
}

/// The counts a cache file's fixed header declares.
struct Header {
    n_train: u64,
    n_test: u64,
    label_len: usize,
}

impl Header {
    /// Checks the magic, the format version and the source digest (`want_sha`,
    /// `source_sha256` as given) of a fixed header, and reads its counts.
    fn parse(
        fixed: &[u8; FIXED_HEADER],
        want_sha: &[u8],
        source_sha256: &str,
    ) -> Result<Self, String> {
        let u32_at =
            |o: usize| u32::from_le_bytes([fixed[o], fixed[o + 1], fixed[o + 2], fixed[o + 3]]);
        let u64_at = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&fixed[o..o + 8]);
            u64::from_le_bytes(b)
        };
        if &fixed[..8] != MAGIC {
            return Err("not a cifar10 cache file (bad magic)".into());
        }
        if u32_at(8) != VERSION {
            return Err(format!(
                "format version {} (this build reads {VERSION})",
                u32_at(8)
            ));
        }
        if fixed[28..60] != *want_sha {
            return Err(format!(
                "built for source {}, not {source_sha256}",
                hex(&fixed[28..60])
            ));
        }
        let label_len = u32_at(60) as usize;
        if label_len > MAX_LABEL {
            return Err(format!("label length {label_len} is implausible"));
        }
        Ok(Header {
            n_train: u64_at(12),
            n_test: u64_at(20),
            label_len,
        })
    }

    /// The file's size must be what the header declares: checked before
    /// anything is allocated, since the counts come from the file.
    fn check_len(&self, file_len: u64) -> Result<(), String> {
        let record = IMAGE_BYTES as u64 + 1;
        let expected_len = self
            .n_train
            .checked_add(self.n_test)
            .and_then(|n| n.checked_mul(record))
            .and_then(|p| p.checked_add((FIXED_HEADER + self.label_len + 32) as u64));
        if expected_len != Some(file_len) {
            return Err(format!(
                "size {file_len} bytes does not match its header ({} train + {} test images); truncated?",
                self.n_train, self.n_test
            ));
        }
        Ok(())
    }
}

/// Both splits hold images, and every label is a CIFAR-10 class.
fn check_splits(train: &Split, test: &Split) -> Result<(), String> {
    if train.is_empty() || test.is_empty() {
        return Err("a split is empty".into());
    }
    if train
        .labels
        .iter()
        .chain(&test.labels)
        .any(|&l| usize::from(l) >= CLASSES.len())
    {
        return Err("a label is outside 0..=9".into());
    }
    Ok(())
}

/// Writes the cache atomically (`fileio::write_atomic`: temporary file in the
/// same directory, fsync, rename). Errors are returned as text: a failed cache
/// write never fails a load.
pub(crate) fn store(
    cache_dir: &Path,
    source_sha256: &str,
    label: &str,
    train: &Split,
    test: &Split,
) -> Result<PathBuf, String> {
    let sha_bytes = parse_sha(source_sha256).ok_or("source digest is not 64 hex digits")?;
    std::fs::create_dir_all(cache_dir)
        .map_err(|e| format!("cannot create {}: {e}", cache_dir.display()))?;
    let path = path_for(cache_dir, source_sha256);
    fileio::write_atomic(&path, |file| {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let mut sha = Sha256::new();
        let mut put = |w: &mut BufWriter<&mut File>, b: &[u8]| -> std::io::Result<()> {
            sha.update(b);
            w.write_all(b)
        };
        put(&mut w, MAGIC)?;
        put(&mut w, &VERSION.to_le_bytes())?;
        put(&mut w, &(train.len() as u64).to_le_bytes())?;
        put(&mut w, &(test.len() as u64).to_le_bytes())?;
        put(&mut w, &sha_bytes)?;
        put(&mut w, &(label.len() as u32).to_le_bytes())?;
        put(&mut w, label.as_bytes())?;
        for s in [train, test] {
            put(&mut w, &s.images)?;
            put(&mut w, &s.labels)?;
        }
        w.write_all(sha.finalize().as_slice())?;
        // Surfaces the error of the last buffered write, which a drop would hide.
        w.flush()
    })
    .map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(path)
}
