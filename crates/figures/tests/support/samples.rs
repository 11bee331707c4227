// Synthetic paper-like figures, used by the tests and the `sample` example
// to exercise every feature at once (three panels, clipped curves, NaN
// gaps, hlines, shared legend entries).

#![allow(dead_code)]

use figures::{ArmPoint, Dash, Figure, HLine, Panel, RefTick, Series, VLine};

/// A decaying error curve with a step drop at each learning-rate decay,
/// roughly the shape of the papers' curves.
fn curve(
    start: f64,
    end: f64,
    n: usize,
    x_max: f64,
    decays: &[f64],
    wiggle: f64,
) -> Vec<(f64, f64)> {
    (0..=n)
        .map(|i| {
            let x = x_max * i as f64 / n as f64;
            let mut y = end + (start - end) * (-x / (x_max * 0.12)).exp();
            for d in decays {
                if x > *d {
                    y *= 0.6;
                }
            }
            y += wiggle * ((i as f64) * 1.7).sin();
            (x, y)
        })
        .collect()
}

/// A ResNet Fig. 6 look-alike: plain nets, ResNets, and 110 vs 1202 layers;
/// x in 1e4 iterations, y error % cropped at 20, train dashed thin, test bold.
pub fn resnet_fig6() -> Figure {
    let panel = |title: &str, models: &[(&str, f64, f64)]| {
        let mut p = Panel::new(title, "iter. (1e4)", "error (%)");
        p.y_range = Some((0.0, 20.0));
        p.x_range = Some((0.0, 6.4));
        for (i, (name, train_end, test_end)) in models.iter().enumerate() {
            p.series.push(Series::train(
                *name,
                curve(90.0, *train_end, 320, 6.4, &[3.2, 4.8], 0.4),
                i,
            ));
            p.series.push(Series::test(
                *name,
                curve(90.0, *test_end, 64, 6.4, &[3.2, 4.8], 0.2),
                i,
            ));
        }
        p
    };
    let mut plain = panel(
        "plain nets",
        &[
            ("plain-20", 6.0, 13.0),
            ("plain-32", 7.0, 14.0),
            ("plain-44", 8.5, 15.5),
            ("plain-56", 10.0, 17.0),
        ],
    );
    plain.hlines.push(HLine {
        y: 5.0,
        label: "5%".into(),
    });
    let res = panel(
        "ResNets",
        &[
            ("ResNet-20", 4.0, 13.5),
            ("ResNet-32", 3.0, 12.5),
            ("ResNet-44", 2.5, 12.0),
            ("ResNet-56", 2.0, 11.5),
            ("ResNet-110", 1.5, 11.0),
        ],
    );
    let mut deep = panel(
        "110 vs 1202 layers",
        &[("ResNet-110", 1.5, 11.0), ("ResNet-1202", 0.5, 12.5)],
    );
    // A diverged stretch: NaN gap in the middle of one curve.
    for p in deep.series[2].points.iter_mut().skip(100).take(20) {
        p.1 = f64::NAN;
    }
    let mut fig = Figure::new(
        "Figure 6: training on CIFAR-10",
        "CIFAR-10 (synthetic sample data), profile: quick, device: cpu, seeds: 0 1 2; dashed: training error, bold: test error",
        vec![plain, res, deep],
    );
    fig.panel_size = (440, 360);
    fig
}

/// An AlexNet Fig. 1 look-alike: training error vs epochs with the 25 % line.
pub fn alexnet_fig1() -> Figure {
    let mut p = Panel::new("", "Epochs", "Training error rate");
    p.series.push(Series::new(
        "ReLU (solid)",
        curve(75.0, 5.0, 35, 35.0, &[], 0.0),
        0,
    ));
    let mut tanh = Series::new("tanh (dashed)", curve(75.0, 12.0, 35, 35.0, &[], 0.0), 1);
    tanh.dash = Dash::Dashed;
    p.series.push(tanh);
    p.hlines.push(HLine {
        y: 25.0,
        label: "25%".into(),
    });
    p.y_range = Some((0.0, 75.0));
    Figure::new(
        "Figure 1: ReLU vs tanh",
        "CIFAR-10, four-layer CNN, profile: quick, device: cpu, seed: 0",
        vec![p],
    )
}

