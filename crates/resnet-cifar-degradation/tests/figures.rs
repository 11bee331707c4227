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
