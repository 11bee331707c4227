//! Files written whole or not at all, and their checksums: the workspace's one
//! implementation (`fileio`), with this crate's errors naming the file.
use crate::error::{IoContext, Result};
use std::path::Path;

pub use fileio::{hex, sha256_hex};

/// Writes `path` through a temporary file in its directory, fsync and rename:
/// readers see the old file or the complete new one, never a truncated one.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    fileio::write_atomic(path, write).at(path)
}

/// `write_atomic` of bytes.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    fileio::write_bytes_atomic(path, bytes).at(path)
}

/// Hex SHA-256 of a file's contents.
pub fn sha256_file(path: &Path) -> Result<String> {
    fileio::sha256_file(path).at(path)
}
