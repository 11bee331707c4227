//! Each claim test deciding PASS, FAIL and INCONCLUSIVE on constructed
//! inputs, with p values, degrees of freedom and intervals checked against
//! scipy 1.17 (`ttest_ind(equal_var=False)`, `ttest_rel`, `ttest_1samp`,
//! their `confidence_interval(0.9)`).
use claim_stats::{
    differ_little, directional, level, no_better, paired, ratio, Band, Basis, Better, ClaimResult,
    Decision, Direction, Level, Margin, Rule, StatsError, Test,
};

fn close(got: Option<f64>, want: f64, what: &str) {
    let g = got.unwrap_or_else(|| panic!("{what}: none, want {want}"));
    assert!(
        (g - want).abs() <= 1e-9 * want.abs().max(1e-6),
        "{what}: {g} vs {want}"
    );
}

fn ci(r: &ClaimResult) -> (f64, f64) {
    let c = r.ci.expect("ci");
    (c.low, c.high)
}

const RULE: Rule = Rule {
    alpha: 0.05,
    min_effect: None,
};

#[test]
fn directional_passes_fails_or_stays_inconclusive_like_welch() {
    let (a, b) = ([24.1, 25.3, 24.8, 25.0], [26.2, 25.9, 27.1, 26.5, 26.0]);
    let r = directional(&a, &b, Direction::Lower, RULE).expect("test");
    assert_eq!(
        (r.decision, r.basis, r.test),
        (Decision::Pass, Basis::Test, Test::WelchOneSided)
    );
    close(r.p, 0.001_558_744_502_049_263_2, "p");
    close(r.p_opposite, 0.998_441_255_497_950_7, "p against");
    close(r.df, 6.382_949_500_057_239, "df");
    let (lo, hi) = ci(&r);
    close(Some(lo), -2.182_241_522_192_781_3, "ci low");
    close(Some(hi), -0.897_758_477_807_210_2, "ci high");
    assert!((r.estimate - (24.8 - 26.34)).abs() < 1e-9);
    assert_eq!((r.n.clone(), r.margin), (vec![4, 5], None));
    // The same data against the opposite claim: FAIL.
    let r = directional(&a, &b, Direction::Higher, RULE).expect("test");
    assert_eq!(r.decision, Decision::Fail);
    close(r.p_opposite, 0.001_558_744_502_049_263_2, "p against");
    // Overlapping arms: neither way.
    let (c, d) = ([25.0, 26.1, 24.2, 25.7], [25.5, 24.9, 26.3, 25.8]);
    let r = directional(&c, &d, Direction::Lower, RULE).expect("test");
    assert_eq!(r.decision, Decision::Inconclusive, "{}", r.reason);
    close(r.p, 0.246_365_080_190_527_77, "p");
    assert!(r.reason.contains("within noise"), "{}", r.reason);
}

#[test]
fn fewer_than_three_seeds_need_a_stated_minimum_effect() {
    // Far apart with a spread, but two seeds per arm: the p is reported,
    // not relied on.
    let (a, b) = ([30.0, 30.5], [40.0, 40.4]);
    let r = directional(&a, &b, Direction::Lower, RULE).expect("test");
    assert_eq!(
        (r.decision, r.basis),
        (Decision::Inconclusive, Basis::FewSeeds)
    );
    assert!(r.p.is_some_and(|p| p < 0.01));
    assert!(r.reason.contains("fewer than 3"), "{}", r.reason);
    let with = RULE.with_min_effect(5.0);
    assert_eq!(
        directional(&a, &b, Direction::Lower, with)
            .expect("t")
            .decision,
        Decision::Pass
    );
    assert_eq!(
        directional(&a, &b, Direction::Higher, with)
            .expect("t")
            .decision,
        Decision::Fail
    );
    let r = directional(&a, &b, Direction::Lower, RULE.with_min_effect(20.0)).expect("t");
    assert_eq!(r.decision, Decision::Inconclusive);
    // One seed per arm: nothing to test with at all.
    let r = directional(&[30.0], &[40.0, 41.0, 39.0], Direction::Lower, RULE).expect("t");
    assert_eq!(
        (r.decision, r.p, r.ci, r.df),
        (Decision::Inconclusive, None, None, None)
    );
    assert_eq!(r.n, vec![1, 3]);
}

