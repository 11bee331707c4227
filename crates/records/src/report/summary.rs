//! Each run's final numbers and each arm's statistics over seeds, computed
//! with polars group-bys over the metrics rows, and `summary.csv`, the table
//! a spreadsheet user opens.
// polars marks its eager group-by aggregations deprecated in favour of the
// lazy API; enabling `lazy` would compile polars' whole query engine (minutes
// on a 2-core machine, in every fresh CI build) for a handful of group-bys.
#![allow(deprecated)]
use super::Stats;
use crate::error::{Error, Result};
use crate::io::write_bytes_atomic;
use crate::metrics::{to_frame, MetricRow, RowKind};
use polars::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One run (one seed) at its end: a row of `summary.csv`. Errors are in
/// percent, as the papers print them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub run: String,
    pub seed: i64,
    pub run_id: String,
    /// `paper`, `analogue` or `shortened`.
    pub fidelity: String,
    /// Training error (training mode, last logging window that was
    /// evaluated) at the run's last evaluation.
    pub final_train_error_pct: Option<f64>,
    /// Training error in evaluation mode (`data.train_eval_images`) at the
    /// run's last evaluation; empty where not measured.
    pub final_train_eval_error_pct: Option<f64>,
    /// Test error at the run's last evaluation.
    pub final_test_error_pct: Option<f64>,
    /// Test error at the evaluation with the lowest validation error: the
    /// model a held-out split selects (never the test set, issue 29); empty
    /// where the run holds out no validation split.
    pub test_error_at_best_val_pct: Option<f64>,
    pub iterations: i64,
    pub wall_time_s: f64,
    pub dataset: String,
    pub device: String,
    pub precision: String,
    pub config_hash: String,
}

fn polars_err(e: PolarsError) -> Error {
    Error::Metrics(format!("summary: {e}"))
}

type Key = (String, i64);

/// `(run_name, seed) -> values of columns`, from one group-by aggregation.
fn by_run(df: &DataFrame, cols: &[&str], agg: &str) -> Result<BTreeMap<Key, Vec<Option<f64>>>> {
    let g = df
        .group_by(["run_name", "seed"])
        .map_err(polars_err)?
        .select(cols.iter().copied());
    let out = match agg {
        "last" => g.last(),
        "min" => g.min(),
        _ => g.max(),
    }
    .map_err(polars_err)?;
    let names = out
        .column("run_name")
        .map_err(polars_err)?
        .str()
        .map_err(polars_err)?
        .clone();
    let seeds = out
        .column("seed")
        .map_err(polars_err)?
        .i64()
        .map_err(polars_err)?
        .clone();
    let mut values: Vec<Vec<Option<f64>>> = Vec::new();
    for c in cols {
        let name = format!("{c}_{agg}");
        let col = out
            .column(&name)
            .map_err(polars_err)?
            .cast(&DataType::Float64)
            .map_err(polars_err)?;
        values.push(col.f64().map_err(polars_err)?.iter().collect());
    }
    let mut map = BTreeMap::new();
    for k in 0..out.height() {
        let key = (
            names.get(k).unwrap_or_default().to_string(),
            seeds.get(k).unwrap_or(0),
        );
        map.insert(key, values.iter().map(|v| v[k]).collect());
    }
    Ok(map)
}

/// Per run, the test error at its evaluation of lowest validation error (the
/// first such evaluation on ties); runs without a validation split are absent.
fn test_error_at_best_validation(window: &[MetricRow]) -> BTreeMap<Key, f64> {
    let mut best: BTreeMap<Key, (f64, f64)> = BTreeMap::new();
    for r in window {
        let (Some(v), Some(t)) = (r.val_error, r.test_error) else {
            continue;
        };
        let e = best.entry((r.run_name.clone(), r.seed)).or_insert((v, t));
        if v < e.0 {
            *e = (v, t);
        }
    }
    best.into_iter().map(|(k, (_, t))| (k, t)).collect()
}

