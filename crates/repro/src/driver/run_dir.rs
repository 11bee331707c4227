//! A run's directory, its paths built in one place: `<profile dir>/runs/<run id>/`
//! with `config.toml` (the resolved config), `provenance.json`, `metrics.parquet`
//! (rewritten at every evaluation while the run trains), `train.log` (its
//! progress, appended), `status.json` (how it ended; absent while it trains),
//! checkpoints while it trains, and a lock that keeps a second process out.
use crate::config::RunConfig;
use crate::data::TrainData;
use crate::error::{IoContext, Result};
use crate::io::write_bytes_atomic;
use crate::provenance::{DataIdentity, Provenance};
use crate::train::{self, checkpoint, RunStatus};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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

impl StatusFile {
    /// The state and iteration a training outcome ends in.
    pub fn of(cfg: &RunConfig, outcome: &train::RunOutcome) -> Self {
        let (status, iterations) = match outcome.status {
            RunStatus::Completed => (
                RunState::Completed,
                outcome
                    .rows
                    .last()
                    .map(|r| r.iteration)
                    .unwrap_or(cfg.train.iterations),
            ),
            RunStatus::Diverged { iteration } => (RunState::Diverged, iteration),
            RunStatus::Interrupted { iteration } | RunStatus::GroupStopped { iteration } => {
                (RunState::Interrupted, iteration)
            }
        };
        Self {
            status,
            config_hash: cfg.config_hash(),
            iterations,
            final_weights_sha256: None,
        }
    }
}

impl StatusFile {
    /// The line a run's log and the console end with: `[<run id>] completed
    /// after N iterations, test error X%`, and where it resumed from.
    pub fn end_line(
        &self,
        cfg: &RunConfig,
        rows: &[crate::metrics::MetricRow],
        resumed_from: i64,
    ) -> String {
        let last = rows.iter().rev().find_map(|r| r.test_error);
        format!(
            "[{}] {} after {} iterations{}{}",
            cfg.run_id(),
            self.status,
            self.iterations,
            last.map(|e| format!(", test error {:.2}%", 100.0 * e))
                .unwrap_or_default(),
            if resumed_from > 0 {
                format!(" (resumed from iteration {resumed_from})")
            } else {
                String::new()
            }
        )
    }
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
        self.path.join(train::transfer::FINAL_WEIGHTS)
    }
    fn lock(&self) -> PathBuf {
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
        self.path.join(checkpoint::META_FILE).exists()
    }

    /// Whether the run here stopped (completed, diverged or interrupted) with
    /// `cfg`. Compares the saved config as data (fields added to the config
    /// types since then take their defaults), so results survive additions
    /// that change nothing; falls back to the hash when the saved config cannot
    /// be read.
    /// An interrupted run has not ended: a rerun resumes it from its checkpoint.
    pub fn ended_with(&self, cfg: &RunConfig) -> Option<StatusFile> {
        let status = self
            .read_status()
            .filter(|s| s.status != RunState::Interrupted)?;
        self.saved_config_is(cfg, Some(&status.config_hash))
            .then_some(status)
    }

    /// Whether the saved config is `cfg` (as data); when it cannot be read,
    /// whether `recorded_hash` is `cfg`'s hash.
    fn saved_config_is(&self, cfg: &RunConfig, recorded_hash: Option<&str>) -> bool {
        match std::fs::read_to_string(self.config())
            .ok()
            .and_then(|t| RunConfig::from_saved_toml(&t).ok())
        {
            Some(saved) => saved == *cfg,
            None => recorded_hash == Some(cfg.config_hash().as_str()),
        }
    }

    /// Whether a process holds this run's lock now (it is training here).
    pub fn is_locked(&self) -> bool {
        std::fs::File::open(self.lock())
            .is_ok_and(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)))
    }

    /// Whether the run here is training now with `cfg`: no status yet, the
    /// saved config is `cfg` and another process holds the lock. Its
    /// `metrics.parquet` then has its rows up to its last evaluation.
    pub fn training_with(&self, cfg: &RunConfig) -> bool {
        self.read_status().is_none() && self.saved_config_is(cfg, None) && self.is_locked()
    }

    /// Creates and locks the directory and writes the run's config and
    /// provenance; None (after saying so) when another process holds the lock.
    pub fn open(
        self,
        cfg: &RunConfig,
        data: &dyn TrainData,
        source_sha256: &str,
        device_label: &str,
        fresh: bool,
        root: &Path,
    ) -> Result<Option<OpenRun>> {
        std::fs::create_dir_all(&self.path).at(&self.path)?;
        let lock_path = self.lock();
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .at(&lock_path)?;
        if lock.try_lock().is_err() {
            crate::say!(
                "[{}] skipped: another process holds {}",
                cfg.run_id(),
                lock_path.display()
            );
            return Ok(None);
        }
        // Under the lock no other process writes here: temporary files left
        // by a killed write of this run go now (best effort).
        let _ = fileio::remove_stale_temps(&self.path, std::time::Duration::ZERO);
        if fresh {
            checkpoint::remove(&self.path);
        }
        let data_id = DataIdentity {
            label: data.label().to_string(),
            sha256: source_sha256.to_string(),
        };
        // A resume keeps its checkpoint's data (or is refused, before anything
        // here is rewritten) and records a change of thread count.
        let thread_change = super::resumed::check(&self, &cfg.run_id(), &data_id)?;
        let earlier = self
            .has_checkpoint()
            .then(|| self.read_provenance())
            .flatten();
        self.clear_stale()?;
        write_bytes_atomic(&self.config(), cfg.to_toml()?.as_bytes())?;
        let mut prov = Provenance::collect(root, device_label, data.label(), source_sha256);
        // The thread changes of earlier resumes stay on record.
        prov.thread_changes = earlier.map(|p| p.thread_changes).unwrap_or_default();
        prov.thread_changes.extend(thread_change);
        let json = serde_json::to_string_pretty(&prov)
            .map_err(|e| crate::Error::Other(format!("provenance: {e}")))?;
        write_bytes_atomic(&self.provenance(), json.as_bytes())?;
        Ok(Some(OpenRun {
            dir: self,
            _lock: lock,
        }))
    }

    /// Before training here: a status of an earlier end no longer holds (the
    /// run trains now), and without a checkpoint to resume from, the rows and
    /// the log of an earlier attempt or config are not this run's (it starts
    /// at iteration 0 and writes its own); a resumed run keeps appending to
    /// its log.
    fn clear_stale(&self) -> Result<()> {
        let mut stale = vec![self.status()];
        if !self.has_checkpoint() {
            stale.push(self.metrics());
            stale.push(self.train_log());
        }
        for p in stale {
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).at(&p);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Forgets how the run ended and its checkpoint (`--fresh-stale`): it is
    /// then left to train and starts at iteration 0. Its config, provenance
    /// and metrics stay until it starts again (then they are replaced).
    pub fn forget(&self) -> Result<()> {
        checkpoint::remove(&self.path);
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
