//! `sweep queue`: the CPU dry run of the GPU queue. Two consecutive
//! "allocations" of a budget of seconds share one output folder (as a GPU
//! machine's output is carried back in at the next one); the first is
//! stopped by its budget at a checkpoint, the second continues and finishes;
//! merged, the result equals an uninterrupted run's on this machine, row for
//! row but for the timing columns. Also: what the runner and the merge refuse.
mod common;
use common::*;
use records::run_dir::{RunDir, RunState};
use records::testing::untimed_metrics;
use std::path::{Path, PathBuf};

/// Two entries of the smoke profile, lengthened so that a run trains for
/// seconds: the first allocation's budget is set from an uninterrupted run on
/// this machine, to end while the first entry's first run trains.
const QUEUE: &str = r#"
[queue]
description = "dry run"
[[entry]]
experiment = "resnet-cifar-degradation"
profile = "smoke"
runs = ["plain-20", "resnet-20"]
seeds = [1]
set = ["train.iterations=120", "train.log_every=10", "train.eval_every=60", "train.checkpoint_every=60"]
why = "first"
[[entry]]
experiment = "resnet-cifar-degradation"
profile = "smoke"
runs = ["plain-20"]
seeds = [2]
set = ["train.iterations=120", "train.log_every=10", "train.eval_every=60", "train.checkpoint_every=60"]
why = "second"
"#;

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    queue: PathBuf,
    data: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().to_path_buf();
    let queue = dir.join("queue.toml");
    std::fs::write(&queue, QUEUE).expect("queue file");
    let data = data(&dir);
    Setup {
        _tmp: tmp,
        dir,
        queue,
        data,
    }
}

fn bin_dir() -> PathBuf {
    let bin = exp_bin();
    assert_eq!(bin.file_name().and_then(|f| f.to_str()), Some(EXP));
    bin.parent().expect("bin dir").to_path_buf()
}

/// `sweep queue run` of the setup's queue into `out` with `budget` seconds.
fn allocation(s: &Setup, out: &Path, budget: f64, extra: &[&str]) -> std::process::Output {
    allocation_with(s, out, budget, &bin_dir(), extra)
}

/// `allocation` with the experiment binaries taken from `b`.
fn allocation_with(
    s: &Setup,
    out: &Path,
    budget: f64,
    b: &Path,
    extra: &[&str],
) -> std::process::Output {
    let (d, c) = (s.data.clone(), s.dir.join("cache"));
    let budget = format!("{budget:.1}");
    let mut args = vec!["queue", "run", "--queue", s.queue.to_str().expect("UTF-8")];
    args.extend(["--out", out.to_str().expect("UTF-8"), "--budget-s", &budget]);
    args.extend([
        "--grace-s",
        "5",
        "--min-run-s",
        "0",
        "--device",
        "cpu",
        "--threads",
        "2",
    ]);
    args.extend([
        "--bin-dir",
        b.to_str().expect("UTF-8"),
        "--data",
        d.to_str().expect("UTF-8"),
    ]);
    args.extend(["--data-dir", c.to_str().expect("UTF-8")]);
    args.extend(extra);
    run(SWEEP, &args)
}

fn merge(from: &Path, results: &Path) -> std::process::Output {
    let b = bin_dir();
    run(
        SWEEP,
        &[
            "queue",
            "merge",
            "--from",
            from.to_str().expect("UTF-8"),
            "--results",
            results.to_str().expect("UTF-8"),
            "--bin-dir",
            b.to_str().expect("UTF-8"),
        ],
    )
}

/// The one profile directory under `results/<EXP>/`.
fn profile_dir(results: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(results.join(EXP))
        .expect("experiment dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

const IDS: [&str; 3] = ["plain-20-s1", "resnet-20-s1", "plain-20-s2"];

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// The Unix time of a `train.log` line (`2026-12-03T07:51:30Z [...] ...`).
fn log_time(line: &str) -> Option<f64> {
    let n = |r: std::ops::Range<usize>| line.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss) as f64)
}

#[test]
fn train_log_times_read_as_unix_times() {
    assert_eq!(log_time("1970-01-01T00:00:00Z [x] started"), Some(0.0));
    assert_eq!(
        log_time("2026-12-03T07:51:30Z [x] it 20/400"),
        Some(1_796_284_290.0)
    );
    assert_eq!(log_time("2000-03-01T00:00:01Z"), Some(951_868_801.0));
    assert_eq!(log_time("not a time"), None);
}

/// Trains the uninterrupted run into `whole` through the same runner, and
/// returns when (seconds after its start) its first run was half trained on
/// this machine.
fn uninterrupted_half_time(s: &Setup, whole: &Path) -> f64 {
    let t0 = unix_now();
    let r = allocation(s, whole, 900.0, &[]);
    assert!(r.status.success(), "{}", stderr(&r));
    let log = std::fs::read_to_string(
        profile_dir(&whole.join("results")).join("runs/plain-20-s1/train.log"),
    )
    .expect("train.log");
    let stamp = |l: Option<&str>| l.and_then(log_time).expect("timestamped lines");
    (stamp(log.lines().next()) + stamp(log.lines().last())) / 2.0 - t0
}

