//! Training the planned runs: load the data, then each group of runs (fused
//! seeds or a single run), each writing its run directory; runs already
//! finished with their config are skipped, interrupted ones resume.
use super::cli::Args;
use super::experiment::Experiment;
use super::groups::plan_groups;
use super::plan::Plan;
use super::probes::{self, Layouts};
use super::reuse;
use super::run_dir::{OpenRun, RunDir, RunState, StatusFile};
use super::run_dir::{RunDirWithConfig, StatusOf};
use crate::config::{DatasetKind, RunConfig};
use crate::data::{imagenet::ImageNetData, Dataset, TrainData};
use crate::error::IoContext;
use crate::layout::Layout;
use crate::models::{self, Network};
use crate::provenance::DataIdentity;
use crate::runtime::device_name;
use crate::train::{self, RunStatus, TrainContext};
use std::collections::BTreeMap;
use std::path::Path;
use tch::nn::VarStore;
use tch::Device;

/// How the runs of one invocation train.
#[derive(Clone)]
struct RunOptions<'a> {
    plan: &'a Plan,
    device: Device,
    device_label: String,
    fresh: bool,
    layouts: Layouts,
    /// `--threads`, when given.
    threads: Option<i32>,
    /// libtorch's intra-op thread count when training began.
    default_threads: i32,
}

impl RunOptions<'_> {
    fn layout(&self, cfg: &RunConfig) -> Layout {
        self.layouts
            .get(&cfg.run_id())
            .copied()
            .unwrap_or(Layout::Nchw)
    }

    /// These options for training `runs` (one run or a fused group), with
    /// libtorch's thread count set to the one they train with: `--threads`
    /// when given; else, for runs that resume, the count their checkpoint was
    /// written with (float sums are split by thread: a resume with another
    /// count is not bit-identical to an uninterrupted run); else the count
    /// training began with. The device label says it.
    fn with_threads_for(&self, runs: &[&RunConfig]) -> Self {
        let recorded = || {
            runs.iter()
                .find_map(|c| super::resumed::recorded_threads(&self.plan.run_dir(c)))
        };
        let n = self
            .threads
            .or_else(|| (!self.fresh).then(recorded).flatten())
            .unwrap_or(self.default_threads);
        if n != tch::get_num_threads() {
            tch::set_num_threads(n);
        }
        Self {
            device_label: device_name(self.device),
            ..self.clone()
        }
    }
}

/// Trains what the plan has left to train (or, with `--estimate-only`, only
/// prints its cost). Returns false when it stopped after the estimate.
pub fn train_planned<E: Experiment>(exp: &E, plan: &Plan, args: &Args) -> anyhow::Result<bool> {
    let device = super::cli::select_device(args.device)?;
    if device.is_cuda() {
        tch::Cuda::cudnn_set_benchmark(true);
    }
    check_fits(&plan.todo(args.fresh), device)?;
    check_writable(&plan.profile_dir)?;
    let device_label = device_name(device);
    let raw = if args.estimate_only {
        None
    } else {
        settle_with_data(plan, args)?
    };
    let todo = plan.todo(args.fresh);
    announce(exp, plan, todo.len(), &device_label);
    if args.estimate_only {
        let layouts = probes::default_layouts(&todo, args.layout, device);
        probes::estimate_costs(&todo, device, &layouts, &plan.profile_name);
        return Ok(false);
    }
    if todo.is_empty() {
        return Ok(true);
    }
    train::stop_on_signals().map_err(|e| anyhow::anyhow!("installing signal handlers: {e}"))?;
    let layouts = probes::choose_layouts(&todo, args.layout, device, &plan.profile_dir);
    if !args.no_estimate {
        let total = probes::estimate_costs(&todo, device, &layouts, &plan.profile_name);
        if let Some(refusal) = probes::long_job_refusal(total, args.yes, &plan.profile_name) {
            return Err(crate::exit::BadInput(refusal).into());
        }
    }
    let opts = RunOptions {
        plan,
        device,
        device_label,
        fresh: args.fresh,
        layouts,
        threads: args.threads,
        default_threads: tch::get_num_threads(),
    };
    let (cifar, folder): (Vec<&RunConfig>, Vec<&RunConfig>) = todo
        .into_iter()
        .partition(|c| c.data.dataset == DatasetKind::Cifar10);
    if !folder.is_empty() {
        train_folder_runs(exp, &folder, args, &opts)?;
    }
    if !cifar.is_empty() {
        let raw = match raw {
            Some(raw) => raw,
            None => load_cifar(plan, args)?,
        };
        train_cifar_runs(exp, &cifar, &raw, args, &opts)?;
    }
    Ok(true)
}

