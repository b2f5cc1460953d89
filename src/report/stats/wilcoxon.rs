//! The Wilcoxon signed-rank test on paired differences.
//!
//! Method, as in Hollander & Wolfe (*Nonparametric Statistical Methods*,
//! §3.1) and scipy's `wilcoxon(zero_method="wilcox")`:
//!
//! - **Zero differences** are discarded before ranking (Wilcoxon's original
//!   method). A case whose score did not change says nothing about the
//!   direction of a change; `n` is the number of non-zero differences and the
//!   number of zeros is reported alongside.
//! - **Ties** in `|d|` get mid-ranks (the mean of the ranks they occupy).
//!   Two differences are tied when they are equal after rounding to
//!   `1e-9`, so float noise such as `0.1 + 0.2` vs `0.3` does not break ties.
//! - **Exact p-value** for `n ≤ 50`: the null distribution of `W⁺` is built by
//!   enumerating all `2ⁿ` sign assignments over the *actual* (mid-)ranks with
//!   a dynamic programme over doubled ranks (integers), so it is exact even
//!   with ties (the conditional permutation distribution). Without ties it is
//!   the classic table distribution.
//! - **Normal approximation** for `n > 50`: mean `n(n+1)/4`, variance
//!   `n(n+1)(2n+1)/24 − Σ(t³ − t)/48` over tie groups of size `t`, without
//!   continuity correction (scipy's default).
//!
//! The two-sided p-value is `min(1, 2·min(P(W⁺ ≤ w), P(W⁺ ≥ w)))`.

use serde::{Deserialize, Serialize};

use super::normal;

/// Largest `n` (non-zero differences) for which the exact distribution is used.
pub const EXACT_MAX_N: usize = 50;

/// How the p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PMethod {
    /// Exact permutation distribution of `W⁺` over the observed ranks.
    Exact,
    /// Normal approximation with tie correction.
    Normal,
}

/// The result of a Wilcoxon signed-rank test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Wilcoxon {
    /// Non-zero differences (the `n` of the test).
    pub n: usize,
    /// Zero differences, discarded.
    pub zeros: usize,
    /// Sum of the ranks of positive differences.
    pub w_plus: f64,
    /// Sum of the ranks of negative differences.
    pub w_minus: f64,
    /// Two-sided p-value; 1 when `n` is zero.
    pub p_value: f64,
    /// How the p-value was computed.
    pub method: PMethod,
}

/// Runs the two-sided Wilcoxon signed-rank test on paired differences
/// (`head − base`). Non-finite differences are ignored.
///
/// ```
/// use tribunal::report::stats::wilcoxon_signed_rank;
/// // Hollander & Wolfe (1999), Table 3.1: Hamilton depression scale,
/// // first visit minus second visit, 9 patients: exact p = 0.0390625.
/// let x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
/// let y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
/// let d: Vec<f64> = x.iter().zip(&y).map(|(a, b)| b - a).collect();
/// let w = wilcoxon_signed_rank(&d);
/// assert_eq!(w.w_plus, 5.0);
/// assert!((w.p_value - 0.0390625).abs() < 1e-12);
/// ```
pub fn wilcoxon_signed_rank(differences: &[f64]) -> Wilcoxon {
    let finite: Vec<f64> = differences
        .iter()
        .copied()
        .filter(|d| d.is_finite())
        .collect();
    let key = |d: f64| (d.abs() * 1e9).round();
    let zeros = finite.iter().filter(|d| key(**d) == 0.0).count();
    let mut nonzero: Vec<f64> = finite.into_iter().filter(|d| key(*d) != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return Wilcoxon {
            n,
            zeros,
            w_plus: 0.0,
            w_minus: 0.0,
            p_value: 1.0,
            method: PMethod::Exact,
        };
    }
    nonzero.sort_by(|a, b| key(*a).total_cmp(&key(*b)));
    // Doubled mid-ranks (integers) and tie group sizes.
    let mut doubled = vec![0u64; n];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && key(nonzero[j + 1]) == key(nonzero[i]) {
            j += 1;
        }
        // Ranks i+1..=j+1; their mean doubled is (i+1)+(j+1).
        let r2 = (i + 1 + j + 1) as u64;
        for slot in doubled.iter_mut().take(j + 1).skip(i) {
            *slot = r2;
        }
        ties.push(j - i + 1);
        i = j + 1;
    }
    let w_plus2: u64 = nonzero
        .iter()
        .zip(&doubled)
        .filter(|(d, _)| **d > 0.0)
        .map(|(_, r)| *r)
        .sum();
    let total2: u64 = doubled.iter().sum();
    let w_plus = w_plus2 as f64 / 2.0;
    let w_minus = (total2 - w_plus2) as f64 / 2.0;
    let (p_value, method) = if n <= EXACT_MAX_N {
        (exact_p(&doubled, w_plus2), PMethod::Exact)
    } else {
        (normal_p(n, &ties, w_plus), PMethod::Normal)
    };
    Wilcoxon {
        n,
        zeros,
        w_plus,
        w_minus,
        p_value,
        method,
    }
}

