//! `receptive-field <experiment> [--profile P] [--run NAME]...`: for each run's
//! network (built on the CPU from the experiment file), the receptive field,
//! jump and output size of every layer on the main path.
use anyhow::Context;
use clap::Parser;
use repro::config::ExperimentFile;
use repro::models::{self, receptive};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "receptive-field",
    about = "Receptive field, stride (jump) and output size per layer of an experiment's networks",
    after_help = repro::exit::HELP,
    version = repro::version::short(),
    long_version = repro::version::long()
)]
struct Args {
    #[command(flatten)]
    verbosity: records::progress::Verbosity,
    /// An experiment name (`vgg-depth`, read from experiments/) or a path to its TOML file.
    experiment: String,
    #[arg(long, default_value = "paper")]
    profile: String,
    /// Only these runs, comma-separated as every binary's `--runs` (default:
    /// every run of the profile). `--run` (repeatable) is its old name.
    #[arg(long, alias = "run", value_delimiter = ',')]
    runs: Vec<String>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    args.verbosity.init();
    repro::exit::finish(run(args))
}

fn run(args: Args) -> anyhow::Result<()> {
    let path = if args.experiment.ends_with(".toml") {
        PathBuf::from(&args.experiment)
    } else {
        repro::driver::repo_root()
            .join("experiments")
            .join(format!("{}.toml", args.experiment))
    };
    let file = ExperimentFile::load(&path)?;
    let profile = file.profile(&args.profile)?.clone();
    let runs = if args.runs.is_empty() {
        profile.runs.clone()
    } else {
        args.runs.clone()
    };
    for name in &runs {
        let cfg = file
            .resolve(&args.profile, name, 0, &[])
            .with_context(|| format!("run `{name}`"))?;
        let vs = tch::nn::VarStore::new(tch::Device::Cpu);
        let net = models::build(&vs.root(), &cfg.model)?;
        let input = models::input_shape(&cfg.model);
        println!(
            "{name} ({}), input {}x{}:",
            cfg.model.short_name(),
            input[1],
            input[2]
        );
        print!(
            "{}",
            receptive::format_table(&receptive::of_network(net.as_ref(), input))
        );
        println!();
    }
    Ok(())
}
