//! ImageNet from an image folder (`train/<wnid>/*.JPEG`, `val/<wnid>/*.JPEG`),
//! decoded per batch on the host in parallel (the `imagefolder` crate) with the
//! ResNet paper's augmentation (Sec. 3.4): shorter side resized to a random
//! S in [256, 480], a random 224x224 crop or its mirror, per-pixel mean
//! subtracted; evaluation by the standard 10-crop test (or a single centre crop).
//!
//! Not included: AlexNet's PCA colour augmentation, which Sec. 3.4 also uses, and
//! a prefetching thread (decoding runs between steps; on a GPU it is the bottleneck).
use crate::config::{RunConfig, TestViews};
use crate::error::{Error, Result};
use crate::models::Network;
use crate::train::TrainData;
use std::path::Path;
use tch::{Device, Kind, Reduction, Tensor};

/// Sec. 3.4: 224x224 crops; the test images' shorter side is 256 for 10-crop testing.
const CROP: u32 = 224;
const TEST_RESIZE: u32 = 256;
/// Images averaged for the per-pixel mean (an estimate; the paper does not say how many).
const MEAN_IMAGES: usize = 10_000;
/// Validation images per evaluation step.
const EVAL_CHUNK: usize = 25;

pub struct ImageNetData {
    folder: imagefolder::ImageFolder,
    mean: Tensor,
    device: Device,
    aug: imagefolder::TrainAugment,
    label: String,
}

fn folder_err(e: imagefolder::FolderError) -> Error {
    Error::Other(e.to_string())
}

impl ImageNetData {
    pub fn open(root: &Path, device: Device) -> Result<Self> {
        let folder = imagefolder::ImageFolder::open(root).map_err(folder_err)?;
        let mean = imagefolder::mean_image(&folder.train, MEAN_IMAGES, TEST_RESIZE, CROP)
            .map_err(folder_err)?;
        let mean = Tensor::from_slice(&mean)
            .view([3, CROP as i64, CROP as i64])
            .to_device(device);
        Ok(Self {
            label: format!(
                "ImageNet image folder ({} classes, {} train, {} val)",
                folder.classes.len(),
                folder.train.len(),
                folder.val.len()
            ),
            folder,
            mean,
            device,
            aug: imagefolder::TrainAugment::default(),
        })
    }

    pub fn classes(&self) -> usize {
        self.folder.classes.len()
    }

    fn to_input(&self, bytes: Vec<u8>, n: usize) -> Tensor {
        let c = CROP as i64;
        Tensor::from_slice(&bytes)
            .view([n as i64, 3, c, c])
            .to_device(self.device)
            .to_kind(Kind::Float)
            - &self.mean
    }

    fn labels(l: &[u16], device: Device) -> Tensor {
        Tensor::from_slice(&l.iter().map(|&v| v as i64).collect::<Vec<_>>()).to_device(device)
    }
}

impl ImageNetData {
    /// VGG Sec. 3.2/4.2 multi-scale dense evaluation: each validation image with
    /// its shorter side resized to Q and its central Q x Q square evaluated densely
    /// (the net averages its class score map), softmax averaged over the scales.
    /// The square centre stands in for the paper's whole uncropped image, and the
    /// mean RGB value (VGG Sec. 2.1's preprocessing) for the per-pixel mean,
    /// which exists only at 224x224.
    #[allow(clippy::type_complexity)]
    fn evaluate_multiscale(
        &self,
        net: &dyn Network,
        cfg: &RunConfig,
        all: &[usize],
    ) -> Result<(Option<(f64, f64)>, (f64, f64))> {
        let rgb_mean = self.mean.mean_dim(&[1i64, 2][..], true, Kind::Float);
        let (mut loss, mut err) = (0.0, 0.0);
        for chunk in all.chunks(EVAL_CHUNK) {
            let mut p: Option<Tensor> = None;
            let mut labels = Vec::new();
            for &q in &cfg.data.test_scales {
                let (bytes, l) =
                    imagefolder::center_crop_batch(&self.folder.val, chunk, q as u32, q as u32)
                        .map_err(folder_err)?;
                labels = l;
                let x = Tensor::from_slice(&bytes)
                    .view([chunk.len() as i64, 3, q, q])
                    .to_device(self.device)
                    .to_kind(Kind::Float)
                    - &rgb_mean;
                let pq = tch::no_grad(|| {
                    crate::train::precision::forward(net, &x, false, cfg.train.precision)
                        .softmax(-1, Kind::Float)
                });
                p = Some(match p {
                    Some(acc) => acc + pq,
                    None => pq,
                });
            }
            let y = Self::labels(&labels, self.device);
            let Some(p) = p else { break };
            let p = p / cfg.data.test_scales.len() as f64;
            let l = p
                .clamp_min(1e-12)
                .log()
                .nll_loss_nd::<Tensor>(&y, None, Reduction::Sum, -100);
            loss += l.double_value(&[]);
            err += p
                .argmax(-1, false)
                .ne_tensor(&y)
                .sum(Kind::Float)
                .double_value(&[]);
        }
        let take = all.len().max(1) as f64;
        Ok((None, (loss / take, err / take)))
    }
}

