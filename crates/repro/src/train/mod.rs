//! The training loop, shared by every experiment: by iterations, SGD with
//! momentum, learning-rate schedules, logging windows, evaluation, checkpoints,
//! resume, divergence.
//!
//! Per step, everything stays on the device: batch gather, normalisation,
//! augmentation, forward/backward, the update, and the running loss/error sums.
//! The host reads those sums once per logging window.
pub mod checkpoint;
pub mod precision;
pub mod schedule;
pub mod sgd;
pub mod transfer;

use crate::config::RunConfig;
use crate::data::{augment_data, derive_seed, rescale, with_seed, Dataset, DeviceSplit};
use crate::error::{Error, Result};
use crate::metrics::MetricRow;
use crate::models::{fuse, Network};
use crate::progress::Progress;
use schedule::{learning_rate, observe_eval_error, observe_train_error, LrState};
use sgd::Sgd;
use std::path::Path;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Reduction, Tensor};

/// Where and how a run trains.
pub struct TrainContext<'a> {
    pub data: &'a dyn TrainData,
    pub device: Device,
    /// Checkpoints go here.
    pub run_dir: &'a Path,
    /// Continue from a checkpoint in `run_dir` when there is one.
    pub resume: bool,
    pub device_label: String,
    /// False for shortened profiles: carried into every row.
    pub faithful: bool,
    /// Stop (as if killed) at the first checkpoint at or after this iteration. For tests.
    pub stop_at_checkpoint_after: Option<i64>,
    pub progress: bool,
    /// Keep activations and conv weights in NHWC layout (faster on CPUs; same maths).
    pub channels_last: bool,
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

/// What the training loop needs of a dataset: CIFAR-10 resident on the device
/// (`data::Dataset`) or ImageNet decoded from an image folder per batch
/// (`data::imagenet::ImageNetData`).
pub trait TrainData {
    /// "CIFAR-10", "CIFAR-10 (JPEG q75 copy)", "ImageNet (image folder)".
    fn label(&self) -> &str;
    fn train_len(&self) -> i64;
    /// Device on which the epoch permutation is indexed.
    fn index_device(&self) -> Device;
    /// Input (float NCHW, normalised and augmented, on the training device) and
    /// labels of the training examples `idx`. The global generator has been seeded
    /// from (run seed, iteration) before the call; `step_seed` is the same stream
    /// for augmentation done on the host.
    fn train_batch(
        &self,
        idx: &Tensor,
        cfg: &RunConfig,
        step_seed: u64,
    ) -> Result<(Tensor, Tensor)>;
    /// Mean loss and error on the validation split (if any) and the test split.
    #[allow(clippy::type_complexity)]
    fn evaluate(
        &self,
        net: &dyn Network,
        cfg: &RunConfig,
        channels_last: bool,
    ) -> Result<(Option<(f64, f64)>, (f64, f64))>;
    /// `evaluate` for `runs` fused runs (`train_fused`): one result per run.
    #[allow(clippy::type_complexity)]
    fn evaluate_runs(
        &self,
        net: &dyn Network,
        cfg: &RunConfig,
        runs: i64,
        channels_last: bool,
    ) -> Result<Vec<(Option<(f64, f64)>, (f64, f64))>> {
        if runs != 1 {
            return Err(Error::Config(format!(
                "data.dataset: {} has no evaluation of fused runs",
                self.label()
            )));
        }
        Ok(vec![self.evaluate(net, cfg, channels_last)?])
    }
}

