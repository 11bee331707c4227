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
//!
//! **Data.** These tolerances hold between two trainings on the same data
//! only. An experiment whose baseline was trained on other data (another
//! dataset label or source sha256, e.g. the official CIFAR-10 against the
//! JPEG q75 copy) is refused ([`Status::OtherData`], exit status 2) unless
//! `--cross-dataset` is given; then it is compared across datasets, labelled
//! so ([`ExperimentComparison::cross_dataset`]): no tolerance between two
//! datasets has been measured (a lossy re-encoding moves test errors by an
//! unknown amount), so its numbers and verdicts are listed, not judged, and
//! only a crash or a disappeared run or claim counts against it.
use records::provenance::Provenance;
use records::report::{Claim, ClaimsFile};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

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
    /// The data's label (absent from files of hand-made baselines).
    #[serde(default)]
    pub dataset: String,
}

/// One claim of `claims.json`, the numbers compared.
#[derive(Debug, Clone)]
pub struct ClaimNumbers {
    pub id: String,
    /// "PASS", "FAIL", "INCONCLUSIVE" or "NOT EVALUATED" (without the reason,
    /// which carries numbers).
    pub verdict: String,
    pub effect: Option<f64>,
    pub std_error: Option<f64>,
    pub n_a: Option<f64>,
    pub n_b: Option<f64>,
}

impl From<&Claim> for ClaimNumbers {
    /// A ratio claim's effect is compared as its log (the scale of its
    /// standard error); the others in their unit.
    fn from(c: &Claim) -> Self {
        let n = &c.numbers;
        let log = c.unit == "x";
        ClaimNumbers {
            id: c.id.clone(),
            verdict: c.verdict.name().into(),
            effect: n.effect.map(|e| if log { e.ln() } else { e }),
            std_error: n.std_error,
            n_a: n.n_a.map(|n| n as f64),
            n_b: n.n_b.map(|n| n as f64),
        }
    }
}

/// The data an experiment's runs were trained on: the dataset labels (the
/// report header's, `summary.csv`'s and each run's provenance) and the source
/// sha256 each run's provenance records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataIdentity {
    pub names: BTreeSet<String>,
    pub sha256: BTreeSet<String>,
}

impl std::fmt::Display for DataIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let shas: Vec<&str> = self
            .sha256
            .iter()
            .map(|s| match s.get(..12) {
                _ if s.is_empty() => "none recorded",
                Some(short) => short,
                None => s.as_str(),
            })
            .collect();
        write!(f, "`{}` (sha256 {})", names.join("`, `"), shas.join(", "))
    }
}

/// One side of a comparison, `<dir>/<experiment>/<profile>/`: its claims,
/// runs and data, each file read and checked.
#[derive(Debug, Clone)]
pub struct Results {
    pub dir: PathBuf,
    pub claims: ClaimsFile,
    pub runs: Vec<RunRow>,
    pub data: DataIdentity,
}

impl Results {
    /// Reads `claims.json`, `summary.csv` and every listed run's
    /// `runs/<run_id>/provenance.json`; an error names the file.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let claims = read_claims(&dir.join("claims.json"))?;
        let runs = read_runs(&dir.join("summary.csv"))?;
        let mut data = DataIdentity::default();
        data.names.extend(claims.header.datasets.iter().cloned());
        for r in &runs {
            let p = dir.join("runs").join(&r.run_id).join("provenance.json");
            let bytes = std::fs::read(&p)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?;
            let prov: Provenance = serde_json::from_slice(&bytes).map_err(|e| {
                anyhow::anyhow!("{}: not a valid provenance.json: {e}", p.display())
            })?;
            data.names.insert(prov.dataset);
            data.sha256.insert(prov.dataset_sha256);
            if !r.dataset.is_empty() {
                data.names.insert(r.dataset.clone());
            }
        }
        Ok(Results {
            dir: dir.to_path_buf(),
            claims,
            runs,
            data,
        })
    }
}