#[test]
fn zero_spread_never_gives_p_zero() {
    // 0.1 three times has the mean 0.10000000000000002: a naive variance
    // is a rounding residue, not 0, and would give p ~ 0.
    let (a, b) = ([0.1, 0.1, 0.1], [0.7, 0.7, 0.7]);
    let r = directional(&a, &b, Direction::Lower, RULE).expect("test");
    assert_eq!(
        (r.decision, r.basis),
        (Decision::Inconclusive, Basis::FewSeeds)
    );
    assert_eq!((r.p, r.std_error, r.ci), (None, None, None));
    assert!(r.reason.contains("zero spread"), "{}", r.reason);
    let with = RULE.with_min_effect(0.5);
    assert_eq!(
        directional(&a, &b, Direction::Lower, with)
            .expect("t")
            .decision,
        Decision::Pass
    );
    assert_eq!(
        directional(&a, &b, Direction::Higher, with)
            .expect("t")
            .decision,
        Decision::Fail
    );
    let with = RULE.with_min_effect(0.6);
    let r = directional(&a, &b, Direction::Lower, with).expect("t");
    assert_eq!(
        r.decision,
        Decision::Inconclusive,
        "|0.6| is not more than 0.6"
    );
    // Equal values in both arms: no effect to clear any minimum.
    let r = directional(&a, &a, Direction::Lower, RULE.with_min_effect(0.0)).expect("t");
    assert_eq!(r.decision, Decision::Inconclusive);
    // One arm without spread is still testable against the other's.
    let r = directional(&a, &[0.6, 0.7, 0.8], Direction::Lower, RULE).expect("t");
    assert_eq!((r.decision, r.basis), (Decision::Pass, Basis::Test));
    // Identical per-seed differences: zero spread in the paired test too.
    let r = paired(&[1.0, 2.0, 3.0], &[0.5, 1.5, 2.5], Direction::Higher, RULE).expect("t");
    assert_eq!((r.decision, r.p), (Decision::Inconclusive, None));
}

#[test]
fn paired_decides_where_an_unpaired_test_cannot() {
    // Nets that differ a lot from seed to seed, evaluated two ways: each
    // seed's second evaluation is 0.4-0.6 points higher.
    let a = [30.1, 35.4, 28.2, 40.3, 33.3];
    let b = [
        30.6,
        36.0,
        28.599_999_999_999_998,
        40.849_999_999_999_994,
        33.75,
    ];
    let r = paired(&a, &b, Direction::Lower, RULE).expect("paired");
    assert_eq!((r.decision, r.test), (Decision::Pass, Test::PairedOneSided));
    close(r.p, 7.256_408_530_659_879e-5, "paired p");
    assert_eq!((r.n.clone(), r.df), (vec![5], Some(4.0)));
    assert!(ci(&r).1 < 0.0);
    let r = paired(&a, &b, Direction::Higher, RULE).expect("paired");
    assert_eq!(r.decision, Decision::Fail);
    let r = directional(&a, &b, Direction::Lower, RULE).expect("unpaired");
    assert_eq!(r.decision, Decision::Inconclusive);
    close(r.p, 0.436_099_742_196_268_07, "unpaired p");
    // Noisy differences: neither way.
    let c = [30.0, 35.0, 28.0, 40.0, 33.0];
    let d = [30.5, 34.2, 28.9, 39.6, 33.1];
    let r = paired(&c, &d, Direction::Lower, RULE).expect("paired");
    assert_eq!(r.decision, Decision::Inconclusive, "{}", r.reason);
    assert_eq!(
        paired(&a, &b[..4], Direction::Lower, RULE),
        Err(StatsError::Unpaired(5, 4))
    );
}

