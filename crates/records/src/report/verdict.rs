//! The project's one rule for a comparative claim's verdict, and the
//! statistics behind it.
//!
//! **Rule** ([`RULE`]): Welch's t-test over seeds, one-sided in each
//! direction at α = 0.05. PASS when the difference lies in the paper's
//! direction with p < 0.05, FAIL when it lies in the opposite direction with
//! p < 0.05, INCONCLUSIVE otherwise. An arm with fewer than two seeds has no
//! spread to test against: the verdict is INCONCLUSIVE, unless the claim
//! states a minimum effect (in points) and the difference exceeds it.
use super::Stats;
use serde::{Deserialize, Serialize};

/// Significance level of the one-sided tests.
pub const ALPHA: f64 = 0.05;

/// The rule, as every report states it.
pub const RULE: &str = "Welch's t-test over seeds, one-sided at α = 0.05: PASS if the difference is in the paper's direction with p < 0.05, FAIL if it is in the opposite direction with p < 0.05, INCONCLUSIVE otherwise; an arm with fewer than 2 seeds is INCONCLUSIVE unless the claim states a minimum effect and the difference exceeds it";

/// A claim's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "reason")]
pub enum Verdict {
    /// The paper's direction, beyond noise.
    Pass,
    /// The opposite direction, beyond noise.
    Fail,
    /// Within noise, or too few seeds to tell (with the reason).
    Inconclusive(String),
    /// Not evaluated, with the reason (e.g. the run is not in this profile,
    /// or the claim needs a budget this profile does not give).
    NotEvaluated(String),
}

impl Verdict {
    /// For a claim that is a fact of the built networks (a parameter count),
    /// not a measurement with seed noise.
    pub fn from_bool(ok: bool) -> Self {
        if ok {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }

    pub fn label(&self) -> String {
        match self {
            Verdict::Pass | Verdict::Fail => self.name().into(),
            Verdict::Inconclusive(why) | Verdict::NotEvaluated(why) => {
                format!("{} ({why})", self.name())
            }
        }
    }

    /// "PASS", "FAIL", "INCONCLUSIVE" or "NOT EVALUATED": the label without
    /// its reason (which carries numbers), as verdicts are compared.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive(_) => "INCONCLUSIVE",
            Verdict::NotEvaluated(_) => "NOT EVALUATED",
        }
    }

    /// The lower-case name used in `claims.json` and summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive(_) => "inconclusive",
            Verdict::NotEvaluated(_) => "not_evaluated",
        }
    }
}

/// Which way the paper says the difference `a - b` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The paper says a < b (e.g. a's error is lower).
    Lower,
    /// The paper says a > b.
    Higher,
}

/// The statistics of one comparison `a - b`, as `claims.json` records them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Difference of means, `mean(a) - mean(b)`, in the claim's unit
    /// (percentage points for errors).
    pub effect: f64,
    /// Its standard error, `sqrt(s_a²/n_a + s_b²/n_b)`; 0 with one seed per arm.
    pub std_error: f64,
    pub n_a: usize,
    pub n_b: usize,
    /// Welch's degrees of freedom; `None` when an arm has fewer than 2 seeds.
    pub df: Option<f64>,
    /// One-sided p-value in the paper's direction; `None` without a test.
    pub p: Option<f64>,
    /// The smallest effect the claim accepts without a test (one-seed arms).
    pub min_effect: Option<f64>,
}

