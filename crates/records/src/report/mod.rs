//! Reports: paper numbers beside measured ones, and each paper claim checked
//! against the logged metrics by the project's one rule ([`RULE`]): PASS,
//! FAIL, INCONCLUSIVE or NOT EVALUATED, with its numbers.
mod summary;
mod verdict;

use crate::error::{Error, IoContext, Result};
use crate::fidelity::Fidelity;
use crate::io::write_bytes_atomic;
use crate::metrics::{MetricRow, RowKind};
use polars::prelude::{NamedFrom, Series};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
pub use summary::{arm_stats, run_summaries, write_csv, Arm, RunSummary};
pub use verdict::{
    compare, ratio_band, student_t_upper, Comparison, Direction, Ratio, Verdict, ALPHA, RULE,
};

/// What training budget a claim needs before its verdict means anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// Any profile: the effect shows early (or is a fact of the built nets).
    #[default]
    Any,
    /// Fully trained networks (final errors, trained layer responses): NOT
    /// EVALUATED on a shortened profile.
    Full,
}

/// A statement of the paper, checked on our measurements. In `claims.json`
/// (schema in `report::write`): `verdict` is a lower-case kind, the
/// comparison's numbers are numbers, and `note` holds the measured text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub id: String,
    pub statement: String,
    /// What the paper reports (numbers, figure/table/section).
    pub paper: String,
    /// What we measured, with numbers.
    #[serde(rename = "note")]
    pub measured: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The statistics behind a comparative verdict.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// The paper's own number for the claim, where it gives one.
    #[serde(default)]
    pub paper_value: Option<f64>,
    #[serde(default)]
    pub needs: Budget,
}

impl Default for Claim {
    fn default() -> Self {
        Claim {
            id: String::new(),
            statement: String::new(),
            paper: String::new(),
            measured: String::new(),
            verdict: Verdict::NotEvaluated("no verdict given".into()),
            comparison: None,
            paper_value: None,
            needs: Budget::Any,
        }
    }
}

impl Claim {
    /// A comparative claim from one [`compare_lower`] / [`compare_arms`] result
    /// (measured text, verdict, statistics); other fields at their defaults.
    pub fn compared(
        id: &str,
        statement: impl Into<String>,
        paper: String,
        (measured, verdict, comparison): (String, Verdict, Option<Comparison>),
    ) -> Claim {
        Claim {
            id: id.into(),
            statement: statement.into(),
            paper,
            measured,
            verdict,
            comparison,
            ..Default::default()
        }
    }

    /// The verdict a report shows: a claim that needs fully trained networks
    /// is NOT EVALUATED on a shortened profile, whatever the numbers say.
    pub fn for_profile(mut self, fidelity: Fidelity) -> Self {
        if self.needs == Budget::Full
            && fidelity == Fidelity::Shortened
            && !matches!(self.verdict, Verdict::NotEvaluated(_))
        {
            self.verdict = Verdict::NotEvaluated(
                "needs fully trained networks; this profile is shortened".into(),
            );
        }
        self
    }
}

/// One verdict for a claim made of several comparisons: FAIL if any fails,
/// PASS if all pass, NOT EVALUATED if one could not be made, else INCONCLUSIVE.
pub fn all_of(verdicts: &[Verdict]) -> Verdict {
    if let Some(v) = verdicts
        .iter()
        .find(|v| matches!(v, Verdict::NotEvaluated(_)))
    {
        return v.clone();
    }
    if verdicts.contains(&Verdict::Fail) {
        return Verdict::Fail;
    }
    if !verdicts.is_empty() && verdicts.iter().all(|v| *v == Verdict::Pass) {
        return Verdict::Pass;
    }
    let mut why: Vec<String> = Vec::new();
    for v in verdicts {
        if let Verdict::Inconclusive(w) = v {
            if !why.contains(w) {
                why.push(w.clone());
            }
        }
    }
    Verdict::Inconclusive(if why.is_empty() {
        "nothing to compare".into()
    } else {
        why.join("; ")
    })
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub note: String,
}

/// Mean, sample standard deviation, best (minimum) and count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub n: usize,
}

/// Mean, sample std (n - 1), minimum and count of the finite values, by
/// polars; `None` when there are none.
pub fn stats(values: &[f64]) -> Option<Stats> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let s = Series::new("v".into(), &v);
    let n = v.len();
    Some(Stats {
        mean: s.mean()?,
        // ddof = 1: the sample standard deviation over seeds.
        std: if n > 1 { s.std(1)? } else { 0.0 },
        min: s.min::<f64>().ok().flatten()?,
        n,
    })
}