#[test]
fn no_better_needs_the_upper_bound_below_the_margin() {
    // "A-LRN is no better than A" (errors: lower is better), margin 0.5 points.
    let a = [63.5, 63.9, 63.2, 63.7];
    let worse = [65.1, 64.8, 65.3, 64.9];
    let r = no_better(&a, &worse, Better::Lower, 0.5, RULE).expect("test");
    assert_eq!(
        (r.decision, r.test),
        (Decision::Pass, Test::WelchNonSuperiority)
    );
    close(r.p, 3.674_210_135_422_814_6e-5, "p");
    close(Some(ci(&r).0), -1.816_849_166_263_935_9, "ci low");
    assert!(ci(&r).1 < 0.5);
    assert_eq!(r.margin, Some(Margin::NonSuperiority { margin: 0.5 }));
    // B better by far more than the margin: FAIL.
    let better = [60.1, 60.4, 59.8, 60.2];
    let r = no_better(&a, &better, Better::Lower, 0.5, RULE).expect("test");
    assert_eq!(r.decision, Decision::Fail);
    close(r.p_opposite, 3.374_286_004_642_936e-6, "p against");
    assert!(ci(&r).0 > 0.5);
    // About the same, but the interval reaches past the margin.
    let same = [63.0, 64.3, 62.7, 64.1];
    let r = no_better(&a, &same, Better::Lower, 0.5, RULE).expect("test");
    assert_eq!(r.decision, Decision::Inconclusive);
    close(r.p, 0.175_274_489_223_466_03, "p");
    // Accuracies (higher is better) give the same verdicts.
    let acc = |v: &[f64]| v.iter().map(|x| 100.0 - x).collect::<Vec<_>>();
    let r = no_better(&acc(&a), &acc(&worse), Better::Higher, 0.5, RULE).expect("test");
    assert_eq!(r.decision, Decision::Pass);
    close(r.p, 3.674_210_135_422_814_6e-5, "p (accuracies)");
    let r = no_better(&acc(&a), &acc(&better), Better::Higher, 0.5, RULE).expect("test");
    assert_eq!(r.decision, Decision::Fail);
    assert!(no_better(&a, &same, Better::Lower, -0.1, RULE).is_err());
}

#[test]
fn differ_little_is_tost_within_the_margin() {
    // ResNet shortcut options: "only marginally different", margin 1 point.
    let b = [48.4, 48.0, 48.6, 48.2];
    let r = differ_little(&[47.9, 48.3, 47.6, 48.1], &b, 1.0, RULE).expect("tost");
    assert_eq!((r.decision, r.test), (Decision::Pass, Test::WelchTost));
    close(r.p, 0.007_305_462_346_752_142, "tost p");
    let (lo, hi) = ci(&r);
    assert!(-1.0 < lo && hi < 1.0);
    // Three points apart: the interval lies entirely above the margin.
    let r = differ_little(&[51.4, 51.0, 51.6, 51.2], &b, 1.0, RULE).expect("tost");
    assert_eq!(r.decision, Decision::Fail);
    close(r.p_opposite, 1.718_201_403_806_075e-5, "p outside");
    close(Some(ci(&r).0), 2.645_225_442_354_183_4, "ci low");
    // ... and entirely below it, the other way round.
    let r = differ_little(&b, &[51.4, 51.0, 51.6, 51.2], 1.0, RULE).expect("tost");
    assert_eq!(r.decision, Decision::Fail);
    // Close on average but noisy: the interval spans the margin.
    let r = differ_little(&[46.0, 50.2, 47.1, 49.5], &b, 1.0, RULE).expect("tost");
    assert_eq!(r.decision, Decision::Inconclusive);
    close(r.p, 0.215_713_112_809_077_32, "tost p");
    // Two seeds (the quick profile's): too few, even with a spread.
    let r = differ_little(&[47.9, 48.3], &[48.4, 48.0], 1.0, RULE).expect("tost");
    assert_eq!(
        (r.decision, r.basis),
        (Decision::Inconclusive, Basis::FewSeeds)
    );
    let ok = differ_little(&[47.9, 48.3], &[48.4, 48.0], 1.0, RULE.with_min_effect(0.5));
    assert_eq!(
        ok.expect("tost").decision,
        Decision::Pass,
        "|-0.1| < 1 - 0.5"
    );
    assert!(matches!(
        differ_little(&b, &b, 0.0, RULE),
        Err(StatsError::Margin { .. })
    ));
}

