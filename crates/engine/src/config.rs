//! Experiment configuration: `experiments/<name>.toml` is data, not code.
//!
//! A file declares named runs (`[runs.<name>]`: a model and optional overrides)
//! and profiles (`[profiles.<paper|quick|smoke>]`: which runs, which seeds, the
//! data and training recipe). A run's resolved configuration is the merge, in
//! this order, of `[defaults]`, the profile, the run's own table and the user's
//! `--set key=value` overrides; it is then checked strictly (unknown keys and
//! invalid values are rejected with the key named) and saved beside the run's
//! results. Its hash (without the seed) goes into every metrics row.
use crate::error::{Error, Result};
use crate::models::ModelConfig;
pub use records::fidelity::Fidelity;
pub use records::recipe::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// One run, fully resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub experiment: String,
    pub profile: String,
    pub name: String,
    pub seed: u64,
    pub model: ModelConfig,
    pub data: DataConfig,
    pub train: TrainConfig,
}

impl RunConfig {
    /// The metrics rows' hyperparameter columns (`records::metrics`).
    pub fn hyperparameters(&self) -> records::metrics::Hyperparameters {
        records::metrics::Hyperparameters::of(&self.model, &self.data, &self.train)
    }

    /// `<name>-s<seed>`: the run's directory and id.
    pub fn run_id(&self) -> String {
        records::run_dir::run_id(&self.name, self.seed)
    }

    /// sha256 (first 16 hex digits) of the configuration without the seed, so
    /// that seeds of one configuration share a hash.
    pub fn config_hash(&self) -> String {
        /// The hashed form: the config with seed 0, and an always-empty `extra`
        /// table where `RunConfig` once had a free-form field, so that every
        /// hash recorded before its removal (rows, status files, checkpoints)
        /// stays valid.
        #[derive(Serialize)]
        struct Hashed<'a> {
            experiment: &'a str,
            profile: &'a str,
            name: &'a str,
            seed: u64,
            model: &'a ModelConfig,
            data: &'a DataConfig,
            train: &'a TrainConfig,
            extra: BTreeMap<String, ()>,
        }
        let hashed = Hashed {
            experiment: &self.experiment,
            profile: &self.profile,
            name: &self.name,
            seed: 0,
            model: &self.model,
            data: &self.data,
            train: &self.train,
            extra: BTreeMap::new(),
        };
        let json = serde_json::to_string(&hashed).unwrap_or_default();
        records::io::hex(&Sha256::digest(json.as_bytes())[..8])
    }

    /// Reads a config saved beside a run (`config.toml`). Accepts the empty
    /// `[extra]` table that configs saved before its removal carry.
    pub fn from_saved_toml(text: &str) -> Result<Self> {
        let mut t: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::Config(format!("malformed TOML: {}", e.message()))
        })?;
        if t.get("extra")
            .and_then(|e| e.as_table())
            .is_some_and(|e| e.is_empty())
        {
            t.remove("extra");
        }
        toml::Value::Table(t)
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(e.message().trim().to_string()))
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| Error::Config(format!("cannot serialise config: {e}")))
    }

    /// Checks values a type cannot express. The message names the key.
    pub fn validate(&self) -> Result<()> {
        self.train
            .check()
            .and_then(|()| self.data.check())
            .and_then(|()| self.model.validate().map_err(|m| format!("model.{m}")))
            .and_then(|()| self.check_model_and_data())
            .map_err(|m| Error::Config(format!("run `{}`: {m}", self.name)))
    }

    /// What the model and the data must agree on. Err: "key: message".
    fn check_model_and_data(&self) -> std::result::Result<(), String> {
        if !self.data.test_scales.is_empty() && !matches!(self.model, ModelConfig::Vgg(_)) {
            return Err("data.test_scales: multi-scale testing needs a network that evaluates densely at any size (family = \"vgg\")".into());
        }
        // VGG and GoogLeNet come in an ImageNet and a CIFAR shape: the shape's
        // input size must be the dataset's.
        let input = crate::models::input_shape(&self.model)[1];
        if matches!(self.model, ModelConfig::Vgg(_) | ModelConfig::Googlenet(_))
            && input != self.data.side()
        {
            return Err(format!(
                "model.shape: takes {input}x{input} inputs, which does not fit the dataset {:?}",
                self.data.dataset
            ));
        }
        if let ModelConfig::Vgg(v) = &self.model {
            if v.init_from.as_deref() == Some(self.name.as_str()) {
                return Err("model.init_from: a run cannot initialise from itself".into());
            }
        }
        Ok(())
    }
}

