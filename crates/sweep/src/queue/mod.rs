//! `sweep queue`: paper-budget runs for short, time-boxed allocations of a
//! machine (a GPU lent for minutes, with no Rust toolchain and a cap on what
//! goes in and out: `scripts/gpu-queue` packages the binaries).
//!
//! * `sweep queue run --queue FILE --out DIR --budget-s N`: trains the next
//!   unfinished entries of the queue into DIR until the budget is spent, then
//!   stops the running binary at a checkpoint (`runner`). Run again with DIR
//!   carried back in: it continues.
//! * `sweep queue merge --from DIR`: folds DIR's finished and partial runs into
//!   `results/<experiment>/<profile>/` and redraws their reports, partial runs
//!   drawn as partial (`merge`).
mod file;
mod merge;
mod runner;

use clap::{Parser, Subcommand};
use records::run_dir::{RunDir, RunState};

#[derive(Parser, Debug)]
#[command(
    name = "sweep queue",
    bin_name = "sweep queue",
    version = records::version::short(),
    long_version = records::version::long_torch_free(),
    after_help = records::exit::HELP
)]
pub struct QueueCmd {
    #[command(flatten)]
    pub verbosity: records::progress::Verbosity,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// One allocation: train the queue's next unfinished entries into --out
    /// until --budget-s is spent; exit 75 with entries left (the same command,
    /// with the folder carried back, continues), 0 when all are done.
    Run(runner::RunArgs),
    /// Fold a queue's output folder into the results directory and redraw the
    /// reports (partial runs drawn as partial).
    Merge(merge::MergeArgs),
}

pub fn main(argv: Vec<std::ffi::OsString>) -> anyhow::Result<()> {
    let q = QueueCmd::parse_from(argv);
    q.verbosity.init();
    match q.cmd {
        Cmd::Run(a) => runner::run(&a),
        Cmd::Merge(a) => merge::merge(&a),
    }
}

/// How far a run is, from its directory: `completed (N iterations)`,
/// `partial: stopped at iteration N of M`, `diverged at N`, `killed (its last
/// periodic checkpoint resumes it)`, or `not started`.
pub fn run_progress(dir: &RunDir) -> String {
    let of = records::run_dir::saved_train_config(dir)
        .map(|t| format!(" of {}", t.iterations))
        .unwrap_or_default();
    match dir.read_status() {
        Some(s) if s.status == RunState::Interrupted => {
            format!("partial: stopped at iteration {}{of}", s.iterations)
        }
        Some(s) if s.status == RunState::Diverged => {
            format!("diverged at iteration {}{of}", s.iterations)
        }
        Some(s) => format!("{} ({} iterations)", s.status, s.iterations),
        None if dir.has_checkpoint() => {
            "stopped without a status (killed): its last periodic checkpoint resumes it".into()
        }
        None if dir.path().exists() => "started, nothing saved yet".into(),
        None => "not started".into(),
    }
}
