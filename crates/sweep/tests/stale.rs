//! A sweep over runs trained by other training code than the binary's: the
//! binary's `--list-runs` marks them `stale`, and the sweep refuses them
//! (nothing written) unless `--fresh-stale` retrains them or `--allow-mixed`
//! reuses them. Before, `--list-runs` called them `done`: the sweep skipped
//! them and its merge then refused the mixed report.
mod common;
use common::*;
use records::run_dir::{ListedRun, RunListState};
use std::path::Path;

fn mark_trained_elsewhere(run_dir: &Path) {
    let path = run_dir.join("provenance.json");
    let mut p: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("provenance")).expect("json");
    p["training_code"] = serde_json::json!("00000000");
    p["git_commit"] = serde_json::json!("feedbeefcafe");
    std::fs::write(&path, serde_json::to_vec(&p).expect("json")).expect("write");
}

/// Another tiny CIFAR-10 (other images: another size of the training set).
fn tiny_cifar_other(tmp: &Path) -> std::path::PathBuf {
    records::testing::tiny_cifar(&tmp.join("other-data"), 201, 201).expect("generate data")
}

/// The state `--list-runs` gives plain-20-s1, read through the type the
/// binary writes it with.
fn state_listed(bin: &str, out: &str, extra: &[&str]) -> RunListState {
    let mut a = vec![
        "--profile",
        "smoke",
        "--runs",
        "plain-20",
        "--out",
        out,
        "--list-runs",
    ];
    a.extend_from_slice(extra);
    let r = run(bin, &a);
    assert!(r.status.success(), "{}", stderr(&r));
    let line: ListedRun =
        serde_json::from_slice(r.stdout.split(|b| *b == b'\n').next().expect("a line"))
            .expect("json");
    line.state
}

#[test]
fn runs_of_other_training_code_are_refused_by_a_sweep_unless_retrained_or_allowed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let args = smoke_sweep_args(tmp.path(), &out);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(SWEEP, &args);
    assert!(r.status.success(), "{}", stderr(&r));
    let bin = exp_bin();
    let run_dir = out.join("smoke/runs/plain-20-s1");
    let (b, o) = (bin.to_str().expect("UTF-8"), out.to_str().expect("UTF-8"));
    assert_eq!(state_listed(b, o, &[]), RunListState::Done);

    mark_trained_elsewhere(&run_dir);
    assert_eq!(state_listed(b, o, &[]), RunListState::Stale);
    assert_eq!(state_listed(b, o, &["--allow-mixed"]), RunListState::Done);
    assert_eq!(state_listed(b, o, &["--fresh-stale"]), RunListState::New);

    // Refused, naming the run and the ways out; nothing written.
    let before = snapshot(&out);
    let r = run(SWEEP, &args);
    let err = stderr(&r);
    assert!(!r.status.success(), "swept over a stale run: {err}");
    assert!(
        err.contains("plain-20-s1")
            && err.contains("--fresh-stale")
            && err.contains("--allow-mixed"),
        "{err}"
    );
    assert!(err.contains("other training code"), "{err}");
    assert_intact(&before);

    // --allow-mixed: reused as it is, the report drawn from it.
    let metrics = std::fs::read(run_dir.join("metrics.parquet")).expect("metrics");
    let mut allow = args.clone();
    allow.push("--allow-mixed");
    let r = run(SWEEP, &allow);
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(
        std::fs::read(run_dir.join("metrics.parquet")).expect("m"),
        metrics
    );

    // --fresh-stale: trained again, now recorded with the binary's code.
    let mut retrain = args.clone();
    retrain.push("--fresh-stale");
    let r = run(SWEEP, &retrain);
    assert!(r.status.success(), "{}", stderr(&r));
    let p: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("provenance.json")).expect("p"))
            .expect("json");
    assert_ne!(p["training_code"], "00000000", "not retrained");
    assert_eq!(state_listed(b, o, &[]), RunListState::Done);

    // The run on other data (issue 32, case 5, through a sweep): `--list-runs`
    // is given the sweep's `--data`, so the finished run is stale, not `done`
    // (skipped, its old report redrawn), and the refusal says why.
    let after_retrain = snapshot(&out);
    let other = tiny_cifar_other(tmp.path());
    let mut on_other = args.clone();
    let at = on_other
        .iter()
        .position(|a| *a == "--data")
        .expect("--data")
        + 1;
    on_other[at] = other.to_str().expect("UTF-8");
    let r = run(SWEEP, &on_other);
    let err = stderr(&r);
    assert!(!r.status.success(), "swept over a run on other data: {err}");
    assert!(
        err.contains("plain-20-s1") && err.contains("other data"),
        "{err}"
    );
    assert_intact(&after_retrain);
}
