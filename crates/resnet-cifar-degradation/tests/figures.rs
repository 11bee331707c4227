//! The figures, redrawn from the committed quick results (fixed Parquet
//! files), show what a reader needs: markers at evaluations, the learning-rate drops, Table 6's errors beside the ResNet curves, whole captions.
use repro::testing::{check_figure, redraw_committed, FigureCheck};

#[test]
fn quick_figures_redrawn_from_committed_metrics() {
    let dir = redraw_committed(
        env!("CARGO_BIN_EXE_resnet-cifar-degradation"),
        "resnet-cifar-degradation",
        "quick",
    );
    check_figure(
        &dir,
        FigureCheck {
            stem: "fig6",
            shared_y: true,
            markers: true,
            lr_drops: true,
            paper_values: true,
            ..Default::default()
        },
    );
    check_figure(
        &dir,
        FigureCheck {
            stem: "fig7",
            shared_y: true,
            markers: true,
            ..Default::default()
        },
    );
    assert!(dir.join("summary.csv").exists());
}

/// `--log-y` draws the error curves on a log-scale axis (1-2-5 ticks).
#[test]
fn log_y_redraws_the_curves_on_a_log_axis() {
    let dir = redraw_committed(
        env!("CARGO_BIN_EXE_resnet-cifar-degradation"),
        "resnet-cifar-degradation",
        "quick",
    );
    let linear = std::fs::read_to_string(dir.join("fig6.svg")).expect("svg");
    let out = dir.parent().expect("experiment dir");
    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_resnet-cifar-degradation"))
        .args(["--profile", "quick", "--plot-only", "--log-y", "--out"])
        .arg(out)
        .status()
        .expect("runs")
        .success();
    assert!(ok);
    let log = std::fs::read_to_string(dir.join("fig6.svg")).expect("svg");
    let ticks = |svg: &str| -> Vec<String> {
        repro::testing::y_axes(svg)[0]
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    };
    // 1-2-5 ticks, increasing, whatever range the committed errors span (a
    // linear axis has 0 or 40, 60, 80: none of them 1-2-5).
    let log_ticks: Vec<f64> = ticks(&log)
        .iter()
        .map(|t| t.parse::<f64>().unwrap_or(f64::NAN))
        .collect();
    let one_two_five = |v: f64| {
        let m = v / 10f64.powf(v.log10().floor());
        [1.0, 2.0, 5.0].iter().any(|x| (m - x).abs() < 1e-9)
    };
    assert!(
        log_ticks.len() >= 2
            && log_ticks.iter().all(|v| *v > 0.0 && one_two_five(*v))
            && log_ticks.windows(2).all(|w| w[0] < w[1]),
        "log ticks {log_ticks:?}"
    );
    assert_ne!(ticks(&linear), ticks(&log));
}
