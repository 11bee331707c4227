//! The GPU check for a borrowed GPU: one binary, run by
//! `scripts/gpu-check` (here, `--dry-run`) or by the packaged `run.sh` on the GPU
//! machine, that measures in this order and appends each result to one
//! Markdown file as soon as it is measured (a timeout still leaves the earlier
//! steps):
//!
//! 1. CUDA through libtorch: device, driver, cuDNN;
//! 2. the ResNet-20 smoke profile on the device, and CPU vs device agreement of
//!    a forward/backward pass on a fixed batch in strict fp32;
//! 3. throughput of the real training loop (conv net, ResNet-20/56/110; fp32,
//!    TF32, bf16; both layouts) beside PyTorch eager on the same device;
//! 4. the ResNet-20 paper recipe, as many of its 64k iterations as fit the time left;
//! 5. fused multi-seed training, K = 2, 5, 10, against separate runs;
//! 6. the peak GPU memory of each step.
//!
//! The time budget (`--budget-s`) is the borrowed machine's: step 4 takes what
//! steps 1-3 left, minus a reserve for step 5 and a margin.
//!
//! `--dry-run`: the same steps on the CPU with a few steps each, in seconds
//! (`scripts/test` runs it), where the CPU stands in for the device: step 2
//! compares NCHW with channels-last instead of CPU with CUDA.
use anyhow::Context;
use clap::Parser;
use repro::bench::{self, Reference, ReferenceResult};
use repro::config::{ExperimentFile, Precision, RunConfig};
use repro::data::Dataset;
use repro::gpu_probe;
use repro::layout::Layout;
use repro::models;
use repro::train::{self, TrainContext};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

extern "C" {
    fn gpu_check_cudnn_version() -> std::os::raw::c_long;
    fn gpu_check_cuda_runtime_version() -> std::os::raw::c_long;
}

/// The paper's recipe length (He et al. 2015, Sec. 4.2).
const RECIPE_ITERATIONS: i64 = 64_000;
/// Agreement: the device's fp32 pass may be at most this many times further
/// from a float64 CPU pass than the CPU's own fp32 pass is, or within the
/// quantity's floor. fp32 kernels of different libraries sum in different
/// orders; the forward pass stays within about 1e-6 of float64, but the
/// gradient at initialisation goes back through 19 batch norms, which cancel
/// large terms: two correct fp32 gradients (NCHW and channels-last on one
/// CPU) differ by up to about 3e-3. A wrong kernel is off by far more.
const AGREE_FACTOR: f64 = 4.0;
/// Floors of the relative L2 error against float64: logits and loss, gradient.
const AGREE_FLOOR_FORWARD: f64 = 1e-4;
const AGREE_FLOOR_GRADIENT: f64 = 1e-2;

#[derive(Parser, Debug)]
#[command(
    about = "The GPU check for a borrowed GPU: CUDA, agreement, throughput vs PyTorch, the ResNet-20 recipe as far as it fits, fused seeds, peak memory",
    after_help = repro::exit::HELP,
    version = repro::version::short(),
    long_version = repro::version::long()
)]
struct Args {
    #[command(flatten)]
    verbosity: repro::progress::Verbosity,
    /// On the CPU with a few steps each (seconds): checks that every step runs.
    #[arg(long)]
    dry_run: bool,
    /// The device under test: auto (CUDA when libtorch sees it), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: repro::driver::DeviceSpec,
    /// The Markdown file the results are appended to (replaced at the start).
    /// A file, so not `--out` (a directory in every other binary); `--out` is
    /// its old name.
    #[arg(long, alias = "out", default_value = "gpu-check.md")]
    report: PathBuf,
    /// CIFAR-10: an archive or directory (the JPEG copy in the package). Default:
    /// ../shared/datasets/cifar-10-jpeg.tar.gz beside the repository when it exists,
    /// else synthetic images in a dry run, else the official download.
    #[arg(long, env = "REPRO_DATA")]
    data: Option<PathBuf>,
    /// Synthetic images instead of CIFAR-10 (quick tests of the check itself).
    #[arg(long, conflicts_with = "data")]
    synthetic_data: bool,
    /// The decode cache for --data (default <repository>/data).
    #[arg(long, env = "REPRO_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The folder with resnet-cifar-degradation.toml (default <repository>/experiments).
    #[arg(long)]
    experiments: Option<PathBuf>,
    /// The PyTorch eager reference (default <repository>/scripts/bench/reference.py).
    #[arg(long)]
    reference: Option<PathBuf>,
    /// The Python with torch for the reference (default <repository>/.venv/bin/python, else python3).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Wall-clock seconds the whole check may take (the borrowed machine's slot).
    #[arg(long, default_value_t = 480.0)]
    budget_s: f64,
    /// Seconds kept free at the end of the budget (start-up, copying results back).
    #[arg(long, default_value_t = 30.0)]
    margin_s: f64,
    /// Seconds step 4 leaves for step 5.
    #[arg(long, default_value_t = 40.0)]
    reserve_s: f64,
    /// Timed steps per throughput measurement, after as many warm-up steps
    /// (default 50 on CUDA, 2 in a dry run).
    #[arg(long)]
    steps: Option<i64>,
    /// Largest number of recipe iterations step 4 runs (default: the full 64k;
    /// 2 in a dry run).
    #[arg(long)]
    max_recipe_iterations: Option<i64>,
}

