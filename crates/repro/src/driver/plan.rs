//! The plan of one invocation: the experiment file and profile, the grid of
//! runs (every run x seed, resolved and validated before anything is written),
//! where their results go, and which of them are left to train.
use super::cli::Args;
use super::run_dir::RunDir;
use super::run_dir::RunDirWithConfig;
use crate::config::{ExperimentFile, Fidelity, Override, ProfileHeader, RunConfig};
use crate::papers::PaperNumbers;
use crate::precision;
use crate::report::{claims_path, ClaimSpec, ClaimSpecs};
use records::fidelity::Lowering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct Plan {
    pub root: PathBuf,
    pub file: ExperimentFile,
    pub profile_name: String,
    pub profile: ProfileHeader,
    pub seeds: Vec<u64>,
    /// Resolved configs of the profile's whole grid, by run id.
    pub configs: BTreeMap<String, RunConfig>,
    /// The runs selected by `--runs`, in the profile's order.
    pub grid: Vec<RunConfig>,
    /// The profile's fidelity, lowered by overrides and reduced precision.
    pub fidelity: Fidelity,
    /// Why the label is lower than the profile's (empty if it is not).
    pub fidelity_notes: Vec<String>,
    /// Runs in TF32 or bf16 (`--bf16`, `--tf32` or `train.precision`).
    pub reduced_precision: bool,
    /// `<out>/<profile>[-<precision>]`.
    pub profile_dir: PathBuf,
    /// The paper's numbers (`[experiment] numbers`), read before anything runs
    /// so that a broken file stops the binary before training, not after.
    pub paper: PaperNumbers,
    /// The experiment's claims (`<paper>.claims.toml` beside the numbers),
    /// checked against the numbers and the experiment's profiles.
    pub specs: Vec<ClaimSpec>,
    /// `--log-y`: error curves on a log-scale y axis.
    pub log_y: bool,
    /// `--allow-mixed`: runs of other training code may be reused and drawn
    /// into one report with this build's.
    pub allow_mixed: bool,
    /// `--draw-partial`: interrupted runs are drawn as far as they got.
    pub draw_partial: bool,
}

/// The experiment's claims from the claims file beside its paper numbers
/// (none without a numbers file), checked against its profiles: a broken
/// claims file stops the binary before anything trains.
fn claim_specs(
    file: &ExperimentFile,
    paper: &PaperNumbers,
    experiment: &str,
) -> anyhow::Result<Vec<ClaimSpec>> {
    let Some(numbers) = &file.numbers else {
        return Ok(Vec::new());
    };
    let path = claims_path(numbers);
    let specs = ClaimSpecs::load(&path, paper)?;
    let profiles: Vec<String> = file.profiles.keys().cloned().collect();
    specs.check_profiles(experiment, &profiles)?;
    Ok(specs.of(experiment))
}

