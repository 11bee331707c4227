//! The driver on a minimal experiment (the shared tiny run, generated data):
//! it trains, records each run's state, skips what has ended with the same
//! config, lists runs for sweeps, and refuses another experiment's file.
use clap::Parser;
use repro::driver::{self, Args, RunDir, RunDirWithConfig, RunState};
use repro::testing::{
    rng_lock, snapshot, tiny_args as args, tiny_run, tiny_setup as setup, TinyExperiment as Tiny,
    TINY_EXPERIMENT,
};
use std::path::Path;

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

/// The tiny experiment at 10 iterations, trained once with `extra` flags.
fn trained(dir: &Path, extra: &[&str]) {
    setup(
        dir,
        &TINY_EXPERIMENT.replace("iterations = 40", "iterations = 10"),
    );
    let mut flags = vec!["--profile", "smoke"];
    flags.extend_from_slice(extra);
    driver::run(&Tiny, &args(dir, &flags)).expect("trains");
}

#[test]
fn overrides_train_in_their_own_directory_and_leave_the_baseline_untouched() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    trained(tmp.path(), &[]);
    let baseline = tmp.path().join("out/smoke");
    let before = snapshot(&baseline);
    let set = ["--set", "train.lr=0.02"];
    let mut flags = vec!["--profile", "smoke"];
    flags.extend_from_slice(&set);
    driver::run(&Tiny, &args(tmp.path(), &flags)).expect("trains");
    assert_eq!(snapshot(&baseline), before, "the baseline runs changed");

    // The overridden runs went to `smoke-set-<hash>`, named from the overrides.
    let key =
        driver::variant_key(&["train.lr=0.02".parse().expect("override")], None).expect("a key");
    let own = tmp.path().join("out").join(format!("smoke-{key}"));
    let report = std::fs::read_to_string(own.join("report.md")).expect("its report");
    assert!(report.contains("train.lr=0.02"), "{report}");
    let cfg = std::fs::read_to_string(own.join("runs/tiny-s3/config.toml")).expect("config");
    assert!(cfg.contains("lr = 0.02"), "{cfg}");
    // Other overrides, another directory; the same ones, the same directory.
    let other = driver::variant_key(&["train.lr=0.03".parse().expect("override")], None);
    assert_ne!(other, Some(key.clone()));
    assert_eq!(
        driver::variant_key(&["train.lr=0.02".parse().expect("override")], None),
        Some(key)
    );
    assert_eq!(driver::variant_key(&[], None), None);
}

/// Makes a run's provenance say it was trained by other code, at `commit`.
fn mark_trained_elsewhere(run_dir: &Path, commit: &str) {
    let path = run_dir.join("provenance.json");
    let mut p: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("provenance")).expect("json");
    p["training_code"] = serde_json::json!("00000000");
    p["git_commit"] = serde_json::json!(commit);
    // The binary's build commit is what names the run's trainer (each segment's).
    p["build_commit"] = serde_json::json!(commit);
    if let Some(segments) = p["segments"].as_array_mut() {
        for s in segments {
            s["training_code"] = serde_json::json!("00000000");
            s["git_commit"] = serde_json::json!(commit);
            s["build_commit"] = serde_json::json!(commit);
        }
    }
    std::fs::write(&path, serde_json::to_vec(&p).expect("json")).expect("write");
}

