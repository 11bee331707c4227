//! Judging in one place: a claim's spec (`spec`) and the measured samples
//! per arm and seed go in; the claim-stats test of the spec's kind, Holm
//! over the experiment's family, the regime and the seeds needed come out,
//! as the [`Claim`]s a report and `claims.json` show. Experiment crates only
//! measure ([`Measured`]); no verdict is computed anywhere else.
use super::spec::{ClaimSpec, Kind, Section};
use super::{pct_stats_unit, Header};
use crate::error::{Error, Result};
use crate::papers::PaperNumbers;
use claim_stats::{
    apply_holm, differ_little, directional, level, no_better, paired, pooled_sd, ratio_bounded,
    seeds_needed, Band, Basis, Bounded, ClaimResult, Decision, Design, Direction, Level, Margin,
    Rule, Test, ALPHA, POWER,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The rule every report states.
pub const RULE: &str = "each claim is judged by the test of its kind (claim-stats), at α = 0.05 for each one-sided test, with margins, bands and tolerances fixed in advance in experiments/papers/<paper>.claims.toml: directional — Welch's t, one-sided each way; no_better — Welch non-superiority against the margin; differ_little — Welch TOST within ±margin; ratio — TOST on per-seed log ratios against the band (a sign test where some seeds are only bounded), which can fail on either side; paired — paired t over seeds, one-sided each way; level — one-sample TOST around the paper's number (+ stated offset) ± tolerance. PASS: the (1 - 2α) interval lies where the claim holds; FAIL: it lies entirely outside; INCONCLUSIVE otherwise. Fewer than 3 seeds in an arm or zero spread decide nothing unless a stated minimum effect is exceeded. Holm's step-down adjustment controls the family-wise error over the decided claims of one report (and separately over its early-training checks). A claim is decided only by the profiles its spec names (`decided_by`): elsewhere it is NOT DECIDED at this budget, its numbers shown for information";

/// A claim's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "reason")]
pub enum Verdict {
    /// The claim holds beyond noise.
    Pass,
    /// The claim is contradicted beyond noise.
    Fail,
    /// Within noise, or too few seeds to tell (with the reason).
    Inconclusive(String),
    /// Not measured here (an arm not run), with the reason.
    NotEvaluated(String),
    /// Outside the regime that can decide it (a shortened budget for a claim
    /// about trained networks), with the reason.
    NotDecided(String),
}

impl Verdict {
    pub fn label(&self) -> String {
        match self {
            Verdict::Pass | Verdict::Fail => self.name().into(),
            Verdict::Inconclusive(why) | Verdict::NotEvaluated(why) | Verdict::NotDecided(why) => {
                format!("{} ({why})", self.name())
            }
        }
    }

    /// "PASS", "FAIL", "INCONCLUSIVE", "NOT EVALUATED" or "NOT DECIDED": the
    /// label without its reason (which carries numbers), as verdicts are compared.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive(_) => "INCONCLUSIVE",
            Verdict::NotEvaluated(_) => "NOT EVALUATED",
            Verdict::NotDecided(_) => "NOT DECIDED",
        }
    }

    /// The lower-case name used in `claims.json` and `claims.csv`.
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive(_) => "inconclusive",
            Verdict::NotEvaluated(_) => "not_evaluated",
            Verdict::NotDecided(_) => "not_decided",
        }
    }
}

