//! Batches decoded from disk in parallel: training crops, 10-crop and
//! center-crop test views, and the per-pixel mean image.
//!
//! Every function returns planar `u8` RGB (`[image][channel][row][column]`,
//! CHW per view), ready to become a `uint8` tensor in the training crates;
//! nothing is kept between calls.
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::transform::{decode_rgb, resize_shorter, write_crop};
use crate::FolderError;

/// The crop fed to the network by AlexNet (Krizhevsky et al. 2012, Sec.
/// 4.1), VGG and ResNet (He et al. 2015, Sec. 3.4).
pub const CROP: u32 = 224;

/// Shorter side of the test images of the standard 10-crop test
/// (Krizhevsky et al. 2012, Sec. 4.1: images down-sampled to 256).
pub const TEST_RESIZE: u32 = 256;

/// Number of views per image in [`ten_crop_batch`].
pub const TEN_CROPS: usize = 10;

/// Scale and crop augmentation of He et al. 2015, Sec. 3.4 (following
/// Simonyan & Zisserman 2015, Sec. 3.1, "scale jittering"): "The image is
/// resized with its shorter side randomly sampled in [256, 480] for scale
/// augmentation. A 224x224 crop is randomly sampled from an image or its
/// horizontal flip".
///
/// The shorter side is drawn uniformly from the integers in
/// `scale_min..=scale_max`, the crop position uniformly over all positions
/// that fit, and the flip with probability 1/2. The colour augmentation of
/// Krizhevsky et al. 2012 (Sec. 4.1, PCA lighting), which ResNet also uses,
/// works on float pixels after mean subtraction and so belongs to the
/// training crates, not here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainAugment {
    /// Smallest shorter side after resizing (256).
    pub scale_min: u32,
    /// Largest shorter side after resizing (480).
    pub scale_max: u32,
    /// Side of the square crop (224).
    pub crop: u32,
}

impl Default for TrainAugment {
    /// He et al. 2015, Sec. 3.4: shorter side in [256, 480], 224x224 crop.
    fn default() -> Self {
        TrainAugment {
            scale_min: 256,
            scale_max: 480,
            crop: CROP,
        }
    }
}

impl TrainAugment {
    /// A fixed scale (`scale_min == scale_max`): the single-scale training of
    /// Simonyan & Zisserman 2015, Sec. 3.1 (S = 256 or 384), or AlexNet's
    /// 256 (Krizhevsky et al. 2012, Sec. 2, where the 224 crop is of a
    /// 256x256 centre; here the whole shorter-side-256 image is cropped from).
    pub fn single_scale(scale: u32, crop: u32) -> Self {
        TrainAugment {
            scale_min: scale,
            scale_max: scale,
            crop,
        }
    }

    /// `u8`s per augmented image: `3 * crop * crop`.
    pub fn image_len(&self) -> usize {
        view_len(self.crop)
    }

    fn check(&self) {
        assert!(self.crop > 0, "TrainAugment: crop must be positive");
        assert!(
            self.crop <= self.scale_min && self.scale_min <= self.scale_max,
            "TrainAugment: need crop <= scale_min <= scale_max, got {self:?}"
        );
    }
}

/// `u8`s per CHW view of side `crop`.
pub fn view_len(crop: u32) -> usize {
    3 * crop as usize * crop as usize
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, well-mixed generator, so
/// that batches do not depend on an outside crate's algorithm choices.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SplitMix64 {
    /// The generator of the image at `position` of a batch drawn with
    /// `seed`: a hash of both, so images of a batch get independent streams
    /// and no stream depends on which thread decodes which image.
    fn for_image(seed: u64, position: usize) -> Self {
        let pos = mix64((position as u64).wrapping_add(1).wrapping_mul(GOLDEN_GAMMA));
        SplitMix64(mix64(seed ^ pos))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        mix64(self.0)
    }

    /// Uniform in `lo..=hi` (multiply-high; bias below 2^-32 for our ranges).
    fn in_range(&mut self, lo: u32, hi: u32) -> u32 {
        let span = u64::from(hi - lo) + 1;
        lo + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as u32
    }
}

/// Runs `view` on every image of the batch in parallel, each writing its
/// `per_image` bytes, and gathers the labels. The first error in batch order
/// is returned, so errors do not depend on the thread count either.
fn run_batch<F>(
    items: &[(PathBuf, u16)],
    indices: &[usize],
    per_image: usize,
    view: F,
) -> Result<(Vec<u8>, Vec<u16>), FolderError>
where
    F: Fn(usize, &Path, &mut [u8]) -> Result<(), FolderError> + Sync,
{
    if let Some(&bad) = indices.iter().find(|&&i| i >= items.len()) {
        panic!("index {bad} out of range for {} items", items.len());
    }
    let labels = indices.iter().map(|&i| items[i].1).collect();
    let mut data = vec![0u8; indices.len() * per_image];
    let results: Vec<Result<(), FolderError>> = data
        .par_chunks_mut(per_image)
        .zip(indices.par_iter())
        .enumerate()
        .with_max_len(1)
        .map(|(position, (out, &i))| view(position, &items[i].0, out))
        .collect();
    results.into_iter().collect::<Result<(), FolderError>>()?;
    Ok((data, labels))
}

