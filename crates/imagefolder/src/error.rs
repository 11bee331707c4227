//! Errors of the scanner and the batch decoders.
//!
//! Every message starts with the file or folder at fault and says what is
//! wrong with it, so that a run that stops on a bad file among ImageNet's
//! 1.33 million can be fixed from the message alone.
use std::path::{Path, PathBuf};

#[derive(thiserror::Error, Debug)]
pub enum FolderError {
    /// `<root>/train` or `<root>/val` does not exist or is not a folder.
    #[error(
        "{}: missing `{split}/` folder: an image-folder ImageNet needs both \
         train/<wnid>/*.JPEG and val/<wnid>/*.JPEG (validation images re-arranged into class folders)",
        path.display()
    )]
    MissingSplit {
        /// The expected folder, `<root>/<split>`.
        path: PathBuf,
        split: &'static str,
    },

    /// An operating-system error while reading `path`.
    #[error("{}: {action} failed: {source}", path.display())]
    Io {
        path: PathBuf,
        /// What was being done, e.g. "listing folder", "reading".
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A split folder holds no (non-hidden) class folder.
    #[error("{}: no class folders (expected one folder per class, e.g. n01440764/)", path.display())]
    NoClasses { path: PathBuf },

    /// Something other than a folder sits directly in `train/` or `val/`.
    #[error(
        "{}: not a class folder (only one folder per class belongs directly in train/ and val/)",
        path.display()
    )]
    NotAClassFolder { path: PathBuf },

    /// A file or folder name is not valid UTF-8 (class names become
    /// `String`s).
    #[error("{}: name is not valid UTF-8", path.display())]
    NonUtf8Name { path: PathBuf },

    /// A `val/` class folder has no counterpart in `train/`, so it has no
    /// label.
    #[error("{}: validation class `{class}` has no folder in train/, so it has no label", path.display())]
    UnknownValClass { path: PathBuf, class: String },

    /// A class folder holds no image.
    #[error("{}: empty class folder (no .jpeg/.jpg/.png files)", path.display())]
    EmptyClass { path: PathBuf },

    /// A class folder holds something that is not a `.jpeg`, `.jpg` or
    /// `.png` file (checked case-insensitively; dot-files are ignored).
    #[error("{}: not an image file (only .jpeg, .jpg and .png are accepted)", path.display())]
    NotAnImage { path: PathBuf },

    /// More classes than `u16` labels can tell apart.
    #[error("{}: {count} class folders, but labels are u16 (at most 65536 classes)", path.display())]
    TooManyClasses { path: PathBuf, count: usize },

    /// The file could not be decoded as JPEG or PNG.
    #[error("{}: cannot decode image: {source}", path.display())]
    Undecodable {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },

    /// The file decoded to an image without pixels.
    #[error("{}: image has zero width or height", path.display())]
    EmptyImage { path: PathBuf },
}

impl FolderError {
    /// The file or folder at fault.
    pub fn path(&self) -> &Path {
        match self {
            FolderError::MissingSplit { path, .. }
            | FolderError::Io { path, .. }
            | FolderError::NoClasses { path }
            | FolderError::NotAClassFolder { path }
            | FolderError::NonUtf8Name { path }
            | FolderError::UnknownValClass { path, .. }
            | FolderError::EmptyClass { path }
            | FolderError::NotAnImage { path }
            | FolderError::TooManyClasses { path, .. }
            | FolderError::Undecodable { path, .. }
            | FolderError::EmptyImage { path } => path,
        }
    }

    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        FolderError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}
