//! Holm's step-down adjustment for a family of claims (Holm 1979): it keeps
//! the chance of any false PASS or FAIL in the family at α, without
//! assuming the tests independent.
use crate::{Basis, ClaimResult, Decision};

/// Holm-adjusted p values, in the input's order: sorted ascending, the
/// i-th smallest (from 0) times `m - i`, made non-decreasing, capped at 1
/// (R's `p.adjust(p, "holm")`).
pub fn holm_adjusted(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// Which hypotheses Holm's procedure rejects at family-wise level `alpha`,
/// in the input's order: step down from the smallest p, rejecting while
/// the i-th smallest (from 0) is below `alpha / (m - i)`, and stop at the
/// first that is not. Equivalent to `holm_adjusted(p)[k] < alpha`.
pub fn holm(p_values: &[f64], alpha: f64) -> Vec<bool> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p_values[i].total_cmp(&p_values[j]));
    let mut rejected = vec![false; m];
    for (rank, &i) in order.iter().enumerate() {
        if p_values[i] >= alpha / (m - rank) as f64 {
            break;
        }
        rejected[i] = true;
    }
    rejected
}

/// Applies Holm over a family of claims (e.g. all of an experiment's
/// claims) at family-wise level `alpha`.
///
/// The family is the results decided by a test ([`Basis::Test`]); each
/// contributes its decisive p ([`ClaimResult::decisive_p`]), and gets the
/// adjusted one in `p_adjusted`. A PASS or FAIL whose adjusted p is not
/// below `alpha` becomes INCONCLUSIVE, with the reason. Results under the
/// few-seeds rule are left as they are (no test, nothing to adjust).
pub fn apply_holm(results: &mut [ClaimResult], alpha: f64) {
    let family: Vec<(usize, f64)> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.basis == Basis::Test)
        .filter_map(|(i, r)| r.decisive_p().map(|p| (i, p)))
        .collect();
    let p: Vec<f64> = family.iter().map(|(_, p)| *p).collect();
    let adjusted = holm_adjusted(&p);
    let m = family.len();
    for (&(i, raw), adj) in family.iter().zip(adjusted) {
        let r = &mut results[i];
        r.p_adjusted = Some(adj);
        if r.decision != Decision::Inconclusive && adj >= alpha {
            r.reason = format!(
                "{} would be {} (p = {raw:.3}), but Holm over {m} claims adjusts p to {adj:.3}, not below α = {alpha}; before: {}",
                r.test.describe(),
                r.decision.label(),
                r.reason
            );
            r.decision = Decision::Inconclusive;
        }
    }
}
