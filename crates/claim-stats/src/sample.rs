//! Per-seed samples, summarised, and the estimates the tests judge.
use crate::dist::welch_df;
use crate::{StatsError, MIN_SEEDS};

/// Mean, sample variance (n - 1) and size of one arm's per-seed values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    pub mean: f64,
    pub var: f64,
    pub n: usize,
}

/// Summarises `values` (named `what` in errors): no empty or non-finite
/// samples. Identical values give a variance of exactly 0, not the
/// rounding residue of their mean (0.1 three times has mean
/// 0.10000000000000002), which would fake a tiny spread and a p near 0.
pub(crate) fn summarize(values: &[f64], what: &'static str) -> Result<Summary, StatsError> {
    if values.is_empty() {
        return Err(StatsError::Empty(what));
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(StatsError::NotFinite { what, index, value });
    }
    let n = values.len();
    if values.iter().all(|v| *v == values[0]) {
        return Ok(Summary {
            mean: values[0],
            var: 0.0,
            n,
        });
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = if n < 2 {
        0.0
    } else {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    };
    Ok(Summary { mean, var, n })
}

/// A quantity to judge: its value, standard error and degrees of freedom
/// (both `None` where there is no spread to measure), the seeds per arm,
/// and why the few-seeds rule applies, if it does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Estimate {
    pub value: f64,
    pub se: Option<f64>,
    pub df: Option<f64>,
    pub n: Vec<usize>,
    pub few: Option<String>,
}

/// `mean(a) - mean(b)` by Welch.
pub(crate) fn welch(a: &Summary, b: &Summary) -> Estimate {
    let value = a.mean - b.mean;
    let no_spread = a.var == 0.0 && b.var == 0.0;
    let (se, df) = if a.n < 2 || b.n < 2 || no_spread {
        (None, None)
    } else {
        let (na, nb) = (a.n as f64, b.n as f64);
        let se = (a.var / na + b.var / nb).sqrt();
        (Some(se), Some(welch_df(a.var, na, b.var, nb)))
    };
    let few = if a.n < MIN_SEEDS || b.n < MIN_SEEDS {
        Some(format!(
            "{} vs {} seeds: fewer than {MIN_SEEDS} in an arm",
            a.n, b.n
        ))
    } else if no_spread {
        Some("zero spread: every seed of each arm gave the same value".to_string())
    } else {
        None
    };
    Estimate {
        value,
        se,
        df,
        n: vec![a.n, b.n],
        few,
    }
}

/// The mean of one sample (of values, differences or log ratios).
pub(crate) fn one_sample(s: &Summary) -> Estimate {
    let (se, df) = if s.n < 2 || s.var == 0.0 {
        (None, None)
    } else {
        (Some((s.var / s.n as f64).sqrt()), Some((s.n - 1) as f64))
    };
    let few = if s.n < MIN_SEEDS {
        Some(format!("{} seeds: fewer than {MIN_SEEDS}", s.n))
    } else if s.var == 0.0 {
        Some("zero spread: every seed gave the same value".to_string())
    } else {
        None
    };
    Estimate {
        value: s.mean,
        se,
        df,
        n: vec![s.n],
        few,
    }
}
