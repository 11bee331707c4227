//! Claims as data and judged in one place: the spec loader's refusals, each
//! kind deciding PASS, FAIL and INCONCLUSIVE on constructed samples (zero
//! spread, paired data, a ratio above and below its band, Holm's adjustment
//! changing a verdict), the regime, the early-training section, and the
//! committed claims files against the experiments and paper numbers.
use records::fidelity::Fidelity;
use records::papers::PaperNumbers;
use records::report::{
    judge, Bounded, Claim, ClaimSpecs, Header, Kind, Measured, Section, Verdict,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const NUMBERS: &str = "experiment,key,value,unit,source,quote\ne,t.a,10,%,Table 1,\ne,t.b,12,%,Table 1,\ne,speed,6,x,Fig. 1,\ne,words,,,Sec. 1,no number\n";

fn paper(dir: &Path) -> PaperNumbers {
    let p = dir.join("p.csv");
    std::fs::write(&p, NUMBERS).expect("write");
    PaperNumbers::load(&p).expect("numbers")
}

fn load(text: &str) -> Result<ClaimSpecs, String> {
    let dir = tempfile::tempdir().expect("tmp");
    let paper = paper(dir.path());
    ClaimSpecs::parse(text, Path::new("p.claims.toml"), &paper).map_err(|e| e.to_string())
}

/// A directional claim of experiment `e`, decided by `paper`, plus `extra` keys.
fn spec(id: &str, kind: &str, extra: &str) -> String {
    format!(
        "[[claim]]\nexperiment = \"e\"\nid = \"{id}\"\nkind = \"{kind}\"\nstatement = \"s\"\nquote = \"q\"\nsource = \"Table 1\"\nquantity = \"test_error\"\ndecided_by = [\"paper\"]\n{extra}\n"
    )
}

const TWO: &str = "arms = [\"a\", \"b\"]";

#[test]
fn the_loader_refuses_bad_specs_naming_file_claim_and_key() {
    let ok = spec("1", "directional", &format!("{TWO}\ndirection = \"lower\""));
    load(&ok).expect("a valid spec");
    let cases = [
        // Unknown key, unknown kind, unknown quantity.
        (format!("{ok}colour = 1"), "colour"),
        (spec("1", "sideways", TWO), "sideways"),
        (ok.replace("test_error", "speed"), "speed"),
        // A kind's required and forbidden keys.
        (spec("1", "directional", TWO), "needs `direction`"),
        (
            spec("1", "differ_little", &format!("{TWO}\nmargin = 1.0")),
            "margin_reason",
        ),
        (
            spec(
                "1",
                "differ_little",
                &format!("{TWO}\ndirection = \"lower\"\nmargin = 1.0\nmargin_reason = \"r\""),
            ),
            "`direction` does not apply",
        ),
        (
            spec(
                "1",
                "ratio",
                &format!("{TWO}\nband = [12.0, 3.0]\nmargin_reason = \"r\""),
            ),
            "band",
        ),
        (spec("1", "level", TWO), "arm"),
        // Paper numbers the paper's CSV lacks, or without a value.
        (
            spec(
                "1",
                "directional",
                &format!("{TWO}\ndirection = \"lower\"\nnumbers = [\"t.gone\"]"),
            ),
            "`t.gone`",
        ),
        (
            spec(
                "1",
                "directional",
                &format!("{TWO}\ndirection = \"lower\"\neffect = {{ keys = [\"words\"] }}"),
            ),
            "no value",
        ),
        (
            spec(
                "1",
                "directional",
                &format!("{TWO}\ndirection = \"lower\"\neffect = {{ value = 1.0 }}"),
            ),
            "effect.reason",
        ),
        (
            ok.replace("decided_by = [\"paper\"]", "decided_by = []"),
            "decided_by",
        ),
        (format!("{ok}{ok}"), "twice"),
    ];
    for (text, want) in cases {
        let e = load(&text).expect_err(want);
        assert!(
            e.contains("p.claims.toml") && e.contains(want),
            "{want}: {e}"
        );
    }
    // A claim's error names which claim.
    let e = load(&spec("7", "directional", TWO)).expect_err("no direction");
    assert!(e.contains("e #7") && e.contains("[[claim]] 1"), "{e}");
    // Profiles are checked against the experiment's.
    let specs = load(&ok).expect("valid");
    specs
        .check_profiles("e", &["paper".into(), "quick".into()])
        .expect("known profile");
    let e = specs
        .check_profiles("e", &["quick".into()])
        .expect_err("unknown profile")
        .to_string();
    assert!(e.contains("p.claims.toml") && e.contains("`paper`"), "{e}");
}

/// Judges `text`'s claims of experiment `e` on `measured`, in profile `profile`.
fn run(text: &str, measured: &[Measured], profile: &str) -> Vec<Claim> {
    let dir = tempfile::tempdir().expect("tmp");
    let paper = paper(dir.path());
    let specs = ClaimSpecs::parse(text, Path::new("p.claims.toml"), &paper).expect("specs");
    let header = Header {
        experiment: "e".into(),
        profile: profile.into(),
        fidelity: Fidelity::Paper,
        ..Header::default()
    };
    judge(&specs.of("e"), measured, &header, &paper).expect("judged")
}

fn seeds(v: &[f64]) -> BTreeMap<i64, f64> {
    v.iter()
        .enumerate()
        .map(|(i, x)| (i as i64 + 1, *x))
        .collect()
}

fn two(id: &str, a: &[f64], b: &[f64]) -> Measured {
    Measured::arms(id, vec![seeds(a), seeds(b)])
}

fn verdict(text: &str, m: Measured) -> Verdict {
    run(text, &[m], "paper").remove(0).verdict
}

fn name(v: &Verdict) -> &'static str {
    v.name()
}

