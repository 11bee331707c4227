//! Experiment files: resolution order, strict keys, clear errors.
use repro::config::{ExperimentFile, Fidelity, Override};
use repro::models::{ModelConfig, ShortcutOption};
use std::path::Path;

const FILE: &str = r#"
[experiment]
name = "t"
title = "t"
paper = "t"
[defaults.data]
normalize = "per-pixel-mean"
augment = "pad4-crop-flip"
[defaults.train]
batch_size = 128
iterations = 64_000
lr = 0.1
schedule = { kind = "step", lr_drops_at = [32_000, 48_000], factor = 0.1 }
momentum = 0.9
weight_decay = 1e-4
velocity = "lr-inside"
log_every = 100
eval_every = 1_000
checkpoint_every = 2_000
[runs.resnet-110]
model = { family = "cifar-resnet", depth = 110, residual = true }
train.warmup = { lr = 0.01, until_train_error_below = 0.8 }
[runs.plain-20]
model = { family = "cifar-resnet", depth = 20, residual = false }
[profiles.paper]
description = "paper"
fidelity = "paper"
runs = ["resnet-110", "plain-20"]
seeds = [1, 2]
[profiles.quick]
description = "short"
fidelity = "shortened"
runs = ["plain-20"]
seeds = [1]
train.iterations = 1_200
train.schedule = { kind = "plateau", factor = 0.1, patience = 3, max_drops = 2 }
"#;

fn parse(text: &str) -> Result<ExperimentFile, String> {
    ExperimentFile::parse(text, Path::new("experiments/t.toml")).map_err(|e| e.to_string())
}

#[test]
fn resolves_defaults_profile_run_and_overrides_in_order() {
    let f = parse(FILE).expect("valid");
    let c = f.resolve("paper", "resnet-110", 2, &[]).expect("resolves");
    assert_eq!(c.train.iterations, 64_000);
    assert_eq!(c.train.warmup.as_ref().map(|w| w.lr), Some(0.01));
    assert_eq!(c.run_id(), "resnet-110-s2");
    assert!(matches!(
        c.model,
        ModelConfig::CifarResnet(repro::models::CifarResnetConfig {
            depth: 110,
            residual: true,
            shortcut: ShortcutOption::A,
            ..
        })
    ));
    let q = f.resolve("quick", "plain-20", 1, &[]).expect("resolves");
    assert_eq!(q.train.iterations, 1_200);
    // A schedule of another kind replaces the default one whole (no field mixing).
    assert_eq!(
        q.train.schedule,
        repro::config::Schedule::Plateau {
            factor: 0.1,
            patience: 3,
            max_drops: 2
        }
    );
    // The test set never decides the learning rate: a plateau schedule
    // without a validation split is refused, naming both keys.
    let why = q
        .train
        .check_with(&q.data)
        .expect_err("no validation split");
    assert!(
        why.contains("data.validation") && why.contains("plateau"),
        "{why}"
    );
    let mut held_out = q.data.clone();
    held_out.validation = 5_000;
    assert_eq!(q.train.check_with(&held_out), Ok(()));
    let o: Override = "train.lr=0.05".parse().expect("override");
    let q = f.resolve("quick", "plain-20", 1, &[o]).expect("resolves");
    assert_eq!(q.train.lr, 0.05);
    // Seeds share a config hash; a different recipe does not.
    let a = f.resolve("paper", "plain-20", 1, &[]).expect("ok");
    let b = f.resolve("paper", "plain-20", 2, &[]).expect("ok");
    assert_eq!(a.config_hash(), b.config_hash());
    assert_ne!(a.config_hash(), q.config_hash());
    // The saved config parses back to the same thing.
    let back: repro::config::RunConfig =
        toml::from_str(&a.to_toml().expect("toml")).expect("parses back");
    assert_eq!(back, a);
}

