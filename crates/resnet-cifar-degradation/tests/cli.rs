//! The binary end to end: smoke training on the shared CIFAR-10 JPEG copy,
//! Parquet, figures regenerated from Parquet alone, skip/resume, bad input.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use repro::testing::shared_jpeg_copy as shared_jpeg;
const BIN: &str = env!("CARGO_BIN_EXE_resnet-cifar-degradation");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Decoded-data cache shared by the tests of this crate.
fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("cifar-cache")
}

fn run(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .output()
        .expect("binary runs");
    eprintln!(
        "$ {} {}\n{}",
        BIN,
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `--profile smoke` on `data` into `out` (this crate's decoded-data cache, no
/// estimate probe), then `extra`.
fn smoke_args(data: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let (d, c, o) = (data.to_string_lossy(), data_dir(), out.to_string_lossy());
    let mut a: Vec<String> = ["--profile", "smoke", "--data", &d, "--data-dir"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.push(c.to_string_lossy().into());
    a.extend(["--out".into(), o.into(), "--no-estimate".into()]);
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn run_owned(args: &[String]) -> Output {
    run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn smoke_end_to_end_then_replot_from_parquet_alone() {
    let Some(data) = shared_jpeg() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("results");
    let (d, o, c) = (data.to_str().unwrap(), out.to_str().unwrap(), data_dir());
    let common = [
        "--profile",
        "smoke",
        "--data",
        d,
        "--data-dir",
        c.to_str().unwrap(),
        "--out",
        o,
        "--no-estimate",
    ];
    let r = run(&common);
    assert!(r.status.success(), "{}", stderr(&r));
    let dir = out.join("smoke");
    check_smoke_files(&dir);
    let rows = repro::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("metrics");
    check_smoke_rows(&rows);
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(
        report.contains("CIFAR-10 (JPEG q75 copy)")
            && report.contains("| fidelity | **shortened**"),
        "{report}"
    );
    let svg = std::fs::read_to_string(dir.join("fig6.svg")).expect("svg");
    assert!(svg.contains("CIFAR-10 (JPEG q75 copy)") && svg.contains("SHORTENED"));
    each_row_once_under_a_glob(&out, &dir, rows.len());
    for run in ["plain-20-s1", "resnet-20-s1"] {
        check_train_log(&dir.join("runs").join(run).join("train.log"), run);
        // Its stderr is a pipe, not a terminal: the same lines, timestamped.
        check_progress_lines(&stderr(&r), run);
    }
    let prov =
        std::fs::read_to_string(dir.join("runs/resnet-20-s1/provenance.json")).expect("provenance");
    for k in [
        "git_commit",
        "libtorch_version",
        "2.13.0",
        "tch 0.26",
        "d877bdec11f5",
    ] {
        assert!(prov.contains(k), "provenance lacks {k}: {prov}");
    }
    second_run_skips_then_replot(&dir, &common, o, &svg);
}

/// The smoke profile's outputs: the combined table, report, claims and
/// figures; each run's files, its checkpoints removed at the end.
fn check_smoke_files(dir: &Path) {
    for f in [
        "all_runs.parquet",
        "report.md",
        "claims.json",
        "fig6.svg",
        "fig6.png",
        "fig7.png",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    for run in ["plain-20-s1", "resnet-20-s1"] {
        for f in [
            "config.toml",
            "provenance.json",
            "status.json",
            "metrics.parquet",
            "responses.parquet",
        ] {
            assert!(dir.join("runs").join(run).join(f).exists(), "{run}/{f}");
        }
        assert!(
            !dir.join("runs").join(run).join("checkpoint.json").exists(),
            "checkpoints removed at the end"
        );
    }
}

/// The smoke profile's combined rows: both runs, the JPEG copy's label, the
/// recipe's columns.
fn check_smoke_rows(rows: &[repro::metrics::MetricRow]) {
    let mut ids: Vec<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids, vec!["plain-20-s1", "resnet-20-s1"]);
    assert!(rows
        .iter()
        .all(|r| r.dataset == "CIFAR-10 (JPEG q75 copy)" && !r.faithful && r.profile == "smoke"));
    assert!(rows.iter().any(|r| r.test_error.is_some()));
    assert!(rows.iter().all(|r| r.lr_base == Some(0.1)
        && r.batch_size == Some(32)
        && r.momentum == Some(0.9)
        && r.weight_decay == Some(1e-4)
        && r.schedule.starts_with("step@")
        && r.augment == "pad4-crop-flip"
        && r.family == "cifar-resnet"));
}

/// A second run skips finished runs and leaves their metrics as they were;
/// the figures and report come back from the Parquet files alone (no data
/// source needed), `fig6.svg` as it was (`svg`).
fn second_run_skips_then_replot(dir: &Path, common: &[&str], out: &str, svg: &str) {
    let before = std::fs::read(dir.join("runs/plain-20-s1/metrics.parquet")).expect("bytes");
    let r = run(common);
    assert!(r.status.success());
    assert!(stderr(&r).contains("0 to train"), "{}", stderr(&r));
    assert_eq!(
        std::fs::read(dir.join("runs/plain-20-s1/metrics.parquet")).expect("bytes"),
        before
    );
    for f in ["fig6.svg", "fig6.png", "fig7.svg", "fig7.png", "report.md"] {
        std::fs::remove_file(dir.join(f)).expect("rm");
    }
    let r = run(&[
        "--profile",
        "smoke",
        "--data",
        "/nonexistent/cifar",
        "--out",
        out,
        "--plot-only",
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(
        std::fs::read_to_string(dir.join("fig6.svg")).expect("svg"),
        svg,
        "figure regenerated identically"
    );
    assert!(dir.join("fig7.png").exists() && dir.join("report.md").exists());
}

/// Every `metrics.parquet` under `out` (what `**/metrics.parquet` globs) is a
/// run's own: their rows add up to the combined table's, none twice.
fn each_row_once_under_a_glob(out: &Path, profile: &Path, combined: usize) {
    fn walk(d: &Path, found: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, found);
            } else if p.file_name().is_some_and(|n| n == "metrics.parquet") {
                found.push(p);
            }
        }
    }
    let mut found = Vec::new();
    walk(out, &mut found);
    assert!(
        found.iter().all(|f| f.starts_with(profile.join("runs"))),
        "{found:?}"
    );
    let globbed: usize = found
        .iter()
        .map(|f| repro::metrics::read_parquet(f).expect("metrics").len())
        .sum();
    assert_eq!(
        globbed, combined,
        "a glob over **/metrics.parquet: {found:?}"
    );
}

/// `2025-03-01T14:05:09Z ` (UTC, RFC 3339) at the start of `l`.
fn stamped(l: &str) -> bool {
    l.len() > 20
        && l[..20].bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

/// Progress lines of `run` in `text` (a log, or stderr off a terminal): each
/// timestamped, with iteration/total, lr, training error, images/s and ETA.
fn check_progress_lines(text: &str, run: &str) {
    let progress: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&format!("[{run}] it ")))
        .collect();
    assert!(!progress.is_empty(), "no progress lines of {run}:\n{text}");
    for l in progress {
        assert!(stamped(l), "{l}");
        for want in ["/30 (", " lr ", " train err ", " img/s", " eta "] {
            assert!(l.contains(want), "`{want}` missing: {l}");
        }
    }
}

/// A run's `train.log`: timestamped lines, progress with lr, images/s and ETA.
fn check_train_log(path: &Path, run: &str) {
    let log = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(log.lines().all(stamped), "{log}");
    check_progress_lines(&log, run);
}

#[test]
fn smoke_training_lowers_training_error_well_below_chance() {
    let Some(data) = shared_jpeg() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let o = tmp.path().join("r");
    let smoke = smoke_args(
        &data,
        &o,
        &[
            "--runs",
            "resnet-20",
            "--set",
            "train.iterations=300",
            "--set",
            "train.batch_size=64",
            "--set",
            "data.train_subset=8192",
            "--set",
            "data.test_subset=1000",
            "--set",
            "train.schedule.lr_drops_at=[250]",
            "--set",
            "train.eval_every=300",
            "--set",
            "train.log_every=25",
            "--set",
            "train.checkpoint_every=100",
        ],
    );
    let r = run_owned(&smoke);
    assert!(r.status.success(), "{}", stderr(&r));
    let dir = repro::testing::profile_dir_of(BIN, &smoke);
    let rows = repro::metrics::read_parquet(&dir.join("runs/resnet-20-s1/metrics.parquet"))
        .expect("metrics");
    let windows: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == repro::metrics::RowKind::Window)
        .collect();
    let tail: f64 = windows[windows.len() - 4..]
        .iter()
        .map(|r| r.train_error)
        .sum::<f64>()
        / 4.0;
    let test = rows
        .iter()
        .rev()
        .find_map(|r| r.test_error)
        .expect("test error");
    eprintln!(
        "training error over the last 100 iterations {tail:.3}, test error {test:.3} (chance 0.9)"
    );
    assert!(tail < 0.70, "training error {tail}");
    assert!(test < 0.75, "test error {test}");
    assert!(dir.join("fig6.png").exists());
}

#[test]
fn bad_input_fails_clearly_and_keeps_earlier_results() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("results");
    // Earlier results that must survive every failure below.
    std::fs::create_dir_all(out.join("smoke")).expect("mkdir");
    std::fs::write(out.join("smoke/report.md"), "earlier report").expect("write");
    let (bad_toml, unknown_key) = bad_experiment_files(tmp.path());
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--config".into(), bad_toml.display().to_string()],
            "malformed TOML",
        ),
        (
            vec!["--config".into(), unknown_key.display().to_string()],
            "nesterov",
        ),
        (vec!["--set".into(), "model.depth=21".into()], "6n+2"),
        (vec!["--set".into(), "train.lr=-1".into()], "train.lr"),
        (
            vec!["--set".into(), "train.batch_size=0".into()],
            "train.batch_size",
        ),
        (vec!["--device".into(), "cuda".into()], "--device cuda"),
        (
            vec!["--data".into(), "/nonexistent/cifar.tar.gz".into()],
            "/nonexistent/cifar.tar.gz",
        ),
        (vec!["--runs".into(), "resnet-21".into()], "resnet-21"),
        (vec!["--profile".into(), "fast".into()], "fast"),
    ];
    for (extra, want) in cases {
        if want == "--device cuda" && tch::Cuda::is_available() {
            continue;
        }
        assert_refused_keeping_report(&out, extra, want);
    }
}

