//! The summary and its regression check.
use nightly::{collect, markdown, regressions};

fn claims(dir: &std::path::Path, exp: &str, verdicts: &[(&str, &str)]) {
    let d = dir.join(exp).join("quick");
    std::fs::create_dir_all(&d).expect("mkdir");
    let claims: Vec<serde_json::Value> = verdicts
        .iter()
        .map(|(id, v)| {
            let verdict = match *v {
                "Pass" | "Fail" => serde_json::json!(v),
                why => serde_json::json!({ "NotEvaluated": why }),
            };
            serde_json::json!({"id": id, "statement": "s", "paper": "p", "measured": "m", "verdict": verdict})
        })
        .collect();
    let v = serde_json::json!({"header": {"datasets": ["CIFAR-10 (JPEG q75 copy)"], "faithful": false, "commit": "abc"}, "claims": claims});
    std::fs::write(d.join("claims.json"), v.to_string()).expect("write");
}

#[test]
fn a_claim_that_passed_and_now_fails_is_a_regression() {
    let t = tempfile::tempdir().expect("tmp");
    let exps = vec![
        "alexnet-lrn".to_string(),
        "resnet-cifar-degradation".to_string(),
    ];
    claims(t.path(), "alexnet-lrn", &[("1", "Pass")]);
    claims(
        t.path(),
        "resnet-cifar-degradation",
        &[("1", "Pass"), ("2a", "Fail"), ("3", "not run")],
    );
    let before = collect(t.path(), &exps, "quick").expect("collect");
    assert_eq!(before.len(), 4);
    let md = markdown(&before);
    assert!(
        md.contains("**PASS**")
            && md.contains("**FAIL**")
            && md.contains("NOT EVALUATED (not run)")
    );
    assert!(md.contains("CIFAR-10 (JPEG q75 copy)") && md.contains("(shortened)"));
    assert!(regressions(&before, &before).is_empty());
    // SUMMARY.csv: a header and one row per claim, with the fidelity label.
    let csv = nightly::csv_text(&before).expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + before.len(), "{csv}");
    assert!(lines[0].contains("verdict") && lines[0].contains("fidelity"));
    assert!(lines[1..].iter().all(|l| l.contains("shortened")), "{csv}");
    claims(
        t.path(),
        "resnet-cifar-degradation",
        &[("1", "Fail"), ("2a", "Pass"), ("3", "not run")],
    );
    let now = collect(t.path(), &exps, "quick").expect("collect");
    let r = regressions(&before, &now);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0.key(), "resnet-cifar-degradation/quick#1");
}

#[test]
fn schema_2_claims_read_with_their_reasons_and_counts() {
    let t = tempfile::tempdir().expect("tmp");
    let d = t.path().join("alexnet-lrn").join("quick");
    std::fs::create_dir_all(&d).expect("mkdir");
    let v = serde_json::json!({
        "schema": 2,
        "header": {"datasets": ["CIFAR-10"], "fidelity": "analogue", "commit": "abc"},
        "claims": [
            {"id": "1", "statement": "s", "paper": "p", "note": "n1", "verdict": "pass", "effect": -1.0},
            {"id": "2", "statement": "s", "paper": "p", "note": "n2", "verdict": "inconclusive", "reason": "1 vs 1 seeds"},
            {"id": "3", "statement": "s", "paper": "p", "note": "n3", "verdict": "not_evaluated", "reason": "needs fully trained networks"}
        ]
    });
    std::fs::write(d.join("claims.json"), v.to_string()).expect("write");
    let rows = collect(t.path(), &["alexnet-lrn".to_string()], "quick").expect("collect");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].verdict, "PASS");
    assert_eq!(rows[1].verdict, "INCONCLUSIVE (1 vs 1 seeds)");
    assert_eq!(rows[1].measured, "n2");
    assert_eq!(rows[2].fidelity, "analogue");
    let md = markdown(&rows);
    assert!(
        md.contains("1 PASS, 0 FAIL, 1 INCONCLUSIVE, 1 NOT EVALUATED."),
        "{md}"
    );
}
