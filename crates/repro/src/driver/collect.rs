//! From the runs' saved metrics to the profile's combined table
//! (`all_runs.parquet`), figures and report (what `--plot-only` redraws
//! without training). Runs training at the time are drawn as far as their
//! metrics go, and the report says so.
use super::experiment::{Experiment, Results};
use super::plan::Plan;
use super::run_dir::RunDirWithConfig;
use super::run_dir::{RunDir, RunState};
use crate::config::{Fidelity, RunConfig};
use crate::data::run_lowerings;
use crate::error::{Error, Result};
use crate::metrics::{read_parquet, MetricRow, COMBINED_FILE};
use crate::provenance::{Provenance, TRAINING_CODE};
use crate::report::{self, Header};
use records::fidelity::Lowering;
use std::collections::{BTreeMap, BTreeSet};

/// Draws the report of the plan's profile, or says why there is none yet.
pub fn report<E: Experiment>(exp: &E, plan: &Plan, plot_only: bool) -> anyhow::Result<()> {
    let res = collect(exp, plan)?;
    if res.rows.is_empty() && !plot_only {
        crate::say!(
            "no finished runs under {} yet: no report written",
            plan.profile_dir.display()
        );
        return Ok(());
    }
    if res.rows.is_empty() {
        anyhow::bail!(
            "no metrics under {} for profile `{}`: run without --plot-only first",
            plan.profile_dir.display(),
            plan.profile_name
        );
    }
    remove_stale_temps(plan);
    write_outputs(exp, &res)?;
    Ok(())
}

/// Reads the metrics of the profile's grid (runs whose config still matches).
fn collect<E: Experiment>(exp: &E, plan: &Plan) -> Result<Results> {
    let mut rows = Vec::new();
    // The commits that trained the runs (from their provenance), not the one drawing the report.
    let mut commits: Vec<String> = Vec::new();
    // The command lines that trained them, as recorded at run time.
    let mut commands: Vec<String> = Vec::new();
    // Each run's provenance: one report is drawn from one training code's runs.
    let mut trained_by = Vec::new();
    // `--draw-partial`: the runs drawn that stopped before their end.
    let mut partial = Vec::new();
    for (id, cfg) in &plan.configs {
        let dir = RunDir::new(&plan.profile_dir, id);
        let stopped = plan.draw_partial.then(|| dir.stopped_with(cfg)).flatten();
        if !dir.metrics().exists() || (stopped.is_none() && !included(&dir, id, cfg)) {
            continue;
        }
        let mut run_rows = read_parquet(&dir.metrics())?;
        records::run_dir::check_complete(&dir, &cfg.train, &run_rows)?;
        if let Some(s) = stopped {
            crate::say!(
                "[{id}] partial: stopped at a checkpoint at iteration {} of {}, drawn as far as it got (--draw-partial)",
                s.iterations,
                cfg.train.iterations
            );
            partial.push(format!(
                "{id} at iteration {} of {}",
                s.iterations, cfg.train.iterations
            ));
        } else if dir.read_status().is_none() {
            let at = run_rows.last().map(|r| r.iteration).unwrap_or(0);
            crate::say!(
                "[{id}] still training: drawn as far as its last evaluation (iteration {at} of {})",
                cfg.train.iterations
            );
        }
        // Rows written before the hyperparameter columns existed get them from
        // the run's config (the one it ended with).
        let hyper = cfg.hyperparameters();
        for r in run_rows.iter_mut().filter(|r| r.lacks_hyperparameters()) {
            r.set_hyperparameters(&hyper);
        }
        rows.extend(run_rows);
        if let Some(p) = dir.read_provenance() {
            commits.extend(p.trained_at());
            trained_by.push((id.clone(), p.clone()));
            commands.push(p.command);
        }
    }
    check_one_dataset(&rows, plan)?;
    super::stale::check_one_code(&trained_by, plan.allow_mixed)?;
    let mut header = header(exp, plan, &rows, commits, commands, &trained_by);
    mark_partial(&mut header, &partial);
    Ok(Results {
        runs: report::Runs::new(&rows)?,
        rows,
        header,
        profile: plan.profile.clone(),
        configs: plan.configs.clone(),
        file: plan.file.clone(),
        profile_dir: plan.profile_dir.clone(),
        log_y: plan.log_y,
        paper: plan.paper.clone(),
        specs: plan.specs.clone(),
    })
}

