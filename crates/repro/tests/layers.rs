//! The core crate's modules follow the data flow, and imports point only
//! upstream: a module may use the ones it builds on, never one that builds on
//! it. This test reads every source file's `crate::<module>` paths and checks
//! them against the layers below (see the crate documentation in lib.rs).
use std::collections::BTreeMap;
use std::path::Path;

/// Each module's layer: a module imports only modules of lower layers.
const LAYERS: &[(&str, u32)] = &[
    ("error", 0),
    // Foundations: no knowledge of models, data or training.
    ("io", 1),
    ("layout", 1),
    ("progress", 1),
    ("provenance", 1),
    ("gpu_probe", 1),
    ("papers", 1),
    ("registry", 1),
    // The exit-status table every binary ends with.
    ("exit", 1),
    // What `--version` prints (the training-code hash is provenance's).
    ("version", 2),
    // Builders with their own configs.
    ("models", 2),
    // The experiment file and the resolved run config (which holds a model config).
    ("config", 3),
    // Sources and augmentation; numerics; the metrics schema.
    ("data", 4),
    ("precision", 4),
    ("metrics", 4),
    // Running a network over test views.
    ("eval", 5),
    // The loop, optimizer, schedules, checkpoints.
    ("train", 6),
    // Tables and claims from metrics.
    ("report", 7),
    // The shared command line and run directories.
    ("driver", 8),
    // Figure panels drawn from a driver's results.
    ("plot", 9),
    // Test and benchmark support may use everything.
    ("bench", 9),
    ("testing", 9),
];

fn layer(module: &str) -> Option<u32> {
    // `crate::Error`/`crate::Result` are the error module's re-exports.
    let module = match module {
        "Error" | "Result" => "error",
        m => m,
    };
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src").flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The `crate::<name>` paths in `text`, outside comments.
fn crate_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
            rest = after;
        }
    }
    found
}

#[test]
fn modules_import_only_upstream() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("path");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        // The binaries, and unit-test modules (which may use test support), are outside the flow.
        if module == "lib" || module == "bin" || rel.ends_with("tests.rs") {
            continue;
        }
        let own =
            layer(&module).unwrap_or_else(|| panic!("module `{module}` has no layer in this test"));
        let text = std::fs::read_to_string(&file).expect("read");
        for used in crate_paths(&text) {
            let Some(l) = layer(&used) else {
                continue;
            };
            let used_module = if used == "Error" || used == "Result" {
                "error"
            } else {
                &used
            };
            if used_module != module && l >= own {
                wrong
                    .entry(rel.display().to_string())
                    .or_default()
                    .push(format!("crate::{used} (layer {l}, this module {own})"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the data flow: {wrong:#?}"
    );
}

#[test]
fn the_check_sees_a_downstream_import() {
    let paths = crate_paths("use crate::train::TrainData; // crate::driver in a comment");
    assert_eq!(paths, vec!["train".to_string()]);
    assert!(layer("train") > layer("data"));
}
