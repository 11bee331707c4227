//! The training loop for a group of K runs (K = 1: an ordinary run), as named
//! steps: resume, batch, step, window, evaluate, early stop, divergence,
//! checkpoint.
//!
//! Per step, everything stays on the device: batch gather, normalisation,
//! augmentation, forward/backward, the update, and the running loss/error sums.
//! The host reads those sums once per logging window.
use super::resume::{self, GroupCheckpoint, State};
use super::schedule::{learning_rate, observe_eval_error, observe_train_error, LrState};
use super::sgd::Sgd;
use super::{
    epoch_permutation, group_errors, group_loss, GroupRun, RunOutcome, RunStatus, TrainContext,
};
use crate::config::{Fidelity, RunConfig};
use crate::data::run_fidelity;
use crate::error::{Error, Result};
use crate::eval::{self, Evaluation};
use crate::models::Network;
use crate::precision;
use crate::seeds::{derive_seed, Stream};
use records::metrics::{Hyperparameters, MetricRow, RowKind};
use records::progress::{Progress, Tick};
use std::path::Path;
use std::time::Instant;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// The fixed facts of one group's training.
pub(super) struct Loop<'a> {
    pub runs: &'a [GroupRun<'a>],
    pub net: &'a dyn Network,
    pub vs: &'a VarStore,
    pub ctx: &'a TrainContext<'a>,
    /// Everything but the seed is shared (checked by `check_fusable` for K > 1).
    pub cfg: &'a RunConfig,
    pub k: i64,
    pub batch: i64,
    pub train_len: i64,
    pub per_epoch: i64,
    pub hashes: Vec<String>,
    model: String,
    knobs: String,
    /// The hyperparameter columns of every row (shared by the group's runs).
    hyper: Hyperparameters,
    group_id: String,
}

/// One logging window's training loss and error per run, read from the device.
struct Window {
    images: f64,
    elapsed: f64,
    loss_sums: Vec<f64>,
    err_sums: Vec<f64>,
    train_loss: Vec<f64>,
    train_error: Vec<f64>,
    diverged: Vec<bool>,
}

/// Where a logging window ends and what happens there.
struct Marks {
    epoch_end: bool,
    eval_now: bool,
    checkpoint_now: bool,
}

/// The loop for a group of K runs; K = 1 is an ordinary run.
pub(super) fn train_group(
    runs: &[GroupRun],
    net: &dyn Network,
    vs: &VarStore,
    ctx: &TrainContext,
) -> Result<Vec<RunOutcome>> {
    let lp = Loop::new(runs, net, vs, ctx)?;
    let t = &lp.cfg.train;
    precision::set_cuda_numerics(t.precision);
    let mut sgd = Sgd::new(vs, t.momentum, t.weight_decay, t.velocity, ctx.layout);
    // Per-layer rules (cuda-convnet's layer-params files, `train.weight_decay_on`).
    let rules = super::sgd::rules_for(lp.cfg, vs)
        .map_err(|m| Error::Config(format!("run `{}`: {m}", lp.cfg.name)))?;
    if let Some(rules) = rules {
        sgd.set_rules(&rules).map_err(Error::Config)?;
    }
    let mut state = lp.fresh_state();
    if ctx.resume {
        resume::resume_group(&lp.checkpointed(), &mut sgd, &mut state)?;
    }
    let resumed_from = state.iteration;
    let progress = lp.progress(resumed_from);
    let status = lp.run_loop(&mut sgd, &mut state, &progress)?;
    progress.finish();
    Ok(status
        .into_iter()
        .zip(state.rows)
        .map(|(status, rows)| RunOutcome {
            status,
            rows,
            resumed_from,
        })
        .collect())
}

