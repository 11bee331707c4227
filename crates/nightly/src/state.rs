//! The nightly's own directory, `results/nightly/<date>-<short commit>/` by
//! default (git-ignored): a new one every night, so that nothing is reused from
//! the committed results or an earlier night, and `nightly.json` in it saying
//! what it is and whether it finished. An unfinished one (the job was killed:
//! a timeout, a reboot) is what `--resume` continues, so that a days-long
//! `paper` profile resumes from its checkpoints instead of starting over.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `<dir>/nightly.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The commit being tested (`<short>` or `<short>+dirty`).
    pub commit: String,
    pub profile: String,
    /// The baseline results directory (`results/` by default).
    pub baseline: String,
    pub experiments: Vec<String>,
    pub started_unix: u64,
    /// False until the nightly wrote its summary: then the exit code.
    pub finished: bool,
    #[serde(default)]
    pub exit_code: Option<u8>,
    /// Wall-clock seconds each experiment took to train (its binary's whole
    /// run: data, probes, training, evaluation, report), summed over the
    /// attempts of a resumed nightly: what the nightly's time budget is checked
    /// against.
    #[serde(default)]
    pub seconds: BTreeMap<String, f64>,
    /// The experiments compared with a baseline trained on other data
    /// (`--cross-dataset`: numbers and verdicts listed, not judged;
    /// comparison.json says on which data); empty: every comparison was on
    /// the baseline's data.
    #[serde(default)]
    pub cross_dataset: Vec<String>,
}

/// The time a nightly may take, in minutes, when `--budget-minutes` does not
/// say: every `quick` profile on a 2-core CPU within 3 hours (issue 18, Sec. 4);
/// other profiles (the `paper` ones on a GPU) have none.
pub fn default_budget_minutes(profile: &str) -> Option<f64> {
    (profile == "quick").then_some(180.0)
}

/// The nightly's time table in Markdown: each experiment's minutes, the total,
/// and how it stands against `budget` (a measurement, never a failure: the
/// results decide the exit status).
pub fn time_markdown(seconds: &BTreeMap<String, f64>, budget_minutes: Option<f64>) -> String {
    let mut s = String::from("| experiment | minutes |\n|---|---:|\n");
    for (e, secs) in seconds {
        s.push_str(&format!("| {e} | {:.1} |\n", secs / 60.0));
    }
    let total = seconds.values().sum::<f64>() / 60.0;
    s.push_str(&format!("| **total** | **{total:.1}** |\n\n"));
    s.push_str(&match budget_minutes {
        Some(b) if total <= b => format!(
            "Within the budget: {total:.1} of {b:.0} minutes ({:.0}%).\n",
            100.0 * total / b
        ),
        Some(b) => format!(
            "**OVER BUDGET**: {total:.1} minutes against {b:.0} ({:.0}%); shorten the slowest profiles or raise `--budget-minutes`.\n",
            100.0 * total / b
        ),
        None => "No time budget for this profile.\n".to_string(),
    });
    s
}

impl State {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("nightly.json")
    }

    pub fn read(dir: &Path) -> Option<State> {
        let bytes = std::fs::read(Self::path(dir)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let p = Self::path(dir);
        std::fs::write(&p, serde_json::to_string_pretty(self)?)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", p.display()))
    }
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `YYYY-MM-DD` (UTC) of a Unix time: H. Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html#civil_from_days>).
pub fn utc_date(unix: u64) -> String {
    let z = (unix / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The checkout's commit, 10 hex digits, with `+dirty` when tracked files
/// outside `results/` changed: the experiments' provenance label.
pub fn commit_label(root: &Path) -> String {
    records::provenance::Checkout::of(root).label()
}

/// A directory under `root` that does not exist yet: `<date>-<commit>`, or
/// with `-2`, `-3`, ... when that night already has one.
pub fn fresh_dir(root: &Path, date: &str, commit: &str) -> PathBuf {
    let base = format!("{date}-{}", commit.replace('+', "-"));
    (1..)
        .map(|i| match i {
            1 => root.join(&base),
            i => root.join(format!("{base}-{i}")),
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| root.join(base))
}

/// The latest nightly directory under `root` of `profile` that did not finish.
pub fn unfinished(root: &Path, profile: &str) -> Option<PathBuf> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter_map(|d| State::read(&d).map(|s| (s, d)))
        .filter(|(s, _)| !s.finished && s.profile == profile)
        .map(|(s, d)| (s.started_unix, d))
        .collect();
    found.sort();
    found.pop().map(|(_, d)| d)
}

/// Whether `dir` is missing or empty (a fresh directory to train into).
pub fn is_fresh(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_fresh_directories() {
        assert_eq!(utc_date(0), "1970-01-01");
        // 2024-02-29T12:00:00Z, a leap day; 2000-03-01T00:00:00Z.
        assert_eq!(utc_date(1_709_208_000), "2024-02-29");
        assert_eq!(utc_date(951_868_800), "2000-03-01");
        let t = tempfile::tempdir().expect("tmp");
        let a = fresh_dir(t.path(), "2024-02-29", "abc+dirty");
        assert_eq!(a, t.path().join("2024-02-29-abc-dirty"));
        std::fs::create_dir_all(&a).expect("mkdir");
        assert_eq!(
            fresh_dir(t.path(), "2024-02-29", "abc+dirty"),
            t.path().join("2024-02-29-abc-dirty-2")
        );
        assert!(!is_fresh(t.path()) && is_fresh(&a));
        let state = |finished, started_unix| State {
            commit: "abc".into(),
            profile: "paper".into(),
            baseline: "results".into(),
            experiments: vec![],
            started_unix,
            finished,
            exit_code: None,
            seconds: BTreeMap::new(),
            cross_dataset: Vec::new(),
        };
        state(false, 5).write(&a).expect("write");
        let b = t.path().join("b");
        std::fs::create_dir_all(&b).expect("mkdir");
        state(true, 9).write(&b).expect("write");
        assert_eq!(unfinished(t.path(), "paper"), Some(a));
        assert_eq!(unfinished(t.path(), "quick"), None);
    }

    #[test]
    fn the_time_table_sums_the_experiments_and_measures_the_budget() {
        let secs: BTreeMap<String, f64> = [("a".to_string(), 600.0), ("b".to_string(), 1_200.0)]
            .into_iter()
            .collect();
        let within = time_markdown(&secs, Some(60.0));
        assert!(within.contains("| a | 10.0 |") && within.contains("| **total** | **30.0** |"));
        assert!(
            within.contains("Within the budget: 30.0 of 60 minutes (50%)"),
            "{within}"
        );
        let over = time_markdown(&secs, Some(20.0));
        assert!(
            over.contains("**OVER BUDGET**: 30.0 minutes against 20 (150%)"),
            "{over}"
        );
        assert!(time_markdown(&secs, None).contains("No time budget"));
        assert_eq!(default_budget_minutes("quick"), Some(180.0));
        assert_eq!(default_budget_minutes("paper"), None);
    }
}
