//! Generating small databases from a schema and the queries' constants.
//!
//! Values come from the queries themselves (every numeric constant and its
//! ±1 neighbours, every string literal and its case variants, LIKE
//! patterns with the wildcards filled), plus a few small defaults, NULLs in
//! nullable columns and deliberate duplicates. Primary keys stay unique and
//! foreign keys point at existing parent rows, so equivalences that hold
//! only under the schema's constraints are not refuted by impossible data.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;

use super::schema::{ColType, Schema};
use crate::rng::Rng;

/// One SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlVal {
    /// NULL
    Null,
    /// An integer.
    Int(i64),
    /// A real.
    Real(f64),
    /// Text.
    Text(String),
}

impl SqlVal {
    /// The value as an SQL literal.
    pub fn literal(&self) -> String {
        match self {
            SqlVal::Null => "NULL".into(),
            SqlVal::Int(i) => i.to_string(),
            SqlVal::Real(f) => format!("{f:?}"),
            SqlVal::Text(s) => format!("'{}'", s.replace('\'', "''")),
        }
    }
    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            SqlVal::Null => serde_json::Value::Null,
            SqlVal::Int(i) => serde_json::json!(i),
            SqlVal::Real(f) => serde_json::json!(f),
            SqlVal::Text(s) => serde_json::json!(s),
        }
    }
    fn key(&self) -> String {
        match self {
            SqlVal::Null => "n".into(),
            SqlVal::Int(i) => format!("i{i}"),
            SqlVal::Real(f) => format!("r{f}"),
            SqlVal::Text(s) => format!("t{s}"),
        }
    }
}

/// Rows per table, in schema order.
#[derive(Debug, Clone, PartialEq)]
pub struct Db {
    /// `tables[t]` holds the rows of table `t`.
    pub tables: Vec<Vec<Vec<SqlVal>>>,
}

impl Db {
    /// Total number of rows.
    pub fn rows(&self) -> usize {
        self.tables.iter().map(Vec::len).sum()
    }

