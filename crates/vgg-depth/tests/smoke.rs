//! A smoke run of the binary end to end (generated data): B-E initialised from
//! A's saved weights, multi-scale test tables, figure and report.
#[test]
fn smoke_run_trains_a_then_c_from_a() {
    let dir = repro::testing::smoke_run(env!("CARGO_BIN_EXE_vgg-depth"), &["depth"]);
    let rows = repro::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("metrics");
    for run in ["vgg-a", "vgg-c", "vgg-d-jitter"] {
        assert!(rows.iter().any(|r| r.run_name == run), "{run} trained");
        let ms = repro::metrics::read_f64_table(
            &dir.join("runs")
                .join(format!("{run}-s1"))
                .join("multiscale.parquet"),
        )
        .expect("multi-scale table");
        assert_eq!(ms["q"].len(), 4, "three scales and their combination");
    }
    let report = std::fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(report.contains("Table 4 analogue"), "{report}");
}
