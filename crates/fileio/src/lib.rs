//! Small file helpers shared by the workspace: atomic writes, lower-case hex
//! and SHA-256 digests.
//!
//! Results, caches and figures are read by other processes (and by people)
//! while runs are still going, and a run can be killed at any moment. So a
//! file is never rewritten in place: it is written to a temporary file in the
//! same directory, fsynced, and renamed over the target. A reader sees the
//! old file or the complete new one, never a truncated one, and a failed
//! write leaves the target untouched and no temporary file behind.
//!
//! Errors are plain [`std::io::Error`]s without the path: callers wrap them
//! in their own error types, which name the file.
//!
//! No libtorch here, so the data and plotting crates can use it too.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

/// Chunk size of [`read_chunks`]: large enough that hashing a multi-GB
/// archive is not dominated by syscalls, small enough to not matter in memory.
const CHUNK: usize = 1 << 20;

/// Writes `path` atomically: `write` fills a temporary file in the same
/// directory, which is then flushed, fsynced and renamed over `path`, and the
/// directory is fsynced (best effort) so the rename survives a crash.
///
/// The parent directory is created if missing. Readers see the old file or
/// the complete new one. If `write` (or anything else) fails, the temporary
/// file is removed and `path` is untouched. The new file gets the mode a
/// [`File::create`] would give it (see [`AtomicFile::new`]).
///
/// # Errors
///
/// Any I/O error; [`io::ErrorKind::IsADirectory`] if `path` is a directory;
/// [`io::ErrorKind::InvalidInput`] if `path` has no file name.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let mut file = AtomicFile::new(path)?;
    write(file.file_mut())?;
    file.commit()
}

/// [`write_atomic`] of a byte slice.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic(path, |f| f.write_all(bytes))
}

/// A new version of a file, written to a temporary file next to its target
/// and published by [`AtomicFile::commit`] (or, for several files that should
/// be replaced together, [`commit_all`]). Dropped without committing, it
/// removes the temporary file and leaves the target as it was.
///
/// Use it directly when the writer needs a path rather than a [`File`] (the
/// plotters bitmap backend saves by path and picks the encoder from the
/// extension): write to [`AtomicFile::temp_path`], then commit.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: NamedTempFile,
    target: PathBuf,
    dir: PathBuf,
}

impl AtomicFile {
    /// Creates the temporary file `.<file name>.<random>.tmp` in the
    /// directory of `target` (created if missing).
    ///
    /// Mode: `tempfile` creates files with 0600 by default, which would make
    /// results unreadable to other users once renamed into place. On unix the
    /// temporary file is therefore created with 0666 and the process umask
    /// applies at creation, exactly as for [`File::create`] (usually 0644).
    /// This honours a stricter umask instead of hard-coding 0644, and needs
    /// neither reading the umask (which cannot be done without changing it)
    /// nor a second `chmod`.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::IsADirectory`] if `target` is a directory (checked
    /// here, so no work is wasted, and again at commit);
    /// [`io::ErrorKind::InvalidInput`] if `target` has no file name; any
    /// error creating the directory or the temporary file.
    pub fn new(target: &Path) -> io::Result<Self> {
        Self::with_temp_suffix(target, TEMP_SUFFIX)
    }

    /// Like [`AtomicFile::new`], with the temporary name ending in `suffix`
    /// instead of `.tmp`, for writers that choose the format from the
    /// extension (e.g. `".tmp.png"`).
    pub fn with_temp_suffix(target: &Path, suffix: &str) -> io::Result<Self> {
        let name = target.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name")
        })?;
        refuse_directory(target)?;
        let dir = parent_dir(target);
        fs::create_dir_all(&dir)?;
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(suffix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(&dir)?;
        Ok(AtomicFile {
            tmp,
            target: target.to_path_buf(),
            dir,
        })
    }

    /// Where the new contents are being written.
    pub fn temp_path(&self) -> &Path {
        self.tmp.path()
    }

    /// The file this one will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The open temporary file, for writing the contents.
    pub fn file_mut(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Flushes and fsyncs the temporary file, renames it over the target and
    /// fsyncs the directory (best effort). On error the temporary file is
    /// removed and the target is untouched.
    pub fn commit(mut self) -> io::Result<()> {
        self.sync()?;
        refuse_directory(&self.target)?;
        let dir = self.persist()?;
        sync_dir(&dir);
        Ok(())
    }

    /// Data on disk before the rename publishes it: otherwise a crash could
    /// leave the new name pointing at an empty file. The temporary file's own
    /// handle is synced, which also covers data written through another
    /// handle to the same path (fsync applies to the file, not the handle).
    fn sync(&mut self) -> io::Result<()> {
        let f = self.tmp.as_file_mut();
        f.flush()?;
        f.sync_all()
    }

    /// The atomic rename; returns the directory, to be synced. A failed
    /// persist hands the temporary file back inside the error; dropping it
    /// removes the file.
    fn persist(self) -> io::Result<PathBuf> {
        match self.tmp.persist(&self.target) {
            Ok(_) => Ok(self.dir),
            Err(e) => Err(e.error),
        }
    }
}

