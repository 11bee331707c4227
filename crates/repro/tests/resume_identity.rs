//! Issue 32: a run is what its records say. A resume keeps its checkpoint's
//! data (a resume on another copy is refused, naming both) and its thread
//! count (another count, given explicitly, is said loudly and recorded);
//! finished runs on other data than `--data` are stale like runs of other
//! training code. The tiny experiment, driven as the binaries drive it.
use repro::driver::{self, Args, RunDir};
use repro::testing::{
    rng_lock, snapshot, tiny_setup, untimed_metrics, TinyExperiment as Tiny, TINY_EXPERIMENT,
};
use repro::train::RunStatus;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Flags for `Tiny` in its smoke profile (seed 3) with `dir`'s files, on `data`.
fn args(dir: &Path, data: &Path, extra: &[&str]) -> Args {
    let mut v = vec!["--profile", "smoke"];
    v.extend_from_slice(extra);
    let mut a = repro::testing::tiny_args(dir, &v);
    a.data = Some(data.to_path_buf());
    a
}

/// A copy of the generated CIFAR-10 at `src` (binary layout) with every label
/// moved to (l + 1) mod 10: the same images, other data.
fn labels_moved(src: &Path, dst: &Path) -> PathBuf {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("data").flatten() {
        let mut bytes = std::fs::read(e.path()).expect("read");
        for record in bytes.chunks_mut(3073) {
            record[0] = (record[0] + 1) % 10;
        }
        std::fs::write(dst.join(e.file_name()), bytes).expect("write");
    }
    dst.to_path_buf()
}

/// The source digest of the CIFAR-10 copy at `data`.
fn sha_of(dir: &Path, data: &Path) -> String {
    let source = cifar10::Source::Path(data.to_path_buf());
    cifar10::load(&source, &dir.join("cache"), &|_| {})
        .expect("data")
        .source_sha256
}

/// What a run stopped by a signal leaves (SIGTERM: a checkpoint at the step
/// it is at; here the first checkpoint at or after `stop`), made as the driver
/// makes it: the run directory opened (config, provenance), then trained on
/// `data` with this process's thread count. Returns the run's directory.
fn interrupted(dir: &Path, data: &Path, stop: i64) -> PathBuf {
    let (_, out, run) = repro::testing::interrupted_run(dir, data, 3, stop);
    assert!(matches!(out.status, RunStatus::Interrupted { .. }));
    run.dir.path().to_path_buf()
}

fn provenance(run: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(run.join("provenance.json")).expect("provenance"))
        .expect("JSON")
}

/// Case 1: interrupted on one copy, rerun on another: refused, naming both
/// copies and what to do, and nothing of the run is rewritten; the original
/// data resumes it.
#[test]
fn a_resume_on_other_data_is_refused_naming_both() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    tiny_setup(dir, TINY_EXPERIMENT);
    let (data, other) = (
        dir.join("data"),
        labels_moved(&dir.join("data"), &dir.join("moved")),
    );
    let run = interrupted(dir, &data, 15);
    let before = snapshot(&run);
    let e = match driver::run(&Tiny, &args(dir, &other, &[])) {
        Ok(()) => panic!(
            "resumed on other data: {}",
            std::fs::read_to_string(run.join("train.log")).unwrap_or_default()
        ),
        Err(e) => format!("{e:#}"),
    };
    let (ours, theirs) = (sha_of(dir, &data), sha_of(dir, &other));
    assert!(
        e.contains("tiny-s3")
            && e.contains("iteration 20")
            && e.contains(&ours[..16])
            && e.contains(&theirs[..16])
            && e.contains(&other.display().to_string())
            && e.contains("--fresh-stale"),
        "{e}"
    );
    assert!(
        snapshot(&run) == before,
        "the refused rerun changed the run"
    );
    // Not even --allow-mixed resumes a checkpoint on other data.
    let e = driver::run(&Tiny, &args(dir, &other, &["--allow-mixed"]))
        .expect_err("resumed on other data with --allow-mixed");
    assert!(format!("{e:#}").contains("tiny-s3"), "{e:#}");
    assert!(snapshot(&run) == before);
    driver::run(&Tiny, &args(dir, &data, &[])).expect("the original data resumes it");
    let log = std::fs::read_to_string(run.join("train.log")).expect("log");
    assert!(log.contains("resumed from iteration 20"), "{log}");
    assert_eq!(provenance(&run)["dataset_sha256"], Value::from(ours));
}

