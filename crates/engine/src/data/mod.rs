//! CIFAR-10 resident on the training device, and augmentation as batched tensor ops.
//!
//! Sources, downloading, validation and the decode cache live in the `cifar10`
//! crate (no libtorch there). Here the raw uint8 images go to the device once;
//! every training step then gathers, normalises and augments a whole batch with
//! a handful of kernels: no per-image loop and no host round trip.
use crate::config::{Augment, Colour, DataConfig, Normalize, RunConfig};
use crate::error::{Error, Result};
use crate::seeds::{with_split_seed, DataSplit};
use tch::{Device, Kind, Tensor};

pub mod colour;
pub mod crop;
pub mod imagenet;

pub use cifar10::{Cifar10, Source, JPEG_COPY_LABEL};

/// What training and evaluation need of a dataset: CIFAR-10 resident on the
/// device (`Dataset`) or ImageNet decoded from an image folder per batch
/// (`imagenet::ImageNetData`).
/// Whether results on data of this label stand in for the paper's data: a
/// CIFAR-10 copy (re-encoded: JPEG is lossy; or binary data not verified to
/// be the official release) is not the official release, so its results are
/// at most `analogue`.
pub fn is_stand_in(dataset_label: &str) -> bool {
    cifar10::is_copy(dataset_label)
}

/// What lowers a run's label in the data and numerics it actually ran with
/// (the papers trained in fp32 on the official data).
pub fn run_lowerings(dataset_label: &str, precision: &str) -> Vec<records::fidelity::Lowering> {
    use records::fidelity::Lowering;
    let mut why = Vec::new();
    if is_stand_in(dataset_label) {
        why.push(Lowering::StandInData(dataset_label.to_string()));
    }
    if precision != "fp32" {
        why.push(Lowering::ReducedPrecision(precision.to_string()));
    }
    why
}

/// A result's label given the dataset and numerics it actually ran with
/// (`records::fidelity`'s rule over `run_lowerings`).
pub fn run_fidelity(
    planned: crate::config::Fidelity,
    dataset_label: &str,
    precision: &str,
) -> crate::config::Fidelity {
    planned.lowered_by(&run_lowerings(dataset_label, precision))
}

pub trait TrainData {
    /// "CIFAR-10", "CIFAR-10 (JPEG q75 copy)", "ImageNet image folder (...)".
    fn label(&self) -> &str;
    /// SHA-256 of the data's source, which checkpoints record so that a run
    /// never resumes on other data; empty where the source has none (an image
    /// folder: its label then identifies it).
    fn source_sha256(&self) -> &str {
        ""
    }
    /// Label and source digest, as checkpoints and provenance record them.
    fn identity(&self) -> records::provenance::DataIdentity {
        records::provenance::DataIdentity {
            label: self.label().to_string(),
            sha256: self.source_sha256().to_string(),
        }
    }
    fn train_len(&self) -> i64;
    /// Device on which the epoch permutation is indexed.
    fn index_device(&self) -> Device;
    /// Input (float NCHW, normalised and augmented, on the training device) and
    /// labels of the training examples `idx`. The global generator has been seeded
    /// from (run seed, iteration) before the call; `step_seed` is the same stream
    /// for augmentation done on the host.
    fn train_batch(
        &self,
        idx: &Tensor,
        cfg: &RunConfig,
        step_seed: u64,
    ) -> Result<(Tensor, Tensor)>;
    /// Whether a validation split is held out of the training set.
    fn has_validation(&self) -> bool;
    /// The images of `split` in batches, each with the views its test protocol
    /// averages over (`cfg.data.test_views`, `cfg.data.test_scales`), passed to `f`.
    fn eval_batches(
        &self,
        split: Split,
        cfg: &RunConfig,
        f: &mut dyn FnMut(EvalBatch) -> Result<()>,
    ) -> Result<()>;
}

/// The splits evaluation reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Validation,
    Test,
    /// The training images of `data.train_eval_images`, seen as test images
    /// (no augmentation; the network in evaluation mode).
    TrainEval,
}

