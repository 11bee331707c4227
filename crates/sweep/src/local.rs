//! The local device pool: the tasks as separate processes of the experiment
//! binary, a fixed number at a time. Separate processes (not threads) because
//! libtorch's device and thread settings are per process, and a crash or a
//! diverged run then takes down only its own task.
//!
//! Stopping: each task runs in a process group of its own, so that Ctrl-C at
//! the terminal reaches the sweep alone, which passes SIGINT or SIGTERM (and
//! SIGHUP, as SIGTERM) on to every running task exactly once, starts nothing
//! more and waits for them: each checkpoints and exits 75 (`records::exit`),
//! then the sweep exits 75 too, and the same command resumes. A second signal
//! is passed on too (the tasks stop at once) and the sweep exits 130. A task
//! that exits 75 while the sweep is not stopping (a signal sent to it alone)
//! is started again, resuming, up to `--max-requeues` times.
use crate::tasks::{summary, Sweep, Task};
use crate::Launch;
use anyhow::{bail, Context, Result};
use records::exit;
use records::run_dir::RunListState;
use records::say;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::collections::{BTreeMap, VecDeque};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// GPUs `nvidia-smi -L` lists (none when it is missing or fails).
fn detect_gpus() -> Vec<String> {
    let Ok(o) = Command::new("nvidia-smi").arg("-L").output() else {
        return Vec::new();
    };
    if !o.status.success() {
        return Vec::new();
    }
    gpus_listed(&String::from_utf8_lossy(&o.stdout))
}

/// The GPU indices in `nvidia-smi -L`'s output (a `GPU i: ...` line each; MIG
/// instances are indented lines of their GPU). Apart from `detect_gpus` so
/// that the GPU branch is tested on machines without one.
fn gpus_listed(nvidia_smi_l: &str) -> Vec<String> {
    nvidia_smi_l
        .lines()
        .filter(|l| l.starts_with("GPU "))
        .enumerate()
        .map(|(i, _)| i.to_string())
        .collect()
}

/// Processes at a time and threads each: one slot per process; on GPUs
/// `per_gpu` slots a GPU (slot i uses GPU i / per_gpu), at most `--jobs`;
/// on CPU `--jobs` (default 1). `--threads` (default: all cores) is split
/// evenly among them, at least one each.
fn slots(
    jobs: Option<usize>,
    gpus: usize,
    per_gpu: usize,
    threads: Option<usize>,
    cores: usize,
) -> (usize, usize) {
    let jobs = match (jobs, gpus * per_gpu) {
        (Some(j), 0) => j,
        (Some(j), n) => j.min(n),
        (None, 0) => 1,
        (None, n) => n,
    };
    (jobs, (threads.unwrap_or(cores) / jobs).max(1))
}

struct Running {
    task: Task,
    child: Child,
    slot: usize,
    started: Instant,
}

/// The stop signals the sweep has received (their default action, ending the
/// sweep at once and orphaning its tasks, replaced).
pub(crate) struct Stop {
    signals: signal_hook::iterator::Signals,
    pub(crate) received: usize,
}

impl Stop {
    pub(crate) fn install() -> Result<Stop> {
        let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .context("installing signal handlers")?;
        Ok(Stop {
            signals,
            received: 0,
        })
    }

    /// The signals that arrived since the last call.
    pub(crate) fn arrived(&mut self) -> Vec<i32> {
        let new: Vec<i32> = self.signals.pending().collect();
        self.received += new.len();
        new
    }

    pub(crate) fn stopping(&self) -> bool {
        self.received > 0
    }
}

/// Passes a stop signal on to a task (SIGHUP as SIGTERM: the experiment
/// binaries checkpoint on SIGINT, SIGTERM and SIGUSR1).
pub(crate) fn forward(child: &Child, sig: i32) {
    let sig = if sig == SIGHUP { SIGTERM } else { sig };
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) has no memory effects; `pid` is our own child, not
        // yet reaped (`try_wait` has not returned its status), so it cannot
        // have been reused by another process.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

pub(crate) fn signal_name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// How a task's process ended.
pub(crate) enum Ended {
    Finished,
    /// Checkpointed and stopped (exit 75), or, while the sweep stops, ended by
    /// the signal it was passed before it could checkpoint (nothing trained yet).
    Interrupted,
    /// Exit 130 while the sweep stops: a second signal ended it at once.
    StoppedAtOnce,
    Failed,
}

