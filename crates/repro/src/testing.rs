//! Test support: the shared tiny experiment and training context, and a small
//! generated CIFAR-10 in the official binary layout, so that smoke runs of
//! every experiment work on any machine (no download, no shared copy). Random
//! pixels: it exercises the plumbing, not learning.
use crate::config::{ExperimentFile, Override, RunConfig};
use crate::data::TrainData;
use crate::layout::Layout;
use crate::train::TrainContext;
use std::path::{Path, PathBuf};
use tch::Device;

pub use records::testing::{profile_dir_of, snapshot, tiny_cifar, untimed_metrics};

/// The experiment file the training-core tests share: one run, `tiny`, a
/// ResNet-8 of width 8 on ResNet's CIFAR recipe (pad-crop-flip, lr 0.05 with
/// a drop, lr-inside momentum), 40 iterations of batch 16, rows every 5,
/// evaluation every 20, checkpoints every 10. Tests change what they need
/// with overrides (`tiny_run`).
pub const TINY_EXPERIMENT: &str = r#"
[experiment]
name = "t"
title = "test"
paper = "test"
[defaults.data]
normalize = "per-pixel-mean"
augment = "pad4-crop-flip"
[defaults.train]
batch_size = 16
iterations = 40
lr = 0.05
schedule = { kind = "step", lr_drops_at = [25], factor = 0.1 }
momentum = 0.9
weight_decay = 1e-4
velocity = "lr-inside"
log_every = 5
eval_every = 20
checkpoint_every = 10
[runs.tiny]
model = { family = "cifar-resnet", depth = 8, residual = true, width = 8 }
[profiles.paper]
description = "test"
fidelity = "shortened"
runs = ["tiny"]
seeds = [3]
[profiles.quick]
description = "test"
fidelity = "shortened"
runs = ["tiny"]
seeds = [3]
[profiles.smoke]
description = "test"
fidelity = "shortened"
runs = ["tiny"]
seeds = [3]
"#;

/// `TINY_EXPERIMENT` parsed.
pub fn tiny_file() -> ExperimentFile {
    ExperimentFile::parse(TINY_EXPERIMENT, Path::new("t.toml"))
        .unwrap_or_else(|e| panic!("TINY_EXPERIMENT: {e}"))
}

/// The `tiny` run with `seed` and `--set`-style overrides (e.g. `"train.lr=0.1"`).
pub fn tiny_run(seed: u64, overrides: &[&str]) -> RunConfig {
    let o: Vec<Override> = overrides
        .iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("override {s}: {e}")))
        .collect();
    tiny_file()
        .resolve("paper", "tiny", seed, &o)
        .unwrap_or_else(|e| panic!("tiny run: {e}"))
}

/// A CPU training context for tests: resumes from `dir`, no progress output,
/// stops after the first checkpoint at or after `stop` when given.
pub fn test_context<'a>(
    data: &'a dyn TrainData,
    dir: &'a Path,
    layout: Layout,
    stop: Option<i64>,
) -> TrainContext<'a> {
    TrainContext {
        data,
        device: Device::Cpu,
        run_dir: dir,
        resume: true,
        device_label: "cpu".into(),
        fidelity: crate::config::Fidelity::Shortened,
        stop_at_checkpoint_after: stop,
        progress: false,
        layout,
    }
}