/// A batch of test images as the network sees them, normalised, not augmented.
pub struct EvalBatch {
    /// One input per test scale (one for single-scale testing), each holding
    /// `views` consecutive views of every image ([N * views, C, H, W]).
    pub inputs: Vec<Tensor>,
    /// Views per image: 1, or 10 for the ten-crop test.
    pub views: i64,
    /// [N] int64.
    pub labels: Tensor,
}

/// Images per evaluation batch of resident data.
const EVAL_BATCH: i64 = 500;

impl TrainData for Dataset {
    fn label(&self) -> &str {
        &self.label
    }
    fn source_sha256(&self) -> &str {
        &self.source_sha256
    }
    fn train_len(&self) -> i64 {
        self.train.len()
    }
    fn index_device(&self) -> Device {
        self.train.images.device()
    }
    fn train_batch(
        &self,
        idx: &Tensor,
        cfg: &RunConfig,
        _step_seed: u64,
    ) -> Result<(Tensor, Tensor)> {
        let y = self.train.labels.index_select(0, idx);
        if let Some(c) = &cfg.data.crop {
            crop::check(cfg, c).map_err(|m| Error::Config(format!("run `{}`: {m}", cfg.name)))?;
            let raw = self.train.images.index_select(0, idx);
            return Ok((crop::train_crops(&raw, &self.mean_image, c.size), y));
        }
        let x = self.normalize(&self.train.images.index_select(0, idx), cfg.data.normalize);
        // Colour first: the offset is constant over an image, and pad-crop's zero
        // border (the mean) stays the mean.
        if cfg.data.colour == Colour::Pca && self.rgb_pca.is_none() {
            return Err(Error::Config(format!(
                "run `{}`: data.colour = \"pca\" but this dataset was prepared without the RGB principal components",
                cfg.name
            )));
        }
        let x = self.colour_augment(&x, &cfg.data);
        Ok((augment_data(&x, &cfg.data), y))
    }
    fn has_validation(&self) -> bool {
        self.validation.is_some()
    }
    fn eval_batches(
        &self,
        split: Split,
        cfg: &RunConfig,
        f: &mut dyn FnMut(EvalBatch) -> Result<()>,
    ) -> Result<()> {
        let split = match split {
            Split::Test => &self.test,
            Split::Validation => match &self.validation {
                Some(v) => v,
                None => return Ok(()),
            },
            Split::TrainEval => match &self.train_eval {
                Some(t) => t,
                None => return Ok(()),
            },
        };
        let n = split.len();
        if let Some(c) = &cfg.data.crop {
            crop::check(cfg, c).map_err(|m| Error::Config(format!("run `{}`: {m}", cfg.name)))?;
            return crop_eval_batches(split, &self.mean_image, c, f);
        }
        let mut start = 0;
        while start < n {
            let len = EVAL_BATCH.min(n - start);
            let x = self.normalize(&split.images.narrow(0, start, len), cfg.data.normalize);
            // VGG Sec. 3.2/4.2: the test images resized to each scale Q.
            let inputs = if cfg.data.test_scales.is_empty() {
                vec![x]
            } else {
                cfg.data
                    .test_scales
                    .iter()
                    .map(|&q| rescale(&x, q))
                    .collect()
            };
            f(EvalBatch {
                inputs,
                views: 1,
                labels: split.labels.narrow(0, start, len),
            })?;
            start += len;
        }
        Ok(())
    }
}

/// `eval_batches` for cuda-convnet's cropped provider (`crop`): its test views
/// of `EVAL_BATCH / 10` images at a time, so that ten views fit as one batch does.
fn crop_eval_batches(
    split: &DeviceSplit,
    mean_image: &Tensor,
    c: &crop::CudaConvnetCrop,
    f: &mut dyn FnMut(EvalBatch) -> Result<()>,
) -> Result<()> {
    let n = split.len();
    let step = EVAL_BATCH / 10;
    let mut start = 0;
    while start < n {
        let len = step.min(n - start);
        let (x, views) = crop::test_views(&split.images.narrow(0, start, len), mean_image, c);
        f(EvalBatch {
            inputs: vec![x],
            views,
            labels: split.labels.narrow(0, start, len),
        })?;
        start += len;
    }
    Ok(())
}