/// Experiment files under `dir`: malformed TOML, and the shipped file with an
/// unknown key (`nesterov`), its paper numbers beside it where its
/// `numbers = "papers/..."` looks for them.
fn bad_experiment_files(dir: &Path) -> (PathBuf, PathBuf) {
    let bad_toml = dir.join("bad.toml");
    std::fs::write(&bad_toml, "[experiment\nname = ").expect("write");
    let unknown_key = dir.join("unknown.toml");
    std::fs::create_dir_all(dir.join("papers")).expect("mkdir");
    for e in std::fs::read_dir(root().join("experiments/papers"))
        .expect("papers")
        .flatten()
    {
        std::fs::copy(e.path(), dir.join("papers").join(e.file_name())).expect("copy");
    }
    let good = std::fs::read_to_string(root().join("experiments/resnet-cifar-degradation.toml"))
        .expect("config");
    std::fs::write(
        &unknown_key,
        good.replace("momentum = 0.9", "momentum = 0.9\nnesterov = true"),
    )
    .expect("write");
    (bad_toml, unknown_key)
}

/// The binary with `extra` (profile smoke unless `extra` names one) fails
/// with a short message mentioning `want`, no panic, and `out`'s earlier
/// report kept.
fn assert_refused_keeping_report(out: &Path, extra: Vec<String>, want: &str) {
    let o = out.to_str().unwrap();
    let mut args: Vec<String> = ["--out", o, "--no-estimate"].map(String::from).to_vec();
    if !extra.contains(&"--profile".to_string()) {
        args.extend(["--profile".into(), "smoke".into()]);
    }
    args.extend(extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = run(&refs);
    assert!(!r.status.success(), "{refs:?} should fail");
    let e = stderr(&r);
    assert!(
        e.contains(want),
        "{refs:?}: error should mention `{want}`: {e}"
    );
    assert!(
        e.lines().count() <= 12,
        "{refs:?}: a short message, not a panic: {e}"
    );
    assert!(!e.contains("panicked"), "{e}");
    assert_eq!(
        std::fs::read_to_string(out.join("smoke/report.md")).expect("kept"),
        "earlier report"
    );
}

#[test]
fn an_output_directory_that_cannot_be_written_is_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let r = run(&[
        "--profile",
        "smoke",
        "--out",
        file.join("sub").to_str().unwrap(),
        "--no-estimate",
    ]);
    assert!(!r.status.success());
    assert!(stderr(&r).contains("a-file"), "{}", stderr(&r));
}

