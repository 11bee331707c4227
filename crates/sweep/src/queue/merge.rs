//! `sweep queue merge`: a queue's output folder (carried back from the
//! machine that trained it) folded into the results directory. Every run
//! directory under `FROM/results/<experiment>/<profile>/runs/` is checked
//! first (its metrics read, a finished run's rows complete, the training code
//! and data of the profile's runs one), and nothing is written unless all
//! pass. Then each goes to `<results>/<experiment>/<profile>/runs/<run id>/`
//! whole (checkpoint included, so a partial run can also be resumed there),
//! with `queue-merge.json` beside it saying where it came from, how far it got
//! and on which device (its own `provenance.json` records the device of each
//! stretch of training). A run already there is replaced only when it came
//! from a queue merge too and is not further along. Finally the experiment
//! binary redraws each profile's report with `--plot-only --draw-partial`:
//! partial runs are drawn as far as they got and listed as partial.
use super::file::{Entry, Queue};
use crate::tasks::Sweep;
use anyhow::{anyhow, Context, Result};
use records::exit::BadInput;
use records::provenance::Provenance;
use records::run_dir::{RunDir, RunState};
use records::say;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The file a merged run carries: where it came from and how far it got.
pub const MARKER: &str = "queue-merge.json";

/// `sweep queue merge`.
#[derive(clap::Args, Debug, Clone)]
pub struct MergeArgs {
    /// The output folder of `sweep queue run` (its `queue/queue.toml` says what it holds).
    #[arg(long)]
    pub from: PathBuf,
    /// Results directory: runs go to `<results>/<experiment>/<profile>/runs/`
    /// (default: `results/` in the repository).
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// The experiment binaries that redraw the reports (default: this binary's folder).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Accept a profile whose runs come from several training codes (as the
    /// experiment binaries' flag); without it such a merge is refused.
    #[arg(long)]
    pub allow_mixed: bool,
}

/// The entries of one profile directory: one report to redraw.
struct Group {
    entry: Entry,
    seeds: Vec<u64>,
}

/// What happens to one run directory.
#[derive(Debug, PartialEq)]
enum Action {
    Copy,
    Replace,
    Unchanged,
    /// Not copied: nothing to merge (nothing logged yet).
    Skip(String),
}

struct Planned {
    id: String,
    src: PathBuf,
    dst: PathBuf,
    action: Action,
    progress: String,
    device: String,
}

/// How far a run is, comparably: ended runs beat stopped ones, then iterations.
fn rank(dir: &RunDir, rows: &[records::metrics::MetricRow]) -> (u8, i64) {
    match dir.read_status() {
        Some(s) if s.status == RunState::Interrupted => (1, s.iterations),
        Some(s) => (2, s.iterations),
        None => (0, rows.last().map_or(0, |r| r.iteration)),
    }
}

fn groups(queue: &Queue) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for e in &queue.entries {
        let same = |g: &&mut Group| {
            g.entry.experiment == e.experiment
                && g.entry.profile == e.profile
                && g.entry.set == e.set
        };
        match out.iter_mut().find(same) {
            Some(g) => {
                for s in &e.seeds {
                    if !g.seeds.contains(s) {
                        g.seeds.push(*s);
                    }
                }
            }
            None => out.push(Group {
                entry: e.clone(),
                seeds: e.seeds.clone(),
            }),
        }
    }
    out
}

fn selection(g: &Group, out: PathBuf, bin_dir: &Path, allow_mixed: bool) -> crate::Selection {
    crate::Selection {
        experiment: g.entry.experiment.clone(),
        profile: g.entry.profile.clone(),
        runs: None,
        seeds: Some(g.seeds.clone()),
        sets: g.entry.set.clone(),
        config: None,
        out: Some(out),
        bin: Some(bin_dir.join(&g.entry.experiment)),
        fresh_stale: false,
        allow_mixed,
    }
}

