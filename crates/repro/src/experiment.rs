//! The driver every experiment binary shares: flags, config resolution, data,
//! the sweep over runs (skip done, resume interrupted, record diverged), the
//! combined metrics table, figures and the report.
//!
//! An experiment crate implements `Experiment` (which figure, which tables,
//! which claims) and calls `main`.
use crate::config::{ExperimentFile, Override, Precision, ProfileHeader, RunConfig};
use crate::data::Dataset;
use crate::error::{Error, IoContext, Result};
use crate::io::write_bytes_atomic;
use crate::metrics::{read_parquet, write_parquet, MetricRow};
use crate::models::{self, Network};
use crate::provenance::{device_name, Provenance};
use crate::report::{self, Claim, Header, Table};
use crate::train::{self, RunStatus, TrainContext};
use clap::Parser;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tch::nn::VarStore;
use tch::Device;

/// Flags shared by every experiment binary.
#[derive(Parser, Debug, Clone)]
pub struct Args {
    /// Profile of the experiment file: `paper` (the paper's recipe), `quick` (shortened, for a laptop), `smoke` (seconds).
    #[arg(long, default_value = "paper")]
    pub profile: String,
    /// Seeds to run, overriding the profile's list (e.g. `--seeds 1,2,3`).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// Only these runs (names from the experiment file; a trailing `*` matches a prefix).
    #[arg(long, value_delimiter = ',')]
    pub runs: Option<Vec<String>>,
    /// `auto` (CUDA when available), `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// CIFAR-10 source: official binary layout or image-folder layout, as a directory or .tar.gz.
    /// Without it the official release is downloaded (and verified) into the data directory.
    #[arg(long, env = "REPRO_DATA")]
    pub data: Option<PathBuf>,
    /// Where downloads and decoded datasets are cached (default: `data/` in the repository).
    #[arg(long, env = "REPRO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Results directory (default: `results/<experiment>` in the repository); the profile is a subdirectory.
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
    /// Start selected runs over, ignoring their checkpoints and finished results.
    #[arg(long, conflicts_with = "resume")]
    pub fresh: bool,
    /// Continue from checkpoints and skip finished runs (the default).
    #[arg(long)]
    pub resume: bool,
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
    #[arg(long, default_value = "auto")]
    pub layout: String,
    /// Print each run's expected cost on this device, then stop (loads no data).
    #[arg(long)]
    pub estimate_only: bool,
    /// Print the selected runs as JSON lines (`run`, `seed`, `run_id`, `state`:
    /// `done`, `resume` or `new`), then stop: the task list of `sweep`.
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
    #[arg(long, default_value = "auto")]
    pub fuse_seeds: String,
    /// At most this many seeds per fused group (default: all seeds of a run).
    #[arg(long)]
    pub fuse_max: Option<usize>,
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

/// `--fuse-seeds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FuseMode {
    Auto,
    On,
    Off,
}

/// What an experiment crate says about its paper.
pub trait Experiment {
    fn name(&self) -> &'static str;
    fn title(&self) -> &'static str;
    /// Citation and section.
    fn paper(&self) -> &'static str;
    /// Figures drawn from the metrics alone: (file stem, figure).
    fn figures(&self, res: &Results) -> Vec<(String, figures::Figure)>;
    fn tables(&self, res: &Results) -> Vec<Table>;
    fn claims(&self, res: &Results) -> Vec<Claim>;
    /// After a run completes: measurements of the trained network saved in its
    /// directory (e.g. Fig. 7's layer responses), read back by `figures`/`tables`.
    fn after_run(
        &self,
        _cfg: &RunConfig,
        _net: &dyn Network,
        _data: &Dataset,
        _run_dir: &Path,
    ) -> Result<()> {
        Ok(())
    }
}

/// Everything a report is drawn from.
pub struct Results {
    pub rows: Vec<MetricRow>,
    pub runs: report::Runs,
    pub header: Header,
    pub profile: ProfileHeader,
    /// Resolved configs of the profile's grid, by run id.
    pub configs: BTreeMap<String, RunConfig>,
    pub profile_dir: PathBuf,
}

impl Results {
    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.profile_dir.join("runs").join(run_id)
    }
    /// Whether the profile's grid includes a run of this name.
    pub fn in_profile(&self, name: &str) -> bool {
        self.profile.runs.iter().any(|r| r == name)
    }
}

/// The repository root: the nearest ancestor of the working directory with an
/// `experiments/` folder, else the one this binary was built from.
pub fn repo_root() -> PathBuf {
    if let Ok(mut d) = std::env::current_dir() {
        loop {
            if d.join("experiments").is_dir() && d.join("Cargo.toml").is_file() {
                return d;
            }
            if !d.pop() {
                break;
            }
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn select_device(spec: &str) -> Result<Device> {
    let cuda = tch::Cuda::is_available();
    if !cuda && spec != "cpu" {
        // A GPU the driver lists but libtorch cannot see would silently train on the CPU.
        crate::gpu_probe::warn_if_gpu_invisible();
    }
    match spec {
        "auto" => Ok(if cuda { Device::Cuda(0) } else { Device::Cpu }),
        "cpu" => Ok(Device::Cpu),
        s if s == "cuda" || s.starts_with("cuda:") => {
            if !cuda {
                return Err(Error::Device(format!(
                    "--device {s}: no CUDA device is available here (libtorch sees none); use --device cpu"
                )));
            }
            let i: usize = s
                .strip_prefix("cuda:")
                .map(|i| i.parse())
                .transpose()
                .map_err(|_| {
                    Error::Device(format!("--device {s}: expected cuda:N with N a number"))
                })?
                .unwrap_or(0);
            let count = tch::Cuda::device_count() as usize;
            if i >= count {
                return Err(Error::Device(format!(
                    "--device {s}: only {count} CUDA device(s)"
                )));
            }
            Ok(Device::Cuda(i))
        }
        s => Err(Error::Device(format!(
            "--device {s}: expected auto, cpu, cuda or cuda:N"
        ))),
    }
}

fn matches_filter(name: &str, filter: &Option<Vec<String>>) -> bool {
    match filter {
        None => true,
        Some(f) => f.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == p,
        }),
    }
}

/// Run status saved beside a finished run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct StatusFile {
    pub status: String,
    pub config_hash: String,
    pub iterations: i64,
}

