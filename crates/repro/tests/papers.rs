//! The papers' numbers live in `experiments/papers/*.csv` and nowhere else:
//! every file loads, every experiment names its file, no experiment crate
//! carries a literal copy of one of its numbers, and every committed report
//! quotes the numbers of its experiment.
use repro::config::ExperimentFile;
use repro::papers::{PaperNumber, PaperNumbers};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every experiment file with its paper numbers.
fn experiments() -> Vec<(ExperimentFile, PaperNumbers)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root().join("experiments")).expect("experiments/") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "toml") {
            let f = ExperimentFile::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let numbers = f
                .numbers
                .clone()
                .unwrap_or_else(|| panic!("{}: no `experiment.numbers`", p.display()));
            let n = PaperNumbers::load(&numbers)
                .unwrap_or_else(|e| panic!("{}: {e}", numbers.display()));
            out.push((f, n));
        }
    }
    assert!(out.len() >= 11, "found {} experiments", out.len());
    out
}

#[test]
fn every_experiment_has_numbers_and_every_number_an_experiment() {
    let exps = experiments();
    let names: Vec<&str> = exps.iter().map(|(f, _)| f.name.as_str()).collect();
    for (f, n) in &exps {
        assert!(
            n.of_experiment(&f.name).count() > 0,
            "{}: its numbers file {} has no row for it",
            f.name,
            n.path.display()
        );
        for row in n.iter() {
            assert!(
                names.contains(&row.experiment.as_str()),
                "{}: `{}` names experiment `{}`, which does not exist",
                n.path.display(),
                row.key,
                row.experiment
            );
        }
    }
}

/// A number's text as a literal would spell it ("6.97", "28.54", "13"), for
/// the numbers specific enough to find: three digits or more, or a whole
/// number of two digits or more. Shorter ones ("2", "0.1", "1.5") also occur
/// as ordinary code (a tail fraction, a factor) and are not searched.
fn literal(n: &PaperNumber) -> Option<String> {
    let v = n.value?;
    let s = format!("{v}");
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (digits >= 3 || (!s.contains('.') && digits >= 2)).then_some(s)
}

/// Whether `text` holds `lit` as a number of its own (not inside a longer
/// number or a name such as `table1.5a`).
fn contains_number(text: &str, lit: &str) -> bool {
    let joined = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '_';
    text.match_indices(lit).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + lit.len()..].chars().next();
        !before.is_some_and(joined) && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[test]
fn experiment_crates_carry_no_copy_of_their_paper_numbers() {
    let mut copies = Vec::new();
    for (f, n) in experiments() {
        let src = root().join("crates").join(&f.name).join("src/main.rs");
        let text = std::fs::read_to_string(&src).expect("main.rs");
        // Comments may cite a number; code and strings may not.
        let code: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        for row in n.of_experiment(&f.name) {
            if let Some(lit) = literal(row) {
                if contains_number(&code, &lit) {
                    copies.push(format!("{}: {lit} (`{}`)", src.display(), row.key));
                }
            }
        }
    }
    assert!(
        copies.is_empty(),
        "paper numbers written in code instead of read from experiments/papers/:\n{}",
        copies.join("\n")
    );
}

#[test]
fn the_literal_check_sees_a_copy() {
    assert!(contains_number("paper: \"6.97%\"", "6.97"));
    assert!(contains_number("(\"resnet-20\", 8.75)", "8.75"));
    assert!(!contains_number("16.97", "6.97"));
    assert!(!contains_number("6.975", "6.97"));
    assert!(!contains_number("table1.5a", "1.5"));
    assert!(contains_number("error rate of 13%", "13"));
}

#[test]
fn committed_reports_quote_their_papers_numbers() {
    let mut missing = Vec::new();
    for (f, n) in experiments() {
        let report = root().join("results").join(&f.name).join("quick/report.md");
        let Ok(text) = std::fs::read_to_string(&report) else {
            missing.push(format!("{}: no committed quick report", f.name));
            continue;
        };
        for row in n.of_experiment(&f.name) {
            // The number as printed, or the paper's own words that carry it.
            let quoted = (row.value.is_some() && text.contains(&row.show()))
                || (!row.quote.is_empty() && text.contains(&row.quote));
            if !quoted {
                missing.push(format!(
                    "{}: `{}` ({})",
                    report.display(),
                    row.key,
                    row.show()
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "reports that do not quote their paper's numbers:\n{}",
        missing.join("\n")
    );
}

/// Quotes the paper's number under its key in a table (as the experiment
/// crates do), on the tiny experiment.
struct Quoting(String);

impl repro::driver::Experiment for Quoting {
    fn name(&self) -> &'static str {
        "t"
    }
    fn figures(&self, _: &repro::driver::Results) -> Vec<(String, repro::figures::Figure)> {
        Vec::new()
    }
    fn tables(&self, res: &repro::driver::Results) -> Vec<repro::report::Table> {
        vec![repro::report::Table {
            title: "t".into(),
            header: vec!["paper".into()],
            rows: vec![vec![res.paper.cite(&self.0)]],
            note: String::new(),
        }]
    }
    fn claims(&self, _: &repro::driver::Results) -> Vec<repro::report::Measured> {
        Vec::new()
    }
}

#[test]
fn a_quoted_number_missing_from_its_csv_stops_the_report_naming_file_and_key() {
    use repro::testing::{rng_lock, snapshot, tiny_args, tiny_setup, TINY_EXPERIMENT};
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    // A temporary copy of a committed numbers file without its first row.
    let text = std::fs::read_to_string(root().join("experiments/papers/resnet-2015.csv"))
        .expect("committed CSV");
    let mut lines: Vec<&str> = text.lines().collect();
    let deleted = lines.remove(1);
    let key = |line: &str| line.split(',').nth(1).expect("key").to_string();
    let (gone, kept) = (key(deleted), key(lines[1]));
    let csv = tmp.path().join("papers/resnet-2015.csv");
    std::fs::create_dir_all(csv.parent().expect("dir")).expect("mkdir");
    std::fs::write(&csv, lines.join("\n") + "\n").expect("write");
    let toml = TINY_EXPERIMENT
        .replace(
            "paper = \"test\"",
            "paper = \"test\"\nnumbers = \"papers/resnet-2015.csv\"",
        )
        .replace("iterations = 40", "iterations = 10");
    tiny_setup(tmp.path(), &toml);
    let args = |extra: &[&str]| tiny_args(tmp.path(), &[&["--profile", "smoke"], extra].concat());
    repro::driver::run(&Quoting(kept.clone()), &args(&[])).expect("trains and reports");
    let out = tmp.path().join("out/smoke");
    let before = snapshot(&out);
    // The row's key, quoted after the row was deleted: an error naming the
    // file and the key, and the last report left as it was.
    let e = repro::driver::run(&Quoting(gone.clone()), &args(&["--plot-only"]))
        .expect_err("a quoted key the CSV lacks")
        .to_string();
    assert!(
        e.contains(&csv.display().to_string()) && e.contains(&format!("`{gone}`")),
        "{e}"
    );
    assert!(before == snapshot(&out), "the report was rewritten");
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .expect("report.md")
            .contains(&PaperNumbers::load(&csv).expect("csv").cite(&kept)),
        "the first report quotes `{kept}`"
    );
}
