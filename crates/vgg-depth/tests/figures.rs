//! The figures, redrawn from the committed quick results (fixed Parquet
//! files), show what a reader needs: markers, learning-rate drops, Table 3 beside the final errors, whole captions.
use repro::testing::{check_figure, redraw_committed, FigureCheck};

#[test]
fn quick_figures_redrawn_from_committed_metrics() {
    let dir = redraw_committed(env!("CARGO_BIN_EXE_vgg-depth"), "vgg-depth", "quick");
    check_figure(
        &dir,
        FigureCheck {
            stem: "depth",
            shared_y: true,
            markers: true,
            lr_drops: true,
            ..Default::default()
        },
    );
    check_figure(
        &dir,
        FigureCheck {
            stem: "final",
            markers: true,
            paper_values: true,
            ..Default::default()
        },
    );
    assert!(dir.join("summary.csv").exists());
}
