//! Issue 14 end to end: kill -9 and restarts give the same `metrics.parquet`
//! to the last bit on the real CIFAR-10 copy (rows restored from a checkpoint
//! are exact), and a closed output pipe (`... 2>&1 | head -3`) does not end a run.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use repro::testing::shared_jpeg_copy as shared_jpeg;
const BIN: &str = env!("CARGO_BIN_EXE_resnet-cifar-degradation");

/// The decoded-data cache shared with this crate's other tests.
fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("cifar-cache")
}

/// `--profile smoke` of resnet-20 on `data` (decoded into `cache`) into
/// `out`, 40 iterations, a checkpoint every 5.
fn args(data: &Path, cache: &Path, out: &Path) -> Vec<String> {
    let mut a: Vec<String> = ["--profile", "smoke", "--runs", "resnet-20", "--no-estimate"]
        .map(String::from)
        .to_vec();
    for (flag, value) in [("--data", data), ("--data-dir", cache), ("--out", out)] {
        a.extend([flag.to_string(), value.display().to_string()]);
    }
    for set in [
        "train.iterations=40",
        "train.checkpoint_every=5",
        "train.log_every=5",
        "train.eval_every=10",
    ] {
        a.extend(["--set".to_string(), set.to_string()]);
    }
    a
}

/// `resnet-20-s1`'s directory under `out`, once it exists (the profile's
/// directory name depends on the profile and on the `--set`s).
fn run_dir(out: &Path) -> Option<PathBuf> {
    std::fs::read_dir(out)
        .ok()?
        .flatten()
        .map(|e| e.path().join("runs/resnet-20-s1"))
        .find(|p| p.is_dir())
}

/// Every cell of the rows but the timings, floats as their Debug form (the
/// shortest that reads back to the same bits): equal strings, equal bits.
fn cells(path: &Path) -> Vec<String> {
    repro::metrics::read_parquet(path)
        .expect("metrics")
        .into_iter()
        .map(|r| {
            format!(
                "{:?}",
                repro::metrics::MetricRow {
                    wall_time_s: 0.0,
                    images_per_sec: 0.0,
                    ..r
                }
            )
        })
        .collect()
}

#[test]
fn kill_and_restart_give_the_same_metrics_to_the_last_bit_on_real_data() {
    let Some(data) = shared_jpeg() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let r = Command::new(BIN)
        .args(args(&data, &shared_cache(), &a))
        .output()
        .expect("runs");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // SIGKILL once a checkpoint past the last one exists, three times, then
    // finish with the same command.
    let mut kills = 0;
    let mut last = -1;
    while kills < 3 {
        let mut child = Command::new(BIN)
            .args(args(&data, &shared_cache(), &b))
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let t0 = std::time::Instant::now();
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            let at = run_dir(&b)
                .and_then(|d| repro::train::checkpoint::load(&d).ok().flatten())
                .map_or(-1, |c| c.0.iteration);
            if at > last || t0.elapsed().as_secs() > 300 {
                last = at;
                child.kill().expect("SIGKILL");
                kills += 1;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.wait();
        if run_dir(&b).is_some_and(|d| d.join("status.json").exists()) {
            break;
        }
    }
    assert!(
        kills >= 2,
        "the runs finished before being killed: make them longer"
    );
    let r = Command::new(BIN)
        .args(args(&data, &shared_cache(), &b))
        .output()
        .expect("runs");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let file = |out: &Path| run_dir(out).expect("run directory").join("metrics.parquet");
    let (want, got) = (cells(&file(&a)), cells(&file(&b)));
    assert_eq!(want.len(), got.len());
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(
            w, g,
            "a row after {kills} kills differs from the uninterrupted run's"
        );
    }
}

#[test]
fn a_closed_output_pipe_does_not_end_a_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = repro::testing::tiny_cifar(&tmp.path().join("data"), 200, 200).expect("data");
    let out = tmp.path().join("out");
    let mut a = args(&data, &tmp.path().join("cache"), &out);
    a.extend(["--set".into(), "data.train_subset=128".into()]);
    // `... 2>&1 | head -3`: stderr read for three lines, then closed.
    let mut child = Command::new(BIN)
        .args(&a)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        let err = child.stderr.take().expect("stderr");
        let lines: Vec<String> = BufReader::new(err)
            .lines()
            .take(3)
            .map_while(Result::ok)
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        drop(child.stdout.take());
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "the run ended with {status}");
    let dir = run_dir(&out).expect("run directory");
    let s = repro::driver::RunDir::new(
        dir.parent().and_then(Path::parent).expect("profile"),
        "resnet-20-s1",
    )
    .read_status()
    .expect("status.json");
    assert_eq!(
        (s.status, s.iterations),
        (repro::driver::RunState::Completed, 40)
    );
}