/// A report with partial runs (`--draw-partial`) is of a reduced budget:
/// its label is `shortened`, whatever the profile's, so that no claim that
/// needs fully trained networks is judged on runs cut short, and its notes
/// say which runs got how far.
fn mark_partial(header: &mut Header, partial: &[String]) {
    if partial.is_empty() {
        return;
    }
    header.fidelity = Fidelity::Shortened;
    header.fidelity_notes.push(format!(
        "partial runs, stopped at a checkpoint before their last iteration and drawn as far as they got: {}",
        partial.join(", ")
    ));
}

/// Whether a run's metrics belong in the report: it ended with this config,
/// or it is training with it now. Says why when they are left out.
fn included(dir: &RunDir, id: &str, cfg: &crate::config::RunConfig) -> bool {
    if dir.ended_with(cfg).is_some() || dir.training_with(cfg) {
        return true;
    }
    if dir
        .read_status()
        .is_some_and(|s| s.status != super::run_dir::RunState::Interrupted)
    {
        crate::say!(
            "[{id}] results are from another configuration (config changed since): left out"
        );
    } else if dir.is_locked() {
        crate::say!("[{id}] training now with another configuration: left out");
    } else {
        crate::say!("[{id}] stopped before its end (killed?) and is not training now: left out until a rerun resumes it");
    }
    false
}

/// One report is drawn from runs on one dataset: curves and claims of runs
/// on, say, the official CIFAR-10 and a JPEG copy would be compared as if
/// they were the same experiment.
fn check_one_dataset(rows: &[MetricRow], plan: &Plan) -> Result<()> {
    let mut by_dataset: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in rows {
        by_dataset.entry(&r.dataset).or_default().insert(&r.run_id);
    }
    if by_dataset.len() <= 1 {
        return Ok(());
    }
    let which: Vec<String> = by_dataset
        .iter()
        .map(|(d, runs)| {
            let runs: Vec<&str> = runs.iter().copied().collect();
            format!("`{d}`: {}", runs.join(", "))
        })
        .collect();
    Err(Error::Other(format!(
        "{}: the runs were trained on different datasets ({}); one report compares runs on one dataset: retrain the runs of the other dataset with --fresh (same --data), or give them their own --out",
        plan.profile_dir.display(),
        which.join("; ")
    )))
}

/// A report write killed half-way leaves its temporary files
/// (`.<name>.<random>.tmp`) behind; they are removed before the next one
/// writes, once old enough that no other process can still be writing them.
fn remove_stale_temps(plan: &Plan) {
    let mut dirs = vec![plan.profile_dir.clone()];
    for id in plan.configs.keys() {
        let dir = RunDir::new(&plan.profile_dir, id);
        if !dir.is_locked() {
            dirs.push(dir.path().to_path_buf());
        }
    }
    for d in dirs {
        if let Ok(removed) = fileio::remove_stale_temps(&d, STALE_TEMP_AGE) {
            for f in removed {
                crate::say!("removed {} (left by a killed write)", f.display());
            }
        }
    }
}

/// The report's lock file in the profile directory: every writer of the
/// report's files holds it while it writes them.
const REPORT_LOCK: &str = ".report.lock";

/// Waits for, then holds (as long as the returned file lives) the profile's
/// report lock: two processes drawing the same report take turns, so neither
/// takes the other's temporary files for a killed write's.
fn lock_report(profile_dir: &std::path::Path) -> Result<std::fs::File> {
    use crate::error::IoContext;
    std::fs::create_dir_all(profile_dir).at(profile_dir)?;
    let path = profile_dir.join(REPORT_LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .at(&path)?;
    file.lock().at(&path)?;
    Ok(file)
}

/// Under the report lock, the temporary files of the report's own files
/// (`.report.md.<random>.tmp`, `.fig6.png.<random>.tmp.png`, ...) can only be
/// a killed write's: they go now, however young (a rerun right after a
/// `kill -9` finds them minutes old). Other files' temporary files are left
/// to `remove_stale_temps`'s age rule.
fn remove_killed_report_writes<'a>(
    profile_dir: &std::path::Path,
    figures: impl Iterator<Item = &'a str>,
) {
    let mut removed = Vec::new();
    for name in [COMBINED_FILE, "summary.csv", "report.md", "claims.json"] {
        removed.extend(
            fileio::remove_temps_of(&profile_dir.join(name), fileio::TEMP_SUFFIX)
                .unwrap_or_default(),
        );
    }
    for stem in figures {
        removed.extend(figures::remove_leftovers(&profile_dir.join(stem)).unwrap_or_default());
    }
    for f in removed {
        crate::say!("removed {} (left by a killed write)", f.display());
    }
}

