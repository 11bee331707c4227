//! The nightly's own directory, `results/nightly/<date>-<short commit>/` by
//! default (git-ignored): a new one every night, so that nothing is reused from
//! the committed results or an earlier night, and `nightly.json` in it saying
//! what it is and whether it finished. An unfinished one (the job was killed:
//! a timeout, a reboot) is what `--resume` continues, so that a days-long
//! `paper` profile resumes from its checkpoints instead of starting over.
use serde::{Deserialize, Serialize};
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
    repro::provenance::Checkout::of(root).label()
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
        };
        state(false, 5).write(&a).expect("write");
        let b = t.path().join("b");
        std::fs::create_dir_all(&b).expect("mkdir");
        state(true, 9).write(&b).expect("write");
        assert_eq!(unfinished(t.path(), "paper"), Some(a));
        assert_eq!(unfinished(t.path(), "quick"), None);
    }
}