/// Compares two arms by [`RULE`]. `scale` converts the stats' unit into the
/// reported one (100 for fractions to points).
pub fn compare(
    a: Stats,
    b: Stats,
    direction: Direction,
    scale: f64,
    min_effect: Option<f64>,
) -> (Comparison, Verdict) {
    let effect = scale * (a.mean - b.mean);
    let (va, vb) = ((scale * a.std).powi(2), (scale * b.std).powi(2));
    let (na, nb) = (a.n as f64, b.n as f64);
    let se = (va / na + vb / nb).sqrt();
    let toward = match direction {
        Direction::Lower => -effect,
        Direction::Higher => effect,
    };
    let mut c = Comparison {
        effect,
        std_error: se,
        n_a: a.n,
        n_b: b.n,
        df: None,
        p: None,
        min_effect,
    };
    if a.n < 2 || b.n < 2 {
        let verdict = match min_effect {
            Some(m) if toward > m => Verdict::Pass,
            Some(m) if -toward > m => Verdict::Fail,
            Some(m) => Verdict::Inconclusive(format!(
                "one seed in an arm and |effect| {:.2} within the stated minimum {m:.2}",
                effect.abs()
            )),
            None => Verdict::Inconclusive(format!(
                "{} vs {} seeds: fewer than 2 in an arm, no spread to test against",
                a.n, b.n
            )),
        };
        return (c, verdict);
    }
    let df = welch_df(va, na, vb, nb);
    c.df = Some(df);
    let (p_toward, p_away) = if se == 0.0 {
        // Identical seeds within each arm: any difference is beyond noise.
        match toward.partial_cmp(&0.0) {
            Some(std::cmp::Ordering::Greater) => (0.0, 1.0),
            Some(std::cmp::Ordering::Less) => (1.0, 0.0),
            _ => (1.0, 1.0),
        }
    } else {
        let t = toward / se;
        (student_t_upper(t, df), student_t_upper(-t, df))
    };
    c.p = Some(p_toward);
    let verdict = if p_toward < ALPHA {
        Verdict::Pass
    } else if p_away < ALPHA {
        Verdict::Fail
    } else {
        // Three decimals: two would print p = 0.052 as "0.05 (needs < 0.05)".
        Verdict::Inconclusive(format!(
            "within noise: one-sided p = {p_toward:.3} (needs < {ALPHA})"
        ))
    };
    (c, verdict)
}

/// One seed pair's ratio (e.g. epochs to a target of one arm over the
/// other's): exact, or bounded where a run never got there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ratio {
    Exact(f64),
    /// The slower arm never got there: the ratio is above this.
    Above(f64),
    /// The faster arm never got there: the ratio is below this.
    Below(f64),
    /// Neither got there.
    Unknown,
}

impl Ratio {
    pub fn show(&self) -> String {
        match self {
            Ratio::Exact(r) => format!("ratio {r:.1}x"),
            Ratio::Above(r) => format!("ratio > {r:.1}x"),
            Ratio::Below(r) => format!("ratio < {r:.1}x"),
            Ratio::Unknown => "ratio unknown".into(),
        }
    }

    /// Below (-1), inside (0) or above (1) the band [low, high]; `None` where
    /// a bound cannot tell.
    fn side(&self, low: f64, high: f64) -> Option<i8> {
        match *self {
            Ratio::Exact(r) if r < low => Some(-1),
            Ratio::Exact(r) if r > high => Some(1),
            Ratio::Exact(_) => Some(0),
            // Above a lower bound at or over the band's top.
            Ratio::Above(r) if r >= high => Some(1),
            // Under an upper bound at or below the band's bottom.
            Ratio::Below(r) if r <= low => Some(-1),
            _ => None,
        }
    }
}

/// The rule for ratio claims ("N times faster"), judged per seed pair against
/// a stated band around the paper's ratio: fewer than 2 pairs decide nothing;
/// PASS if every pair's ratio lies in the band, FAIL if every one lies
/// outside it on the same side, INCONCLUSIVE otherwise (also where a bound
/// cannot tell).
pub fn ratio_band(ratios: &[Ratio], low: f64, high: f64) -> Verdict {
    let n = ratios.len();
    if n < 2 {
        return Verdict::Inconclusive(
            "one seed: a single ratio is not a verdict for the experiment".into(),
        );
    }
    let sides: Vec<Option<i8>> = ratios.iter().map(|r| r.side(low, high)).collect();
    let count = |side: Option<i8>| sides.iter().filter(|s| **s == side).count();
    if count(Some(0)) == n {
        Verdict::Pass
    } else if count(Some(-1)) == n || count(Some(1)) == n {
        Verdict::Fail
    } else {
        Verdict::Inconclusive(format!(
            "of {n} seeds' ratios, {} in [{low}x, {high}x], {} below, {} above, {} only bounded",
            count(Some(0)),
            count(Some(-1)),
            count(Some(1)),
            count(None)
        ))
    }
}

// The distribution maths lives in the claim-stats crate, the home of the
// claim tests (no libtorch there).
pub use claim_stats::student_t_upper;
use claim_stats::welch_df;