/// Exact two-sided p-value of `W⁺·2 = observed2` over the sign
/// permutations of the given doubled ranks.
fn exact_p(doubled: &[u64], observed2: u64) -> f64 {
    let total: u64 = doubled.iter().sum();
    // dist[s] = P(sum of doubled ranks with a + sign = s).
    let mut dist = vec![0.0_f64; total as usize + 1];
    dist[0] = 1.0;
    let mut reach = 0usize;
    for &r in doubled {
        let r = r as usize;
        for s in (0..=reach).rev() {
            let p = dist[s] * 0.5;
            dist[s] = p;
            dist[s + r] += p;
        }
        reach += r;
    }
    let obs = observed2 as usize;
    let lower: f64 = dist[..=obs].iter().sum();
    let upper: f64 = dist[obs..].iter().sum();
    (2.0 * lower.min(upper)).min(1.0)
}

/// Normal-approximation two-sided p-value with tie correction.
fn normal_p(n: usize, ties: &[usize], w_plus: f64) -> f64 {
    let n = n as f64;
    let mean = n * (n + 1.0) / 4.0;
    let tie_term: f64 = ties
        .iter()
        .map(|&t| {
            let t = t as f64;
            t * t * t - t
        })
        .sum();
    let var = n * (n + 1.0) * (2.0 * n + 1.0) / 24.0 - tie_term / 48.0;
    if var <= 0.0 {
        return 1.0;
    }
    normal::two_sided_p((w_plus - mean) / var.sqrt())
}

