//! Figure panels drawn from an experiment's [`Results`], the same way for
//! every experiment: the mean over seeds with a min-max band where an arm has
//! more than one seed, markers at evaluation points, dotted marks where the
//! learning rate was divided (read from the logged `lr`, so plateau schedules
//! show their real drops), legend names from `[experiment.labels]`, and axis
//! units that fit the run's length. Experiments add the paper's reference
//! values ([`paper_tick`]) and choose which panels share their y axis.
//!
//! Figures are drawn from the metrics alone (`--plot-only` redraws them).
use crate::driver::Results;
use crate::metrics::MetricRow;
use crate::report::Runs;
use figures::{ArmPoint, Figure, Panel, RefTick, Series, VLine};
use std::collections::BTreeMap;

/// What the shaded bands of every curve figure are, for captions.
pub const BAND_NOTE: &str = "shaded: min-max over seeds";

/// What the lines of a learning-curve figure are, for its caption; every
/// curve figure says it the same way ([`curves_figure`]).
#[derive(Debug, Clone, Copy)]
pub struct CurveKey<'a> {
    /// How the training error was measured, where a reader must be told
    /// ("dropout active"): said in brackets after "training error".
    pub training_mode: Option<&'a str>,
    /// Whether the panels mark learning-rate drops (epoch panels do).
    pub lr_drops: bool,
}

impl CurveKey<'static> {
    /// Panels that mark the learning-rate drops (epoch panels).
    pub const LR_DROPS: Self = CurveKey {
        training_mode: None,
        lr_drops: true,
    };
    /// Panels without lr-drop marks (iteration panels).
    pub const PLAIN: Self = CurveKey {
        training_mode: None,
        lr_drops: false,
    };
}

impl CurveKey<'_> {
    /// The caption: the header's line, the line styles, the band note.
    pub fn caption(&self, res: &Results) -> String {
        let mode = self
            .training_mode
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        let drops = if self.lr_drops {
            ", dotted verticals: lr drops"
        } else {
            ""
        };
        format!(
            "{} | dashed: training error{mode}, bold: test error (dots: evaluations){drops} | {BAND_NOTE}",
            res.header.caption()
        )
    }
}

/// The standard learning-curve figure: `panels` of error against time,
/// captioned by `key`.
pub fn curves_figure(res: &Results, title: &str, key: CurveKey, panels: Vec<Panel>) -> Figure {
    Figure::new(title, key.caption(res), panels)
}

/// The standard final-error figure: one [`arm_panel`] of `arms`, captioned
/// with the header, its glyphs (`marks`: glyphs beyond circles and bars, as
/// "; diamonds: ..."), and `tail`: what the paper reports that is not drawn.
pub fn final_errors_figure(
    res: &Results,
    title: &str,
    arms: &[(&str, Option<&str>)],
    marks: &str,
    tail: &str,
) -> Figure {
    Figure::new(
        title,
        format!(
            "{} | circles: each seed, bar: mean ± std over seeds{marks} | {tail}",
            res.header.caption()
        ),
        vec![arm_panel(res, "final test error", arms)],
    )
}

/// How iterations are printed on an x axis: plain up to 2,000, thousands up
/// to 20,000, and 1e4 beyond (ResNet Fig. 6's unit for its 64k iterations).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IterationAxis {
    pub scale: f64,
    pub label: &'static str,
}

impl IterationAxis {
    pub fn for_max(max_iteration: i64) -> Self {
        match max_iteration {
            i if i > 20_000 => IterationAxis {
                scale: 1e4,
                label: "iter. (1e4)",
            },
            i if i > 2_000 => IterationAxis {
                scale: 1e3,
                label: "iterations (thousands)",
            },
            _ => IterationAxis {
                scale: 1.0,
                label: "iterations",
            },
        }
    }

    /// The axis for the longest of these runs.
    pub fn of(runs: &Runs, names: &[&str]) -> Self {
        let max = names
            .iter()
            .flat_map(|n| runs.seeds(n))
            .filter_map(|rows| rows.last().map(|r| r.iteration))
            .max()
            .unwrap_or(0);
        Self::for_max(max)
    }
}