impl TrainData for Dataset {
    fn label(&self) -> &str {
        &self.label
    }
    fn train_len(&self) -> i64 {
        self.train.len()
    }
    fn index_device(&self) -> Device {
        self.train.images.device()
    }
    fn train_batch(
        &self,
        idx: &Tensor,
        cfg: &RunConfig,
        _step_seed: u64,
    ) -> Result<(Tensor, Tensor)> {
        let y = self.train.labels.index_select(0, idx);
        let x = self.normalize(&self.train.images.index_select(0, idx), cfg.data.normalize);
        // Colour first: the offset is constant over an image, and pad-crop's zero
        // border (the mean) stays the mean.
        if cfg.data.colour == crate::config::Colour::Pca && self.rgb_pca.is_none() {
            return Err(Error::Config(format!(
                "run `{}`: data.colour = \"pca\" but this dataset was prepared without the RGB principal components",
                cfg.name
            )));
        }
        let x = self.colour_augment(&x, &cfg.data);
        Ok((augment_data(&x, &cfg.data), y))
    }
    fn evaluate(
        &self,
        net: &dyn Network,
        cfg: &RunConfig,
        channels_last: bool,
    ) -> Result<(Option<(f64, f64)>, (f64, f64))> {
        let mut r = self.evaluate_runs(net, cfg, 1, channels_last)?;
        r.pop()
            .ok_or_else(|| Error::Other("evaluation returned no result".into()))
    }
    fn evaluate_runs(
        &self,
        net: &dyn Network,
        cfg: &RunConfig,
        runs: i64,
        channels_last: bool,
    ) -> Result<Vec<(Option<(f64, f64)>, (f64, f64))>> {
        let eval_batch = 500;
        let val = self
            .validation
            .as_ref()
            .map(|v| evaluate_runs(net, self, v, cfg, eval_batch, channels_last, runs));
        let test = evaluate_runs(net, self, &self.test, cfg, eval_batch, channels_last, runs);
        Ok((0..runs as usize)
            .map(|i| (val.as_ref().map(|v| v[i]), test[i]))
            .collect())
    }
}

/// Seed "purposes" for `derive_seed`, so the streams never overlap.
pub const SEED_INIT: u64 = 0;
const SEED_ORDER: u64 = 1;
const SEED_STEP: u64 = 2;

/// Seeds libtorch for building the run's network: call before `models::build`.
pub fn seed_init(seed: u64) {
    tch::manual_seed(derive_seed(seed, SEED_INIT, 0) as i64);
}

/// Mean loss and error rate of `net` on a split: eval mode, no augmentation,
/// the single original view; one host read at the end.
pub fn evaluate(
    net: &dyn Network,
    data: &Dataset,
    split: &DeviceSplit,
    cfg: &RunConfig,
    batch: i64,
    channels_last: bool,
) -> (f64, f64) {
    evaluate_runs(net, data, split, cfg, batch, channels_last, 1)
        .pop()
        .unwrap_or((f64::NAN, f64::NAN))
}

/// `evaluate` for `runs` fused runs: every run sees the same images (the batch
/// repeated K times along channels); one (loss, error) per run.
pub fn evaluate_runs(
    net: &dyn Network,
    data: &Dataset,
    split: &DeviceSplit,
    cfg: &RunConfig,
    batch: i64,
    channels_last: bool,
    runs: i64,
) -> Vec<(f64, f64)> {
    tch::no_grad(|| {
        let n = split.len();
        let dev = split.images.device();
        let mut sums = Tensor::zeros([runs, 2], (Kind::Double, dev));
        let mut start = 0;
        while start < n {
            let len = batch.min(n - start);
            let x = data.normalize(&split.images.narrow(0, start, len), cfg.data.normalize);
            let x = if runs > 1 {
                x.repeat([1, runs, 1, 1])
            } else {
                x
            };
            let x = if channels_last {
                sgd::to_channels_last(&x)
            } else {
                x
            };
            let y = split.labels.narrow(0, start, len);
            let (loss, err) = if runs > 1 {
                // Multi-scale testing is not fused (`fusion_blocker`).
                let logits = precision::forward(net, &x, false, cfg.train.precision);
                let yk = y.unsqueeze(1).expand([len, runs], false);
                let loss = logits
                    .log_softmax(-1, Kind::Float)
                    .gather(2, &yk.unsqueeze(-1), false)
                    .neg()
                    .sum_dim_intlist(&[0i64, 2][..], false, Kind::Float);
                let err =
                    logits
                        .argmax(-1, false)
                        .ne_tensor(&yk)
                        .sum_dim_intlist(0, false, Kind::Double);
                (loss, err)
            } else if cfg.data.test_scales.is_empty() {
                let logits = precision::forward(net, &x, false, cfg.train.precision);
                let loss = logits.cross_entropy_loss::<Tensor>(&y, None, Reduction::Sum, -100, 0.0);
                let err = logits.argmax(-1, false).ne_tensor(&y).sum(Kind::Double);
                (loss, err)
            } else {
                // VGG Sec. 3.2/4.2: dense evaluation at each scale Q, the class
                // posteriors averaged over scales.
                let scales = &cfg.data.test_scales;
                let p = scales
                    .iter()
                    .map(|&q| {
                        precision::forward(net, &rescale(&x, q), false, cfg.train.precision)
                            .softmax(-1, Kind::Float)
                    })
                    .reduce(|a, b| a + b)
                    .unwrap_or_else(|| Tensor::zeros([len, 1], (Kind::Float, dev)))
                    / scales.len() as f64;
                let loss =
                    p.clamp_min(1e-12)
                        .log()
                        .nll_loss_nd::<Tensor>(&y, None, Reduction::Sum, -100);
                let err = p.argmax(-1, false).ne_tensor(&y).sum(Kind::Double);
                (loss, err)
            };
            sums += Tensor::stack(&[loss.to_kind(Kind::Double), err], -1);
            start += len;
        }
        let v: Vec<f64> = Vec::try_from(sums.to_device(Device::Cpu).view([-1]))
            .unwrap_or_else(|_| vec![f64::NAN; 2 * runs as usize]);
        v.chunks(2)
            .map(|s| (s[0] / n.max(1) as f64, s[1] / n.max(1) as f64))
            .collect()
    })
}

