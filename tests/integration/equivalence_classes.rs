//! What a SQL counterexample needs (its classes), the least demanding
//! counterexample first, `tolerate:`, and databases that respect the schema.

use std::collections::HashSet;

use rstest::rstest;
use serde_json::Value;
use tribunal::check::ast::sql::{
    Allow, Db, Pools, Schema, SqlOptions, SqlVal, datagen, equivalent as sql_equivalent,
};
use tribunal::check::ast::tolerance::{Class, Classes};
use tribunal::check::ast::{Equivalence, load_schema};
use tribunal::rng::Rng;

const DDL: &str = "
CREATE TABLE dept (deptno INT PRIMARY KEY NOT NULL, name VARCHAR(10) NOT NULL);
CREATE TABLE emp (
  empno INT PRIMARY KEY NOT NULL,
  ename VARCHAR(20) NOT NULL,
  sal INT,
  comm INT,
  deptno INT NOT NULL REFERENCES dept (deptno)
);";

fn check(a: &str, b: &str, tolerate: &[Class]) -> Equivalence {
    check_as(a, b, tolerate, "generic")
}

fn check_as(a: &str, b: &str, tolerate: &[Class], dialect: &str) -> Equivalence {
    let schema = Schema::from_ddl(DDL).expect("ddl");
    let opts = SqlOptions {
        dialect: dialect.into(),
        tolerate: Classes::of(tolerate),
        // No wall-clock cut: the database budget alone bounds the search,
        // so a loaded machine cannot change the counterexample.
        budget_ms: 600_000,
        ..SqlOptions::default()
    };
    sql_equivalent(a, b, &schema, &opts)
}

fn classes(v: &Equivalence) -> Vec<String> {
    let ev = match v {
        Equivalence::NotEquivalent { evidence, .. }
        | Equivalence::EquivalentUnderTolerances { evidence, .. } => evidence,
        other => panic!("expected a counterexample, got {other:?}"),
    };
    ev["classes"]
        .as_array()
        .expect("classes")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Each class with its exact minimized counterexample, as tribunal prints it.
#[rstest]
#[case::plain(
    "plain",
    "SELECT ename FROM emp WHERE sal > 10",
    "SELECT ename FROM emp WHERE sal > 11",
    &[]
)]
#[case::nulls(
    "nulls",
    "SELECT COUNT(*) FROM emp",
    "SELECT COUNT(comm) FROM emp",
    &["nulls"]
)]
#[case::duplicates(
    "duplicates",
    "SELECT deptno FROM emp",
    "SELECT DISTINCT deptno FROM emp",
    &["duplicates"]
)]
#[case::ties(
    "ties",
    "SELECT ename FROM emp WHERE sal = (SELECT MAX(sal) FROM emp)",
    "SELECT ename FROM emp ORDER BY sal DESC LIMIT 1",
    &["ties"]
)]
#[case::column_order(
    "column_order",
    "SELECT empno, ename FROM emp",
    "SELECT ename, empno FROM emp",
    &["column_order"]
)]
#[case::row_order(
    "row_order",
    "SELECT empno FROM emp ORDER BY empno",
    "SELECT empno FROM emp ORDER BY empno DESC",
    &["row_order"]
)]
#[case::type_affinity(
    "type_affinity",
    "SELECT AVG(sal) FROM emp",
    "SELECT SUM(sal) / COUNT(sal) FROM emp",
    &["type_affinity"]
)]
#[case::empty_tables(
    "empty_tables",
    "SELECT SUM(sal) FROM emp",
    "SELECT COALESCE(SUM(sal), 0) FROM emp",
    &["empty_tables"]
)]
fn each_class_has_a_minimal_counterexample(
    #[case] name: &str,
    #[case] a: &str,
    #[case] b: &str,
    #[case] expect: &[&str],
) {
    let v = check(a, b, &[]);
    assert_eq!(v.label(), "not_equivalent", "{}", v.reason());
    assert_eq!(classes(&v), expect, "{}", v.reason());
    insta::assert_snapshot!(format!("class_{name}"), v.reason());
}

