//! Distribution maths: Student's t (upper tail and quantile), the normal
//! upper tail, and what they need (ln Γ, the regularized incomplete beta).
//!
//! Written here rather than taken from a crate so the claim tests depend on
//! nothing but serde; checked against scipy in `tests/dist.rs`.

/// Welch–Satterthwaite degrees of freedom of `mean(a) - mean(b)`, from the
/// sample variances `va`, `vb` and sizes `na`, `nb` (each at least 2).
/// Where both variances are 0 it returns the pooled `na + nb - 2` (there
/// is no spread to weigh).
pub fn welch_df(va: f64, na: f64, vb: f64, nb: f64) -> f64 {
    let (qa, qb) = (va / na, vb / nb);
    let den = qa * qa / (na - 1.0) + qb * qb / (nb - 1.0);
    if den == 0.0 {
        na + nb - 2.0
    } else {
        (qa + qb).powi(2) / den
    }
}

/// P(T > t) for Student's t with `df` degrees of freedom.
pub fn student_t_upper(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 0.0 } else { 1.0 };
    }
    let x = df / (df + t * t);
    let tail = 0.5 * regularized_incomplete_beta(0.5 * df, 0.5, x);
    if t >= 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// The `q` quantile of Student's t with `df` degrees of freedom: the `t`
/// with P(T <= t) = q (scipy's `t.ppf`), so `student_t_upper(t, df) = 1 - q`.
/// The one-sided critical value at level α is `student_t_quantile(1 - α, df)`.
///
/// By bisection on [`student_t_upper`] (monotone, so bisection cannot miss),
/// to a relative width of 1e-14.
pub fn student_t_quantile(q: f64, df: f64) -> f64 {
    if q.is_nan() || df.is_nan() || df <= 0.0 || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    if q == 0.5 {
        0.0
    } else if q < 0.5 {
        // Work in the upper tail of the mirror image: 1 - q would round away
        // a tiny q.
        -t_upper_inverse(q, df)
    } else {
        t_upper_inverse(1.0 - q, df)
    }
}

/// The `t >= 0` with P(T > t) = p, for 0 <= p < 0.5.
fn t_upper_inverse(p: f64, df: f64) -> f64 {
    if p <= 0.0 {
        return f64::INFINITY;
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while student_t_upper(hi, df) > p {
        lo = hi;
        hi *= 2.0;
        if hi.is_infinite() {
            return f64::INFINITY;
        }
    }
    for _ in 0..2000 {
        let mid = 0.5 * (lo + hi);
        if student_t_upper(mid, df) > p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-14 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// P(Z > z) for the standard normal, from [`erfc`] (relative error below
/// 1.2e-7: ample for power and seed counts, not used for p values).
pub fn normal_upper(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, by the Chebyshev fit of Numerical
/// Recipes (`erfcc`, fractional error below 1.2e-7 everywhere).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * (-z * z + poly).exp();
    if x >= 0.0 {
        ans
    } else {
        2.0 - ans
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error < 1e-13).
pub fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1-x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + 7.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// I_x(a, b), the regularized incomplete beta function, by its continued
/// fraction (modified Lentz), using the symmetry I_x(a,b) = 1 - I_{1-x}(b,a)
/// where the fraction converges faster.
pub fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// The continued fraction of the incomplete beta function (modified Lentz),
/// for [`regularized_incomplete_beta`].
pub fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut f = d;
    for m in 1..=300 {
        let m = m as f64;
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + num / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            f *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    f
}