#[test]
fn unknown_keys_are_rejected_naming_the_key() {
    let e = parse(&FILE.replace("momentum = 0.9", "momentum = 0.9\nmomentun = 0.9"))
        .expect("file parses")
        .resolve("paper", "plain-20", 1, &[])
        .unwrap_err();
    assert!(e.to_string().contains("momentun"), "{e}");
    let e = parse(&FILE.replace("[experiment]", "[experimnt]")).unwrap_err();
    assert!(e.contains("experimnt"), "{e}");
    // Unknown keys under [experiment] are refused too, naming the key.
    let e = parse(&FILE.replace("[experiment]\n", "[experiment]\nauthor = \"x\"\n")).unwrap_err();
    assert!(e.contains("author") && e.contains("[experiment]"), "{e}");
    let e = parse(&FILE.replace(
        "depth = 20, residual = false",
        "depth = 20, residual = false, shortcutt = \"A\"",
    ))
    .expect("file parses")
    .resolve("paper", "plain-20", 1, &[])
    .unwrap_err();
    assert!(e.to_string().contains("shortcutt"), "{e}");
}

#[test]
fn invalid_values_are_rejected_naming_the_key() {
    let f = parse(&FILE.replace("depth = 20,", "depth = 21,")).expect("parses");
    let e = f
        .resolve("paper", "plain-20", 1, &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("model.depth") && e.contains("6n+2") && e.contains("21"),
        "{e}"
    );
    for (set, key) in [
        ("train.lr=-0.1", "train.lr"),
        ("train.batch_size=0", "train.batch_size"),
        ("train.lr=0", "train.lr"),
    ] {
        let o: Override = set.parse().expect("override");
        let e = parse(FILE)
            .expect("ok")
            .resolve("paper", "plain-20", 1, &[o])
            .unwrap_err()
            .to_string();
        assert!(e.contains(key), "{set}: {e}");
    }
    let e = parse(&FILE.replace(
        "lr_drops_at = [32_000, 48_000]",
        "lr_drops_at = [48_000, 32_000]",
    ))
    .expect("ok")
    .resolve("paper", "plain-20", 1, &[])
    .unwrap_err()
    .to_string();
    assert!(e.contains("lr_drops_at"), "{e}");
    let e = parse(&FILE.replace("velocity = \"lr-inside\"", "velocity = \"sideways\""))
        .expect("ok")
        .resolve("paper", "plain-20", 1, &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("sideways"), "{e}");
}

#[test]
fn malformed_toml_and_unknown_profiles_and_runs() {
    let e = parse("[experiment\nname = 1").unwrap_err();
    assert!(
        e.contains("malformed TOML") && e.contains("experiments/t.toml"),
        "{e}"
    );
    let f = parse(FILE).expect("ok");
    assert!(f.profile("fast").unwrap_err().to_string().contains("fast"));
    let e = parse(&FILE.replace("runs = [\"plain-20\"]", "runs = [\"plain-21\"]")).unwrap_err();
    assert!(e.contains("plain-21"), "{e}");
    assert!("train.lr".parse::<Override>().is_err());
    assert!("bogus.lr=1".parse::<Override>().is_err());
    // There is no free-form table a typo could hide in.
    let e = "extra.foo=1".parse::<Override>().unwrap_err();
    assert!(e.contains("extra.foo"), "{e}");
}

#[test]
fn the_shipped_experiment_files_resolve() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("experiments/") {
        let path = e.expect("entry").path();
        if path.extension().is_some_and(|x| x == "toml") {
            let f = ExperimentFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
            for (name, p) in &f.profiles {
                for r in &p.runs {
                    f.resolve(name, r, p.seeds[0], &[])
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                }
            }
            assert!(
                f.profiles.contains_key("paper")
                    && f.profiles.contains_key("quick")
                    && f.profiles.contains_key("smoke")
            );
            // A `paper` profile is the paper's experiment or an analogue of it,
            // never a shortened budget; `quick` and `smoke` are shortened.
            assert_ne!(
                f.profiles["paper"].fidelity,
                Fidelity::Shortened,
                "{}: profile `paper` is labelled shortened",
                path.display()
            );
            for short in ["quick", "smoke"] {
                assert_eq!(
                    f.profiles[short].fidelity,
                    Fidelity::Shortened,
                    "{}: profile `{short}`",
                    path.display()
                );
            }
            n += 1;
        }
    }
    assert!(n >= 1);
}