impl<'a> Loop<'a> {
    fn new(
        runs: &'a [GroupRun<'a>],
        net: &'a dyn Network,
        vs: &'a VarStore,
        ctx: &'a TrainContext<'a>,
    ) -> Result<Self> {
        let Some(first) = runs.first() else {
            return Err(Error::Config("training of an empty group".into()));
        };
        let cfg = first.cfg;
        let batch = cfg.train.batch_size;
        let train_len = ctx.data.train_len();
        if train_len < batch {
            return Err(Error::Config(format!(
                "run `{}`: train.batch_size = {batch} is larger than the training split ({train_len} images)",
                cfg.name
            )));
        }
        Ok(Self {
            runs,
            net,
            vs,
            ctx,
            cfg,
            k: runs.len() as i64,
            batch,
            train_len,
            // Full batches only: each epoch's remainder of the shuffle is dropped.
            per_epoch: (train_len / batch).max(1),
            hashes: runs.iter().map(|r| r.cfg.config_hash()).collect(),
            model: cfg.model.short_name(),
            knobs: serde_json::to_string(&cfg.model).unwrap_or_default(),
            hyper: cfg.hyperparameters(),
            group_id: runs
                .iter()
                .map(|r| r.cfg.run_id())
                .collect::<Vec<_>>()
                .join("+"),
        })
    }

    /// Progress on stderr (when the context asks for it) and in each run's
    /// `train.log`, which first says how the run starts.
    fn progress(&self, from: i64) -> Progress {
        let t = &self.cfg.train;
        let runs: Vec<(String, &Path)> = self
            .runs
            .iter()
            .map(|r| (r.cfg.run_id(), r.run_dir))
            .collect();
        let p = Progress::new(
            &self.group_id,
            t.iterations as u64,
            from as u64,
            self.ctx.progress,
            &runs,
        );
        p.log_all(&format!(
            "[{}] {} at iteration {from}/{} on {}{}",
            self.group_id,
            if from > 0 {
                "resumed from its checkpoint"
            } else {
                "started"
            },
            t.iterations,
            self.ctx.device_label,
            if self.k > 1 {
                format!(", {} seeds fused", self.k)
            } else {
                String::new()
            }
        ));
        p
    }

    /// What saving and resuming the group's checkpoints need of it.
    fn checkpointed(&self) -> GroupCheckpoint<'_> {
        GroupCheckpoint {
            runs: self.runs,
            hashes: &self.hashes,
            ctx: self.ctx,
            cfg: self.cfg,
            vs: self.vs,
            k: self.k,
        }
    }

    fn fresh_state(&self) -> State {
        let n = self.runs.len();
        State {
            iteration: 0,
            lr_states: vec![LrState::default(); n],
            rows: vec![Vec::new(); n],
            wall: 0.0,
            epoch_acc: vec![[0.0; 3]; n],
        }
    }

    /// Steps until the end, an early stop, a divergence or a requested interruption.
    fn run_loop(
        &self,
        sgd: &mut Sgd,
        state: &mut State,
        progress: &Progress,
    ) -> Result<Vec<RunStatus>> {
        let t = &self.cfg.train;
        let mut acc = Tensor::zeros([self.k, 2], (Kind::Float, self.ctx.device));
        let mut window_iters = 0i64;
        let mut window_start = Instant::now();
        let mut perms: (i64, Vec<Tensor>) = (-1, Vec::new());
        while state.iteration < t.iterations {
            self.permutations(state.iteration / self.per_epoch, &mut perms);
            // The same for every run of a group (`fusion_blocker`).
            let lr = learning_rate(t, state.iteration, &state.lr_states[0]);
            let (x, y) = self.batch(&perms.1, state.iteration)?;
            self.step(sgd, &mut acc, &x, &y, lr);
            state.iteration += 1;
            window_iters += 1;
            let marks = self.marks(state.iteration);
            if !(state.iteration % t.log_every == 0
                || marks.eval_now
                || marks.checkpoint_now
                || marks.epoch_end)
            {
                continue;
            }
            let window = self.read_window(&acc, window_iters, window_start, state);
            let _ = acc.zero_();
            if let Some(status) = self.end_window(sgd, state, &window, &marks, lr, progress)? {
                return Ok(status);
            }
            window_iters = 0;
            window_start = Instant::now();
        }
        Ok(vec![RunStatus::Completed; self.runs.len()])
    }

    /// Each run's shuffle of the training set for `epoch`, drawn when the epoch changes.
    fn permutations(&self, epoch: i64, perms: &mut (i64, Vec<Tensor>)) {
        if perms.0 == epoch {
            return;
        }
        let device = self.ctx.data.index_device();
        perms.1 = self
            .runs
            .iter()
            .map(|r| epoch_permutation(r.cfg.seed, epoch, self.train_len, device))
            .collect();
        perms.0 = epoch;
    }

    /// The step's input and labels: each run's own batch, side by side along
    /// channels for a fused group (labels [N, K]).
    fn batch(&self, perms: &[Tensor], iteration: i64) -> Result<(Tensor, Tensor)> {
        let j = iteration % self.per_epoch;
        let mut xs = Vec::with_capacity(self.runs.len());
        let mut ys = Vec::with_capacity(self.runs.len());
        for (r, perm) in self.runs.iter().zip(perms) {
            let idx = perm.narrow(0, j * self.batch, self.batch);
            // All randomness of this step (augmentation, dropout) from (seed, iteration):
            // each run of a group draws exactly what it would draw alone.
            let step_seed = derive_seed(r.cfg.seed, Stream::Step, iteration as u64);
            tch::manual_seed(step_seed as i64);
            let (x, y) = self.ctx.data.train_batch(&idx, r.cfg, step_seed)?;
            xs.push(x);
            ys.push(y);
        }
        let (x, y) = if self.k == 1 {
            (xs.remove(0), ys.remove(0))
        } else {
            (Tensor::cat(&xs, 1), Tensor::stack(&ys, 1))
        };
        Ok((self.ctx.layout.apply(&x), y))
    }

    /// Forward, backward and the update; the window's loss and error sums grow on the device.
    fn step(&self, sgd: &mut Sgd, acc: &mut Tensor, x: &Tensor, y: &Tensor, lr: f64) {
        // Backward runs outside autocast (as torch.autocast recommends): it
        // follows the dtypes the forward recorded.
        let (logits, aux) = precision::forward_aux(self.net, x, true, self.cfg.train.precision);
        let (loss, per_run) = group_loss(&logits, y, self.k);
        // GoogLeNet Sec. 5: the auxiliary classifiers' losses join the total
        // with their weights (training only); the logged loss and error are
        // the main classifier's.
        let loss = aux.iter().fold(loss, |loss, (weight, a)| {
            loss + group_loss(a, y, self.k).0 * *weight
        });
        tch::no_grad(|| {
            let err = group_errors(&logits, y, self.k);
            *acc += Tensor::stack(&[per_run.detach() * (self.batch as f64), err], 1);
        });
        sgd.step(&loss, lr);
    }

    fn marks(&self, iteration: i64) -> Marks {
        let t = &self.cfg.train;
        let epoch_end = iteration % self.per_epoch == 0;
        Marks {
            epoch_end,
            eval_now: iteration % t.eval_every == 0
                || iteration == t.iterations
                || (t.eval_each_epoch && epoch_end),
            checkpoint_now: iteration % t.checkpoint_every == 0 && iteration < t.iterations,
        }
    }

    /// The end of a logging window: the one host read.
    fn read_window(&self, acc: &Tensor, iters: i64, start: Instant, state: &mut State) -> Window {
        let n = self.runs.len();
        let sums: Vec<f32> = Vec::try_from(acc.to_device(Device::Cpu).view([-1]))
            .unwrap_or_else(|_| vec![f32::NAN; 2 * n]);
        let images = (iters * self.batch) as f64;
        let elapsed = start.elapsed().as_secs_f64();
        state.wall += elapsed;
        let loss_sums: Vec<f64> = (0..n).map(|i| sums[2 * i] as f64).collect();
        let err_sums: Vec<f64> = (0..n).map(|i| sums[2 * i + 1] as f64).collect();
        let train_loss: Vec<f64> = loss_sums.iter().map(|l| l / images).collect();
        Window {
            images,
            elapsed,
            train_error: err_sums.iter().map(|e| e / images).collect(),
            diverged: train_loss.iter().map(|l| !l.is_finite()).collect(),
            train_loss,
            loss_sums,
            err_sums,
        }
    }

    /// Everything at a window's end, in order: schedules observe the training
    /// error, early stop, evaluation, rows, progress, then stop (target reached
    /// or diverged) or checkpoint. Some(status) ends the loop.
    fn end_window(
        &self,
        sgd: &Sgd,
        state: &mut State,
        w: &Window,
        marks: &Marks,
        lr: f64,
        progress: &Progress,
    ) -> Result<Option<Vec<RunStatus>>> {
        let t = &self.cfg.train;
        for (i, st) in state.lr_states.iter_mut().enumerate() {
            observe_train_error(t, state.iteration, w.train_error[i], st);
        }
        let reached = marks.epoch_end && self.target_reached(state, w);
        let any_diverged = w.diverged.iter().any(|&d| d);
        let evals = if (marks.eval_now || reached) && !any_diverged {
            self.evaluate(state)?
        } else {
            vec![None; self.runs.len()]
        };
        let epoch_errors = self.push_rows(state, w, &evals, lr, marks.epoch_end);
        if evals.iter().any(Option::is_some) {
            self.write_metrics(state)?;
        }
        self.show_progress(progress, state.iteration, lr, w, &evals, &epoch_errors);
        if reached {
            progress.println(&format!(
                "[{}] training error below {:.1}% at iteration {}: target reached, stopping",
                self.group_id,
                100.0 * t.stop_at_train_error_below.unwrap_or(0.0),
                state.iteration
            ));
            return Ok(Some(vec![RunStatus::Completed; self.runs.len()]));
        }
        if any_diverged {
            return Ok(Some(self.diverged(state.iteration, w, progress)));
        }
        // A stop signal (`train::stop_on_signals`): checkpoint here and stop.
        let signalled = super::stop_requested();
        if marks.checkpoint_now || signalled {
            resume::save_group(&self.checkpointed(), sgd, state)?;
            if signalled
                || self
                    .ctx
                    .stop_at_checkpoint_after
                    .is_some_and(|s| state.iteration >= s)
            {
                let at = RunStatus::Interrupted {
                    iteration: state.iteration,
                };
                return Ok(Some(vec![at; self.runs.len()]));
            }
        }
        Ok(None)
    }

    /// Early stop at the end of an epoch whose training error is below the
    /// target (AlexNet Fig. 1 measures the epochs needed to reach 25%), for
    /// every run of the group (single runs only: `fusion_blocker`).
    fn target_reached(&self, state: &State, w: &Window) -> bool {
        let Some(thr) = self.cfg.train.stop_at_train_error_below else {
            return false;
        };
        (0..self.runs.len()).all(|i| {
            let a = &state.epoch_acc[i];
            (a[1] + w.err_sums[i]) / (a[2] + w.images) < thr
        })
    }

    /// Validation and test error of every run; each run's schedule observes
    /// its validation error (its test error without a validation split).
    fn evaluate(&self, state: &mut State) -> Result<Vec<Option<Evaluation>>> {
        let results = eval::evaluate(self.net, self.ctx.data, self.cfg, self.ctx.layout, self.k)?;
        Ok(results
            .into_iter()
            .zip(state.lr_states.iter_mut())
            .map(|(e, st)| {
                observe_eval_error(&self.cfg.train, e.validation.unwrap_or(e.test).error, st);
                Some(e)
            })
            .collect())
    }

    /// Each run's window row, and at an epoch's end its epoch row. Returns the
    /// epoch training errors (empty within an epoch).
    fn push_rows(
        &self,
        state: &mut State,
        w: &Window,
        evals: &[Option<Evaluation>],
        lr: f64,
        epoch_end: bool,
    ) -> Vec<f64> {
        let mut epoch_errors = Vec::new();
        for (i, eval) in evals.iter().enumerate() {
            let row = |kind, loss, error| {
                self.row(
                    i,
                    state.iteration,
                    kind,
                    (loss, error),
                    *eval,
                    lr,
                    w,
                    state.wall,
                )
            };
            let window = row(RowKind::Window, w.train_loss[i], w.train_error[i]);
            state.rows[i].push(window);
            let a = &mut state.epoch_acc[i];
            a[0] += w.loss_sums[i];
            a[1] += w.err_sums[i];
            a[2] += w.images;
            if epoch_end {
                let (l, e) = (a[0] / a[2], a[1] / a[2]);
                *a = [0.0; 3];
                let epoch = row(RowKind::Epoch, l, e);
                state.rows[i].push(epoch);
                epoch_errors.push(e);
            }
        }
        epoch_errors
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        i: usize,
        iteration: i64,
        kind: RowKind,
        (train_loss, train_error): (f64, f64),
        eval: Option<Evaluation>,
        lr: f64,
        w: &Window,
        wall: f64,
    ) -> MetricRow {
        let c = self.runs[i].cfg;
        let p = c.train.precision;
        // The papers trained in fp32 on the official data: a TF32/bf16 run or a
        // re-encoded copy is at most an analogue.
        let fidelity = run_fidelity(
            self.ctx.fidelity,
            self.ctx.data.label(),
            precision::label(p),
        );
        MetricRow {
            experiment: c.experiment.clone(),
            profile: c.profile.clone(),
            fidelity,
            faithful: fidelity == Fidelity::Paper,
            run_id: c.run_id(),
            run_name: c.name.clone(),
            config_hash: self.hashes[i].clone(),
            seed: c.seed as i64,
            model: self.model.clone(),
            depth: c.model.depth(),
            knobs: self.knobs.clone(),
            family: self.hyper.family.clone(),
            lr_base: self.hyper.lr_base,
            batch_size: self.hyper.batch_size,
            momentum: self.hyper.momentum,
            weight_decay: self.hyper.weight_decay,
            schedule: self.hyper.schedule.clone(),
            augment: self.hyper.augment.clone(),
            kind,
            iteration,
            epoch: iteration as f64 / self.per_epoch as f64,
            lr,
            train_loss,
            train_error,
            val_loss: eval.and_then(|e| e.validation).map(|v| v.loss),
            val_error: eval.and_then(|e| e.validation).map(|v| v.error),
            test_loss: eval.map(|e| e.test.loss),
            test_error: eval.map(|e| e.test.error),
            train_eval_loss: eval.and_then(|e| e.train).map(|t| t.loss),
            train_eval_error: eval.and_then(|e| e.train).map(|t| t.error),
            // Each run's own images: a fused group trains K times this many.
            images_per_sec: w.images / w.elapsed.max(1e-9),
            wall_time_s: wall,
            device: self.ctx.device_label.clone(),
            dataset: self.ctx.data.label().to_string(),
            precision: precision::label(p).into(),
            diverged: w.diverged[i],
        }
    }

    /// The window on the progress bar or line and in the runs' logs; at an
    /// epoch's end, the epoch's training (and test) error too.
    fn show_progress(
        &self,
        p: &Progress,
        iteration: i64,
        lr: f64,
        w: &Window,
        evals: &[Option<Evaluation>],
        epoch_errors: &[f64],
    ) {
        let tests: Vec<Option<f64>> = evals.iter().map(|e| e.map(|e| e.test.error)).collect();
        p.window(&Tick {
            iteration: iteration as u64,
            epoch: iteration as f64 / self.per_epoch as f64,
            lr,
            train_error: &w.train_error,
            test_error: &tests,
            // Each run's own images, as in the rows.
            images_per_sec: w.images / w.elapsed.max(1e-9),
            epoch_end: !epoch_errors.is_empty(),
        });
        if epoch_errors.is_empty() {
            return;
        }
        let percent = |v: &[f64]| {
            v.iter()
                .map(|e| format!("{:.1}%", 100.0 * e))
                .collect::<Vec<_>>()
                .join("/")
        };
        let line = |train: &[f64], test: &[f64]| {
            format!(
                "epoch {} ended at it {iteration}/{}: lr {lr:.4} train err {}{}",
                iteration / self.per_epoch,
                self.cfg.train.iterations,
                percent(train),
                if test.is_empty() {
                    String::new()
                } else {
                    format!(" test err {}", percent(test))
                }
            )
        };
        let per_run: Vec<String> = (0..self.runs.len())
            .map(|i| {
                let test: Vec<f64> = tests.get(i).copied().flatten().into_iter().collect();
                let train = epoch_errors.get(i).map(std::slice::from_ref).unwrap_or(&[]);
                line(train, &test)
            })
            .collect();
        let all: Vec<f64> = tests.iter().flatten().copied().collect();
        p.epoch(&line(epoch_errors, &all), &per_run);
    }

    /// Each run's rows so far to its `metrics.parquet` (atomically), so that
    /// readers and `--plot-only` see a run while it trains.
    fn write_metrics(&self, state: &State) -> Result<()> {
        for (r, rows) in self.runs.iter().zip(&state.rows) {
            records::metrics::write_parquet(&r.run_dir.join(records::metrics::RUN_FILE), rows)?;
        }
        Ok(())
    }

    /// The whole group stops when a run diverges: that run `Diverged`, the others `GroupStopped`.
    fn diverged(&self, iteration: i64, w: &Window, progress: &Progress) -> Vec<RunStatus> {
        for (i, r) in self.runs.iter().enumerate().filter(|(i, _)| w.diverged[*i]) {
            progress.println(&format!(
                "[{}] loss became {} at iteration {iteration}: diverged, stopping {}",
                r.cfg.run_id(),
                w.train_loss[i],
                if self.k == 1 {
                    "this run"
                } else {
                    "its fused group"
                }
            ));
        }
        w.diverged
            .iter()
            .map(|&d| {
                if d {
                    RunStatus::Diverged { iteration }
                } else {
                    RunStatus::GroupStopped { iteration }
                }
            })
            .collect()
    }
}
