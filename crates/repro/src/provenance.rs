//! What produced a result: code, libraries, hardware, data, config.
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    pub git_commit: String,
    pub git_dirty: bool,
    pub crate_versions: String,
    pub libtorch_version: String,
    pub device: String,
    pub cuda_available: bool,
    pub threads: i32,
    pub dataset: String,
    pub dataset_sha256: String,
    pub started_at_unix: u64,
    pub command: String,
    /// This build's `TRAINING_CODE`; empty in runs recorded before it existed.
    #[serde(default)]
    pub training_code: String,
    /// The run directory this run's results were copied from (`--reuse-runs`:
    /// the same model, data, training config, seed, training code, data and
    /// device); absent for a run trained here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
}

/// A short hash of the sources that decide what a run computes and of the
/// tch/libtorch versions (see `build.rs`): two builds with the same value
/// train the same numbers from the same config, seed and data.
pub const TRAINING_CODE: &str = env!("REPRO_TRAINING_CODE");

impl Provenance {
    pub fn collect(root: &Path, device: &str, dataset: &str, dataset_sha256: &str) -> Self {
        let Checkout {
            git_commit,
            git_dirty,
        } = Checkout::of(root);
        Self {
            git_commit,
            git_dirty,
            crate_versions: env!("REPRO_DEP_VERSIONS").to_string(),
            libtorch_version: env!("REPRO_LIBTORCH_VERSION").to_string(),
            device: device.to_string(),
            cuda_available: tch::Cuda::is_available(),
            threads: tch::get_num_threads(),
            dataset: dataset.to_string(),
            dataset_sha256: dataset_sha256.to_string(),
            started_at_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            training_code: TRAINING_CODE.to_string(),
            reused_from: None,
        }
    }

    /// What trained the run: its training code's hash when recorded, else its
    /// commit (runs recorded before the hash existed). Runs with the same
    /// value were trained by the same code.
    pub fn training_identity(&self) -> String {
        if self.training_code.is_empty() {
            format!("commit {}", self.commit_label())
        } else {
            format!("training code {}", self.training_code)
        }
    }

    /// Short commit for report headers, with "+dirty" when the tree had changes.
    pub fn commit_label(&self) -> String {
        Checkout {
            git_commit: self.git_commit.clone(),
            git_dirty: self.git_dirty,
        }
        .label()
    }
}

/// The git state of the checkout at `root`, as provenance records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkout {
    /// Full commit hash, or "unknown (not a git checkout)".
    pub git_commit: String,
    /// Tracked files outside `results/` differ from the commit.
    pub git_dirty: bool,
}

impl Checkout {
    pub fn of(root: &Path) -> Self {
        // Read-only: `--no-optional-locks` keeps `git status` from refreshing
        // the index, which takes `.git/index.lock` in the user's checkout (a
        // `git commit` there at that moment would fail on it).
        let git = |args: &[&str]| {
            Command::new("git")
                .arg("--no-optional-locks")
                .args(args)
                .current_dir(root)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let git_commit =
            git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown (not a git checkout)".into());
        // Changes under results/ are this program's outputs (a report being
        // redrawn, another experiment's runs), not the code that made them.
        let git_dirty = git(&[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":(exclude)results",
        ])
        .is_some_and(|s| !s.is_empty());
        Checkout {
            git_commit,
            git_dirty,
        }
    }

    /// 10 hex digits of the commit, with "+dirty" when the tree had changes
    /// ("unknown" outside a git checkout).
    pub fn label(&self) -> String {
        if self.git_commit.starts_with("unknown") {
            return "unknown".into();
        }
        let short: String = self.git_commit.chars().take(10).collect();
        if self.git_dirty {
            format!("{short}+dirty")
        } else {
            short
        }
    }
}

/// "NVIDIA H200" or "cpu: <model>, N threads".
pub fn device_name(device: tch::Device) -> String {
    match device {
        tch::Device::Cuda(i) => {
            let name = Command::new("nvidia-smi")
                .args([
                    "--query-gpu=name",
                    "--format=csv,noheader",
                    &format!("--id={i}"),
                ])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "unknown GPU".into());
            format!("cuda:{i} ({name})")
        }
        _ => format!("cpu ({}, {} threads)", cpu_model(), tch::get_num_threads()),
    }
}