/// Runs an experiment binary on its `smoke` profile with generated data and
/// checks what every experiment must produce. Returns the profile directory.
pub fn smoke_run(bin: &str, figures: &[&str]) -> PathBuf {
    let tmp = std::env::temp_dir().join(format!(
        "repro-smoke-{}-{}",
        std::process::id(),
        Path::new(bin)
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let data = tiny_cifar(&tmp.join("data"), 200, 200).expect("generate data");
    let out = tmp.join("out");
    let o = std::process::Command::new(bin)
        .args(["--profile", "smoke", "--no-estimate", "--data"])
        .arg(&data)
        .arg("--data-dir")
        .arg(tmp.join("cache"))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("the binary runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "smoke run failed:\n{err}");
    let dir = std::fs::read_dir(&out)
        .expect("results dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.ends_with("smoke"))
        .expect("profile directory");
    for f in [
        "all_runs.parquet",
        "report.md",
        "claims.json",
        "summary.csv",
    ] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    for f in figures {
        assert!(
            dir.join(format!("{f}.png")).exists() && dir.join(format!("{f}.svg")).exists(),
            "figure {f} missing"
        );
    }
    let rows = crate::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("metrics");
    assert!(
        !rows.is_empty()
            && rows.iter().all(|r| r.profile == "smoke"
                && !r.faithful
                && r.fidelity == crate::config::Fidelity::Shortened)
    );
    assert!(rows.iter().any(|r| r.test_error.is_some()));
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(report.contains("## Claims") && report.contains("| fidelity | **shortened**"));
    dir
}

/// libtorch's generator is global and tests run on parallel threads: tests that
/// seed it take this lock so that their random streams are not interleaved.
pub fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

/// A small random dataset in memory: enough to exercise training, not to learn CIFAR.
pub fn synthetic(n_train: usize, n_test: usize) -> cifar10::Cifar10 {
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u8
    };
    let split = |n: usize, next: &mut dyn FnMut() -> u8| cifar10::Split {
        images: (0..n * 3072).map(|_| next()).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
    };
    cifar10::Cifar10 {
        train: split(n_train, &mut next),
        test: split(n_test, &mut next),
        label: "synthetic".into(),
        source_sha256: "0".repeat(64),
        source: "generated in the test".into(),
    }
}

/// Redraws an experiment's committed results of `profile` (`results/<experiment>/<profile>`:
/// their metrics, configs and saved measurements, a fixed input) with `bin
/// --plot-only` into a scratch directory, and returns the redrawn profile
/// directory. The committed files are not touched.
pub fn redraw_committed(bin: &str, experiment: &str, profile: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let src = root.join("results").join(experiment).join(profile);
    // Unique per call: tests of one binary may redraw at the same time.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = std::env::temp_dir().join(format!(
        "repro-redraw-{}-{n}-{experiment}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let dst = tmp.join(experiment).join(profile);
    copy_inputs(&src, &dst);
    let o = std::process::Command::new(bin)
        // Committed runs of one profile may come from several commits (a run
        // retrained after a fix): their reports say so, and redrawing them is
        // what `--allow-mixed` is for.
        .args([
            "--profile",
            profile,
            "--plot-only",
            "--allow-mixed",
            "--out",
        ])
        .arg(tmp.join(experiment))
        .output()
        .expect("the binary runs");
    assert!(
        o.status.success(),
        "--plot-only failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    dst
}

/// Copies what `--plot-only` reads (tables, configs, states) but not the
/// weights and checkpoints.
fn copy_inputs(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("committed results").flatten() {
        let p = e.path();
        let to = dst.join(e.file_name());
        if p.is_dir() {
            copy_inputs(&p, &to);
        } else if p
            .extension()
            .is_some_and(|x| x == "parquet" || x == "json" || x == "toml")
        {
            std::fs::copy(&p, &to).expect("copy");
        }
    }
}

/// What a figure of an experiment must show.
#[derive(Debug, Clone, Copy, Default)]
pub struct FigureCheck {
    pub stem: &'static str,
    /// Dots at evaluation points (or seeds' points in an arm chart).
    pub markers: bool,
    /// Shaded min-max bands over seeds (arms with more than one seed).
    pub bands: bool,
    /// Dotted marks at learning-rate drops.
    pub lr_drops: bool,
    /// The paper's values drawn ("paper ..." ticks or the arm chart's diamonds).
    pub paper_values: bool,
    /// At least two panels, all with the same y axis (tick labels at the
    /// same heights).
    pub shared_y: bool,
}

/// The y-axis tick labels of each panel of an SVG figure: right-aligned
/// numeric texts grouped by their x position, as (pixel row, label) pairs.
pub fn y_axes(svg: &str) -> Vec<Vec<(String, String)>> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let i = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[i..].split('"').next()?.to_string())
    };
    let mut axes: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for chunk in svg.split("<text").skip(1) {
        let Some((tag, rest)) = chunk.split_once('>') else {
            continue;
        };
        let label = rest
            .split("</text>")
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let numeric = !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_ascii_digit() || ".-kM".contains(c));
        if attr(tag, "text-anchor").as_deref() == Some("end") && numeric {
            if let (Some(x), Some(y)) = (attr(tag, "x"), attr(tag, "y")) {
                axes.entry(x).or_default().push((y, label));
            }
        }
    }
    axes.into_values().collect()
}

