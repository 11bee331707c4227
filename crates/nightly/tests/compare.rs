//! The comparison of a fresh nightly with its baseline: the tolerance rule on
//! runs and claims, and what counts as a regression.
use nightly::compare::{
    compare_experiment, exit_code, run_tolerance, Outcome, Status, K_SIGMA, SEED_STD_FLOOR_PCT,
};
use std::path::Path;

/// `<root>/<exp>/quick/summary.csv` (run, seed, final test error) and a
/// schema-2 `claims.json` ((id, verdict, effect, std_error, n per arm)).
fn results(root: &Path, runs: &[(&str, u64, f64)], claims: &[(&str, &str, f64, f64, u32)]) {
    let d = root.join("exp").join("quick");
    std::fs::create_dir_all(&d).expect("mkdir");
    let mut csv = String::from("run,seed,run_id,fidelity,final_train_error_pct,final_test_error_pct,best_test_error_pct,iterations,wall_time_s,dataset,device,precision,config_hash\n");
    for (run, seed, err) in runs {
        csv += &format!(
            "{run},{seed},{run}-s{seed},shortened,1,{err},1,10,1.5,CIFAR-10,cpu,fp32,abc\n"
        );
    }
    std::fs::write(d.join("summary.csv"), csv).expect("write");
    let claims: Vec<serde_json::Value> = claims
        .iter()
        .map(|(id, verdict, effect, se, n)| {
            serde_json::json!({"id": id, "statement": "s", "paper": "p", "note": "n",
                "verdict": verdict, "reason": "why 1.0", "effect": effect, "std_error": se,
                "n_a": n, "n_b": n})
        })
        .collect();
    let v = serde_json::json!({"schema": 2, "header": {"commit": "base123"}, "claims": claims});
    std::fs::write(d.join("claims.json"), v.to_string()).expect("write");
}

fn outcomes(base: &Path, fresh: &Path) -> Vec<(String, Outcome)> {
    let c = compare_experiment("exp", "quick", base, fresh).expect("compare");
    assert_eq!(c.status, Status::Compared);
    c.checks.into_iter().map(|c| (c.what, c.outcome)).collect()
}

#[test]
fn n1_runs_hold_within_the_floor_and_move_beyond_it() {
    let t = tempfile::tempdir().expect("tmp");
    let (b, f) = (t.path().join("b"), t.path().join("f"));
    let floor = run_tolerance(None);
    assert!((floor - K_SIGMA * 2f64.sqrt() * SEED_STD_FLOOR_PCT).abs() < 1e-12);
    results(
        &b,
        &[("a", 1, 30.0), ("b", 1, 40.0)],
        &[("1", "inconclusive", 10.0, 0.0, 1)],
    );
    // Within the floor, on the run and on the claim's effect.
    results(
        &f,
        &[("a", 1, 30.0 + 0.9 * floor), ("b", 1, 40.0)],
        &[("1", "inconclusive", 12.0, 0.0, 1)],
    );
    let o = outcomes(&b, &f);
    assert!(o.iter().all(|(_, o)| *o == Outcome::Held), "{o:?}");
    // Beyond: the run's error, and the effect (floor K * 0.8 * sqrt(2 + 2) = 4.8).
    results(
        &f,
        &[("a", 1, 30.0 + 1.1 * floor), ("b", 1, 40.0)],
        &[("1", "inconclusive", 15.0, 0.0, 1)],
    );
    let o = outcomes(&b, &f);
    assert!(
        o.contains(&("run a-s1 final test error (%)".into(), Outcome::Moved)),
        "{o:?}"
    );
    assert!(
        o.contains(&("claim 1 effect (points)".into(), Outcome::Moved)),
        "{o:?}"
    );
    assert!(
        o.contains(&("run b-s1 final test error (%)".into(), Outcome::Held)),
        "{o:?}"
    );
    let c = compare_experiment("exp", "quick", &b, &f).expect("compare");
    assert_eq!(c.baseline_commit, "base123");
    assert_eq!(exit_code(&[c]), 1);
}

