//! Runs trained by other code than this build's, or on other data than this
//! invocation's. A finished run is reused only when the training code that
//! produced it (its recorded `provenance::TRAINING_CODE`) is this build's and
//! its data is the data given now (`--data`); otherwise the driver says which
//! runs come from which commit or data and either starts them over
//! (`--fresh-stale`) or refuses, unless `--allow-mixed` accepts them (never a
//! checkpoint on other data: a resume would train one run on two datasets).
//! A report is likewise drawn from one training code's runs unless `--allow-mixed`.
use super::cli::Args;
use super::plan::Plan;
use super::run_dir::RunDirWithConfig;
use crate::config::{DatasetKind, RunConfig};
use crate::provenance::{DataIdentity, Provenance, TRAINING_CODE};
use std::collections::BTreeMap;

/// A selected run that ended, or holds a checkpoint, under other training
/// code or on other data.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleRun {
    pub run_id: String,
    pub why: Why,
}

/// What makes a run stale.
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    /// Other training code: the commit that trained it, as its provenance records it.
    Code { commit: String },
    /// Other data: what it was trained on, and the iteration of its checkpoint
    /// (None: it ended).
    Data {
        trained_on: DataIdentity,
        checkpoint: Option<i64>,
    },
}

/// The selected runs whose results or checkpoint come from other training
/// code than this build's (or whose provenance does not say), or from other
/// CIFAR-10 data than `data` (this invocation's, when it has been loaded).
pub fn stale_runs(plan: &Plan, data: Option<&DataIdentity>) -> Vec<StaleRun> {
    plan.grid
        .iter()
        .filter_map(|cfg| stale_run(plan, cfg, data))
        .collect()
}

/// `cfg`'s run, when it ended or holds a checkpoint under other training
/// code, or (a CIFAR-10 run, `data` given) on other data than `data`.
pub fn stale_run(plan: &Plan, cfg: &RunConfig, data: Option<&DataIdentity>) -> Option<StaleRun> {
    let dir = plan.run_dir(cfg);
    let ended = dir.ended_with(cfg).is_some();
    if !ended && !dir.has_checkpoint() {
        return None;
    }
    let prov = dir.read_provenance();
    let run_id = cfg.run_id();
    if prov
        .as_ref()
        .is_none_or(|p| p.training_code != TRAINING_CODE)
    {
        let commit = prov.map_or_else(
            || "unknown (no provenance.json)".into(),
            |p| p.trained_at().join(", "),
        );
        let why = Why::Code { commit };
        return Some(StaleRun { run_id, why });
    }
    let data = data.filter(|_| cfg.data.dataset == DatasetKind::Cifar10)?;
    // A finished run's data is its provenance's; a checkpoint's, its own
    // record (one that does not verify is refused when the run opens).
    let (trained_on, checkpoint) = if ended {
        (prov.map(|p| p.data())?, None)
    } else {
        let rec = super::resumed::recorded(&dir).ok().flatten()?;
        (rec.data?, Some(rec.iteration))
    };
    if trained_on.same_data(data) {
        return None;
    }
    let why = Why::Data {
        trained_on,
        checkpoint,
    };
    Some(StaleRun { run_id, why })
}

/// Before training: stale runs start over with `--fresh-stale`, are reused
/// with `--allow-mixed`, and are refused otherwise (nothing is written).
/// `data`: this invocation's CIFAR-10 data, when it has been loaded.
pub fn settle(plan: &Plan, args: &Args, data: Option<&DataIdentity>) -> anyhow::Result<()> {
    if args.fresh {
        return Ok(());
    }
    let stale = stale_runs(plan, data);
    if stale.is_empty() {
        return Ok(());
    }
    if args.fresh_stale {
        for s in &stale {
            crate::say!("[{}] {}: starting over (--fresh-stale)", s.run_id, s.why);
            super::run_dir::RunDir::new(&plan.profile_dir, &s.run_id).forget()?;
        }
        return Ok(());
    }
    let (code, other_data): (Vec<&StaleRun>, Vec<&StaleRun>) = stale
        .iter()
        .partition(|s| matches!(s.why, Why::Code { .. }));
    let resuming: Vec<&StaleRun> = other_data
        .iter()
        .copied()
        .filter(|s| {
            matches!(
                s.why,
                Why::Data {
                    checkpoint: Some(_),
                    ..
                }
            )
        })
        .collect();
    if args.allow_mixed && resuming.is_empty() {
        crate::say!(
            "reusing runs trained by other training code or on other data (--allow-mixed): {}",
            describe(&stale)
        );
        return Ok(());
    }
    let mut why = Vec::new();
    if !code.is_empty() && !args.allow_mixed {
        why.push(code_refusal(plan, &code));
    }
    let other_data = if args.allow_mixed {
        resuming
    } else {
        other_data
    };
    if !other_data.is_empty() {
        why.push(data_refusal(plan, args, &other_data, data));
    }
    anyhow::bail!("{}", why.join(". Also, "))
}

fn code_refusal(plan: &Plan, stale: &[&StaleRun]) -> String {
    format!(
        "{} run(s) under {} were trained by other training code than this build's \
         ({TRAINING_CODE}): {}. Start them over with --fresh-stale, or reuse them \
         with --allow-mixed (the report then lists the commits)",
        stale.len(),
        plan.profile_dir.display(),
        describe_refs(stale)
    )
}

fn data_refusal(
    plan: &Plan,
    args: &Args,
    stale: &[&StaleRun],
    data: Option<&DataIdentity>,
) -> String {
    let given = args.data.as_ref().map_or_else(
        || "the official download".to_string(),
        |p| format!("--data {}", p.display()),
    );
    let now = data.map(|d| format!("{d} ")).unwrap_or_default();
    let finished = stale.iter().any(|s| {
        matches!(
            s.why,
            Why::Data {
                checkpoint: None,
                ..
            }
        )
    });
    format!(
        "{} run(s) under {} were trained on other data than the data given now ({now}from \
         {given}): {}. Rerun with the --data they were trained on (their provenance.json's \
         `command` has it), or start them over on this data with --fresh-stale{}",
        stale.len(),
        plan.profile_dir.display(),
        describe_refs(stale),
        if finished {
            " (finished runs can also be kept as they are with --allow-mixed; a checkpoint \
             never resumes on other data)"
        } else {
            " (a checkpoint never resumes on other data)"
        }
    )
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Code { commit } => write!(f, "trained at {commit}"),
            Why::Data {
                trained_on,
                checkpoint: None,
            } => write!(f, "finished on {trained_on}"),
            Why::Data {
                trained_on,
                checkpoint: Some(at),
            } => write!(f, "checkpoint at iteration {at} on {trained_on}"),
        }
    }
}

fn describe(stale: &[StaleRun]) -> String {
    describe_refs(&stale.iter().collect::<Vec<_>>())
}

fn describe_refs(stale: &[&StaleRun]) -> String {
    stale
        .iter()
        .map(|s| match &s.why {
            Why::Code { commit } => format!("{} (commit {commit})", s.run_id),
            why => format!("{} ({why})", s.run_id),
        })
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
