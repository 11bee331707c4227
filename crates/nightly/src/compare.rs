//! A fresh nightly against its baseline (the committed results): each run's
//! final test error and each claim's verdict and effect, with a tolerance
//! derived from the seed spread.
//!
//! **Tolerance rule.** Every compared number is an error in percentage points
//! (a run's final test error; a claim's `effect`, a difference of two arms'
//! mean errors). Its noise is taken from the seed spread, never below
//! [`SEED_STD_FLOOR_PCT`] per run, and a number holds while it moved by at most
//! [`K_SIGMA`] standard deviations of the difference of two independent
//! measurements (baseline and fresh):
//!
//! * a run (one run and seed): `K_SIGMA * sqrt(2) * max(s, SEED_STD_FLOOR_PCT)`,
//!   `s` the pooled seed standard deviation of the baseline's arms with at least
//!   two seeds (the floor alone where every arm has n = 1);
//! * a claim's effect: `K_SIGMA * sqrt(se_b^2 + se_f^2)`, each side's standard
//!   error (`std_error` in claims.json) at least `SEED_STD_FLOOR_PCT *
//!   sqrt(1/n_a + 1/n_b)`;
//! * a claim's verdict (PASS, FAIL, INCONCLUSIVE, NOT EVALUATED) must be the
//!   same, and every baseline run and claim must still be there.
//!
//! Runs and claims new in the fresh results are listed, not counted against it.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Standard deviations a number may move: 3 leaves about 0.3% false alarms per
/// number for Gaussian seed noise (two-sided), so a nightly of some 50 numbers
/// stays green on an unchanged tree while a real change of a few points shows.
pub const K_SIGMA: f64 = 3.0;

/// The least seed standard deviation assumed for a run's test error, in points:
/// the largest measured on the committed `quick` profiles, rounded up (0.78
/// points, alexnet-overlapping-pooling `non-overlapping`, 2 seeds, as trained at
/// 7e7ee23; retrained at 7ddf9c9 its arms gave 0.66 and 0.11, alexnet-lrn's
/// 0.11 and 0.42; results/*/quick/summary.csv). It stands
/// in where n = 1 and keeps two seeds' lucky agreement from making the
/// tolerance vanish. With it a single run holds within 3.4 points.
pub const SEED_STD_FLOOR_PCT: f64 = 0.8;

/// One line of an experiment's `summary.csv` (the columns compared).
#[derive(Debug, Clone, Deserialize)]
pub struct RunRow {
    pub run: String,
    pub seed: u64,
    pub run_id: String,
    pub final_test_error_pct: f64,
}

/// One claim of `claims.json`, the numbers compared.
#[derive(Debug, Clone)]
pub struct ClaimNumbers {
    pub id: String,
    /// "PASS", "FAIL", "INCONCLUSIVE" or "NOT EVALUATED" (without the reason).
    pub verdict: String,
    pub effect: Option<f64>,
    pub std_error: Option<f64>,
    pub n_a: Option<f64>,
    pub n_b: Option<f64>,
}

/// What became of one baseline number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Held,
    /// Beyond tolerance.
    Moved,
    VerdictChanged,
    /// In the baseline, not in the fresh results.
    Disappeared,
    /// In the fresh results only: listed, not a regression.
    New,
}

impl Outcome {
    pub fn is_regression(self) -> bool {
        matches!(
            self,
            Outcome::Moved | Outcome::VerdictChanged | Outcome::Disappeared
        )
    }
}

/// One compared number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// e.g. "run lrn-s1 final test error (%)", "claim 1 effect (points)", "claim 1 verdict".
    pub what: String,
    pub baseline: String,
    pub fresh: String,
    pub delta: Option<f64>,
    pub tolerance: Option<f64>,
    pub outcome: Outcome,
}

/// How an experiment of the nightly ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Trained and compared (see the checks).
    Compared,
    /// Trained; no baseline to compare with (the path that is missing).
    NoBaseline(String),
    /// Crashed or could not start (why).
    Crashed(String),
}

/// One experiment of the nightly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentComparison {
    pub experiment: String,
    pub status: Status,
    /// The baseline's commit label (its claims.json header), if any.
    pub baseline_commit: String,
    pub checks: Vec<Check>,
}

impl ExperimentComparison {
    pub fn crashed(experiment: &str, why: String) -> Self {
        ExperimentComparison {
            experiment: experiment.into(),
            status: Status::Crashed(why),
            baseline_commit: String::new(),
            checks: Vec::new(),
        }
    }

    pub fn regressions(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome.is_regression())
    }
}

/// 0 all held, 1 a regression, 2 a run crashed or could not start.
pub fn exit_code(all: &[ExperimentComparison]) -> u8 {
    if all.iter().any(|e| matches!(e.status, Status::Crashed(_))) {
        2
    } else if all.iter().any(|e| e.regressions().next().is_some()) {
        1
    } else {
        0
    }
}

