//! Issue 14's integrity holes, each closed: an edited checkpoint is refused
//! (one manifest checksums its state and its tensors), a checkpoint gives its
//! floats back to the last bit, a report refuses a finished run's cut metrics
//! file and runs on two datasets, leftover temporary files of killed writes
//! are removed, and bad flags are refused naming the flag.
use repro::config::{ExperimentFile, Override};
use repro::data::Dataset;
use repro::driver::{self, Args, RunDir};
use repro::layout::Layout;
use repro::metrics::{read_parquet, write_parquet, MetricRow};
use repro::testing::{
    rng_lock, synthetic, test_context, tiny_cifar, tiny_run, TinyExperiment as Tiny,
    TINY_EXPERIMENT,
};
use repro::train::{self, checkpoint, RunOutcome, RunStatus};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// Flags for `Tiny` in its smoke profile (`repro::testing::tiny_args`).
fn args(dir: &Path, extra: &[&str]) -> Args {
    let mut v = vec!["--profile", "smoke"];
    v.extend_from_slice(extra);
    repro::testing::tiny_args(dir, &v)
}

/// Trains the tiny run (10 iterations, an evaluation every 5) with seeds 1
/// and 2 into `dir/out/smoke`.
fn trained(dir: &Path) -> PathBuf {
    let toml = TINY_EXPERIMENT
        .replace("iterations = 40", "iterations = 10")
        .replace("eval_every = 20", "eval_every = 5");
    std::fs::write(dir.join("t.toml"), toml).expect("toml");
    tiny_cifar(&dir.join("data"), 40, 40).expect("data");
    driver::run(&Tiny, &args(dir, &["--seeds", "1,2"])).expect("trains");
    dir.join("out/smoke")
}

/// The tiny run (40 iterations, a checkpoint every 10) trained in `dir`, from
/// its checkpoint there if it has one, stopping at the first checkpoint at or
/// after `stop`.
fn train_in(data: &Dataset, dir: &Path, stop: Option<i64>) -> repro::error::Result<RunOutcome> {
    let cfg = tiny_run(3, &[]);
    train::seed_init(cfg.seed);
    let vs = VarStore::new(Device::Cpu);
    let net = repro::models::build(&vs.root(), &cfg.model).expect("model");
    let ctx = test_context(data, dir, Layout::ChannelsLast, stop);
    train::train_run(&cfg, net.as_ref(), &vs, &ctx)
}

/// A hand edit of one JSON object: true where it applied.
type Edit = dyn Fn(&mut serde_json::Map<String, Value>) -> bool;

/// Applies `edit` to the first JSON object (depth first) of any checkpoint
/// JSON file in `dir` for which it returns true, and writes that file back
/// as plain JSON: a hand edit, whatever the checkpoint's file layout.
fn edit_checkpoint_json(dir: &Path, edit: &Edit) {
    fn walk(v: &mut Value, edit: &Edit) -> bool {
        match v {
            Value::Object(o) => edit(o) || o.values_mut().any(|x| walk(x, edit)),
            Value::Array(a) => a.iter_mut().any(|x| walk(x, edit)),
            _ => false,
        }
    }
    let mut edited = false;
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !(name.starts_with("checkpoint") && name.ends_with(".json")) {
            continue;
        }
        let mut v: Value =
            serde_json::from_slice(&std::fs::read(e.path()).expect("read")).expect("JSON");
        if walk(&mut v, edit) {
            std::fs::write(e.path(), serde_json::to_vec(&v).expect("JSON")).expect("write");
            edited = true;
        }
    }
    assert!(edited, "no checkpoint JSON held what the edit looks for");
}

