//! The statistics of the regression gate, dependency-free: Student's t distribution, Welch's
//! t-test, and the Holm–Bonferroni step-down correction.
//!
//! The t distribution is computed from the regularized incomplete beta function (Lentz's
//! continued fraction, as in Numerical Recipes §6.4); the tests pin it to published table values.

/// Median, minimum and maximum of the finite values; `None` when there are none. The one
/// median of the crate (evidence, HTML tables and the gate all use it).
pub fn median_min_max(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((median, v[0], v[n - 1]))
}

/// `ln Γ(x)` for `x > 0` (Lanczos approximation, g = 7, n = 9; relative error < 1e-13).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
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
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-15;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=10_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// The regularized incomplete beta function `I_x(a, b)`.
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// `P(T ≤ t)` for Student's t with `df` degrees of freedom (`df` may be fractional, as Welch's
/// is; `f64::INFINITY` gives the standard normal).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if df.is_infinite() || df > 1e7 {
        return normal_cdf(t);
    }
    let tail = 0.5 * inc_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// Two-sided p-value of `t` under Student's t with `df` degrees of freedom.
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_infinite() {
        return 0.0;
    }
    if df.is_infinite() || df > 1e7 {
        return (2.0 * (1.0 - normal_cdf(t.abs()))).clamp(0.0, 1.0);
    }
    inc_beta(df / 2.0, 0.5, df / (df + t * t)).clamp(0.0, 1.0)
}

/// The `p` quantile of Student's t with `df` degrees of freedom (bisection on [`t_cdf`]; exact
/// to ~1e-12 relative).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    // Bracket, then bisect: the CDF is monotone, and 200 halvings reach f64 resolution.
    let mut hi = 1.0;
    while t_cdf(hi, df) < p {
        hi *= 2.0;
        if hi > 1e300 {
            return f64::INFINITY;
        }
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The standard normal CDF (via `erfc`, Numerical Recipes' Chebyshev fit, |error| < 1.2e-7).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample variance (n − 1 denominator); 0 for fewer than two values.
pub fn variance(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return 0.0;
    }
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64
}

/// Welch's unequal-variances t-test of `mean(y) − mean(x)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// `mean(y) − mean(x)`.
    pub diff: f64,
    /// Standard error of `diff`; 0 when both samples are constant.
    pub se: f64,
    /// Welch–Satterthwaite degrees of freedom (infinite when `se` is 0).
    pub df: f64,
    /// Two-sided p-value of `diff = 0` (1 for identical constants, 0 for different constants).
    pub p: f64,
}

impl Welch {
    /// The two-sided confidence interval of `diff` at `level` (e.g. 0.95).
    pub fn ci(&self, level: f64) -> (f64, f64) {
        if self.se == 0.0 {
            return (self.diff, self.diff);
        }
        let t = t_quantile(0.5 + level / 2.0, self.df);
        (self.diff - t * self.se, self.diff + t * self.se)
    }
}

/// Welch's t-test; `None` when either sample has fewer than two values (no variance estimate).
pub fn welch(x: &[f64], y: &[f64]) -> Option<Welch> {
    if x.len() < 2 || y.len() < 2 {
        return None;
    }
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    let (vx, vy) = (variance(x) / nx, variance(y) / ny);
    let diff = mean(y) - mean(x);
    let se = (vx + vy).sqrt();
    if se == 0.0 || !se.is_finite() {
        return Some(Welch {
            diff,
            se: 0.0,
            df: f64::INFINITY,
            p: if diff == 0.0 { 1.0 } else { 0.0 },
        });
    }
    let df = (vx + vy).powi(2) / (vx * vx / (nx - 1.0) + vy * vy / (ny - 1.0));
    Some(Welch {
        diff,
        se,
        df,
        p: t_two_sided_p(diff / se, df),
    })
}

/// Holm–Bonferroni adjusted p-values, in the input order: the hypothesis of `p[i]` is rejected
/// at family-wise error rate α exactly when `adjusted[i] ≤ α`.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![1.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let a = ((m - rank) as f64 * p[i]).min(1.0);
        running = running.max(a);
        adjusted[i] = running;
    }
    adjusted
}

