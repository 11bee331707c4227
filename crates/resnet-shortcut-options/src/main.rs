//! He et al. (2015), Sec. 3.3 and Table 3: shortcut options A/B/C on CIFAR-10,
//! beside the paper's ImageNet ResNet-34 numbers.
use repro::driver::{Experiment, Results};
use repro::figures::Figure;
use repro::models::ShortcutOption;
use repro::plot::{arm_panel, curves_figure, iteration_panel, CurveKey};
use repro::report::{pct_stats, stats, Measured, Table};
use std::collections::BTreeMap;

/// Table 3's ImageNet ResNet-34 rows by arm: `table3.<row>.top1/top5` in
/// `experiments/papers/resnet-2015.csv`.
const TABLE3: [(&str, &str); 4] = [
    ("plain", "plain-34"),
    ("A", "resnet-34-A"),
    ("B", "resnet-34-B"),
    ("C", "resnet-34-C"),
];
const OPTIONS: [&str; 3] = ["A", "B", "C"];

struct ShortcutOptions;

/// The profile's runs by depth and arm, read from their resolved configs
/// (model depth, residual, shortcut option), never from their names.
struct Arms {
    /// Depth -> arm ("plain", "A", "B", "C") -> run name.
    by_depth: BTreeMap<i64, BTreeMap<&'static str, String>>,
}

impl Arms {
    fn of(res: &Results) -> Self {
        let mut by_depth: BTreeMap<i64, BTreeMap<&'static str, String>> = BTreeMap::new();
        for name in res.profile.runs.iter().filter(|r| res.runs.has(r)) {
            let Some(cfg) = res.config_of(name) else {
                continue;
            };
            let model = &cfg.model;
            let (Some(depth), Some(residual)) = (model.depth(), model.residual()) else {
                continue;
            };
            let arm = match (residual, model.shortcut()) {
                (false, _) => "plain",
                (true, Some(ShortcutOption::A)) => "A",
                (true, Some(ShortcutOption::B)) => "B",
                (true, Some(ShortcutOption::C)) => "C",
                (true, None) => continue,
            };
            by_depth.entry(depth).or_default().insert(arm, name.clone());
        }
        Self { by_depth }
    }

    /// The run of `arm` at `depth`, or a placeholder name that has no results.
    fn run(&self, depth: i64, arm: &str) -> String {
        self.by_depth
            .get(&depth)
            .and_then(|a| a.get(arm))
            .cloned()
            .unwrap_or_else(|| format!("(no {arm} run at {depth} layers)"))
    }

    fn depths(&self) -> Vec<i64> {
        self.by_depth.keys().copied().collect()
    }
}

impl ShortcutOptions {
    fn params(res: &Results, run: &str) -> String {
        res.config_of(run)
            .and_then(|c| repro::models::parameter_count(&c.model))
            .map(|n| n.to_string())
            .unwrap_or_else(|| "—".into())
    }
}

impl Experiment for ShortcutOptions {
    fn name(&self) -> &'static str {
        "resnet-shortcut-options"
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let arms = Arms::of(res);
        let runs_at = |d: i64| -> Vec<String> {
            std::iter::once("plain")
                .chain(OPTIONS)
                .map(|arm| arms.run(d, arm))
                .collect()
        };
        let curves = arms
            .depths()
            .into_iter()
            .map(|d| {
                let names = runs_at(d);
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                iteration_panel(res, &format!("{d} layers"), &names)
            })
            .collect();
        let finals = arms
            .depths()
            .into_iter()
            .map(|d| {
                let names = runs_at(d);
                let arms: Vec<(&str, Option<&str>)> =
                    names.iter().map(|n| (n.as_str(), None)).collect();
                arm_panel(res, &format!("{d} layers"), &arms)
            })
            .collect();
        vec![
            (
                "options".into(),
                curves_figure(
                    res,
                    "Shortcut options A/B/C vs plain on CIFAR-10",
                    CurveKey::PLAIN,
                    curves,
                )
                .with_shared_y(),
            ),
            (
                "final".into(),
                Figure::new(
                    "Shortcut options: final test error per arm",
                    format!(
                        "{} | the paper's numbers are ImageNet ResNet-34 (Table 3: plain {}, A {}, B {}, C {} top-1), not drawn",
                        res.header.caption(),
                        res.paper.show("table3.plain-34.top1"),
                        res.paper.show("table3.resnet-34-A.top1"),
                        res.paper.show("table3.resnet-34-B.top1"),
                        res.paper.show("table3.resnet-34-C.top1"),
                    ),
                    finals,
                )
                .with_shared_y(),
            ),
        ]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        let mut rows = Vec::new();
        let arms = Arms::of(res);
        for d in arms.depths() {
            for arm in std::iter::once("plain").chain(OPTIONS) {
                let run = arms.run(d, arm);
                let s = stats(&res.runs.final_test_errors(&run));
                let paper = TABLE3
                    .iter()
                    .find(|t| t.0 == arm)
                    .map(|(_, row)| {
                        format!(
                            "{} / {}",
                            res.paper.show(&format!("table3.{row}.top1")),
                            res.paper.show(&format!("table3.{row}.top5"))
                        )
                    })
                    .unwrap_or_default();
                rows.push(vec![
                    run.clone(),
                    Self::params(res, &run),
                    pct_stats(s),
                    paper,
                ]);
            }
        }
        vec![Table {
            title: "Test error per option and depth (CIFAR-10), beside Table 3 (ImageNet ResNet-34 top-1 / top-5)".into(),
            header: ["run", "parameters", "CIFAR-10 test error (mean ± std)", "paper, ImageNet ResNet-34"].map(String::from).to_vec(),
            rows,
            note: format!(
                "The paper's numbers are ImageNet ResNet-34 (Table 3), shown for the ordering only. {}: 1x1-conv shortcuts on every unit of ResNet-110 on CIFAR-10 gave {} vs {} for identity.",
                res.paper.source("identity2016.table1.resnet-110-conv-shortcut.error"),
                res.paper.show("identity2016.table1.resnet-110-conv-shortcut.error"),
                res.paper.show("identity2016.table1.resnet-110-identity.error"),
            ),
        }]
    }

    /// Every claim compares final test errors of named runs (the claims
    /// file's arms): options A/B/C against plain and among themselves at 32
    /// layers, the depth nearest the paper's ResNet-34.
    fn claims(&self, res: &Results) -> Vec<Measured> {
        res.measure_all()
    }
}

fn main() -> std::process::ExitCode {
    repro::driver::main(ShortcutOptions, env!("CARGO_PKG_NAME"))
}
