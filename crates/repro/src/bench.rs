//! Training-throughput measurement, shared by the benchmark example
//! (`examples/bench.rs`, `scripts/benchmark`) and the GPU check
//! (`crates/gpu-check`, `scripts/gpu-check`), so that both time the same thing.
//!
//! The harness side is the real training loop (`train::train_run`: batch
//! gather, normalisation, augmentation, forward/backward, flat SGD) on data
//! resident on the device; the PyTorch side (`scripts/bench/reference.py`)
//! times model steps on a fixed batch, which leaves out its data pipeline (in
//! PyTorch's favour).
use crate::config::{ExperimentFile, Precision, RunConfig};
use crate::data::{augment_data, Cifar10, Dataset};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::models;
use crate::train::{self, TrainContext};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// The benchmark's models and recipe: batch 128, the ResNet CIFAR recipe's
/// data and update, a constant small lr (the rate does not depend on it).
pub const CONFIG: &str = r#"
[experiment]
name = "bench"
title = "Training throughput benchmark"
paper = "He et al. 2015, Sec. 4.2 (the CIFAR recipe timed)"
[defaults.data]
normalize = "per-pixel-mean"
augment = "pad4-crop-flip"
[defaults.train]
batch_size = 128
iterations = 30
lr = 0.01
schedule = { kind = "constant" }
momentum = 0.9
weight_decay = 1e-4
velocity = "lr-inside"
log_every = 10
eval_every = 1_000_000
checkpoint_every = 1_000_000
[runs.convnet]
model = { family = "cuda-convnet", conv_filters = [32, 32, 64], pools = ["max", "avg", "avg"], pool_size = 3, pool_stride = 2, activation = "relu", init = "cuda-convnet", init_w = [1e-4, 1e-2, 1e-2, 1e-2] }
[runs.resnet-20]
model = { family = "cifar-resnet", depth = 20, residual = true }
[runs.resnet-56]
model = { family = "cifar-resnet", depth = 56, residual = true }
[runs.resnet-110]
model = { family = "cifar-resnet", depth = 110, residual = true }
[profiles.paper]
description = "benchmark"
fidelity = "shortened"
runs = ["convnet", "resnet-20", "resnet-56", "resnet-110"]
seeds = [0]
"#;

/// libtorch's version as its Python package states it ("2.13.0+cu130"), at build time.
pub const LIBTORCH_VERSION: &str = engine::runtime::LIBTORCH_VERSION;
/// The versions of tch, torch-sys, polars and plotters this was built with.
pub const DEP_VERSIONS: &str = records::version::DEP_VERSIONS;

/// The models of [`CONFIG`], in table order.
pub const MODELS: [&str; 4] = ["convnet", "resnet-20", "resnet-56", "resnet-110"];

/// The parsed [`CONFIG`].
pub fn bench_file() -> Result<ExperimentFile> {
    ExperimentFile::parse(CONFIG, Path::new("bench.toml"))
}

/// `model`'s benchmark config in `precision` with `batch` images per step.
pub fn bench_config(
    file: &ExperimentFile,
    model: &str,
    precision: Precision,
    batch: i64,
) -> Result<RunConfig> {
    let mut cfg = file.resolve("paper", model, 0, &[])?;
    cfg.train.precision = precision;
    cfg.train.batch_size = batch;
    Ok(cfg)
}

/// Deterministic pseudo-images: `n` training and 1,000 test images. The rate
/// does not depend on the pixels, and this needs no download.
pub fn synthetic(n: usize) -> Cifar10 {
    let split = |n: usize| cifar10::Split {
        images: (0..n * 3072)
            .map(|i| ((i * 2_654_435_761usize) >> 13) as u8)
            .collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
    };
    Cifar10 {
        train: split(n),
        test: split(1000),
        label: "synthetic".into(),
        source_sha256: String::new(),
        source: "bench".into(),
    }
}

/// A fresh scratch directory for one timed run's checkpoint (removed by the
/// caller): unique per process and call, so concurrent benchmarks never share one.
fn scratch_dir() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "repro-bench-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn context<'a>(
    data: &'a Dataset,
    device: Device,
    run_dir: &'a Path,
    layout: Layout,
) -> TrainContext<'a> {
    TrainContext {
        data,
        device,
        run_dir,
        resume: false,
        device_label: String::new(),
        fidelity: crate::config::Fidelity::Shortened,
        stop_at_checkpoint_after: None,
        progress: false,
        layout,
    }
}

/// Images/s of the last logging window of `rows` (times `runs` for a fused group).
fn last_window_rate(rows: &[crate::metrics::MetricRow], seeds_fused: i64) -> f64 {
    rows.iter()
        .rfind(|r| r.kind == crate::metrics::RowKind::Window)
        .map(|r| r.images_per_sec * seeds_fused as f64)
        .unwrap_or(f64::NAN)
}