/// Whether a finished run in `dir` was trained with `cfg`. Compares the saved
/// config as data (fields added to the config types since then take their
/// defaults), so results survive additions that change nothing; falls back to
/// the hash when the saved config cannot be read.
fn same_config(dir: &Path, status: &StatusFile, cfg: &RunConfig) -> bool {
    match std::fs::read_to_string(dir.join("config.toml"))
        .ok()
        .and_then(|t| RunConfig::from_saved_toml(&t).ok())
    {
        Some(saved) => saved == *cfg,
        None => status.config_hash == cfg.config_hash(),
    }
}

fn read_status(dir: &Path) -> Option<StatusFile> {
    std::fs::read(dir.join("status.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
}

/// The binary's `main`: parse flags, run, and on failure print one line
/// (`error: ...`, the cause chain joined) and exit non-zero.
pub fn main<E: Experiment>(exp: E) -> std::process::ExitCode {
    let args = Args::parse();
    match run(&exp, &args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

pub fn run<E: Experiment>(exp: &E, args: &Args) -> anyhow::Result<()> {
    let root = repo_root();
    let config_path = args.config.clone().unwrap_or_else(|| {
        root.join("experiments")
            .join(format!("{}.toml", exp.name()))
    });
    let file = ExperimentFile::load(&config_path)?;
    let profile = file.profile(&args.profile)?.clone();
    let mut overrides = args.overrides.clone();
    let switch = if args.bf16 {
        Some(Precision::Bf16Autocast)
    } else if args.tf32 {
        Some(Precision::Tf32)
    } else {
        None
    };
    if let Some(p) = switch {
        overrides.push(Override {
            path: vec!["train".into(), "precision".into()],
            value: toml::Value::String(train::precision::label(p).into()),
        });
    }
    let seeds = args.seeds.clone().unwrap_or_else(|| profile.seeds.clone());
    if seeds.is_empty() {
        anyhow::bail!("--seeds: no seeds given");
    }
    if let Some(f) = &args.runs {
        for p in f {
            let prefix = p.trim_end_matches('*');
            if !profile.runs.iter().any(|r| r.starts_with(prefix)) {
                anyhow::bail!(
                    "--runs {p}: no such run in profile `{}` (runs: {})",
                    args.profile,
                    profile.runs.join(", ")
                );
            }
        }
    }
    // Resolve the whole grid first: a bad key fails before anything is written.
    let mut configs = BTreeMap::new();
    let mut grid = Vec::new();
    for name in &profile.runs {
        for &seed in &seeds {
            let cfg = file.resolve(&args.profile, name, seed, &overrides)?;
            if matches_filter(name, &args.runs) {
                grid.push(cfg.clone());
            }
            configs.insert(cfg.run_id(), cfg);
        }
    }
    let faithful = profile.faithful && overrides.is_empty();
    check_bf16_hardware(&grid, &args.device, args.allow_slow_bf16)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("results").join(exp.name()));
    // Runs in another precision than the papers' keep their own directory, so
    // they never replace (or mix with) the fp32 results of the profile.
    let mut suffixes: Vec<&str> = configs
        .values()
        .filter_map(|c| train::precision::dir_suffix(c.train.precision))
        .collect();
    suffixes.sort();
    suffixes.dedup();
    let profile_dir = if suffixes.is_empty() {
        out.join(&args.profile)
    } else {
        out.join(format!("{}-{}", args.profile, suffixes.join("-")))
    };
    let reduced_precision = !suffixes.is_empty();
    if args.list_runs {
        for cfg in &grid {
            let dir = profile_dir.join("runs").join(cfg.run_id());
            let done = !args.fresh && read_status(&dir).is_some_and(|s| same_config(&dir, &s, cfg));
            let state = if done {
                "done"
            } else if !args.fresh && dir.join(train::checkpoint::META_FILE).exists() {
                "resume"
            } else {
                "new"
            };
            // A run that starts from another run's trained weights (VGG's net A)
            // must wait for it: sweeps order their tasks by `after`.
            let after = match models::init_from(&cfg.model) {
                models::InitFrom::Run(r) => Some(format!("{r}-s{}", cfg.seed)),
                models::InitFrom::Random => None,
            };
            let line = serde_json::json!({
                "run": cfg.name, "seed": cfg.seed, "run_id": cfg.run_id(), "state": state,
                "after": after,
            });
            println!("{line}");
        }
        return Ok(());
    }
    if let Some(t) = args.threads {
        tch::set_num_threads(t);
    }

    if !args.plot_only {
        let device = select_device(&args.device)?;
        if device.is_cuda() {
            tch::Cuda::cudnn_set_benchmark(true);
        }
        std::fs::create_dir_all(&profile_dir).at(&profile_dir)?;
        // Fail early, and without touching earlier results, on an unwritable output directory.
        let probe = profile_dir.join(format!(".write-probe-{}", std::process::id()));
        write_bytes_atomic(&probe, b"ok").map_err(|e| {
            anyhow::anyhow!(
                "output directory {} is not writable: {e}",
                profile_dir.display()
            )
        })?;
        let _ = std::fs::remove_file(&probe);
        let device_label = device_name(device);
        let fuse_mode = match args.fuse_seeds.as_str() {
            "auto" => FuseMode::Auto,
            "on" => FuseMode::On,
            "off" => FuseMode::Off,
            other => anyhow::bail!("--fuse-seeds {other}: expected auto, on or off"),
        };
        let fuse_max = match args.fuse_max {
            Some(0) => anyhow::bail!("--fuse-max 0: expected at least 1"),
            Some(m) => m,
            None => usize::MAX,
        };
        let layout = match args.layout.as_str() {
            "auto" => LayoutMode::Auto,
            "nchw" => LayoutMode::Nchw,
            "channels-last" => LayoutMode::ChannelsLast,
            other => anyhow::bail!("--layout {other}: expected auto, nchw or channels-last"),
        };
        let todo: Vec<&RunConfig> = grid
            .iter()
            .filter(|c| {
                args.fresh
                    || read_status(&profile_dir.join("runs").join(c.run_id()))
                        .map(|s| !same_config(&profile_dir.join("runs").join(c.run_id()), &s, c))
                        .unwrap_or(true)
            })
            .collect();
        eprintln!(
            "{}: profile `{}`{}, {} run(s) in the grid, {} to train, device {}",
            exp.name(),
            args.profile,
            if faithful {
                ""
            } else if reduced_precision {
                " in reduced precision, --bf16/--tf32 (not the paper's recipe or numerics)"
            } else {
                " (not the paper's recipe)"
            },
            grid.len(),
            todo.len(),
            device_label
        );
        if args.estimate_only {
            let layouts = default_layouts(&todo, layout, device);
            estimate_costs(&todo, device, &layouts, &args.profile);
            return Ok(());
        }
        if !todo.is_empty() {
            use crate::config::DatasetKind;
            let layouts = choose_layouts(&todo, layout, device, &profile_dir);
            let opts = RunOptions {
                device,
                device_label: &device_label,
                faithful,
                fresh: args.fresh,
                channels_last: false,
            };
            let opts_for = |cfg: &RunConfig| RunOptions {
                channels_last: layouts.get(&cfg.run_id()).copied().unwrap_or(false),
                ..opts
            };
            let (cifar_runs, folder_runs): (Vec<&RunConfig>, Vec<&RunConfig>) = todo
                .iter()
                .partition(|c| c.data.dataset == DatasetKind::Cifar10);
            if !args.no_estimate {
                estimate_costs(&todo, device, &layouts, &args.profile);
            }
            if !folder_runs.is_empty() {
                let root_dir = args.data.clone().ok_or_else(|| {
                    anyhow::anyhow!("runs on an ImageNet image folder need --data /path/to/imagenet (with train/ and val/)")
                })?;
                let data = crate::data::imagenet::ImageNetData::open(&root_dir, device)?;
                eprintln!("data: {}", crate::train::TrainData::label(&data));
                for cfg in folder_runs {
                    train_one(exp, cfg, &data, None, &opts_for(cfg), &profile_dir, &root)?;
                }
            }
            if !cifar_runs.is_empty() {
                let data_dir = args.data_dir.clone().unwrap_or_else(|| root.join("data"));
                let source = match &args.data {
                    Some(p) => cifar10::Source::Path(p.clone()),
                    None => cifar10::Source::official(),
                };
                let raw = cifar10::load(&source, &data_dir, &|m| eprintln!("data: {m}"))?;
                eprintln!(
                    "data: {} ({} train, {} test images) from {}",
                    raw.label,
                    raw.train.len(),
                    raw.test.len(),
                    raw.source
                );
                let mut datasets: BTreeMap<String, Dataset> = BTreeMap::new();
                for group in plan_groups(&cifar_runs, fuse_mode, fuse_max, device, &layouts) {
                    let cfg = group[0];
                    // Runs of a group share their model, so their layout.
                    let opts = opts_for(cfg);
                    // Everything Dataset::new reads: splits, and the RGB PCA
                    // that only PCA colour augmentation computes.
                    let key = format!(
                        "{}/{}/{}/{:?}",
                        cfg.data.validation,
                        cfg.data.train_subset,
                        cfg.data.test_subset,
                        cfg.data.colour
                    );
                    if !datasets.contains_key(&key) {
                        datasets.insert(key.clone(), Dataset::new(&raw, &cfg.data, device)?);
                    }
                    let data = &datasets[&key];
                    if group.len() > 1
                        && train_fused_group(exp, &group, data, &opts, &profile_dir, &root)?
                    {
                        continue;
                    }
                    // Not fused, or a fused group that stopped on a diverged run:
                    // each run separately (resuming from its checkpoints).
                    let separate = RunOptions {
                        fresh: opts.fresh && group.len() == 1,
                        ..opts
                    };
                    for cfg in group {
                        train_one(exp, cfg, data, Some(data), &separate, &profile_dir, &root)?;
                    }
                }
            }
        }
    }
    if args.no_report {
        return Ok(());
    }
    let res = collect(
        exp,
        &args.profile,
        &profile,
        &configs,
        &seeds,
        &profile_dir,
        faithful,
        &root,
    )?;
    if res.rows.is_empty() && !args.plot_only {
        eprintln!(
            "no finished runs under {} yet: no report written",
            profile_dir.display()
        );
        return Ok(());
    }
    if res.rows.is_empty() {
        anyhow::bail!(
            "no metrics under {} for profile `{}`: run without --plot-only first",
            profile_dir.display(),
            args.profile
        );
    }
    write_outputs(exp, &res)?;
    Ok(())
}

/// How the runs of one invocation train.
#[derive(Clone, Copy)]
struct RunOptions<'a> {
    device: Device,
    device_label: &'a str,
    faithful: bool,
    fresh: bool,
    channels_last: bool,
}

/// Trains (or resumes) one run and writes its directory.
fn train_one<E: Experiment>(
    exp: &E,
    cfg: &RunConfig,
    data: &dyn train::TrainData,
    cifar: Option<&Dataset>,
    opts: &RunOptions,
    profile_dir: &Path,
    root: &Path,
) -> anyhow::Result<()> {
    let Some((run_dir, _lock)) = open_run_dir(cfg, data, cifar, opts, profile_dir, root)? else {
        return Ok(());
    };
    train::seed_init(cfg.seed);
    let vs = VarStore::new(opts.device);
    let net = models::build(&vs.root(), &cfg.model)?;
    if let models::InitFrom::Run(from) = models::init_from(&cfg.model) {
        // VGG Sec. 3.1: start from the trained net of an earlier run (same seed).
        let src = profile_dir
            .join("runs")
            .join(format!("{from}-s{}", cfg.seed))
            .join(train::transfer::FINAL_WEIGHTS);
        if !src.is_file() {
            anyhow::bail!(
                "run `{}`: model.init_from = \"{from}\": no trained weights at {}; list \"{from}\" before \"{}\" in the profile's runs (or train it first)",
                cfg.run_id(),
                src.display(),
                cfg.name
            );
        }
        train::transfer::init_from(&vs, &src, &models::vgg::VggConfig::transferred_layers())?;
    }
    let ctx = run_context(data, opts, &run_dir);
    let outcome = train::train_run(cfg, net.as_ref(), &vs, &ctx)?;
    finish_run(exp, cfg, &outcome, net.as_ref(), &vs, cifar, &run_dir)
}

fn run_context<'a>(
    data: &'a dyn train::TrainData,
    opts: &RunOptions,
    run_dir: &'a Path,
) -> TrainContext<'a> {
    TrainContext {
        data,
        device: opts.device,
        run_dir,
        resume: !opts.fresh,
        device_label: opts.device_label.to_string(),
        faithful: opts.faithful,
        stop_at_checkpoint_after: None,
        progress: true,
        channels_last: opts.channels_last,
    }
}

