//! Checksums: SHA-256 identifies a source (and keys the cache), MD5 is what the
//! official CIFAR-10 page publishes for the download.
//!
//! Hex, streamed reading and the plain file SHA-256 come from `fileio`, shared
//! with the rest of the workspace; what is CIFAR-10 specific stays here.
use crate::DataError;
pub(crate) use fileio::hex;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::path::Path;

/// Both digests of a file, computed in one pass (hex MD5, hex SHA-256): the
/// download is checked by MD5 and identified by SHA-256, and it is large
/// enough that reading it twice would show.
pub(crate) fn md5_and_sha256_file(path: &Path) -> Result<(String, String), DataError> {
    let mut md5 = Md5::new();
    let mut sha = Sha256::new();
    let file = File::open(path).map_err(|e| DataError::io(path, "opening", e))?;
    fileio::read_chunks(file, |chunk| {
        md5.update(chunk);
        sha.update(chunk);
    })
    .map_err(|e| DataError::io(path, "reading", e))?;
    Ok((
        hex(md5.finalize().as_slice()),
        hex(sha.finalize().as_slice()),
    ))
}

/// Hex SHA-256 of a file.
pub(crate) fn sha256_file(path: &Path) -> Result<String, DataError> {
    fileio::sha256_file(path).map_err(|e| DataError::io(path, "reading", e))
}

/// Digest of a set of files given as `(relative path, contents)`, in the order
/// given (callers sort by path). Each file contributes its `/`-separated
/// relative path, a NUL, its length as u64 little-endian and its bytes, so
/// renaming, moving or editing any used file changes the digest while files
/// that are not used (a README next to the data) do not.
pub(crate) fn sha256_of_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut sha = Sha256::new();
    for (rel, bytes) in files {
        sha.update(rel.as_bytes());
        sha.update([0u8]);
        sha.update((bytes.len() as u64).to_le_bytes());
        sha.update(bytes);
    }
    hex(sha.finalize().as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_digests_of_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let (md5, sha) = md5_and_sha256_file(&path).unwrap();
        assert_eq!(md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_file(&path).unwrap(), sha);
        let missing = dir.path().join("missing");
        let err = md5_and_sha256_file(&missing).unwrap_err().to_string();
        assert!(err.contains("missing: opening failed"), "{err}");
        let err = sha256_file(&missing).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn file_set_digest_depends_on_names_and_contents() {
        let a = sha256_of_files([("x/a.png", &b"12"[..]), ("x/b.png", &b"3"[..])]);
        let b = sha256_of_files([("x/a.png", &b"1"[..]), ("x/b.png", &b"23"[..])]);
        let c = sha256_of_files([("x/a.png", &b"12"[..]), ("x/c.png", &b"3"[..])]);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            a,
            sha256_of_files([("x/a.png", &b"12"[..]), ("x/b.png", &b"3"[..])])
        );
    }
}
