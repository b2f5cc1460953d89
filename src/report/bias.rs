//! Length bias: do a judge's scores follow output length?
//!
//! LLM judges tend to prefer longer answers. Reports can call
//! [`length_bias`] over a run's verdicts to show, per judge check, the
//! Pearson correlation between the output length (characters) and the
//! judge's normalised score. It is a note for the reader, never a gate.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::verdict::{Outcome, Verdict};

/// The length–score correlation of one judge check across a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LengthBias {
    /// The judge check name.
    pub check: String,
    /// Number of scored outputs.
    pub n: usize,
    /// Pearson correlation of output length and score, in `[-1, 1]`;
    /// `None` when lengths or scores do not vary.
    pub correlation: Option<f64>,
}

/// Pearson's correlation coefficient of paired samples (`None` with fewer
/// than two points or no variation in either variable).
pub fn pearson(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in points {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// Per judge check (kind `judge`, with a score), the correlation of output
/// length and score over `verdicts`.
pub fn length_bias<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Vec<LengthBias> {
    let mut points: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for v in verdicts {
        let Some(output) = &v.output else { continue };
        let len = output.text.chars().count() as f64;
        for c in &v.checks {
            if c.kind != "judge" || !matches!(c.outcome, Outcome::Pass | Outcome::Fail) {
                continue;
            }
            if let Some(score) = c.score {
                points
                    .entry(c.name.as_str())
                    .or_default()
                    .push((len, score));
            }
        }
    }
    points
        .into_iter()
        .map(|(check, p)| LengthBias {
            check: check.to_string(),
            n: p.len(),
            correlation: pearson(&p),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::{CheckResult, Output};

    #[test]
    fn pearson_hand_computed() {
        // x = 1,2,3; y = 2,4,7: mx=2, my=13/3; sxy=5, sxx=2, syy=38/3 → r = 5/sqrt(76/3)
        let r = pearson(&[(1.0, 2.0), (2.0, 4.0), (3.0, 7.0)]).expect("r");
        assert!((r - 5.0 / (76.0f64 / 3.0).sqrt()).abs() < 1e-12, "{r}");
        let down = pearson(&[(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)]).expect("r");
        assert!((down + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&[(1.0, 1.0), (2.0, 1.0)]), None);
        assert_eq!(pearson(&[(1.0, 1.0)]), None);
    }

    fn verdict(text: &str, score: f64) -> Verdict {
        let (outcome, _) = Verdict::conclude(&[], 1.0);
        Verdict {
            suite: "s".into(),
            case: "c".into(),
            variant: None,
            trial: "s::c".into(),
            outcome,
            tags: vec![],
            score: 1.0,
            threshold: 1.0,
            gate: Default::default(),
            checks: vec![
                CheckResult::pass_with("judge", "quality", "ok").with_score(score),
                CheckResult::pass_with("contains", "x", "ok").with_score(1.0),
            ],
            output: Some(Output::text(text)),
            error: None,
            location: crate::verdict::parse_span("f:1:1"),
            usage: Default::default(),
            cost_usd: None,
            duration_ms: 0.0,
        }
    }

    #[test]
    fn longer_outputs_scoring_higher_show_up() {
        let vs = [
            verdict("a", 0.25),
            verdict("aaaa", 0.5),
            verdict("aaaaaaaa", 1.0),
        ];
        let b = length_bias(&vs);
        assert_eq!(b.len(), 1, "only judge checks: {b:?}");
        assert_eq!(b[0].check, "quality");
        assert_eq!(b[0].n, 3);
        assert!(b[0].correlation.expect("r") > 0.99);
    }
}