/// Creates and locks a run's directory and writes its config and provenance;
/// None (after saying so) when another process holds the lock. The lock lasts
/// as long as the returned file.
fn open_run_dir(
    cfg: &RunConfig,
    data: &dyn train::TrainData,
    cifar: Option<&Dataset>,
    opts: &RunOptions,
    profile_dir: &Path,
    root: &Path,
) -> anyhow::Result<Option<(PathBuf, std::fs::File)>> {
    let run_dir = profile_dir.join("runs").join(cfg.run_id());
    std::fs::create_dir_all(&run_dir).at(&run_dir)?;
    // One process per run directory: a second one pointed at it stops here.
    let lock_path = run_dir.join(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .at(&lock_path)?;
    if lock.try_lock().is_err() {
        eprintln!(
            "[{}] skipped: another process holds {}",
            cfg.run_id(),
            lock_path.display()
        );
        return Ok(None);
    }
    if opts.fresh {
        train::checkpoint::remove(&run_dir);
    }
    write_bytes_atomic(&run_dir.join("config.toml"), cfg.to_toml()?.as_bytes())?;
    let sha = cifar.map(|d| d.source_sha256.clone()).unwrap_or_default();
    let prov = Provenance::collect(root, opts.device_label, data.label(), &sha);
    write_bytes_atomic(
        &run_dir.join("provenance.json"),
        serde_json::to_string_pretty(&prov)?.as_bytes(),
    )?;
    Ok(Some((run_dir, lock)))
}

/// After training: the run's metrics, final weights, the experiment's
/// measurements and its status; then its checkpoints go.
fn finish_run<E: Experiment>(
    exp: &E,
    cfg: &RunConfig,
    outcome: &train::RunOutcome,
    net: &dyn Network,
    vs: &VarStore,
    cifar: Option<&Dataset>,
    run_dir: &Path,
) -> anyhow::Result<()> {
    write_parquet(&run_dir.join("metrics.parquet"), &outcome.rows)?;
    let (status, iterations) = match outcome.status {
        RunStatus::Completed => (
            "completed",
            outcome
                .rows
                .last()
                .map(|r| r.iteration)
                .unwrap_or(cfg.train.iterations),
        ),
        RunStatus::Diverged { iteration } => ("diverged", iteration),
        RunStatus::Interrupted { iteration } | RunStatus::GroupStopped { iteration } => {
            ("interrupted", iteration)
        }
    };
    let last = outcome.rows.iter().rev().find(|r| r.test_error.is_some());
    eprintln!(
        "[{}] {status} after {iterations} iterations{}{}",
        cfg.run_id(),
        last.map(|r| format!(
            ", test error {:.2}%",
            100.0 * r.test_error.unwrap_or(f64::NAN)
        ))
        .unwrap_or_default(),
        if outcome.resumed_from > 0 {
            format!(" (resumed from iteration {})", outcome.resumed_from)
        } else {
            String::new()
        }
    );
    if status == "completed" {
        // Kept for runs that initialise from this one (git-ignored).
        train::transfer::save_final(vs, run_dir)?;
    }
    if let (Some(d), "completed") = (cifar, status) {
        exp.after_run(cfg, net, d, run_dir)?;
    }
    let sf = StatusFile {
        status: status.into(),
        config_hash: cfg.config_hash(),
        iterations,
    };
    write_bytes_atomic(
        &run_dir.join("status.json"),
        serde_json::to_string_pretty(&sf)?.as_bytes(),
    )?;
    train::checkpoint::remove(run_dir);
    Ok(())
}

/// Splits the runs to train into groups: a fused group of seeds of one run, or
/// a single run. Runs keep their order otherwise (a run may start from an
/// earlier one's weights).
fn plan_groups<'a>(
    todo: &[&'a RunConfig],
    mode: FuseMode,
    max: usize,
    device: Device,
    layouts: &BTreeMap<String, bool>,
) -> Vec<Vec<&'a RunConfig>> {
    let mut groups: Vec<Vec<&RunConfig>> = Vec::new();
    let mut said: std::collections::BTreeSet<String> = Default::default();
    let mut probed: BTreeMap<String, bool> = BTreeMap::new();
    // Only a run with several seeds to train has anything to fuse (or to say so about).
    let several_seeds = |name: &str| todo.iter().filter(|c| c.name == name).count() > 1;
    for &cfg in todo {
        let blocker = train::fusion_blocker(cfg);
        if mode == FuseMode::Off || max < 2 || blocker.is_some() {
            if let (Some(why), true) = (&blocker, mode != FuseMode::Off && several_seeds(&cfg.name))
            {
                if said.insert(cfg.name.clone()) {
                    eprintln!(
                        "fuse-seeds: `{}` trains its seeds separately: {why}",
                        cfg.name
                    );
                }
            }
            groups.push(vec![cfg]);
            continue;
        }
        // Join the open group of this run's earlier seeds (same config but the seed).
        let open = groups.iter_mut().rev().find(|g| {
            g.len() < max
                && g[0].name == cfg.name
                && g[0].config_hash() == cfg.config_hash()
                && train::fusion_blocker(g[0]).is_none()
        });
        match open {
            Some(g) => g.push(cfg),
            None => groups.push(vec![cfg]),
        }
    }
    if mode != FuseMode::Auto {
        return groups;
    }
    // Auto on a CPU: separate runs. The issue's PyTorch probe measured fusion
    // slower there (oneDNN grouped convolutions: 0.88x at K = 2, 0.52x at K = 4)
    // and a timing probe on a shared CPU is too noisy to decide which numerics a
    // run gets; `--fuse-seeds on` forces it.
    if !device.is_cuda() {
        if groups.iter().any(|g| g.len() > 1) {
            eprintln!("fuse-seeds auto: CPU: training seeds separately (`--fuse-seeds on` fuses)");
        }
        return groups
            .into_iter()
            .flat_map(|g| g.into_iter().map(|c| vec![c]))
            .collect();
    }
    // Auto on a GPU: keep a fused group only where fusing measured at least 10%
    // faster here (the margin keeps timing noise from deciding).
    let mut out = Vec::new();
    for g in groups {
        if g.len() < 2 {
            out.push(g);
            continue;
        }
        let k = g.len();
        let key = format!(
            "{}/{}/{k}",
            serde_json::to_string(&g[0].model).unwrap_or_default(),
            g[0].train.batch_size
        );
        let channels_last = layouts.get(&g[0].run_id()).copied().unwrap_or(false);
        let fuse = *probed.entry(key).or_insert_with(|| {
            let steps = 10;
            let sep = time_group_steps(g[0], 1, device, steps, channels_last);
            let fused = time_group_steps(g[0], k as i64, device, steps, channels_last);
            match (sep, fused) {
                (Ok(sep), Ok(fused)) => {
                    let ratio = k as f64 * sep / fused;
                    let fuse = ratio > 1.1;
                    eprintln!(
                        "fuse-seeds auto: `{}` x{k} fused trains {ratio:.2}x the images/s of separate runs on this device ({:.3} s per fused step, {:.3} s per separate step): {}",
                        g[0].name,
                        fused,
                        sep,
                        if fuse { "fusing" } else { "training separately" }
                    );
                    fuse
                }
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("fuse-seeds auto: `{}`: timing probe failed ({e}): training separately", g[0].name);
                    false
                }
            }
        });
        if fuse {
            out.push(g);
        } else {
            out.extend(g.into_iter().map(|c| vec![c]));
        }
    }
    out
}