#[test]
fn killed_at_random_points_and_restarted_equals_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = repro::testing::tiny_cifar(&tmp.path().join("data"), 200, 200).expect("data");
    let cache = tmp.path().join("cache");
    let args = |out: &Path| -> Vec<String> {
        [
            "--profile",
            "smoke",
            "--runs",
            "resnet-20",
            "--no-estimate",
            "--data",
            data.to_str().unwrap(),
            "--data-dir",
            cache.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--set",
            "train.iterations=40",
            "--set",
            "train.checkpoint_every=5",
            "--set",
            "train.log_every=5",
            "--set",
            "train.eval_every=20",
        ]
        .map(String::from)
        .to_vec()
    };
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    // The reference run (it also fills the decoded-data cache).
    let r = Command::new(BIN).args(args(&a)).output().expect("runs");
    assert!(r.status.success(), "{}", stderr(&r));
    // How long one whole run takes on this machine with the cache warm: the
    // kills fall within the first half of that, so that they land mid-run on a
    // fast CPU as on a slow one (fixed delays let a fast one finish first).
    let started = std::time::Instant::now();
    let r = Command::new(BIN).args(args(&c)).output().expect("runs");
    assert!(r.status.success(), "{}", stderr(&r));
    let whole_ms = started.elapsed().as_millis() as u64;
    let run_dir = repro::testing::profile_dir_of(BIN, &args(&b)).join("runs/resnet-20-s1");
    // SIGKILL at pseudo-random moments (15-45% of a whole run after each
    // start), restart with the same command.
    let mut seed = 0x9E37_79B9u64;
    let mut kills = 0;
    for _ in 0..6 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let delay = whole_ms * (15 + (seed >> 33) % 31) / 100;
        let mut child = Command::new(BIN)
            .args(args(&b))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay));
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        let _ = child.wait();
        // Whatever was on disk at the kill is whole: a checkpoint that verifies, readable Parquet.
        repro::train::checkpoint::load(&run_dir)
            .unwrap_or_else(|e| panic!("after a kill at {delay} ms: {e}"));
        for f in ["metrics.parquet"] {
            if run_dir.join(f).exists() {
                repro::metrics::read_parquet(&run_dir.join(f)).expect("whole Parquet");
            }
        }
    }
    assert!(
        kills >= 2,
        "only {kills} of the restarts were killed before finishing (a whole run: {whole_ms} ms)"
    );
    let r = Command::new(BIN).args(args(&b)).output().expect("runs");
    assert!(r.status.success(), "{}", stderr(&r));
    let strip = repro::testing::untimed_metrics;
    let file = "runs/resnet-20-s1/metrics.parquet";
    let dir = |out: &Path| repro::testing::profile_dir_of(BIN, &args(out));
    assert_eq!(
        strip(&dir(&b).join(file)),
        strip(&dir(&a).join(file)),
        "metrics after {kills} kills differ from an uninterrupted run"
    );
}

