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
use repro::plot::{iteration_panel, paper_tick, BAND_NOTE};
use repro::report::{iteration_curve, pct, pct_stats, stats, Claim, Table, Verdict};
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
    fn responses(res: &Results, run: &str) -> Vec<Vec<f64>> {
        res.configs
            .values()
            .filter(|c| c.name == run)
            .filter_map(|c| read_f64_table(&res.run_dir(&c.run_id()).join(RESPONSES)).ok())
            .filter_map(|t| t.get("std").cloned())
            .collect()
    }

    fn mean_response(res: &Results, run: &str) -> Option<f64> {
        let all: Vec<f64> = Self::responses(res, run).into_iter().flatten().collect();
        stats(&all).map(|s| s.mean)
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
        write_f64_table(&run_dir.join(RESPONSES), &[("layer", layer), ("std", stds)])
    }

    fn figures(&self, res: &Results) -> Vec<(String, Figure)> {
        let caption = format!(
            "{} | dashed: training error, bold: test error (dots: evaluations) | {BAND_NOTE} | ticks at the right: Table 6",
            res.header.caption()
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
            if let Some(stds) = Self::responses(res, run).into_iter().next() {
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
        for run in PLAIN {
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

    fn claims(&self, res: &Results) -> Vec<Claim> {
        let runs = &res.runs;
        let train_end = |r: &str| stats(&runs.final_train_errors(r, 0.1)).map(|s| s.mean);
        let test_end = |r: &str| stats(&runs.final_test_errors(r)).map(|s| s.mean);
        let missing = |rs: &[&str]| -> Option<Verdict> {
            let absent: Vec<&str> = rs.iter().copied().filter(|r| !runs.has(r)).collect();
            (!absent.is_empty())
                .then(|| Verdict::NotEvaluated(format!("not run: {}", absent.join(", "))))
        };
        let mut claims = Vec::new();

        // 1. Degradation.
        let (m, v) = match missing(&["plain-20", "plain-56"]) {
            Some(v) => ("—".into(), v),
            None => {
                let (a, b) = (
                    train_end("plain-20").unwrap_or(f64::NAN),
                    train_end("plain-56").unwrap_or(f64::NAN),
                );
                let frac = fraction_higher(
                    &iteration_curve(&res.runs, "plain-56", false),
                    &iteration_curve(&res.runs, "plain-20", false),
                );
                (
                    format!(
                        "final training error plain-56 {} vs plain-20 {}; plain-56 higher in {:.0}% of logging windows",
                        pct(b),
                        pct(a),
                        100.0 * frac
                    ),
                    Verdict::from_bool(b > a && frac > 0.5),
                )
            }
        };
        claims.push(Claim {
            id: "1".into(),
            statement: "Degradation: the deeper plain net has higher training error (plain-56 > plain-20, at the end and through most of training)".into(),
            paper: "Fig. 6 left; Sec. 4.2: \"the deeper plain nets suffer from increased depth, and exhibit higher training error when going deeper\"".into(),
            measured: m,
            verdict: v,
        });

        // 2a. Residual learning fixes it at 56 layers.
        let (m, v) = match missing(&["plain-56", "resnet-56"]) {
            Some(v) => ("—".into(), v),
            None => {
                let (pt, rt) = (
                    train_end("plain-56").unwrap_or(f64::NAN),
                    train_end("resnet-56").unwrap_or(f64::NAN),
                );
                let (pe, re) = (
                    test_end("plain-56").unwrap_or(f64::NAN),
                    test_end("resnet-56").unwrap_or(f64::NAN),
                );
                (
                    format!(
                        "ResNet-56 train {} / test {} vs plain-56 train {} / test {}",
                        pct(rt),
                        pct(re),
                        pct(pt),
                        pct(pe)
                    ),
                    Verdict::from_bool(rt < pt && re < pe),
                )
            }
        };
        claims.push(Claim {
            id: "2a".into(),
            statement: "ResNet-56 has lower training and test error than plain-56".into(),
            paper: format!(
                "Fig. 6 left vs middle; Table 6: ResNet-56 {}",
                res.paper.show("table6.resnet-56.error")
            ),
            measured: m,
            verdict: v,
        });

        // 2b. ResNets improve with depth (paper profile only).
        let present: Vec<&str> = RESNETS.iter().copied().filter(|r| runs.has(r)).collect();
        let errs: Vec<f64> = present
            .iter()
            .map(|r| test_end(r).unwrap_or(f64::NAN))
            .collect();
        let measured = present
            .iter()
            .zip(&errs)
            .map(|(r, e)| format!("{r} {}", pct(*e)))
            .collect::<Vec<_>>()
            .join(", ");
        let v = if res.header.fidelity == Fidelity::Shortened {
            Verdict::NotEvaluated("a paper-profile claim: a shortened schedule leaves the deeper ResNets under-trained".into())
        } else if present.len() < 2 {
            Verdict::NotEvaluated("fewer than two ResNet depths run".into())
        } else {
            Verdict::from_bool(errs.windows(2).all(|w| w[1] < w[0]))
        };
        claims.push(Claim {
            id: "2b".into(),
            statement: "ResNets gain accuracy from depth: test error falls from 20 to 110 layers"
                .into(),
            paper: format!(
                "Table 6: {} for {}",
                RESNETS
                    .map(|r| res.paper.show(&format!("table6.{r}.error")))
                    .join(", "),
                RESNETS.join(", ")
            ),
            measured: if measured.is_empty() {
                "—".into()
            } else {
                measured
            },
            verdict: v,
        });

        // 3. ResNet-1202.
        let (m, v) = match missing(&["resnet-110", "resnet-1202"]) {
            Some(v) => ("—".into(), v),
            None => {
                let t1202 = train_end("resnet-1202").unwrap_or(f64::NAN);
                let (e110, e1202) = (
                    test_end("resnet-110").unwrap_or(f64::NAN),
                    test_end("resnet-1202").unwrap_or(f64::NAN),
                );
                (
                    format!(
                        "ResNet-1202 train {} / test {} vs ResNet-110 test {}",
                        pct(t1202),
                        pct(e1202),
                        pct(e110)
                    ),
                    Verdict::from_bool(
                        t1202 < res.paper.fraction("sec4.2.resnet-1202.train-error")
                            && e1202 > e110,
                    ),
                )
            }
        };
        claims.push(Claim {
            id: "3".into(),
            statement: format!(
                "ResNet-1202 reaches training error < {} yet has higher test error than ResNet-110 (overfitting)",
                res.paper.show("sec4.2.resnet-1202.train-error")
            ),
            paper: format!(
                "Sec. 4.2: training error < {}; Table 6: test error {} vs {}",
                res.paper.show("sec4.2.resnet-1202.train-error"),
                res.paper.show("table6.resnet-1202.error"),
                res.paper.show("table6.resnet-110.error")
            ),
            measured: m,
            verdict: v,
        });

        // 4. Fig. 7: residual functions have smaller responses.
        let pairs = [("plain-20", "resnet-20"), ("plain-56", "resnet-56")];
        let got: Vec<(&str, &str, f64, f64)> = pairs
            .iter()
            .filter_map(|(p, r)| {
                Some((
                    *p,
                    *r,
                    Self::mean_response(res, p)?,
                    Self::mean_response(res, r)?,
                ))
            })
            .collect();
        let (m, v) = if got.is_empty() {
            (
                "—".into(),
                Verdict::NotEvaluated("no plain/ResNet pair with saved responses".into()),
            )
        } else {
            (
                got.iter()
                    .map(|(p, r, a, b)| format!("mean std {r} {b:.3} vs {p} {a:.3}"))
                    .collect::<Vec<_>>()
                    .join("; "),
                Verdict::from_bool(got.iter().all(|(_, _, a, b)| b < a)),
            )
        };
        claims.push(Claim {
            id: "4".into(),
            statement:
                "ResNets have generally smaller layer responses than their plain counterparts"
                    .into(),
            paper: "Fig. 7; Sec. 4.2 \"Analysis of Layer Responses\"".into(),
            measured: m,
            verdict: v,
        });
        claims
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

/// Fraction of common x positions where curve `a` lies above curve `b`.
fn fraction_higher(a: &[(f64, f64)], b: &[(f64, f64)]) -> f64 {
    let bmap: std::collections::BTreeMap<i64, f64> = b
        .iter()
        .map(|(x, y)| ((x * 1e4).round() as i64, *y))
        .collect();
    let common: Vec<bool> = a
        .iter()
        .filter_map(|(x, y)| bmap.get(&((x * 1e4).round() as i64)).map(|yb| y > yb))
        .collect();
    if common.is_empty() {
        return f64::NAN;
    }
    common.iter().filter(|&&h| h).count() as f64 / common.len() as f64
}

fn main() -> std::process::ExitCode {
    repro::driver::main(Degradation, env!("CARGO_PKG_NAME"))
}