/// Trains the seeds `group` of one run as one fused network and writes each
/// run's directory exactly as a separate run would. Returns false, having
/// trained nothing to completion, when the group cannot train fused here (a
/// run directory locked elsewhere, checkpoints at different iterations) or
/// when a run diverged: the caller then trains the runs separately, resuming
/// from the checkpoints the group wrote.
fn train_fused_group<E: Experiment>(
    exp: &E,
    group: &[&RunConfig],
    data: &Dataset,
    opts: &RunOptions,
    profile_dir: &Path,
    root: &Path,
) -> anyhow::Result<bool> {
    let ids: Vec<String> = group.iter().map(|c| c.run_id()).collect();
    let label = ids.join(" + ");
    let mut dirs = Vec::new();
    let mut locks = Vec::new();
    for cfg in group {
        match open_run_dir(cfg, data, Some(data), opts, profile_dir, root)? {
            Some((dir, lock)) => {
                dirs.push(dir);
                locks.push(lock);
            }
            None => {
                eprintln!("[{label}] not fused: a run directory is locked by another process");
                return Ok(false);
            }
        }
    }
    if !opts.fresh {
        let at: Vec<Option<i64>> = dirs
            .iter()
            .map(|d| {
                train::checkpoint::load(d)
                    .ok()
                    .flatten()
                    .map(|c| c.0.iteration)
            })
            .collect();
        if at.iter().any(|a| *a != at[0]) {
            eprintln!("[{label}] not fused: the runs' checkpoints are at different iterations ({at:?}); training them separately");
            return Ok(false);
        }
    }
    // Each run's initial weights exactly as a separate run draws them, then fused.
    let mut separate = Vec::new();
    for cfg in group {
        train::seed_init(cfg.seed);
        let vs = VarStore::new(opts.device);
        let net = models::build(&vs.root(), &cfg.model)?;
        separate.push((vs, net));
    }
    let k = group.len() as i64;
    let vs = VarStore::new(opts.device);
    let net = models::build_fused(&vs.root(), &group[0].model, k)?;
    let parts: Vec<&VarStore> = separate.iter().map(|s| &s.0).collect();
    models::fuse::fuse_into(&vs, &parts)?;
    eprintln!("[{label}] training {k} seeds fused as one network");
    let runs: Vec<train::GroupRun> = group
        .iter()
        .zip(&dirs)
        .map(|(cfg, dir)| train::GroupRun { cfg, run_dir: dir })
        .collect();
    let ctx = run_context(data, opts, &dirs[0]);
    let outcomes = train::train_fused(&runs, net.as_ref(), &vs, &ctx)?;
    if let Some((i, o)) = outcomes
        .iter()
        .enumerate()
        .find(|(_, o)| matches!(o.status, RunStatus::Diverged { .. }))
    {
        eprintln!(
            "[{}] diverged in the fused group ({:?}): retraining the group's runs separately from their last checkpoints",
            ids[i], o.status
        );
        return Ok(false);
    }
    for ((((cfg, outcome), (svs, snet)), dir), r) in group
        .iter()
        .zip(&outcomes)
        .zip(&separate)
        .zip(&dirs)
        .zip(0..)
    {
        // The run's own network with its trained weights: final weights and the
        // experiment's measurements as from a separate run.
        models::fuse::load_named(svs, &models::fuse::defuse(&vs, k, r))?;
        finish_run(exp, cfg, outcome, snet.as_ref(), svs, Some(data), dir)?;
    }
    drop(locks);
    Ok(true)
}

