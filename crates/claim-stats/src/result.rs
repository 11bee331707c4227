//! The typed result every claim test returns, its parts, the rule's
//! settings and the errors for inputs no test can take.
use serde::{Deserialize, Serialize};

/// A claim's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The claim holds beyond noise.
    Pass,
    /// The claim is contradicted beyond noise.
    Fail,
    /// Within noise, or too few seeds to tell (the result's reason says which).
    Inconclusive,
}

impl Decision {
    /// "PASS", "FAIL" or "INCONCLUSIVE", as reports print it.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Pass => "PASS",
            Decision::Fail => "FAIL",
            Decision::Inconclusive => "INCONCLUSIVE",
        }
    }
}

/// What the decision rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The test at α: its p values decided (or left it INCONCLUSIVE).
    Test,
    /// The few-seeds rule: too few seeds or zero spread, so the stated
    /// minimum effect decided, or (without one) nothing did. Holm leaves
    /// these results alone.
    FewSeeds,
}

/// Which test a result comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// Welch's t, one-sided in each direction ([`crate::directional`]).
    WelchOneSided,
    /// Welch's t against a non-superiority margin ([`crate::no_better`]).
    WelchNonSuperiority,
    /// Two one-sided Welch tests against ±margin ([`crate::differ_little`]).
    WelchTost,
    /// Two one-sided one-sample tests on per-seed log ratios ([`crate::ratio`]).
    LogRatioTost,
    /// Paired t on per-seed differences, one-sided each way ([`crate::paired`]).
    PairedOneSided,
    /// Two one-sided one-sample tests against a level ([`crate::level`]).
    OneSampleTost,
    /// Sign tests against each edge of a ratio band, where some seeds are
    /// only bounded ([`crate::ratio_bounded`]).
    SignTest,
}

impl Test {
    /// The test in words, for reports.
    pub fn describe(&self) -> &'static str {
        match self {
            Test::WelchOneSided => "Welch's t-test, one-sided",
            Test::WelchNonSuperiority => "Welch's t-test, non-superiority",
            Test::WelchTost => "Welch's t, two one-sided tests (equivalence)",
            Test::LogRatioTost => "one-sample t on log ratios, two one-sided tests",
            Test::PairedOneSided => "paired t-test, one-sided",
            Test::OneSampleTost => "one-sample t, two one-sided tests",
            Test::SignTest => "sign test against each edge of the band (bounded seeds)",
        }
    }
}

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Confidence level, 1 - 2α: each end is a one-sided bound at α, which
    /// is what the one-sided tests decide on.
    pub level: f64,
}

/// The margin a claim is judged against, as passed in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Margin {
    /// The improvement must stay below `margin` ([`crate::no_better`]).
    NonSuperiority {
        /// The largest improvement that still counts as "no better".
        margin: f64,
    },
    /// The difference must lie within ±`margin` ([`crate::differ_little`]).
    Equivalence {
        /// Half-width of the equivalence interval.
        margin: f64,
    },
    /// The ratio must lie in [`low`, `high`] ([`crate::ratio`]).
    RatioBand {
        /// Smallest ratio accepted.
        low: f64,
        /// Largest ratio accepted.
        high: f64,
    },
    /// The mean must lie within `tolerance` of `paper + offset` ([`crate::level`]).
    Level {
        /// The paper's number.
        paper: f64,
        /// The expected offset of this setting (e.g. a JPEG copy of the data).
        offset: f64,
        /// Accepted distance from `paper + offset`.
        tolerance: f64,
    },
}

/// The settings of the decision rule shared by all tests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Level of each one-sided test (0 < α < 0.5).
    pub alpha: f64,
    /// The few-seeds rule's threshold: how far past the claim's boundary the
    /// estimate must lie to decide without a test. In the estimate's unit,
    /// except for [`crate::ratio`], where it is a factor (>= 1) on the ratio.
    /// `None`: too few seeds are always INCONCLUSIVE.
    pub min_effect: Option<f64>,
}

impl Default for Rule {
    /// α = [`crate::ALPHA`], no minimum effect.
    fn default() -> Self {
        Rule {
            alpha: crate::ALPHA,
            min_effect: None,
        }
    }
}

impl Rule {
    /// The rule at level `alpha`, without a minimum effect.
    pub fn at(alpha: f64) -> Self {
        Rule {
            alpha,
            min_effect: None,
        }
    }

