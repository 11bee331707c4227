//! He, Zhang, Ren, Sun (2015), "Deep Residual Learning for Image Recognition",
//! Sec. 4.2: plain vs residual networks of 20-1202 layers on CIFAR-10.
//! Regenerates Fig. 6, Table 6 and Fig. 7 and checks the section's claims.
//!
//! Everything generic (data, models, training, metrics, figures, report) is in
//! the `repro` crate; this file says only what is specific to the paper.
use repro::config::Fidelity;
use repro::config::RunConfig;
use repro::data::Dataset;
use repro::driver::{Experiment, Results};
use repro::figures::{Figure, Panel, Series};
use repro::metrics::{read_f64_table, write_f64_table};
use repro::models::Network;
use repro::plot::{iteration_panel, paper_tick, CurveKey};
use repro::report::{pct, pct_stats, pct_stats_unit, stats, ClaimSpec, Measured, Table};
use std::collections::BTreeMap;
use std::path::Path;

/// Table 6's rows; their errors and parameter counts are in
/// `experiments/papers/resnet-2015.csv` under `table6.<run>.error` / `.params`.
const TABLE6: [&str; 6] = [
    "resnet-20",
    "resnet-32",
    "resnet-44",
    "resnet-56",
    "resnet-110",
    "resnet-1202",
];

const PLAIN: [&str; 4] = ["plain-20", "plain-32", "plain-44", "plain-56"];
const RESNETS: [&str; 5] = [
    "resnet-20",
    "resnet-32",
    "resnet-44",
    "resnet-56",
    "resnet-110",
];

/// Fig. 7 is drawn from these per-layer statistics saved after training.
const RESPONSES: &str = "responses.parquet";
/// Test images used for Fig. 7's statistics.
const RESPONSE_IMAGES: i64 = 2000;

struct Degradation;

impl Degradation {
    /// Per-layer response std of each seed of a run, from its saved statistics.
    fn responses(res: &Results, run: &str) -> BTreeMap<i64, Vec<f64>> {
        res.configs
            .values()
            .filter(|c| c.name == run)
            .filter_map(|c| {
                let t = read_f64_table(&res.run_dir(&c.run_id()).join(RESPONSES)).ok()?;
                Some((c.seed as i64, t.get("std")?.clone()))
            })
            .collect()
    }
}