/// `experiments/<name>.toml`, parsed but not yet resolved.
#[derive(Debug, Clone)]
pub struct ExperimentFile {
    /// `[experiment] name`: the experiment crate's name, and this file's stem.
    pub name: String,
    /// `[experiment] title`: the report's title.
    pub title: String,
    /// `[experiment] paper`: citation and section.
    pub paper: String,
    /// `[experiment] numbers`: the paper's numbers (a CSV file read by
    /// [`records::papers::PaperNumbers`]), resolved against this file's folder.
    pub numbers: Option<std::path::PathBuf>,
    /// `[experiment.labels]`: legend names by run name.
    pub labels: BTreeMap<String, String>,
    pub path: std::path::PathBuf,
    pub raw: toml::Table,
    /// Run names in file order.
    pub run_names: Vec<String>,
    pub profiles: BTreeMap<String, ProfileHeader>,
}

/// What a profile says besides the recipe.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProfileHeader {
    pub description: String,
    pub runs: Vec<String>,
    pub seeds: Vec<u64>,
    /// `fidelity = "paper" | "analogue" | "shortened"`: reports, figures and
    /// every metrics row say which.
    pub fidelity: Fidelity,
}

const TOP_KEYS: &[&str] = &["experiment", "defaults", "profiles", "runs"];
const EXPERIMENT_KEYS: &[&str] = &["name", "title", "paper", "numbers", "labels"];
const PROFILE_KEYS: &[&str] = &[
    "description",
    "runs",
    "seeds",
    "fidelity",
    "model",
    "data",
    "train",
];
const RUN_KEYS: &[&str] = &["model", "data", "train"];

