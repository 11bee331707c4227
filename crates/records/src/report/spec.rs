//! The claims each experiment tests, as data: `experiments/papers/<paper>.claims.toml`,
//! beside the paper's numbers (`<paper>.csv`). Each claim names its kind
//! (and so its test), the paper's sentence and where it is, the margin,
//! band or tolerance fixed before the runs with a one-line reason, the arms
//! and the measured quantity, and the profiles whose budget can decide it.
//! Early-training checks (`[[early]]`) are weaker statements a shortened run
//! can honestly test; reports keep them apart from the paper's claims.
//!
//! Loading checks everything a report would otherwise trip over later:
//! unknown keys and kinds (by serde), keys a kind needs or forbids, paper
//! numbers the claim names that the paper's CSV lacks, duplicate ids, and
//! (with [`ClaimSpecs::check_profiles`]) profiles the experiment file lacks.
//! Every error names the file and the claim.
use crate::error::{Error, Result};
use crate::fidelity::Fidelity;
use crate::papers::PaperNumbers;
use claim_stats::{Better, Direction};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The kind of a claim, which decides its test (`claim_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// "X lowers the error": one-sided Welch ([`claim_stats::directional`]).
    Directional,
    /// "B is no better than A": Welch non-superiority with a margin.
    NoBetter,
    /// "A and B differ little": Welch TOST within ±margin.
    DifferLittle,
    /// "about k times": a band around the paper's ratio, failing on both sides.
    Ratio,
    /// Two evaluations of the same nets, per seed: paired t.
    Paired,
    /// "the error is 8.75%": one-sample TOST around the paper's number.
    Level,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Directional => "directional",
            Kind::NoBetter => "no_better",
            Kind::DifferLittle => "differ_little",
            Kind::Ratio => "ratio",
            Kind::Paired => "paired",
            Kind::Level => "level",
        }
    }

    /// How many arms the claim names: one for a level, two otherwise.
    pub fn arms(self) -> usize {
        if self == Kind::Level {
            1
        } else {
            2
        }
    }
}

/// Whether a spec is one of the paper's claims or an early-training check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// A claim of the paper, decided only at a budget that can decide it.
    #[default]
    Paper,
    /// A weaker statement a shortened run can test ("after one epoch, ..."),
    /// never counted as the paper's claim reproduced.
    Early,
}

/// The measured quantity, defined once for every experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// Final test error (%), evaluation mode: each seed's last evaluation.
    TestError,
    /// Training error (%) in training mode at the end: the mean of each
    /// seed's last tenth of logging windows (single windows are noisy).
    TrainError,
    /// Training error (%) in evaluation mode (`data.train_eval_images`) at
    /// each seed's last evaluation.
    TrainEvalError,
    /// Test error minus the training-mode training error (points) at the end.
    Gap,
    /// Test error minus the evaluation-mode training error (points) at each
    /// seed's last evaluation.
    EvalGap,
    /// Measured by the experiment crate, described here.
    Custom(String),
}

impl Quantity {
    /// The quantity in words, for reports.
    pub fn describe(&self) -> String {
        match self {
            Quantity::TestError => "final test error (%), evaluation mode, each seed's last evaluation".into(),
            Quantity::TrainError => "training error (%) in training mode at the end: mean of each seed's last tenth of logging windows".into(),
            Quantity::TrainEvalError => "training error (%) in evaluation mode on `data.train_eval_images` training images, each seed's last evaluation".into(),
            Quantity::Gap => "test error minus training-mode training error (points) at the end".into(),
            Quantity::EvalGap => "test error minus evaluation-mode training error (points), each seed's last evaluation".into(),
            Quantity::Custom(text) => text.clone(),
        }
    }

    /// The unit its values are in ("%" for errors and gaps).
    pub fn default_unit(&self) -> Option<&'static str> {
        match self {
            Quantity::Custom(_) => None,
            _ => Some("%"),
        }
    }
}

/// The paper's effect, for the seeds-needed line of an INCONCLUSIVE claim:
/// the difference of two paper numbers (`keys = [a, b]`: a - b), one paper
/// number (`keys = [k]`), or a stated value with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectSpec {
    #[serde(default)]
    pub keys: Vec<String>,
    pub value: Option<f64>,
    pub reason: Option<String>,
}

/// A level claim's target: the paper's number under `paper` (a key of the
/// paper's CSV), plus `offset`, give or take `tolerance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelSpec {
    pub paper: String,
    #[serde(default)]
    pub offset: f64,
    /// Why the offset (e.g. the JPEG copy's expected shift); required where
    /// it is not 0.
    pub offset_reason: Option<String>,
    pub tolerance: f64,
}

/// One claim (or early-training check) as its file states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    pub experiment: String,
    pub id: String,
    pub kind: Kind,
    /// What is claimed, in the project's words.
    pub statement: String,
    /// The paper's sentence.
    pub quote: String,
    /// Where it is (section, table, figure).
    pub source: String,
    /// The arms compared: `[a, b]` (the effect is a - b, or a / b for a
    /// ratio), `[a]` for a level. Run names for the generic quantities.
    pub arms: Vec<String>,
    pub quantity: Quantity,
    /// Unit of the measured values (default `%` for the error quantities).
    pub unit: Option<String>,
    /// Which way a - b goes (directional, paired).
    pub direction: Option<Direction>,
    /// Which values are better (no_better).
    pub better: Option<Better>,
    /// Non-superiority or equivalence margin, in the unit (no_better, differ_little).
    pub margin: Option<f64>,
    /// The accepted band of a ratio claim.
    pub band: Option<[f64; 2]>,
    /// A level claim's target.
    pub level: Option<LevelSpec>,
    /// Why the margin, band or tolerance is what it is (one line, fixed in
    /// advance, never from the runs being judged).
    pub margin_reason: Option<String>,
    /// The effect past the claim's edge that decides with fewer than 3 seeds
    /// or zero spread (claim_stats' few-seeds rule), with its reason.
    pub min_effect: Option<f64>,
    pub min_effect_reason: Option<String>,
    /// The paper's effect, for the seeds needed.
    pub effect: Option<EffectSpec>,
    /// Paper numbers the claim quotes (keys of the paper's CSV).
    #[serde(default)]
    pub numbers: Vec<String>,
    /// The profiles whose budget can decide the claim.
    pub decided_by: Vec<String>,
    /// The lowest fidelity of the runs that still decides it (e.g. `paper`
    /// for a level claim: an analogue's level is not the paper's).
    pub min_fidelity: Option<Fidelity>,
    /// Anything else a reader needs (what was reconstructed, what differs).
    pub note: Option<String>,
    /// Set by the loader: `[[claim]]` or `[[early]]`.
    #[serde(skip)]
    pub section: Section,
}

