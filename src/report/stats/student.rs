//! The mean of a sample with its Student-t confidence interval: what the
//! variant matrix prints next to a mean 1–5 judge score.
//!
//! The interval is `mean ± t(0.975, n−1) · s / √n` with `s` the sample
//! standard deviation (divisor `n − 1`). The 97.5% quantiles of Student's
//! t for 1–30 degrees of freedom are the published table values (to four
//! decimals, as in Abramowitz & Stegun, Table 26.10); above 30 the
//! Cornish–Fisher expansion around the normal quantile is used, which
//! agrees with the table to 1e-4 there.

use serde::{Deserialize, Serialize};

use super::normal;

/// `t(0.975, df)` for `df` = 1..=30.
const T975: [f64; 30] = [
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010,
    2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687,
    2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/// The 97.5% quantile of Student's t with `df` degrees of freedom (the
/// multiplier of a two-sided 95% interval); NaN for `df` = 0.
pub fn t_975(df: u64) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T975[df as usize - 1],
        _ => {
            let z = normal::quantile(0.975);
            let v = df as f64;
            let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
            z + (z3 + z) / (4.0 * v)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v * v * v)
        }
    }
}

/// A sample mean with its two-sided 95% Student-t interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mean {
    /// Values counted.
    pub n: usize,
    /// The mean.
    pub mean: f64,
    /// Sample standard deviation (`n − 1` divisor; 0 for one value).
    pub sd: f64,
    /// Lower bound of the interval (`None` for fewer than two values).
    pub low: Option<f64>,
    /// Upper bound of the interval.
    pub high: Option<f64>,
}

/// The mean of `values` with its 95% interval; `None` when empty.
/// Non-finite values are ignored.
///
/// ```
/// use tribunal::report::stats::mean_interval;
/// // 4, 5, 3, 4: mean 4, s = √(2/3), t(0.975, 3) = 3.1824.
/// let m = mean_interval(&[4.0, 5.0, 3.0, 4.0]).unwrap();
/// assert_eq!(m.mean, 4.0);
/// assert!((m.low.unwrap() - 2.7008).abs() < 1e-4);
/// ```
pub fn mean_interval(values: &[f64]) -> Option<Mean> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(Mean {
            n,
            mean,
            sd: 0.0,
            low: None,
            high: None,
        });
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let half = t_975(n as u64 - 1) * sd / (n as f64).sqrt();
    Some(Mean {
        n,
        mean,
        sd,
        low: Some(mean - half),
        high: Some(mean + half),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Published table values (and scipy.stats.t.ppf(0.975, df)).
    #[rstest]
    #[case(1, 12.7062)]
    #[case(7, 2.3646)]
    #[case(30, 2.0423)]
    #[case(40, 2.0211)]
    #[case(60, 2.0003)]
    #[case(120, 1.9799)]
    #[case(100_000, 1.9600)]
    fn t_quantiles_match_the_table(#[case] df: u64, #[case] want: f64) {
        assert!((t_975(df) - want).abs() < 1e-4, "df {df}: {}", t_975(df));
    }

    #[test]
    fn mean_interval_by_hand() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x−5)² = 32, s² = 32/7,
        // half width = 2.3646 · √(32/7) / √8 = 1.78747…
        let m = mean_interval(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).expect("mean");
        assert_eq!(m.n, 8);
        assert_eq!(m.mean, 5.0);
        assert!((m.sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        let half = 2.3646 * (32.0f64 / 7.0).sqrt() / 8.0f64.sqrt();
        assert!((m.low.expect("low") - (5.0 - half)).abs() < 1e-12);
        assert!((m.high.expect("high") - (5.0 + half)).abs() < 1e-12);
        assert!((half - 1.78747).abs() < 1e-5);
    }

    #[test]
    fn one_value_has_no_interval_and_none_has_no_mean() {
        let m = mean_interval(&[3.0]).expect("mean");
        assert_eq!((m.mean, m.low, m.high), (3.0, None, None));
        assert_eq!(mean_interval(&[]), None);
        assert_eq!(mean_interval(&[f64::NAN]), None);
    }
}