impl ExperimentFile {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("{}: cannot read: {e}", path.display())))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let p = path.display();
        let raw: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::Config(format!("{p}: malformed TOML: {}", one_line(text, &e)))
        })?;
        check_keys(&raw, TOP_KEYS, &format!("{p}"))?;
        let experiment = table_at(&raw, "experiment", &format!("{p}"))?;
        check_keys(experiment, EXPERIMENT_KEYS, &format!("{p}: [experiment]"))?;
        let required = |key: &str| {
            get_str(experiment, key).ok_or_else(|| {
                Error::Config(format!("{p}: missing key `experiment.{key}` (a string)"))
            })
        };
        let (name, title, paper) = (required("name")?, required("title")?, required("paper")?);
        let runs = table_at(&raw, "runs", &format!("{p}"))?;
        let mut run_names = Vec::new();
        for (run, v) in runs {
            let t = v
                .as_table()
                .ok_or_else(|| Error::Config(format!("{p}: `runs.{run}` must be a table")))?;
            check_keys(t, RUN_KEYS, &format!("{p}: runs.{run}"))?;
            run_names.push(run.clone());
        }
        let mut profiles = BTreeMap::new();
        for (prof, v) in table_at(&raw, "profiles", &format!("{p}"))? {
            let t = v
                .as_table()
                .ok_or_else(|| Error::Config(format!("{p}: `profiles.{prof}` must be a table")))?;
            check_keys(t, PROFILE_KEYS, &format!("{p}: profiles.{prof}"))?;
            let header = ProfileHeader {
                description: get_str(t, "description").unwrap_or_default(),
                runs: get_array(t, "runs", &format!("{p}: profiles.{prof}"))?
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        Error::Config(format!("{p}: profiles.{prof}.runs: expected run names"))
                    })?,
                seeds: get_array(t, "seeds", &format!("{p}: profiles.{prof}"))?
                    .iter()
                    .map(|v| v.as_integer().and_then(|i| u64::try_from(i).ok()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "{p}: profiles.{prof}.seeds: expected non-negative integers"
                        ))
                    })?,
                fidelity: fidelity_of(t, &format!("{p}: profiles.{prof}"))?,
            };
            for r in &header.runs {
                if !run_names.contains(r) {
                    return Err(Error::Config(format!(
                        "{p}: profiles.{prof}.runs names `{r}`, which is not a run (known: {})",
                        run_names.join(", ")
                    )));
                }
            }
            profiles.insert(prof.clone(), header);
        }
        let labels = labels_of(experiment, &run_names, &format!("{p}"))?;
        let numbers = get_str(experiment, "numbers")
            .map(|rel| path.parent().unwrap_or_else(|| Path::new(".")).join(rel));
        Ok(Self {
            name,
            title,
            paper,
            numbers,
            labels,
            path: path.to_path_buf(),
            raw,
            run_names,
            profiles,
        })
    }

    /// The legend name of a run: its `[experiment.labels]` entry, else the run name.
    pub fn label<'a>(&'a self, run: &'a str) -> &'a str {
        self.labels.get(run).map(String::as_str).unwrap_or(run)
    }

    pub fn profile(&self, profile: &str) -> Result<&ProfileHeader> {
        self.profiles.get(profile).ok_or_else(|| {
            Error::Config(format!(
                "{}: no profile `{profile}` (known: {})",
                self.path.display(),
                self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }

    /// Resolves one run under one profile: defaults <- profile <- run <- overrides.
    pub fn resolve(
        &self,
        profile: &str,
        run: &str,
        seed: u64,
        overrides: &[Override],
    ) -> Result<RunConfig> {
        let p = self.path.display();
        self.profile(profile)?;
        let mut merged = toml::Table::new();
        if let Some(d) = self.raw.get("defaults").and_then(|d| d.as_table()) {
            merge(&mut merged, d);
        }
        let prof = self.raw["profiles"][profile]
            .as_table()
            .cloned()
            .unwrap_or_default();
        let mut prof_recipe = prof.clone();
        for k in ["description", "runs", "seeds", "fidelity"] {
            prof_recipe.remove(k);
        }
        merge(&mut merged, &prof_recipe);
        let run_t = self.raw["runs"]
            .get(run)
            .and_then(|r| r.as_table())
            .ok_or_else(|| Error::Config(format!("{p}: no run `{run}`")))?;
        merge(&mut merged, run_t);
        merged.insert("experiment".into(), toml::Value::String(self.name.clone()));
        merged.insert("profile".into(), toml::Value::String(profile.into()));
        merged.insert("name".into(), toml::Value::String(run.into()));
        merged.insert("seed".into(), toml::Value::Integer(seed as i64));
        let from_file = merged.clone();
        for o in overrides {
            o.apply(&mut merged)?;
        }
        let cfg = match run_config(merged) {
            Ok(cfg) => cfg,
            Err(e) => return Err(self.blame(from_file, overrides, profile, run, e)),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Whose fault a config that does not deserialise is: the first `--set`
    /// that turns the file's valid run into an invalid one, or, when the
    /// file's run is invalid already, the file.
    fn blame(
        &self,
        mut from_file: toml::Table,
        overrides: &[Override],
        profile: &str,
        run: &str,
        e: toml::de::Error,
    ) -> Error {
        let at = format!("profile `{profile}`, run `{run}`");
        if let Err(e) = run_config(from_file.clone()) {
            return Error::Config(format!("{}: {at}: {e}", self.path.display()));
        }
        for o in overrides {
            if o.apply(&mut from_file).is_err() {
                break;
            }
            if let Err(e) = run_config(from_file.clone()) {
                return Error::Config(format!("--set {o}: {at}: {e}"));
            }
        }
        Error::Config(format!("--set: {at}: {e}"))
    }
}

/// A merged run table as a `RunConfig` (not yet validated).
fn run_config(t: toml::Table) -> std::result::Result<RunConfig, toml::de::Error> {
    toml::Value::Table(t).try_into()
}

/// A TOML error on one line: "line L, column C: message".
fn one_line(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().replace('\n', "; ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("line {line}, column {col}: {msg}")
        }
        None => msg,
    }
}

/// `--set key.path=value`; the value is parsed as TOML (a bare word is taken as a string).
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub path: Vec<String>,
    pub value: toml::Value,
}

impl std::str::FromStr for Override {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}`: expected key=value, e.g. train.lr=0.05"))?;
        let path: Vec<String> = k.trim().split('.').map(|p| p.trim().to_string()).collect();
        if path.iter().any(|p| p.is_empty()) {
            return Err(format!("`{s}`: empty key component"));
        }
        if !RUN_KEYS.contains(&path[0].as_str()) {
            return Err(format!("`{s}`: key must start with one of {RUN_KEYS:?}"));
        }
        let value = match format!("v = {}", v.trim()).parse::<toml::Table>() {
            Ok(mut t) => t
                .remove("v")
                .unwrap_or(toml::Value::String(v.trim().into())),
            Err(_) => toml::Value::String(v.trim().into()),
        };
        Ok(Self { path, value })
    }
}

impl std::fmt::Display for Override {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.path.join("."), self.value)
    }
}

impl Override {
    fn apply(&self, t: &mut toml::Table) -> Result<()> {
        let mut cur = t;
        for (i, part) in self.path.iter().enumerate() {
            if i + 1 == self.path.len() {
                cur.insert(part.clone(), self.value.clone());
                return Ok(());
            }
            let entry = cur
                .entry(part.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            cur = entry.as_table_mut().ok_or_else(|| {
                Error::Config(format!(
                    "--set {}: `{part}` is not a table",
                    self.path.join(".")
                ))
            })?;
        }
        Ok(())
    }
}

/// Deep merge: tables merge key by key, anything else is replaced. A table
/// that names a different variant (`kind` of a schedule, `family` of a model)
/// replaces the old one whole: its fields would not mix.
fn merge(into: &mut toml::Table, from: &toml::Table) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b))
                if ["kind", "family"].iter().all(|t| {
                    a.get(*t).is_none() || b.get(*t).is_none() || b.get(*t) == a.get(*t)
                }) =>
            {
                merge(a, b)
            }
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A profile's required `fidelity` key.
fn fidelity_of(t: &toml::Table, ctx: &str) -> Result<Fidelity> {
    let allowed = Fidelity::ALL.map(Fidelity::as_str).join("\", \"");
    match t.get("fidelity") {
        None => Err(Error::Config(format!(
            "{ctx}: missing key `fidelity` (one of \"{allowed}\")"
        ))),
        Some(v) => v.as_str().and_then(Fidelity::parse).ok_or_else(|| {
            Error::Config(format!(
                "{ctx}.fidelity: expected one of \"{allowed}\", got {v}"
            ))
        }),
    }
}

/// `[experiment] labels`: readable legend names by run, for runs of the file.
fn labels_of(
    experiment: &toml::Table,
    run_names: &[String],
    ctx: &str,
) -> Result<BTreeMap<String, String>> {
    let Some(v) = experiment.get("labels") else {
        return Ok(BTreeMap::new());
    };
    let t = v.as_table().ok_or_else(|| {
        Error::Config(format!(
            "{ctx}: `experiment.labels` must be a table of run = \"label\""
        ))
    })?;
    let mut labels = BTreeMap::new();
    for (run, label) in t {
        if !run_names.contains(run) {
            return Err(Error::Config(format!(
                "{ctx}: experiment.labels names `{run}`, which is not a run (known: {})",
                run_names.join(", ")
            )));
        }
        let label = label.as_str().ok_or_else(|| {
            Error::Config(format!("{ctx}: experiment.labels.{run} must be a string"))
        })?;
        labels.insert(run.clone(), label.to_string());
    }
    Ok(labels)
}

fn check_keys(t: &toml::Table, allowed: &[&str], ctx: &str) -> Result<()> {
    for k in t.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(Error::Config(format!(
                "{ctx}: unknown key `{k}` (allowed: {})",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

fn table_at<'a>(t: &'a toml::Table, key: &str, ctx: &str) -> Result<&'a toml::Table> {
    t.get(key)
        .and_then(|v| v.as_table())
        .ok_or_else(|| Error::Config(format!("{ctx}: missing table `[{key}]`")))
}

fn get_str(t: &toml::Table, key: &str) -> Option<String> {
    t.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

fn get_array<'a>(t: &'a toml::Table, key: &str, ctx: &str) -> Result<&'a Vec<toml::Value>> {
    t.get(key)
        .and_then(|v| v.as_array())
        .ok_or_else(|| Error::Config(format!("{ctx}: missing array `{key}`")))
}
