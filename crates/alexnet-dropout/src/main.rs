//! Krizhevsky et al. (2012), Sec. 4.2: dropout on the hidden fully connected layers.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::plot::{curves_figure, epoch_panel, final_errors_figure, CurveKey};
use repro::report::{arm_table, Bounded, Measured, Table};
use std::collections::BTreeMap;

struct Dropout;

/// The paper's statements (`experiments/papers/alexnet-2012.csv`).
const OVERFITS_WITHOUT: &str = "sec4.2.overfits-without";

const ARMS: [&str; 2] = ["no-dropout", "dropout"];

/// One seed's (epoch, test error) evaluations of an arm, by seed.
fn test_curves(res: &Results, arm: &str) -> BTreeMap<i64, Vec<(f64, f64)>> {
    res.runs
        .epochs_by_name
        .get(arm)
        .map(|seeds| {
            seeds
                .iter()
                .map(|(seed, rows)| {
                    let curve = rows
                        .iter()
                        .filter_map(|r| r.test_error.map(|e| (r.epoch.round(), e)))
                        .collect();
                    (*seed, curve)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One seed pair's epochs to converge: the epochs each arm needs to bring its
/// test error to the one both reach (the worse of the two best errors).
#[derive(Debug, Clone, Copy)]
struct SeedRatio {
    seed: i64,
    threshold: f64,
    epochs_off: f64,
    epochs_on: f64,
}

fn seed_ratios(res: &Results) -> Vec<SeedRatio> {
    let (off, on) = (test_curves(res, "no-dropout"), test_curves(res, "dropout"));
    let best = |c: &[(f64, f64)]| c.iter().map(|p| p.1).reduce(f64::min);
    let first = |c: &[(f64, f64)], thr: f64| c.iter().find(|p| p.1 <= thr).map(|p| p.0);
    off.iter()
        .filter_map(|(seed, c_off)| {
            let c_on = on.get(seed)?;
            let threshold = best(c_off)?.max(best(c_on)?);
            Some(SeedRatio {
                seed: *seed,
                threshold,
                epochs_off: first(c_off, threshold)?,
                epochs_on: first(c_on, threshold)?,
            })
        })
        .collect()
}

impl Experiment for Dropout {
    fn name(&self) -> &'static str {
        "alexnet-dropout"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let curves = curves_figure(
            res,
            "Dropout on/off: error vs epochs",
            CurveKey {
                training_mode: Some("dropout active"),
                lr_drops: true,
            },
            vec![epoch_panel(res, "conv 64-64-128, fc 1024-1024", &ARMS)],
        );
        let final_errors = final_errors_figure(
            res,
            "Dropout on/off: final test error per arm",
            &ARMS.map(|a| (a, None)),
            "",
            &format!(
                "the paper gives no error for this comparison ({})",
                res.paper.quote(OVERFITS_WITHOUT)
            ),
        );
        vec![("dropout".into(), curves), ("final".into(), final_errors)]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        vec![arm_table(
            &res.runs,
            "Dropout 0.5 on the two hidden fc layers, on and off",
            &ARMS,
            "The table's training error and gap are in evaluation mode (dropout off), on `data.train_eval_images` training images at the last evaluation: the quantity claim 1 judges. The curves' training error is in training mode (dropout active for the dropout arm), as the paper's curves are.",
        )]
    }

    /// Claim 1's gap (evaluation mode) per arm and seed, and claim 2's
    /// per-seed ratio of the epochs each arm needs to reach the test error
    /// both reach (the worse of the two best).
    fn claims(&self, res: &Results) -> Vec<Measured> {
        let ratios = seed_ratios(res);
        let per_seed: Vec<String> = ratios
            .iter()
            .map(|r| {
                format!(
                    "seed {}: {:.2}% test error after {} epochs with dropout, {} without",
                    r.seed,
                    100.0 * r.threshold,
                    r.epochs_on,
                    r.epochs_off
                )
            })
            .collect();
        let ratio = if ratios.is_empty() {
            Measured::missing("2", "no seed with test errors in both arms")
        } else {
            let exact = ratios
                .iter()
                .map(|r| (r.seed, Bounded::Exact(r.epochs_on / r.epochs_off.max(1.0))))
                .collect();
            Measured::ratios("2", exact).note(per_seed.join("; "))
        };
        res.specs
            .iter()
            .map(|s| {
                if s.id == "2" {
                    ratio.clone()
                } else {
                    res.runs.measure(s)
                }
            })
            .collect()
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Dropout, env!("CARGO_PKG_NAME"))
}