/// Everything that must not break a figure: NaN/inf points, a series of
/// only NaN, finite extremes, an empty series, a panel without anything, and
/// a curve entirely outside an explicit range.
pub fn edge_cases() -> Figure {
    let mut bad = Panel::new("diverged", "epochs", "error (%)");
    bad.series.push(Series::new(
        "nan run",
        vec![
            (0.0, 50.0),
            (1.0, f64::NAN),
            (2.0, f64::INFINITY),
            (3.0, 30.0),
            (f64::NAN, 1.0),
        ],
        1,
    ));
    bad.series
        .push(Series::new("all nan", vec![(0.0, f64::NAN); 3], 2));
    bad.series
        .push(Series::new("huge", vec![(0.0, 1e308), (1.0, -1e308)], 3));
    let mut empty = Panel::new("empty", "epochs", "error (%)");
    empty.series.push(Series::new("no points", vec![], 0));
    let nothing = Panel::new("", "", "");
    let mut outside = Panel::new("outside range", "x", "y");
    outside
        .series
        .push(Series::new("above", vec![(0.0, 90.0), (1.0, 80.0)], 0));
    outside.y_range = Some((0.0, 20.0));
    Figure::new(
        "diverged runs",
        "edge cases: non-finite points, 1e308, empty series, empty panel, out-of-range curve",
        vec![bad, empty, nothing, outside],
    )
}

/// The seed band of `curve`: ± `spread` around it, widening early on.
fn band_of(points: &[(f64, f64)], spread: f64) -> Vec<(f64, f64, f64)> {
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| {
            let s = spread * (1.0 + 3.0 / (1.0 + i as f64));
            (x, y - s, y + s)
        })
        .collect()
}

/// Every newer feature at once: seed bands, markers, learning-rate marks and
/// paper reference ticks on iteration curves; a log-scale panel; an arm
/// chart of final errors with seeds, mean ± std and paper values; a long
/// caption that must wrap.
pub fn features() -> Figure {
    let mut curves = Panel::new(
        "ResNet-20/56 on CIFAR-10 (3 seeds)",
        "iterations",
        "test error (%)",
    );
    for (i, (name, end)) in [("ResNet-20", 8.5), ("ResNet-56", 7.0)].iter().enumerate() {
        let pts: Vec<(f64, f64)> = curve(60.0, *end, 32, 64000.0, &[32000.0, 48000.0], 0.3);
        let band = band_of(&pts, 0.6);
        curves
            .series
            .push(Series::test(*name, pts, i).with_band(band).with_markers());
    }
    curves.vlines = vec![VLine::new(32000.0, "lr ÷10"), VLine::new(48000.0, "lr ÷10")];
    curves.ref_ticks = vec![
        RefTick::new(8.75, "paper 8.75", 0),
        RefTick::new(6.97, "paper 6.97", 1),
    ];
    curves.y_range = Some((0.0, 30.0));

    let mut log = Panel::new("training loss", "epochs", "loss (log)");
    log.log_y = true;
    log.series.push(Series::new(
        "train loss",
        (0..=40)
            .map(|i| (i as f64, 2.3 * (-(i as f64) / 8.0).exp() + 0.01))
            .collect(),
        2,
    ));

    let arms = Panel::arms(
        "final test error",
        "error (%)",
        vec![
            ArmPoint::new("no dropout", vec![17.1, 17.6, 16.9], 0).with_paper(17.0),
            ArmPoint::new("dropout p=0.5 (paper)", vec![15.2, 15.9, 15.5], 1).with_paper(15.6),
            ArmPoint::new("single seed", vec![16.2], 2),
            ArmPoint::new("overlapping pooling", vec![15.8, f64::NAN, 16.4], 3).with_paper(16.0),
        ],
    );
    Figure::new(
        "Figure: features of the renderer",
        "CIFAR-10 (synthetic sample data), profile: quick, device: cpu, seeds: 0 1 2; \
         bands: min..max over seeds; markers: evaluated points; dotted lines: learning-rate drops; \
         ticks at the right: values reported in the papers; arms: seeds, mean ± std, paper",
        vec![curves, log, arms],
    )
}