/// `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LayoutMode {
    Auto,
    Nchw,
    ChannelsLast,
}

/// Under `--layout auto`, runs shorter than this take the device's default
/// layout: timing both layouts (a few steps each) would cost about as much as
/// the faster one could save.
const LAYOUT_PROBE_MIN_ITERATIONS: i64 = 1_000;

/// What decides a run's layout: its model, batch and numerics.
fn layout_key(cfg: &RunConfig) -> String {
    format!(
        "{}/{}/{:?}",
        serde_json::to_string(&cfg.model).unwrap_or_default(),
        cfg.train.batch_size,
        cfg.train.precision
    )
}

/// The layout a device usually trains faster in: channels-last on CPUs (oneDNN's
/// convolutions are NHWC-native), NCHW on CUDA (cuDNN's fp32 default).
fn device_default_layout(device: Device) -> bool {
    !device.is_cuda()
}

/// Each run's layout (true: channels-last, by run id) without timing anything.
fn default_layouts(
    todo: &[&RunConfig],
    mode: LayoutMode,
    device: Device,
) -> BTreeMap<String, bool> {
    let cl = match mode {
        LayoutMode::Nchw => false,
        LayoutMode::ChannelsLast => true,
        LayoutMode::Auto => device_default_layout(device),
    };
    todo.iter().map(|c| (c.run_id(), cl)).collect()
}

