//! The all-claims summary: every experiment's `claims.json` in one table, and
//! the regressions against the previously committed summary (`--summary-only`);
//! `compare`: a fresh nightly against its baseline; `state`: the nightly's own
//! directory.
pub mod compare;
pub mod state;

use records::report::{Claim, Section};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// One claim as the summary keeps it (`SUMMARY.csv`, `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub experiment: String,
    pub profile: String,
    pub id: String,
    /// `paper` (a claim of the paper) or `early` (an early-training check).
    #[serde(default)]
    pub section: String,
    /// Whether its profile's budget decides it.
    #[serde(default)]
    pub decided: bool,
    pub statement: String,
    pub paper: String,
    pub measured: String,
    /// "PASS", "FAIL", "INCONCLUSIVE (...)", "NOT EVALUATED (...)" or "NOT DECIDED (...)".
    pub verdict: String,
    /// The machine-readable verdict: pass, fail, inconclusive, not_evaluated, not_decided.
    #[serde(default)]
    pub verdict_kind: String,
    pub dataset: String,
    /// `paper`, `analogue` or `shortened` (the report header's label).
    #[serde(default)]
    pub fidelity: String,
    /// The commits whose binaries trained the claim's runs, space-separated
    /// (`Header::trained_and_drawn`).
    #[serde(default)]
    pub trained_at: String,
    /// The commit the report was drawn at.
    #[serde(default)]
    pub drawn_at: String,
}

impl Row {
    /// For the Markdown table: one commit where the runs and the report
    /// share it, else both.
    fn commit(&self) -> String {
        if self.trained_at == self.drawn_at || self.trained_at.is_empty() {
            self.drawn_at.clone()
        } else {
            format!("trained at {}; drawn at {}", self.trained_at, self.drawn_at)
        }
    }

    pub fn key(&self) -> String {
        format!("{}/{}#{}", self.experiment, self.profile, self.id)
    }

    /// The claim across profiles: `<experiment>#<id>`.
    fn claim_key(&self) -> (String, String) {
        (self.experiment.clone(), self.id.clone())
    }

    fn is_early(&self) -> bool {
        self.section == "early"
    }
}

/// One claim's numbers, a row of `results/claims.csv`: every statistic a
/// number (empty where the test has none), across experiments and profiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumbersRow {
    pub experiment: String,
    pub profile: String,
    pub fidelity: String,
    pub section: String,
    pub id: String,
    pub kind: String,
    pub decided: bool,
    pub verdict: String,
    /// claim-stats' test name (`welch_one_sided`, `welch_tost`, ...).
    pub test: String,
    pub unit: String,
    pub effect: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub ci_level: Option<f64>,
    pub p: Option<f64>,
    pub p_adjusted: Option<f64>,
    pub n_a: Option<usize>,
    pub n_b: Option<usize>,
    pub df: Option<f64>,
    /// The margin passed to the test: the non-superiority or equivalence
    /// margin, the level's tolerance; empty for directional, paired, ratio.
    pub margin: Option<f64>,
    /// The claim holds where the effect lies in (region_low, region_high).
    pub region_low: Option<f64>,
    pub region_high: Option<f64>,
    pub seeds_needed: Option<usize>,
    pub dataset: String,
    /// As in [`Row`].
    pub trained_at: String,
    pub drawn_at: String,
}

fn margin_number(c: &Claim) -> Option<f64> {
    use records::report::Margin;
    match c.numbers.margin? {
        Margin::NonSuperiority { margin } | Margin::Equivalence { margin } => Some(margin),
        Margin::Level { tolerance, .. } => Some(tolerance),
        Margin::RatioBand { .. } => None,
    }
}

fn section_name(s: Section) -> &'static str {
    match s {
        Section::Paper => "paper",
        Section::Early => "early",
    }
}

/// Every claim of the given experiments' profiles, both as summary rows
/// and as numbers.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    pub rows: Vec<Row>,
    pub numbers: Vec<NumbersRow>,
}

/// Reads `<results>/<experiment>/<profile>/claims.json` of the given
/// experiments (through the type that wrote them); a missing file is skipped,
/// an unreadable one is an error naming it.
pub fn collect(results: &Path, experiments: &[String], profile: &str) -> anyhow::Result<Vec<Row>> {
    Ok(collect_profiles(results, experiments, &[profile.to_string()])?.rows)
}

