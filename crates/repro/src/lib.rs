//! The driver of the CNN paper reproductions (AlexNet 2012, VGG 2014,
//! GoogLeNet 2014, ResNet 2015): the shared command line every experiment
//! binary runs (`driver`), the figure panels drawn from its results (`plot`),
//! benchmarks (`bench`) and test support (`testing`).
//!
//! It sits on the two crates below it: `engine` computes runs (data, models,
//! training, evaluation) and `records` writes and reads what runs record
//! (metrics, provenance, run directories, reports and verdicts). Their modules
//! are re-exported here so that an experiment crate needs only `repro`.

pub mod bench;
pub mod driver;
pub mod exit;
pub mod gpu_probe;
pub mod plot;
pub mod testing;
pub mod version;

pub use engine::{config, data, error, eval, layout, models, precision, runtime, train};
pub use engine::{Error, Result};
pub use records::figures;
pub use records::{fidelity, io, metrics, papers, progress, provenance, recipe, registry, report};
pub use records::{run_dir, say};
