//! Checksums: SHA-256 identifies a source (and keys the cache), MD5 is what the
//! official CIFAR-10 page publishes for the download.
use crate::DataError;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Hex SHA-256 of a finished hasher.
pub(crate) fn sha256_hex(h: Sha256) -> String {
    hex(h.finalize().as_slice())
}

/// Both digests of a file, computed in one pass (hex MD5, hex SHA-256).
pub(crate) fn md5_and_sha256_file(path: &Path) -> Result<(String, String), DataError> {
    let mut md5 = Md5::new();
    let mut sha = Sha256::new();
    read_chunks(path, |chunk| {
        md5.update(chunk);
        sha.update(chunk);
    })?;
    Ok((hex(md5.finalize().as_slice()), sha256_hex(sha)))
}

/// Hex SHA-256 of a file.
pub(crate) fn sha256_file(path: &Path) -> Result<String, DataError> {
    let mut sha = Sha256::new();
    read_chunks(path, |chunk| sha.update(chunk))?;
    Ok(sha256_hex(sha))
}

fn read_chunks(path: &Path, mut f: impl FnMut(&[u8])) -> Result<(), DataError> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, "opening", e))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DataError::io(path, "reading", e)),
        };
        f(&buf[..n]);
    }
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
    sha256_hex(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_known_digests() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f]), "00ab0f");
        let mut sha = Sha256::new();
        sha.update(b"abc");
        assert_eq!(
            sha256_hex(sha),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut md5 = Md5::new();
        md5.update(b"abc");
        assert_eq!(
            hex(md5.finalize().as_slice()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
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
