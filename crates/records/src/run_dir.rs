//! A run's directory, its paths built in one place: `<profile dir>/runs/<run id>/`
//! with `config.toml` (the resolved config), `provenance.json`, `metrics.parquet`
//! (rewritten at every evaluation while the run trains), `train.log` (its
//! progress, appended), `status.json` (how it ended; absent while it trains),
//! checkpoints while it trains, and a lock that keeps a second process out.
use crate::error::{IoContext, Result};
use crate::io::write_bytes_atomic;
use crate::metrics::{missing_rows, MetricRow, RowKind};
use crate::provenance::Provenance;
use crate::recipe::TrainConfig;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The weights a completed run leaves (safetensors): what `model.init_from`
/// and `--reuse-runs` start from, checked against `status.json`'s digest.
pub const FINAL_WEIGHTS: &str = "final-weights.safetensors";
/// A checkpoint's manifest; its presence is what makes a run directory
/// resumable (the engine's `train::checkpoint` writes it and the files it names).
pub const CHECKPOINT_MANIFEST: &str = "checkpoint.json";
/// A checkpoint's tensor and state files: `checkpoint-<iteration>-<digest>.ot`
/// and `.state.json`.
pub const CHECKPOINT_PREFIX: &str = "checkpoint-";
pub const CHECKPOINT_TENSORS_EXT: &str = ".ot";
pub const CHECKPOINT_STATE_EXT: &str = ".state.json";

/// A checkpoint's tensor or state file (the manifest aside).
pub fn is_checkpoint_file(name: &str) -> bool {
    name.starts_with(CHECKPOINT_PREFIX)
        && (name.ends_with(CHECKPOINT_TENSORS_EXT) || name.ends_with(CHECKPOINT_STATE_EXT))
}

/// Removes a run's checkpoint files (after completion, or with --fresh): the
/// manifest first, so that no manifest ever names a removed file. Best effort.
pub fn remove_checkpoint(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(CHECKPOINT_MANIFEST));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if is_checkpoint_file(&e.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// How a run ended, as `status.json` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Trained to its last iteration (or its early-stop target).
    Completed,
    /// The loss became NaN/inf; the run stopped there.
    Diverged,
    /// Stopped before the end with its checkpoint kept (a rerun resumes it).
    Interrupted,
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunState::Completed => "completed",
            RunState::Diverged => "diverged",
            RunState::Interrupted => "interrupted",
        })
    }
}

/// `status.json`, written when a run stops.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusFile {
    pub status: RunState,
    pub config_hash: String,
    pub iterations: i64,
    /// SHA-256 of `final-weights.safetensors` as the run wrote it (completed
    /// runs). Runs that start from these weights (`model.init_from`) or copy
    /// them (`--reuse-runs`) check it first: a changed file is refused, not
    /// trained from. Absent in runs written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_weights_sha256: Option<String>,
}

/// The directory of one run.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

/// An open run directory: its lock is held as long as this lives.
pub struct OpenRun {
    pub dir: RunDir,
    _lock: std::fs::File,
}

impl OpenRun {
    /// `dir` with `lock` (a `try_lock`ed handle on `dir.lock()`) held.
    pub fn new(dir: RunDir, lock: std::fs::File) -> Self {
        Self { dir, _lock: lock }
    }
}

