//! `--list-runs`: the selected runs and the state of each, the task list of
//! `sweep`. Apart from `plan` so that the plan does not import what reads it
//! (`stale`, `execute`).
use super::cli::Args;
use super::plan::Plan;
use super::run_dir::RunDirWithConfig;
use super::stale::{stale_run, Why};
use crate::models;
use records::run_dir::{run_id, ListedRun, RunListState};

/// One JSON line (`records::run_dir::ListedRun`) per selected run.
/// `state`: `done` (finished with this config), `resume` (has a
/// checkpoint), `new`, or `stale` (finished or checkpointed by other
/// training code than this build's, or, when `--data` is given, on other
/// data: `--fresh-stale` lists it as `new`, `--allow-mixed` as what it
/// is); `why` says what makes a `stale` run stale. A closed pipe ends the
/// list quietly.
pub fn list_runs(plan: &Plan, args: &Args) -> anyhow::Result<()> {
    use std::io::Write;
    let fresh = args.fresh;
    let data = if fresh {
        None
    } else {
        super::execute::data_to_check(plan, args)?
    };
    let mut out = std::io::stdout().lock();
    for cfg in &plan.grid {
        let dir = plan.run_dir(cfg);
        let why = if fresh {
            None
        } else {
            stale_run(plan, cfg, data.as_ref()).map(|s| match s.why {
                Why::Code { .. } => format!("other training code ({})", s.why),
                Why::Data { .. } => format!("other data ({})", s.why),
            })
        };
        let stale = why.is_some();
        let state = if stale && args.fresh_stale {
            RunListState::New
        } else if stale && !args.allow_mixed {
            RunListState::Stale
        } else if !fresh && dir.ended_with(cfg).is_some() {
            RunListState::Done
        } else if !fresh && dir.has_checkpoint() {
            RunListState::Resume
        } else {
            RunListState::New
        };
        // A run that starts from another run's trained weights (VGG's net A)
        // must wait for it: sweeps order their tasks by `after`.
        let after = match models::init_from(&cfg.model) {
            models::InitFrom::Run { run, .. } => Some(run_id(run, cfg.seed)),
            models::InitFrom::Random => None,
        };
        let line = ListedRun {
            run: cfg.name.clone(),
            seed: cfg.seed,
            run_id: cfg.run_id(),
            state,
            after,
            why: why.filter(|_| state == RunListState::Stale),
        };
        match writeln!(out, "{}", serde_json::to_string(&line)?) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            r => r?,
        }
    }
    Ok(())
}
