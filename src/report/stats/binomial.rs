//! Proportions: the Wilson score interval and McNemar's exact test.

use serde::{Deserialize, Serialize};

use super::normal;

/// A pass rate with its Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Proportion {
    /// Successes (passing trials).
    pub successes: u64,
    /// Trials counted (skipped trials are not counted).
    pub n: u64,
    /// `successes / n`, or `None` when `n` is zero.
    pub rate: Option<f64>,
    /// Lower bound of the interval (0 when `n` is zero).
    pub low: f64,
    /// Upper bound of the interval (1 when `n` is zero).
    pub high: f64,
    /// The confidence level of the interval, e.g. `0.95`.
    pub confidence: f64,
}

impl Proportion {
    /// The proportion `successes / n` with its Wilson interval at `confidence`.
    pub fn new(successes: u64, n: u64, confidence: f64) -> Self {
        let (low, high) = wilson_interval(successes, n, confidence);
        Proportion {
            successes,
            n,
            rate: (n > 0).then(|| successes as f64 / n as f64),
            low,
            high,
            confidence,
        }
    }
}

/// The Wilson score interval (Wilson 1927; "method 3" in Newcombe 1998,
/// without continuity correction) for `successes` out of `n` at the given
/// two-sided `confidence` (e.g. `0.95`).
///
/// Returns `(0, 1)` when `n` is zero: nothing is known. Unlike the Wald
/// interval it never leaves `[0, 1]` and behaves well at 0 and `n`
/// successes, which is common for small eval suites.
///
/// ```
/// use tribunal::report::stats::wilson_interval;
/// let (lo, hi) = wilson_interval(81, 263, 0.95);
/// assert!((lo - 0.2553).abs() < 5e-5 && (hi - 0.3662).abs() < 5e-5);
/// ```
pub fn wilson_interval(successes: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let successes = successes.min(n);
    let z = normal::quantile(0.5 + confidence / 2.0);
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denom;
    let half = z / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    // At 0 and n successes the exact bound is 0 (resp. 1); avoid rounding noise.
    let low = if successes == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let high = if successes == n {
        1.0
    } else {
        (center + half).min(1.0)
    };
    (low, high)
}

/// The result of McNemar's exact test on paired pass/fail outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Discordant pairs that passed in the base and fail in the head
    /// (regressions).
    pub pass_to_fail: u64,
    /// Discordant pairs that failed in the base and pass in the head
    /// (improvements).
    pub fail_to_pass: u64,
    /// The exact two-sided p-value: `min(1, 2·P(X ≤ min(b, c)))` with
    /// `X ~ Binomial(b + c, ½)`. 1 when there are no discordant pairs.
    pub p_value: f64,
}

/// McNemar's exact test (the exact binomial form): under the null
/// hypothesis that base and head pass equally often, each discordant pair is
/// a regression or an improvement with probability ½. Concordant pairs carry
/// no information and do not enter the test.
///
/// ```
/// use tribunal::report::stats::mcnemar_exact;
/// // 1 regression, 5 improvements: p = 2·(1 + 6)/64.
/// assert!((mcnemar_exact(1, 5).p_value - 0.21875).abs() < 1e-12);
/// ```
pub fn mcnemar_exact(pass_to_fail: u64, fail_to_pass: u64) -> McNemar {
    let n = pass_to_fail + fail_to_pass;
    let p_value = if n == 0 {
        1.0
    } else {
        (2.0 * binomial_half_cdf(pass_to_fail.min(fail_to_pass), n)).min(1.0)
    };
    McNemar {
        pass_to_fail,
        fail_to_pass,
        p_value,
    }
}

