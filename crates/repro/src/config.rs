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
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// How inputs are normalised before the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalize {
    /// Subtract the per-pixel mean image of the training set, raw 0-255 scale
    /// (ResNet Sec. 4.2 "per-pixel mean subtracted"; cuda-convnet's data provider).
    PerPixelMean,
    /// Subtract the per-pixel mean and divide by 255 (a scale for nets whose init assumes unit-range input).
    PerPixelMeanUnitScale,
    /// Per-channel mean/std to zero mean, unit variance (the "modern" set-up; not in the 2012-2015 papers).
    PerChannelStandardize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Augment {
    None,
    /// ResNet Sec. 4.2: pad 4 zeros on each side, random 32x32 crop, random horizontal flip.
    Pad4CropFlip,
    /// Horizontal flips only.
    Flip,
    /// ResNet Sec. 3.4 (ImageNet): shorter side resized to a random S in [256, 480]
    /// (`data.scale_range`; VGG's scale jittering: [256, 512]), a random 224x224
    /// crop, horizontal flip. Image folders only.
    ScaleCropFlip,
    /// The CIFAR analogue of VGG's scale jittering (Simonyan & Zisserman, Sec. 3.1):
    /// each image rescaled to a random S in `data.scale_range` (e.g. [32, 48]),
    /// a random 32x32 crop of it, horizontal flip; one bilinear resampling per batch.
    RescaleCropFlip,
}

/// Colour augmentation on top of `augment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Colour {
    #[default]
    None,
    /// AlexNet Sec. 4.1: add multiples of the principal components of the
    /// training set's RGB covariance, alpha ~ N(0, 0.1) per image.
    Pca,
}

/// Which data a run trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// CIFAR-10, resident on the device (official release, or `--data`).
    #[default]
    Cifar10,
    /// ImageNet from `--data <root>` with `train/<wnid>/*` and `val/<wnid>/*`,
    /// decoded per batch with ResNet Sec. 3.4's scale augmentation.
    ImagenetFolder,
}

/// How test images are viewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TestViews {
    /// The single original (CIFAR) or centre-cropped (ImageNet) view.
    #[default]
    Single,
    /// The standard 10-crop test (AlexNet; ResNet Tables 2-3), image folders only.
    TenCrop,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    #[serde(default)]
    pub dataset: DatasetKind,
    #[serde(default)]
    pub test_views: TestViews,
    pub normalize: Normalize,
    pub augment: Augment,
    /// Images held out from the end of a seeded shuffle of the training set as
    /// validation (ResNet Sec. 4.2 uses 45k/5k for its hyper-parameter search).
    #[serde(default)]
    pub validation: usize,
    /// Use N training images (a fixed, seed-independent shuffle); 0 = all. For `quick`/`smoke`.
    #[serde(default)]
    pub train_subset: usize,
    /// Evaluate on N test images (a fixed, seed-independent shuffle); 0 = all 10,000.
    #[serde(default)]
    pub test_subset: usize,
    // Fields added after results were first committed are left out of the saved
    // config when at their defaults, so earlier configs keep their hashes.
    #[serde(default, skip_serializing_if = "is_default")]
    pub colour: Colour,
    /// [S_min, S_max] of the training scale (`scale-crop-flip`, `rescale-crop-flip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_range: Option<[i64; 2]>,
    /// Test scales Q (VGG Sec. 3.2 and 4.2): the test images resized to each Q
    /// (CIFAR: Q x Q; image folders: shorter side Q, centre Q x Q), evaluated
    /// densely and the softmax averaged over scales. Empty: the native view.
    /// Needs a network that takes any input size (VGG).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_scales: Vec<i64>,
    /// VGG Sec. 3.2: "We also augment the test set by horizontal flipping of
    /// the images; the soft-max class posteriors of the original and flipped
    /// images are averaged". Every test view (and scale) is evaluated as is and
    /// mirrored, and the softmax averaged over all of them.
    #[serde(default, skip_serializing_if = "is_default")]
    pub test_flip: bool,
    /// At every evaluation, also the training error in evaluation mode
    /// (dropout off, no augmentation, the test protocol's views) on this many
    /// training images (a fixed, seed-independent shuffle; at most the whole
    /// split); 0: off. AlexNet Sec. 4.2's "overfitting" is the gap between the
    /// test error and this, not the training-mode error of the last mini-batches
    /// (with dropout active). CIFAR-10 only.
    #[serde(default, skip_serializing_if = "is_default")]
    pub train_eval_images: usize,
    /// cuda-convnet's cropped CIFAR provider (`data::crop`): random crops with
    /// reflections in training, centre or 10-view test. None: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop: Option<CudaConvnetCrop>,
}

