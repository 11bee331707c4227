//! The ImageNet data path of He et al. 2015 ("Deep Residual Learning for
//! Image Recognition", Sec. 3.4 "Implementation"), for ImageNet kept on disk
//! in the image-folder layout:
//!
//! ```text
//! <root>/train/<wnid>/*.JPEG
//! <root>/val/<wnid>/*.JPEG     (validation images re-arranged into class folders)
//! ```
//!
//! ImageNet's 1.28 million training images (over 300 GB decoded at a shorter
//! side of 256) do not fit in memory, so nothing is resident:
//! [`ImageFolder::open`] only lists file names, and every batch function
//! decodes its images from disk in parallel (rayon) on each call:
//!
//! * [`train_batch`]: scale augmentation (shorter side uniform in
//!   [256, 480]), a random 224x224 crop and a random horizontal flip
//!   (He et al. 2015, Sec. 3.4, after Simonyan & Zisserman 2015, Sec. 3.1);
//!   seeded, so a batch is a pure function of its inputs.
//! * [`ten_crop_batch`]: the standard 10-crop test (Krizhevsky et al. 2012,
//!   Sec. 4.1) that He et al. adopt for their comparisons.
//! * [`center_crop_batch`]: one center view, for quick validation.
//! * [`mean_image`]: the per-pixel mean that AlexNet (Sec. 2) and ResNet
//!   (Sec. 3.4) subtract.
//!
//! All return `u8` RGB in planar CHW order per view, batch-major, plus `u16`
//! labels (indices into [`ImageFolder::classes`]). No libtorch here: the
//! training crates turn these arrays into tensors, subtract the mean and
//! apply the colour augmentation.
mod batch;
mod error;
mod scan;
pub mod testing;
mod transform;

pub use batch::{
    center_crop_batch, mean_image, ten_crop_batch, ten_crop_square_batch, train_batch, view_len,
    TrainAugment, CROP, TEN_CROPS, TEST_RESIZE,
};
pub use error::FolderError;
pub use scan::{has_image_extension, ImageFolder, IMAGE_EXTENSIONS};
pub use transform::{decode_rgb, resize_shorter, shorter_side_size, write_crop};
