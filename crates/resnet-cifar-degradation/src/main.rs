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
use repro::report::{
    all_of, compare, compare_arms, compare_lower, describe, iteration_curve, pct, pct_stats, stats,
    Budget, Claim, Direction, Stats, Table, Verdict,
};
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

    fn claims(&self, res: &Results) -> Vec<Claim> {
        vec![
            Self::degradation(res),
            Self::residual_fixes_it(res),
            Self::depth_helps(res),
            Self::overfitting_1202(res),
            Self::responses_claim(res),
            Self::plain_110(res),
        ]
    }
}

/// Final training error of each seed: the mean of its last tenth of logging
/// windows, which smooths single mini-batch windows.
fn train_end(res: &Results, run: &str) -> Option<Stats> {
    stats(&res.runs.final_train_errors(run, 0.1))
}

fn test_end(res: &Results, run: &str) -> Option<Stats> {
    stats(&res.runs.final_test_errors(run))
}

fn missing(res: &Results, runs: &[&str]) -> Option<Verdict> {
    let absent: Vec<&str> = runs.iter().copied().filter(|r| !res.runs.has(r)).collect();
    (!absent.is_empty()).then(|| Verdict::NotEvaluated(format!("not run: {}", absent.join(", "))))
}

impl Degradation {
    /// 1. Degradation: plain-56's training error above plain-20's.
    fn degradation(res: &Results) -> Claim {
        let claim = Claim {
            id: "1".into(),
            statement: "Degradation: the deeper plain net has higher training error (plain-56 > plain-20)".into(),
            paper: "Fig. 6 left; Sec. 4.2: \"the deeper plain nets suffer from increased depth, and exhibit higher training error when going deeper\"".into(),
            ..Default::default()
        };
        if let Some(v) = missing(res, &["plain-20", "plain-56"]) {
            return Claim {
                measured: "—".into(),
                verdict: v,
                ..claim
            };
        }
        let (m, v, c) = compare_arms(
            "plain-56 training error",
            train_end(res, "plain-56"),
            "plain-20",
            train_end(res, "plain-20"),
            Direction::Higher,
            None,
        );
        let frac = fraction_higher(
            &iteration_curve(&res.runs, "plain-56", false),
            &iteration_curve(&res.runs, "plain-20", false),
        );
        Claim {
            measured: format!(
                "{m}; plain-56 higher in {:.0}% of logging windows",
                100.0 * frac
            ),
            verdict: v,
            comparison: c,
            ..claim
        }
    }

    /// 2a. ResNet-56 below plain-56, in training and test error.
    fn residual_fixes_it(res: &Results) -> Claim {
        let claim = Claim {
            id: "2a".into(),
            statement: "ResNet-56 has lower training and test error than plain-56".into(),
            paper: format!(
                "Fig. 6 left vs middle; Table 6: ResNet-56 {}",
                res.paper.show("table6.resnet-56.error")
            ),
            paper_value: Some(res.paper.value("table6.resnet-56.error")),
            ..Default::default()
        };
        if let Some(v) = missing(res, &["plain-56", "resnet-56"]) {
            return Claim {
                measured: "—".into(),
                verdict: v,
                ..claim
            };
        }
        let (mt, vt, _) = compare_lower(
            "ResNet-56 training error",
            train_end(res, "resnet-56"),
            "plain-56",
            train_end(res, "plain-56"),
        );
        let (me, ve, ce) = compare_lower(
            "ResNet-56 test error",
            test_end(res, "resnet-56"),
            "plain-56",
            test_end(res, "plain-56"),
        );
        Claim {
            measured: format!("{mt}; {me}"),
            verdict: all_of(&[vt, ve]),
            comparison: ce,
            ..claim
        }
    }

