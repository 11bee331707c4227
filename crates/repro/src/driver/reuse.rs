//! `--reuse-runs DIR`: a run that another experiment (or profile) under `DIR`
//! has already trained with the same model, data and training config and the
//! same seed, by this build's training code, on the same data and device, is
//! copied instead of trained again. The nightly passes its own directory, so
//! that a run two experiments share trains once a night: plain-20 and
//! ResNet-20 (option A) are in both ResNet experiments; the cuda-convnet
//! baseline net is alexnet-augmentation's `none`, alexnet-depth's `three-conv`
//! and alexnet-overlapping-pooling's `overlapping`.
//!
//! What is copied is what training would have written: the metrics rows
//! (relabelled with this run's experiment, profile, name, config hash and
//! fidelity), the final weights and the status. The experiment's own
//! measurements of the trained net (`Experiment::after_run`) are made again
//! from those weights. The run's `provenance.json` names the source
//! (`reused_from`) and its `train.log` says it was not retrained.
use super::experiment::Experiment;
use super::run_dir::StatusOf;
use super::run_dir::{RunDir, RunState, StatusFile, WeightsError};
use crate::config::{Fidelity, RunConfig};
use crate::data::{run_fidelity, Dataset, TrainData};
use crate::metrics::{self, MetricRow};
use crate::provenance::{Provenance, TRAINING_CODE};
use crate::train;
use std::path::{Path, PathBuf};

/// A finished run under the `--reuse-runs` directory that this run may copy.
#[derive(Debug, Clone)]
pub struct Source {
    pub dir: RunDir,
    pub status: StatusFile,
}

/// The first run (in path order) under `root`, laid out as
/// `<root>/<experiment>/<profile>/runs/<run id>/`, that ended (completed or
/// diverged) with `cfg`'s model, data, training config and seed, trained by
/// this build's training code on the data of `dataset_sha256` on
/// `device_label`, with its metrics and final weights present; never the run's
/// own directory `own`. A completed run's final weights must match the digest
/// its status recorded: a run without one is passed over (said so), a
/// mismatch is an error (the file was changed after it was written).
pub fn find(
    root: &Path,
    cfg: &RunConfig,
    own: &Path,
    dataset_sha256: &str,
    device_label: &str,
) -> anyhow::Result<Option<Source>> {
    let own = std::fs::canonicalize(own).unwrap_or_else(|_| own.to_path_buf());
    for path in candidates(root) {
        if std::fs::canonicalize(&path).is_ok_and(|p| p == own) {
            continue;
        }
        let dir = RunDir::from_path(path);
        let Some(status) = dir.read_status() else {
            continue;
        };
        let ended = matches!(status.status, RunState::Completed | RunState::Diverged);
        let same_run = dir.read_provenance().is_some_and(|prov| {
            prov.training_code == TRAINING_CODE
                && prov.dataset_sha256 == dataset_sha256
                && prov.device == device_label
        }) && same_recipe(&dir, cfg);
        if ended && same_run && dir.metrics().is_file() && weights_usable(&dir, &status, cfg)? {
            return Ok(Some(Source { dir, status }));
        }
    }
    Ok(None)
}

/// Every `<root>/*/*/runs/*/` directory, sorted.
fn candidates(root: &Path) -> Vec<PathBuf> {
    let dirs = |p: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    dirs(root)
        .iter()
        .flat_map(|experiment| dirs(experiment))
        .flat_map(|profile| dirs(&profile.join("runs")))
        .collect()
}

/// Whether the run saved in `dir` is `cfg` but for its experiment, profile
/// and name: the same model, data, training config and seed.
fn same_recipe(dir: &RunDir, cfg: &RunConfig) -> bool {
    let Some(saved) = std::fs::read_to_string(dir.config())
        .ok()
        .and_then(|t| RunConfig::from_saved_toml(&t).ok())
    else {
        return false;
    };
    let relabelled = RunConfig {
        experiment: cfg.experiment.clone(),
        profile: cfg.profile.clone(),
        name: cfg.name.clone(),
        ..saved
    };
    relabelled == *cfg
}

