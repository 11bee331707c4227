//! The driver every experiment binary shares. An experiment crate implements
//! `Experiment` (which figures, tables and claims) and calls `main`; the
//! experiment's runs, profiles, title and citation are data in
//! `experiments/<name>.toml`.
//!
//! One file per job, in the order a run of the binary takes them:
//! `cli` (flags, parsed into types), `plan` (the grid of runs, what is left to
//! train, `--list-runs`), `probes` (layout and cost timing), `groups` (seed
//! fusion), `execute` (training, run by run or group by group), `run_dir` (a
//! run's directory, its state and lock), `collect` (metrics, figures, report).
mod cli;
mod collect;
mod execute;
mod groups;
mod plan;
mod probes;
mod resumed;
mod reuse;
mod run_dir;
mod stale;

pub use cli::{select_device, Args, DeviceSpec, FuseMode, LayoutMode};
pub use collect::write_outputs;
pub use plan::{profile_dir_name, variant_key};
pub use probes::{human_time, long_job_warning, time_group_steps, time_steps};
pub use records::run_dir::check_complete;
pub use run_dir::{RunDir, RunDirWithConfig, RunState, StatusFile, StatusOf};

use crate::config::{ExperimentFile, ProfileHeader, RunConfig};
use crate::data::Dataset;
use crate::error::Result;
use crate::metrics::MetricRow;
use crate::models::Network;
use crate::papers::PaperNumbers;
use crate::report::{self, ClaimSpec, Header, Measured, Table};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What an experiment crate says about its paper beyond its TOML file.
pub trait Experiment {
    /// The crate's name, which is also the TOML file's stem and its `experiment.name`.
    fn name(&self) -> &'static str;
    /// Figures drawn from the metrics alone: (file stem, figure).
    fn figures(&self, res: &Results) -> Vec<(String, figures::Figure)>;
    fn tables(&self, res: &Results) -> Vec<Table>;
    /// The measured samples of each claim the experiment's claims file
    /// states (`experiments/papers/<paper>.claims.toml`), named by its id:
    /// per arm and seed, nothing more. The verdicts are `report::judge`'s.
    fn claims(&self, res: &Results) -> Vec<Measured>;
    /// After a run completes: measurements of the trained network saved in its
    /// directory (e.g. Fig. 7's layer responses), read back by `figures`/`tables`.
    fn after_run(
        &self,
        _cfg: &RunConfig,
        _net: &dyn Network,
        _data: &Dataset,
        _run_dir: &Path,
    ) -> Result<()> {
        Ok(())
    }
}

/// Everything a report is drawn from.
pub struct Results {
    pub rows: Vec<MetricRow>,
    pub runs: report::Runs,
    pub header: Header,
    pub profile: ProfileHeader,
    /// Resolved configs of the profile's grid, by run id.
    pub configs: BTreeMap<String, RunConfig>,
    /// The experiment file the runs were resolved from.
    pub file: ExperimentFile,
    pub profile_dir: PathBuf,
    /// The paper's numbers, from `experiments/papers/<paper>.csv`.
    pub paper: PaperNumbers,
    /// The experiment's claims, from `experiments/papers/<paper>.claims.toml`.
    pub specs: Vec<ClaimSpec>,
    /// `--log-y`: curve panels on a log-scale y axis.
    pub log_y: bool,
}

impl Results {
    /// The legend name of a run (`[experiment.labels]`, else the run name).
    pub fn label(&self, run: &str) -> String {
        self.file.label(run).to_string()
    }

    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        RunDir::new(&self.profile_dir, run_id).path().to_path_buf()
    }
    /// Whether the profile's grid includes a run of this name.
    pub fn in_profile(&self, name: &str) -> bool {
        self.profile.runs.iter().any(|r| r == name)
    }
    /// The spec of claim `id` (a claim the claims file lacks has none).
    pub fn spec(&self, id: &str) -> Option<&ClaimSpec> {
        self.specs.iter().find(|s| s.id == id)
    }

    /// The measurement of claim `id` when its quantity is a generic one
    /// (`report::Quantity`), from its spec's arms; missing, with why, where
    /// the claims file lacks it or an arm was not run.
    pub fn measure(&self, id: &str) -> Measured {
        match self.spec(id) {
            Some(s) => self.runs.measure(s),
            None => Measured::missing(id, "no such claim in the claims file"),
        }
    }

    /// Every claim whose quantity is generic, measured from its spec's arms
    /// (an experiment's `claims` when it has no custom quantity).
    pub fn measure_all(&self) -> Vec<Measured> {
        self.specs.iter().map(|s| self.runs.measure(s)).collect()
    }

    /// The resolved config of a run of this name: the profile's own (its first
    /// seed), or for a run of the file outside the profile's grid, the run
    /// resolved under this profile (e.g. to count a table row's parameters).
    pub fn config_of(&self, name: &str) -> Option<RunConfig> {
        self.configs
            .values()
            .find(|c| c.name == name)
            .cloned()
            .or_else(|| self.file.resolve(&self.header.profile, name, 0, &[]).ok())
    }
}

/// The repository root: the nearest ancestor of the working directory with an
/// `experiments/` folder, else the one this binary was built from.
pub fn repo_root() -> PathBuf {
    if let Ok(mut d) = std::env::current_dir() {
        loop {
            if d.join("experiments").is_dir() && d.join("Cargo.toml").is_file() {
                return d;
            }
            if !d.pop() {
                break;
            }
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

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

/// Plan, train what is left (unless `--plot-only`), then draw the report
/// (unless `--no-report`).
pub fn run<E: Experiment>(exp: &E, args: &Args) -> anyhow::Result<()> {
    let root = repo_root();
    let plan = plan::Plan::new(exp.name(), args, &root)?;
    probes::check_bf16_hardware(
        &plan.grid,
        args.device.is_cpu_here(),
        args.allow_slow_bf16,
        crate::provenance::CpuIsa::this_cpu(),
    )?;
    if args.print_profile_dir {
        println!("{}", plan.profile_dir.display());
        return Ok(());
    }
    if args.list_runs {
        plan.list_runs(args)?;
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