/// The Markdown file: each piece is appended and flushed at once, and echoed to stderr.
struct Report {
    path: PathBuf,
    file: std::fs::File,
}

impl Report {
    fn create(path: &Path) -> anyhow::Result<Report> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        }
        let file = std::fs::File::create(path).with_context(|| path.display().to_string())?;
        Ok(Report {
            path: path.to_path_buf(),
            file,
        })
    }

    fn put(&mut self, text: &str) -> anyhow::Result<()> {
        eprint!("{text}");
        self.file
            .write_all(text.as_bytes())
            .and_then(|_| self.file.sync_data())
            .with_context(|| self.path.display().to_string())
    }

    fn line(&mut self, text: &str) -> anyhow::Result<()> {
        self.put(&format!("{text}\n"))
    }
}

/// The overall deadline.
struct Clock {
    start: Instant,
    budget_s: f64,
    margin_s: f64,
}

impl Clock {
    fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
    /// Seconds left before the budget minus the margin.
    fn left(&self) -> f64 {
        self.budget_s - self.margin_s - self.elapsed()
    }
}

/// GPU memory in use (nvidia-smi's `memory.used`, MiB) sampled every 0.2 s by a
/// background `nvidia-smi -lms 200`: tch has no memory statistics. The peak of a
/// step is the largest sample since `reset`, reported above the baseline taken
/// before this process touched CUDA. libtorch's caching allocator keeps freed
/// blocks, so a step's figure includes what earlier steps still hold.
struct MemSampler {
    child: Child,
    last: Arc<AtomicU64>,
    peak: Arc<AtomicU64>,
    baseline: u64,
}

