//! The figures, redrawn from the committed quick results (fixed Parquet
//! files), show what a reader needs: the spread of the two seeds, markers, the learning-rate drop, the final errors per arm, whole captions.
use repro::testing::{check_figure, redraw_committed, FigureCheck};

#[test]
fn quick_figures_redrawn_from_committed_metrics() {
    let dir = redraw_committed(
        env!("CARGO_BIN_EXE_alexnet-overlapping-pooling"),
        "alexnet-overlapping-pooling",
        "quick",
    );
    check_figure(
        &dir,
        FigureCheck {
            stem: "pooling",
            markers: true,
            bands: true,
            lr_drops: true,
            ..Default::default()
        },
    );
    check_figure(
        &dir,
        FigureCheck {
            stem: "final",
            markers: true,
            ..Default::default()
        },
    );
    assert!(dir.join("summary.csv").exists());
}
