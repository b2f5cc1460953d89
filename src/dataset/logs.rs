//! Importing production logs as drafts (`tribunal generate logs`): read a
//! JSONL, CSV or JSON-array log of real interactions, scrub personal data
//! ([`super::pii`]), drop duplicates, sample, and make one draft per kept
//! row, with the row's `file:line` as its provenance.
//!
//! The order is fixed: scrub, then de-duplicate (so two questions that
//! differ only in an e-mail address are one), then sample. Duplicates are
//! rows whose input is equal after normalizing: lowercased, every run of
//! characters that are not letters or digits turned into one space, and
//! trimmed; the first row (in file order) is kept. Sampling is seeded and
//! the drafts are sorted by id, so the same log, options and seed give the
//! same drafts.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::drafts::{Draft, DraftInput, MAX_DRAFTS, Provenance, RowRef, Source};
use super::pii::{Counts, Scrubber};
use crate::case::{Format, PlainRow};
use crate::rng::Rng;

/// Most problems of skipped rows listed (the rest are counted).
pub const MAX_LISTED_PROBLEMS: usize = 20;

/// How rows are sampled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// Every row the same chance.
    Uniform,
    /// Each value of the field gets its share of the sample (at least one
    /// row each, when the sample is large enough).
    Stratified(String),
    /// Rows whose field has one of the values first, then the others.
    FailuresFirst {
        /// The field.
        field: String,
        /// The values that mark a failure (compared as text).
        values: Vec<String>,
    },
}

/// What to import and how.
#[derive(Debug, Clone)]
pub struct LogSpec {
    /// The log's text.
    pub text: String,
    /// The log file as recorded in provenance and messages.
    pub display: String,
    /// Its format.
    pub format: Format,
    /// The field holding the input (text).
    pub input: String,
    /// The field kept as the expected value.
    pub expected: Option<String>,
    /// Fields kept as tags, `field:value`.
    pub tags: Vec<String>,
    /// Fields kept as variables of the input (which becomes a map).
    pub vars: Vec<String>,
    /// How many rows to keep (`None`: every row).
    pub sample: Option<usize>,
    /// The sampling seed.
    pub seed: u64,
    /// How rows are sampled.
    pub strategy: Strategy,
}

/// One stratum of a sample: its value, rows available, rows taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stratum {
    /// The field's value (scrubbed), `(missing)` when the row has none.
    pub value: String,
    /// Rows with this value.
    pub available: usize,
    /// Rows taken.
    pub taken: usize,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// Rows in the log.
    pub rows: usize,
    /// Rows skipped (not valid, no input), each `file:line:col: problem`;
    /// at most [`MAX_LISTED_PROBLEMS`] listed.
    pub skipped: Vec<String>,
    /// How many rows were skipped in all.
    pub skipped_count: usize,
    /// Rows dropped as duplicates.
    pub duplicates: usize,
    /// Rows left to sample from.
    pub distinct: usize,
    /// Rows kept.
    pub kept: usize,
    /// The sample's strata (stratified sampling).
    pub strata: Vec<Stratum>,
    /// Failure rows available and taken (failures-first sampling).
    pub failures: Option<(usize, usize)>,
    /// Matches replaced, per scrubbing rule.
    pub scrubbed: Counts,
}

/// The drafts of an import and its report.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The drafts, sorted by id.
    pub drafts: Vec<Draft>,
    /// What was done.
    pub report: ImportReport,
}

/// One usable row, scrubbed.
struct Kept {
    line: u32,
    text: String,
    input: DraftInput,
    expected: Option<Value>,
    tags: Vec<String>,
    /// The raw value of the sampling field, as text.
    key: Option<String>,
}

