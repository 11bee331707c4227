//! `sweep --slurm` on a real Slurm cluster (scripts/slurm-local starts a
//! one-node one; scripts/test does, and sets REPRO_REQUIRE_SLURM=1 so that a
//! missing cluster fails instead of skipping).
mod common;
use common::*;
use records::testing::untimed_metrics as metrics_without_timing;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether a Slurm controller answers; without one the test is skipped, unless required.
fn cluster() -> bool {
    let answer = Command::new("sinfo").args(["-h", "-o", "%T"]).output();
    let ok = matches!(&answer, Ok(o) if o.status.success() && !o.stdout.is_empty());
    if !ok {
        assert!(
            !required("REPRO_REQUIRE_SLURM"),
            "REPRO_REQUIRE_SLURM is set but no Slurm cluster answers `sinfo` ({answer:?}): start one with `eval \"$(scripts/slurm-local)\"`"
        );
        eprintln!("skipping: no Slurm cluster (`sinfo` fails); `eval \"$(scripts/slurm-local)\"` starts one (root)");
    }
    ok
}

fn slurm_dirs(profile_dir: &Path) -> Vec<std::path::PathBuf> {
    let mut d: Vec<_> = std::fs::read_dir(profile_dir.join("sweep"))
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    d.retain(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("slurm-"))
    });
    d.sort();
    d
}

#[test]
fn slurm_array_sweep_skips_finished_runs_resumes_interrupted_ones_and_merges() {
    if !cluster() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let data = data(tmp.path());
    let (out, cache) = (tmp.path().join("out"), tmp.path().join("cache"));
    let bin = exp_bin();
    let sets = [
        "--set",
        "train.iterations=40",
        "--set",
        "train.checkpoint_every=10",
    ];
    let exp_args = |run: &str| -> Vec<String> {
        let mut a: Vec<String> = [
            "--profile",
            "smoke",
            "--runs",
            run,
            "--seeds",
            "1",
            "--no-estimate",
            "--no-report",
            "--threads",
            "1",
            "--device",
            "cpu",
        ]
        .map(String::from)
        .to_vec();
        a.extend(["--data".into(), data.display().to_string()]);
        a.extend(["--data-dir".into(), cache.display().to_string()]);
        a.extend(["--out".into(), out.display().to_string()]);
        a.extend(sets.map(String::from));
        a
    };
    let dir = one_finished_one_killed(&bin, &exp_args("plain-20"), &exp_args("resnet-20"));
    let mut args = vec![
        EXP,
        "--slurm",
        "--wait",
        "--profile",
        "smoke",
        "--seeds",
        "1,2",
        "--device",
        "cpu",
    ];
    args.extend(io_args(&bin, &data, &cache, &out));
    args.extend(sets);
    args.extend(["--max-parallel", "1"]);
    let r = run(SWEEP, &args);
    assert!(r.status.success(), "{}", stderr(&r));
    let e = stderr(&r);
    assert!(
        e.contains("4 task(s): 1 done (skipped), 3 to run (1 resuming"),
        "{e}"
    );
    assert!(e.contains("submitted array job"), "{e}");
    let subs = slurm_dirs(&dir);
    assert_eq!(subs.len(), 1, "{subs:?}");
    check_submission(&subs[0], &bin);
    check_all_merged(&dir, &subs[0]);

    // The same sweep again: nothing is submitted.
    let before = snapshot(&dir.join("runs"));
    let r = run(SWEEP, &args);
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(stderr(&r).contains("nothing to submit"), "{}", stderr(&r));
    assert_eq!(
        slurm_dirs(&dir).len(),
        1,
        "a second array job was submitted"
    );
    assert_intact(&before);
}

/// Before the sweep: plain-20-s1 finished (`finished` args), resnet-20-s1
/// killed after its first checkpoint (`killed` args). Returns the profile
/// directory.
fn one_finished_one_killed(bin: &Path, finished: &[String], killed: &[String]) -> PathBuf {
    let r = Command::new(bin).args(finished).output().expect("runs");
    assert!(r.status.success(), "{}", stderr(&r));
    let profile_dir = records::testing::profile_dir_of(bin.to_str().expect("utf-8 path"), killed);
    let run_dir = profile_dir.join("runs/resnet-20-s1");
    let mut child = Command::new(bin)
        .args(killed)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    while !run_dir.join("checkpoint.json").exists() {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "finished before its first checkpoint"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    profile_dir
}

/// The submission `sub`: the manifest lists the three runs left; the tasks
/// ran the binary's copy taken at submission, one at a time; the killed run
/// resumed.
fn check_submission(sub: &Path, bin: &Path) {
    let manifest = std::fs::read_to_string(sub.join("manifest.tsv")).expect("manifest");
    let ids: Vec<&str> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(3))
        .collect();
    assert_eq!(
        ids,
        ["plain-20-s2", "resnet-20-s1", "resnet-20-s2"],
        "{manifest}"
    );
    let i = ids
        .iter()
        .position(|i| *i == "resnet-20-s1")
        .expect("in manifest");
    let task_sh = std::fs::read_to_string(sub.join("task.sh")).expect("task.sh");
    let copy = sub.join(bin.file_name().expect("name"));
    assert!(task_sh.contains(&*copy.to_string_lossy()), "{task_sh}");
    assert_eq!(
        std::fs::read(&copy).expect("copy"),
        std::fs::read(bin).expect("binary")
    );
    let job = std::fs::read_to_string(sub.join("array-job-id")).expect("job id");
    let show = Command::new("scontrol")
        .args(["show", "job", job.trim()])
        .output()
        .expect("scontrol");
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(show.contains("ArrayTaskThrottle=1"), "{show}");
    let log = std::fs::read_to_string(sub.join(format!("task-{i}.out"))).expect("task log");
    assert!(log.contains("resumed from iteration"), "{log}");
}

