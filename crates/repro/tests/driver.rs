//! The driver on a minimal experiment (the shared tiny run, generated data):
//! it trains, records each run's state, skips what has ended with the same
//! config, lists runs for sweeps, and refuses another experiment's file.
use clap::Parser;
use repro::driver::{self, Args, Experiment, Results, RunDir, RunState};
use repro::figures::Figure;
use repro::report::{Claim, Table};
use repro::testing::{rng_lock, tiny_cifar, tiny_run, TINY_EXPERIMENT};
use std::path::Path;

/// The experiment of `TINY_EXPERIMENT` (`name = "t"`): no figures or claims.
struct Tiny;

impl Experiment for Tiny {
    fn name(&self) -> &'static str {
        "t"
    }
    fn figures(&self, _res: &Results) -> Vec<(String, Figure)> {
        Vec::new()
    }
    fn tables(&self, _res: &Results) -> Vec<Table> {
        Vec::new()
    }
    fn claims(&self, _res: &Results) -> Vec<Claim> {
        Vec::new()
    }
}

/// Flags for a run of `Tiny` with its file in `dir`, results under `dir/out`.
fn args(dir: &Path, extra: &[&str]) -> Args {
    let config = dir.join("t.toml");
    let data = dir.join("data");
    let out = dir.join("out");
    let mut v = vec![
        "t".to_string(),
        "--config".into(),
        config.display().to_string(),
        "--data".into(),
        data.display().to_string(),
        "--data-dir".into(),
        dir.join("cache").display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--device".into(),
        "cpu".into(),
        "--no-estimate".into(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    Args::try_parse_from(v).expect("flags")
}

fn setup(dir: &Path, toml: &str) {
    std::fs::write(dir.join("t.toml"), toml).expect("toml");
    tiny_cifar(&dir.join("data"), 40, 40).expect("data");
}

#[test]
fn trains_records_the_state_and_skips_what_has_ended() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    setup(
        tmp.path(),
        &TINY_EXPERIMENT.replace("iterations = 40", "iterations = 10"),
    );
    driver::run(&Tiny, &args(tmp.path(), &["--profile", "smoke"])).expect("trains");
    let cfg = tiny_run(3, &["train.iterations=10"]);
    let mut cfg = cfg;
    cfg.profile = "smoke".into();
    let dir = RunDir::new(&tmp.path().join("out/smoke"), &cfg.run_id());
    let status = dir.ended_with(&cfg).expect("status.json with this config");
    assert_eq!(status.status, RunState::Completed);
    assert_eq!(status.iterations, 10);
    let json = std::fs::read_to_string(dir.status()).expect("status");
    assert!(json.contains("\"status\": \"completed\""), "{json}");
    assert!(tmp.path().join("out/smoke/report.md").is_file());

    // A second invocation trains nothing: the metrics file is not rewritten.
    let before = std::fs::metadata(dir.metrics())
        .and_then(|m| m.modified())
        .expect("mtime");
    driver::run(&Tiny, &args(tmp.path(), &["--profile", "smoke"])).expect("reruns");
    let after = std::fs::metadata(dir.metrics())
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(before, after, "a finished run was trained again");

    // A changed recipe no longer counts as ended.
    let mut changed = cfg.clone();
    changed.train.lr = 0.01;
    assert!(dir.ended_with(&changed).is_none());
}

#[test]
fn another_experiments_file_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().expect("tmp");
    setup(
        tmp.path(),
        &TINY_EXPERIMENT.replace("name = \"t\"", "name = \"other\""),
    );
    let e = driver::run(&Tiny, &args(tmp.path(), &["--profile", "smoke"]))
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains("another experiment's file") && e.contains("other"),
        "{e}"
    );
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn a_seed_given_twice_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().expect("tmp");
    setup(tmp.path(), TINY_EXPERIMENT);
    let e = driver::run(
        &Tiny,
        &args(tmp.path(), &["--profile", "smoke", "--seeds", "1,1"]),
    )
    .expect_err("refused")
    .to_string();
    assert!(e.contains("--seeds") && e.contains("seed 1"), "{e}");
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn flags_are_typed_and_unknown_values_fail() {
    for bad in [
        &["--layout", "nhwc"][..],
        &["--fuse-seeds", "maybe"],
        &["--device", "gpu"],
        &["--fuse-max", "0"],
        &["--no-such-flag"],
    ] {
        let mut v = vec!["t"];
        v.extend_from_slice(bad);
        assert!(Args::try_parse_from(&v).is_err(), "{bad:?} was accepted");
    }
    let a = Args::try_parse_from([
        "t",
        "--layout",
        "channels-last",
        "--device",
        "cuda:1",
        "--fuse-seeds",
        "off",
    ])
    .expect("flags");
    assert_eq!(a.layout, driver::LayoutMode::ChannelsLast);
    assert_eq!(a.device, driver::DeviceSpec::Cuda(1));
    assert_eq!(a.fuse_seeds, driver::FuseMode::Off);
}