#[cfg(test)]
mod tests {
    use super::*;

    fn s(mean: f64, std: f64, n: usize) -> Stats {
        Stats {
            mean,
            std,
            min: mean,
            n,
        }
    }

    #[test]
    fn a_difference_inside_the_spread_is_inconclusive() {
        // Overlapping pooling's old "PASS": 0.46 points apart, 0.78-point std, 2 seeds.
        let (c, v) = compare(
            s(0.2506, 0.0029, 2),
            s(0.2552, 0.0078, 2),
            Direction::Lower,
            100.0,
            None,
        );
        assert!(matches!(v, Verdict::Inconclusive(_)), "{v:?} {c:?}");
        assert!((c.effect + 0.46).abs() < 1e-9);
        assert!(c.p.is_some_and(|p| p > ALPHA));
    }

    #[test]
    fn a_difference_far_beyond_the_spread_passes_or_fails_by_direction() {
        let (a, b) = (s(0.30, 0.01, 3), s(0.40, 0.01, 3));
        let (c, v) = compare(a, b, Direction::Lower, 100.0, None);
        assert_eq!(v, Verdict::Pass, "{c:?}");
        assert!(c.p.is_some_and(|p| p < 1e-3));
        let (_, v) = compare(a, b, Direction::Higher, 100.0, None);
        assert_eq!(v, Verdict::Fail);
    }

    #[test]
    fn one_seed_per_arm_needs_a_stated_minimum_effect() {
        let (a, b) = (s(0.30, 0.0, 1), s(0.40, 0.0, 1));
        let (c, v) = compare(a, b, Direction::Lower, 100.0, None);
        assert!(matches!(v, Verdict::Inconclusive(_)));
        assert_eq!((c.n_a, c.n_b, c.p), (1, 1, None));
        assert_eq!(
            compare(a, b, Direction::Lower, 100.0, Some(5.0)).1,
            Verdict::Pass
        );
        assert_eq!(
            compare(a, b, Direction::Higher, 100.0, Some(5.0)).1,
            Verdict::Fail
        );
        assert!(matches!(
            compare(a, b, Direction::Lower, 100.0, Some(20.0)).1,
            Verdict::Inconclusive(_)
        ));
    }

    #[test]
    fn identical_seeds_with_a_difference_are_decided() {
        let (_, v) = compare(
            s(0.3, 0.0, 2),
            s(0.4, 0.0, 2),
            Direction::Lower,
            100.0,
            None,
        );
        assert_eq!(v, Verdict::Pass);
        let (_, v) = compare(
            s(0.3, 0.0, 2),
            s(0.3, 0.0, 2),
            Direction::Lower,
            100.0,
            None,
        );
        assert!(matches!(v, Verdict::Inconclusive(_)));
    }

    #[test]
    fn ratio_claims_are_judged_per_seed_against_the_band() {
        let e = Ratio::Exact;
        assert!(matches!(
            ratio_band(&[e(6.0)], 3.0, 12.0),
            Verdict::Inconclusive(_)
        ));
        assert_eq!(ratio_band(&[e(5.0), e(7.0)], 3.0, 12.0), Verdict::Pass);
        assert_eq!(ratio_band(&[e(1.0), e(2.0)], 3.0, 12.0), Verdict::Fail);
        assert!(matches!(
            ratio_band(&[e(1.0), e(5.0)], 3.0, 12.0),
            Verdict::Inconclusive(_)
        ));
        // A lower bound above the band's top is outside it; one inside it tells nothing.
        assert_eq!(
            ratio_band(&[Ratio::Above(13.0), e(20.0)], 3.0, 12.0),
            Verdict::Fail
        );
        assert!(matches!(
            ratio_band(&[Ratio::Above(4.5), e(6.0)], 3.0, 12.0),
            Verdict::Inconclusive(_)
        ));
    }

    #[test]
    fn verdicts_serialise_as_lower_case_kinds() {
        let j = serde_json::to_value(Verdict::Inconclusive("x".into())).expect("json");
        assert_eq!(j["verdict"], "inconclusive");
        assert_eq!(j["reason"], "x");
        assert_eq!(
            serde_json::to_value(Verdict::Pass).expect("json")["verdict"],
            "pass"
        );
    }
}