/// A claim's statistics, numeric, as `claims.json` and `claims.csv` carry
/// them. Effects are in the claim's unit (`unit`): percentage points for
/// errors, a factor for ratios.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Numbers {
    /// The test (claim-stats' name, e.g. `welch_one_sided`).
    pub test: Option<Test>,
    /// The estimate: mean(a) - mean(b), B's improvement over A
    /// (no_better), the geometric-mean (or, with bounded seeds, median)
    /// ratio, the mean paired difference, or the mean level.
    pub effect: Option<f64>,
    pub std_error: Option<f64>,
    /// The (1 - 2α) interval of the effect.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub ci_level: Option<f64>,
    /// p of the test for the claim (PASS below α).
    pub p: Option<f64>,
    /// p of the test against it (FAIL below α).
    pub p_opposite: Option<f64>,
    /// Holm-adjusted p of the decisive test over the report's family.
    pub p_adjusted: Option<f64>,
    /// Seeds in arm a (the pairs or ratios for one-sample tests) and arm b.
    pub n_a: Option<usize>,
    pub n_b: Option<usize>,
    pub df: Option<f64>,
    pub alpha: Option<f64>,
    /// The margin as passed to the test.
    pub margin: Option<Margin>,
    /// The claim holds where the effect lies in (region_low, region_high);
    /// `None`: unbounded on that side.
    pub region_low: Option<f64>,
    pub region_high: Option<f64>,
    /// What decided: the test, or the few-seeds rule.
    pub basis: Option<Basis>,
    /// For an INCONCLUSIVE claim: seeds per arm that would detect the
    /// paper's effect at α with 80% power given the measured spread.
    pub seeds_needed: Option<usize>,
    /// The test's reasoning in words, with its numbers.
    #[serde(default)]
    pub why: String,
}

/// A statement of the paper, checked on our measurements: one entry of
/// `claims.json` (schema in `report::CLAIMS_SCHEMA`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub id: String,
    pub kind: Kind,
    /// `paper` (a claim of the paper) or `early` (an early-training check).
    pub section: Section,
    pub statement: String,
    /// The paper's sentence with its source, and the numbers it quotes.
    pub paper: String,
    /// What we measured, with numbers.
    #[serde(rename = "note")]
    pub measured: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Whether this report's profile and fidelity can decide it.
    pub decided: bool,
    /// The profiles that decide it.
    pub decided_by: Vec<String>,
    /// The measured quantity in words, and its unit.
    pub quantity: String,
    pub unit: String,
    /// Why the margin, band or tolerance is what it is.
    #[serde(default)]
    pub margin_reason: String,
    #[serde(flatten)]
    pub numbers: Numbers,
    /// The paper's own number for the claim (its effect, ratio or level).
    pub paper_value: Option<f64>,
}

impl Default for Claim {
    /// An empty directional paper claim, NOT EVALUATED (for tests and hand-made files).
    fn default() -> Self {
        Claim {
            id: String::new(),
            kind: Kind::Directional,
            section: Section::Paper,
            statement: String::new(),
            paper: String::new(),
            measured: String::new(),
            verdict: Verdict::NotEvaluated("no verdict given".into()),
            decided: false,
            decided_by: Vec::new(),
            quantity: String::new(),
            unit: String::new(),
            margin_reason: String::new(),
            numbers: Numbers::default(),
            paper_value: None,
        }
    }
}

/// What an experiment measured for one claim: the samples per arm and seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The spec's id.
    pub id: String,
    pub samples: Samples,
    /// More the experiment wants a reader to see (per-seed details).
    pub note: String,
    /// A reason the numbers cannot decide the claim whatever they say (e.g.
    /// arms confounded by their parameter counts): INCONCLUSIVE with it.
    pub caveat: Option<String>,
}

/// The samples of one claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    /// Per-seed values of each arm, in the spec's `arms` order.
    Arms(Vec<BTreeMap<i64, f64>>),
    /// Per-seed ratios of a ratio claim, exact or bounded.
    Ratios(BTreeMap<i64, Bounded>),
    /// Not measurable in these runs (an arm not run), with why.
    Missing(String),
}

impl Measured {
    /// Per-seed values of each arm, in the spec's `arms` order.
    pub fn arms(id: &str, arms: Vec<BTreeMap<i64, f64>>) -> Self {
        Self::with(id, Samples::Arms(arms))
    }

    /// Per-seed ratios.
    pub fn ratios(id: &str, ratios: BTreeMap<i64, Bounded>) -> Self {
        Self::with(id, Samples::Ratios(ratios))
    }

    /// Nothing to judge, and why.
    pub fn missing(id: &str, why: impl Into<String>) -> Self {
        Self::with(id, Samples::Missing(why.into()))
    }

