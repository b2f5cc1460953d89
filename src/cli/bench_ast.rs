//! `tribunal bench-ast`: verdict counts, throughput and time per pair over
//! the third-party datasets (SQL) and seeded generated pairs (audience).
//!
//! Every pair goes through [`check_pair`](super::equiv::check_pair), the same path as
//! `tribunal equiv --pairs`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{Value, json};

use super::equiv::{BenchArgs, Pair, SchemaCache, check_pair, verdict_json};
use crate::check::ast::equivalence::Equivalence;
use crate::check::ast::{Dialect, Options, sql, strip_fence};
use crate::rng::Rng;

/// Counts and timings of one dataset.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Dataset name.
    pub name: String,
    /// What the labels say.
    pub expect: &'static str,
    /// Verdict counts.
    pub equivalent: usize,
    /// Verdict counts.
    pub not_equivalent: usize,
    /// Verdict counts.
    pub unknown: usize,
    /// Inputs the checker rejected.
    pub error: usize,
    /// Milliseconds per pair.
    pub millis: Vec<f64>,
    /// Wall time of the whole set, in seconds.
    pub seconds: f64,
    /// Counterexamples by the classes they need (`nulls+duplicates`, or
    /// `plain` when they need nothing special).
    pub classes: std::collections::BTreeMap<String, usize>,
    /// `unknown` pairs by the first words of their reason.
    pub unknown_reasons: std::collections::BTreeMap<String, usize>,
    /// `equivalent` verdicts that are proofs (identical or canonical).
    pub proved: usize,
    /// Of `proved`, the proofs by normal form (`canon.rs`): the pairs that
    /// were differential evidence before the normal form.
    pub by_normal_form: usize,
    /// Proved SQL pairs the differential search also found no
    /// counterexample for (the cross-check of every proof).
    pub proofs_confirmed: usize,
    /// Proved SQL pairs the differential search refuted: each one is a
    /// wrong proof (or a wrong search), listed by id.
    pub proofs_refuted: Vec<String>,
}

impl Tally {
    fn add(&mut self, label: &str, ms: f64) {
        match label {
            "equivalent" => self.equivalent += 1,
            "not_equivalent" => self.not_equivalent += 1,
            "unknown" => self.unknown += 1,
            _ => self.error += 1,
        }
        self.millis.push(ms);
    }
    /// Number of pairs.
    pub fn pairs(&self) -> usize {
        self.millis.len()
    }
    /// The `q` quantile of the time per pair.
    pub fn quantile(&self, q: f64) -> f64 {
        let mut v = self.millis.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return 0.0;
        }
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v[i.min(v.len() - 1)]
    }
    fn row(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} |",
            self.name,
            self.expect,
            self.pairs(),
            self.equivalent,
            self.not_equivalent,
            self.unknown,
            self.error,
            self.pairs() as f64 / self.seconds.max(1e-9),
            self.quantile(0.5),
            self.quantile(0.95),
        )
    }
}

/// A short name for why a pair stayed `unknown`: the constructs tribunal
/// does not translate, or SQLite's error without the query text.
fn unknown_key(reason: &str) -> String {
    if let Some((_, uses)) = reason.split_once("; it uses ") {
        return uses
            .split(", which SQLite")
            .next()
            .unwrap_or(uses)
            .to_string();
    }
    if let Some((_, err)) = reason.split_once("does not run in SQLite: ") {
        let err = err.split(" in SELECT").next().unwrap_or(err);
        let err = err.split(" (sqlparser").next().unwrap_or(err);
        return err.chars().take(60).collect();
    }
    reason.chars().take(60).collect()
}

