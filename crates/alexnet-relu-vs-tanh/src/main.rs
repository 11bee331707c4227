//! Krizhevsky, Sutskever, Hinton (2012), Sec. 3.1 and Fig. 1: a four-layer
//! convolutional net with ReLUs reaches Fig. 1's target training error on
//! CIFAR-10 several times faster than the same net with tanh units (the
//! numbers are in `experiments/papers/alexnet-2012.csv`).
use repro::driver::{Experiment, Results};
use repro::figures::{Figure, HLine, Panel, Series, VLine};
use repro::models::layers::Activation;
use repro::models::ModelConfig;
use repro::plot::{seed_curve, BAND_NOTE};
use repro::report::{Bounded, Measured, Table};
use std::collections::BTreeMap;

/// Fig. 1's numbers (`experiments/papers/alexnet-2012.csv`): the training
/// error both nets are timed to, and how much sooner ReLU gets there.
const TARGET: &str = "fig1.target-train-error";
const SPEEDUP: &str = "fig1.relu-speedup";

struct ReluVsTanh;

/// What one seed of one run of the lr grid achieved.
#[derive(Debug, Clone, Copy)]
struct SeedSpeed {
    /// (epoch, iteration) at which the training error first reached the target, if it did.
    reached: Option<(f64, i64)>,
    epochs_trained: f64,
    final_train_error: f64,
}

/// What one run of the lr grid achieved, per seed.
#[derive(Debug, Clone)]
struct Speed {
    run: String,
    seeds: BTreeMap<i64, SeedSpeed>,
}

impl Speed {
    fn reached(&self) -> usize {
        self.seeds.values().filter(|s| s.reached.is_some()).count()
    }

    /// Mean iterations to the target over the seeds that reached it, else the
    /// mean last training error (lower is faster in both).
    fn rank(&self) -> f64 {
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
        if self.reached() > 0 {
            mean(
                self.seeds
                    .values()
                    .filter_map(|s| s.reached.map(|r| r.1 as f64))
                    .collect(),
            )
        } else {
            mean(self.seeds.values().map(|s| s.final_train_error).collect())
        }
    }
}

/// One seed pair's speed-up of ReLU over tanh (tanh's epochs to the target
/// over ReLU's): exact, or bounded where a run never got there (a tanh run
/// still above the target after its last epoch needs more than that many);
/// `None` where neither got there.
fn ratio_of(relu: &SeedSpeed, tanh: &SeedSpeed) -> Option<Bounded> {
    match (relu.reached, tanh.reached) {
        (Some((er, _)), Some((et, _))) => Some(Bounded::Exact(et / er)),
        (Some((er, _)), None) => Some(Bounded::AtLeast(tanh.epochs_trained / er)),
        (None, Some((et, _))) => Some(Bounded::AtMost(et / relu.epochs_trained.max(1.0))),
        (None, None) => None,
    }
}

impl ReluVsTanh {
    /// The activation of a run's net, from its resolved config.
    fn activation_of(res: &Results, run: &str) -> Option<Activation> {
        match res.config_of(run)?.model {
            ModelConfig::CudaConvnet(c) => Some(c.activation),
            _ => None,
        }
    }

    fn speeds(res: &Results, activation: Activation) -> Vec<Speed> {
        let target = res.paper.fraction(TARGET);
        res.profile
            .runs
            .iter()
            .filter(|r| Self::activation_of(res, r) == Some(activation))
            .filter_map(|r| {
                let seeds = res.runs.epochs_by_name.get(r)?;
                let of_seed = |rows: &Vec<repro::metrics::MetricRow>| SeedSpeed {
                    reached: rows
                        .iter()
                        .find(|row| row.train_error <= target)
                        .map(|row| (row.epoch.round(), row.iteration)),
                    epochs_trained: rows.last().map(|row| row.epoch.round()).unwrap_or(0.0),
                    final_train_error: rows.last().map(|row| row.train_error).unwrap_or(f64::NAN),
                };
                Some(Speed {
                    run: r.clone(),
                    seeds: seeds.iter().map(|(s, rows)| (*s, of_seed(rows))).collect(),
                })
            })
            .collect()
    }

    /// The fastest run of an activation: most seeds at the target, then fewest
    /// mean iterations to it, else lowest mean last training error.
    fn fastest(res: &Results, activation: Activation) -> Option<Speed> {
        let mut v = Self::speeds(res, activation);
        v.sort_by(|a, b| {
            b.reached()
                .cmp(&a.reached())
                .then_with(|| a.rank().total_cmp(&b.rank()))
        });
        v.into_iter().next()
    }
}

fn describe(res: &Results, run: &str, s: &SeedSpeed) -> String {
    match s.reached {
        Some((e, it)) => format!(
            "{run}: {} at epoch {e} (iteration {it})",
            res.paper.show(TARGET)
        ),
        None => format!(
            "{run}: not reached in {} epochs (last epoch {:.1}%)",
            s.epochs_trained,
            100.0 * s.final_train_error
        ),
    }
}

