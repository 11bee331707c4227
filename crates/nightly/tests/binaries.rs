//! One set of conventions across the workspace's binaries (issue 29): every
//! binary answers `--help` (with the exit-status table, `records::exit::HELP`,
//! where the binary uses that table) and `--version` with this build's commit,
//! training-code hash, libraries and CUDA (`records::version`), exit 0. The
//! binaries are the experiments the registry finds plus the tools; all are
//! built beside `nightly` by `cargo test --workspace`.
use std::path::{Path, PathBuf};
use std::process::Command;

const TOOLS: [&str; 4] = ["sweep", "nightly", "gpu-check", "receptive-field"];

fn binaries() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_BIN_EXE_nightly"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let root = records::repo_root();
    let mut names: Vec<String> = records::registry::discover(&root)
        .expect("experiments")
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert!(names.len() >= 11, "{names:?}");
    names.extend(TOOLS.map(String::from));
    names
        .iter()
        .map(|n| {
            let p = dir.join(n);
            assert!(
                p.is_file(),
                "{} missing: `cargo test --workspace` (or `cargo build --release --workspace`) builds it",
                p.display()
            );
            p
        })
        .collect()
}

fn run(bin: &Path, flag: &str) -> String {
    let o = Command::new(bin).arg(flag).output().expect("runs");
    assert!(
        o.status.success(),
        "{} {flag}: {:?}\n{}",
        bin.display(),
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn every_binary_answers_help_and_version_the_same_way() {
    for bin in binaries() {
        let name = bin.file_name().and_then(|n| n.to_str()).expect("name");
        let help = run(&bin, "--help");
        assert!(
            help.contains("Usage:") && help.contains("--version"),
            "{name}: {help}"
        );
        // nightly keeps its own summary statuses (0 held, 1 regression, 2 crash).
        if name != "nightly" {
            assert!(
                help.contains(records::exit::HELP),
                "{name}: no exit-status table in --help"
            );
        }
        let long = run(&bin, "--version");
        assert!(
            long.starts_with(&format!("{name} {}", records::version::short())),
            "{name}: {long}"
        );
        assert!(
            long.contains(&format!(
                "training code: {}",
                records::provenance::TRAINING_CODE
            )),
            "{name}: {long}"
        );
        assert!(
            long.contains("libtorch: ") && long.contains("CUDA: "),
            "{name}: {long}"
        );
        // The flags every binary shares, spelled the same way.
        for flag in ["-q, --quiet", "-v, --verbose..."] {
            assert!(help.contains(flag), "{name}: no `{flag}` in --help");
        }
        let shared: &[&str] = match name {
            "nightly" => &["--experiments <EXPERIMENTS>", "--profile <PROFILE>"],
            "receptive-field" => &["--runs <RUNS>", "--profile <PROFILE>"],
            "gpu-check" => &["--device <DEVICE>", "--report <REPORT>"],
            _ => &[
                "--runs <RUNS>",
                "--seeds <SEEDS>",
                "--profile <PROFILE>",
                "--device <DEVICE>",
                "--out <OUT>",
            ],
        };
        for flag in shared {
            assert!(help.contains(flag), "{name}: no `{flag}` in --help");
        }
        let short = run(&bin, "-V");
        assert_eq!(
            short.trim(),
            format!("{name} {}", records::version::short()),
            "{name}"
        );
    }
}
