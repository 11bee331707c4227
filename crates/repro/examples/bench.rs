//! Training-throughput benchmark: the harness (tch) against PyTorch eager on the
//! same models, batch and thread count, printed side by side with the ratio.
//!
//! `scripts/benchmark` runs it (after set-up); results go to `results/benchmarks/`.
//! The harness side is the real training loop (`train::train_run`: batch gather,
//! normalisation, augmentation, forward/backward, flat SGD) on data resident on
//! the device; the PyTorch side (`scripts/bench/reference.py`) times model steps
//! on a fixed batch, which leaves out its data pipeline (in PyTorch's favour).
//!
//! `--fused K`: instead, fused multi-seed training (K seeds as one network,
//! `train::train_fused`) against K separate runs, both through the real loop.
//!
//! `--bf16`: both sides under bf16 autocast (the harness's `--bf16` switch,
//! `torch.autocast(dtype=torch.bfloat16)` in the reference); `--tf32`: both with
//! TF32 products on CUDA. Written to `<device>-bf16.md` / `<device>-tf32.md`,
//! beside the fp32 table. fp32 is strict on both sides (TF32 off).
//!
//! Besides images/s the table gives the training FLOP rate (6 x the
//! multiply-adds of a forward pass per image: forward plus the two backward
//! products, convolutions and fully connected layers only), its share of the
//! device's peak where the peak is known (`--peak-tflops`, or the datasheet
//! value for H100/H200), and for the ResNets the time of the paper's
//! 64k-iteration CIFAR-10 schedule (Sec. 4.2) at that rate.
use repro::config::Precision;
use repro::config::{ExperimentFile, RunConfig};
use repro::data::{augment_data, Cifar10, Dataset};
use repro::experiment::select_device;
use repro::models;
use repro::provenance::device_name;
use repro::train::{self, sgd::to_channels_last, TrainContext};
use std::io::Write;
use std::path::Path;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

const CONFIG: &str = r#"
[experiment]
name = "bench"
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
runs = ["convnet", "resnet-20", "resnet-56", "resnet-110"]
seeds = [0]
"#;

