//! The documentation against the repository it describes: `README.md` and
//! `docs/*.md`, read from the repository root.
//!
//! Numbers. The README is a front door: it quotes no measurement at all (see
//! `docs_check::numbers` for what counts: durations, sizes, throughputs,
//! percentages other than the papers' own, percentage points, factors,
//! p-values, test counts) and no history (dates, issue references, commit
//! hashes); it links the generated files instead (`results/SUMMARY.md`,
//! `results/<experiment>/<profile>/report.md`, `results/benchmarks/`). In
//! `docs/` history is forbidden too, and a measured-looking number is allowed
//! only where its paragraph links a file that contains the same number (the
//! generated result, or the source that defines a default such as the
//! nightly's budget): change the file and the doc fails until it follows.
//! Every checker has unit tests in `src/` that feed it a bad input.
use docs_check::{docs_files, documents, experiments, gpu, links, numbers, repo_root, schema};

/// The README's length limit.
const README_MAX_LINES: usize = 150;

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn paper_numbers() -> numbers::PaperNumbers {
    numbers::PaperNumbers::load(&repo_root().join("experiments/papers")).expect("papers' numbers")
}

fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_readmes_experiments_table_lists_every_experiment_file_with_its_profiles() {
    let files =
        experiments::from_tomls(&repo_root().join("experiments")).expect("experiments/*.toml");
    assert!(!files.is_empty());
    let table =
        experiments::from_readme(&read("README.md")).expect("the README's experiments table");
    assert_none(experiments::differences(&table, &files));
}

#[test]
fn every_relative_link_resolves() {
    let root = repo_root();
    let problems = documents(&root)
        .iter()
        .flat_map(|(path, text)| links::broken(&root, path, text))
        .collect();
    assert_none(problems);
}

#[test]
fn the_readme_links_every_doc() {
    assert_none(links::unlinked_docs(
        &read("README.md"),
        &docs_files(&repo_root()),
    ));
}

#[test]
fn the_readme_is_short_and_types_no_measurement() {
    assert_none(numbers::readme_problems(
        &read("README.md"),
        &paper_numbers(),
        README_MAX_LINES,
    ));
}

#[test]
fn numbers_in_docs_come_with_their_source_and_match_it() {
    let root = repo_root();
    let paper = paper_numbers();
    let problems = documents(&root)
        .iter()
        .filter(|(path, _)| path.starts_with("docs"))
        .flat_map(|(path, text)| numbers::doc_problems(&root, path, text, &paper))
        .collect();
    assert_none(problems);
}

#[test]
fn the_documented_parquet_columns_are_the_codes() {
    let root = repo_root();
    let sources = schema::metrics_sources(&root);
    assert!(
        !sources.is_empty(),
        "no crates/*/src/metrics.rs with a `| column | type | meaning |` table"
    );
    let doc = schema::doc_columns(&read("docs/results-format.md"))
        .expect("docs/results-format.md: the column table");
    for source in sources {
        let text = std::fs::read_to_string(&source).expect("metrics source");
        let code = schema::code_columns(&text).expect("schema table");
        let problems: Vec<String> = schema::differences(&code, &doc)
            .into_iter()
            .map(|p| format!("docs/results-format.md vs {}: {p}", source.display()))
            .collect();
        assert_none(problems);
    }
}

#[test]
fn what_docs_gpu_says_agrees_with_results() {
    let evidence = gpu::gpu_evidence(&repo_root().join("results"));
    assert_none(gpu::problems(&read("docs/gpu.md"), &evidence));
}
