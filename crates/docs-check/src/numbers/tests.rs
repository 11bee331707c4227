use super::*;

fn paper() -> PaperNumbers {
    PaperNumbers(vec![
        (25.0, "%".into()),
        (6.0, "x".into()),
        (8.75, "%".into()),
    ])
}

fn kinds(line: &str) -> Vec<Kind> {
    scan(line, &paper()).into_iter().map(|f| f.kind).collect()
}

#[test]
fn measurements_are_caught() {
    assert_eq!(
        kinds("with the build done it took 31 minutes"),
        [Kind::Duration]
    );
    assert_eq!(
        kinds("quick: 26 min on a Xeon, 22.1 days for paper"),
        [Kind::Duration, Kind::Duration]
    );
    assert_eq!(
        kinds("a 23-hour timeout, 30 s apart"),
        [Kind::Duration, Kind::Duration]
    );
    assert_eq!(
        kinds("357 tests; 192 test functions"),
        [Kind::TestCount, Kind::TestCount]
    );
    assert_eq!(kinds("ResNet-56 at 78.92% test error"), [Kind::Percent]);
    assert_eq!(kinds("gap 5.97 vs 2.27 points"), [Kind::Points]);
    assert_eq!(
        kinds("1.63x PyTorch, 518 img/s"),
        [Kind::Factor, Kind::Throughput]
    );
    assert_eq!(kinds("the wheel is about 4.7 GB"), [Kind::Size]);
    assert_eq!(
        kinds("PASS (p = 0.045), p<0.05"),
        [Kind::PValue, Kind::PValue]
    );
}

#[test]
fn history_is_caught() {
    assert_eq!(kinds("the nightly of 2026-12-03"), [Kind::Date]);
    assert_eq!(kinds("see issue 18 and #6"), [Kind::Issue, Kind::Issue]);
    assert_eq!(kinds("trained at 0284fa1"), [Kind::Hash]);
    assert!(Kind::Hash.is_history() && !Kind::Duration.is_history());
}

#[test]
fn versions_names_shapes_and_paper_numbers_pass() {
    for line in [
        "Rust 1.89 or newer, torch==2.13.0, tch 0.26, Python 3",
        "ResNet-56, plain-20, cu130, fp32, bf16, 3x3 and 1x1 convs, a 2x2 score map",
        "Fig. 1's 25% training error; about 6x faster; Table 6: 8.75%",
        "`--set train.iterations=2000`, results/<exp>/<profile>/, 10,000 test images, 64k iterations",
        "a sweep step = 3; deadbeef; 20-1202 layers; exit status 75; plateau(p=3,f=0.1)",
    ] {
        assert_eq!(kinds(line), [], "{line}");
    }
}

#[test]
fn the_readme_check_reports_length_and_numbers() {
    let long = "x\n".repeat(151);
    assert_eq!(readme_problems(&long, &paper(), 150).len(), 1);
    assert!(readme_problems(&"x\n".repeat(150), &paper(), 150).is_empty());
    let p = readme_problems("ok\n`scripts/test` takes 31 minutes\n", &paper(), 150);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("README.md:2: Duration `31`"), "{p:?}");
}

#[test]
fn a_docs_number_needs_its_source_linked() {
    let root = crate::repo_root();
    let doc = Path::new("docs/x.md");
    let paper = paper();
    // 180 is the nightly's default budget, in its source.
    let tied = "The budget is 180 minutes ([source](../crates/nightly/src/main.rs)).";
    assert_eq!(doc_problems(&root, doc, tied, &paper), Vec::<String>::new());
    let untied = "The budget is 181 minutes ([source](../crates/nightly/src/main.rs)).";
    assert_eq!(doc_problems(&root, doc, untied, &paper).len(), 1);
    let unlinked = "The budget is 180 minutes.\n\n[source](../crates/nightly/src/main.rs)";
    assert_eq!(doc_problems(&root, doc, unlinked, &paper).len(), 1);
    let dated = "Measured on 2026-12-03 ([source](../crates/nightly/src/main.rs)).";
    let p = doc_problems(&root, doc, dated, &paper);
    assert!(p.len() == 1 && p[0].contains("dates the text"), "{p:?}");
}

#[test]
fn whole_numbers_only() {
    assert!(contains_number("default: 180 for", "180"));
    assert!(contains_number("then_some(180.0)", "180"));
    assert!(contains_number("10000 images", "10,000"));
    assert!(!contains_number("1800 and 2180 and 180.5 and x180", "180"));
    assert!(contains_number("ends with 180.", "180"));
}
