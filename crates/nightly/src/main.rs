//! `scripts/nightly`: trains every experiment's profile (`quick` by default,
//! `--experiments` some) from scratch into a directory of its own,
//! `results/nightly/<date>-<short commit>/<experiment>/<profile>/`, and compares
//! each run's final test error and each claim with the committed results (the
//! baseline, `results/<experiment>/<profile>/`), under the tolerance rule of
//! `nightly::compare`. Exit status: 0 all held, 1 a regression, 2 a run crashed
//! or could not start, an experiment was trained on other data than its
//! baseline (without `--cross-dataset`), or the nightly's own input was bad
//! (every baseline file is read before anything trains).
//!
//! What it prints is a view of its files: a closed stderr (`2>&1 | head`)
//! drops lines (`records::say!`) and never loses `nightly.json`, `SUMMARY.md`
//! or `comparison.json`.
//!
//! `--summary-only` writes `results/SUMMARY.md` (+ `SUMMARY.csv`,
//! `summary.json`) from the committed results, training nothing.
use clap::Parser;
use nightly::compare::{self, ExperimentComparison, Results, Status};
use nightly::state::{self, State};
use records::say;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

#[derive(Parser, Debug)]
#[command(
    name = "nightly",
    version = records::version::short(),
    long_version = records::version::long_torch_free()
)]
struct Args {
    #[command(flatten)]
    verbosity: records::progress::Verbosity,
    /// Only these experiments (comma-separated; default: every
    /// `experiments/*.toml`). `--only` is its old name.
    #[arg(long, alias = "only", value_delimiter = ',')]
    experiments: Option<Vec<String>>,
    #[arg(long, default_value = "quick")]
    profile: String,
    /// Passed to every experiment (default: each downloads the official CIFAR-10).
    #[arg(long, env = "REPRO_DATA")]
    data: Option<PathBuf>,
    /// Decoded-data cache passed to every experiment (`--data-dir`).
    #[arg(long, env = "REPRO_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The committed results (default: results/ in the repository): the input of
    /// --summary-only, and the baseline unless --baseline says otherwise.
    #[arg(long)]
    results: Option<PathBuf>,
    /// Results to compare with, laid out as `<DIR>/<experiment>/<profile>/`
    /// (default: the committed results).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// The nightly's directory (default: a new `results/nightly/<date>-<commit>/`).
    /// Must be missing or empty, unless --resume or --compare-only.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue an interrupted nightly (--out, or the latest unfinished one under
    /// results/nightly/ of this profile): its runs resume from their checkpoints.
    #[arg(long)]
    resume: bool,
    /// Compare the existing nightly --out with the baseline; train nothing.
    #[arg(long, requires = "out", conflicts_with = "resume")]
    compare_only: bool,
    /// Append the comparison table to this Markdown file (CI: `$GITHUB_STEP_SUMMARY`).
    #[arg(long)]
    step_summary: Option<PathBuf>,
    /// Where the experiment binaries are (default: beside this binary).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Write results/SUMMARY.md from the committed results without running anything.
    #[arg(long, conflicts_with_all = ["out", "resume", "compare_only", "baseline", "cross_dataset"])]
    summary_only: bool,
    /// Compare an experiment whose baseline was trained on other data (another
    /// dataset label or source sha256, e.g. the official CIFAR-10 against the
    /// committed results' JPEG copy) across datasets: labelled so in SUMMARY.md,
    /// comparison.json and nightly.json, its numbers and verdicts listed but not
    /// judged (no tolerance between two datasets is known). Without it such an
    /// experiment is refused (exit status 2) and no further one is trained.
    #[arg(long)]
    cross_dataset: bool,
    /// The time the whole nightly should take, in minutes (default: 180 for the
    /// `quick` profile, the 3 hours on 2 cores it is sized for; none otherwise).
    /// Measured and reported in SUMMARY.md, never a failure.
    #[arg(long)]
    budget_minutes: Option<f64>,
    /// Train every run of every experiment, even one that an earlier experiment
    /// of this nightly has trained with the same model, data, training config
    /// and seed (by default that run is copied: `--reuse-runs`, README, Nightly).
    #[arg(long)]
    no_reuse_runs: bool,
    /// Extra flags for every experiment, e.g. `--extra=--no-estimate`.
    #[arg(long, allow_hyphen_values = true)]
    extra: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    args.verbosity.init();
    let result = if args.summary_only {
        summary_only(&args)
    } else {
        nightly(&args)
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            say!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(2)
        }
    }
}