/// Every run of the profile `dir` completed (its checkpoint removed), and the
/// merge job of the submission `sub` merged all four.
fn check_all_merged(dir: &Path, sub: &Path) {
    for id in ["plain-20-s1", "plain-20-s2", "resnet-20-s1", "resnet-20-s2"] {
        let run = dir.join("runs").join(id);
        let status = std::fs::read_to_string(run.join("status.json")).expect("status");
        assert!(
            status.contains("\"completed\"") && status.contains("\"iterations\": 40"),
            "{id}: {status}"
        );
        records::metrics::read_parquet(&run.join("metrics.parquet")).expect("run metrics");
        assert!(
            !run.join("checkpoint.json").exists(),
            "{id}: checkpoint removed"
        );
    }
    let rows = records::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("merged");
    let mut got: Vec<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
    got.dedup();
    assert_eq!(
        got,
        ["plain-20-s1", "plain-20-s2", "resnet-20-s1", "resnet-20-s2"]
    );
    assert!(dir.join("report.md").exists() && dir.join("fig6.png").exists());
    let merge_log = std::fs::read_to_string(sub.join("merge.out")).expect("merge log");
    assert!(merge_log.contains("sweep merge: 4 run(s)"), "{merge_log}");
}

#[test]
fn a_time_limit_signal_checkpoints_requeues_and_resumes_bit_identically() {
    if !cluster() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let data = data(tmp.path());
    let cache = tmp.path().join("cache");
    let bin = exp_bin();
    // Long enough to be signalled mid-run, checkpoints far apart: the stop
    // must checkpoint where the run is, not at the last periodic checkpoint.
    let sets = [
        "--set",
        "train.iterations=400",
        "--set",
        "train.checkpoint_every=1000",
        "--set",
        "train.eval_every=100",
    ];
    let common = |out: &Path| -> Vec<String> {
        let mut a: Vec<String> = ["--profile", "smoke", "--runs", "resnet-20", "--seeds", "1"]
            .map(String::from)
            .to_vec();
        for (f, v) in [
            ("--data", &data),
            ("--data-dir", &cache),
            ("--out", &out.to_path_buf()),
        ] {
            a.extend([f.to_string(), v.display().to_string()]);
        }
        a.extend(sets.map(String::from));
        a
    };
    // The uninterrupted reference, on one thread as the task will be.
    let reference = tmp.path().join("reference");
    let mut ref_args = common(&reference);
    ref_args.extend(["--no-estimate", "--device", "cpu", "--threads", "1"].map(String::from));
    let r = Command::new(&bin).args(&ref_args).output().expect("runs");
    assert!(r.status.success(), "{}", stderr(&r));

    let out = tmp.path().join("out");
    let mut args = vec![EXP, "--slurm", "--cpus-per-task", "1", "--device", "cpu"];
    args.extend(["--bin", bin.to_str().expect("utf-8")]);
    let owned = common(&out);
    args.extend(owned.iter().map(String::as_str));
    let r = run(SWEEP, &args);
    assert!(r.status.success(), "{}", stderr(&r));
    let profile_dir = records::testing::profile_dir_of(bin.to_str().expect("utf-8"), &owned);
    let run_dir = profile_dir.join("runs/resnet-20-s1");
    let subs = slurm_dirs(&profile_dir);
    let job = std::fs::read_to_string(subs[0].join("array-job-id")).expect("job id");
    let task = format!("{}_0", job.trim());
    let log = subs[0].join("task-0.out");
    let started = std::time::Instant::now();
    // Signal it once it has trained a while (its log shows iteration 100 or later).
    wait_until_trained_a_while(&run_dir, started);
    let s = Command::new("scancel")
        .args(["--batch", "--signal=USR1", &task])
        .status()
        .expect("scancel");
    assert!(s.success());
    // The task checkpoints, requeues itself, resumes and completes.
    wait_until_completed(&run_dir, &log, started);
    let text = std::fs::read_to_string(&log).expect("task log");
    assert!(text.contains("requeueing"), "{text}");
    assert!(text.contains("resumed from iteration"), "{text}");
    assert!(text.contains("restart count 1"), "{text}");
    let ref_dir =
        records::testing::profile_dir_of(bin.to_str().expect("utf-8"), &common(&reference));
    assert_eq!(
        metrics_without_timing(&run_dir.join("metrics.parquet")),
        metrics_without_timing(&ref_dir.join("runs/resnet-20-s1/metrics.parquet")),
        "the signalled and requeued run differs from the uninterrupted one"
    );
}

/// Waits until the run's log shows iteration 100 or later (at most 240 s
/// after `started`).
fn wait_until_trained_a_while(run_dir: &Path, started: std::time::Instant) {
    loop {
        let text = std::fs::read_to_string(run_dir.join("train.log")).unwrap_or_default();
        if text.contains(" it 1") || text.contains(" it 2") {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 240,
            "the task never trained: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Waits until the run's `status.json` says it completed (at most 480 s after
/// `started`; the task's `log` is shown otherwise).
fn wait_until_completed(run_dir: &Path, log: &Path, started: std::time::Instant) {
    while !run_dir.join("status.json").exists()
        || !std::fs::read_to_string(run_dir.join("status.json"))
            .unwrap_or_default()
            .contains("completed")
    {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        assert!(
            started.elapsed().as_secs() < 480,
            "not completed after the signal: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