impl RunDir {
    pub fn new(profile_dir: &Path, run_id: &str) -> Self {
        Self {
            path: profile_dir.join("runs").join(run_id),
        }
    }
    /// The run directory at `path` (`<profile dir>/runs/<run id>`).
    pub fn from_path(path: PathBuf) -> Self {
        Self { path }
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn config(&self) -> PathBuf {
        self.path.join("config.toml")
    }
    pub fn status(&self) -> PathBuf {
        self.path.join("status.json")
    }
    pub fn provenance(&self) -> PathBuf {
        self.path.join("provenance.json")
    }
    pub fn metrics(&self) -> PathBuf {
        self.path.join(crate::metrics::RUN_FILE)
    }
    pub fn train_log(&self) -> PathBuf {
        self.path.join(crate::progress::LOG_FILE)
    }
    pub fn final_weights(&self) -> PathBuf {
        self.path.join(FINAL_WEIGHTS)
    }
    pub fn lock(&self) -> PathBuf {
        self.path.join(".lock")
    }

    pub fn read_status(&self) -> Option<StatusFile> {
        std::fs::read(self.status())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    pub fn read_provenance(&self) -> Option<Provenance> {
        std::fs::read(self.provenance())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    pub fn has_checkpoint(&self) -> bool {
        self.path.join(CHECKPOINT_MANIFEST).exists()
    }

    /// Whether a process holds this run's lock now (it is training here).
    pub fn is_locked(&self) -> bool {
        std::fs::File::open(self.lock())
            .is_ok_and(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
    }

    /// Forgets how the run ended and its checkpoint (`--fresh-stale`): it is
    /// then left to train and starts at iteration 0. Its config, provenance
    /// and metrics stay until it starts again (then they are replaced).
    pub fn forget(&self) -> Result<()> {
        remove_checkpoint(&self.path);
        match std::fs::remove_file(self.status()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).at(self.status()),
            _ => Ok(()),
        }
    }

    pub fn write_status(&self, status: &StatusFile) -> Result<()> {
        let json = serde_json::to_string_pretty(status)
            .map_err(|e| crate::Error::Other(format!("status: {e}")))?;
        write_bytes_atomic(&self.status(), json.as_bytes())
    }

    /// Checks the final weights here against the digest `status` (this run's
    /// status) recorded when the run wrote them.
    pub fn check_final_weights(&self, status: &StatusFile) -> Result<(), WeightsError> {
        let path = self.final_weights();
        let expected = self.recorded_weights_digest(status)?;
        let found = fileio::sha256_file(&path).map_err(|e| WeightsError::read(&path, e))?;
        self.same_digest(expected, found)
    }

    /// The final weights here, read once and checked as [`Self::check_final_weights`]
    /// does: the bytes checked are the bytes returned.
    pub fn read_final_weights(&self, status: &StatusFile) -> Result<Vec<u8>, WeightsError> {
        let path = self.final_weights();
        let expected = self.recorded_weights_digest(status)?;
        let bytes = std::fs::read(&path).map_err(|e| WeightsError::read(&path, e))?;
        self.same_digest(expected, crate::io::sha256_hex(&bytes))?;
        Ok(bytes)
    }

    /// Weights without a recorded digest (a run written before digests were
    /// recorded) cannot be told apart from corrupted ones, so they count as
    /// unverifiable and are not used: accepting them with a warning would let
    /// exactly the fault this check exists for (a changed file) through for
    /// every such run, whereas the cost of refusing is retraining one run.
    fn recorded_weights_digest<'a>(&self, status: &'a StatusFile) -> Result<&'a str, WeightsError> {
        status
            .final_weights_sha256
            .as_deref()
            .ok_or_else(|| WeightsError::Unrecorded {
                path: self.final_weights(),
                status: self.status(),
            })
    }

    fn same_digest(&self, expected: &str, found: String) -> Result<(), WeightsError> {
        if found == expected {
            return Ok(());
        }
        Err(WeightsError::Mismatch {
            path: self.final_weights(),
            status: self.status(),
            expected: expected.to_string(),
            found,
        })
    }
}

/// Why a run's final weights are not used to initialise or copy a run.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{}: missing", path.display())]
    Missing { path: PathBuf },
    #[error(
        "{}: no SHA-256 of it is recorded in {} (the run was written before final weights were checksummed), so it cannot be verified",
        path.display(),
        status.display()
    )]
    Unrecorded { path: PathBuf, status: PathBuf },
    #[error(
        "{}: its SHA-256 is {found}, but {} recorded {expected} when the run wrote it: the file was changed after it was written",
        path.display(),
        status.display()
    )]
    Mismatch {
        path: PathBuf,
        status: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl WeightsError {
    fn read(path: &Path, e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::NotFound {
            WeightsError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            WeightsError::Io {
                path: path.to_path_buf(),
                source: e,
            }
        }
    }
}

/// A run that ended holds rows up to the iteration its `status.json` says it
/// ended at, and every row its config makes the training loop write on the
/// way (`metrics::missing_rows`): a cut, stale or edited `metrics.parquet` (a
/// valid file of fewer rows) would otherwise report an earlier test error as
/// the final one, or curves with holes. `sweep merge` checks the same.
pub fn check_complete(dir: &RunDir, train: &TrainConfig, rows: &[MetricRow]) -> Result<()> {
    let Some(status) = dir.read_status() else {
        return Ok(());
    };
    if !matches!(status.status, RunState::Completed | RunState::Diverged) {
        return Ok(());
    }
    let last = rows.last().map(|r| r.iteration);
    if last != Some(status.iterations) {
        return Err(crate::Error::File {
            path: dir.metrics(),
            msg: format!(
                "its last row is iteration {}, but {} says the run {} at iteration {}: the file is cut or stale; rerun the run with --fresh",
                last.map_or_else(|| "none (no rows)".into(), |i| i.to_string()),
                dir.status().display(),
                status.status,
                status.iterations
            ),
        });
    }
    let missing = missing_rows(train, status.iterations, rows);
    if missing.is_empty() {
        return Ok(());
    }
    Err(crate::Error::File {
        path: dir.metrics(),
        msg: format!(
            "{} row(s) missing, at iteration(s) {}: the run's config (train.iterations = {}, \
             log_every = {}, eval_every = {}, checkpoint_every = {}; {} ended at {}) writes one at each; \
             the file is cut or edited; rerun the run with --fresh",
            missing.len(),
            list_missing(&missing),
            train.iterations,
            train.log_every,
            train.eval_every,
            train.checkpoint_every,
            dir.status().display(),
            status.iterations
        ),
    })
}

/// `5, 10, 15 (epoch)`: the first few, then how many more.
fn list_missing(missing: &[(RowKind, i64)]) -> String {
    const SHOWN: usize = 12;
    let mut s = missing
        .iter()
        .take(SHOWN)
        .map(|(k, i)| match k {
            RowKind::Window => i.to_string(),
            RowKind::Epoch => format!("{i} (epoch row)"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    if missing.len() > SHOWN {
        s.push_str(&format!(" and {} more", missing.len() - SHOWN));
    }
    s
}

/// The `[train]` table of the config saved beside a run (`config.toml`):
/// what `check_complete` needs, read without the engine's model types.
pub fn saved_train_config(dir: &RunDir) -> Result<TrainConfig> {
    #[derive(serde::Deserialize)]
    struct Saved {
        train: TrainConfig,
    }
    let path = dir.config();
    let text = std::fs::read_to_string(&path).at(&path)?;
    let saved: Saved = toml::from_str(&text).map_err(|e| crate::Error::File {
        path: path.clone(),
        msg: format!("its [train] table does not read: {}", e.message().trim()),
    })?;
    Ok(saved.train)
}

/// A run's id and directory name: `<run name>-s<seed>` (`resnet-56-s1`). The
/// one place the format is written; the metrics' `run_id` column, the run
/// directories and the sweep's tasks all use it.
pub fn run_id(name: &str, seed: u64) -> String {
    format!("{name}-s{seed}")
}

/// What the experiment binary's `--list-runs` says of a selected run: what a
/// sweep does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunListState {
    /// Finished with this config: skipped.
    Done,
    /// Has a checkpoint: its task resumes it.
    Resume,
    /// Nothing of it yet (or started over: `--fresh`, `--fresh-stale`).
    New,
    /// Finished or checkpointed by other training code than this build's, or
    /// on other data; a sweep refuses it.
    Stale,
}

impl RunListState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunListState::Done => "done",
            RunListState::Resume => "resume",
            RunListState::New => "new",
            RunListState::Stale => "stale",
        }
    }
}