impl TrainData for ImageNetData {
    fn label(&self) -> &str {
        &self.label
    }
    fn train_len(&self) -> i64 {
        self.folder.train.len() as i64
    }
    fn index_device(&self) -> Device {
        Device::Cpu
    }
    fn train_batch(
        &self,
        idx: &Tensor,
        cfg: &RunConfig,
        step_seed: u64,
    ) -> Result<(Tensor, Tensor)> {
        let idx: Vec<usize> = Vec::<i64>::try_from(idx)?
            .into_iter()
            .map(|i| i as usize)
            .collect();
        let (bytes, labels) = match cfg.data.augment {
            crate::config::Augment::ScaleCropFlip => {
                // VGG's scale jittering is the same augmentation with S in [256, 512].
                let aug = match cfg.data.scale_range {
                    Some([lo, hi]) => imagefolder::TrainAugment {
                        scale_min: lo as u32,
                        scale_max: hi as u32,
                        crop: CROP,
                    },
                    None => self.aug,
                };
                imagefolder::train_batch(&self.folder.train, &idx, &aug, step_seed)
            }
            _ => imagefolder::center_crop_batch(&self.folder.train, &idx, TEST_RESIZE, CROP),
        }
        .map_err(folder_err)?;
        Ok((
            self.to_input(bytes, idx.len()),
            Self::labels(&labels, self.device),
        ))
    }
    fn evaluate(
        &self,
        net: &dyn Network,
        cfg: &RunConfig,
        channels_last: bool,
    ) -> Result<(Option<(f64, f64)>, (f64, f64))> {
        let n = self.folder.val.len();
        let take = if cfg.data.test_subset > 0 {
            cfg.data.test_subset.min(n)
        } else {
            n
        };
        // Evenly spaced over the (class-ordered) validation list, so every class counts.
        let all: Vec<usize> = (0..take).map(|i| i * n / take).collect();
        if !cfg.data.test_scales.is_empty() {
            return self.evaluate_multiscale(net, cfg, &all);
        }
        let (mut loss, mut err) = (0.0, 0.0);
        for chunk in all.chunks(EVAL_CHUNK) {
            let (bytes, labels, views) = match cfg.data.test_views {
                TestViews::TenCrop => {
                    let (b, l) =
                        imagefolder::ten_crop_batch(&self.folder.val, chunk, TEST_RESIZE, CROP)
                            .map_err(folder_err)?;
                    (b, l, 10)
                }
                TestViews::Single => {
                    let (b, l) =
                        imagefolder::center_crop_batch(&self.folder.val, chunk, TEST_RESIZE, CROP)
                            .map_err(folder_err)?;
                    (b, l, 1)
                }
            };
            let x = self.to_input(bytes, chunk.len() * views);
            let x = if channels_last {
                crate::train::sgd::to_channels_last(&x)
            } else {
                x
            };
            let y = Self::labels(&labels, self.device);
            let (l, e) = tch::no_grad(|| {
                // Average the softmax over the views, as the 10-crop test does.
                let p = crate::train::precision::forward(net, &x, false, cfg.train.precision)
                    .softmax(-1, Kind::Float)
                    .view([chunk.len() as i64, views as i64, -1])
                    .mean_dim(1, false, Kind::Float);
                let l =
                    p.clamp_min(1e-12)
                        .log()
                        .nll_loss_nd::<Tensor>(&y, None, Reduction::Sum, -100);
                let e = p.argmax(-1, false).ne_tensor(&y).sum(Kind::Float);
                (l.double_value(&[]), e.double_value(&[]))
            });
            loss += l;
            err += e;
        }
        Ok((None, (loss / take as f64, err / take as f64)))
    }
}
