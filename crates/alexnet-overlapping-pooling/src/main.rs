//! Krizhevsky et al. (2012), Sec. 3.4: overlapping (z=3, s=2) vs non-overlapping (z=s=2) pooling.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::report::{arm_table, compare_lower, epoch_panel, Claim, Table};

struct Pooling;

impl Experiment for Pooling {
    fn name(&self) -> &'static str {
        "alexnet-overlapping-pooling"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        vec![(
            "pooling".into(),
            Figure::new(
                "Overlapping (z=3, s=2) vs non-overlapping (z=2, s=2) pooling",
                format!(
                    "{} | dashed: training error, bold: test error",
                    res.header.caption()
                ),
                vec![epoch_panel(
                    &res.runs,
                    "cuda-convnet conv32-32-64",
                    &["overlapping", "non-overlapping"],
                )],
            ),
        )]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        vec![arm_table(
            &res.runs,
            "Test error and train-test gap",
            &["overlapping", "non-overlapping"],
            "Paper (ImageNet): overlapping pooling cut top-1 by 0.4% and top-5 by 0.3%; both pool to the same output size (16, 8, 4 here).",
        )]
    }

    fn claims(&self, res: &Results) -> Vec<Claim> {
        let (o, n) = (res.runs.arm("overlapping"), res.runs.arm("non-overlapping"));
        let (m1, v1) = compare_lower("overlapping", o.test_error, "non-overlapping", n.test_error);
        let (m2, v2) = compare_lower("overlapping gap", o.gap, "non-overlapping gap", n.gap);
        vec![
            Claim {
                id: "1".into(),
                statement: "Overlapping pooling lowers the test error".into(),
                paper: "ImageNet: top-1 -0.4%, top-5 -0.3%".into(),
                measured: m1,
                verdict: v1,
            },
            Claim {
                id: "2".into(),
                statement: "Overlapping pooling makes overfitting slightly harder (smaller test - training gap)".into(),
                paper: "Sec. 3.4: \"slightly more difficult to overfit\"".into(),
                measured: m2,
                verdict: v2,
            },
        ]
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Pooling, env!("CARGO_PKG_NAME"))
}