/// One split on the device: images as uint8 NCHW, labels as int64.
#[derive(Debug)]
pub struct DeviceSplit {
    pub images: Tensor,
    pub labels: Tensor,
}

impl DeviceSplit {
    pub fn len(&self) -> i64 {
        self.labels.size()[0]
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn from_raw(s: &cifar10::Split, device: Device) -> Result<Self> {
        let n = s.labels.len() as i64;
        let images = Tensor::f_from_slice(&s.images)?
            .f_view([n, 3, 32, 32])?
            .f_to_device(device)?;
        let labels = Tensor::f_from_slice(&s.labels)?
            .f_to_kind(Kind::Int64)?
            .f_to_device(device)?;
        Ok(Self { images, labels })
    }
    fn select(&self, idx: &Tensor) -> Self {
        Self {
            images: self.images.index_select(0, idx),
            labels: self.labels.index_select(0, idx),
        }
    }
}

/// The dataset as one training run sees it: train/validation/test splits on the
/// device plus the normalisation statistics of its training split.
#[derive(Debug)]
pub struct Dataset {
    pub train: DeviceSplit,
    pub validation: Option<DeviceSplit>,
    pub test: DeviceSplit,
    /// `data.train_eval_images` training images, evaluated like test images.
    pub train_eval: Option<DeviceSplit>,
    /// Per-pixel mean image of the training split, float [3, 32, 32], 0-255 scale.
    pub mean_image: Tensor,
    /// Per-channel mean and std, float [1, 3, 1, 1], 0-255 scale.
    pub channel_mean: Tensor,
    pub channel_std: Tensor,
    pub label: String,
    pub source_sha256: String,
    /// Principal components of the training split's RGB values, when the
    /// config asks for AlexNet's PCA colour augmentation (Sec. 4.1).
    pub rgb_pca: Option<colour::RgbPca>,
}

impl Dataset {
    /// Moves the raw data to `device` and carves out the validation split and
    /// subsets of `cfg`. The split is a fixed shuffle (seed 0): every run and seed
    /// sees the same validation images.
    pub fn new(raw: &Cifar10, cfg: &DataConfig, device: Device) -> Result<Self> {
        let full = DeviceSplit::from_raw(&raw.train, device)?;
        let mut test = DeviceSplit::from_raw(&raw.test, device)?;
        let n = full.len();
        let validation_n = cfg.validation as i64;
        if validation_n >= n {
            return Err(Error::Config(format!(
                "data.validation = {validation_n} leaves no training images (the training split has {n})"
            )));
        }
        let (train, validation) = if validation_n > 0 {
            let perm = with_split_seed(DataSplit::Validation, || {
                Tensor::randperm(n, (Kind::Int64, Device::Cpu))
            })
            .to_device(device);
            let train = full.select(&perm.narrow(0, 0, n - validation_n));
            let val = full.select(&perm.narrow(0, n - validation_n, validation_n));
            (train, Some(val))
        } else {
            (full, None)
        };
        let train = if cfg.train_subset > 0 && (cfg.train_subset as i64) < train.len() {
            // Stratification is unnecessary at these sizes; a seeded shuffle keeps classes balanced on average.
            let perm = with_split_seed(DataSplit::TrainSubset, || {
                Tensor::randperm(train.len(), (Kind::Int64, Device::Cpu))
            })
            .to_device(device);
            train.select(&perm.narrow(0, 0, cfg.train_subset as i64))
        } else {
            train
        };
        if cfg.test_subset > 0 && (cfg.test_subset as i64) < test.len() {
            // A fixed shuffle first: image-folder copies list the test set class by class.
            let perm = with_split_seed(DataSplit::TestSubset, || {
                Tensor::randperm(test.len(), (Kind::Int64, Device::Cpu))
            })
            .to_device(device);
            test = test.select(&perm.narrow(0, 0, cfg.test_subset as i64));
        }
        let train_eval = match cfg.train_eval_images as i64 {
            0 => None,
            want => {
                // A fixed shuffle: image-folder copies list classes in order.
                let n = want.min(train.len());
                let perm = with_split_seed(DataSplit::TrainEvalImages, || {
                    Tensor::randperm(train.len(), (Kind::Int64, Device::Cpu))
                })
                .to_device(device);
                Some(train.select(&perm.narrow(0, 0, n)))
            }
        };
        let f = train.images.to_kind(Kind::Float);
        let mean_image = f.mean_dim(&[0i64][..], false, Kind::Float);
        let channel_mean = f.mean_dim(&[0i64, 2, 3][..], true, Kind::Float);
        let channel_std = f.std_dim(&[0i64, 2, 3][..], false, true);
        let rgb_pca = match cfg.colour {
            Colour::Pca => Some(colour::RgbPca::from_images(&train.images)?),
            Colour::None => None,
        };
        Ok(Self {
            rgb_pca,
            train,
            train_eval,
            validation,
            test,
            mean_image,
            channel_mean,
            channel_std,
            label: raw.label.clone(),
            source_sha256: raw.source_sha256.clone(),
        })
    }

