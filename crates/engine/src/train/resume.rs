//! A group's checkpoints: each run's state saved in its own directory exactly
//! as a separate run saves it, and loaded back into the (possibly fused)
//! variables and SGD velocity.
use super::schedule::LrState;
use super::sgd::{self, Sgd};
use super::{checkpoint, GroupRun, TrainContext};
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::models::fuse;
use records::metrics::MetricRow;
use records::provenance::DataIdentity;
use std::collections::HashMap;
use std::path::Path;
use tch::nn::VarStore;
use tch::Tensor;

/// What a checkpoint restores, per run of the group (the iteration is shared).
pub(super) struct State {
    pub iteration: i64,
    pub lr_states: Vec<LrState>,
    pub rows: Vec<Vec<MetricRow>>,
    pub wall: f64,
    /// Sums over the current epoch so far: loss sum, error count, images.
    pub epoch_acc: Vec<[f64; 3]>,
}

/// What saving and resuming a group's checkpoints need of its training loop
/// (`group::Loop::checkpointed`).
pub(super) struct GroupCheckpoint<'a> {
    pub runs: &'a [GroupRun<'a>],
    /// Each run's config hash, which its checkpoint must carry.
    pub hashes: &'a [String],
    pub ctx: &'a TrainContext<'a>,
    /// Everything but the seed is shared by the group's runs.
    pub cfg: &'a RunConfig,
    pub vs: &'a VarStore,
    /// The number of runs fused in the variables.
    pub k: i64,
}

/// Continues from the runs' checkpoints, when they have them: all runs of a
/// group at one iteration, each belonging to its run's config and seed.
pub(super) fn resume_group(lp: &GroupCheckpoint, sgd: &mut Sgd, state: &mut State) -> Result<()> {
    let loaded = load_group(lp.runs, lp.hashes, &lp.ctx.data.identity())?;
    let Some(first) = loaded.first() else {
        return Ok(());
    };
    let at = first.1.iteration;
    if loaded.len() != lp.runs.len() || loaded.iter().any(|l| l.1.iteration != at) {
        return Err(mixed_checkpoints(lp.runs, &loaded));
    }
    if at > lp.cfg.train.iterations {
        return Err(Error::Checkpoint {
            path: first.0.join(checkpoint::META_FILE),
            msg: format!(
                "is at iteration {at}, past the run's end (train.iterations = {}); rerun with --fresh",
                lp.cfg.train.iterations
            ),
        });
    }
    let tensors: Vec<&[(String, Tensor)]> = loaded.iter().map(|l| l.2.as_slice()).collect();
    let dirs: Vec<&Path> = loaded.iter().map(|l| l.0).collect();
    restore(lp.vs, sgd, &tensors, &dirs)?;
    state.iteration = at;
    for (i, (_, meta, _)) in loaded.into_iter().enumerate() {
        state.lr_states[i] = meta.lr_state;
        state.rows[i] = meta.rows;
        state.wall = state.wall.max(meta.wall_time_s);
        state.epoch_acc[i] = meta.epoch_acc;
    }
    sgd.steps = at;
    Ok(())
}

type LoadedRun<'a> = (&'a Path, checkpoint::CheckpointMeta, Vec<(String, Tensor)>);

/// The checkpoints the runs have, each checked to be its run's, on `data`.
fn load_group<'a>(
    runs: &'a [GroupRun<'a>],
    hashes: &[String],
    data: &DataIdentity,
) -> Result<Vec<LoadedRun<'a>>> {
    let mut loaded = Vec::new();
    for (r, hash) in runs.iter().zip(hashes) {
        if let Some((meta, tensors)) = checkpoint::load(r.run_dir)? {
            let path = r.run_dir.join(checkpoint::META_FILE);
            if meta.config_hash != *hash || meta.seed != r.cfg.seed {
                return Err(Error::Checkpoint {
                    path,
                    msg: format!(
                        "belongs to another configuration (hash {} seed {}, this run {} seed {}); rerun with --fresh",
                        meta.config_hash, meta.seed, hash, r.cfg.seed
                    ),
                });
            }
            if let Some(theirs) = meta.data.as_ref().filter(|d| !d.same_data(data)) {
                return Err(Error::Checkpoint {
                    path,
                    msg: format!(
                        "was written training on {theirs}, not on this run's data {data}: \
                         resuming would train one run on two datasets. Rerun with the data it was \
                         trained on, or with --fresh to start it over on this data"
                    ),
                });
            }
            loaded.push((r.run_dir, meta, tensors));
        }
    }
    Ok(loaded)
}

fn mixed_checkpoints(runs: &[GroupRun], loaded: &[LoadedRun]) -> Error {
    let states: Vec<String> = runs
        .iter()
        .map(|r| {
            let it = loaded
                .iter()
                .find(|l| l.0 == r.run_dir)
                .map(|l| format!("iteration {}", l.1.iteration))
                .unwrap_or_else(|| "none".into());
            format!("{}: {it}", r.cfg.run_id())
        })
        .collect();
    Error::Checkpoint {
        path: loaded[0].0.join(checkpoint::META_FILE),
        msg: format!(
            "a fused group resumes only from checkpoints of all its runs at one iteration ({}); train these runs separately",
            states.join(", ")
        ),
    }
}

