//! Krizhevsky et al. (2012), Sec. 3.2: the two-GPU split as grouped convolutions
//! against one tower of half the width.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::models::parameter_count;
use repro::report::{arm_table, compare_lower, epoch_panel, Claim, Table};

struct TwoTower;

/// (two towers, one tower, net) pairs of the file.
const PAIRS: [(&str, &str, &str); 2] = [
    (
        "two-tower",
        "one-tower",
        "CIFAR-10 analogue, conv 64-64-128 vs 32-32-128",
    ),
    ("alexnet", "alexnet-one-tower", "ImageNet AlexNet"),
];

impl Experiment for TwoTower {
    fn name(&self) -> &'static str {
        "alexnet-two-tower"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        vec![(
            "towers".into(),
            Figure::new(
                "Two towers vs one: error vs epochs",
                format!(
                    "{} | dashed: training error, bold: test error",
                    res.header.caption()
                ),
                PAIRS
                    .iter()
                    .filter(|p| res.in_profile(p.0))
                    .map(|(two, one, net)| epoch_panel(&res.runs, net, &[two, one]))
                    .collect(),
            ),
        )]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        let arms: Vec<&str> = res.profile.runs.iter().map(String::as_str).collect();
        let mut t = arm_table(
            &res.runs,
            "Two towers vs one tower",
            &arms,
            "Paper (ImageNet): the two-GPU net's top-1/top-5 errors are 1.7%/1.2% lower than the one-GPU net with half the kernels in each conv layer but the last.",
        );
        t.header.push("parameters".into());
        for row in &mut t.rows {
            let n = res
                .configs
                .values()
                .find(|c| c.name == row[0])
                .and_then(|c| parameter_count(&c.model));
            row.push(n.map(|n| n.to_string()).unwrap_or_else(|| "—".into()));
        }
        vec![t]
    }

    fn claims(&self, res: &Results) -> Vec<Claim> {
        PAIRS
            .iter()
            .enumerate()
            .filter(|(_, p)| res.in_profile(p.0))
            .map(|(i, (two, one, net))| {
                let (measured, verdict) = compare_lower(
                    two,
                    res.runs.arm(two).test_error,
                    one,
                    res.runs.arm(one).test_error,
                );
                Claim {
                    id: (i + 1).to_string(),
                    statement: format!(
                        "Two towers (grouped convolutions) beat one tower of half width ({net})"
                    ),
                    paper: "top-1 -1.7%, top-5 -1.2% (ImageNet)".into(),
                    measured,
                    verdict,
                }
            })
            .collect()
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(TwoTower, env!("CARGO_PKG_NAME"))
}