#[test]
fn runs_of_other_training_code_are_refused_unless_restarted_or_allowed() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    trained(tmp.path(), &[]);
    let run = tmp.path().join("out/smoke/runs/tiny-s3");
    mark_trained_elsewhere(&run, "feedbeefcafe");
    let before = snapshot(&tmp.path().join("out/smoke"));
    let flags = |extra: &[&'static str]| {
        let mut f = vec!["--profile", "smoke"];
        f.extend_from_slice(extra);
        args(tmp.path(), &f)
    };
    let e = driver::run(&Tiny, &flags(&[]))
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains("tiny-s3") && e.contains("feedbeefca") && e.contains("--fresh-stale"),
        "{e}"
    );
    assert_eq!(
        snapshot(&tmp.path().join("out/smoke")),
        before,
        "refusal wrote"
    );

    // --allow-mixed reuses it as it is (nothing retrained).
    let metrics = std::fs::read(run.join("metrics.parquet")).expect("metrics");
    driver::run(&Tiny, &flags(&["--allow-mixed"])).expect("reuses");
    assert_eq!(
        std::fs::read(run.join("metrics.parquet")).expect("m"),
        metrics
    );

    // --fresh-stale trains it again, now recorded with this build's code.
    driver::run(&Tiny, &flags(&["--fresh-stale"])).expect("retrains");
    let p: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("provenance.json")).expect("p"))
            .expect("json");
    assert_eq!(p["training_code"], repro::provenance::TRAINING_CODE);
    assert!(run.join("status.json").is_file());
    // Its log is the new run's alone: the earlier run's lines went with its rows.
    let log = std::fs::read_to_string(run.join("train.log")).expect("train.log");
    assert_eq!(
        log.matches("started at iteration 0").count(),
        1,
        "the restarted run's log keeps the earlier run's lines:\n{log}"
    );
    // And a plain rerun now reuses it.
    driver::run(&Tiny, &flags(&[])).expect("reuses");
}

#[test]
fn a_report_from_two_training_codes_is_refused_unless_allowed() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    trained(tmp.path(), &["--seeds", "3,4"]);
    mark_trained_elsewhere(&tmp.path().join("out/smoke/runs/tiny-s4"), "feedbeefcafe");
    let report = tmp.path().join("out/smoke/report.md");
    let before = std::fs::read(&report).expect("report");
    let plot = |extra: &[&'static str]| {
        let mut f = vec!["--profile", "smoke", "--seeds", "3,4", "--plot-only"];
        f.extend_from_slice(extra);
        driver::run(&Tiny, &args(tmp.path(), &f))
    };
    let e = plot(&[]).expect_err("refused").to_string();
    assert!(
        e.contains("tiny-s4") && e.contains("tiny-s3") && e.contains("--allow-mixed"),
        "{e}"
    );
    assert_eq!(std::fs::read(&report).expect("report"), before);
    plot(&["--allow-mixed"]).expect("drawn");
    let text = std::fs::read_to_string(&report).expect("report");
    assert!(
        text.contains("feedbeefca"),
        "the report names the commits: {text}"
    );
    // And the training codes beside them: the other run's and this build's.
    let line = text
        .lines()
        .find(|l| l.starts_with("| training code |"))
        .unwrap_or_else(|| panic!("no training code in the header: {text}"));
    assert!(
        line.contains("00000000 (commit feedbeefca")
            && line.contains(repro::provenance::TRAINING_CODE),
        "{line}"
    );
}

#[test]
fn a_model_too_large_for_the_device_is_refused_before_it_is_built() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    setup(tmp.path(), TINY_EXPERIMENT);
    let e = driver::run(
        &Tiny,
        &args(
            tmp.path(),
            &["--profile", "smoke", "--set", "model.depth=1202000"],
        ),
    )
    .expect_err("refused")
    .to_string();
    assert!(
        e.contains("model.depth = 1202000") && e.contains("needs at least"),
        "{e}"
    );
    assert!(!tmp.path().join("out").exists(), "refusal wrote results");
    // The paper's deepest net fits the bound's arithmetic (ResNet-1202, Sec. 4.2):
    // a few GiB at its batch of 128, nowhere near an overflow.
    let cfg = repro::models::resnet::CifarResnetConfig {
        depth: 1202,
        residual: true,
        shortcut: Default::default(),
        block: Default::default(),
        width: 16,
        classes: 10,
    };
    let gib = cfg.min_training_bytes(128) as f64 / (1u64 << 30) as f64;
    assert!((1.0..64.0).contains(&gib), "ResNet-1202: {gib} GiB");
}

/// `provenance.json` of a run directory, parsed.
fn provenance(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("provenance.json")).expect("provenance"))
        .expect("json")
}

