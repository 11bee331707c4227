//! Ratio claims where some seeds are only bounded: a run that never reached
//! the target within its budget gives a bound on its seed's ratio, not a
//! value (e.g. tanh still above 25% training error after 120 epochs: the
//! speed-up is at least 120 / ReLU's epochs). A t-test cannot take a bound;
//! the sign test can, since it asks only on which side of each band edge a
//! seed lies.
use serde::{Deserialize, Serialize};

use crate::{ratio, Band, Basis, ClaimResult, Decision, Margin, Rule, StatsError, Test, MIN_SEEDS};

/// One seed's ratio: exact, or bounded on one side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bounded {
    /// Measured.
    Exact(f64),
    /// At least this (the slower arm never reached the target).
    AtLeast(f64),
    /// At most this (the faster arm never reached the target).
    AtMost(f64),
}

impl Bounded {
    /// The number, exact or the bound.
    pub fn value(self) -> f64 {
        match self {
            Bounded::Exact(v) | Bounded::AtLeast(v) | Bounded::AtMost(v) => v,
        }
    }

    fn surely_above(self, x: f64) -> bool {
        matches!(self, Bounded::Exact(v) | Bounded::AtLeast(v) if v > x)
    }

    fn surely_below(self, x: f64) -> bool {
        matches!(self, Bounded::Exact(v) | Bounded::AtMost(v) if v < x)
    }
}

/// P(Binomial(n, 1/2) >= k): the one-sided sign test's p when k of n seeds
/// lie on the tested side of an edge (under the null, the median ratio at
/// the edge, each seed lies beyond it with probability at most 1/2).
pub fn sign_p(k: usize, n: usize) -> f64 {
    if k == 0 {
        return 1.0;
    }
    let mut total = 0.0;
    let mut c = 1.0_f64; // C(n, i), built up from C(n, 0)
    for i in 0..=n {
        if i >= k {
            total += c;
        }
        c = c * (n - i) as f64 / (i + 1) as f64;
    }
    total / 2f64.powi(n as i32)
}

/// **A ratio claim with bounded seeds** (see [`ratio`] for the claim): where
/// every seed's ratio is exact, [`ratio`] itself; otherwise the sign test
/// against each edge of the band.
///
/// A seed counts on a side of an edge only where its value or bound puts it
/// there for certain (`AtLeast(13)` lies above 12; `AtLeast(5)` tells
/// nothing about 12). PASS when the sign tests that the median lies above
/// `low` and below `high` both reject at α; FAIL when the one that it lies
/// below `low`, or above `high`, rejects at α; INCONCLUSIVE otherwise. With
/// n seeds the smallest p is 2^-n: 5 seeds all beyond an edge give 0.031,
/// 3 seeds can never decide (0.125). The estimate is the median of the
/// values and bounds; there is no interval. Fewer than [`MIN_SEEDS`] seeds
/// decide nothing.
pub fn ratio_bounded(
    ratios: &[Bounded],
    band: Band,
    rule: Rule,
) -> Result<ClaimResult, StatsError> {
    if ratios.iter().all(|r| matches!(r, Bounded::Exact(_))) {
        let exact: Vec<f64> = ratios.iter().map(|r| r.value()).collect();
        return ratio(&exact, band, rule);
    }
    // The checks of `ratio`, on the values and bounds.
    let values: Vec<f64> = ratios.iter().map(|r| r.value()).collect();
    ratio(&values, band, rule)?;
    let n = ratios.len();
    let count = |f: &dyn Fn(Bounded) -> bool| ratios.iter().filter(|r| f(**r)).count();
    let above_low = count(&|r| r.surely_above(band.low));
    let below_high = count(&|r| r.surely_below(band.high));
    let below_low = count(&|r| r.surely_below(band.low));
    let above_high = count(&|r| r.surely_above(band.high));
    let p = sign_p(above_low, n).max(sign_p(below_high, n));
    let p_opposite = sign_p(below_low, n).min(sign_p(above_high, n));
    let bounded = n - count(&|r| matches!(r, Bounded::Exact(_)));
    let tally = format!(
        "sign test, {n} seeds ({bounded} only bounded): {above_low} surely above {}x, {below_high} surely below {}x, {below_low} surely below {}x, {above_high} surely above {}x",
        band.low, band.high, band.low, band.high
    );
    let (decision, basis, reason) = if n < MIN_SEEDS {
        let why = format!("{n} seeds: fewer than {MIN_SEEDS}; {tally}");
        (Decision::Inconclusive, Basis::FewSeeds, why)
    } else if p < rule.alpha {
        let why = format!(
            "{tally}: within [{}x, {}x], p = {p:.3} < α = {}",
            band.low, band.high, rule.alpha
        );
        (Decision::Pass, Basis::Test, why)
    } else if p_opposite < rule.alpha {
        let why = format!(
            "{tally}: outside the band, p = {p_opposite:.3} < α = {}",
            rule.alpha
        );
        (Decision::Fail, Basis::Test, why)
    } else {
        let why = format!("{tally}: p = {p:.3} for the band, {p_opposite:.3} against, neither < α = {} (the smallest p {n} seeds can give is {:.3})", rule.alpha, sign_p(n, n));
        (Decision::Inconclusive, Basis::Test, why)
    };
    let mut sorted = values;
    sorted.sort_by(f64::total_cmp);
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] * sorted[n / 2]).sqrt()
    };
    Ok(ClaimResult {
        test: Test::SignTest,
        estimate: median,
        std_error: None,
        ci: None,
        p: Some(p),
        p_opposite: Some(p_opposite),
        p_adjusted: None,
        n: vec![n],
        df: None,
        alpha: rule.alpha,
        margin: Some(Margin::RatioBand {
            low: band.low,
            high: band.high,
        }),
        decision,
        basis,
        reason,
    })
}
