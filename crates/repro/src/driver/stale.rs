//! Runs trained by other code than this build's. A finished run is reused
//! only when the training code that produced it (its recorded
//! `provenance::TRAINING_CODE`) is this build's; otherwise the driver says
//! which runs come from which commit and either starts them over
//! (`--fresh-stale`) or refuses, unless `--allow-mixed` accepts them. A report
//! is likewise drawn from one training code's runs unless `--allow-mixed`.
use super::cli::Args;
use super::plan::Plan;
use crate::provenance::{Provenance, TRAINING_CODE};
use std::collections::BTreeMap;

/// A selected run that ended, or holds a checkpoint, under other training code.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleRun {
    pub run_id: String,
    /// The commit that trained it, as its provenance records it.
    pub commit: String,
}

/// The selected runs whose results or checkpoint come from other training
/// code than this build's (or whose provenance does not say).
pub fn stale_runs(plan: &Plan) -> Vec<StaleRun> {
    plan.grid
        .iter()
        .filter_map(|cfg| stale_run(plan, cfg))
        .collect()
}

/// `cfg`'s run, when it ended or holds a checkpoint under other training code.
pub fn stale_run(plan: &Plan, cfg: &crate::config::RunConfig) -> Option<StaleRun> {
    let dir = plan.run_dir(cfg);
    if dir.ended_with(cfg).is_none() && !dir.has_checkpoint() {
        return None;
    }
    let prov = dir.read_provenance();
    if prov
        .as_ref()
        .is_some_and(|p| p.training_code == TRAINING_CODE)
    {
        return None;
    }
    Some(StaleRun {
        run_id: cfg.run_id(),
        commit: prov.map_or_else(
            || "unknown (no provenance.json)".into(),
            |p| p.commit_label(),
        ),
    })
}

/// Before training: stale runs start over with `--fresh-stale`, are reused
/// with `--allow-mixed`, and are refused otherwise (nothing is written).
pub fn settle(plan: &Plan, args: &Args) -> anyhow::Result<()> {
    if args.fresh {
        return Ok(());
    }
    let stale = stale_runs(plan);
    if stale.is_empty() {
        return Ok(());
    }
    let list = describe(&stale);
    if args.allow_mixed {
        crate::say!("reusing runs trained by other training code (--allow-mixed): {list}");
        return Ok(());
    }
    if args.fresh_stale {
        for s in &stale {
            crate::say!(
                "[{}] trained at {}: starting over (--fresh-stale)",
                s.run_id,
                s.commit
            );
            super::run_dir::RunDir::new(&plan.profile_dir, &s.run_id).forget()?;
        }
        return Ok(());
    }
    anyhow::bail!(
        "{} run(s) under {} were trained by other training code than this build's \
         ({TRAINING_CODE}): {list}. Start them over with --fresh-stale, or reuse them \
         with --allow-mixed (the report then lists the commits)",
        stale.len(),
        plan.profile_dir.display()
    )
}

fn describe(stale: &[StaleRun]) -> String {
    stale
        .iter()
        .map(|s| format!("{} (commit {})", s.run_id, s.commit))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses to draw one report from runs of several training codes unless
/// `allow_mixed`; the error lists which runs come from which commit.
pub fn check_one_code(runs: &[(String, Provenance)], allow_mixed: bool) -> crate::Result<()> {
    let mut by_code: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (id, p) in runs {
        let key = format!("{} ({})", p.training_identity(), p.commit_label());
        by_code.entry(key).or_default().push(id);
    }
    let codes: BTreeMap<String, Vec<&str>> = runs.iter().fold(BTreeMap::new(), |mut m, (id, p)| {
        m.entry(p.training_identity())
            .or_insert_with(Vec::new)
            .push(id.as_str());
        m
    });
    if codes.len() <= 1 || allow_mixed {
        return Ok(());
    }
    let groups: Vec<String> = by_code
        .iter()
        .map(|(k, ids)| format!("{k}: {}", ids.join(", ")))
        .collect();
    Err(crate::Error::Other(format!(
        "the runs of this report were trained by {} different training codes; {}. \
         Retrain the older ones with --fresh-stale, or draw the report anyway with \
         --allow-mixed (its header then lists the commits)",
        codes.len(),
        groups.join("; ")
    )))
}