/// Case 5: finished runs rerun with another `--data` are stale: refused
/// naming them, kept with --allow-mixed, retrained with --fresh-stale; a
/// `--plot-only` redraw still needs no data.
#[test]
fn finished_runs_on_other_data_are_stale() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let toml = TINY_EXPERIMENT
        .replace("iterations = 40", "iterations = 10")
        .replace("eval_every = 20", "eval_every = 5");
    tiny_setup(dir, &toml);
    let (data, other) = (
        dir.join("data"),
        labels_moved(&dir.join("data"), &dir.join("moved")),
    );
    driver::run(&Tiny, &args(dir, &data, &["--seeds", "1,2"])).expect("trains");
    let profile = dir.join("out/smoke");
    let before = snapshot(&profile);
    let e = match driver::run(&Tiny, &args(dir, &other, &["--seeds", "1,2"])) {
        Ok(()) => panic!("finished runs on other data were taken as this data's"),
        Err(e) => format!("{e:#}"),
    };
    let theirs = sha_of(dir, &other);
    assert!(
        e.contains("tiny-s1")
            && e.contains("tiny-s2")
            && e.contains("finished on")
            && e.contains(&theirs[..16])
            && e.contains("--fresh-stale")
            && e.contains("--allow-mixed"),
        "{e}"
    );
    assert!(
        snapshot(&profile) == before,
        "the refused rerun changed the results"
    );
    let mut redraw = args(dir, &data, &["--seeds", "1,2", "--plot-only"]);
    redraw.data = None;
    driver::run(&Tiny, &redraw).expect("--plot-only needs no --data");
    driver::run(
        &Tiny,
        &args(dir, &other, &["--seeds", "1,2", "--allow-mixed"]),
    )
    .expect("--allow-mixed keeps them");
    let s1 = RunDir::new(&profile, "tiny-s1");
    assert_eq!(
        provenance(s1.path())["dataset_sha256"],
        Value::from(sha_of(dir, &data))
    );
    driver::run(
        &Tiny,
        &args(dir, &other, &["--seeds", "1,2", "--fresh-stale"]),
    )
    .expect("--fresh-stale retrains them");
    for id in ["tiny-s1", "tiny-s2"] {
        let run = RunDir::new(&profile, id);
        assert_eq!(
            provenance(run.path())["dataset_sha256"],
            Value::from(theirs.clone())
        );
        assert!(run.read_status().is_some());
    }
}

/// The two thread counts of the tests of case 6: the one the run is
/// interrupted with and another (libtorch's default where it differs).
fn thread_counts() -> (i32, i32) {
    let default = tch::get_num_threads();
    if default == 1 {
        (2, 1)
    } else {
        (1, default)
    }
}

/// Case 6: a run interrupted with one thread count and rerun without
/// `--threads` resumes with that count: its rows are an uninterrupted run's
/// with that count, to the last bit.
#[test]
fn a_resume_keeps_the_checkpoints_thread_count() {
    let _rng = rng_lock();
    let (recorded, other) = thread_counts();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    tiny_setup(dir, TINY_EXPERIMENT);
    let data = dir.join("data");
    let threads = recorded.to_string();
    let mut whole = args(dir, &data, &["--threads", &threads]);
    whole.out = Some(dir.join("whole"));
    driver::run(&Tiny, &whole).expect("uninterrupted");
    let run = interrupted(dir, &data, 15);
    tch::set_num_threads(other);
    let resumed = driver::run(&Tiny, &args(dir, &data, &[]));
    tch::set_num_threads(other);
    resumed.expect("resumes");
    let rows = untimed_metrics(&run.join("metrics.parquet"));
    let want = untimed_metrics(&dir.join("whole/smoke/runs/tiny-s3/metrics.parquet"));
    assert!(
        rows.iter().all(|r| r.device == rows[0].device),
        "rows of two thread counts: {:?}",
        rows.iter().map(|r| &r.device).collect::<Vec<_>>()
    );
    assert_eq!(
        rows, want,
        "the resumed run differs from an uninterrupted one"
    );
    let p = provenance(&run);
    assert_eq!(p["threads"], Value::from(recorded));
    assert!(p.get("thread_changes").is_none(), "{p}");
}

/// Case 6: an explicit `--threads` of another count resumes with it, says
/// that the run is no longer bit-reproducible and records it.
#[test]
fn a_resume_with_other_threads_given_says_so_and_records_it() {
    let _rng = rng_lock();
    let (recorded, other) = thread_counts();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    tiny_setup(dir, TINY_EXPERIMENT);
    let data = dir.join("data");
    tch::set_num_threads(recorded);
    let run = interrupted(dir, &data, 15);
    let threads = other.to_string();
    let resumed = driver::run(&Tiny, &args(dir, &data, &["--threads", &threads]));
    tch::set_num_threads(other);
    resumed.expect("resumes");
    let p = provenance(&run);
    assert_eq!(
        p["thread_changes"],
        serde_json::json!([{ "iteration": 20, "from": recorded, "to": other }]),
        "{p}"
    );
    let log = std::fs::read_to_string(run.join("train.log")).expect("log");
    assert!(log.contains("NOT bit-reproducible"), "{log}");
}