#[test]
fn ratio_can_pass_and_fail_on_both_sides_of_the_band() {
    // "tanh needs ~6x the epochs of ReLU", band [3x, 12x].
    let band = Band {
        low: 3.0,
        high: 12.0,
    };
    let r = ratio(&[5.5, 6.3, 7.1, 5.9], band, RULE).expect("ratio");
    assert_eq!((r.decision, r.test), (Decision::Pass, Test::LogRatioTost));
    close(Some(r.estimate), 6.172_390_580_516_182, "geometric mean");
    close(r.p, 5.861_621_217_009_653e-4, "tost p");
    close(Some(ci(&r).0), 5.432_156_023_788_891, "ci low");
    close(Some(ci(&r).1), 7.013_496_171_980_626, "ci high");
    assert_eq!(
        r.margin,
        Some(Margin::RatioBand {
            low: 3.0,
            high: 12.0
        })
    );
    // Entirely above the band: FAIL.
    let r = ratio(&[20.0, 25.0, 18.0, 22.0], band, RULE).expect("ratio");
    assert_eq!(r.decision, Decision::Fail, "{}", r.reason);
    close(Some(ci(&r).0), 17.894_876_317_750_82, "ci low");
    // Entirely below it: FAIL.
    let r = ratio(&[1.5, 1.2, 1.8, 1.4], band, RULE).expect("ratio");
    assert_eq!(r.decision, Decision::Fail, "{}", r.reason);
    close(Some(ci(&r).1), 1.778_587_011_252_240_2, "ci high");
    // Spread across the band's top edge: INCONCLUSIVE.
    let r = ratio(&[2.5, 6.0, 14.0, 4.0], band, RULE).expect("ratio");
    assert_eq!(r.decision, Decision::Inconclusive);
    close(r.p, 0.103_899_332_711_164_43, "tost p");
    // One seed: a factor past the band's edges decides, if stated.
    let one = |x: f64, rule: Rule| ratio(&[x], band, rule).expect("ratio").decision;
    assert_eq!(one(6.0, RULE), Decision::Inconclusive);
    let f = RULE.with_min_effect(1.5);
    assert_eq!(one(6.0, f), Decision::Pass, "4.5 < 6 < 8");
    assert_eq!(one(30.0, f), Decision::Fail, "above 18");
    assert_eq!(one(1.5, f), Decision::Fail, "below 2");
    assert_eq!(one(13.0, f), Decision::Inconclusive, "between 12 and 18");
    assert!(matches!(
        ratio(&[6.0, 0.0, 5.0], band, RULE),
        Err(StatsError::NonPositiveRatio { index: 1, .. })
    ));
    assert!(ratio(&[6.0], band, RULE.with_min_effect(0.5)).is_err());
    let inverted = Band {
        low: 12.0,
        high: 3.0,
    };
    assert_eq!(
        ratio(&[6.0], inverted, RULE),
        Err(StatsError::Band(12.0, 3.0))
    );
}