/// Training batch with the augmentation of He et al. 2015, Sec. 3.4 (see
/// [`TrainAugment`]).
///
/// Decodes the images at `indices` of `items` in parallel (rayon) and
/// returns their augmented crops as `u8` CHW RGB, batch-major
/// (`indices.len() * aug.image_len()` bytes), and their labels.
///
/// All randomness of image `k` comes from a SplitMix64 stream seeded with a
/// hash of (`seed`, `k`), so a batch is a pure function of
/// (`items`, `indices`, `aug`, `seed`): rerunning a step reproduces it
/// bit for bit, on any number of threads. Use a fresh `seed` per step (e.g.
/// a hash of run seed, epoch and step).
///
/// # Panics
/// If an index is out of range or `aug` does not satisfy
/// `0 < crop <= scale_min <= scale_max`.
pub fn train_batch(
    items: &[(PathBuf, u16)],
    indices: &[usize],
    aug: &TrainAugment,
    seed: u64,
) -> Result<(Vec<u8>, Vec<u16>), FolderError> {
    aug.check();
    let crop = aug.crop;
    run_batch(items, indices, aug.image_len(), |position, path, out| {
        let mut rng = SplitMix64::for_image(seed, position);
        let scale = rng.in_range(aug.scale_min, aug.scale_max);
        let image = resize_shorter(decode_rgb(path)?, scale);
        let x0 = rng.in_range(0, image.width() - crop);
        let y0 = rng.in_range(0, image.height() - crop);
        let flip = rng.next_u64() >> 63 == 1;
        write_crop(&image, x0, y0, crop, flip, out);
        Ok(())
    })
}

fn check_test_sizes(resize: u32, crop: u32) {
    assert!(
        0 < crop && crop <= resize,
        "need 0 < crop <= resize, got crop {crop}, resize {resize}"
    );
}

/// The standard 10-crop test of Krizhevsky et al. 2012 (Sec. 4.1: "extracting
/// five 224x224 patches (the four corner patches and the center patch) as well
/// as their horizontal reflections (hence ten patches in all), and averaging
/// the predictions"), which He et al. 2015 adopt (Sec. 3.4: "we adopt the
/// standard 10-crop testing").
///
/// Each image's shorter side is resized to `resize` (256); views are
/// `crop` x `crop` (224) `u8` CHW RGB, taken at the four corners of the whole
/// resized image and at its center (the convention of today's libraries,
/// e.g. torchvision's `TenCrop` after `Resize(256)`; see
/// [`ten_crop_square_batch`] for AlexNet's literal 256x256-square variant).
/// Image `i`'s views lie at `[i * 10 .. i * 10 + 10]` (in units of
/// [`view_len`]`(crop)`), in the order top-left, top-right, bottom-left,
/// bottom-right, center, then the same five mirrored left-right (view
/// `5 + k` is view `k` mirrored). The center window is the one of
/// [`center_crop_batch`], so view 4 equals its output exactly. Returns one
/// label per image.
///
/// # Panics
/// If an index is out of range or not `0 < crop <= resize`.
pub fn ten_crop_batch(
    items: &[(PathBuf, u16)],
    indices: &[usize],
    resize: u32,
    crop: u32,
) -> Result<(Vec<u8>, Vec<u16>), FolderError> {
    ten_crop(items, indices, resize, crop, false)
}

/// [`ten_crop_batch`] as Krizhevsky et al. 2012 literally describe it: their
/// images are "down-sampled ... to a fixed resolution of 256 x 256": the
/// shorter side is rescaled to 256, then they "cropped out the central
/// 256x256 patch" (Sec. 2), and the four corner views are corners of that
/// square (Sec. 4.1). So here the corners are those of the central `resize`
/// x `resize` square of the resized image; the center view (view 4) and the
/// layout are those of [`ten_crop_batch`], and on square images the two
/// functions agree.
///
/// # Panics
/// If an index is out of range or not `0 < crop <= resize`.
pub fn ten_crop_square_batch(
    items: &[(PathBuf, u16)],
    indices: &[usize],
    resize: u32,
    crop: u32,
) -> Result<(Vec<u8>, Vec<u16>), FolderError> {
    ten_crop(items, indices, resize, crop, true)
}