#[test]
fn an_edited_checkpoint_is_refused_naming_the_file() {
    let _rng = rng_lock();
    let raw = synthetic(256, 64);
    let cfg = tiny_run(3, &[]);
    let data = Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    // The fault injection's edit: the iteration 30 -> 300 (the rerun then
    // claimed 270 iterations it never trained); and a row's test error.
    let skip_iterations = |o: &mut serde_json::Map<String, Value>| {
        if !(o.contains_key("lr_state") && o.get("iteration") == Some(&Value::from(30))) {
            return false;
        }
        o.insert("iteration".into(), Value::from(300));
        true
    };
    let better_row = |o: &mut serde_json::Map<String, Value>| {
        if !o.get("test_error").is_some_and(Value::is_number) {
            return false;
        }
        o.insert("test_error".into(), Value::from(0.01));
        true
    };
    let edits: [&Edit; 2] = [&skip_iterations, &better_row];
    for edit in edits {
        let tmp = tempfile::tempdir().expect("tmp");
        let part = train_in(&data, tmp.path(), Some(25)).expect("trains");
        assert_eq!(part.status, RunStatus::Interrupted { iteration: 30 });
        edit_checkpoint_json(tmp.path(), edit);
        let e = match train_in(&data, tmp.path(), None) {
            Ok(out) => panic!(
                "an edited checkpoint was trusted: resumed from {}, {:?}",
                out.resumed_from, out.status
            ),
            Err(e) => e.to_string(),
        };
        assert!(
            e.contains("checksum") && e.contains(".json") && e.contains("--fresh"),
            "{e}"
        );
        // Nothing was trained over it.
        assert!(
            !tmp.path().join(repro::metrics::RUN_FILE).exists()
                || read_parquet(&tmp.path().join(repro::metrics::RUN_FILE))
                    .expect("rows")
                    .iter()
                    .all(|r| r.iteration <= 30)
        );
    }
}

/// Issue 32, case 13: an edit of the checkpoint's iteration with the
/// manifest's checksum recomputed (so that the checksums pass) is refused:
/// the state's iteration must be its last row's and the one its files were
/// written at. (Forward, the run claimed iterations it never trained;
/// backward, it trained them twice from later weights.)
#[test]
fn a_checkpoint_edited_with_its_checksum_recomputed_is_refused() {
    let _rng = rng_lock();
    let raw = synthetic(256, 64);
    let cfg = tiny_run(3, &[]);
    let data = Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    for edited_to in [300, 20] {
        let tmp = tempfile::tempdir().expect("tmp");
        let part = train_in(&data, tmp.path(), Some(25)).expect("trains");
        assert_eq!(part.status, RunStatus::Interrupted { iteration: 30 });
        edit_checkpoint_json(tmp.path(), &move |o: &mut serde_json::Map<
            String,
            Value,
        >| {
            if !(o.contains_key("lr_state") && o.get("iteration") == Some(&Value::from(30))) {
                return false;
            }
            o.insert("iteration".into(), Value::from(edited_to));
            true
        });
        recompute_state_checksum(tmp.path());
        let e = match train_in(&data, tmp.path(), None) {
            Ok(out) => panic!(
                "a checkpoint edited to iteration {edited_to} was trusted: resumed from {}, {:?}",
                out.resumed_from, out.status
            ),
            Err(e) => e.to_string(),
        };
        assert!(
            e.contains(&format!("iteration {edited_to}"))
                && e.contains("iteration 30")
                && e.contains(".state.json")
                && e.contains("--fresh"),
            "{e}"
        );
    }
}

/// What an editor who knows the format does after editing the state: puts
/// the state file's new digest into the manifest.
fn recompute_state_checksum(dir: &Path) {
    let path = dir.join(checkpoint::META_FILE);
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("JSON");
    let state = manifest["state_file"]
        .as_str()
        .expect("state_file")
        .to_string();
    let digest = repro::io::sha256_hex(&std::fs::read(dir.join(state)).expect("state"));
    manifest["state_sha256"] = Value::from(digest);
    std::fs::write(&path, serde_json::to_vec(&manifest).expect("JSON")).expect("write");
}

