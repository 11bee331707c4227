//! Links libtorch (rpath, libtorch_cuda) and records the versions that go into
//! every run's provenance.
fn main() {
    torch_link::emit();
    let manifest =
        std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let lock = manifest.join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let mut versions = Vec::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.as_ref()) {
            if ["tch", "torch-sys", "polars", "plotters"].contains(&n.as_str()) {
                versions.push(format!("{n} {}", v.trim_matches('"')));
            }
            name = None;
        }
    }
    println!(
        "cargo:rustc-env=REPRO_DEP_VERSIONS=repro {}, {}",
        env!("CARGO_PKG_VERSION"),
        versions.join(", ")
    );
    // libtorch's version as its Python package states it (torch/version.py beside lib/).
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").unwrap_or_default();
    let version_py = std::path::Path::new(&lib).join("../version.py");
    let v = std::fs::read_to_string(&version_py)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("__version__"))
                .and_then(|l| l.split('\'').nth(1).map(str::to_string))
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=REPRO_LIBTORCH_VERSION={v}");

    build_commit(&manifest);

    let tch = versions.iter().find(|v| v.starts_with("tch ")).cloned();
    training_code(&manifest, &[tch.unwrap_or_default(), v]);

    // The bf16 autocast switch (`train::precision`): tch exposes autocast only for
    // CUDA and only with fp16.
    torch_link::compile_shim("csrc/autocast.cpp", "repro_autocast");
}

/// `REPRO_TRAINING_CODE`: a short SHA-256 of the sources that decide what a
/// run computes (data pipeline, models, training loop, evaluation, numerics,
/// the CIFAR-10 and image-folder readers) and of the tch and libtorch versions.
/// Every run records it; a finished run is reused only by a build with the
/// same value (`driver::stale`). Reports, plots, the CLI and the config parser
/// are left out: a change there does not change a run's numbers (and a changed
/// config default changes the resolved config, which runs are matched on).
fn training_code(manifest: &std::path::Path, versions: &[String]) {
    use sha2::{Digest, Sha256};
    let roots = [
        "src/data",
        "src/models",
        "src/train",
        "src/eval.rs",
        "src/layout.rs",
        "src/precision.rs",
        "csrc",
        "../cifar10/src",
        "../imagefolder/src",
    ];
    let mut files = Vec::new();
    for r in roots {
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

fn collect_files(p: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
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
fn build_commit(manifest: &std::path::Path) {
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
