//! Every experiment is three things that must agree: `experiments/<name>.toml`
//! (whose `[experiment] name` is its stem), the crate `crates/<name>` (package
//! `<name>`), and that crate's `Experiment::name`, which the driver checks
//! against the crate's `CARGO_PKG_NAME` at start-up (`driver::main`) and
//! against the TOML's name when it loads the file. This test checks the first
//! two and that every binary passes its package name to the driver; the
//! experiments' smoke tests run each binary, so a wrong `Experiment::name`
//! fails there.
use repro::config::ExperimentFile;
use std::path::Path;

#[test]
fn experiment_files_crates_and_names_agree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut seen = 0;
    for e in std::fs::read_dir(root.join("experiments"))
        .expect("experiments/")
        .flatten()
    {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        seen += 1;
        let stem = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .to_string();
        let file = ExperimentFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file.name, stem, "{}: experiment.name", path.display());
        assert!(
            !file.title.is_empty() && !file.paper.is_empty(),
            "{stem}: title and paper"
        );
        let manifest = std::fs::read_to_string(root.join("crates").join(&stem).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("{stem}: no crate crates/{stem} ({e})"));
        assert!(
            manifest.contains(&format!("name = \"{stem}\"")),
            "crates/{stem}/Cargo.toml: package name is not `{stem}`"
        );
        let main = std::fs::read_to_string(root.join("crates").join(&stem).join("src/main.rs"))
            .expect("main.rs");
        assert!(
            main.contains("repro::driver::main(") && main.contains("env!(\"CARGO_PKG_NAME\")"),
            "crates/{stem}/src/main.rs: must call repro::driver::main(.., env!(\"CARGO_PKG_NAME\"))"
        );
        assert!(
            main.contains(&format!("\"{stem}\"")),
            "crates/{stem}/src/main.rs: Experiment::name should return \"{stem}\""
        );
    }
    assert!(seen >= 10, "only {seen} experiment files");
}