/// Each run's checkpoint in its own directory, in the format of a separate run.
pub(super) fn save_group(lp: &GroupCheckpoint, sgd: &Sgd, state: &State) -> Result<()> {
    let velocity = sgd.velocity_views();
    for (i, r) in lp.runs.iter().enumerate() {
        let meta = checkpoint::CheckpointMeta {
            config_hash: lp.hashes[i].clone(),
            seed: r.cfg.seed,
            iteration: state.iteration,
            lr_state: state.lr_states[i].clone(),
            wall_time_s: state.wall,
            rows: state.rows[i].clone(),
            epoch_acc: state.epoch_acc[i],
            channels_last: Some(lp.ctx.layout.is_channels_last()),
            data: Some(lp.ctx.data.identity()),
            threads: Some(tch::get_num_threads()),
        };
        let tensors = run_tensors(lp.vs, &velocity, lp.k, i as i64, lp.ctx.layout);
        checkpoint::save(r.run_dir, meta, &tensors)?;
    }
    Ok(())
}

/// Run `run`'s checkpoint tensors out of `runs` fused ones, exactly as a
/// separate run writes them: its variables (sorted by name) and its SGD
/// velocity as the flat buffer of its own network.
fn run_tensors(
    vs: &VarStore,
    velocity: &[Tensor],
    seeds_fused: i64,
    run: i64,
    layout: Layout,
) -> Vec<(String, Tensor)> {
    let mut v = fuse::defuse(vs, seeds_fused, run);
    let parts: Vec<Tensor> = velocity
        .iter()
        .map(|p| fuse::run_slice(p, seeds_fused, run))
        .collect();
    v.push((
        checkpoint::VELOCITY.to_string(),
        sgd::join_flat(&parts, layout),
    ));
    v
}

fn mismatch(dir: &Path, msg: String) -> Error {
    Error::Checkpoint {
        path: dir.join(checkpoint::META_FILE),
        msg: format!("does not match the model: {msg}; rerun with --fresh"),
    }
}

type Named<'a> = HashMap<&'a str, &'a Tensor>;

/// Loads the checkpoint tensors of each run of a group (one for a single run)
/// into the fused variables and velocity.
fn restore(
    vs: &VarStore,
    sgd: &mut Sgd,
    per_run: &[&[(String, Tensor)]],
    dirs: &[&Path],
) -> Result<()> {
    let n_vars = vs.variables().len();
    let mut maps: Vec<Named> = Vec::new();
    for (tensors, dir) in per_run.iter().zip(dirs) {
        if tensors.len() != n_vars + 1 {
            return Err(mismatch(
                dir,
                format!(
                    "{} tensors, the model has {n_vars} variables",
                    tensors.len().saturating_sub(1)
                ),
            ));
        }
        maps.push(tensors.iter().map(|(n, t)| (n.as_str(), t)).collect());
    }
    restore_velocity(vs, sgd, &maps, dirs)?;
    restore_variables(vs, &maps, dirs)
}

/// The runs' SGD velocities, each laid out as its own network's flat buffer,
/// into the (fused) flat velocity.
fn restore_velocity(vs: &VarStore, sgd: &mut Sgd, maps: &[Named], dirs: &[&Path]) -> Result<()> {
    let runs = maps.len() as i64;
    // Each run's parameters have the fused shapes with dim 0 divided by K.
    let shapes: Vec<Vec<i64>> = sgd
        .parameter_shapes()
        .into_iter()
        .map(|mut s| {
            if let Some(d) = s.first_mut() {
                *d /= runs;
            }
            s
        })
        .collect();
    let per_run_len: i64 = shapes.iter().map(|s| s.iter().product::<i64>()).sum();
    let mut velocities = Vec::new();
    for (map, dir) in maps.iter().zip(dirs) {
        let v = map
            .get(checkpoint::VELOCITY)
            .ok_or_else(|| mismatch(dir, "no SGD velocity".into()))?;
        if v.size() != [per_run_len] {
            return Err(mismatch(
                dir,
                format!(
                    "velocity has {:?} elements, the model {per_run_len}",
                    v.size()
                ),
            ));
        }
        velocities.push(sgd::split_flat(
            &v.to_device(vs.device()),
            &shapes,
            sgd.layout(),
        ));
    }
    let fused: Vec<Tensor> = (0..shapes.len())
        .map(|p| Tensor::cat(&velocities.iter().map(|v| &v[p]).collect::<Vec<_>>(), 0))
        .collect();
    sgd.set_velocity(&sgd::join_flat(&fused, sgd.layout()))
        .map_err(|e| mismatch(dirs[0], e.to_string()))
}

/// Each variable: the runs' values concatenated along dim 0 (a scalar taken from the first run).
fn restore_variables(vs: &VarStore, maps: &[Named], dirs: &[&Path]) -> Result<()> {
    for (name, var) in &vs.variables() {
        let mut parts = Vec::new();
        for (map, dir) in maps.iter().zip(dirs) {
            let t = map
                .get(name.as_str())
                .ok_or_else(|| mismatch(dir, format!("no variable `{name}`")))?;
            parts.push(t.to_device(vs.device()));
        }
        let value = if var.dim() == 0 {
            parts.swap_remove(0)
        } else {
            Tensor::cat(&parts, 0)
        };
        if var.size() != value.size() {
            return Err(mismatch(
                dirs[0],
                format!(
                    "`{name}` has shape {:?}, expected {:?}",
                    value.size(),
                    var.size()
                ),
            ));
        }
        let mut var = var.shallow_clone();
        tch::no_grad(|| var.copy_(&value));
    }
    Ok(())
}
