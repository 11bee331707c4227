//! Krizhevsky et al. (2012), Sec. 3.3: local response normalisation on/off.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::report::{arm_table, compare_lower, epoch_panel, Claim, Table};

struct Lrn;

impl Experiment for Lrn {
    fn name(&self) -> &'static str {
        "alexnet-lrn"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        vec![(
            "lrn".into(),
            Figure::new(
                "LRN on/off: error vs epochs",
                format!(
                    "{} | dashed: training error, bold: test error",
                    res.header.caption()
                ),
                [
                    ("cuda-convnet conv32-32-64", ["no-lrn", "lrn"]),
                    (
                        "cuda-convnet conv-local",
                        ["conv-local-no-lrn", "conv-local-lrn"],
                    ),
                ]
                .iter()
                .filter(|(_, arms)| res.in_profile(arms[0]))
                .map(|(title, arms)| epoch_panel(&res.runs, title, arms))
                .collect(),
            ),
        )]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        vec![arm_table(
            &res.runs,
            "Test error with and without LRN",
            &["no-lrn", "lrn", "conv-local-no-lrn", "conv-local-lrn"]
                .into_iter()
                .filter(|a| res.in_profile(a))
                .collect::<Vec<_>>(),
            "Paper: CIFAR-10 four-layer CNN 13% without, 11% with normalisation (cuda-convnet configs that also differ in other ways: this is the clean ablation, same net and recipe, LRN the only difference); ImageNet: LRN cut top-1 by 1.4% and top-5 by 1.2%.",
        )]
    }

    fn claims(&self, res: &Results) -> Vec<Claim> {
        let mut claims = Vec::new();
        for (id, net, with, without) in [
            ("1", "conv32-32-64", "lrn", "no-lrn"),
            ("2", "conv-local", "conv-local-lrn", "conv-local-no-lrn"),
        ] {
            if !res.in_profile(with) {
                continue;
            }
            let (m, v) = compare_lower(
                with,
                res.runs.arm(with).test_error,
                without,
                res.runs.arm(without).test_error,
            );
            claims.push(Claim {
                id: id.into(),
                statement: format!(
                    "Local response normalisation lowers the test error ({net} net)"
                ),
                paper: "CIFAR-10: 13% -> 11% (conv-local nets); ImageNet: top-1 -1.4%, top-5 -1.2%"
                    .into(),
                measured: m,
                verdict: v,
            });
        }
        claims
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Lrn, env!("CARGO_PKG_NAME"))
}