/// Harness images/s: `steps` warm-up steps, then `steps` timed ones (the
/// second logging window), through the real training loop.
pub fn harness(
    cfg: &RunConfig,
    data: &Dataset,
    device: Device,
    layout: Layout,
    steps: i64,
) -> Result<f64> {
    let mut cfg = cfg.clone();
    cfg.train.iterations = 2 * steps;
    cfg.train.log_every = steps;
    train::seed_init(0);
    let vs = VarStore::new(device);
    let net = models::build(&vs.root(), &cfg.model)?;
    let dir = scratch_dir();
    let out = train::train_run(
        &cfg,
        net.as_ref(),
        &vs,
        &context(data, device, &dir, layout),
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(last_window_rate(&out?.rows, 1))
}

/// Fused multi-seed training: images/s of all `runs` seeds together (each
/// run's rate times K) over the windows after the first (warm-up) one.
pub fn fused_harness(
    cfg: &RunConfig,
    seeds_fused: i64,
    data: &Dataset,
    device: Device,
    layout: Layout,
    steps: i64,
) -> Result<f64> {
    let cfgs: Vec<RunConfig> = (0..seeds_fused as u64)
        .map(|seed| {
            let mut c = cfg.clone();
            c.seed = seed;
            c.train.iterations = 2 * steps;
            c.train.log_every = steps;
            c
        })
        .collect();
    let parts: Vec<VarStore> = cfgs
        .iter()
        .map(|c| {
            train::seed_init(c.seed);
            let vs = VarStore::new(device);
            models::build(&vs.root(), &c.model).map(|_| vs)
        })
        .collect::<Result<_>>()?;
    let vs = VarStore::new(device);
    let net = models::build_fused(&vs.root(), &cfg.model, seeds_fused)?;
    models::fuse::fuse_into(&vs, &parts.iter().collect::<Vec<_>>())?;
    let base = scratch_dir();
    let dirs: Vec<PathBuf> = (0..seeds_fused)
        .map(|r| base.join(format!("run{r}")))
        .collect();
    let group: Vec<train::GroupRun> = cfgs
        .iter()
        .zip(&dirs)
        .map(|(cfg, d)| train::GroupRun { cfg, run_dir: d })
        .collect();
    let out = train::train_fused(
        &group,
        net.as_ref(),
        &vs,
        &context(data, device, &dirs[0], layout),
    );
    let _ = std::fs::remove_dir_all(&base);
    let out = out?;
    let first = out
        .first()
        .ok_or_else(|| Error::Other("fused training returned no run".into()))?;
    Ok(last_window_rate(&first.rows, seeds_fused))
}

/// Seconds per batch of the data pipeline alone (gather, normalise, augment, layout).
pub fn pipeline_seconds(
    data: &Dataset,
    cfg: &RunConfig,
    device: Device,
    layout: Layout,
    steps: usize,
) -> f64 {
    let n = data.train.len();
    let batch = cfg.train.batch_size;
    let run = || {
        let idx = Tensor::randint(n, [batch], (Kind::Int64, device));
        let x = data.normalize(&data.train.images.index_select(0, &idx), cfg.data.normalize);
        let x = augment_data(&x, &cfg.data);
        let x = layout.apply(&x);
        let _ = data.train.labels.index_select(0, &idx);
        x
    };
    let _ = run();
    sync(device);
    let t0 = Instant::now();
    let mut last = Tensor::zeros([1], (Kind::Float, device));
    for _ in 0..steps.max(1) {
        last = run();
    }
    // Reading a value waits for the queued kernels (CUDA launches are asynchronous).
    let _ = last.sum(Kind::Float).double_value(&[]);
    t0.elapsed().as_secs_f64() / steps.max(1) as f64
}

/// Waits for the device's queued kernels.
pub fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// Multiply-adds of one forward pass per image (convolutions and fully
/// connected layers), from the built model (`models::counter`).
pub fn forward_macs(cfg: &RunConfig) -> Result<f64> {
    let vs = VarStore::new(Device::Cpu);
    let net = models::build(&vs.root(), &cfg.model)?;
    let [c, h, w] = models::input_shape(&cfg.model);
    let x = Tensor::zeros([1, c, h, w], (Kind::Float, Device::Cpu));
    let (_, layers) = models::counter::trace(|| tch::no_grad(|| net.forward_t(&x, false)));
    Ok(layers.iter().map(|l| l.macs as f64).sum())
}

/// Dense peak TFLOP/s of the device for the precision, from its datasheet
/// (H100/H200 SXM: 67 fp32, 495 TF32 tensor, 989 bf16 tensor); None when unknown.
/// fp32 runs are strict fp32 (TF32 off, `crate::precision::set_cuda_numerics`).
pub fn datasheet_peak_tflops(label: &str, precision: Precision) -> Option<f64> {
    let hopper = ["H100", "H200"].iter().any(|g| label.contains(g));
    match (hopper, precision) {
        (true, Precision::Fp32) => Some(67.0),
        (true, Precision::Tf32) => Some(495.0),
        (true, Precision::Bf16Autocast) => Some(989.0),
        _ => None,
    }
}

/// How a table states its numerics.
pub fn numerics_label(precision: Precision) -> &'static str {
    match precision {
        Precision::Fp32 => "fp32 (the papers' numerics; TF32 off on CUDA)",
        Precision::Tf32 => "TF32 on CUDA (NOT the papers' fp32 numerics)",
        Precision::Bf16Autocast => "bf16 autocast (NOT the papers' fp32 numerics)",
    }
}