#[test]
fn a_tolerated_difference_passes_and_keeps_its_counterexample() {
    let v = check(
        "SELECT COUNT(*) FROM emp",
        "SELECT COUNT(comm) FROM emp",
        &[Class::Nulls],
    );
    assert_eq!(v.label(), "equivalent_under_tolerances", "{}", v.reason());
    assert_eq!(classes(&v), ["nulls"]);
    insta::assert_snapshot!(v.reason());
    // The evidence keeps the database and both results for review.
    let ev = v.evidence();
    assert_eq!(ev["verdict"], "equivalent_under_tolerances");
    assert_eq!(ev["tolerated"], serde_json::json!(["nulls"]));
    assert_eq!(
        ev["counterexample"]["left_result"],
        serde_json::json!([[1]])
    );
    assert_eq!(
        ev["counterexample"]["right_result"],
        serde_json::json!([[0]])
    );
}

#[rstest]
// Tolerating something else never hides a difference.
#[case(
    "SELECT COUNT(*) FROM emp",
    "SELECT COUNT(comm) FROM emp",
    &[Class::Duplicates, Class::Ties],
    "not_equivalent"
)]
// A plain difference is never tolerated, whatever the list.
#[case(
    "SELECT ename FROM emp WHERE sal > 10",
    "SELECT ename FROM emp WHERE sal > 11",
    &Class::ALL,
    "not_equivalent"
)]
#[case(
    "SELECT deptno FROM emp",
    "SELECT DISTINCT deptno FROM emp",
    &[Class::Duplicates],
    "equivalent_under_tolerances"
)]
#[case(
    "SELECT empno, ename FROM emp",
    "SELECT ename, empno FROM emp",
    &[Class::ColumnOrder],
    "equivalent_under_tolerances"
)]
// Column order tolerated, but the rows differ too: not equivalent.
#[case(
    "SELECT empno, ename FROM emp",
    "SELECT ename, empno FROM emp WHERE sal > 3",
    &[Class::ColumnOrder],
    "not_equivalent"
)]
// `= MAX` and `LIMIT 1` differ on ties, and also when every salary is NULL
// (no maximum, but a first row): tolerating ties alone is not enough.
#[case(
    "SELECT ename FROM emp WHERE sal = (SELECT MAX(sal) FROM emp)",
    "SELECT ename FROM emp ORDER BY sal DESC LIMIT 1",
    &[Class::Ties],
    "not_equivalent"
)]
#[case(
    "SELECT ename FROM emp WHERE sal = (SELECT MAX(sal) FROM emp)",
    "SELECT ename FROM emp ORDER BY sal DESC LIMIT 1",
    &[Class::Ties, Class::Nulls],
    "equivalent_under_tolerances"
)]
#[case(
    "SELECT AVG(sal) FROM emp",
    "SELECT SUM(sal) / COUNT(sal) FROM emp",
    &[Class::TypeAffinity],
    "equivalent_under_tolerances"
)]
// Equal queries stay plainly equivalent under any tolerance.
#[case(
    "SELECT ename FROM emp WHERE sal > 10",
    "SELECT ename FROM emp WHERE sal >= 11",
    &[Class::Nulls],
    "equivalent"
)]
fn tolerances(#[case] a: &str, #[case] b: &str, #[case] tol: &[Class], #[case] label: &str) {
    let v = check(a, b, tol);
    assert_eq!(v.label(), label, "{}", v.reason());
}

