//! `sweep queue run`: one allocation of a time-boxed machine (a GPU lent for
//! minutes). Takes the queue's entries in order, skips those whose runs are
//! all done in the output folder, and runs the next one's binary (its runs
//! and seeds in one process, so that seeds fuse where the driver finds that
//! faster), one at a time, until the budget is spent. `--grace-s` before the
//! budget's end the running binary is sent SIGTERM: it checkpoints at the end
//! of its logging window and exits 75 (`records::exit`); at the end itself a
//! second signal stops it at once (it then resumes from its last periodic
//! checkpoint). Everything goes to the output folder: results under
//! `OUT/results/<experiment>/<profile>/` (checkpoints, metrics, provenance),
//! the binaries' logs and one line per allocation under `OUT/queue/`. The
//! next allocation, given the same folder, continues where this one stopped.
//!
//! Exit status: 0 every entry done; 75 the budget (or a signal) stopped it
//! with entries left, which the same command with the folder carried back
//! continues; 1 an entry failed (the others still ran) or the output folder
//! outgrew `--max-out-mb`; 2 bad input; 130 a second signal.
use super::file::{Entry, Queue};
use crate::local::{classify, forward, signal_name, Ended, Stop};
use crate::tasks::{Sweep, Task};
use anyhow::{bail, Context, Result};
use records::exit;
use records::say;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// `sweep queue run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// The queue file (e.g. `experiments/queues/gpu.toml`).
    #[arg(long)]
    pub queue: PathBuf,
    /// Output folder: results under `OUT/results/<experiment>/`, logs and a
    /// record of each allocation under `OUT/queue/`. Give the same folder
    /// (carried back in) to continue.
    #[arg(long)]
    pub out: PathBuf,
    /// Wall-clock seconds this allocation may use, counted from the start.
    #[arg(long)]
    pub budget_s: f64,
    /// Seconds before the budget's end at which the running binary is sent
    /// SIGTERM: time for it to finish its logging window, checkpoint and exit.
    #[arg(long, default_value_t = 60.0)]
    pub grace_s: f64,
    /// No entry starts with fewer seconds than this left before that SIGTERM
    /// (loading the data alone takes some).
    #[arg(long, default_value_t = 30.0)]
    pub min_run_s: f64,
    /// The experiment binaries' folder (default: this binary's).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// CIFAR-10 source for the experiment binaries (`--data`).
    #[arg(long, env = "REPRO_DATA")]
    pub data: Option<PathBuf>,
    /// Cache of decoded data (`--data-dir`); outside OUT, which comes back.
    #[arg(long, env = "REPRO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `--device` of the binaries.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// `--threads` of the binaries (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Start no entry while OUT holds more than this many MB (what comes back
    /// from a borrowed machine is limited; checkpoints of runs in progress
    /// are most of it).
    #[arg(long)]
    pub max_out_mb: Option<f64>,
    /// The package's record (`package.json`: commit, binaries), copied to `OUT/queue/`.
    #[arg(long)]
    pub package: Option<PathBuf>,
}

/// The allocation's clock: SIGTERM at `stop_at`, a second signal at `deadline`.
struct Clock {
    start: Instant,
    stop_at: Instant,
    deadline: Instant,
}

impl Clock {
    fn left_before_stop(&self) -> f64 {
        self.stop_at
            .saturating_duration_since(Instant::now())
            .as_secs_f64()
    }
}

/// How an entry fared in this allocation.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// All its runs were done before this allocation.
    AlreadyDone,
    Finished,
    /// Stopped at a checkpoint (the budget's SIGTERM, or a signal).
    Stopped,
    /// Stopped at once by a second signal.
    StoppedAtOnce,
    Failed(String),
    NotStarted(String),
}

