//! CIFAR-10 in memory as raw `u8` arrays, from the official binary release
//! (downloaded or given as a directory / `.tar.gz`) or from an image-folder
//! copy (`train/<class>/*.png|jpg`, `test/<class>/*`).
//!
//! Every source is hashed (SHA-256) so results can name exactly which data
//! they were measured on, and so the decoded arrays can be cached under that
//! hash: the first load of a 60,000-JPEG archive decodes it, later loads read
//! one verified flat file. Copies that are not the official binary carry a
//! different [`Cifar10::label`], because lossy re-encodings change accuracy
//! and results on them must say so; data in the binary layout is the official
//! release only where its origin was verified (see [`load`]).
//!
//! No libtorch here: the training crates turn these arrays into tensors.
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

mod cache;
mod download;
mod error;
mod hash;
mod layout;
mod release;
mod tree;

pub use download::ARCHIVE_NAME;
pub use error::DataError;
use layout::{Kind, Plan};
use tree::Tree;

/// Class names in the official label order (label `i` is `CLASSES[i]`).
/// Image-folder class folders are mapped to labels by this order.
pub const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];
/// The official binary release.
pub const OFFICIAL_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/// MD5 published for [`OFFICIAL_URL`].
pub const OFFICIAL_MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";
/// sha256 of the shared JPEG copy (image-folder layout, JPEG q75): results on it are labelled JPEG_COPY_LABEL.
pub const JPEG_COPY_SHA256: &str =
    "d877bdec11f54282b92da36e9f045bd305d663b1223e3822baff39ca9ff6690a";
/// Label of results on the shared JPEG q75 copy: JPEG is lossy, so accuracy on
/// it is not comparable to plain CIFAR-10.
pub const JPEG_COPY_LABEL: &str = "CIFAR-10 (JPEG q75 copy)";
/// Label of the official binary data, verified (see [`load`]).
pub const OFFICIAL_LABEL: &str = "CIFAR-10";
/// Label of data in the official binary layout whose origin could not be
/// verified (a directory given by hand, an archive with another MD5): it may
/// be relabelled, re-encoded or otherwise changed, so it is a copy.
pub const UNVERIFIED_BINARY_LABEL: &str = "CIFAR-10 (unverified binary copy)";
/// Label of any other image-folder copy: possibly re-encoded, so not plain CIFAR-10.
pub const IMAGE_FOLDER_LABEL: &str = "CIFAR-10 (image-folder copy)";
/// Whether `label` names a copy of CIFAR-10 rather than the verified official
/// release: results on it stand in for the papers' data.
pub fn is_copy(label: &str) -> bool {
    [JPEG_COPY_LABEL, IMAGE_FOLDER_LABEL, UNVERIFIED_BINARY_LABEL].contains(&label)
}

/// Bytes per image: 3 planes (R, G, B) of 32x32.
pub const IMAGE_BYTES: usize = 3 * 32 * 32;

/// One split as raw bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Split {
    /// `len() * 3072` bytes, NCHW: per image the R plane, then G, then B, each
    /// 32x32 row-major, exactly like the official binary records.
    pub images: Vec<u8>,
    /// One label per image, `0..=9`, indexing [`CLASSES`].
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// The 3072 CHW bytes of image `i`. Panics if `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES]
    }
}

/// Sizes only: the arrays are far too large to print.
impl std::fmt::Debug for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Split")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// The loaded dataset and where it came from.
#[derive(Debug, Clone)]
pub struct Cifar10 {
    /// 50,000 images for the real dataset (small generated sets are allowed).
    pub train: Split,
    /// 10,000 images for the real dataset.
    pub test: Split,
    /// What to call this data in results: [`OFFICIAL_LABEL`],
    /// [`UNVERIFIED_BINARY_LABEL`], [`JPEG_COPY_LABEL`] or [`IMAGE_FOLDER_LABEL`].
    pub label: String,
    /// SHA-256 of the archive file, or for a directory, of the sorted relative
    /// paths and contents of the files used (see [`load`]).
    pub source_sha256: String,
    /// Human description of the source: the path or URL.
    pub source: String,
}

/// Where to get the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Download the official binary `.tar.gz` into the cache directory and
    /// check it against `md5` (hex).
    Download { url: String, md5: String },
    /// A local directory or `.tar.gz`, in the official binary or the
    /// image-folder layout (detected automatically).
    Path(PathBuf),
}

impl Source {
    /// The official download ([`OFFICIAL_URL`], [`OFFICIAL_MD5`]).
    pub fn official() -> Self {
        Source::Download {
            url: OFFICIAL_URL.to_string(),
            md5: OFFICIAL_MD5.to_string(),
        }
    }