/// Why [`commit_all`] failed, and for which target.
#[derive(Debug)]
pub struct CommitError {
    /// The file that could not be replaced.
    pub target: PathBuf,
    pub source: io::Error,
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.target.display(), self.source)
    }
}

impl std::error::Error for CommitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Commits several files that belong together (a figure's SVG and PNG):
/// first every one is fsynced and every target checked not to be a
/// directory, and only then are they renamed, in order. So a failure while
/// writing or syncing any of them replaces none; only a failure between two
/// renames (which the checks make unlikely) can leave a new file next to an
/// old one. Uncommitted temporary files are removed on error.
pub fn commit_all(files: impl IntoIterator<Item = AtomicFile>) -> Result<(), CommitError> {
    let mut files: Vec<AtomicFile> = files.into_iter().collect();
    let fail = |f: &AtomicFile| {
        let target = f.target.clone();
        move |source| CommitError { target, source }
    };
    for f in &mut files {
        let on_err = fail(f);
        f.sync().map_err(on_err)?;
    }
    for f in &files {
        refuse_directory(&f.target).map_err(fail(f))?;
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    for f in files {
        let on_err = fail(&f);
        let dir = f.persist().map_err(on_err)?;
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    for d in &dirs {
        sync_dir(d);
    }
    Ok(())
}

/// Makes a rename inside `dir` durable by fsyncing the directory. Best
/// effort: not every platform or file system can sync a directory (Windows
/// cannot open one as a file), and the rename itself is atomic regardless.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// The directory a file at `path` lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A rename would fail on a directory (or, on some systems, replace an empty
/// one); say so plainly instead. Symlinks are not followed, like rename.
fn refuse_directory(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "a directory is in the way",
        ));
    }
    Ok(())
}

/// Length of the random part of a temporary file's name (`tempfile`'s
/// default, which [`AtomicFile`] keeps).
const RANDOM_CHARS: usize = 6;

/// Whether `name` is the name of an [`AtomicFile`]'s temporary file:
/// `.<file name>.<6 random letters or digits>.tmp`, or with a suffix given to
/// [`AtomicFile::with_temp_suffix`], `….tmp.<extension>`. Nothing else
/// (`.report.md.tmp`, `notes.tmp`) matches.
pub fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let stem = match rest.strip_suffix(".tmp") {
        Some(stem) => stem,
        None => match rest.rsplit_once('.') {
            Some((head, ext))
                if !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                match head.strip_suffix(".tmp") {
                    Some(stem) => stem,
                    None => return false,
                }
            }
            _ => return false,
        },
    };
    target_of_stem(stem).is_some()
}

/// `<target>` of `<target>.<6 random letters or digits>`, the part of a
/// temporary file's name between the leading dot and the suffix.
fn target_of_stem(stem: &str) -> Option<&str> {
    let (target, random) = stem.rsplit_once('.')?;
    (!target.is_empty()
        && random.len() == RANDOM_CHARS
        && random.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then_some(target)
}

/// The temporary-file suffix of [`AtomicFile::new`].
pub const TEMP_SUFFIX: &str = ".tmp";

/// The name of the file that `name` is a temporary file of, when `name` is
/// exactly what [`AtomicFile::with_temp_suffix`] creates with `suffix`
/// (`.<target>.<6 random letters or digits><suffix>`; [`TEMP_SUFFIX`] for
/// [`AtomicFile::new`]).
pub fn temp_target<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    target_of_stem(name.strip_prefix('.')?.strip_suffix(suffix)?)
}

