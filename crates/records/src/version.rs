//! What `--version` prints, the same in every binary of the workspace: the
//! crate version and the commit it was built from (`-V`), and with
//! `--version` also the training-code hash (`TRAINING_CODE`: what
//! a run's results are matched on), the libraries, libtorch and whether CUDA
//! is usable here. A bug report or a result quoted elsewhere names a build by
//! it. Binaries that link libtorch fill in its two lines (the driver's
//! `version::long`); the torch-free tools say they do not link it.
use std::sync::OnceLock;

/// The commit this build was made from (`build.rs`), "unknown" outside git.
pub const BUILD_COMMIT: &str = env!("REPRO_BUILD_COMMIT");
/// The workspace's version and the libraries runs record (from `Cargo.lock`).
pub const DEP_VERSIONS: &str = env!("REPRO_DEP_VERSIONS");
/// A short hash of the sources that decide what a run computes (the engine
/// crate whole, the readers) and of the tch version (see `build.rs`): two
/// builds with the same value train the same numbers from the same config,
/// seed and data. Here with the build's other identity, which `provenance`
/// records (this module imports nothing of the crate).
pub const TRAINING_CODE: &str = env!("REPRO_TRAINING_CODE");

/// The workspace's version (every crate inherits it) and the build's commit.
pub fn short() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| format!("{} (commit {BUILD_COMMIT})", env!("CARGO_PKG_VERSION")))
}

/// `--version` of a tool that does not link libtorch (`nightly`, `sweep`).
pub fn long_torch_free() -> &'static str {
    static L: OnceLock<String> = OnceLock::new();
    L.get_or_init(|| {
        describe(
            "not linked (this tool reads records only)",
            "not used by this tool",
        )
    })
}

/// `short()`, then one line each: training code, the libraries, libtorch, CUDA.
pub fn describe(libtorch: &str, cuda: &str) -> String {
    format!(
        "{}\ntraining code: {}\nlibraries: {DEP_VERSIONS}\nlibtorch: {libtorch}\nCUDA: {cuda}",
        short(),
        TRAINING_CODE,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_long_version_names_commit_training_code_libraries_and_cuda() {
        let v = super::describe("2.13.0+cpu", "available, 2 device(s)");
        let lines: Vec<&str> = v.lines().collect();
        assert_eq!(lines.len(), 5, "{v}");
        assert!(lines[0].contains(super::BUILD_COMMIT), "{v}");
        assert!(!super::BUILD_COMMIT.is_empty());
        assert!(lines[1].ends_with(super::TRAINING_CODE), "{v}");
        assert!(lines[2].contains("tch 0.26"), "{v}");
        assert_eq!(lines[3], "libtorch: 2.13.0+cpu");
        assert_eq!(lines[4], "CUDA: available, 2 device(s)");
    }
}