#[test]
fn two_processes_on_one_results_directory_do_not_collide() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = repro::testing::tiny_cifar(&tmp.path().join("data"), 200, 200).expect("data");
    let out = tmp.path().join("out");
    let args: Vec<String> = [
        "--profile",
        "smoke",
        "--runs",
        "resnet-20",
        "--no-estimate",
        "--data",
        data.to_str().unwrap(),
        "--data-dir",
        tmp.path().join("cache").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "train.iterations=60",
        "--set",
        "train.checkpoint_every=10",
    ]
    .map(String::from)
    .to_vec();
    // Build the data cache first (elsewhere) so both start training at once.
    let mut warm_args = args.clone();
    let o = warm_args.iter().position(|a| a == "--out").expect("--out") + 1;
    warm_args[o] = tmp.path().join("warm").display().to_string();
    warm_args.extend(["--set".into(), "train.iterations=1".into()]);
    let warm = Command::new(BIN).args(&warm_args).output().expect("runs");
    assert!(warm.status.success(), "{}", stderr(&warm));
    let run_dir = repro::testing::profile_dir_of(BIN, &args).join("runs/resnet-20-s1");
    let first = Command::new(BIN)
        .args(&args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let lock = run_dir.join(".lock");
    for _ in 0..200 {
        if lock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let second = Command::new(BIN).args(&args).output().expect("runs");
    let first = first.wait_with_output().expect("first");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("another process holds"),
        "{}",
        stderr(&second)
    );
    let rows = repro::metrics::read_parquet(&run_dir.join("metrics.parquet")).expect("metrics");
    assert_eq!(
        rows.iter()
            .rfind(|r| r.kind == repro::metrics::RowKind::Window)
            .map(|r| r.iteration),
        Some(60)
    );
}