    /// Human description: the path or URL.
    pub fn describe(&self) -> String {
        match self {
            Source::Download { url, .. } => url.clone(),
            Source::Path(p) => p.display().to_string(),
        }
    }
}

/// Loads CIFAR-10 from `source`, using `cache_dir` for the download, the
/// extracted batches and the ready-to-load cache `cifar10-<sha16>.u8`.
///
/// `log` receives progress lines (hashing, downloading, decoding, cache use or
/// rejection); it is only called from the calling thread.
///
/// For a directory source, `source_sha256` is the SHA-256 over the used files
/// sorted by `/`-separated relative path, each contributing its path, a NUL,
/// its length (u64 little-endian) and its contents. For an archive it is the
/// SHA-256 of the archive file. For a `Path` source the cache is best-effort:
/// if it cannot be written the load still succeeds (with a log line).
///
/// Data in the binary layout is labelled [`OFFICIAL_LABEL`] only when its
/// origin was verified against [`OFFICIAL_MD5`], the MD5 published for the
/// official archive: a download or a given `.tar.gz` whose MD5 is that one, or
/// a directory this crate extracted from such an archive with its batch files
/// unchanged since. Anything else in that layout is
/// [`UNVERIFIED_BINARY_LABEL`].
pub fn load(source: &Source, cache_dir: &Path, log: &dyn Fn(&str)) -> Result<Cifar10, DataError> {
    load_recognising(source, cache_dir, OFFICIAL_MD5, log)
}

/// [`load`], recognising as the official release the archive of MD5
/// `official_md5` instead of [`OFFICIAL_MD5`] (for tests, which cannot use
/// the real archive).
pub fn load_recognising(
    source: &Source,
    cache_dir: &Path,
    official_md5: &str,
    log: &dyn Fn(&str),
) -> Result<Cifar10, DataError> {
    match source {
        Source::Download { url, md5 } => download::load(url, md5, cache_dir, official_md5, log),
        Source::Path(p) => {
            if std::fs::metadata(p)
                .map_err(|e| not_found_or_io(p, e))?
                .is_dir()
            {
                load_dir(p, cache_dir, official_md5, log)
            } else {
                load_archive(p, cache_dir, official_md5, log)
            }
        }
    }
}

fn load_dir(
    path: &Path,
    cache_dir: &Path,
    official_md5: &str,
    log: &dyn Fn(&str),
) -> Result<Cifar10, DataError> {
    let source = path.display().to_string();
    let tree = Tree::Dir {
        root: path.to_path_buf(),
    };
    // Plan from names first: layout errors come before reading anything big.
    let plan = layout::plan(&tree)?;
    log(&format!(
        "CIFAR-10: reading {} files from {source}",
        plan.items().count()
    ));
    let contents = layout::read_used(&tree, &plan)?;
    let mut files: Vec<(&str, &[u8])> = plan
        .items()
        .map(|i| i.rel.as_str())
        .zip(contents.iter().map(|c| &c[..]))
        .collect();
    files.sort_by(|a, b| a.0.cmp(b.0));
    let sha = hash::sha256_of_files(files);
    let official = plan.kind == Kind::Binary
        && release::extracted_official(&tree, &plan, &contents, official_md5);
    say_if_unverified(plan.kind, official, &source, log);
    if let Some(hit) = from_cache(cache_dir, &sha, &source, official, log) {
        return Ok(hit);
    }
    finish(
        &tree, &plan, &contents, sha, source, official, cache_dir, log,
    )
}

fn load_archive(
    path: &Path,
    cache_dir: &Path,
    official_md5: &str,
    log: &dyn Fn(&str),
) -> Result<Cifar10, DataError> {
    let source = path.display().to_string();
    log(&format!("CIFAR-10: hashing {source}"));
    let (md5, sha) = hash::md5_and_sha256_file(path)?;
    let official = md5.eq_ignore_ascii_case(official_md5.trim());
    if let Some(hit) = from_cache(cache_dir, &sha, &source, official, log) {
        say_if_unverified_label(&hit.label, &source, log);
        return Ok(hit);
    }
    log(&format!("CIFAR-10: reading archive {source}"));
    let tree = tree::read_archive(path)?;
    let plan = layout::plan(&tree)?;
    say_if_unverified(plan.kind, official, &source, log);
    let contents = layout::read_used(&tree, &plan)?;
    finish(
        &tree, &plan, &contents, sha, source, official, cache_dir, log,
    )
}

/// Says why binary-layout data is labelled a copy, and what would make it the
/// official release.
fn say_if_unverified(kind: Kind, official: bool, source: &str, log: &dyn Fn(&str)) {
    if kind == Kind::Binary && !official {
        say_if_unverified_label(UNVERIFIED_BINARY_LABEL, source, log);
    }
}

