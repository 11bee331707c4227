//! A smoke run of the binary end to end (generated data): B-E initialised from
//! A's saved weights, the S = 54 D fine-tuned from D and the jittered D from
//! it, multi-scale test tables with their score-map sizes, figure and report.
#[test]
fn smoke_run_trains_a_then_c_from_a() {
    let dir = repro::testing::smoke_run(env!("CARGO_BIN_EXE_vgg-depth"), &["depth"]);
    let rows = repro::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("metrics");
    for run in ["vgg-a", "vgg-c", "vgg-d", "vgg-d-s54", "vgg-d-jitter"] {
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
    // The jittered net's S_max = 72 is a dense 2x2 score map; Q = 36 is 1x1.
    assert!(report.contains("72 (2x2)"), "{report}");
    assert!(report.contains("36 (1x1)"), "{report}");
    assert!(
        report.contains("fc layers 16 wide (4096 in the paper)"),
        "{report}"
    );
}
