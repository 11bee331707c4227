//! What produced a result: code, libraries, hardware, data, config.
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// The commit of the checkout the run was started in (its experiment
    /// files, claims and paper numbers are read from there).
    pub git_commit: String,
    /// Tracked files of that checkout outside `results/` had uncommitted edits.
    pub git_dirty: bool,
    /// The commit the training binary was built from (`version::BUILD_COMMIT`,
    /// 12 hex digits, "unknown" outside git): what trained the run, which may
    /// differ from `git_commit` (a binary copied aside to train while the
    /// checkout moves on). Empty in runs recorded before it was.
    #[serde(default)]
    pub build_commit: String,
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
    /// The stretches of training this run was trained in, one per process
    /// that trained it (a run stopped at a checkpoint and resumed, on this
    /// machine or another, after a commit or not), oldest first; the last is
    /// the one the fields above describe. A run resumed on another CPU kind or
    /// by other training code is still one run, and says so here. Absent in
    /// runs recorded before segments were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<Segment>,
}

/// One process's stretch of a run's training (`Provenance::segments`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Segment {
    /// The iteration it started (resumed) at: 0 for the first.
    pub from_iteration: i64,
    pub started_at_unix: u64,
    /// The device, with the CPU's model and thread count.
    pub device: String,
    pub git_commit: String,
    pub git_dirty: bool,
    /// `Provenance::build_commit` of the binary that trained this segment.
    #[serde(default)]
    pub build_commit: String,
    pub training_code: String,
    pub libtorch_version: String,
    pub threads: i32,
}

impl Segment {
    /// The commit that trained this segment, as [`trained_at`] labels it.
    pub fn trained_at(&self) -> String {
        trained_at(&self.build_commit, &self.git_commit, self.git_dirty)
    }
}

/// The commit that trained a run or segment: the binary's build commit (10
/// hex digits), with "+dirty" only where the checkout it ran in was at that
/// same commit with uncommitted edits (the binary may have been built from
/// them); a binary built elsewhere says nothing of the checkout's edits. Runs
/// recorded before the build commit was fall back to the checkout's label.
fn trained_at(build_commit: &str, git_commit: &str, git_dirty: bool) -> String {
    let checkout = Checkout {
        git_commit: git_commit.to_string(),
        git_dirty,
    };
    let known = build_commit.len() >= 7 && build_commit.chars().all(|c| c.is_ascii_hexdigit());
    if !known {
        return checkout.label();
    }
    Checkout {
        git_dirty: git_dirty && git_commit.starts_with(build_commit),
        git_commit: build_commit.to_string(),
    }
    .label()
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

/// This build's training-code hash (`version::TRAINING_CODE`), which every
/// run's provenance records.
pub use crate::version::TRAINING_CODE;

/// What the engine reports of the libtorch it runs on (`engine::runtime`):
/// a torch-free record of it, so that this crate does not link libtorch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Runtime {
    /// libtorch's version as its Python package states it (`2.13.0+cpu`).
    pub libtorch_version: String,
    pub cuda_available: bool,
    /// libtorch's intra-op thread count.
    pub threads: i32,
}

impl Provenance {
    pub fn collect(
        root: &Path,
        runtime: &Runtime,
        device: &str,
        dataset: &str,
        dataset_sha256: &str,
    ) -> Self {
        let Checkout {
            git_commit,
            git_dirty,
        } = Checkout::of(root);
        Self {
            git_commit,
            git_dirty,
            build_commit: crate::version::BUILD_COMMIT.to_string(),
            crate_versions: crate::version::DEP_VERSIONS.to_string(),
            libtorch_version: runtime.libtorch_version.clone(),
            device: device.to_string(),
            cuda_available: runtime.cuda_available,
            threads: runtime.threads,
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
            segments: Vec::new(),
        }
    }