/// "6.43 ± 0.16% (n=5)" from fractions.
pub fn pct_stats(s: Option<Stats>) -> String {
    match s {
        None => "—".into(),
        Some(s) if s.n > 1 => format!("{:.2} ± {:.2}% (n={})", 100.0 * s.mean, 100.0 * s.std, s.n),
        Some(s) => format!("{:.2}% (n=1)", 100.0 * s.mean),
    }
}

pub fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2}%", 100.0 * x)
    } else {
        "—".into()
    }
}

/// Metrics of an experiment grouped by run name, then seed. Window rows only, by iteration.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    pub by_name: BTreeMap<String, BTreeMap<i64, Vec<MetricRow>>>,
    /// The same, per-epoch rows.
    pub epochs_by_name: BTreeMap<String, BTreeMap<i64, Vec<MetricRow>>>,
    /// Each run's (each seed's) final numbers: `summary.csv`.
    pub summaries: Vec<RunSummary>,
    /// Each run name's statistics over seeds.
    pub arms: BTreeMap<String, Arm>,
}

type Grouped = BTreeMap<String, BTreeMap<i64, Vec<MetricRow>>>;

fn group(rows: &[MetricRow], kind: RowKind) -> Grouped {
    let mut by_name: Grouped = BTreeMap::new();
    for r in rows.iter().filter(|r| r.kind == kind) {
        by_name
            .entry(r.run_name.clone())
            .or_default()
            .entry(r.seed)
            .or_default()
            .push(r.clone());
    }
    for seeds in by_name.values_mut() {
        for v in seeds.values_mut() {
            v.sort_by_key(|r| r.iteration);
        }
    }
    by_name
}

impl Runs {
    pub fn new(rows: &[MetricRow]) -> Result<Self> {
        let summaries = summary::run_summaries(rows)?;
        Ok(Self {
            by_name: group(rows, RowKind::Window),
            epochs_by_name: group(rows, RowKind::Epoch),
            arms: summary::arm_stats(&summaries)?,
            summaries,
        })
    }

    /// Per-epoch rows of each seed of a run.
    pub fn epoch_seeds(&self, name: &str) -> Vec<&Vec<MetricRow>> {
        self.epochs_by_name
            .get(name)
            .map(|s| s.values().collect())
            .unwrap_or_default()
    }

    /// For each seed: the first epoch (1-based) whose training error is at or below
    /// `threshold`, with its iteration; None where the run never got there.
    pub fn first_epoch_below(&self, name: &str, threshold: f64) -> Vec<Option<(f64, i64)>> {
        self.epoch_seeds(name)
            .iter()
            .map(|rows| {
                rows.iter()
                    .find(|r| r.train_error <= threshold)
                    .map(|r| (r.epoch.round(), r.iteration))
            })
            .collect()
    }

    /// Epochs trained by each seed.
    pub fn epochs_trained(&self, name: &str) -> Vec<f64> {
        self.epoch_seeds(name)
            .iter()
            .filter_map(|rows| rows.last().map(|r| r.epoch.round()))
            .collect()
    }