impl Plan {
    /// Reads the experiment file and resolves the grid: a bad key, profile, run
    /// filter or seed list fails here, before anything is written.
    pub fn new(experiment: &str, args: &Args, root: &Path) -> anyhow::Result<Self> {
        let config_path = config_path(args, root, experiment);
        let file = ExperimentFile::load(&config_path)?;
        if file.name != experiment {
            anyhow::bail!(
                "{}: `experiment.name = \"{}\"` is another experiment's file; this binary is `{experiment}`",
                config_path.display(),
                file.name
            );
        }
        let profile = file.profile(args.profile())?.clone();
        let paper = match &file.numbers {
            Some(p) => PaperNumbers::load(p)?,
            None => PaperNumbers::default(),
        };
        let specs = claim_specs(&file, &paper, experiment)?;
        let overrides = overrides(args);
        let seeds = args.seeds.clone().unwrap_or_else(|| profile.seeds.clone());
        if seeds.is_empty() {
            anyhow::bail!("--seeds: no seeds given");
        }
        if let Some(s) = seeds
            .iter()
            .enumerate()
            .find_map(|(i, s)| seeds[..i].contains(s).then_some(s))
        {
            anyhow::bail!("--seeds: seed {s} is given twice (one run per seed)");
        }
        check_run_filter(&args.runs, &profile, args.profile())?;
        let (configs, grid) = resolve_grid(
            &file,
            args.profile(),
            &profile,
            &seeds,
            &overrides,
            &args.runs,
        )?;
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| root.join(super::cli::USER_OUT).join(experiment));
        let suffix = precision_suffix(&configs);
        let (fidelity, fidelity_notes) =
            fidelity(&profile, &overrides, args, &config_path, root, experiment);
        let config_text = custom_config_text(args, &config_path, root, experiment)?;
        let variant = variant_key(&args.overrides, config_text.as_deref());
        Ok(Self {
            root: root.to_path_buf(),
            fidelity,
            fidelity_notes,
            reduced_precision: suffix.is_some(),
            profile_dir: out.join(profile_dir_name(
                args.profile(),
                suffix.as_deref(),
                variant.as_deref(),
            )),
            profile_name: args.profile().to_string(),
            paper,
            specs,
            log_y: args.log_y,
            allow_mixed: args.allow_mixed,
            draw_partial: args.draw_partial,
            file,
            profile,
            seeds,
            configs,
            grid,
        })
    }

    pub fn run_dir(&self, cfg: &RunConfig) -> RunDir {
        RunDir::new(&self.profile_dir, &cfg.run_id())
    }

    /// The selected runs that have not ended with their current config (all with `--fresh`).
    pub fn todo(&self, fresh: bool) -> Vec<&RunConfig> {
        self.grid
            .iter()
            .filter(|c| fresh || self.run_dir(c).ended_with(c).is_none())
            .collect()
    }
}

/// The profile's label, lowered (`records::fidelity`) by anything that makes
/// the runs differ from the profile as written: `--set`, `--bf16`/`--tf32`,
/// or another experiment file than `experiments/<name>.toml`.
fn fidelity(
    profile: &ProfileHeader,
    overrides: &[Override],
    args: &Args,
    config_path: &Path,
    root: &Path,
    experiment: &str,
) -> (Fidelity, Vec<String>) {
    let mut why = Vec::new();
    if !overrides.is_empty() {
        why.push(Lowering::Overridden(
            overrides.iter().map(|o| o.to_string()).collect(),
        ));
    }
    if args.config.is_some() && !is_default_config(config_path, root, experiment) {
        why.push(Lowering::OtherConfigFile(config_path.display().to_string()));
    }
    let notes = why.iter().map(|w| w.to_string()).collect();
    (profile.fidelity.lowered_by(&why), notes)
}

/// The profile's directory name: `<profile>[-<precision>][-set-<hash>]`.
///
/// Runs in another precision and runs with `--set`/`--config` changes are
/// other experiments than the profile as written: each gets a directory of its
/// own, so that trying `--set train.lr=0.05` never replaces, resumes or mixes
/// with the profile's own runs.
pub fn profile_dir_name(profile: &str, precision: Option<&str>, variant: Option<&str>) -> String {
    let mut name = profile.to_string();
    for part in [precision, variant].into_iter().flatten() {
        name.push('-');
        name.push_str(part);
    }
    name
}

/// `set-<8 hex digits>`: a short SHA-256 of the `--set` overrides (in the
/// order given) and of the text of a `--config` file other than the
/// experiment's own; None when there are neither. Precision overrides are
/// left out: the precision has its own suffix (`-bf16`, `-tf32`).
pub fn variant_key(sets: &[Override], config_text: Option<&str>) -> Option<String> {
    use sha2::{Digest, Sha256};
    let sets: Vec<String> = sets
        .iter()
        .filter(|o| o.path != ["train", "precision"])
        .map(|o| o.to_string())
        .collect();
    if sets.is_empty() && config_text.is_none() {
        return None;
    }
    let mut h = Sha256::new();
    for s in &sets {
        h.update(s.as_bytes());
        h.update(b"\n");
    }
    if let Some(t) = config_text {
        h.update(b"--config\n");
        h.update(t.as_bytes());
    }
    let hex: String = h.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(format!("set-{hex}"))
}