pub(crate) fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The sign convention of the momentum update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Velocity {
    /// v = m v - lr (g + wd w); w += v. cuda-convnet and Caffe, the papers' own code.
    LrInside,
    /// v = m v + (g + wd w); w -= lr v. PyTorch's SGD. Differs right after each lr drop.
    LrOutside,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Schedule {
    Constant,
    /// Multiply the lr by `factor` at each listed iteration (ResNet: ÷10 at 32k and 48k).
    Step {
        lr_drops_at: Vec<i64>,
        factor: f64,
    },
    /// Multiply by `factor` when the validation error has not improved for
    /// `patience` evaluations (AlexNet Sec. 5: "divide the learning rate by 10
    /// when the validation error rate stopped improving"), at most `max_drops` times.
    Plateau {
        factor: f64,
        patience: usize,
        max_drops: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warmup {
    /// ResNet Sec. 4.2 (110 layers): 0.01 "until the training error is below 80%".
    pub lr: f64,
    pub until_train_error_below: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// The papers' numerics.
    Fp32,
    /// TF32 for convolutions and matrix products on CUDA (fp32 storage, a
    /// 10-bit mantissa in the products): a speed switch, not the papers'
    /// numerics; runs with it are never labelled faithful. Same as fp32 on CPU.
    Tf32,
    /// bf16 autocast (`train::precision`): a speed switch, not the papers'
    /// numerics; runs with it are never labelled faithful.
    Bf16Autocast,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub batch_size: i64,
    /// Training length in iterations (mini-batch steps); the papers' schedules are by iteration.
    pub iterations: i64,
    pub lr: f64,
    pub schedule: Schedule,
    #[serde(default)]
    pub warmup: Option<Warmup>,
    pub momentum: f64,
    pub weight_decay: f64,
    pub velocity: Velocity,
    /// Log a metrics row every this many iterations (training error over the window).
    pub log_every: i64,
    /// Evaluate test (and validation) error every this many iterations; the last iteration is always evaluated.
    pub eval_every: i64,
    /// Save a checkpoint every this many iterations (and at the end).
    pub checkpoint_every: i64,
    /// Stop at the end of the first epoch whose training error is below this fraction.
    #[serde(default)]
    pub stop_at_train_error_below: Option<f64>,
    /// Also evaluate at the end of every epoch (AlexNet-style schedules that watch validation error).
    #[serde(default)]
    pub eval_each_epoch: bool,
    #[serde(default = "default_precision")]
    pub precision: Precision,
    /// Which parameters `weight_decay` applies to (`train::sgd::DecayOn`):
    /// "all" (default) or "weights" (not biases nor BN scales/shifts).
    #[serde(default, skip_serializing_if = "is_default")]
    pub weight_decay_on: DecayOn,
}

fn default_precision() -> Precision {
    Precision::Fp32
}

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
    /// `<name>-s<seed>`: the run's directory and id.
    pub fn run_id(&self) -> String {
        format!("{}-s{}", self.name, self.seed)
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
        crate::io::hex(&Sha256::digest(json.as_bytes())[..8])
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

impl TrainConfig {
    /// Err: "train.<key>: message".
    fn check(&self) -> std::result::Result<(), String> {
        let positive = [
            ("batch_size", self.batch_size),
            ("iterations", self.iterations),
            ("log_every", self.log_every),
            ("eval_every", self.eval_every),
            ("checkpoint_every", self.checkpoint_every),
        ];
        if let Some((k, v)) = positive.iter().find(|(_, v)| *v <= 0) {
            return Err(format!("train.{k}: must be positive, got {v}"));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(format!("train.lr: must be positive, got {}", self.lr));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(format!(
                "train.momentum: must be in [0, 1), got {}",
                self.momentum
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(format!(
                "train.weight_decay: must be >= 0, got {}",
                self.weight_decay
            ));
        }
        self.schedule.check()?;
        if let Some(x) = self.stop_at_train_error_below {
            if !(0.0..=1.0).contains(&x) {
                return Err(format!(
                    "train.stop_at_train_error_below: is a fraction in [0, 1], got {x}"
                ));
            }
        }
        if let Some(w) = &self.warmup {
            if !(w.lr.is_finite() && w.lr > 0.0) {
                return Err(format!("train.warmup.lr: must be positive, got {}", w.lr));
            }
            if !(0.0..=1.0).contains(&w.until_train_error_below) {
                return Err(format!(
                    "train.warmup.until_train_error_below: is a fraction in [0, 1], got {}",
                    w.until_train_error_below
                ));
            }
        }
        Ok(())
    }
}

impl Schedule {
    /// Err: "train.schedule.<key>: message".
    fn check(&self) -> std::result::Result<(), String> {
        let factor = match self {
            Schedule::Constant => return Ok(()),
            Schedule::Step { factor, .. } | Schedule::Plateau { factor, .. } => *factor,
        };
        if !(factor > 0.0 && factor <= 1.0) {
            return Err(format!(
                "train.schedule.factor: must be in (0, 1], got {factor}"
            ));
        }
        match self {
            Schedule::Step { lr_drops_at, .. }
                if lr_drops_at.windows(2).any(|w| w[0] >= w[1])
                    || lr_drops_at.iter().any(|&i| i <= 0) =>
            {
                Err(format!(
                    "train.schedule.lr_drops_at: must be positive and increasing, got {lr_drops_at:?}"
                ))
            }
            Schedule::Plateau { patience: 0, .. } => {
                Err("train.schedule.patience: must be at least 1".into())
            }
            _ => Ok(()),
        }
    }
}

impl DataConfig {
    /// The training crop's side: 32 (CIFAR-10) or 224 (image folders).
    fn side(&self) -> i64 {
        if self.dataset == DatasetKind::Cifar10 {
            32
        } else {
            224
        }
    }

    /// Err: "data.<key>: message".
    fn check(&self) -> std::result::Result<(), String> {
        match (self.dataset, self.augment) {
            (DatasetKind::ImagenetFolder, Augment::None | Augment::ScaleCropFlip) => {}
            (DatasetKind::ImagenetFolder, a) => {
                return Err(format!(
                    "data.augment: {a:?} is for CIFAR; image folders take \"scale-crop-flip\" or \"none\""
                ))
            }
            (DatasetKind::Cifar10, Augment::ScaleCropFlip) => {
                return Err("data.augment: \"scale-crop-flip\" is for ImageNet image folders; CIFAR's analogue is \"rescale-crop-flip\"".into())
            }
            _ => {}
        }
        let side = self.side();
        if let Some([lo, hi]) = self.scale_range {
            if !(side <= lo && lo <= hi) {
                return Err(format!(
                    "data.scale_range: needs {side} <= S_min <= S_max (the crop is {side}x{side}), got [{lo}, {hi}]"
                ));
            }
        }
        if self.augment == Augment::RescaleCropFlip && self.scale_range.is_none() {
            return Err(
                "data.scale_range: \"rescale-crop-flip\" needs data.scale_range = [S_min, S_max]"
                    .into(),
            );
        }
        if self.colour == Colour::Pca && self.dataset != DatasetKind::Cifar10 {
            return Err("data.colour: PCA colour augmentation is implemented for CIFAR-10 (resident data) only".into());
        }
        if let Some(q) = self.test_scales.iter().find(|&&q| q < side) {
            return Err(format!(
                "data.test_scales: scales must be at least the training size {side}, got {q}"
            ));
        }
        if self.dataset == DatasetKind::Cifar10 && self.test_views == TestViews::TenCrop {
            return Err("data.test_views: ten-crop needs larger images than CIFAR's 32x32".into());
        }
        if self.train_eval_images > 0 && self.dataset != DatasetKind::Cifar10 {
            return Err("data.train_eval_images: evaluation-mode training error is implemented for CIFAR-10 (resident data) only".into());
        }
        if self.test_flip && self.test_views == TestViews::TenCrop {
            return Err(
                "data.test_flip: the ten-crop test already holds the mirrored crops".into(),
            );
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
    /// [`crate::papers::PaperNumbers`]), resolved against this file's folder.
    pub numbers: Option<std::path::PathBuf>,
    /// `[experiment.labels]`: legend names by run name.
    pub labels: BTreeMap<String, String>,
    pub path: std::path::PathBuf,
    pub raw: toml::Table,
    /// Run names in file order.
    pub run_names: Vec<String>,
    pub profiles: BTreeMap<String, ProfileHeader>,
}

/// What a result is, from most to least like the paper's experiment. Every
/// profile declares one; overrides, stand-in datasets and reduced precision
/// only ever lower it ([`Fidelity::lowest`]).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Fidelity {
    /// A reduced budget (fewer iterations, fewer seeds, narrower nets):
    /// numbers are not comparable with the paper's. The default: nothing is
    /// called the paper's experiment unless it says so.
    #[default]
    Shortened,
    /// The paper's recipe on a stand-in (CIFAR-10 for an ImageNet claim, a
    /// re-encoded copy of the data) or with a documented adaptation.
    Analogue,
    /// The paper's experiment: its data, architecture and recipe.
    Paper,
}

impl Fidelity {
    pub const ALL: [Fidelity; 3] = [Fidelity::Paper, Fidelity::Analogue, Fidelity::Shortened];

    /// The value of the `fidelity` key and of the Parquet column.
    pub fn as_str(self) -> &'static str {
        match self {
            Fidelity::Paper => "paper",
            Fidelity::Analogue => "analogue",
            Fidelity::Shortened => "shortened",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The lower of two labels: a result is only as faithful as its least
    /// faithful part.
    pub fn lowest(self, other: Fidelity) -> Fidelity {
        self.min(other)
    }
}

impl std::fmt::Display for Fidelity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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

/// `data.crop = { size = 24, test = "multiview" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CudaConvnetCrop {
    /// Side of the crops: 32 - 2 * crop_border (cuda-convnet: 24).
    pub size: i64,
    pub test: CropTest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CropTest {
    /// The centre crop only (cuda-convnet's test without `--multiview-test`).
    Centre,
    /// Ten views, softmax averaged (`--multiview-test=1`): what the
    /// Methodology's reported test errors (12.6% for the 13% net) used.
    Multiview,
}

/// Which parameters `train.weight_decay` applies to (`train.weight_decay_on`).
/// The frameworks differ: Caffe and cuda-convnet decay each layer as
/// configured (cuda-convnet never decays biases: layer.cu builds them as
/// `new Weights(hBiases, hBiasesInc, epsB, 0, momB, true)`, weight cost 0;
/// Caffe's prototxts set `decay_mult` per blob), while `torch.optim.SGD`
/// decays every parameter it is given. Set it per experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecayOn {
    /// Every trainable parameter: weights, biases, BN scales and shifts (the
    /// harness's behaviour before the knob existed, hence the default).
    #[default]
    All,
    /// Weights of conv, locally-connected and fc layers only: no decay on
    /// biases (variables named `*bias`) nor on BN scales and shifts (1-d).
    Weights,
}

impl DecayOn {
    pub fn is_default(&self) -> bool {
        *self == DecayOn::All
    }
}