#[test]
fn bf16_runs_are_labelled_and_kept_beside_the_fp32_results() {
    let Some(data) = shared_jpeg() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("results");
    let args = |extra: &[&str]| {
        let mut a = vec!["--runs", "resnet-20"];
        a.extend(extra);
        smoke_args(&data, &out, &a)
    };
    let r = run_owned(&args(&[]));
    assert!(r.status.success(), "{}", stderr(&r));
    let fp32_metrics = out.join("smoke/runs/resnet-20-s1/metrics.parquet");
    let before = std::fs::read(&fp32_metrics).expect("fp32 metrics");

    // Both answers of the CPU check on every machine: the CPU's features are
    // injected (an AVX2-only AMD EPYC Zen 3, a Xeon with AMX-BF16), not read.
    let with_cpu = |flags: &str, a: &[String]| {
        let out = Command::new(BIN)
            .args(a)
            .env(repro::provenance::CPU_FLAGS_ENV, flags)
            .current_dir(root())
            .output()
            .expect("binary runs");
        eprintln!("$ {flags}: {}\n{}", a.join(" "), stderr(&out));
        out
    };
    let (zen3, xeon) = (
        "fpu avx fma avx2",
        "avx2 avx512f avx512_bf16 amx_bf16 amx_tile",
    );
    // Without bf16 arithmetic `--bf16` is refused, naming the opt-in, before
    // anything is written.
    let r = with_cpu(zen3, &args(&["--bf16"]));
    assert!(!r.status.success(), "bf16 trained on a CPU without bf16");
    assert!(stderr(&r).contains("--allow-slow-bf16"), "{}", stderr(&r));
    assert!(stderr(&r).contains("AVX2, injected"), "{}", stderr(&r));
    assert!(!out.join("smoke-bf16").exists(), "refusal wrote results");
    // With bf16 arithmetic it is not refused (checked without training twice).
    let r = with_cpu(xeon, &args(&["--bf16", "--print-profile-dir"]));
    assert!(r.status.success(), "{}", stderr(&r));
    // Asked to, it trains on the CPU without bf16.
    let r = with_cpu(zen3, &args(&["--bf16", "--allow-slow-bf16"]));
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(stderr(&r).contains("reduced precision"), "{}", stderr(&r));
    // Beside, not over, the fp32 results.
    assert_eq!(std::fs::read(&fp32_metrics).expect("fp32 metrics"), before);
    let dir = out.join("smoke-bf16");
    let rows = repro::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("bf16 metrics");
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|r| r.precision == "bf16-autocast" && !r.faithful));
    assert!(rows.iter().all(|r| r.train_loss.is_finite()));
    // The switch took effect: the same seed and data give other losses than fp32.
    let fp32_rows = repro::metrics::read_parquet(&fp32_metrics).expect("fp32 rows");
    assert!(fp32_rows.iter().all(|r| r.precision == "fp32"));
    let losses = |rows: &[repro::metrics::MetricRow]| -> Vec<f64> {
        rows.iter()
            .filter(|r| r.kind == repro::metrics::RowKind::Window)
            .map(|r| r.train_loss)
            .collect()
    };
    assert_eq!(losses(&rows).len(), losses(&fp32_rows).len());
    assert_ne!(losses(&rows), losses(&fp32_rows));
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(
        report.contains("bf16-autocast") && report.contains("not the paper's fp32 numerics"),
        "{report}"
    );
    let svg = std::fs::read_to_string(dir.join("fig6.svg")).expect("svg");
    assert!(
        svg.contains("BF16-AUTOCAST, not the paper"),
        "figure caption says bf16"
    );
}