    /// This process's stretch of training, from `from_iteration`.
    pub fn segment(&self, from_iteration: i64) -> Segment {
        Segment {
            from_iteration,
            started_at_unix: self.started_at_unix,
            device: self.device.clone(),
            git_commit: self.git_commit.clone(),
            git_dirty: self.git_dirty,
            build_commit: self.build_commit.clone(),
            training_code: self.training_code.clone(),
            libtorch_version: self.libtorch_version.clone(),
            threads: self.threads,
        }
    }

    /// `self` (written as a run starts or resumes at `from_iteration`) with
    /// the run's segments: those of `earlier` (the provenance of the
    /// checkpoint it resumes; one written before segments were recorded counts
    /// as one segment from 0) and this one. A fresh start has one segment.
    pub fn with_segments(mut self, earlier: Option<&Provenance>, from_iteration: i64) -> Self {
        let mut segments = match earlier {
            Some(e) if from_iteration > 0 && e.segments.is_empty() => vec![e.segment(0)],
            Some(e) if from_iteration > 0 => e.segments.clone(),
            _ => Vec::new(),
        };
        segments.push(self.segment(from_iteration));
        self.segments = segments;
        self
    }

    /// Whether the run's segments ran on more than one device or training code.
    pub fn mixed_segments(&self) -> bool {
        let differs =
            |f: fn(&Segment) -> &str| self.segments.windows(2).any(|w| f(&w[0]) != f(&w[1]));
        differs(|s| &s.device) || differs(|s| &s.training_code)
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

    /// The commits that trained the run, one per distinct segment commit,
    /// oldest first ([`trained_at`]); the run's own where it has no segments.
    pub fn trained_at(&self) -> Vec<String> {
        let own = [self.segment(0)];
        let segments = if self.segments.is_empty() {
            &own[..]
        } else {
            &self.segments
        };
        let mut out: Vec<String> = Vec::new();
        for label in segments.iter().map(Segment::trained_at) {
            if !out.contains(&label) {
                out.push(label);
            }
        }
        out
    }

    /// Short commit of the checkout the run started in, with "+dirty" when it
    /// had uncommitted edits.
    pub fn commit_label(&self) -> String {
        Checkout {
            git_commit: self.git_commit.clone(),
            git_dirty: self.git_dirty,
        }
        .label()
    }
}

/// For binaries run outside a git checkout (a package unpacked on a GPU host
/// that has no repository: `scripts/gpu-queue`): the commit their sources were
/// copied at, `<hash>` or `<hash>+dirty`, which the package records and its
/// `run.sh` sets. Read only where git finds no checkout; a checkout's own
/// commit always wins.
pub const SOURCE_COMMIT_ENV: &str = "REPRO_SOURCE_COMMIT";

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
        let Some(git_commit) = git(&["rev-parse", "HEAD"]) else {
            return Self::outside_a_checkout(std::env::var(SOURCE_COMMIT_ENV).ok().as_deref());
        };
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