/// Loads `db` into SQLite with the schema's own constraints enforced
/// (keys, NOT NULL, UNIQUE, CHECK, foreign keys): every insert must succeed.
fn load_enforced(ddl: &str, schema: &Schema, db: &Db) {
    let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
    conn.execute_batch("PRAGMA foreign_keys = ON;")
        .expect("pragma");
    conn.execute_batch(ddl).expect("ddl");
    for ti in schema.fill_order() {
        let t = &schema.tables[ti];
        for r in &db.tables[ti] {
            let vals: Vec<String> = r.iter().map(SqlVal::literal).collect();
            let sql = format!("INSERT INTO \"{}\" VALUES ({})", t.name, vals.join(", "));
            conn.execute(&sql, [])
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
}

const STRICT_DDL: &str = "
CREATE TABLE customers (
  id INTEGER PRIMARY KEY NOT NULL,
  email TEXT UNIQUE,
  name TEXT NOT NULL,
  age INTEGER CHECK (age >= 18)
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY NOT NULL,
  customer_id INTEGER NOT NULL REFERENCES customers (id),
  amount REAL NOT NULL,
  CHECK (amount > 0)
);";

#[test]
fn generated_databases_respect_types_keys_references_and_checks() {
    let schema = Schema::from_ddl(STRICT_DDL).expect("ddl");
    assert_eq!(schema.tables[0].unique, vec![vec![1]]);
    assert_eq!(schema.tables[0].checks, vec!["age >= 18".to_string()]);
    assert_eq!(schema.tables[1].checks, vec!["amount > 0".to_string()]);
    let queries = [
        "SELECT name FROM customers WHERE age > 20 AND email = 'x@y'",
        "SELECT id FROM orders WHERE amount >= 2.5",
    ];
    let pools = Pools::from_queries(&queries);
    let mut rng = Rng::new(3);
    let mut rows = 0;
    for (round, allow) in [
        Allow {
            nulls: false,
            duplicates: false,
            empty: false,
        },
        Allow::ALL,
    ]
    .into_iter()
    .cycle()
    .take(200)
    .enumerate()
    {
        // The CHECKs written out (the checker runs them in SQLite; see the
        // next test).
        let db = datagen::generate(&schema, &pools, &mut rng, 7, allow, &mut |t, r| match t {
            0 => match &r[3] {
                SqlVal::Int(a) => *a >= 18,
                _ => true,
            },
            _ => match &r[2] {
                SqlVal::Int(a) => *a > 0,
                SqlVal::Real(a) => *a > 0.0,
                _ => true,
            },
        });
        assert!(db.valid(&schema), "round {round}: {db:?}");
        load_enforced(STRICT_DDL, &schema, &db);
        for (ti, t) in schema.tables.iter().enumerate() {
            for r in &db.tables[ti] {
                // Integer columns hold integers only: no `2.5` in an id.
                for (ci, c) in t.columns.iter().enumerate() {
                    if c.ty == tribunal::check::ast::sql::ColType::Int {
                        assert!(
                            matches!(r[ci], SqlVal::Int(_) | SqlVal::Null),
                            "{}.{} = {:?}",
                            t.name,
                            c.name,
                            r[ci]
                        );
                    }
                }
                rows += 1;
            }
        }
        if !allow.nulls {
            let read = vec![true; schema.tables.len()];
            let f = db.features(&schema, &read);
            assert!(
                !f.contains(Class::Nulls) && !f.contains(Class::Duplicates),
                "the plainest level has no NULL and no repeated value: {db:?}"
            );
            assert!(
                db.tables.iter().all(|t| !t.is_empty()),
                "the plainest level fills every table: {db:?}"
            );
        }
    }
    assert!(rows > 400, "{rows}");
}

#[test]
fn check_constraints_are_enforced_by_the_search() {
    // If rows with `amount <= 0` were generated, `amount > 0` would look
    // droppable; the CHECK makes the two queries equal on every valid
    // database.
    let schema = Schema::from_ddl(STRICT_DDL).expect("ddl");
    let v = sql_equivalent(
        "SELECT id FROM orders",
        "SELECT id FROM orders WHERE amount > 0",
        &schema,
        &SqlOptions::default(),
    );
    assert_eq!(v.label(), "equivalent", "{}", v.reason());
    let v = sql_equivalent(
        "SELECT id FROM orders",
        "SELECT id FROM orders WHERE amount > 1",
        &schema,
        &SqlOptions::default(),
    );
    assert_eq!(v.label(), "not_equivalent", "{}", v.reason());
}

#[test]
fn spider_keys_are_integers_and_references_hit() {
    let schema = load_schema(
        "tables.subset.json#concert_singer",
        None,
        std::path::Path::new("tests/data/spider-schema"),
    );
    let Ok(schema) = schema else {
        panic!("{schema:?}");
    };
    let singer = schema.table("singer").expect("singer");
    let id = schema.tables[singer].col("Singer_ID").expect("Singer_ID");
    assert_eq!(
        schema.tables[singer].columns[id].ty,
        tribunal::check::ast::sql::ColType::Int
    );
    let pools = Pools::from_queries(&["SELECT name FROM singer WHERE age > 30.5"]);
    let mut rng = Rng::new(1);
    for _ in 0..50 {
        let db = datagen::generate(&schema, &pools, &mut rng, 5, Allow::ALL, &mut |_, _| true);
        assert!(db.valid(&schema));
        let ids: HashSet<String> = db.tables[singer].iter().map(|r| r[id].literal()).collect();
        assert!(ids.iter().all(|s| !s.contains('.')), "{ids:?}");
    }
}

/// Constructs SQLite does not run, translated to forms it does: pairs that
/// were `unknown` are now decided, and a wrong rewrite is still refuted.
#[rstest]
#[case::grouping_sets(
    "SELECT deptno, COUNT(DISTINCT ename), SUM(sal) FROM emp GROUP BY deptno",
    "SELECT deptno, COUNT(ename) FILTER (WHERE $g_0), CAST(MIN(EXPR$2) FILTER (WHERE $g_1) AS INTEGER) FROM (SELECT deptno, ename, SUM(sal) AS EXPR$2, GROUPING(deptno, ename) = 0 AS $g_0, GROUPING(deptno, ename) = 1 AS $g_1 FROM emp GROUP BY GROUPING SETS((ename, deptno), deptno)) AS t1 GROUP BY deptno",
    "equivalent"
)]
#[case::rollup_adds_totals(
    "SELECT deptno, SUM(sal) FROM emp GROUP BY deptno",
    "SELECT deptno, SUM(sal) FROM emp GROUP BY ROLLUP(deptno)",
    "not_equivalent"
)]
#[case::count_of_many(
    "SELECT COUNT(DISTINCT sal, comm) FROM emp",
    "SELECT COUNT(*) FROM (SELECT DISTINCT sal, comm FROM emp WHERE sal IS NOT NULL AND comm IS NOT NULL) AS t",
    "equivalent"
)]
#[case::substring_from_for(
    "SELECT SUBSTRING(ename FROM 1 FOR 2), TRIM(BOTH 'a' FROM ename) FROM emp",
    "SELECT SUBSTR(ename, 1, 2), TRIM(ename, 'a') FROM emp",
    "equivalent"
)]
#[case::implicit_values_names(
    "SELECT t.EXPR$0 + t.EXPR$1 FROM (VALUES (10, 1), (20, 3)) AS t",
    "SELECT * FROM (VALUES (11), (23)) AS t1",
    "equivalent"
)]
#[case::parenthesized_union(
    "SELECT ename FROM emp UNION ALL SELECT ename FROM emp",
    "SELECT * FROM ((SELECT ename FROM emp) UNION ALL (SELECT ename FROM emp)) AS t",
    "equivalent"
)]
#[case::group_by_constant(
    "SELECT deptno, MAX(sal) FROM emp GROUP BY deptno, 4",
    "SELECT deptno, MAX(sal) FROM emp GROUP BY deptno",
    "equivalent"
)]
fn dialect_constructs_are_translated(#[case] a: &str, #[case] b: &str, #[case] label: &str) {
    let v = check(a, b, &[]);
    assert_eq!(v.label(), label, "{}", v.reason());
}

