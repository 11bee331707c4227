//! `sweep --slurm`'s submission without a cluster: stand-ins for `sbatch`
//! and `scontrol` on PATH record what they are asked, and the test runs the
//! array task's script itself, as Slurm would (issue 32, cases 7 and 14).
mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A directory with `sbatch` (prints job id 4242) and `scontrol`, both
/// appending their arguments to `calls.log` beside them.
fn fake_slurm(dir: &Path) -> PathBuf {
    let bin = dir.join("fake-slurm");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let log = bin.join("calls.log");
    for (name, out) in [("sbatch", "echo 4242"), ("scontrol", "")] {
        let p = bin.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/usr/bin/env bash\necho \"{name} $*\" >> '{}'\n{out}\n",
                log.display()
            ),
        )
        .expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    bin
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn slurm_tasks_requeue_on_exit_75_up_to_max_requeues_and_the_merge_hint_keeps_set() {
    let tmp = tempfile::tempdir().expect("tmp");
    let fake = fake_slurm(tmp.path());
    let data = data(tmp.path());
    let (out, cache) = (tmp.path().join("out"), tmp.path().join("cache"));
    let bin = exp_bin();
    let o = Command::new(SWEEP)
        .args([EXP, "--slurm", "--device", "cpu", "--profile", "smoke"])
        .args(["--runs", "plain-20", "--max-requeues", "1"])
        .args(io_args(&bin, &data, &cache, &out))
        .args(LONG_RUN)
        .env("PATH", path_with(&fake))
        .output()
        .expect("sweep");
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    // Case 14: the merge it suggests merges the same results: with the --set flags.
    let hint = e
        .lines()
        .find(|l| l.contains("or run `scripts/sweep merge"))
        .unwrap_or_else(|| panic!("no merge hint: {e}"));
    assert!(
        hint.contains("--set train.iterations=100000 --set train.eval_every=1000 --set train.checkpoint_every=1000"),
        "{hint}"
    );

    let mut exp_args: Vec<String> = ["--profile", "smoke", "--out"].map(String::from).to_vec();
    exp_args.push(out.display().to_string());
    exp_args.extend(LONG_RUN.map(String::from));
    let profile_dir = records::testing::profile_dir_of(bin.to_str().expect("UTF-8"), &exp_args);
    let task = std::fs::read_dir(profile_dir.join("sweep"))
        .expect("sweep dir")
        .flatten()
        .map(|d| d.path().join("task.sh"))
        .find(|p| p.is_file())
        .expect("task.sh");
    let log = records::run_dir::RunDir::new(&profile_dir, "plain-20-s1").train_log();
    let calls = fake.join("calls.log");
    // Array task 0 as Slurm runs it, signalled before its time limit (SIGUSR1).
    let run_task = |restarts: &str, wait_for: &str, name: &str| {
        let (err_path, err) = stderr_file(tmp.path(), name);
        let mut t = Command::new("bash")
            .arg(&task)
            .env("PATH", path_with(&fake))
            .env("SLURM_ARRAY_TASK_ID", "0")
            .env("SLURM_ARRAY_JOB_ID", "4242")
            .env("SLURM_CPUS_PER_TASK", "1")
            .env("SLURM_RESTART_COUNT", restarts)
            .stdin(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("task.sh");
        wait_for_text(&log, wait_for, 1);
        signal(t.id() as i32, libc::SIGUSR1);
        let status = wait_exit(&mut t);
        (
            status,
            std::fs::read_to_string(err_path).unwrap_or_default(),
        )
    };
    let (status, e) = run_task("0", "started at iteration 0/", "task-1.err");
    assert!(status.success(), "{status}: {e}");
    assert!(e.contains("requeueing (restart 1 of at most 1)"), "{e}");
    let said = std::fs::read_to_string(&calls).expect("calls");
    assert!(said.contains("scontrol requeue 4242_0"), "{said}");
    // Restarted once already: over --max-requeues 1, it ends interrupted (75), not requeued.
    let (status, e) = run_task("1", "resumed from its checkpoint", "task-2.err");
    assert_eq!(
        status.code(),
        Some(i32::from(records::exit::INTERRUPTED)),
        "{e}"
    );
    assert!(e.contains("not requeued"), "{e}");
    let said = std::fs::read_to_string(&calls).expect("calls");
    assert_eq!(said.matches("scontrol requeue").count(), 1, "{said}");
}
