//! The flags every experiment binary shares, parsed into types at the edge.
use crate::config::{Override, Precision};
use crate::error::{Error, Result};
use clap::{Parser, ValueEnum};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use tch::Device;

/// Flags shared by every experiment binary.
#[derive(Parser, Debug, Clone)]
#[command(
    after_help = crate::exit::HELP,
    version = crate::version::short(),
    long_version = crate::version::long()
)]
pub struct Args {
    #[command(flatten)]
    pub verbosity: records::progress::Verbosity,
    /// Profile of the experiment file (default `paper`; each profile's
    /// fidelity label, `paper`, `analogue` or `shortened`, says whether it is
    /// the paper's recipe: `--list-profiles` lists them). With `--plot-only`
    /// and no `--profile`: every profile that has results.
    #[arg(long)]
    pub profile: Option<String>,
    /// List the experiment's profiles with their fidelity labels, runs and seeds, then stop.
    #[arg(long, conflicts_with_all = ["plot_only", "estimate_only", "list_runs"])]
    pub list_profiles: bool,
    /// Start a job that the cost estimate puts beyond a day on this device
    /// (refused without it: a `paper` profile on a CPU runs for weeks).
    #[arg(long)]
    pub yes: bool,
    /// Seeds to run, overriding the profile's list (e.g. `--seeds 1,2,3`).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// Only these runs (names from the experiment file; a trailing `*` matches a prefix).
    #[arg(long, value_delimiter = ',')]
    pub runs: Option<Vec<String>>,
    /// `auto` (CUDA when available), `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "auto")]
    pub device: DeviceSpec,
    /// CIFAR-10 source: official binary layout or image-folder layout, as a directory or .tar.gz.
    /// Without it the official release is downloaded (and verified) into the data directory.
    #[arg(long, env = "REPRO_DATA")]
    pub data: Option<PathBuf>,
    /// Where downloads and decoded datasets are cached (default: `data/` in the repository).
    #[arg(long, env = "REPRO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Results directory; the profile is a subdirectory. Default: `out/<experiment>`
    /// in the repository (git-ignored: your runs never change the committed
    /// reference results in `results/`, which `--out results/<experiment>` writes).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Experiment file (default: `experiments/<experiment>.toml` in the repository).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override a resolved config key for every run, e.g. `--set train.iterations=2000`. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<Override>,
    /// Regenerate figures and the report from the saved metrics, without training.
    #[arg(long)]
    pub plot_only: bool,
    /// Draw error curves on a log-scale y axis (training error is often read so).
    #[arg(long)]
    pub log_y: bool,
    /// Start selected runs over, ignoring their checkpoints and finished results.
    #[arg(long, conflicts_with = "resume")]
    pub fresh: bool,
    /// Continue from checkpoints and skip finished runs (the default).
    #[arg(long)]
    pub resume: bool,
    /// Start over the selected runs that finished (or were checkpointed) under
    /// other training code than this build's (another commit's models, training
    /// loop or data pipeline); keep the others.
    #[arg(long, conflicts_with_all = ["fresh", "allow_mixed"])]
    pub fresh_stale: bool,
    /// Reuse runs trained by other training code than this build's, and draw
    /// one report from runs of several commits (the report lists them).
    /// Without it, either is refused.
    #[arg(long)]
    pub allow_mixed: bool,
    /// With `--plot-only`: draw also the runs that stopped at a checkpoint
    /// before their last iteration (interrupted, e.g. at the end of a GPU
    /// allocation: `sweep queue merge`), as far as their metrics go. The
    /// report lists each as partial with the iteration it reached, and its
    /// label is `shortened` while any run is partial (claims that need fully
    /// trained networks are then not evaluated).
    #[arg(long, requires = "plot_only")]
    pub draw_partial: bool,
    /// Copy, instead of training again, a run that another experiment or
    /// profile under DIR (laid out `DIR/<experiment>/<profile>/runs/<run id>/`)
    /// finished with the same model, data, training config and seed, by this
    /// build's training code on the same data and device. The copy's
    /// provenance.json names its source (`reused_from`). The nightly passes its
    /// own directory. CIFAR-10 runs only.
    #[arg(long, value_name = "DIR", conflicts_with = "fresh")]
    pub reuse_runs: Option<PathBuf>,
    /// Print the directory the profile's results go to (it depends on the
    /// profile, the precision and any `--set`/`--config`), then stop.
    #[arg(long, conflicts_with_all = ["plot_only", "estimate_only", "list_runs"])]
    pub print_profile_dir: bool,
    /// libtorch intra-op threads (default: libtorch's choice, all cores).
    #[arg(long)]
    pub threads: Option<i32>,
    /// Skip the timing probe that estimates each run's cost before training.
    #[arg(long, conflicts_with = "estimate_only")]
    pub no_estimate: bool,
    /// Memory layout of activations and conv weights: `auto` (for runs of at least
    /// 1000 iterations, a few steps of each model timed in both layouts and the
    /// faster taken; shorter runs: channels-last on CPU, NCHW on CUDA), `nchw`
    /// or `channels-last`. The maths is the same; only speed differs.
    #[arg(long, value_enum, default_value_t = LayoutMode::Auto)]
    pub layout: LayoutMode,
    /// Print each run's expected cost on this device, then stop (loads no data).
    #[arg(long)]
    pub estimate_only: bool,
    /// Print the selected runs as JSON lines (`run`, `seed`, `run_id`, `state`:
    /// `done`, `resume`, `new`, or `stale`: trained by other training code, see
    /// `--fresh-stale`/`--allow-mixed`), then stop: the task list of `sweep`.
    #[arg(long, conflicts_with_all = ["plot_only", "estimate_only"])]
    pub list_runs: bool,
    /// Train only: leave the combined metrics, figures and report to a later
    /// `--plot-only` (what `sweep` does once all its tasks are done, so that
    /// parallel tasks do not each redraw the report).
    #[arg(long, conflicts_with = "plot_only")]
    pub no_report: bool,
    /// Train the seeds of one run as one fused network (K runs stacked along
    /// channels; results equal separate runs within float tolerance): `on`,
    /// `off`, or `auto` (on a GPU, fuse where a timing probe shows at least a 10%
    /// gain; on a CPU, separate runs).
    /// Only CIFAR ResNets with a constant or step schedule fuse.
    #[arg(long, value_enum, default_value_t = FuseMode::Auto)]
    pub fuse_seeds: FuseMode,
    /// At most this many seeds per fused group (default: all seeds of a run).
    #[arg(long)]
    pub fuse_max: Option<NonZeroUsize>,
    /// Mixed precision: bf16 autocast for convolutions and matrix products
    /// (weights, gradients and optimizer state stay fp32). A speed switch, not
    /// the papers' fp32 numerics: the rows, report and figures say so, and the
    /// results go to `<profile>-bf16/`, beside (never over) the fp32 results.
    /// Same as `--set train.precision=bf16-autocast`.
    #[arg(long, conflicts_with = "tf32")]
    pub bf16: bool,
    /// TF32 convolutions and matrix products on CUDA (fp32 runs there are
    /// strict fp32). A speed switch, not the papers' numerics, labelled as
    /// `--bf16` is; results go to `<profile>-tf32/`. Same as
    /// `--set train.precision=tf32`.
    #[arg(long)]
    pub tf32: bool,
    /// Train bf16 autocast on a CPU without bf16 arithmetic (no AVX512-BF16 or
    /// AMX-BF16), where it is emulated and slower than fp32; refused without this.
    #[arg(long)]
    pub allow_slow_bf16: bool,
}

