//! What the results directory offers readers, on the tiny experiment (generated
//! data): each row once under a `**/metrics.parquet` glob, a run's metrics on
//! disk while it trains (and `--plot-only` drawing it), a timestamped
//! `train.log` per run, hyperparameters as columns, and the "Reading results"
//! examples of docs/results-format.md.
use polars::prelude::*;
use repro::driver::{self, Args, RunDir};
use repro::layout::Layout;
use repro::metrics::{read_parquet, MetricRow, COMBINED_FILE, RUN_FILE};
use repro::testing::{
    rng_lock, synthetic, test_context, tiny_cifar, tiny_run, TinyExperiment as Tiny,
    TINY_EXPERIMENT,
};
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::Device;

/// The tiny experiment with a second run, `tiny-lr` (base lr 0.02 instead of
/// 0.05), in the smoke profile: 10 iterations, an evaluation every 5.
fn two_lr_experiment() -> String {
    TINY_EXPERIMENT
        .replace("iterations = 40", "iterations = 10")
        .replace("eval_every = 20", "eval_every = 5")
        .replace(
            "[profiles.paper]",
            "[runs.tiny-lr]\nmodel = { family = \"cifar-resnet\", depth = 8, residual = true, width = 8 }\ntrain.lr = 0.02\n[profiles.paper]",
        )
        .replace(
            "[profiles.smoke]\ndescription = \"test\"\nfidelity = \"shortened\"\nruns = [\"tiny\"]",
            "[profiles.smoke]\ndescription = \"test\"\nfidelity = \"shortened\"\nruns = [\"tiny\", \"tiny-lr\"]",
        )
}

/// Flags for `Tiny` in its smoke profile (`repro::testing::tiny_args`).
fn args(dir: &Path, extra: &[&str]) -> Args {
    let mut v = vec!["--profile", "smoke"];
    v.extend_from_slice(extra);
    repro::testing::tiny_args(dir, &v)
}

/// Trains the two-lr experiment with seeds 1 and 2 into `dir/out/smoke`.
fn trained(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("t.toml"), two_lr_experiment()).expect("toml");
    tiny_cifar(&dir.join("data"), 40, 40).expect("data");
    driver::run(&Tiny, &args(dir, &["--seeds", "1,2"])).expect("trains");
    dir.join("out/smoke")
}

fn files_named(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            files_named(&p, name, out);
        } else if p.file_name().is_some_and(|f| f == name) {
            out.push(p);
        }
    }
}

fn height(path: &Path) -> usize {
    let f = std::fs::File::open(path).expect("open");
    ParquetReader::new(f).finish().expect("parquet").height()
}

#[test]
fn a_glob_over_metrics_parquet_reads_each_row_once_with_hyperparameter_columns() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let profile = trained(tmp.path());
    let mut files = Vec::new();
    files_named(&tmp.path().join("out"), RUN_FILE, &mut files);
    assert_eq!(files.len(), 4, "one per run: {files:?}");
    assert!(files.iter().all(|f| f.starts_with(profile.join("runs"))));
    let globbed: usize = files.iter().map(|f| height(f)).sum();
    let combined = height(&profile.join(COMBINED_FILE));
    assert!(combined > 0);
    assert_eq!(globbed, combined, "**/metrics.parquet double counts");

    let rows = read_parquet(&profile.join(COMBINED_FILE)).expect("rows");
    for r in &rows {
        let lr = if r.run_name == "tiny" { 0.05 } else { 0.02 };
        assert_eq!(
            (r.lr_base, r.batch_size, r.momentum, r.weight_decay),
            (Some(lr), Some(16), Some(0.9), Some(1e-4)),
            "{}",
            r.run_id
        );
        assert_eq!(
            (r.schedule.as_str(), r.augment.as_str(), r.family.as_str()),
            ("step@25x0.1", "pad4-crop-flip", "cifar-resnet")
        );
        assert_eq!(r.depth, Some(8));
    }
}