fn ten_crop(
    items: &[(PathBuf, u16)],
    indices: &[usize],
    resize: u32,
    crop: u32,
    central_square: bool,
) -> Result<(Vec<u8>, Vec<u16>), FolderError> {
    check_test_sizes(resize, crop);
    let len = view_len(crop);
    run_batch(items, indices, TEN_CROPS * len, |_, path, out| {
        let image = resize_shorter(decode_rgb(path)?, resize);
        // The region whose corners are taken: the whole image, or its
        // central `resize` x `resize` square.
        let (left, top, right, bottom) = if central_square {
            let (sx, sy) = center_offset(&image, resize);
            (sx, sy, sx + resize - crop, sy + resize - crop)
        } else {
            (0, 0, image.width() - crop, image.height() - crop)
        };
        let (cx, cy) = center_offset(&image, crop);
        let windows = [
            (left, top),
            (right, top),
            (left, bottom),
            (right, bottom),
            (cx, cy),
        ];
        let (plain, mirrored) = out.split_at_mut(5 * len);
        for (k, &(x0, y0)) in windows.iter().enumerate() {
            write_crop(&image, x0, y0, crop, false, &mut plain[k * len..][..len]);
            write_crop(&image, x0, y0, crop, true, &mut mirrored[k * len..][..len]);
        }
        Ok(())
    })
}

/// Top-left corner of the centered `crop` window (floor of the half margin).
fn center_offset(image: &image::RgbImage, crop: u32) -> (u32, u32) {
    ((image.width() - crop) / 2, (image.height() - crop) / 2)
}

/// A single center view per image: shorter side resized to `resize`, then
/// the centered `crop` x `crop` window, `u8` CHW RGB, batch-major. The cheap
/// validation used during training (the "single-crop" numbers), and the
/// view from which [`mean_image`] is computed.
///
/// # Panics
/// If an index is out of range or not `0 < crop <= resize`.
pub fn center_crop_batch(
    items: &[(PathBuf, u16)],
    indices: &[usize],
    resize: u32,
    crop: u32,
) -> Result<(Vec<u8>, Vec<u16>), FolderError> {
    check_test_sizes(resize, crop);
    run_batch(items, indices, view_len(crop), |_, path, out| {
        let image = resize_shorter(decode_rgb(path)?, resize);
        let (x0, y0) = center_offset(&image, crop);
        write_crop(&image, x0, y0, crop, false, out);
        Ok(())
    })
}

/// Images decoded per step of [`mean_image`] (bounds its memory to
/// `MEAN_CHUNK * 3 * crop * crop` bytes).
const MEAN_CHUNK: usize = 128;

/// The per-pixel mean image, `3 x crop x crop` `f32` in 0..=255 (CHW), over
/// the center views ([`center_crop_batch`]) of up to `max_images` of `items`,
/// taken evenly spaced over the list (`items[i * len / n]` for
/// `i in 0..n`, `n = min(max_images, len)`), so that a class-ordered list is
/// sampled across all classes.
///
/// AlexNet subtracts "the mean activity over the training set from each
/// pixel" (Krizhevsky et al. 2012, Sec. 2) and ResNet samples its crops
/// "with the per-pixel mean subtracted" (He et al. 2015, Sec. 3.4); a few
/// ten thousand images estimate that mean to well under one grey level.
/// Sums are exact integers, so the result does not depend on thread count.
///
/// # Panics
/// If `items` is empty, `max_images` is 0, or not `0 < crop <= resize`.
pub fn mean_image(
    items: &[(PathBuf, u16)],
    max_images: usize,
    resize: u32,
    crop: u32,
) -> Result<Vec<f32>, FolderError> {
    assert!(!items.is_empty(), "mean_image: no images");
    assert!(max_images > 0, "mean_image: max_images must be positive");
    check_test_sizes(resize, crop);
    let n = max_images.min(items.len());
    let picks: Vec<usize> = (0..n).map(|i| i * items.len() / n).collect();
    let mut sums = vec![0u64; view_len(crop)];
    for chunk in picks.chunks(MEAN_CHUNK) {
        let (data, _) = center_crop_batch(items, chunk, resize, crop)?;
        for view in data.chunks_exact(sums.len()) {
            for (sum, &v) in sums.iter_mut().zip(view) {
                *sum += u64::from(v);
            }
        }
    }
    Ok(sums.iter().map(|&s| (s as f64 / n as f64) as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_range_covers_its_bounds_only() {
        let mut rng = SplitMix64::for_image(7, 3);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let v = rng.in_range(256, 260);
            assert!((256..=260).contains(&v));
            seen[(v - 256) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(SplitMix64::for_image(1, 0).in_range(5, 5), 5);
    }

    #[test]
    fn image_streams_differ_by_seed_and_position() {
        let a = SplitMix64::for_image(1, 0).next_u64();
        assert_eq!(a, SplitMix64::for_image(1, 0).next_u64());
        assert_ne!(a, SplitMix64::for_image(2, 0).next_u64());
        assert_ne!(a, SplitMix64::for_image(1, 1).next_u64());
        assert_ne!(SplitMix64::for_image(0, 0).next_u64(), 0);
    }
}