/// Issue 32, case 1 at the library level: a checkpoint records its data, and
/// a resume on other data (here the same images with every label moved to
/// (l + 1) mod 10) is refused naming both.
#[test]
fn a_checkpoint_does_not_resume_on_other_data() {
    let _rng = rng_lock();
    let raw = synthetic(256, 64);
    let cfg = tiny_run(3, &[]);
    let data = Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    let mut moved = raw.clone();
    for l in moved.train.labels.iter_mut().chain(&mut moved.test.labels) {
        *l = (*l + 1) % 10;
    }
    moved.source_sha256 = "1".repeat(64);
    let other = Dataset::new(&moved, &cfg.data, Device::Cpu).expect("dataset");
    let tmp = tempfile::tempdir().expect("tmp");
    let part = train_in(&data, tmp.path(), Some(25)).expect("trains");
    assert_eq!(part.status, RunStatus::Interrupted { iteration: 30 });
    let e = match train_in(&other, tmp.path(), None) {
        Ok(out) => panic!(
            "resumed on other data from iteration {}, {:?}",
            out.resumed_from, out.status
        ),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains(&"0".repeat(16)) && e.contains(&"1".repeat(16)) && e.contains("--fresh"),
        "{e}"
    );
    // The same data still resumes it.
    let done = train_in(&data, tmp.path(), None).expect("resumes");
    assert_eq!((done.status, done.resumed_from), (RunStatus::Completed, 30));
}

/// Floats of every magnitude with all 52 mantissa bits used: 17 significant
/// digits, the ones a decimal reader rounds wrongly if any.
fn awkward_floats(n: usize) -> Vec<f64> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let exponent = 1023 - 30 + (i as u64 % 60);
            f64::from_bits((exponent << 52) | (s & ((1 << 52) - 1)))
        })
        .collect()
}

#[test]
fn a_checkpoint_gives_every_float_back_to_the_last_bit() {
    let _rng = rng_lock();
    let raw = synthetic(256, 64);
    let cfg = tiny_run(3, &[]);
    let data = Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    let tmp = tempfile::tempdir().expect("tmp");
    let part = train_in(&data, &tmp.path().join("run"), Some(5)).expect("trains");
    let template = part.rows.first().expect("a row").clone();
    let mut f = awkward_floats(4000).into_iter();
    let mut next = || f.next().expect("enough floats");
    // A checkpoint's last row is at its iteration (the load checks it).
    let rows: Vec<MetricRow> = (1..=300)
        .map(|i| MetricRow {
            iteration: i,
            epoch: next(),
            lr: next(),
            train_loss: next(),
            train_error: next(),
            test_loss: Some(next()),
            test_error: Some(next()),
            train_eval_loss: Some(next()),
            train_eval_error: Some(next()),
            images_per_sec: next(),
            wall_time_s: next(),
            ..template.clone()
        })
        .collect();
    let meta = checkpoint::CheckpointMeta {
        config_hash: template.config_hash.clone(),
        seed: template.seed as u64,
        iteration: 300,
        lr_state: train::schedule::LrState {
            plateau_best: Some(next()),
            ..Default::default()
        },
        wall_time_s: next(),
        rows,
        epoch_acc: [next(), next(), next()],
        channels_last: Some(true),
        data: None,
        threads: Some(1),
    };
    let dir = tmp.path().join("ckpt");
    let tensors = [("w".to_string(), Tensor::from_slice(&[1.5f32, -2.0]))];
    checkpoint::save(&dir, meta.clone(), &tensors).expect("save");
    let (back, t) = checkpoint::load(&dir).expect("load").expect("a checkpoint");
    // Debug prints each float's shortest round-trip form: equal strings, equal bits.
    let (want, got) = (format!("{meta:?}"), format!("{back:?}"));
    let differing = want
        .split(", ")
        .zip(got.split(", "))
        .filter(|(a, b)| a != b)
        .take(5)
        .collect::<Vec<_>>();
    assert!(
        differing.is_empty(),
        "floats changed through the checkpoint: {differing:?}"
    );
    assert_eq!(want, got);
    assert_eq!(t.len(), 1);
}

#[test]
fn a_finished_runs_cut_metrics_file_is_refused_by_the_report() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let profile = trained(tmp.path());
    let report = std::fs::read(profile.join("report.md")).expect("report");
    let dir = RunDir::new(&profile, "tiny-s1");
    let rows = read_parquet(&dir.metrics()).expect("rows");
    let kept = &rows[..rows.iter().position(|r| r.iteration == 5).expect("row 5") + 1];
    write_parquet(&dir.metrics(), kept).expect("cut");
    let e = driver::run(&Tiny, &args(tmp.path(), &["--seeds", "1,2", "--plot-only"]))
        .expect_err("drew a cut file as final")
        .to_string();
    assert!(
        e.contains(&dir.metrics().display().to_string())
            && e.contains("status.json")
            && e.contains("iteration 5")
            && e.contains("iteration 10"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(profile.join("report.md")).expect("report"),
        report
    );
}