/// `2025-03-01T14:05:09Z` at the start of `line`.
fn starts_with_timestamp(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 20
        && b[..20].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

#[test]
fn each_run_logs_its_progress_with_time_lr_throughput_and_eta() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let profile = trained(tmp.path());
    let dir = RunDir::new(&profile, "tiny-lr-s2");
    let log = std::fs::read_to_string(dir.train_log()).expect("train.log");
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines.iter().all(|l| starts_with_timestamp(l)),
        "a line without a timestamp:\n{log}"
    );
    assert!(lines[0].contains("started at iteration 0/10"), "{log}");
    let progress: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("[tiny-lr-s2] it "))
        .collect();
    // A line per logging window (every 5 iterations).
    assert_eq!(progress.len(), 2, "{log}");
    for l in &progress {
        for want in [" lr 0.0200", "train err ", " img/s", " eta "] {
            assert!(l.contains(want), "`{want}` missing: {l}");
        }
    }
    assert!(progress[1].contains("it 10/10 (100.0%)"), "{log}");
    assert!(progress[1].contains("test err "), "evaluated at 10: {log}");
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains("completed after 10 iterations")),
        "{log}"
    );

    // Seeds fused into one network: each run's log has its own lines.
    let fused = tempfile::tempdir().expect("tmp");
    std::fs::write(fused.path().join("t.toml"), two_lr_experiment()).expect("toml");
    tiny_cifar(&fused.path().join("data"), 40, 40).expect("data");
    let a = args(
        fused.path(),
        &["--seeds", "1,2", "--runs", "tiny", "--fuse-seeds", "on"],
    );
    driver::run(&Tiny, &a).expect("trains fused");
    let dir = RunDir::new(&fused.path().join("out/smoke"), "tiny-s2");
    let log = std::fs::read_to_string(dir.train_log()).expect("train.log");
    assert!(
        log.contains("[tiny-s1+tiny-s2] started at iteration 0/10 on cpu")
            && log.contains(", 2 seeds fused\n"),
        "{log}"
    );
    assert!(log.contains("[tiny-s2] it 10/10 (100.0%)"), "{log}");
    assert!(!log.contains("[tiny-s1] it "), "{log}");
}

#[test]
fn a_runs_metrics_are_on_disk_at_every_evaluation_while_it_trains() {
    let _rng = rng_lock();
    let raw = synthetic(256, 64);
    let cfg = tiny_run(3, &[]);
    let data = repro::data::Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    let train = |dir: &Path, stop: Option<i64>| {
        repro::train::seed_init(cfg.seed);
        let vs = VarStore::new(Device::Cpu);
        let net = repro::models::build(&vs.root(), &cfg.model).expect("model");
        let ctx = test_context(&data, dir, Layout::ChannelsLast, stop);
        repro::train::train_run(&cfg, net.as_ref(), &vs, &ctx).expect("trains")
    };
    let tmp = tempfile::tempdir().expect("tmp");
    // Stopped (as if killed) at the checkpoint of iteration 30: the training
    // loop itself wrote the rows up to its last evaluation (iteration 20).
    let part = train(tmp.path(), Some(25));
    assert_eq!(
        part.status,
        repro::train::RunStatus::Interrupted { iteration: 30 }
    );
    let on_disk = read_parquet(&tmp.path().join(RUN_FILE)).expect("live metrics");
    let upto: Vec<MetricRow> = part
        .rows
        .iter()
        .filter(|r| r.iteration <= 20)
        .cloned()
        .collect();
    assert!(part.rows.len() > upto.len() && !upto.is_empty());
    assert_eq!(on_disk, upto);
    assert!(on_disk.last().is_some_and(|r| r.test_error.is_some()));
    // Resumed to the end: the file has every row, the same as the outcome's.
    let done = train(tmp.path(), None);
    assert_eq!(done.resumed_from, 30);
    assert_eq!(
        read_parquet(&tmp.path().join(RUN_FILE)).expect("final metrics"),
        done.rows
    );
    // The rows before the stop came back from the checkpoint to the last bit,
    // timings included (its state stores every float's bit pattern).
    assert_eq!(&done.rows[..part.rows.len()], &part.rows[..]);
}

#[test]
fn plot_only_draws_a_run_that_is_training_and_says_how_far_it_is() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let profile = trained(tmp.path());
    // `tiny-s2` as a run in progress: no status yet, its lock held elsewhere.
    let dir = RunDir::new(&profile, "tiny-s2");
    std::fs::remove_file(dir.status()).expect("rm status");
    let lock = std::fs::File::open(dir.path().join(".lock")).expect("lock");
    lock.try_lock().expect("locked");
    driver::run(&Tiny, &args(tmp.path(), &["--seeds", "1,2", "--plot-only"])).expect("draws");
    let report = std::fs::read_to_string(profile.join("report.md")).expect("report");
    assert!(
        report.contains("| tiny-s2 | training: drawn at iteration 10 of 10, not final |"),
        "{report}"
    );
    let rows = read_parquet(&profile.join(COMBINED_FILE)).expect("rows");
    assert!(rows.iter().any(|r| r.run_id == "tiny-s2"));
    // Not training any more and without a status (killed): left out.
    drop(lock);
    driver::run(&Tiny, &args(tmp.path(), &["--seeds", "1,2", "--plot-only"])).expect("draws");
    let rows = read_parquet(&profile.join(COMBINED_FILE)).expect("rows");
    assert!(!rows.iter().any(|r| r.run_id == "tiny-s2"));
    assert!(rows.iter().any(|r| r.run_id == "tiny-s1"));
    let report = std::fs::read_to_string(profile.join("report.md")).expect("report");
    assert!(
        report.contains("| tiny-s2 | stopped before its end"),
        "{report}"
    );
    // A rerun trains it again (from iteration 0: its checkpoint went at its end).
    driver::run(&Tiny, &args(tmp.path(), &["--seeds", "1,2"])).expect("trains");
    let rows = read_parquet(&profile.join(COMBINED_FILE)).expect("rows");
    assert_eq!(
        rows.iter().filter(|r| r.run_id == "tiny-s2").count(),
        rows.len() / 4
    );
}

