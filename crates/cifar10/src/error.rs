//! Errors of the loader.
//!
//! Every message starts with (or contains) the file, folder, archive member or
//! URL at fault and says what is wrong with it, so that a failed run can be
//! fixed from the message alone. Members of an archive are shown as
//! `<archive path>/<member path>`.
use std::path::PathBuf;

/// Expected class folders, for messages.
const CLASS_LIST: &str = "airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck";

#[derive(thiserror::Error, Debug)]
pub enum DataError {
    /// The source path does not exist.
    #[error("{}: no such file or directory", path.display())]
    NotFound { path: PathBuf },

    /// An operating-system error while touching `path`.
    #[error("{}: {action} failed: {source}", path.display())]
    Io {
        path: PathBuf,
        /// What was being done, e.g. "reading", "creating directory".
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// The HTTP request or the transfer failed (connection refused, HTTP
    /// status, connection dropped mid-body, ...). Nothing partial is kept.
    #[error("downloading {url} to {} failed: {message}", path.display())]
    Download {
        url: String,
        path: PathBuf,
        message: String,
    },

    /// The downloaded bytes do not have the expected MD5. The download was
    /// deleted, so a later run starts again from scratch.
    #[error(
        "downloaded {url} (to {}) has the wrong MD5 checksum: expected {expected}, got {actual}; \
         the bad download was deleted",
        path.display()
    )]
    ChecksumMismatch {
        url: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },

    /// The file is not a readable `.tar.gz` (or `.tar`) archive.
    #[error("{}: not a readable .tar.gz archive: {message}", path.display())]
    BadArchive { path: PathBuf, message: String },

    /// A file of the official binary layout has the wrong size.
    #[error("{}: truncated or malformed CIFAR-10 batch file: {detail}", path.display())]
    BadBatch { path: PathBuf, detail: String },

    /// A record of a binary batch file has a label byte above 9.
    #[error("{}: record {record} has label {label}, but CIFAR-10 labels are 0..=9", path.display())]
    LabelOutOfRange {
        path: PathBuf,
        /// Zero-based record index within the file.
        record: usize,
        label: u8,
    },

    /// One of the six batch files of the official binary layout is missing.
    #[error(
        "{}: missing batch file of the official binary layout \
         (data_batch_1.bin .. data_batch_5.bin and test_batch.bin are all required)",
        path.display()
    )]
    MissingBatch { path: PathBuf },

    /// An image-folder dataset lacks `train/` or `test/`.
    #[error(
        "{}: missing `{split}/` folder: an image-folder dataset needs both train/<class>/ and test/<class>/",
        path.display()
    )]
    MissingSplit { path: PathBuf, split: &'static str },

    /// A split (official or image-folder) holds no images at all.
    #[error("{}: the `{split}` split holds no images", path.display())]
    EmptySplit { path: PathBuf, split: &'static str },

    /// A class folder is absent from a split.
    #[error("{}: missing class folder; each split needs one folder per class: {CLASS_LIST}", path.display())]
    MissingClass { path: PathBuf },

    /// A split contains a folder whose name is not a CIFAR-10 class.
    #[error("{}: unknown class folder `{name}`; expected only: {CLASS_LIST}", path.display())]
    UnknownClass { path: PathBuf, name: String },

    /// Something that does not belong in an image-folder layout (a file next to
    /// the class folders, a sub-folder or a non-image file inside a class folder).
    #[error("{}: unexpected entry: {reason}", path.display())]
    UnexpectedEntry { path: PathBuf, reason: String },

    /// An image file that the PNG/JPEG decoders reject.
    #[error("{}: cannot decode image: {message}", path.display())]
    UndecodableImage { path: PathBuf, message: String },

    /// An image that is not 32x32 pixels.
    #[error("{}: image is {width}x{height} pixels, expected 32x32", path.display())]
    WrongImageSize {
        path: PathBuf,
        width: u32,
        height: u32,
    },

    /// The path is neither of the supported layouts.
    #[error(
        "{}: not a CIFAR-10 source: expected the official binary layout \
         (data_batch_1.bin .. data_batch_5.bin and test_batch.bin, optionally under cifar-10-batches-bin/) \
         or an image-folder layout (train/<class>/*.png|jpg|jpeg and test/<class>/...), \
         as a directory or a .tar.gz archive",
        path.display()
    )]
    UnrecognizedLayout { path: PathBuf },
}

impl DataError {
    /// Shorthand for [`DataError::Io`].
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        action: &'static str,
        source: std::io::Error,
    ) -> Self {
        DataError::Io {
            path: path.into(),
            action,
            source,
        }
    }
}