/// The `q`-quantile (`0 ≤ q ≤ 1`) of `values` by linear interpolation
/// between order statistics (Hyndman & Fan type 7, the default of R,
/// numpy and spreadsheets). `None` for an empty slice; NaNs are ignored.
///
/// ```
/// use tribunal::report::stats::percentile;
/// assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
/// ```
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q = q.clamp(0.0, 1.0);
    let h = (v.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// Brute force: enumerate all sign assignments of the mid-ranks.
    fn brute_force_p(d: &[f64]) -> f64 {
        let w = wilcoxon_signed_rank(d);
        let mut abs: Vec<f64> = d.iter().filter(|x| **x != 0.0).map(|x| x.abs()).collect();
        abs.sort_by(f64::total_cmp);
        let n = abs.len();
        let ranks: Vec<f64> = (0..n)
            .map(|i| {
                let first = abs.iter().position(|a| *a == abs[i]).unwrap_or(i);
                let last = abs.iter().rposition(|a| *a == abs[i]).unwrap_or(i);
                (first + last + 2) as f64 / 2.0
            })
            .collect();
        let (mut le, mut ge) = (0u64, 0u64);
        for mask in 0u64..(1 << n) {
            let s: f64 = (0..n)
                .filter(|i| mask >> i & 1 == 1)
                .map(|i| ranks[i])
                .sum();
            if s <= w.w_plus + 1e-9 {
                le += 1;
            }
            if s >= w.w_plus - 1e-9 {
                ge += 1;
            }
        }
        (2.0 * le.min(ge) as f64 / (1u64 << n) as f64).min(1.0)
    }

    #[test]
    #[allow(clippy::approx_constant)] // 3.14 is a measurement, not π.
    fn hollander_wolfe_depression_example() {
        // Hollander & Wolfe Table 3.1; scipy `wilcoxon(x, y)`: T = 5, p = 0.0390625.
        let x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
        let y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29];
        let d: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
        let w = wilcoxon_signed_rank(&d);
        assert_eq!((w.n, w.zeros), (9, 0));
        assert_eq!((w.w_plus, w.w_minus), (40.0, 5.0));
        assert_eq!(w.method, PMethod::Exact);
        assert!((w.p_value - 0.0390625).abs() < 1e-15, "{}", w.p_value);
    }

    /// Textbook values without ties: all of one sign gives p = 2/2ⁿ.
    #[rstest]
    #[case(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.0625)]
    #[case(&[-1.0, -2.0, -3.0, -4.0, -5.0, -6.0], 0.03125)]
    #[case(&[1.0], 1.0)]
    #[case(&[1.0, -2.0, 3.0, -4.0, 5.0, -6.0, 7.0, 8.0], 0.4609375)]
    fn exact_small_samples(#[case] d: &[f64], #[case] p: f64) {
        let w = wilcoxon_signed_rank(d);
        assert!(
            (w.p_value - p).abs() < 1e-12,
            "{d:?}: {} want {p}",
            w.p_value
        );
        assert!((w.p_value - brute_force_p(d)).abs() < 1e-12);
    }

    #[test]
    fn zeros_are_dropped_and_ties_get_midranks() {
        let d = [0.5, -0.5, 1.0, 1.0, 1.0, -2.0, 0.0, 0.0, 3.0, 2.5, 2.5, 4.0];
        let w = wilcoxon_signed_rank(&d);
        assert_eq!((w.n, w.zeros), (10, 2));
        // |d| ranks: 0.5,0.5 → 1.5; 1,1,1 → 4; 2 → 6; 2.5,2.5 → 7.5; 3 → 9; 4 → 10.
        assert_eq!(w.w_minus, 1.5 + 6.0);
        assert_eq!(w.w_plus, 55.0 - 7.5);
        assert_eq!(w.method, PMethod::Exact);
        assert!(
            (w.p_value - brute_force_p(&d)).abs() < 1e-12,
            "{}",
            w.p_value
        );
    }

    #[test]
    fn float_noise_does_not_break_ties() {
        let a = wilcoxon_signed_rank(&[0.1 + 0.2, -0.3, 0.5, 0.7]);
        assert_eq!(a.w_plus, 1.5 + 3.0 + 4.0);
        assert_eq!(a.w_minus, 1.5);
    }

    #[test]
    fn no_nonzero_differences_means_no_evidence() {
        let w = wilcoxon_signed_rank(&[0.0, 0.0, f64::NAN]);
        assert_eq!((w.n, w.zeros, w.p_value), (0, 2, 1.0));
    }

    #[test]
    fn large_sample_normal_approximation_with_ties_matches_scipy() {
        // 80 differences with many ties and two zeros. scipy 1.17:
        // wilcoxon(d, method="approx", zero_method="wilcox", correction=False)
        // → statistic (min(W+, W−)) = 1401, p = 0.609396290770267.
        let d = [
            0.4, 0.9, 0.4, -1.2, 1.0, 0.5, -0.4, 0.7, 0.5, 0.4, 0.1, 0.6, -0.6, -0.1, -0.4, 0.7,
            0.1, -0.2, -0.7, -0.2, 0.1, -0.2, 1.4, 1.1, -2.6, -1.8, -0.1, -0.3, 0.3, 0.3, 2.2,
            -1.0, -0.3, 2.1, 0.7, 0.8, -0.4, -1.5, 0.3, 0.2, -1.1, -0.6, 0.0, -0.8, 0.0, 0.2, 0.1,
            -0.4, 0.7, 1.0, 0.4, -0.7, 0.8, -0.4, 1.0, -1.0, 1.0, 0.1, -1.1, -0.2, 0.2, 0.4, -0.9,
            -1.0, 0.3, -0.4, 0.3, 0.9, -1.5, 0.4, 1.3, -0.2, -0.7, 0.9, 0.4, 1.0, -0.2, -1.4, -0.0,
            -0.3,
        ];
        let w = wilcoxon_signed_rank(&d);
        assert_eq!((w.n, w.zeros), (77, 3));
        assert_eq!(w.method, PMethod::Normal);
        assert_eq!(w.w_plus.min(w.w_minus), 1401.0);
        assert!(
            (w.p_value - 0.609396290770267).abs() < 1e-12,
            "{}",
            w.p_value
        );
    }

    #[test]
    fn exact_and_normal_agree_near_the_switch() {
        // n = 50 all distinct, alternating signs weighted towards positive.
        let d: Vec<f64> = (1..=50)
            .map(|i| if i % 3 == 0 { -(i as f64) } else { i as f64 })
            .collect();
        let exact = wilcoxon_signed_rank(&d);
        assert_eq!(exact.method, PMethod::Exact);
        let approx = normal_p(50, &[1; 50], exact.w_plus);
        assert!(
            (exact.p_value - approx).abs() < 0.01,
            "{} vs {approx}",
            exact.p_value
        );
    }

    proptest::proptest! {
        /// With ties and zeros (small integer differences), the exact
        /// p-value equals brute-force enumeration, rank sums add up, and the
        /// test is symmetric in the sign of the differences.
        #[test]
        fn exact_p_matches_enumeration(d in proptest::collection::vec(-3i8..=3, 0..12)) {
            let d: Vec<f64> = d.into_iter().map(f64::from).collect();
            let w = wilcoxon_signed_rank(&d);
            let n = w.n as f64;
            proptest::prop_assert_eq!(w.w_plus + w.w_minus, n * (n + 1.0) / 2.0);
            proptest::prop_assert!((w.p_value - brute_force_p(&d)).abs() < 1e-12);
            let neg: Vec<f64> = d.iter().map(|x| -x).collect();
            let m = wilcoxon_signed_rank(&neg);
            proptest::prop_assert!((m.p_value - w.p_value).abs() < 1e-12);
            proptest::prop_assert!(w.p_value > 0.0 && w.p_value <= 1.0);
        }
    }

    #[rstest]
    #[case(&[1.0, 2.0, 3.0, 4.0], 0.5, Some(2.5))]
    #[case(&[1.0, 2.0, 3.0, 4.0], 0.95, Some(3.85))]
    #[case(&[7.0], 0.95, Some(7.0))]
    #[case(&[], 0.5, None)]
    #[case(&[10.0, 1.0, 5.0, f64::NAN], 0.0, Some(1.0))]
    fn percentiles_interpolate_linearly(
        #[case] v: &[f64],
        #[case] q: f64,
        #[case] want: Option<f64>,
    ) {
        let got = percentile(v, q);
        match (got, want) {
            (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{g} want {w}"),
            (g, w) => assert_eq!(g, w),
        }
    }
}
