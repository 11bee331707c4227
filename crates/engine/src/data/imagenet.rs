//! ImageNet from an image folder (`train/<wnid>/*.JPEG`, `val/<wnid>/*.JPEG`),
//! decoded per batch on the host in parallel (the `imagefolder` crate) with the
//! ResNet paper's augmentation (Sec. 3.4): shorter side resized to a random
//! S in [256, 480], a random 224x224 crop or its mirror, per-pixel mean
//! subtracted; evaluation by the standard 10-crop test (or a single centre crop).
//!
//! Not included: AlexNet's PCA colour augmentation, which Sec. 3.4 also uses, and
//! a prefetching thread (decoding runs between steps; on a GPU it is the bottleneck).
use super::{EvalBatch, Split, TrainData};
use crate::config::{RunConfig, TestViews};
use crate::error::{Error, Result};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Sec. 3.4: 224x224 crops; the test images' shorter side is 256 for 10-crop testing.
const CROP: u32 = 224;
const TEST_RESIZE: u32 = 256;
/// Images averaged for the per-pixel mean (an estimate; the paper does not say how many).
const MEAN_IMAGES: usize = 10_000;
/// Validation images per evaluation batch (decoded on the host).
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
    /// Validation images to evaluate: all, or `data.test_subset` of them evenly
    /// spaced over the (class-ordered) list, so every class counts.
    fn eval_indices(&self, cfg: &RunConfig) -> Vec<usize> {
        let n = self.folder.val.len();
        let take = if cfg.data.test_subset > 0 {
            cfg.data.test_subset.min(n)
        } else {
            n
        };
        (0..take).map(|i| i * n / take).collect()
    }

    /// VGG Sec. 3.2/4.2 multi-scale dense evaluation: each validation image with
    /// its shorter side resized to Q and its central Q x Q square, one input per
    /// scale (the net averages its class score map). The square centre stands in
    /// for the paper's whole uncropped image, and the mean RGB value (VGG Sec.
    /// 2.1's preprocessing) for the per-pixel mean, which exists only at 224x224.
    fn multiscale_batch(&self, chunk: &[usize], scales: &[i64]) -> Result<EvalBatch> {
        let rgb_mean = self.mean.mean_dim(&[1i64, 2][..], true, Kind::Float);
        let mut inputs = Vec::new();
        let mut labels = Vec::new();
        for &q in scales {
            let (bytes, l) =
                imagefolder::center_crop_batch(&self.folder.val, chunk, q as u32, q as u32)
                    .map_err(folder_err)?;
            labels = l;
            let x = Tensor::from_slice(&bytes)
                .view([chunk.len() as i64, 3, q, q])
                .to_device(self.device)
                .to_kind(Kind::Float)
                - &rgb_mean;
            inputs.push(x);
        }
        Ok(EvalBatch {
            inputs,
            views: 1,
            labels: Self::labels(&labels, self.device),
        })
    }

    /// The ten-crop test or a single centre crop of each image.
    fn crop_batch(&self, chunk: &[usize], views: TestViews) -> Result<EvalBatch> {
        let (bytes, labels, views) = match views {
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
        Ok(EvalBatch {
            inputs: vec![self.to_input(bytes, chunk.len() * views)],
            views: views as i64,
            labels: Self::labels(&labels, self.device),
        })
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
    /// The folder's `val/` is the test split; no validation split is held out.
    fn has_validation(&self) -> bool {
        false
    }
    fn eval_batches(
        &self,
        split: Split,
        cfg: &RunConfig,
        f: &mut dyn FnMut(EvalBatch) -> Result<()>,
    ) -> Result<()> {
        // No held-out validation split; evaluation-mode training error is
        // refused for image folders by config validation.
        if split != Split::Test {
            return Ok(());
        }
        for chunk in self.eval_indices(cfg).chunks(EVAL_CHUNK) {
            let batch = if cfg.data.test_scales.is_empty() {
                self.crop_batch(chunk, cfg.data.test_views)?
            } else {
                self.multiscale_batch(chunk, &cfg.data.test_scales)?
            };
            f(batch)?;
        }
        Ok(())
    }
}
