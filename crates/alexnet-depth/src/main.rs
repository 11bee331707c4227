//! Krizhevsky et al. (2012), Sec. 7: removing a middle convolutional layer.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::report::{arm_table, compare_lower, epoch_panel, Claim, Table};

struct Depth;

impl Experiment for Depth {
    fn name(&self) -> &'static str {
        "alexnet-depth"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let pairs: Vec<(&str, [&str; 2])> = [
            (
                "cuda-convnet CIFAR-10 net",
                ["three-conv", "middle-removed"],
            ),
            ("ImageNet AlexNet", ["alexnet", "alexnet-conv3-removed"]),
        ]
        .into_iter()
        .filter(|(_, a)| res.in_profile(a[0]))
        .collect();
        vec![(
            "depth".into(),
            Figure::new(
                "A middle conv layer removed: error vs epochs",
                format!(
                    "{} | dashed: training error, bold: test error",
                    res.header.caption()
                ),
                pairs
                    .iter()
                    .map(|(t, a)| epoch_panel(&res.runs, t, a))
                    .collect(),
            ),
        )]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        let arms: Vec<&str> = res.profile.runs.iter().map(String::as_str).collect();
        vec![arm_table(
            &res.runs,
            "Test error with all conv layers and with a middle one removed",
            &arms,
            "Paper (ImageNet, AlexNet): removing any middle conv layer costs about 2% top-1.",
        )]
    }

    fn claims(&self, res: &Results) -> Vec<Claim> {
        [
            (
                "1",
                "three-conv",
                "middle-removed",
                "cuda-convnet CIFAR-10 net",
            ),
            ("2", "alexnet", "alexnet-conv3-removed", "ImageNet AlexNet"),
        ]
        .into_iter()
        .filter(|(_, full, _, _)| res.in_profile(full))
        .map(|(id, full, cut, net)| {
            let (measured, verdict) = compare_lower(
                full,
                res.runs.arm(full).test_error,
                cut,
                res.runs.arm(cut).test_error,
            );
            Claim {
                id: id.into(),
                statement: format!("Removing a middle conv layer raises the error ({net})"),
                paper: "about +2% top-1 (ImageNet)".into(),
                measured,
                verdict,
            }
        })
        .collect()
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Depth, env!("CARGO_PKG_NAME"))
}
