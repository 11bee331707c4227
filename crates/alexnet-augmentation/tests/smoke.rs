//! A smoke run of the binary end to end (generated data): metrics, figure, report.
#[test]
fn smoke_run_writes_metrics_figure_and_report() {
    let dir = repro::testing::smoke_run(
        env!("CARGO_BIN_EXE_alexnet-augmentation"),
        &["augmentation"],
    );
    let rows = repro::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("metrics");
    assert!(rows.iter().any(|r| r.run_name == "crop-flip-pca"));
    let cfg =
        std::fs::read_to_string(dir.join("runs/crop-flip-pca-s1/config.toml")).expect("config");
    assert!(cfg.contains("colour = \"pca\""), "{cfg}");
    // Same seed, data order and net: only the colour offsets differ, so the
    // training losses must (they were equal when a dataset prepared without the
    // principal components was reused and PCA silently did nothing).
    let losses = |run: &str| -> Vec<f64> {
        rows.iter()
            .filter(|r| r.run_name == run && r.kind == repro::metrics::RowKind::Window)
            .map(|r| r.train_loss)
            .collect()
    };
    let (none, pca) = (losses("none"), losses("pca"));
    assert_eq!(none.len(), pca.len());
    assert!(
        none != pca,
        "PCA colour augmentation changed nothing: {none:?}"
    );
}
