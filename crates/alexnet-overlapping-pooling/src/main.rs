//! Krizhevsky et al. (2012), Sec. 3.4: overlapping (z=3, s=2) vs non-overlapping (z=s=2) pooling.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::plot::{curves_figure, epoch_panel, final_errors_figure, CurveKey};
use repro::report::{arm_table, Measured, Table};

struct Pooling;

/// The paper's numbers (`experiments/papers/alexnet-2012.csv`).
const IMAGENET_TOP1: &str = "sec3.4.imagenet-top1-reduction";
const IMAGENET_TOP5: &str = "sec3.4.imagenet-top5-reduction";

const ARMS: [&str; 2] = ["overlapping", "non-overlapping"];

/// The paper's ImageNet effect, which is a difference on another dataset.
fn imagenet_effect(res: &Results) -> String {
    format!(
        "ImageNet ({}): overlapping pooling lowers top-1 by {} and top-5 by {}",
        res.paper.source(IMAGENET_TOP1),
        res.paper.show(IMAGENET_TOP1),
        res.paper.show(IMAGENET_TOP5)
    )
}

impl Experiment for Pooling {
    fn name(&self) -> &'static str {
        "alexnet-overlapping-pooling"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let curves = curves_figure(
            res,
            "Overlapping (z=3, s=2) vs non-overlapping (z=2, s=2) pooling",
            CurveKey::LR_DROPS,
            vec![epoch_panel(res, "cuda-convnet conv32-32-64", &ARMS)],
        );
        let final_errors = final_errors_figure(
            res,
            "Overlapping vs non-overlapping pooling: final test error per arm",
            &ARMS.map(|a| (a, None)),
            "",
            &format!("not drawn: {}", imagenet_effect(res)),
        );
        vec![("pooling".into(), curves), ("final".into(), final_errors)]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        vec![arm_table(
            &res.runs,
            "Test error and train-test gap",
            &ARMS,
            &format!(
                "Paper: {}; both pool to the same output size (16, 8, 4 here).",
                imagenet_effect(res)
            ),
        )]
    }

    /// Final test errors (and gaps) of named runs, as the claims file states.
    fn claims(&self, res: &Results) -> Vec<Measured> {
        res.measure_all()
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Pooling, env!("CARGO_PKG_NAME"))
}