    /// AlexNet Sec. 4.1: the training images' colour shifted along the principal
    /// components of the training set's RGB values, alpha ~ N(0, 0.1) per image;
    /// the offsets scaled to the run's normalisation.
    pub fn colour_augment(&self, x: &Tensor, cfg: &DataConfig) -> Tensor {
        match (&self.rgb_pca, cfg.colour) {
            // alpha_i * lambda_i is not scale-free (lambda is a variance of
            // intensities): as in the common re-implementations (fb.resnet.torch's
            // eigval 0.2175, 0.0188, 0.0045), intensities are taken in [0, 1], so on
            // the 0-255 scale the offset is P (alpha lambda_255) / 255. On the 0-255
            // scale itself the offsets would be ~1000 grey levels and wipe the images
            // out (seen: 90% training error).
            (Some(pca), Colour::Pca) => colour::pca_lighting(
                x,
                pca,
                PCA_ALPHA_STD,
                &(colour::lighting_divisor(cfg.normalize, &self.channel_std) * 255.0),
            ),
            _ => x.shallow_clone(),
        }
    }

    /// uint8 images -> float network input, as the run's config says.
    pub fn normalize(&self, images: &Tensor, how: Normalize) -> Tensor {
        let x = images.to_kind(Kind::Float);
        match how {
            Normalize::PerPixelMean => x - &self.mean_image,
            Normalize::PerPixelMeanUnitScale => (x - &self.mean_image) / 255.0,
            Normalize::PerChannelStandardize => (x - &self.channel_mean) / &self.channel_std,
        }
    }
}

/// AlexNet Sec. 4.1: "alpha_i is drawn from a Gaussian with mean zero and standard deviation 0.1".
pub const PCA_ALPHA_STD: f64 = 0.1;

/// Batched augmentation of a float NCHW batch on its device, with the global
/// generator (seed it first, see `seeds::with_seed`).
pub fn augment_data(x: &Tensor, cfg: &DataConfig) -> Tensor {
    match cfg.augment {
        Augment::None => x.shallow_clone(),
        Augment::Flip => {
            let b = x.size()[0];
            let flip = Tensor::randint(2, [b, 1, 1, 1], (Kind::Bool, x.device()));
            x.flip([3]).where_self(&flip, x)
        }
        Augment::Pad4CropFlip => pad_crop_flip(x, 4),
        Augment::RescaleCropFlip => {
            // Config validation requires the range; without one, S is the image
            // size (crop and flip only).
            let s = x.size()[3];
            let [lo, hi] = cfg.scale_range.unwrap_or([s, s]);
            rescale_crop_flip(x, lo, hi)
        }
        // Rejected by config validation for resident (CIFAR) data.
        Augment::ScaleCropFlip => x.shallow_clone(),
    }
}

/// The CIFAR analogue of VGG's scale jittering (Simonyan & Zisserman 2014,
/// Sec. 3.1: "each training image is individually rescaled by randomly
/// sampling S from a certain range [S_min, S_max]", then a crop of the training
/// size is taken): per image an integer S in [s_min, s_max], a random h x w
/// crop of the image bilinearly rescaled to S x S, and a random horizontal
/// flip. All three in one `grid_sample`: output pixel j of the crop samples the
/// original at the centre of pixel (offset + j) of an S-pixel grid.
pub fn rescale_crop_flip(x: &Tensor, s_min: i64, s_max: i64) -> Tensor {
    let (b, c, h, w) = x.size4().expect("augment takes NCHW batches");
    let dev = x.device();
    let opts = (Kind::Float, dev);
    let s = Tensor::randint_low(s_min, s_max + 1, [b], (Kind::Int64, dev)).to_kind(Kind::Float);
    // Crop offsets in [0, S - h] and [0, S - w] pixels of the rescaled image.
    let oy = (Tensor::rand([b], opts) * (&s - h as f64 + 1.0)).floor();
    let ox = (Tensor::rand([b], opts) * (&s - w as f64 + 1.0)).floor();
    let flip = Tensor::randint(2, [b], opts) * -2.0 + 1.0;
    // affine_grid maps output coordinate u (align_corners = false) to
    // scale * u + centre; see the derivation in the doc comment.
    let sx = (w as f64) / &s * &flip;
    let sy = (h as f64) / &s;
    let cx = (ox * 2.0 + w as f64) / &s - 1.0;
    let cy = (oy * 2.0 + h as f64) / &s - 1.0;
    let zero = Tensor::zeros([b], opts);
    let theta = Tensor::stack(&[sx, zero.shallow_clone(), cx, zero, sy, cy], 1).view([b, 2, 3]);
    let grid = Tensor::affine_grid_generator(&theta, [b, c, h, w], false);
    x.grid_sampler(&grid, 0, 0, false)
}

/// Test images resized to `q` x `q` (bilinear), for multi-scale testing.
pub fn rescale(x: &Tensor, q: i64) -> Tensor {
    let (_, _, h, w) = x.size4().expect("rescale takes NCHW batches");
    if h == q && w == q {
        return x.shallow_clone();
    }
    x.upsample_bilinear2d([q, q], false, None, None)
}

/// ResNet Sec. 4.2 (after Lee et al. 2015): pad `pad` zeros on each side, take a
/// random crop of the original size (all (2 pad + 1)^2 offsets), flip
/// horizontally with probability 1/2, each image independently. Two gathers:
/// rows, then columns with the flip folded into the column index.
pub fn pad_crop_flip(x: &Tensor, pad: i64) -> Tensor {
    let (b, c, h, w) = x.size4().expect("augment takes NCHW batches");
    let dev = x.device();
    let padded = x.constant_pad_nd([pad, pad, pad, pad]);
    let oy = Tensor::randint(2 * pad + 1, [b, 1], (Kind::Int64, dev));
    let ox = Tensor::randint(2 * pad + 1, [b, 1], (Kind::Int64, dev));
    let flip = Tensor::randint(2, [b, 1], (Kind::Int64, dev));
    let ar_h = Tensor::arange(h, (Kind::Int64, dev)).unsqueeze(0);
    let ar_w = Tensor::arange(w, (Kind::Int64, dev)).unsqueeze(0);
    let rows = (oy + ar_h)
        .view([b, 1, h, 1])
        .expand([b, c, h, w + 2 * pad], false);
    // flip: column j reads (w - 1 - j) of the crop.
    let cols_plain = &ox + &ar_w;
    let cols_flip = &ox + (ar_w.flip([1]));
    let cols_plain: Tensor = cols_plain;
    let cols = cols_flip
        .where_self(&flip.eq(1), &cols_plain)
        .view([b, 1, 1, w])
        .expand([b, c, h, w], false);
    padded.gather(2, &rows, false).gather(3, &cols, false)
}
