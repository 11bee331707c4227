//! Merging a sweep: every finished run's Parquet file is read and checked
//! before anything is written, so a corrupted file stops the merge with the
//! earlier combined table, figures and report untouched; then the experiment
//! binary redraws them (`--plot-only`, which writes the combined Parquet file
//! atomically) and the combined table is read back and checked.
use crate::tasks::Sweep;
use anyhow::{anyhow, bail, Context, Result};
use std::process::Command;

/// Merges; returns the number of rows of the combined table.
pub fn merge(s: &Sweep) -> Result<usize> {
    let pdir = s.profile_dir();
    // The whole grid of the seeds: the report covers every run of the profile.
    let tasks = s.list(false)?;
    let mut rows = 0;
    let mut merged = 0;
    let mut missing = Vec::new();
    for t in &tasks {
        if !t.done() {
            missing.push(t.run_id.as_str());
            continue;
        }
        let dir = repro::driver::RunDir::new(&pdir, &t.run_id);
        let path = dir.metrics();
        let r = repro::metrics::read_parquet(&path).map_err(|e| anyhow!("{e}"))?;
        if r.is_empty() {
            bail!("{}: no rows", path.display());
        }
        check_ends_where_status_says(&dir, &r)?;
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
        eprintln!(
            "sweep merge: {} run(s) not finished, left out of the report (drawn as far as they have got if training now): {}",
            missing.len(),
            missing.join(", ")
        );
    }
    let mut cmd = Command::new(&s.bin);
    cmd.arg("--plot-only").args(s.common_args());
    if let Some(seeds) = &s.sel.seeds {
        cmd.args(["--seeds", seeds]);
    }
    let o = cmd
        .output()
        .with_context(|| format!("running {}", s.bin.display()))?;
    eprint!("{}", String::from_utf8_lossy(&o.stderr));
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        bail!(
            "{} --plot-only: {}",
            s.sel.experiment,
            last.trim().trim_start_matches("error: ")
        );
    }
    let combined = pdir.join(repro::metrics::COMBINED_FILE);
    // The finished runs' rows, all of them (a run still training elsewhere
    // is drawn too, as far as it has got, and is not counted here).
    let done: std::collections::BTreeSet<&str> = tasks
        .iter()
        .filter(|t| t.done())
        .map(|t| t.run_id.as_str())
        .collect();
    let n = repro::metrics::read_parquet(&combined)
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
    eprintln!(
        "sweep merge: {merged} run(s), {rows} rows -> {}",
        combined.display()
    );
    Ok(rows)
}

/// A finished run's file holds rows up to the iteration its `status.json`
/// says it ended at. A valid Parquet file cut to fewer rows (or a stale one)
/// would otherwise be drawn with an earlier test error as the final one.
fn check_ends_where_status_says(
    dir: &repro::driver::RunDir,
    rows: &[repro::metrics::MetricRow],
) -> Result<()> {
    use repro::driver::RunState;
    let Some(status) = dir.read_status() else {
        bail!("{}: missing or unreadable", dir.status().display());
    };
    if !matches!(status.status, RunState::Completed | RunState::Diverged) {
        return Ok(());
    }
    let last = rows.last().map_or(-1, |r| r.iteration);
    if last != status.iterations {
        bail!(
            "{}: its last row is iteration {last}, but {} says the run {} at iteration {}: the file is cut or stale; rerun the run with --fresh",
            dir.metrics().display(),
            dir.status().display(),
            status.status,
            status.iterations
        );
    }
    Ok(())
}
