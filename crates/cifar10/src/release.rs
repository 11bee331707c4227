//! Which data is the official release: only data whose origin was checked
//! against the MD5 that the CIFAR-10 page publishes for its archive
//! ([`crate::OFFICIAL_MD5`]). The binary layout alone proves nothing: a
//! relabelled copy, or one written back from decoded JPEGs, has it too.
//!
//! - An archive (downloaded or given) is official when its own MD5 matches.
//! - A directory is official when this crate extracted it from such an archive
//!   and its batch files are still the extracted ones: extraction writes
//!   [`MARKER_NAME`] into the folder, recording the archive's MD5 and SHA-256
//!   and each batch file's SHA-256, and a load checks every used file against
//!   it. Without the marker, or on any difference, the directory is a copy.
//!
//! The official batch files' own digests are not known here (the archive
//! cannot be downloaded where this was written), so there is no table of them:
//! a directory given by hand is never recognised as official by its contents.
use crate::layout::Plan;
use crate::tree::{join, Tree};
use crate::DataError;
use std::borrow::Cow;
use std::path::Path;

/// Written into a folder extracted from an archive (see the module's comment).
pub(crate) const MARKER_NAME: &str = ".cifar-10-extracted-from";

/// The marker's contents: one `key value` per line.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Marker {
    pub archive_md5: String,
    pub archive_sha256: String,
    /// (file name, hex SHA-256) of each batch file, as extracted.
    pub files: Vec<(String, String)>,
}

impl Marker {
    fn to_text(&self) -> String {
        let mut s = format!(
            "archive-md5 {}\narchive-sha256 {}\n",
            self.archive_md5, self.archive_sha256
        );
        for (name, sha) in &self.files {
            s.push_str(&format!("file {name} {sha}\n"));
        }
        s
    }

    fn parse(text: &str) -> Option<Self> {
        let mut m = Marker::default();
        for line in text.lines() {
            let mut words = line.split(' ');
            match (words.next()?, words.next()?, words.next()) {
                ("archive-md5", v, None) => m.archive_md5 = v.to_ascii_lowercase(),
                ("archive-sha256", v, None) => m.archive_sha256 = v.to_string(),
                ("file", name, Some(sha)) => m.files.push((name.to_string(), sha.to_string())),
                _ => return None,
            }
        }
        (!m.archive_md5.is_empty() && !m.archive_sha256.is_empty()).then_some(m)
    }

    /// The marker in directory `dir`, if it has a readable one.
    pub fn read(dir: &Path) -> Option<Self> {
        Self::parse(&std::fs::read_to_string(dir.join(MARKER_NAME)).ok()?)
    }

    /// Records in `dir` (a folder just extracted from the archive of
    /// `archive_md5`/`archive_sha256`) the digests of its batch files.
    pub fn write(dir: &Path, archive_md5: &str, archive_sha256: &str) -> Result<(), DataError> {
        let mut files = Vec::new();
        for name in crate::layout::BATCH_FILES {
            let path = dir.join(name);
            if !path.is_file() {
                continue; // the layout check names it
            }
            files.push((name.to_string(), crate::hash::sha256_file(&path)?));
        }
        let marker = Marker {
            archive_md5: archive_md5.to_ascii_lowercase(),
            archive_sha256: archive_sha256.to_string(),
            files,
        };
        let path = dir.join(MARKER_NAME);
        std::fs::write(&path, marker.to_text()).map_err(|e| DataError::io(&path, "writing", e))
    }
}

/// Whether the binary-layout directory `tree` (files `plan`, read as
/// `contents`) is a folder extracted from the archive whose MD5 is
/// `official_md5`, with every used batch file as extracted.
pub(crate) fn extracted_official(
    tree: &Tree,
    plan: &Plan,
    contents: &[Cow<'_, [u8]>],
    official_md5: &str,
) -> bool {
    let Tree::Dir { .. } = tree else {
        return false;
    };
    let Some(first) = plan.items().next() else {
        return false;
    };
    let folder = first.rel.rsplit_once('/').map_or("", |(d, _)| d);
    let marker = tree
        .read(&join(folder, MARKER_NAME))
        .ok()
        .and_then(|b| Marker::parse(std::str::from_utf8(&b).ok()?));
    let Some(marker) = marker else {
        return false;
    };
    if !marker.archive_md5.eq_ignore_ascii_case(official_md5.trim()) {
        return false;
    }
    plan.items().zip(contents).all(|(item, bytes)| {
        let name = item
            .rel
            .rsplit_once('/')
            .map_or(item.rel.as_str(), |(_, n)| n);
        let recorded = marker.files.iter().find(|(n, _)| n == name);
        recorded.is_some_and(|(_, sha)| *sha == fileio::sha256_hex(bytes))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trips_and_rejects_garbage() {
        let m = Marker {
            archive_md5: "ab".into(),
            archive_sha256: "cd".into(),
            files: vec![("data_batch_1.bin".into(), "ef".into())],
        };
        assert_eq!(Marker::parse(&m.to_text()), Some(m));
        assert_eq!(Marker::parse("archive-md5 ab\n"), None);
        assert_eq!(Marker::parse("something else\n"), None);
        assert_eq!(Marker::parse(""), None);
    }
}