impl Outcome {
    fn label(&self) -> String {
        match self {
            Outcome::AlreadyDone => "done before this allocation".into(),
            Outcome::Finished => "finished".into(),
            Outcome::Stopped => "stopped at a checkpoint (resumes next time)".into(),
            Outcome::StoppedAtOnce => {
                "stopped at once (resumes from its last periodic checkpoint)".into()
            }
            Outcome::Failed(why) => format!("FAILED: {why}"),
            Outcome::NotStarted(why) => format!("not started: {why}"),
        }
    }
}

/// One entry's line of the allocation record.
struct EntryRecord {
    entry: Entry,
    outcome: Outcome,
    secs: f64,
    runs: Vec<(String, String)>,
}

/// The state the runner is in between entries.
struct Runner<'a> {
    a: &'a RunArgs,
    queue: &'a Queue,
    clock: Clock,
    stop: Stop,
    out: PathBuf,
    bin_dir: PathBuf,
    /// Why no more entries start (the budget, a signal, the output's size).
    halt: Option<String>,
    /// The output folder outgrew `--max-out-mb`.
    too_big: Option<String>,
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p)
        .with_context(|| format!("{}: cannot make the path absolute", p.display()))
}

fn check_args(a: &RunArgs) -> Result<()> {
    let finite = [a.budget_s, a.grace_s, a.min_run_s]
        .iter()
        .all(|x| x.is_finite() && *x >= 0.0);
    if !finite || a.budget_s <= a.grace_s {
        return Err(exit::BadInput(format!(
            "--budget-s {} must exceed --grace-s {} (both seconds, not negative)",
            a.budget_s, a.grace_s
        ))
        .into());
    }
    if a.max_out_mb.is_some_and(|m| !m.is_finite() || m <= 0.0) {
        return Err(exit::BadInput("--max-out-mb must be a positive number".into()).into());
    }
    Ok(())
}