    fn with(id: &str, samples: Samples) -> Self {
        Self {
            id: id.into(),
            samples,
            note: String::new(),
            caveat: None,
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    pub fn caveat(mut self, caveat: impl Into<String>) -> Self {
        self.caveat = Some(caveat.into());
        self
    }
}

/// One claim on its way through the judging.
struct Judged<'a> {
    spec: &'a ClaimSpec,
    measured: &'a Measured,
    /// The test's result, or why there is none.
    result: std::result::Result<ClaimResult, String>,
    /// Why this report cannot decide it, if it cannot.
    undecided: Option<String>,
}

/// Judges every spec of one experiment on its measurements: each kind's
/// test, the regime, Holm over the decided claims (and separately over the
/// decided early-training checks), the seeds needed for an INCONCLUSIVE
/// one. An error (a measurement without a spec, a spec without a
/// measurement, samples of the wrong shape for the kind) names the claim.
pub fn judge(
    specs: &[ClaimSpec],
    measured: &[Measured],
    header: &Header,
    paper: &PaperNumbers,
) -> Result<Vec<Claim>> {
    for (i, m) in measured.iter().enumerate() {
        if !specs.iter().any(|s| s.id == m.id) {
            return Err(Error::Config(format!(
                "{} measures claim `{}`, which no claims file states for it",
                header.experiment, m.id
            )));
        }
        if measured[..i].iter().any(|o| o.id == m.id) {
            return Err(Error::Config(format!(
                "{} measures claim `{}` twice",
                header.experiment, m.id
            )));
        }
    }
    let mut judged = Vec::new();
    for spec in specs {
        let m = measured.iter().find(|m| m.id == spec.id).ok_or_else(|| {
            Error::Config(format!(
                "{}: the claims file states claim `{}`, which the experiment does not measure",
                spec.experiment, spec.id
            ))
        })?;
        check_shape(spec, &m.samples)?;
        let undecided =
            spec.undecided_because(&header.profile, header.fidelity, &header.fidelity_notes);
        let result = test(spec, m, paper).map(|mut r| {
            if let Some(c) = &m.caveat {
                r.reason = format!("{c}; the test alone: {} ({})", r.decision.label(), r.reason);
                r.decision = Decision::Inconclusive;
            }
            r
        });
        judged.push(Judged {
            spec,
            measured: m,
            result,
            undecided,
        });
    }
    for section in [Section::Paper, Section::Early] {
        holm_over(&mut judged, section);
    }
    Ok(judged.iter().map(|j| finish(j, paper)).collect())
}

/// Holm over the decided claims of one section that have a test result.
fn holm_over(judged: &mut [Judged], section: Section) {
    let members: Vec<usize> = (0..judged.len())
        .filter(|&i| judged[i].spec.section == section && judged[i].undecided.is_none())
        .filter(|&i| judged[i].result.is_ok())
        .collect();
    let mut results: Vec<ClaimResult> = members
        .iter()
        .filter_map(|&i| judged[i].result.clone().ok())
        .collect();
    apply_holm(&mut results, ALPHA);
    for (&i, r) in members.iter().zip(results) {
        judged[i].result = Ok(r);
    }
}

/// Samples of the shape the kind takes (a programming error otherwise).
fn check_shape(spec: &ClaimSpec, samples: &Samples) -> Result<()> {
    let ok = match samples {
        Samples::Missing(_) => true,
        Samples::Arms(a) => a.len() == spec.kind.arms(),
        Samples::Ratios(_) => spec.kind == Kind::Ratio,
    };
    if ok {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{}: the experiment's samples do not fit kind {} (arms {:?})",
        spec.label(),
        spec.kind.as_str(),
        spec.arms
    )))
}

fn values(m: &BTreeMap<i64, f64>) -> Vec<f64> {
    m.values().copied().collect()
}

/// The seeds both arms measured, as two aligned samples.
fn pairs(a: &BTreeMap<i64, f64>, b: &BTreeMap<i64, f64>) -> (Vec<f64>, Vec<f64>) {
    a.iter().filter_map(|(s, x)| Some((*x, *b.get(s)?))).unzip()
}