/// Each run's layout (by run id). `auto` times a few training steps of each
/// distinct model in both layouts on this device and takes the faster (the
/// maths is the same, only speed differs, and which layout wins depends on the
/// model and the machine: on this project's 2-core CPU the cuda-convnet net was
/// faster in NCHW in one benchmark and in channels-last in the next).
/// Short runs take the device default, and a run resuming from a checkpoint
/// keeps the layout it started in (bit-identical resume).
fn choose_layouts(
    todo: &[&RunConfig],
    mode: LayoutMode,
    device: Device,
    profile_dir: &Path,
) -> BTreeMap<String, bool> {
    let mut layouts = default_layouts(todo, mode, device);
    if mode != LayoutMode::Auto {
        return layouts;
    }
    let mut probed: BTreeMap<String, Option<bool>> = BTreeMap::new();
    for cfg in todo {
        let run_dir = profile_dir.join("runs").join(cfg.run_id());
        if let Some(cl) = train::checkpoint::recorded_layout(&run_dir) {
            layouts.insert(cfg.run_id(), cl);
            continue;
        }
        if cfg.train.iterations < LAYOUT_PROBE_MIN_ITERATIONS {
            continue;
        }
        let chosen = *probed
            .entry(layout_key(cfg))
            .or_insert_with(|| probe_layout(cfg, device));
        if let Some(cl) = chosen {
            layouts.insert(cfg.run_id(), cl);
        }
    }
    layouts
}

/// Times `cfg`'s model in both layouts: true when channels-last is faster.
fn probe_layout(cfg: &RunConfig, device: Device) -> Option<bool> {
    // Two interleaved rounds of 3 steps, the faster of each kept: some
    // robustness to a machine shared with other work.
    let mut best = [f64::INFINITY; 2];
    for _ in 0..2 {
        for (i, cl) in [false, true].into_iter().enumerate() {
            if let Ok(t) = time_steps(cfg, device, 3, cl) {
                best[i] = best[i].min(t);
            }
        }
    }
    if !(best[0].is_finite() && best[1].is_finite()) {
        return None;
    }
    let cl = best[1] < best[0];
    eprintln!(
        "layout auto: `{}` {:.3} s/step NCHW, {:.3} s/step channels-last: {}",
        cfg.name,
        best[0],
        best[1],
        if cl { "channels-last" } else { "NCHW" }
    );
    Some(cl)
}

/// Times a few steps of each distinct model, prints the expected cost of each
/// run and their total, and says plainly when the total exceeds a day on this
/// device (the `paper` profiles on a CPU: days, ResNet-1202 alone far more).
fn estimate_costs(
    todo: &[&RunConfig],
    device: Device,
    layouts: &BTreeMap<String, bool>,
    profile: &str,
) {
    let mut per_model: BTreeMap<String, f64> = BTreeMap::new();
    eprintln!("expected cost (timed on 2 steps of each model on this device):");
    let mut total = 0.0;
    for cfg in todo {
        let key = format!(
            "{}/{}",
            serde_json::to_string(&cfg.model).unwrap_or_default(),
            cfg.train.batch_size
        );
        let secs = *per_model.entry(key).or_insert_with(|| {
            let channels_last = layouts.get(&cfg.run_id()).copied().unwrap_or(false);
            time_steps(cfg, device, 2, channels_last).unwrap_or(f64::NAN)
        });
        let run_total = secs * cfg.train.iterations as f64;
        total += run_total;
        eprintln!(
            "  {:<24} {:>8} iterations x {:>7.3} s = {}",
            cfg.run_id(),
            cfg.train.iterations,
            secs,
            human_time(run_total)
        );
    }
    eprintln!("  total: {} on {device:?}", human_time(total));
    if let Some(warning) = long_job_warning(total, device, profile) {
        eprintln!("{warning}");
    }
}

