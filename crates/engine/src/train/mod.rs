//! The training loop, shared by every experiment: by iterations, SGD with
//! momentum, learning-rate schedules, logging windows, evaluation, checkpoints,
//! resume, divergence.
//!
//! Per step, everything stays on the device: batch gather, normalisation,
//! augmentation, forward/backward, the update, and the running loss/error sums.
//! The host reads those sums once per logging window.
//!
//! `train_run` and `train_fused` check what they are given; the loop itself is
//! in `group` (its steps: resume, batch, step, window, evaluate, early stop,
//! divergence, checkpoint), checkpoint state in `checkpoint` and `resume`.
pub mod checkpoint;
mod group;
mod resume;
pub mod schedule;
pub mod sgd;
pub mod transfer;

/// Set by SIGINT, SIGTERM or SIGUSR1 once `stop_on_signals` has run: the
/// training loop then checkpoints at the step it is at and stops the run as
/// interrupted (a rerun resumes it bit-identically). Slurm sends SIGUSR1 before
/// a time limit (`--signal=B:USR1@120`) and SIGTERM on `scancel` or preemption;
/// Ctrl-C is SIGINT. A second signal ends the process at once (exit 130).
static STOP: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
    std::sync::OnceLock::new();

/// Installs the handlers of `STOP` (once per process; later calls do nothing).
pub fn stop_on_signals() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
    static INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if INSTALLED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Ok(());
    }
    let flag = STOP.get_or_init(Default::default);
    for sig in [SIGINT, SIGTERM, SIGUSR1] {
        // Order matters: the first signal finds the flag unset and only sets
        // it; a second one finds it set and exits.
        signal_hook::flag::register_conditional_shutdown(sig, 130, flag.clone())?;
        signal_hook::flag::register(sig, flag.clone())?;
    }
    Ok(())
}

/// Whether a stop signal has arrived (`stop_on_signals`).
pub fn stop_requested() -> bool {
    STOP.get()
        .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
}

use crate::config::RunConfig;
use crate::data::TrainData;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::models::Network;
use crate::seeds::{derive_seed, with_seed, Stream};
use records::metrics::MetricRow;
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// Where and how a run trains.
pub struct TrainContext<'a> {
    pub data: &'a dyn TrainData,
    pub device: Device,
    /// Checkpoints go here.
    pub run_dir: &'a Path,
    /// Continue from a checkpoint in `run_dir` when there is one.
    pub resume: bool,
    pub device_label: String,
    /// The plan's label, carried into every row (lowered there for reduced
    /// precision and stand-in datasets).
    pub fidelity: crate::config::Fidelity,
    /// Stop (as if killed) at the first checkpoint at or after this iteration. For tests.
    pub stop_at_checkpoint_after: Option<i64>,
    pub progress: bool,
    /// Memory layout of activations and conv weights (same maths either way).
    pub layout: Layout,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    Completed,
    /// The loss became NaN/inf at this iteration; the run stopped there.
    Diverged {
        iteration: i64,
    },
    /// Stopped on request after a checkpoint (tests).
    Interrupted {
        iteration: i64,
    },
    /// Fused training only: another run of the fused group diverged at this
    /// iteration and the group stopped. This run is unfinished; its last
    /// checkpoint is intact (the driver retrains it separately from there).
    GroupStopped {
        iteration: i64,
    },
}

#[derive(Debug)]
pub struct RunOutcome {
    pub status: RunStatus,
    pub rows: Vec<MetricRow>,
    /// Iteration the run resumed from (0 for a fresh start).
    pub resumed_from: i64,
}

/// Seeds libtorch for building the run's network: call before `models::build`.
pub fn seed_init(seed: u64) {
    tch::manual_seed(derive_seed(seed, Stream::Init, 0) as i64);
}

/// The permutation of the training set for `epoch` of a run with `seed`.
pub fn epoch_permutation(seed: u64, epoch: i64, n: i64, device: Device) -> Tensor {
    with_seed(derive_seed(seed, Stream::Order, epoch as u64), || {
        Tensor::randperm(n, (Kind::Int64, Device::Cpu)).to_device(device)
    })
}

/// Trains `net` (whose variables are in `vs`) as `cfg` says.
pub fn train_run(
    cfg: &RunConfig,
    net: &dyn Network,
    vs: &VarStore,
    ctx: &TrainContext,
) -> Result<RunOutcome> {
    let run = GroupRun {
        cfg,
        run_dir: ctx.run_dir,
    };
    let mut out = group::train_group(&[run], net, vs, ctx)?;
    out.pop()
        .ok_or_else(|| Error::Other("training returned no outcome".into()))
}

/// One run of a fused group: its config and the directory its checkpoints go to.
#[derive(Debug, Clone, Copy)]
pub struct GroupRun<'a> {
    pub cfg: &'a RunConfig,
    pub run_dir: &'a Path,
}