#[test]
fn level_is_tost_around_the_paper_plus_offset() {
    // "The error is 8.75%", expected 0.25 points higher on a JPEG copy, ±0.5.
    let target = |offset: f64| Level {
        paper: 8.75,
        offset,
        tolerance: 0.5,
    };
    let r = level(&[8.9, 9.3, 8.7, 9.1, 9.0], target(0.25), RULE).expect("level");
    assert_eq!((r.decision, r.test), (Decision::Pass, Test::OneSampleTost));
    close(r.p, 0.003_745_216_940_637_285, "tost p");
    close(Some(ci(&r).0), 8.786_815_321_367_335, "ci low");
    close(Some(ci(&r).1), 9.213_184_678_632_665, "ci high");
    close(Some(r.estimate), 9.0, "mean");
    let r = level(&[11.2, 11.5, 10.9, 11.3], target(0.25), RULE).expect("level");
    assert_eq!(r.decision, Decision::Fail);
    close(r.p_opposite, 4.117_694_471_722_598e-4, "p outside");
    let r = level(&[8.0, 10.5, 9.0, 9.9], target(0.25), RULE).expect("level");
    assert_eq!(r.decision, Decision::Inconclusive);
    close(r.p, 0.400_580_715_931_995_23, "tost p");
    // The offset moves the target: the same runs pass with the expected
    // 1.25-point offset and fail without it.
    let x = [9.9, 10.1, 10.0, 10.05, 9.95];
    let r = level(&x, target(1.25), RULE).expect("level");
    assert_eq!(r.decision, Decision::Pass);
    close(r.p, 7.256_408_530_659_879e-5, "tost p");
    let r = level(&x, target(0.0), RULE).expect("level");
    assert_eq!(r.decision, Decision::Fail);
    close(r.p_opposite, 1.459_786_962_464_276_8e-5, "p outside");
    // One run, or identical runs: only a stated minimum effect decides.
    let r = level(&[9.0, 9.0, 9.0], target(0.25), RULE).expect("level");
    assert_eq!((r.decision, r.p), (Decision::Inconclusive, None));
    let with = RULE.with_min_effect(0.1);
    assert_eq!(
        level(&[9.0], target(0.25), with).expect("l").decision,
        Decision::Pass
    );
    assert_eq!(
        level(&[9.7], target(0.25), with).expect("l").decision,
        Decision::Fail
    );
    assert_eq!(
        level(&[9.55], target(0.25), with).expect("l").decision,
        Decision::Inconclusive
    );
}

#[test]
fn bad_inputs_are_refused_with_the_value() {
    let d = Direction::Lower;
    assert_eq!(
        directional(&[], &[1.0], d, RULE),
        Err(StatsError::Empty("arm a"))
    );
    let nan = directional(&[1.0, f64::NAN], &[1.0], d, RULE);
    assert!(matches!(
        nan,
        Err(StatsError::NotFinite {
            what: "arm a",
            index: 1,
            ..
        })
    ));
    let bad_alpha = directional(&[1.0], &[1.0], d, Rule::at(0.5));
    assert_eq!(bad_alpha, Err(StatsError::Alpha(0.5)));
    let bad_min = directional(&[1.0], &[1.0], d, RULE.with_min_effect(-1.0));
    assert_eq!(bad_min, Err(StatsError::MinEffect(-1.0)));
    let no_tol = Level {
        paper: 8.75,
        offset: 0.0,
        tolerance: 0.0,
    };
    assert!(matches!(
        level(&[9.0], no_tol, RULE),
        Err(StatsError::Margin { .. })
    ));
}

#[test]
fn a_stricter_alpha_widens_the_interval_and_can_undo_a_pass() {
    let (a, b) = ([24.8, 25.6, 25.1, 25.9], [26.0, 25.7, 26.4, 25.8]);
    let r = directional(&a, &b, Direction::Lower, RULE).expect("test");
    assert_eq!(r.decision, Decision::Pass);
    close(r.p, 0.042_067_550_874_874_82, "p");
    let strict = directional(&a, &b, Direction::Lower, Rule::at(0.01)).expect("test");
    assert_eq!(strict.decision, Decision::Inconclusive);
    let (w, s) = (ci(&r), ci(&strict));
    assert!(s.0 < w.0 && w.1 < s.1);
    assert!((strict.ci.expect("ci").level - 0.98).abs() < 1e-12);
}