#[test]
fn the_seed_spread_widens_the_tolerance() {
    let t = tempfile::tempdir().expect("tmp");
    let (b, f) = (t.path().join("b"), t.path().join("f"));
    // Two arms of two seeds, each pair 4 points apart: pooled std 2.83 > floor.
    let spread = [
        ("a", 1, 30.0),
        ("a", 2, 34.0),
        ("b", 1, 40.0),
        ("b", 2, 44.0),
    ];
    results(&b, &spread, &[("1", "pass", 10.0, 2.0, 2)]);
    // 8 points off: beyond the n = 1 floor (3.39), within 3 * sqrt(2) * 2.83 = 12.
    let fresh = [
        ("a", 1, 38.0),
        ("a", 2, 34.0),
        ("b", 1, 40.0),
        ("b", 2, 44.0),
    ];
    results(&f, &fresh, &[("1", "pass", 17.0, 2.0, 2)]);
    let o = outcomes(&b, &f);
    assert!(o.iter().all(|(_, o)| *o == Outcome::Held), "{o:?}");
    // The same 8 points against a baseline without spread: moved.
    let tight = [
        ("a", 1, 30.0),
        ("a", 2, 30.0),
        ("b", 1, 40.0),
        ("b", 2, 40.0),
    ];
    results(&b, &tight, &[("1", "pass", 10.0, 0.0, 2)]);
    let o = outcomes(&b, &f);
    assert!(
        o.contains(&("run a-s1 final test error (%)".into(), Outcome::Moved)),
        "{o:?}"
    );
}

#[test]
fn verdict_changes_and_disappearances_are_regressions_new_ones_are_not() {
    let t = tempfile::tempdir().expect("tmp");
    let (b, f) = (t.path().join("b"), t.path().join("f"));
    results(
        &b,
        &[("a", 1, 30.0), ("b", 1, 40.0)],
        &[
            ("1", "pass", 10.0, 0.0, 1),
            ("2", "inconclusive", 1.0, 0.0, 1),
        ],
    );
    // Run b gone, claim 1 now fails, claim 2 gone, a new run and claim.
    results(
        &f,
        &[("a", 1, 30.0), ("c", 1, 50.0)],
        &[("1", "fail", 10.0, 0.0, 1), ("3", "pass", 1.0, 0.0, 1)],
    );
    let o = outcomes(&b, &f);
    for (what, outcome) in [
        ("run b-s1 final test error (%)", Outcome::Disappeared),
        ("run c-s1 final test error (%)", Outcome::New),
        ("claim 1 verdict", Outcome::VerdictChanged),
        ("claim 2", Outcome::Disappeared),
        ("claim 3", Outcome::New),
    ] {
        assert!(o.contains(&(what.into(), outcome)), "{what}: {o:?}");
    }
    let regression = compare_experiment("exp", "quick", &b, &f).expect("compare");
    let md = nightly::compare::markdown(std::slice::from_ref(&regression));
    assert!(
        md.contains("**REGRESSION**") && md.contains("claim 1 verdict: PASS → FAIL"),
        "{md}"
    );
    // A verdict's reason may change (it carries numbers) without a regression.
    results(
        &f,
        &[("a", 1, 30.0), ("b", 1, 40.0)],
        &[
            ("1", "pass", 10.0, 0.0, 1),
            ("2", "inconclusive", 1.0, 0.0, 1),
        ],
    );
    let c = compare_experiment("exp", "quick", &b, &f).expect("compare");
    assert_eq!(exit_code(std::slice::from_ref(&c)), 0);
    // No baseline: listed, not a regression; a crash outranks a regression.
    let none = compare_experiment("exp", "quick", &t.path().join("none"), &f).expect("compare");
    assert!(matches!(none.status, Status::NoBaseline(_)));
    assert_eq!(exit_code(&[none]), 0);
    let crashed = nightly::compare::ExperimentComparison::crashed("x", "exit 1".into());
    assert_eq!(exit_code(std::slice::from_ref(&regression)), 1);
    assert_eq!(exit_code(&[regression, crashed]), 2);
}

#[test]
fn a_malformed_baseline_is_an_error_naming_the_file() {
    let t = tempfile::tempdir().expect("tmp");
    let (b, f) = (t.path().join("b"), t.path().join("f"));
    results(&b, &[("a", 1, 30.0)], &[("1", "pass", 1.0, 0.0, 1)]);
    results(&f, &[("a", 1, 30.0)], &[("1", "pass", 1.0, 0.0, 1)]);
    let csv = b.join("exp/quick/summary.csv");
    std::fs::write(
        &csv,
        "run,seed,run_id,final_test_error_pct\na,1,a-s1,thirty\n",
    )
    .expect("write");
    let err = compare_experiment("exp", "quick", &b, &f)
        .expect_err("bad csv")
        .to_string();
    assert!(err.contains("summary.csv"), "{err}");
}