    /// The same rule with a stated minimum effect for the few-seeds rule.
    pub fn with_min_effect(self, min_effect: f64) -> Self {
        Rule {
            min_effect: Some(min_effect),
            ..self
        }
    }

    pub(crate) fn check(&self) -> Result<(), StatsError> {
        if !(self.alpha > 0.0 && self.alpha < 0.5) {
            return Err(StatsError::Alpha(self.alpha));
        }
        match self.min_effect {
            Some(m) if !(m.is_finite() && m >= 0.0) => Err(StatsError::MinEffect(m)),
            _ => Ok(()),
        }
    }
}

/// The result of one claim's test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    /// Which test.
    pub test: Test,
    /// The estimate in the claim's unit: a difference of means, an
    /// improvement, a geometric-mean ratio or a mean level.
    pub estimate: f64,
    /// Its standard error (of the log ratio for [`crate::ratio`]); `None`
    /// where there is no spread to measure (one seed, or zero variance).
    pub std_error: Option<f64>,
    /// The (1 - 2α) interval of the estimate; `None` without a standard error.
    pub ci: Option<Interval>,
    /// p value of the test for the claim (PASS below α); `None` without a
    /// standard error.
    pub p: Option<f64>,
    /// p value of the test against the claim (FAIL below α).
    pub p_opposite: Option<f64>,
    /// Holm-adjusted p of the decisive test, once [`crate::apply_holm`] ran
    /// over the claim's family.
    pub p_adjusted: Option<f64>,
    /// Seeds per arm (one entry for one-sample and paired tests: the pairs).
    pub n: Vec<usize>,
    /// Degrees of freedom of the t distribution used.
    pub df: Option<f64>,
    /// α of each one-sided test.
    pub alpha: f64,
    /// The margin judged against; `None` for directional and paired tests.
    pub margin: Option<Margin>,
    /// PASS, FAIL or INCONCLUSIVE.
    pub decision: Decision,
    /// What decided.
    pub basis: Basis,
    /// Why, in words, with the numbers.
    pub reason: String,
}

impl ClaimResult {
    /// The p value the decision rests on: `p` for a PASS, `p_opposite` for a
    /// FAIL, the smaller of the two otherwise; `None` without a test.
    pub fn decisive_p(&self) -> Option<f64> {
        match (self.decision, self.p, self.p_opposite) {
            (Decision::Pass, p, _) => p,
            (Decision::Fail, _, q) => q,
            (Decision::Inconclusive, Some(p), Some(q)) => Some(p.min(q)),
            (Decision::Inconclusive, p, q) => p.or(q),
        }
    }
}

/// Inputs no test can take; each names the offending value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// A sample without values.
    #[error("{0}: no values")]
    Empty(&'static str),
    /// A NaN or infinite value in a sample.
    #[error("{what}: value {value} at index {index} is not finite")]
    NotFinite {
        /// Which sample.
        what: &'static str,
        /// Position in it.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A ratio at or below 0 (its log is undefined).
    #[error("ratio {value} at index {index} is not positive")]
    NonPositiveRatio {
        /// Position in the ratios.
        index: usize,
        /// The value.
        value: f64,
    },
    /// Paired samples of different lengths.
    #[error("paired samples differ in length: {0} vs {1}")]
    Unpaired(usize, usize),
    /// α outside (0, 0.5).
    #[error("alpha {0} is outside (0, 0.5)")]
    Alpha(f64),
    /// A negative or non-finite minimum effect (or a ratio factor below 1).
    #[error("minimum effect {0} must be finite and >= 0 (a factor >= 1 for ratios)")]
    MinEffect(f64),
    /// A margin or tolerance that is not finite and positive (>= 0 for non-superiority).
    #[error("{what} {value} must be finite and {need}")]
    Margin {
        /// Which margin.
        what: &'static str,
        /// The value.
        value: f64,
        /// What it must be.
        need: &'static str,
    },
    /// A ratio band without 0 < low < high.
    #[error("ratio band [{0}, {1}] needs 0 < low < high")]
    Band(f64, f64),
    /// A power outside (0, 1).
    #[error("power {0} is outside (0, 1)")]
    Power(f64),
    /// An effect or standard deviation no seed count can work with.
    #[error("seeds needed: {0}")]
    SeedsNeeded(String),
}
