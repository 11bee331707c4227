//! `--plot-only --draw-partial`: a run stopped at a checkpoint before its end
//! (at the end of a GPU allocation, say: `sweep queue merge`) is drawn as far
//! as it got, listed as partial with the iteration it reached, and the
//! report's label falls to `shortened`; without the flag it is left out.
use repro::driver::{self, Args, RunDir, StatusFile, StatusOf};
use repro::metrics::{read_parquet, COMBINED_FILE};
use repro::testing::{rng_lock, tiny_cifar, TinyExperiment as Tiny, TINY_EXPERIMENT};
use repro::train::RunStatus;
use std::path::Path;

/// The tiny experiment with its smoke profile labelled `analogue`, so that a
/// report falling to `shortened` shows.
fn experiment() -> String {
    TINY_EXPERIMENT.replace(
        "[profiles.smoke]\ndescription = \"test\"\nfidelity = \"shortened\"",
        "[profiles.smoke]\ndescription = \"test\"\nfidelity = \"analogue\"",
    )
}

fn args(dir: &Path, seeds: &str, extra: &[&str]) -> Args {
    let mut v = vec!["--profile", "smoke", "--seeds", seeds];
    v.extend_from_slice(extra);
    repro::testing::tiny_args(dir, &v)
}

/// Seed 2 as the driver leaves a run stopped by a signal: its directory
/// opened, trained to the first checkpoint at or after `stop`, and its
/// `interrupted` status written.
fn interrupted(dir: &Path, stop: i64) {
    let (cfg, out, run) = repro::testing::interrupted_run(dir, &dir.join("data"), 2, stop);
    assert_eq!(out.status, RunStatus::Interrupted { iteration: 30 });
    run.dir
        .write_status(&StatusFile::of(&cfg, &out))
        .expect("status");
}

#[test]
fn draw_partial_draws_an_interrupted_run_as_partial_and_lowers_the_label() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    std::fs::write(dir.join("t.toml"), experiment()).expect("toml");
    tiny_cifar(&dir.join("data"), 40, 40).expect("data");
    driver::run(&Tiny, &args(dir, "1", &[])).expect("seed 1 trains");
    interrupted(dir, 25);
    let profile = dir.join("out/smoke");

    // Without the flag: left out, the label the profile's own.
    driver::run(&Tiny, &args(dir, "1,2", &["--plot-only"])).expect("draws");
    let rows = read_parquet(&profile.join(COMBINED_FILE)).expect("rows");
    assert!(!rows.iter().any(|r| r.run_id == "tiny-s2"));
    let report = std::fs::read_to_string(profile.join("report.md")).expect("report");
    assert!(report.contains("| fidelity | **analogue**"), "{report}");
    assert!(
        report.contains("| tiny-s2 | interrupted (30 iterations) |"),
        "{report}"
    );

    // With it: drawn to its last evaluation (iteration 20), listed as partial.
    driver::run(&Tiny, &args(dir, "1,2", &["--plot-only", "--draw-partial"])).expect("draws");
    let rows = read_parquet(&profile.join(COMBINED_FILE)).expect("rows");
    let last = rows
        .iter()
        .filter(|r| r.run_id == "tiny-s2")
        .map(|r| r.iteration)
        .max();
    assert_eq!(last, Some(20));
    assert!(rows
        .iter()
        .any(|r| r.run_id == "tiny-s1" && r.iteration == 40));
    let report = std::fs::read_to_string(profile.join("report.md")).expect("report");
    assert!(
        report.contains(
            "| tiny-s2 | partial: stopped at a checkpoint at iteration 30 of 40, drawn to its last evaluation (iteration 20), not final"
        ),
        "{report}"
    );
    assert!(report.contains("| fidelity | **shortened**"), "{report}");
    assert!(
        report.contains("partial runs, stopped at a checkpoint before their last iteration and drawn as far as they got: tiny-s2 at iteration 30 of 40"),
        "{report}"
    );
    // Still resumable: drawing touched neither its status nor its checkpoint.
    let run = RunDir::new(&profile, "tiny-s2");
    assert!(run.has_checkpoint());

    // Only with --plot-only: training never draws partial runs.
    use clap::Parser;
    let refused = Args::try_parse_from(["t", "--draw-partial"]);
    assert!(refused.is_err(), "--draw-partial without --plot-only");
}