/// Reads the SQL datasets under `dir` as `(set name, expected label, pairs)`.
pub fn sql_sets(dir: &Path) -> Vec<(String, &'static str, Vec<Pair>)> {
    let mut sets = Vec::new();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let pair = |id: String, l: &str, r: &str, schema: String| Pair {
        id: Some(Value::String(id)),
        left: Value::String(l.to_string()),
        right: Value::String(r.to_string()),
        dialect: Some(Dialect::Sql),
        schema: Some(schema),
        sql_dialect: None,
    };
    // The Calcite sets' queries are Calcite's (its tests and rewrites):
    // checked with its arithmetic, as a Calcite user's case would declare.
    let calcite_pair = |id: String, l: &str, r: &str, schema: String| Pair {
        sql_dialect: Some("calcite".into()),
        ..pair(id, l, r, schema)
    };
    // LLM-SQL-Solver equivalent pairs (Calcite rewrites, DDL schema).
    let mut eq = Vec::new();
    for (i, line) in read(&dir.join("llm-sql-solver/semantic_equivalent.jsonl"))
        .lines()
        .enumerate()
    {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            let (Some(a), Some(b), Some(s)) =
                (v["sql1"].as_str(), v["sql2"].as_str(), v["schema"].as_str())
            else {
                continue;
            };
            eq.push(calcite_pair(format!("eq-{}", i + 1), a, b, s.to_string()));
        }
    }
    sets.push((
        "llm-sql-solver/semantic_equivalent".into(),
        "equivalent",
        eq,
    ));
    // Spider gold vs prediction (inequivalent on Spider's DB).
    let mut ne = Vec::new();
    for (i, line) in read(&dir.join("llm-sql-solver/semantic_inequivalent.jsonl"))
        .lines()
        .enumerate()
    {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            let (Some(a), Some(b), Some(s)) =
                (v["sql1"].as_str(), v["sql2"].as_str(), v["schema"].as_str())
            else {
                continue;
            };
            let db = serde_json::from_str::<Value>(s)
                .ok()
                .and_then(|x| x.as_object().and_then(|m| m.keys().next().cloned()))
                .unwrap_or_default();
            let tables = dir.join("spider-schema/tables.json");
            ne.push(pair(
                format!("ne-{}", i + 1),
                a,
                b,
                format!("{}#{db}", tables.display()),
            ));
        }
    }
    sets.push((
        "llm-sql-solver/semantic_inequivalent (Spider)".into(),
        "not_equivalent",
        ne,
    ));
    // SQLSolver's Calcite pairs.
    let schema = dir.join("sqlsolver/calcite_test.schema.sql");
    let lines: Vec<String> = read(&dir.join("sqlsolver/calcite_tests.sql"))
        .lines()
        .map(str::to_string)
        .collect();
    let calcite: Vec<Pair> = lines
        .chunks(2)
        .enumerate()
        .filter(|(_, c)| c.len() == 2)
        .map(|(i, c)| {
            calcite_pair(
                format!("calcite-{}", i + 1),
                &c[0],
                &c[1],
                schema.display().to_string(),
            )
        })
        .collect();
    sets.push(("sqlsolver/calcite_tests".into(), "equivalent", calcite));
    sets
}

/// sqlglot's simplification and normalization fixtures as SQL pairs, in
/// the schema a user would declare for them
/// ([`fixture_pair`](crate::check::ast::sql::fixture::fixture_pair)): a
/// table `t` and every table the pair names, each with the columns `a` to
/// `z` and any other column the pair names, typed by how the pair uses
/// them (`DATE`/`TIMESTAMP` where compared with or shifted like a date,
/// 0/1 booleans where an operand of `AND`/`OR`/`NOT`, `INTEGER`
/// otherwise). Whole queries run as written; value expressions (numbers,
/// strings, dates) are compared by value (`SELECT e AS v FROM t`);
/// predicates either as filters (`CASE WHEN e THEN 1 ELSE 0 END`: whether
/// `WHERE e` keeps the row, NULL and FALSE alike, the context sqlglot's
/// simplifier rewrites predicates for) or, with `truth_values`, for their
/// three-valued truth value (`CASE WHEN e THEN 1 WHEN NOT e THEN 0 END`:
/// NULL kept apart from FALSE). Blocks for other dialects are skipped; the
/// pairs use the default dialect (`generic`).
pub fn sqlglot_pairs(dir: &Path, truth_values: bool) -> Vec<Pair> {
    let mut out = Vec::new();
    for file in ["simplify.sql", "normalize.sql"] {
        let text =
            std::fs::read_to_string(dir.join("sqlglot-fixtures").join(file)).unwrap_or_default();
        for (bi, block) in text.split("\n\n").enumerate() {
            if block.lines().any(|l| l.starts_with("# ")) {
                continue;
            }
            let body: Vec<&str> = block
                .lines()
                .filter(|l| !l.trim_start().starts_with("--") && !l.trim().is_empty())
                .collect();
            let stmts: Vec<String> = body
                .join("\n")
                .split(';')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect();
            let [a, b] = stmts.as_slice() else { continue };
            let p = crate::check::ast::sql::fixture::fixture_pair(a, b, truth_values);
            out.push(Pair {
                id: Some(Value::String(format!("{file}#{}", bi + 1))),
                left: Value::String(p.left),
                right: Value::String(p.right),
                dialect: Some(Dialect::Sql),
                schema: Some(p.ddl),
                sql_dialect: None,
            });
        }
    }
    out
}