    /// 2b. Each deeper ResNet below the next shallower one (fully trained only).
    fn depth_helps(res: &Results) -> Claim {
        let present: Vec<&str> = RESNETS
            .iter()
            .copied()
            .filter(|r| res.runs.has(r))
            .collect();
        let mut measured = Vec::new();
        let mut verdicts = Vec::new();
        for w in present.windows(2) {
            let (m, v, _) = compare_lower(w[1], test_end(res, w[1]), w[0], test_end(res, w[0]));
            measured.push(m);
            verdicts.push(v);
        }
        Claim {
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
                measured.join("; ")
            },
            verdict: if present.len() < 2 {
                Verdict::NotEvaluated("fewer than two ResNet depths run".into())
            } else {
                all_of(&verdicts)
            },
            // The paper's ordering is of fully trained nets: a shortened
            // schedule leaves the deeper ResNets under-trained.
            needs: Budget::Full,
            ..Default::default()
        }
    }

    /// 3. ResNet-1202 fits its training set yet tests worse than ResNet-110.
    fn overfitting_1202(res: &Results) -> Claim {
        let limit = res.paper.fraction("sec4.2.resnet-1202.train-error");
        let claim = Claim {
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
            paper_value: Some(res.paper.value("table6.resnet-1202.error")),
            needs: Budget::Full,
            ..Default::default()
        };
        if let Some(v) = missing(res, &["resnet-110", "resnet-1202"]) {
            return Claim {
                measured: "—".into(),
                verdict: v,
                ..claim
            };
        }
        let train = res.runs.final_train_errors("resnet-1202", 0.1);
        // A threshold on every seed, not a comparison between arms.
        let fits = !train.is_empty() && train.iter().all(|t| *t < limit);
        let (m, v, c) = compare_arms(
            "ResNet-1202 test error",
            test_end(res, "resnet-1202"),
            "ResNet-110",
            test_end(res, "resnet-110"),
            Direction::Higher,
            None,
        );
        Claim {
            measured: format!(
                "ResNet-1202 training error {}; {m}",
                pct_stats(stats(&train))
            ),
            verdict: all_of(&[Verdict::from_bool(fits), v]),
            comparison: c,
            ..claim
        }
    }

    /// 5. Fig. 6's caption: plain-110's error is above 60%.
    fn plain_110(res: &Results) -> Claim {
        let key = "fig6.plain-110.error-above";
        let bound = res.paper.fraction(key);
        let errs = res.runs.final_test_errors("plain-110");
        let claim = Claim {
            id: "5".into(),
            statement: format!("plain-110's test error is above {}", res.paper.show(key)),
            paper: res.paper.quote(key),
            paper_value: Some(res.paper.value(key)),
            // The caption describes the fully trained net.
            needs: Budget::Full,
            ..Default::default()
        };
        if let Some(v) = missing(res, &["plain-110"]) {
            return Claim {
                measured: "—".into(),
                verdict: v,
                ..claim
            };
        }
        let s = stats(&errs);
        // A bound on every seed's error: a fact of each run, judged like one.
        let verdict = match s {
            Some(s) if s.n < 2 => Verdict::Inconclusive("one seed".into()),
            Some(_) if errs.iter().all(|e| *e > bound) => Verdict::Pass,
            Some(_) if errs.iter().all(|e| *e <= bound) => Verdict::Fail,
            Some(_) => Verdict::Inconclusive("seeds on both sides of the bound".into()),
            None => Verdict::NotEvaluated("plain-110 has no test error".into()),
        };
        Claim {
            measured: format!("plain-110 test error {}", pct_stats(s)),
            verdict,
            ..claim
        }
    }

    /// 4. Fig. 7: the residual nets' layer responses are smaller.
    fn responses_claim(res: &Results) -> Claim {
        let mut measured = Vec::new();
        let mut verdicts = Vec::new();
        for (p, r) in [("plain-20", "resnet-20"), ("plain-56", "resnet-56")] {
            let per_seed = |run: &str| {
                let means: Vec<f64> = Self::responses(res, run)
                    .iter()
                    .filter_map(|stds| stats(stds).map(|s| s.mean))
                    .collect();
                stats(&means)
            };
            let (a, b) = (per_seed(r), per_seed(p));
            if let (Some(a), Some(b)) = (a, b) {
                let (c, v) = compare(a, b, Direction::Lower, 1.0, None);
                measured.push(format!(
                    "mean response std {r} {:.3} vs {p} {:.3}: {}",
                    a.mean,
                    b.mean,
                    describe(&c).replace(" points", "")
                ));
                verdicts.push(v);
            }
        }
        Claim {
            id: "4".into(),
            statement:
                "ResNets have generally smaller layer responses than their plain counterparts"
                    .into(),
            paper: "Fig. 7; Sec. 4.2 \"Analysis of Layer Responses\"".into(),
            measured: if measured.is_empty() {
                "—".into()
            } else {
                measured.join("; ")
            },
            verdict: if verdicts.is_empty() {
                Verdict::NotEvaluated("no plain/ResNet pair with saved responses".into())
            } else {
                all_of(&verdicts)
            },
            // Fig. 7 describes trained networks.
            needs: Budget::Full,
            ..Default::default()
        }
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
