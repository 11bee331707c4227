//! `sweep --slurm` on a real Slurm cluster (scripts/slurm-local starts a
//! one-node one; scripts/test does, and sets REPRO_REQUIRE_SLURM=1 so that a
//! missing cluster fails instead of skipping).
mod common;
use common::*;
use std::path::Path;
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
    // Before the sweep: plain-20-s1 finished, resnet-20-s1 killed after its first checkpoint.
    let r = Command::new(&bin)
        .args(exp_args("plain-20"))
        .output()
        .expect("runs");
    assert!(r.status.success(), "{}", stderr(&r));
    let run_dir = out.join("smoke/runs/resnet-20-s1");
    let mut child = Command::new(&bin)
        .args(exp_args("resnet-20"))
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
    let r = run(SWEEP, &args);
    assert!(r.status.success(), "{}", stderr(&r));
    let e = stderr(&r);
    assert!(
        e.contains("4 task(s): 1 done (skipped), 3 to run (1 resuming"),
        "{e}"
    );
    assert!(e.contains("submitted array job"), "{e}");
    let dir = out.join("smoke");
    let subs = slurm_dirs(&dir);
    assert_eq!(subs.len(), 1, "{subs:?}");
    let manifest = std::fs::read_to_string(subs[0].join("manifest.tsv")).expect("manifest");
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
    let log = std::fs::read_to_string(subs[0].join(format!("task-{i}.out"))).expect("task log");
    assert!(log.contains("resumed from iteration"), "{log}");
    for id in ["plain-20-s1", "plain-20-s2", "resnet-20-s1", "resnet-20-s2"] {
        let run = dir.join("runs").join(id);
        let status = std::fs::read_to_string(run.join("status.json")).expect("status");
        assert!(
            status.contains("\"completed\"") && status.contains("\"iterations\": 40"),
            "{id}: {status}"
        );
        repro::metrics::read_parquet(&run.join("metrics.parquet")).expect("run metrics");
        assert!(
            !run.join("checkpoint.json").exists(),
            "{id}: checkpoint removed"
        );
    }
    let rows = repro::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("merged");
    let mut got: Vec<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
    got.dedup();
    assert_eq!(
        got,
        ["plain-20-s1", "plain-20-s2", "resnet-20-s1", "resnet-20-s2"]
    );
    assert!(dir.join("report.md").exists() && dir.join("fig6.png").exists());
    let merge_log = std::fs::read_to_string(subs[0].join("merge.out")).expect("merge log");
    assert!(merge_log.contains("sweep merge: 4 run(s)"), "{merge_log}");

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