/// The Rust example of docs/results-format.md ("Reading results"), verbatim but for the path.
#[allow(deprecated)] // polars' eager group-by aggregations (the `lazy` feature is not enabled)
fn final_test_error(runs: &Path) -> anyhow::Result<DataFrame> {
    let mut rows = Vec::new();
    for run in std::fs::read_dir(runs)? {
        let file = run?.path().join("metrics.parquet");
        if file.exists() {
            rows.extend(records::metrics::read_parquet(&file)?);
        }
    }
    let df = records::metrics::to_frame(&rows)?;
    let evaluated = df.filter(&df.column("test_error")?.is_not_null())?;
    let last = evaluated // each run's last evaluation (a run's rows are in iteration order)
        .group_by(["run_id", "run_name", "lr_base"])?
        .select(["test_error"])
        .last()?;
    let table = last
        .group_by(["run_name", "lr_base"])?
        .select(["test_error_last"])
        .mean()?
        .sort(["run_name"], Default::default())?;
    Ok(table)
}

/// The path of the doc's examples, replaced by the test's.
const DOC_RUNS: &str = "results/alexnet-relu-vs-tanh/quick/runs";

/// The section `## Reading results` of docs/results-format.md.
fn doc_section() -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results-format.md"),
    )
    .expect("docs/results-format.md");
    let start = doc
        .find("## Reading results")
        .expect("docs/results-format.md: ## Reading results");
    let rest = &doc[start + 3..];
    let end = rest
        .find("\n## ")
        .map(|e| e + start + 3)
        .unwrap_or(doc.len());
    doc[start..end].to_string()
}

/// The fenced block of `lang` in `section`.
fn code_block(section: &str, lang: &str) -> String {
    let open = format!("```{lang}\n");
    let start = section
        .find(&open)
        .unwrap_or_else(|| panic!("no {lang} block"))
        + open.len();
    let len = section[start..].find("```").expect("closed block");
    section[start..start + len].to_string()
}

fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
}

/// Final test error per (run_name, lr_base) read by pyarrow from the glob, as JSON.
const PYARROW_CHECK: &str = r#"
import glob, json, sys
import pyarrow as pa, pyarrow.parquet as pq
files = sorted(glob.glob(sys.argv[1]))
t = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
last = {}
for r in t.to_pylist():
    if r["test_error"] is not None:
        last[r["run_id"]] = r   # rows are in iteration order within a file
groups = {}
for r in last.values():
    groups.setdefault(f'{r["run_name"]} {r.get("lr_base")}', []).append(r["test_error"])
print(json.dumps({k: sum(v) / len(v) for k, v in sorted(groups.items())}))
"#;

/// A column of the group-by table, each value mapped by `f`.
fn column<T>(table: &DataFrame, name: &str, f: impl Fn(&Column) -> Option<Vec<T>>) -> Vec<T> {
    table.column(name).ok().and_then(f).expect(name)
}

/// The doc's Rust example, run here: one row per (run, lr_base), with the
/// mean over seeds of each run's last test error, checked against the rows by
/// hand. Returns the means, in the table's order (tiny, tiny-lr).
fn rust_example_groups(section: &str, profile: &Path) -> Vec<f64> {
    let rust = code_block(section, "rust");
    for line in [
        ".group_by([\"run_id\", \"run_name\", \"lr_base\"])?",
        ".select([\"test_error_last\"])",
        "records::metrics::read_parquet(&file)?",
    ] {
        assert!(rust.contains(line), "the doc's Rust example lacks `{line}`");
    }
    let table = final_test_error(&profile.join("runs")).expect("group-by");
    assert_eq!(table.height(), 2, "{table}");
    let names: Vec<String> = column(&table, "run_name", |c| {
        let v = c.str().ok()?.iter();
        Some(v.map(|v| v.unwrap_or_default().to_string()).collect())
    });
    assert_eq!(names, ["tiny", "tiny-lr"]);
    let lrs: Vec<Option<f64>> = column(&table, "lr_base", |c| Some(c.f64().ok()?.iter().collect()));
    assert_eq!(lrs, [Some(0.05), Some(0.02)]);
    let means: Vec<f64> = column(&table, "test_error_last_mean", |c| {
        Some(c.f64().ok()?.iter().map(|v| v.expect("a mean")).collect())
    });
    check_means_by_hand(profile, &names, &means);
    means
}