/// The CPU's model name from /proc/cpuinfo (the architecture where unreadable).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The x86 vector extensions that decide which CPU kernels libtorch (oneDNN) runs,
/// read from the `flags` line of /proc/cpuinfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuIsa {
    pub avx2: bool,
    pub avx512: bool,
    /// Native bf16 arithmetic: AVX512-BF16 or AMX-BF16.
    pub bf16: bool,
    pub amx: bool,
}

impl CpuIsa {
    /// From a /proc/cpuinfo `flags` value (space-separated).
    pub fn from_flags(flags: &str) -> Self {
        let has = |f: &str| flags.split_whitespace().any(|x| x == f);
        Self {
            avx2: has("avx2"),
            avx512: has("avx512f"),
            bf16: has("avx512_bf16") || has("amx_bf16"),
            amx: has("amx_tile"),
        }
    }

    /// This machine's (all false where /proc/cpuinfo is unreadable or not x86).
    pub fn this_cpu() -> Self {
        let flags = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("flags"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_or_default();
        Self::from_flags(&flags)
    }

    /// "AVX2", "AVX-512", "AVX-512 + AMX" (with "+ BF16" where it has bf16 arithmetic).
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if self.avx512 {
            parts.push("AVX-512");
        } else if self.avx2 {
            parts.push("AVX2");
        } else {
            parts.push("no AVX2");
        }
        if self.amx {
            parts.push("AMX");
        }
        if self.bf16 {
            parts.push("BF16");
        }
        parts.join(" + ")
    }
}

#[cfg(test)]
mod tests {
    use super::CpuIsa;

    #[test]
    fn isa_from_cpuinfo_flags() {
        let epyc = CpuIsa::from_flags("fpu sse2 avx fma avx2 bmi2 sha_ni");
        assert_eq!(epyc.label(), "AVX2");
        assert!(!epyc.bf16);
        let xeon = CpuIsa::from_flags("avx2 avx512f avx512bw avx512_bf16 amx_bf16 amx_tile");
        assert_eq!(xeon.label(), "AVX-512 + AMX + BF16");
        assert!(xeon.bf16);
        // A flag that merely starts like another is not it.
        assert!(!CpuIsa::from_flags("avx2_x avx512fx").avx2);
    }
}

#[cfg(test)]
mod dirty_tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(["-c", "user.email=t@t", "-c", "user.name=t"])
            .args(args)
            .current_dir(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "git {args:?}");
    }

    /// Issue 32, case 14: recording provenance never writes the user's
    /// index (`git status` without `--no-optional-locks` refreshes it under
    /// `.git/index.lock`).
    #[test]
    fn provenance_leaves_the_git_index_alone() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        std::fs::write(d.join("main.rs"), "a").expect("write");
        git(d, &["init", "-q"]);
        git(d, &["add", "."]);
        git(d, &["commit", "-qm", "init"]);
        // Same bytes, newer mtime: the index's stat data is out of date, which
        // a plain `git status` repairs by rewriting the index.
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(d.join("main.rs"))
            .and_then(|f| f.set_modified(later))
            .expect("touch");
        let index = std::fs::read(d.join(".git/index")).expect("index");
        assert!(!Checkout::of(d).git_dirty);
        assert!(
            std::fs::read(d.join(".git/index")).expect("index") == index,
            "the index was rewritten"
        );
    }

    #[test]
    fn redrawn_results_do_not_make_the_code_dirty() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        std::fs::create_dir_all(d.join("results")).expect("mkdir");
        std::fs::write(d.join("results/report.md"), "a").expect("write");
        std::fs::write(d.join("main.rs"), "a").expect("write");
        git(d, &["init", "-q"]);
        git(d, &["add", "."]);
        git(d, &["commit", "-qm", "init"]);
        std::fs::write(d.join("results/report.md"), "b").expect("write");
        assert!(!Provenance::collect(d, "", "", "").git_dirty);
        std::fs::write(d.join("main.rs"), "b").expect("write");
        let p = Provenance::collect(d, "", "", "");
        assert!(p.git_dirty && p.commit_label().ends_with("+dirty"));
    }
}
