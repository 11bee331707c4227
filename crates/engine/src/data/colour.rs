//! AlexNet's PCA colour augmentation (Krizhevsky et al. 2012, Sec. 4.1, the
//! second form of data augmentation): "perform PCA on the set of RGB pixel
//! values throughout the ImageNet training set. To each training image, we add
//! multiples of the found principal components, with magnitudes proportional to
//! the corresponding eigenvalues times a random variable drawn from a Gaussian
//! with mean zero and standard deviation 0.1": to every pixel of an image add
//! [p1 p2 p3][a1 l1, a2 l2, a3 l3]^T, with the a_i drawn once per image each time
//! it is presented. The paper: it "reduces the top-1 error rate by over 1%".
//!
//! Scale convention: the eigenvalues are those of the covariance of raw pixel
//! values on the 0-255 scale, so an offset is on that scale too. `pca_lighting`
//! divides it by a per-channel divisor so that it lands on the scale of the
//! normalised input: the normalisations of `config::Normalize` are shifts
//! (per pixel or channel) followed by a division, and adding the offset before
//! normalising equals adding offset / divisor after it (`lighting_divisor`).
use crate::config::Normalize;
use crate::error::{Error, Result};
use tch::{Kind, Tensor};

/// The principal components of the RGB pixel values of a training set.
#[derive(Debug)]
pub struct RgbPca {
    /// l_1 >= l_2 >= l_3, float64 [3], in (0-255 scale)^2.
    pub eigenvalues: Tensor,
    /// float64 [3, 3]; column i is the unit eigenvector p_i of l_i (RGB order).
    pub eigenvectors: Tensor,
}

/// Elements (not images) converted to float64 at a time: 32 MiB per chunk,
/// whatever the image size (about 1,365 CIFAR images or 27 at 224x224).
const CHUNK_ELEMENTS: i64 = 1 << 22;

impl RgbPca {
    /// PCA of the 3x3 covariance of all pixels of `images` (uint8 NCHW, RGB,
    /// 0-255), computed on the images' device in chunks with float64 sums.
    pub fn from_images(images: &Tensor) -> Result<RgbPca> {
        let size = images.size();
        let per_image = size.iter().skip(1).product::<i64>().max(1);
        Self::from_images_in_chunks(images, (CHUNK_ELEMENTS / per_image).max(1))
    }

    /// `from_images`, `chunk` images at a time.
    pub fn from_images_in_chunks(images: &Tensor, chunk: i64) -> Result<RgbPca> {
        let size = images.size();
        if images.kind() != Kind::Uint8 || size.len() != 4 || size[1] != 3 {
            return Err(Error::Other(format!(
                "RgbPca::from_images: expected uint8 NCHW RGB images, got {:?} of shape {size:?}",
                images.kind()
            )));
        }
        let (n, pixels) = (size[0], size[2] * size[3]);
        if n * pixels < 2 || chunk < 1 {
            return Err(Error::Other(format!(
                "RgbPca::from_images: need at least two pixels and a positive chunk, got shape {size:?}, chunk {chunk}"
            )));
        }
        let dev = images.device();
        let chunks = |f: &mut dyn FnMut(Tensor) -> Result<()>| -> Result<()> {
            let mut start = 0;
            while start < n {
                let len = chunk.min(n - start);
                f(images.f_narrow(0, start, len)?.f_to_kind(Kind::Double)?)?;
                start += len;
            }
            Ok(())
        };
        // Two passes (mean, then centred products) rather than E[xx^T] - mm^T,
        // which would cancel large terms (means ~120, variances ~1,000-4,000).
        let mut sum = Tensor::zeros([3], (Kind::Double, dev));
        chunks(&mut |x| {
            sum += x.f_sum_dim_intlist(&[0i64, 2, 3][..], false, Kind::Double)?;
            Ok(())
        })?;
        let count = (n * pixels) as f64;
        let mean = (sum / count).view([1, 3, 1, 1]);
        let mut products = Tensor::zeros([3, 3], (Kind::Double, dev));
        chunks(&mut |x| {
            let c = (x - &mean).f_transpose(0, 1)?.f_reshape([3, -1])?;
            products += c.f_mm(&c.tr())?;
            Ok(())
        })?;
        let covariance = products / (count - 1.0);
        // eigh returns ascending eigenvalues; the paper's p_1 is the largest.
        let (values, vectors) = covariance.f_linalg_eigh("L")?;
        let descending = Tensor::from_slice(&[2i64, 1, 0]).f_to_device(dev)?;
        Ok(RgbPca {
            eigenvalues: values.f_index_select(0, &descending)?,
            eigenvectors: vectors.f_index_select(1, &descending)?,
        })
    }
}

/// The per-channel divisor that puts a 0-255 offset on the scale of inputs
/// normalised by `how`: 1 (PerPixelMean: 0-255 scale), 255
/// (PerPixelMeanUnitScale), the training set's channel std (PerChannelStandardize;
/// `channel_std` is `Dataset::channel_std`, [1, 3, 1, 1] on the 0-255 scale).
pub fn lighting_divisor(how: Normalize, channel_std: &Tensor) -> Tensor {
    let opts = (Kind::Float, channel_std.device());
    match how {
        Normalize::PerPixelMean => Tensor::ones([1, 3, 1, 1], opts),
        Normalize::PerPixelMeanUnitScale => Tensor::full([1, 3, 1, 1], 255.0, opts),
        Normalize::PerChannelStandardize => channel_std.to_kind(Kind::Float).view([1, 3, 1, 1]),
    }
}

/// Sec. 4.1 lighting noise on a float NCHW batch (RGB, any normalisation that
/// `divisor` undoes, see the module doc): image n gets, at every pixel,
/// (P (a_n * l)) / divisor with a_n ~ N(0, alpha_std^2) per component (the
/// paper: alpha_std = 0.1), drawn fresh on every call, i.e. per presentation.
/// One batched draw with the global generator on the batch's device (seed it
/// first, see `seeds::with_seed`); no per-image loop. `divisor` broadcasts to
/// [1, 3, 1, 1] (`lighting_divisor`). Panics if `x` is not N x 3 x H x W: the
/// training loop builds the batch, not the user.
pub fn pca_lighting(x: &Tensor, pca: &RgbPca, alpha_std: f64, divisor: &Tensor) -> Tensor {
    let size = x.size();
    assert!(
        size.len() == 4 && size[1] == 3,
        "pca_lighting takes RGB NCHW batches, got {size:?}"
    );
    let (b, dev) = (size[0], x.device());
    let alpha = Tensor::randn([b, 3], (Kind::Float, dev)) * alpha_std;
    let lambda = pca.eigenvalues.to_device(dev).to_kind(Kind::Float);
    let p = pca.eigenvectors.to_device(dev).to_kind(Kind::Float);
    // Row n: (a_n * l)^T P^T = (P (a_n * l))^T.
    let offset = (alpha * lambda.view([1, 3])).mm(&p.tr()).view([b, 3, 1, 1]);
    x + (offset / divisor.to_device(dev)).to_kind(x.kind())
}