/// Settles the stale runs (`stale::settle`): those of other training code,
/// and, once this invocation's CIFAR-10 data is loaded, those trained on
/// other data. The data is loaded when CIFAR-10 runs are left to train, or
/// when `--data` names it and selected runs have results or checkpoints to
/// check against it (never just to check: no download for that). Returns the
/// data when CIFAR-10 runs are left to train.
fn settle_with_data(plan: &Plan, args: &Args) -> anyhow::Result<Option<cifar10::Cifar10>> {
    let cifar = |c: &&RunConfig| c.data.dataset == DatasetKind::Cifar10;
    let cifar_left = |plan: &Plan| plan.todo(args.fresh).iter().any(cifar);
    let mut raw = None;
    if cifar_left(plan) || (args.data.is_some() && has_cifar_records(plan)) {
        raw = Some(load_cifar(plan, args)?);
    }
    super::stale::settle(plan, args, raw.as_ref().map(identity).as_ref())?;
    if raw.is_none() && cifar_left(plan) {
        // Runs started over (--fresh-stale) are left to train now: the data
        // they train on is loaded, and the runs on other data start over too.
        let loaded = load_cifar(plan, args)?;
        super::stale::settle(plan, args, Some(&identity(&loaded)))?;
        raw = Some(loaded);
    }
    Ok(raw.filter(|_| cifar_left(plan)))
}

/// Whether a selected CIFAR-10 run ended or holds a checkpoint: has a data
/// record to check.
fn has_cifar_records(plan: &Plan) -> bool {
    plan.grid
        .iter()
        .filter(|c| c.data.dataset == DatasetKind::Cifar10)
        .any(|c| {
            let dir = plan.run_dir(c);
            dir.ended_with(c).is_some() || dir.has_checkpoint()
        })
}

/// The identity of the CIFAR-10 data `--data` names, when selected runs have
/// records to check against it (`--list-runs` lists those on other data as
/// stale); None without `--data` (nothing is downloaded just to check).
pub(super) fn data_to_check(plan: &Plan, args: &Args) -> anyhow::Result<Option<DataIdentity>> {
    if args.data.is_none() || !has_cifar_records(plan) {
        return Ok(None);
    }
    Ok(Some(identity(&load_cifar(plan, args)?)))
}

/// CIFAR-10 from `--data` (or the official download) through the decoded-data cache.
pub(super) fn load_cifar(plan: &Plan, args: &Args) -> anyhow::Result<cifar10::Cifar10> {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| plan.root.join("data"));
    let source = match &args.data {
        Some(p) => cifar10::Source::Path(p.clone()),
        None => cifar10::Source::official(),
    };
    let raw = cifar10::load(&source, &data_dir, &|m| crate::say!("data: {m}"))?;
    crate::say!(
        "data: {} ({} train, {} test images) from {}",
        raw.label,
        raw.train.len(),
        raw.test.len(),
        raw.source
    );
    Ok(raw)
}

/// What a run on `raw` records as its data.
pub(super) fn identity(raw: &cifar10::Cifar10) -> DataIdentity {
    DataIdentity {
        label: raw.label.clone(),
        sha256: raw.source_sha256.clone(),
    }
}

/// Refuses, before anything is built or written, a run whose model cannot fit
/// the device's memory (a lower bound on what a training step takes, against
/// the device's total memory; no check where either is unknown).
fn check_fits(todo: &[&RunConfig], device: Device) -> anyhow::Result<()> {
    let Some(total) = device_memory_bytes(device) else {
        return Ok(());
    };
    for cfg in todo {
        let models::ModelConfig::CifarResnet(c) = &cfg.model else {
            continue;
        };
        let need = c.min_training_bytes(cfg.train.batch_size);
        if need > total {
            anyhow::bail!(
                "[{}] model.depth = {}: training needs at least {} (weights, gradients, momentum \
                 and the activations of a batch of {}), more than the {} of {device:?}; \
                 a smaller model.depth or train.batch_size fits",
                cfg.run_id(),
                c.depth,
                gib(need),
                cfg.train.batch_size,
                gib(total)
            );
        }
    }
    Ok(())
}

fn gib(bytes: u128) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u128 << 30) as f64)
}