pub(crate) fn classify(status: ExitStatus, stopping: bool) -> Ended {
    match status.code() {
        Some(0) => Ended::Finished,
        Some(c) if c == i32::from(exit::INTERRUPTED) => Ended::Interrupted,
        Some(c) if stopping && c == i32::from(exit::SECOND_SIGNAL) => Ended::StoppedAtOnce,
        None if stopping && matches!(status.signal(), Some(SIGINT | SIGTERM)) => Ended::Interrupted,
        _ => Ended::Failed,
    }
}

/// The pool: what is queued, running, and how the tasks that ended did.
struct Pool<'a> {
    s: &'a Sweep,
    l: &'a Launch,
    gpus: Vec<String>,
    threads: usize,
    logs: PathBuf,
    queue: VecDeque<Task>,
    running: Vec<Running>,
    free: Vec<usize>,
    failed: Vec<String>,
    /// Checkpointed and not started again (the sweep stopped, or `--max-requeues`).
    interrupted: Vec<String>,
    /// Never started: the sweep stopped, or the task they start from was interrupted.
    not_started: Vec<String>,
    requeues: BTreeMap<String, usize>,
    stop: Stop,
}

impl Pool<'_> {
    fn log(&self, t: &Task) -> PathBuf {
        self.logs.join(format!("{}.log", t.run_id))
    }

    /// Tasks whose `after` task failed (or was interrupted) never start.
    fn drop_blocked(&mut self) {
        while let Some(pos) = self.queue.iter().position(|t| {
            t.after
                .as_ref()
                .is_some_and(|a| self.failed.contains(a) || self.interrupted.contains(a))
        }) {
            let Some(t) = self.queue.remove(pos) else {
                break;
            };
            let after = t.after.clone().unwrap_or_default();
            if self.failed.contains(&after) {
                say!("[{}] not started: {after} failed", t.run_id);
                self.failed.push(t.run_id);
            } else {
                say!("[{}] not started: {after} was interrupted", t.run_id);
                self.not_started.push(t.run_id);
            }
        }
    }

    /// Starts queued tasks in free slots, in order, except one whose `after`
    /// task is still queued or running waits for it.
    fn start_free(&mut self) -> Result<()> {
        while let Some(slot) = self.free.pop() {
            let waiting = |a: &String| {
                self.queue.iter().any(|q| &q.run_id == a)
                    || self.running.iter().any(|r| &r.task.run_id == a)
            };
            let next = self
                .queue
                .iter()
                .position(|t| !t.after.as_ref().is_some_and(waiting));
            let Some(task) = next.and_then(|i| self.queue.remove(i)) else {
                self.free.push(slot);
                break;
            };
            let r = self.spawn(task, slot)?;
            self.running.push(r);
        }
        Ok(())
    }

    fn spawn(&self, task: Task, slot: usize) -> Result<Running> {
        let (s, l) = (self.s, self.l);
        let log_path = self.log(&task);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("{}: cannot open", log_path.display()))?;
        let mut cmd = Command::new(&s.bin);
        cmd.args(s.task_args(&task)).args([
            "--device",
            &l.device.to_string(),
            "--threads",
            &self.threads.to_string(),
        ]);
        cmd.args(&s.data_args);
        let gpu = self.gpus.get(slot / l.per_gpu);
        if let Some(g) = gpu {
            cmd.env("CUDA_VISIBLE_DEVICES", g);
        }
        // A process group of its own: Ctrl-C at the terminal reaches the sweep
        // alone, which passes it on once (a task signalled twice would stop
        // without its checkpoint).
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("log file")?)
            .stderr(log);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", s.bin.display()))?;
        say!(
            "[{}] started ({}{})",
            task.run_id,
            gpu.map_or("cpu".to_string(), |g| format!("GPU {g}")),
            if task.state == RunListState::Resume {
                ", resuming"
            } else {
                ""
            }
        );
        Ok(Running {
            task,
            child,
            slot,
            started: Instant::now(),
        })
    }

    /// Passes the signals that arrived on to the running tasks.
    fn pass_on_signals(&mut self) {
        for sig in self.stop.arrived() {
            say!(
                "sweep: {} received: passed on to {} running task(s), which checkpoint and stop; no task starts{}",
                signal_name(sig),
                self.running.len(),
                if self.stop.received == 1 {
                    " (a second signal stops them at once, without a checkpoint)"
                } else {
                    ""
                }
            );
            for r in &self.running {
                forward(&r.child, sig);
            }
        }
    }

    /// Collects the tasks that ended.
    fn reap(&mut self) -> Result<()> {
        let mut k = 0;
        while k < self.running.len() {
            match self.running[k]
                .child
                .try_wait()
                .context("waiting for a task")?
            {
                None => k += 1,
                Some(status) => {
                    let r = self.running.swap_remove(k);
                    self.free.push(r.slot);
                    self.ended(r, status);
                }
            }
        }
        Ok(())
    }

    fn ended(&mut self, r: Running, status: ExitStatus) {
        let secs = r.started.elapsed().as_secs_f64();
        let id = r.task.run_id.clone();
        match classify(status, self.stop.stopping()) {
            Ended::Finished => say!("[{id}] finished in {secs:.0} s"),
            Ended::Interrupted if self.stop.stopping() => {
                say!("[{id}] interrupted after {secs:.0} s (checkpointed; the same command resumes it)");
                self.interrupted.push(id);
            }
            Ended::Interrupted => self.requeue(r.task, secs),
            Ended::StoppedAtOnce => {
                say!("[{id}] stopped at once after {secs:.0} s (second signal): it resumes from its last periodic checkpoint");
                self.interrupted.push(id);
            }
            Ended::Failed => {
                say!(
                    "[{id}] FAILED ({status}) after {secs:.0} s: see {}",
                    self.log(&r.task).display()
                );
                self.failed.push(id);
            }
        }
    }

    /// A task that checkpointed and stopped on its own signal: queued again
    /// (first, to resume), at most `--max-requeues` times.
    fn requeue(&mut self, mut task: Task, secs: f64) {
        let id = task.run_id.clone();
        let max = self.l.max_requeues;
        let n = self.requeues.entry(id.clone()).or_default();
        if *n >= max {
            say!("[{id}] interrupted after {secs:.0} s (checkpointed), not requeued: requeued {max} time(s) already (--max-requeues {max}); the same command resumes it");
            self.interrupted.push(id);
            return;
        }
        *n += 1;
        say!("[{id}] interrupted after {secs:.0} s (checkpointed): requeued to resume ({n} of at most {max})");
        task.state = RunListState::Resume;
        self.queue.push_front(task);
    }
}

