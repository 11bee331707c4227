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
    assert_eq!(ticks(&log), ["10", "20", "50"], "log ticks");
    assert_ne!(ticks(&linear), ticks(&log));
}