/// A curve over seeds: the mean at each x, and (x, min, max) where more than
/// one seed has a value there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedCurve {
    pub mean: Vec<(f64, f64)>,
    pub band: Vec<(f64, f64, f64)>,
}

/// Aligns the seeds' rows by `x_of` (rounded to 1e-6) and summarises `value`
/// (a fraction, drawn in %) at each x.
pub fn seed_curve<'a>(
    seeds: impl IntoIterator<Item = &'a Vec<MetricRow>>,
    x_of: impl Fn(&MetricRow) -> f64,
    value: impl Fn(&MetricRow) -> Option<f64>,
) -> SeedCurve {
    let mut at: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for rows in seeds {
        for r in rows {
            if let Some(v) = value(r).filter(|v| v.is_finite()) {
                at.entry((x_of(r) * 1e6).round() as i64)
                    .or_default()
                    .push(100.0 * v);
            }
        }
    }
    let mut curve = SeedCurve::default();
    for (x, vs) in at {
        let x = x as f64 / 1e6;
        let mean = vs.iter().sum::<f64>() / vs.len() as f64;
        curve.mean.push((x, mean));
        if vs.len() > 1 {
            let lo = vs.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = vs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            curve.band.push((x, lo, hi));
        }
    }
    curve
}

/// Iterations at which the logged learning rate fell by at least half: the
/// schedule's drops, also for plateau schedules whose drops depend on the
/// run. A warm-up's rise is not a drop.
/// Each drop is placed at the last row logged at the old rate: a step
/// schedule's drop at iteration k and a plateau drop decided by the
/// evaluation at k both take effect right after k.
pub fn lr_drops(rows: &[MetricRow]) -> Vec<(i64, f64)> {
    rows.windows(2)
        .filter(|w| w[1].lr > 0.0 && w[1].lr <= 0.5 * w[0].lr)
        .map(|w| (w[0].iteration, w[0].lr / w[1].lr))
        .collect()
}

/// Vertical marks at a run's learning-rate drops, labelled with the factor
/// ("lr ÷10").
fn drop_marks(rows: &[MetricRow], x_of: impl Fn(&MetricRow) -> f64) -> Vec<VLine> {
    let drops = lr_drops(rows);
    rows.iter()
        .filter_map(|r| {
            let (_, factor) = drops.iter().find(|(i, _)| *i == r.iteration)?;
            Some(VLine::new(x_of(r), format!("lr ÷{factor:.0}")))
        })
        .collect()
}

/// Training error (dashed, thin) and test error (bold, with markers at the
/// evaluations) of each run against iterations, in the papers' style: one
/// colour per run, the legend naming runs by their labels.
pub fn iteration_panel(res: &Results, title: &str, names: &[&str]) -> Panel {
    let axis = IterationAxis::of(&res.runs, names);
    let x_of = |r: &MetricRow| r.iteration as f64 / axis.scale;
    let mut p = Panel::new(title, axis.label, "error (%)");
    p.log_y = res.log_y;
    let mut marked = false;
    for (c, name) in names.iter().enumerate().filter(|(_, n)| res.runs.has(n)) {
        let seeds = res.runs.seeds(name);
        push_curves(&mut p, res, name, c, &seeds, &x_of);
        if !marked {
            if let Some(rows) = seeds.first() {
                p.vlines = drop_marks(rows, x_of);
                marked = true;
            }
        }
    }
    p
}

/// Per-epoch training error (dashed) and test error (bold, markers) of each
/// run, epochs counted from 1 (the end of the first epoch).
pub fn epoch_panel(res: &Results, title: &str, names: &[&str]) -> Panel {
    let x_of = |r: &MetricRow| r.epoch.round();
    let mut p = Panel::new(title, "epochs", "error (%)");
    p.log_y = res.log_y;
    let mut marked = false;
    for (c, name) in names
        .iter()
        .enumerate()
        .filter(|(_, n)| res.runs.epochs_by_name.contains_key(**n))
    {
        let seeds = res.runs.epoch_seeds(name);
        push_curves(&mut p, res, name, c, &seeds, &x_of);
        if !marked {
            if let Some(rows) = seeds.first() {
                p.vlines = drop_marks(rows, x_of);
                marked = true;
            }
        }
    }
    p
}

