//! The figures, redrawn from the committed quick results (fixed Parquet
//! files), show what a reader needs: markers at evaluations, the final errors per arm, whole captions.
use repro::testing::{check_figure, redraw_committed, FigureCheck};

#[test]
fn quick_figures_redrawn_from_committed_metrics() {
    let dir = redraw_committed(
        env!("CARGO_BIN_EXE_googlenet-inception"),
        "googlenet-inception",
        "quick",
    );
    check_figure(
        &dir,
        FigureCheck {
            stem: "inception",
            shared_y: true,
            markers: true,
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
