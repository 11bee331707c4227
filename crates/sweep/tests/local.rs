//! `sweep --local`: a process pool on this machine (any machine, no Slurm).
mod common;
use common::*;

#[test]
fn local_pool_runs_every_task_in_parallel_then_merges_and_skips_them_next_time() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = data(tmp.path());
    let out = tmp.path().join("out");
    let cache = tmp.path().join("cache");
    let bin = exp_bin();
    let mut args = vec![
        EXP,
        "--local",
        "--jobs",
        "2",
        "--device",
        "cpu",
        "--profile",
        "smoke",
    ];
    args.extend(io_args(&bin, &data, &cache, out.as_path()));
    let r = run(SWEEP, &args);
    assert!(r.status.success(), "{}", stderr(&r));
    let e = stderr(&r);
    assert!(
        e.contains("2 job(s) at a time on CPU, 1 thread(s) each"),
        "{e}"
    );
    let dir = out.join("smoke");
    let ids = ["plain-20-s1", "resnet-20-s1"];
    for id in ids {
        let status =
            std::fs::read_to_string(dir.join("runs").join(id).join("status.json")).expect("status");
        assert!(status.contains("\"completed\""), "{id}: {status}");
        assert!(dir.join("sweep/logs").join(format!("{id}.log")).exists());
    }
    let rows = records::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("merged");
    let mut got: Vec<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
    got.dedup();
    assert_eq!(got, ids);
    for f in [
        "report.md",
        "claims.json",
        "fig6.svg",
        "fig6.png",
        "fig7.png",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }

    // Again: nothing to train, the runs' files untouched.
    let before = snapshot(&dir.join("runs"));
    let r = run(SWEEP, &args);
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("2 done (skipped), 0 to run"),
        "{}",
        stderr(&r)
    );
    assert_intact(&before);
}