fn say_if_unverified_label(label: &str, source: &str, log: &dyn Fn(&str)) {
    if label == UNVERIFIED_BINARY_LABEL {
        log(&format!(
            "CIFAR-10: {source} is in the official binary layout, but not verifiably the official \
             release (an archive whose MD5 is the published {OFFICIAL_MD5}, or a folder extracted \
             from one by this program): labelled \"{UNVERIFIED_BINARY_LABEL}\", and results on it \
             are at most `analogue`. Give that archive (or no --data, to download it) for `paper` results"
        ));
    }
}

fn not_found_or_io(path: &Path, e: std::io::Error) -> DataError {
    if e.kind() == std::io::ErrorKind::NotFound {
        DataError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        DataError::io(path, "inspecting", e)
    }
}

fn from_cache(
    cache_dir: &Path,
    sha: &str,
    source: &str,
    official: bool,
    log: &dyn Fn(&str),
) -> Option<Cifar10> {
    let c = cache::load(cache_dir, sha, log)?;
    log(&format!(
        "CIFAR-10: loaded from cache {}",
        cache::path_for(cache_dir, sha).display()
    ));
    Some(Cifar10 {
        train: c.train,
        test: c.test,
        label: relabel(c.label, official),
        source_sha256: sha.to_string(),
        source: source.to_string(),
    })
}

/// What to call data of layout `kind` whose source hashes to `sha`;
/// `official`: whether its origin was verified (see [`load`]).
fn label_for(kind: Kind, sha: &str, official: bool) -> &'static str {
    match kind {
        Kind::Binary if official => OFFICIAL_LABEL,
        Kind::Binary => UNVERIFIED_BINARY_LABEL,
        Kind::Folder if sha == JPEG_COPY_SHA256 => JPEG_COPY_LABEL,
        Kind::Folder => IMAGE_FOLDER_LABEL,
    }
}

/// A cached label, for this load: whether binary data is the official release
/// depends on where it was loaded from this time (the cache is keyed by the
/// contents, and caches written before origins were verified say
/// [`OFFICIAL_LABEL`] for any binary data).
pub(crate) fn relabel(cached: String, official: bool) -> String {
    if cached == OFFICIAL_LABEL || cached == UNVERIFIED_BINARY_LABEL {
        label_for(Kind::Binary, "", official).to_string()
    } else {
        cached
    }
}

/// Decodes, labels and caches a planned source (the common tail of all
/// sources: each passes what it found out, hence the many arguments).
#[allow(clippy::too_many_arguments)]
fn finish(
    tree: &Tree,
    plan: &Plan,
    contents: &[Cow<'_, [u8]>],
    sha: String,
    source: String,
    official: bool,
    cache_dir: &Path,
    log: &dyn Fn(&str),
) -> Result<Cifar10, DataError> {
    log(&format!(
        "CIFAR-10: decoding {} files from {source}",
        contents.len()
    ));
    let (train, test) = layout::decode(tree, plan, contents)?;
    let label = label_for(plan.kind, &sha, official).to_string();
    match cache::store(cache_dir, &sha, &label, &train, &test) {
        Ok(p) => log(&format!("CIFAR-10: wrote cache {}", p.display())),
        Err(e) => log(&format!(
            "CIFAR-10: could not write the cache (the load itself succeeded): {e}"
        )),
    }
    Ok(Cifar10 {
        train,
        test,
        label,
        source_sha256: sha,
        source,
    })
}

/// A fresh name in `dir` for a temporary file or folder: unique per process
/// and call, hidden, and recognisable by `prefix` for cleanup. Used for the
/// download's `.part` file and the extraction folder, which the next run
/// finds and deletes by prefix; single files written in one go use
/// `fileio::write_atomic` instead.
pub(crate) fn temp_name(dir: &Path, prefix: &str, suffix: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    dir.join(format!(
        "{prefix}.{}-{n}-{nanos}{suffix}",
        std::process::id()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_binary_labels_follow_this_loads_origin() {
        // A cache written before origins were verified says "CIFAR-10".
        for cached in [OFFICIAL_LABEL, UNVERIFIED_BINARY_LABEL] {
            assert_eq!(relabel(cached.into(), false), UNVERIFIED_BINARY_LABEL);
            assert_eq!(relabel(cached.into(), true), OFFICIAL_LABEL);
        }
        for copy in [JPEG_COPY_LABEL, IMAGE_FOLDER_LABEL] {
            assert_eq!(relabel(copy.into(), true), copy);
        }
        assert!(!is_copy(OFFICIAL_LABEL) && is_copy(UNVERIFIED_BINARY_LABEL));
        assert!(!is_copy("ImageNet image folder (/data/imagenet)"));
    }
}