/// One line of `scripts/bench/reference.py`'s output.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceResult {
    pub model: String,
    /// `nchw` or `channels_last`.
    pub layout: String,
    pub images_per_sec: f64,
    /// `torch.cuda.max_memory_allocated()` in MiB on CUDA; None on CPU.
    pub peak_mem_mib: Option<f64>,
    /// torch's version as the reference's interpreter reports it.
    pub torch: String,
}

/// How to run the PyTorch eager reference.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The interpreter with torch: `.venv/bin/python` here, the GPU machine's `python3` there.
    pub python: PathBuf,
    /// `scripts/bench/reference.py`.
    pub script: PathBuf,
    pub threads: i32,
    pub batch: i64,
}

impl Reference {
    /// Times `models` in both layouts: `steps` timed steps after `warmup`.
    pub fn run(
        &self,
        models: &[&str],
        steps: i64,
        warmup: i64,
        device: Device,
        precision: Precision,
    ) -> Result<Vec<ReferenceResult>> {
        let mut cmd = Command::new(&self.python);
        cmd.arg(&self.script)
            .args(["--models", &models.join(",")])
            .args(["--steps", &steps.to_string()])
            .args(["--warmup", &warmup.to_string()])
            .args(["--threads", &self.threads.to_string()])
            .args(["--batch", &self.batch.to_string()])
            .args(["--device", if device.is_cuda() { "cuda" } else { "cpu" }]);
        if let Some(s) = crate::precision::dir_suffix(precision) {
            cmd.arg(format!("--{s}"));
        }
        let out = cmd.output().map_err(|e| Error::Io {
            path: self.python.clone(),
            source: e,
        })?;
        if !out.status.success() {
            return Err(Error::Other(format!(
                "{} {}: reference failed: {}",
                self.python.display(),
                self.script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| ReferenceResult {
                model: v["model"].as_str().unwrap_or_default().to_string(),
                layout: v["layout"].as_str().unwrap_or_default().to_string(),
                images_per_sec: v["images_per_sec"].as_f64().unwrap_or(f64::NAN),
                peak_mem_mib: v["peak_mem_mib"].as_f64(),
                torch: v["torch"].as_str().unwrap_or_default().to_string(),
            })
            .collect())
    }
}

/// The rate of `model` in `layout` among `results`, NaN when missing.
pub fn reference_rate(results: &[ReferenceResult], model: &str, layout: &str) -> f64 {
    results
        .iter()
        .find(|r| r.model == model && r.layout == layout)
        .map(|r| r.images_per_sec)
        .unwrap_or(f64::NAN)
}

/// A file-name slug of a machine's name: lower case, runs of anything but
/// letters and digits as one `-`, the usual marks dropped
/// ("Intel(R) Xeon(R) Platinum 8480+" -> "intel-xeon-platinum-8480").
pub fn slug(name: &str) -> String {
    let cleaned = name
        .replace("(R)", " ")
        .replace("(TM)", " ")
        .replace("(tm)", " ")
        .replace(" CPU ", " ");
    let mut out = String::new();
    for c in cleaned.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "unknown".into()
    } else {
        out
    }
}

/// The stem of a results file for this machine: `cpu-<model slug>` on a CPU,
/// `gpu` on CUDA (what README's GPU paragraph names).
pub fn machine_stem(device: Device) -> String {
    if device.is_cuda() {
        "gpu".into()
    } else {
        format!("cpu-{}", slug(&crate::provenance::cpu_model()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(
            slug("Intel(R) Xeon(R) Platinum 8480+"),
            "intel-xeon-platinum-8480"
        );
        assert_eq!(
            slug("AMD EPYC 9654 96-Core Processor"),
            "amd-epyc-9654-96-core-processor"
        );
        assert_eq!(slug("Intel(R) Xeon(R) CPU @ 2.20GHz"), "intel-xeon-2-20ghz");
        assert_eq!(slug("()"), "unknown");
    }
}
