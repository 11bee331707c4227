//! Issue 32, cases 7 and 8: stopping. A run stopped at a checkpoint by a
//! signal exits 75 (`records::exit::INTERRUPTED`), not 1 like a crash; `sweep
//! --local` passes Ctrl-C or SIGTERM on to its tasks, waits for their
//! checkpoints and exits 75 itself (no orphaned trainers, no "FAILED"), starts
//! again a task interrupted on its own (up to `--max-requeues`), and keeps
//! going when its stderr is closed (`| head`).
mod common;
use common::*;
use libc::{SIGINT, SIGTERM};
use records::run_dir::{RunDir, RunState};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The experiment binary's flags for long smoke runs into `out`.
fn long_args(tmp: &Path, out: &Path) -> Vec<String> {
    let data = data(tmp);
    let s = |p: &Path| p.display().to_string();
    let mut a: Vec<String> = [
        "--profile",
        "smoke",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--no-estimate",
        "--no-report",
    ]
    .map(String::from)
    .to_vec();
    a.extend(["--data".into(), s(&data), "--data-dir".into()]);
    a.extend([s(&tmp.join("cache")), "--out".into(), s(out)]);
    a.extend(LONG_RUN.map(String::from));
    a
}

/// A sweep over the smoke profile's runs with `LONG_RUN`, with `extra` flags.
fn long_sweep(tmp: &Path, out: &Path, extra: &[&str]) -> Command {
    let data = data(tmp);
    let bin = exp_bin();
    let cache = tmp.join("cache");
    let mut c = Command::new(SWEEP);
    c.args([EXP, "--local", "--device", "cpu", "--profile", "smoke"])
        .args(io_args(&bin, &data, &cache, out))
        .args(LONG_RUN)
        .args(extra)
        .stdin(Stdio::null());
    c
}

fn run_dir(profile_dir: &Path, id: &str) -> RunDir {
    RunDir::new(profile_dir, id)
}

/// The run stopped where a rerun resumes it: not locked, status
/// `interrupted`, its checkpoint kept.
fn assert_resumable(profile_dir: &Path, id: &str) {
    let d = run_dir(profile_dir, id);
    assert!(
        !d.is_locked(),
        "{id}: still locked (a trainer left running?)"
    );
    let st = d.read_status().expect("status.json");
    assert_eq!(st.status, RunState::Interrupted, "{id}");
    assert!(d.has_checkpoint(), "{id}: no checkpoint");
}

fn started(profile_dir: &Path, id: &str) -> PathBuf {
    run_dir(profile_dir, id).train_log()
}

#[test]
fn a_run_stopped_by_a_signal_exits_75_and_a_second_signal_130() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let args = long_args(tmp.path(), &out);
    let bin = exp_bin();
    let profile_dir = records::testing::profile_dir_of(bin.to_str().expect("UTF-8"), &args);
    let log = started(&profile_dir, "plain-20-s1");

    let (err_path, err) = stderr_file(tmp.path(), "first.err");
    let mut child = Command::new(&bin)
        .args(&args)
        .args(["--runs", "plain-20"])
        .stdin(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("spawn");
    wait_for_text(&log, "started at iteration 0/", 1);
    signal(child.id() as i32, SIGINT);
    let status = wait_exit(&mut child);
    let e = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(i32::from(records::exit::INTERRUPTED)),
        "{e}"
    );
    assert!(e.contains("interrupted: stopped by a signal"), "{e}");
    assert!(!e.contains("error:"), "{e}");
    assert_resumable(&profile_dir, "plain-20-s1");

    // A second signal, whichever it is, ends a run at once with 130. (In a
    // run of its own whose first window ends 1,000 iterations in: the first
    // signal is still pending there when the second comes, 200 ms later.)
    let out = tmp.path().join("out-2");
    let mut args = long_args(tmp.path(), &out);
    args.extend(["--set", "train.log_every=100000"].map(String::from));
    let profile_dir = records::testing::profile_dir_of(bin.to_str().expect("UTF-8"), &args);
    let (err_path, err) = stderr_file(tmp.path(), "second.err");
    let mut child = Command::new(&bin)
        .args(&args)
        .args(["--runs", "plain-20"])
        .stdin(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("spawn");
    wait_for_text(
        &started(&profile_dir, "plain-20-s1"),
        "started at iteration 0/",
        1,
    );
    signal(child.id() as i32, SIGINT);
    std::thread::sleep(std::time::Duration::from_millis(200));
    signal(child.id() as i32, SIGTERM);
    let status = wait_exit(&mut child);
    let e = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(i32::from(records::exit::SECOND_SIGNAL)),
        "{e}"
    );
}