#[test]
fn reuse_runs_copies_a_run_of_the_same_recipe_and_trains_any_other() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    // The smoke profile's run, under <root>/out/smoke/runs/: the root is tmp.
    trained(tmp.path(), &[]);
    let root = tmp.path().display().to_string();
    let source = tmp.path().join("out/smoke/runs/tiny-s3");
    let run = |profile: &'static str, extra: &[&str]| {
        let mut f = vec!["--profile", profile, "--reuse-runs", root.as_str()];
        f.extend_from_slice(extra);
        driver::run(&Tiny, &args(tmp.path(), &f)).expect("runs");
    };

    // The quick profile's run has the same model, data, training config and
    // seed: it is copied, relabelled as quick's, and says where from.
    run("quick", &[]);
    let copy = tmp.path().join("out/quick/runs/tiny-s3");
    let mut cfg = tiny_run(3, &["train.iterations=10"]);
    cfg.profile = "quick".into();
    let status = RunDir::from_path(copy.clone())
        .ended_with(&cfg)
        .expect("a status of quick's config");
    assert_eq!(
        (status.status, status.iterations),
        (RunState::Completed, 10)
    );
    let rows = |d: &Path| repro::metrics::read_parquet(&d.join("metrics.parquet")).expect("rows");
    let (from, to) = (rows(&source), rows(&copy));
    assert!(!to.is_empty() && to.len() == from.len());
    for (f, t) in from.iter().zip(&to) {
        assert_eq!(
            (t.profile.as_str(), &t.config_hash),
            ("quick", &cfg.config_hash())
        );
        assert_ne!(f.config_hash, t.config_hash);
        let relabelled = repro::metrics::MetricRow {
            profile: f.profile.clone(),
            config_hash: f.config_hash.clone(),
            ..t.clone()
        };
        assert_eq!(&relabelled, f, "a copied row differs beyond its labels");
    }
    assert_eq!(
        std::fs::read(copy.join("final-weights.safetensors")).expect("weights"),
        std::fs::read(source.join("final-weights.safetensors")).expect("weights")
    );
    assert_eq!(
        provenance(&copy)["reused_from"],
        source.display().to_string()
    );
    let log = std::fs::read_to_string(copy.join("train.log")).expect("train.log");
    assert!(
        log.contains("reused, not retrained") && !log.contains("started at iteration"),
        "{log}"
    );
    assert!(tmp.path().join("out/quick/report.md").is_file());

    // Another recipe (a changed lr) trains.
    run("smoke", &["--set", "train.lr=0.02"]);
    let key =
        driver::variant_key(&["train.lr=0.02".parse().expect("override")], None).expect("a key");
    let other = tmp.path().join(format!("out/smoke-{key}/runs/tiny-s3"));
    assert!(provenance(&other).get("reused_from").is_none());
    assert!(std::fs::read_to_string(other.join("train.log"))
        .expect("train.log")
        .contains("started at iteration 0"));

    // Runs of other training code are no source: the paper profile trains.
    for p in ["smoke", "quick"] {
        mark_trained_elsewhere(
            &tmp.path().join("out").join(p).join("runs/tiny-s3"),
            "feedbeefcafe",
        );
    }
    run("paper", &[]);
    assert!(provenance(&tmp.path().join("out/paper/runs/tiny-s3"))
        .get("reused_from")
        .is_none());
}

/// Flips 4 bytes inside the last tensor's data of a safetensors file: the file
/// still parses, its numbers are wrong.
fn corrupt_weights(path: &Path) {
    let mut bytes = std::fs::read(path).expect("weights");
    let n = bytes.len();
    for b in &mut bytes[n - 8..n - 4] {
        *b ^= 0x5a;
    }
    std::fs::write(path, bytes).expect("write");
}

/// `status.json` of a run directory, parsed.
fn status_json(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("status.json")).expect("status")).expect("json")
}

