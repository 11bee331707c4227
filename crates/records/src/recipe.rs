//! The recipe a run trains with: its data (`[data]`) and training (`[train]`)
//! tables as typed, strictly checked values. The model's table lives beside
//! its builder (`engine::models`); `engine::config::RunConfig` joins the three.
//! Torch-free: a saved run's `config.toml` is read here by tools that do not
//! link libtorch (`sweep merge` checks a run's rows against its `[train]`).
use serde::{Deserialize, Serialize};
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

impl TrainConfig {
    /// What the schedule needs of the data: a plateau schedule watches the
    /// validation error (AlexNet Sec. 5), so its run must hold out a
    /// validation split; no learning-rate decision may look at the test set
    /// (issue 28). Err: "key: message".
    pub fn check_with(&self, data: &DataConfig) -> std::result::Result<(), String> {
        if matches!(self.schedule, Schedule::Plateau { .. }) && data.validation == 0 {
            return Err("train.schedule = plateau watches the validation error, and data.validation is 0: hold out a validation split (e.g. data.validation = 5000) or use a step schedule; the test set never decides the learning rate".into());
        }
        Ok(())
    }

    /// Err: "train.<key>: message".
    pub fn check(&self) -> std::result::Result<(), String> {
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
    pub fn check(&self) -> std::result::Result<(), String> {
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
    pub fn side(&self) -> i64 {
        if self.dataset == DatasetKind::Cifar10 {
            32
        } else {
            224
        }
    }

    /// Err: "data.<key>: message".
    pub fn check(&self) -> std::result::Result<(), String> {
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
