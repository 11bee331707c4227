//! What runs record and how they are read and judged, without libtorch: the
//! metrics schema and its Parquet files (`metrics`), run directories and how a
//! run ended (`run_dir`), provenance and the training-code hash
//! (`provenance`), the experiments in the workspace (`registry`), the papers'
//! numbers (`papers`), the recipe tables of a run's config (`recipe`), the
//! fidelity labels (`fidelity`), claims, verdicts and summaries (`report`),
//! and the exit statuses every binary shares (`exit`).
//!
//! The engine (data, models, training) writes these records; the driver, the
//! nightly and the sweep read them. `nightly` and `sweep` depend on this crate
//! alone, so they build and test without libtorch.

pub mod device;
pub mod error;
pub mod exit;
pub mod fidelity;
pub mod io;
pub mod metrics;
pub mod papers;
pub mod progress;
pub mod provenance;
pub mod recipe;
pub mod registry;
pub mod report;
pub mod run_dir;
pub mod testing;
pub mod version;

pub use error::{Error, Result};
pub use figures;

/// The repository root: the first ancestor of the working directory with an
/// `experiments/` folder and a `Cargo.toml`, else this source tree's.
pub fn repo_root() -> std::path::PathBuf {
    if let Ok(mut d) = std::env::current_dir() {
        loop {
            if d.join("experiments").is_dir() && d.join("Cargo.toml").is_file() {
                return d;
            }
            if !d.pop() {
                break;
            }
        }
    }
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