impl std::fmt::Display for RunListState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of `--list-runs` (JSON): one run x seed of the selection. The
/// driver writes it and `sweep` reads it, through this one type, so that a
/// change of the format on one side fails to compile on the other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedRun {
    pub run: String,
    pub seed: u64,
    /// `run_id(run, seed)`.
    pub run_id: String,
    pub state: RunListState,
    /// Run id this run starts from (VGG's deeper nets start from net A's
    /// weights): a sweep runs it after that one.
    #[serde(default)]
    pub after: Option<String>,
    /// What makes a `stale` run stale (`other training code (...)`, `other
    /// data (...)`); None in the other states.
    #[serde(default)]
    pub why: Option<String>,
}

impl ListedRun {
    /// Finished with this config: nothing to train.
    pub fn done(&self) -> bool {
        self.state == RunListState::Done
    }
}

#[cfg(test)]
mod listed_run_tests {
    use super::*;

    fn listed(state: RunListState, why: Option<&str>) -> ListedRun {
        ListedRun {
            run: "plain-20".into(),
            seed: 1,
            run_id: run_id("plain-20", 1),
            state,
            after: None,
            why: why.map(String::from),
        }
    }

    /// Each state goes through the JSON line the driver writes as the word
    /// sweeps and their tests look for, and back.
    #[test]
    fn every_state_round_trips_through_the_listed_json() {
        for (state, word) in [
            (RunListState::Done, "done"),
            (RunListState::Resume, "resume"),
            (RunListState::New, "new"),
            (RunListState::Stale, "stale"),
        ] {
            let why = (state == RunListState::Stale).then_some("other training code (abc)");
            let run = listed(state, why);
            let line = serde_json::to_string(&run).unwrap();
            assert!(line.contains(&format!("\"state\":\"{word}\"")), "{line}");
            assert_eq!(state.to_string(), word);
            assert_eq!(serde_json::from_str::<ListedRun>(&line).unwrap(), run);
            assert_eq!(run.done(), state == RunListState::Done);
        }
    }

    /// The line as the driver wrote it before the shared type (keys in
    /// alphabetical order, `after` and `why` null) still reads; a state the
    /// type does not know is refused, not read as another.
    #[test]
    fn the_earlier_json_reads_and_an_unknown_state_is_refused() {
        let earlier = r#"{"after":null,"run":"plain-20","run_id":"plain-20-s1","seed":1,"state":"resume","why":null}"#;
        let run: ListedRun = serde_json::from_str(earlier).unwrap();
        assert_eq!(run, listed(RunListState::Resume, None));
        let unknown = earlier.replace("\"resume\"", "\"finished\"");
        assert!(serde_json::from_str::<ListedRun>(&unknown).is_err());
        let without_optional =
            r#"{"run":"plain-20","run_id":"plain-20-s1","seed":1,"state":"done"}"#;
        assert!(serde_json::from_str::<ListedRun>(without_optional)
            .unwrap()
            .done());
    }
}