/// The experiments to run: `--experiments`, checked against the registry, or all of it.
fn selected(root: &Path, only: &Option<Vec<String>>) -> anyhow::Result<Vec<String>> {
    let all: Vec<String> = records::registry::discover(root)?
        .into_iter()
        .map(|e| e.name)
        .collect();
    match only {
        None => Ok(all),
        Some(o) => {
            for e in o {
                records::registry::find(root, e)
                    .map_err(|err| anyhow::anyhow!("--experiments: {err}"))?;
            }
            Ok(o.clone())
        }
    }
}

fn summary_only(args: &Args) -> anyhow::Result<u8> {
    let root = records::repo_root();
    let results = args.results.clone().unwrap_or_else(|| root.join("results"));
    // All experiments go into the summary, not only those of --experiments.
    let all = selected(&root, &None)?;
    // Every profile with results: a claim decided at the paper's budget sits
    // beside the shortened runs of the same claim.
    let mut profiles: Vec<String> = all
        .iter()
        .flat_map(|e| nightly::profiles_of(&results, e))
        .collect();
    profiles.sort();
    profiles.dedup();
    let collected = nightly::collect_profiles(&results, &all, &profiles)?;
    let now = collected.rows.clone();
    let json_path = results.join("summary.json");
    let before: Vec<nightly::Row> = std::fs::read(&json_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let regressions = nightly::regressions(&before, &now);
    write_summary(&results, &nightly::markdown(&now), &collected)?;
    for (b, n) in &regressions {
        say!(
            "REGRESSION {}: was PASS ({}), now {} ({})",
            b.key(),
            b.measured,
            n.as_ref().map(|n| n.verdict.as_str()).unwrap_or("missing"),
            n.as_ref().map(|n| n.measured.as_str()).unwrap_or("")
        );
    }
    Ok(u8::from(!regressions.is_empty()))
}

/// `SUMMARY.md`, `SUMMARY.csv`, `summary.json` and `claims.csv` (every
/// claim's numbers) in `dir`.
fn write_summary(dir: &Path, md: &str, collected: &nightly::Collected) -> anyhow::Result<()> {
    let rows = &collected.rows;
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", p.display()))
    };
    write("SUMMARY.md", md.to_string())?;
    write("SUMMARY.csv", nightly::csv_text(rows)?)?;
    write("summary.json", serde_json::to_string_pretty(rows)?)?;
    write("claims.csv", nightly::csv_text(&collected.numbers)?)?;
    say!("nightly: wrote {}", dir.join("SUMMARY.md").display());
    Ok(())
}

/// The nightly's directory: --out, an unfinished one (--resume) or a new one.
fn nightly_dir(args: &Args, root: &Path, commit: &str) -> anyhow::Result<PathBuf> {
    let nightly_root = root.join("results").join("nightly");
    let dir = match (&args.out, args.resume) {
        (Some(o), _) => o.clone(),
        (None, true) => state::unfinished(&nightly_root, &args.profile).unwrap_or_else(|| {
            state::fresh_dir(&nightly_root, &state::utc_date(state::now_unix()), commit)
        }),
        (None, false) => {
            state::fresh_dir(&nightly_root, &state::utc_date(state::now_unix()), commit)
        }
    };
    if args.compare_only {
        if State::read(&dir).is_none() {
            anyhow::bail!(
                "--compare-only: {} is not a nightly directory (no nightly.json)",
                dir.display()
            );
        }
    } else if !args.resume && !state::is_fresh(&dir) {
        anyhow::bail!(
            "--out {}: not empty; a nightly trains into a fresh directory (or pass --resume to continue it)",
            dir.display()
        );
    }
    Ok(dir)
}