const LOW: [f64; 4] = [24.1, 25.3, 24.8, 25.0];
const HIGH: [f64; 4] = [26.2, 25.9, 27.1, 26.5];

#[test]
fn each_kind_decides_pass_fail_and_inconclusive() {
    let dir = spec(
        "1",
        "directional",
        &format!("{TWO}\ndirection = \"lower\"\neffect = {{ keys = [\"t.a\", \"t.b\"] }}"),
    );
    assert_eq!(name(&verdict(&dir, two("1", &LOW, &HIGH))), "PASS");
    assert_eq!(name(&verdict(&dir, two("1", &HIGH, &LOW))), "FAIL");
    let noisy = verdict(
        &dir,
        two("1", &[24.0, 27.0, 25.0, 26.5], &[26.0, 24.5, 27.0, 25.0]),
    );
    assert_eq!(name(&noisy), "INCONCLUSIVE", "{noisy:?}");
    // An INCONCLUSIVE comparison says how many seeds would detect the paper's effect.
    assert!(
        noisy.label().contains("seeds per arm would detect"),
        "{noisy:?}"
    );

    let nb = spec(
        "1",
        "no_better",
        &format!("{TWO}\nbetter = \"lower\"\nmargin = 0.5\nmargin_reason = \"r\""),
    );
    let tight = [25.0, 25.1, 24.9, 25.0, 25.05];
    let worse: Vec<f64> = tight.iter().map(|x| x + 0.2).collect();
    assert_eq!(name(&verdict(&nb, two("1", &tight, &worse))), "PASS");
    assert_eq!(name(&verdict(&nb, two("1", &HIGH, &LOW))), "FAIL");
    assert_eq!(
        name(&verdict(&nb, two("1", &LOW, &[24.0, 26.0, 23.9, 25.6]))),
        "INCONCLUSIVE"
    );

    let dl = spec(
        "1",
        "differ_little",
        &format!("{TWO}\nmargin = 1.0\nmargin_reason = \"r\""),
    );
    let b = [48.0, 48.2, 47.8, 48.1, 47.9];
    assert_eq!(
        name(&verdict(&dl, two("1", &[47.9, 48.3, 47.6, 48.1], &b))),
        "PASS"
    );
    assert_eq!(
        name(&verdict(&dl, two("1", &[51.4, 51.0, 51.6, 51.2], &b))),
        "FAIL"
    );
    assert_eq!(
        name(&verdict(&dl, two("1", &[46.0, 50.2, 47.1, 49.5], &b))),
        "INCONCLUSIVE"
    );

    let lv = spec(
        "1",
        "level",
        "arms = [\"a\"]\nlevel = { paper = \"t.a\", tolerance = 0.5 }\nmargin_reason = \"r\"",
    );
    let one = |v: &[f64]| Measured::arms("1", vec![seeds(v)]);
    assert_eq!(name(&verdict(&lv, one(&[10.1, 9.9, 10.0, 10.2]))), "PASS");
    assert_eq!(name(&verdict(&lv, one(&[11.1, 11.3, 11.2, 11.0]))), "FAIL");
    assert_eq!(
        name(&verdict(&lv, one(&[9.0, 11.0, 10.0, 10.8]))),
        "INCONCLUSIVE"
    );
}

