//! How many seeds would decide an INCONCLUSIVE comparison.
//!
//! Method: the power of the one-sided t-test is the noncentral t's upper
//! tail beyond the critical value t_{1-α, df}; that tail is approximated by
//! the normal approximation of Abramowitz & Stegun 26.7.10,
//!
//! P(T'(df, δ) > t) ≈ Φ̄((t (1 - 1/(4 df)) - δ) / sqrt(1 + t² / (2 df))),
//!
//! with the exact t quantile ([`student_t_quantile`]), and the seed count
//! is found by searching n (power grows with n). Checked against scipy's
//! exact noncentral t in `tests/power.rs`: the power is within 0.01, and
//! the counts match G*Power's textbook ones (d = 1: 14 per arm; d = 0.5:
//! 51 per arm; one-sided α = 0.05, 80% power).
use serde::{Deserialize, Serialize};

use crate::dist::{normal_upper, student_t_quantile};
use crate::sample::summarize;
use crate::{StatsError, MIN_SEEDS};

/// The conventional target power.
pub const POWER: f64 = 0.8;

/// The most seeds per arm [`seeds_needed`] searches.
const MAX_SEEDS: usize = 10_000_000;

/// The design of the comparison to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Two independent arms of n seeds each (Welch / two-sample t); the SD is
    /// the arms' pooled SD ([`pooled_sd`]).
    TwoArms,
    /// n seeds, each evaluated both ways (paired t); the SD is that of the
    /// per-seed differences.
    Paired,
}

/// The answer of [`seeds_needed`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeedsNeeded {
    /// Seeds per arm (pairs for [`Design::Paired`]); never fewer than
    /// [`MIN_SEEDS`], the fewest the tests decide with.
    pub per_arm: usize,
    /// The approximate power with that many.
    pub power: f64,
    /// The standardised effect |effect| / sd (Cohen's d).
    pub effect_size: f64,
}

/// Approximate power of the one-sided t-test at `alpha` to detect a true
/// difference `effect` with standard deviation `sd` and `n` seeds per arm;
/// 0 for n < 2, where there is no test.
///
/// The noncentral t's tail beyond the critical value t = t_{1-α, df}, by
/// the normal approximation of Abramowitz & Stegun 26.7.10:
/// Φ̄((t (1 - 1/(4 df)) - δ) / sqrt(1 + t² / (2 df))), with δ = d sqrt(n/2)
/// and df = 2n - 2 for two arms, δ = d sqrt(n) and df = n - 1 for pairs
/// (d = |effect| / sd). Within 0.01 of scipy's exact `nct` (tests/power.rs).
pub fn power(effect: f64, sd: f64, n: usize, design: Design, alpha: f64) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let d = effect.abs() / sd;
    let nf = n as f64;
    let (df, delta) = match design {
        Design::TwoArms => (2.0 * nf - 2.0, d * (nf / 2.0).sqrt()),
        Design::Paired => (nf - 1.0, d * nf.sqrt()),
    };
    let t = student_t_quantile(1.0 - alpha, df);
    let z = (t * (1.0 - 1.0 / (4.0 * df)) - delta) / (1.0 + t * t / (2.0 * df)).sqrt();
    normal_upper(z)
}

/// For an INCONCLUSIVE comparative claim: the seeds per arm that would
/// detect `effect` (the paper's effect, passed in, in the measured unit)
/// with a one-sided test at `alpha` and power `target` (e.g. 0.05 and
/// [`POWER`]), given the measured `sd` (the pooled SD for two arms, the
/// SD of the differences for paired seeds).
///
/// The smallest n >= [`MIN_SEEDS`] whose approximate [`power`] (normal
/// approximation to the noncentral t with the exact t quantile) reaches
/// `target`, found by bisection on n (power grows with n). Textbook check:
/// d = 1 needs 14 per arm, d = 0.5 needs 51, as G*Power's exact counts.
/// An error where no count up to ten million does, or where the
/// effect is 0 or the SD is not positive (one seed per arm measures no SD).
pub fn seeds_needed(
    effect: f64,
    sd: f64,
    design: Design,
    alpha: f64,
    target: f64,
) -> Result<SeedsNeeded, StatsError> {
    if !(alpha > 0.0 && alpha < 0.5) {
        return Err(StatsError::Alpha(alpha));
    }
    if !(target > 0.0 && target < 1.0) {
        return Err(StatsError::Power(target));
    }
    if !(effect.is_finite() && effect != 0.0 && sd.is_finite() && sd > 0.0) {
        return Err(StatsError::SeedsNeeded(format!(
            "effect {effect} and sd {sd}: needs a non-zero finite effect and a positive SD"
        )));
    }
    let reaches = |n: usize| power(effect, sd, n, design, alpha) >= target;
    if !reaches(MAX_SEEDS) {
        return Err(StatsError::SeedsNeeded(format!(
            "effect {effect} with sd {sd} needs more than {MAX_SEEDS} seeds per arm"
        )));
    }
    // Smallest n in [lo, hi] that reaches the target; hi always does.
    let (mut lo, mut hi) = (MIN_SEEDS, MAX_SEEDS);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if reaches(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(SeedsNeeded {
        per_arm: hi,
        power: power(effect, sd, hi, design, alpha),
        effect_size: effect.abs() / sd,
    })
}

/// The pooled standard deviation of two arms,
/// sqrt(((n_a - 1) s_a² + (n_b - 1) s_b²) / (n_a + n_b - 2)), for
/// [`seeds_needed`]; needs at least 3 values in all.
pub fn pooled_sd(a: &[f64], b: &[f64]) -> Result<f64, StatsError> {
    let (sa, sb) = (summarize(a, "arm a")?, summarize(b, "arm b")?);
    let df = sa.n + sb.n - 2;
    if df == 0 {
        return Err(StatsError::SeedsNeeded(
            "one seed per arm: no spread to pool".into(),
        ));
    }
    let ss = (sa.n - 1) as f64 * sa.var + (sb.n - 1) as f64 * sb.var;
    Ok((ss / df as f64).sqrt())
}
