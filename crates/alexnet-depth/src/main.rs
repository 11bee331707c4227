//! Krizhevsky et al. (2012), Sec. 7: removing a middle convolutional layer.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::plot::{curves_figure, epoch_panel, final_errors_figure, CurveKey};
use repro::report::{arm_table, Measured, Table};

struct Depth;

/// The paper's number (`experiments/papers/alexnet-2012.csv`).
const MIDDLE_TOP1: &str = "sec7.middle-layer-top1-cost";

/// (claim id, full net, middle layer removed, net) pairs of the file.
const PAIRS: [(&str, &str, &str, &str); 2] = [
    (
        "1",
        "three-conv",
        "middle-removed",
        "cuda-convnet CIFAR-10 net",
    ),
    ("2", "alexnet", "alexnet-conv3-removed", "ImageNet AlexNet"),
];

impl Experiment for Depth {
    fn name(&self) -> &'static str {
        "alexnet-depth"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let pairs: Vec<_> = PAIRS.iter().filter(|p| res.in_profile(p.1)).collect();
        let curves = curves_figure(
            res,
            "A middle conv layer removed: error vs epochs",
            CurveKey::LR_DROPS,
            pairs
                .iter()
                .map(|(_, full, cut, net)| epoch_panel(res, net, &[full, cut]))
                .collect(),
        )
        .with_shared_y();
        let arms: Vec<(&str, Option<&str>)> = pairs
            .iter()
            .flat_map(|(_, full, cut, _)| [(*full, None), (*cut, None)])
            .collect();
        let final_errors = final_errors_figure(
            res,
            "A middle conv layer removed: final test error per arm",
            &arms,
            "",
            &format!(
                "not drawn (ImageNet AlexNet, a difference): {}",
                res.paper.quote(MIDDLE_TOP1)
            ),
        );
        vec![("depth".into(), curves), ("final".into(), final_errors)]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        let arms: Vec<&str> = res.profile.runs.iter().map(String::as_str).collect();
        vec![arm_table(
            &res.runs,
            "Test error with all conv layers and with a middle one removed",
            &arms,
            &format!(
                "Paper (ImageNet, AlexNet): removing any middle conv layer costs about {} top-1 ({}).",
                res.paper.show(MIDDLE_TOP1),
                res.paper.source(MIDDLE_TOP1)
            ),
        )]
    }

    /// Final test errors (and gaps) of named runs, as the claims file states.
    fn claims(&self, res: &Results) -> Vec<Measured> {
        res.measure_all()
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Depth, env!("CARGO_PKG_NAME"))
}