/// The baseline of an experiment, `<baseline>/<experiment>/<profile>/`,
/// read and checked before the nightly trains anything (a bad file would
/// otherwise fail the nightly hours later); `None` where it has no
/// `claims.json` (no baseline: the experiment is listed, not compared).
pub fn read_baseline(
    experiment: &str,
    profile: &str,
    baseline: &Path,
) -> anyhow::Result<Option<Results>> {
    let dir = baseline.join(experiment).join(profile);
    if !dir.join("claims.json").is_file() {
        return Ok(None);
    }
    Results::read(&dir).map(Some)
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
    /// Trained on other data than its baseline, and `--cross-dataset` was not
    /// given: not compared (why, naming both).
    OtherData(String),
    /// Not trained: the nightly stopped before it (why).
    Skipped(String),
}

/// A comparison across datasets (`--cross-dataset`): what each side trained on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossDataset {
    pub baseline: DataIdentity,
    pub fresh: DataIdentity,
}

/// One experiment of the nightly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExperimentComparison {
    pub experiment: String,
    pub status: Status,
    /// The baseline's commit label (its claims.json header), if any.
    pub baseline_commit: String,
    /// Set where the baseline was trained on other data and `--cross-dataset`
    /// allowed the comparison: numbers and verdicts beyond tolerance are
    /// listed, not counted (see the module's rule). `null`: the same data.
    #[serde(default)]
    pub cross_dataset: Option<CrossDataset>,
    pub checks: Vec<Check>,
}

impl ExperimentComparison {
    fn new(experiment: &str, status: Status) -> Self {
        ExperimentComparison {
            experiment: experiment.into(),
            status,
            baseline_commit: String::new(),
            cross_dataset: None,
            checks: Vec::new(),
        }
    }

    pub fn crashed(experiment: &str, why: String) -> Self {
        Self::new(experiment, Status::Crashed(why))
    }

    /// Not trained: the nightly stopped before it (why).
    pub fn skipped(experiment: &str, why: String) -> Self {
        Self::new(experiment, Status::Skipped(why))
    }

    /// The checks that count against the nightly: across datasets only what
    /// disappeared (numbers and verdicts there have no known tolerance).
    pub fn regressions(&self) -> impl Iterator<Item = &Check> {
        let cross = self.cross_dataset.is_some();
        self.checks.iter().filter(move |c| {
            c.outcome.is_regression() && (!cross || c.outcome == Outcome::Disappeared)
        })
    }
}

