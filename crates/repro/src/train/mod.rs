//! The training loop, shared by every experiment: by iterations, SGD with
//! momentum, learning-rate schedules, logging windows, evaluation, checkpoints,
//! resume, divergence.
//!
//! Per step, everything stays on the device: batch gather, normalisation,
//! augmentation, forward/backward, the update, and the running loss/error sums.
//! The host reads those sums once per logging window.
pub mod checkpoint;
pub mod schedule;
pub mod sgd;
pub mod transfer;

use crate::config::{Precision, RunConfig};
use crate::data::{augment_data, derive_seed, rescale, with_seed, Dataset, DeviceSplit};
use crate::error::{Error, Result};
use crate::metrics::MetricRow;
use crate::models::Network;
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
        let x = self.colour_augment(&x, &cfg.data);
        Ok((augment_data(&x, &cfg.data), y))
    }
    fn evaluate(
        &self,
        net: &dyn Network,
        cfg: &RunConfig,
        channels_last: bool,
    ) -> Result<(Option<(f64, f64)>, (f64, f64))> {
        let eval_batch = 500;
        let val = self
            .validation
            .as_ref()
            .map(|v| evaluate(net, self, v, cfg, eval_batch, channels_last));
        Ok((
            val,
            evaluate(net, self, &self.test, cfg, eval_batch, channels_last),
        ))
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
    tch::no_grad(|| {
        let n = split.len();
        let dev = split.images.device();
        let mut sums = Tensor::zeros([2], (Kind::Double, dev));
        let mut start = 0;
        while start < n {
            let len = batch.min(n - start);
            let x = data.normalize(&split.images.narrow(0, start, len), cfg.data.normalize);
            let x = if channels_last {
                sgd::to_channels_last(&x)
            } else {
                x
            };
            let y = split.labels.narrow(0, start, len);
            let (loss, err) = if cfg.data.test_scales.is_empty() {
                let logits = net.forward_t(&x, false).to_kind(Kind::Float);
                let loss = logits.cross_entropy_loss::<Tensor>(&y, None, Reduction::Sum, -100, 0.0);
                let err = logits.argmax(-1, false).ne_tensor(&y).sum(Kind::Double);
                (loss, err)
            } else {
                // VGG Sec. 3.2/4.2: dense evaluation at each scale Q, the class
                // posteriors averaged over scales.
                let scales = &cfg.data.test_scales;
                let mut p = Tensor::zeros([len, 1], (Kind::Float, dev));
                for &q in scales {
                    let xq = rescale(&x, q);
                    p += net.forward_t(&xq, false).softmax(-1, Kind::Float);
                }
                let p = p / scales.len() as f64;
                let loss =
                    p.clamp_min(1e-12)
                        .log()
                        .nll_loss_nd::<Tensor>(&y, None, Reduction::Sum, -100);
                let err = p.argmax(-1, false).ne_tensor(&y).sum(Kind::Double);
                (loss, err)
            };
            sums += Tensor::stack(&[loss.to_kind(Kind::Double), err], 0);
            start += len;
        }
        let v: Vec<f64> =
            Vec::try_from(sums.to_device(Device::Cpu)).unwrap_or_else(|_| vec![f64::NAN, f64::NAN]);
        (v[0] / n.max(1) as f64, v[1] / n.max(1) as f64)
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
    let hash = cfg.config_hash();
    let model = cfg.model.short_name();
    let knobs = serde_json::to_string(&cfg.model).unwrap_or_default();
    let precision = match t.precision {
        Precision::Fp32 => "fp32",
    };
    let mut sgd = Sgd::new(
        vs,
        t.momentum,
        t.weight_decay,
        t.velocity,
        ctx.channels_last,
    );

    // State that a checkpoint restores.
    let mut iteration = 0i64;
    let mut lr_state = LrState::default();
    let mut rows: Vec<MetricRow> = Vec::new();
    let mut wall = 0.0f64;
    let mut epoch_acc = [0.0f64; 3];
    if ctx.resume {
        if let Some((meta, tensors)) = checkpoint::load(ctx.run_dir)? {
            if meta.config_hash != hash || meta.seed != cfg.seed {
                return Err(Error::Checkpoint {
                    path: ctx.run_dir.join(checkpoint::META_FILE),
                    msg: format!(
                        "belongs to another configuration (hash {} seed {}, this run {} seed {}); rerun with --fresh",
                        meta.config_hash, meta.seed, hash, cfg.seed
                    ),
                });
            }
            restore(vs, &mut sgd, &tensors, ctx.run_dir)?;
            iteration = meta.iteration;
            lr_state = meta.lr_state;
            rows = meta.rows;
            wall = meta.wall_time_s;
            epoch_acc = meta.epoch_acc;
            sgd.steps = iteration;
        }
    }
    let resumed_from = iteration;
    let progress = if ctx.progress {
        Some(Progress::new(&cfg.run_id(), total as u64, iteration as u64))
    } else {
        None
    };

    let dev = ctx.device;
    let mut acc = Tensor::zeros([2], (Kind::Float, dev));
    let mut window_iters = 0i64;
    let mut window_start = Instant::now();
    let mut perm_epoch = -1;
    let mut perm = Tensor::zeros([0], (Kind::Int64, dev));
    let mut status = RunStatus::Completed;

    while iteration < total {
        let epoch = iteration / per_epoch;
        if epoch != perm_epoch {
            perm = epoch_permutation(cfg.seed, epoch, n, data.index_device());
            perm_epoch = epoch;
        }
        let lr = learning_rate(t, iteration, &lr_state);
        let k = iteration % per_epoch;
        let idx = perm.narrow(0, k * b, b);
        // All randomness of this step (augmentation, dropout) from (seed, iteration).
        let step_seed = derive_seed(cfg.seed, SEED_STEP, iteration as u64);
        tch::manual_seed(step_seed as i64);
        let (x, y) = data.train_batch(&idx, cfg, step_seed)?;
        let x = if ctx.channels_last {
            sgd::to_channels_last(&x)
        } else {
            x
        };
        let logits = net.forward_t(&x, true);
        let loss = logits.cross_entropy_for_logits(&y);
        tch::no_grad(|| {
            let err = logits.argmax(-1, false).ne_tensor(&y).sum(Kind::Float);
            acc += Tensor::stack(&[loss.detach() * (b as f64), err], 0);
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
        let sums: Vec<f32> =
            Vec::try_from(acc.to_device(Device::Cpu)).unwrap_or_else(|_| vec![f32::NAN, f32::NAN]);
        let _ = acc.zero_();
        let images = (window_iters * b) as f64;
        let elapsed = window_start.elapsed().as_secs_f64();
        wall += elapsed;
        let train_loss = sums[0] as f64 / images;
        let train_error = sums[1] as f64 / images;
        let diverged = !train_loss.is_finite();
        observe_train_error(t, iteration, train_error, &mut lr_state);
        // Early stop at the end of an epoch whose training error is below the target
        // (AlexNet Fig. 1 measures the epochs needed to reach 25%).
        let reached = epoch_end
            && t.stop_at_train_error_below
                .is_some_and(|thr| (epoch_acc[1] + sums[1] as f64) / (epoch_acc[2] + images) < thr);
        let eval_now = eval_now || reached;
        let (mut val, mut test) = (None, None);
        if eval_now && !diverged {
            let (v, t_) = data.evaluate(net, cfg, ctx.channels_last)?;
            val = v;
            test = Some(t_);
            let signal = val.or(test).map(|v| v.1).unwrap_or(f64::NAN);
            observe_eval_error(t, signal, &mut lr_state);
        }
        let row = |kind: &str, loss: f64, error: f64| MetricRow {
            experiment: cfg.experiment.clone(),
            profile: cfg.profile.clone(),
            faithful: ctx.faithful,
            run_id: cfg.run_id(),
            run_name: cfg.name.clone(),
            config_hash: hash.clone(),
            seed: cfg.seed as i64,
            model: model.clone(),
            depth: cfg.model.depth(),
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
            images_per_sec: images / elapsed.max(1e-9),
            wall_time_s: wall,
            device: ctx.device_label.clone(),
            dataset: data.label().to_string(),
            precision: precision.into(),
            diverged,
        };
        rows.push(row("window", train_loss, train_error));
        epoch_acc[0] += sums[0] as f64;
        epoch_acc[1] += sums[1] as f64;
        epoch_acc[2] += images;
        if epoch_end {
            let (l, e) = (epoch_acc[0] / epoch_acc[2], epoch_acc[1] / epoch_acc[2]);
            rows.push(row("epoch", l, e));
            epoch_acc = [0.0; 3];
            if let Some(p) = &progress {
                p.epoch(&format!(
                    "epoch {} it {iteration}/{total} lr {lr:.4} train err {:.2}%{}",
                    iteration / per_epoch,
                    100.0 * e,
                    test.map(|t| format!(" test err {:.2}%", 100.0 * t.1))
                        .unwrap_or_default()
                ));
            }
        }
        if let Some(p) = &progress {
            p.update(
                iteration as u64,
                &format!("lr {lr:.4} train err {:.1}%", 100.0 * train_error),
            );
        }
        if reached {
            if let Some(p) = &progress {
                p.println(&format!(
                    "[{}] training error below {:.1}% at iteration {iteration}: target reached, stopping",
                    cfg.run_id(),
                    100.0 * t.stop_at_train_error_below.unwrap_or(0.0)
                ));
            }
            status = RunStatus::Completed;
            break;
        }
        if diverged {
            status = RunStatus::Diverged { iteration };
            if let Some(p) = &progress {
                p.println(&format!("[{}] loss became {train_loss} at iteration {iteration}: diverged, stopping this run", cfg.run_id()));
            }
            break;
        }
        if ckpt_now {
            let meta = checkpoint::CheckpointMeta {
                version: 0,
                config_hash: hash.clone(),
                seed: cfg.seed,
                iteration,
                lr_state: lr_state.clone(),
                wall_time_s: wall,
                rows: rows.clone(),
                epoch_acc,
                tensors_file: String::new(),
                tensors_sha256: String::new(),
            };
            checkpoint::save(ctx.run_dir, meta, &named_tensors(vs, &sgd))?;
            if ctx.stop_at_checkpoint_after.is_some_and(|s| iteration >= s) {
                status = RunStatus::Interrupted { iteration };
                break;
            }
        }
        window_iters = 0;
        window_start = Instant::now();
    }
    if let Some(p) = &progress {
        p.finish();
    }
    Ok(RunOutcome {
        status,
        rows,
        resumed_from,
    })
}

/// Model variables (sorted by name) and the SGD velocity.
fn named_tensors(vs: &VarStore, sgd: &Sgd) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.push((
        checkpoint::VELOCITY.to_string(),
        sgd.velocity().shallow_clone(),
    ));
    v
}

fn restore(vs: &VarStore, sgd: &mut Sgd, tensors: &[(String, Tensor)], dir: &Path) -> Result<()> {
    let vars = vs.variables();
    let mismatch = |msg: String| Error::Checkpoint {
        path: dir.join(checkpoint::META_FILE),
        msg: format!("does not match the model: {msg}; rerun with --fresh"),
    };
    if tensors.len() != vars.len() + 1 {
        return Err(mismatch(format!(
            "{} tensors, the model has {} variables",
            tensors.len() - 1,
            vars.len()
        )));
    }
    for (name, t) in tensors {
        if name == checkpoint::VELOCITY {
            sgd.set_velocity(&t.to_device(vs.device()))
                .map_err(|e| mismatch(e.to_string()))?;
            continue;
        }
        let mut var = vars
            .get(name)
            .ok_or_else(|| mismatch(format!("unknown variable `{name}`")))?
            .shallow_clone();
        if var.size() != t.size() {
            return Err(mismatch(format!(
                "`{name}` has shape {:?}, expected {:?}",
                t.size(),
                var.size()
            )));
        }
        tch::no_grad(|| var.copy_(t));
    }
    Ok(())
}
