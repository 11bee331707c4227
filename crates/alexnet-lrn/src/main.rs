//! Krizhevsky et al. (2012), Sec. 3.3: local response normalisation on/off.
use repro::experiment::{Experiment, Results};
use repro::figures::Figure;
use repro::report::{arm_table, compare_lower, epoch_panel, Claim, Table};

struct Lrn;

impl Experiment for Lrn {
    fn name(&self) -> &'static str {
        "alexnet-lrn"
    }
    fn title(&self) -> &'static str {
        "AlexNet Sec. 3.3: local response normalisation on CIFAR-10"
    }
    fn paper(&self) -> &'static str {
        "Krizhevsky, Sutskever, Hinton. ImageNet Classification with Deep Convolutional Neural Networks. NIPS 2012, Sec. 3.3."
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
                vec![epoch_panel(
                    &res.runs,
                    "cuda-convnet conv32-32-64",
                    &["no-lrn", "lrn"],
                )],
            ),
        )]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        vec![arm_table(
            &res.runs,
            "Test error with and without LRN",
            &["no-lrn", "lrn"],
            "Paper: CIFAR-10 four-layer CNN 13% without, 11% with normalisation (cuda-convnet configs that also differ in other ways: this is the clean ablation, same net and recipe, LRN the only difference); ImageNet: LRN cut top-1 by 1.4% and top-5 by 1.2%.",
        )]
    }

    fn claims(&self, res: &Results) -> Vec<Claim> {
        let (m, v) = compare_lower(
            "lrn",
            res.runs.arm("lrn").test_error,
            "no-lrn",
            res.runs.arm("no-lrn").test_error,
        );
        vec![Claim {
            id: "1".into(),
            statement: "Local response normalisation lowers the test error".into(),
            paper: "CIFAR-10: 13% -> 11%; ImageNet: top-1 -1.4%, top-5 -1.2%".into(),
            measured: m,
            verdict: v,
        }]
    }
}

fn main() -> std::process::ExitCode {
    repro::experiment::main(Lrn)
}