/// The profiles with a `claims.json` under `<results>/<experiment>/`, sorted.
pub fn profiles_of(results: &Path, experiment: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(results.join(experiment))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().join("claims.json").is_file())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// [`collect`] over several profiles, with the numbers of each claim.
pub fn collect_profiles(
    results: &Path,
    experiments: &[String],
    profiles: &[String],
) -> anyhow::Result<Collected> {
    let mut out = Collected::default();
    for e in experiments {
        for profile in profiles {
            let path = results.join(e).join(profile).join("claims.json");
            if !path.exists() {
                continue;
            }
            let file = records::report::ClaimsFile::read(&path)?;
            let h = &file.header;
            let (trained, drawn) = h.trained_and_drawn();
            let trained = trained.join(" ");
            for c in file.claims {
                out.numbers
                    .push(numbers_row(e, profile, h, &c, (&trained, &drawn)));
                out.rows.push(Row {
                    experiment: e.clone(),
                    profile: profile.clone(),
                    id: c.id,
                    section: section_name(c.section).into(),
                    decided: c.decided,
                    statement: c.statement,
                    paper: c.paper,
                    measured: c.measured,
                    verdict: c.verdict.label(),
                    verdict_kind: c.verdict.kind().into(),
                    dataset: h.datasets.join(", "),
                    fidelity: h.fidelity.to_string(),
                    trained_at: trained.clone(),
                    drawn_at: drawn.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// One claim's numbers; `commits`: the report's trained-at (space-separated)
/// and drawn-at commits.
fn numbers_row(
    e: &str,
    profile: &str,
    h: &records::report::Header,
    c: &Claim,
    (trained_at, drawn_at): (&str, &str),
) -> NumbersRow {
    let n = &c.numbers;
    NumbersRow {
        experiment: e.into(),
        profile: profile.into(),
        fidelity: h.fidelity.to_string(),
        section: section_name(c.section).into(),
        id: c.id.clone(),
        kind: c.kind.as_str().into(),
        decided: c.decided,
        verdict: c.verdict.kind().into(),
        test: n
            .test
            .and_then(|t| serde_json::to_value(t).ok())
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        unit: c.unit.clone(),
        effect: n.effect,
        ci_low: n.ci_low,
        ci_high: n.ci_high,
        ci_level: n.ci_level,
        p: n.p,
        p_adjusted: n.p_adjusted,
        n_a: n.n_a,
        n_b: n.n_b,
        df: n.df,
        margin: margin_number(c),
        region_low: n.region_low,
        region_high: n.region_high,
        seeds_needed: n.seeds_needed,
        dataset: h.datasets.join(", "),
        trained_at: trained_at.into(),
        drawn_at: drawn_at.into(),
    }
}

/// `SUMMARY.csv` (one row per claim) or `claims.csv` (its numbers).
pub fn csv_text<T: Serialize>(rows: &[T]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// Claims that passed before and do not pass now.
pub fn regressions(before: &[Row], now: &[Row]) -> Vec<(Row, Option<Row>)> {
    let now_by: BTreeMap<String, &Row> = now.iter().map(|r| (r.key(), r)).collect();
    before
        .iter()
        .filter(|b| b.verdict == "PASS")
        .filter_map(|b| match now_by.get(&b.key()) {
            Some(n) if n.verdict == "PASS" => None,
            Some(n) => Some((b.clone(), Some((*n).clone()))),
            None => None,
        })
        .collect()
}

/// `SUMMARY.md`: the claims in three parts, each with its verdict counts:
/// the paper's claims decided at a budget that can decide them, those not yet
/// run at such a budget (shown with whatever shortened run there is, NOT
/// DECIDED), and the early-training checks.
pub fn markdown(rows: &[Row]) -> String {
    let mut s = String::from("# All paper claims\n\nGenerated by `scripts/nightly` from each experiment's `claims.json`; the same rows are in `SUMMARY.csv`, and every claim's numbers (effect, confidence interval, p, Holm-adjusted p, seeds per arm, degrees of freedom, test, margin) in `claims.csv`. Each claim is judged by the test of its kind (directional: one-sided Welch; no_better: Welch non-superiority; differ_little: Welch TOST; ratio: TOST on log ratios, or a sign test where seeds are only bounded; paired: paired t; level: one-sample TOST), at α = 0.05, with margins fixed in advance in `experiments/papers/<paper>.claims.toml`; Holm's adjustment controls the family-wise error over the claims decided in each report. A claim is decided only by the profiles its spec names: a claim about trained networks is never decided on a shortened profile. Each profile carries its fidelity: `paper` (the paper's experiment), `analogue` (the paper's recipe on a stand-in, or a documented adaptation) or `shortened` (a reduced budget).\n");
    let decided: BTreeSet<(String, String)> = rows
        .iter()
        .filter(|r| r.decided)
        .map(Row::claim_key)
        .collect();
    let paper_decided: Vec<&Row> = rows.iter().filter(|r| !r.is_early() && r.decided).collect();
    let paper_not_yet: Vec<&Row> = rows
        .iter()
        .filter(|r| !r.is_early() && !decided.contains(&r.claim_key()))
        .collect();
    let early: Vec<&Row> = rows
        .iter()
        .filter(|r| r.is_early() && (r.decided || !decided.contains(&r.claim_key())))
        .collect();
    section(
        &mut s,
        "Claims decided at the paper's budget",
        &paper_decided,
    );
    section(
        &mut s,
        "Claims not yet run at that budget (shown at the budget they were run at, NOT DECIDED)",
        &paper_not_yet,
    );
    section(
        &mut s,
        "Early-training checks (weaker statements a shortened run can test; never counted as the paper's claims)",
        &early,
    );
    s
}

fn section(s: &mut String, title: &str, rows: &[&Row]) {
    let _ = writeln!(s, "\n## {title}\n");
    if rows.is_empty() {
        let _ = writeln!(s, "None.");
        return;
    }
    let _ = writeln!(
        s,
        "| experiment | profile | # | claim | paper | measured | verdict | dataset | commit |\n|---|---|---|---|---|---|---|---|---|"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} ({}) | {} | {} | {} | {} | **{}** | {} | `{}` |",
            r.experiment,
            r.profile,
            r.fidelity,
            r.id,
            esc(&r.statement),
            esc(&r.paper),
            esc(&r.measured),
            esc(&r.verdict),
            r.dataset,
            r.commit()
        );
    }
    let count = |prefix: &str| {
        rows.iter()
            .filter(|r| r.verdict.starts_with(prefix))
            .count()
    };
    let _ = writeln!(
        s,
        "\n{} PASS, {} FAIL, {} INCONCLUSIVE, {} NOT EVALUATED, {} NOT DECIDED.",
        count("PASS"),
        count("FAIL"),
        count("INCONCLUSIVE"),
        count("NOT EVALUATED"),
        count("NOT DECIDED")
    );
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