/// Total memory of the device: the machine's RAM for the CPU (`/proc/meminfo`),
/// the GPU's own (`nvidia-smi`) for CUDA; None where it cannot be read.
fn device_memory_bytes(device: Device) -> Option<u128> {
    match device {
        Device::Cuda(i) => {
            let o = std::process::Command::new("nvidia-smi")
                .args(["--query-gpu=memory.total", "--format=csv,noheader,nounits"])
                .arg(format!("--id={i}"))
                .output()
                .ok()?;
            let mib: u128 = String::from_utf8_lossy(&o.stdout).trim().parse().ok()?;
            Some(mib << 20)
        }
        _ => {
            let info = std::fs::read_to_string("/proc/meminfo").ok()?;
            let kib: u128 = info
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(kib << 10)
        }
    }
}

/// Fails early, and without touching earlier results, on an unwritable output directory.
fn check_writable(profile_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(profile_dir).at(profile_dir)?;
    let probe = profile_dir.join(format!(".write-probe-{}", std::process::id()));
    crate::io::write_bytes_atomic(&probe, b"ok").map_err(|e| {
        anyhow::anyhow!(
            "output directory {} is not writable: {e}",
            profile_dir.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn announce<E: Experiment>(exp: &E, plan: &Plan, todo: usize, device_label: &str) {
    let notes = if plan.fidelity_notes.is_empty() {
        String::new()
    } else {
        format!(": {}", plan.fidelity_notes.join("; "))
    };
    crate::say!(
        "{}: profile `{}` ({}{notes}){}, {} run(s) in the grid, {todo} to train, device {device_label}",
        exp.name(),
        plan.profile_name,
        plan.fidelity,
        if plan.reduced_precision {
            " in reduced precision, --bf16/--tf32 (not the paper's numerics)"
        } else {
            ""
        },
        plan.grid.len(),
    );
}

fn train_folder_runs<E: Experiment>(
    exp: &E,
    runs: &[&RunConfig],
    args: &Args,
    opts: &RunOptions,
) -> anyhow::Result<()> {
    let root_dir = args.data.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "runs on an ImageNet image folder need --data /path/to/imagenet (with train/ and val/)"
        )
    })?;
    let data = ImageNetData::open(&root_dir, opts.device)?;
    crate::say!("data: {}", data.label());
    for cfg in runs {
        stop_if_signalled()?;
        train_one(exp, cfg, &data, None, opts)?;
    }
    stop_if_signalled()
}

fn train_cifar_runs<E: Experiment>(
    exp: &E,
    runs: &[&RunConfig],
    raw: &cifar10::Cifar10,
    args: &Args,
    opts: &RunOptions,
) -> anyhow::Result<()> {
    let mut datasets: BTreeMap<String, Dataset> = BTreeMap::new();
    let mut to_train = Vec::new();
    for cfg in runs {
        let found = args.reuse_runs.as_deref().map(|root| {
            let own = opts.plan.run_dir(cfg);
            if own.has_checkpoint() {
                return Ok(None); // an interrupted run of its own resumes
            }
            reuse::find(
                root,
                cfg,
                own.path(),
                &raw.source_sha256,
                &opts.device_label,
            )
        });
        let found = found.transpose()?.flatten();
        match found {
            Some(source) => {
                stop_if_signalled()?;
                let data = dataset_for(&mut datasets, raw, cfg, opts.device)?;
                reuse_one(exp, cfg, &source, data, opts)?;
            }
            None => to_train.push(*cfg),
        }
    }
    let groups = plan_groups(
        &to_train,
        args.fuse_seeds,
        args.fuse_max(),
        opts.device,
        &opts.layouts,
    );
    for group in groups {
        stop_if_signalled()?;
        let data = dataset_for(&mut datasets, raw, group[0], opts.device)?;
        if group.len() > 1 && train_fused_group(exp, &group, data, opts)? {
            continue;
        }
        // Not fused, or a fused group that stopped on a diverged run: each run
        // separately (resuming from its checkpoints).
        let separate = RunOptions {
            fresh: opts.fresh && group.len() == 1,
            ..opts.clone()
        };
        for cfg in group {
            stop_if_signalled()?;
            train_one(exp, cfg, data, Some(data), &separate)?;
        }
    }
    stop_if_signalled()
}

/// The dataset `cfg` trains on, built once per distinct data config.
fn dataset_for<'a>(
    datasets: &'a mut BTreeMap<String, Dataset>,
    raw: &cifar10::Cifar10,
    cfg: &RunConfig,
    device: Device,
) -> anyhow::Result<&'a Dataset> {
    // Everything Dataset::new reads: splits, and the RGB PCA that only PCA
    // colour augmentation computes.
    let d = &cfg.data;
    let key = format!(
        "{}/{}/{}/{:?}",
        d.validation, d.train_subset, d.test_subset, d.colour
    );
    Ok(match datasets.entry(key) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => e.insert(Dataset::new(raw, d, device)?),
    })
}

