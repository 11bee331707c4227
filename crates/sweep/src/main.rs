//! `sweep`: an experiment's grid (runs x seeds of a profile) as independent
//! tasks, one process of the experiment binary per run.
//!
//! * `sweep EXPERIMENT --local`: a device pool on this machine (`--jobs N` at a
//!   time; one GPU per process via `CUDA_VISIBLE_DEVICES`, `--per-gpu K`
//!   processes sharing one; on CPU `--threads` split among the jobs), then merge.
//! * `sweep EXPERIMENT --slurm`: a manifest and a batch script in the results
//!   directory, ONE array job (`--requeue`) and a merge job depending on it.
//! * `sweep merge EXPERIMENT`: validates every finished run's Parquet file, then
//!   redraws the combined table, figures and report (`--plot-only`).
//! * `sweep queue run|merge`: a queue of paper-budget runs for time-boxed
//!   allocations (a GPU lent for minutes), and its merge (`queue`).
//!
//! The experiment binary decides what is left to do (`--list-runs`): finished
//! runs are never resubmitted, interrupted ones resume from their checkpoints,
//! and its per-run lock makes a retried or duplicated task harmless.
//!
//! Exit status (`records::exit`, docs/exit-codes.md): 0 done, 1 a task failed or
//! did not finish, 2 bad input, 75 stopped by a signal with the running tasks
//! checkpointed (or tasks interrupted more than `--max-requeues` times): the
//! same command resumes; 130 after a second signal.
mod local;
mod merge;
mod queue;
mod shell;
mod slurm;
mod tasks;

use clap::{Args, Parser};
use std::path::PathBuf;
use std::process::ExitCode;

/// Which runs of which experiment: passed on to the experiment binary.
#[derive(Args, Debug, Clone)]
pub struct Selection {
    /// Experiment: the stem of one of `experiments/*.toml` (its crate and binary), e.g. `resnet-cifar-degradation`.
    pub experiment: String,
    /// Profile of the experiment file: `paper`, `quick` or `smoke`.
    #[arg(long, default_value = "paper")]
    pub profile: String,
    /// Only these runs (as the experiment binary's `--runs`, e.g. `resnet-*`).
    #[arg(long, value_delimiter = ',')]
    pub runs: Option<Vec<String>>,
    /// Seeds, overriding the profile's list (e.g. `1,2,3`).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// Config override for every run (as the experiment binary's `--set`). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Experiment file (default: `experiments/<experiment>.toml`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Results directory (default: `out/<experiment>` in the repository, git-ignored, as the experiment binaries; `results/<experiment>` holds the committed reference results); the profile is a subdirectory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The experiment binary (default: the one beside this binary, e.g. `target/release/<experiment>`).
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// Retrain the runs that finished (or were checkpointed) under other
    /// training code than the binary's (as the experiment binary's flag).
    /// Without it or `--allow-mixed`, a sweep over such runs is refused.
    #[arg(long, conflicts_with = "allow_mixed")]
    pub fresh_stale: bool,
    /// Reuse runs trained by other training code, and merge one report from
    /// runs of several commits (as the experiment binary's flag).
    #[arg(long)]
    pub allow_mixed: bool,
}

impl Selection {
    /// `--seeds` as the experiment binary takes it (`1,2,3`).
    pub fn seeds_arg(&self) -> Option<String> {
        self.seeds
            .as_ref()
            .map(|s| s.iter().map(u64::to_string).collect::<Vec<_>>().join(","))
    }

    /// `--runs` as the experiment binary takes it (`a,b`).
    pub fn runs_arg(&self) -> Option<String> {
        self.runs.as_ref().map(|r| r.join(","))
    }
}