#[test]
fn one_report_is_not_drawn_from_runs_on_two_datasets() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let profile = trained(tmp.path());
    let report = std::fs::read(profile.join("report.md")).expect("report");
    let dir = RunDir::new(&profile, "tiny-s2");
    let rows: Vec<MetricRow> = read_parquet(&dir.metrics())
        .expect("rows")
        .into_iter()
        .map(|r| MetricRow {
            dataset: "CIFAR-10 (other copy)".into(),
            ..r
        })
        .collect();
    let first = read_parquet(&RunDir::new(&profile, "tiny-s1").metrics()).expect("rows")[0]
        .dataset
        .clone();
    write_parquet(&dir.metrics(), &rows).expect("write");
    let e = driver::run(&Tiny, &args(tmp.path(), &["--seeds", "1,2", "--plot-only"]))
        .expect_err("one report of two datasets")
        .to_string();
    assert!(
        e.contains("CIFAR-10 (other copy)`: tiny-s2") && e.contains(&format!("{first}`: tiny-s1")),
        "{e}"
    );
    assert_eq!(
        std::fs::read(profile.join("report.md")).expect("report"),
        report
    );
}

#[test]
fn a_report_removes_the_temporary_files_of_killed_writes() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let profile = trained(tmp.path());
    let run = RunDir::new(&profile, "tiny-s1").path().to_path_buf();
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let put = |path: PathBuf, modified: std::time::SystemTime| {
        let f = std::fs::File::create(&path).expect("create");
        f.set_modified(modified).expect("mtime");
        path
    };
    let left = [
        put(profile.join(".report.md.Ab3dE9.tmp"), hours_ago),
        put(profile.join(".fig.png.x1Y2z3.tmp.png"), hours_ago),
        put(run.join(".metrics.parquet.Qw3rT5.tmp"), hours_ago),
        // A report's own file: under the report lock, however young, it can
        // only be a killed report write's.
        put(
            profile.join(".summary.csv.Zx9cV8.tmp"),
            std::time::SystemTime::now(),
        ),
    ];
    // Another process's write in progress (of a file the report does not
    // write), and files that only look similar.
    let kept = [
        put(
            profile.join(".notes.md.Zx9cV8.tmp"),
            std::time::SystemTime::now(),
        ),
        put(profile.join(".notes.tmp"), hours_ago),
        put(profile.join("draft.tmp"), hours_ago),
    ];
    driver::run(&Tiny, &args(tmp.path(), &["--seeds", "1,2", "--plot-only"])).expect("draws");
    for p in &left {
        assert!(!p.exists(), "{} left behind", p.display());
    }
    for p in &kept {
        assert!(p.exists(), "{} removed", p.display());
    }
}

#[test]
fn generated_data_in_the_binary_layout_is_a_copy_and_never_paper() {
    use repro::config::Fidelity;
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tiny_cifar(&tmp.path().join("data"), 20, 20).expect("data");
    let raw = cifar10::load(
        &cifar10::Source::Path(data),
        &tmp.path().join("cache"),
        &|_| {},
    )
    .expect("loads");
    assert_eq!(raw.label, cifar10::UNVERIFIED_BINARY_LABEL);
    assert!(repro::data::is_stand_in(&raw.label));
    assert_eq!(
        repro::data::run_fidelity(Fidelity::Paper, &raw.label, "fp32"),
        Fidelity::Analogue
    );
}

/// The tiny experiment with one figure, `fig6` (the tiny run's error curves).
struct WithFigure;

