//! Slurm: ONE array job for the tasks still to do, and a merge job after it.
//!
//! Each submission gets a directory `<profile>/sweep/slurm-<time>-<pid>/` with
//! `manifest.tsv` (array index -> run, seed), `task.sh` (reads its line of the
//! manifest, runs that one run into the shared results directory), `merge.sh`,
//! the job ids and the logs. Before a time limit Slurm sends SIGUSR1: the run
//! checkpoints and exits 75 (interrupted, resumable) and the task requeues
//! itself, at most `--max-requeues` times. Tasks are `--requeue`d on node failure: the
//! experiment binary resumes a run from its checkpoint, skips a finished one and
//! refuses a run another process holds the lock of, so a retry is always safe.
//! Finished runs are left out of the manifest, so resubmitting the same sweep
//! submits only what is left (nothing at all when everything is done).
use crate::shell::quote;
use crate::tasks::{summary, waves, Sweep, Task};
use crate::Launch;
use anyhow::{bail, Context, Result};
use records::say;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Seconds before a task's time limit at which Slurm signals it (SIGUSR1 to
/// the batch shell): enough for one training step and a checkpoint of the
/// largest nets here on a GPU, well under any sensible time limit.
const WARN_BEFORE_LIMIT_S: u32 = 120;

fn write_script(path: &Path, text: &str) -> Result<()> {
    records::io::write_bytes_atomic(path, text.as_bytes())?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("{}: chmod", path.display()))
}

/// `sbatch --parsable ...` -> the job id.
fn sbatch(args: &[String], script: &Path) -> Result<String> {
    let o = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .arg(script)
        .output()
        .map_err(|e| {
            anyhow::anyhow!(
                "sbatch: {e} (is Slurm installed? scripts/slurm-local starts a one-node cluster)"
            )
        })?;
    if !o.status.success() {
        bail!(
            "sbatch {}: {}",
            script.display(),
            String::from_utf8_lossy(&o.stderr).trim().replace('\n', " ")
        );
    }
    let out = String::from_utf8_lossy(&o.stdout);
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let id = out.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch printed `{}`, expected a job id", out.trim());
    }
    Ok(id)
}

/// Copies the experiment binary into the submission's directory (its libtorch
/// is found through the binary's absolute RUNPATH, so the copy runs anywhere
/// the original does).
fn copy_binary(bin: &Path, dir: &Path) -> Result<PathBuf> {
    let name = bin
        .file_name()
        .with_context(|| format!("{}: not a file name", bin.display()))?;
    let copy = dir.join(name);
    std::fs::copy(bin, &copy)
        .with_context(|| format!("copying {} to {}", bin.display(), copy.display()))?;
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("{}: chmod", copy.display()))?;
    Ok(copy)
}

pub fn submit(s: &Sweep, l: &Launch) -> Result<()> {
    let tasks = s.list(true)?;
    let todo: Vec<&Task> = tasks.iter().filter(|t| !t.done()).collect();
    say!(
        "sweep: {} `{}`: {}",
        s.sel.experiment,
        s.sel.profile,
        summary(&tasks)
    );
    if todo.is_empty() {
        say!("sweep: nothing to submit");
        if l.wait {
            crate::merge::merge(s)?;
        }
        return Ok(());
    }
    let dir = submission_dir(s)?;
    // Runs that start from another run's weights go into a later array job
    // that waits for the earlier one (`afterok`); indices are contiguous per wave.
    let waves = waves(&todo.iter().map(|t| (*t).clone()).collect::<Vec<_>>());
    let manifest_path = write_manifest(&dir, &waves)?;
    // The tasks run a copy of the experiment binary taken now: a rebuild during
    // the sweep (`cargo build` replaces target/release/<experiment>) never
    // changes the code that a queued or requeued task runs.
    let bin = copy_binary(&s.bin, &dir)?;
    let task_path = dir.join("task.sh");
    write_script(&task_path, &task_script(s, l, &manifest_path, &bin)?)?;
    let merge_path = dir.join("merge.sh");
    write_script(&merge_path, &merge_script(s, &bin)?)?;
    let jobs = Jobs {
        dir: &dir,
        name: format!("{}-{}", s.sel.experiment, s.sel.profile),
    };
    let array_id = jobs.submit_waves(l, &waves, &task_path, &manifest_path)?;
    let merge = jobs.submit_merge(l, &array_id, &merge_path);
    if !l.wait {
        let merge_id = merge?;
        say!(
            "sweep: merge job {merge_id} runs after it (log {}); or run `{}`",
            dir.join("merge.out").display(),
            crate::merge::hint(s, Some(&bin))
        );
        return Ok(());
    }
    // With --wait, sbatch returns once the merge job (after the array) is over.
    check_all_finished(s, &dir)?;
    merge.with_context(|| {
        format!(
            "the merge job failed: see {}",
            dir.join("merge.out").display()
        )
    })?;
    say!(
        "sweep: all {} task(s) done and merged: {}",
        tasks.len(),
        s.profile_dir().join("report.md").display()
    );
    Ok(())
}

