//! Errors of reading and writing records. Binaries wrap them with `anyhow` at the edge.
use std::path::PathBuf;

#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// A configuration problem; the message names the file and key.
    #[error("config: {0}")]
    Config(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {msg}")]
    File { path: PathBuf, msg: String },
    #[error("metrics: {0}")]
    Metrics(String),
    #[error(transparent)]
    Plot(#[from] figures::PlotError),
    #[error("{0}")]
    Other(String),
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