impl driver::Experiment for WithFigure {
    fn name(&self) -> &'static str {
        "t"
    }
    fn figures(&self, res: &driver::Results) -> Vec<(String, repro::figures::Figure)> {
        let panel = repro::plot::iteration_panel(res, "tiny", &["tiny"]);
        let fig = repro::figures::Figure::new("fig6", res.header.caption(), vec![panel]);
        vec![("fig6".into(), fig)]
    }
    fn tables(&self, _res: &driver::Results) -> Vec<repro::report::Table> {
        Vec::new()
    }
    fn claims(&self, _res: &driver::Results) -> Vec<repro::report::Measured> {
        Vec::new()
    }
}

/// The temporary file of a write of `target` killed before its commit, named
/// as `fileio::AtomicFile` (which the report and figure writers use) names it.
fn killed_write(target: &Path, suffix: &str) -> PathBuf {
    let f = fileio::AtomicFile::with_temp_suffix(target, suffix).expect("temp file");
    let path = f.temp_path().to_path_buf();
    std::mem::forget(f); // as a killed process: nothing removes it
    path
}

#[test]
fn a_report_rerun_right_after_a_killed_one_removes_its_figures_temporary_files() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    let profile = trained(tmp.path());
    let draw = || {
        driver::run(
            &WithFigure,
            &args(tmp.path(), &["--seeds", "1,2", "--plot-only"]),
        )
    };
    draw().expect("draws");
    assert!(profile.join("fig6.png").is_file() && profile.join("fig6.svg").is_file());
    // A `kill -9` while fig6 was being written leaves its temporary files,
    // named as the writer names them; the report is drawn again a moment later.
    let killed = [
        killed_write(&profile.join("fig6.svg"), ".tmp"),
        killed_write(&profile.join("fig6.png"), ".tmp.png"),
    ];
    // Look-alikes that are not the writer's temporary files stay.
    let kept = [
        profile.join(".fig6.png.abcdef.tmp"),
        profile.join(".fig6.svg.abcdef.tmp.png"),
    ];
    for k in &kept {
        std::fs::write(k, "x").expect("write");
    }
    draw().expect("draws again");
    for k in &killed {
        assert!(!k.exists(), "{} left behind", k.display());
    }
    for k in &kept {
        assert!(k.exists(), "{} removed", k.display());
    }
}

#[test]
fn a_seed_given_twice_is_refused() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(tmp.path().join("t.toml"), TINY_EXPERIMENT).expect("toml");
    let e = driver::run(&Tiny, &args(tmp.path(), &["--seeds", "1,1"]))
        .expect_err("trained one run twice")
        .to_string();
    assert!(e.contains("--seeds") && e.contains("seed 1"), "{e}");
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn a_bad_set_value_is_blamed_on_the_set_and_a_bad_file_value_on_the_file() {
    let file = ExperimentFile::parse(TINY_EXPERIMENT, Path::new("exp/t.toml")).expect("file");
    let set = |s: &str| s.parse::<Override>().expect("override");
    let e = file
        .resolve(
            "smoke",
            "tiny",
            1,
            &[set("train.log_every=5"), set("train.lr=fast")],
        )
        .expect_err("lr = \"fast\"")
        .to_string();
    assert!(
        e.contains("--set train.lr=\"fast\"") && !e.contains("t.toml"),
        "{e}"
    );
    let bad = TINY_EXPERIMENT.replace("lr = 0.05", "lr = \"fast\"");
    let file = ExperimentFile::parse(&bad, Path::new("exp/t.toml")).expect("file");
    let e = file
        .resolve("smoke", "tiny", 1, &[set("train.log_every=5")])
        .expect_err("lr = \"fast\"")
        .to_string();
    assert!(e.contains("exp/t.toml") && !e.contains("--set"), "{e}");
}

#[test]
fn unknown_experiment_keys_are_refused_naming_the_key() {
    let text = TINY_EXPERIMENT.replace("paper = \"test\"", "paper = \"test\"\nseeds = [1]");
    let e = ExperimentFile::parse(&text, Path::new("exp/t.toml"))
        .expect_err("an unknown key")
        .to_string();
    assert!(
        e.contains("exp/t.toml") && e.contains("[experiment]") && e.contains("`seeds`"),
        "{e}"
    );
}
