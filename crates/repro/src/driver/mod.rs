//! The driver every experiment binary shares. An experiment crate implements
//! `Experiment` (which figures, tables and claims) and calls `main`; the
//! experiment's runs, profiles, title and citation are data in
//! `experiments/<name>.toml`.
//!
//! One file per job, in the order a run of the binary takes them:
//! `experiment` (what an experiment crate implements, and the results it draws
//! from), `cli` (flags, parsed into types), `plan` (the grid of runs, what is
//! left to train), `list_runs` (`--list-runs`), `probes` (layout and cost
//! timing), `groups` (seed fusion), `execute` (training, run by run or group
//! by group), `run_dir` (a run's directory, its state and lock), `collect`
//! (metrics, figures, report). No module here imports this one (its tests
//! aside): the types they share live in `experiment`.
mod cli;
mod collect;
mod execute;
mod experiment;
mod groups;
mod list_runs;
mod plan;
mod probes;
mod resumed;
mod reuse;
mod run_dir;
mod stale;

pub use cli::{select_device, Args, DeviceSpec, FuseMode, LayoutMode};
pub use collect::write_outputs;
pub use experiment::{Experiment, Results};
pub use plan::{profile_dir_name, variant_key};
pub use probes::{human_time, long_job_warning, time_group_steps, time_steps};
pub use records::run_dir::check_complete;
pub use run_dir::{RunDir, RunDirWithConfig, RunState, StatusFile, StatusOf};

use crate::config::ExperimentFile;
use std::path::Path;

/// The repository root (`records::repo_root`: one home for the rule).
pub use records::repo_root;

/// The binary's `main`: parse flags, run, and on failure print one line
/// (`error: ...`, the cause chain joined) and exit with the status of
/// `crate::exit` (75 after a signal stopped the run at a checkpoint).
/// `crate_name` is the calling crate's `env!("CARGO_PKG_NAME")`, which must be
/// the experiment's name.
pub fn main<E: Experiment>(exp: E, crate_name: &'static str) -> std::process::ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    // The binary's own name in `--version` and `--help` (the flags are
    // declared here, in `repro`, whose name clap would print otherwise).
    let matches = Args::command().name(crate_name).get_matches();
    let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    args.verbosity.init();
    let result = if exp.name() == crate_name {
        run(&exp, &args)
    } else {
        Err(anyhow::anyhow!(
            "crate `{crate_name}` runs the experiment `{}`: the crate, its experiments/<name>.toml and Experiment::name must agree",
            exp.name()
        ))
    };
    crate::exit::finish(result)
}

/// Lists the profiles (`--list-profiles`), redraws every profile with results
/// (`--plot-only` without `--profile`), or runs one profile.
pub fn run<E: Experiment>(exp: &E, args: &Args) -> anyhow::Result<()> {
    let root = repo_root();
    if args.list_profiles {
        let file = ExperimentFile::load(&plan::config_path(args, &root, exp.name()))?;
        print!("{}", profiles_listing(&file));
        return Ok(());
    }
    if args.plot_only && args.profile.is_none() {
        return plot_every_profile(exp, args, &root);
    }
    run_profile(exp, args, &root)
}

/// `--list-profiles`: one line per profile, its fidelity beside its name.
pub fn profiles_listing(file: &ExperimentFile) -> String {
    let mut s = String::new();
    for (name, p) in &file.profiles {
        let seeds: Vec<String> = p.seeds.iter().map(u64::to_string).collect();
        s.push_str(&format!(
            "{name} ({}): {} run(s) x seeds {}: {}\n",
            p.fidelity,
            p.runs.len(),
            seeds.join(","),
            p.description
        ));
    }
    s
}

/// `--plot-only` without `--profile`: redraws each profile of the experiment
/// file that has results in the output directory; an error when none has.
fn plot_every_profile<E: Experiment>(exp: &E, args: &Args, root: &Path) -> anyhow::Result<()> {
    let file = ExperimentFile::load(&plan::config_path(args, root, exp.name()))?;
    let mut drawn = Vec::new();
    for name in file.profiles.keys() {
        let mut one = args.clone();
        one.profile = Some(name.clone());
        let plan = plan::Plan::new(exp.name(), &one, root)?;
        if plan.profile_dir.join("runs").is_dir() {
            collect::report(exp, &plan, true)?;
            drawn.push(name.clone());
        }
    }
    if drawn.is_empty() {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| root.join(cli::USER_OUT).join(exp.name()));
        return Err(crate::exit::BadInput(format!(
            "--plot-only: no profile of {} has results under {} (profiles: {}); train one, \
             or redraw the committed results with --out results/{}",
            exp.name(),
            out.display(),
            file.profiles.keys().cloned().collect::<Vec<_>>().join(", "),
            exp.name()
        ))
        .into());
    }
    crate::say!("--plot-only: redrew {}", drawn.join(", "));
    Ok(())
}

/// Plan, train what is left (unless `--plot-only`), then draw the report
/// (unless `--no-report`).
fn run_profile<E: Experiment>(exp: &E, args: &Args, root: &Path) -> anyhow::Result<()> {
    let plan = plan::Plan::new(exp.name(), args, root)?;
    probes::check_bf16_hardware(
        &plan.grid,
        cli::is_cpu_here(args.device),
        args.allow_slow_bf16,
        crate::provenance::CpuIsa::this_cpu(),
    )?;
    if args.print_profile_dir {
        println!("{}", plan.profile_dir.display());
        return Ok(());
    }
    if args.list_runs {
        list_runs::list_runs(&plan, args)?;
        return Ok(());
    }
    if let Some(t) = args.threads {
        tch::set_num_threads(t);
    }
    if !args.plot_only && !execute::train_planned(exp, &plan, args)? {
        return Ok(());
    }
    if args.no_report {
        return Ok(());
    }
    collect::report(exp, &plan, args.plot_only)
}

#[cfg(test)]
mod tests;