/// Every run of merged profile `a` completed, marked as merged from a queue,
/// with the rows of the uninterrupted profile `b` and no partial run left.
fn assert_same_as_uninterrupted(a: &Path, b: &Path) {
    for id in IDS {
        let st = RunDir::new(a, id).read_status().expect("status");
        assert_eq!(st.status, RunState::Completed, "{id}");
        let marker = std::fs::read_to_string(a.join("runs").join(id).join("queue-merge.json"))
            .expect("marker");
        assert!(marker.contains("\"device\": \"cpu"), "{marker}");
    }
    let combined = records::metrics::COMBINED_FILE;
    let (got, want) = (
        untimed_metrics(&a.join(combined)),
        untimed_metrics(&b.join(combined)),
    );
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "the two allocations' rows differ from the uninterrupted run's"
    );
    let report = std::fs::read_to_string(a.join("report.md")).expect("report");
    assert!(
        !report.contains("| partial:") && !report.contains("partial runs"),
        "{report}"
    );
}

#[test]
fn two_allocations_with_the_folder_carried_between_them_equal_an_uninterrupted_run() {
    let s = setup();
    let whole = s.dir.join("whole");
    let half = uninterrupted_half_time(&s, &whole);

    // Allocation 1: the budget's SIGTERM comes then, while that run trains.
    let out = s.dir.join("out");
    let r = allocation(&s, &out, 5.0 + half, &[]);
    assert_eq!(r.status.code(), Some(75), "{}", stderr(&r));
    let e = stderr(&r);
    assert!(e.contains("budget: SIGTERM to the running binary"), "{e}");
    let pdir = profile_dir(&out.join("results"));
    let stopped: Vec<&str> = IDS
        .iter()
        .copied()
        .filter(|id| {
            let d = RunDir::new(&pdir, id);
            d.read_status()
                .is_some_and(|st| st.status == RunState::Interrupted)
                && d.has_checkpoint()
        })
        .collect();
    assert_eq!(stopped.len(), 1, "one run stopped at a checkpoint: {e}");
    assert!(!RunDir::new(&pdir, "plain-20-s2").path().exists(), "{e}");

    // Merged now, the stopped run is drawn as partial.
    let results = s.dir.join("results");
    let m = merge(&out, &results);
    assert!(m.status.success(), "{}", stderr(&m));
    let report = std::fs::read_to_string(profile_dir(&results).join("report.md")).expect("report");
    assert!(
        report.contains(&format!(
            "| {} | partial: stopped at a checkpoint at iteration",
            stopped[0]
        )),
        "{report}"
    );

    // Allocation 2, the folder carried back: it resumes and finishes.
    let r = allocation(&s, &out, 900.0, &[]);
    assert!(r.status.success(), "{}", stderr(&r));
    let records = std::fs::read_to_string(out.join("queue/allocations.jsonl")).expect("records");
    assert_eq!(records.lines().count(), 2, "{records}");
    let prov = RunDir::new(&pdir, stopped[0])
        .read_provenance()
        .expect("provenance");
    assert_eq!(prov.segments.len(), 2, "trained in two stretches: {prov:?}");
    assert!(prov.segments[1].from_iteration > 0);

    // Merged again (replacing the partial copy), and the uninterrupted run merged.
    let m = merge(&out, &results);
    assert!(m.status.success(), "{}", stderr(&m));
    let results_whole = s.dir.join("results-whole");
    let m = merge(&whole, &results_whole);
    assert!(m.status.success(), "{}", stderr(&m));
    let a = profile_dir(&results);
    assert_same_as_uninterrupted(&a, &profile_dir(&results_whole));

    // A run directory there that did not come from a queue is never replaced:
    // the merge is refused, naming it, and writes nothing.
    std::fs::remove_file(a.join("runs/plain-20-s2/queue-merge.json")).expect("rm marker");
    let before = snapshot(&results);
    let m = merge(&out, &results);
    let err = assert_one_line_error(&m, "did not come from a queue merge");
    assert!(err.contains("plain-20-s2"), "{err}");
    assert_eq!(m.status.code(), Some(2));
    assert_intact(&before);
}

#[test]
fn the_runner_refuses_bad_budgets_and_reports_failed_entries_without_stopping() {
    let s = setup();
    let out = s.dir.join("out");
    // A budget no longer than the grace: bad input, nothing written.
    let r = allocation(&s, &out, 5.0, &[]);
    assert_one_line_error(&r, "--budget-s 5 must exceed --grace-s 5");
    assert_eq!(r.status.code(), Some(2));
    assert!(!out.exists());

    // No binaries where it looks: each entry fails, naming the binary, and
    // the runner goes on to the next; the allocation fails.
    let empty = s.dir.join("no-bins");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let r = allocation_with(&s, &out, 60.0, &empty, &[]);
    assert_one_line_error(&r, "2 entr(ies) failed");
    let e = stderr(&r);
    assert!(
        e.contains(&format!("{}/{EXP} not found", empty.display())),
        "{e}"
    );
    assert_eq!(r.status.code(), Some(1));
    let records = std::fs::read_to_string(out.join("queue/allocations.jsonl")).expect("records");
    assert_eq!(records.matches("FAILED").count(), 2, "{records}");

    // An output folder over --max-out-mb: no entry starts.
    std::fs::write(out.join("filler"), vec![0u8; 2_000_000]).expect("filler");
    let r = allocation(&s, &out, 60.0, &["--max-out-mb", "1"]);
    let err = assert_one_line_error(&r, "over --max-out-mb 1");
    assert!(err.contains("2 entr(ies) not started"), "{err}");
    let trained = std::fs::read_dir(out.join("results").join(EXP))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().join("runs").exists());
    assert!(!trained, "an entry started");
}
