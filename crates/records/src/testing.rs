//! Test support that needs no libtorch: generated CIFAR-10 files, a run's
//! metrics without timing, directory snapshots, and a binary's profile
//! directory. The driver's `testing` adds what trains.
use crate::error::{IoContext, Result};
use std::path::{Path, PathBuf};

/// Writes `data_batch_1..5.bin` (`per_batch` records each) and `test_batch.bin`
/// (`test` records) under `dir`; returns `dir`.
pub fn tiny_cifar(dir: &Path, per_batch: usize, test: usize) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).at(dir)?;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut byte = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 24) as u8
    };
    let mut write = |name: &str, n: usize| -> Result<()> {
        let mut buf = Vec::with_capacity(n * 3073);
        for i in 0..n {
            buf.push((i % 10) as u8);
            buf.extend((0..3072).map(|_| byte()));
        }
        let p = dir.join(name);
        std::fs::write(&p, buf).at(&p)
    };
    for b in 1..=5 {
        write(&format!("data_batch_{b}.bin"), per_batch)?;
    }
    write("test_batch.bin", test)?;
    Ok(dir.to_path_buf())
}

/// Where `bin` run with `args` puts its profile's results: the binary's own
/// answer (`--print-profile-dir`), since `--set`, `--config` and precision
/// switches give a profile's results a directory of their own.
pub fn profile_dir_of(bin: &str, args: &[String]) -> PathBuf {
    let o = std::process::Command::new(bin)
        .args(args)
        .arg("--print-profile-dir")
        .output()
        .expect("the binary runs");
    assert!(
        o.status.success(),
        "--print-profile-dir failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
}

/// Every file under `dir` with its bytes, sorted by path: compare two
/// snapshots to show that a command left a directory untouched.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// A run's metrics file without its timing columns (wall clock, images/s),
/// which differ between any two processes: what must be bit-equal between an
/// interrupted and resumed run and an uninterrupted one.
pub fn untimed_metrics(path: &Path) -> Vec<crate::metrics::MetricRow> {
    crate::metrics::read_parquet(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .map(|mut r| {
            r.wall_time_s = 0.0;
            r.images_per_sec = 0.0;
            r
        })
        .collect()
}

/// A window row of run `run` and `seed` with the given numbers, the rest
/// fixed: for unit tests of what is computed from rows (`metrics`, `report`, the
/// driver). Here, not in `metrics`, so that `metrics` need not import
/// `run_dir` (which imports it).
pub fn row_for_tests(
    run: &str,
    seed: i64,
    iteration: i64,
    lr: f64,
    train_error: f64,
    test_error: Option<f64>,
) -> crate::metrics::MetricRow {
    crate::metrics::MetricRow {
        experiment: "e".into(),
        profile: "p".into(),
        fidelity: crate::fidelity::Fidelity::Shortened,
        faithful: false,
        run_id: crate::run_dir::run_id(run, seed as u64),
        run_name: run.into(),
        config_hash: "h".into(),
        seed,
        model: "m".into(),
        depth: None,
        knobs: "{}".into(),
        family: "f".into(),
        lr_base: Some(0.1),
        batch_size: Some(128),
        momentum: Some(0.9),
        weight_decay: Some(1e-4),
        schedule: "constant".into(),
        augment: "none".into(),
        kind: crate::metrics::RowKind::Window,
        iteration,
        epoch: iteration as f64 / 10.0,
        lr,
        train_loss: 1.0,
        train_error,
        val_loss: None,
        val_error: None,
        test_loss: None,
        test_error,
        train_eval_loss: None,
        train_eval_error: None,
        images_per_sec: 1.0,
        wall_time_s: iteration as f64,
        device: "cpu".into(),
        dataset: "d".into(),
        precision: "fp32".into(),
        diverged: false,
    }
}