/// Wilson score interval of a binomial proportion `k / n` at 95%.
pub fn wilson_95(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let (k, n) = (k as f64, n as f64);
    let phat = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (phat + z * z / (2.0 * n)) / denom;
    let half = z * (phat * (1.0 - phat) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        for (n, fact) in [(1u32, 1.0f64), (2, 1.0), (5, 24.0), (11, 3_628_800.0)] {
            assert!(close(ln_gamma(n as f64), fact.ln(), 1e-12) || fact == 1.0);
        }
        // Γ(1/2) = √π
        assert!(close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-12));
    }

    #[test]
    fn t_quantiles_match_tables() {
        // (p, df, t) from standard t tables.
        let table = [
            (0.975, 1.0, 12.7062),
            (0.975, 4.0, 2.7764),
            (0.975, 10.0, 2.2281),
            (0.95, 30.0, 1.6973),
            (0.9995, 8.0, 5.0413),
            (0.9995, 20.0, 3.8495),
            (0.975, 1e9, 1.9600),
        ];
        for (p, df, t) in table {
            let q = t_quantile(p, df);
            assert!(close(q, t, 2e-4), "t({p}, {df}) = {q}, table {t}");
            assert!(close(t_cdf(q, df), p, 1e-6));
        }
        assert!(close(t_quantile(0.025, 4.0), -2.7764, 2e-4));
    }

    #[test]
    fn welch_matches_a_reference_computation() {
        // Reference values computed independently (Python statistics module):
        // t = 2.074015, Welch–Satterthwaite df = 10.2092; t(0.95, 10) < t < t(0.975, 10).
        let x = [19.8, 20.4, 19.6, 17.8, 18.5, 18.9, 18.3, 18.9, 19.5, 22.0];
        let y = [28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7, 27.6, 20.6, 13.7];
        let w = welch(&x, &y).unwrap();
        assert!(close(w.diff / w.se, 2.074_015, 1e-6), "{w:?}");
        assert!(close(w.df, 10.209_185, 1e-6), "{w:?}");
        assert!(w.p > 0.05 && w.p < 0.1, "{w:?}");
        assert!(welch(&[1.0], &y).is_none());
        let same = welch(&[3.0, 3.0], &[3.0, 3.0]).unwrap();
        assert_eq!((same.p, same.ci(0.95)), (1.0, (0.0, 0.0)));
        let exact = welch(&[3.0, 3.0], &[4.0, 4.0]).unwrap();
        assert_eq!((exact.p, exact.ci(0.95)), (0.0, (1.0, 1.0)));
    }

    #[test]
    fn welch_p_value_against_scipy() {
        // t = 3 with df = 4 (equal variances, n = 3 each); the closed form of the t CDF for
        // 4 degrees of freedom gives a two-sided p of 0.039942.
        let a = [1.0, 2.0, 3.0];
        let b = [
            3.449_489_742_783_178,
            4.449_489_742_783_178,
            5.449_489_742_783_178,
        ];
        let w = welch(&a, &b).unwrap();
        assert!(close(w.df, 4.0, 1e-9));
        assert!(close(w.diff / w.se, 3.0, 1e-9));
        assert!(close(w.p, 0.039_942_3, 1e-4), "{}", w.p);
    }

    #[test]
    fn holm_adjusts_step_down() {
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
        // sorted: 0.005×4=0.02, 0.01×3=0.03, 0.03×2=0.06, 0.04×1=0.04→max(0.06)
        let want = [0.03, 0.06, 0.06, 0.02];
        for (a, w) in adj.iter().zip(want) {
            assert!(close(*a, w, 1e-12), "{adj:?}");
        }
        assert!(holm(&[]).is_empty());
        assert_eq!(holm(&[0.9, 0.4]), vec![0.9, 0.8]);
    }

    #[test]
    fn wilson_interval() {
        let (lo, hi) = wilson_95(1, 20);
        assert!(close(lo, 0.0089, 0.02) && close(hi, 0.2361, 0.01), "{lo} {hi}");
        assert_eq!(wilson_95(0, 0), (0.0, 1.0));
    }
}