#[test]
fn paired_data_decide_where_unpaired_would_not() {
    // Seed-to-seed spread shared by both evaluations; each pair 0.3 apart.
    let single = [24.0, 27.0, 25.5, 26.2, 23.8];
    let multi: Vec<f64> = single
        .iter()
        .enumerate()
        .map(|(i, x)| x - 0.3 - 0.01 * i as f64)
        .collect();
    let p = spec(
        "1",
        "paired",
        &format!("{TWO}\ndirection = \"lower\"\neffect = {{ keys = [\"t.a\", \"t.b\"] }}"),
    );
    let c = run(&p, &[two("1", &multi, &single)], "paper").remove(0);
    assert_eq!(c.verdict, Verdict::Pass, "{c:?}");
    assert_eq!((c.numbers.n_a, c.numbers.n_b), (Some(5), None));
    let d = spec("1", "directional", &format!("{TWO}\ndirection = \"lower\""));
    assert_eq!(
        name(&verdict(&d, two("1", &multi, &single))),
        "INCONCLUSIVE"
    );
    // Opposite direction: FAIL; pairs are matched by seed, not position.
    assert_eq!(name(&verdict(&p, two("1", &single, &multi))), "FAIL");
    let mut shuffled = seeds(&multi);
    shuffled.insert(9, 99.0);
    let c = run(
        &p,
        &[Measured::arms("1", vec![shuffled, seeds(&single)])],
        "paper",
    )
    .remove(0);
    assert_eq!((c.verdict, c.numbers.n_a), (Verdict::Pass, Some(5)));
}

#[test]
fn zero_spread_and_few_seeds_are_inconclusive_unless_a_stated_effect_is_exceeded() {
    let d = spec("1", "directional", &format!("{TWO}\ndirection = \"lower\""));
    // Bit-identical seeds in both arms: no p of 0, no PASS.
    let v = verdict(&d, two("1", &[30.0, 30.0, 30.0], &[40.0, 40.0, 40.0]));
    assert_eq!(name(&v), "INCONCLUSIVE", "{v:?}");
    assert!(v.label().contains("zero spread"), "{v:?}");
    let v = verdict(&d, two("1", &[30.0, 31.0], &[40.0, 41.0]));
    assert_eq!(name(&v), "INCONCLUSIVE", "{v:?}");
    let with = spec(
        "1",
        "directional",
        &format!("{TWO}\ndirection = \"lower\"\nmin_effect = 5.0\nmin_effect_reason = \"r\""),
    );
    assert_eq!(
        name(&verdict(
            &with,
            two("1", &[30.0, 30.0, 30.0], &[40.0, 40.0, 40.0])
        )),
        "PASS"
    );
    assert_eq!(
        name(&verdict(&with, two("1", &[30.0, 31.0], &[32.0, 33.0]))),
        "INCONCLUSIVE"
    );
}

#[test]
fn a_ratio_fails_above_and_below_its_band_and_bounded_seeds_use_the_sign_test() {
    let r = spec(
        "1",
        "ratio",
        &format!(
            "{TWO}\nband = [3.0, 12.0]\nmargin_reason = \"r\"\neffect = {{ keys = [\"speed\"] }}"
        ),
    );
    let ratios = |v: &[f64]| Measured::arms("1", vec![seeds(v), seeds(&[1.0; 5][..v.len()])]);
    assert_eq!(name(&verdict(&r, ratios(&[5.5, 6.3, 7.1, 5.9]))), "PASS");
    assert_eq!(
        name(&verdict(&r, ratios(&[20.0, 25.0, 18.0, 22.0]))),
        "FAIL"
    );
    assert_eq!(name(&verdict(&r, ratios(&[1.5, 1.2, 1.8, 1.4]))), "FAIL");
    let c = run(&r, &[ratios(&[2.5, 6.0, 14.0, 4.0])], "paper").remove(0);
    assert_eq!(name(&c.verdict), "INCONCLUSIVE");
    assert!(c.numbers.seeds_needed.is_some(), "{c:?}");
    assert_eq!(
        (c.numbers.region_low, c.numbers.region_high),
        (Some(3.0), Some(12.0))
    );
    // Five tanh runs that never reached the target within the cap: ratios
    // bounded above the band's top, a FAIL by the sign test.
    let bounded: BTreeMap<i64, Bounded> = (1..=5).map(|s| (s, Bounded::AtLeast(13.0))).collect();
    let c = run(&r, &[Measured::ratios("1", bounded)], "paper").remove(0);
    assert_eq!(c.verdict, Verdict::Fail, "{c:?}");
    assert_eq!(c.numbers.test, Some(claim_stats::Test::SignTest));
}

