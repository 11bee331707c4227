//! Reports: paper numbers beside measured ones, and each paper claim judged
//! on the logged metrics: the claims as data (`spec`, one file per paper
//! beside its numbers), judged in one place (`judge`: the claim-stats test of
//! each kind, Holm, the regime, the seeds needed), written to `report.md`
//! and `claims.json`.
mod judge;
mod spec;
mod summary;

use crate::error::{Error, IoContext, Result};
use crate::fidelity::Fidelity;
use crate::io::write_bytes_atomic;
use crate::metrics::{MetricRow, RowKind};
pub use claim_stats::{student_t_upper, Better, Bounded, Direction, Margin, Test, ALPHA};
pub use judge::{judge, Claim, Measured, Numbers, Samples, Verdict, RULE};
use polars::prelude::{NamedFrom, Series};
use serde::{Deserialize, Serialize};
pub use spec::{
    claims_path, ClaimSpec, ClaimSpecs, EffectSpec, Kind, LevelSpec, Quantity, Section,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
pub use summary::{arm_stats, run_summaries, write_csv, Arm, RunSummary};

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

/// "12.34 ± 0.56% (n=5)", "6.20 ± 1.10x (n=3)": values already in `unit`.
pub fn pct_stats_unit(values: &[f64], unit: &str) -> String {
    let sep = if unit == "%" || unit == "x" || unit.is_empty() {
        ""
    } else {
        " "
    };
    match stats(values) {
        None => "—".into(),
        Some(s) if s.n > 1 => format!("{:.2} ± {:.2}{sep}{unit} (n={})", s.mean, s.std, s.n),
        Some(s) => format!("{:.2}{sep}{unit} (n=1)", s.mean),
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

    /// Each seed's value of a generic [`Quantity`] for run `name` (errors in
    /// %, gaps in points); `None` for a custom quantity, which its
    /// experiment measures. The one definition of each quantity.
    pub fn per_seed(&self, q: &Quantity, name: &str) -> Option<BTreeMap<i64, f64>> {
        let rows = self.by_name.get(name);
        let each = |f: &dyn Fn(&[MetricRow]) -> Option<f64>| -> BTreeMap<i64, f64> {
            rows.map(|seeds| {
                seeds
                    .iter()
                    .filter_map(|(seed, r)| Some((*seed, 100.0 * f(r.as_slice())?)))
                    .collect()
            })
            .unwrap_or_default()
        };
        let test = |r: &[MetricRow]| r.iter().rev().find_map(|r| r.test_error);
        // The mean of the last tenth of the logging windows (at least one).
        let train = |r: &[MetricRow]| {
            let k = ((r.len() as f64 * 0.1).ceil() as usize).clamp(1, r.len().max(1));
            let last = &r[r.len().saturating_sub(k)..];
            (!last.is_empty())
                .then(|| last.iter().map(|r| r.train_error).sum::<f64>() / last.len() as f64)
        };
        let eval_pair = |r: &[MetricRow]| {
            r.iter()
                .rev()
                .find_map(|r| Some((r.test_error?, r.train_eval_error?)))
        };
        Some(match q {
            Quantity::TestError => each(&test),
            Quantity::TrainError => each(&train),
            Quantity::TrainEvalError => each(&|r| Some(eval_pair(r)?.1)),
            Quantity::Gap => each(&|r| Some(test(r)? - train(r)?)),
            Quantity::EvalGap => each(&|r| eval_pair(r).map(|(t, e)| t - e)),
            Quantity::Custom(_) => return None,
        })
    }

    /// The measurement of a claim whose quantity is generic, from its
    /// spec's arms (run names): missing, naming them, where an arm was not run.
    pub fn measure(&self, spec: &ClaimSpec) -> Measured {
        let absent: Vec<&str> = spec
            .arms
            .iter()
            .filter(|a| !self.has(a))
            .map(String::as_str)
            .collect();
        if !absent.is_empty() {
            return Measured::missing(&spec.id, format!("not run: {}", absent.join(", ")));
        }
        let arms: Option<Vec<BTreeMap<i64, f64>>> = spec
            .arms
            .iter()
            .map(|a| self.per_seed(&spec.quantity, a))
            .collect();
        match arms {
            Some(arms) => Measured::arms(&spec.id, arms),
            None => Measured::missing(
                &spec.id,
                "a custom quantity: its experiment measures it, not the generic runs",
            ),
        }
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
    /// For people: the commit when the runs and the report share it, else
    /// "runs trained at A, B; report drawn at C".
    pub commit: String,
    /// The commits whose binaries trained the runs (each run's segments,
    /// `Provenance::trained_at`), distinct, sorted; empty in reports drawn
    /// before this field existed (`trained_and_drawn` reads those).
    #[serde(default)]
    pub trained_at: Vec<String>,
    /// The commit of the checkout the report was drawn at.
    #[serde(default)]
    pub drawn_at: String,
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
    /// `(trained_at, drawn_at)`: the fields, or for a report drawn before
    /// they existed, parsed from `commit` (one commit, or "runs trained at A,
    /// B; report drawn at C").
    pub fn trained_and_drawn(&self) -> (Vec<String>, String) {
        if !self.drawn_at.is_empty() {
            return (self.trained_at.clone(), self.drawn_at.clone());
        }
        let legacy = self
            .commit
            .strip_prefix("runs trained at ")
            .and_then(|rest| rest.split_once("; report drawn at "));
        match legacy {
            Some((runs, drawn)) => (
                runs.split(", ").map(str::to_string).collect(),
                drawn.to_string(),
            ),
            None => (vec![self.commit.clone()], self.commit.clone()),
        }
    }

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
/// each claim ([`Claim`]) `{id, kind, section: "paper" | "early", statement,
/// paper, note, verdict: "pass" | "fail" | "inconclusive" | "not_evaluated" |
/// "not_decided", reason (text, for the last three), decided, decided_by,
/// quantity, unit, margin_reason, test, effect, std_error, ci_low, ci_high,
/// ci_level, p, p_opposite, p_adjusted, n_a, n_b, df, alpha, margin,
/// region_low, region_high, basis, seeds_needed, why, paper_value}`: every
/// statistic a number (or null where the test has none). Effects are in the
/// claim's `unit` (points for errors, a factor for ratios).
pub const CLAIMS_SCHEMA: u32 = 3;

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

/// The claims in three parts: those this report decides, those it cannot
/// decide at its budget, and the early-training checks, each with its counts.
fn claims_markdown(s: &mut String, claims: &[Claim]) {
    let paper: Vec<&Claim> = claims
        .iter()
        .filter(|c| c.section == Section::Paper)
        .collect();
    let decided: Vec<&Claim> = paper.iter().copied().filter(|c| c.decided).collect();
    let undecided: Vec<&Claim> = paper.iter().copied().filter(|c| !c.decided).collect();
    let early: Vec<&Claim> = claims
        .iter()
        .filter(|c| c.section == Section::Early)
        .collect();
    let _ = writeln!(
        s,
        "## Claims\n\nRule: {RULE}.\n\nFamily-wise error: Holm over the {} claims decided here (and separately over the {} early-training checks decided here); `p_adj` is Holm's adjusted p.\n",
        decided.len(),
        early.iter().filter(|c| c.decided).count()
    );
    claim_table(s, "Claims decided at this budget", &decided);
    claim_table(s, "Claims not decided at this budget", &undecided);
    claim_table(
        s,
        "Early-training checks (weaker statements a shortened run can test; never counted as the paper's claims)",
        &early,
    );
}

fn claim_table(s: &mut String, title: &str, claims: &[&Claim]) {
    let _ = writeln!(s, "\n### {title}\n");
    if claims.is_empty() {
        let _ = writeln!(s, "None.");
        return;
    }
    let count = |k: &str| claims.iter().filter(|c| c.verdict.kind() == k).count();
    let _ = writeln!(
        s,
        "{} PASS, {} FAIL, {} INCONCLUSIVE, {} NOT EVALUATED, {} NOT DECIDED.\n",
        count("pass"),
        count("fail"),
        count("inconclusive"),
        count("not_evaluated"),
        count("not_decided")
    );
    let _ = writeln!(
        s,
        "| # | kind | claim | paper | measured | test | effect [CI] | p / p_adj | margin | verdict |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for c in claims {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | **{}** |",
            c.id,
            c.kind.as_str(),
            esc(&c.statement),
            esc(&c.paper),
            esc(&format!("{} ({})", c.measured, c.quantity)),
            c.numbers.test.map_or("—", |t| t.describe()),
            effect_text(c),
            p_text(&c.numbers),
            esc(&margin_text(c)),
            esc(&c.verdict.label())
        );
    }
}

fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "—".into(), |v| format!("{v:.3}"))
}

fn effect_text(c: &Claim) -> String {
    let n = &c.numbers;
    match (n.effect, n.ci_low, n.ci_high) {
        (None, _, _) => "—".into(),
        (Some(e), Some(l), Some(h)) => format!("{e:.3} {} [{l:.3}, {h:.3}]", c.unit),
        (Some(e), _, _) => format!("{e:.3} {}", c.unit),
    }
}

fn p_text(n: &Numbers) -> String {
    match n.p_adjusted {
        Some(a) => format!("{} / {a:.3}", num(n.p)),
        None => num(n.p),
    }
}

fn margin_text(c: &Claim) -> String {
    let n = &c.numbers;
    let region = match (n.region_low, n.region_high) {
        (Some(l), Some(h)) => format!("holds in ({l:.3}, {h:.3})"),
        (None, Some(h)) => format!("holds below {h:.3}"),
        (Some(l), None) => format!("holds above {l:.3}"),
        (None, None) => "—".into(),
    };
    if c.margin_reason.is_empty() {
        region
    } else {
        format!("{region}: {}", c.margin_reason)
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
    // Where the arms measured the training error in evaluation mode
    // (`data.train_eval_images`), the gap is that one: the quantity the
    // overfitting claims use (issue 28); else the training-mode one, said so.
    let eval_mode = arms.iter().all(|a| runs.arm(a).eval_gap.is_some());
    let (train_head, gap_head) = if eval_mode {
        (
            "training error (evaluation mode)",
            "test - training (evaluation mode)",
        )
    } else {
        (
            "training error (training mode)",
            "test - training (training mode)",
        )
    };
    Table {
        title: title.into(),
        header: ["arm", "test error (mean ± std)", train_head, gap_head]
            .map(String::from)
            .to_vec(),
        rows: arms
            .iter()
            .map(|a| {
                let arm = runs.arm(a);
                let (train, gap) = if eval_mode {
                    (arm.train_eval_error, arm.eval_gap)
                } else {
                    (arm.train_error, arm.gap)
                };
                vec![
                    a.to_string(),
                    pct_stats(arm.test_error),
                    pct_stats(train),
                    pct_stats(gap),
                ]
            })
            .collect(),
        note: note.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(verdict: Verdict, effect: Option<f64>) -> Claim {
        Claim {
            id: "1".into(),
            statement: "s".into(),
            measured: "m".into(),
            verdict,
            numbers: Numbers {
                effect,
                n_a: Some(3),
                p: effect.map(|_| 0.01),
                ..Numbers::default()
            },
            ..Claim::default()
        }
    }

    #[test]
    fn claims_json_is_typed_flat_and_numeric() {
        let j = serde_json::to_value(claim(Verdict::Pass, Some(-10.0))).expect("json");
        assert_eq!(j["verdict"], "pass");
        assert_eq!(j["effect"].as_f64(), Some(-10.0), "{j}");
        assert_eq!((j["n_a"].as_u64(), j["p"].as_f64()), (Some(3), Some(0.01)));
        assert_eq!(
            (j["note"].as_str(), j["section"].as_str()),
            (Some("m"), Some("paper"))
        );
        let back: Claim = serde_json::from_value(j).expect("reads back");
        assert_eq!(back.verdict, Verdict::Pass);
        let j =
            serde_json::to_value(claim(Verdict::NotDecided("budget".into()), None)).expect("json");
        assert_eq!(
            (j["verdict"].as_str(), j["reason"].as_str()),
            (Some("not_decided"), Some("budget"))
        );
        assert!(j["effect"].is_null());
    }

    #[test]
    fn claims_json_reads_back_through_its_type_and_refuses_another_schema() {
        let dir = tempfile::tempdir().expect("tmp");
        let header = Header {
            datasets: vec!["CIFAR-10".into()],
            commit: "abc".into(),
            ..Header::default()
        };
        let c = claim(Verdict::Inconclusive("one seed".into()), Some(1.5));
        write(dir.path(), &header, std::slice::from_ref(&c), &[], &[], &[]).expect("write");
        let path = dir.path().join("claims.json");
        let back = ClaimsFile::read(&path).expect("reads back");
        assert_eq!((back.schema, back.claims), (CLAIMS_SCHEMA, vec![c]));
        assert_eq!(back.header.datasets, header.datasets);
        let text = std::fs::read_to_string(&path).expect("read");
        // Keys sorted, as the files written before the type existed.
        assert!(text.find("\"claims\"") < text.find("\"header\""), "{text}");
        std::fs::write(&path, text.replace("\"schema\": 3", "\"schema\": 2")).expect("write");
        let e = ClaimsFile::read(&path).expect_err("schema 2").to_string();
        assert!(e.contains("claims.json") && e.contains("schema 2"), "{e}");
    }

    #[test]
    fn the_report_separates_decided_undecided_and_early_claims() {
        let dir = tempfile::tempdir().expect("tmp");
        let decided = Claim {
            decided: true,
            ..claim(Verdict::Pass, Some(1.0))
        };
        let undecided = Claim {
            id: "2".into(),
            statement: "not at this budget".into(),
            ..claim(Verdict::NotDecided("budget".into()), Some(1.0))
        };
        let early = Claim {
            id: "1e".into(),
            section: Section::Early,
            statement: "after one epoch".into(),
            decided: true,
            ..claim(Verdict::Pass, Some(1.0))
        };
        let all = [decided, undecided, early];
        write(dir.path(), &Header::default(), &all, &[], &[], &[]).expect("write");
        let md = std::fs::read_to_string(dir.path().join("report.md")).expect("md");
        let at = |t: &str| md.find(t).unwrap_or_else(|| panic!("no {t:?} in {md}"));
        let (d, u, e) = (
            at("### Claims decided at this budget"),
            at("### Claims not decided at this budget"),
            at("### Early-training checks"),
        );
        assert!(d < u && u < e, "{md}");
        assert!(at("not at this budget") > u && at("not at this budget") < e);
        assert!(at("after one epoch") > e);
        assert!(md.contains("Holm over the 1 claims decided here"), "{md}");
    }

    #[test]
    fn trained_and_drawn_commits_are_read_from_fields_or_legacy_prose() {
        let fields = Header {
            trained_at: vec!["aaaa".into(), "bbbb".into()],
            drawn_at: "cccc".into(),
            commit: "prose".into(),
            ..Header::default()
        };
        assert_eq!(
            fields.trained_and_drawn(),
            (vec!["aaaa".into(), "bbbb".into()], "cccc".into())
        );
        let legacy = Header {
            commit: "runs trained at 7ddf9c9147, 98272d7716+dirty; report drawn at 37c0305e13"
                .into(),
            ..Header::default()
        };
        assert_eq!(
            legacy.trained_and_drawn(),
            (
                vec!["7ddf9c9147".into(), "98272d7716+dirty".into()],
                "37c0305e13".into()
            )
        );
        let one = Header {
            commit: "37c0305e13".into(),
            ..Header::default()
        };
        assert_eq!(
            one.trained_and_drawn(),
            (vec!["37c0305e13".into()], "37c0305e13".into())
        );
    }
}