/// Removes the temporary files that [`AtomicFile`]s for `target` created with
/// `suffix` left in its directory (a writer killed before its commit),
/// whatever their age: for a caller that knows no other process writes
/// `target` now (it holds a lock that every writer of `target` takes).
/// Plain files only. Returns the paths removed.
///
/// # Errors
///
/// Reading the directory; a file that cannot be removed is skipped.
pub fn remove_temps_of(target: &Path, suffix: &str) -> io::Result<Vec<PathBuf>> {
    let Some(want) = target.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let mut removed = Vec::new();
    for entry in fs::read_dir(parent_dir(target))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_str().and_then(|n| temp_target(n, suffix)) != Some(want) {
            continue;
        }
        let is_file = fs::symlink_metadata(entry.path()).is_ok_and(|m| m.is_file());
        if is_file && fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

/// Removes the temporary files of [`AtomicFile`]s that a killed process left
/// in `dir` (names as [`is_temp_name`] says), those not modified for at least
/// `min_age`: a live writer's file is younger than that. Plain files only,
/// not recursive. Returns the paths removed.
///
/// # Errors
///
/// Reading the directory; a file that cannot be removed is skipped.
pub fn remove_stale_temps(dir: &Path, min_age: std::time::Duration) -> io::Result<Vec<PathBuf>> {
    let now = std::time::SystemTime::now();
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_temp_name) {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok());
        if meta.is_file()
            && age.is_some_and(|a| a >= min_age)
            && fs::remove_file(entry.path()).is_ok()
        {
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(Sha256::digest(bytes).as_slice())
}

/// Lower-case hex SHA-256 of the file at `path`, read in 1 MiB chunks so
/// archives of any size hash in constant memory.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut sha = Sha256::new();
    read_chunks(File::open(path)?, |chunk| sha.update(chunk))?;
    Ok(hex(sha.finalize().as_slice()))
}

