//! Every random stream of a run, named in one place. A run's seed feeds three
//! streams through `derive_seed` (the network's initialisation, the epochs'
//! data order, and each step's augmentation and dropout), so that a resumed
//! run replays exactly what an uninterrupted one draws without saving
//! generator state. The data splits use fixed seeds of their own, the same
//! for every run and seed: every run of an experiment sees the same
//! validation split and subsets.

/// The purposes `derive_seed` separates, so that the streams never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// The network's initial weights (`train::seed_init`).
    Init = 0,
    /// The training set's order in each epoch (`train::epoch_permutation`).
    Order = 1,
    /// Each step's augmentation and dropout masks (`train::group`).
    Step = 2,
}

/// The fixed seeds of the data splits (`data::CifarData::new`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum DataSplit {
    /// Which training images are held out for validation (`data.validation`).
    Validation = 0,
    /// Which training images a subset keeps (`data.train_subset`).
    TrainSubset = 1,
    /// Which test images a subset keeps (`data.test_subset`).
    TestSubset = 2,
    /// Which training images are evaluated in eval mode (`data.train_eval_images`).
    TrainEvalImages = 3,
}

/// Runs `f` with the global libtorch generator seeded by `seed`.
pub fn with_seed<T>(seed: u64, f: impl FnOnce() -> T) -> T {
    tch::manual_seed(seed as i64);
    f()
}

/// Runs `f` with the generator seeded for the data split `split`.
pub fn with_split_seed<T>(split: DataSplit, f: impl FnOnce() -> T) -> T {
    with_seed(split as u64, f)
}

/// The seed of `stream` for (run seed, index), spread by SplitMix64.
pub fn derive_seed(seed: u64, stream: Stream, index: u64) -> u64 {
    let purpose = stream as u64;
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(purpose.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(index);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) & 0x7FFF_FFFF_FFFF_FFFF
}