/// 0 all held, 1 a regression, 2 a run crashed or could not start, or an
/// experiment's baseline was trained on other data (without `--cross-dataset`).
pub fn exit_code(all: &[ExperimentComparison]) -> u8 {
    if all.iter().any(|e| {
        matches!(
            e.status,
            Status::Crashed(_) | Status::OtherData(_) | Status::Skipped(_)
        )
    }) {
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

/// Reads an experiment's `claims.json` through the type that wrote it.
pub fn read_claims(path: &Path) -> anyhow::Result<ClaimsFile> {
    Ok(ClaimsFile::read(path)?)
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

/// Compares `<fresh>/<experiment>/<profile>` with `<baseline>/<experiment>/<profile>`
/// (see [`read_baseline`] and [`compare_with`]): an unreadable baseline file
/// is an error naming it.
pub fn compare_experiment(
    experiment: &str,
    profile: &str,
    baseline: &Path,
    fresh: &Path,
    cross_dataset: bool,
) -> anyhow::Result<ExperimentComparison> {
    let base = read_baseline(experiment, profile, baseline)?;
    Ok(compare_with(
        experiment,
        &baseline.join(experiment).join(profile),
        base.as_ref(),
        &fresh.join(experiment).join(profile),
        cross_dataset,
    ))
}

/// Compares the fresh results in `fresh` with the baseline of `base_dir`,
/// read before training (`None`: it has none). Fresh results that are
/// missing or unreadable are the experiment's crash: the nightly still
/// writes its summary.
pub fn compare_with(
    experiment: &str,
    base_dir: &Path,
    base: Option<&Results>,
    fresh: &Path,
    cross_dataset: bool,
) -> ExperimentComparison {
    let Some(base) = base else {
        let why = format!("{} missing", base_dir.join("claims.json").display());
        return ExperimentComparison::new(experiment, Status::NoBaseline(why));
    };
    for file in ["claims.json", "summary.csv"] {
        if !fresh.join(file).is_file() {
            let why = format!("finished without writing {}", fresh.join(file).display());
            return ExperimentComparison::crashed(experiment, why);
        }
    }
    let f = match Results::read(fresh) {
        Ok(f) => f,
        Err(e) => {
            let why = format!("its results are unreadable: {e:#}");
            return ExperimentComparison::crashed(experiment, why);
        }
    };
    let mut cmp = ExperimentComparison::new(experiment, Status::Compared);
    cmp.baseline_commit.clone_from(&base.claims.header.commit);
    if base.data != f.data {
        if !cross_dataset {
            cmp.status = Status::OtherData(format!(
                "the baseline {} was trained on {}, this nightly on {}: the tolerances hold on the same data only; train on the baseline's data (--data), or pass --cross-dataset to compare across datasets (numbers listed, not judged)",
                base.dir.display(),
                base.data,
                f.data
            ));
            return cmp;
        }
        cmp.cross_dataset = Some(CrossDataset {
            baseline: base.data.clone(),
            fresh: f.data.clone(),
        });
    }
    cmp.checks = compare_runs(&base.runs, &f.runs);
    let numbers = |r: &Results| -> Vec<ClaimNumbers> {
        r.claims.claims.iter().map(ClaimNumbers::from).collect()
    };
    cmp.checks
        .extend(compare_claims(&numbers(base), &numbers(&f)));
    cmp
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
        let mut result = match &e.status {
            Status::Crashed(why) => format!("**CRASHED** ({})", crate::esc(why)),
            Status::NoBaseline(why) => format!("no baseline ({})", crate::esc(why)),
            Status::OtherData(why) => format!("**OTHER DATA**, not compared ({})", crate::esc(why)),
            Status::Skipped(why) => format!("**NOT RUN** ({})", crate::esc(why)),
            Status::Compared if e.regressions().next().is_some() => "**REGRESSION**".into(),
            Status::Compared => format!(
                "held ({} numbers)",
                e.checks
                    .iter()
                    .filter(|c| c.outcome == Outcome::Held)
                    .count()
            ),
        };
        if let Some(x) = &e.cross_dataset {
            let _ = write!(
                result,
                "<br>**CROSS-DATASET**: baseline on {}, this nightly on {}; numbers and verdicts beyond tolerance listed, not counted",
                crate::esc(&x.baseline.to_string()),
                crate::esc(&x.fresh.to_string())
            );
        }
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
        "Tolerance: a run's final test error holds within {K_SIGMA} x sqrt(2) x max(pooled seed std of the baseline's arms, {SEED_STD_FLOOR_PCT} points) ({:.2} points at the floor, where every arm has n = 1); a claim's effect within {K_SIGMA} x sqrt(se_baseline² + se_fresh²), each standard error at least {SEED_STD_FLOOR_PCT} x sqrt(1/n_a + 1/n_b); a verdict must not change, and no baseline run or claim may disappear. These hold on the baseline's data only: an experiment trained on other data (another dataset label or source sha256) is refused, unless `--cross-dataset` compares it across datasets, where no tolerance is known: its numbers and verdicts are listed, not counted, and only a crash or a disappeared run or claim fails it. Exit status: 0 all held, 1 a regression, 2 a run crashed or could not start, or an experiment was trained on other data than its baseline (without `--cross-dataset`).",
        run_tolerance(None)
    )
}