fn push_curves(
    p: &mut Panel,
    res: &Results,
    name: &str,
    color: usize,
    seeds: &[&Vec<MetricRow>],
    x_of: &impl Fn(&MetricRow) -> f64,
) {
    let label = res.label(name);
    let train = seed_curve(seeds.iter().copied(), x_of, |r| Some(r.train_error));
    let test = seed_curve(seeds.iter().copied(), x_of, |r| r.test_error);
    p.series
        .push(Series::train(format!("{label} train"), train.mean, color).with_band(train.band));
    p.series.push(
        Series::test(label, test.mean, color)
            .with_band(test.band)
            .with_markers(),
    );
}

/// The paper's value under `key` (a `%` number) as a tick at the right edge
/// of a panel, labelled "paper 6.97"; nothing where the file lacks the key.
pub fn paper_tick(res: &Results, key: &str, color: usize) -> Option<RefTick> {
    let n = res.paper.get(key)?;
    let v = n.value?;
    Some(RefTick::new(v, format!("paper {}", n.show()), color))
}

/// Final test error of each arm: every seed's point, the mean ± std, and the
/// paper's value beside it where `paper_keys` names one (a `%` number).
pub fn arm_panel(res: &Results, title: &str, arms: &[(&str, Option<&str>)]) -> Panel {
    let points = arms
        .iter()
        .enumerate()
        .filter(|(_, (run, _))| res.runs.has(run))
        .map(|(c, (run, key))| {
            let seeds: Vec<f64> = res
                .runs
                .summaries
                .iter()
                .filter(|s| s.run == *run)
                .filter_map(|s| s.final_test_error_pct)
                .collect();
            let point = ArmPoint::new(res.label(run), seeds, c);
            match key.and_then(|k| res.paper.get(k)).and_then(|n| n.value) {
                Some(v) => point.with_paper(v),
                None => point,
            }
        })
        .collect();
    Panel::arms(title, "final test error (%)", points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(iteration: i64, lr: f64, train: f64, test: Option<f64>) -> MetricRow {
        records::testing::row_for_tests("r", 1, iteration, lr, train, test)
    }

    #[test]
    fn bands_span_the_seeds_and_only_where_two_have_a_value() {
        let a = vec![row(10, 0.1, 0.5, Some(0.6)), row(20, 0.1, 0.3, None)];
        let b = vec![row(10, 0.1, 0.7, Some(0.8))];
        let test = seed_curve([&a, &b], |r| r.iteration as f64, |r| r.test_error);
        assert_eq!(test.mean.len(), 1);
        assert!((test.mean[0].1 - 70.0).abs() < 1e-9);
        assert_eq!(test.band.len(), 1);
        let (x, lo, hi) = test.band[0];
        assert_eq!(x, 10.0);
        assert!((lo - 60.0).abs() < 1e-9 && (hi - 80.0).abs() < 1e-9);
        let train = seed_curve([&a, &b], |r| r.iteration as f64, |r| Some(r.train_error));
        // Iteration 20 has one seed: a mean, no band.
        assert_eq!((train.mean.len(), train.band.len()), (2, 1));
    }

    #[test]
    fn lr_drops_are_falls_not_warmup_rises() {
        let rows = vec![
            row(10, 0.01, 0.9, None),
            row(20, 0.1, 0.8, None),
            row(30, 0.1, 0.7, None),
            row(40, 0.01, 0.6, None),
            row(50, 0.001, 0.5, None),
        ];
        let drops = lr_drops(&rows);
        assert_eq!(drops.iter().map(|d| d.0).collect::<Vec<_>>(), vec![30, 40]);
        assert!(drops.iter().all(|d| (d.1 - 10.0).abs() < 1e-9));
    }

    #[test]
    fn iteration_axes_fit_the_run_length() {
        assert_eq!(IterationAxis::for_max(900).scale, 1.0);
        assert_eq!(IterationAxis::for_max(12_000).scale, 1e3);
        assert_eq!(IterationAxis::for_max(64_000).label, "iter. (1e4)");
    }
}