/// Refuses bf16 autocast on a CPU that has no bf16 arithmetic: there oneDNN
/// emulates it, and training runs slower than in fp32, which defeats a speed switch.
fn check_bf16_hardware(grid: &[RunConfig], device: &str, allow_slow: bool) -> anyhow::Result<()> {
    let bf16 = grid
        .iter()
        .any(|c| c.train.precision == Precision::Bf16Autocast);
    let on_cpu = device == "cpu" || (device == "auto" && !tch::Cuda::is_available());
    let isa = crate::provenance::CpuIsa::this_cpu();
    if bf16 && on_cpu && !isa.bf16 && !allow_slow {
        anyhow::bail!(
            "--bf16 on this CPU ({}): it has no bf16 arithmetic (AVX512-BF16 or AMX-BF16), \
             so bf16 autocast is emulated and trains slower than fp32. Train in fp32 (drop \
             --bf16), use a GPU, or pass --allow-slow-bf16 to train it anyway",
            isa.label()
        );
    }
    Ok(())
}

/// The plain warning printed before a job of more than a day on this device.
pub fn long_job_warning(total_s: f64, device: Device, profile: &str) -> Option<String> {
    const DAY: f64 = 86_400.0;
    if total_s.is_nan() || total_s <= DAY {
        return None;
    }
    let mut msg = format!(
        "NOTE: the `{profile}` profile will train for about {} on this device ({device:?}).",
        human_time(total_s)
    );
    if profile != "quick" {
        msg.push_str(
            "\n      To see each effect in about half an hour on a CPU instead, stop now \
             (Ctrl-C) and rerun with `--profile quick` (a shortened recipe, labelled so).\n      \
             `--estimate-only` prints this estimate without training; interrupted runs resume.",
        );
    }
    Some(msg)
}

/// Seconds per training step of `cfg`'s model on random data (after one warm-up step).
pub fn time_steps(
    cfg: &RunConfig,
    device: Device,
    steps: usize,
    channels_last: bool,
) -> Result<f64> {
    time_group_steps(cfg, 1, device, steps, channels_last)
}

/// `time_steps` for `runs` seeds fused into one network (one step trains all of them).
pub fn time_group_steps(
    cfg: &RunConfig,
    runs: i64,
    device: Device,
    steps: usize,
    channels_last: bool,
) -> Result<f64> {
    // Time the numerics the run will train in.
    train::precision::set_cuda_numerics(cfg.train.precision);
    let vs = VarStore::new(device);
    let net = if runs == 1 {
        models::build(&vs.root(), &cfg.model)?
    } else {
        models::build_fused(&vs.root(), &cfg.model, runs)?
    };
    let mut sgd = train::sgd::Sgd::new(
        &vs,
        cfg.train.momentum,
        cfg.train.weight_decay,
        cfg.train.velocity,
        channels_last,
    );
    let [c, h, w] = models::input_shape(&cfg.model);
    let b = cfg.train.batch_size;
    let x = tch::Tensor::randn([b, runs * c, h, w], (tch::Kind::Float, device));
    let x = if channels_last {
        train::sgd::to_channels_last(&x)
    } else {
        x
    };
    let y = if runs == 1 {
        tch::Tensor::zeros([b], (tch::Kind::Int64, device))
    } else {
        tch::Tensor::zeros([b, runs], (tch::Kind::Int64, device))
    };
    let mut step = || {
        let logits = train::precision::forward(net.as_ref(), &x, true, cfg.train.precision);
        let (loss, _) = train::group_loss(&logits, &y, runs);
        sgd.step(&loss, 1e-6);
        let _ = f64::try_from(loss.detach().to_device(Device::Cpu));
    };
    step();
    let t0 = std::time::Instant::now();
    for _ in 0..steps {
        step();
    }
    Ok(t0.elapsed().as_secs_f64() / steps as f64)
}

pub fn human_time(s: f64) -> String {
    if !s.is_finite() {
        "?".into()
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 2.0 * 86_400.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86_400.0)
    }
}