/// Seeded generated audience pairs: `(rewrites, mutants)`. Rewrites are
/// equivalent by construction; mutants change one constant or operator
/// and may or may not change the meaning.
pub fn audience_pairs(n: usize, seed: u64) -> (Vec<Pair>, Vec<Pair>) {
    let mut rng = Rng::new(seed);
    let mut rewrites = Vec::new();
    let mut mutants = Vec::new();
    for i in 0..n {
        let a = random_audience(&mut rng, 3);
        let b = rewrite(&a, &mut rng);
        let m = mutate(&a, &mut rng);
        let mk = |id: String, l: &Value, r: &Value| Pair {
            id: Some(Value::String(id)),
            left: l.clone(),
            right: r.clone(),
            dialect: Some(Dialect::Audience),
            schema: None,
            sql_dialect: None,
        };
        rewrites.push(mk(format!("rw-{i}"), &a, &b));
        mutants.push(mk(format!("mut-{i}"), &a, &m));
    }
    (rewrites, mutants)
}

const EVENTS: &[&str] = &["Order Completed", "Page Viewed"];

/// A random audience AST over a small vocabulary (counts with windows and
/// filters, `min`/`max` of a price, an int trait and a string trait).
pub fn random_audience(rng: &mut Rng, depth: usize) -> Value {
    if depth == 0 || rng.chance(0.4) {
        return random_atom(rng);
    }
    match rng.below(3) {
        0 => {
            json!({"and": (0..1 + rng.below(3)).map(|_| random_audience(rng, depth - 1)).collect::<Vec<_>>()})
        }
        1 => {
            json!({"or": (0..1 + rng.below(3)).map(|_| random_audience(rng, depth - 1)).collect::<Vec<_>>()})
        }
        _ => json!({"not": random_audience(rng, depth - 1)}),
    }
}

fn random_atom(rng: &mut Rng) -> Value {
    let ops = ["=", "!=", ">", ">=", "<", "<="];
    let op = ops[rng.below(ops.len())];
    let price = [50, 100][rng.below(2)];
    let event = EVENTS[rng.below(EVENTS.len())];
    match rng.below(5) {
        0 | 1 => {
            let mut stream = json!({ "event": event });
            match rng.below(3) {
                0 => {
                    let days = [7, 30][rng.below(2)];
                    stream["within"] = json!({ "days": days });
                }
                1 => {
                    stream["between"] = json!({"from": {"days": 7}, "to": {"days": 30}});
                }
                _ => {}
            }
            if rng.chance(0.3) {
                let wop = ops[rng.below(ops.len())];
                stream["where"] =
                    json!({"cmp": wop, "value": price, "term": {"property": "price"}});
            }
            json!({"cmp": op, "value": rng.below(4), "term": {"count": stream}})
        }
        2 => {
            let f = ["min", "max"][rng.below(2)];
            json!({"cmp": op, "value": price,
                   "term": {f: {"event": event, "property": "price"}}})
        }
        3 => {
            json!({"cmp": op, "value": 18 + rng.below(3) as i64, "term": {"trait": "age", "type": "int"}})
        }
        _ => match rng.below(3) {
            0 => json!({"cmp": "one_of", "value": ["free", "trial"], "term": {"trait": "plan"}}),
            1 => {
                let cmp = ["=", "!="][rng.below(2)];
                let plan = ["free", "pro"][rng.below(2)];
                json!({"cmp": cmp, "value": plan, "term": {"trait": "plan"}})
            }
            _ => {
                let cmp = ["exists", "absent"][rng.below(2)];
                json!({"cmp": cmp, "term": {"trait": "plan"}})
            }
        },
    }
}