impl MemSampler {
    fn start(index: usize) -> Option<MemSampler> {
        let mut child = Command::new("nvidia-smi")
            .args([
                "--query-gpu=memory.used",
                "--format=csv,noheader,nounits",
                "-lms",
                "200",
                &format!("--id={index}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdout = child.stdout.take()?;
        let last = Arc::new(AtomicU64::new(u64::MAX));
        let peak = Arc::new(AtomicU64::new(0));
        let (l, p) = (last.clone(), peak.clone());
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = line.trim().parse::<u64>() {
                    l.store(v, Ordering::Relaxed);
                    p.fetch_max(v, Ordering::Relaxed);
                }
            }
        });
        // The first sample is the idle baseline (wait up to 3 s for it).
        let t0 = Instant::now();
        while last.load(Ordering::Relaxed) == u64::MAX && t0.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let baseline = last.load(Ordering::Relaxed);
        if baseline == u64::MAX {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        Some(MemSampler {
            child,
            last,
            peak,
            baseline,
        })
    }

    /// Starts a new step: the peak restarts from the current sample.
    fn reset(&self) {
        self.peak
            .store(self.last.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// MiB above the baseline at the step's peak, after one more sampling period.
    fn peak_above_baseline(&self) -> u64 {
        std::thread::sleep(Duration::from_millis(250));
        self.peak
            .load(Ordering::Relaxed)
            .saturating_sub(self.baseline)
    }
}

impl Drop for MemSampler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak memory per step, for step 6.
struct Memory {
    sampler: Option<MemSampler>,
    why_none: String,
    seen: Vec<(String, String)>,
}

impl Memory {
    fn begin(&self) {
        if let Some(s) = &self.sampler {
            s.reset();
        }
    }

    /// The peak since `begin`, as a table cell, remembered under `what` for step 6.
    fn end(&mut self, what: &str) -> String {
        let cell = match &self.sampler {
            Some(s) => format!("{} MiB", s.peak_above_baseline()),
            None => self.why_none.clone(),
        };
        self.seen.push((what.to_string(), cell.clone()));
        cell
    }
}

/// Everything the steps share.
struct Check {
    args: Args,
    dry: bool,
    device: Device,
    report: Report,
    clock: Clock,
    memory: Memory,
    root: PathBuf,
    /// Harness fp32 rates of ResNet-20 in (NCHW, channels-last), from step 3.
    resnet20_rates: Option<(f64, f64)>,
}

fn fmt_rate(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.0}")
    } else {
        "n/a".into()
    }
}

/// Relative L2 error of `a` against `b`.
fn rel_error(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_device(Device::Cpu).to_kind(Kind::Double);
    let b = b.to_device(Device::Cpu).to_kind(Kind::Double);
    let diff = (&a - &b).norm().double_value(&[]);
    let norm = b.norm().double_value(&[]);
    if norm == 0.0 {
        diff
    } else {
        diff / norm
    }
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

/// A training-mode forward and backward pass of `net` on the batch `(x, y)`,
/// moved to `device` in `layout` and `kind`: the logits, the loss and the
/// gradient of every trainable variable (flattened into one vector), on the CPU.
fn pass_on(
    (x, y): (&Tensor, &Tensor),
    net: &dyn models::Network,
    vs: &VarStore,
    device: Device,
    layout: Layout,
    kind: Kind,
) -> [Tensor; 3] {
    let x = layout.apply(&x.to_device(device).to_kind(kind));
    let logits = net.forward_t(&x, true);
    let loss = logits.cross_entropy_for_logits(&y.to_device(device));
    let vars = vs.trainable_variables();
    let grads = Tensor::run_backward(&[&loss], &vars, false, false);
    let flat = Tensor::cat(
        &grads
            .iter()
            .map(|g| g.contiguous().view([-1]).to_device(Device::Cpu))
            .collect::<Vec<_>>(),
        0,
    );
    [
        logits.to_device(Device::Cpu),
        loss.to_device(Device::Cpu),
        flat,
    ]
}

/// Step 2's agreement table: each quantity of the device pass against the
/// CPU fp32 pass and both against float64 (`exact`), with its tolerance.
fn agreement_table(
    what: &str,
    n: i64,
    cpu: &[Tensor; 3],
    dev: &[Tensor; 3],
    exact: &[Tensor; 3],
) -> String {
    let mut table = format!(
        "Agreement, {what}: ResNet-20 (seed 1 initial weights), the first {n} training images, training-mode forward + backward (gradient of all {} parameters), strict fp32 (TF32 off). Relative L2 errors; each fp32 pass is also compared with a float64 pass on the CPU, and the device passes when its error against float64 is at most {AGREE_FACTOR}x the CPU fp32 pass's own, or at most {AGREE_FLOOR_FORWARD:.0e} (logits, loss) / {AGREE_FLOOR_GRADIENT:.0e} (gradient: through 19 batch norms at initialisation, two correct fp32 gradients differ by about 1e-3).\n\n| quantity | device vs CPU | CPU fp32 vs float64 | device vs float64 | tolerance | result |\n|---|---|---|---|---|---|\n",
        exact[2].size()[0]
    );
    for (i, q) in ["logits", "loss", "gradient"].iter().enumerate() {
        let between = rel_error(&dev[i], &cpu[i]);
        let cpu_err = rel_error(&cpu[i], &exact[i]);
        let dev_err = rel_error(&dev[i], &exact[i]);
        let floor = if i == 2 {
            AGREE_FLOOR_GRADIENT
        } else {
            AGREE_FLOOR_FORWARD
        };
        let tol = (AGREE_FACTOR * cpu_err).max(floor);
        table.push_str(&format!(
            "| {q} | {between:.2e} | {cpu_err:.2e} | {dev_err:.2e} | {tol:.2e} | {} |\n",
            pass(dev_err <= tol)
        ));
    }
    table
}

impl Check {
    fn experiments_file(&self) -> anyhow::Result<ExperimentFile> {
        let dir = self
            .args
            .experiments
            .clone()
            .unwrap_or_else(|| self.root.join("experiments"));
        Ok(ExperimentFile::load(
            &dir.join("resnet-cifar-degradation.toml"),
        )?)
    }

    /// The data: the JPEG copy (packaged, or beside the repository), else
    /// synthetic images in a dry run, else the official download.
    fn cifar10(&self) -> anyhow::Result<cifar10::Cifar10> {
        let shared = self.root.join("../shared/datasets/cifar-10-jpeg.tar.gz");
        let source = self
            .args
            .data
            .clone()
            .or_else(|| shared.is_file().then_some(shared));
        if self.args.synthetic_data || (source.is_none() && self.dry) {
            return Ok(bench::synthetic(2_000));
        }
        let source = match source {
            Some(p) => cifar10::Source::Path(p),
            None => cifar10::Source::official(),
        };
        let cache = self
            .args
            .data_dir
            .clone()
            .unwrap_or_else(|| self.root.join("data"));
        Ok(cifar10::load(&source, &cache, &|m| {
            repro::say!("data: {m}")
        })?)
    }

    fn scratch(&self, name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("gpu-check-{}-{name}", std::process::id()))
    }

    fn context<'a>(
        &self,
        data: &'a Dataset,
        run_dir: &'a Path,
        layout: Layout,
    ) -> TrainContext<'a> {
        TrainContext {
            data,
            device: self.device,
            run_dir,
            resume: false,
            device_label: repro::runtime::device_name(self.device),
            fidelity: repro::config::Fidelity::Shortened,
            stop_at_checkpoint_after: None,
            progress: false,
            layout,
        }
    }

    /// Step 1: what libtorch sees.
    fn step1(&mut self) -> anyhow::Result<()> {
        self.report.line(&format!(
            "## 1. CUDA through libtorch (at {:.0} s)\n",
            self.clock.elapsed()
        ))?;
        let gpus = gpu_probe::nvidia_smi_gpus();
        let cuda = tch::Cuda::is_available();
        // SAFETY: the shim catches every C++ exception and returns -1.
        let (cudnn, cudart) =
            unsafe { (gpu_check_cudnn_version(), gpu_check_cuda_runtime_version()) };
        let version = |v: std::os::raw::c_long| {
            if v < 0 {
                "n/a (no libtorch_cuda)".to_string()
            } else {
                v.to_string()
            }
        };
        let lines = [
            format!(
                "- libtorch {} ({})",
                bench::LIBTORCH_VERSION,
                bench::DEP_VERSIONS
            ),
            format!(
                "- CUDA available to libtorch: {}; devices: {}; cuDNN available: {}",
                if cuda { "yes" } else { "no" },
                tch::Cuda::device_count(),
                if tch::Cuda::cudnn_is_available() {
                    "yes"
                } else {
                    "no"
                }
            ),
            format!(
                "- device under test: {}",
                repro::runtime::device_name(self.device)
            ),
            format!(
                "- nvidia-smi: {}; driver {}",
                if gpus.is_empty() {
                    "no GPUs listed (or no nvidia-smi)".to_string()
                } else {
                    gpus.join("; ")
                },
                gpu_probe::driver_version().unwrap_or_else(|| "n/a".into())
            ),
            format!(
                "- cuDNN version (libtorch's): {}; CUDA runtime version: {}",
                version(cudnn),
                version(cudart)
            ),
            format!(
                "- libtorch_cuda.so loaded: {}",
                match gpu_probe::libtorch_cuda_loaded() {
                    Some(true) => "yes",
                    Some(false) => "no",
                    None => "unknown",
                }
            ),
            format!(
                "- host CPU: {} ({}), {} libtorch threads",
                repro::provenance::cpu_model(),
                repro::provenance::CpuIsa::this_cpu().label(),
                tch::get_num_threads()
            ),
        ];
        for l in lines {
            self.report.line(&l)?;
        }
        if let Some(w) = gpu_probe::invisible_gpu_message(
            &gpus,
            tch::Cuda::device_count(),
            gpu_probe::libtorch_cuda_loaded(),
        ) {
            self.report.line(&format!("- **{w}**"))?;
        }
        if self.dry {
            self.report
                .line("- DRY RUN: every step on the CPU with a few steps each; no number below is a GPU measurement.")?;
        }
        self.report.line("")
    }

    /// Step 2: the smoke profile on the device, then agreement on a fixed batch.
    fn step2(&mut self, file: &ExperimentFile, raw: &cifar10::Cifar10) -> anyhow::Result<()> {
        self.report.line(&format!(
            "## 2. ResNet-20 smoke profile; CPU vs device agreement (strict fp32) (at {:.0} s)\n",
            self.clock.elapsed()
        ))?;
        let cfg = file.resolve("smoke", "resnet-20", 1, &[])?;
        let data = Dataset::new(raw, &cfg.data, self.device)?;
        self.smoke(&cfg, &data)?;
        self.agreement(&cfg, &data)
    }

    /// Step 2's smoke profile: a few iterations of ResNet-20 on the device.
    fn smoke(&mut self, cfg: &RunConfig, data: &Dataset) -> anyhow::Result<()> {
        self.memory.begin();
        let t0 = Instant::now();
        train::seed_init(cfg.seed);
        let vs = VarStore::new(self.device);
        let net = models::build(&vs.root(), &cfg.model)?;
        let dir = self.scratch("smoke");
        // The device's default layout, as the driver takes for short runs.
        let out = train::train_run(
            cfg,
            net.as_ref(),
            &vs,
            &self.context(data, &dir, Layout::device_default(self.device)),
        );
        let _ = std::fs::remove_dir_all(&dir);
        let out = out?;
        let secs = t0.elapsed().as_secs_f64();
        let mem = self.memory.end("2. smoke profile");
        let last = out.rows.last();
        let test_error = last
            .and_then(|r| r.test_error)
            .map(|e| format!("{:.1}%", 100.0 * e))
            .unwrap_or_else(|| "n/a".into());
        let loss = last.map(|r| r.train_loss).unwrap_or(f64::NAN);
        self.report.line(&format!(
            "Smoke profile (`experiments/resnet-cifar-degradation.toml`, resnet-20, seed 1: {} iterations of batch {} on {} training images, {}): status {:?}, {secs:.1} s, last training loss {loss:.3}, test error {test_error} on {} test images (30 iterations: a check that it trains, not a result); peak memory {mem}.\n",
            cfg.train.iterations,
            cfg.train.batch_size,
            data.train.len(),
            data.label,
            out.status,
            data.test.len(),
        ))
    }

    /// Step 2's agreement: the same weights and batch on the CPU and on the
    /// device, both against a float64 pass on the CPU. A dry run has no second
    /// device: channels-last on the CPU stands in (other kernels, same maths).
    fn agreement(&mut self, cfg: &RunConfig, data: &Dataset) -> anyhow::Result<()> {
        repro::precision::set_cuda_numerics(Precision::Fp32);
        let (other, other_layout, what) = if self.device.is_cuda() {
            (self.device, Layout::Nchw, "CPU vs CUDA (NCHW both)")
        } else {
            (
                Device::Cpu,
                Layout::ChannelsLast,
                "CPU NCHW vs CPU channels-last (dry run: no CUDA)",
            )
        };
        train::seed_init(1);
        let vs_cpu = VarStore::new(Device::Cpu);
        let net_cpu = models::build(&vs_cpu.root(), &cfg.model)?;
        let mut vs_dev = VarStore::new(other);
        let net_dev = models::build(&vs_dev.root(), &cfg.model)?;
        vs_dev.copy(&vs_cpu)?;
        let mut vs_f64 = VarStore::new(Device::Cpu);
        let net_f64 = models::build(&vs_f64.root(), &cfg.model)?;
        vs_f64.copy(&vs_cpu)?;
        vs_f64.double();
        // A dry run's float64 pass on the CPU is slow: fewer images.
        let n = if self.dry { 32 } else { 128 }.min(data.train.len());
        let x = data
            .normalize(&data.train.images.narrow(0, 0, n), cfg.data.normalize)
            .to_device(Device::Cpu);
        let y = data.train.labels.narrow(0, 0, n).to_device(Device::Cpu);
        let batch = (&x, &y);
        let cpu = pass_on(
            batch,
            net_cpu.as_ref(),
            &vs_cpu,
            Device::Cpu,
            Layout::Nchw,
            Kind::Float,
        );
        let dev = pass_on(
            batch,
            net_dev.as_ref(),
            &vs_dev,
            other,
            other_layout,
            Kind::Float,
        );
        let exact = pass_on(
            batch,
            net_f64.as_ref(),
            &vs_f64,
            Device::Cpu,
            Layout::Nchw,
            Kind::Double,
        );
        self.report
            .line(&agreement_table(what, n, &cpu, &dev, &exact))
    }

    /// The PyTorch reference: `--python` (else the project's venv, else
    /// `python3`) running `--reference` (else scripts/bench/reference.py).
    fn reference(&self, batch: i64) -> Reference {
        let python = self.args.python.clone().unwrap_or_else(|| {
            let venv = self.root.join(".venv/bin/python");
            if venv.is_file() {
                venv
            } else {
                PathBuf::from("python3")
            }
        });
        Reference {
            python,
            script: self
                .args
                .reference
                .clone()
                .unwrap_or_else(|| self.root.join("scripts/bench/reference.py")),
            threads: tch::get_num_threads(),
            batch,
        }
    }

    /// (timed steps, batch) of steps 3 and 5: `--steps` (default 50) at batch 128;
    /// a dry run times 1 step at batch 4 (its CPU would take minutes for ResNet-110).
    fn timing(&self) -> (i64, i64) {
        let steps = self
            .args
            .steps
            .unwrap_or(if self.dry { 1 } else { 50 })
            .max(1);
        (steps, if self.dry { 4 } else { 128 })
    }

    /// Step 3: harness vs PyTorch eager, every model, precision and layout.
    fn step3(&mut self, data: &Dataset) -> anyhow::Result<()> {
        let (steps, batch) = self.timing();
        let label = repro::runtime::device_name(self.device);
        self.report.line(&format!(
            "## 3. Throughput: the harness's training loop vs PyTorch eager (at {:.0} s)\n",
            self.clock.elapsed()
        ))?;
        self.report.line(&format!(
            "Batch {batch}; {steps} timed steps after {steps} warm-up steps, one round; images/s. Harness: the real loop (`train::train_run`: gather, normalise, pad-crop-flip, forward/backward, flat SGD) on {}; PyTorch: `reference.py` (model steps on a fixed batch, `torch.optim.SGD`), cuDNN benchmark mode on both. fp32 is strict (TF32 off); TF32 and bf16 autocast are labelled speed switches. Peak memory: harness nvidia-smi above baseline (both layouts); PyTorch `max_memory_allocated` (the faster layout).\n",
            data.label
        ))?;
        self.report.line("| model | precision | harness NCHW | harness channels-last | PyTorch NCHW | PyTorch channels-last | harness best / PyTorch best | training TFLOP/s | share of peak | 64k iterations | peak memory harness | peak memory PyTorch |\n|---|---|---|---|---|---|---|---|---|---|---|---|")?;
        let reference = self.reference(batch);
        let file = bench::bench_file()?;
        let mut ref_torch = None;
        for precision in [Precision::Fp32, Precision::Tf32, Precision::Bf16Autocast] {
            let plabel = repro::precision::label(precision);
            // Steps 4 and 5 need their time; this table shrinks first.
            if !self.dry && self.clock.left() < self.args.reserve_s + 120.0 {
                self.report.line(&format!(
                    "| (rest) | {plabel} | skipped: {:.0} s left | | | | | | | | | |",
                    self.clock.left()
                ))?;
                continue;
            }
            // A dry run times the deep ResNets in fp32 only: on 2 CPU cores each
            // costs seconds, and TF32/bf16 run the same code as for the conv net.
            let models: &[&str] = if self.dry && precision != Precision::Fp32 {
                &["convnet", "resnet-20"]
            } else {
                &bench::MODELS
            };
            let refs: Result<Vec<ReferenceResult>, String> = reference
                .run(models, steps, steps, self.device, precision)
                .map_err(|e| e.to_string());
            if let Ok(r) = &refs {
                ref_torch = r.first().map(|r| r.torch.clone()).or(ref_torch);
            }
            for &m in models {
                let cfg = bench::bench_config(&file, m, precision, batch)?;
                self.memory.begin();
                let nchw = bench::harness(&cfg, data, self.device, Layout::Nchw, steps)?;
                let cl = bench::harness(&cfg, data, self.device, Layout::ChannelsLast, steps)?;
                let mem = self.memory.end(&format!("3. harness {m} {plabel}"));
                if m == "resnet-20" && precision == Precision::Fp32 {
                    self.resnet20_rates = Some((nchw, cl));
                }
                let best = nchw.max(cl);
                let tflops = 6.0 * bench::forward_macs(&cfg)? * best / 1e12;
                let of_peak = bench::datasheet_peak_tflops(&label, precision)
                    .map(|p| format!("{:.1}%", 100.0 * tflops / p))
                    .unwrap_or_else(|| "(peak unknown)".into());
                let recipe = if m.starts_with("resnet") {
                    repro::driver::human_time(RECIPE_ITERATIONS as f64 * 128.0 / best)
                } else {
                    "-".into()
                };
                let (p_nchw, p_cl, p_mem, ratio) = reference_columns(&refs, m, best);
                self.report.line(&format!(
                    "| {m} | {plabel} | {} | {} | {p_nchw} | {p_cl} | {ratio} | {tflops:.3} | {of_peak} | {recipe} | {mem} | {p_mem} |",
                    fmt_rate(nchw),
                    fmt_rate(cl)
                ))?;
            }
        }
        self.report.line(&format!(
            "\nPyTorch side: torch {} ({}). The 64k column is the paper's 64k iterations of batch 128 at the measured rate (training steps only).\n",
            ref_torch.unwrap_or_else(|| "n/a".into()),
            reference.python.display()
        ))
    }

    /// Step 4: the paper recipe for as many iterations as fit.
    fn step4(&mut self, file: &ExperimentFile, data: &Dataset) -> anyhow::Result<()> {
        self.report.line(&format!(
            "## 4. ResNet-20, the paper's recipe (64k iterations) as far as it fits (at {:.0} s)\n",
            self.clock.elapsed()
        ))?;
        let mut cfg = file.resolve("paper", "resnet-20", 1, &[])?;
        let (nchw, cl) = self.resnet20_rates(data)?;
        let layout = if cl > nchw {
            Layout::ChannelsLast
        } else {
            Layout::Nchw
        };
        let rate = nchw.max(cl);
        let b = cfg.train.batch_size as f64;
        // Evaluations (10k test images every 1k iterations, a forward pass at
        // about 3x the training rate) add about 3%; model set-up and cuDNN's
        // algorithm search a few seconds.
        let per_iteration = b / rate * 1.05;
        let available = self.clock.left() - self.args.reserve_s - 5.0;
        let cap = self
            .args
            .max_recipe_iterations
            .unwrap_or(if self.dry { 2 } else { RECIPE_ITERATIONS })
            .clamp(1, RECIPE_ITERATIONS);
        let fit = (available / per_iteration).floor() as i64;
        let iterations = fit.min(cap);
        self.report.line(&format!(
            "Recipe: `experiments/resnet-cifar-degradation.toml`, profile paper, resnet-20, seed 1: batch {}, lr {} divided by 10 at {:?}, momentum {}, weight decay {}, {}; fp32 (strict), {} layout (the faster in step 3). Rate for planning {:.0} img/s: {:.0} s left for this step, room for {} of the {} iterations; running {}.",
            cfg.train.batch_size,
            cfg.train.lr,
            match &cfg.train.schedule {
                repro::config::Schedule::Step { lr_drops_at, .. } => lr_drops_at.clone(),
                _ => vec![],
            },
            cfg.train.momentum,
            cfg.train.weight_decay,
            data.label,
            layout.label(),
            rate,
            available,
            fit.max(0),
            RECIPE_ITERATIONS,
            iterations.max(0),
        ))?;
        if iterations < 1 {
            let projected = RECIPE_ITERATIONS as f64 * per_iteration;
            return self.report.line(&format!(
                "\nSkipped: no time left. Projected full-recipe time at {rate:.0} img/s: {}.\n",
                repro::driver::human_time(projected)
            ));
        }
        // The schedule stays the paper's (drops at 32k/48k): a shortened run is
        // the recipe's first iterations, not a compressed recipe.
        cfg.train.iterations = iterations;
        cfg.train.checkpoint_every = iterations + 1;
        self.recipe(&cfg, data, layout)
    }

    /// ResNet-20's fp32 rates in (NCHW, channels-last): step 3's, or timed now
    /// when step 3 did not get to them.
    fn resnet20_rates(&self, data: &Dataset) -> anyhow::Result<(f64, f64)> {
        if let Some(r) = self.resnet20_rates {
            return Ok(r);
        }
        let c = bench::bench_config(&bench::bench_file()?, "resnet-20", Precision::Fp32, 128)?;
        let steps = if self.dry { 1 } else { 30 };
        Ok((
            bench::harness(&c, data, self.device, Layout::Nchw, steps)?,
            bench::harness(&c, data, self.device, Layout::ChannelsLast, steps)?,
        ))
    }

    /// Step 4's run: the recipe's first `cfg.train.iterations` iterations, and
    /// the row of the table that reports it.
    fn recipe(&mut self, cfg: &RunConfig, data: &Dataset, layout: Layout) -> anyhow::Result<()> {
        self.memory.begin();
        let t0 = Instant::now();
        train::seed_init(cfg.seed);
        let vs = VarStore::new(self.device);
        let net = models::build(&vs.root(), &cfg.model)?;
        let dir = self.scratch("recipe");
        let out = train::train_run(cfg, net.as_ref(), &vs, &self.context(data, &dir, layout));
        let _ = std::fs::remove_dir_all(&dir);
        let out = out?;
        let secs = t0.elapsed().as_secs_f64();
        let mem = self.memory.end("4. ResNet-20 recipe");
        let done = out.rows.last().map(|r| r.iteration).unwrap_or(0);
        let measured = done as f64 * cfg.train.batch_size as f64 / secs;
        let full = RECIPE_ITERATIONS as f64 * cfg.train.batch_size as f64 / measured;
        let last_test = out
            .rows
            .iter()
            .rev()
            .find_map(|r| r.test_error.map(|e| (r.iteration, e)));
        let result = match (done == RECIPE_ITERATIONS, last_test) {
            (true, Some((_, e))) => format!(
                "**final test error {:.2}%** on {} (the paper's ResNet-20: 8.75% on CIFAR-10)",
                100.0 * e,
                data.label
            ),
            (false, Some((it, e))) => format!(
                "test error {:.1}% at iteration {it} (unfinished schedule: not the recipe's result)",
                100.0 * e
            ),
            (_, None) => "no test evaluation".into(),
        };
        self.report.line(&format!(
            "\n| iterations done | wall time | img/s (with evaluations) | projected full recipe | result | status | peak memory |\n|---|---|---|---|---|---|---|\n| {done} / {RECIPE_ITERATIONS} | {secs:.1} s | {measured:.0} | {} | {result} | {:?} | {mem} |\n",
            repro::driver::human_time(full),
            out.status
        ))
    }

    /// Step 5: fused multi-seed training against separate runs.
    fn step5(&mut self, data: &Dataset) -> anyhow::Result<()> {
        self.report.line(&format!(
            "## 5. Fused multi-seed training vs separate runs (at {:.0} s)\n",
            self.clock.elapsed()
        ))?;
        let (steps, batch) = self.timing();
        // Fused training uses the device's default layout (NCHW on CUDA).
        let layout = Layout::device_default(self.device);
        let file = bench::bench_file()?;
        // A dry run's CPU spends a minute on ResNet-56 at K = 10: ResNet-20 only.
        let models: &[&str] = if self.dry {
            &["resnet-20"]
        } else {
            &["resnet-20", "resnet-56"]
        };
        self.report.line(&format!(
            "{}, fp32, batch {batch} per run, {steps} timed steps after {steps} warm-up, {} layout; fused img/s counts all K runs' images.\n\n| model | K | separate img/s | fused img/s (all K runs) | fused / separate | peak memory fused |\n|---|---|---|---|---|---|",
            models.join(", "),
            layout.label()
        ))?;
        for &m in models {
            let cfg = bench::bench_config(&file, m, Precision::Fp32, batch)?;
            let sep = bench::harness(&cfg, data, self.device, layout, steps)?;
            for k in [2, 5, 10] {
                if !self.dry && self.clock.left() < 5.0 {
                    self.report.line(&format!(
                        "| {m} | {k} | {} | skipped: out of time | | |",
                        fmt_rate(sep)
                    ))?;
                    continue;
                }
                self.memory.begin();
                let fused = bench::fused_harness(&cfg, k, data, self.device, layout, steps)?;
                let mem = self.memory.end(&format!("5. fused {m} K={k}"));
                self.report.line(&format!(
                    "| {m} | {k} | {} | {} | {:.2}x | {mem} |",
                    fmt_rate(sep),
                    fmt_rate(fused),
                    fused / sep
                ))?;
            }
        }
        self.report.line("")
    }

    /// Step 6: the peak memory of each measurement.
    fn step6(&mut self) -> anyhow::Result<()> {
        self.report.line(&format!(
            "## 6. Peak GPU memory of each step (at {:.0} s)\n",
            self.clock.elapsed()
        ))?;
        let how = match &self.memory.sampler {
            Some(s) => format!(
                "nvidia-smi `memory.used` sampled every 0.2 s, the maximum during each step minus the idle baseline before this process started CUDA ({} MiB). libtorch's caching allocator keeps freed blocks, so a figure includes what earlier steps still hold; it includes the CUDA context (about 0.5 GiB). PyTorch's own peaks (`max_memory_allocated`) are in step 3's table.",
                s.baseline
            ),
            None => self.memory.why_none.clone(),
        };
        self.report.line(&format!(
            "{how}\n\n| step | peak above baseline |\n|---|---|"
        ))?;
        let seen = std::mem::take(&mut self.memory.seen);
        for (what, cell) in &seen {
            self.report.line(&format!("| {what} | {cell} |"))?;
        }
        self.report.line(&format!(
            "\nTotal time of the check: {:.0} s (budget {:.0} s).",
            self.clock.elapsed(),
            self.clock.budget_s
        ))
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let clock = Clock {
        start: Instant::now(),
        budget_s: args.budget_s,
        margin_s: args.margin_s,
    };
    let dry = args.dry_run;
    // Start sampling before this process touches CUDA: the first sample is the baseline.
    let sampler = if dry { None } else { MemSampler::start(0) };
    gpu_probe::warn_if_gpu_invisible();
    let device = device_under_test(&args)?;
    let why_none = if dry {
        "n/a (dry run, CPU)".to_string()
    } else {
        "n/a (nvidia-smi gave no samples)".to_string()
    };
    let root = repro::driver::repo_root();
    let report = Report::create(&args.report)?;
    let mut check = Check {
        dry,
        device,
        report,
        clock,
        memory: Memory {
            sampler,
            why_none,
            seen: Vec::new(),
        },
        root,
        resnet20_rates: None,
        args,
    };
    check.report.line(&format!(
        "# GPU check{}\n\nCommand: `{}`. Budget {:.0} s, margin {:.0} s. Each section is written as soon as it is measured.\n",
        if dry { " (DRY RUN on the CPU)" } else { "" },
        std::env::args().collect::<Vec<_>>().join(" "),
        check.clock.budget_s,
        check.clock.margin_s
    ))?;
    check.step1()?;
    let raw = check.cifar10()?;
    let file = check.experiments_file()?;
    check.step2(&file, &raw)?;

    // Steps 3-5 share one copy of the data on the device; a dry run evaluates
    // on a few test images only (the final evaluation of every timed run).
    let mut data_cfg = file.resolve("paper", "resnet-20", 1, &[])?.data;
    if dry {
        data_cfg.test_subset = 50;
    }
    let data = Dataset::new(&raw, &data_cfg, device)?;
    drop(raw);
    check.step3(&data)?;
    check.step4(&file, &data)?;
    check.step5(&data)?;
    check.step6()?;
    repro::say!("gpu-check: results in {}", check.report.path.display());
    Ok(())
}

