//! The distribution maths against scipy 1.17 (`scipy.stats.t.sf`, `t.ppf`,
//! `norm.sf`) and standard t tables.
use claim_stats::dist::{normal_upper, student_t_quantile, student_t_upper};

#[test]
fn student_t_upper_matches_tables_and_scipy() {
    // Standard t tables: one-sided critical values at 0.05 and 0.025.
    for (t, df, p) in [
        (1.812_461, 10.0, 0.05),
        (2.228_139, 10.0, 0.025),
        (6.313_752, 1.0, 0.05),
        (1.644_854, 1e7, 0.05),
        (2.919_986, 2.0, 0.05),
    ] {
        let got = student_t_upper(t, df);
        assert!((got - p).abs() < 1e-5, "t={t} df={df}: {got} vs {p}");
    }
    // scipy.stats.t.sf, including a fractional df (Welch's).
    for (t, df, p) in [
        (2.5, 3.0, 0.043_853_323_504_032_78),
        (0.7, 7.3, 0.252_808_570_093_129_2),
        (-1.2, 4.0, 0.851_824_303_343_823_3),
        (4.0, 20.0, 0.000_351_761_646_564_159_3),
    ] {
        let got = student_t_upper(t, df);
        assert!(
            (got - p).abs() < 1e-12 * p.max(1e-3),
            "t={t} df={df}: {got} vs {p}"
        );
    }
    assert!((student_t_upper(1.0, 1.0) - 0.25).abs() < 1e-12);
    // Symmetric about 0.
    assert!((student_t_upper(0.0, 5.0) - 0.5).abs() < 1e-12);
    assert!((student_t_upper(-1.812_461, 10.0) - 0.95).abs() < 1e-5);
    assert!(student_t_upper(f64::NAN, 3.0).is_nan());
    assert!(student_t_upper(1.0, 0.0).is_nan());
}

#[test]
fn student_t_quantile_matches_scipy_and_inverts_the_tail() {
    for (q, df, t) in [
        (0.95, 1.0, 6.313_751_514_675_037),
        (0.95, 2.0, 2.919_985_580_353_724_2),
        (0.95, 5.0, 2.015_048_373_333_023_3),
        (0.95, 10.0, 1.812_461_122_811_675_6),
        (0.95, 30.0, 1.697_260_886_593_957),
        (0.975, 2.0, 4.302_652_729_749_462),
        (0.999, 3.0, 10.214_531_852_407_383),
        (1e-6, 4.0, -41.577_854_150_450_975),
        (0.95, 3.7, 2.182_493_803_914_600_7),
    ] {
        let got = student_t_quantile(q, df);
        assert!(
            (got - t).abs() < 1e-9 * t.abs(),
            "q={q} df={df}: {got} vs {t}"
        );
    }
    for df in [1.0, 2.5, 7.0, 60.0] {
        for q in [0.01, 0.2, 0.5, 0.77, 0.999] {
            let t = student_t_quantile(q, df);
            assert!(
                (1.0 - student_t_upper(t, df) - q).abs() < 1e-12,
                "q={q} df={df}"
            );
        }
    }
    assert_eq!(student_t_quantile(0.5, 3.0), 0.0);
    assert_eq!(student_t_quantile(1.0, 3.0), f64::INFINITY);
    assert_eq!(student_t_quantile(0.0, 3.0), f64::NEG_INFINITY);
    assert!(student_t_quantile(1.5, 3.0).is_nan());
}

#[test]
fn normal_upper_tail_matches_scipy() {
    for (z, p) in [
        (1.644_853_626_951_472_2, 0.05),
        (-0.5, 0.691_462_461_274_013_1),
        (3.0, 0.001_349_898_031_630_093_3),
        (0.0, 0.5),
    ] {
        let got = normal_upper(z);
        assert!((got - p).abs() < 1.2e-7 * p, "z={z}: {got} vs {p}");
    }
}