/// Why `cfg` cannot be trained fused with other seeds (naming the config key);
/// None when it can. Fusion needs a learning rate that is the same for every
/// seed at every iteration (no schedule reacting to the run's own errors), an
/// end that is the same for every seed, resident CIFAR data and a fused builder.
pub fn fusion_blocker(cfg: &RunConfig) -> Option<String> {
    use crate::config::{DatasetKind, Schedule};
    let t = &cfg.train;
    if let Some(why) = crate::models::fusion_unsupported(&cfg.model) {
        return Some(why);
    }
    if matches!(t.schedule, Schedule::Plateau { .. }) {
        return Some("train.schedule = plateau: its drops follow each run's own validation error; fused seeds need a constant or step schedule".into());
    }
    if t.warmup.is_some() {
        return Some("train.warmup: warm-up ends on each run's own training error; fused seeds need a learning rate that does not depend on the run".into());
    }
    if t.stop_at_train_error_below.is_some() {
        return Some("train.stop_at_train_error_below: each run would stop at its own epoch; fused seeds train for the same iterations".into());
    }
    if !cfg.data.test_scales.is_empty() {
        return Some("data.test_scales: multi-scale testing has no fused evaluation".into());
    }
    if cfg.data.test_flip {
        return Some("data.test_flip: the flip-averaged test has no fused evaluation".into());
    }
    if cfg.data.dataset != DatasetKind::Cifar10 {
        return Some("data.dataset: fused seeds need CIFAR-10 resident on the device".into());
    }
    None
}

/// Checks that `runs` can train as one fused group: each fusable, all with the
/// same configuration but the seed, seeds distinct.
pub fn check_fusable(runs: &[GroupRun]) -> Result<()> {
    let Some(first) = runs.first() else {
        return Err(Error::Config("fused training of an empty group".into()));
    };
    let hash = first.cfg.config_hash();
    let mut seeds = std::collections::BTreeSet::new();
    for r in runs {
        if let Some(why) = fusion_blocker(r.cfg) {
            return Err(Error::Config(format!(
                "run `{}` cannot train fused: {why}",
                r.cfg.run_id()
            )));
        }
        if r.cfg.config_hash() != hash {
            return Err(Error::Config(format!(
                "runs `{}` and `{}` differ in more than the seed: they cannot train fused",
                first.cfg.run_id(),
                r.cfg.run_id()
            )));
        }
        if !seeds.insert(r.cfg.seed) {
            return Err(Error::Config(format!(
                "seed {} appears twice in a fused group",
                r.cfg.seed
            )));
        }
    }
    Ok(())
}

/// Trains K runs of one configuration that differ only in seed as one fused
/// network: `net`/`vs` built by `models::build_fused` with K = `runs.len()` and
/// filled with the runs' initial weights (`models::fuse::fuse_into`), or left
/// for a resume from the runs' checkpoints. Each run sees its own data order and
/// augmentation, gets its own gradient, rows and checkpoints (in its own
/// `run_dir`, in the format of a separate run, so it can resume fused or
/// separately); `ctx.run_dir` is not used. When a run diverges the whole group
/// stops: that run reports `Diverged`, the others `GroupStopped`.
pub fn train_fused(
    runs: &[GroupRun],
    net: &dyn Network,
    vs: &VarStore,
    ctx: &TrainContext,
) -> Result<Vec<RunOutcome>> {
    check_fusable(runs)?;
    group::train_group(runs, net, vs, ctx)
}

/// The training loss of a step (each run's mean cross-entropy, summed over the
/// runs, so each run's gradient is its own) and each run's mean loss [K].
/// `logits` are [N, classes] for one run, [N, K, classes] for K fused runs;
/// `y` is [N] or [N, K].
pub fn group_loss(logits: &Tensor, y: &Tensor, seeds_fused: i64) -> (Tensor, Tensor) {
    if seeds_fused == 1 {
        let loss = logits.cross_entropy_for_logits(y);
        let per_run = loss.view([1]);
        (loss, per_run)
    } else {
        let per_run = logits
            .log_softmax(-1, Kind::Float)
            .gather(2, &y.unsqueeze(-1), false)
            .squeeze_dim(-1)
            .mean_dim(0, false, Kind::Float)
            .neg();
        (per_run.sum(Kind::Float), per_run)
    }
}

/// Each run's number of misclassified examples [K] (same shapes as `group_loss`).
pub(crate) fn group_errors(logits: &Tensor, y: &Tensor, seeds_fused: i64) -> Tensor {
    let wrong = logits.argmax(-1, false).ne_tensor(y);
    if seeds_fused == 1 {
        wrong.sum(Kind::Float).view([1])
    } else {
        wrong.sum_dim_intlist(0, false, Kind::Float)
    }
}