/// The permutation of the training set for `epoch` of a run with `seed`.
pub fn epoch_permutation(seed: u64, epoch: i64, n: i64, device: Device) -> Tensor {
    with_seed(derive_seed(seed, SEED_ORDER, epoch as u64), || {
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
    let mut out = train_group(&[run], net, vs, ctx)?;
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
    train_group(runs, net, vs, ctx)
}

/// The training loss of a step (each run's mean cross-entropy, summed over the
/// runs, so each run's gradient is its own) and each run's mean loss [K].
/// `logits` are [N, classes] for one run, [N, K, classes] for K fused runs;
/// `y` is [N] or [N, K].
pub fn group_loss(logits: &Tensor, y: &Tensor, runs: i64) -> (Tensor, Tensor) {
    if runs == 1 {
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
fn group_errors(logits: &Tensor, y: &Tensor, runs: i64) -> Tensor {
    let wrong = logits.argmax(-1, false).ne_tensor(y);
    if runs == 1 {
        wrong.sum(Kind::Float).view([1])
    } else {
        wrong.sum_dim_intlist(0, false, Kind::Float)
    }
}

/// The loop for a group of K runs; K = 1 is an ordinary run.
fn train_group(
    runs: &[GroupRun],
    net: &dyn Network,
    vs: &VarStore,
    ctx: &TrainContext,
) -> Result<Vec<RunOutcome>> {
    let k = runs.len() as i64;
    let Some(first) = runs.first() else {
        return Err(Error::Config("training of an empty group".into()));
    };
    // Everything but the seed is shared (checked by `check_fusable` for K > 1).
    let cfg = first.cfg;
    let t = &cfg.train;
    let data = ctx.data;
    let b = t.batch_size;
    let n = data.train_len();
    if n < b {
        return Err(Error::Config(format!(
            "run `{}`: train.batch_size = {b} is larger than the training split ({n} images)",
            cfg.name
        )));
    }
    // Full batches only: each epoch's remainder of the shuffle is dropped.
    let per_epoch = (n / b).max(1);
    let total = t.iterations;
    let hashes: Vec<String> = runs.iter().map(|r| r.cfg.config_hash()).collect();
    let model = cfg.model.short_name();
    let knobs = serde_json::to_string(&cfg.model).unwrap_or_default();
    let precision = precision::label(t.precision);
    precision::set_cuda_numerics(t.precision);
    let mut sgd = Sgd::new(
        vs,
        t.momentum,
        t.weight_decay,
        t.velocity,
        ctx.channels_last,
    );

    // State that a checkpoint restores, per run.
    let mut iteration = 0i64;
    let mut lr_states = vec![LrState::default(); runs.len()];
    let mut rows: Vec<Vec<MetricRow>> = vec![Vec::new(); runs.len()];
    let mut wall = 0.0f64;
    let mut epoch_acc = vec![[0.0f64; 3]; runs.len()];
    if ctx.resume {
        let mut loaded = Vec::new();
        for (r, hash) in runs.iter().zip(&hashes) {
            if let Some((meta, tensors)) = checkpoint::load(r.run_dir)? {
                if meta.config_hash != *hash || meta.seed != r.cfg.seed {
                    return Err(Error::Checkpoint {
                        path: r.run_dir.join(checkpoint::META_FILE),
                        msg: format!(
                            "belongs to another configuration (hash {} seed {}, this run {} seed {}); rerun with --fresh",
                            meta.config_hash, meta.seed, hash, r.cfg.seed
                        ),
                    });
                }
                loaded.push((r.run_dir, meta, tensors));
            }
        }
        if !loaded.is_empty() {
            let at = loaded[0].1.iteration;
            if loaded.len() != runs.len() || loaded.iter().any(|l| l.1.iteration != at) {
                let states: Vec<String> = runs
                    .iter()
                    .map(|r| {
                        let it = loaded
                            .iter()
                            .find(|l| l.0 == r.run_dir)
                            .map(|l| format!("iteration {}", l.1.iteration))
                            .unwrap_or_else(|| "none".into());
                        format!("{}: {it}", r.cfg.run_id())
                    })
                    .collect();
                return Err(Error::Checkpoint {
                    path: loaded[0].0.join(checkpoint::META_FILE),
                    msg: format!(
                        "a fused group resumes only from checkpoints of all its runs at one iteration ({}); train these runs separately",
                        states.join(", ")
                    ),
                });
            }
            let tensors: Vec<&[(String, Tensor)]> = loaded.iter().map(|l| l.2.as_slice()).collect();
            let dirs: Vec<&Path> = loaded.iter().map(|l| l.0).collect();
            restore(vs, &mut sgd, &tensors, &dirs)?;
            iteration = at;
            for (i, (_, meta, _)) in loaded.into_iter().enumerate() {
                lr_states[i] = meta.lr_state;
                rows[i] = meta.rows;
                wall = wall.max(meta.wall_time_s);
                epoch_acc[i] = meta.epoch_acc;
            }
            sgd.steps = iteration;
        }
    }
    let resumed_from = iteration;
    let group_id = runs
        .iter()
        .map(|r| r.cfg.run_id())
        .collect::<Vec<_>>()
        .join("+");
    let progress = if ctx.progress {
        Some(Progress::new(&group_id, total as u64, iteration as u64))
    } else {
        None
    };
    let percent = |v: &[f64]| {
        v.iter()
            .map(|e| format!("{:.1}%", 100.0 * e))
            .collect::<Vec<_>>()
            .join("/")
    };

    let dev = ctx.device;
    let mut acc = Tensor::zeros([k, 2], (Kind::Float, dev));
    let mut window_iters = 0i64;
    let mut window_start = Instant::now();
    let mut perm_epoch = -1;
    let mut perms: Vec<Tensor> = Vec::new();
    let mut status = vec![RunStatus::Completed; runs.len()];

    while iteration < total {
        let epoch = iteration / per_epoch;
        if epoch != perm_epoch {
            perms = runs
                .iter()
                .map(|r| epoch_permutation(r.cfg.seed, epoch, n, data.index_device()))
                .collect();
            perm_epoch = epoch;
        }
        // The same for every run of a group (`fusion_blocker`).
        let lr = learning_rate(t, iteration, &lr_states[0]);
        let j = iteration % per_epoch;
        let mut xs = Vec::with_capacity(runs.len());
        let mut ys = Vec::with_capacity(runs.len());
        for (r, perm) in runs.iter().zip(&perms) {
            let idx = perm.narrow(0, j * b, b);
            // All randomness of this step (augmentation, dropout) from (seed, iteration):
            // each run of a group draws exactly what it would draw alone.
            let step_seed = derive_seed(r.cfg.seed, SEED_STEP, iteration as u64);
            tch::manual_seed(step_seed as i64);
            let (x, y) = data.train_batch(&idx, r.cfg, step_seed)?;
            xs.push(x);
            ys.push(y);
        }
        let (x, y) = if k == 1 {
            (xs.remove(0), ys.remove(0))
        } else {
            // The runs' batches side by side along channels; labels [N, K].
            (Tensor::cat(&xs, 1), Tensor::stack(&ys, 1))
        };
        let x = if ctx.channels_last {
            sgd::to_channels_last(&x)
        } else {
            x
        };
        // Backward runs outside autocast (as torch.autocast recommends): it
        // follows the dtypes the forward recorded.
        let logits = precision::forward(net, &x, true, t.precision);
        let (loss, per_run) = group_loss(&logits, &y, k);
        tch::no_grad(|| {
            let err = group_errors(&logits, &y, k);
            acc += Tensor::stack(&[per_run.detach() * (b as f64), err], 1);
        });
        sgd.step(&loss, lr);
        iteration += 1;
        window_iters += 1;

        let epoch_end = iteration % per_epoch == 0;
        let eval_now =
            iteration % t.eval_every == 0 || iteration == total || (t.eval_each_epoch && epoch_end);
        let ckpt_now = iteration % t.checkpoint_every == 0 && iteration < total;
        if !(iteration % t.log_every == 0 || eval_now || ckpt_now || epoch_end) {
            continue;
        }
        // ---- end of a logging window: the one host read ----
        let sums: Vec<f32> = Vec::try_from(acc.to_device(Device::Cpu).view([-1]))
            .unwrap_or_else(|_| vec![f32::NAN; 2 * runs.len()]);
        let _ = acc.zero_();
        let images = (window_iters * b) as f64;
        let elapsed = window_start.elapsed().as_secs_f64();
        wall += elapsed;
        let loss_sum = |i: usize| sums[2 * i] as f64;
        let err_sum = |i: usize| sums[2 * i + 1] as f64;
        let train_loss: Vec<f64> = (0..runs.len()).map(|i| loss_sum(i) / images).collect();
        let train_error: Vec<f64> = (0..runs.len()).map(|i| err_sum(i) / images).collect();
        let diverged: Vec<bool> = train_loss.iter().map(|l| !l.is_finite()).collect();
        let any_diverged = diverged.iter().any(|&d| d);
        for (i, st) in lr_states.iter_mut().enumerate() {
            observe_train_error(t, iteration, train_error[i], st);
        }
        // Early stop at the end of an epoch whose training error is below the target
        // (AlexNet Fig. 1 measures the epochs needed to reach 25%). Single runs only
        // (`fusion_blocker`).
        let reached = epoch_end
            && (0..runs.len()).all(|i| {
                t.stop_at_train_error_below.is_some_and(|thr| {
                    (epoch_acc[i][1] + err_sum(i)) / (epoch_acc[i][2] + images) < thr
                })
            });
        let eval_now = eval_now || reached;
        let mut evals = vec![(None, None); runs.len()];
        if eval_now && !any_diverged {
            let results = data.evaluate_runs(net, cfg, k, ctx.channels_last)?;
            for (i, (v, t_)) in results.into_iter().enumerate() {
                let signal = v.or(Some(t_)).map(|v| v.1).unwrap_or(f64::NAN);
                observe_eval_error(t, signal, &mut lr_states[i]);
                evals[i] = (v, Some(t_));
            }
        }
        let row = |i: usize, kind: &str, loss: f64, error: f64| {
            let c = runs[i].cfg;
            let (val, test) = evals[i];
            MetricRow {
                experiment: c.experiment.clone(),
                profile: c.profile.clone(),
                // The papers trained in fp32: a TF32 or bf16 run is never faithful.
                faithful: ctx.faithful && t.precision == crate::config::Precision::Fp32,
                run_id: c.run_id(),
                run_name: c.name.clone(),
                config_hash: hashes[i].clone(),
                seed: c.seed as i64,
                model: model.clone(),
                depth: c.model.depth(),
                knobs: knobs.clone(),
                kind: kind.into(),
                iteration,
                epoch: iteration as f64 / per_epoch as f64,
                lr,
                train_loss: loss,
                train_error: error,
                val_loss: val.map(|v| v.0),
                val_error: val.map(|v| v.1),
                test_loss: test.map(|v| v.0),
                test_error: test.map(|v| v.1),
                // Each run's own images: a fused group trains K times this many.
                images_per_sec: images / elapsed.max(1e-9),
                wall_time_s: wall,
                device: ctx.device_label.clone(),
                dataset: data.label().to_string(),
                precision: precision.into(),
                diverged: diverged[i],
            }
        };
        let mut epoch_errors = Vec::new();
        for i in 0..runs.len() {
            rows[i].push(row(i, "window", train_loss[i], train_error[i]));
            let a = &mut epoch_acc[i];
            a[0] += loss_sum(i);
            a[1] += err_sum(i);
            a[2] += images;
            if epoch_end {
                let (l, e) = (a[0] / a[2], a[1] / a[2]);
                *a = [0.0; 3];
                rows[i].push(row(i, "epoch", l, e));
                epoch_errors.push(e);
            }
        }
        if let Some(p) = &progress {
            if epoch_end {
                let tests: Vec<f64> = evals.iter().filter_map(|e| e.1.map(|t| t.1)).collect();
                p.epoch(&format!(
                    "epoch {} it {iteration}/{total} lr {lr:.4} train err {}{}",
                    iteration / per_epoch,
                    percent(&epoch_errors),
                    if tests.is_empty() {
                        String::new()
                    } else {
                        format!(" test err {}", percent(&tests))
                    }
                ));
            }
            p.update(
                iteration as u64,
                &format!("lr {lr:.4} train err {}", percent(&train_error)),
            );
        }
        if reached {
            if let Some(p) = &progress {
                p.println(&format!(
                    "[{group_id}] training error below {:.1}% at iteration {iteration}: target reached, stopping",
                    100.0 * t.stop_at_train_error_below.unwrap_or(0.0)
                ));
            }
            break;
        }
        if any_diverged {
            for (i, st) in status.iter_mut().enumerate() {
                *st = if diverged[i] {
                    RunStatus::Diverged { iteration }
                } else {
                    RunStatus::GroupStopped { iteration }
                };
            }
            if let Some(p) = &progress {
                for (i, r) in runs.iter().enumerate().filter(|(i, _)| diverged[*i]) {
                    p.println(&format!(
                        "[{}] loss became {} at iteration {iteration}: diverged, stopping {}",
                        r.cfg.run_id(),
                        train_loss[i],
                        if k == 1 {
                            "this run"
                        } else {
                            "its fused group"
                        }
                    ));
                }
            }
            break;
        }
        if ckpt_now {
            let velocity = sgd.velocity_views();
            for (i, r) in runs.iter().enumerate() {
                let meta = checkpoint::CheckpointMeta {
                    version: 0,
                    config_hash: hashes[i].clone(),
                    seed: r.cfg.seed,
                    iteration,
                    lr_state: lr_states[i].clone(),
                    wall_time_s: wall,
                    rows: rows[i].clone(),
                    epoch_acc: epoch_acc[i],
                    tensors_file: String::new(),
                    tensors_sha256: String::new(),
                    channels_last: Some(ctx.channels_last),
                };
                let tensors = run_tensors(vs, &velocity, k, i as i64, ctx.channels_last);
                checkpoint::save(r.run_dir, meta, &tensors)?;
            }
            if ctx.stop_at_checkpoint_after.is_some_and(|s| iteration >= s) {
                status = vec![RunStatus::Interrupted { iteration }; runs.len()];
                break;
            }
        }
        window_iters = 0;
        window_start = Instant::now();
    }
    if let Some(p) = &progress {
        p.finish();
    }
    Ok(status
        .into_iter()
        .zip(rows)
        .map(|(status, rows)| RunOutcome {
            status,
            rows,
            resumed_from,
        })
        .collect())
}

/// Run `run`'s checkpoint tensors out of `runs` fused ones, exactly as a
/// separate run writes them: its variables (sorted by name) and its SGD
/// velocity as the flat buffer of its own network.
fn run_tensors(
    vs: &VarStore,
    velocity: &[Tensor],
    runs: i64,
    run: i64,
    channels_last: bool,
) -> Vec<(String, Tensor)> {
    let mut v = fuse::defuse(vs, runs, run);
    let parts: Vec<Tensor> = velocity
        .iter()
        .map(|p| fuse::run_slice(p, runs, run))
        .collect();
    v.push((
        checkpoint::VELOCITY.to_string(),
        sgd::join_flat(&parts, channels_last),
    ));
    v
}

/// Loads the checkpoint tensors of each run of a group (one for a single run)
/// into the fused variables and velocity.
fn restore(
    vs: &VarStore,
    sgd: &mut Sgd,
    per_run: &[&[(String, Tensor)]],
    dirs: &[&Path],
) -> Result<()> {
    let vars = vs.variables();
    let runs = per_run.len() as i64;
    let mismatch = |dir: &Path, msg: String| Error::Checkpoint {
        path: dir.join(checkpoint::META_FILE),
        msg: format!("does not match the model: {msg}; rerun with --fresh"),
    };
    // Each run's parameters have the fused shapes with dim 0 divided by K.
    let shapes: Vec<Vec<i64>> = sgd
        .parameter_shapes()
        .into_iter()
        .map(|mut s| {
            if let Some(d) = s.first_mut() {
                *d /= runs;
            }
            s
        })
        .collect();
    let per_run_len: i64 = shapes.iter().map(|s| s.iter().product::<i64>()).sum();
    let mut maps = Vec::new();
    let mut velocities = Vec::new();
    for (tensors, dir) in per_run.iter().zip(dirs) {
        if tensors.len() != vars.len() + 1 {
            return Err(mismatch(
                dir,
                format!(
                    "{} tensors, the model has {} variables",
                    tensors.len().saturating_sub(1),
                    vars.len()
                ),
            ));
        }
        let map: std::collections::HashMap<&str, &Tensor> =
            tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let v = map
            .get(checkpoint::VELOCITY)
            .ok_or_else(|| mismatch(dir, "no SGD velocity".into()))?;
        if v.size() != [per_run_len] {
            return Err(mismatch(
                dir,
                format!(
                    "velocity has {:?} elements, the model {per_run_len}",
                    v.size()
                ),
            ));
        }
        velocities.push(sgd::split_flat(
            &v.to_device(vs.device()),
            &shapes,
            sgd.channels_last(),
        ));
        maps.push(map);
    }
    let fused_velocity: Vec<Tensor> = (0..shapes.len())
        .map(|p| Tensor::cat(&velocities.iter().map(|v| &v[p]).collect::<Vec<_>>(), 0))
        .collect();
    sgd.set_velocity(&sgd::join_flat(&fused_velocity, sgd.channels_last()))
        .map_err(|e| mismatch(dirs[0], e.to_string()))?;
    for (name, var) in &vars {
        let mut parts = Vec::new();
        for (map, dir) in maps.iter().zip(dirs) {
            let t = map
                .get(name.as_str())
                .ok_or_else(|| mismatch(dir, format!("no variable `{name}`")))?;
            parts.push(t.to_device(vs.device()));
        }
        let value = if var.dim() == 0 {
            parts.swap_remove(0)
        } else {
            Tensor::cat(&parts, 0)
        };
        if var.size() != value.size() {
            return Err(mismatch(
                dirs[0],
                format!(
                    "`{name}` has shape {:?}, expected {:?}",
                    value.size(),
                    var.size()
                ),
            ));
        }
        let mut var = var.shallow_clone();
        tch::no_grad(|| var.copy_(&value));
    }
    Ok(())
}