pub fn run(s: &Sweep, l: &Launch) -> Result<()> {
    let tasks = s.list(true)?;
    let todo: VecDeque<Task> = tasks.iter().filter(|t| !t.done()).cloned().collect();
    say!(
        "sweep: {} `{}`: {}",
        s.sel.experiment,
        s.sel.profile,
        summary(&tasks)
    );
    if l.per_gpu == 0 || l.jobs == Some(0) {
        return Err(exit::BadInput("--jobs and --per-gpu must be at least 1".into()).into());
    }
    let gpus = if l.device == records::device::DeviceSpec::Cpu {
        Vec::new()
    } else {
        l.gpus.clone().unwrap_or_else(detect_gpus)
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (jobs, threads) = slots(l.jobs, gpus.len(), l.per_gpu, l.threads, cores);
    let logs = s.sweep_dir().join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("{}: cannot create", logs.display()))?;
    say!(
        "sweep: {jobs} job(s) at a time{}, {threads} thread(s) each; logs in {}",
        if gpus.is_empty() {
            " on CPU".to_string()
        } else {
            format!(" on GPU(s) {} ({} per GPU)", gpus.join(","), l.per_gpu)
        },
        logs.display()
    );
    let mut pool = Pool {
        s,
        l,
        gpus,
        threads,
        logs,
        queue: todo,
        running: Vec::new(),
        free: (0..jobs).rev().collect(),
        failed: Vec::new(),
        interrupted: Vec::new(),
        not_started: Vec::new(),
        requeues: BTreeMap::new(),
        stop: Stop::install()?,
    };
    loop {
        pool.pass_on_signals();
        pool.drop_blocked();
        if !pool.stop.stopping() {
            pool.start_free()?;
        }
        if pool.running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        pool.reap()?;
    }
    if pool.stop.stopping() {
        return stopped(&mut pool);
    }
    finish(&mut pool)
}

