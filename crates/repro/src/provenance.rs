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
    /// Resumes of this run with another libtorch thread count than its
    /// checkpoint was written with (an explicit `--threads`): floating-point
    /// sums are split by thread, so from each such iteration on the run's
    /// numbers are no longer bit-identical to an uninterrupted run's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread_changes: Vec<ThreadChange>,
}

/// A resume with another thread count (`Provenance::thread_changes`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ThreadChange {
    /// The iteration the run resumed at.
    pub iteration: i64,
    /// The thread count its checkpoint was written with.
    pub from: i32,
    /// The thread count it resumed with.
    pub to: i32,
}

/// The data a run trains on, as its provenance and its checkpoints record
/// it: the dataset's label and its source's SHA-256 (empty where the source
/// has none, an image folder, whose label then decides).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DataIdentity {
    pub label: String,
    pub sha256: String,
}

impl DataIdentity {
    /// Whether `self` and `other` are records of the same data: the same
    /// source digest where both have one (the same bytes, whatever they are
    /// called), else the same label.
    pub fn same_data(&self, other: &DataIdentity) -> bool {
        if self.sha256.is_empty() || other.sha256.is_empty() {
            self.label == other.label
        } else {
            self.sha256 == other.sha256
        }
    }
}

impl std::fmt::Display for DataIdentity {
    /// "`CIFAR-10` (source sha256 d877bdec11f54282)": two copies of one label
    /// are told apart by their digests.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`", self.label)?;
        if !self.sha256.is_empty() {
            let short: String = self.sha256.chars().take(16).collect();
            write!(f, " (source sha256 {short})")?;
        }
        Ok(())
    }
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
            thread_changes: Vec::new(),
        }
    }

    /// The data the run was trained on, as recorded here.
    pub fn data(&self) -> DataIdentity {
        DataIdentity {
            label: self.dataset.clone(),
            sha256: self.dataset_sha256.clone(),
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

/// Stands in for the `flags` line of /proc/cpuinfo in [`CpuIsa::this_cpu`]: a
/// space-separated flag list (e.g. `avx2 fma` for an AVX2-only AMD EPYC, or
/// `avx2 avx512f avx512_bf16 amx_bf16 amx_tile` for a Xeon with AMX). Every
/// decision the driver takes on the CPU's features (the bf16 refusal, say) can
/// so be exercised under each answer on any machine; the tests do. Labels made
/// from an injected set say so, so provenance cannot pass it off as measured.
pub const CPU_FLAGS_ENV: &str = "REPRO_CPU_FLAGS";

/// The x86 vector extensions that decide which CPU kernels libtorch (oneDNN) runs,
/// read from the `flags` line of /proc/cpuinfo (or [`CPU_FLAGS_ENV`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuIsa {
    pub avx2: bool,
    pub avx512: bool,
    /// Native bf16 arithmetic: AVX512-BF16 or AMX-BF16.
    pub bf16: bool,
    pub amx: bool,
    /// Read from [`CPU_FLAGS_ENV`], not from the machine.
    pub injected: bool,
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
            injected: false,
        }
    }

    /// This machine's (all false where /proc/cpuinfo is unreadable or not x86),
    /// or the set [`CPU_FLAGS_ENV`] injects.
    pub fn this_cpu() -> Self {
        Self::detect(std::env::var(CPU_FLAGS_ENV).ok().as_deref())
    }

    /// `injected` when given, else this machine's /proc/cpuinfo flags.
    pub fn detect(injected: Option<&str>) -> Self {
        if let Some(flags) = injected {
            return Self {
                injected: true,
                ..Self::from_flags(flags)
            };
        }
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
        let label = parts.join(" + ");
        if self.injected {
            format!("{label}, injected by {CPU_FLAGS_ENV}")
        } else {
            label
        }
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

    #[test]
    fn an_injected_flag_set_stands_in_for_the_machine_and_says_so() {
        // Both answers, whatever this machine has.
        let zen3 = CpuIsa::detect(Some("fpu avx fma avx2"));
        assert!(zen3.injected && !zen3.bf16 && zen3.avx2 && !zen3.avx512);
        assert_eq!(zen3.label(), "AVX2, injected by REPRO_CPU_FLAGS");
        let zen4 = CpuIsa::detect(Some("avx2 avx512f avx512_bf16"));
        assert!(zen4.bf16 && zen4.avx512 && !zen4.amx);
        // Not injected: the machine's own flags, labelled plainly.
        let here = CpuIsa::detect(None);
        assert!(!here.injected && !here.label().contains("injected"));
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
