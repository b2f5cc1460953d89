//! `INTERSECT ALL` and `EXCEPT ALL`, which SQLite does not run, as plain
//! `INTERSECT` and `EXCEPT` over numbered copies.
//!
//! A row that occurs `m` times on the left and `n` times on the right
//! occurs `min(m, n)` times in `INTERSECT ALL` and `max(m - n, 0)` times in
//! `EXCEPT ALL`. Numbering the copies of each distinct row 1, 2, … on both
//! sides (`ROW_NUMBER() OVER (PARTITION BY` every column`)`) makes every
//! numbered row distinct, and the distinct `INTERSECT` of the numbered rows
//! keeps copies `1..=min(m, n)`, the distinct `EXCEPT` copies `n+1..=m`:
//! exactly the bag operations. `PARTITION BY` groups NULLs together, as
//! `INTERSECT` and `EXCEPT` compare them equal, so NULL rows count alike.
//!
//! The rewrite needs each member's column count, which only SQLite knows
//! (`SELECT *`), so it runs on the connection holding the schema.

use rusqlite::Connection;
use sqlparser::ast::{Query, SetExpr, SetOperator, SetQuantifier, Statement, TableFactor};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

/// The query with every `INTERSECT ALL` / `EXCEPT ALL` in its body and in
/// its `FROM` subqueries rewritten; `None` when it has none or a member's
/// columns cannot be read (the query then stays as it is, and SQLite's
/// error names the construct).
pub fn rewrite(sql: &str, conn: &Connection) -> Option<String> {
    let l = sql.to_ascii_lowercase();
    if !(l.contains("intersect all") || l.contains("except all")) {
        return None;
    }
    let mut stmts = Parser::parse_sql(&SQLiteDialect {}, sql).ok()?;
    let [Statement::Query(q)] = stmts.as_mut_slice() else {
        return None;
    };
    let mut changed = false;
    fix_query(q, conn, &mut changed)?;
    changed.then(|| q.to_string())
}

fn fix_query(q: &mut Query, conn: &Connection, changed: &mut bool) -> Option<()> {
    fix_set(&mut q.body, conn, changed)
}

fn fix_factor(f: &mut TableFactor, conn: &Connection, changed: &mut bool) -> Option<()> {
    match f {
        TableFactor::Derived { subquery, .. } => fix_query(subquery, conn, changed),
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => {
            fix_factor(&mut table_with_joins.relation, conn, changed)?;
            for j in table_with_joins.joins.iter_mut() {
                fix_factor(&mut j.relation, conn, changed)?;
            }
            Some(())
        }
        _ => Some(()),
    }
}

fn fix_set(s: &mut SetExpr, conn: &Connection, changed: &mut bool) -> Option<()> {
    match s {
        SetExpr::Select(sel) => {
            for t in sel.from.iter_mut() {
                fix_factor(&mut t.relation, conn, changed)?;
                for j in t.joins.iter_mut() {
                    fix_factor(&mut j.relation, conn, changed)?;
                }
            }
            Some(())
        }
        SetExpr::Query(q) => fix_query(q, conn, changed),
        SetExpr::SetOperation {
            op,
            set_quantifier,
            left,
            right,
        } => {
            fix_set(left, conn, changed)?;
            fix_set(right, conn, changed)?;
            let distinct = match op {
                SetOperator::Intersect => "INTERSECT",
                SetOperator::Except | SetOperator::Minus => "EXCEPT",
                _ => return Some(()),
            };
            if !matches!(set_quantifier, SetQuantifier::All) {
                return Some(());
            }
            let (l, r) = (member(left), member(right));
            let names = columns(conn, &l)?;
            if columns(conn, &r)?.len() != names.len() {
                return None;
            }
            let cols: Vec<String> = (1..=names.len())
                .map(|i| format!("tribunal_c{i}"))
                .collect();
            let list = cols.join(", ");
            let numbered = |name: &str, body: &str| {
                format!(
                    "SELECT * FROM (WITH {name}({list}) AS ({body}) SELECT {list}, ROW_NUMBER() OVER (PARTITION BY {list}) AS tribunal_copy FROM {name})"
                )
            };
            let outer: Vec<String> = cols
                .iter()
                .zip(&names)
                .map(|(c, n)| format!("{c} AS \"{}\"", n.replace('"', "\"\"")))
                .collect();
            let text = format!(
                "SELECT {} FROM ({} {distinct} {})",
                outer.join(", "),
                numbered("tribunal_l", &l),
                numbered("tribunal_r", &r),
            );
            let mut parsed = Parser::parse_sql(&SQLiteDialect {}, &text).ok()?;
            let Some(Statement::Query(q)) = parsed.pop() else {
                return None;
            };
            *s = *q.body;
            *changed = true;
            Some(())
        }
        _ => Some(()),
    }
}

/// A compound member as a standalone query.
fn member(s: &SetExpr) -> String {
    match s {
        SetExpr::Query(q) => q.to_string(),
        other => other.to_string(),
    }
}

/// The result columns of `sql`, as SQLite names them.
fn columns(conn: &Connection, sql: &str) -> Option<Vec<String>> {
    let st = conn.prepare(sql).ok()?;
    let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
    (!names.is_empty()).then_some(names)
}

#[cfg(test)]
mod tests {
    use super::rewrite;
    use rusqlite::Connection;

    fn rows(conn: &Connection, sql: &str) -> Vec<(Option<i64>, i64)> {
        let mut st = conn.prepare(sql).unwrap();
        let mut v: Vec<(Option<i64>, i64)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn bag_intersection_and_difference_count_copies() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE a(x INTEGER, y INTEGER); CREATE TABLE b(x INTEGER, y INTEGER);
             INSERT INTO a VALUES (1, 1), (1, 1), (1, 1), (2, 2), (NULL, 3), (NULL, 3);
             INSERT INTO b VALUES (1, 1), (1, 1), (NULL, 3), (4, 4);",
        )
        .unwrap();
        let i = rewrite("SELECT x, y FROM a INTERSECT ALL SELECT x, y FROM b", &conn).unwrap();
        assert_eq!(rows(&conn, &i), [(None, 3), (Some(1), 1), (Some(1), 1)]);
        let e = rewrite("SELECT x, y FROM a EXCEPT ALL SELECT x, y FROM b", &conn).unwrap();
        assert_eq!(rows(&conn, &e), [(None, 3), (Some(1), 1), (Some(2), 2)]);
        // A chain, in a FROM subquery, keeping the left member's names.
        let c = rewrite(
            "SELECT t.x, t.y FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b EXCEPT ALL SELECT x, y FROM a WHERE x = 2) AS t",
            &conn,
        )
        .unwrap();
        assert_eq!(rows(&conn, &c), [(None, 3), (Some(1), 1)]);
        assert_eq!(
            rewrite("SELECT x, y FROM a INTERSECT SELECT x, y FROM b", &conn),
            None
        );
    }
}
