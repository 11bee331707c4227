//! Seeds needed, against scipy's exact noncentral t (`scipy.stats.nct`)
//! and G*Power's textbook counts (one-sided α = 0.05, 80% power).
use claim_stats::{pooled_sd, power, seeds_needed, Design, StatsError, ALPHA, MIN_SEEDS, POWER};

#[test]
fn seeds_needed_matches_textbook_counts() {
    // (Cohen's d, seeds per arm): G*Power / scipy.stats.nct, two arms.
    for (d, n) in [(1.0, 14), (0.5, 51), (0.8, 21), (2.0, 4)] {
        let got = seeds_needed(d, 1.0, Design::TwoArms, ALPHA, POWER).expect("seeds");
        assert_eq!(got.per_arm, n, "d = {d}: {got:?}");
        assert!(got.power >= POWER);
        assert!((got.effect_size - d).abs() < 1e-12);
    }
    // Paired: the SD is that of the differences.
    for (d, n) in [(0.5, 27), (1.0, 8)] {
        let got = seeds_needed(d, 1.0, Design::Paired, ALPHA, POWER).expect("seeds");
        assert_eq!(got.per_arm, n, "paired d = {d}: {got:?}");
    }
    // The unit and the sign do not matter, only |effect| / sd.
    let pts = seeds_needed(-1.2, 1.2, Design::TwoArms, ALPHA, POWER).expect("seeds");
    assert_eq!(pts.per_arm, 14);
    // A huge effect still needs the fewest seeds the tests decide with.
    let big = seeds_needed(50.0, 1.0, Design::TwoArms, ALPHA, POWER).expect("seeds");
    assert_eq!(big.per_arm, MIN_SEEDS);
}

#[test]
fn approximate_power_is_close_to_the_exact_noncentral_t() {
    // scipy: nct.sf(t.ppf(0.95, df), df, delta).
    for (d, n, design, exact) in [
        (1.0, 14, Design::TwoArms, 0.824_085_854_570_282_9),
        (1.0, 13, Design::TwoArms, 0.797_220_666_078_402_9),
        (0.5, 51, Design::TwoArms, 0.805_898_599_093_988_9),
        (0.5, 50, Design::TwoArms, 0.798_936_164_150_176_4),
        (2.0, 3, Design::TwoArms, 0.645_202_086_758_850_4),
        (0.5, 27, Design::Paired, 0.811_831_551_708_168_2),
        (1.0, 7, Design::Paired, 0.754_395_874_222_930_9),
    ] {
        let got = power(d, 1.0, n, design, ALPHA);
        assert!((got - exact).abs() < 0.01, "d={d} n={n}: {got} vs {exact}");
    }
    assert_eq!(power(1.0, 1.0, 1, Design::TwoArms, ALPHA), 0.0);
}

#[test]
fn seeds_needed_refuses_what_no_count_can_detect() {
    let two = Design::TwoArms;
    assert!(matches!(
        seeds_needed(0.0, 1.0, two, ALPHA, POWER),
        Err(StatsError::SeedsNeeded(_))
    ));
    assert!(matches!(
        seeds_needed(1.0, 0.0, two, ALPHA, POWER),
        Err(StatsError::SeedsNeeded(_))
    ));
    assert!(matches!(
        seeds_needed(1e-6, 1.0, two, ALPHA, POWER),
        Err(StatsError::SeedsNeeded(_))
    ));
    assert_eq!(
        seeds_needed(1.0, 1.0, two, 0.7, POWER),
        Err(StatsError::Alpha(0.7))
    );
    assert_eq!(
        seeds_needed(1.0, 1.0, two, ALPHA, 1.0),
        Err(StatsError::Power(1.0))
    );
}

#[test]
fn pooled_sd_weighs_each_arm_by_its_degrees_of_freedom() {
    // s_a² = 1 (3 seeds), s_b² = 6 (5 seeds): (2·1 + 4·6) / 6 = 13/3.
    let a = [1.0, 2.0, 3.0];
    let b = [0.0, 2.0, 4.0, 2.0 + 8f64.sqrt(), 2.0 - 8f64.sqrt()];
    let sd = pooled_sd(&a, &b).expect("pooled");
    assert!((sd - (13.0f64 / 3.0).sqrt()).abs() < 1e-12, "{sd}");
    assert!(pooled_sd(&[1.0], &[2.0]).is_err());
}
