//! What `docs/gpu.md` says about runs on a GPU against `results/`.
//!
//! While nothing under `results/` comes from a GPU, the page must say that
//! the CUDA paths have not yet run on a GPU ([`NOT_YET`]); once something does
//! (a file named `gpu*` such as `results/benchmarks/gpu.md`, or a run whose
//! `provenance.json` records CUDA), it must not say so any more.
use std::path::{Path, PathBuf};

/// The sentence `docs/gpu.md` carries while no result comes from a GPU.
pub const NOT_YET: &str = "have not yet run on a GPU";

/// Files under `results/` that show a GPU was used (the nightly's own
/// git-ignored directory left out).
pub fn gpu_evidence(results: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![results.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for path in std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
        {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                if !(dir == results && name == "nightly") {
                    stack.push(path);
                }
            } else if name.starts_with("gpu") || (name == "provenance.json" && records_cuda(&path))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Whether a run's provenance says it trained on CUDA.
fn records_cuda(provenance: &Path) -> bool {
    std::fs::read_to_string(provenance).is_ok_and(|s| {
        s.lines().any(|l| {
            let l = l.trim();
            l.starts_with("\"device\"") && l.contains("cuda")
        })
    })
}

/// The disagreement, if any, between the page and the evidence.
pub fn problems(page: &str, evidence: &[PathBuf]) -> Vec<String> {
    let says_not_yet = page.contains(NOT_YET);
    match (says_not_yet, evidence.is_empty()) {
        (true, false) => vec![format!(
            "docs/gpu.md says the CUDA paths {NOT_YET}, but results/ has: {}",
            evidence
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )],
        (false, true) => vec![format!(
            "nothing under results/ comes from a GPU: docs/gpu.md must say the CUDA paths {NOT_YET}"
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_must_follow_the_evidence() {
        let page = format!("The CUDA paths {NOT_YET}.");
        assert!(problems(&page, &[]).is_empty());
        assert!(problems(
            "Measured on an H100.",
            &[PathBuf::from("results/benchmarks/gpu.md")]
        )
        .is_empty());
        assert_eq!(
            problems(&page, &[PathBuf::from("results/benchmarks/gpu.md")]).len(),
            1
        );
        assert_eq!(problems("Measured on an H100.", &[]).len(), 1);
    }

    #[test]
    fn gpu_files_and_cuda_runs_are_evidence() {
        let tmp = tempfile::tempdir().expect("tmp");
        let run = tmp.path().join("exp/paper/runs/a-s1");
        std::fs::create_dir_all(&run).expect("dirs");
        std::fs::write(
            run.join("provenance.json"),
            "{\n  \"device\": \"cpu (2 threads)\"\n}",
        )
        .expect("write");
        assert!(gpu_evidence(tmp.path()).is_empty());
        std::fs::write(
            run.join("provenance.json"),
            "{\n  \"device\": \"cuda:0 (NVIDIA H100)\"\n}",
        )
        .expect("write");
        std::fs::create_dir_all(tmp.path().join("benchmarks")).expect("dir");
        std::fs::write(tmp.path().join("benchmarks/gpu.md"), "x").expect("write");
        assert_eq!(gpu_evidence(tmp.path()).len(), 2);
    }
}
