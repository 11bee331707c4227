//! Krizhevsky et al. (2012), Sec. 4.2: dropout on the hidden fully connected layers.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::plot::{arm_panel, epoch_panel, BAND_NOTE};
use repro::report::{arm_table, pct_stats, Claim, Table, Verdict};

struct Dropout;

/// The paper's statements (`experiments/papers/alexnet-2012.csv`).
const OVERFITS_WITHOUT: &str = "sec4.2.overfits-without";
const ITERATIONS_RATIO: &str = "sec4.2.iterations-ratio";

/// The project's acceptance band for the paper's "roughly doubles"
/// (`sec4.2.iterations-ratio`, 2x): a ratio of epochs within [low, high].
/// Not a paper number.
const RATIO_LOW: f64 = 1.5;
const RATIO_HIGH: f64 = 3.0;

const ARMS: [&str; 2] = ["no-dropout", "dropout"];

/// Epochs an arm needs to bring its (mean-over-seeds) test error to `threshold` (%).
fn epochs_to(res: &Results, arm: &str, threshold: f64) -> Option<f64> {
    res.runs
        .epoch_curve(arm, |r| r.test_error)
        .into_iter()
        .find(|(_, e)| *e <= threshold)
        .map(|(ep, _)| ep)
}

fn best_test(res: &Results, arm: &str) -> Option<f64> {
    res.runs
        .epoch_curve(arm, |r| r.test_error)
        .into_iter()
        .map(|(_, e)| e)
        .reduce(f64::min)
}

impl Experiment for Dropout {
    fn name(&self) -> &'static str {
        "alexnet-dropout"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let curves = Figure::new(
            "Dropout on/off: error vs epochs",
            format!(
                "{} | dashed: training error (dropout active), bold: test error (dots: evaluations), dotted verticals: lr drops | {BAND_NOTE}",
                res.header.caption()
            ),
            vec![epoch_panel(res, "conv 64-64-128, fc 1024-1024", &ARMS)],
        );
        let final_errors = Figure::new(
            "Dropout on/off: final test error per arm",
            format!(
                "{} | circles: each seed, bar: mean ± std over seeds | the paper gives no error for this comparison ({})",
                res.header.caption(),
                res.paper.quote(OVERFITS_WITHOUT)
            ),
            vec![arm_panel(res, "final test error", &ARMS.map(|a| (a, None)))],
        );
        vec![("dropout".into(), curves), ("final".into(), final_errors)]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        vec![arm_table(
            &res.runs,
            "Dropout 0.5 on the two hidden fc layers, on and off",
            &ARMS,
            "Training error is measured in training mode (with dropout active for the dropout arm), as the papers' curves are.",
        )]
    }

    fn claims(&self, res: &Results) -> Vec<Claim> {
        let (off, on) = (res.runs.arm("no-dropout"), res.runs.arm("dropout"));
        let mut claims = Vec::new();
        // 1. Overfitting without dropout: its test-train gap is larger.
        let (measured, verdict) = match (off.gap, on.gap) {
            (Some(g_off), Some(g_on)) => (
                format!(
                    "test - training error: without dropout {}, with dropout {}",
                    pct_stats(Some(g_off)),
                    pct_stats(Some(g_on))
                ),
                Verdict::from_bool(g_off.mean > g_on.mean),
            ),
            _ => (
                "—".into(),
                Verdict::NotEvaluated("an arm did not finish".into()),
            ),
        };
        claims.push(Claim {
            id: "1".into(),
            statement: "Without dropout the net overfits: its gap between test and training error is larger than with dropout".into(),
            paper: format!("{} (no number)", res.paper.quote(OVERFITS_WITHOUT)),
            measured,
            verdict,
        });
        // 2. Dropout roughly doubles the iterations to converge: epochs each arm
        // needs to reach the test error both arms reach (the worse of the two
        // best errors); "roughly double" taken as a ratio in [RATIO_LOW, RATIO_HIGH].
        let (measured, verdict) = match (best_test(res, "no-dropout"), best_test(res, "dropout")) {
            (Some(b_off), Some(b_on)) => {
                let thr = b_off.max(b_on);
                match (
                    epochs_to(res, "no-dropout", thr),
                    epochs_to(res, "dropout", thr),
                ) {
                    (Some(e_off), Some(e_on)) => {
                        let ratio = e_on / e_off.max(1.0);
                        (
                            format!(
                                "to reach {thr:.2}% test error: {e_on} epochs with dropout, {e_off} without (ratio {ratio:.2}; criterion {RATIO_LOW}-{RATIO_HIGH})"
                            ),
                            Verdict::from_bool((RATIO_LOW..=RATIO_HIGH).contains(&ratio)),
                        )
                    }
                    _ => (
                        "—".into(),
                        Verdict::NotEvaluated("threshold not reached".into()),
                    ),
                }
            }
            _ => (
                "—".into(),
                Verdict::NotEvaluated("an arm did not finish".into()),
            ),
        };
        claims.push(Claim {
            id: "2".into(),
            statement: format!(
                "Dropout multiplies the number of iterations required to converge by about {}",
                res.paper.show(ITERATIONS_RATIO)
            ),
            paper: format!(
                "{} ({}; accepted here: a ratio of epochs in {RATIO_LOW}-{RATIO_HIGH})",
                res.paper.quote(ITERATIONS_RATIO),
                res.paper.show(ITERATIONS_RATIO)
            ),
            measured,
            verdict,
        });
        claims
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Dropout, env!("CARGO_PKG_NAME"))
}