impl Experiment for Degradation {
    fn name(&self) -> &'static str {
        "resnet-cifar-degradation"
    }

    fn after_run(
        &self,
        _cfg: &RunConfig,
        net: &dyn Network,
        data: &Dataset,
        run_dir: &Path,
    ) -> repro::Result<()> {
        // Fig. 7: std of each 3x3 layer's response (after BN, before ReLU/addition) on test images.
        let n = RESPONSE_IMAGES.min(data.test.len());
        let x = data.normalize(
            &data.test.images.narrow(0, 0, n),
            repro::config::Normalize::PerPixelMean,
        );
        let stds: Vec<f64> = tch::no_grad(|| {
            net.layer_responses(&x)
                .iter()
                .map(|r| r.std(true).double_value(&[]))
                .collect()
        });
        if stds.is_empty() {
            return Ok(());
        }
        let layer: Vec<f64> = (1..=stds.len()).map(|i| i as f64).collect();
        Ok(write_f64_table(
            &run_dir.join(RESPONSES),
            &[("layer", layer), ("std", stds)],
        )?)
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let caption = format!(
            "{} | ticks at the right: Table 6",
            CurveKey::PLAIN.caption(res)
        );
        let mut resnets = iteration_panel(res, "ResNets", &RESNETS);
        let mut deepest =
            iteration_panel(res, "ResNet-110 vs 1202", &["resnet-110", "resnet-1202"]);
        // Table 6's errors beside the curves they belong to, in their colours.
        for (c, run) in RESNETS.iter().enumerate().filter(|(_, r)| res.runs.has(r)) {
            resnets
                .ref_ticks
                .extend(paper_tick(res, &format!("table6.{run}.error"), c));
        }
        for (c, run) in ["resnet-110", "resnet-1202"]
            .iter()
            .enumerate()
            .filter(|(_, r)| res.runs.has(r))
        {
            deepest
                .ref_ticks
                .extend(paper_tick(res, &format!("table6.{run}.error"), c));
        }
        // Plain and residual nets compare by eye only on one y axis.
        let fig6 = Figure::new(
            "Fig. 6: training on CIFAR-10 (He et al. 2015)",
            caption,
            vec![
                iteration_panel(res, "plain networks", &PLAIN),
                resnets,
                deepest,
            ],
        )
        .with_shared_y();
        let mut order = Panel::new(
            "std of layer responses (original order)",
            "layer index",
            "std",
        );
        let mut sorted = Panel::new("std of layer responses (sorted)", "layer index", "std");
        for (c, run) in [
            "plain-20",
            "plain-56",
            "resnet-20",
            "resnet-56",
            "resnet-110",
        ]
        .iter()
        .enumerate()
        {
            if let Some(stds) = Self::responses(res, run).into_values().next() {
                let pts: Vec<(f64, f64)> = stds
                    .iter()
                    .enumerate()
                    .map(|(i, s)| ((i + 1) as f64, *s))
                    .collect();
                let mut desc = stds.clone();
                desc.sort_by(|a, b| b.total_cmp(a));
                let spts: Vec<(f64, f64)> = desc
                    .iter()
                    .enumerate()
                    .map(|(i, s)| ((i + 1) as f64, *s))
                    .collect();
                order
                    .series
                    .push(Series::new(res.label(run), pts, c).with_markers());
                sorted.series.push(Series::new(res.label(run), spts, c));
            }
        }
        let fig7 = Figure::new(
            "Fig. 7: standard deviations of layer responses on CIFAR-10",
            format!(
                "{} | first seed of each run, {RESPONSE_IMAGES} test images",
                res.header.caption()
            ),
            vec![order, sorted],
        )
        .with_shared_y();
        vec![("fig6".into(), fig6), ("fig7".into(), fig7)]
    }

    fn tables(&self, res: &Results) -> Vec<Table> {
        let paper = &res.paper;
        let mut rows = Vec::new();
        for run in TABLE6 {
            let measured = stats(&res.runs.final_test_errors(run));
            let mut paper_err = paper.show(&format!("table6.{run}.error"));
            if run == "resnet-110" {
                paper_err = format!(
                    "{paper_err} (best of 5; mean {} ± {})",
                    paper.show("table6.resnet-110.error-mean"),
                    paper.show("table6.resnet-110.error-std")
                );
            }
            rows.push(vec![
                run.to_string(),
                paper.show(&format!("table6.{run}.params")),
                repro_params(res, run),
                paper_err,
                pct_stats(measured),
                measured.map(|s| pct(s.min)).unwrap_or_else(|| "—".into()),
            ]);
        }
        // plain-110 is in the table, not in Fig. 6 (the paper leaves it out too).
        for run in PLAIN.iter().chain(&["plain-110"]) {
            let measured = stats(&res.runs.final_test_errors(run));
            rows.push(vec![
                run.to_string(),
                "—".into(),
                repro_params(res, run),
                "(Fig. 6 only)".into(),
                pct_stats(measured),
                measured.map(|s| pct(s.min)).unwrap_or_else(|| "—".into()),
            ]);
        }
        vec![Table {
            title: "Table 6: test error on CIFAR-10".into(),
            header: [
                "method",
                "params (paper)",
                "params (built)",
                "paper error",
                "measured mean ± std",
                "measured best",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            note: if res.header.fidelity == Fidelity::Paper {
                "Measured: final test error of each seed on the single original 32x32 view.".into()
            } else {
                format!(
                    "Measured under a {} profile: not comparable with the paper's numbers.",
                    res.header.fidelity
                )
            },
        }]
    }

    fn claims(&self, res: &Results) -> Vec<Measured> {
        res.specs
            .iter()
            .map(|spec| match spec.id.as_str() {
                "4.20" | "4.56" => Self::mean_responses(res, spec),
                // Sec. 4.2: ResNet-1202's training error is part of the claim's
                // sentence ("similar training error"), shown beside it.
                "3" => res.runs.measure(spec).note(format!(
                    "ResNet-1202 training error {} (paper: < {})",
                    pct_stats_unit(
                        &res.runs
                            .final_train_errors("resnet-1202", 0.1)
                            .iter()
                            .map(|e| 100.0 * e)
                            .collect::<Vec<_>>(),
                        "%"
                    ),
                    res.paper.show("sec4.2.resnet-1202.train-error")
                )),
                _ => res.runs.measure(spec),
            })
            .collect()
    }
}

impl Degradation {
    /// Fig. 7's claim: each seed's mean over layers of its layer-response
    /// stds, for the spec's two arms.
    fn mean_responses(res: &Results, spec: &ClaimSpec) -> Measured {
        let arms: Vec<BTreeMap<i64, f64>> = spec
            .arms
            .iter()
            .map(|run| {
                Self::responses(res, run)
                    .into_iter()
                    .filter_map(|(seed, stds)| Some((seed, stats(&stds)?.mean)))
                    .collect()
            })
            .collect();
        if arms.iter().any(BTreeMap::is_empty) {
            return Measured::missing(&spec.id, "no saved layer responses for an arm");
        }
        Measured::arms(&spec.id, arms)
    }
}

/// Parameters of the network as built here (millions), for any run of Table 6
/// or Fig. 6, from its resolved config.
fn repro_params(res: &Results, run: &str) -> String {
    res.config_of(run)
        .and_then(|c| repro::models::parameter_count(&c.model))
        .map(|n| format!("{:.3}M", n as f64 / 1e6))
        .unwrap_or_else(|| "—".into())
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Degradation, env!("CARGO_PKG_NAME"))
}
