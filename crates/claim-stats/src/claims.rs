//! One test per kind of claim, all decided by one rule (see the crate
//! documentation): a region where the claim holds, a (1 - 2α) interval,
//! and the few-seeds rule.
use serde::{Deserialize, Serialize};

use crate::dist::{student_t_quantile, student_t_upper};
use crate::sample::{one_sample, summarize, welch, Estimate};
use crate::{Basis, ClaimResult, Decision, Interval, Margin, Rule, StatsError, Test};

/// Which way the paper says a difference `a - b` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// a < b (e.g. a's error is lower).
    Lower,
    /// a > b.
    Higher,
}

impl Direction {
    fn region(self, at: f64) -> Region {
        match self {
            Direction::Lower => Region::below(at),
            Direction::Higher => Region::above(at),
        }
    }
}

/// Which values of the measured quantity are better (lower for an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Lower is better (errors, losses, epochs to a target).
    Lower,
    /// Higher is better (accuracies).
    Higher,
}

/// The band [low, high] a ratio claim accepts (e.g. 3x to 12x around a
/// paper's "about 6x"), fixed before the runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Smallest ratio accepted (> 0).
    pub low: f64,
    /// Largest ratio accepted (> low).
    pub high: f64,
}

/// A level claim's target: `paper + offset`, give or take `tolerance`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Level {
    /// The paper's number (e.g. 8.75 for "8.75% error").
    pub paper: f64,
    /// The expected offset of this setting from the paper's (e.g. for a JPEG
    /// copy of the data); 0 where none is expected.
    pub offset: f64,
    /// Accepted distance from `paper + offset` (> 0).
    pub tolerance: f64,
}

/// The open interval (low, high) where a claim holds; `None`: unbounded.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Region {
    low: Option<f64>,
    high: Option<f64>,
}

impl Region {
    fn below(high: f64) -> Self {
        Region {
            low: None,
            high: Some(high),
        }
    }

    fn above(low: f64) -> Self {
        Region {
            low: Some(low),
            high: None,
        }
    }

    fn between(low: f64, high: f64) -> Self {
        Region {
            low: Some(low),
            high: Some(high),
        }
    }

    /// p of the test that the quantity lies inside: the larger of the
    /// one-sided tests against each finite end (intersection-union).
    fn p_inside(&self, v: f64, se: f64, df: f64) -> f64 {
        let lo = self.low.map_or(0.0, |l| student_t_upper((v - l) / se, df));
        let hi = self.high.map_or(0.0, |h| student_t_upper((h - v) / se, df));
        lo.max(hi)
    }

    /// p of the test that it lies outside: the smaller of the one-sided
    /// tests beyond each finite end (at most one can reject at α < 0.5).
    fn p_outside(&self, v: f64, se: f64, df: f64) -> f64 {
        let lo = self.low.map_or(1.0, |l| student_t_upper((l - v) / se, df));
        let hi = self.high.map_or(1.0, |h| student_t_upper((v - h) / se, df));
        lo.min(hi)
    }

    /// The few-seeds rule: inside (outside) by more than `m`.
    fn by_min_effect(&self, v: f64, m: f64) -> Decision {
        let inside = self.low.is_none_or(|l| v > l + m) && self.high.is_none_or(|h| v < h - m);
        let outside = self.low.is_some_and(|l| v < l - m) || self.high.is_some_and(|h| v > h + m);
        if inside {
            Decision::Pass
        } else if outside {
            Decision::Fail
        } else {
            Decision::Inconclusive
        }
    }

    fn show(&self, scale: Scale) -> String {
        let s = |x: f64| num(scale.show(x));
        match (self.low, self.high) {
            (Some(l), Some(h)) => format!("within ({}, {})", s(l), s(h)),
            (None, Some(h)) => format!("below {}", s(h)),
            (Some(l), None) => format!("above {}", s(l)),
            (None, None) => "anywhere".into(),
        }
    }
}

/// The scale a test works on: ratios are tested as logs, reported as ratios.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    Linear,
    Log,
}

impl Scale {
    fn show(self, x: f64) -> f64 {
        match self {
            Scale::Linear => x,
            Scale::Log => x.exp(),
        }
    }