    /// Final (train error, test error) of each seed from its last evaluated row.
    pub fn final_gap(&self, name: &str) -> Vec<(f64, f64)> {
        self.seeds(name)
            .iter()
            .filter_map(|rows| {
                rows.iter()
                    .rev()
                    .find(|r| r.test_error.is_some())
                    .map(|r| (r.train_error, r.test_error.unwrap_or(f64::NAN)))
            })
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    pub fn seeds(&self, name: &str) -> Vec<&Vec<MetricRow>> {
        self.by_name
            .get(name)
            .map(|s| s.values().collect())
            .unwrap_or_default()
    }

    /// Last evaluated test error of each seed.
    pub fn final_test_errors(&self, name: &str) -> Vec<f64> {
        self.seeds(name)
            .iter()
            .filter_map(|rows| rows.iter().rev().find_map(|r| r.test_error))
            .collect()
    }

    /// Training error at the end of each seed's run: the mean over the last
    /// `tail` fraction of its logging windows (at least one), which smooths the
    /// noise of single mini-batch windows.
    pub fn final_train_errors(&self, name: &str, tail: f64) -> Vec<f64> {
        self.seeds(name)
            .iter()
            .filter_map(|rows| {
                let k = ((rows.len() as f64 * tail).ceil() as usize).clamp(1, rows.len().max(1));
                let last = &rows[rows.len().saturating_sub(k)..];
                (!last.is_empty())
                    .then(|| last.iter().map(|r| r.train_error).sum::<f64>() / last.len() as f64)
            })
            .collect()
    }

    /// Mean over seeds of (iteration, value) curves, aligned by iteration.
    pub fn mean_curve(
        &self,
        name: &str,
        value: impl Fn(&MetricRow) -> Option<f64>,
    ) -> Vec<(f64, f64)> {
        let mut at: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
        for rows in self.seeds(name) {
            for r in rows {
                if let Some(v) = value(r) {
                    let e = at.entry(r.iteration).or_insert((0.0, 0));
                    e.0 += v;
                    e.1 += 1;
                }
            }
        }
        at.into_iter()
            .map(|(i, (s, n))| (i as f64, s / n as f64))
            .collect()
    }

    pub fn diverged(&self, name: &str) -> bool {
        self.seeds(name)
            .iter()
            .any(|rows| rows.iter().any(|r| r.diverged))
    }
}

/// What the report's header says about where the numbers come from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Header {
    pub title: String,
    pub paper: String,
    pub experiment: String,
    pub profile: String,
    pub profile_description: String,
    /// What the results are: the profile's label, lowered by overrides,
    /// stand-in data and reduced precision.
    pub fidelity: Fidelity,
    /// Why `fidelity` is lower than the profile's own label.
    #[serde(default)]
    pub fidelity_notes: Vec<String>,
    pub datasets: Vec<String>,
    pub devices: Vec<String>,
    /// The runs' numerics (`fp32`, or `tf32`/`bf16-autocast`, which are not the papers').
    #[serde(default)]
    pub precisions: Vec<String>,
    pub seeds: Vec<u64>,
    pub commit: String,
    /// The training code (`provenance::TRAINING_CODE`) that trained the runs,
    /// as `commit` names their commits: one hash when it is this build's;
    /// otherwise (`--allow-mixed`, or runs of an older build) each hash with
    /// the commits that recorded it, and the one that drew the report.
    #[serde(default)]
    pub training_code: String,
    /// The command lines as run: those that trained the runs (from their
    /// provenance) and the one that drew this report.
    pub command: String,
}

impl Header {
    /// One line for figure captions.
    pub fn caption(&self) -> String {
        format!(
            "{} | profile {} ({}) | {}{} | seeds {:?} | commit {}",
            self.datasets.join(", "),
            self.profile,
            self.fidelity_phrase(),
            self.devices.join(", "),
            if self.reduced_precision() {
                format!(
                    " | {}, not the paper's fp32",
                    self.precisions.join("/").to_uppercase()
                )
            } else {
                String::new()
            },
            self.seeds,
            self.commit
        )
    }

    /// "paper", "ANALOGUE of the paper's experiment", "SHORTENED, not the
    /// paper's recipe": what a caption or summary line says about the label.
    pub fn fidelity_phrase(&self) -> &'static str {
        self.fidelity.phrase()
    }

    /// Whether some run trained in another precision than the papers' fp32.
    pub fn reduced_precision(&self) -> bool {
        self.precisions.iter().any(|p| p != "fp32")
    }
}

/// Version of `claims.json`'s layout: `{schema, rule, header, claims: [...]}`,
/// each claim `{id, statement, paper, note, verdict: "pass" | "fail" |
/// "inconclusive" | "not_evaluated", reason (text, for the last two),
/// effect, std_error, n_a, n_b, df, p, min_effect (numbers, for comparative
/// claims), paper_value, needs: "any" | "full"}`. Effects are in percentage
/// points for errors; `p` is one-sided in the paper's direction.
pub const CLAIMS_SCHEMA: u32 = 2;

/// `claims.json` as [`write`] writes it and summaries (the nightly) read it
/// back: one type on both sides, so that a change of the layout is a compile
/// error in its readers, not a silently empty field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimsFile {
    pub schema: u32,
    pub rule: String,
    pub header: Header,
    pub claims: Vec<Claim>,
}