/// Feeds everything `reader` yields to `f`, in chunks of up to 1 MiB,
/// retrying reads that were interrupted by a signal. For computing several
/// digests in one pass over a file.
pub fn read_chunks(mut reader: impl Read, mut f: impl FnMut(&[u8])) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => f(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn write_atomic_creates_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/results.json");
        write_bytes_atomic(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_atomic(&path, |f| {
            f.write_all(b"sec")?;
            f.write_all(b"ond")
        })
        .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(names(&dir.path().join("sub/dir")), ["results.json"]);
    }

    #[test]
    fn parent_of_a_bare_file_name_is_the_current_directory() {
        assert_eq!(parent_dir(Path::new("x.json")), PathBuf::from("."));
        assert_eq!(parent_dir(Path::new("a/x.json")), PathBuf::from("a"));
    }

    #[test]
    fn failing_writer_keeps_old_content_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.parquet");
        write_bytes_atomic(&path, b"old").unwrap();
        let err = write_atomic(&path, |f| {
            f.write_all(b"half of the new")?;
            Err(io::Error::other("writer gave up"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "writer gave up");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["m.parquet"]);
    }

    #[test]
    fn directory_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        fs::create_dir_all(path.join("inner")).unwrap();
        let err = write_bytes_atomic(&path, b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::IsADirectory);
        assert!(err.to_string().contains("directory"), "{err}");
        assert!(path.join("inner").is_dir());
        assert_eq!(names(dir.path()), ["taken"]);
        // An empty directory too (rename could replace it on some systems).
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(write_bytes_atomic(&empty, b"x").is_err());
        assert!(empty.is_dir());
    }

    #[test]
    fn path_without_file_name_is_refused() {
        let err = write_bytes_atomic(Path::new("/"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn dropped_atomic_file_leaves_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fig.png");
        fs::write(&path, b"old").unwrap();
        let mut f = AtomicFile::with_temp_suffix(&path, ".tmp.png").unwrap();
        let name = f.temp_path().file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with(".fig.png.") && name.ends_with(".tmp.png"),
            "{name}"
        );
        assert_eq!(f.target(), path);
        f.file_mut().write_all(b"new").unwrap();
        drop(f);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["fig.png"]);
    }

    #[test]
    fn commit_all_replaces_all_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("f.svg"), dir.path().join("f.png"));
        let pending = |bytes: &[u8]| {
            let mut fa = AtomicFile::new(&a).unwrap();
            fa.file_mut().write_all(bytes).unwrap();
            // Written by path, as plotters does.
            let fb = AtomicFile::with_temp_suffix(&b, ".tmp.png").unwrap();
            fs::write(fb.temp_path(), bytes).unwrap();
            [fa, fb]
        };
        commit_all(pending(b"one")).unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"one");
        assert_eq!(fs::read(&b).unwrap(), b"one");
        assert_eq!(names(dir.path()), ["f.png", "f.svg"]);

        // A directory appears where the second file goes after both were
        // written: neither is replaced, no temporary file remains.
        let files = pending(b"two");
        fs::remove_file(&b).unwrap();
        fs::create_dir_all(b.join("blocker")).unwrap();
        let err = commit_all(files).unwrap_err();
        assert_eq!(err.target, b);
        assert_eq!(err.source.kind(), io::ErrorKind::IsADirectory);
        assert!(err.to_string().contains("f.png"), "{err}");
        assert_eq!(fs::read(&a).unwrap(), b"one");
        assert_eq!(names(dir.path()), ["f.png", "f.svg"]);
    }

    #[cfg(unix)]
    #[test]
    fn new_file_has_the_mode_file_create_gives() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let reference = dir.path().join("reference");
        File::create(&reference).unwrap();
        let path = dir.path().join("atomic");
        write_bytes_atomic(&path, b"x").unwrap();
        assert_eq!(mode(&path), mode(&reference));
        // Replacing keeps it too (the new file is a new inode).
        write_bytes_atomic(&path, b"y").unwrap();
        assert_eq!(mode(&path), mode(&reference));
        // With the usual umask 022 that is 0644, not tempfile's 0600.
        if process_umask() == Some(0o022) {
            assert_eq!(mode(&path), 0o644);
        }
    }

    /// The umask, read without changing it (Linux reports it in
    /// /proc/self/status); `None` elsewhere.
    #[cfg(unix)]
    fn process_umask() -> Option<u32> {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("Umask:"))?;
        u32::from_str_radix(line["Umask:".len()..].trim(), 8).ok()
    }

    #[test]
    fn temp_names_are_recognised_exactly() {
        for yes in [
            ".report.md.a1B2c3.tmp",
            ".fig.png.Zz09ab.tmp.png",
            ".x.abcdef.tmp",
        ] {
            assert!(is_temp_name(yes), "{yes}");
        }
        for no in [
            ".report.md.tmp",
            "report.md.a1B2c3.tmp",
            ".a1B2c3.tmp",
            ".report.md.a1B2c.tmp",
            ".report.md.a1B2c3d.tmp",
            ".report.md.a1-2c3.tmp",
            ".report.md.a1B2c3.tmpx",
            ".report.md.a1B2c3.png",
            "notes.tmp",
        ] {
            assert!(!is_temp_name(no), "{no}");
        }
        // What AtomicFile really creates matches.
        let dir = tempfile::tempdir().unwrap();
        for f in [
            AtomicFile::new(&dir.path().join("r.md")).unwrap(),
            AtomicFile::with_temp_suffix(&dir.path().join("f.png"), ".tmp.png").unwrap(),
        ] {
            let name = f.temp_path().file_name().unwrap().to_str().unwrap();
            assert!(is_temp_name(name), "{name}");
        }
    }

    #[test]
    fn stale_temps_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let hour = std::time::Duration::from_secs(3600);
        let old = std::time::SystemTime::now() - 2 * hour;
        let make = |name: &str, modified: std::time::SystemTime| {
            let f = File::create(dir.path().join(name)).unwrap();
            f.set_modified(modified).unwrap();
        };
        make(".report.md.a1B2c3.tmp", old);
        make(".fig.png.Zz09ab.tmp.png", old);
        make(".summary.csv.q1w2e3.tmp", std::time::SystemTime::now());
        make("report.md", old);
        make(".notes.tmp", old);
        fs::create_dir(dir.path().join(".sub.abcdef.tmp")).unwrap();
        let mut removed = remove_stale_temps(dir.path(), hour).unwrap();
        removed.sort();
        assert_eq!(
            removed,
            [
                dir.path().join(".fig.png.Zz09ab.tmp.png"),
                dir.path().join(".report.md.a1B2c3.tmp")
            ]
        );
        assert_eq!(
            names(dir.path()),
            [
                ".notes.tmp",
                ".sub.abcdef.tmp",
                ".summary.csv.q1w2e3.tmp",
                "report.md"
            ]
        );
        // A young file goes once old enough.
        assert_eq!(
            remove_stale_temps(dir.path(), std::time::Duration::ZERO).unwrap(),
            [dir.path().join(".summary.csv.q1w2e3.tmp")]
        );
    }

    #[test]
    fn temps_of_one_target_are_removed_whatever_their_age() {
        let dir = tempfile::tempdir().unwrap();
        let make = |name: &str| File::create(dir.path().join(name)).unwrap();
        // What a killed render of fig6 leaves: just now, not old.
        for f in [
            AtomicFile::new(&dir.path().join("fig6.svg")).unwrap(),
            AtomicFile::with_temp_suffix(&dir.path().join("fig6.png"), ".tmp.png").unwrap(),
        ] {
            f.tmp.into_temp_path().keep().unwrap();
        }
        make(".fig6.png.abcdef.tmp"); // not the png writer's suffix
        make(".fig6.svg.abcdef.tmp.png"); // nor the svg's
        make(".fig7.png.abcdef.tmp.png");
        make(".fig6.png.abcde.tmp.png");
        make("fig6.png");
        let removed = |target: &str, suffix: &str| {
            remove_temps_of(&dir.path().join(target), suffix)
                .unwrap()
                .into_iter()
                .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        let svg = removed("fig6.svg", TEMP_SUFFIX);
        assert!(
            svg.len() == 1 && svg[0].starts_with(".fig6.svg."),
            "{svg:?}"
        );
        let png = removed("fig6.png", ".tmp.png");
        assert!(
            png.len() == 1 && png[0].starts_with(".fig6.png."),
            "{png:?}"
        );
        assert_eq!(
            names(dir.path()),
            [
                ".fig6.png.abcde.tmp.png",
                ".fig6.png.abcdef.tmp",
                ".fig6.svg.abcdef.tmp.png",
                ".fig7.png.abcdef.tmp.png",
                "fig6.png"
            ]
        );
        assert_eq!(temp_target(".r.md.a1B2c3.tmp", TEMP_SUFFIX), Some("r.md"));
        assert_eq!(temp_target(".r.md.a1B2c3.tmp", ".tmp.png"), None);
        assert_eq!(temp_target("r.md.a1B2c3.tmp", TEMP_SUFFIX), None);
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0xab, 0x0f, 0xff]), "00ab0fff");
    }

    #[test]
    fn sha256_known_vectors() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn sha256_file_matches_in_memory_digest_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let bytes: Vec<u8> = (0..3 * CHUNK + 7).map(|i| (i * 31 % 251) as u8).collect();
        fs::write(&path, &bytes).unwrap();
        assert_eq!(sha256_file(&path).unwrap(), sha256_hex(&bytes));
        let empty = dir.path().join("empty");
        fs::write(&empty, b"").unwrap();
        assert_eq!(sha256_file(&empty).unwrap(), sha256_hex(b""));
        let err = sha256_file(&dir.path().join("missing")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn read_chunks_retries_interrupted_reads() {
        /// Yields "ab", then an interruption, then "c".
        struct Flaky(u8);
        impl Read for Flaky {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0 += 1;
                match self.0 {
                    1 => {
                        buf[..2].copy_from_slice(b"ab");
                        Ok(2)
                    }
                    2 => Err(io::ErrorKind::Interrupted.into()),
                    3 => {
                        buf[0] = b'c';
                        Ok(1)
                    }
                    _ => Ok(0),
                }
            }
        }
        let mut seen = Vec::new();
        read_chunks(Flaky(0), |c| seen.extend_from_slice(c)).unwrap();
        assert_eq!(seen, b"abc");
    }
}