/// `sweep EXPERIMENT --local|--slurm [...]`; `sweep merge EXPERIMENT [...]` merges.
#[derive(Parser, Debug)]
#[command(
    name = "sweep",
    version = records::version::short(),
    long_version = records::version::long_torch_free(),
    after_help = format!(
        "Merge (validate the per-run Parquet files, redraw the combined table, figures and report):\n  sweep merge EXPERIMENT --profile P [--seeds ..] [--set ..] [--out DIR]\n\nA queue for time-boxed allocations (`sweep queue run --help`, `sweep queue merge --help`):\n  sweep queue run --queue FILE --out DIR --budget-s N\n  sweep queue merge --from DIR\n\n{}",
        records::exit::HELP
    )
)]
pub struct Launch {
    #[command(flatten)]
    pub sel: Selection,
    #[command(flatten)]
    pub verbosity: records::progress::Verbosity,
    /// Run the tasks here, as a pool of processes.
    #[arg(long, required_unless_present = "slurm", conflicts_with = "slurm")]
    pub local: bool,
    /// Submit the tasks as one Slurm array job (plus a merge job depending on it).
    #[arg(long)]
    pub slurm: bool,
    /// CIFAR-10 source for the experiment binary (`--data`).
    #[arg(long, env = "REPRO_DATA")]
    pub data: Option<PathBuf>,
    /// Cache of decoded data for the experiment binary (`--data-dir`).
    #[arg(long, env = "REPRO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `--device` of every task (`auto`, `cpu`, `cuda`); `cpu` also turns GPU detection off.
    #[arg(long, default_value = "auto")]
    pub device: records::device::DeviceSpec,
    /// --local: processes at a time (default: one per GPU slot, or 1 on CPU).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// --slurm: at most N tasks of the array job run at once (`--array=...%N`),
    /// to leave a shared cluster room.
    #[arg(long, requires = "slurm")]
    pub max_parallel: Option<std::num::NonZeroUsize>,
    /// --local: GPU indices to use (default: those `nvidia-smi -L` lists).
    #[arg(long, value_delimiter = ',')]
    pub gpus: Option<Vec<String>>,
    /// --local: processes sharing one GPU.
    #[arg(long, default_value_t = 1)]
    pub per_gpu: usize,
    /// --local: CPU threads in all, split evenly among the jobs (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// --local: train only; merge later with `sweep merge`.
    #[arg(long)]
    pub no_merge: bool,
    /// A task interrupted at a checkpoint (exit 75) is started again to resume
    /// at most this many times: --local, a task signalled on its own (the
    /// sweep's own stop signal starts nothing again); --slurm, a task stopped
    /// before its time limit (Slurm's `SLURM_RESTART_COUNT` counts them).
    #[arg(long, default_value_t = 3)]
    pub max_requeues: usize,
    /// --slurm: block until the array and merge jobs are done; fail if a task did not finish.
    #[arg(long, requires = "slurm")]
    pub wait: bool,
    /// --slurm: CPUs of each array task (also its libtorch threads).
    #[arg(long, requires = "slurm")]
    pub cpus_per_task: Option<usize>,
    /// --slurm: extra sbatch argument for both jobs, e.g. `--sbatch-arg=--partition=gpu`,
    /// `--sbatch-arg=--gpus-per-task=1`, `--sbatch-arg=--time=12:00:00`. Repeatable.
    #[arg(long = "sbatch-arg", allow_hyphen_values = true, requires = "slurm")]
    pub sbatch_args: Vec<String>,
}

#[derive(Parser, Debug)]
#[command(
    name = "sweep merge",
    after_help = records::exit::HELP,
    version = records::version::short(),
    long_version = records::version::long_torch_free()
)]
struct MergeCmd {
    #[command(flatten)]
    pub verbosity: records::progress::Verbosity,
    #[command(flatten)]
    sel: Selection,
}

impl Launch {
    /// `--data` and `--data-dir` as the experiment binary takes them, made
    /// absolute (tasks run from other directories, under Slurm on other nodes).
    pub fn data_args(&self) -> anyhow::Result<Vec<std::ffi::OsString>> {
        let mut a = Vec::new();
        for (flag, path) in [("--data", &self.data), ("--data-dir", &self.data_dir)] {
            if let Some(p) = path {
                let abs = std::path::absolute(p).map_err(|e| {
                    anyhow::anyhow!("{}: cannot make the path absolute: {e}", p.display())
                })?;
                a.extend([flag.into(), abs.into_os_string()]);
            }
        }
        Ok(a)
    }
}

/// The experiment must be one of `experiments/*.toml` with its crate: the
/// registry `nightly` takes its list from too.
fn registered(sel: &Selection) -> anyhow::Result<()> {
    records::registry::find(&records::repo_root(), &sel.experiment)
        .map_err(|e| records::exit::BadInput(e.to_string()))?;
    Ok(())
}

fn main() -> ExitCode {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let result = if argv.get(1).is_some_and(|a| a == "queue") {
        argv.remove(1);
        queue::main(argv)
    } else if argv.get(1).is_some_and(|a| a == "merge") {
        argv.remove(1);
        let m = MergeCmd::parse_from(argv);
        m.verbosity.init();
        registered(&m.sel)
            .and_then(|()| tasks::Sweep::new(m.sel))
            .and_then(|s| merge::merge(&s).map(|_| ()))
    } else {
        let l = Launch::parse_from(argv);
        l.verbosity.init();
        registered(&l.sel)
            .and_then(|()| tasks::Sweep::new(l.sel.clone()))
            .and_then(|mut s| {
                s.data_args = l.data_args()?;
                if l.slurm {
                    slurm::submit(&s, &l)
                } else {
                    local::run(&s, &l)
                }
            })
    };
    // One line, whatever the causes' messages contain; the status from the
    // workspace's table (75: stopped at checkpoints, the same command resumes).
    records::exit::finish(result)
}