/// The warning for a GPU that `nvidia-smi` lists but libtorch cannot see, and
/// its absence, on any machine: a stand-in `nvidia-smi` first on PATH lists a
/// GPU (or fails, as without a driver), and `CUDA_VISIBLE_DEVICES=""` hides any
/// real GPU from libtorch.
#[test]
fn a_gpu_that_nvidia_smi_lists_but_libtorch_cannot_see_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tmp");
    // Both stand-ins are written and closed before either runs (no ETXTBSY).
    let stand_in = |name: &str, script: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let smi = dir.join("nvidia-smi");
        std::fs::write(&smi, script).expect("write");
        std::fs::set_permissions(&smi, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    };
    let lists_one = stand_in(
        "gpu",
        "#!/bin/sh\necho 'GPU 0: NVIDIA H200 (UUID: GPU-test)'\n",
    );
    let no_driver = stand_in("none", "#!/bin/sh\nexit 9\n");
    let estimate = |path: &str| {
        let out = tmp.path().join("results");
        let o = Command::new(BIN)
            .args(["--profile", "smoke", "--estimate-only", "--out"])
            .arg(&out)
            .env("PATH", path)
            .env("CUDA_VISIBLE_DEVICES", "")
            .current_dir(root())
            .output()
            .expect("binary runs");
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    let warned = estimate(&lists_one);
    assert!(
        warned.contains("nvidia-smi lists 1 GPU(s) (GPU 0: NVIDIA H200")
            && warned.contains("runs on the CPU"),
        "{warned}"
    );
    let quiet = estimate(&no_driver);
    assert!(!quiet.contains("nvidia-smi lists"), "{quiet}");
}

/// `-q` and `RUST_LOG` set what a binary says on stderr (issue 29): the
/// estimate's lines at the default level, none with `-q` or `RUST_LOG=warn`,
/// and `RUST_LOG` wins over `-q`; the exit status is the same either way.
#[test]
fn quiet_and_rust_log_set_what_is_said() {
    let tmp = tempfile::tempdir().expect("tmp");
    let say = |flags: &[&str], rust_log: Option<&str>| {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "--profile",
            "smoke",
            "--estimate-only",
            "--device",
            "cpu",
            "--out",
        ])
        .arg(tmp.path().join("results"))
        .args(flags)
        .env_remove("RUST_LOG")
        .current_dir(root());
        if let Some(r) = rust_log {
            cmd.env("RUST_LOG", r);
        }
        let o = cmd.output().expect("binary runs");
        assert!(o.status.success(), "{flags:?} {rust_log:?}: {}", stderr(&o));
        stderr(&o)
    };
    let normal = say(&[], None);
    assert!(normal.contains("total:"), "{normal}");
    for (flags, rust_log) in [(&["-q"][..], None), (&[][..], Some("warn"))] {
        let quiet = say(flags, rust_log);
        assert!(quiet.trim().is_empty(), "{flags:?} {rust_log:?}: {quiet}");
    }
    let loud = say(&["-q"], Some("info"));
    assert!(loud.contains("total:"), "RUST_LOG wins over -q: {loud}");
    // An error is said under -q, with its exit status.
    let o = Command::new(BIN)
        .args(["-q", "--profile", "no-such-profile", "--estimate-only"])
        .env_remove("RUST_LOG")
        .current_dir(root())
        .output()
        .expect("binary runs");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("error:"), "{}", stderr(&o));
}