    /// The stated minimum effect on the test's scale (a factor for ratios).
    fn min_effect(self, m: f64) -> f64 {
        match self {
            Scale::Linear => m,
            Scale::Log => m.ln(),
        }
    }
}

fn num(x: f64) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

fn pval(p: f64) -> String {
    if p < 1e-3 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

/// The test's p values and interval, where there is a spread to test against.
struct Tested {
    p: f64,
    p_opposite: f64,
    ci: Interval,
}

fn test(est: &Estimate, region: Region, alpha: f64, scale: Scale) -> Option<Tested> {
    let (se, df) = (est.se?, est.df?);
    let t = student_t_quantile(1.0 - alpha, df);
    Some(Tested {
        p: region.p_inside(est.value, se, df),
        p_opposite: region.p_outside(est.value, se, df),
        ci: Interval {
            low: scale.show(est.value - t * se),
            high: scale.show(est.value + t * se),
            level: 1.0 - 2.0 * alpha,
        },
    })
}

/// The decision and its reason by the test at α.
fn by_test(t: &Tested, region: &str, alpha: f64) -> (Decision, String) {
    let ci = format!(
        "{:.0}% CI [{}, {}]",
        100.0 * t.ci.level,
        num(t.ci.low),
        num(t.ci.high)
    );
    let (p, q) = (pval(t.p), pval(t.p_opposite));
    if t.p < alpha {
        let why = format!("{ci} lies {region}: p = {p} < α = {alpha}");
        (Decision::Pass, why)
    } else if t.p_opposite < alpha {
        let why = format!(
            "{ci} lies entirely outside the claim ({region}): p = {q} < α = {alpha} against it"
        );
        (Decision::Fail, why)
    } else {
        let why = format!("within noise: {ci} reaches across the claim's edge ({region}); p = {p} for it, {q} against, neither < α = {alpha}");
        (Decision::Inconclusive, why)
    }
}

/// The decision and its reason by the few-seeds rule (`few` says why it applies).
fn by_few_seeds(
    est: &Estimate,
    region: Region,
    few: &str,
    rule: &Rule,
    scale: Scale,
) -> (Decision, String) {
    let Some(m) = rule.min_effect else {
        return (
            Decision::Inconclusive,
            format!("{few}: INCONCLUSIVE without a stated minimum effect"),
        );
    };
    let decision = region.by_min_effect(est.value, scale.min_effect(m));
    let shown = region.show(scale);
    let v = num(scale.show(est.value));
    let why = match decision {
        Decision::Pass => format!("{few}: estimate {v} lies {shown} by more than the stated minimum effect {m}"),
        Decision::Fail => format!("{few}: estimate {v} lies outside the claim ({shown}) by more than the stated minimum effect {m}"),
        Decision::Inconclusive => format!("{few}: estimate {v} is within the stated minimum effect {m} of the claim's edge ({shown})"),
    };
    (decision, why)
}

/// Judges `est` against `region` and assembles the result.
fn finish(
    kind: Test,
    est: &Estimate,
    region: Region,
    margin: Option<Margin>,
    rule: &Rule,
    scale: Scale,
) -> ClaimResult {
    let tested = test(est, region, rule.alpha, scale);
    let ((decision, reason), basis) = match (&est.few, &tested) {
        (Some(few), _) => (by_few_seeds(est, region, few, rule, scale), Basis::FewSeeds),
        (None, Some(t)) => (by_test(t, &region.show(scale), rule.alpha), Basis::Test),
        // Unreachable by construction (enough seeds with a spread always
        // have a standard error), but never a PASS without one.
        (None, None) => (
            (Decision::Inconclusive, "no spread to test against".into()),
            Basis::FewSeeds,
        ),
    };
    ClaimResult {
        test: kind,
        estimate: scale.show(est.value),
        std_error: est.se,
        ci: tested.as_ref().map(|t| t.ci),
        p: tested.as_ref().map(|t| t.p),
        p_opposite: tested.as_ref().map(|t| t.p_opposite),
        p_adjusted: None,
        n: est.n.clone(),
        df: est.df,
        alpha: rule.alpha,
        margin,
        decision,
        basis,
        reason,
    }
}

fn check_margin(what: &'static str, value: f64, zero_ok: bool) -> Result<(), StatsError> {
    let ok = value.is_finite() && (value > 0.0 || (zero_ok && value == 0.0));
    if ok {
        return Ok(());
    }
    let need = if zero_ok { ">= 0" } else { "> 0" };
    Err(StatsError::Margin { what, value, need })
}

/// **"X lowers the error"** (or "raises"): the paper says `mean(a) - mean(b)`
/// lies in `direction` (e.g. a = with LRN, b = without, `Lower`).
///
/// Welch's t-test over seeds, one-sided each way at α: PASS when the
/// difference lies in the paper's direction with p < α, FAIL when it lies in
/// the opposite direction with p < α, INCONCLUSIVE otherwise. The estimate
/// is `mean(a) - mean(b)`; `p` is one-sided in the paper's direction.
pub fn directional(
    a: &[f64],
    b: &[f64],
    direction: Direction,
    rule: Rule,
) -> Result<ClaimResult, StatsError> {
    rule.check()?;
    let est = welch(&summarize(a, "arm a")?, &summarize(b, "arm b")?);
    let region = direction.region(0.0);
    Ok(finish(
        Test::WelchOneSided,
        &est,
        region,
        None,
        &rule,
        Scale::Linear,
    ))
}

/// **"B is no better than A"** (e.g. "A-LRN is no better than A": `a` = A,
/// `b` = A-LRN), with a non-superiority `margin` m (>= 0) in the measured
/// unit, fixed before the runs.
///
/// The estimate is B's improvement over A (`mean(a) - mean(b)` where lower
/// is better, `mean(b) - mean(a)` where higher is). PASS when the upper
/// one-sided (1 - α) bound of the improvement lies below m (B is not better
/// by m or more, at α); FAIL when the lower bound lies above m (B is better
/// than A by more than m, at α); INCONCLUSIVE otherwise.
pub fn no_better(
    a: &[f64],
    b: &[f64],
    better: Better,
    margin: f64,
    rule: Rule,
) -> Result<ClaimResult, StatsError> {
    rule.check()?;
    check_margin("non-superiority margin", margin, true)?;
    let mut est = welch(&summarize(a, "arm a")?, &summarize(b, "arm b")?);
    if better == Better::Higher {
        est.value = -est.value;
    }
    let region = Region::below(margin);
    let m = Some(Margin::NonSuperiority { margin });
    Ok(finish(
        Test::WelchNonSuperiority,
        &est,
        region,
        m,
        &rule,
        Scale::Linear,
    ))
}

/// **"A and B differ little"** (e.g. ResNet shortcut options A, B and C
/// "are all only marginally different"): equivalence within ±`margin`.
///
/// Two one-sided Welch tests (TOST) on `mean(a) - mean(b)`: PASS when both
/// reject at α (the (1 - 2α) CI lies within ±m); FAIL when the difference
/// lies significantly outside the margin (the CI lies entirely above m or
/// below -m); INCONCLUSIVE otherwise. `p` is the larger of the two TOST p's.
pub fn differ_little(
    a: &[f64],
    b: &[f64],
    margin: f64,
    rule: Rule,
) -> Result<ClaimResult, StatsError> {
    rule.check()?;
    check_margin("equivalence margin", margin, false)?;
    let est = welch(&summarize(a, "arm a")?, &summarize(b, "arm b")?);
    let region = Region::between(-margin, margin);
    let m = Some(Margin::Equivalence { margin });
    Ok(finish(
        Test::WelchTost,
        &est,
        region,
        m,
        &rule,
        Scale::Linear,
    ))
}

/// **"X needs about k times the Y of Z"** (e.g. "tanh needs ~6x the epochs
/// of ReLU to reach 25% training error"), judged against the `band`
/// [low, high] fixed before the runs; `ratios` holds one ratio per seed.
///
/// A one-sample t on the log ratios, two one-sided tests against ln(low)
/// and ln(high): PASS when the (1 - 2α) CI of the geometric-mean ratio lies
/// inside the band, FAIL when it lies entirely above `high` or entirely
/// below `low`, INCONCLUSIVE otherwise. The estimate and CI are ratios (the
/// standard error is the log ratio's). The rule's minimum effect is a
/// factor here (1.5: half again beyond the band's edge). A seed whose run
/// never reached the target has only a bound, not a ratio: the caller
/// decides what to pass for it.
pub fn ratio(ratios: &[f64], band: Band, rule: Rule) -> Result<ClaimResult, StatsError> {
    rule.check()?;
    if let Some(f) = rule.min_effect.filter(|f| *f < 1.0) {
        return Err(StatsError::MinEffect(f));
    }
    let ok = band.low.is_finite() && band.high.is_finite() && band.low > 0.0;
    if !(ok && band.low < band.high) {
        return Err(StatsError::Band(band.low, band.high));
    }
    let logs = log_ratios(ratios)?;
    let est = one_sample(&summarize(&logs, "log ratios")?);
    let region = Region::between(band.low.ln(), band.high.ln());
    let m = Some(Margin::RatioBand {
        low: band.low,
        high: band.high,
    });
    Ok(finish(
        Test::LogRatioTost,
        &est,
        region,
        m,
        &rule,
        Scale::Log,
    ))
}

fn log_ratios(ratios: &[f64]) -> Result<Vec<f64>, StatsError> {
    ratios
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            if value.is_nan() || value <= 0.0 {
                Err(StatsError::NonPositiveRatio { index, value })
            } else if value.is_infinite() {
                Err(StatsError::NotFinite {
                    what: "ratios",
                    index,
                    value,
                })
            } else {
                Ok(value.ln())
            }
        })
        .collect()
}

