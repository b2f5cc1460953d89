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

use super::dates::{self, Stamp};
use super::schema::{ColType, Schema};
use crate::check::ast::tolerance::{Class, Classes};
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
            for u in &t.unique {
                let mut seen = HashSet::new();
                for r in rows {
                    if u.iter().all(|&c| r[c] != SqlVal::Null) {
                        let k: Vec<String> = u.iter().map(|&c| r[c].key()).collect();
                        if !seen.insert(k) {
                            return false;
                        }
                    }
                }
            }
            for (ci, c) in t.columns.iter().enumerate() {
                if c.not_null && rows.iter().any(|r| r[ci] == SqlVal::Null) {
                    return false;
                }
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

    /// The conditions this database shows, among the tables `read` (the
    /// ones the queries name): NULL cells, repeated values in a non-key
    /// column (or repeated rows), empty tables.
    pub fn features(&self, schema: &Schema, read: &[bool]) -> Classes {
        let mut c = Classes::NONE;
        for (ti, t) in schema.tables.iter().enumerate() {
            if t.internal() || !read.get(ti).copied().unwrap_or(true) {
                continue;
            }
            let rows = &self.tables[ti];
            if rows.is_empty() {
                c.insert(Class::EmptyTables);
            }
            if rows.iter().any(|r| r.contains(&SqlVal::Null)) {
                c.insert(Class::Nulls);
            }
            let mut seen_rows = HashSet::new();
            for r in rows {
                let k: Vec<String> = r.iter().map(SqlVal::key).collect();
                if !seen_rows.insert(k) {
                    c.insert(Class::Duplicates);
                }
            }
            for ci in 0..t.columns.len() {
                if t.is_key(ci) {
                    continue;
                }
                let mut seen = HashSet::new();
                for r in rows {
                    if r[ci] != SqlVal::Null && !seen.insert(r[ci].key()) {
                        c.insert(Class::Duplicates);
                    }
                }
            }
        }
        c
    }

    /// The same database without the condition `class` (NULL cells get
    /// fresh values, repeated values become fresh distinct ones, empty
    /// tables read by the queries get a row), or `None` when that is not
    /// possible within the schema. The search uses it to tell what a
    /// counterexample needs from what it merely has.
    pub fn repair(&self, schema: &Schema, class: Class, read: &[bool]) -> Option<Db> {
        let mut db = self.clone();
        let used = |db: &Db, ti: usize, ci: usize| -> HashSet<String> {
            db.tables[ti]
                .iter()
                .filter(|r| r[ci] != SqlVal::Null)
                .map(|r| r[ci].key())
                .collect()
        };
        let mut changed = false;
        for ti in schema.fill_order() {
            let t = &schema.tables[ti];
            if t.internal() || !read.get(ti).copied().unwrap_or(true) {
                continue;
            }
            match class {
                Class::Nulls => {
                    for ri in 0..db.tables[ti].len() {
                        for ci in 0..t.columns.len() {
                            if db.tables[ti][ri][ci] != SqlVal::Null {
                                continue;
                            }
                            let v = match t.columns[ci].references {
                                Some((pt, pc)) => db.tables[pt]
                                    .iter()
                                    .map(|p| p[pc].clone())
                                    .find(|v| *v != SqlVal::Null)?,
                                None => fresh(t.columns[ci].ty, &used(&db, ti, ci)),
                            };
                            db.tables[ti][ri][ci] = v;
                            changed = true;
                        }
                    }
                }
                Class::Duplicates => {
                    for ci in 0..t.columns.len() {
                        if t.is_key(ci) {
                            continue;
                        }
                        let mut seen = HashSet::new();
                        for ri in 0..db.tables[ti].len() {
                            let v = db.tables[ti][ri][ci].clone();
                            if v == SqlVal::Null || seen.insert(v.key()) {
                                continue;
                            }
                            let nv = match t.columns[ci].references {
                                Some((pt, pc)) => {
                                    let taken = used(&db, ti, ci);
                                    match db.tables[pt]
                                        .iter()
                                        .map(|p| p[pc].clone())
                                        .find(|p| *p != SqlVal::Null && !taken.contains(&p.key()))
                                    {
                                        Some(p) => p,
                                        None if pt != ti => {
                                            // A new parent row of fresh values.
                                            let pt_cols = &schema.tables[pt].columns;
                                            let mut prow = Vec::with_capacity(pt_cols.len());
                                            for (k, c) in pt_cols.iter().enumerate() {
                                                prow.push(match c.references {
                                                    Some(_) => db.tables[pt].first()?[k].clone(),
                                                    None => fresh(c.ty, &used(&db, pt, k)),
                                                });
                                            }
                                            let key = prow[pc].clone();
                                            db.tables[pt].push(prow);
                                            key
                                        }
                                        None => return None,
                                    }
                                }
                                None => fresh(t.columns[ci].ty, &used(&db, ti, ci)),
                            };
                            seen.insert(nv.key());
                            db.tables[ti][ri][ci] = nv;
                            changed = true;
                        }
                    }
                }
                Class::EmptyTables => {
                    if !db.tables[ti].is_empty() {
                        continue;
                    }
                    let mut row = Vec::with_capacity(t.columns.len());
                    for (ci, c) in t.columns.iter().enumerate() {
                        row.push(match c.references {
                            Some((pt, pc)) => db.tables[pt].first().map(|p| p[pc].clone())?,
                            None => fresh(c.ty, &used(&db, ti, ci)),
                        });
                    }
                    db.tables[ti].push(row);
                    changed = true;
                }
                _ => return None,
            }
        }
        (changed && db.valid(schema)).then_some(db)
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
    /// Dates (`YYYY-MM-DD`) near the queries' date literals.
    pub dates: Vec<String>,
    /// Dates with times (`YYYY-MM-DD HH:MM:SS`) near the queries' literals.
    pub datetimes: Vec<String>,
    /// The queries' own date and datetime literals, as dates.
    pub exact_dates: Vec<String>,
    /// The queries' own date and datetime literals, as datetimes.
    pub exact_datetimes: Vec<String>,
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
        let mut reals: Vec<f64> = vec![0.0, 1.0, 2.0];
        let mut texts: Vec<String> = vec!["a".into(), "b".into()];
        let Some((num_re, str_re)) = regexes() else {
            let (dates, datetimes, _, _) = date_pools(&[]);
            return Pools {
                ints,
                reals,
                texts,
                dates,
                datetimes,
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
                    // A real column also gets the midpoint above the
                    // constant, which separates `> c` from `>= c + 1`.
                    reals.extend([(i - 1) as f64, i as f64, i as f64 + 0.5, (i + 1) as f64]);
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
        let (dates, datetimes, exact_dates, exact_datetimes) = date_pools(&exact_texts);
        Pools {
            ints,
            reals,
            texts,
            exact_nums,
            exact_texts,
            dates,
            datetimes,
            exact_dates,
            exact_datetimes,
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
                ColType::Date if !self.exact_dates.is_empty() => {
                    let v = &self.exact_dates[rng.below(self.exact_dates.len())];
                    return SqlVal::Text(v.clone());
                }
                ColType::DateTime if !self.exact_datetimes.is_empty() => {
                    let v = &self.exact_datetimes[rng.below(self.exact_datetimes.len())];
                    return SqlVal::Text(v.clone());
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
            ColType::Date => SqlVal::Text(self.dates[rng.below(self.dates.len())].clone()),
            ColType::DateTime => {
                SqlVal::Text(self.datetimes[rng.below(self.datetimes.len())].clone())
            }
        }
    }
}

/// Date pools from the queries' string literals that read as dates (see
/// [`Stamp::parse`]): each literal, a day, a week, a month and a year on
/// either side, its month's first and last days, its year's first day and
/// the last day before it; datetimes add the literal's own time, a second
/// and an hour on either side, noon, and the second before midnight. With
/// no date literal the pools hold a few dates around 2021-01-01 (a leap
/// day, month ends). Returns `(dates, datetimes, exact dates, exact
/// datetimes)`.
fn date_pools(literals: &[String]) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let mut stamps: Vec<Stamp> = literals
        .iter()
        .filter_map(|s| Stamp::parse(s).map(|(st, _)| st))
        .collect();
    let exact_dates: Vec<String> = {
        let mut v: Vec<String> = stamps.iter().map(Stamp::date_text).collect();
        v.sort();
        v.dedup();
        v
    };
    let exact_datetimes: Vec<String> = {
        let mut v: Vec<String> = stamps.iter().map(Stamp::datetime_text).collect();
        v.sort();
        v.dedup();
        v
    };
    if stamps.is_empty() {
        stamps = [(2021, 1, 1), (2020, 2, 29), (2021, 1, 31), (2020, 12, 31)]
            .iter()
            .map(|&(y, m, d)| Stamp {
                days: dates::days_from_civil(y, m, d),
                secs: 0,
            })
            .collect();
    }
    let mut days: Vec<i64> = Vec::new();
    let mut times: Vec<Stamp> = Vec::new();
    for st in &stamps {
        let (y, m, _) = dates::civil_from_days(st.days);
        let month_shift = |k: i64| {
            let total = y * 12 + i64::from(m) - 1 + k;
            let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
            let (_, _, d) = dates::civil_from_days(st.days);
            dates::days_from_civil(ny, nm, d.min(dates::days_in_month(ny, nm)))
        };
        for k in [-7, -1, 0, 1, 7] {
            days.push(st.days + k);
        }
        days.extend([
            month_shift(-12),
            month_shift(-1),
            month_shift(1),
            month_shift(12),
        ]);
        let first = dates::days_from_civil(y, m, 1);
        days.extend([
            first,
            first + i64::from(dates::days_in_month(y, m)) - 1,
            dates::days_from_civil(y, 1, 1),
            dates::days_from_civil(y, 1, 1) - 1,
        ]);
        for (dd, secs) in [
            (0, st.secs),
            (0, 0),
            (0, 43_200),
            (-1, 86_399),
            (0, (st.secs + 1) % 86_400),
            (0, (st.secs + 3_600) % 86_400),
            (0, st.secs.saturating_sub(1)),
            (0, st.secs.saturating_sub(3_600)),
        ] {
            times.push(Stamp {
                days: st.days + dd,
                secs,
            });
        }
    }
    let in_range = |d: &i64| {
        (dates::days_from_civil(1, 1, 1)..=dates::days_from_civil(9999, 12, 31)).contains(d)
    };
    days.retain(in_range);
    times.retain(|t| in_range(&t.days));
    let mut dates_out: Vec<String> = days
        .iter()
        .map(|&d| Stamp { days: d, secs: 0 }.date_text())
        .collect();
    dates_out.sort();
    dates_out.dedup();
    let mut datetimes: Vec<String> = days
        .iter()
        .map(|&d| Stamp { days: d, secs: 0 }.datetime_text())
        .chain(times.iter().map(Stamp::datetime_text))
        .collect();
    datetimes.sort();
    datetimes.dedup();
    (dates_out, datetimes, exact_dates, exact_datetimes)
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

/// What a generated database may contain beyond the plainest data: the
/// search asks for the least demanding databases first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allow {
    /// NULL cells in nullable columns.
    pub nulls: bool,
    /// Repeated values in non-key columns (and repeated rows).
    pub duplicates: bool,
    /// Empty tables.
    pub empty: bool,
}

impl Allow {
    /// Everything allowed.
    pub const ALL: Allow = Allow {
        nulls: true,
        duplicates: true,
        empty: true,
    };
    /// The classes this allows.
    pub fn classes(self) -> Classes {
        let mut c = Classes::NONE;
        if self.nulls {
            c.insert(Class::Nulls);
        }
        if self.duplicates {
            c.insert(Class::Duplicates);
        }
        if self.empty {
            c.insert(Class::EmptyTables);
        }
        c
    }
}

/// The smallest readable value of type `ty` not in `used`.
fn fresh(ty: ColType, used: &HashSet<String>) -> SqlVal {
    match ty {
        ColType::Text => {
            for k in 0.. {
                let s = if k < 26 {
                    ((b'a' + k as u8) as char).to_string()
                } else {
                    format!("v{}", k - 25)
                };
                let v = SqlVal::Text(s);
                if !used.contains(&v.key()) {
                    return v;
                }
            }
            SqlVal::Null
        }
        ColType::Date | ColType::DateTime => {
            let base = dates::days_from_civil(2000, 1, 1);
            for k in 0..100_000 {
                let st = Stamp {
                    days: base + k,
                    secs: 0,
                };
                let v = SqlVal::Text(match ty {
                    ColType::Date => st.date_text(),
                    _ => st.datetime_text(),
                });
                if !used.contains(&v.key()) {
                    return v;
                }
            }
            SqlVal::Null
        }
        ColType::Int | ColType::Real => {
            for i in 1i64.. {
                let v = SqlVal::Int(i);
                if !used.contains(&v.key()) {
                    return v;
                }
            }
            SqlVal::Null
        }
    }
}

/// Generates one database with at most `max_rows` rows per table, within
/// what `allow` permits. `accept(table, row)` may reject a row (a `CHECK`
/// constraint); rejected rows are replaced by other attempts or dropped.
pub fn generate(
    schema: &Schema,
    pools: &Pools,
    rng: &mut Rng,
    max_rows: usize,
    allow: Allow,
    accept: &mut dyn FnMut(usize, &[SqlVal]) -> bool,
) -> Db {
    let mut tables: Vec<Vec<Vec<SqlVal>>> = vec![Vec::new(); schema.tables.len()];
    for ti in schema.fill_order() {
        let t = &schema.tables[ti];
        if t.internal() {
            continue;
        }
        let n = if allow.empty {
            rng.below(max_rows + 1)
        } else {
            1 + rng.below(max_rows.max(1))
        };
        let key_sets: Vec<Vec<usize>> = std::iter::once(t.primary_key.clone())
            .filter(|k| !k.is_empty())
            .chain(t.unique.iter().cloned())
            .collect();
        let mut keys: Vec<HashSet<Vec<String>>> = vec![HashSet::new(); key_sets.len()];
        let mut used: Vec<HashSet<String>> = vec![HashSet::new(); t.columns.len()];
        let mut rows: Vec<Vec<SqlVal>> = Vec::new();
        for _ in 0..n {
            'attempt: for _ in 0..8 {
                let prev = rows.last().cloned();
                let copy_row =
                    allow.duplicates && key_sets.is_empty() && prev.is_some() && rng.chance(0.1);
                let mut row: Vec<SqlVal> = Vec::with_capacity(t.columns.len());
                for (ci, c) in t.columns.iter().enumerate() {
                    if copy_row && let Some(p) = &prev {
                        row.push(p[ci].clone());
                        continue;
                    }
                    let in_pk = t.primary_key.contains(&ci);
                    let single_key = t.primary_key == [ci] || t.unique.iter().any(|u| *u == [ci]);
                    // Values of this column must differ from the earlier rows'.
                    let distinct = single_key || (!allow.duplicates && !t.is_key(ci));
                    let nullable = !c.not_null && !in_pk && allow.nulls;
                    let v = if let Some((pt, pc)) = c.references {
                        let parents = if pt == ti { &rows } else { &tables[pt] };
                        let cands: Vec<&SqlVal> = parents
                            .iter()
                            .map(|p| &p[pc])
                            .filter(|v| **v != SqlVal::Null)
                            .filter(|v| !distinct || !used[ci].contains(&v.key()))
                            .collect();
                        if !cands.is_empty() && (!nullable || rng.chance(0.85)) {
                            cands[rng.below(cands.len())].clone()
                        } else if nullable {
                            SqlVal::Null
                        } else {
                            // A NOT NULL reference with no parent left: no row.
                            continue 'attempt;
                        }
                    } else if nullable && rng.chance(0.12) {
                        SqlVal::Null
                    } else if allow.duplicates
                        && !t.is_key(ci)
                        && let Some(p) = &prev
                        && rng.chance(0.15)
                    {
                        p[ci].clone()
                    } else {
                        let mut v = pools.pick(c.ty, rng);
                        if distinct {
                            let mut tries = 0;
                            while used[ci].contains(&v.key()) && tries < 6 {
                                v = pools.pick(c.ty, rng);
                                tries += 1;
                            }
                            if used[ci].contains(&v.key()) {
                                v = fresh(c.ty, &used[ci]);
                            }
                        }
                        v
                    };
                    row.push(v);
                }
                let mut ks = Vec::with_capacity(key_sets.len());
                for (ki, set) in key_sets.iter().enumerate() {
                    let is_pk = ki == 0 && !t.primary_key.is_empty();
                    if set.iter().any(|&c| row[c] == SqlVal::Null) {
                        if is_pk {
                            continue 'attempt;
                        }
                        // NULLs never collide in a UNIQUE key.
                        ks.push(None);
                        continue;
                    }
                    let k: Vec<String> = set.iter().map(|&c| row[c].key()).collect();
                    if keys[ki].contains(&k) {
                        continue 'attempt;
                    }
                    ks.push(Some(k));
                }
                if !accept(ti, &row) {
                    continue;
                }
                for (ki, k) in ks.into_iter().enumerate() {
                    if let Some(k) = k {
                        keys[ki].insert(k);
                    }
                }
                for (ci, v) in row.iter().enumerate() {
                    if *v != SqlVal::Null {
                        used[ci].insert(v.key());
                    }
                }
                rows.push(row);
                break;
            }
        }
        tables[ti] = rows;
    }
    Db { tables }
}

#[cfg(test)]
mod tests {
    use super::super::dates::Stamp;
    use super::*;

    #[test]
    fn date_columns_get_valid_dates_near_the_queries_literals() {
        let pools = Pools::from_queries(&[
            "SELECT * FROM t WHERE d = DATE '2021-03-31' AND ts > '2021-06-01 10:00:00'",
        ]);
        for want in [
            "2021-03-31",
            "2021-03-30",
            "2021-04-01",
            "2021-03-24",
            "2021-02-28",
            "2021-04-30",
            "2020-03-31",
            "2021-03-01",
            "2021-01-01",
            "2020-12-31",
        ] {
            assert!(pools.dates.contains(&want.to_string()), "{want}");
        }
        for want in [
            "2021-06-01 10:00:00",
            "2021-06-01 09:59:59",
            "2021-06-01 11:00:00",
            "2021-05-31 23:59:59",
            "2021-03-31 00:00:00",
        ] {
            assert!(pools.datetimes.contains(&want.to_string()), "{want}");
        }
        assert_eq!(pools.exact_dates, ["2021-03-31", "2021-06-01"]);
        let schema = Schema::from_ddl("CREATE TABLE t (d DATE NOT NULL, ts TIMESTAMP NOT NULL)")
            .expect("ddl");
        let mut rng = Rng::new(3);
        let db = generate(&schema, &pools, &mut rng, 7, Allow::ALL, &mut |_, _| true);
        assert!(db.rows() > 0);
        for row in &db.tables[0] {
            match (&row[0], &row[1]) {
                (SqlVal::Text(d), SqlVal::Text(ts)) => {
                    assert_eq!(d.len(), 10, "{d}");
                    assert!(Stamp::parse(d).is_some(), "{d}");
                    assert_eq!(ts.len(), 19, "{ts}");
                    assert!(Stamp::parse(ts).is_some(), "{ts}");
                }
                other => panic!("{other:?}"),
            }
        }
        // Fresh values (repairs) are dates too.
        let used = HashSet::from([SqlVal::Text("2000-01-01".into()).key()]);
        assert_eq!(
            fresh(ColType::Date, &used),
            SqlVal::Text("2000-01-02".into())
        );
    }
}