/// The claim-stats test of the spec's kind; `Err` with why where none can run.
fn test(
    spec: &ClaimSpec,
    m: &Measured,
    paper: &PaperNumbers,
) -> std::result::Result<ClaimResult, String> {
    let rule = Rule {
        alpha: ALPHA,
        min_effect: spec.min_effect,
    };
    let arms = match &m.samples {
        Samples::Missing(why) => return Err(why.clone()),
        Samples::Ratios(r) => {
            let r: Vec<Bounded> = r.values().copied().collect();
            return ratio_bounded(&r, band(spec), rule).map_err(|e| e.to_string());
        }
        Samples::Arms(a) => a,
    };
    if let Some(i) = arms.iter().position(BTreeMap::is_empty) {
        return Err(format!("{}: no seed measured", spec.arms[i]));
    }
    let (a, b) = (
        values(&arms[0]),
        arms.get(1).map(values).unwrap_or_default(),
    );
    let out = match spec.kind {
        Kind::Directional => directional(&a, &b, direction(spec), rule),
        Kind::NoBetter => no_better(
            &a,
            &b,
            spec.better.unwrap_or(claim_stats::Better::Lower),
            spec.margin.unwrap_or(0.0),
            rule,
        ),
        Kind::DifferLittle => differ_little(&a, &b, spec.margin.unwrap_or(0.0), rule),
        Kind::Paired => {
            let (a, b) = pairs(&arms[0], &arms[1]);
            if a.is_empty() {
                return Err("no seed measured in both evaluations".into());
            }
            paired(&a, &b, direction(spec), rule)
        }
        Kind::Ratio => {
            let (a, b) = pairs(&arms[0], &arms[1]);
            let r: Vec<Bounded> = a
                .iter()
                .zip(&b)
                .map(|(x, y)| Bounded::Exact(x / y))
                .collect();
            if r.is_empty() {
                return Err("no seed measured in both arms".into());
            }
            ratio_bounded(&r, band(spec), rule)
        }
        Kind::Level => level(&a, level_target(spec, paper), rule),
    };
    out.map_err(|e| e.to_string())
}

fn direction(spec: &ClaimSpec) -> Direction {
    spec.direction.unwrap_or(Direction::Lower)
}

fn band(spec: &ClaimSpec) -> Band {
    let [low, high] = spec.band.unwrap_or([1.0, 2.0]);
    Band { low, high }
}

fn level_target(spec: &ClaimSpec, paper: &PaperNumbers) -> Level {
    let l = spec.level.as_ref();
    Level {
        paper: l.map_or(f64::NAN, |l| paper.value(&l.paper)),
        offset: l.map_or(0.0, |l| l.offset),
        tolerance: l.map_or(0.0, |l| l.tolerance),
    }
}

/// Where the claim holds, on the effect's scale: (low, high).
fn region(spec: &ClaimSpec, paper: &PaperNumbers) -> (Option<f64>, Option<f64>) {
    let dir = |d: Direction| match d {
        Direction::Lower => (None, Some(0.0)),
        Direction::Higher => (Some(0.0), None),
    };
    match spec.kind {
        Kind::Directional | Kind::Paired => dir(direction(spec)),
        Kind::NoBetter => (None, spec.margin),
        Kind::DifferLittle => (spec.margin.map(|m| -m), spec.margin),
        Kind::Ratio => (Some(band(spec).low), Some(band(spec).high)),
        Kind::Level => {
            let t = level_target(spec, paper);
            let c = t.paper + t.offset;
            (Some(c - t.tolerance), Some(c + t.tolerance))
        }
    }
}

/// The SD of `x` (n - 1); `None` under two values or without spread.
fn sd(x: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let s = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (x.len() > 1 && s > 0.0 && s.is_finite()).then_some(s)
}

/// What a seeds-needed estimate plans for: the effect, the measured SD,
/// the design, the power and the effect in words.
struct PowerPlan {
    effect: f64,
    sd: Option<f64>,
    design: Design,
    power: f64,
    what: String,
}

