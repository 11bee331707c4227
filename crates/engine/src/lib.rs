//! What computes a run, in the order of the data flow: `data` (CIFAR-10 and
//! image folders on the device, batched augmentation) -> `models` (builders
//! with the papers' knobs, each beside its config) -> `train` (SGD, schedules
//! by iteration, the loop, checkpoints) and `eval` (test views), with the
//! numerics in `precision` and `layout`. `config` resolves an experiment file
//! into runs. Runs are written as `records` (metrics rows, provenance).
//!
//! This crate's whole source, with the readers', is the training-code hash
//! (`records::provenance::TRAINING_CODE`): a change anywhere here marks the
//! finished runs as trained by other code.

pub mod config;
pub mod data;
pub mod error;
pub mod eval;
pub mod layout;
pub mod models;
pub mod precision;
pub mod runtime;
pub mod seeds;
pub mod train;

pub use error::{Error, Result};