/// Reads the metrics of the profile's grid (runs whose config still matches).
#[allow(clippy::too_many_arguments)]
fn collect<E: Experiment>(
    exp: &E,
    profile_name: &str,
    profile: &ProfileHeader,
    configs: &BTreeMap<String, RunConfig>,
    seeds: &[u64],
    profile_dir: &Path,
    faithful: bool,
    root: &Path,
) -> Result<Results> {
    let mut rows = Vec::new();
    // The commits that trained the runs (from their provenance), not the one drawing the report.
    let mut commits: Vec<String> = Vec::new();
    for (id, cfg) in configs {
        let dir = profile_dir.join("runs").join(id);
        let path = dir.join("metrics.parquet");
        if !path.exists() {
            continue;
        }
        match read_status(&dir) {
            Some(s) if same_config(&dir, &s, cfg) => {}
            Some(_) => {
                eprintln!("[{id}] results are from another configuration (config changed since): left out");
                continue;
            }
            None => continue,
        }
        rows.extend(read_parquet(&path)?);
        if let Some(p) = std::fs::read(dir.join("provenance.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Provenance>(&b).ok())
        {
            commits.push(p.commit_label());
        }
    }
    commits.sort();
    commits.dedup();
    let mut datasets: Vec<String> = rows.iter().map(|r| r.dataset.clone()).collect();
    datasets.sort();
    datasets.dedup();
    let mut devices: Vec<String> = rows.iter().map(|r| r.device.clone()).collect();
    devices.sort();
    devices.dedup();
    let mut precisions: Vec<String> = rows.iter().map(|r| r.precision.clone()).collect();
    precisions.sort();
    precisions.dedup();
    let drawn_by = Provenance::collect(root, "", "", "").commit_label();
    let commit = match commits.as_slice() {
        [] => drawn_by,
        [one] if *one == drawn_by => drawn_by,
        runs => format!(
            "runs trained at {}; report drawn at {drawn_by}",
            runs.join(", ")
        ),
    };
    let header = Header {
        title: exp.title().into(),
        paper: exp.paper().into(),
        experiment: exp.name().into(),
        profile: profile_name.into(),
        profile_description: profile.description.clone(),
        faithful: faithful && rows.iter().all(|r| r.faithful),
        datasets,
        devices,
        precisions,
        seeds: seeds.to_vec(),
        commit,
        command: format!(
            "cargo run --release -p {} -- --profile {profile_name}",
            exp.name()
        ),
    };
    Ok(Results {
        runs: report::Runs::new(&rows),
        rows,
        header,
        profile: profile.clone(),
        configs: configs.clone(),
        profile_dir: profile_dir.to_path_buf(),
    })
}

/// Combined metrics, figures, report.
pub fn write_outputs<E: Experiment>(exp: &E, res: &Results) -> Result<()> {
    write_parquet(&res.profile_dir.join("metrics.parquet"), &res.rows)?;
    let mut stems = Vec::new();
    for (stem, fig) in exp.figures(res) {
        figures::render(&fig, &res.profile_dir.join(&stem))?;
        stems.push(stem);
    }
    let claims = exp.claims(res);
    let tables = exp.tables(res);
    let mut runs = Vec::new();
    for id in res.configs.keys() {
        let st = read_status(&res.run_dir(id))
            .map(|s| format!("{} ({} iterations)", s.status, s.iterations))
            .unwrap_or_else(|| "not run".into());
        runs.push((id.clone(), st));
    }
    report::write(
        &res.profile_dir,
        &res.header,
        &claims,
        &tables,
        &stems,
        &runs,
    )?;
    eprintln!("\n{} — claims:", exp.title());
    for c in &claims {
        eprintln!(
            "  [{}] {}: {} — measured {}",
            c.verdict.label(),
            c.id,
            c.statement,
            c.measured
        );
    }
    eprintln!("report: {}", res.profile_dir.join("report.md").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXP: &str = r#"
[experiment]
name = "t"
[defaults.data]
normalize = "per-pixel-mean"
augment = "none"
[defaults.train]
batch_size = 8
iterations = 40
lr = 0.01
schedule = { kind = "constant" }
momentum = 0.9
weight_decay = 1e-4
velocity = "lr-inside"
log_every = 5
eval_every = 20
checkpoint_every = 10
[runs.short]
model = { family = "cifar-resnet", depth = 8, residual = true, width = 4 }
[runs.long]
model = { family = "cifar-resnet", depth = 8, residual = true, width = 4 }
train.iterations = 5_000
[profiles.paper]
description = "test"
runs = ["short", "long"]
seeds = [1]
"#;

    #[test]
    fn layout_auto_keeps_a_resumed_runs_layout_and_defaults_short_runs() {
        let file = ExperimentFile::parse(EXP, Path::new("t.toml")).expect("config");
        let short = file.resolve("paper", "short", 1, &[]).expect("short");
        let long = file.resolve("paper", "long", 1, &[]).expect("long");
        let tmp = tempfile::tempdir().expect("tmp");
        let cpu = Device::Cpu;

        // Fixed layouts are taken as given.
        let fixed = choose_layouts(&[&short, &long], LayoutMode::Nchw, cpu, tmp.path());
        assert_eq!(
            fixed.values().copied().collect::<Vec<_>>(),
            vec![false, false]
        );

        // Auto: the short run takes the CPU default (channels-last) untimed.
        let auto = choose_layouts(&[&short], LayoutMode::Auto, cpu, tmp.path());
        assert_eq!(auto.get(&short.run_id()), Some(&true));

        // A run with a checkpoint keeps the layout recorded there.
        let dir = tmp.path().join("runs").join(short.run_id());
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(
            dir.join(train::checkpoint::META_FILE),
            r#"{"channels_last": false, "iteration": 10}"#,
        )
        .expect("write");
        let resumed = choose_layouts(&[&short], LayoutMode::Auto, cpu, tmp.path());
        assert_eq!(resumed.get(&short.run_id()), Some(&false));

        // A long run is timed in both layouts and gets one of them.
        let timed = choose_layouts(&[&long], LayoutMode::Auto, cpu, tmp.path());
        assert!(timed.contains_key(&long.run_id()));
    }

    #[test]
    fn a_job_over_a_day_is_announced_with_the_quick_alternative() {
        assert_eq!(long_job_warning(3_600.0, Device::Cpu, "paper"), None);
        assert_eq!(long_job_warning(f64::NAN, Device::Cpu, "paper"), None);
        let w = long_job_warning(5.0 * 86_400.0, Device::Cpu, "paper").expect("warns");
        assert!(w.contains("5.0 days"), "{w}");
        assert!(w.contains("--profile quick"), "{w}");
        // A quick profile that is still long is announced without advising itself.
        let q = long_job_warning(2.0 * 86_400.0, Device::Cpu, "quick").expect("warns");
        assert!(!q.contains("--profile quick"), "{q}");
    }
}