#[rstest]
#[case::intersect_all_of_itself(
    "SELECT deptno FROM emp INTERSECT ALL SELECT deptno FROM emp",
    "SELECT deptno FROM emp",
    "equivalent"
)]
#[case::except_all_keeps_copies(
    "SELECT deptno FROM emp EXCEPT ALL SELECT deptno FROM emp WHERE sal > 100",
    "SELECT deptno FROM emp EXCEPT SELECT deptno FROM emp WHERE sal > 100",
    "not_equivalent"
)]
#[case::except_all_chain(
    "SELECT deptno FROM emp EXCEPT ALL SELECT deptno FROM dept EXCEPT ALL SELECT deptno FROM dept",
    "SELECT * FROM (SELECT deptno FROM emp EXCEPT ALL SELECT deptno FROM dept) AS t EXCEPT ALL SELECT deptno FROM dept",
    "equivalent"
)]
fn bag_compounds_run_as_numbered_copies(#[case] a: &str, #[case] b: &str, #[case] label: &str) {
    let v = check(a, b, &[]);
    assert_eq!(v.label(), label, "{}", v.reason());
}

/// `sql_dialect` chooses the engine's arithmetic: Calcite's `AVG` of
/// integers is an integer, MySQL's `/` is real division.
#[rstest]
#[case::sqlite_avg_is_real("generic", "AVG(sal)", "SUM(sal) / COUNT(sal)", "not_equivalent")]
#[case::calcite_avg_is_integer("calcite", "AVG(sal)", "SUM(sal) / COUNT(sal)", "equivalent")]
#[case::mysql_division_is_real("mysql", "AVG(sal)", "SUM(sal) / COUNT(sal)", "equivalent")]
#[case::calcite_avg_of_reals_stays_real(
    "calcite",
    "AVG(sal * 1.0)",
    "SUM(sal) / COUNT(sal)",
    "not_equivalent"
)]
fn the_engines_arithmetic(
    #[case] dialect: &str,
    #[case] a: &str,
    #[case] b: &str,
    #[case] label: &str,
) {
    let q = |e: &str| format!("SELECT deptno, {e} FROM emp GROUP BY deptno");
    let v = check_as(&q(a), &q(b), &[], dialect);
    assert_eq!(v.label(), label, "{}", v.reason());
}