/// Imports a log as drafts; an error stops the whole import (nothing is
/// returned to write).
pub fn import(spec: &LogSpec, scrubber: &Scrubber) -> Result<Imported, String> {
    if let Some(n) = spec.sample {
        if n == 0 || n > MAX_DRAFTS {
            return Err(format!("`--sample {n}` must be between 1 and {MAX_DRAFTS}"));
        }
    } else if spec.strategy != Strategy::Uniform {
        return Err("stratified and failures-first sampling need `--sample N`".into());
    }
    let named: Vec<&str> = std::iter::once(spec.input.as_str())
        .chain(spec.expected.as_deref())
        .chain(spec.tags.iter().map(String::as_str))
        .chain(spec.vars.iter().map(String::as_str))
        .chain(match &spec.strategy {
            Strategy::Uniform => None,
            Strategy::Stratified(f) | Strategy::FailuresFirst { field: f, .. } => Some(f.as_str()),
        })
        .collect();
    let rows = crate::case::plain_rows(spec.format, &spec.text, &named).map_err(|p| {
        let at = p.at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default();
        format!("{}{at}: {} (hint: {})", spec.display, p.message, p.hint)
    })?;
    let mut report = ImportReport {
        rows: rows.len(),
        ..ImportReport::default()
    };
    let skip = |report: &mut ImportReport, line: u32, col: u32, message: String| {
        report.skipped_count += 1;
        if report.skipped.len() < MAX_LISTED_PROBLEMS {
            report
                .skipped
                .push(format!("{}:{line}:{col}: {message}", spec.display));
        }
    };
    let mut kept = Vec::new();
    let mut counts = Counts::new();
    for row in rows {
        let row = match row {
            Ok(r) => r,
            Err(p) => {
                skip(&mut report, p.line, p.col, p.message);
                continue;
            }
        };
        match keep(spec, scrubber, &row, &mut counts) {
            Ok(k) => kept.push(k),
            Err(message) => skip(&mut report, row.line, 1, message),
        }
    }
    report.scrubbed = counts;
    // De-duplicate on the normalized input text; the first row stays.
    let mut seen = BTreeSet::new();
    let before = kept.len();
    kept.retain(|k| seen.insert(normalize(&k.text)));
    report.duplicates = before - kept.len();
    report.distinct = kept.len();
    let (chosen, failures) = sample(spec, &kept, scrubber, &mut report);
    report.kept = chosen.len();
    let mut drafts: Vec<Draft> = chosen
        .into_iter()
        .map(|i| {
            let k = &kept[i];
            let value = k.input.to_value();
            let id = crate::case::content_id(&value, k.expected.as_ref(), None, &Map::new())
                .replacen("row-", "log-", 1);
            let mut provenance = Provenance::new(Source::Logs);
            provenance.row = Some(RowRef {
                file: spec.display.clone(),
                line: u64::from(k.line),
            });
            if spec.sample.is_some() {
                provenance.seed = Some(spec.seed);
            }
            let mut d = Draft::new(id, k.input.clone(), provenance);
            d.expected = k.expected.clone();
            d.tags = k.tags.clone();
            if failures.contains(&i) {
                d.flags.push("failure".into());
            }
            d
        })
        .collect();
    drafts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Imported { drafts, report })
}

/// A row's input, expected value and tags, scrubbed; or why it is skipped.
fn keep(
    spec: &LogSpec,
    scrubber: &Scrubber,
    row: &PlainRow,
    counts: &mut Counts,
) -> Result<Kept, String> {
    let text = match row.get(&spec.input) {
        None | Some(Value::Null) => return Err(format!("the row has no `{}`", spec.input)),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(format!("`{}` is empty", spec.input));
        }
        Some(Value::String(s)) => scrubber.scrub(s, counts),
        Some(other) => {
            return Err(format!(
                "`{}` is {}, not text",
                spec.input,
                crate::text::kind_of(other)
            ));
        }
    };
    let input = if spec.vars.is_empty() {
        DraftInput::Text(text.clone())
    } else {
        let mut map = Map::new();
        let key = spec.input.rsplit('.').next().unwrap_or(&spec.input);
        map.insert(key.to_string(), Value::String(text.clone()));
        for var in &spec.vars {
            let v = row.get(var).cloned().unwrap_or(Value::Null);
            let name = var.rsplit('.').next().unwrap_or(var);
            map.insert(name.to_string(), scrubber.scrub_value(&v, counts));
        }
        DraftInput::Vars(map)
    };
    let expected = match spec.expected.as_ref().and_then(|f| row.get(f)) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(v) => Some(scrubber.scrub_value(v, counts)),
    };
    let mut tags = Vec::new();
    for field in &spec.tags {
        let values: Vec<String> = match row.get(field) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(crate::text::of_value).collect(),
            Some(v) => vec![crate::text::of_value(v)],
        };
        let name = field.rsplit('.').next().unwrap_or(field);
        for v in values {
            let v = scrubber.scrub(v.trim(), counts);
            if !v.is_empty() {
                let tag = format!("{name}:{v}");
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
    }
    let key = match &spec.strategy {
        Strategy::Uniform => None,
        Strategy::Stratified(f) | Strategy::FailuresFirst { field: f, .. } => match row.get(f) {
            None | Some(Value::Null) => None,
            Some(v) => Some(crate::text::of_value(v)),
        },
    };
    Ok(Kept {
        line: row.line,
        text,
        input,
        expected,
        tags,
        key,
    })
}

/// The text duplicates are found by: lowercased, every run of characters
/// that are not letters or digits one space, trimmed.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// `n` of the indices `pool` chosen uniformly (a partial Fisher–Yates
/// shuffle), in the order of `pool`.
fn uniform(pool: &[usize], n: usize, rng: &mut Rng) -> Vec<usize> {
    if n >= pool.len() {
        return pool.to_vec();
    }
    let mut p = pool.to_vec();
    for i in 0..n {
        let j = i + rng.below(p.len() - i);
        p.swap(i, j);
    }
    let mut chosen = p[..n].to_vec();
    chosen.sort_unstable();
    chosen
}

