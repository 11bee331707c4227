//! Holm's step-down procedure on textbook examples, and over a family of
//! claim results.
use claim_stats::{
    apply_holm, directional, holm, holm_adjusted, Basis, ClaimResult, Decision, Direction, Rule,
};

fn near(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
    }
}

#[test]
fn holm_rejects_step_down_as_in_the_textbook() {
    // Four tests at α = 0.05: sorted 0.005 < 0.05/4, 0.01 < 0.05/3, then
    // 0.03 >= 0.05/2 stops; 0.04 (< 0.05 alone) is not rejected either.
    let p = [0.01, 0.04, 0.03, 0.005];
    assert_eq!(holm(&p, 0.05), vec![true, false, false, true]);
    near(&holm_adjusted(&p), &[0.03, 0.06, 0.06, 0.02]);
    // R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm").
    let p = [0.01, 0.02, 0.03, 0.04, 0.05];
    near(&holm_adjusted(&p), &[0.05, 0.08, 0.09, 0.09, 0.09]);
    // 0.01 is not below 0.05 / 5: nothing is rejected.
    assert_eq!(holm(&p, 0.05), vec![false; 5]);
    // Capped at 1; one test is left alone; an empty family is empty.
    near(&holm_adjusted(&[0.6, 0.5]), &[1.0, 1.0]);
    near(&holm_adjusted(&[0.03]), &[0.03]);
    assert!(holm(&[], 0.05).is_empty());
}

#[test]
fn holm_rejects_exactly_where_the_adjusted_p_is_below_alpha() {
    let sets: [&[f64]; 4] = [
        &[0.001, 0.2, 0.013, 0.04, 0.012],
        &[0.02, 0.02, 0.02],
        &[0.049, 0.001],
        &[0.3, 0.0001, 0.0125, 0.6, 0.009, 0.016],
    ];
    for p in sets {
        for alpha in [0.01, 0.05, 0.1] {
            let by_adjusted: Vec<bool> = holm_adjusted(p).iter().map(|q| *q < alpha).collect();
            assert_eq!(holm(p, alpha), by_adjusted, "{p:?} at {alpha}");
        }
    }
}

/// Three claims tested one-sided (`dir` is the paper's direction):
/// p = 0.0016, 0.042 and 0.246 in the lower direction (scipy).
fn three_claims(dir: Direction) -> Vec<ClaimResult> {
    let arms: [([f64; 4], &[f64]); 3] = [
        ([24.1, 25.3, 24.8, 25.0], &[26.2, 25.9, 27.1, 26.5, 26.0]),
        ([24.8, 25.6, 25.1, 25.9], &[26.0, 25.7, 26.4, 25.8]),
        ([25.0, 26.1, 24.2, 25.7], &[25.5, 24.9, 26.3, 25.8]),
    ];
    arms.iter()
        .map(|(a, b)| directional(a, b, dir, Rule::default()).expect("test"))
        .collect()
}

fn decisions(results: &[ClaimResult]) -> Vec<Decision> {
    results.iter().map(|r| r.decision).collect()
}

#[test]
fn apply_holm_turns_a_pass_that_does_not_survive_into_inconclusive() {
    use Decision::{Inconclusive, Pass};
    let mut family = three_claims(Direction::Lower);
    // Two seeds, decided by the stated minimum effect: not in the family.
    let rule = Rule::default().with_min_effect(5.0);
    family.push(directional(&[30.0, 30.5], &[40.0, 40.4], Direction::Lower, rule).expect("t"));
    assert_eq!(family[3].basis, Basis::FewSeeds);
    assert_eq!(decisions(&family), [Pass, Pass, Inconclusive, Pass]);
    apply_holm(&mut family, 0.05);
    // 3 x 0.0016 stays below 0.05; 2 x 0.042 = 0.084 does not.
    assert_eq!(decisions(&family), [Pass, Inconclusive, Inconclusive, Pass]);
    let adj = |i: usize| family[i].p_adjusted.expect("adjusted");
    assert!((adj(0) - 3.0 * 0.001_558_744_502_049_263_2).abs() < 1e-12);
    assert!((adj(1) - 2.0 * 0.042_067_550_874_874_82).abs() < 1e-9);
    assert!((adj(2) - 0.246_365_080_190_527_77).abs() < 1e-9);
    assert_eq!(family[3].p_adjusted, None);
    let why = &family[1].reason;
    assert!(why.contains("Holm over 3 claims"), "{why}");
}

#[test]
fn apply_holm_adjusts_a_fail_on_the_p_that_made_it() {
    use Decision::{Fail, Inconclusive};
    let mut family = three_claims(Direction::Higher);
    assert_eq!(decisions(&family), [Fail, Fail, Inconclusive]);
    apply_holm(&mut family, 0.05);
    assert_eq!(decisions(&family), [Fail, Inconclusive, Inconclusive]);
    let adj = family[1].p_adjusted.expect("adjusted");
    assert!((adj - 2.0 * 0.042_067_550_874_874_82).abs() < 1e-9);
}