/// Queries that differ only in alias names are the same query, proved
/// without running them (so even SQL that SQLite cannot run is decided).
#[test]
fn renamed_aliases_are_proved_equivalent_without_running() {
    let v = check(
        "SELECT UNIX_TIMESTAMP('12:34:56'), e.sal AS s FROM emp AS e WHERE e.deptno = 1",
        "SELECT UNIX_TIMESTAMP('12:34:56'), emp0.sal AS salary FROM emp AS emp0 WHERE emp0.deptno = 1",
        &[],
    );
    insta::assert_snapshot!(format!("{}: {}", v.label(), v.reason()));
    // An alias that renames a column is not a renaming: refused, and the
    // query (which SQLite cannot run) stays unknown.
    let v = check(
        "SELECT UNIX_TIMESTAMP('x'), e.sal AS sal FROM emp AS e",
        "SELECT UNIX_TIMESTAMP('x'), e.sal AS comm FROM emp AS e",
        &[],
    );
    assert_eq!(v.label(), "unknown", "{}", v.reason());
}

#[test]
fn an_untranslated_construct_is_named_in_the_unknown_reason() {
    let v = check(
        "SELECT empno, UNIX_TIMESTAMP('2020-01-01') FROM emp",
        "SELECT empno, 0 FROM emp",
        &[],
    );
    assert_eq!(v.label(), "unknown");
    insta::assert_snapshot!(v.reason());
}

const DATES_DDL: &str =
    "CREATE TABLE ev (id INT PRIMARY KEY NOT NULL, d DATE, ts TIMESTAMP, n INT);";

fn check_dates(a: &str, b: &str, dialect: &str) -> Equivalence {
    let schema = Schema::from_ddl(DATES_DDL).expect("ddl");
    let opts = SqlOptions {
        dialect: dialect.into(),
        budget_ms: 600_000,
        ..SqlOptions::default()
    };
    sql_equivalent(a, b, &schema, &opts)
}

