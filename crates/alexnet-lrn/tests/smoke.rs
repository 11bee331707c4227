//! A smoke run of the binary end to end (generated data): metrics, figure, report.
#[test]
fn smoke_run_writes_metrics_figure_and_report() {
    let dir = repro::testing::smoke_run(env!("CARGO_BIN_EXE_alexnet-lrn"), &["lrn"]);
    let rows = repro::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("metrics");
    assert!(
        rows.iter()
            .any(|r| r.kind == repro::metrics::RowKind::Epoch),
        "per-epoch rows"
    );
}
