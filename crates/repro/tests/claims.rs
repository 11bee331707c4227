//! One experiment's claims end to end on a tiny run: the claims file beside
//! the paper's numbers is read before training, the experiment measures each
//! claim per arm and seed, `report::judge` decides, and `claims.json` and
//! `report.md` carry the verdicts, their numbers and the sections.
use repro::report::{ClaimsFile, Measured, Section, Test};
use repro::testing::{rng_lock, snapshot, tiny_args, tiny_setup, TINY_EXPERIMENT};
use std::path::Path;

/// The tiny experiment measuring every claim of its claims file from its runs.
struct Measuring;

impl repro::driver::Experiment for Measuring {
    fn name(&self) -> &'static str {
        "t"
    }
    fn figures(&self, _: &repro::driver::Results) -> Vec<(String, repro::figures::Figure)> {
        Vec::new()
    }
    fn tables(&self, _: &repro::driver::Results) -> Vec<repro::report::Table> {
        Vec::new()
    }
    fn claims(&self, res: &repro::driver::Results) -> Vec<Measured> {
        res.measure_all()
    }
}

const NUMBERS: &str = "experiment,key,value,unit,source,quote\nt,fig1.gap,2,points,Fig. 1,\n";

/// A claim decided by `decided_by`, and an early-training check decided by smoke.
fn claims_file(decided_by: &str) -> String {
    format!(
        r#"
[[claim]]
experiment = "t"
id = "1"
kind = "directional"
statement = "the residual net has a lower test error than the plain one"
quote = "residual learning helps"
source = "Fig. 1"
arms = ["tiny", "tiny-plain"]
quantity = "test_error"
direction = "lower"
numbers = ["fig1.gap"]
effect = {{ keys = ["fig1.gap"] }}
decided_by = [{decided_by}]

[[early]]
experiment = "t"
id = "1e"
kind = "directional"
statement = "after ten iterations, the residual net's training error is below the plain one's"
quote = "residual learning helps"
source = "Fig. 1"
arms = ["tiny", "tiny-plain"]
quantity = "train_error"
direction = "lower"
decided_by = ["smoke"]
"#
    )
}

fn setup(dir: &Path, claims: &str) {
    let papers = dir.join("papers");
    std::fs::create_dir_all(&papers).expect("mkdir");
    std::fs::write(papers.join("t.csv"), NUMBERS).expect("csv");
    std::fs::write(papers.join("t.claims.toml"), claims).expect("claims");
    let toml = TINY_EXPERIMENT
        .replace("paper = \"test\"", "paper = \"test\"\nnumbers = \"papers/t.csv\"")
        .replace("iterations = 40", "iterations = 10")
        .replace("runs = [\"tiny\"]", "runs = [\"tiny\", \"tiny-plain\"]")
        + "[runs.tiny-plain]\nmodel = { family = \"cifar-resnet\", depth = 8, residual = false, width = 8 }\n";
    tiny_setup(dir, &toml);
}

#[test]
fn an_experiments_claims_are_judged_from_its_claims_file_end_to_end() {
    let _rng = rng_lock();
    let tmp = tempfile::tempdir().expect("tmp");
    setup(tmp.path(), &claims_file("\"paper\""));
    let args = |extra: &[&str]| {
        let base = ["--profile", "smoke", "--seeds", "1,2,3"];
        tiny_args(tmp.path(), &[&base[..], extra].concat())
    };
    repro::driver::run(&Measuring, &args(&[])).expect("trains and reports");
    let out = tmp.path().join("out/smoke");
    let file = ClaimsFile::read(&out.join("claims.json")).expect("claims.json");
    assert_eq!(file.claims.len(), 2, "{:?}", file.claims);
    let (claim, early) = (&file.claims[0], &file.claims[1]);
    // Outside its regime (the paper profile, as written): NOT DECIDED, with
    // the numbers of the test it would take.
    assert_eq!(claim.verdict.name(), "NOT DECIDED", "{claim:?}");
    assert!(claim.verdict.label().contains("profile paper"), "{claim:?}");
    let n = &claim.numbers;
    assert_eq!(
        (n.n_a, n.n_b, n.test),
        (Some(3), Some(3), Some(Test::WelchOneSided))
    );
    assert!(
        n.effect.is_some_and(f64::is_finite) && n.p.is_some(),
        "{claim:?}"
    );
    assert!(claim.paper.contains("fig1.gap"), "{}", claim.paper);
    assert_eq!(early.section, Section::Early);
    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    for part in [
        "### Claims decided at this budget",
        "### Claims not decided at this budget",
        "### Early-training checks",
        "Holm",
    ] {
        assert!(report.contains(part), "no {part:?} in\n{report}");
    }
    // A claims file naming a profile the experiment lacks stops the binary
    // before anything is trained or written, naming the file and the profile.
    std::fs::write(
        tmp.path().join("papers/t.claims.toml"),
        claims_file("\"nowhere\""),
    )
    .expect("write");
    let before = snapshot(&out);
    let e = repro::driver::run(&Measuring, &args(&["--plot-only"]))
        .expect_err("an unknown profile")
        .to_string();
    assert!(
        e.contains("t.claims.toml") && e.contains("`nowhere`"),
        "{e}"
    );
    assert!(before == snapshot(&out), "the report was rewritten");
}