impl ClaimsFile {
    /// Reads a `claims.json` of [`CLAIMS_SCHEMA`]; errors name the file.
    pub fn read(path: &Path) -> Result<Self> {
        let bad = |msg: String| Error::File {
            path: path.to_path_buf(),
            msg,
        };
        let bytes = std::fs::read(path).at(path)?;
        // The version first: another schema's fields would fail with a less
        // useful message than the version's.
        #[derive(Deserialize)]
        struct Version {
            schema: Option<u32>,
        }
        let v: Version = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("not a valid claims.json: {e}")))?;
        if v.schema != Some(CLAIMS_SCHEMA) {
            return Err(bad(format!(
                "claims.json schema {}, this build reads schema {CLAIMS_SCHEMA}: redraw it with the experiment's `--plot-only`",
                v.schema.map_or_else(|| "1 (none given)".into(), |s| s.to_string())
            )));
        }
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not a valid claims.json: {e}")))
    }
}

/// The command that redraws this report: the experiment's `--plot-only` for
/// this profile, with `--out` its results directory (relative to the
/// repository where it is inside it).
fn redraw_command(profile_dir: &Path, header: &Header) -> String {
    let root = crate::repo_root();
    let out = profile_dir.parent().unwrap_or(profile_dir);
    let out = match (out.canonicalize(), root.canonicalize()) {
        (Ok(o), Ok(r)) => o.strip_prefix(&r).map(Path::to_path_buf).unwrap_or(o),
        _ => out.to_path_buf(),
    };
    format!(
        "`cargo run --release -p {} -- --plot-only --profile {} --out {}`",
        header.experiment,
        header.profile,
        out.display()
    )
}

/// Writes `report.md` (and `claims.json` beside it for summaries).
pub fn write(
    dir: &Path,
    header: &Header,
    claims: &[Claim],
    tables: &[Table],
    figures: &[String],
    runs: &[(String, String)],
) -> Result<()> {
    let mut s = String::new();
    header_markdown(&mut s, header);
    claims_markdown(&mut s, claims);
    tables_markdown(&mut s, tables);
    if !figures.is_empty() {
        let _ = writeln!(s, "\n## Figures\n");
        for f in figures {
            let _ = writeln!(s, "![{f}]({f}.png)\n");
        }
    }
    let _ = writeln!(s, "\n## Runs\n\n| run | status |\n|---|---|");
    for (id, st) in runs {
        let _ = writeln!(s, "| {id} | {st} |");
    }
    let _ = writeln!(
        s,
        "\nMetrics: `all_runs.parquet` (all runs; schema in `crates/records/src/metrics.rs`); per-run config, provenance, `metrics.parquet` and `train.log` under `runs/`.\nRegenerate figures and this report from the metrics alone: {}.",
        redraw_command(dir, header)
    );
    write_bytes_atomic(&dir.join("report.md"), s.as_bytes())?;
    let file = ClaimsFile {
        schema: CLAIMS_SCHEMA,
        rule: RULE.into(),
        header: header.clone(),
        claims: claims.to_vec(),
    };
    // Through a `Value`, whose maps are sorted: the key order of the files
    // written before `ClaimsFile` existed.
    let json =
        serde_json::to_value(&file).map_err(|e| Error::Other(format!("claims.json: {e}")))?;
    write_bytes_atomic(
        &dir.join("claims.json"),
        serde_json::to_string_pretty(&json)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    Ok(())
}

/// The report's title, citation and the table of what the results are.
fn header_markdown(s: &mut String, header: &Header) {
    let _ = writeln!(s, "# {}\n", header.title);
    let _ = writeln!(s, "{}\n", header.paper);
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| profile | `{}` |", header.profile);
    let _ = writeln!(
        s,
        "| fidelity | **{}** — {}{} |",
        header.fidelity,
        header.fidelity.meaning(),
        if header.fidelity_notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", header.fidelity_notes.join("; "))
        }
    );
    let _ = writeln!(s, "| profile says | {} |", header.profile_description);
    let _ = writeln!(
        s,
        "| numerics | {}{} |",
        header.precisions.join(", "),
        if header.reduced_precision() {
            " — **reduced precision (`--bf16`/`--tf32`), not the paper's fp32 numerics**"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "| dataset | {} |", header.datasets.join(", "));
    let _ = writeln!(s, "| device | {} |", header.devices.join(", "));
    let _ = writeln!(s, "| seeds | {:?} |", header.seeds);
    let _ = writeln!(s, "| commit | `{}` |", header.commit);
    let _ = writeln!(s, "| training code | `{}` |", header.training_code);
    let _ = writeln!(s, "| command | `{}` |\n", header.command);
}

fn claims_markdown(s: &mut String, claims: &[Claim]) {
    let _ = writeln!(s, "## Claims\n");
    let count = |k: &str| claims.iter().filter(|c| c.verdict.kind() == k).count();
    let _ = writeln!(
        s,
        "{} PASS, {} FAIL, {} INCONCLUSIVE, {} NOT EVALUATED. Verdict rule: {RULE}.\n",
        count("pass"),
        count("fail"),
        count("inconclusive"),
        count("not_evaluated")
    );
    let _ = writeln!(
        s,
        "| # | claim | paper | measured | verdict |\n|---|---|---|---|---|"
    );
    for c in claims {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | **{}** |",
            c.id,
            esc(&c.statement),
            esc(&c.paper),
            esc(&c.measured),
            c.verdict.label()
        );
    }
}