/// The final numbers of every run in `rows` (window rows), one per
/// (run, seed), in run-name then seed order.
pub fn run_summaries(rows: &[MetricRow]) -> Result<Vec<RunSummary>> {
    let mut window: Vec<MetricRow> = rows
        .iter()
        .filter(|r| r.kind == RowKind::Window)
        .cloned()
        .collect();
    window.sort_by(|a, b| {
        (&a.run_name, a.seed, a.iteration).cmp(&(&b.run_name, b.seed, b.iteration))
    });
    if window.is_empty() {
        return Ok(Vec::new());
    }
    let all = to_frame(&window)?;
    let evaluated = all
        .filter(&all.column("test_error").map_err(polars_err)?.is_not_null())
        .map_err(polars_err)?;
    let last = by_run(
        &evaluated,
        &["train_error", "test_error", "train_eval_error"],
        "last",
    )?;
    let selected = test_error_at_best_validation(&window);
    let end = by_run(&all, &["iteration", "wall_time_s"], "max")?;
    // Errors to 1e-4 points and seconds to 0.1 s: finer digits are float noise
    // of the conversion, not measurement.
    let round = |x: f64, digits: i32| (x * 10f64.powi(digits)).round() / 10f64.powi(digits);
    let pct = |v: Option<f64>| v.filter(|x| x.is_finite()).map(|x| round(100.0 * x, 4));
    let mut out = Vec::new();
    for ((run, seed), e) in &end {
        let Some(r) = window
            .iter()
            .rev()
            .find(|r| &r.run_name == run && r.seed == *seed)
        else {
            continue;
        };
        let key = (run.clone(), *seed);
        let l = last.get(&key);
        out.push(RunSummary {
            run: run.clone(),
            seed: *seed,
            run_id: r.run_id.clone(),
            fidelity: r.fidelity.as_str().into(),
            final_train_error_pct: pct(l.and_then(|v| v[0])),
            final_test_error_pct: pct(l.and_then(|v| v[1])),
            final_train_eval_error_pct: pct(l.and_then(|v| v[2])),
            test_error_at_best_val_pct: pct(selected.get(&key).copied()),
            iterations: e[0].unwrap_or(0.0) as i64,
            wall_time_s: round(e[1].unwrap_or(f64::NAN), 1),
            dataset: r.dataset.clone(),
            device: r.device.clone(),
            precision: r.precision.clone(),
            config_hash: r.config_hash.clone(),
        });
    }
    Ok(out)
}

/// Final numbers of one arm over its seeds (fractions, like the metrics).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Arm {
    pub test_error: Option<Stats>,
    pub train_error: Option<Stats>,
    /// Test minus training error at the end (how much the arm overfits).
    pub gap: Option<Stats>,
    /// Training error in evaluation mode at the end (`data.train_eval_images`).
    pub train_eval_error: Option<Stats>,
    /// Test minus evaluation-mode training error at the end.
    pub eval_gap: Option<Stats>,
}

/// The final numbers of every run and seed as a frame (fractions): `run`,
/// `test`, `train` and `gap` (test minus training error).
fn finals_frame(summaries: &[RunSummary]) -> Result<DataFrame> {
    let frac = |v: Option<f64>| v.map(|x| x / 100.0);
    let col = |name: &str, f: &dyn Fn(&RunSummary) -> Option<f64>| {
        Column::new(name.into(), summaries.iter().map(f).collect::<Vec<_>>())
    };
    DataFrame::new_infer_height(vec![
        Column::new(
            "run".into(),
            summaries.iter().map(|s| s.run.clone()).collect::<Vec<_>>(),
        ),
        col("test", &|s| frac(s.final_test_error_pct)),
        col("train", &|s| frac(s.final_train_error_pct)),
        col("gap", &|s| {
            Some(frac(s.final_test_error_pct)? - frac(s.final_train_error_pct)?)
        }),
        col("train_eval", &|s| frac(s.final_train_eval_error_pct)),
        col("eval_gap", &|s| {
            Some(frac(s.final_test_error_pct)? - frac(s.final_train_eval_error_pct)?)
        }),
    ])
    .map_err(polars_err)
}

/// `run -> value` of one aggregated column (`<col>_<suffix>`) of a group-by result.
fn by_run_name(df: &DataFrame, column: &str) -> Result<BTreeMap<String, Option<f64>>> {
    let runs = df
        .column("run")
        .map_err(polars_err)?
        .str()
        .map_err(polars_err)?
        .clone();
    let values = df
        .column(column)
        .map_err(polars_err)?
        .cast(&DataType::Float64)
        .map_err(polars_err)?;
    let values = values.f64().map_err(polars_err)?;
    Ok(runs
        .iter()
        .zip(values.iter())
        .map(|(r, v)| (r.unwrap_or_default().to_string(), v))
        .collect())
}

