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
use crate::tasks::{summary, waves, Sweep, Task};
use crate::Launch;
use anyhow::{bail, Context, Result};
use records::say;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// Seconds before a task's time limit at which Slurm signals it (SIGUSR1 to
/// the batch shell): enough for one training step and a checkpoint of the
/// largest nets here on a GPU, well under any sensible time limit.
const WARN_BEFORE_LIMIT_S: u32 = 120;

/// Single-quotes a word for bash.
pub(crate) fn quote(s: &OsStr) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"))
}

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
fn copy_binary(bin: &Path, dir: &Path) -> Result<std::path::PathBuf> {
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
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let dir = s
        .sweep_dir()
        .join(format!("slurm-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;

    // Runs that start from another run's weights go into a later array job
    // that waits for the earlier one (`afterok`); indices are contiguous per wave.
    let waves = waves(&todo.iter().map(|t| (*t).clone()).collect::<Vec<_>>());
    let todo: Vec<&Task> = waves.iter().flatten().collect();
    let mut manifest = String::from("index\trun\tseed\trun_id\tstate\n");
    for (i, t) in todo.iter().enumerate() {
        manifest.push_str(&format!(
            "{i}\t{}\t{}\t{}\t{}\n",
            t.run, t.seed, t.run_id, t.state
        ));
    }
    let manifest_path = dir.join("manifest.tsv");
    records::io::write_bytes_atomic(&manifest_path, manifest.as_bytes())?;

    // The tasks run a copy of the experiment binary taken now: a rebuild during
    // the sweep (`cargo build` replaces target/release/<experiment>) never
    // changes the code that a queued or requeued task runs.
    let bin = copy_binary(&s.bin, &dir)?;
    let mut fixed: Vec<String> = s.common_args().iter().map(|a| quote(a)).collect::<Vec<_>>();
    fixed.extend(["--no-estimate", "--no-report"].map(String::from));
    fixed.extend(["--device".into(), quote(OsStr::new(&l.device))]);
    fixed.extend(s.data_args.iter().map(|a| quote(a)));
    let task_sh = format!(
        r#"#!/usr/bin/env bash
# Written by `sweep`: array task i trains line i of the manifest (one run, one seed).
set -euo pipefail
manifest={manifest}
line=$(awk -F '\t' -v i="$SLURM_ARRAY_TASK_ID" '$1 == i' "$manifest")
if [ -z "$line" ]; then echo "sweep task: no index $SLURM_ARRAY_TASK_ID in $manifest" >&2; exit 2; fi
IFS=$'\t' read -r _ run seed run_id _ <<<"$line"
threads=${{SLURM_CPUS_PER_TASK:-${{SLURM_CPUS_ON_NODE:-}}}}
echo "sweep task $SLURM_ARRAY_TASK_ID: $run_id on $(hostname) (restart count ${{SLURM_RESTART_COUNT:-0}})" >&2
# Slurm signals this shell (--signal=B:USR1@{warn_s}) before the time limit: the
# run checkpoints where it is and exits 75 (interrupted, resumable: see
# docs/exit-codes.md), and the task puts itself back in the queue, where it
# resumes from that checkpoint, at most {max_requeues} time(s) (--max-requeues).
# SIGTERM (scancel) is passed on.
requeue=0
trap 'requeue=1; kill -USR1 "$child" 2>/dev/null || true' USR1
trap 'kill -TERM "$child" 2>/dev/null || true' TERM
{bin} {fixed} --runs "$run" --seeds "$seed" ${{threads:+--threads "$threads"}} &
child=$!
set +e
wait "$child"; rc=$?
# `wait` returns early when a trapped signal arrives: wait for the run itself.
while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
set -e
restarts=${{SLURM_RESTART_COUNT:-0}}
if [ "$rc" = 75 ] && [ "$requeue" = 1 ]; then
  if [ "$restarts" -lt {max_requeues} ]; then
    echo "sweep task $SLURM_ARRAY_TASK_ID: time limit near, interrupted at a checkpoint; requeueing (restart $((restarts + 1)) of at most {max_requeues})" >&2
    scontrol requeue "${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
    exit 0
  fi
  echo "sweep task $SLURM_ARRAY_TASK_ID: interrupted at a checkpoint, not requeued: restarted $restarts time(s) already (--max-requeues {max_requeues}); submit the same sweep again to resume it" >&2
elif [ "$rc" = 75 ]; then
  echo "sweep task $SLURM_ARRAY_TASK_ID: interrupted at a checkpoint by a signal; submit the same sweep again to resume it" >&2
fi
exit "$rc"
"#,
        warn_s = WARN_BEFORE_LIMIT_S,
        max_requeues = l.max_requeues,
        manifest = quote(manifest_path.as_os_str()),
        bin = quote(bin.as_os_str()),
        fixed = fixed.join(" "),
    );
    let task_path = dir.join("task.sh");
    write_script(&task_path, &task_sh)?;

    let exe = std::env::current_exe().context("locating the sweep binary")?;
    let mut merge_args: Vec<String> = vec![
        quote(OsStr::new(&s.sel.experiment)),
        "--bin".into(),
        quote(bin.as_os_str()),
    ];
    merge_args.extend(s.common_args().iter().map(|a| quote(a)));
    if let Some(seeds) = &s.sel.seeds {
        merge_args.extend(["--seeds".into(), quote(OsStr::new(seeds))]);
    }
    let merge_sh = format!(
        "#!/usr/bin/env bash\n# Written by `sweep`: after the array job, merge what finished.\nset -euo pipefail\nexec {} merge {}\n",
        quote(exe.as_os_str()),
        merge_args.join(" ")
    );
    let merge_path = dir.join("merge.sh");
    write_script(&merge_path, &merge_sh)?;

    let name = format!("{}-{}", s.sel.experiment, s.sel.profile);
    let mut first = 0;
    let mut array_id = String::new();
    let mut ids = Vec::new();
    for wave in &waves {
        // `%N`: Slurm runs at most N tasks of the array at once (--max-parallel).
        let throttle = l.max_parallel.map_or(String::new(), |n| format!("%{n}"));
        let mut array_args = vec![
            format!("--array={first}-{}{throttle}", first + wave.len() - 1),
            "--requeue".into(),
            format!("--signal=B:USR1@{WARN_BEFORE_LIMIT_S}"),
            "--open-mode=append".into(),
            format!("--job-name={name}"),
            format!("--output={}/task-%a.out", dir.display()),
        ];
        if !array_id.is_empty() {
            array_args.push(format!("--dependency=afterok:{array_id}"));
            array_args.push("--kill-on-invalid-dep=yes".into());
        }
        if let Some(c) = l.cpus_per_task {
            array_args.push(format!("--cpus-per-task={c}"));
        }
        array_args.extend(l.sbatch_args.iter().cloned());
        array_id = sbatch(&array_args, &task_path)?;
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
    records::io::write_bytes_atomic(&dir.join("array-job-id"), ids.join("\n").as_bytes())?;

    let mut merge_sbatch = vec![
        format!("--dependency=afterany:{array_id}"),
        "--kill-on-invalid-dep=yes".into(),
        format!("--job-name={name}-merge"),
        format!("--output={}/merge.out", dir.display()),
    ];
    merge_sbatch.extend(l.sbatch_args.iter().cloned());
    if l.wait {
        merge_sbatch.push("--wait".into());
    }
    let merge = sbatch(&merge_sbatch, &merge_path);
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