#[test]
fn reuse_runs_refuses_final_weights_changed_after_they_were_written() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    trained(tmp.path(), &[]);
    let source = tmp.path().join("out/smoke/runs/tiny-s3");
    let weights = source.join("final-weights.safetensors");
    let written = repro::io::sha256_file(&weights).expect("sha");
    corrupt_weights(&weights);
    let found = repro::io::sha256_file(&weights).expect("sha");
    let root = tmp.path().display().to_string();
    let e = driver::run(
        &Tiny,
        &args(tmp.path(), &["--profile", "quick", "--reuse-runs", &root]),
    )
    .expect_err("copied corrupted weights")
    .to_string();
    assert!(
        e.contains(&weights.display().to_string()) && e.contains(&written) && e.contains(&found),
        "{e}"
    );
    assert!(
        !tmp.path().join("out/quick/runs/tiny-s3").exists(),
        "the refused run's directory was written"
    );
    // The digest the run recorded when it wrote its weights, in its status.
    assert_eq!(
        status_json(&source)["final_weights_sha256"],
        written.as_str()
    );
}

#[test]
fn reuse_runs_passes_over_final_weights_without_a_recorded_digest() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    trained(tmp.path(), &[]);
    let source = tmp.path().join("out/smoke/runs/tiny-s3");
    // As a run written before digests were recorded.
    let mut status = status_json(&source);
    status
        .as_object_mut()
        .expect("an object")
        .remove("final_weights_sha256");
    std::fs::write(source.join("status.json"), status.to_string()).expect("write");

    let root = tmp.path().display().to_string();
    driver::run(
        &Tiny,
        &args(tmp.path(), &["--profile", "quick", "--reuse-runs", &root]),
    )
    .expect("trains");
    let own = tmp.path().join("out/quick/runs/tiny-s3");
    assert!(provenance(&own).get("reused_from").is_none());
    assert!(std::fs::read_to_string(own.join("train.log"))
        .expect("train.log")
        .contains("started at iteration 0"));
}

/// `--plot-only` without `--profile` redraws each profile that has results
/// (and only those); with none it is bad input naming where it looked, and
/// draws nothing. `--profile` defaults to `paper` otherwise.
#[test]
fn plot_only_without_a_profile_redraws_every_profile_with_results() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    setup(
        tmp.path(),
        &TINY_EXPERIMENT.replace("iterations = 40", "iterations = 10"),
    );
    let e = driver::run(&Tiny, &args(tmp.path(), &["--plot-only"])).expect_err("nothing to draw");
    assert_eq!(repro::exit::code_of(&e), repro::exit::BAD_INPUT, "{e:#}");
    assert!(
        format!("{e:#}").contains("no profile of t has results"),
        "{e:#}"
    );
    assert!(
        !tmp.path().join("out").exists(),
        "a refusal wrote something"
    );

    driver::run(&Tiny, &args(tmp.path(), &["--profile", "smoke"])).expect("trains smoke");
    let report = tmp.path().join("out/smoke/report.md");
    std::fs::remove_file(&report).expect("rm report");
    driver::run(&Tiny, &args(tmp.path(), &["--plot-only"])).expect("redraws");
    assert!(report.is_file(), "smoke's report was not redrawn");
    for other in ["paper", "quick"] {
        assert!(
            !tmp.path().join("out").join(other).exists(),
            "{other} has no results and must not be drawn"
        );
    }
    assert_eq!(args(tmp.path(), &[]).profile(), "paper");
}

#[test]
fn list_profiles_shows_each_profile_with_its_fidelity() {
    let text = TINY_EXPERIMENT.replace(
        "[profiles.quick]\ndescription = \"test\"\nfidelity = \"shortened\"",
        "[profiles.quick]\ndescription = \"test\"\nfidelity = \"analogue\"",
    );
    let file = repro::config::ExperimentFile::parse(&text, Path::new("t.toml")).expect("parse");
    let listing = driver::profiles_listing(&file);
    assert!(
        listing.contains("quick (analogue): 1 run(s) x seeds 3: test"),
        "{listing}"
    );
    assert!(listing.contains("smoke (shortened)"), "{listing}");
}
