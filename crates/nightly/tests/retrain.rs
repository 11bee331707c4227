//! The nightly end to end on the smoke profile of two experiments (generated
//! data): it retrains into a fresh directory, holds against a baseline of the
//! same code, exits 1 when a baseline number is edited beyond tolerance and 2
//! when a run cannot start.
use records::testing::snapshot;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NIGHTLY: &str = env!("CARGO_BIN_EXE_nightly");
const EXPERIMENTS: [&str; 2] = ["alexnet-lrn", "resnet-cifar-degradation"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The nightly on `--profile smoke` with `data`, comparing with `baseline`, into `out`.
fn nightly(only: &str, data: &Path, baseline: &Path, out: &Path, extra: &[&str]) -> Output {
    for e in EXPERIMENTS {
        let bin = Path::new(NIGHTLY).with_file_name(e);
        assert!(
            bin.is_file(),
            "{} missing: `cargo build --release --workspace` (cargo test --workspace builds it)",
            bin.display()
        );
    }
    let o = Command::new(NIGHTLY)
        // One libtorch thread per run: on a loaded machine two spinning threads
        // each made a seconds-long smoke run take minutes.
        .args(["--profile", "smoke", "--only", only])
        .args(["--extra=--no-estimate", "--extra=--threads=1"])
        .arg("--data")
        .arg(data)
        .arg("--data-dir")
        .arg(data.with_file_name("cache"))
        .arg("--baseline")
        .arg(baseline)
        .arg("--out")
        .arg(out)
        .args(extra)
        .current_dir(root())
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("nightly runs");
    eprintln!("{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The run ids of an experiment's smoke results under `dir`.
fn run_ids(dir: &Path, e: &str) -> Vec<String> {
    let csv = read(&dir.join(e).join("smoke/summary.csv"));
    let mut ids: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).expect("run_id").to_string())
        .collect();
    ids.sort();
    ids
}

/// Checks that `fresh` trained every run of `base` anew, after `since`.
fn assert_retrained(base: &Path, fresh: &Path, since: u64) {
    for e in EXPERIMENTS {
        let ids = run_ids(base, e);
        assert!(!ids.is_empty() && ids == run_ids(fresh, e), "{e}: {ids:?}");
        for id in ids {
            let run = |d: &Path| d.join(e).join("smoke/runs").join(&id);
            let prov: serde_json::Value =
                serde_json::from_str(&read(&run(fresh).join("provenance.json"))).expect("json");
            let started = prov["started_at_unix"].as_u64().expect("started_at_unix");
            assert!(started >= since, "{e}/{id} started {started} < {since}");
            // Each experiment may copy a run an earlier one of this nightly
            // trained (none of these smoke runs share a recipe).
            let cmd = prov["command"].as_str().expect("command");
            assert!(
                cmd.contains(&format!("--reuse-runs {}", fresh.display()))
                    && prov.get("reused_from").is_none(),
                "{e}/{id}: {prov}"
            );
            let wall = |d: &Path| -> Vec<f64> {
                records::metrics::read_parquet(&run(d).join("metrics.parquet"))
                    .expect("metrics")
                    .iter()
                    .map(|r| r.wall_time_s)
                    .collect()
            };
            let (b, f) = (wall(base), wall(fresh));
            assert!(
                !f.is_empty() && b != f,
                "{e}/{id}: the same wall-clock rows"
            );
        }
    }
}

/// Moves the first run's final test error of `e`'s baseline by 50 points.
fn edit_baseline(base: &Path, e: &str) {
    let p = base.join(e).join("smoke/summary.csv");
    let text = read(&p);
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let col = lines[0]
        .split(',')
        .position(|c| c == "final_test_error_pct")
        .expect("column");
    let mut cells: Vec<String> = lines[1].split(',').map(String::from).collect();
    let v: f64 = cells[col].parse().expect("number");
    cells[col] = format!("{}", if v > 50.0 { v - 50.0 } else { v + 50.0 });
    lines[1] = cells.join(",");
    std::fs::write(&p, lines.join("\n") + "\n").expect("write");
}

#[test]
fn retrains_holds_against_its_baseline_and_exits_by_outcome() {
    let t = tempfile::tempdir().expect("tmp");
    let data = records::testing::tiny_cifar(&t.path().join("data"), 200, 200).expect("data");
    let (base, fresh) = (t.path().join("base"), t.path().join("n1"));
    let both = EXPERIMENTS.join(",");
    // The baseline: a first nightly (against no baseline: nothing to compare).
    let o = nightly(&both, &data, &t.path().join("none"), &base, &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(read(&base.join("SUMMARY.md")).contains("no baseline"));
    let before = snapshot(&base);
    let since = nightly::state::now_unix();
    let o = nightly(&both, &data, &base, &fresh, &[]);
    assert_eq!(o.status.code(), Some(0));
    assert_retrained(&base, &fresh, since);
    assert!(before == snapshot(&base), "the baseline was modified");
    let summary = read(&fresh.join("SUMMARY.md"));
    let state = nightly::state::State::read(&fresh).expect("nightly.json");
    assert!(state.finished && state.exit_code == Some(0));
    // Each experiment's training time is recorded and tabled (no budget for smoke).
    assert_eq!(
        state.seconds.keys().collect::<Vec<_>>(),
        EXPERIMENTS.iter().collect::<Vec<_>>()
    );
    assert!(
        state.seconds.values().all(|s| *s > 0.0),
        "{:?}",
        state.seconds
    );
    assert!(
        summary.contains(&format!(
            "## Time (this machine: {}, ",
            records::provenance::cpu_model()
        )) && summary.contains("| **total** |")
            && summary.contains("No time budget for this profile."),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("Commit `{}`", state.commit))
            && summary.contains(&format!("baseline `{}`", base.display()))
            && summary.contains("| alexnet-lrn | held ("),
        "{summary}"
    );
    // The nightly's directory is fresh: never trained over.
    let o = nightly(&both, &data, &base, &fresh, &[]);
    assert_eq!(o.status.code(), Some(2));
    // A baseline number 50 points off: a regression, named in SUMMARY.md.
    edit_baseline(&base, "alexnet-lrn");
    let n2 = t.path().join("n2");
    let step = t.path().join("step-summary.md");
    let s = step.to_str().expect("UTF-8 path");
    let o = nightly("alexnet-lrn", &data, &base, &n2, &["--step-summary", s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(read(&step).contains("**REGRESSION**"), "{}", read(&step));
    let summary = read(&n2.join("SUMMARY.md"));
    let first = read(&base.join("alexnet-lrn/smoke/summary.csv"));
    let id = first
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').nth(2))
        .expect("run_id");
    assert!(
        summary.contains("**REGRESSION**")
            && summary.contains(&format!("run {id} final test error (%)")),
        "{summary}"
    );
    // A run that cannot start (no such data): 2, whatever else held.
    let n3 = t.path().join("n3");
    let o = nightly(&both, &t.path().join("missing"), &base, &n3, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(read(&n3.join("SUMMARY.md")).contains("**CRASHED**"));
    // An experiment not in experiments/*.toml.
    let o = nightly("alexnet-nope", &data, &base, &t.path().join("n4"), &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("alexnet-nope") && err.contains("alexnet-lrn, "),
        "{err}"
    );
}
