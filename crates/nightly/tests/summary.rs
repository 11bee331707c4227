//! The summary and its regression check.
use nightly::{collect, markdown, regressions};
use records::fidelity::Fidelity;
use records::report::{Claim, ClaimsFile, Header, Numbers, Section, Verdict, CLAIMS_SCHEMA, RULE};

/// `<dir>/<exp>/quick/claims.json` with these claims, written by the type the
/// experiments write it with.
fn write(dir: &std::path::Path, exp: &str, fidelity: Fidelity, claims: Vec<Claim>) {
    write_at(dir, exp, "quick", fidelity, claims);
}

fn write_at(
    dir: &std::path::Path,
    exp: &str,
    profile: &str,
    fidelity: Fidelity,
    claims: Vec<Claim>,
) {
    let d = dir.join(exp).join(profile);
    std::fs::create_dir_all(&d).expect("mkdir");
    let file = ClaimsFile {
        schema: CLAIMS_SCHEMA,
        rule: RULE.into(),
        header: Header {
            datasets: vec!["CIFAR-10 (JPEG q75 copy)".into()],
            fidelity,
            commit: "abc".into(),
            ..Default::default()
        },
        claims,
    };
    let json = serde_json::to_string(&file).expect("json");
    std::fs::write(d.join("claims.json"), json).expect("write");
}

fn claim(id: &str, verdict: Verdict, note: &str) -> Claim {
    Claim {
        id: id.into(),
        statement: "s".into(),
        paper: "p".into(),
        measured: note.into(),
        verdict,
        ..Default::default()
    }
}

/// Claims with verdicts "Pass", "Fail" or a NOT EVALUATED reason.
fn claims(dir: &std::path::Path, exp: &str, verdicts: &[(&str, &str)]) {
    let claims = verdicts
        .iter()
        .map(|(id, v)| {
            let verdict = match *v {
                "Pass" => Verdict::Pass,
                "Fail" => Verdict::Fail,
                why => Verdict::NotEvaluated(why.into()),
            };
            claim(id, verdict, "m")
        })
        .collect();
    write(dir, exp, Fidelity::Shortened, claims);
}

#[test]
fn a_claim_that_passed_and_now_fails_is_a_regression() {
    let t = tempfile::tempdir().expect("tmp");
    let exps = vec![
        "alexnet-lrn".to_string(),
        "resnet-cifar-degradation".to_string(),
    ];
    claims(t.path(), "alexnet-lrn", &[("1", "Pass")]);
    claims(
        t.path(),
        "resnet-cifar-degradation",
        &[("1", "Pass"), ("2a", "Fail"), ("3", "not run")],
    );
    let before = collect(t.path(), &exps, "quick").expect("collect");
    assert_eq!(before.len(), 4);
    let md = markdown(&before);
    assert!(
        md.contains("**PASS**")
            && md.contains("**FAIL**")
            && md.contains("NOT EVALUATED (not run)")
    );
    assert!(md.contains("CIFAR-10 (JPEG q75 copy)") && md.contains("(shortened)"));
    assert!(regressions(&before, &before).is_empty());
    // SUMMARY.csv: a header and one row per claim, with the fidelity label.
    let csv = nightly::csv_text(&before).expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + before.len(), "{csv}");
    assert!(lines[0].contains("verdict") && lines[0].contains("fidelity"));
    assert!(lines[1..].iter().all(|l| l.contains("shortened")), "{csv}");
    claims(
        t.path(),
        "resnet-cifar-degradation",
        &[("1", "Fail"), ("2a", "Pass"), ("3", "not run")],
    );
    let now = collect(t.path(), &exps, "quick").expect("collect");
    let r = regressions(&before, &now);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0.key(), "resnet-cifar-degradation/quick#1");
}

#[test]
fn claims_read_with_their_reasons_and_counts() {
    let t = tempfile::tempdir().expect("tmp");
    let claims = vec![
        claim("1", Verdict::Pass, "n1"),
        claim("2", Verdict::Inconclusive("1 vs 1 seeds".into()), "n2"),
        claim(
            "3",
            Verdict::NotEvaluated("needs fully trained networks".into()),
            "n3",
        ),
    ];
    write(t.path(), "alexnet-lrn", Fidelity::Analogue, claims);
    let rows = collect(t.path(), &["alexnet-lrn".to_string()], "quick").expect("collect");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].verdict, "PASS");
    assert_eq!(rows[1].verdict, "INCONCLUSIVE (1 vs 1 seeds)");
    assert_eq!(rows[1].measured, "n2");
    assert_eq!(rows[2].fidelity, "analogue");
    let md = markdown(&rows);
    assert!(
        md.contains("1 PASS, 0 FAIL, 1 INCONCLUSIVE, 1 NOT EVALUATED, 0 NOT DECIDED."),
        "{md}"
    );
}

#[test]
fn a_claims_file_of_another_layout_is_an_error_naming_it() {
    let t = tempfile::tempdir().expect("tmp");
    let d = t.path().join("alexnet-lrn/quick");
    std::fs::create_dir_all(&d).expect("mkdir");
    // The first layout (no `schema`), and schema 2 without its header's fields.
    for text in [
        r#"{"header": {"commit": "abc"}, "claims": [{"id": "1", "verdict": "Pass"}]}"#,
        r#"{"schema": 2, "rule": "r", "header": {"commit": "abc"}, "claims": []}"#,
    ] {
        std::fs::write(d.join("claims.json"), text).expect("write");
        let e = collect(t.path(), &["alexnet-lrn".to_string()], "quick")
            .expect_err("another layout")
            .to_string();
        assert!(
            e.contains(&d.join("claims.json").display().to_string()),
            "{e}"
        );
    }
}