impl ClaimSpec {
    /// The unit of its values.
    pub fn unit(&self) -> String {
        self.unit
            .clone()
            .or_else(|| self.quantity.default_unit().map(String::from))
            .unwrap_or_default()
    }

    /// "resnet-cifar-degradation #1".
    pub fn label(&self) -> String {
        format!("{} #{}", self.experiment, self.id)
    }

    /// The paper's effect in the measured unit, if the spec states one.
    pub fn paper_effect(&self, paper: &PaperNumbers) -> Option<f64> {
        let e = self.effect.as_ref()?;
        match e.keys.as_slice() {
            [] => e.value,
            [k] => paper.get(k)?.value,
            [a, b] => Some(paper.get(a)?.value? - paper.get(b)?.value?),
            _ => None,
        }
    }

    /// Whether a report of `profile` at `fidelity` (with these fidelity
    /// notes) can decide the claim, and if not, why.
    pub fn undecided_because(
        &self,
        profile: &str,
        fidelity: Fidelity,
        notes: &[String],
    ) -> Option<String> {
        let regime = format!(
            "decided by profile{} {}{}",
            if self.decided_by.len() > 1 { "s" } else { "" },
            self.decided_by.join(", "),
            self.min_fidelity
                .map(|f| format!(" at fidelity `{f}` or higher"))
                .unwrap_or_default()
        );
        if !self.decided_by.iter().any(|p| p == profile) {
            return Some(format!(
                "not decided at this budget: {regime}; this report is profile `{profile}` ({fidelity})"
            ));
        }
        if self.min_fidelity.is_some_and(|m| fidelity < m) {
            return Some(format!(
                "not decided at this budget: {regime}; these runs are {fidelity}"
            ));
        }
        // Overrides change the budget the profile states.
        let overridden: Vec<&String> = notes
            .iter()
            .filter(|n| {
                n.starts_with(crate::fidelity::OVERRIDDEN)
                    || n.starts_with(crate::fidelity::OTHER_CONFIG)
            })
            .collect();
        if !overridden.is_empty() {
            return Some(format!(
                "not decided at this budget: {regime}, as written; these runs were {}",
                overridden
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        None
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    #[serde(default)]
    claim: Vec<ClaimSpec>,
    #[serde(default)]
    early: Vec<ClaimSpec>,
}

/// The claims of one paper's file, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaimSpecs {
    /// The file they were read from (empty for none).
    pub path: PathBuf,
    pub specs: Vec<ClaimSpec>,
}

/// The claims file beside a paper's numbers: `<paper>.csv` -> `<paper>.claims.toml`.
pub fn claims_path(numbers: &Path) -> PathBuf {
    numbers.with_extension("claims.toml")
}

impl ClaimSpecs {
    /// Reads and checks `path` against the paper's numbers; errors name the
    /// file and the claim. A missing file states no claims (an experiment
    /// that measures one is then refused by `judge`, naming it).
    pub fn load(path: &Path, paper: &PaperNumbers) -> Result<Self> {
        if !path.exists() {
            return Ok(Self {
                path: path.to_path_buf(),
                specs: Vec::new(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::File {
            path: path.to_path_buf(),
            msg: format!("cannot read the claims file: {e}"),
        })?;
        Self::parse(&text, path, paper)
    }

    /// [`ClaimSpecs::load`] from text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path, paper: &PaperNumbers) -> Result<Self> {
        let bad = |msg: String| Error::File {
            path: path.to_path_buf(),
            msg,
        };
        let file: SpecFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut specs = Vec::new();
        for (section, table, list) in [
            (Section::Paper, "claim", file.claim),
            (Section::Early, "early", file.early),
        ] {
            for (i, mut s) in list.into_iter().enumerate() {
                s.section = section;
                check(&s, paper)
                    .map_err(|m| bad(format!("[[{table}]] {} ({}): {m}", i + 1, s.label())))?;
                if specs
                    .iter()
                    .any(|o: &ClaimSpec| o.experiment == s.experiment && o.id == s.id)
                {
                    return Err(bad(format!(
                        "[[{table}]] {}: id `{}` appears twice for {}",
                        i + 1,
                        s.id,
                        s.experiment
                    )));
                }
                specs.push(s);
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            specs,
        })
    }

    /// The specs of one experiment, paper claims first, in file order.
    pub fn of(&self, experiment: &str) -> Vec<ClaimSpec> {
        self.specs
            .iter()
            .filter(|s| s.experiment == experiment)
            .cloned()
            .collect()
    }

    /// Every `decided_by` profile of `experiment`'s claims must be one of
    /// its `profiles`: an error names the file, the claim and the profile.
    pub fn check_profiles(&self, experiment: &str, profiles: &[String]) -> Result<()> {
        for s in self.specs.iter().filter(|s| s.experiment == experiment) {
            if let Some(p) = s.decided_by.iter().find(|p| !profiles.contains(p)) {
                return Err(Error::File {
                    path: self.path.clone(),
                    msg: format!(
                        "{}: `decided_by` names profile `{p}`, which experiments/{experiment}.toml lacks (profiles: {})",
                        s.label(),
                        profiles.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }
}

/// One spec's checks beyond its types; the message names the key.
fn check(s: &ClaimSpec, paper: &PaperNumbers) -> std::result::Result<(), String> {
    for (key, v) in [
        ("experiment", &s.experiment),
        ("id", &s.id),
        ("statement", &s.statement),
        ("quote", &s.quote),
        ("source", &s.source),
    ] {
        if v.trim().is_empty() {
            return Err(format!("`{key}` is empty"));
        }
    }
    if s.arms.len() != s.kind.arms() {
        return Err(format!(
            "`arms` names {} arm(s); kind {} compares {}",
            s.arms.len(),
            s.kind.as_str(),
            s.kind.arms()
        ));
    }
    if s.decided_by.is_empty() {
        return Err("`decided_by` is empty: name the profiles whose budget decides it".into());
    }
    if s.unit.is_none() && s.quantity.default_unit().is_none() {
        return Err("`unit` is required with a custom quantity".into());
    }
    check_kind_keys(s)?;
    check_reasons(s)?;
    check_paper_keys(s, paper)
}

/// Keys a kind needs, and keys it would silently ignore.
fn check_kind_keys(s: &ClaimSpec) -> std::result::Result<(), String> {
    let k = s.kind;
    let wants = [
        (
            "direction",
            s.direction.is_some(),
            matches!(k, Kind::Directional | Kind::Paired),
        ),
        ("better", s.better.is_some(), k == Kind::NoBetter),
        (
            "margin",
            s.margin.is_some(),
            matches!(k, Kind::NoBetter | Kind::DifferLittle),
        ),
        ("band", s.band.is_some(), k == Kind::Ratio),
        ("level", s.level.is_some(), k == Kind::Level),
    ];
    for (key, given, needed) in wants {
        if given && !needed {
            return Err(format!("`{key}` does not apply to kind {}", k.as_str()));
        }
        if needed && !given {
            return Err(format!("kind {} needs `{key}`", k.as_str()));
        }
    }
    if let Some(m) = s.margin {
        let ok = m.is_finite() && (m > 0.0 || (m == 0.0 && k == Kind::NoBetter));
        if !ok {
            return Err(format!("`margin` {m} must be finite and positive"));
        }
    }
    if let Some([low, high]) = s.band {
        if !(low.is_finite() && high.is_finite() && 0.0 < low && low < high) {
            return Err(format!("`band` [{low}, {high}] needs 0 < low < high"));
        }
    }
    if let Some(l) = &s.level {
        if !(l.tolerance.is_finite() && l.tolerance > 0.0 && l.offset.is_finite()) {
            return Err(format!(
                "`level`: tolerance {} must be positive and offset {} finite",
                l.tolerance, l.offset
            ));
        }
        if l.offset != 0.0
            && l.offset_reason
                .as_deref()
                .is_none_or(|r| r.trim().is_empty())
        {
            return Err("`level.offset` is not 0: give `level.offset_reason`".into());
        }
    }
    Ok(())
}

/// Every margin and stated effect comes with its reason.
fn check_reasons(s: &ClaimSpec) -> std::result::Result<(), String> {
    let given = |r: &Option<String>| r.as_deref().is_some_and(|r| !r.trim().is_empty());
    let fixed = s.margin.is_some() || s.band.is_some() || s.level.is_some();
    if fixed && !given(&s.margin_reason) {
        return Err("a margin, band or tolerance needs `margin_reason` (one line: why this value, fixed in advance)".into());
    }
    if !fixed && s.margin_reason.is_some() {
        return Err("`margin_reason` without a margin, band or level".into());
    }
    match (s.min_effect, given(&s.min_effect_reason)) {
        (Some(m), _) if !(m.is_finite() && m >= 0.0) => {
            Err(format!("`min_effect` {m} must be finite and >= 0"))
        }
        (Some(_), false) => Err("`min_effect` needs `min_effect_reason`".into()),
        (None, true) => Err("`min_effect_reason` without `min_effect`".into()),
        _ => match &s.effect {
            Some(e) => check_effect(e),
            None => Ok(()),
        },
    }
}

fn check_effect(e: &EffectSpec) -> std::result::Result<(), String> {
    match (e.keys.len(), e.value) {
        (1 | 2, None) => Ok(()),
        (0, Some(v)) if v.is_finite() => match e.reason.as_deref() {
            Some(r) if !r.trim().is_empty() => Ok(()),
            _ => Err("`effect.value` needs `effect.reason` (the paper gives no number)".into()),
        },
        _ => Err("`effect` takes `keys` (one paper number, or two: a - b) or a finite `value` with `reason`".into()),
    }
}

/// Paper numbers named by the claim must be in the paper's CSV.
fn check_paper_keys(s: &ClaimSpec, paper: &PaperNumbers) -> std::result::Result<(), String> {
    let mut keys: Vec<(&str, &String)> = s.numbers.iter().map(|k| ("numbers", k)).collect();
    if let Some(e) = &s.effect {
        keys.extend(e.keys.iter().map(|k| ("effect.keys", k)));
    }
    if let Some(l) = &s.level {
        keys.push(("level.paper", &l.paper));
    }
    for (key, k) in keys {
        match paper.get(k) {
            None => {
                return Err(format!(
                    "`{key}` names paper number `{k}`, which {} lacks",
                    paper.path.display()
                ))
            }
            Some(n) if n.value.is_none() && key != "numbers" => {
                return Err(format!("`{key}`: paper number `{k}` has no value"))
            }
            _ => {}
        }
    }
    Ok(())
}
