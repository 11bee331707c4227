//! The comparison of a fresh nightly with its baseline: the tolerance rule on
//! runs and claims, and what counts as a regression.
use nightly::compare::{
    compare_experiment, exit_code, markdown, run_tolerance, Outcome, Status, K_SIGMA,
    SEED_STD_FLOOR_PCT,
};
use std::path::Path;

mod common;
use common::{write_results, JPEG, OFFICIAL};

/// `<root>/exp/quick/`: runs (run, seed, final test error) and claims ((id,
/// verdict, effect, std_error, n per arm)), both sides on the same data.
fn results(root: &Path, runs: &[(&str, u64, f64)], claims: &[(&str, &str, f64, f64, u32)]) {
    write_results(&root.join("exp/quick"), JPEG, runs, claims);
}

fn outcomes(base: &Path, fresh: &Path) -> Vec<(String, Outcome)> {
    let c = compare_experiment("exp", "quick", base, fresh, false).expect("compare");
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
    let c = compare_experiment("exp", "quick", &b, &f, false).expect("compare");
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
    let regression = compare_experiment("exp", "quick", &b, &f, false).expect("compare");
    let md = markdown(std::slice::from_ref(&regression));
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
    let c = compare_experiment("exp", "quick", &b, &f, false).expect("compare");
    assert_eq!(exit_code(std::slice::from_ref(&c)), 0);
    // No baseline: listed, not a regression; a crash outranks a regression.
    let none =
        compare_experiment("exp", "quick", &t.path().join("none"), &f, false).expect("compare");
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
    let err = compare_experiment("exp", "quick", &b, &f, false)
        .expect_err("bad csv")
        .to_string();
    assert!(err.contains("summary.csv"), "{err}");
    // A truncated claims.json; a run without its provenance (its data).
    results(&b, &[("a", 1, 30.0)], &[("1", "pass", 1.0, 0.0, 1)]);
    let claims = b.join("exp/quick/claims.json");
    let text = std::fs::read_to_string(&claims).expect("read");
    std::fs::write(&claims, &text[..text.len() / 2]).expect("write");
    let err = format!(
        "{:#}",
        compare_experiment("exp", "quick", &b, &f, false).expect_err("truncated")
    );
    assert!(err.contains(&claims.display().to_string()), "{err}");
    results(&b, &[("a", 1, 30.0)], &[("1", "pass", 1.0, 0.0, 1)]);
    let prov = b.join("exp/quick/runs/a-s1/provenance.json");
    std::fs::remove_file(&prov).expect("rm");
    let err = format!(
        "{:#}",
        compare_experiment("exp", "quick", &b, &f, false).expect_err("no provenance")
    );
    assert!(err.contains(&prov.display().to_string()), "{err}");
}

#[test]
fn a_baseline_on_other_data_is_refused_unless_compared_across_datasets() {
    let t = tempfile::tempdir().expect("tmp");
    let (b, f) = (t.path().join("b"), t.path().join("f"));
    let runs = [("a", 1, 30.0), ("b", 1, 40.0)];
    let claims = [("1", "pass", 10.0, 0.0, 1)];
    write_results(&b.join("exp/quick"), JPEG, &runs, &claims);
    // The same numbers on the official release: refused, naming both copies.
    write_results(&f.join("exp/quick"), OFFICIAL, &runs, &claims);
    let c = compare_experiment("exp", "quick", &b, &f, false).expect("compare");
    let Status::OtherData(why) = &c.status else {
        panic!("{:?}", c.status)
    };
    assert!(
        why.contains(JPEG.0) && why.contains(OFFICIAL.1) && why.contains("--cross-dataset"),
        "{why}"
    );
    assert!(c.checks.is_empty() && c.cross_dataset.is_none());
    assert_eq!(exit_code(std::slice::from_ref(&c)), 2);
    assert!(markdown(&[c]).contains("**OTHER DATA**"));
    // The same label from another source (its sha256 alone differs): refused too.
    write_results(&f.join("exp/quick"), (JPEG.0, OFFICIAL.1), &runs, &claims);
    let c = compare_experiment("exp", "quick", &b, &f, false).expect("compare");
    assert!(matches!(c.status, Status::OtherData(_)), "{:?}", c.status);
    // Across datasets: labelled, numbers and verdicts listed but not counted.
    write_results(
        &f.join("exp/quick"),
        OFFICIAL,
        &[("a", 1, 45.0), ("b", 1, 40.0)],
        &[("1", "fail", -10.0, 0.0, 1)],
    );
    let c = compare_experiment("exp", "quick", &b, &f, true).expect("compare");
    assert_eq!(c.status, Status::Compared);
    let x = c.cross_dataset.as_ref().expect("labelled cross-dataset");
    assert!(x.baseline.names.contains(JPEG.0) && x.fresh.sha256.contains(OFFICIAL.1));
    let o: Vec<(String, Outcome)> = c
        .checks
        .iter()
        .map(|k| (k.what.clone(), k.outcome))
        .collect();
    assert!(
        o.contains(&("run a-s1 final test error (%)".into(), Outcome::Moved))
            && o.contains(&("claim 1 verdict".into(), Outcome::VerdictChanged)),
        "{o:?}"
    );
    assert_eq!(exit_code(std::slice::from_ref(&c)), 0);
    let md = markdown(std::slice::from_ref(&c));
    assert!(
        md.contains("**CROSS-DATASET**") && md.contains("claim 1 verdict: PASS → FAIL"),
        "{md}"
    );
    let json = serde_json::to_value(&c).expect("json");
    assert!(
        json["cross_dataset"]["fresh"]["names"][0] == OFFICIAL.0,
        "{json}"
    );
    // A run that disappeared still counts.
    write_results(&f.join("exp/quick"), OFFICIAL, &runs[..1], &claims);
    let c = compare_experiment("exp", "quick", &b, &f, true).expect("compare");
    assert_eq!(exit_code(&[c]), 1);
}