#[test]
fn results_serialise_with_lower_case_names() {
    let r = directional(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], Direction::Lower, RULE).expect("t");
    let j = serde_json::to_value(&r).expect("json");
    assert_eq!(j["decision"], "pass");
    assert_eq!(j["test"], "welch_one_sided");
    assert_eq!(j["basis"], "test");
    let back: ClaimResult = serde_json::from_value(j).expect("back");
    assert_eq!(back, r);
    let m = serde_json::to_value(Margin::Equivalence { margin: 1.0 }).expect("json");
    assert_eq!(
        (m["kind"].as_str(), m["margin"].as_f64()),
        (Some("equivalence"), Some(1.0))
    );
}

#[test]
fn bounded_ratios_are_judged_by_the_sign_test_on_both_sides_of_the_band() {
    use claim_stats::{ratio_bounded, sign_p, Bounded};
    let band = Band {
        low: 3.0,
        high: 12.0,
    };
    // P(Bin(5, 1/2) >= 5) = 1/32; >= 4: 6/32; k = 0: 1.
    assert!((sign_p(5, 5) - 1.0 / 32.0).abs() < 1e-12);
    assert!((sign_p(4, 5) - 6.0 / 32.0).abs() < 1e-12);
    assert_eq!(sign_p(0, 5), 1.0);
    // Five tanh runs never reached the target; each bound is above 12x: FAIL high.
    let above = [Bounded::AtLeast(13.0); 5];
    let r = ratio_bounded(&above, band, RULE).expect("sign");
    assert_eq!(
        (r.test, r.decision),
        (Test::SignTest, Decision::Fail),
        "{r:?}"
    );
    assert!((r.p_opposite.expect("p") - 1.0 / 32.0).abs() < 1e-12);
    // Bounds inside the band say nothing about its top: INCONCLUSIVE.
    let mixed = [
        Bounded::Exact(6.0),
        Bounded::AtLeast(5.0),
        Bounded::Exact(7.0),
        Bounded::Exact(5.5),
        Bounded::Exact(6.5),
    ];
    let r = ratio_bounded(&mixed, band, RULE).expect("sign");
    assert_eq!(r.decision, Decision::Inconclusive, "{r:?}");
    // Upper bounds below the band's bottom (ReLU never got there): FAIL low.
    let below = [Bounded::AtMost(2.0); 5];
    assert_eq!(
        ratio_bounded(&below, band, RULE).expect("s").decision,
        Decision::Fail
    );
    // Every seed surely inside (an upper bound inside, exact values inside).
    let inside = [
        Bounded::Exact(6.0),
        Bounded::Exact(5.0),
        Bounded::AtMost(8.0),
        Bounded::Exact(7.0),
        Bounded::Exact(4.0),
    ];
    let inside_fixed = [
        inside[0],
        inside[1],
        Bounded::Exact(4.5),
        inside[3],
        inside[4],
    ];
    let r = ratio_bounded(&inside, band, RULE).expect("s");
    // AtMost(8) is surely below 12 but not surely above 3: 4 of 5 above low.
    assert_eq!(r.decision, Decision::Inconclusive, "{r:?}");
    let r = ratio_bounded(&inside_fixed, band, RULE).expect("s");
    // All exact: the log-ratio t-test, not the sign test.
    assert_eq!(r.test, Test::LogRatioTost);
    // Three seeds can never decide by signs (p >= 1/8).
    let r = ratio_bounded(&above[..3], band, RULE).expect("s");
    assert_eq!(r.decision, Decision::Inconclusive, "{r:?}");
    // Bad inputs are refused as by `ratio`.
    assert!(ratio_bounded(&[Bounded::AtLeast(-1.0)], band, RULE).is_err());
}
