//! The home of the project's claim tests: one function per kind of claim a
//! paper makes about its ablations, each returning a [`ClaimResult`] with
//! the test's name, the estimate, its confidence interval, p values, seeds
//! per arm, degrees of freedom, the margin and a [`Decision`] with a reason.
//!
//! | claim wording | function | test |
//! |---|---|---|
//! | "X lowers the error" | [`directional`] | Welch's t, one-sided each way |
//! | "A-LRN is no better than A" | [`no_better`] | Welch non-superiority, margin m |
//! | "A, B and C differ little" | [`differ_little`] | Welch TOST, margin ±m |
//! | "tanh needs ~6x the epochs of ReLU" | [`ratio`] | TOST on per-seed log ratios, band [low, high] |
//! | the same, some seeds only bounded | [`ratio_bounded`] | sign test against each edge of the band |
//! | "multi-scale testing beats single-scale" (same nets) | [`paired`] | paired t, one-sided each way |
//! | "the error is 8.75%" | [`level`] | one-sample TOST, paper + offset ± tolerance |
//!
//! Across a family of claims, [`apply_holm`] adjusts the p values (Holm) and
//! turns a PASS or FAIL that no longer holds into INCONCLUSIVE; for an
//! INCONCLUSIVE comparison, [`seeds_needed`] says how many seeds per arm
//! would detect the paper's effect.
//!
//! **Margins are arguments.** A margin, band or tolerance comes from the
//! experiment's data files, fixed before the runs; nothing here computes one
//! from the samples it judges (that would let the data move the goal posts).
//!
//! **Few seeds** (every test): an arm with fewer than [`MIN_SEEDS`] seeds,
//! or zero sample variance (in both arms of a two-arm test), decides nothing
//! by a test: the result is INCONCLUSIVE unless the [`Rule`] states a
//! minimum effect and the estimate clears the claim's boundary by more than
//! it (then PASS or FAIL by the side it lies on). Zero variance never yields
//! a p value of 0.
//!
//! **Decisions.** Each test has a region where the claim holds (e.g. "below
//! 0", "within ±m"). PASS when the test that the estimate lies inside
//! rejects at α (the (1 - 2α) two-sided interval lies inside the region);
//! FAIL when the test that it lies outside rejects at α (the interval lies
//! entirely outside); INCONCLUSIVE otherwise.
//!
//! No libtorch: the crate builds and tests on any machine.
#![warn(missing_docs)]

mod bounded;
mod claims;
pub mod dist;
mod holm;
mod power;
mod result;
mod sample;

pub use bounded::{ratio_bounded, sign_p, Bounded};
pub use claims::{
    differ_little, directional, level, no_better, paired, ratio, Band, Better, Direction, Level,
};
pub use dist::{student_t_quantile, student_t_upper, welch_df};
pub use holm::{apply_holm, holm, holm_adjusted};
pub use power::{pooled_sd, power, seeds_needed, Design, SeedsNeeded, POWER};
pub use result::{Basis, ClaimResult, Decision, Interval, Margin, Rule, StatsError, Test};

/// The project's significance level for each one-sided test.
pub const ALPHA: f64 = 0.05;

/// Fewer seeds than this in an arm decide nothing by a test (see the
/// crate's "few seeds" rule): two seeds give one degree of freedom per arm,
/// an estimate of the spread too rough to trust a p value from.
pub const MIN_SEEDS: usize = 3;
