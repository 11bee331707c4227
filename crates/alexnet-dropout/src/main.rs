//! Krizhevsky et al. (2012), Sec. 4.2: dropout on the hidden fully connected layers.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::report::{arm_table, epoch_panel, pct_stats, Claim, Table, Verdict};

struct Dropout;

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
        vec![(
            "dropout".into(),
            Figure::new(
                "Dropout on/off: error vs epochs",
                format!(
                    "{} | dashed: training error, bold: test error",
                    res.header.caption()
                ),
                vec![epoch_panel(
                    &res.runs,
                    "conv 64-64-128, fc 1024-1024",
                    &["no-dropout", "dropout"],
                )],
            ),
        )]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        vec![arm_table(
            &res.runs,
            "Dropout 0.5 on the two hidden fc layers, on and off",
            &["no-dropout", "dropout"],
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
            paper: "\"Without dropout, our network exhibits substantial overfitting\" (no number)".into(),
            measured,
            verdict,
        });
        // 2. Dropout roughly doubles the iterations to converge: epochs each arm
        // needs to reach the test error both arms reach (the worse of the two
        // best errors); "roughly double" taken as a ratio in [1.5, 3].
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
                                "to reach {thr:.2}% test error: {e_on} epochs with dropout, {e_off} without (ratio {ratio:.2}; criterion 1.5-3)"
                            ),
                            Verdict::from_bool((1.5..=3.0).contains(&ratio)),
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
            statement: "Dropout roughly doubles the number of iterations required to converge"
                .into(),
            paper: "\"roughly doubles the number of iterations required to converge\"".into(),
            measured,
            verdict,
        });
        claims
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Dropout, env!("CARGO_PKG_NAME"))
}