/// **"Evaluation X beats evaluation Y on the same nets"** (e.g. multi-scale
/// testing beats single-scale testing): `a[i]` and `b[i]` are two
/// evaluations of seed i's trained net, and the paper says `a - b` lies in
/// `direction`.
///
/// A paired t-test on the per-seed differences `a[i] - b[i]`, one-sided
/// each way at α: PASS in the paper's direction with p < α, FAIL in the
/// opposite one with p < α, INCONCLUSIVE otherwise. Seed-to-seed spread
/// shared by both evaluations cancels, so it decides where an unpaired test
/// on the same numbers could not.
pub fn paired(
    a: &[f64],
    b: &[f64],
    direction: Direction,
    rule: Rule,
) -> Result<ClaimResult, StatsError> {
    rule.check()?;
    if a.len() != b.len() {
        return Err(StatsError::Unpaired(a.len(), b.len()));
    }
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let est = one_sample(&summarize(&diffs, "paired differences")?);
    let region = direction.region(0.0);
    Ok(finish(
        Test::PairedOneSided,
        &est,
        region,
        None,
        &rule,
        Scale::Linear,
    ))
}

/// **"The error is 8.75%"**: is the mean of `sample` within `target`'s
/// tolerance of the paper's number plus the expected offset of this setting?
///
/// Two one-sided one-sample t-tests against `paper + offset ± tolerance`:
/// PASS when both reject at α (the (1 - 2α) CI of the mean lies inside),
/// FAIL when the CI lies entirely outside, INCONCLUSIVE otherwise. The
/// estimate is the mean.
pub fn level(sample: &[f64], target: Level, rule: Rule) -> Result<ClaimResult, StatsError> {
    rule.check()?;
    check_margin("tolerance", target.tolerance, false)?;
    for (what, v) in [("paper's number", target.paper), ("offset", target.offset)] {
        if !v.is_finite() {
            return Err(StatsError::NotFinite {
                what,
                index: 0,
                value: v,
            });
        }
    }
    let est = one_sample(&summarize(sample, "sample")?);
    let centre = target.paper + target.offset;
    let region = Region::between(centre - target.tolerance, centre + target.tolerance);
    let m = Some(Margin::Level {
        paper: target.paper,
        offset: target.offset,
        tolerance: target.tolerance,
    });
    Ok(finish(
        Test::OneSampleTost,
        &est,
        region,
        m,
        &rule,
        Scale::Linear,
    ))
}
