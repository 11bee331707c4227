//! cuda-convnet's cropped CIFAR-10 data provider (convdata.py
//! `CroppedCIFARDataProvider`, github.com/dnouri/cuda-convnet commit e4ac0c1f),
//! which trained the nets behind AlexNet Sec. 3.3's CIFAR-10 numbers
//! (`--data-provider=cifar-cropped --crop-border=4`, cuda-convnet wiki,
//! Methodology):
//! - training: per image a random `size` x `size` crop (offsets
//!   `nr.randint(0, border*2 + 1)` in each direction) flipped horizontally with
//!   probability 1/2;
//! - test: the centre crop, or with `--multiview-test=1` the four corner crops
//!   and the centre crop, each also flipped (10 views), softmax averaged over
//!   the views (worker.cu `MultiviewTestWorker`: `softmaxActs.scale(1.0 / _numViews)`);
//! - every crop, flipped or not, has the *centre crop* of the mean image
//!   subtracted (`self.data_mean = batch_meta['data_mean'][:, border:border+inner,
//!   border:border+inner]`, then `cropped -= self.data_mean`), on the raw 0-255 scale.
use crate::config::{Augment, Colour, Normalize, RunConfig, TestViews};
use tch::{Kind, Tensor};

pub use crate::config::{CropTest, CudaConvnetCrop};

/// The (row, column) offsets of the five test crops in cuda-convnet's order
/// (convdata.py: `start_positions`); the flipped views follow them.
pub fn multiview_offsets(border: i64) -> [(i64, i64); 5] {
    [
        (0, 0),
        (0, 2 * border),
        (border, border),
        (2 * border, 0),
        (2 * border, 2 * border),
    ]
}

/// Checks that the rest of `cfg` agrees with the cropped provider. Err names the key.
pub fn check(cfg: &RunConfig, crop: &CudaConvnetCrop) -> Result<(), String> {
    let d = &cfg.data;
    if crop.size < 1 || crop.size > 32 || (32 - crop.size) % 2 != 0 {
        return Err(format!(
            "data.crop.size: must be 32 - 2 * border for a border >= 0, got {}",
            crop.size
        ));
    }
    if d.normalize != Normalize::PerPixelMean {
        return Err("data.normalize: the cropped provider subtracts the mean image itself; set \"per-pixel-mean\"".into());
    }
    if d.augment != Augment::None || d.colour != Colour::None {
        return Err("data.augment: the cropped provider does its own crops and reflections; set augment = \"none\" and no colour".into());
    }
    if !d.test_scales.is_empty() || d.test_views != TestViews::Single || d.test_flip {
        return Err("data.test_views: the cropped provider makes its own test views (data.crop.test); leave test_views, test_scales and test_flip unset".into());
    }
    let side = crate::models::input_shape(&cfg.model)[1];
    if side != crop.size {
        return Err(format!(
            "data.crop.size: {} but the model takes {side}x{side} inputs",
            crop.size
        ));
    }
    Ok(())
}

/// `images[:, :, oy + i, ox + j]` for i, j < `size`, columns reversed where `flip`.
/// `images` float [B, C, H, W]; `oy`, `ox`, `flip` int64 [B, 1].
fn gather_crops(images: &Tensor, oy: &Tensor, ox: &Tensor, flip: &Tensor, size: i64) -> Tensor {
    let (b, c, _, w) = images.size4().expect("crops take NCHW batches");
    let dev = images.device();
    let ar = Tensor::arange(size, (Kind::Int64, dev)).unsqueeze(0);
    let rows = (oy + &ar)
        .view([b, 1, size, 1])
        .expand([b, c, size, w], false);
    let cols = (ox + ar.flip([1]))
        .where_self(&flip.eq(1), &(ox + &ar))
        .view([b, 1, 1, size])
        .expand([b, c, size, size], false);
    images.gather(2, &rows, false).gather(3, &cols, false)
}

/// The centre crop of the mean image [3, 32, 32].
fn mean_centre(mean_image: &Tensor, size: i64) -> Tensor {
    let border = (mean_image.size()[2] - size) / 2;
    mean_image.narrow(1, border, size).narrow(2, border, size)
}

/// Training crops of raw (0-255) images [B, 3, 32, 32] with the global generator.
pub fn train_crops(images: &Tensor, mean_image: &Tensor, size: i64) -> Tensor {
    let b = images.size()[0];
    let dev = images.device();
    let border = (images.size()[2] - size) / 2;
    let oy = Tensor::randint(2 * border + 1, [b, 1], (Kind::Int64, dev));
    let ox = Tensor::randint(2 * border + 1, [b, 1], (Kind::Int64, dev));
    let flip = Tensor::randint(2, [b, 1], (Kind::Int64, dev));
    let x = images.to_kind(Kind::Float);
    gather_crops(&x, &oy, &ox, &flip, size) - mean_centre(mean_image, size)
}

/// Test views of raw images [N, 3, 32, 32]: [N * views, 3, size, size], each
/// image's views consecutive (the layout `eval` averages over), and `views`.
pub fn test_views(images: &Tensor, mean_image: &Tensor, crop: &CudaConvnetCrop) -> (Tensor, i64) {
    let (n, c, h, _) = images.size4().expect("crops take NCHW batches");
    let dev = images.device();
    let size = crop.size;
    let border = (h - size) / 2;
    let x = images.to_kind(Kind::Float);
    let offsets: Vec<(i64, i64, i64)> = match crop.test {
        CropTest::Centre => vec![(border, border, 0)],
        CropTest::Multiview => [0, 1]
            .iter()
            .flat_map(|&f| multiview_offsets(border).map(|(y, x)| (y, x, f)))
            .collect(),
    };
    let views: Vec<Tensor> = offsets
        .iter()
        .map(|&(y, xo, f)| {
            let full = |v: i64| Tensor::full([n, 1], v, (Kind::Int64, dev));
            gather_crops(&x, &full(y), &full(xo), &full(f), size)
        })
        .collect();
    let v = views.len() as i64;
    let stacked = Tensor::stack(&views, 1).view([n * v, c, size, size]);
    (stacked - mean_centre(mean_image, size), v)
}
