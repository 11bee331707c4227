//! Errors of computing runs. Binaries wrap them with `anyhow` at the edge.
use std::path::PathBuf;

#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// A configuration problem; the message names the file and key.
    #[error("config: {0}")]
    Config(String),
    #[error(transparent)]
    Data(#[from] cifar10::DataError),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// Reading or writing a record (metrics, provenance, reports).
    #[error(transparent)]
    Records(#[from] records::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {msg}")]
    File { path: PathBuf, msg: String },
    #[error("checkpoint {path}: {msg}")]
    Checkpoint { path: PathBuf, msg: String },
    #[error("device: {0}")]
    Device(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Whether the error is in what the user gave (a config or data error),
    /// which every binary exits with `records::exit::BAD_INPUT` for.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Config(_) | Error::Data(_) | Error::Records(records::Error::Config(_))
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a path to an I/O error.
pub trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }
}