pub fn merge(a: &MergeArgs) -> Result<()> {
    let from = std::path::absolute(&a.from).context("--from")?;
    let qfile = from.join("queue/queue.toml");
    if !qfile.is_file() {
        return Err(BadInput(format!(
            "{}: not found: is {} the output folder of `sweep queue run`?",
            qfile.display(),
            from.display()
        ))
        .into());
    }
    let queue = Queue::load(&qfile)?;
    let results = match &a.results {
        Some(r) => std::path::absolute(r).context("--results")?,
        None => records::repo_root().join("results"),
    };
    let bin_dir = match &a.bin_dir {
        Some(d) => std::path::absolute(d).context("--bin-dir")?,
        None => std::env::current_exe()?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let mut plans = Vec::new();
    let mut refused = Vec::new();
    for g in groups(&queue) {
        let exp = &g.entry.experiment;
        let src = Sweep::new(selection(
            &g,
            from.join("results").join(exp),
            &bin_dir,
            a.allow_mixed,
        ))?;
        let dst = Sweep::new(selection(&g, results.join(exp), &bin_dir, a.allow_mixed))?;
        let planned = plan_group(&src.profile_dir(), &dst.profile_dir(), &mut refused);
        refused.extend(one_code_and_data(
            &dst.profile_dir(),
            &planned,
            a.allow_mixed,
        ));
        plans.push((dst, planned));
    }
    if !refused.is_empty() {
        return Err(BadInput(format!("nothing merged: {}", refused.join("; "))).into());
    }
    for (dst, planned) in &plans {
        for p in planned {
            apply(p, &from)?;
        }
        if planned
            .iter()
            .any(|p| matches!(p.action, Action::Copy | Action::Replace))
            || dst
                .profile_dir()
                .join(records::metrics::COMBINED_FILE)
                .exists()
        {
            redraw(dst)?;
        }
    }
    Ok(())
}

/// Checks each run directory of `src` and decides what to do with it;
/// refusals are added to `refused`.
fn plan_group(src: &Path, dst: &Path, refused: &mut Vec<String>) -> Vec<Planned> {
    let mut ids: Vec<String> = std::fs::read_dir(src.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    ids.sort();
    let mut out = Vec::new();
    for id in ids {
        let (s, d) = (RunDir::new(src, &id), RunDir::new(dst, &id));
        match plan_run(&id, &s, &d) {
            Ok(p) => out.push(p),
            Err(e) => refused.push(format!("{e:#}")),
        }
    }
    out
}

fn plan_run(id: &str, s: &RunDir, d: &RunDir) -> Result<Planned> {
    let mut p = Planned {
        id: id.to_string(),
        src: s.path().to_path_buf(),
        dst: d.path().to_path_buf(),
        action: Action::Copy,
        progress: super::run_progress(s),
        device: s
            .read_provenance()
            .map_or_else(|| "unknown device".into(), |p| p.device),
    };
    if !s.metrics().exists() {
        p.action = Action::Skip("nothing logged yet".into());
        return Ok(p);
    }
    let rows = records::metrics::read_parquet(&s.metrics()).map_err(|e| anyhow!("{e}"))?;
    if let Some(x) = rows.iter().find(|r| r.run_id != id) {
        return Err(anyhow!(
            "{}: holds rows of run `{}`, expected `{id}`",
            s.metrics().display(),
            x.run_id
        ));
    }
    if s.read_status()
        .is_some_and(|st| st.status != RunState::Interrupted)
    {
        crate::merge::check_complete(s, &rows)?;
    }
    if !d.path().exists() {
        return Ok(p);
    }
    if !d.path().join(MARKER).is_file() {
        return Err(anyhow!(
            "{} exists and did not come from a queue merge: left as it is (move it away, or merge into another --results)",
            d.path().display()
        ));
    }
    let same = |f: fn(&RunDir) -> PathBuf| std::fs::read(f(s)).ok() == std::fs::read(f(d)).ok();
    if same(RunDir::metrics) && same(RunDir::status) {
        p.action = Action::Unchanged;
        return Ok(p);
    }
    let there = records::metrics::read_parquet(&d.metrics()).unwrap_or_default();
    if rank(d, &there) > rank(s, &rows) {
        return Err(anyhow!(
            "{} is further along ({}) than {} ({}): an older output folder? left as it is",
            d.path().display(),
            super::run_progress(d),
            s.path().display(),
            p.progress
        ));
    }
    p.action = Action::Replace;
    Ok(p)
}

/// The runs a profile directory will hold after the merge were trained by
/// one training code on one dataset, unless `allow_mixed` (the code).
fn one_code_and_data(dst: &Path, planned: &[Planned], allow_mixed: bool) -> Vec<String> {
    let incoming: BTreeSet<&str> = planned
        .iter()
        .filter(|p| matches!(p.action, Action::Copy | Action::Replace | Action::Unchanged))
        .map(|p| p.id.as_str())
        .collect();
    let mut provs: Vec<(String, Provenance)> = Vec::new();
    for p in planned.iter().filter(|p| incoming.contains(p.id.as_str())) {
        if let Some(v) = RunDir::from_path(p.src.clone()).read_provenance() {
            provs.push((p.id.clone(), v));
        }
    }
    for e in std::fs::read_dir(dst.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let id = e.file_name().to_string_lossy().into_owned();
        if id.starts_with('.') || incoming.contains(id.as_str()) {
            continue;
        }
        if let Some(v) = RunDir::from_path(e.path()).read_provenance() {
            provs.push((id, v));
        }
    }
    let mut out = Vec::new();
    let by = |f: fn(&Provenance) -> String| {
        let mut m: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
        for (id, p) in &provs {
            m.entry(f(p)).or_default().push(id);
        }
        m
    };
    let describe = |m: std::collections::BTreeMap<String, Vec<&str>>| {
        m.iter()
            .map(|(k, ids)| format!("{k}: {}", ids.join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let codes = by(Provenance::training_identity);
    if codes.len() > 1 && !allow_mixed {
        out.push(format!(
            "{} would hold runs of {} training codes ({}): pass --allow-mixed to draw them in one report",
            dst.display(),
            codes.len(),
            describe(codes)
        ));
    }
    let data = by(|p| p.data().to_string());
    if data.len() > 1 {
        out.push(format!(
            "{} would hold runs on {} datasets ({}): one report compares runs on one dataset",
            dst.display(),
            data.len(),
            describe(data)
        ));
    }
    out
}

/// Copies (or replaces) one run directory, through a temporary name.
fn apply(p: &Planned, from: &Path) -> Result<()> {
    match &p.action {
        Action::Skip(why) => {
            say!("[merge] {}: not merged ({why})", p.id);
            return Ok(());
        }
        Action::Unchanged => {
            say!(
                "[merge] {}: {} on {}: already merged",
                p.id,
                p.progress,
                p.device
            );
            return Ok(());
        }
        Action::Copy | Action::Replace => {}
    }
    let runs = p.dst.parent().context("run directory")?;
    std::fs::create_dir_all(runs).with_context(|| format!("{}: cannot create", runs.display()))?;
    let tmp = runs.join(format!(".{}.merging", p.id));
    let old = runs.join(format!(".{}.replaced", p.id));
    for leftover in [&tmp, &old] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover)
                .with_context(|| format!("{}: cannot remove", leftover.display()))?;
        }
    }
    copy_dir(&p.src, &tmp)?;
    let marker = serde_json::json!({
        "merged_from": p.src, "queue_folder": from, "progress": p.progress, "device": p.device,
        "merged_at_unix": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
    });
    let text = serde_json::to_string_pretty(&marker)?;
    records::io::write_bytes_atomic(&tmp.join(MARKER), text.as_bytes())
        .map_err(|e| anyhow!("{e}"))?;
    if p.dst.exists() {
        std::fs::rename(&p.dst, &old)
            .with_context(|| format!("{}: cannot move", p.dst.display()))?;
    }
    std::fs::rename(&tmp, &p.dst).with_context(|| format!("{}: cannot move", tmp.display()))?;
    if old.exists() {
        std::fs::remove_dir_all(&old)
            .with_context(|| format!("{}: cannot remove", old.display()))?;
    }
    say!(
        "[merge] {}: {} on {} -> {}",
        p.id,
        p.progress,
        p.device,
        p.dst.display()
    );
    Ok(())
}

/// A run directory's files, without its lock or temporary files.
fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst).with_context(|| format!("{}: cannot create", dst.display()))?;
    for e in std::fs::read_dir(src).with_context(|| format!("{}: cannot list", src.display()))? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name == ".lock" || name.ends_with(".tmp") || name == MARKER {
            continue;
        }
        let (from, to) = (e.path(), dst.join(&name));
        if e.file_type()?.is_dir() {
            copy_dir(&from, &to)?;
        } else {
            std::fs::copy(&from, &to)
                .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        }
    }
    Ok(())
}

/// The profile's report, partial runs drawn as partial.
fn redraw(dst: &Sweep) -> Result<()> {
    let mut cmd = Command::new(&dst.bin);
    cmd.args(["--plot-only", "--draw-partial"])
        .args(dst.common_args());
    if let Some(seeds) = dst.sel.seeds_arg() {
        cmd.args(["--seeds", &seeds]);
    }
    let o = cmd
        .output()
        .with_context(|| format!("running {}", dst.bin.display()))?;
    let said = String::from_utf8_lossy(&o.stderr);
    if !said.trim_end().is_empty() {
        say!("{}", said.trim_end());
    }
    if !o.status.success() {
        let last = said.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(anyhow!(
            "{} --plot-only --draw-partial: {}",
            dst.sel.experiment,
            last.trim().trim_start_matches("error: ")
        ));
    }
    say!(
        "[merge] {} `{}`: report {}",
        dst.sel.experiment,
        dst.sel.profile,
        dst.profile_dir().join("report.md").display()
    );
    Ok(())
}