/// `--reuse-runs`: writes `source`'s results as `cfg`'s run (`reuse`).
fn reuse_one<E: Experiment>(
    exp: &E,
    cfg: &RunConfig,
    source: &reuse::Source,
    data: &Dataset,
    opts: &RunOptions,
) -> anyhow::Result<()> {
    let opts = &opts.with_threads_for(&[cfg]);
    let Some(run) = open_run(cfg, data, Some(data), opts)? else {
        return Ok(());
    };
    reuse::copy_into(
        exp,
        cfg,
        source,
        &run.dir,
        data,
        opts.plan.fidelity,
        opts.device,
    )
}

/// After a stop signal (`train::stop_on_signals`) the run in progress has
/// checkpointed and stopped; no further run starts. The binary then exits
/// `exit::INTERRUPTED` (75), which callers (`sweep`, Slurm) read as "resume".
fn stop_if_signalled() -> anyhow::Result<()> {
    if train::stop_requested() {
        return Err(crate::exit::Interrupted(
            "stopped by a signal: the run in progress saved a checkpoint; the same command resumes it".into(),
        )
        .into());
    }
    Ok(())
}

fn open_run(
    cfg: &RunConfig,
    data: &dyn TrainData,
    cifar: Option<&Dataset>,
    opts: &RunOptions,
) -> crate::Result<Option<OpenRun>> {
    let sha = cifar.map(|d| d.source_sha256.as_str()).unwrap_or_default();
    opts.plan.run_dir(cfg).open(
        cfg,
        data,
        sha,
        &opts.device_label,
        opts.fresh,
        &opts.plan.root,
    )
}

fn context<'a>(
    data: &'a dyn TrainData,
    opts: &RunOptions,
    run_dir: &'a Path,
    layout: Layout,
) -> TrainContext<'a> {
    TrainContext {
        data,
        device: opts.device,
        run_dir,
        resume: !opts.fresh,
        device_label: opts.device_label.clone(),
        fidelity: opts.plan.fidelity,
        stop_at_checkpoint_after: None,
        progress: true,
        layout,
    }
}

/// Trains (or resumes) one run and writes its directory.
fn train_one<E: Experiment>(
    exp: &E,
    cfg: &RunConfig,
    data: &dyn TrainData,
    cifar: Option<&Dataset>,
    opts: &RunOptions,
) -> anyhow::Result<()> {
    // Checked before the run's directory is opened: a refusal writes nothing.
    let init = match models::init_from(&cfg.model) {
        models::InitFrom::Run { run, layers } => Some((init_source(cfg, run, opts.plan)?, layers)),
        models::InitFrom::Random => None,
    };
    let opts = &opts.with_threads_for(&[cfg]);
    let Some(run) = open_run(cfg, data, cifar, opts)? else {
        return Ok(());
    };
    train::seed_init(cfg.seed);
    let vs = VarStore::new(opts.device);
    let net = models::build(&vs.root(), &cfg.model)?;
    if let Some((src, layers)) = init {
        // VGG Sec. 3.1: the named layers of the earlier run, or all of them.
        train::transfer::init_from(&vs, &src, layers)?;
    }
    let ctx = context(data, opts, run.dir.path(), opts.layout(cfg));
    let outcome = train::train_run(cfg, net.as_ref(), &vs, &ctx)?;
    finish_run(exp, cfg, &outcome, net.as_ref(), &vs, cifar, &run.dir)
}

