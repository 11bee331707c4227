//! Checks of the repository's documentation (`README.md`, `docs/*.md`)
//! against the files it describes. Each checker is a pure function from
//! text (and the files it refers to) to a list of problems, so that its unit
//! tests can feed it bad input; `tests/` runs them on the repository.
//!
//! - [`experiments`]: the README's experiments table lists exactly the
//!   experiments of `experiments/*.toml`, each with exactly its profiles and
//!   their fidelity labels;
//! - [`links`]: every relative link points to a file or directory that exists
//!   (and, with a `#fragment` into a Markdown file, to one of its headings);
//! - [`numbers`]: no hand-typed measurement in the README, and in `docs/`
//!   only where the paragraph links the file the number comes from;
//! - [`schema`]: the Parquet columns in `docs/` are the columns of the code;
//! - [`gpu`]: what `docs/gpu.md` says about GPU runs agrees with `results/`.

pub mod experiments;
pub mod gpu;
pub mod links;
pub mod markdown;
pub mod numbers;
pub mod schema;

use std::path::{Path, PathBuf};

/// The repository's root (this crate is `crates/docs-check`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `README.md` and every `docs/*.md`, as (path relative to the root, text).
pub fn documents(root: &Path) -> Vec<(PathBuf, String)> {
    let mut paths = vec![PathBuf::from("README.md")];
    paths.extend(docs_files(root));
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(root.join(&p))
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, text)
        })
        .collect()
}

/// `docs/*.md`, relative to the root, sorted.
pub fn docs_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .filter_map(|p| p.strip_prefix(root).ok().map(Path::to_path_buf))
        .collect();
    files.sort();
    files
}
