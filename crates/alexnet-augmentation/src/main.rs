//! Krizhevsky et al. (2012), Sec. 4.1: translations + reflections and PCA colour
//! augmentation, each on and off.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::plot::{curves_figure, epoch_panel, final_errors_figure, CurveKey};
use repro::report::{arm_table, Measured, Table};

struct Augmentation;

/// The paper's number (`experiments/papers/alexnet-2012.csv`).
const PCA_TOP1: &str = "sec4.1.pca-top1-reduction";

const ARMS: [&str; 4] = ["none", "crop-flip", "pca", "crop-flip-pca"];

/// Sec. 4.1's words on translations and reflections (a statement without a
/// number), in the same file.
const OVERFITS_WITHOUT: &str = "sec4.1.overfits-without-translations";

impl Experiment for Augmentation {
    fn name(&self) -> &'static str {
        "alexnet-augmentation"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let arms: Vec<&str> = ARMS.into_iter().filter(|a| res.in_profile(a)).collect();
        let curves = curves_figure(
            res,
            "Data augmentation on/off: error vs epochs",
            CurveKey::LR_DROPS,
            vec![epoch_panel(res, "cuda-convnet conv32-32-64", &arms)],
        );
        let final_errors = final_errors_figure(
            res,
            "Data augmentation on/off: final test error per arm",
            &arms.iter().map(|a| (*a, None)).collect::<Vec<_>>(),
            "",
            &format!(
                "not drawn (ImageNet, with crops and flips): {}",
                res.paper.quote(PCA_TOP1)
            ),
        );
        vec![
            ("augmentation".into(), curves),
            ("final".into(), final_errors),
        ]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        let arms: Vec<&str> = ARMS.into_iter().filter(|a| res.in_profile(a)).collect();
        vec![arm_table(
            &res.runs,
            "Test error with each augmentation on and off",
            &arms,
            &format!(
                "crop-flip: 4-pixel padding, random 32x32 crop, horizontal flip (the CIFAR analogue of AlexNet's 224-of-256 patches and reflections). pca: AlexNet's PCA colour augmentation, alpha ~ N(0, 0.1) per image. Paper (ImageNet): PCA colour, {}; translations and reflections, {}.",
                res.paper.quote(PCA_TOP1),
                res.paper.quote(OVERFITS_WITHOUT)
            ),
        )]
    }

    /// Final test errors (and gaps) of named runs, as the claims file states.
    fn claims(&self, res: &Results) -> Vec<Measured> {
        res.measure_all()
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Augmentation, env!("CARGO_PKG_NAME"))
}