#[test]
fn the_summary_separates_decided_claims_claims_not_yet_run_and_early_checks() {
    let t = tempfile::tempdir().expect("tmp");
    let e = "resnet-cifar-degradation";
    let decided = |id: &str, v: Verdict| Claim {
        decided: true,
        numbers: Numbers {
            effect: Some(1.5),
            ci_low: Some(0.5),
            ci_high: Some(2.5),
            p: Some(0.01),
            p_adjusted: Some(0.02),
            n_a: Some(5),
            n_b: Some(5),
            df: Some(7.9),
            ..Numbers::default()
        },
        ..claim(id, v, "decided numbers")
    };
    let undecided = |id: &str| claim(id, Verdict::NotDecided("budget".into()), "short run");
    // Claim 1 decided in the paper profile; claim 2 only run on quick.
    write_at(
        t.path(),
        e,
        "paper",
        Fidelity::Paper,
        vec![decided("1", Verdict::Pass)],
    );
    let early = Claim {
        section: Section::Early,
        ..decided("1e", Verdict::Fail)
    };
    write(
        t.path(),
        e,
        Fidelity::Shortened,
        vec![undecided("1"), undecided("2"), early],
    );
    let profiles = nightly::profiles_of(t.path(), e);
    assert_eq!(profiles, ["paper", "quick"]);
    let c = nightly::collect_profiles(t.path(), &[e.to_string()], &profiles).expect("collect");
    let md = markdown(&c.rows);
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("no {s:?} in {md}"));
    let (d, n, x) = (
        at("## Claims decided at the paper's budget"),
        at("## Claims not yet run at that budget"),
        at("## Early-training checks"),
    );
    assert!(d < n && n < x, "{md}");
    // Claim 1 is listed once, decided; its quick run is not "not yet run".
    let section = |from: usize, to: usize| &md[from..to];
    assert!(section(d, n).contains("decided numbers"), "{md}");
    assert!(!section(n, x).contains("| 1 |"), "{md}");
    assert!(
        section(n, x).contains("| 2 |") && section(n, x).contains("NOT DECIDED"),
        "{md}"
    );
    assert!(section(x, md.len()).contains("| 1e |"), "{md}");
    // claims.csv: numeric columns, one row per claim and profile.
    let csv = nightly::csv_text(&c.numbers).expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 4, "{csv}");
    for col in [
        "effect",
        "ci_low",
        "ci_high",
        "p",
        "p_adjusted",
        "n_a",
        "n_b",
        "df",
        "test",
        "margin",
        "seeds_needed",
        "section",
        "decided",
    ] {
        assert!(
            lines[0].split(',').any(|c| c == col),
            "{col} in {}",
            lines[0]
        );
    }
    assert!(lines[1].contains(",1.5,0.5,2.5,"), "{}", lines[1]);
}

#[test]
fn summary_rows_name_the_commits_that_trained_and_drew_them() {
    let t = tempfile::tempdir().expect("tmp");
    let d = t.path().join("alexnet-lrn").join("quick");
    std::fs::create_dir_all(&d).expect("mkdir");
    let header = |trained: &[&str], drawn: &str, commit: &str| Header {
        trained_at: trained.iter().map(|c| c.to_string()).collect(),
        drawn_at: drawn.into(),
        commit: commit.into(),
        ..Default::default()
    };
    let file = |header| ClaimsFile {
        schema: CLAIMS_SCHEMA,
        rule: RULE.into(),
        header,
        claims: vec![claim("1", Verdict::Pass, "m")],
    };
    let write = |f: &ClaimsFile| {
        let json = serde_json::to_string(f).expect("json");
        std::fs::write(d.join("claims.json"), json).expect("write");
    };
    let exps = ["alexnet-lrn".to_string()];
    let columns = |csv: &str| -> Vec<(String, String)> {
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        let h = r.headers().expect("header").clone();
        let at = |name: &str| h.iter().position(|c| c == name).expect(name);
        let (t, dr) = (at("trained_at"), at("drawn_at"));
        assert!(h.iter().all(|c| c != "commit"), "{h:?}");
        r.records()
            .map(|rec| {
                let rec = rec.expect("row");
                (rec[t].to_string(), rec[dr].to_string())
            })
            .collect()
    };
    write(&file(header(&["aaaa", "bbbb+dirty"], "cccc", "prose")));
    let c = nightly::collect_profiles(t.path(), &exps, &["quick".into()]).expect("collect");
    let want = vec![("aaaa bbbb+dirty".to_string(), "cccc".to_string())];
    assert_eq!(columns(&nightly::csv_text(&c.rows).expect("csv")), want);
    assert_eq!(columns(&nightly::csv_text(&c.numbers).expect("csv")), want);
    // A report drawn before the fields existed: read from its prose.
    write(&file(header(
        &[],
        "",
        "runs trained at aaaa; report drawn at cccc",
    )));
    let c = nightly::collect_profiles(t.path(), &exps, &["quick".into()]).expect("collect");
    let want = vec![("aaaa".to_string(), "cccc".to_string())];
    assert_eq!(columns(&nightly::csv_text(&c.rows).expect("csv")), want);
}
