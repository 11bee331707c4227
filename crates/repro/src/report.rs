//! Reports: paper numbers beside measured ones, and each paper claim checked
//! against the logged metrics as PASS/FAIL with its numbers.
use crate::error::Result;
use crate::metrics::{write_bytes_atomic, MetricRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Verdict {
    Pass,
    Fail,
    /// Not evaluated, with the reason (e.g. the run is not in this profile).
    NotEvaluated(String),
}

impl Verdict {
    pub fn from_bool(ok: bool) -> Self {
        if ok {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
    pub fn label(&self) -> String {
        match self {
            Verdict::Pass => "PASS".into(),
            Verdict::Fail => "FAIL".into(),
            Verdict::NotEvaluated(why) => format!("not evaluated ({why})"),
        }
    }
}

/// A statement of the paper, checked on our measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub id: String,
    pub statement: String,
    /// What the paper reports (numbers, figure/table/section).
    pub paper: String,
    /// What we measured, with numbers.
    pub measured: String,
    pub verdict: Verdict,
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

pub fn stats(values: &[f64]) -> Option<Stats> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    Some(Stats { mean, std, min, n })
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
}

impl Runs {
    pub fn new(rows: &[MetricRow]) -> Self {
        let mut by_name: BTreeMap<String, BTreeMap<i64, Vec<MetricRow>>> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.kind == "window") {
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
        Self { by_name }
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
    pub faithful: bool,
    pub datasets: Vec<String>,
    pub devices: Vec<String>,
    pub seeds: Vec<u64>,
    pub commit: String,
    pub command: String,
}

impl Header {
    /// One line for figure captions.
    pub fn caption(&self) -> String {
        format!(
            "{} | profile {}{} | {} | seeds {:?} | commit {}",
            self.datasets.join(", "),
            self.profile,
            if self.faithful {
                " (paper recipe)"
            } else {
                " (SHORTENED, not the paper's recipe)"
            },
            self.devices.join(", "),
            self.seeds,
            self.commit
        )
    }
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
    let _ = writeln!(s, "# {}\n", header.title);
    let _ = writeln!(s, "{}\n", header.paper);
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(
        s,
        "| profile | `{}`{} |",
        header.profile,
        if header.faithful {
            " — the paper's recipe".to_string()
        } else {
            " — **shortened schedule, not the paper's recipe**: numbers are not comparable to the paper's".to_string()
        }
    );
    let _ = writeln!(s, "| profile says | {} |", header.profile_description);
    let _ = writeln!(s, "| dataset | {} |", header.datasets.join(", "));
    let _ = writeln!(s, "| device | {} |", header.devices.join(", "));
    let _ = writeln!(s, "| seeds | {:?} |", header.seeds);
    let _ = writeln!(s, "| commit | `{}` |", header.commit);
    let _ = writeln!(s, "| command | `{}` |\n", header.command);
    let _ = writeln!(s, "## Claims\n");
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
        "\nMetrics: `metrics.parquet` (schema in `crates/repro/src/metrics.rs`); per-run config, provenance and metrics under `runs/`.\nRegenerate figures and this report from the metrics alone with `--plot-only`."
    );
    write_bytes_atomic(&dir.join("report.md"), s.as_bytes())?;
    let json = serde_json::json!({ "header": header, "claims": claims });
    write_bytes_atomic(
        &dir.join("claims.json"),
        serde_json::to_string_pretty(&json)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    Ok(())
}

fn esc(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