/// Checks a redrawn figure from its SVG: both files written, the caption and
/// titles whole (nothing cut with "…"), and the marks `check` asks for.
pub fn check_figure(dir: &Path, check: FigureCheck) {
    let stem = check.stem;
    let svg_path = dir.join(format!("{stem}.svg"));
    let svg = std::fs::read_to_string(&svg_path)
        .unwrap_or_else(|e| panic!("{}: {e}", svg_path.display()));
    assert!(
        dir.join(format!("{stem}.png")).exists(),
        "{stem}.png missing"
    );
    assert!(!svg.contains('…'), "{stem}: a text was cut short");
    if check.markers {
        assert!(svg.contains("<circle"), "{stem}: no markers");
    }
    if check.bands {
        assert!(
            svg.contains("<polygon opacity=\"0.2"),
            "{stem}: no seed band"
        );
    }
    if check.lr_drops {
        assert!(svg.contains("lr ÷"), "{stem}: no learning-rate drop marks");
    }
    if check.shared_y {
        let axes = y_axes(&svg);
        assert!(
            axes.len() >= 2,
            "{stem}: fewer than two panels with a y axis"
        );
        assert!(
            axes.windows(2).all(|w| w[0] == w[1]),
            "{stem}: panels do not share their y axis: {axes:?}"
        );
    }
    if check.paper_values {
        // A text element starting with "paper " (a tick's label) or being
        // "paper" (the arm chart's legend), not "paper's" of a caption.
        let drawn = svg.split('>').any(|t| {
            let t = t.trim_start();
            t.starts_with("paper ") || t.starts_with("paper<") || t.starts_with("paper\n")
        });
        assert!(drawn, "{stem}: no paper values");
    }
}

/// The shared real CIFAR-10 copy (`shared/datasets/cifar-10-jpeg.tar.gz`
/// beside the repository), if this machine has it. CI has it: there its
/// absence fails the calling test; elsewhere the caller skips.
pub fn shared_jpeg_copy() -> Option<PathBuf> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/cifar-10-jpeg.tar.gz");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI: {} is missing",
        p.display()
    );
    eprintln!(
        "skipping: {} not found (not required outside CI)",
        p.display()
    );
    None
}

/// The experiment of `TINY_EXPERIMENT` (`name = "t"`): no figures, tables or
/// claims, for tests of the driver.
pub struct TinyExperiment;

impl crate::driver::Experiment for TinyExperiment {
    fn name(&self) -> &'static str {
        "t"
    }
    fn figures(&self, _res: &crate::driver::Results) -> Vec<(String, crate::figures::Figure)> {
        Vec::new()
    }
    fn tables(&self, _res: &crate::driver::Results) -> Vec<crate::report::Table> {
        Vec::new()
    }
    fn claims(&self, _res: &crate::driver::Results) -> Vec<crate::report::Measured> {
        Vec::new()
    }
}