/// How old a temporary file must be to count as left behind: far longer than
/// any one file write (a report, a figure, a checkpoint) takes.
const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The training code(s) of the runs (`trained_by`: each run's provenance), for
/// the report's header: this build's hash alone when it trained every run;
/// otherwise each hash with the commits that recorded it (several with
/// `--allow-mixed`), then this build's, which drew the report.
fn training_codes(trained_by: &[(String, Provenance)]) -> String {
    let mut by_code: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (_, p) in trained_by {
        let code = if p.training_code.is_empty() {
            "none recorded"
        } else {
            p.training_code.as_str()
        };
        by_code.entry(code).or_default().extend(p.trained_at());
    }
    if by_code.keys().all(|c| *c == TRAINING_CODE) {
        return TRAINING_CODE.to_string();
    }
    let runs: Vec<String> = by_code
        .iter()
        .map(|(code, commits)| {
            let commits: Vec<&str> = commits.iter().map(String::as_str).collect();
            format!("{code} (commit {})", commits.join(", "))
        })
        .collect();
    format!(
        "runs trained by {}; report drawn by {TRAINING_CODE}",
        runs.join(", ")
    )
}

/// The distinct values of one column, sorted.
fn distinct(rows: &[MetricRow], f: impl Fn(&MetricRow) -> &String) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|r| f(r).clone()).collect();
    v.sort();
    v.dedup();
    v
}

fn header<E: Experiment>(
    exp: &E,
    plan: &Plan,
    rows: &[MetricRow],
    mut commits: Vec<String>,
    mut commands: Vec<String>,
    trained_by: &[(String, Provenance)],
) -> Header {
    commands.sort();
    commands.dedup();
    let drawn: String = std::env::args().collect::<Vec<_>>().join(" ");
    commits.sort();
    commits.dedup();
    let drawn_by = crate::provenance::Checkout::of(&plan.root).label();
    let commit = match commits.as_slice() {
        [] => drawn_by.clone(),
        [one] if *one == drawn_by => drawn_by.clone(),
        runs => format!(
            "runs trained at {}; report drawn at {drawn_by}",
            runs.join(", ")
        ),
    };
    Header {
        title: plan.file.title.clone(),
        paper: plan.file.paper.clone(),
        experiment: exp.name().into(),
        profile: plan.profile_name.clone(),
        profile_description: plan.profile.description.clone(),
        fidelity: rows
            .iter()
            .map(|r| r.fidelity)
            .fold(plan.fidelity, Fidelity::lowest),
        fidelity_notes: fidelity_notes(plan, rows),
        datasets: distinct(rows, |r| &r.dataset),
        devices: distinct(rows, |r| &r.device),
        precisions: distinct(rows, |r| &r.precision),
        seeds: plan.seeds.clone(),
        commit,
        trained_at: commits,
        drawn_at: drawn_by,
        training_code: training_codes(trained_by),
        command: if commands.is_empty() {
            drawn
        } else {
            format!("{} (trained); {drawn} (this report)", commands.join(" ; "))
        },
    }
}

/// Why the report's label is lower than the profile's: the plan's reasons,
/// and what lowered each run (`data::run_lowerings`: stand-in datasets,
/// reduced precision), each said once.
fn fidelity_notes(plan: &Plan, rows: &[MetricRow]) -> Vec<String> {
    let mut notes = plan.fidelity_notes.clone();
    for d in distinct(rows, |r| &r.dataset) {
        notes.extend(run_lowerings(&d, "fp32").iter().map(|w| w.to_string()));
    }
    let reduced: Vec<String> = distinct(rows, |r| &r.precision)
        .into_iter()
        .filter(|p| p != "fp32")
        .collect();
    if !reduced.is_empty() {
        notes.push(Lowering::ReducedPrecision(reduced.join(", ")).to_string());
    }
    notes
}

