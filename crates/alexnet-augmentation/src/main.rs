//! Krizhevsky et al. (2012), Sec. 4.1: translations + reflections and PCA colour
//! augmentation, each on and off.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::report::{arm_table, compare_lower, epoch_panel, Claim, Table};

struct Augmentation;

const ARMS: [&str; 4] = ["none", "crop-flip", "pca", "crop-flip-pca"];

impl Experiment for Augmentation {
    fn name(&self) -> &'static str {
        "alexnet-augmentation"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let arms: Vec<&str> = ARMS.into_iter().filter(|a| res.in_profile(a)).collect();
        vec![(
            "augmentation".into(),
            Figure::new(
                "Data augmentation on/off: error vs epochs",
                format!(
                    "{} | dashed: training error, bold: test error",
                    res.header.caption()
                ),
                vec![epoch_panel(&res.runs, "cuda-convnet conv32-32-64", &arms)],
            ),
        )]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        let arms: Vec<&str> = ARMS.into_iter().filter(|a| res.in_profile(a)).collect();
        vec![arm_table(
            &res.runs,
            "Test error with each augmentation on and off",
            &arms,
            "crop-flip: 4-pixel padding, random 32x32 crop, horizontal flip (the CIFAR analogue of AlexNet's 224-of-256 patches and reflections). pca: AlexNet's PCA colour augmentation, alpha ~ N(0, 0.1) per image. Paper (ImageNet): PCA colour cuts top-1 by over 1%; without translations and reflections the net overfits substantially.",
        )]
    }

    fn claims(&self, res: &Results) -> Vec<Claim> {
        let err = |a: &str| res.runs.arm(a).test_error;
        let mut claims = Vec::new();
        for (id, with, without, statement, paper) in [
            (
                "1",
                "crop-flip",
                "none",
                "Translations and reflections lower the test error (less overfitting)",
                "\"Without this scheme, our network suffers from substantial overfitting\"",
            ),
            (
                "2",
                "crop-flip-pca",
                "crop-flip",
                "PCA colour augmentation lowers the test error (on top of crops and flips)",
                "top-1 error reduced by over 1% (ImageNet)",
            ),
            (
                "3",
                "pca",
                "none",
                "PCA colour augmentation alone lowers the test error",
                "top-1 error reduced by over 1% (ImageNet, with crops and flips)",
            ),
        ] {
            if !(res.in_profile(with) && res.in_profile(without)) {
                continue;
            }
            let (measured, verdict) = compare_lower(with, err(with), without, err(without));
            claims.push(Claim {
                id: id.into(),
                statement: statement.into(),
                paper: paper.into(),
                measured,
                verdict,
            });
        }
        claims
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Augmentation, env!("CARGO_PKG_NAME"))
}