    /// Whether every foreign key points at an existing row and every
    /// primary key is unique and not null.
    pub fn valid(&self, schema: &Schema) -> bool {
        for (ti, t) in schema.tables.iter().enumerate() {
            let rows = &self.tables[ti];
            if !t.primary_key.is_empty() {
                let mut seen = HashSet::new();
                for r in rows {
                    let k: Vec<String> = t.primary_key.iter().map(|&c| r[c].key()).collect();
                    if t.primary_key.iter().any(|&c| r[c] == SqlVal::Null) || !seen.insert(k) {
                        return false;
                    }
                }
            }
            for (ci, c) in t.columns.iter().enumerate() {
                if let Some((pt, pc)) = c.references {
                    for r in rows {
                        if r[ci] != SqlVal::Null
                            && !self.tables[pt].iter().any(|p| same(&p[pc], &r[ci]))
                        {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }

    /// The database as `INSERT` statements.
    pub fn inserts(&self, schema: &Schema) -> Vec<String> {
        let mut out = Vec::new();
        for (ti, rows) in self.tables.iter().enumerate() {
            let t = &schema.tables[ti];
            for r in rows {
                let vals: Vec<String> = r.iter().map(SqlVal::literal).collect();
                out.push(format!(
                    "INSERT INTO {} VALUES ({});",
                    super::schema::quote(&t.name),
                    vals.join(", ")
                ));
            }
        }
        out
    }
}

fn same(a: &SqlVal, b: &SqlVal) -> bool {
    match (a, b) {
        (SqlVal::Int(x), SqlVal::Real(y)) | (SqlVal::Real(y), SqlVal::Int(x)) => *x as f64 == *y,
        _ => a == b,
    }
}

/// Value pools drawn from the queries' text.
#[derive(Debug, Clone, Default)]
pub struct Pools {
    /// Integers: constants, neighbours, small defaults.
    pub ints: Vec<i64>,
    /// Reals: the integers plus non-integral constants and neighbours.
    pub reals: Vec<f64>,
    /// Strings: literals, case variants, LIKE fills, defaults.
    pub texts: Vec<String>,
    /// The queries' own numeric constants, verbatim (picked more often).
    pub exact_nums: Vec<f64>,
    /// The queries' own string literals, verbatim (picked more often).
    pub exact_texts: Vec<String>,
}

fn regexes() -> Option<&'static (Regex, Regex)> {
    static R: OnceLock<Option<(Regex, Regex)>> = OnceLock::new();
    R.get_or_init(|| {
        Some((
            Regex::new(r"(?:^|[^A-Za-z0-9_.$])(-?\d+(?:\.\d+)?)").ok()?,
            Regex::new(r#"'((?:[^']|'')*)'|"([^"]*)""#).ok()?,
        ))
    })
    .as_ref()
}

impl Pools {
    /// Pools for a pair of queries.
    pub fn from_queries(queries: &[&str]) -> Pools {
        let mut ints: Vec<i64> = vec![0, 1, 2];
        let mut reals: Vec<f64> = vec![0.0, 1.0, 2.5];
        let mut texts: Vec<String> = vec!["a".into(), "b".into()];
        let Some((num_re, str_re)) = regexes() else {
            return Pools {
                ints,
                reals,
                texts,
                ..Pools::default()
            };
        };
        let mut exact_nums: Vec<f64> = Vec::new();
        let mut exact_texts: Vec<String> = Vec::new();
        for q in queries {
            // Strip string literals before looking for numbers.
            let no_str = str_re.replace_all(q, "''");
            for c in num_re.captures_iter(&no_str) {
                let s = &c[1];
                if let Ok(f) = s.parse::<f64>() {
                    exact_nums.push(f);
                }
                if let Ok(i) = s.parse::<i64>() {
                    ints.extend([i - 1, i, i + 1]);
                    reals.extend([(i - 1) as f64, i as f64, (i + 1) as f64]);
                    texts.push(i.to_string());
                } else if let Ok(f) = s.parse::<f64>() {
                    reals.extend([f - 1.0, f - 0.01, f, f + 0.01, f + 1.0]);
                    ints.extend([f.floor() as i64, f.ceil() as i64]);
                }
            }
            for c in str_re.captures_iter(q) {
                let raw = c
                    .get(1)
                    .or_else(|| c.get(2))
                    .map(|m| m.as_str().replace("''", "'"))
                    .unwrap_or_default();
                let base = raw.replace(['%', '_'], "");
                exact_texts.push(if base.is_empty() {
                    raw.clone()
                } else {
                    base.clone()
                });
                for v in [
                    raw.clone(),
                    base.clone(),
                    base.to_lowercase(),
                    base.to_uppercase(),
                    capitalize(&base),
                    format!("{base}x"),
                    format!("x{base}"),
                ] {
                    texts.push(v);
                }
                if let Ok(i) = base.trim().parse::<i64>() {
                    ints.extend([i - 1, i, i + 1]);
                    reals.extend([(i - 1) as f64, i as f64, (i + 1) as f64]);
                }
            }
        }
        ints.sort();
        ints.dedup();
        reals.sort_by(f64::total_cmp);
        reals.dedup();
        texts.sort();
        texts.dedup();
        exact_nums.sort_by(f64::total_cmp);
        exact_nums.dedup();
        exact_texts.sort();
        exact_texts.dedup();
        Pools {
            ints,
            reals,
            texts,
            exact_nums,
            exact_texts,
        }
    }

    fn pick(&self, ty: ColType, rng: &mut Rng) -> SqlVal {
        // A third of the values are the queries' own constants, verbatim,
        // so that conjunctions of several literal conditions are met.
        if rng.chance(0.35) {
            match ty {
                ColType::Text if !self.exact_texts.is_empty() => {
                    return SqlVal::Text(
                        self.exact_texts[rng.below(self.exact_texts.len())].clone(),
                    );
                }
                ColType::Int | ColType::Real if !self.exact_nums.is_empty() => {
                    let f = self.exact_nums[rng.below(self.exact_nums.len())];
                    return if f.fract() == 0.0 && f.abs() < 9e15 {
                        SqlVal::Int(f as i64)
                    } else if ty == ColType::Int {
                        SqlVal::Int(f.round() as i64)
                    } else {
                        SqlVal::Real(f)
                    };
                }
                _ => {}
            }
        }
        match ty {
            ColType::Int => SqlVal::Int(self.ints[rng.below(self.ints.len())]),
            ColType::Real => {
                let f = self.reals[rng.below(self.reals.len())];
                if f.fract() == 0.0 && f.abs() < 9e15 {
                    SqlVal::Int(f as i64)
                } else {
                    SqlVal::Real(f)
                }
            }
            ColType::Text => SqlVal::Text(self.texts[rng.below(self.texts.len())].clone()),
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f
            .to_uppercase()
            .chain(c.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Generates database number `round` (small first, larger later).
pub fn generate(schema: &Schema, pools: &Pools, rng: &mut Rng, round: usize) -> Db {
    let max_rows = match round {
        0..=9 => 2,
        10..=59 => 4,
        _ => 7,
    };
    let mut tables: Vec<Vec<Vec<SqlVal>>> = vec![Vec::new(); schema.tables.len()];
    for ti in schema.fill_order() {
        let t = &schema.tables[ti];
        if t.internal() {
            continue;
        }
        let n = rng.below(max_rows + 1);
        let mut keys: HashSet<Vec<String>> = HashSet::new();
        let mut rows: Vec<Vec<SqlVal>> = Vec::new();
        for _ in 0..n {
            'attempt: for _ in 0..8 {
                let prev = rows.last().cloned();
                let copy_row = t.primary_key.is_empty() && prev.is_some() && rng.chance(0.1);
                let mut row: Vec<SqlVal> = Vec::with_capacity(t.columns.len());
                for (ci, c) in t.columns.iter().enumerate() {
                    if copy_row && let Some(p) = &prev {
                        row.push(p[ci].clone());
                        continue;
                    }
                    let in_pk = t.primary_key.contains(&ci);
                    let v = if let Some((pt, pc)) = c.references {
                        let parents = if pt == ti { &rows } else { &tables[pt] };
                        if !parents.is_empty() && rng.chance(0.85) {
                            parents[rng.below(parents.len())][pc].clone()
                        } else if !c.not_null && !in_pk {
                            SqlVal::Null
                        } else if parents.is_empty() {
                            // A NOT NULL reference with no parent row: no row.
                            continue 'attempt;
                        } else {
                            parents[rng.below(parents.len())][pc].clone()
                        }
                    } else if !c.not_null && !in_pk && rng.chance(0.12) {
                        SqlVal::Null
                    } else if !in_pk
                        && let Some(p) = &prev
                        && rng.chance(0.15)
                    {
                        p[ci].clone()
                    } else {
                        pools.pick(c.ty, rng)
                    };
                    row.push(v);
                }
                if !t.primary_key.is_empty() {
                    let k: Vec<String> = t.primary_key.iter().map(|&c| row[c].key()).collect();
                    if t.primary_key.iter().any(|&c| row[c] == SqlVal::Null) || keys.contains(&k) {
                        continue;
                    }
                    keys.insert(k);
                }
                rows.push(row);
                break;
            }
        }
        tables[ti] = rows;
    }
    Db { tables }
}
