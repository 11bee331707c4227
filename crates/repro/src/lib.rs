//! Core of the CNN paper reproductions (AlexNet 2012, VGG 2014, ResNet 2015).
//!
//! The modules follow the data flow:
//! `data` (CIFAR-10 on the device, batched augmentation) -> `models` (builders
//! with the papers' knobs) -> `train` (SGD, schedules by iteration, loop,
//! checkpoints) -> `metrics` (Parquet) -> `report` (paper vs measured, claims),
//! with figures drawn by the `figures` crate and the shared command line in
//! `experiment`. Configuration is data: `config` reads `experiments/<name>.toml`.
#![warn(clippy::too_many_lines)]

pub mod bench;
pub mod config;
pub mod data;
pub mod driver;
pub mod error;
pub mod eval;
pub mod exit;
pub mod gpu_probe;
pub mod io;
pub mod layout;
pub mod metrics;
pub mod models;
pub mod papers;
pub mod plot;
pub mod precision;
pub mod progress;
pub mod provenance;
pub mod registry;
pub mod report;
pub mod testing;
pub mod train;
pub mod version;

pub use error::{Error, Result};
pub use figures;