fn nightly(args: &Args) -> anyhow::Result<u8> {
    let root = records::repo_root();
    let baseline = args
        .baseline
        .clone()
        .or_else(|| args.results.clone())
        .unwrap_or_else(|| root.join("results"));
    let commit = state::commit_label(&root);
    let dir = nightly_dir(args, &root, &commit)?;
    let before = State::read(&dir);
    let experiments = match &before {
        // What that nightly trained, at its commit, against today's baseline.
        Some(b) if args.compare_only && args.experiments.is_none() => b.experiments.clone(),
        _ => selected(&root, &args.experiments)?,
    };
    // Every baseline file the comparison reads, before anything is trained or
    // written: a truncated claims.json would otherwise fail the nightly at its
    // end, hours later.
    let mut baselines = BTreeMap::new();
    for e in &experiments {
        baselines.insert(
            e.clone(),
            compare::read_baseline(e, &args.profile, &baseline)?,
        );
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", dir.display()))?;
    let mut st = State {
        commit: commit.clone(),
        profile: args.profile.clone(),
        baseline: baseline.display().to_string(),
        experiments: experiments.clone(),
        started_unix: state::now_unix(),
        finished: false,
        exit_code: None,
        seconds: Default::default(),
        cross_dataset: Vec::new(),
    };
    match before {
        Some(before) if args.compare_only => {
            st = State {
                baseline: st.baseline,
                experiments: experiments.clone(),
                ..before
            };
        }
        before => {
            // A resumed nightly keeps the time its earlier attempts took.
            if let Some(before) = before.filter(|_| args.resume) {
                st.seconds = before.seconds;
            }
            st.write(&dir)?;
        }
    }
    say!(
        "nightly: {} at {commit}, profile {}, into {}, baseline {}",
        experiments.join(", "),
        args.profile,
        dir.display(),
        baseline.display()
    );
    let all = train_and_compare(args, &root, &dir, &baseline, &baselines, &mut st)?;
    let code = compare::exit_code(&all);
    st.cross_dataset = all
        .iter()
        .filter(|e| e.cross_dataset.is_some())
        .map(|e| e.experiment.clone())
        .collect();
    report(args, &dir, &st, &all)?;
    st.finished = true;
    st.exit_code = Some(code);
    st.write(&dir)?;
    // Printed once the files are complete: stderr is only a view of them.
    say!("{}", compare::markdown(&all));
    if !st.cross_dataset.is_empty() {
        say!("nightly: {}", cross_dataset_note(&st.cross_dataset));
    }
    Ok(code)
}

/// Trains (unless --compare-only) and compares each experiment in turn.
fn train_and_compare(
    args: &Args,
    root: &Path,
    dir: &Path,
    baseline: &Path,
    baselines: &BTreeMap<String, Option<Results>>,
    st: &mut State,
) -> anyhow::Result<Vec<ExperimentComparison>> {
    let mut all = Vec::new();
    let mut stopped: Option<String> = None;
    for e in &st.experiments.clone() {
        if let Some(why) = &stopped {
            all.push(ExperimentComparison::skipped(e, why.clone()));
            continue;
        }
        let crashed = if args.compare_only {
            None
        } else {
            let start = std::time::Instant::now();
            let crashed = train(args, root, dir, e);
            *st.seconds.entry(e.clone()).or_default() += start.elapsed().as_secs_f64();
            st.write(dir)?;
            crashed
        };
        let cmp = match crashed {
            Some(why) => ExperimentComparison::crashed(e, why),
            None => compare::compare_with(
                e,
                &baseline.join(e).join(&args.profile),
                baselines.get(e).and_then(Option::as_ref),
                &dir.join(e).join(&args.profile),
                args.cross_dataset,
            ),
        };
        if let Status::OtherData(why) = &cmp.status {
            say!("nightly: {e}: OTHER DATA: {why}");
            // Every experiment of a nightly trains on the same data: the
            // next ones would be refused too, after their hours of training.
            if !args.compare_only {
                stopped = Some(format!(
                    "not trained: the nightly stopped after {e}, which was trained on other data than its baseline"
                ));
            }
        }
        all.push(cmp);
    }
    Ok(all)
}

/// The label of a cross-dataset comparison, for SUMMARY.md and stderr.
fn cross_dataset_note(experiments: &[String]) -> String {
    format!(
        "**CROSS-DATASET comparison** (`--cross-dataset`) for {}: their baselines were trained on other data (see the table), and no tolerance between two datasets is known: their numbers and verdicts are listed, not judged; only a crash or a disappeared run or claim fails them.",
        experiments.join(", ")
    )
}

/// Trains one experiment's profile into `<dir>/<experiment>/<profile>`; why it
/// crashed or could not start, if it did.
fn train(args: &Args, root: &Path, dir: &Path, experiment: &str) -> Option<String> {
    let bin_dir = match &args.bin_dir {
        Some(b) => b.clone(),
        None => match std::env::current_exe() {
            Ok(exe) => exe.parent().map(Path::to_path_buf).unwrap_or_default(),
            Err(e) => return Some(format!("cannot locate the nightly binary: {e}")),
        },
    };
    let bin = bin_dir.join(experiment);
    if !bin.is_file() {
        return Some(format!(
            "{} not found: build it (`cargo build --release --workspace`) or pass --bin-dir",
            bin.display()
        ));
    }
    let mut cmd = Command::new(&bin);
    cmd.current_dir(root)
        .args(["--profile", &args.profile, "--out"])
        .arg(dir.join(experiment));
    if let Some(d) = &args.data {
        cmd.arg("--data").arg(d);
    }
    if let Some(d) = &args.data_dir {
        cmd.arg("--data-dir").arg(d);
    }
    if !args.no_reuse_runs {
        // A run two experiments share trains once (plain-20, ResNet-20 A,
        // the cuda-convnet baseline net): the nightly's 3 hours on 2 cores.
        cmd.arg("--reuse-runs").arg(dir);
    }
    cmd.args(&args.extra);
    say!("nightly: {experiment} --profile {}", args.profile);
    match cmd.status() {
        Ok(s) if s.success() => None,
        Ok(s) => Some(format!("{experiment} exited with {s}")),
        Err(e) => Some(format!("{}: cannot start: {e}", bin.display())),
    }
}

/// The nightly's SUMMARY.md (which commit, which baseline, the comparison, then
/// every fresh claim), SUMMARY.csv, summary.json, comparison.json, and the
/// comparison appended to --step-summary.
fn report(args: &Args, dir: &Path, st: &State, all: &[ExperimentComparison]) -> anyhow::Result<()> {
    let table = compare::markdown(all);
    let cross = if st.cross_dataset.is_empty() {
        String::new()
    } else {
        format!("{}\n\n", cross_dataset_note(&st.cross_dataset))
    };
    let head = format!(
        "# Nightly {}\n\nCommit `{}`, profile `{}`, trained from scratch into `{}`; baseline `{}` (each experiment's `<baseline>/<experiment>/{}/`, its commit in the table).\n\n{cross}{}\n\n## Comparison with the baseline\n\n{table}",
        dir.file_name().map(|f| f.to_string_lossy()).unwrap_or_default(),
        st.commit,
        st.profile,
        dir.display(),
        st.baseline,
        st.profile,
        compare::rule()
    );
    let names: Vec<String> = all.iter().map(|e| e.experiment.clone()).collect();
    let collected = nightly::collect_profiles(dir, &names, std::slice::from_ref(&args.profile))?;
    let rows = &collected.rows;
    let budget = args
        .budget_minutes
        .or_else(|| state::default_budget_minutes(&st.profile));
    // The budget depends on the CPU (README, Profiles: an Intel Xeon takes
    // about half the time of an AMD EPYC), so the table names it.
    let machine = format!(
        "{}, {} CPU threads",
        records::provenance::cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let md = format!(
        "{head}\n## Time (this machine: {machine})\n\n{}\n{}",
        state::time_markdown(&st.seconds, budget),
        nightly::markdown(rows).replacen('#', "##", 1)
    );
    write_summary(dir, &md, &collected)?;
    let p = dir.join("comparison.json");
    std::fs::write(&p, serde_json::to_string_pretty(all)?)
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", p.display()))?;
    if let Some(s) = &args.step_summary {
        use std::io::Write as _;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(s)
            .and_then(|mut f| writeln!(f, "{head}"))
            .map_err(|e| anyhow::anyhow!("--step-summary {}: {e}", s.display()))?;
    }
    Ok(())
}