/// After a stop signal: what was interrupted and what never started, and the
/// status (75, 130 after a second signal; 1 when a task also failed). No merge.
fn stopped(pool: &mut Pool) -> Result<()> {
    let left: Vec<String> = pool.queue.drain(..).map(|t| t.run_id).collect();
    pool.not_started.extend(left);
    let msg = format!(
        "stopped by a signal: {} task(s) checkpointed and stopped ({}), {} not started ({}){}; \
         run the same command again to resume them",
        pool.interrupted.len(),
        pool.interrupted.join(", "),
        pool.not_started.len(),
        pool.not_started.join(", "),
        if pool.failed.is_empty() {
            String::new()
        } else {
            format!(
                ", {} failed ({}): logs in {}",
                pool.failed.len(),
                pool.failed.join(", "),
                pool.logs.display()
            )
        }
    );
    if !pool.failed.is_empty() {
        bail!("{msg}");
    }
    if pool.stop.received > 1 {
        return Err(exit::SecondSignal(msg).into());
    }
    Err(exit::Interrupted(msg).into())
}

/// The pool ran out of tasks: merge what finished, then say what did not.
fn finish(pool: &mut Pool) -> Result<()> {
    let s = pool.s;
    // A task that exits 0 may still not have finished its run (another process held its lock).
    let after = s.list(true)?;
    let unfinished: Vec<String> = after
        .iter()
        .filter(|t| {
            !t.done()
                && ![&pool.failed, &pool.interrupted, &pool.not_started]
                    .iter()
                    .any(|l| l.contains(&t.run_id))
        })
        .map(|t| t.run_id.clone())
        .collect();
    if !pool.l.no_merge && after.iter().any(|t| t.done()) {
        crate::merge::merge(s)?;
    } else if pool.l.no_merge {
        say!("sweep: merge with `{}`", crate::merge::hint(s, None));
    }
    // A signal during the merge (which the sweep's handlers held back).
    pool.pass_on_signals();
    if pool.stop.stopping() {
        return stopped(pool);
    }
    if !pool.failed.is_empty() || !unfinished.is_empty() {
        bail!(
            "{} task(s) failed ({}), {} not finished ({}): logs in {}; run the same command again to retry them",
            pool.failed.len(),
            pool.failed.join(", "),
            unfinished.len(),
            unfinished.join(", "),
            pool.logs.display()
        );
    }
    if !pool.interrupted.is_empty() {
        return Err(exit::Interrupted(format!(
            "{} task(s) interrupted at a checkpoint and not requeued (--max-requeues {}): {}{}; run the same command again to resume them",
            pool.interrupted.len(),
            pool.l.max_requeues,
            pool.interrupted.join(", "),
            if pool.not_started.is_empty() {
                String::new()
            } else {
                format!("; not started: {}", pool.not_started.join(", "))
            }
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The GPU branch on any machine: what `nvidia-smi -L` prints on a node
    /// of two GPUs (the second split by MIG), and no GPU.
    #[test]
    fn the_gpus_nvidia_smi_lists_set_the_slots() {
        let listed = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-aaaa)\n\
                      GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-bbbb)\n  \
                      MIG 3g.40gb     Device  0: (UUID: MIG-cccc)\n";
        let gpus = gpus_listed(listed);
        assert_eq!(gpus, ["0", "1"]);
        assert!(gpus_listed("").is_empty());
        // Two GPUs, two processes each: four at a time, 16 cores split.
        assert_eq!(slots(None, gpus.len(), 2, None, 16), (4, 4));
        // --jobs caps the GPU slots, never raises them.
        assert_eq!(slots(Some(3), 2, 2, None, 16), (3, 5));
        assert_eq!(slots(Some(9), 2, 1, Some(8), 16), (2, 4));
        // No GPU: one job unless --jobs, threads never below one.
        assert_eq!(slots(None, 0, 1, None, 2), (1, 2));
        assert_eq!(slots(Some(4), 0, 1, Some(2), 2), (4, 1));
    }
}
