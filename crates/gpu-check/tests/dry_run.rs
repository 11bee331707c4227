//! The GPU check's dry run (CPU, a few steps each) writes all six sections.
use std::process::Command;

fn gpu_check() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gpu-check"));
    // The data flags are the test's own, whatever the environment says.
    c.env_remove("REPRO_DATA").env_remove("REPRO_DATA_DIR");
    c
}

#[test]
fn dry_run_writes_all_six_sections() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("check.md");
    let status = gpu_check()
        .args(["--dry-run", "--synthetic-data", "--report"])
        .arg(&out)
        .status()
        .expect("runs gpu-check");
    assert!(status.success(), "gpu-check --dry-run failed");
    let md = std::fs::read_to_string(&out).expect("the report");
    for n in 1..=6 {
        assert!(
            md.contains(&format!("\n## {n}. ")),
            "section {n} missing:\n{md}"
        );
    }
    assert!(md.contains("DRY RUN"), "a dry run must say so:\n{md}");
    assert!(
        md.contains("n/a (dry run, CPU)"),
        "memory in a dry run:\n{md}"
    );
    // The agreement check ran and passed (NCHW vs channels-last on the CPU).
    assert!(md.contains("| PASS |"), "no agreement verdict:\n{md}");
    assert!(!md.contains("| FAIL |"), "agreement failed:\n{md}");
}

#[test]
fn flags_are_checked() {
    let help = gpu_check().arg("--help").output().expect("runs");
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--dry-run"));
    let bad = gpu_check().arg("--no-such-flag").output().expect("runs");
    assert!(!bad.status.success());
}
