//! The task list, as the experiment binary resolves it (`--list-runs`), and the
//! arguments every invocation of that binary shares.
use crate::Selection;
use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One task: one run (name x seed) of the grid, as the experiment binary
/// lists it (`--list-runs`) through the type it writes the list with.
pub use records::run_dir::ListedRun as Task;
use records::run_dir::RunListState;

/// A sweep: the selection with every path made absolute, since tasks run from
/// other processes (and, under Slurm, possibly other nodes sharing the file system).
pub struct Sweep {
    pub sel: Selection,
    pub bin: PathBuf,
    pub out: PathBuf,
    /// Where the binary puts this selection's results (`--print-profile-dir`:
    /// the profile, or a directory of its own for another precision or
    /// `--set`/`--config` changes).
    profile_dir: PathBuf,
    /// `--data`/`--data-dir` of a launch, passed to `--list-runs` too: a run
    /// finished on other data is then `stale`, not `done` (a merge has none).
    pub data_args: Vec<OsString>,
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p)
        .with_context(|| format!("{}: cannot make the path absolute", p.display()))
}

impl Sweep {
    pub fn new(mut sel: Selection) -> Result<Sweep> {
        let bin = match &sel.bin {
            Some(b) => absolute(b)?,
            None => std::env::current_exe()
                .context("locating the sweep binary")?
                .with_file_name(&sel.experiment),
        };
        if !bin.is_file() {
            return Err(records::exit::BadInput(format!(
                "experiment binary {} not found: build it (`cargo build --release -p {}`) or pass --bin",
                bin.display(),
                sel.experiment
            ))
            .into());
        }
        let out = match &sel.out {
            Some(o) => absolute(o)?,
            None => records::repo_root().join("out").join(&sel.experiment),
        };
        if let Some(c) = &sel.config {
            sel.config = Some(absolute(c)?);
        }
        let mut sweep = Sweep {
            sel,
            bin,
            out,
            profile_dir: PathBuf::new(),
            data_args: Vec::new(),
        };
        sweep.profile_dir = sweep.ask_profile_dir()?;
        Ok(sweep)
    }

    pub fn profile_dir(&self) -> PathBuf {
        self.profile_dir.clone()
    }