#[test]
fn ctrl_c_or_sigterm_on_a_local_sweep_checkpoints_its_tasks_and_exits_75() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let bin = exp_bin();
    let args = long_args(tmp.path(), &out);
    let profile_dir = records::testing::profile_dir_of(bin.to_str().expect("UTF-8"), &args);
    let ids = ["plain-20-s1", "resnet-20-s1"];

    // Ctrl-C at a terminal: SIGINT to the sweep's whole process group.
    let (err_path, err) = stderr_file(tmp.path(), "ctrl-c.err");
    let mut sweep = long_sweep(tmp.path(), &out, &["--jobs", "2"]);
    let mut sweep = {
        use std::os::unix::process::CommandExt;
        sweep.process_group(0).stderr(err).spawn().expect("spawn")
    };
    for id in ids {
        wait_for_text(&started(&profile_dir, id), "started at iteration 0/", 1);
    }
    let trainers = children_of(sweep.id());
    assert_eq!(trainers.len(), 2, "{trainers:?}");
    signal(-(sweep.id() as i32), SIGINT);
    let status = wait_exit(&mut sweep);
    let e = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(i32::from(records::exit::INTERRUPTED)),
        "{e}"
    );
    assert!(!e.contains("FAILED") && !e.contains("error:"), "{e}");
    for id in ids {
        assert!(e.contains(&format!("[{id}] interrupted after")), "{e}");
        assert_resumable(&profile_dir, id);
    }
    for pid in trainers {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "trainer {pid} outlived the sweep"
        );
    }

    // `kill -TERM` on the sweep alone: the same, and the tasks had resumed.
    let (err_path, err) = stderr_file(tmp.path(), "term.err");
    let mut sweep = long_sweep(tmp.path(), &out, &["--jobs", "2"])
        .stderr(err)
        .spawn()
        .expect("spawn");
    for id in ids {
        wait_for_text(&started(&profile_dir, id), "resumed from its checkpoint", 1);
    }
    signal(sweep.id() as i32, SIGTERM);
    let status = wait_exit(&mut sweep);
    let e = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(i32::from(records::exit::INTERRUPTED)),
        "{e}"
    );
    assert!(e.contains("2 to run (2 resuming from checkpoints)"), "{e}");
    assert!(!e.contains("FAILED"), "{e}");
    for id in ids {
        assert_resumable(&profile_dir, id);
    }
    // An immediate rerun finds both runs to resume (none locked, none "not finished").
    let o = Command::new(&bin)
        .args(&args)
        .arg("--list-runs")
        .output()
        .expect("list");
    let listed = String::from_utf8_lossy(&o.stdout);
    let resuming = listed
        .lines()
        .map(|l| serde_json::from_str::<records::run_dir::ListedRun>(l).expect("a listed run"))
        .filter(|r| r.state == records::run_dir::RunListState::Resume)
        .count();
    assert_eq!(resuming, 2, "{listed}");
}

#[test]
fn a_task_interrupted_on_its_own_is_requeued_up_to_max_requeues() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("out");
    let bin = exp_bin();
    let args = long_args(tmp.path(), &out);
    let profile_dir = records::testing::profile_dir_of(bin.to_str().expect("UTF-8"), &args);
    let log = started(&profile_dir, "plain-20-s1");
    let (err_path, err) = stderr_file(tmp.path(), "sweep.err");
    let mut sweep = long_sweep(
        tmp.path(),
        &out,
        &["--runs", "plain-20", "--max-requeues", "1"],
    )
    .stderr(err)
    .spawn()
    .expect("spawn");
    // The task alone gets SIGTERM (say, an admin's kill): it checkpoints and
    // exits 75, and the sweep starts it again, resuming.
    wait_for_text(&log, "started at iteration 0/", 1);
    let first = children_of(sweep.id());
    assert_eq!(first.len(), 1, "{first:?}");
    signal(first[0] as i32, SIGTERM);
    wait_for_text(&log, "resumed from its checkpoint", 1);
    let second = children_of(sweep.id());
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(first, second);
    // Once more: over --max-requeues 1, so it stays interrupted, and the sweep says so.
    signal(second[0] as i32, SIGTERM);
    let status = wait_exit(&mut sweep);
    let e = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(i32::from(records::exit::INTERRUPTED)),
        "{e}"
    );
    assert!(
        e.contains("requeued to resume (1 of at most 1)") && e.contains("not requeued"),
        "{e}"
    );
    assert!(!e.contains("FAILED"), "{e}");
    assert_resumable(&profile_dir, "plain-20-s1");
}

#[test]
fn a_local_sweep_keeps_going_when_its_stderr_is_closed() {
    // `sweep ... 2>&1 | head -2`: the reader goes after two lines.
    let tmp = tempfile::tempdir().expect("tmp");
    let data = data(tmp.path());
    let out = tmp.path().join("out");
    let cache = tmp.path().join("cache");
    let bin = exp_bin();
    let mut sweep = Command::new(SWEEP)
        .args([EXP, "--local", "--jobs", "1", "--device", "cpu"])
        .args(["--profile", "smoke"])
        .args(io_args(&bin, &data, &cache, &out))
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pipe = sweep.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(pipe).lines();
    for _ in 0..2 {
        lines.next().expect("a line").expect("read");
    }
    drop(lines);
    let status = wait_exit(&mut sweep);
    assert!(status.success(), "{status}");
    let dir = out.join("smoke");
    for id in ["plain-20-s1", "resnet-20-s1"] {
        let st = run_dir(&dir, id).read_status().expect("status.json");
        assert_eq!(st.status, RunState::Completed, "{id}");
    }
    assert!(dir.join("report.md").exists(), "not merged");
}