/// VGG Sec. 3.1: the final weights of the earlier run `from` (same seed) that
/// `cfg` starts from (`model.init_from`), present and as that run wrote them
/// (the digest its status recorded).
fn init_source(cfg: &RunConfig, from: &str, plan: &Plan) -> anyhow::Result<std::path::PathBuf> {
    let dir = RunDir::new(&plan.profile_dir, &records::run_dir::run_id(from, cfg.seed));
    let src = dir.final_weights();
    if !src.is_file() {
        anyhow::bail!(
            "run `{}`: model.init_from = \"{from}\": no trained weights at {}; list \"{from}\" before \"{}\" in the profile's runs (or train it first)",
            cfg.run_id(),
            src.display(),
            cfg.name
        );
    }
    let status = dir
        .read_status()
        .filter(|s| s.status == RunState::Completed)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "run `{}`: model.init_from = \"{from}\": {} does not say that `{from}` completed",
                cfg.run_id(),
                dir.status().display()
            )
        })?;
    dir.check_final_weights(&status).map_err(|e| {
        anyhow::anyhow!(
            "run `{}`: model.init_from = \"{from}\": {e}; not trained from them: retrain `{from}` (--runs {from} --fresh)",
            cfg.run_id()
        )
    })?;
    Ok(src)
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
    dir: &RunDir,
) -> anyhow::Result<()> {
    crate::metrics::write_parquet(&dir.metrics(), &outcome.rows)?;
    let mut status = StatusFile::of(cfg, outcome);
    let line = status.end_line(cfg, &outcome.rows, outcome.resumed_from);
    crate::say!("{line}");
    crate::progress::append_log(dir.path(), &line);
    if status.status == RunState::Completed {
        // Kept for runs that initialise from this one (git-ignored), with its
        // digest in the status, checked by whatever uses the file later.
        let weights = train::transfer::save_final(vs, dir.path())?;
        status.final_weights_sha256 = Some(crate::io::sha256_file(&weights)?);
        if let Some(d) = cifar {
            exp.after_run(cfg, net, d, dir.path())?;
        }
    }
    dir.write_status(&status)?;
    // An interrupted run (a stop signal) keeps its checkpoint: a rerun resumes it.
    if status.status != RunState::Interrupted {
        train::checkpoint::remove(dir.path());
    }
    Ok(())
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
) -> anyhow::Result<bool> {
    let label = group
        .iter()
        .map(|c| c.run_id())
        .collect::<Vec<_>>()
        .join(" + ");
    let opts = &opts.with_threads_for(group);
    let Some(open) = open_group(group, data, opts, &label)? else {
        return Ok(false);
    };
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
    crate::say!("[{label}] training {k} seeds fused as one network");
    let runs: Vec<train::GroupRun> = group
        .iter()
        .zip(&open)
        .map(|(cfg, run)| train::GroupRun {
            cfg,
            run_dir: run.dir.path(),
        })
        .collect();
    let ctx = context(data, opts, open[0].dir.path(), opts.layout(group[0]));
    let outcomes = train::train_fused(&runs, net.as_ref(), &vs, &ctx)?;
    if let Some((cfg, o)) = group
        .iter()
        .zip(&outcomes)
        .find(|(_, o)| matches!(o.status, RunStatus::Diverged { .. }))
    {
        crate::say!(
            "[{}] diverged in the fused group ({:?}): retraining the group's runs separately from their last checkpoints",
            cfg.run_id(),
            o.status
        );
        return Ok(false);
    }
    for (r, (((cfg, outcome), (svs, snet)), run)) in group
        .iter()
        .zip(&outcomes)
        .zip(&separate)
        .zip(&open)
        .enumerate()
    {
        // The run's own network with its trained weights: final weights and the
        // experiment's measurements as from a separate run.
        models::fuse::load_named(svs, &models::fuse::defuse(&vs, k, r as i64))?;
        finish_run(exp, cfg, outcome, snet.as_ref(), svs, Some(data), &run.dir)?;
    }
    Ok(true)
}

/// Opens (and locks) every run directory of a fused group; None when the group
/// cannot train fused (a directory locked elsewhere, checkpoints at different iterations).
fn open_group(
    group: &[&RunConfig],
    data: &Dataset,
    opts: &RunOptions,
    label: &str,
) -> anyhow::Result<Option<Vec<OpenRun>>> {
    let mut open = Vec::new();
    for cfg in group {
        match open_run(cfg, data, Some(data), opts)? {
            Some(run) => open.push(run),
            None => {
                crate::say!("[{label}] not fused: a run directory is locked by another process");
                return Ok(None);
            }
        }
    }
    if !opts.fresh {
        let at: Vec<Option<i64>> = open
            .iter()
            .map(|r| {
                train::checkpoint::load(r.dir.path())
                    .ok()
                    .flatten()
                    .map(|c| c.0.iteration)
            })
            .collect();
        if at.iter().any(|a| *a != at[0]) {
            crate::say!("[{label}] not fused: the runs' checkpoints are at different iterations ({at:?}); training them separately");
            return Ok(None);
        }
    }
    Ok(Some(open))
}