    /// The binary's own answer to where the selection's results go, so that
    /// the sweep never looks elsewhere than the tasks write.
    fn ask_profile_dir(&self) -> Result<PathBuf> {
        let o = Command::new(&self.bin)
            .arg("--print-profile-dir")
            .args(self.common_args())
            .output()
            .with_context(|| format!("running {}", self.bin.display()))?;
        if !o.status.success() {
            bail!(
                "{} --print-profile-dir failed: {}",
                self.bin.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        Ok(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
    }

    /// Where the sweep keeps its own files (logs, Slurm scripts and manifests).
    pub fn sweep_dir(&self) -> PathBuf {
        self.profile_dir().join("sweep")
    }

    /// Arguments of every invocation: profile, results, config, overrides.
    pub fn common_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![
            "--profile".into(),
            self.sel.profile.clone().into(),
            "--out".into(),
            self.out.clone().into(),
        ];
        if let Some(c) = &self.sel.config {
            a.extend(["--config".into(), c.clone().into()]);
        }
        for s in &self.sel.sets {
            a.extend(["--set".into(), s.into()]);
        }
        if self.sel.allow_mixed {
            a.push("--allow-mixed".into());
        }
        a
    }

    /// The selected tasks (`runs = true`: restricted by `--runs`; otherwise the whole grid of the seeds).
    pub fn list(&self, runs: bool) -> Result<Vec<Task>> {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--list-runs")
            .args(self.common_args())
            .args(&self.data_args);
        if self.sel.fresh_stale {
            cmd.arg("--fresh-stale");
        }
        if let Some(s) = self.sel.seeds_arg() {
            cmd.args(["--seeds", &s]);
        }
        if let (true, Some(r)) = (runs, self.sel.runs_arg()) {
            cmd.args(["--runs", &r]);
        }
        let o = cmd
            .output()
            .with_context(|| format!("running {}", self.bin.display()))?;
        if !o.status.success() {
            let err = String::from_utf8_lossy(&o.stderr);
            let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            bail!(
                "{} --list-runs: {}",
                self.sel.experiment,
                last.trim().trim_start_matches("error: ")
            );
        }
        let mut tasks = Vec::new();
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            if line.trim().is_empty() {
                continue;
            }
            let t: Task = serde_json::from_str(line).with_context(|| {
                format!(
                    "{} --list-runs printed `{line}`: is the binary older than this sweep? rebuild it",
                    self.bin.display()
                )
            })?;
            // The manifest is tab-separated and read by a shell script.
            if t.run.is_empty() || t.run.chars().any(char::is_whitespace) {
                bail!("run name `{}`: names with spaces cannot be swept", t.run);
            }
            tasks.push(t);
        }
        let stale: Vec<String> = tasks
            .iter()
            .filter(|t| t.state == RunListState::Stale)
            .map(|t| match &t.why {
                Some(why) => format!("{} ({why})", t.run_id),
                None => t.run_id.clone(),
            })
            .collect();
        if !stale.is_empty() {
            bail!(
                "{} run(s) under {} are stale for {}: {}. Retrain them with --fresh-stale, or reuse them with --allow-mixed",
                stale.len(),
                self.profile_dir.display(),
                self.bin.display(),
                stale.join(", ")
            );
        }
        Ok(tasks)
    }

    /// Arguments of the task that trains `t` (and draws no report).
    pub fn task_args(&self, t: &Task) -> Vec<OsString> {
        let mut a = self.common_args();
        a.extend([
            "--runs".into(),
            t.run.clone().into(),
            "--seeds".into(),
            t.seed.to_string().into(),
            "--no-estimate".into(),
            "--no-report".into(),
        ]);
        if self.sel.fresh_stale {
            a.push("--fresh-stale".into());
        }
        a
    }
}

/// The tasks still to run grouped into waves: a task runs in a later wave than
/// the task it starts from (`after`), when that one is still to run too.
pub fn waves(todo: &[Task]) -> Vec<Vec<Task>> {
    fn wave(t: &Task, todo: &[Task], depth: usize) -> usize {
        match t
            .after
            .as_ref()
            .and_then(|a| todo.iter().find(|u| &u.run_id == a))
        {
            // `depth` bounds a (config-invalid) cycle.
            Some(dep) if depth < todo.len() => 1 + wave(dep, todo, depth + 1),
            _ => 0,
        }
    }
    let mut out: Vec<Vec<Task>> = Vec::new();
    for t in todo {
        let w = wave(t, todo, 0);
        if out.len() <= w {
            out.resize(w + 1, Vec::new());
        }
        out[w].push(t.clone());
    }
    out
}

/// Counts for the opening line of a sweep.
pub fn summary(tasks: &[Task]) -> String {
    let done = tasks.iter().filter(|t| t.done()).count();
    let resume = tasks
        .iter()
        .filter(|t| t.state == RunListState::Resume)
        .count();
    format!(
        "{} task(s): {done} done (skipped), {} to run ({resume} resuming from checkpoints)",
        tasks.len(),
        tasks.len() - done
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, after: Option<&str>) -> Task {
        Task {
            run: id.trim_end_matches("-s1").into(),
            seed: 1,
            run_id: id.into(),
            state: RunListState::New,
            after: after.map(String::from),
            why: None,
        }
    }

    #[test]
    fn runs_starting_from_another_run_wait_for_it() {
        // VGG: B and D start from A; A-LRN does not; E starts from a finished run.
        let todo = vec![
            task("vgg-b-s1", Some("vgg-a-s1")),
            task("vgg-a-s1", None),
            task("vgg-a-lrn-s1", None),
            task("vgg-d-s1", Some("vgg-a-s1")),
            task("vgg-e-s1", Some("done-elsewhere-s1")),
        ];
        let w = waves(&todo);
        let ids: Vec<Vec<&str>> = w
            .iter()
            .map(|v| v.iter().map(|t| t.run_id.as_str()).collect())
            .collect();
        assert_eq!(
            ids,
            vec![
                vec!["vgg-a-s1", "vgg-a-lrn-s1", "vgg-e-s1"],
                vec!["vgg-b-s1", "vgg-d-s1"]
            ]
        );
        // A chain makes three waves.
        let chain = vec![
            task("c-s1", Some("b-s1")),
            task("b-s1", Some("a-s1")),
            task("a-s1", None),
        ];
        assert_eq!(waves(&chain).len(), 3);
    }
}
