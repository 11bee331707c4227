//! `scripts/nightly`: run every experiment's `quick` profile (or `--only` some),
//! then write `results/SUMMARY.md` (+ `summary.json`) and exit non-zero when a
//! claim that passed in the committed summary fails now.
use clap::Parser;
use std::path::PathBuf;
use std::process::Command;

const EXPERIMENTS: [&str; 11] = [
    "resnet-cifar-degradation",
    "resnet-shortcut-options",
    "alexnet-relu-vs-tanh",
    "alexnet-lrn",
    "alexnet-overlapping-pooling",
    "alexnet-dropout",
    "alexnet-augmentation",
    "alexnet-depth",
    "alexnet-two-tower",
    "vgg-depth",
    "googlenet-inception",
];

#[derive(Parser, Debug)]
struct Args {
    /// Only these experiment crates (comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Option<Vec<String>>,
    #[arg(long, default_value = "quick")]
    profile: String,
    /// Passed to every experiment (default: each downloads the official CIFAR-10).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Results directory (default: results/ in the repository).
    #[arg(long)]
    results: Option<PathBuf>,
    /// Write the summary from existing results without running anything.
    #[arg(long)]
    summary_only: bool,
    /// Extra flags for every experiment, e.g. `--extra=--fresh`.
    #[arg(long, allow_hyphen_values = true)]
    extra: Vec<String>,
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(0) => std::process::ExitCode::SUCCESS,
        Ok(_) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<usize> {
    let args = Args::parse();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let results = args.results.clone().unwrap_or_else(|| root.join("results"));
    let selected: Vec<String> = match &args.only {
        Some(o) => {
            for e in o {
                if !EXPERIMENTS.contains(&e.as_str()) {
                    anyhow::bail!(
                        "--only {e}: not an experiment (known: {})",
                        EXPERIMENTS.join(", ")
                    );
                }
            }
            o.clone()
        }
        None => EXPERIMENTS.iter().map(|s| s.to_string()).collect(),
    };
    let mut failed_runs = Vec::new();
    if !args.summary_only {
        for e in &selected {
            let bin = root.join("target/release").join(e);
            let mut cmd = Command::new(&bin);
            cmd.args(["--profile", &args.profile, "--out"])
                .arg(results.join(e));
            if let Some(d) = &args.data {
                cmd.arg("--data").arg(d);
            }
            cmd.args(&args.extra);
            eprintln!("nightly: {} --profile {}", e, args.profile);
            let status = cmd.status().map_err(|err| {
                anyhow::anyhow!(
                    "{}: {err} (build with cargo build --release --workspace)",
                    bin.display()
                )
            })?;
            if !status.success() {
                failed_runs.push(e.clone());
            }
        }
    }
    // All experiments go into the summary, not only the ones run now.
    let all: Vec<String> = EXPERIMENTS.iter().map(|s| s.to_string()).collect();
    let now = nightly::collect(&results, &all, &args.profile)?;
    let json_path = results.join("summary.json");
    let before: Vec<nightly::Row> = std::fs::read(&json_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let regressions = nightly::regressions(&before, &now);
    std::fs::write(results.join("SUMMARY.md"), nightly::markdown(&now))?;
    std::fs::write(results.join("SUMMARY.csv"), nightly::csv_text(&now)?)?;
    std::fs::write(&json_path, serde_json::to_string_pretty(&now)?)?;
    eprintln!("nightly: wrote {}", results.join("SUMMARY.md").display());
    for (b, n) in &regressions {
        eprintln!(
            "REGRESSION {}: was PASS ({}), now {} ({})",
            b.key(),
            b.measured,
            n.as_ref().map(|n| n.verdict.as_str()).unwrap_or("missing"),
            n.as_ref().map(|n| n.measured.as_str()).unwrap_or("")
        );
    }
    for e in &failed_runs {
        eprintln!("FAILED RUN: {e}");
    }
    Ok(regressions.len() + failed_runs.len())
}