/// `P(X ≤ k)` for `X ~ Binomial(n, ½)`, summed in log space so that large
/// `n` neither overflows nor underflows.
pub fn binomial_half_cdf(k: u64, n: u64) -> f64 {
    if k >= n {
        return 1.0;
    }
    let ln2 = std::f64::consts::LN_2;
    // ln C(n, i) built incrementally: ln C(n, i) = ln C(n, i-1) + ln((n-i+1)/i).
    let mut ln_c = 0.0_f64;
    let mut terms = Vec::with_capacity(k as usize + 1);
    for i in 0..=k {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        terms.push(ln_c - n as f64 * ln2);
    }
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = terms.iter().map(|t| (t - max).exp()).sum();
    (max + sum.ln()).exp().min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// Newcombe (1998), "Two-sided confidence intervals for the single
    /// proportion", Statistics in Medicine 17:857–872, Table I, method 3
    /// (Wilson score, no continuity correction), given to 4 decimals; the
    /// 17-digit values are scipy 1.17 `binomtest(x, n).proportion_ci("wilson")`.
    #[rstest]
    #[case(81, 263, 0.2552885198782742, 0.36620957698280004)]
    #[case(15, 148, 0.06238639953073629, 0.16048724172330803)]
    #[case(0, 20, 0.0, 0.16112515805281935)]
    #[case(1, 29, 0.006113214292762667, 0.17175521879320282)]
    #[case(29, 29, 0.8830302015002592, 1.0)]
    #[case(0, 1, 0.0, 0.7934506856227626)]
    #[case(5, 10, 0.236593090512564, 0.7634069094874361)]
    fn wilson_matches_newcombe_table(
        #[case] x: u64,
        #[case] n: u64,
        #[case] low: f64,
        #[case] high: f64,
    ) {
        let (l, h) = wilson_interval(x, n, 0.95);
        assert!((l - low).abs() < 1e-12, "{x}/{n}: low {l} want {low}");
        assert!((h - high).abs() < 1e-12, "{x}/{n}: high {h} want {high}");
    }

    #[test]
    fn wilson_at_90_percent() {
        let (l, h) = wilson_interval(81, 263, 0.90);
        assert!((l - 0.26331361718848145).abs() < 1e-12);
        assert!((h - 0.3565663496084882).abs() < 1e-12);
    }

    #[test]
    fn wilson_with_no_trials_knows_nothing() {
        assert_eq!(wilson_interval(0, 0, 0.95), (0.0, 1.0));
        let p = Proportion::new(0, 0, 0.95);
        assert_eq!(p.rate, None);
    }

    #[test]
    fn proportion_carries_rate_and_interval() {
        let p = Proportion::new(15, 148, 0.95);
        assert_eq!(p.rate, Some(15.0 / 148.0));
        assert!((p.low - 0.0624).abs() < 5e-5);
        assert!((p.high - 0.1605).abs() < 5e-5);
    }

    /// Hand-computed: p = 2·Σ_{i≤min} C(n,i)/2ⁿ; the large case is scipy
    /// `binomtest(86, 236, 0.5).pvalue` (Agresti's presidential approval
    /// table, n12 = 150, n21 = 86).
    #[rstest]
    #[case(1, 5, 0.21875)]
    #[case(5, 1, 0.21875)]
    #[case(0, 6, 0.03125)]
    #[case(2, 10, 0.03857421875)]
    #[case(3, 3, 1.0)]
    #[case(0, 0, 1.0)]
    #[case(0, 1, 1.0)]
    #[case(150, 86, 3.7159361395713866e-05)]
    fn mcnemar_exact_p_values(#[case] b: u64, #[case] c: u64, #[case] p: f64) {
        let m = mcnemar_exact(b, c);
        assert!(
            ((m.p_value - p) / p).abs() < 1e-10,
            "{b},{c}: {} want {p}",
            m.p_value
        );
        assert_eq!((m.pass_to_fail, m.fail_to_pass), (b, c));
    }

    proptest::proptest! {
        /// The log-space CDF equals the direct sum of C(n, i)/2ⁿ for n ≤ 60,
        /// and the interval always contains the observed rate.
        #[test]
        fn cdf_matches_direct_sum_and_interval_contains_rate(n in 1u64..60, k in 0u64..60) {
            let k = k.min(n);
            let mut c = 1.0_f64;
            let mut sum = 0.0;
            for i in 0..=k {
                if i > 0 {
                    c = c * (n - i + 1) as f64 / i as f64;
                }
                sum += c;
            }
            let direct = (sum / 2f64.powi(n as i32)).min(1.0);
            proptest::prop_assert!((binomial_half_cdf(k, n) - direct).abs() < 1e-12);
            let (lo, hi) = wilson_interval(k, n, 0.95);
            let p = k as f64 / n as f64;
            proptest::prop_assert!(lo <= p + 1e-12 && p <= hi + 1e-12 && lo >= 0.0 && hi <= 1.0);
        }
    }

    #[test]
    fn binomial_cdf_survives_large_n() {
        // Symmetric: P(X ≤ 1999) for n = 4000 is just under one half.
        let p = binomial_half_cdf(1999, 4000);
        assert!(p > 0.49 && p < 0.5, "{p}");
        // 2^-3000 underflows a double: the log-space sum must return 0, not NaN.
        assert_eq!(binomial_half_cdf(0, 3000), 0.0);
    }
}