/// Each run name's [`Arm`]: a polars group-by over the runs' summaries
/// (mean, sample std, min and count of each final number).
pub fn arm_stats(summaries: &[RunSummary]) -> Result<BTreeMap<String, Arm>> {
    let df = finals_frame(summaries)?;
    let cols = ["test", "train", "gap", "train_eval", "eval_gap"];
    let g =
        || -> Result<GroupBy<'_>> { Ok(df.group_by(["run"]).map_err(polars_err)?.select(cols)) };
    let aggregates = [
        ("mean", g()?.mean().map_err(polars_err)?),
        ("agg_std", g()?.std(1).map_err(polars_err)?),
        ("min", g()?.min().map_err(polars_err)?),
        ("count", g()?.count().map_err(polars_err)?),
    ];
    let mut arms: BTreeMap<String, Arm> = BTreeMap::new();
    for col in cols {
        let mut by_agg = Vec::new();
        for (suffix, frame) in &aggregates {
            by_agg.push(by_run_name(frame, &format!("{col}_{suffix}"))?);
        }
        let [mean, std, min, count] = [&by_agg[0], &by_agg[1], &by_agg[2], &by_agg[3]];
        for (run, m) in mean {
            let Some(m) = *m else { continue };
            let n = count.get(run).copied().flatten().unwrap_or(0.0) as usize;
            let st = Stats {
                mean: m,
                std: if n > 1 {
                    std.get(run).copied().flatten().unwrap_or(0.0)
                } else {
                    0.0
                },
                min: min.get(run).copied().flatten().unwrap_or(m),
                n,
            };
            let arm = arms.entry(run.clone()).or_default();
            match col {
                "test" => arm.test_error = Some(st),
                "train" => arm.train_error = Some(st),
                "gap" => arm.gap = Some(st),
                "train_eval" => arm.train_eval_error = Some(st),
                _ => arm.eval_gap = Some(st),
            }
        }
    }
    Ok(arms)
}

/// Writes `summary.csv`: one row per run and seed (see [`RunSummary`]).
pub fn write_csv(path: &Path, summaries: &[RunSummary]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for s in summaries {
        w.serialize(s).map_err(|e| Error::File {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
    }
    let bytes = w.into_inner().map_err(|e| Error::File {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    write_bytes_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::row_for_tests as row;

    fn rows() -> Vec<MetricRow> {
        vec![
            row("a", 1, 10, 0.1, 0.50, Some(0.40)),
            row("a", 1, 20, 0.1, 0.30, Some(0.35)),
            row("a", 1, 25, 0.1, 0.20, None),
            row("a", 2, 10, 0.1, 0.60, Some(0.30)),
            row("a", 2, 20, 0.1, 0.40, Some(0.45)),
            row("b", 1, 20, 0.1, 0.10, Some(0.20)),
        ]
    }

    #[test]
    fn each_run_ends_at_its_last_evaluation() {
        let s = run_summaries(&rows()).expect("summaries");
        assert_eq!(s.len(), 3);
        let a1 = &s[0];
        assert_eq!((a1.run.as_str(), a1.seed), ("a", 1));
        assert_eq!(a1.final_test_error_pct, Some(35.0));
        assert_eq!(a1.final_train_error_pct, Some(30.0));
        // No validation split: no model is selected.
        assert_eq!(a1.test_error_at_best_val_pct, None);
        // The last row (iteration 25) was not evaluated, but it is the run's length.
        assert_eq!(a1.iterations, 25);
        let a2 = &s[1];
        assert_eq!(
            (a2.final_test_error_pct, a2.test_error_at_best_val_pct),
            (Some(45.0), None)
        );
    }

    #[test]
    fn the_selected_test_error_is_where_validation_is_lowest_not_test() {
        let with_val = |it: i64, val: f64, test: f64| {
            let mut r = row("a", 1, it, 0.1, 0.2, Some(test));
            r.val_error = Some(val);
            r
        };
        // The lowest test error (0.30, iteration 10) is not where validation
        // is lowest (0.25, iteration 20): the summary takes iteration 20's.
        let rows = vec![
            with_val(10, 0.40, 0.30),
            with_val(20, 0.25, 0.38),
            with_val(30, 0.25, 0.36),
        ];
        let s = run_summaries(&rows).expect("summaries");
        assert_eq!(s[0].test_error_at_best_val_pct, Some(38.0));
    }

    #[test]
    fn arm_statistics_are_over_seeds() {
        let arms = arm_stats(&run_summaries(&rows()).expect("summaries")).expect("arms");
        let a = arms["a"].test_error.expect("a");
        assert_eq!(a.n, 2);
        assert!((a.mean - 0.40).abs() < 1e-9, "{a:?}");
        // Sample std of 0.35 and 0.45.
        assert!((a.std - 0.05f64.hypot(0.05)).abs() < 1e-9, "{a:?}");
        assert!((a.min - 0.35).abs() < 1e-9);
        let b = arms["b"].test_error.expect("b");
        assert_eq!((b.n, b.std), (1, 0.0));
        let gap = arms["a"].gap.expect("gap");
        assert!((gap.mean - 0.05).abs() < 1e-9, "{gap:?}");
    }

    #[test]
    fn summary_csv_has_a_row_per_run_and_seed() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("summary.csv");
        write_csv(&path, &run_summaries(&rows()).expect("summaries")).expect("csv");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("run,seed,run_id,fidelity,final_train_error_pct"));
        assert!(
            lines[1].starts_with("a,1,a-s1,shortened,30.0,,35.0,,25,"),
            "{}",
            lines[1]
        );
    }
}
