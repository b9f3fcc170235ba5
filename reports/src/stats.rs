//! The statistics of the report and the regression gate: Welch's t-test, the Holm–Bonferroni
//! step-down correction and the Wilson interval. Student's t distribution comes from `statrs`;
//! the tests pin it to published table values.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

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

/// Student's t with `df` degrees of freedom (`df` may be fractional, as Welch's is); above
/// 10⁵ degrees of freedom (and for Welch's infinite `df` of constant samples) the standard normal,
/// whose 97.5% quantile differs from t's there by 1e-5 relative. Measured: statrs 0.18's t CDF
/// drifts beyond that (at df 5·10⁵ its 97.5% quantile is 1.95984, below the normal's 1.95996) and
/// its `inverse_cdf` did not return at df 10⁹. `None` for a `df` that is not positive.
fn students_t(df: f64) -> Option<Box<dyn ContinuousCDF<f64, f64>>> {
    if df.is_nan() || df <= 0.0 {
        None
    } else if df > 1e5 {
        Some(Box::new(Normal::standard()))
    } else {
        StudentsT::new(0.0, 1.0, df)
            .ok()
            .map(|d| Box::new(d) as Box<dyn ContinuousCDF<f64, f64>>)
    }
}

/// Two-sided p-value of `t` under Student's t with `df` degrees of freedom.
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_infinite() {
        return 0.0;
    }
    students_t(df).map_or(f64::NAN, |d| (2.0 * d.sf(t.abs())).clamp(0.0, 1.0))
}

/// The `p` quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    students_t(df).map_or(f64::NAN, |d| d.inverse_cdf(p))
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
    fn t_quantiles_match_tables() {
        // (p, df, t) from standard t tables.
        let table = [
            (0.975, 1.0, 12.7062),
            (0.975, 4.0, 2.7764),
            (0.975, 10.0, 2.2281),
            (0.95, 30.0, 1.6973),
            (0.9995, 8.0, 5.0413),
            (0.9995, 20.0, 3.8495),
            (0.975, 1e5, 1.9600),
            (0.975, 5e5, 1.9600),
            (0.975, 1e9, 1.9600),
        ];
        for (p, df, t) in table {
            let q = t_quantile(p, df);
            assert!(close(q, t, 2e-4), "t({p}, {df}) = {q}, table {t}");
            assert!(close(1.0 - t_two_sided_p(q, df) / 2.0, p, 1e-6));
        }
        assert!(close(t_quantile(0.025, 4.0), -2.7764, 2e-4));
        // Welch's fractional degrees of freedom: t(0.975, 10.5) lies between the df 10 and 11
        // table values (2.2281, 2.2010).
        let q = t_quantile(0.975, 10.5);
        assert!(q < 2.2281 && q > 2.2010, "{q}");
        assert!(t_quantile(0.5, 0.0).is_nan() && t_two_sided_p(1.0, -1.0).is_nan());
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