/// A directory of its own for this submission: `<sweep dir>/slurm-<time>-<pid>`.
fn submission_dir(s: &Sweep) -> Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let dir = s
        .sweep_dir()
        .join(format!("slurm-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    Ok(dir)
}

/// `manifest.tsv`: array index -> run, seed, run id and state, the waves'
/// tasks in order (so that each wave's indices are contiguous).
fn write_manifest(dir: &Path, waves: &[Vec<Task>]) -> Result<PathBuf> {
    let mut manifest = String::from("index\trun\tseed\trun_id\tstate\n");
    for (i, t) in waves.iter().flatten().enumerate() {
        manifest.push_str(&format!(
            "{i}\t{}\t{}\t{}\t{}\n",
            t.run, t.seed, t.run_id, t.state
        ));
    }
    let path = dir.join("manifest.tsv");
    records::io::write_bytes_atomic(&path, manifest.as_bytes())?;
    Ok(path)
}

/// The array task's script (`slurm/task.sh`, its placeholders filled in).
const TASK_TEMPLATE: &str = include_str!("slurm/task.sh");

/// `task.sh`: the template with the manifest, the binary's copy, the
/// arguments every task shares and the requeue settings written in.
fn task_script(s: &Sweep, l: &Launch, manifest: &Path, bin: &Path) -> Result<String> {
    let mut fixed: Vec<String> = s.common_args().iter().map(|a| quote(a)).collect::<Vec<_>>();
    fixed.extend(["--no-estimate", "--no-report"].map(String::from));
    fixed.extend(["--device".into(), quote(OsStr::new(&l.device.to_string()))]);
    fixed.extend(s.data_args.iter().map(|a| quote(a)));
    fill(
        TASK_TEMPLATE,
        &[
            ("MANIFEST", &quote(manifest.as_os_str())),
            ("WARN_S", &WARN_BEFORE_LIMIT_S.to_string()),
            ("MAX_REQUEUES", &l.max_requeues.to_string()),
            ("BIN", &quote(bin.as_os_str())),
            ("FIXED", &fixed.join(" ")),
        ],
    )
}

/// `template` with each `{{NAME}}` replaced by the value `values` gives it, in
/// one pass (a value is never searched for placeholders). A placeholder that
/// `values` does not name is an error, so a template and its filling cannot
/// drift apart unnoticed.
fn fill(template: &str, values: &[(&str, &str)]) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .with_context(|| format!("template: `{{{{` without `}}}}`: {}", &rest[start..]))?;
        let name = &after[..end];
        let value = values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .with_context(|| format!("template: no value for the placeholder {{{{{name}}}}}"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `merge.sh`: this sweep binary's `merge` of the same selection, with the
/// binary's copy.
fn merge_script(s: &Sweep, bin: &Path) -> Result<String> {
    let exe = std::env::current_exe().context("locating the sweep binary")?;
    let mut merge_args: Vec<String> = vec![
        quote(OsStr::new(&s.sel.experiment)),
        "--bin".into(),
        quote(bin.as_os_str()),
    ];
    merge_args.extend(s.common_args().iter().map(|a| quote(a)));
    if let Some(seeds) = s.sel.seeds_arg() {
        merge_args.extend(["--seeds".into(), quote(OsStr::new(&seeds))]);
    }
    Ok(format!(
        "#!/usr/bin/env bash\n# Written by `sweep`: after the array job, merge what finished.\nset -euo pipefail\nexec {} merge {}\n",
        quote(exe.as_os_str()),
        merge_args.join(" ")
    ))
}

/// The jobs of one submission: their directory (scripts, logs, job ids) and name.
struct Jobs<'a> {
    dir: &'a Path,
    name: String,
}

impl Jobs<'_> {
    /// One array job per wave, each after the one before (`afterok`); the
    /// job ids go to `array-job-id`. Returns the last array job's id.
    fn submit_waves(
        &self,
        l: &Launch,
        waves: &[Vec<Task>],
        task_path: &Path,
        manifest_path: &Path,
    ) -> Result<String> {
        let mut first = 0;
        let mut array_id = String::new();
        let mut ids: Vec<String> = Vec::new();
        for wave in waves {
            let after = (!array_id.is_empty()).then_some(array_id.as_str());
            let args = self.array_args(l, first..first + wave.len(), after);
            array_id = sbatch(&args, task_path)?;
            say!(
                "sweep: submitted array job {array_id} ({} task(s){}); manifest {}",
                wave.len(),
                if ids.is_empty() {
                    String::new()
                } else {
                    format!(", after job {}", ids.join(", "))
                },
                manifest_path.display()
            );
            ids.push(array_id.clone());
            first += wave.len();
        }
        records::io::write_bytes_atomic(&self.dir.join("array-job-id"), ids.join("\n").as_bytes())?;
        Ok(array_id)
    }

    /// sbatch arguments of the array job over the manifest's `indices`,
    /// waiting for the job `after` when there is one.
    fn array_args(
        &self,
        l: &Launch,
        indices: std::ops::Range<usize>,
        after: Option<&str>,
    ) -> Vec<String> {
        // `%N`: Slurm runs at most N tasks of the array at once (--max-parallel).
        let throttle = l.max_parallel.map_or(String::new(), |n| format!("%{n}"));
        let mut args = vec![
            format!("--array={}-{}{throttle}", indices.start, indices.end - 1),
            "--requeue".into(),
            format!("--signal=B:USR1@{WARN_BEFORE_LIMIT_S}"),
            "--open-mode=append".into(),
            format!("--job-name={}", self.name),
            format!("--output={}/task-%a.out", self.dir.display()),
        ];
        if let Some(id) = after {
            args.push(format!("--dependency=afterok:{id}"));
            args.push("--kill-on-invalid-dep=yes".into());
        }
        if let Some(c) = l.cpus_per_task {
            args.push(format!("--cpus-per-task={c}"));
        }
        args.extend(l.sbatch_args.iter().cloned());
        args
    }

    /// The merge job, after the last array job however it ends (`afterany`);
    /// with `--wait`, sbatch returns when it is over.
    fn submit_merge(&self, l: &Launch, array_id: &str, merge_path: &Path) -> Result<String> {
        let mut args = vec![
            format!("--dependency=afterany:{array_id}"),
            "--kill-on-invalid-dep=yes".into(),
            format!("--job-name={}-merge", self.name),
            format!("--output={}/merge.out", self.dir.display()),
        ];
        args.extend(l.sbatch_args.iter().cloned());
        if l.wait {
            args.push("--wait".into());
        }
        sbatch(&args, merge_path)
    }
}

/// After `--wait`: every selected task finished, else an error naming those
/// that did not and where their logs are.
fn check_all_finished(s: &Sweep, dir: &Path) -> Result<()> {
    let unfinished: Vec<String> = s
        .list(true)?
        .into_iter()
        .filter(|t| !t.done())
        .map(|t| t.run_id)
        .collect();
    if !unfinished.is_empty() {
        bail!(
            "{} task(s) did not finish ({}): logs {}/task-*.out; submit the same sweep again to retry them",
            unfinished.len(),
            unfinished.join(", "),
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_each_placeholder_once_and_refuses_an_unknown_one() {
        let filled = fill("a={{A}} b={{B}} a={{A}}", &[("A", "{{B}}"), ("B", "2")]).unwrap();
        // A value is not searched for placeholders.
        assert_eq!(filled, "a={{B}} b=2 a={{B}}");
        let e = fill("x={{MISSING}}", &[("A", "1")]).unwrap_err();
        assert!(e.to_string().contains("{{MISSING}}"), "{e}");
        assert!(fill("x={{A", &[("A", "1")]).is_err());
    }

    /// Every placeholder of `task.sh` is one `task_script` fills in, and the
    /// filled script is valid bash.
    #[test]
    fn the_task_template_fills_into_a_bash_script() {
        let values = [
            ("MANIFEST", "'/tmp/a b/manifest.tsv'"),
            ("WARN_S", "120"),
            ("MAX_REQUEUES", "3"),
            ("BIN", "'/tmp/exp'"),
            ("FIXED", "'--profile' 'smoke' --no-estimate --no-report"),
        ];
        let script = fill(TASK_TEMPLATE, &values).unwrap();
        assert!(!script.contains("{{"), "{script}");
        for (name, value) in values {
            assert!(TASK_TEMPLATE.contains(&format!("{{{{{name}}}}}")), "{name}");
            assert!(script.contains(value), "{value}");
        }
        assert!(script.contains("--signal=B:USR1@120"), "{script}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("task.sh");
        std::fs::write(&path, &script).unwrap();
        let o = Command::new("bash").arg("-n").arg(&path).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}