pub fn run(a: &RunArgs) -> Result<()> {
    let start = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    check_args(a)?;
    let queue = Queue::load(&a.queue)?;
    queue.check_against(&records::repo_root())?;
    let out = absolute(&a.out)?;
    let qdir = out.join("queue");
    std::fs::create_dir_all(qdir.join("logs"))
        .with_context(|| format!("{}: cannot create", qdir.display()))?;
    copy_record(&a.queue, &qdir.join("queue.toml"))?;
    if let Some(p) = &a.package {
        copy_record(p, &qdir.join("package.json"))?;
    }
    let bin_dir = match &a.bin_dir {
        Some(d) => absolute(d)?,
        None => std::env::current_exe()
            .context("locating the sweep binary")?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let secs = |s: f64| Duration::from_secs_f64(s);
    let mut r = Runner {
        a,
        queue: &queue,
        clock: Clock {
            start,
            stop_at: start + secs(a.budget_s - a.grace_s),
            deadline: start + secs(a.budget_s),
        },
        stop: Stop::install()?,
        out,
        bin_dir,
        halt: None,
        too_big: None,
    };
    say!(
        "queue: {} entries of {} ({}); budget {:.0} s (SIGTERM to the running binary {:.0} s before its end); output in {}",
        queue.entries.len(),
        a.queue.display(),
        queue.header.description,
        a.budget_s,
        a.grace_s,
        r.out.display()
    );
    let records: Vec<EntryRecord> = queue.entries.iter().map(|e| r.entry(e)).collect();
    let device = device_label(&a.device);
    write_record(&r, &records, started_unix, &device)?;
    finish(&r, &records)
}

/// Copies a file the next steps read back (the queue, the package record).
fn copy_record(from: &Path, to: &Path) -> Result<()> {
    if std::fs::canonicalize(from).ok() == std::fs::canonicalize(to).ok() {
        return Ok(());
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

impl Runner<'_> {
    /// Runs one entry (or says why not) and records how far its runs got.
    fn entry(&mut self, e: &Entry) -> EntryRecord {
        let t0 = Instant::now();
        let mut rec = EntryRecord {
            entry: e.clone(),
            outcome: Outcome::NotStarted(String::new()),
            secs: 0.0,
            runs: Vec::new(),
        };
        // Once stopping, later entries are not even listed: each listing
        // starts a binary, and the allocation's time is up.
        if let Some(h) = &self.halt {
            rec.outcome = Outcome::NotStarted(h.clone());
            say!("[queue] {}: {}", e.label(), rec.outcome.label());
            return rec;
        }
        let sweep = match self.sweep(e) {
            Ok(s) => s,
            Err(err) => {
                rec.outcome = Outcome::Failed(format!("{err:#}"));
                say!("[queue] {}: FAILED: {err:#}", e.label());
                return rec;
            }
        };
        rec.outcome = match sweep.list(true) {
            Err(err) => Outcome::Failed(format!("{err:#}")),
            Ok(tasks) if tasks.iter().all(Task::done) => Outcome::AlreadyDone,
            Ok(_) => match self.why_not_start() {
                Some(why) => Outcome::NotStarted(why),
                None => self.launch(e, &sweep),
            },
        };
        rec.secs = t0.elapsed().as_secs_f64();
        rec.runs = progress(&sweep);
        say!("[queue] {}: {}", e.label(), rec.outcome.label());
        for (id, state) in &rec.runs {
            say!("[queue]   {id}: {state}");
        }
        rec
    }

    /// The entry as a sweep selection writing into `OUT/results/<experiment>`.
    fn sweep(&self, e: &Entry) -> Result<Sweep> {
        let bin = self.bin_dir.join(&e.experiment);
        if !bin.is_file() {
            return Err(exit::BadInput(format!(
                "experiment binary {} not found (--bin-dir {})",
                bin.display(),
                self.bin_dir.display()
            ))
            .into());
        }
        let sel = crate::Selection {
            experiment: e.experiment.clone(),
            profile: e.profile.clone(),
            runs: Some(e.runs.clone()),
            seeds: Some(e.seeds.clone()),
            sets: e.set.clone(),
            config: None,
            out: Some(self.out.join("results").join(&e.experiment)),
            bin: Some(bin),
            fresh_stale: false,
            allow_mixed: false,
        };
        let mut s = Sweep::new(sel)?;
        s.data_args = self.data_args()?;
        Ok(s)
    }

    fn data_args(&self) -> Result<Vec<OsString>> {
        let mut v = Vec::new();
        for (flag, p) in [("--data", &self.a.data), ("--data-dir", &self.a.data_dir)] {
            if let Some(p) = p {
                v.extend([flag.into(), absolute(p)?.into_os_string()]);
            }
        }
        Ok(v)
    }

    /// Why no entry starts now: the allocation is stopping, or the output
    /// folder is already as large as may come back.
    fn why_not_start(&mut self) -> Option<String> {
        self.note_signals(None);
        let left = self.clock.left_before_stop();
        if self.halt.is_none() && left < self.a.min_run_s {
            self.halt = Some(format!(
                "{left:.0} s left before the stop, under --min-run-s {}",
                self.a.min_run_s
            ));
        }
        if let (None, Some(max)) = (&self.halt, self.a.max_out_mb) {
            let mb = dir_size(&self.out) as f64 / 1e6;
            if mb > max {
                let why = format!(
                    "{} holds {mb:.1} MB, over --max-out-mb {max}",
                    self.out.display()
                );
                self.too_big = Some(why.clone());
                self.halt = Some(why);
            }
        }
        self.halt.clone()
    }

    /// Signals to the runner itself: passed on to the running binary (if
    /// any), and no entry starts after them. Returns how many were passed on.
    fn note_signals(&mut self, child: Option<&Child>) -> usize {
        let arrived = self.stop.arrived();
        for &sig in &arrived {
            say!(
                "[queue] {} received: {}no entry starts",
                signal_name(sig),
                if child.is_some() {
                    "passed on to the running binary; "
                } else {
                    ""
                }
            );
            if let Some(c) = child {
                forward(c, sig);
            }
            self.halt = Some(format!("stopped by {}", signal_name(sig)));
        }
        if child.is_some() {
            arrived.len()
        } else {
            0
        }
    }

    /// Starts the entry's binary and watches it until it exits.
    fn launch(&mut self, e: &Entry, s: &Sweep) -> Outcome {
        match self
            .spawn(e, s)
            .and_then(|mut child| self.supervise(&mut child))
        {
            Err(err) => Outcome::Failed(format!("{err:#}")),
            Ok((status, signalled)) => match classify(status, signalled) {
                Ended::Finished => Outcome::Finished,
                Ended::Interrupted => {
                    // Interrupted without a signal from here (one sent to the
                    // binary alone): the allocation stops too, as it would.
                    self.halt
                        .get_or_insert_with(|| "the running binary was interrupted".into());
                    Outcome::Stopped
                }
                Ended::StoppedAtOnce => Outcome::StoppedAtOnce,
                Ended::Failed => {
                    Outcome::Failed(format!("{status}: see {}", self.log(e).display()))
                }
            },
        }
    }

    fn log(&self, e: &Entry) -> PathBuf {
        let i = self
            .queue
            .entries
            .iter()
            .position(|x| x == e)
            .map_or(0, |i| i + 1);
        self.out
            .join("queue/logs")
            .join(format!("{i:02}-{}-{}.log", e.experiment, e.profile))
    }

    fn spawn(&self, e: &Entry, s: &Sweep) -> Result<Child> {
        let log_path = self.log(e);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("{}: cannot open", log_path.display()))?;
        let mut cmd = Command::new(&s.bin);
        cmd.args(s.common_args())
            .args(["--runs", &e.runs_arg(), "--seeds", &e.seeds_arg()])
            .args(["--no-estimate", "--no-report", "--device", &self.a.device])
            .args(["--fuse-seeds", self.queue.fuse_seeds(e)])
            .args(&s.data_args);
        if let Some(k) = e.fuse_max {
            cmd.args(["--fuse-max", &k.to_string()]);
        }
        if let Some(t) = self.a.threads {
            cmd.args(["--threads", &t.to_string()]);
        }
        // A group of its own: a signal to the runner's group reaches the
        // runner alone, which passes it on once (twice would skip the checkpoint).
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("log file")?)
            .stderr(log);
        say!(
            "[queue] {}: started ({:.0} s before the stop; log {})",
            e.label(),
            self.clock.left_before_stop(),
            log_path.display()
        );
        cmd.spawn()
            .with_context(|| format!("starting {}", s.bin.display()))
    }

    /// Waits for the binary: SIGTERM at the stop time, a second at the
    /// deadline, SIGKILL shortly after. Returns its status and whether it was
    /// signalled from here.
    fn supervise(&mut self, child: &mut Child) -> Result<(ExitStatus, bool)> {
        // Signals sent to the binary, from here or passed on: the first makes
        // it checkpoint; a second, at the deadline, stops it at once.
        let mut sent = 0;
        loop {
            if let Some(status) = child.try_wait().context("waiting for the binary")? {
                return Ok((status, sent > 0));
            }
            sent += self.note_signals(Some(child));
            let now = Instant::now();
            if sent == 0 && now >= self.clock.stop_at {
                say!(
                    "[queue] budget: SIGTERM to the running binary at {:.0} s; it checkpoints and stops",
                    self.clock.start.elapsed().as_secs_f64()
                );
                forward(child, libc::SIGTERM);
                sent = 1;
                self.halt
                    .get_or_insert_with(|| "the budget is spent".into());
            } else if sent == 1 && now >= self.clock.deadline {
                say!("[queue] budget's end: a second SIGTERM, the binary stops at once");
                forward(child, libc::SIGTERM);
                sent = 2;
            } else if now >= self.clock.deadline + Duration::from_secs(10) {
                let _ = child.kill();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Each run of the entry and how far it is, from its directory.
fn progress(s: &Sweep) -> Vec<(String, String)> {
    let Ok(tasks) = s.list(true) else {
        return Vec::new();
    };
    tasks
        .iter()
        .map(|t| {
            let dir = records::run_dir::RunDir::new(&s.profile_dir(), &t.run_id);
            (t.run_id.clone(), super::run_progress(&dir))
        })
        .collect()
}

/// The total size of the files under `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// The machine, as the record names it: the GPU `nvidia-smi` lists when the
/// binaries may use one, else the CPU.
fn device_label(device: &str) -> String {
    let gpu = (device != "cpu")
        .then(|| {
            Command::new("nvidia-smi")
                .args(["--query-gpu=name", "--format=csv,noheader"])
                .output()
                .ok()
        })
        .flatten()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .filter(|l| !l.is_empty());
    gpu.unwrap_or_else(|| format!("cpu ({})", records::provenance::cpu_model()))
}

/// Appends this allocation's line to `OUT/queue/allocations.jsonl`.
fn write_record(r: &Runner, records: &[EntryRecord], started: u64, device: &str) -> Result<()> {
    use std::io::Write;
    let entries: Vec<serde_json::Value> = records
        .iter()
        .map(|x| {
            serde_json::json!({
                "experiment": x.entry.experiment, "profile": x.entry.profile,
                "runs": x.entry.runs, "seeds": x.entry.seeds, "outcome": x.outcome.label(),
                "secs": (x.secs * 10.0).round() / 10.0,
                "progress": x.runs.iter().map(|(id, s)| serde_json::json!({"run_id": id, "state": s})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let line = serde_json::json!({
        "started_at_unix": started,
        "budget_s": r.a.budget_s,
        "ran_s": (r.clock.start.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        "device": device,
        "sweep": records::version::short(),
        "out_bytes": dir_size(&r.out),
        "stopped": r.halt,
        "entries": entries,
    });
    let path = r.out.join("queue/allocations.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    writeln!(f, "{line}").with_context(|| format!("{}: cannot write", path.display()))
}

/// The allocation's status (see the module's doc).
fn finish(r: &Runner, records: &[EntryRecord]) -> Result<()> {
    let count = |f: fn(&Outcome) -> bool| records.iter().filter(|x| f(&x.outcome)).count();
    let failed: Vec<String> = records
        .iter()
        .filter(|x| matches!(x.outcome, Outcome::Failed(_)))
        .map(|x| x.entry.label())
        .collect();
    let left = count(|o| {
        matches!(
            o,
            Outcome::Stopped | Outcome::StoppedAtOnce | Outcome::NotStarted(_)
        )
    });
    let done = count(|o| matches!(o, Outcome::AlreadyDone | Outcome::Finished));
    let size = dir_size(&r.out);
    say!(
        "queue: {done} of {} entries done, {left} left, {} failed; {} holds {:.1} MB",
        records.len(),
        failed.len(),
        r.out.display(),
        size as f64 / 1e6
    );
    let again = format!(
        "run again with {} carried back in to continue; merge with `sweep queue merge --from {}`",
        r.out.display(),
        r.out.display()
    );
    if !failed.is_empty() {
        bail!(
            "{} entr(ies) failed: {}; logs in {}",
            failed.len(),
            failed.join("; "),
            r.out.join("queue/logs").display()
        );
    }
    if let Some(big) = &r.too_big {
        bail!("{big}: {left} entr(ies) not started; merge what is there, then continue in a new folder or raise the limit");
    }
    if r.stop.received > 1 {
        return Err(exit::SecondSignal(format!("{left} entr(ies) left; {again}")).into());
    }
    if left > 0 {
        let why = r.halt.clone().unwrap_or_default();
        return Err(exit::Interrupted(format!("{why}: {left} entr(ies) left; {again}")).into());
    }
    Ok(())
}
