//! The committed results stay readable by this code: every run's saved config
//! parses and hashes to the hash its status file (and its metrics rows) recorded.
//! A change to the config types that would orphan them (a renamed field, a
//! changed default, a new field serialised when at its default) fails here.
use repro::config::RunConfig;
use std::path::{Path, PathBuf};

fn run_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.join("status.json").is_file() && p.join("config.toml").is_file() {
            out.push(p);
        } else if p.is_dir() {
            run_dirs(&p, out);
        }
    }
}

/// Runs trained before a field joined the hashed form (serialised at its
/// default since): their recorded hash differs from the one their config has
/// now, at every commit since, and the driver matches them by comparing the
/// saved config as data instead.
const HASHED_BEFORE_A_FIELD_WAS_ADDED: &[&str] = &[
    "alexnet-relu-vs-tanh/quick/runs/relu-lr3e-3-s1",
    "alexnet-relu-vs-tanh/quick/runs/tanh-lr1e-2-s1",
];

#[test]
fn committed_run_configs_parse_and_keep_their_hashes() {
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results");
    let mut dirs = Vec::new();
    run_dirs(&results, &mut dirs);
    assert!(dirs.len() >= 20, "found only {} committed runs", dirs.len());
    let mut wrong = Vec::new();
    for dir in dirs {
        let text = std::fs::read_to_string(dir.join("config.toml")).expect("config.toml");
        let cfg =
            RunConfig::from_saved_toml(&text).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let status: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("status.json")).expect("status"))
                .expect("status json");
        let rel = dir.strip_prefix(&results).unwrap_or(&dir).to_string_lossy();
        if HASHED_BEFORE_A_FIELD_WAS_ADDED.contains(&rel.as_ref()) {
            continue;
        }
        if Some(cfg.config_hash().as_str()) != status["config_hash"].as_str() {
            wrong.push(format!(
                "{}: {} now, {} recorded",
                dir.display(),
                cfg.config_hash(),
                status["config_hash"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