/// The plan of [`seeds_line`] for each kind; `Err` with why there is none.
/// For the TOST kinds (differ_little, ratio, level) the effect is the
/// distance from the paper's value (no difference, its ratio or its level)
/// to the nearest edge, and each of the two one-sided tests gets 90% power
/// (both together about 80%).
fn power_plan(
    spec: &ClaimSpec,
    arms: &[BTreeMap<i64, f64>],
    paper: &PaperNumbers,
) -> std::result::Result<PowerPlan, String> {
    let tost = 1.0 - (1.0 - POWER) / 2.0;
    let (a, b) = (
        values(&arms[0]),
        arms.get(1).map(values).unwrap_or_default(),
    );
    let two = pooled_sd(&a, &b).ok();
    let paired_sd = |f: &dyn Fn(f64, f64) -> f64| {
        let (x, y) = pairs(&arms[0], &arms[1]);
        sd(&x
            .iter()
            .zip(&y)
            .map(|(x, y)| f(*x, *y))
            .collect::<Vec<f64>>())
    };
    let plan = |effect, sd, design, power, what: &str| PowerPlan {
        effect,
        sd,
        design,
        power,
        what: what.into(),
    };
    let paper_effect = spec.paper_effect(paper);
    let need_effect = || paper_effect.ok_or_else(|| "no paper effect stated".to_string());
    Ok(match spec.kind {
        Kind::Directional => plan(
            need_effect()?,
            two,
            Design::TwoArms,
            POWER,
            "the paper's effect",
        ),
        Kind::Paired => plan(
            need_effect()?,
            paired_sd(&|x, y| x - y),
            Design::Paired,
            POWER,
            "the paper's effect",
        ),
        Kind::NoBetter => plan(
            spec.margin.unwrap_or(0.0),
            two,
            Design::TwoArms,
            POWER,
            "non-superiority within the margin (no true difference)",
        ),
        Kind::DifferLittle => plan(
            spec.margin.unwrap_or(0.0),
            two,
            Design::TwoArms,
            tost,
            "equivalence within the margin (no true difference)",
        ),
        Kind::Level => plan(
            spec.level.as_ref().map_or(0.0, |l| l.tolerance),
            sd(&a),
            Design::Paired,
            tost,
            "the level within its tolerance",
        ),
        Kind::Ratio => {
            let Band { low, high } = band(spec);
            let centre = paper_effect.unwrap_or((low * high).sqrt());
            let e = (centre / low).ln().min((high / centre).ln());
            let what = format!("a ratio of {centre}x inside the band (log scale)");
            plan(
                e,
                paired_sd(&|x, y| (x / y).ln()),
                Design::Paired,
                tost,
                &what,
            )
        }
    })
}

/// For an INCONCLUSIVE claim: the seeds per arm that would detect the
/// effect the claim is about at α with 80% power given the measured SD
/// ([`power_plan`]), and that line in words; or why there is no number.
fn seeds_line(spec: &ClaimSpec, m: &Measured, paper: &PaperNumbers) -> (Option<usize>, String) {
    let exact: Vec<BTreeMap<i64, f64>>;
    let arms = match &m.samples {
        Samples::Arms(arms) => arms,
        Samples::Ratios(r) if r.values().all(|b| matches!(b, Bounded::Exact(_))) => {
            // Exact ratios as a over b = 1.
            exact = vec![
                r.iter().map(|(s, b)| (*s, b.value())).collect(),
                r.keys().map(|s| (*s, 1.0)).collect(),
            ];
            &exact
        }
        _ => return (None, "seeds needed: unknown with bounded ratios".into()),
    };
    let p = match power_plan(spec, arms, paper) {
        Ok(p) => p,
        Err(why) => return (None, format!("seeds needed: unknown ({why})")),
    };
    let Some(s) = p.sd else {
        return (None, "seeds needed: unknown (no spread measured)".into());
    };
    match seeds_needed(p.effect, s, p.design, ALPHA, p.power) {
        Ok(n) => (
            Some(n.per_arm),
            format!(
                "{} seeds per arm would detect {} ({:.3}) at α = {ALPHA} with {:.0}% power given the measured SD {s:.3}",
                n.per_arm,
                p.what,
                p.effect,
                100.0 * p.power
            ),
        ),
        Err(e) => (None, format!("seeds needed: {e}")),
    }
}

