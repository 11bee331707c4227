//! Which runs train together: the seeds of one run as one fused network
//! (`--fuse-seeds`), or each run alone. Runs keep their order otherwise (a run
//! may start from an earlier one's weights).
use super::cli::FuseMode;
use super::probes::{time_group_steps, Layouts};
use crate::config::RunConfig;
use crate::layout::Layout;
use crate::train;
use std::collections::{BTreeMap, BTreeSet};
use tch::Device;

/// Splits the runs to train into groups: a fused group of seeds of one run, or
/// a single run.
pub fn plan_groups<'a>(
    todo: &[&'a RunConfig],
    mode: FuseMode,
    max: usize,
    device: Device,
    layouts: &Layouts,
) -> Vec<Vec<&'a RunConfig>> {
    let groups = seed_groups(todo, mode, max);
    match mode {
        FuseMode::On | FuseMode::Off => groups,
        // Auto on a CPU: separate runs. oneDNN's grouped convolutions make
        // fusion slower there (README, Performance), and a timing probe on a
        // shared CPU is too noisy to decide which numerics a run gets;
        // `--fuse-seeds on` forces it.
        FuseMode::Auto if !device.is_cuda() => {
            if groups.iter().any(|g| g.len() > 1) {
                crate::say!(
                    "fuse-seeds auto: CPU: training seeds separately (`--fuse-seeds on` fuses)"
                );
            }
            split_all(groups)
        }
        FuseMode::Auto => keep_where_faster(groups, device, layouts),
    }
}

/// Groups each run's seeds (same config but the seed) up to `max` per group,
/// where the run can fuse; says once per run why it cannot.
fn seed_groups<'a>(todo: &[&'a RunConfig], mode: FuseMode, max: usize) -> Vec<Vec<&'a RunConfig>> {
    let mut groups: Vec<Vec<&RunConfig>> = Vec::new();
    let mut said: BTreeSet<String> = BTreeSet::new();
    // Only a run with several seeds to train has anything to fuse (or to say so about).
    let several_seeds = |name: &str| todo.iter().filter(|c| c.name == name).count() > 1;
    for &cfg in todo {
        let blocker = train::fusion_blocker(cfg);
        if mode == FuseMode::Off || max < 2 || blocker.is_some() {
            if let (Some(why), true) = (&blocker, mode != FuseMode::Off && several_seeds(&cfg.name))
            {
                if said.insert(cfg.name.clone()) {
                    crate::say!(
                        "fuse-seeds: `{}` trains its seeds separately: {why}",
                        cfg.name
                    );
                }
            }
            groups.push(vec![cfg]);
            continue;
        }
        // Join the open group of this run's earlier seeds.
        let open = groups.iter_mut().rev().find(|g| {
            g.len() < max
                && g[0].name == cfg.name
                && g[0].config_hash() == cfg.config_hash()
                && train::fusion_blocker(g[0]).is_none()
        });
        match open {
            Some(g) => g.push(cfg),
            None => groups.push(vec![cfg]),
        }
    }
    groups
}

fn split_all(groups: Vec<Vec<&RunConfig>>) -> Vec<Vec<&RunConfig>> {
    groups
        .into_iter()
        .flat_map(|g| g.into_iter().map(|c| vec![c]))
        .collect()
}

/// Auto on a GPU: keep a fused group only where fusing measured at least 10%
/// faster here (the margin keeps timing noise from deciding).
fn keep_where_faster<'a>(
    groups: Vec<Vec<&'a RunConfig>>,
    device: Device,
    layouts: &Layouts,
) -> Vec<Vec<&'a RunConfig>> {
    let mut probed: BTreeMap<String, bool> = BTreeMap::new();
    let mut out = Vec::new();
    for g in groups {
        if g.len() < 2 {
            out.push(g);
            continue;
        }
        let key = format!(
            "{}/{}/{}",
            serde_json::to_string(&g[0].model).unwrap_or_default(),
            g[0].train.batch_size,
            g.len()
        );
        let layout = layouts.get(&g[0].run_id()).copied().unwrap_or(Layout::Nchw);
        let fuse = *probed
            .entry(key)
            .or_insert_with(|| fusion_pays(g[0], g.len() as i64, device, layout));
        if fuse {
            out.push(g);
        } else {
            out.extend(g.into_iter().map(|c| vec![c]));
        }
    }
    out
}

/// Whether `k` fused seeds of `cfg` train at least 1.1x the images/s of separate runs here.
fn fusion_pays(cfg: &RunConfig, k: i64, device: Device, layout: Layout) -> bool {
    let steps = 10;
    let sep = time_group_steps(cfg, 1, device, steps, layout);
    let fused = time_group_steps(cfg, k, device, steps, layout);
    match (sep, fused) {
        (Ok(sep), Ok(fused)) => {
            let ratio = k as f64 * sep / fused;
            let fuse = ratio > 1.1;
            crate::say!(
                "fuse-seeds auto: `{}` x{k} fused trains {ratio:.2}x the images/s of separate runs on this device ({fused:.3} s per fused step, {sep:.3} s per separate step): {}",
                cfg.name,
                if fuse { "fusing" } else { "training separately" }
            );
            fuse
        }
        (Err(e), _) | (_, Err(e)) => {
            crate::say!(
                "fuse-seeds auto: `{}`: timing probe failed ({e}): training separately",
                cfg.name
            );
            false
        }
    }
}
