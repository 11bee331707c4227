//! Scanning `<root>/train/<wnid>/*` and `<root>/val/<wnid>/*` into sorted
//! `(path, label)` lists.
//!
//! Only names are read here (plus a `stat` for symbolic links); images are
//! decoded later, batch by batch, so that the 1.28 million training images
//! of ImageNet never have to be resident in memory.
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::FolderError;

/// Extensions accepted as images (compared case-insensitively): ImageNet's
/// own files are `.JPEG`; `.jpg` and `.png` cover re-encoded copies.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpeg", "jpg", "png"];

/// An image-folder ImageNet: the class list and the training and validation
/// images with their labels.
///
/// Labels are indices into [`ImageFolder::classes`], the wnids of `train/`
/// sorted byte-wise, which is the usual ImageNet label order (n01440764 is
/// label 0). Validation folders are mapped onto the same indices by name, so
/// a `val/` holding only some classes still gets the training labels.
#[derive(Clone, Debug)]
pub struct ImageFolder {
    /// The folder that holds `train/` and `val/`.
    pub root: PathBuf,
    /// Class folder names of `train/` (the wnids), sorted.
    pub classes: Vec<String>,
    /// Training images, class by class in label order, files sorted by name
    /// within a class.
    pub train: Vec<(PathBuf, u16)>,
    /// Validation images, ordered like `train`.
    pub val: Vec<(PathBuf, u16)>,
}

impl ImageFolder {
    /// Scans `root`.
    ///
    /// Errors (each naming the offending path): missing `train/` or `val/`,
    /// a split without class folders, a non-folder directly inside a split, a
    /// `val/` class that `train/` lacks, an empty class folder, and any file
    /// in a class folder that is not `.jpeg`/`.jpg`/`.png` (case-insensitive).
    /// Names starting with `.` (`.DS_Store`, `._x.JPEG` resource forks,
    /// hidden folders) are ignored everywhere. Files are sorted by name within
    /// a class, so the lists (and hence every seeded batch) are the same on
    /// every machine. Symbolic links are followed.
    ///
    /// Files are not opened here: an undecodable file is reported by the
    /// batch function that first decodes it.
    pub fn open(root: &Path) -> Result<Self, FolderError> {
        let train_dir = split_dir(root, "train")?;
        let val_dir = split_dir(root, "val")?;

        let train_classes = class_folders(&train_dir)?;
        if train_classes.len() > usize::from(u16::MAX) + 1 {
            return Err(FolderError::TooManyClasses {
                path: train_dir,
                count: train_classes.len(),
            });
        }
        let classes: Vec<String> = train_classes.iter().map(|(name, _)| name.clone()).collect();

        let val_classes = class_folders(&val_dir)?;
        let mut val_labelled = Vec::with_capacity(val_classes.len());
        for (name, path) in val_classes {
            match classes.binary_search(&name) {
                Ok(label) => val_labelled.push((path, label as u16)),
                Err(_) => return Err(FolderError::UnknownValClass { path, class: name }),
            }
        }
        let train_labelled: Vec<(PathBuf, u16)> = train_classes
            .into_iter()
            .enumerate()
            .map(|(label, (_, path))| (path, label as u16))
            .collect();

        Ok(ImageFolder {
            root: root.to_path_buf(),
            classes,
            train: list_images(&train_labelled)?,
            val: list_images(&val_labelled)?,
        })
    }

    /// Number of classes (1000 for ImageNet).
    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// The label of class folder `name`, if `train/` has it.
    pub fn label_of(&self, name: &str) -> Option<u16> {
        self.classes
            .binary_search_by(|c| c.as_str().cmp(name))
            .ok()
            .map(|i| i as u16)
    }
}

/// `<root>/<split>`, which must be a folder.
fn split_dir(root: &Path, split: &'static str) -> Result<PathBuf, FolderError> {
    let path = root.join(split);
    match fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => Ok(path),
        Ok(_) => Err(FolderError::MissingSplit { path, split }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(FolderError::MissingSplit { path, split })
        }
        Err(e) => Err(FolderError::io(&path, "reading metadata", e)),
    }
}

/// Non-hidden entries of `dir`, sorted by name, each with whether it is a
/// folder (following symbolic links).
fn entries(dir: &Path) -> Result<Vec<(OsString, PathBuf, bool)>, FolderError> {
    let read = fs::read_dir(dir).map_err(|e| FolderError::io(dir, "listing folder", e))?;
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| FolderError::io(dir, "listing folder", e))?;
        let name = entry.file_name();
        if name.as_encoded_bytes().first() == Some(&b'.') {
            continue;
        }
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| FolderError::io(&path, "reading file type", e))?;
        let is_dir = if kind.is_symlink() {
            fs::metadata(&path)
                .map_err(|e| FolderError::io(&path, "following symbolic link", e))?
                .is_dir()
        } else {
            kind.is_dir()
        };
        out.push((name, path, is_dir));
    }
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The class folders of a split, sorted by name.
fn class_folders(split: &Path) -> Result<Vec<(String, PathBuf)>, FolderError> {
    let mut classes = Vec::new();
    for (name, path, is_dir) in entries(split)? {
        if !is_dir {
            return Err(FolderError::NotAClassFolder { path });
        }
        match name.into_string() {
            Ok(name) => classes.push((name, path)),
            Err(_) => return Err(FolderError::NonUtf8Name { path }),
        }
    }
    if classes.is_empty() {
        return Err(FolderError::NoClasses {
            path: split.to_path_buf(),
        });
    }
    Ok(classes)
}

/// Whether `path` has one of [`IMAGE_EXTENSIONS`], ignoring case.
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// Lists every class folder (in parallel: a network file system answers
/// 1000 folder listings much faster that way) and concatenates them in
/// label order. The first error in that order is returned, so the error is
/// the same whatever the thread count.
fn list_images(classes: &[(PathBuf, u16)]) -> Result<Vec<(PathBuf, u16)>, FolderError> {
    let per_class: Vec<Result<Vec<(PathBuf, u16)>, FolderError>> = classes
        .par_iter()
        .map(|(dir, label)| {
            let mut files = Vec::new();
            for (_, path, is_dir) in entries(dir)? {
                if is_dir || !has_image_extension(&path) {
                    return Err(FolderError::NotAnImage { path });
                }
                files.push((path, *label));
            }
            if files.is_empty() {
                return Err(FolderError::EmptyClass { path: dir.clone() });
            }
            Ok(files)
        })
        .collect();
    let mut all = Vec::new();
    for files in per_class {
        all.extend(files?);
    }
    Ok(all)
}