/// Flags for `TinyExperiment` with its file at `dir/t.toml`, its data in
/// `dir/data` (decode cache `dir/cache`) and results under `dir/out`, on the
/// CPU without the timing probe; then `extra`.
pub fn tiny_args(dir: &Path, extra: &[&str]) -> crate::driver::Args {
    use clap::Parser;
    let path = |p: &str| dir.join(p).display().to_string();
    let mut v: Vec<String> = vec![
        "t".into(),
        "--config".into(),
        path("t.toml"),
        "--data".into(),
        path("data"),
        "--data-dir".into(),
        path("cache"),
        "--out".into(),
        path("out"),
        "--device".into(),
        "cpu".into(),
        "--no-estimate".into(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    crate::driver::Args::try_parse_from(v).unwrap_or_else(|e| panic!("flags {extra:?}: {e}"))
}

/// Writes `toml` as `dir/t.toml` and a generated CIFAR-10 of 40 + 40 images
/// per batch file into `dir/data`.
pub fn tiny_setup(dir: &Path, toml: &str) {
    std::fs::write(dir.join("t.toml"), toml).expect("write t.toml");
    tiny_cifar(&dir.join("data"), 40, 40).expect("generate data");
}

/// Seed `seed` of the tiny experiment's smoke profile (`dir/t.toml`) as the
/// driver leaves a run a signal stopped: its directory opened under
/// `dir/out/smoke`, trained on the CIFAR-10 copy at `data` (on the CPU) to
/// the first checkpoint at or after `stop`. Returns the resolved config, how
/// training ended, and the open run (its lock held).
pub fn interrupted_run(
    dir: &Path,
    data: &Path,
    seed: u64,
    stop: i64,
) -> (
    RunConfig,
    crate::train::RunOutcome,
    records::run_dir::OpenRun,
) {
    use crate::driver::RunDirWithConfig;
    let file = ExperimentFile::load(&dir.join("t.toml")).expect("experiment file");
    let cfg = file.resolve("smoke", "tiny", seed, &[]).expect("run");
    let source = cifar10::Source::Path(data.to_path_buf());
    let raw = cifar10::load(&source, &dir.join("cache"), &|_| {}).expect("data");
    let dataset = crate::data::Dataset::new(&raw, &cfg.data, Device::Cpu).expect("dataset");
    let label = crate::runtime::device_name(Device::Cpu);
    let run = crate::driver::RunDir::new(&dir.join("out/smoke"), &cfg.run_id())
        .open(&cfg, &dataset, &dataset.source_sha256, &label, false, dir)
        .expect("opens")
        .expect("not locked");
    crate::train::seed_init(cfg.seed);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let net = crate::models::build(&vs.root(), &cfg.model).expect("model");
    let mut ctx = test_context(&dataset, run.dir.path(), Layout::ChannelsLast, Some(stop));
    ctx.device_label = label;
    let out = crate::train::train_run(&cfg, net.as_ref(), &vs, &ctx).expect("trains");
    (cfg, out, run)
}

#[cfg(test)]
mod tests {
    use super::y_axes;

    fn text(x: u32, y: u32, label: &str) -> String {
        format!("<text x=\"{x}\" y=\"{y}\" text-anchor=\"end\">\n{label}\n</text>")
    }

    #[test]
    fn y_axes_are_read_per_panel_and_compared() {
        let same = [
            text(50, 10, "20"),
            text(50, 60, "40"),
            text(490, 10, "20"),
            text(490, 60, "40"),
        ];
        let axes = y_axes(&same.concat());
        assert_eq!(axes.len(), 2);
        assert_eq!(axes[0], axes[1]);
        let other = [
            text(50, 10, "20"),
            text(50, 60, "40"),
            text(490, 10, "30"),
            text(490, 60, "60"),
        ];
        let axes = y_axes(&other.concat());
        assert_ne!(axes[0], axes[1]);
        // A right-aligned label that is not a number (a reference tick) is no tick.
        assert_eq!(y_axes(&text(50, 10, "paper 6.97%")).len(), 0);
    }
}