/// A diverged run has no final weights; a completed one has them as it wrote
/// them. Weights whose digest was not recorded cannot be verified: that run
/// is no source (this run trains instead, which costs time, never results).
fn weights_usable(dir: &RunDir, status: &StatusFile, cfg: &RunConfig) -> anyhow::Result<bool> {
    if status.status != RunState::Completed {
        return Ok(true);
    }
    match dir.check_final_weights(status) {
        Ok(()) => Ok(true),
        Err(WeightsError::Missing { .. }) => Ok(false),
        Err(e @ WeightsError::Unrecorded { .. }) => {
            crate::say!(
                "[{}] not reused from {}: {e}",
                cfg.run_id(),
                dir.path().display()
            );
            Ok(false)
        }
        Err(e) => Err(anyhow::anyhow!(
            "[{}] --reuse-runs: {e}; not copied: retrain that run, or remove its directory",
            cfg.run_id()
        )),
    }
}

/// `rows` of another run, as this run's: its experiment, profile, name, id,
/// config hash and fidelity (the profile's, lowered as training would lower
/// it for this data and precision).
pub fn relabel(rows: &mut [MetricRow], cfg: &RunConfig, planned: Fidelity, dataset_label: &str) {
    let fidelity = run_fidelity(
        planned,
        dataset_label,
        crate::precision::label(cfg.train.precision),
    );
    let hash = cfg.config_hash();
    for r in rows {
        r.experiment.clone_from(&cfg.experiment);
        r.profile.clone_from(&cfg.profile);
        r.run_id = cfg.run_id();
        r.run_name.clone_from(&cfg.name);
        r.config_hash.clone_from(&hash);
        r.fidelity = fidelity;
        r.faithful = fidelity == Fidelity::Paper;
    }
}

/// Writes `source`'s results into the open run directory `dir` as `cfg`'s
/// (see the module's comment), then the experiment's measurements of the
/// trained net and the status.
pub fn copy_into<E: Experiment>(
    exp: &E,
    cfg: &RunConfig,
    source: &Source,
    dir: &RunDir,
    data: &Dataset,
    planned: Fidelity,
    device: tch::Device,
) -> anyhow::Result<()> {
    let from = source.dir.path().display().to_string();
    let mut rows = metrics::read_parquet(&source.dir.metrics())?;
    relabel(&mut rows, cfg, planned, data.label());
    let mut prov: Provenance = dir
        .read_provenance()
        .ok_or_else(|| anyhow::anyhow!("{}: cannot read", dir.provenance().display()))?;
    prov.reused_from = Some(from.clone());
    let json = serde_json::to_string_pretty(&prov)?;
    crate::io::write_bytes_atomic(&dir.provenance(), json.as_bytes())?;
    let line = format!(
        "[{}] reused, not retrained: {from} trained the same model, data, training config and seed with this build's training code ({TRAINING_CODE}) on this data and device; its train.log has its progress",
        cfg.run_id()
    );
    crate::say!("{line}");
    crate::progress::append_log(dir.path(), &line);
    metrics::write_parquet(&dir.metrics(), &rows)?;
    if source.status.status == RunState::Completed {
        // The bytes written are the bytes checked (once more: `find` checked
        // the file before this run's directory was opened).
        let weights = dir.final_weights();
        let bytes = source.dir.read_final_weights(&source.status)?;
        crate::io::write_bytes_atomic(&weights, &bytes)?;
        measure(exp, cfg, &weights, data, device, dir.path())?;
    }
    let status = StatusFile {
        config_hash: cfg.config_hash(),
        ..source.status.clone()
    };
    let end = status.end_line(cfg, &rows, 0);
    crate::progress::append_log(dir.path(), &end);
    dir.write_status(&status)?;
    Ok(())
}

/// The experiment's measurements (`Experiment::after_run`) of `cfg`'s net
/// loaded from `weights`.
fn measure<E: Experiment>(
    exp: &E,
    cfg: &RunConfig,
    weights: &Path,
    data: &Dataset,
    device: tch::Device,
    run_dir: &Path,
) -> anyhow::Result<()> {
    let vs = tch::nn::VarStore::new(device);
    let net = crate::models::build(&vs.root(), &cfg.model)?;
    train::transfer::init_from(&vs, weights, None)?;
    exp.after_run(cfg, net.as_ref(), data, run_dir)?;
    Ok(())
}
