//! A smoke run of the binary end to end (generated data): metrics, figure, report.
#[test]
fn smoke_run_writes_metrics_figure_and_report() {
    let dir = repro::testing::smoke_run(env!("CARGO_BIN_EXE_alexnet-dropout"), &["dropout"]);
    let rows = repro::metrics::read_parquet(&dir.join("all_runs.parquet")).expect("metrics");
    let names: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.run_name.as_str()).collect();
    assert_eq!(names.len(), 2, "both arms trained: {names:?}");
    assert!(
        rows.iter()
            .any(|r| r.kind == repro::metrics::RowKind::Epoch),
        "per-epoch rows"
    );
    // Every evaluation measures the training error in evaluation mode too
    // (data.train_eval_images), and claim 1's gap is taken from it.
    let evaluated: Vec<_> = rows.iter().filter(|r| r.test_error.is_some()).collect();
    assert!(!evaluated.is_empty());
    assert!(
        evaluated.iter().all(|r| r.train_eval_error.is_some()),
        "evaluation-mode training error at every evaluation"
    );
    let claims: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("claims.json")).expect("claims.json"))
            .expect("json");
    let c1 = &claims["claims"][0];
    assert_eq!(c1["id"], "1");
    // The smoke profile decides no claim of the paper; its numbers are there.
    assert_eq!(c1["verdict"], "not_decided", "{c1}");
    assert!(c1["effect"].is_f64() && c1["n_a"].is_u64(), "{c1}");
    assert_eq!(c1["test"], "welch_one_sided", "{c1}");
    let note = c1["note"].as_str().unwrap_or("");
    assert!(
        note.contains("no-dropout") && note.contains("dropout"),
        "{c1}"
    );
    assert!(
        c1["quantity"]
            .as_str()
            .unwrap_or("")
            .contains("evaluation-mode training error"),
        "{c1}"
    );
}
