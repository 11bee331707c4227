//! Records what every run's provenance and every binary's `--version` name:
//! the training-code hash, the build's commit and the library versions. No
//! libtorch here: the hash is computed from sources and `Cargo.lock` alone, so
//! torch-free tools (`nightly`, `sweep`) know it too.
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let lock = manifest.join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let versions = locked_versions(&std::fs::read_to_string(&lock).unwrap_or_default());
    println!(
        "cargo:rustc-env=REPRO_DEP_VERSIONS=repro {}, {}",
        env!("CARGO_PKG_VERSION"),
        versions.join(", ")
    );
    build_commit(&manifest);
    let tch = versions.iter().find(|v| v.starts_with("tch ")).cloned();
    training_code(&manifest, &[tch.unwrap_or_default()]);
}

/// "name version" of the libraries provenance names, from `Cargo.lock`.
fn locked_versions(lock: &str) -> Vec<String> {
    let mut versions = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.as_ref()) {
            if ["tch", "torch-sys", "polars", "plotters"].contains(&n.as_str()) {
                versions.push(format!("{n} {}", v.trim_matches('"')));
            }
            name = None;
        }
    }
    versions
}

/// What decides the numbers a run computes: the engine crate whole (data,
/// models, training, evaluation, numerics, its C++ shim, its build script and
/// manifest), the readers it builds on, and the tch version.
const TRAINING_CODE_ROOTS: &[&str] = &[
    "../engine/src",
    "../engine/csrc",
    "../engine/build.rs",
    "../engine/Cargo.toml",
    "../cifar10/src",
    "../cifar10/Cargo.toml",
    "../imagefolder/src",
    "../imagefolder/Cargo.toml",
    "../fileio/src",
    "../fileio/Cargo.toml",
];

/// `REPRO_TRAINING_CODE`: a short SHA-256 of `TRAINING_CODE_ROOTS` (paths and
/// bytes) and of the tch version. Every run records it; a finished run is
/// reused only by a build with the same value (the driver's stale check).
///
/// The libtorch build is not part of it: tch pins the libtorch release
/// (torch-sys refuses another), and the PyPI wheel (`+cu130`) and the CPU-only
/// wheel (`+cpu`) of one release compile the same ATen CPU kernels from the
/// same source, so a user who installs the CPU wheel gets the same hash and
/// every committed run stays usable. The wheel a run used is still recorded
/// (`provenance.libtorch_version`). Reports, the recipe tables and the driver
/// are left out: a change there does not change a run's numbers (a changed
/// recipe default changes the resolved config, which runs are matched on).
fn training_code(manifest: &Path, versions: &[String]) {
    use sha2::{Digest, Sha256};
    let mut files = Vec::new();
    for r in TRAINING_CODE_ROOTS {
        let p = manifest.join(r);
        println!("cargo:rerun-if-changed={}", p.display());
        collect_files(&p, &mut files);
    }
    files.sort();
    let mut h = Sha256::new();
    for f in &files {
        let rel = f.strip_prefix(manifest).unwrap_or(f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(std::fs::read(f).unwrap_or_default());
        h.update([0]);
    }
    for v in versions {
        h.update(v.as_bytes());
        h.update([0]);
    }
    let hex: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("cargo:rustc-env=REPRO_TRAINING_CODE={hex}");
}

fn collect_files(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_file() {
        out.push(p.to_path_buf());
    } else if let Ok(entries) = std::fs::read_dir(p) {
        for e in entries.flatten() {
            collect_files(&e.path(), out);
        }
    }
}

/// `REPRO_BUILD_COMMIT`: the commit this build was made from (`--version`),
/// "unknown" outside a git checkout. Rebuilt when HEAD or the branch it names
/// moves (a commit, a checkout); uncommitted edits are the runs' provenance's
/// business (`git_dirty`), not the binary's name.
fn build_commit(manifest: &Path) {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("--no-optional-locks")
            .args(args)
            .current_dir(manifest)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    // Only files that exist: cargo reruns a build script whose watched file is
    // missing on every build, which would rebuild this crate each time.
    let watch = |what: &str| {
        if let Some(p) = git(&["rev-parse", "--git-path", what]) {
            let p = manifest.join(p);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    };
    watch("HEAD");
    watch("packed-refs");
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(&branch);
    }
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=REPRO_BUILD_COMMIT={commit}");
}