/// The chosen row indices, and those taken as failures.
fn sample(
    spec: &LogSpec,
    kept: &[Kept],
    scrubber: &Scrubber,
    report: &mut ImportReport,
) -> (Vec<usize>, BTreeSet<usize>) {
    let all: Vec<usize> = (0..kept.len()).collect();
    let mut rng = Rng::new(spec.seed);
    let Some(n) = spec.sample else {
        return (all, BTreeSet::new());
    };
    match &spec.strategy {
        Strategy::Uniform => (uniform(&all, n, &mut rng), BTreeSet::new()),
        Strategy::FailuresFirst { values, .. } => {
            let (fail, rest): (Vec<usize>, Vec<usize>) = all
                .iter()
                .partition(|i| kept[**i].key.as_ref().is_some_and(|k| values.contains(k)));
            let taken_fail = uniform(&fail, n, &mut rng);
            let more = n.saturating_sub(taken_fail.len());
            let mut chosen = taken_fail.clone();
            chosen.extend(uniform(&rest, more, &mut rng));
            chosen.sort_unstable();
            report.failures = Some((fail.len(), taken_fail.len()));
            (chosen, taken_fail.into_iter().collect())
        }
        Strategy::Stratified(_) => {
            let mut strata: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for i in all {
                let key = kept[i].key.clone().unwrap_or_else(|| "(missing)".into());
                strata.entry(key).or_default().push(i);
            }
            let quotas = allocate(n, &strata);
            let mut chosen = Vec::new();
            for ((value, pool), quota) in strata.iter().zip(&quotas) {
                chosen.extend(uniform(pool, *quota, &mut rng));
                let mut throwaway = Counts::new();
                report.strata.push(Stratum {
                    value: scrubber.scrub(value, &mut throwaway),
                    available: pool.len(),
                    taken: *quota,
                });
            }
            chosen.sort_unstable();
            (chosen, BTreeSet::new())
        }
    }
}

/// Each stratum's share of `n`: proportional to its size (largest
/// remainders get the rounding, ties to the earlier value), at least one
/// per stratum when `n` is at least the number of strata, never more than
/// the stratum holds.
fn allocate(n: usize, strata: &BTreeMap<String, Vec<usize>>) -> Vec<usize> {
    let sizes: Vec<usize> = strata.values().map(Vec::len).collect();
    let total: usize = sizes.iter().sum();
    if n >= total {
        return sizes;
    }
    let mut quotas: Vec<usize> = sizes.iter().map(|s| n * s / total).collect();
    let mut rest: Vec<(usize, usize)> = sizes
        .iter()
        .enumerate()
        .map(|(i, s)| (n * s % total, i))
        .collect();
    rest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = n - quotas.iter().sum::<usize>();
    for (_, i) in rest {
        if left == 0 {
            break;
        }
        if quotas[i] < sizes[i] {
            quotas[i] += 1;
            left -= 1;
        }
    }
    if n >= sizes.len() {
        // Every stratum is seen: a stratum left at 0 takes one from the
        // largest quota.
        for i in 0..quotas.len() {
            if quotas[i] == 0 {
                let (big, _) = quotas
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
                    .expect("at least one stratum");
                quotas[big] -= 1;
                quotas[i] = 1;
            }
        }
    }
    quotas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_ignores_case_punctuation_and_spacing() {
        assert_eq!(normalize("  Where's my ORDER?!  "), "where s my order");
        assert_eq!(
            normalize("where's   my order"),
            normalize("Where's my order.")
        );
    }

    #[test]
    fn allocation_is_proportional_and_sees_every_stratum() {
        let strata = |sizes: &[usize]| -> BTreeMap<String, Vec<usize>> {
            sizes
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("s{i}"), (0..*n).collect()))
                .collect()
        };
        assert_eq!(allocate(10, &strata(&[50, 30, 20])), vec![5, 3, 2]);
        assert_eq!(allocate(4, &strata(&[97, 2, 1])), vec![2, 1, 1]);
        assert_eq!(allocate(2, &strata(&[5, 3, 1])), vec![1, 1, 0]);
        assert_eq!(allocate(100, &strata(&[2, 3])), vec![2, 3]);
    }

    #[test]
    fn uniform_samples_are_seeded_and_in_pool_order() {
        let pool: Vec<usize> = (0..100).collect();
        let a = uniform(&pool, 5, &mut Rng::new(7));
        assert_eq!(a, uniform(&pool, 5, &mut Rng::new(7)));
        assert_ne!(a, uniform(&pool, 5, &mut Rng::new(8)));
        assert!(a.windows(2).all(|w| w[0] < w[1]));
    }
}
