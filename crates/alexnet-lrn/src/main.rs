//! Krizhevsky et al. (2012), Sec. 3.3: local response normalisation on/off.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::plot::{curves_figure, epoch_panel, final_errors_figure, CurveKey};
use repro::report::{arm_table, Measured, Table};

struct Lrn;

/// The paper's numbers (`experiments/papers/alexnet-2012.csv`).
const CIFAR_WITHOUT: &str = "sec3.3.cifar-error-without-lrn";
const CIFAR_WITH: &str = "sec3.3.cifar-error-with-lrn";
const IMAGENET_TOP1: &str = "sec3.3.imagenet-top1-reduction";
const IMAGENET_TOP5: &str = "sec3.3.imagenet-top5-reduction";

/// (panel title, [without LRN, with LRN]) per net. The first two pairs are
/// cuda-convnet's own files (`experiments/cuda-convnet/`), the paper's
/// experiment (full and shortened schedule); the others the clean analogue.
const NETS: [(&str, [&str; 2]); 4] = [
    ("cuda-convnet files: 13pct vs 11pct", ["13pct", "11pct"]),
    (
        "cuda-convnet files: 13pct vs 11pct (shortened)",
        ["13pct-short", "11pct-short"],
    ),
    ("cuda-convnet conv32-32-64", ["no-lrn", "lrn"]),
    (
        "cuda-convnet conv-local",
        ["conv-local-no-lrn", "conv-local-lrn"],
    ),
];

/// The paper's ImageNet effect, which is a difference on another dataset.
fn imagenet_effect(res: &Results) -> String {
    format!(
        "ImageNet ({}): LRN lowers top-1 by {} and top-5 by {}",
        res.paper.source(IMAGENET_TOP1),
        res.paper.show(IMAGENET_TOP1),
        res.paper.show(IMAGENET_TOP5)
    )
}

impl Experiment for Lrn {
    fn name(&self) -> &'static str {
        "alexnet-lrn"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let curves = curves_figure(
            res,
            "LRN on/off: error vs epochs",
            CurveKey::LR_DROPS,
            NETS.iter()
                .filter(|(_, arms)| res.in_profile(arms[0]))
                .map(|(title, arms)| epoch_panel(res, title, arms))
                .collect(),
        )
        .with_shared_y();
        // The paper's CIFAR-10 errors are those of cuda-convnet's conv-local nets.
        let diamonds = if ["11pct", "11pct-short", "conv-local-lrn"]
            .iter()
            .any(|a| res.in_profile(a))
        {
            format!(
                ", diamonds: the paper's CIFAR-10 errors of the conv-local net ({} without LRN, {} with)",
                res.paper.cite(CIFAR_WITHOUT),
                res.paper.cite(CIFAR_WITH)
            )
        } else {
            String::new()
        };
        let final_errors = final_errors_figure(
            res,
            "LRN on/off: final test error per arm",
            &[
                ("13pct", Some(CIFAR_WITHOUT)),
                ("11pct", Some(CIFAR_WITH)),
                ("13pct-short", Some(CIFAR_WITHOUT)),
                ("11pct-short", Some(CIFAR_WITH)),
                ("no-lrn", None),
                ("lrn", None),
                ("conv-local-no-lrn", Some(CIFAR_WITHOUT)),
                ("conv-local-lrn", Some(CIFAR_WITH)),
            ],
            &diamonds,
            &format!("not drawn: {}", imagenet_effect(res)),
        );
        vec![("lrn".into(), curves), ("final".into(), final_errors)]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        vec![arm_table(
            &res.runs,
            "Test error with and without LRN",
            &NETS
                .iter()
                .flat_map(|(_, arms)| arms.iter().copied())
                .filter(|a| res.in_profile(a))
                .collect::<Vec<_>>(),
            &format!(
                "Paper: CIFAR-10 four-layer CNN {} without, {} with normalisation: cuda-convnet's layers-conv-local-13pct and -11pct files (arms 13pct, 11pct), which also differ in other ways; no-lrn/lrn and conv-local-* are the clean analogue (same net and recipe, LRN the only difference); {}.",
                res.paper.cite(CIFAR_WITHOUT),
                res.paper.show(CIFAR_WITH),
                imagenet_effect(res)
            ),
        )]
    }

    /// Final test errors of named runs: cuda-convnet's 11pct against its
    /// 13pct configuration and their levels (paper profile), and the clean
    /// LRN on/off ablations (analogue profile), as the claims file states.
    fn claims(&self, res: &Results) -> Vec<Measured> {
        res.measure_all()
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Lrn, env!("CARGO_PKG_NAME"))
}
