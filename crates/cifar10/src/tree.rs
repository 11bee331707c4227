//! A read-only file tree that is either a directory on disk or the contents of
//! a `.tar.gz` held in memory, so that layout detection and decoding are
//! written once for both forms.
//!
//! Paths inside a tree are relative, `/`-separated and never contain `.` or
//! `..`; the root is the empty string.
use crate::DataError;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

/// One child of a directory in a [`Tree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub name: String,
    pub is_dir: bool,
}

pub(crate) enum Tree {
    /// Files are read from disk on demand.
    Dir { root: PathBuf },
    /// All regular files of an archive, read into memory up front (archives
    /// are read sequentially once; decoding then runs in parallel from memory).
    Archive {
        path: PathBuf,
        files: BTreeMap<String, Vec<u8>>,
        dirs: BTreeSet<String>,
    },
}

/// `a/b` with the empty root handled.
pub(crate) fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}/{b}")
    }
}

/// Names that are metadata of other tools rather than data: dot-files
/// (`.DS_Store`, macOS `._x` resource forks) and macOS zip/tar litter.
pub(crate) fn is_ignorable(name: &str) -> bool {
    name.starts_with('.') || name == "__MACOSX"
}

impl Tree {
    /// The location of `rel` as shown to the user: for an archive member this
    /// is `<archive>/<member>`, which names both.
    pub fn display_path(&self, rel: &str) -> PathBuf {
        let base = match self {
            Tree::Dir { root } => root,
            Tree::Archive { path, .. } => path,
        };
        if rel.is_empty() {
            base.clone()
        } else {
            base.join(rel)
        }
    }

    pub fn is_file(&self, rel: &str) -> bool {
        match self {
            Tree::Dir { root } => root.join(rel).is_file(),
            Tree::Archive { files, .. } => files.contains_key(rel),
        }
    }

    pub fn is_dir(&self, rel: &str) -> bool {
        match self {
            Tree::Dir { root } => root.join(rel).is_dir(),
            Tree::Archive { dirs, .. } => rel.is_empty() || dirs.contains(rel),
        }
    }

    /// Children of directory `rel`, sorted by name (byte order).
    pub fn list_dir(&self, rel: &str) -> Result<Vec<Entry>, DataError> {
        let mut out = match self {
            Tree::Dir { root } => {
                let dir = if rel.is_empty() {
                    root.clone()
                } else {
                    root.join(rel)
                };
                let rd = std::fs::read_dir(&dir)
                    .map_err(|e| DataError::io(&dir, "listing directory", e))?;
                let mut out = Vec::new();
                for item in rd {
                    let item = item.map_err(|e| DataError::io(&dir, "listing directory", e))?;
                    let name = item.file_name().into_string().map_err(|raw| {
                        DataError::UnexpectedEntry {
                            path: item.path(),
                            reason: format!("file name {raw:?} is not valid UTF-8"),
                        }
                    })?;
                    // Follows symlinks, so a linked class folder or image works.
                    let is_dir = item.path().is_dir();
                    out.push(Entry { name, is_dir });
                }
                out
            }
            Tree::Archive { files, dirs, .. } => {
                let prefix = if rel.is_empty() {
                    String::new()
                } else {
                    format!("{rel}/")
                };
                let mut seen = BTreeMap::new();
                let children = |key: &String| -> Option<(String, bool)> {
                    let rest = key.strip_prefix(&prefix)?;
                    Some(match rest.split_once('/') {
                        Some((first, _)) => (first.to_string(), true),
                        None => (rest.to_string(), false),
                    })
                };
                for key in dirs
                    .range(prefix.clone()..)
                    .take_while(|k| k.starts_with(&prefix))
                {
                    if let Some((name, _)) = children(key) {
                        if !name.is_empty() {
                            seen.insert(name, true);
                        }
                    }
                }
                for key in files
                    .range(prefix.clone()..)
                    .map(|(k, _)| k)
                    .take_while(|k| k.starts_with(&prefix))
                {
                    if let Some((name, is_dir)) = children(key) {
                        seen.entry(name).or_insert(is_dir);
                    }
                }
                seen.into_iter()
                    .map(|(name, is_dir)| Entry { name, is_dir })
                    .collect()
            }
        };
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Contents of file `rel`.
    pub fn read(&self, rel: &str) -> Result<Cow<'_, [u8]>, DataError> {
        match self {
            Tree::Dir { root } => {
                let p = root.join(rel);
                std::fs::read(&p)
                    .map(Cow::Owned)
                    .map_err(|e| DataError::io(&p, "reading", e))
            }
            Tree::Archive { files, .. } => files
                .get(rel)
                .map(|v| Cow::Borrowed(v.as_slice()))
                .ok_or_else(|| {
                    DataError::io(
                        self.display_path(rel),
                        "reading archive member",
                        std::io::ErrorKind::NotFound.into(),
                    )
                }),
        }
    }
}

/// Opens a `.tar.gz` (or plain `.tar`) as a reader of the tar stream,
/// deciding by the file's first bytes rather than its name.
pub(crate) fn open_tar(path: &Path) -> Result<tar::Archive<Box<dyn Read>>, DataError> {
    let bad = |message: String| DataError::BadArchive {
        path: path.to_path_buf(),
        message,
    };
    let mut file = File::open(path).map_err(|e| DataError::io(path, "opening", e))?;
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DataError::io(path, "reading", e)),
        }
    }
    let file = File::open(path).map_err(|e| DataError::io(path, "opening", e))?;
    let reader: Box<dyn Read> = if n >= 2 && head[..2] == [0x1f, 0x8b] {
        Box::new(flate2::read::GzDecoder::new(BufReader::with_capacity(
            1 << 20,
            file,
        )))
    } else if n == 512 && &head[257..262] == b"ustar" {
        Box::new(BufReader::with_capacity(1 << 20, file))
    } else {
        return Err(bad("neither gzip-compressed nor a tar file".into()));
    };
    Ok(tar::Archive::new(reader))
}

/// Normalises a member path to the tree form; `None` for the root itself.
fn normalise(path: &Path) -> Result<Option<String>, String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => parts.push(
                s.to_str()
                    .ok_or_else(|| format!("member name {s:?} is not valid UTF-8"))?,
            ),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                return Err(format!(
                    "member {} escapes the archive with `..`",
                    path.display()
                ))
            }
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// Reads every regular file of the archive at `path` into memory.
pub(crate) fn read_archive(path: &Path) -> Result<Tree, DataError> {
    let bad = |message: String| DataError::BadArchive {
        path: path.to_path_buf(),
        message,
    };
    let mut archive = open_tar(path)?;
    let mut files = BTreeMap::new();
    let mut dirs = BTreeSet::new();
    let entries = archive.entries().map_err(|e| bad(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let raw = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let Some(rel) = normalise(&raw).map_err(bad)? else {
            continue;
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            dirs.insert(rel);
        } else if kind.is_file() {
            let mut buf =
                Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 28));
            entry
                .read_to_end(&mut buf)
                .map_err(|e| bad(format!("reading member {rel}: {e}")))?;
            // Every ancestor is a directory even when the archive has no entry for it.
            let mut cut = rel.as_str();
            while let Some((parent, _)) = cut.rsplit_once('/') {
                dirs.insert(parent.to_string());
                cut = parent;
            }
            files.insert(rel, buf);
        }
        // Links, devices and the like are not part of either layout: skipped.
    }
    Ok(Tree::Archive {
        path: path.to_path_buf(),
        files,
        dirs,
    })
}
