//! The experiments of the repository, discovered rather than listed: one per
//! `experiments/<name>.toml`, whose file stem is the experiment's name, its
//! crate (`crates/<name>`) and its binary (`target/release/<name>`). `nightly`
//! and `sweep` both take their experiments from here, so adding an experiment
//! file and its crate is all it takes for them to know it.
use std::path::{Path, PathBuf};

/// Why the experiment list could not be made, or a name is not in it.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{}: cannot list the experiment files: {source}", dir.display())]
    List {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot read it: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not valid TOML: {message}", file.display())]
    Parse { file: PathBuf, message: String },
    #[error("{}: `[experiment] name = {declared:?}` differs from the file name {stem:?} (the file stem names the experiment, its crate and its binary)", file.display())]
    NameMismatch {
        file: PathBuf,
        declared: String,
        stem: String,
    },
    #[error("{}: no crate builds this experiment ({} is missing; the file stem names the crate)", file.display(), manifest.display())]
    NoCrate { file: PathBuf, manifest: PathBuf },
    #[error("{}: no experiment files (`*.toml`) found", dir.display())]
    Empty { dir: PathBuf },
    #[error("unknown experiment {name:?} (known: {known})")]
    Unknown { name: String, known: String },
}

/// One experiment: `experiments/<name>.toml`, built by `crates/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Experiment {
    pub name: String,
    /// `experiments/<name>.toml`.
    pub file: PathBuf,
}

impl Experiment {
    /// The experiment's binary in `bin_dir` (e.g. `target/release`).
    pub fn binary(&self, bin_dir: &Path) -> PathBuf {
        bin_dir.join(&self.name)
    }
}

/// Every experiment of the repository at `root`, sorted by name. Each file must
/// declare its own stem as `[experiment] name` and have a crate of that name, so
/// that a typo or a missing crate is an error here rather than a run that
/// silently never happens.
pub fn discover(root: &Path) -> Result<Vec<Experiment>, RegistryError> {
    let dir = root.join("experiments");
    let list = |source| RegistryError::List {
        dir: dir.clone(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(list)?
        .map(|e| e.map(|e| e.path()).map_err(list))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(RegistryError::Empty { dir });
    }
    files.into_iter().map(|f| check(root, f)).collect()
}

/// The checks of one experiment file (see `discover`).
fn check(root: &Path, file: PathBuf) -> Result<Experiment, RegistryError> {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let text = std::fs::read_to_string(&file).map_err(|source| RegistryError::Read {
        file: file.clone(),
        source,
    })?;
    let value: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| RegistryError::Parse {
            file: file.clone(),
            message: e.message().to_string(),
        })?;
    let declared = value
        .get("experiment")
        .and_then(|e| e.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or_default();
    if declared != stem {
        return Err(RegistryError::NameMismatch {
            file,
            declared: declared.to_string(),
            stem,
        });
    }
    let manifest = root.join("crates").join(&stem).join("Cargo.toml");
    if !manifest.is_file() {
        return Err(RegistryError::NoCrate { file, manifest });
    }
    Ok(Experiment { name: stem, file })
}

/// The experiment called `name`, or an error listing the known ones.
pub fn find(root: &Path, name: &str) -> Result<Experiment, RegistryError> {
    let all = discover(root)?;
    match all.iter().find(|e| e.name == name) {
        Some(e) => Ok(e.clone()),
        None => Err(RegistryError::Unknown {
            name: name.to_string(),
            known: all
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn experiment(root: &Path, file: &str, name: &str, with_crate: bool) {
        std::fs::create_dir_all(root.join("experiments")).expect("mkdir");
        std::fs::write(
            root.join("experiments").join(file),
            format!("[experiment]\nname = \"{name}\"\n"),
        )
        .expect("write");
        if with_crate {
            let c = root.join("crates").join(name);
            std::fs::create_dir_all(&c).expect("mkdir");
            std::fs::write(c.join("Cargo.toml"), "").expect("write");
        }
    }

    #[test]
    fn discovers_sorted_experiments_with_crates_and_rejects_strays() {
        let t = tempfile::tempdir().expect("tmp");
        experiment(t.path(), "b-two.toml", "b-two", true);
        experiment(t.path(), "a-one.toml", "a-one", true);
        // Not experiment files: a directory and another extension.
        std::fs::create_dir_all(t.path().join("experiments/papers")).expect("mkdir");
        std::fs::write(t.path().join("experiments/notes.md"), "x").expect("write");
        let names: Vec<String> = discover(t.path())
            .expect("discover")
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["a-one", "b-two"]);
        let e = find(t.path(), "b-two").expect("find");
        assert_eq!(e.binary(Path::new("bin")), Path::new("bin/b-two"));
        let err = find(t.path(), "c-three").expect_err("unknown").to_string();
        assert!(
            err.contains("\"c-three\"") && err.contains("a-one, b-two"),
            "{err}"
        );
        // A file without its crate, and one whose name is not its stem.
        experiment(t.path(), "c-three.toml", "c-three", false);
        let err = discover(t.path()).expect_err("no crate").to_string();
        assert!(
            err.contains("c-three.toml") && err.contains("Cargo.toml"),
            "{err}"
        );
        experiment(t.path(), "c-three.toml", "c-3", true);
        let err = discover(t.path()).expect_err("mismatch").to_string();
        assert!(
            err.contains("\"c-3\"") && err.contains("\"c-three\""),
            "{err}"
        );
    }

    #[test]
    fn the_repository_experiments_all_have_crates() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let all = discover(&root).expect("the repository's experiments");
        let names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert!(names.contains(&"resnet-cifar-degradation"), "{names:?}");
    }
}