/// The CPU in a dry run; else `--device`, which must be a CUDA device (cuDNN
/// then picks its fastest algorithms, as experiments training on CUDA do).
fn device_under_test(args: &Args) -> anyhow::Result<Device> {
    if args.dry_run {
        return Ok(Device::Cpu);
    }
    let d = repro::driver::select_device(args.device)?;
    if !d.is_cuda() {
        anyhow::bail!(
            "no CUDA device for the check (libtorch sees {}): use --dry-run to run it on the CPU",
            tch::Cuda::device_count()
        );
    }
    tch::Cuda::cudnn_set_benchmark(true);
    Ok(d)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    args.verbosity.init();
    repro::exit::finish(run(args))
}

/// Step 3's PyTorch columns for model `m`: NCHW and channels-last rates, peak
/// memory of the faster layout, and the harness's best rate `best` over PyTorch's
/// best; "failed: ..." when the reference did not run.
fn reference_columns(
    refs: &Result<Vec<ReferenceResult>, String>,
    m: &str,
    best: f64,
) -> (String, String, String, String) {
    match refs {
        Ok(r) => {
            let pn = bench::reference_rate(r, m, "nchw");
            let pc = bench::reference_rate(r, m, "channels_last");
            let faster = if pc > pn { "channels_last" } else { "nchw" };
            let mem = r
                .iter()
                .find(|x| x.model == m && x.layout == faster)
                .and_then(|x| x.peak_mem_mib)
                .map(|v| format!("{v:.0} MiB"))
                .unwrap_or_else(|| "n/a (CPU)".into());
            (
                fmt_rate(pn),
                fmt_rate(pc),
                mem,
                format!("{:.2}x", best / pn.max(pc)),
            )
        }
        Err(e) => {
            let short: String = e.chars().take(120).collect();
            (
                format!("failed: {short}"),
                "-".into(),
                "-".into(),
                "-".into(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_error_is_scale_free() {
        let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
        let b = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
        assert_eq!(rel_error(&a, &b), 0.0);
        let c = &b * 1.001;
        assert!((rel_error(&c, &b) - 1e-3).abs() < 1e-6);
    }
}
