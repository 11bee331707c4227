//! A smoke run of the binary end to end (generated data): metrics, figure, report.
#[test]
fn smoke_run_writes_metrics_figure_and_report() {
    let dir = repro::testing::smoke_run(env!("CARGO_BIN_EXE_alexnet-depth"), &["depth"]);
    let rows = repro::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("metrics");
    let names: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.run_name.as_str()).collect();
    assert_eq!(names.len(), 2, "both arms trained: {names:?}");
    assert!(
        rows.iter()
            .any(|r| r.kind == repro::metrics::RowKind::Epoch),
        "per-epoch rows"
    );
}