/// An equivalent rewrite: shuffled junctions, double negation, De Morgan,
/// and integer-count bound shifts (`>= c` to `> c-1`).
pub fn rewrite(v: &Value, rng: &mut Rng) -> Value {
    let out = match v {
        Value::Object(m) if m.contains_key("and") || m.contains_key("or") => {
            let key = if m.contains_key("and") { "and" } else { "or" };
            let mut kids: Vec<Value> = m[key]
                .as_array()
                .map(|a| a.iter().map(|k| rewrite(k, rng)).collect())
                .unwrap_or_default();
            for i in (1..kids.len()).rev() {
                kids.swap(i, rng.below(i + 1));
            }
            if rng.chance(0.3) {
                let dual = if key == "and" { "or" } else { "and" };
                let negated: Vec<Value> = kids.into_iter().map(|k| json!({"not": k})).collect();
                json!({"not": {dual: negated}})
            } else {
                json!({key: kids})
            }
        }
        Value::Object(m) if m.contains_key("not") => json!({"not": rewrite(&m["not"], rng)}),
        Value::Object(m) if m.get("term").and_then(|t| t.get("count")).is_some() => {
            let op = m["cmp"].as_str().unwrap_or("");
            let c = m["value"].as_i64().unwrap_or(0);
            let mut a = v.clone();
            match op {
                ">=" => {
                    a["cmp"] = json!(">");
                    a["value"] = json!(c - 1);
                }
                "<=" => {
                    a["cmp"] = json!("<");
                    a["value"] = json!(c + 1);
                }
                _ => {}
            }
            a
        }
        other => other.clone(),
    };
    if rng.chance(0.1) {
        json!({"not": {"not": out}})
    } else {
        out
    }
}

/// Changes one constant by one, or one operator.
pub fn mutate(v: &Value, rng: &mut Rng) -> Value {
    let mut out = v.clone();
    let mut atoms = Vec::new();
    fn walk(v: &Value, path: String, out: &mut Vec<String>) {
        if let Some(m) = v.as_object() {
            for key in ["and", "or"] {
                if let Some(a) = m.get(key).and_then(Value::as_array) {
                    for (i, k) in a.iter().enumerate() {
                        walk(k, format!("{path}/{key}/{i}"), out);
                    }
                }
            }
            if let Some(n) = m.get("not") {
                walk(n, format!("{path}/not"), out);
            }
            if m.contains_key("cmp") {
                out.push(path);
            }
        }
    }
    walk(v, String::new(), &mut atoms);
    if atoms.is_empty() {
        return out;
    }
    let p = atoms[rng.below(atoms.len())].clone();
    if let Some(a) = out.pointer_mut(&p) {
        if let Some(list) = a.get_mut("value").and_then(Value::as_array_mut) {
            if list.len() > 1 {
                list.pop();
            } else {
                list.push(json!("pro"));
            }
        } else if let Some(n) = a.get("value").and_then(Value::as_i64) {
            a["value"] = json!(if rng.chance(0.5) { n + 1 } else { n - 1 });
        } else if a["cmp"] == "=" {
            a["cmp"] = json!("!=");
        } else if a["cmp"] == "exists" {
            a["cmp"] = json!("absent");
        } else {
            a["cmp"] = json!("=");
            if a.get("value").is_none() {
                a["value"] = json!("free");
            }
        }
    }
    out
}

fn run_set(
    name: &str,
    expect: &'static str,
    pairs: &[Pair],
    opts: &Options,
    base: &Path,
    verbose: bool,
) -> Tally {
    let mut cache = SchemaCache::default();
    let mut t = Tally {
        name: name.to_string(),
        expect,
        ..Tally::default()
    };
    let all = Instant::now();
    for p in pairs {
        let start = Instant::now();
        let r = check_pair(p, Dialect::Sql, opts, &mut cache, base);
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let label = match &r {
            Ok(v) => v.label(),
            Err(_) => "error",
        };
        if let Ok(v) = &r {
            let ev = v.evidence();
            if let Some(cs) = ev["counterexample"]["classes"].as_array() {
                let names: Vec<&str> = cs.iter().filter_map(Value::as_str).collect();
                let key = if names.is_empty() {
                    "plain".to_string()
                } else {
                    names.join("+")
                };
                *t.classes.entry(key).or_default() += 1;
            }
            if let Some(reason) = ev["reason"].as_str() {
                *t.unknown_reasons.entry(unknown_key(reason)).or_default() += 1;
            }
        }
        if verbose {
            println!("{}", verdict_json(p.id.as_ref(), &r, ms));
        }
        if let Ok(v @ Equivalence::Equivalent { .. }) = &r
            && v.method().is_some_and(|m| m.proves())
        {
            t.proved += 1;
            if let Equivalence::Equivalent { detail, .. } = v
                && !detail.starts_with("both canonicalize")
                && !detail.starts_with("the two queries")
            {
                t.by_normal_form += 1;
            }
            match search_only(p, opts, &mut cache, base) {
                Some(Equivalence::NotEquivalent { .. }) => t.proofs_refuted.push(
                    p.id.as_ref()
                        .map_or_else(|| "?".to_string(), |id| id.to_string()),
                ),
                Some(Equivalence::Equivalent { .. }) => t.proofs_confirmed += 1,
                _ => {}
            }
        }
        t.add(label, ms);
    }
    t.seconds = all.elapsed().as_secs_f64();
    t
}