impl Experiment for ReluVsTanh {
    fn name(&self) -> &'static str {
        "alexnet-relu-vs-tanh"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let mut p = Panel::new(
            "training error vs epochs (fastest lr of each)",
            "epochs",
            "training error (%)",
        );
        let mut c = 0;
        let mut banded = false;
        for act in [Activation::Relu, Activation::Tanh] {
            let fastest = Self::fastest(res, act).map(|b| b.run);
            for s in Self::speeds(res, act) {
                let curve = seed_curve(
                    res.runs.epoch_seeds(&s.run),
                    |r| r.epoch.round(),
                    |r| Some(r.train_error),
                );
                banded |= !curve.band.is_empty();
                let label = res.label(&s.run);
                let mut series = if act == Activation::Relu {
                    Series::new(label, curve.mean, c)
                } else {
                    Series::train(label, curve.mean, c)
                }
                .with_band(curve.band);
                series.width = if fastest.as_deref() == Some(s.run.as_str()) {
                    3
                } else {
                    1
                };
                series.show_in_legend = true;
                p.series.push(series);
                c += 1;
            }
        }
        let target = res.paper.value(TARGET);
        if target.is_finite() {
            p.hlines.push(HLine {
                y: target,
                label: res.paper.show(TARGET),
            });
        }
        // Where the paper's ratio puts tanh: the fastest ReLU run's mean epoch
        // to the target, times the paper's speed-up.
        let relu_epoch = Self::fastest(res, Activation::Relu).and_then(|b| {
            let e: Vec<f64> = b
                .seeds
                .values()
                .filter_map(|s| s.reached.map(|r| r.0))
                .collect();
            (!e.is_empty()).then(|| e.iter().sum::<f64>() / e.len() as f64)
        });
        let speedup = res.paper.value(SPEEDUP);
        if let (Some(e), true) = (relu_epoch, speedup.is_finite()) {
            // Widen the axis to show it when the runs stopped before it.
            let last = p
                .series
                .iter()
                .flat_map(|s| s.points.iter().map(|q| q.0))
                .fold(1.0, f64::max);
            p.x_range = Some((1.0, last.max(1.05 * e * speedup)));
            p.vlines.push(VLine::new(
                e * speedup,
                format!("paper: tanh at {} ReLU's epoch", res.paper.show(SPEEDUP)),
            ));
        }
        p.y_range = Some((0.0, 80.0));
        vec![(
            "fig1".into(),
            Figure::new(
                "Fig. 1: ReLU (solid) vs tanh (dashed) on CIFAR-10",
                format!(
                    "{} | solid: ReLU, dashed: tanh, bold: fastest lr of each activation{} | paper ({}): ReLU reaches {} training error {} sooner than tanh",
                    res.header.caption(),
                    if banded { format!(" | {BAND_NOTE}") } else { String::new() },
                    res.paper.source(SPEEDUP),
                    res.paper.show(TARGET),
                    res.paper.show(SPEEDUP)
                ),
                vec![p],
            ),
        )]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        let target = res.paper.show(TARGET);
        let mut rows = Vec::new();
        for act in [Activation::Relu, Activation::Tanh] {
            for s in Self::speeds(res, act) {
                for (seed, x) in &s.seeds {
                    rows.push(vec![
                        s.run.clone(),
                        seed.to_string(),
                        x.reached
                            .map(|(e, _)| format!("{e}"))
                            .unwrap_or_else(|| format!("> {}", x.epochs_trained)),
                        x.reached
                            .map(|(_, i)| i.to_string())
                            .unwrap_or_else(|| "—".into()),
                        format!("{:.2}%", 100.0 * x.final_train_error),
                    ]);
                }
            }
        }
        vec![Table {
            title: format!("Epochs to {target} training error, per learning rate and seed"),
            header: vec![
                "run".into(),
                "seed".into(),
                format!("epochs to {target}"),
                "iterations".into(),
                "last epoch's training error".into(),
            ],
            rows,
            note: "Training error: running average over each epoch's mini-batches (no augmentation, no regularisation).".into(),
        }]
    }

    /// Claim 1's per-seed speed-ups: seed i of ReLU's fastest run against
    /// seed i of tanh's (fastest: most seeds at the target, then fewest
    /// iterations to it, judged on the training error the claim is about).
    fn claims(&self, res: &Results) -> Vec<Measured> {
        let (Some(relu), Some(tanh)) = (
            Self::fastest(res, Activation::Relu),
            Self::fastest(res, Activation::Tanh),
        ) else {
            return vec![Measured::missing("1", "needs a ReLU and a tanh run")];
        };
        let mut ratios = BTreeMap::new();
        let mut per_seed = Vec::new();
        for (seed, r) in &relu.seeds {
            let Some(t) = tanh.seeds.get(seed) else {
                continue;
            };
            per_seed.push(format!(
                "seed {seed}: {}; {}",
                describe(res, &relu.run, r),
                describe(res, &tanh.run, t)
            ));
            if let Some(ratio) = ratio_of(r, t) {
                ratios.insert(*seed, ratio);
            }
        }
        if ratios.is_empty() {
            return vec![Measured::missing(
                "1",
                "no seed of both activations with a ratio (neither reached the target)",
            )];
        }
        vec![Measured::ratios("1", ratios).note(per_seed.join("; "))]
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(ReluVsTanh, env!("CARGO_PKG_NAME"))
}
