//! Merging a sweep: every finished run's Parquet file is read and checked
//! before anything is written, so a corrupted file stops the merge with the
//! earlier combined table, figures and report untouched; then the experiment
//! binary redraws them (`--plot-only`, which writes the combined Parquet file
//! atomically) and the combined table is read back and checked.
use crate::tasks::{Sweep, Task};
use anyhow::{anyhow, bail, Context, Result};
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

/// The command that merges this sweep, for the user to run: with every flag
/// that selects its results (`--set`, `--config`, `--seeds`, `--out`, ...),
/// since a merge without them looks at another profile directory.
pub fn hint(s: &Sweep, bin: Option<&Path>) -> String {
    let mut words: Vec<OsString> = vec!["merge".into(), s.sel.experiment.clone().into()];
    if let Some(b) = bin {
        words.extend(["--bin".into(), b.into()]);
    }
    words.extend(s.common_args());
    if let Some(seeds) = s.sel.seeds_arg() {
        words.extend(["--seeds".into(), seeds.into()]);
    }
    let mut line = String::from("scripts/sweep");
    for w in &words {
        line.push(' ');
        line.push_str(&crate::shell::word(w));
    }
    line
}

/// Merges; returns the number of rows of the combined table.
pub fn merge(s: &Sweep) -> Result<usize> {
    let pdir = s.profile_dir();
    // The whole grid of the seeds: the report covers every run of the profile.
    let tasks = s.list(false)?;
    let (rows, merged) = check_finished(&pdir, &tasks)?;
    redraw(s)?;
    let combined = pdir.join(records::metrics::COMBINED_FILE);
    // The finished runs' rows, all of them (a run still training elsewhere
    // is drawn too, as far as it has got, and is not counted here).
    let done: std::collections::BTreeSet<&str> = tasks
        .iter()
        .filter(|t| t.done())
        .map(|t| t.run_id.as_str())
        .collect();
    let n = records::metrics::read_parquet(&combined)
        .map_err(|e| anyhow!("{e}"))?
        .iter()
        .filter(|r| done.contains(r.run_id.as_str()))
        .count();
    if n != rows {
        bail!(
            "{}: {n} rows after the merge, expected {rows} from {merged} run(s)",
            combined.display()
        );
    }
    records::say!(
        "sweep merge: {merged} run(s), {rows} rows -> {}",
        combined.display()
    );
    Ok(rows)
}

/// Reads and checks every finished run's Parquet file (before anything is
/// written); says which runs are not finished. Returns (rows, runs) read.
fn check_finished(pdir: &Path, tasks: &[Task]) -> Result<(usize, usize)> {
    let mut rows = 0;
    let mut merged = 0;
    let mut missing = Vec::new();
    for t in tasks {
        if !t.done() {
            missing.push(t.run_id.as_str());
            continue;
        }
        let dir = records::run_dir::RunDir::new(pdir, &t.run_id);
        let path = dir.metrics();
        let r = records::metrics::read_parquet(&path).map_err(|e| anyhow!("{e}"))?;
        if r.is_empty() {
            bail!("{}: no rows", path.display());
        }
        check_complete(&dir, &r)?;
        if let Some(x) = r.iter().find(|x| x.run_id != t.run_id) {
            bail!(
                "{}: holds rows of run `{}`, expected `{}`",
                path.display(),
                x.run_id,
                t.run_id
            );
        }
        rows += r.len();
        merged += 1;
    }
    if merged == 0 {
        bail!(
            "no finished runs under {}: nothing to merge",
            pdir.join("runs").display()
        );
    }
    if !missing.is_empty() {
        records::say!(
            "sweep merge: {} run(s) not finished, left out of the report (drawn as far as they have got if training now): {}",
            missing.len(),
            missing.join(", ")
        );
    }
    Ok((rows, merged))
}

/// The experiment binary's `--plot-only`: the combined table, figures and
/// report, redrawn from the runs' files; what it says is passed on.
fn redraw(s: &Sweep) -> Result<()> {
    let mut cmd = Command::new(&s.bin);
    cmd.arg("--plot-only").args(s.common_args());
    if let Some(seeds) = s.sel.seeds_arg() {
        cmd.args(["--seeds", &seeds]);
    }
    let o = cmd
        .output()
        .with_context(|| format!("running {}", s.bin.display()))?;
    let said = String::from_utf8_lossy(&o.stderr);
    if !said.trim_end().is_empty() {
        records::say!("{}", said.trim_end());
    }
    if !o.status.success() {
        let last = said.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        bail!(
            "{} --plot-only: {}",
            s.sel.experiment,
            last.trim().trim_start_matches("error: ")
        );
    }
    Ok(())
}

/// A finished run's file holds every row its config makes the training loop
/// write, up to the iteration its `status.json` says it ended at (the
/// experiment binary's own check, `records::run_dir::check_complete`). A valid
/// Parquet file cut to fewer rows, or with rows deleted, would otherwise be
/// merged (and drawn with an earlier test error as the final one).
pub(crate) fn check_complete(
    dir: &records::run_dir::RunDir,
    rows: &[records::metrics::MetricRow],
) -> Result<()> {
    if dir.read_status().is_none() {
        bail!("{}: missing or unreadable", dir.status().display());
    }
    let train = records::run_dir::saved_train_config(dir).with_context(|| {
        format!(
            "{}: the run's config cannot be read",
            dir.config().display()
        )
    })?;
    records::run_dir::check_complete(dir, &train, rows).map_err(|e| anyhow!("{e}"))
}