    /// Where git finds no checkout: the commit `recorded` names (the value
    /// of [`SOURCE_COMMIT_ENV`], `<hash>` or `<hash>+dirty`), else unknown.
    pub fn outside_a_checkout(recorded: Option<&str>) -> Self {
        let parsed = recorded.map(str::trim).and_then(|r| {
            let (hash, dirty) = match r.strip_suffix("+dirty") {
                Some(h) => (h, true),
                None => (r, false),
            };
            let hex = (7..=40).contains(&hash.len()) && hash.chars().all(|c| c.is_ascii_hexdigit());
            hex.then(|| (hash.to_string(), dirty))
        });
        match parsed {
            Some((git_commit, git_dirty)) => Checkout {
                git_commit,
                git_dirty,
            },
            None => Checkout {
                git_commit: "unknown (not a git checkout)".into(),
                git_dirty: false,
            },
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
    use super::{Checkout, CpuIsa};

    #[test]
    fn outside_a_checkout_the_recorded_commit_is_taken_when_it_is_a_hash() {
        let c = Checkout::outside_a_checkout(Some("a7ce9391e0f3+dirty"));
        assert_eq!(c.git_commit, "a7ce9391e0f3");
        assert!(c.git_dirty);
        assert_eq!(c.label(), "a7ce9391e0+dirty");
        let clean = Checkout::outside_a_checkout(Some(" a7ce939 "));
        assert_eq!(
            (clean.git_commit.as_str(), clean.git_dirty),
            ("a7ce939", false)
        );
        for bad in [None, Some(""), Some("main"), Some("a7ce9; rm -rf")] {
            let c = Checkout::outside_a_checkout(bad);
            assert_eq!(c.label(), "unknown", "{bad:?}");
        }
    }

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
        assert!(!Provenance::collect(d, &Runtime::default(), "", "", "").git_dirty);
        std::fs::write(d.join("main.rs"), "b").expect("write");
        let p = Provenance::collect(d, &Runtime::default(), "", "", "");
        assert!(p.git_dirty && p.commit_label().ends_with("+dirty"));
    }

    #[test]
    fn a_resumed_run_keeps_its_earlier_segments_and_adds_its_own() {
        let d = Path::new(".");
        let mut first = Provenance::collect(d, &Runtime::default(), "cpu (A)", "", "");
        first.training_code = "aaaa".into();
        let first = first.with_segments(None, 0);
        assert_eq!(first.segments.len(), 1);
        assert!(!first.mixed_segments());
        let mut second = Provenance::collect(d, &Runtime::default(), "cpu (B)", "", "");
        second.training_code = "bbbb".into();
        let second = second.with_segments(Some(&first), 1200);
        let from: Vec<i64> = second.segments.iter().map(|s| s.from_iteration).collect();
        assert_eq!(from, vec![0, 1200]);
        assert_eq!(second.segments[0].training_code, "aaaa");
        assert_eq!(second.segments[1].device, "cpu (B)");
        assert!(second.mixed_segments());
        // A provenance from before segments counts as one, from 0.
        let mut old = first.clone();
        old.segments.clear();
        let third = second.clone().with_segments(Some(&old), 500);
        assert_eq!(third.segments.len(), 2);
        assert_eq!(third.segments[0].from_iteration, 0);
        // A fresh start forgets the earlier run's segments.
        assert_eq!(second.with_segments(Some(&first), 0).segments.len(), 1);
    }

    #[test]
    fn a_run_names_the_commit_its_binary_was_built_from() {
        let built = "f251af3aa0b1";
        // A binary copied aside, run in a checkout that has moved on with edits:
        // the edits are not the binary's.
        let moved_on = "98272d7716aaaaaaaaaabbbbbbbbbbcccccccccc";
        assert_eq!(trained_at(built, moved_on, true), "f251af3aa0");
        // Run in the checkout it was built from, with edits: it may contain them.
        let here = format!("{built}{}", "0".repeat(28));
        assert_eq!(trained_at(built, &here, true), "f251af3aa0+dirty");
        assert_eq!(trained_at(built, &here, false), "f251af3aa0");
        // Runs recorded before the build commit was, or a build outside git.
        assert_eq!(trained_at("", &here, true), "f251af3aa0+dirty");
        assert_eq!(
            trained_at("unknown", "unknown (not a git checkout)", false),
            "unknown"
        );
        // A run's commits are its segments', each once, oldest first.
        let d = Path::new(".");
        let mut p = Provenance::collect(d, &Runtime::default(), "cpu", "", "");
        p.build_commit = built.into();
        p.git_commit = here.clone();
        p.git_dirty = false;
        let first = p.clone().with_segments(None, 0);
        let mut later = p.clone();
        later.build_commit = "46dbf78aac1f".into();
        let second = later.clone().with_segments(Some(&first), 100);
        let third = later.with_segments(Some(&second), 200);
        assert_eq!(third.trained_at(), ["f251af3aa0", "46dbf78aac"]);
    }
}
