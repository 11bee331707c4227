//! The local device pool: the tasks as separate processes of the experiment
//! binary, a fixed number at a time. Separate processes (not threads) because
//! libtorch's device and thread settings are per process, and a crash or a
//! diverged run then takes down only its own task.
use crate::tasks::{summary, Sweep, Task};
use crate::Launch;
use anyhow::{bail, Context, Result};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// GPUs `nvidia-smi -L` lists (none when it is missing or fails).
fn detect_gpus() -> Vec<String> {
    let Ok(o) = Command::new("nvidia-smi").arg("-L").output() else {
        return Vec::new();
    };
    if !o.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with("GPU "))
        .enumerate()
        .map(|(i, _)| i.to_string())
        .collect()
}

struct Running {
    task: Task,
    child: Child,
    slot: usize,
    started: Instant,
}

pub fn run(s: &Sweep, l: &Launch) -> Result<()> {
    let tasks = s.list(true)?;
    let todo: Vec<Task> = tasks.iter().filter(|t| !t.done()).cloned().collect();
    eprintln!(
        "sweep: {} `{}`: {}",
        s.sel.experiment,
        s.sel.profile,
        summary(&tasks)
    );
    if l.per_gpu == 0 || l.jobs == Some(0) {
        bail!("--jobs and --per-gpu must be at least 1");
    }
    let gpus = if l.device == "cpu" {
        Vec::new()
    } else {
        l.gpus.clone().unwrap_or_else(detect_gpus)
    };
    // One slot per process; on GPUs slot i uses GPU i / per_gpu.
    let slots_on_gpus = gpus.len() * l.per_gpu;
    let jobs = match (l.jobs, slots_on_gpus) {
        (Some(j), 0) => j,
        (Some(j), n) => j.min(n),
        (None, 0) => 1,
        (None, n) => n,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (l.threads.unwrap_or(cores) / jobs).max(1);
    let logs = s.sweep_dir().join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("{}: cannot create", logs.display()))?;
    eprintln!(
        "sweep: {jobs} job(s) at a time{}, {threads} thread(s) each; logs in {}",
        if gpus.is_empty() {
            " on CPU".to_string()
        } else {
            format!(" on GPU(s) {} ({} per GPU)", gpus.join(","), l.per_gpu)
        },
        logs.display()
    );

    // Tasks start in order, except one whose `after` task is still queued or
    // running waits for it (and fails with it).
    let mut queue: std::collections::VecDeque<Task> = todo.into_iter().collect();
    let mut running: Vec<Running> = Vec::new();
    let mut free: Vec<usize> = (0..jobs).rev().collect();
    let mut failed: Vec<String> = Vec::new();
    loop {
        while let Some(pos) = queue
            .iter()
            .position(|t| t.after.as_ref().is_some_and(|a| failed.contains(a)))
        {
            if let Some(t) = queue.remove(pos) {
                eprintln!(
                    "[{}] not started: {} failed",
                    t.run_id,
                    t.after.clone().unwrap_or_default()
                );
                failed.push(t.run_id);
            }
        }
        while let Some(slot) = free.pop() {
            let waiting = |a: &String| {
                queue.iter().any(|q| &q.run_id == a) || running.iter().any(|r| &r.task.run_id == a)
            };
            let next = queue
                .iter()
                .position(|t| !t.after.as_ref().is_some_and(waiting));
            let Some(task) = next.and_then(|i| queue.remove(i)) else {
                free.push(slot);
                break;
            };
            let log_path = logs.join(format!("{}.log", task.run_id));
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .with_context(|| format!("{}: cannot open", log_path.display()))?;
            let mut cmd = Command::new(&s.bin);
            cmd.args(s.task_args(&task)).args([
                "--device",
                &l.device,
                "--threads",
                &threads.to_string(),
            ]);
            if let Some(d) = &l.data {
                cmd.arg("--data").arg(std::path::absolute(d)?);
            }
            if let Some(d) = &l.data_dir {
                cmd.arg("--data-dir").arg(std::path::absolute(d)?);
            }
            let gpu = gpus.get(slot / l.per_gpu);
            if let Some(g) = gpu {
                cmd.env("CUDA_VISIBLE_DEVICES", g);
            }
            cmd.stdin(Stdio::null())
                .stdout(log.try_clone().context("log file")?)
                .stderr(log);
            let child = cmd
                .spawn()
                .with_context(|| format!("starting {}", s.bin.display()))?;
            eprintln!(
                "[{}] started ({}{})",
                task.run_id,
                gpu.map_or("cpu".to_string(), |g| format!("GPU {g}")),
                if task.state == "resume" {
                    ", resuming"
                } else {
                    ""
                }
            );
            running.push(Running {
                task,
                child,
                slot,
                started: Instant::now(),
            });
        }
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        let mut k = 0;
        while k < running.len() {
            match running[k].child.try_wait().context("waiting for a task")? {
                None => k += 1,
                Some(status) => {
                    let r = running.swap_remove(k);
                    free.push(r.slot);
                    let secs = r.started.elapsed().as_secs_f64();
                    if status.success() {
                        eprintln!("[{}] finished in {secs:.0} s", r.task.run_id);
                    } else {
                        eprintln!(
                            "[{}] FAILED ({status}) after {secs:.0} s: see {}",
                            r.task.run_id,
                            logs.join(format!("{}.log", r.task.run_id)).display()
                        );
                        failed.push(r.task.run_id);
                    }
                }
            }
        }
    }
    // A task that exits 0 may still not have finished its run (another process held its lock).
    let after = s.list(true)?;
    let unfinished: Vec<String> = after
        .iter()
        .filter(|t| !t.done() && !failed.contains(&t.run_id))
        .map(|t| t.run_id.clone())
        .collect();
    if !l.no_merge && after.iter().any(|t| t.done()) {
        crate::merge::merge(s)?;
    }
    if !failed.is_empty() || !unfinished.is_empty() {
        bail!(
            "{} task(s) failed ({}), {} not finished ({}): logs in {}; run the same command again to retry them",
            failed.len(),
            failed.join(", "),
            unfinished.len(),
            unfinished.join(", "),
            logs.display()
        );
    }
    Ok(())
}