#[test]
fn holm_over_the_report_can_turn_a_pass_into_inconclusive() {
    // Alone, p ≈ 0.03 passes; beside three claims with p ≈ 0.5, Holm
    // multiplies the smallest p by 4.
    let a = [24.0, 25.2, 24.4, 25.6, 24.9];
    let b = [25.3, 25.9, 24.9, 26.4, 25.6];
    let d = |id: &str| spec(id, "directional", &format!("{TWO}\ndirection = \"lower\""));
    let alone = run(&d("1"), &[two("1", &a, &b)], "paper").remove(0);
    assert_eq!(alone.verdict, Verdict::Pass, "{alone:?}");
    let p = alone.numbers.p.expect("p");
    assert!(p < 0.05 && 4.0 * p > 0.05, "p = {p}");
    let text = format!("{}{}{}{}", d("1"), d("2"), d("3"), d("4"));
    let noise = |id: &str| two(id, &[1.0, 2.0, 3.0], &[1.1, 2.1, 2.9]);
    let family = run(
        &text,
        &[two("1", &a, &b), noise("2"), noise("3"), noise("4")],
        "paper",
    );
    let c = &family[0];
    assert_eq!(name(&c.verdict), "INCONCLUSIVE", "{c:?}");
    assert!(c.verdict.label().contains("Holm over 4 claims"), "{c:?}");
    assert!((c.numbers.p_adjusted.expect("adjusted") - 4.0 * p).abs() < 1e-9);
}

#[test]
fn claims_outside_their_regime_are_not_decided_and_early_checks_stand_apart() {
    let text = format!(
        "{}[[early]]\nexperiment = \"e\"\nid = \"1e\"\nkind = \"directional\"\nstatement = \"after one epoch\"\nquote = \"q\"\nsource = \"Fig. 1\"\nquantity = \"train_error\"\narms = [\"a\", \"b\"]\ndirection = \"lower\"\ndecided_by = [\"quick\"]\n",
        spec("1", "directional", &format!("{TWO}\ndirection = \"lower\""))
    );
    let m = [two("1", &LOW, &HIGH), two("1e", &LOW, &HIGH)];
    let quick = run(&text, &m, "quick");
    assert_eq!(name(&quick[0].verdict), "NOT DECIDED", "{:?}", quick[0]);
    assert!(
        quick[0].verdict.label().contains("profile paper"),
        "{:?}",
        quick[0]
    );
    // Its numbers are still there, for the nightly and the reader.
    assert!(quick[0].numbers.effect.is_some() && !quick[0].decided);
    assert_eq!(
        (quick[1].section, quick[1].verdict.clone()),
        (Section::Early, Verdict::Pass)
    );
    let paper = run(&text, &m, "paper");
    assert_eq!(paper[0].verdict, Verdict::Pass);
    assert_eq!(name(&paper[1].verdict), "NOT DECIDED");
    assert_eq!(paper[0].kind, Kind::Directional);
    // A measurement the specs lack, or a spec without a measurement, is an error.
    let dir = tempfile::tempdir().expect("tmp");
    let numbers = self::paper(dir.path());
    let specs = ClaimSpecs::parse(&text, Path::new("p.claims.toml"), &numbers).expect("specs");
    let header = Header {
        experiment: "e".into(),
        profile: "paper".into(),
        ..Header::default()
    };
    let extra = [
        two("1", &LOW, &HIGH),
        two("1e", &LOW, &HIGH),
        two("9", &LOW, &HIGH),
    ];
    let e = judge(&specs.of("e"), &extra, &header, &numbers).expect_err("unknown id");
    assert!(e.to_string().contains("`9`"), "{e}");
    let e = judge(&specs.of("e"), &extra[..1], &header, &numbers).expect_err("missing");
    assert!(e.to_string().contains("`1e`"), "{e}");
    // A missing arm is NOT EVALUATED with why.
    let c = run(
        &text,
        &[Measured::missing("1", "not run: b"), two("1e", &LOW, &HIGH)],
        "paper",
    );
    assert_eq!(c[0].verdict, Verdict::NotEvaluated("not run: b".into()));
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The profiles each experiment file declares, by experiment.
fn profiles() -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for e in records::registry::discover(&root()).expect("experiments") {
        let text = std::fs::read_to_string(&e.file).expect("read");
        let t: toml::Table = toml::from_str(&text).expect("toml");
        let names = t["profiles"]
            .as_table()
            .expect("profiles")
            .keys()
            .cloned()
            .collect();
        out.insert(e.name, names);
    }
    out
}

#[test]
fn every_committed_claims_file_loads_and_names_known_experiments_and_profiles() {
    let profiles = profiles();
    let dir = root().join("experiments/papers");
    let mut files = 0;
    for csv in std::fs::read_dir(&dir)
        .expect("papers")
        .flatten()
        .map(|e| e.path())
    {
        if csv.extension().is_none_or(|x| x != "csv") {
            continue;
        }
        let numbers = PaperNumbers::load(&csv).expect("numbers");
        let path = records::report::claims_path(&csv);
        let specs = ClaimSpecs::load(&path, &numbers).unwrap_or_else(|e| panic!("{e}"));
        files += 1;
        for s in &specs.specs {
            let known = profiles
                .get(&s.experiment)
                .unwrap_or_else(|| panic!("{}: no experiment {}", path.display(), s.experiment));
            specs
                .check_profiles(&s.experiment, known)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    assert_eq!(files, 4, "one claims file per paper");
}
