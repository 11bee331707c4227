//! What an experiment crate implements (`Experiment`: its figures, tables and
//! claims) and everything its report is drawn from (`Results`). Apart from the
//! driver's entry points (`driver::main`, `driver::run`) so that the driver's
//! modules (`collect`, `execute`, `reuse`) import it without importing their
//! parent.
use super::run_dir::RunDir;
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