fn synthetic(n: usize) -> Cifar10 {
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

/// Harness images/s over the windows after the first (warm-up) one.
fn harness(
    cfg: &RunConfig,
    data: &Dataset,
    device: Device,
    channels_last: bool,
    steps: i64,
) -> f64 {
    let mut cfg = cfg.clone();
    cfg.train.iterations = 2 * steps;
    cfg.train.log_every = steps;
    train::seed_init(0);
    let vs = VarStore::new(device);
    let net = models::build(&vs.root(), &cfg.model).expect("model");
    let dir = tempfile_dir();
    let ctx = TrainContext {
        data,
        device,
        run_dir: &dir,
        resume: false,
        device_label: String::new(),
        faithful: false,
        stop_at_checkpoint_after: None,
        progress: false,
        channels_last,
    };
    let out = train::train_run(&cfg, net.as_ref(), &vs, &ctx).expect("trains");
    out.rows
        .iter()
        .rfind(|r| r.kind == "window")
        .map(|r| r.images_per_sec)
        .unwrap_or(f64::NAN)
}

/// Fused multi-seed training: images/s of all `runs` seeds together (each
/// run's rate times K) over the windows after the first (warm-up) one.
fn fused_harness(
    cfg: &RunConfig,
    runs: i64,
    data: &Dataset,
    device: Device,
    channels_last: bool,
    steps: i64,
) -> anyhow::Result<f64> {
    let cfgs: Vec<RunConfig> = (0..runs as u64)
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
        .collect::<Result<_, _>>()?;
    let vs = VarStore::new(device);
    let net = models::build_fused(&vs.root(), &cfg.model, runs)?;
    models::fuse::fuse_into(&vs, &parts.iter().collect::<Vec<_>>())?;
    let dirs: Vec<_> = (0..runs)
        .map(|r| tempfile_dir().join(format!("run{r}")))
        .collect();
    let group: Vec<train::GroupRun> = cfgs
        .iter()
        .zip(&dirs)
        .map(|(cfg, d)| train::GroupRun { cfg, run_dir: d })
        .collect();
    let ctx = TrainContext {
        data,
        device,
        run_dir: &dirs[0],
        resume: false,
        device_label: String::new(),
        faithful: false,
        stop_at_checkpoint_after: None,
        progress: false,
        channels_last,
    };
    let out = train::train_fused(&group, net.as_ref(), &vs, &ctx)?;
    Ok(out[0]
        .rows
        .iter()
        .rfind(|r| r.kind == "window")
        .map(|r| r.images_per_sec * runs as f64)
        .unwrap_or(f64::NAN))
}

/// `--fused K`: fused vs separate throughput, printed and written to `fused-<device>.md`.
fn fused_bench(
    file: &ExperimentFile,
    models: &[String],
    runs: i64,
    data: &Dataset,
    device: Device,
    steps: i64,
    out_dir: &Path,
) -> anyhow::Result<()> {
    let channels_last = !device.is_cuda();
    let label = device_name(device);
    let mut md = format!(
        "# Fused multi-seed training vs separate runs\n\nDevice: {label}; batch 128 per run; {} threads; {steps} timed steps after warm-up; {} layout; command `cargo run --release -p repro --example bench -- --fused {runs} --models {}`.\n\n| model | K | separate img/s | fused img/s (all K runs) | ratio |\n|---|---|---|---|---|\n",
        tch::get_num_threads(),
        if channels_last { "channels-last" } else { "NCHW" },
        models.join(",")
    );
    for m in models {
        let cfg = file.resolve("paper", m, 0, &[])?;
        if let Some(why) = train::fusion_blocker(&cfg) {
            eprintln!("{m}: not fusable ({why}), skipped");
            continue;
        }
        let sep = harness(&cfg, data, device, channels_last, steps);
        let fused = fused_harness(&cfg, runs, data, device, channels_last, steps)?;
        let line = format!(
            "| {m} | {runs} | {sep:.0} | {fused:.0} | {:.2}x |\n",
            fused / sep
        );
        eprint!("{line}");
        md.push_str(&line);
    }
    std::fs::create_dir_all(out_dir)?;
    let stem = if device.is_cuda() { "gpu" } else { "cpu" };
    std::fs::write(out_dir.join(format!("fused-{stem}.md")), &md)?;
    println!("{md}");
    let _ = std::fs::remove_dir_all(tempfile_dir());
    Ok(())
}

/// Seconds per batch of the data pipeline alone (gather, normalise, augment, layout).
fn pipeline_seconds(
    data: &Dataset,
    cfg: &RunConfig,
    device: Device,
    channels_last: bool,
    steps: usize,
) -> f64 {
    let n = data.train.len();
    let run = || {
        let idx = Tensor::randint(n, [128], (Kind::Int64, device));
        let x = data.normalize(&data.train.images.index_select(0, &idx), cfg.data.normalize);
        let x = augment_data(&x, &cfg.data);
        let x = if channels_last {
            to_channels_last(&x)
        } else {
            x
        };
        let _ = data.train.labels.index_select(0, &idx);
        x
    };
    let _ = run();
    sync(device);
    let t0 = Instant::now();
    let mut last = Tensor::zeros([1], (Kind::Float, device));
    for _ in 0..steps {
        last = run();
    }
    let _ = last.sum(Kind::Float).double_value(&[]);
    t0.elapsed().as_secs_f64() / steps as f64
}

fn sync(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("repro-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Multiply-adds of one forward pass per image (convolutions and fully
/// connected layers), from the built model (`models::counter`).
fn forward_macs(cfg: &RunConfig) -> anyhow::Result<f64> {
    let vs = VarStore::new(Device::Cpu);
    let net = models::build(&vs.root(), &cfg.model)?;
    let [c, h, w] = models::input_shape(&cfg.model);
    let x = Tensor::zeros([1, c, h, w], (Kind::Float, Device::Cpu));
    let (_, layers) = models::counter::trace(|| tch::no_grad(|| net.forward_t(&x, false)));
    Ok(layers.iter().map(|l| l.macs as f64).sum())
}

/// Dense peak TFLOP/s of the device for the precision, from its datasheet
/// (H100/H200 SXM: 67 fp32, 495 TF32 tensor, 989 bf16 tensor); None when unknown.
/// fp32 runs are strict fp32 (TF32 off, `train::precision::set_cuda_numerics`).
fn datasheet_peak_tflops(label: &str, precision: Precision) -> Option<f64> {
    let hopper = ["H100", "H200"].iter().any(|g| label.contains(g));
    match (hopper, precision) {
        (true, Precision::Fp32) => Some(67.0),
        (true, Precision::Tf32) => Some(495.0),
        (true, Precision::Bf16Autocast) => Some(989.0),
        _ => None,
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let device = select_device(&arg("--device").unwrap_or_else(|| "auto".into()))?;
    // CPU steps take 0.05-2 s; 30 keep the timing noise of a shared machine small.
    let steps: i64 = arg("--steps")
        .and_then(|s| s.parse().ok())
        .unwrap_or(if device.is_cuda() { 200 } else { 30 });
    let models: Vec<String> = arg("--models")
        .unwrap_or_else(|| "convnet,resnet-20,resnet-56,resnet-110".into())
        .split(',')
        .map(String::from)
        .collect();
    let precision = if args.iter().any(|a| a == "--bf16") {
        Precision::Bf16Autocast
    } else if args.iter().any(|a| a == "--tf32") {
        Precision::Tf32
    } else {
        Precision::Fp32
    };
    let switch = repro::train::precision::dir_suffix(precision);
    // Rounds per model, each timing PyTorch and then the harness, the best of
    // each side kept: on a machine whose speed drifts (a shared VM), the two
    // sides are measured side by side rather than minutes apart.
    let rounds: usize = arg("--rounds")
        .and_then(|s| s.parse().ok())
        .unwrap_or(2)
        .max(1);
    let root = repro::experiment::repo_root();
    let out_dir = arg("--out")
        .map(Into::into)
        .unwrap_or_else(|| root.join("results/benchmarks"));
    let file = ExperimentFile::parse(CONFIG, Path::new("bench.toml"))?;
    let resolve = |m: &str| -> anyhow::Result<RunConfig> {
        let mut cfg = file.resolve("paper", m, 0, &[])?;
        cfg.train.precision = precision;
        Ok(cfg)
    };
    let data = Dataset::new(&synthetic(10_000), &resolve("resnet-20")?.data, device)?;
    if let Some(k) = arg("--fused") {
        let runs: i64 = k
            .parse()
            .ok()
            .filter(|k| *k >= 2)
            .ok_or_else(|| anyhow::anyhow!("--fused {k}: expected a number of runs >= 2"))?;
        return fused_bench(&file, &models, runs, &data, device, steps, &out_dir);
    }
    let threads = tch::get_num_threads();
    let label = device_name(device);
    let peak: Option<f64> = match arg("--peak-tflops") {
        Some(p) => Some(
            p.parse()
                .map_err(|_| anyhow::anyhow!("--peak-tflops {p}: expected a number"))?,
        ),
        None => datasheet_peak_tflops(&label, precision),
    };
    let numerics = match precision {
        Precision::Fp32 => "fp32 (the papers' numerics; TF32 off on CUDA)",
        Precision::Tf32 => "TF32 on CUDA (NOT the papers' fp32 numerics)",
        Precision::Bf16Autocast => "bf16 autocast (NOT the papers' fp32 numerics)",
    };
    eprintln!(
        "benchmark on {label}, batch 128, {numerics}, best of {rounds} rounds of {steps} timed steps after {steps} warm-up steps"
    );

    // PyTorch eager reference, same thread count and device: images/s in both
    // layouts for one model.
    let py = root.join(".venv/bin/python");
    let reference = |m: &str| -> anyhow::Result<(f64, f64)> {
        let mut cmd = std::process::Command::new(&py);
        cmd.arg(root.join("scripts/bench/reference.py"))
            .args(["--models", m, "--steps", &steps.to_string()])
            .args(["--warmup", &steps.min(10).to_string()])
            .args(["--threads", &threads.to_string()])
            .args(["--device", if device.is_cuda() { "cuda" } else { "cpu" }]);
        if let Some(s) = switch {
            cmd.arg(format!("--{s}"));
        }
        let out = cmd.output()?;
        if !out.status.success() {
            anyhow::bail!(
                "{}: reference failed: {}",
                py.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let refs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let ips = |layout: &str| {
            refs.iter()
                .find(|v| v["model"] == m && v["layout"] == layout)
                .and_then(|v| v["images_per_sec"].as_f64())
                .unwrap_or(f64::NAN)
        };
        Ok((ips("nchw"), ips("channels_last")))
    };

    let mut md = format!(
        "# Training throughput: harness vs PyTorch eager\n\nDevice: {label}; libtorch {}; batch 128; {threads} threads; {numerics}; best of {rounds} interleaved rounds of {steps} timed steps after warm-up; command `scripts/benchmark{}`.\n\n| model | harness NCHW img/s | harness channels-last img/s | PyTorch eager NCHW | PyTorch eager channels-last | ratio vs PyTorch NCHW | ratio vs PyTorch channels-last | data pipeline share of step | training TFLOP/s | share of peak | 64k iterations at this rate |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
        env!("REPRO_LIBTORCH_VERSION"),
        switch.map(|s| format!(" --{s}")).unwrap_or_default()
    );
    let mut json = Vec::new();
    for m in &models {
        let cfg = resolve(m)?;
        let [mut h_nchw, mut h_cl, mut p_nchw, mut p_cl] = [f64::NAN; 4];
        for _ in 0..rounds {
            let (pn, pc) = reference(m)?;
            p_nchw = p_nchw.max(pn);
            p_cl = p_cl.max(pc);
            h_nchw = h_nchw.max(harness(&cfg, &data, device, false, steps));
            h_cl = h_cl.max(harness(&cfg, &data, device, true, steps));
        }
        let best = h_nchw.max(h_cl);
        let pipe = pipeline_seconds(&data, &cfg, device, h_cl > h_nchw, 20) / (128.0 / best);
        let tflops = 6.0 * forward_macs(&cfg)? * best / 1e12;
        let of_peak = peak
            .map(|p| format!("{:.1}%", 100.0 * tflops / p))
            .unwrap_or_else(|| "(peak unknown)".into());
        // ResNet Sec. 4.2: 64k iterations of batch 128 on CIFAR-10.
        let recipe_s = m.starts_with("resnet").then(|| 64_000.0 * 128.0 / best);
        let recipe = recipe_s
            .map(|t| format!("{:.1} min", t / 60.0))
            .unwrap_or_else(|| "-".into());
        let line = format!(
            "| {m} | {h_nchw:.0} | {h_cl:.0} | {p_nchw:.0} | {p_cl:.0} | {:.2}x | {:.2}x | {:.1}% | {tflops:.3} | {of_peak} | {recipe} |\n",
            best / p_nchw,
            best / p_cl,
            100.0 * pipe
        );
        eprint!("{line}");
        md.push_str(&line);
        json.push(
            serde_json::json!({"model": m, "harness_nchw": h_nchw, "harness_channels_last": h_cl,
            "pytorch_nchw": p_nchw, "pytorch_channels_last": p_cl, "pipeline_share": pipe,
            "training_tflops": tflops, "peak_tflops": peak, "recipe_64k_seconds": recipe_s}),
        );
    }
    md.push_str("\nRatios use the harness's faster layout (`--layout auto` times both per model and takes the faster). The recipe column is 64k steps at the measured rate (training steps only; evaluation every 1k iterations adds about 1%). Targets (issue 6): CPU >= 1.15x PyTorch NCHW and >= 1.0x PyTorch channels-last on ResNet-20 and the conv net; GPU: ResNet-20's 64k iterations under 3 min, ResNet-110's under 10, data pipeline under 3% of the step.\n");
    std::fs::create_dir_all(&out_dir)?;
    let stem = format!(
        "{}{}",
        if device.is_cuda() { "gpu" } else { "cpu" },
        switch.map(|s| format!("-{s}")).unwrap_or_default()
    );
    std::fs::File::create(out_dir.join(format!("{stem}.md")))?.write_all(md.as_bytes())?;
    std::fs::write(
        out_dir.join(format!("{stem}.json")),
        serde_json::to_string_pretty(
            &serde_json::json!({"device": label, "threads": threads, "steps": steps, "rounds": rounds,
                "precision": repro::train::precision::label(precision), "results": json}),
        )?,
    )?;
    println!("{md}");
    let _ = std::fs::remove_dir_all(tempfile_dir());
    Ok(())
}