fn tables_markdown(s: &mut String, tables: &[Table]) {
    for t in tables {
        let _ = writeln!(s, "\n## {}\n", t.title);
        let _ = writeln!(s, "| {} |", t.header.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(t.header.len()));
        for r in &t.rows {
            let _ = writeln!(
                s,
                "| {} |",
                r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        if !t.note.is_empty() {
            let _ = writeln!(s, "\n{}", t.note);
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl Runs {
    /// Final numbers of one arm over its seeds (from the polars group-by of
    /// [`summary::arm_stats`]); empty for a run that was not run.
    pub fn arm(&self, name: &str) -> Arm {
        self.arms.get(name).copied().unwrap_or_default()
    }

    /// Mean-over-seeds per-epoch curve (epoch, value in %).
    pub fn epoch_curve(
        &self,
        name: &str,
        value: impl Fn(&MetricRow) -> Option<f64>,
    ) -> Vec<(f64, f64)> {
        let mut at: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
        for rows in self.epoch_seeds(name) {
            for r in rows {
                if let Some(v) = value(r) {
                    let e = at.entry(r.epoch.round() as i64).or_insert((0.0, 0));
                    e.0 += v;
                    e.1 += 1;
                }
            }
        }
        at.into_iter()
            .map(|(e, (s, n))| (e as f64, 100.0 * s / n as f64))
            .collect()
    }
}

/// Mean-over-seeds error curve of a run in % against iterations / 1e4 (ResNet Fig. 6's axes).
pub fn iteration_curve(runs: &Runs, name: &str, test: bool) -> Vec<(f64, f64)> {
    runs.mean_curve(name, |r| {
        if test {
            r.test_error
        } else {
            Some(r.train_error)
        }
    })
    .into_iter()
    .map(|(i, e)| (i / 1e4, 100.0 * e))
    .collect()
}

/// Table rows "arm | test error | training error | gap" for an ablation.
pub fn arm_table(runs: &Runs, title: &str, arms: &[&str], note: &str) -> Table {
    Table {
        title: title.into(),
        header: [
            "arm",
            "test error (mean ± std)",
            "training error",
            "test - training",
        ]
        .map(String::from)
        .to_vec(),
        rows: arms
            .iter()
            .map(|a| {
                let arm = runs.arm(a);
                vec![
                    a.to_string(),
                    pct_stats(arm.test_error),
                    pct_stats(arm.train_error),
                    pct_stats(arm.gap),
                ]
            })
            .collect(),
        note: note.into(),
    }
}

/// "`a` is lower than `b`" by [`RULE`] (fractions, reported in points):
/// the measured text, the verdict and the statistics.
pub fn compare_lower(
    a_name: &str,
    a: Option<Stats>,
    b_name: &str,
    b: Option<Stats>,
) -> (String, Verdict, Option<Comparison>) {
    compare_arms(a_name, a, b_name, b, Direction::Lower, None)
}

/// `a` against `b` in the paper's `direction` by [`RULE`], with an optional
/// minimum effect (points) that decides one-seed arms.
pub fn compare_arms(
    a_name: &str,
    a: Option<Stats>,
    b_name: &str,
    b: Option<Stats>,
    direction: Direction,
    min_effect: Option<f64>,
) -> (String, Verdict, Option<Comparison>) {
    match (a, b) {
        (Some(a), Some(b)) => {
            let (c, v) = compare(a, b, direction, 100.0, min_effect);
            (
                format!(
                    "{a_name} {} vs {b_name} {}: {}",
                    pct_stats(Some(a)),
                    pct_stats(Some(b)),
                    describe(&c)
                ),
                v,
                Some(c),
            )
        }
        _ => (
            "—".into(),
            Verdict::NotEvaluated(format!("{a_name} or {b_name} not run")),
            None,
        ),
    }
}

/// "difference +0.96 ± 0.48 points, p = 0.93": a comparison in words.
pub fn describe(c: &Comparison) -> String {
    match c.p {
        Some(p) => format!(
            "difference {:+.2} ± {:.2} points (n = {} vs {}, one-sided p = {p:.3})",
            c.effect, c.std_error, c.n_a, c.n_b
        ),
        // One seed in an arm: no standard error to show.
        None => format!(
            "difference {:+.2} points (n = {} vs {}: no spread)",
            c.effect, c.n_a, c.n_b
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(verdict: Verdict, comparison: Option<Comparison>) -> Claim {
        Claim {
            id: "1".into(),
            statement: "s".into(),
            measured: "m".into(),
            verdict,
            comparison,
            ..Claim::default()
        }
    }

    #[test]
    fn claims_json_is_typed_and_flat() {
        let st = |mean| Stats {
            mean,
            std: 0.01,
            min: mean,
            n: 3,
        };
        let (c, v) = compare(st(0.30), st(0.40), Direction::Lower, 100.0, None);
        let j = serde_json::to_value(claim(v, Some(c))).expect("json");
        assert_eq!(j["verdict"], "pass");
        assert!(
            j["effect"]
                .as_f64()
                .is_some_and(|e| (e + 10.0).abs() < 1e-9),
            "{j}"
        );
        assert_eq!(j["n_a"], 3);
        assert!(j["p"].as_f64().is_some_and(|p| p < 0.05));
        assert_eq!(j["note"], "m");
        assert_eq!(j["needs"], "any");
        let back: Claim = serde_json::from_value(j).expect("reads back");
        assert_eq!(back.verdict, Verdict::Pass);
        let j = serde_json::to_value(claim(Verdict::Inconclusive("one seed".into()), None))
            .expect("json");
        assert_eq!(
            (j["verdict"].as_str(), j["reason"].as_str()),
            (Some("inconclusive"), Some("one seed"))
        );
        assert!(j.get("effect").is_none());
    }

    #[test]
    fn claims_json_reads_back_through_its_type_and_refuses_another_schema() {
        let dir = tempfile::tempdir().expect("tmp");
        let header = Header {
            datasets: vec!["CIFAR-10".into()],
            commit: "abc".into(),
            ..Header::default()
        };
        let c = claim(Verdict::Inconclusive("one seed".into()), None);
        write(dir.path(), &header, std::slice::from_ref(&c), &[], &[], &[]).expect("write");
        let path = dir.path().join("claims.json");
        let back = ClaimsFile::read(&path).expect("reads back");
        assert_eq!((back.schema, back.claims), (CLAIMS_SCHEMA, vec![c]));
        assert_eq!(back.header.datasets, header.datasets);
        let text = std::fs::read_to_string(&path).expect("read");
        // Keys sorted, as the files written before the type existed.
        assert!(text.find("\"claims\"") < text.find("\"header\""), "{text}");
        std::fs::write(&path, text.replace("\"schema\": 2", "\"schema\": 3")).expect("write");
        let e = ClaimsFile::read(&path).expect_err("schema 3").to_string();
        assert!(e.contains("claims.json") && e.contains("schema 3"), "{e}");
    }

    #[test]
    fn full_budget_claims_are_not_evaluated_on_shortened_profiles() {
        let mut c = claim(Verdict::Pass, None);
        c.needs = Budget::Full;
        assert!(matches!(
            c.clone().for_profile(Fidelity::Shortened).verdict,
            Verdict::NotEvaluated(_)
        ));
        assert_eq!(c.for_profile(Fidelity::Paper).verdict, Verdict::Pass);
    }

    #[test]
    fn combined_verdicts_fail_on_any_failure_and_pass_only_when_all_pass() {
        let inc = Verdict::Inconclusive("x".into());
        assert_eq!(all_of(&[Verdict::Pass, Verdict::Pass]), Verdict::Pass);
        assert_eq!(
            all_of(&[Verdict::Pass, Verdict::Fail, inc.clone()]),
            Verdict::Fail
        );
        assert!(matches!(
            all_of(&[Verdict::Pass, inc]),
            Verdict::Inconclusive(_)
        ));
        assert!(matches!(all_of(&[]), Verdict::Inconclusive(_)));
    }
}
