//! The figures, redrawn from the committed quick results (fixed Parquet
//! files), show what a reader needs: the 25% line, legend names, whole captions.
use repro::testing::{check_figure, redraw_committed, FigureCheck};

#[test]
fn quick_figures_redrawn_from_committed_metrics() {
    let dir = redraw_committed(
        env!("CARGO_BIN_EXE_alexnet-relu-vs-tanh"),
        "alexnet-relu-vs-tanh",
        "quick",
    );
    check_figure(
        &dir,
        FigureCheck {
            stem: "fig1",
            ..Default::default()
        },
    );
    let svg = std::fs::read_to_string(dir.join("fig1.svg")).expect("svg");
    assert!(
        svg.contains("25%") && svg.contains("ReLU"),
        "the 25% line and readable legend names"
    );
    // The paper's ratio drawn where it puts tanh: 6x ReLU's epoch to 25%.
    assert!(
        svg.contains("paper: tanh at 6x"),
        "the paper's speed-up mark"
    );
    assert!(dir.join("summary.csv").exists());
}