/// The measured text: each arm's mean ± SD over seeds, or the ratios.
fn measured_text(spec: &ClaimSpec, m: &Measured) -> String {
    let unit = spec.unit();
    let mut text = match &m.samples {
        Samples::Missing(_) => "—".to_string(),
        Samples::Arms(arms) => spec
            .arms
            .iter()
            .zip(arms)
            .map(|(name, v)| format!("{name} {}", pct_stats_unit(&values(v), &unit)))
            .collect::<Vec<_>>()
            .join(" vs "),
        Samples::Ratios(r) => r
            .iter()
            .map(|(seed, b)| match b {
                Bounded::Exact(v) => format!("seed {seed}: {v:.2}x"),
                Bounded::AtLeast(v) => format!("seed {seed}: > {v:.2}x"),
                Bounded::AtMost(v) => format!("seed {seed}: < {v:.2}x"),
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    for extra in [Some(&m.note), m.caveat.as_ref()].into_iter().flatten() {
        if !extra.is_empty() {
            text = format!("{text}; {extra}");
        }
    }
    text
}

/// The paper's words, source and quoted numbers.
fn paper_text(spec: &ClaimSpec, paper: &PaperNumbers) -> String {
    let mut s = format!("{}: \"{}\"", spec.source, spec.quote);
    let level = spec.level.iter().map(|l| &l.paper);
    let cited: Vec<String> = spec
        .numbers
        .iter()
        .chain(level.filter(|k| !spec.numbers.contains(k)))
        .filter_map(|k| {
            paper
                .get(k)
                .filter(|n| n.value.is_some())
                .map(|n| format!("{k} = {}", n.cite()))
        })
        .collect();
    if !cited.is_empty() {
        s = format!("{s} ({})", cited.join("; "));
    }
    s
}

fn finish(j: &Judged, paper: &PaperNumbers) -> Claim {
    let spec = j.spec;
    let (low, high) = region(spec, paper);
    let mut numbers = Numbers {
        region_low: low,
        region_high: high,
        ..Numbers::default()
    };
    let verdict = match &j.result {
        Err(why) => Verdict::NotEvaluated(why.clone()),
        Ok(r) => {
            numbers = numbers_of(r, numbers);
            match (&j.undecided, r.decision) {
                (Some(why), _) => Verdict::NotDecided(why.clone()),
                (None, Decision::Pass) => Verdict::Pass,
                (None, Decision::Fail) => Verdict::Fail,
                (None, Decision::Inconclusive) => {
                    let (n, line) = seeds_line(spec, j.measured, paper);
                    numbers.seeds_needed = n;
                    Verdict::Inconclusive(format!("{}; {line}", r.reason))
                }
            }
        }
    };
    let paper_value = match spec.kind {
        Kind::Level => spec.level.as_ref().and_then(|l| paper.get(&l.paper)?.value),
        _ => spec.paper_effect(paper),
    };
    Claim {
        id: spec.id.clone(),
        kind: spec.kind,
        section: spec.section,
        statement: spec.statement.clone(),
        paper: paper_text(spec, paper),
        measured: measured_text(spec, j.measured),
        verdict,
        decided: j.undecided.is_none(),
        decided_by: spec.decided_by.clone(),
        quantity: spec.quantity.describe(),
        unit: spec.unit(),
        margin_reason: spec.margin_reason.clone().unwrap_or_default(),
        numbers,
        paper_value,
    }
}

fn numbers_of(r: &ClaimResult, base: Numbers) -> Numbers {
    Numbers {
        test: Some(r.test),
        effect: Some(r.estimate),
        std_error: r.std_error,
        ci_low: r.ci.map(|c| c.low),
        ci_high: r.ci.map(|c| c.high),
        ci_level: r.ci.map(|c| c.level),
        p: r.p,
        p_opposite: r.p_opposite,
        p_adjusted: r.p_adjusted,
        n_a: r.n.first().copied(),
        n_b: r.n.get(1).copied(),
        df: r.df,
        alpha: Some(r.alpha),
        margin: r.margin,
        basis: Some(r.basis),
        why: r.reason.clone(),
        ..base
    }
}