/// The differential search alone on a SQL pair (no proof is tried), to
/// cross-check a proof; `None` for other dialects or without a schema.
fn search_only(
    p: &Pair,
    opts: &Options,
    cache: &mut SchemaCache,
    base: &Path,
) -> Option<Equivalence> {
    if p.dialect != Some(Dialect::Sql) {
        return None;
    }
    let schema = cache.get(p.schema.as_deref()?, base).ok()?;
    let mut o = opts.sql.clone();
    if let Some(d) = &p.sql_dialect {
        o.dialect = d.clone();
    }
    Some(sql::differential(
        &strip_fence(p.left.as_str()?),
        &strip_fence(p.right.as_str()?),
        &schema,
        &o,
    ))
}

/// Runs the benchmark and prints a Markdown table.
pub fn run(a: &BenchArgs) -> ExitCode {
    let mut opts = Options::default();
    opts.sql.budget_ms = a.budget_ms;
    opts.sql.max_dbs = a.max_databases;
    let mut tallies = Vec::new();
    let (rw, mu) = audience_pairs(a.audience_pairs, 7);
    tallies.push(run_set(
        "generated audience rewrites",
        "equivalent",
        &rw,
        &opts,
        Path::new("."),
        a.verbose,
    ));
    tallies.push(run_set(
        "generated audience mutants",
        "mixed",
        &mu,
        &opts,
        Path::new("."),
        a.verbose,
    ));
    if !a.datasets.is_dir() {
        eprintln!(
            "error: datasets folder {} not found (pass --datasets)",
            a.datasets.display()
        );
        return crate::exit::code(crate::exit::EQUIV_INVALID);
    }
    // `sql_sets` names every schema by its path under `--datasets`, so
    // schemas resolve from the working directory, not from the datasets
    // folder again (a relative `--datasets` would be joined twice).
    for (name, expect, pairs) in sql_sets(&a.datasets) {
        tallies.push(run_set(
            &name,
            expect,
            &pairs,
            &opts,
            Path::new("."),
            a.verbose,
        ));
    }
    // As filters, the fixtures are equivalent pairs; as three-valued truth
    // values some differ where a column is NULL (NULL against FALSE), so
    // that set's labels are mixed.
    tallies.push(run_set(
        "sqlglot simplify + normalize (as filters)",
        "equivalent",
        &sqlglot_pairs(&a.datasets, false),
        &opts,
        &a.datasets,
        a.verbose,
    ));
    tallies.push(run_set(
        "sqlglot simplify + normalize (truth values)",
        "mixed",
        &sqlglot_pairs(&a.datasets, true),
        &opts,
        &a.datasets,
        a.verbose,
    ));
    println!(
        "| set | labels | pairs | equivalent | not_equivalent | unknown | error | pairs/s | p50 ms | p95 ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for t in &tallies {
        println!("{}", t.row());
    }
    println!();
    println!(
        "| set | proved | of which by normal form | tested | refuted | unknown | proofs the search confirms | proofs the search refutes |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for t in tallies.iter().filter(|t| !t.name.starts_with("generated")) {
        let refuted = if t.proofs_refuted.is_empty() {
            "0".to_string()
        } else {
            format!(
                "{} ({})",
                t.proofs_refuted.len(),
                t.proofs_refuted.join(", ")
            )
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            t.name,
            t.proved,
            t.by_normal_form,
            t.equivalent - t.proved,
            t.not_equivalent,
            t.unknown,
            t.proofs_confirmed,
            refuted,
        );
    }
    println!();
    println!("| set | counterexamples by what they need |");
    println!("|---|---|");
    for t in tallies.iter().filter(|t| !t.classes.is_empty()) {
        let h: Vec<String> = t.classes.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("| {} | {} |", t.name, h.join(", "));
    }
    println!();
    println!("| set | unknown, by reason |");
    println!("|---|---|");
    for t in tallies.iter().filter(|t| !t.unknown_reasons.is_empty()) {
        let h: Vec<String> = t
            .unknown_reasons
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect();
        println!("| {} | {} |", t.name, h.join("; "));
    }
    ExitCode::SUCCESS
}
