//! What `--version` prints, the same in every binary of the workspace: the
//! crate version and the commit it was built from (`-V`), and with
//! `--version` also the training-code hash (`provenance::TRAINING_CODE`: what
//! a run's results are matched on), tch and libtorch, and whether CUDA is
//! usable here. A bug report or a result quoted elsewhere names a build by it.
use std::sync::OnceLock;

/// The workspace's version (every crate inherits it) and the build's commit.
pub fn short() -> &'static str {
    static S: OnceLock<String> = OnceLock::new();
    S.get_or_init(|| {
        format!(
            "{} (commit {})",
            env!("CARGO_PKG_VERSION"),
            env!("REPRO_BUILD_COMMIT")
        )
    })
}

/// `short()`, then one line each: training code, the libraries, CUDA.
pub fn long() -> &'static str {
    static L: OnceLock<String> = OnceLock::new();
    L.get_or_init(|| describe(&cuda_here()))
}

fn cuda_here() -> String {
    if tch::Cuda::is_available() {
        format!("available, {} device(s)", tch::Cuda::device_count())
    } else {
        "not available (CPU only)".into()
    }
}

/// The long text, with the CUDA line given (tested without a GPU).
pub(crate) fn describe(cuda: &str) -> String {
    format!(
        "{}\ntraining code: {}\nlibraries: {}\nlibtorch: {}\nCUDA: {cuda}",
        short(),
        crate::provenance::TRAINING_CODE,
        env!("REPRO_DEP_VERSIONS"),
        env!("REPRO_LIBTORCH_VERSION"),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_long_version_names_commit_training_code_libraries_and_cuda() {
        let v = super::describe("available, 2 device(s)");
        let lines: Vec<&str> = v.lines().collect();
        assert_eq!(lines.len(), 5, "{v}");
        assert!(lines[0].contains(env!("REPRO_BUILD_COMMIT")), "{v}");
        assert!(!env!("REPRO_BUILD_COMMIT").is_empty());
        assert!(lines[1].ends_with(crate::provenance::TRAINING_CODE), "{v}");
        assert!(lines[2].contains("tch 0.26"), "{v}");
        assert!(lines[3].starts_with("libtorch: 2."), "{v}");
        assert_eq!(lines[4], "CUDA: available, 2 device(s)");
    }
}
