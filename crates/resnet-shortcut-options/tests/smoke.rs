//! A smoke run of the binary end to end (generated data): metrics, figure, report.
#[test]
fn smoke_run_writes_metrics_figure_and_report() {
    let dir =
        repro::testing::smoke_run(env!("CARGO_BIN_EXE_resnet-shortcut-options"), &["options"]);
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report");
    for run in ["plain-20", "resnet-20-A", "resnet-20-B", "resnet-20-C"] {
        assert!(report.contains(run), "{run} missing from the report");
    }
}