/// The profile run when none is named.
pub const DEFAULT_PROFILE: &str = "paper";

/// Where an experiment's results go without `--out`: git-ignored, apart from
/// the committed reference results under `results/`.
pub const USER_OUT: &str = "out";

impl Args {
    /// The profile named, or the default (`paper`).
    pub fn profile(&self) -> &str {
        self.profile.as_deref().unwrap_or(DEFAULT_PROFILE)
    }

    /// The numerics switch of `--bf16`/`--tf32`, if one was given.
    pub fn precision_switch(&self) -> Option<Precision> {
        if self.bf16 {
            Some(Precision::Bf16Autocast)
        } else if self.tf32 {
            Some(Precision::Tf32)
        } else {
            None
        }
    }

    /// At most this many seeds train as one fused network.
    pub fn fuse_max(&self) -> usize {
        self.fuse_max.map_or(usize::MAX, NonZeroUsize::get)
    }
}

/// `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutMode {
    Auto,
    Nchw,
    ChannelsLast,
}

/// `--fuse-seeds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FuseMode {
    Auto,
    On,
    Off,
}

pub use records::device::DeviceSpec;

/// Whether `spec` would train on the CPU here (libtorch asked whether it
/// sees a GPU).
pub fn is_cpu_here(spec: DeviceSpec) -> bool {
    spec.is_cpu_with(tch::Cuda::is_available())
}

/// The device `spec` names, checked against what libtorch sees.
pub fn select_device(spec: DeviceSpec) -> Result<Device> {
    let cuda_devices = if tch::Cuda::is_available() {
        tch::Cuda::device_count().max(0) as usize
    } else {
        0
    };
    if cuda_devices == 0 && spec != DeviceSpec::Cpu {
        // A GPU the driver lists but libtorch cannot see would silently train on the CPU.
        crate::gpu_probe::warn_if_gpu_invisible();
    }
    device_for(spec, cuda_devices)
}

/// The device `spec` names on a machine where libtorch sees `cuda_devices`
/// GPUs (the decision alone, so that tests can take every branch anywhere).
pub fn device_for(spec: DeviceSpec, cuda_devices: usize) -> Result<Device> {
    match spec {
        DeviceSpec::Auto if cuda_devices > 0 => Ok(Device::Cuda(0)),
        DeviceSpec::Auto | DeviceSpec::Cpu => Ok(Device::Cpu),
        DeviceSpec::Cuda(_) if cuda_devices == 0 => Err(Error::Device(format!(
            "--device {spec}: no CUDA device is available here (libtorch sees none); use --device cpu"
        ))),
        DeviceSpec::Cuda(i) if i >= cuda_devices => Err(Error::Device(format!(
            "--device {spec}: only {cuda_devices} CUDA device(s)"
        ))),
        DeviceSpec::Cuda(i) => Ok(Device::Cuda(i)),
    }
}