/// Whether `config_path` is `experiments/<name>.toml` of the repository
/// (however it is spelled: relative, absolute, through links).
/// The experiment file: `--config`, else `experiments/<experiment>.toml`.
pub fn config_path(args: &Args, root: &Path, experiment: &str) -> PathBuf {
    args.config
        .clone()
        .unwrap_or_else(|| root.join("experiments").join(format!("{experiment}.toml")))
}

fn is_default_config(config_path: &Path, root: &Path, experiment: &str) -> bool {
    let default = root.join("experiments").join(format!("{experiment}.toml"));
    match (config_path.canonicalize(), default.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => config_path == default,
    }
}

/// The text of the experiment file when it stands in for the repository's
/// `experiments/<name>.toml` (an experiment without one is defined by its file).
fn custom_config_text(
    args: &Args,
    config_path: &Path,
    root: &Path,
    experiment: &str,
) -> crate::Result<Option<String>> {
    let default = root.join("experiments").join(format!("{experiment}.toml"));
    if args.config.is_none()
        || !default.is_file()
        || is_default_config(config_path, root, experiment)
    {
        return Ok(None);
    }
    use crate::error::IoContext;
    std::fs::read_to_string(config_path)
        .at(config_path)
        .map(Some)
}

/// `--set` overrides, with `--bf16`/`--tf32` as the precision override they stand for.
fn overrides(args: &Args) -> Vec<Override> {
    let mut overrides = args.overrides.clone();
    if let Some(p) = args.precision_switch() {
        overrides.push(Override {
            path: vec!["train".into(), "precision".into()],
            value: toml::Value::String(precision::label(p).into()),
        });
    }
    overrides
}

fn check_run_filter(
    filter: &Option<Vec<String>>,
    profile: &ProfileHeader,
    profile_name: &str,
) -> anyhow::Result<()> {
    for p in filter.iter().flatten() {
        let prefix = p.trim_end_matches('*');
        if !profile.runs.iter().any(|r| r.starts_with(prefix)) {
            anyhow::bail!(
                "--runs {p}: no such run in profile `{profile_name}` (runs: {})",
                profile.runs.join(", ")
            );
        }
    }
    Ok(())
}

fn matches_filter(name: &str, filter: &Option<Vec<String>>) -> bool {
    match filter {
        None => true,
        Some(f) => f.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == p,
        }),
    }
}

type Grid = (BTreeMap<String, RunConfig>, Vec<RunConfig>);

/// Every run x seed of the profile resolved (by run id), and the selected ones in order.
fn resolve_grid(
    file: &ExperimentFile,
    profile_name: &str,
    profile: &ProfileHeader,
    seeds: &[u64],
    overrides: &[Override],
    filter: &Option<Vec<String>>,
) -> crate::Result<Grid> {
    let mut configs = BTreeMap::new();
    let mut grid = Vec::new();
    for name in &profile.runs {
        for &seed in seeds {
            let cfg = file.resolve(profile_name, name, seed, overrides)?;
            cfg.train.check_with(&cfg.data).map_err(|m| {
                crate::Error::Config(format!("profile `{profile_name}`, run `{name}`: {m}"))
            })?;
            if matches_filter(name, filter) {
                grid.push(cfg.clone());
            }
            configs.insert(cfg.run_id(), cfg);
        }
    }
    Ok((configs, grid))
}

/// Runs in another precision than the papers' keep their own directory
/// (`<profile>-bf16`, `<profile>-tf32`), so they never replace (or mix with)
/// the fp32 results of the profile.
fn precision_suffix(configs: &BTreeMap<String, RunConfig>) -> Option<String> {
    let mut suffixes: Vec<&str> = configs
        .values()
        .filter_map(|c| precision::dir_suffix(c.train.precision))
        .collect();
    suffixes.sort();
    suffixes.dedup();
    (!suffixes.is_empty()).then(|| suffixes.join("-"))
}