/// Reads an experiment's `summary.csv`.
pub fn read_runs(path: &Path) -> anyhow::Result<Vec<RunRow>> {
    let mut r = csv::Reader::from_path(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    r.deserialize()
        .map(|row| row.map_err(|e| anyhow::anyhow!("{}: {e}", path.display())))
        .collect()
}

/// Reads the numbers of an experiment's `claims.json` (either schema).
pub fn read_claims(path: &Path) -> anyhow::Result<(String, Vec<ClaimNumbers>)> {
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: not valid JSON: {e}", path.display()))?;
    let Some(claims) = v["claims"].as_array() else {
        anyhow::bail!("{}: no `claims` list", path.display());
    };
    let claims = claims
        .iter()
        .map(|c| ClaimNumbers {
            id: c["id"].as_str().unwrap_or_default().to_string(),
            verdict: verdict_kind(&crate::verdict_of(c)).to_string(),
            effect: c["effect"].as_f64(),
            std_error: c["std_error"].as_f64(),
            n_a: c["n_a"].as_f64(),
            n_b: c["n_b"].as_f64(),
        })
        .collect();
    let commit = v["header"]["commit"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((commit, claims))
}

/// "INCONCLUSIVE (1 vs 1 seeds)" -> "INCONCLUSIVE": verdicts compare without
/// their reasons, which carry numbers.
fn verdict_kind(v: &str) -> &str {
    v.split(" (").next().unwrap_or(v)
}

/// Pooled sample standard deviation of the final test error over the arms
/// (runs) with at least two seeds: sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)).
pub fn pooled_seed_std(rows: &[RunRow]) -> Option<f64> {
    let mut arms: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in rows {
        arms.entry(&r.run).or_default().push(r.final_test_error_pct);
    }
    let (mut ss, mut dof) = (0.0, 0usize);
    for v in arms.values().filter(|v| v.len() >= 2) {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        ss += v.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
        dof += v.len() - 1;
    }
    (dof > 0).then(|| (ss / dof as f64).sqrt())
}

/// Tolerance of one run's final test error (see the module's rule).
pub fn run_tolerance(pooled_std: Option<f64>) -> f64 {
    K_SIGMA * 2f64.sqrt() * pooled_std.unwrap_or(0.0).max(SEED_STD_FLOOR_PCT)
}

/// Tolerance of a claim's effect between two measurements (see the module's rule).
pub fn effect_tolerance(base: &ClaimNumbers, fresh: &ClaimNumbers) -> f64 {
    let se = |c: &ClaimNumbers| {
        let (a, b) = (c.n_a.unwrap_or(1.0).max(1.0), c.n_b.unwrap_or(1.0).max(1.0));
        let floor = SEED_STD_FLOOR_PCT * (1.0 / a + 1.0 / b).sqrt();
        c.std_error.unwrap_or(0.0).max(floor)
    };
    K_SIGMA * (se(base).powi(2) + se(fresh).powi(2)).sqrt()
}

fn number(what: String, base: f64, fresh: f64, tolerance: f64) -> Check {
    let delta = fresh - base;
    Check {
        what,
        baseline: format!("{base:.2}"),
        fresh: format!("{fresh:.2}"),
        delta: Some(delta),
        tolerance: Some(tolerance),
        outcome: if delta.abs() <= tolerance {
            Outcome::Held
        } else {
            Outcome::Moved
        },
    }
}

fn listed(what: String, baseline: &str, fresh: &str, outcome: Outcome) -> Check {
    Check {
        what,
        baseline: baseline.into(),
        fresh: fresh.into(),
        delta: None,
        tolerance: None,
        outcome,
    }
}

/// Every run's final test error, fresh against baseline, matched by run id.
pub fn compare_runs(base: &[RunRow], fresh: &[RunRow]) -> Vec<Check> {
    let tolerance = run_tolerance(pooled_seed_std(base));
    let what = |id: &str| format!("run {id} final test error (%)");
    let mut out = Vec::new();
    for b in base {
        out.push(match fresh.iter().find(|f| f.run_id == b.run_id) {
            Some(f) => number(
                what(&b.run_id),
                b.final_test_error_pct,
                f.final_test_error_pct,
                tolerance,
            ),
            None => listed(
                what(&b.run_id),
                &format!("{:.2}", b.final_test_error_pct),
                "missing",
                Outcome::Disappeared,
            ),
        });
    }
    for f in fresh
        .iter()
        .filter(|f| !base.iter().any(|b| b.run_id == f.run_id))
    {
        let v = format!("{:.2}", f.final_test_error_pct);
        out.push(listed(what(&f.run_id), "none", &v, Outcome::New));
    }
    out
}

/// Every claim's verdict and effect, fresh against baseline, matched by id.
pub fn compare_claims(base: &[ClaimNumbers], fresh: &[ClaimNumbers]) -> Vec<Check> {
    let mut out = Vec::new();
    for b in base {
        let Some(f) = fresh.iter().find(|f| f.id == b.id) else {
            let w = format!("claim {}", b.id);
            out.push(listed(w, &b.verdict, "missing", Outcome::Disappeared));
            continue;
        };
        let changed = if b.verdict == f.verdict {
            Outcome::Held
        } else {
            Outcome::VerdictChanged
        };
        out.push(listed(
            format!("claim {} verdict", b.id),
            &b.verdict,
            &f.verdict,
            changed,
        ));
        let what = format!("claim {} effect (points)", b.id);
        match (b.effect, f.effect) {
            (Some(be), Some(fe)) => out.push(number(what, be, fe, effect_tolerance(b, f))),
            (Some(be), None) => out.push(listed(
                what,
                &format!("{be:.2}"),
                "missing",
                Outcome::Disappeared,
            )),
            _ => {}
        }
    }
    for f in fresh.iter().filter(|f| !base.iter().any(|b| b.id == f.id)) {
        out.push(listed(
            format!("claim {}", f.id),
            "none",
            &f.verdict,
            Outcome::New,
        ));
    }
    out
}

/// Compares `<fresh>/<experiment>/<profile>` with `<baseline>/<experiment>/<profile>`.
/// A baseline without `claims.json` is no baseline; unreadable files are errors
/// naming them.
pub fn compare_experiment(
    experiment: &str,
    profile: &str,
    baseline: &Path,
    fresh: &Path,
) -> anyhow::Result<ExperimentComparison> {
    let b = baseline.join(experiment).join(profile);
    let f = fresh.join(experiment).join(profile);
    let mut cmp = ExperimentComparison {
        experiment: experiment.into(),
        status: Status::Compared,
        baseline_commit: String::new(),
        checks: Vec::new(),
    };
    if !b.join("claims.json").is_file() {
        cmp.status = Status::NoBaseline(format!("{} missing", b.join("claims.json").display()));
        return Ok(cmp);
    }
    for file in ["claims.json", "summary.csv"] {
        if !f.join(file).is_file() {
            let why = format!("finished without writing {}", f.join(file).display());
            return Ok(ExperimentComparison::crashed(experiment, why));
        }
    }
    let (commit, base_claims) = read_claims(&b.join("claims.json"))?;
    let (_, fresh_claims) = read_claims(&f.join("claims.json"))?;
    cmp.baseline_commit = commit;
    let base_runs = if b.join("summary.csv").is_file() {
        read_runs(&b.join("summary.csv"))?
    } else {
        Vec::new()
    };
    cmp.checks = compare_runs(&base_runs, &read_runs(&f.join("summary.csv"))?);
    cmp.checks
        .extend(compare_claims(&base_claims, &fresh_claims));
    Ok(cmp)
}

/// The comparison as Markdown: one line per experiment, then every number that
/// did not hold (the job summary of CI shows this).
pub fn markdown(all: &[ExperimentComparison]) -> String {
    let mut s = String::from("| experiment | result | numbers beyond tolerance | verdicts changed | disappeared | baseline commit |\n|---|---|---|---|---|---|\n");
    for e in all {
        let list = |o: Outcome| {
            let v: Vec<String> = e
                .checks
                .iter()
                .filter(|c| c.outcome == o)
                .map(|c| match (c.delta, c.tolerance) {
                    (Some(d), Some(t)) => format!(
                        "{}: {} → {} (Δ {d:+.2}, tolerance {t:.2})",
                        c.what, c.baseline, c.fresh
                    ),
                    _ => format!("{}: {} → {}", c.what, c.baseline, c.fresh),
                })
                .collect();
            if v.is_empty() {
                "—".to_string()
            } else {
                v.join("<br>")
            }
        };
        let result = match &e.status {
            Status::Crashed(why) => format!("**CRASHED** ({})", crate::esc(why)),
            Status::NoBaseline(why) => format!("no baseline ({})", crate::esc(why)),
            Status::Compared if e.regressions().next().is_some() => "**REGRESSION**".into(),
            Status::Compared => format!(
                "held ({} numbers)",
                e.checks
                    .iter()
                    .filter(|c| c.outcome == Outcome::Held)
                    .count()
            ),
        };
        let _ = writeln!(
            s,
            "| {} | {result} | {} | {} | {} | `{}` |",
            e.experiment,
            list(Outcome::Moved),
            list(Outcome::VerdictChanged),
            list(Outcome::Disappeared),
            e.baseline_commit
        );
    }
    s
}

/// The tolerance rule in one paragraph, for the nightly's SUMMARY.md.
pub fn rule() -> String {
    format!(
        "Tolerance: a run's final test error holds within {K_SIGMA} x sqrt(2) x max(pooled seed std of the baseline's arms, {SEED_STD_FLOOR_PCT} points) ({:.2} points at the floor, where every arm has n = 1); a claim's effect within {K_SIGMA} x sqrt(se_baseline² + se_fresh²), each standard error at least {SEED_STD_FLOOR_PCT} x sqrt(1/n_a + 1/n_b); a verdict must not change, and no baseline run or claim may disappear. Exit status: 0 all held, 1 a regression, 2 a run crashed or could not start.",
        run_tolerance(None)
    )
}
