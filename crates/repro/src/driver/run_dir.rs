//! The driver's side of a run directory (`records::run_dir` holds its paths
//! and files): what needs the run's resolved config or the engine. Whether
//! the run ended with this config, opening it to train (lock, config,
//! provenance), and the status a training outcome ends in.
use engine::config::RunConfig;
use engine::data::TrainData;
use engine::error::{IoContext, Result};
use engine::train::{self, checkpoint, RunStatus};
use records::io::write_bytes_atomic;
use records::provenance::{DataIdentity, Provenance};
pub use records::run_dir::*;
use std::path::Path;

/// The status file of a run's end, from its training outcome.
pub trait StatusOf {
    /// The state and iteration a training outcome ends in.
    fn of(cfg: &RunConfig, outcome: &train::RunOutcome) -> Self;
    /// The line a run's log and the console end with: `[<run id>] completed
    /// after N iterations, test error X%`, and where it resumed from.
    fn end_line(
        &self,
        cfg: &RunConfig,
        rows: &[records::metrics::MetricRow],
        resumed_from: i64,
    ) -> String;
}

/// A run directory as the driver uses it: against a resolved config.
pub trait RunDirWithConfig: Sized {
    /// Whether the run here stopped (completed, diverged) with `cfg`.
    fn ended_with(&self, cfg: &RunConfig) -> Option<StatusFile>;
    /// Whether the run here is training now with `cfg`.
    fn training_with(&self, cfg: &RunConfig) -> bool;
    /// Whether the run here stopped at a checkpoint before its end
    /// (interrupted) with `cfg`: its status, which says where.
    fn stopped_with(&self, cfg: &RunConfig) -> Option<StatusFile>;
    /// Creates and locks the directory and writes the run's config and provenance.
    fn open(
        self,
        cfg: &RunConfig,
        data: &dyn TrainData,
        source_sha256: &str,
        device_label: &str,
        fresh: bool,
        root: &Path,
    ) -> Result<Option<OpenRun>>;
}

impl StatusOf for StatusFile {
    /// The state and iteration a training outcome ends in.
    fn of(cfg: &RunConfig, outcome: &train::RunOutcome) -> Self {
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

    /// The line a run's log and the console end with: `[<run id>] completed
    /// after N iterations, test error X%`, and where it resumed from.
    fn end_line(
        &self,
        cfg: &RunConfig,
        rows: &[records::metrics::MetricRow],
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

impl RunDirWithConfig for RunDir {
    /// Whether the run here stopped (completed, diverged or interrupted) with
    /// `cfg`. Compares the saved config as data (fields added to the config
    /// types since then take their defaults), so results survive additions
    /// that change nothing; falls back to the hash when the saved config cannot
    /// be read.
    /// An interrupted run has not ended: a rerun resumes it from its checkpoint.
    fn ended_with(&self, cfg: &RunConfig) -> Option<StatusFile> {
        let status = self
            .read_status()
            .filter(|s| s.status != RunState::Interrupted)?;
        saved_config_is(self, cfg, Some(&status.config_hash)).then_some(status)
    }

    /// Whether the run here is training now with `cfg`: no status yet, the
    /// saved config is `cfg` and another process holds the lock. Its
    /// `metrics.parquet` then has its rows up to its last evaluation.
    fn training_with(&self, cfg: &RunConfig) -> bool {
        self.read_status().is_none() && saved_config_is(self, cfg, None) && self.is_locked()
    }

    /// Whether the run here stopped at a checkpoint before its end with
    /// `cfg` and is not training now: a rerun resumes it.
    fn stopped_with(&self, cfg: &RunConfig) -> Option<StatusFile> {
        let status = self
            .read_status()
            .filter(|s| s.status == RunState::Interrupted)?;
        (!self.is_locked() && saved_config_is(self, cfg, Some(&status.config_hash)))
            .then_some(status)
    }

    /// Creates and locks the directory and writes the run's config and
    /// provenance; None (after saying so) when another process holds the lock.
    fn open(
        self,
        cfg: &RunConfig,
        data: &dyn TrainData,
        source_sha256: &str,
        device_label: &str,
        fresh: bool,
        root: &Path,
    ) -> Result<Option<OpenRun>> {
        std::fs::create_dir_all(self.path()).at(self.path())?;
        let lock_path = self.lock();
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .at(&lock_path)?;
        if lock.try_lock().is_err() {
            records::say!(
                "[{}] skipped: another process holds {}",
                cfg.run_id(),
                lock_path.display()
            );
            return Ok(None);
        }
        // Under the lock no other process writes here: temporary files left
        // by a killed write of this run go now (best effort).
        let _ = fileio::remove_stale_temps(self.path(), std::time::Duration::ZERO);
        if fresh {
            checkpoint::remove(self.path());
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
        let resume_at = match self.has_checkpoint() {
            true => super::resumed::recorded(&self)?.map_or(0, |r| r.iteration),
            false => 0,
        };
        clear_stale(&self)?;
        write_bytes_atomic(&self.config(), cfg.to_toml()?.as_bytes())?;
        let mut prov = Provenance::collect(
            root,
            &engine::runtime::here(),
            device_label,
            data.label(),
            source_sha256,
        )
        .with_segments(earlier.as_ref(), resume_at);
        // The thread changes of earlier resumes stay on record.
        prov.thread_changes = earlier.map(|p| p.thread_changes).unwrap_or_default();
        prov.thread_changes.extend(thread_change);
        let json = serde_json::to_string_pretty(&prov)
            .map_err(|e| engine::Error::Other(format!("provenance: {e}")))?;
        write_bytes_atomic(&self.provenance(), json.as_bytes())?;
        Ok(Some(OpenRun::new(self, lock)))
    }
}

/// Whether the saved config is `cfg` (as data); when it cannot be read,
/// whether `recorded_hash` is `cfg`'s hash.
fn saved_config_is(dir: &RunDir, cfg: &RunConfig, recorded_hash: Option<&str>) -> bool {
    match std::fs::read_to_string(dir.config())
        .ok()
        .and_then(|t| RunConfig::from_saved_toml(&t).ok())
    {
        Some(saved) => saved == *cfg,
        None => recorded_hash == Some(cfg.config_hash().as_str()),
    }
}

/// Before training here: a status of an earlier end no longer holds (the
/// run trains now), and without a checkpoint to resume from, the rows and
/// the log of an earlier attempt or config are not this run's (it starts
/// at iteration 0 and writes its own); a resumed run keeps appending to
/// its log.
fn clear_stale(dir: &RunDir) -> Result<()> {
    let mut stale = vec![dir.status()];
    if !dir.has_checkpoint() {
        stale.push(dir.metrics());
        stale.push(dir.train_log());
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