/// The combined table's columns of each run (`records::metrics::combined`):
/// the commit its provenance names, its recipe hash, its model's knobs.
fn run_columns(res: &Results) -> BTreeMap<String, records::metrics::RunColumns> {
    res.configs
        .iter()
        .map(|(id, cfg)| {
            let commit = RunDir::new(&res.profile_dir, id)
                .read_provenance()
                .map_or_else(|| "unknown".into(), |p| p.trained_at().join(" "));
            let knobs = match serde_json::to_value(&cfg.model) {
                Ok(serde_json::Value::Object(m)) => m
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), records::metrics::Knob::from_json(v)?)))
                    .collect(),
                _ => BTreeMap::new(),
            };
            let columns = records::metrics::RunColumns {
                commit,
                recipe_hash: recipe_hash(cfg),
                knobs,
            };
            (id.clone(), columns)
        })
        .collect()
}

/// A short SHA-256 of a run's recipe alone: its model, data and train tables
/// (`config_hash` also covers the experiment, profile and run names).
pub fn recipe_hash(cfg: &RunConfig) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::json!({"model": cfg.model, "data": cfg.data, "train": cfg.train});
    records::io::hex(&Sha256::digest(json.to_string().as_bytes())[..8])
}

/// A run's line in the report: how it ended, or how far it is when still training.
fn run_state(res: &Results, id: &str) -> String {
    let dir = RunDir::new(&res.profile_dir, id);
    if let Some(s) = dir.read_status() {
        let drawn = res
            .rows
            .iter()
            .filter(|r| r.run_id == id)
            .map(|r| r.iteration)
            .max();
        if let (RunState::Interrupted, Some(last)) = (s.status, drawn) {
            let of = res
                .configs
                .get(id)
                .map(|c| format!(" of {}", c.train.iterations))
                .unwrap_or_default();
            return format!(
                "partial: stopped at a checkpoint at iteration {}{of}, drawn to its last evaluation (iteration {last}), not final; a rerun resumes it",
                s.iterations
            );
        }
        return format!("{} ({} iterations)", s.status, s.iterations);
    }
    let drawn = res
        .rows
        .iter()
        .filter(|r| r.run_id == id)
        .map(|r| r.iteration)
        .max();
    match (drawn, res.configs.get(id)) {
        (Some(at), Some(cfg)) => format!(
            "training: drawn at iteration {at} of {}, not final",
            cfg.train.iterations
        ),
        _ if dir.metrics().exists() => {
            "stopped before its end (killed?): a rerun resumes it; not drawn".into()
        }
        _ => "not run".into(),
    }
}

/// Combined metrics, figures, report.
pub fn write_outputs<E: Experiment>(exp: &E, res: &Results) -> Result<()> {
    let _lock = lock_report(&res.profile_dir)?;
    // Everything is drawn before anything is written: a paper number the
    // figures, claims or tables quote and the numbers file lacks stops here,
    // with the outputs of the last good report left as they were.
    let drawn = exp.figures(res);
    remove_killed_report_writes(
        &res.profile_dir,
        drawn.iter().map(|(stem, _)| stem.as_str()),
    );
    let claims = report::judge(&res.specs, &exp.claims(res), &res.header, &res.paper)?;
    let tables = exp.tables(res);
    res.paper.check_found()?;
    // Its own name: a glob over `**/metrics.parquet` reads each row once.
    records::metrics::write_combined(
        &res.profile_dir.join(COMBINED_FILE),
        &res.rows,
        &run_columns(res),
    )?;
    report::write_csv(&res.profile_dir.join("summary.csv"), &res.runs.summaries)?;
    let mut stems = Vec::new();
    for (stem, fig) in drawn {
        figures::render(&fig, &res.profile_dir.join(&stem)).map_err(records::Error::from)?;
        stems.push(stem);
    }
    let runs: Vec<(String, String)> = res
        .configs
        .keys()
        .map(|id| (id.clone(), run_state(res, id)))
        .collect();
    report::write(
        &res.profile_dir,
        &res.header,
        &claims,
        &tables,
        &stems,
        &runs,
    )?;
    crate::say!("\n{} — claims:", res.header.title);
    for c in &claims {
        crate::say!(
            "  [{}] {}: {} — measured {}",
            c.verdict.label(),
            c.id,
            c.statement,
            c.measured
        );
    }
    crate::say!("report: {}", res.profile_dir.join("report.md").display());
    Ok(())
}