/// Date arithmetic, truncation and comparisons run as the engines compute
/// them, over generated dates near the queries' literals.
#[rstest]
#[case::trunc_month_is_a_range(
    "SELECT id FROM ev WHERE DATE_TRUNC('month', d) = DATE '2021-01-01'",
    "SELECT id FROM ev WHERE d >= DATE '2021-01-01' AND d < CAST('2021-02-01' AS DATE)",
    "generic",
    "equivalent"
)]
#[case::trunc_month_range_one_day_too_long(
    "SELECT id FROM ev WHERE DATE_TRUNC('month', d) = DATE '2021-01-01'",
    "SELECT id FROM ev WHERE d >= DATE '2021-01-01' AND d <= DATE '2021-02-01'",
    "generic",
    "not_equivalent"
)]
#[case::trunc_week_starts_monday(
    "SELECT id FROM ev WHERE DATE_TRUNC('week', d) = DATE '2023-12-11'",
    "SELECT id FROM ev WHERE d >= '2023-12-11' AND d < '2023-12-18'",
    "generic",
    "equivalent"
)]
#[case::interval_moves_the_constant(
    "SELECT id FROM ev WHERE d - INTERVAL '1' DAY = DATE '2021-01-01'",
    "SELECT id FROM ev WHERE d = DATE '2021-01-02'",
    "generic",
    "equivalent"
)]
#[case::hours_on_timestamps(
    "SELECT id FROM ev WHERE ts - INTERVAL 1 HOUR > TIMESTAMP '2021-01-01 00:00:00'",
    "SELECT id FROM ev WHERE ts > CAST('2021-01-01 01:00:00' AS DATETIME)",
    "generic",
    "equivalent"
)]
#[case::hours_are_not_days(
    "SELECT id FROM ev WHERE ts - INTERVAL 1 HOUR > TIMESTAMP '2021-01-01 00:00:00'",
    "SELECT id FROM ev WHERE ts > TIMESTAMP '2021-01-02 00:00:00'",
    "generic",
    "not_equivalent"
)]
#[case::month_end_clamps_unlike_sqlite(
    "SELECT id, d + INTERVAL '1' MONTH FROM ev",
    "SELECT id, date(d, '+1 month') FROM ev",
    "generic",
    "not_equivalent"
)]
#[case::date_against_timestamp_is_its_midnight(
    "SELECT id FROM ev WHERE ts >= d",
    "SELECT id FROM ev WHERE ts >= CAST(d AS TIMESTAMP)",
    "generic",
    "equivalent"
)]
#[case::extract_year(
    "SELECT id FROM ev WHERE EXTRACT(YEAR FROM d) = 2021",
    "SELECT id FROM ev WHERE d BETWEEN '2021-01-01' AND '2021-12-31'",
    "generic",
    "equivalent"
)]
#[case::date_add_of_sqlglot(
    "SELECT id FROM ev WHERE DATE_ADD(d, 1, 'DAY') <= CAST('2021-01-01' AS DATE)",
    "SELECT id FROM ev WHERE d <= CAST('2020-12-31' AS DATE)",
    "generic",
    "equivalent"
)]
#[case::days_in_postgres(
    "SELECT id FROM ev WHERE d + 84 > DATE '2021-01-01'",
    "SELECT id FROM ev WHERE d > DATE '2020-10-09'",
    "postgres",
    "equivalent"
)]
#[case::date_difference_in_postgres(
    "SELECT id FROM ev WHERE d - DATE '2021-01-01' = 1",
    "SELECT id FROM ev WHERE d = DATE '2021-01-01'",
    "postgres",
    "not_equivalent"
)]
fn dates_run_as_engines_compute_them(
    #[case] a: &str,
    #[case] b: &str,
    #[case] dialect: &str,
    #[case] label: &str,
) {
    let v = check_dates(a, b, dialect);
    assert_eq!(v.label(), label, "{}", v.reason());
}

/// A refuted date pair shows dates in its counterexample; a construct whose
/// meaning depends on the engine is `unknown` until `sql_dialect` says
/// which engine.
#[test]
fn date_counterexamples_and_untranslated_date_arithmetic() {
    let v = check_dates(
        "SELECT id FROM ev WHERE DATE_TRUNC('month', d) = DATE '2021-01-01'",
        "SELECT id FROM ev WHERE d >= DATE '2021-01-01' AND d <= DATE '2021-02-01'",
        "generic",
    );
    insta::assert_snapshot!(format!("{}: {}", v.label(), v.reason()));
    let v = check_dates(
        "SELECT id FROM ev WHERE d + 84 > DATE '2021-01-01'",
        "SELECT id FROM ev WHERE d > DATE '2020-10-09'",
        "mysql",
    );
    assert_eq!(v.label(), "unknown");
    insta::assert_snapshot!(v.reason());
}