/// The same numbers by hand: each run's last test error, averaged over seeds.
fn check_means_by_hand(profile: &Path, names: &[String], means: &[f64]) {
    let rows = read_parquet(&profile.join(COMBINED_FILE)).expect("rows");
    for (name, mean) in names.iter().zip(means) {
        let finals: Vec<f64> = ["s1", "s2"]
            .iter()
            .map(|s| {
                let id = format!("{name}-{s}");
                rows.iter()
                    .rev()
                    .find(|r| r.run_id == id && r.test_error.is_some())
                    .and_then(|r| r.test_error)
                    .expect("evaluated")
            })
            .collect();
        assert!(
            (mean - (finals[0] + finals[1]) / 2.0).abs() < 1e-12,
            "{name}"
        );
    }
}

/// Python: the same numbers through pyarrow (the project's environment);
/// the doc's polars example too where polars is installed.
fn python_examples_agree(section: &str, runs: &Path, means: &[f64]) {
    let glob = format!("{}/*/metrics.parquet", runs.display());
    let o = std::process::Command::new(python())
        .args(["-c", PYARROW_CHECK, &glob])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup)", python().display()));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: std::collections::BTreeMap<String, f64> =
        serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(got.len(), 2, "{got:?}");
    assert!((got["tiny 0.05"] - means[0]).abs() < 1e-12, "{got:?}");
    assert!((got["tiny-lr 0.02"] - means[1]).abs() < 1e-12, "{got:?}");
    let has_polars = std::process::Command::new(python())
        .args(["-c", "import polars"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_polars {
        let py = code_block(section, "python").replace(DOC_RUNS, &runs.display().to_string());
        let o = std::process::Command::new(python())
            .args(["-c", &py])
            .output()
            .expect("python");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("tiny-lr") && out.contains("0.02"), "{out}");
    } else {
        eprintln!("polars is not installed: the doc's polars example was not run");
    }
    assert!(code_block(section, "python").contains(DOC_RUNS));
    assert!(code_block(section, "sql").contains(DOC_RUNS));
}

/// The doc's own path: the committed runs, whichever version wrote them
/// (files from before the hyperparameter columns group under a null lr_base).
fn committed_runs_read() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(DOC_RUNS);
    let table = final_test_error(&committed).expect("committed results");
    assert!(table.height() > 0, "{table}");
    let o = std::process::Command::new(python())
        .args(["-c", PYARROW_CHECK])
        .arg(format!("{}/*/metrics.parquet", committed.display()))
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_docs_reading_examples_group_runs_by_their_hyperparameters() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let profile = trained(tmp.path());
    let section = doc_section();
    let means = rust_example_groups(&section, &profile);
    python_examples_agree(&section, &profile.join("runs"), &means);
    committed_runs_read();
}

#[test]
fn schedules_are_described_in_short_and_hyperparameters_come_from_the_config() {
    use repro::metrics::{schedule_text, Hyperparameters};
    assert_eq!(schedule_text(&tiny_run(1, &[]).train), "step@25x0.1");
    let step = tiny_run(1, &["train.schedule.lr_drops_at=[32000, 48000]"]);
    assert_eq!(schedule_text(&step.train), "step@32000,48000x0.1");
    let plateau = tiny_run(
        1,
        &["train.schedule={kind=\"plateau\", factor=0.1, patience=3, max_drops=3}"],
    );
    assert_eq!(schedule_text(&plateau.train), "plateau(p=3,f=0.1,max=3)");
    let warm = tiny_run(
        1,
        &[
            "train.schedule={kind=\"constant\"}",
            "train.warmup={lr=0.01, until_train_error_below=0.8}",
        ],
    );
    assert_eq!(
        schedule_text(&warm.train),
        "constant+warmup(lr=0.01,until<0.8)"
    );
    let h = tiny_run(1, &["data.augment=\"flip\""]).hyperparameters();
    assert_eq!(
        h,
        Hyperparameters {
            family: "cifar-resnet".into(),
            lr_base: Some(0.05),
            batch_size: Some(16),
            momentum: Some(0.9),
            weight_decay: Some(1e-4),
            schedule: "step@25x0.1".into(),
            augment: "flip".into(),
        }
    );
}
