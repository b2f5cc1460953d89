//! Functions of other engines that SQLite lacks, registered on the
//! connection the queries run on.
//!
//! `POWER(x, y)` (also `POW`) and `SQRT(x)`: reals, NULL when an argument
//! is NULL or the result is not a number (as SQLite's own math functions,
//! which its bundled build leaves out). `STARTS_WITH(s, p)`: 1 or 0, NULL
//! when an argument is NULL.
//!
//! `SINGLE_VALUE(x)` (Calcite's decorrelated scalar subqueries) is the one
//! value of its group, NULL on no rows, and an error on more than one row.
//! A database on which it raises that error is outside the queries'
//! domain: the original scalar subquery is an error there too in Calcite,
//! while SQLite would silently pick a row. The search skips such
//! databases, as it skips databases whose results depend on row order.

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::Value;
use rusqlite::{Connection, Error};

/// The message of `SINGLE_VALUE`'s error.
const MORE_THAN_ONE: &str = "SINGLE_VALUE saw more than one row";

struct SingleValue;

impl Aggregate<(u64, Value), Value> for SingleValue {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<(u64, Value)> {
        Ok((0, Value::Null))
    }
    fn step(&self, ctx: &mut Context<'_>, acc: &mut (u64, Value)) -> rusqlite::Result<()> {
        acc.0 += 1;
        if acc.0 > 1 {
            return Err(Error::UserFunctionError(MORE_THAN_ONE.into()));
        }
        acc.1 = ctx.get::<Value>(0)?;
        Ok(())
    }
    fn finalize(&self, _: &mut Context<'_>, acc: Option<(u64, Value)>) -> rusqlite::Result<Value> {
        Ok(acc.map_or(Value::Null, |a| a.1))
    }
}

/// A real argument, `None` for NULL or text that is not a number.
fn real(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<f64>> {
    Ok(match ctx.get::<Value>(i)? {
        Value::Integer(n) => Some(n as f64),
        Value::Real(r) => Some(r),
        Value::Text(t) => t.trim().parse().ok(),
        Value::Null | Value::Blob(_) => None,
    })
}

fn finite(r: f64) -> Option<f64> {
    r.is_finite().then_some(r)
}

/// Registers the functions on `conn`.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_aggregate_function("single_value", 1, flags, SingleValue)?;
    for name in ["power", "pow"] {
        conn.create_scalar_function(name, 2, flags, |ctx| {
            Ok(match (real(ctx, 0)?, real(ctx, 1)?) {
                (Some(x), Some(y)) => finite(x.powf(y)),
                _ => None,
            })
        })?;
    }
    conn.create_scalar_function("starts_with", 2, flags, |ctx| {
        let text = |i: usize| -> rusqlite::Result<Option<String>> {
            Ok(match ctx.get::<Value>(i)? {
                Value::Null => None,
                Value::Text(t) => Some(t),
                Value::Integer(n) => Some(n.to_string()),
                Value::Real(r) => Some(r.to_string()),
                Value::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            })
        };
        Ok(match (text(0)?, text(1)?) {
            (Some(s), Some(p)) => Some(i64::from(s.starts_with(&p))),
            _ => None,
        })
    })?;
    conn.create_scalar_function("sqrt", 1, flags, |ctx| {
        Ok(real(ctx, 0)?.and_then(|x| finite(x.sqrt())))
    })
}

/// Whether `e` is `SINGLE_VALUE`'s error (the database is then skipped).
pub fn outside_domain(e: &Error) -> bool {
    e.to_string().contains(MORE_THAN_ONE)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    #[test]
    fn single_value_is_the_one_value_null_on_none_and_an_error_on_two() {
        let conn = Connection::open_in_memory().unwrap();
        super::register(&conn).unwrap();
        conn.execute_batch("CREATE TABLE t(a INTEGER); INSERT INTO t VALUES (7), (8);")
            .unwrap();
        let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, Option<i64>>(0));
        assert_eq!(
            one("SELECT SINGLE_VALUE(a) FROM t WHERE a = 7").unwrap(),
            Some(7)
        );
        assert_eq!(
            one("SELECT SINGLE_VALUE(a) FROM t WHERE a = 9").unwrap(),
            None
        );
        let e = one("SELECT SINGLE_VALUE(a) FROM t").unwrap_err();
        assert!(super::outside_domain(&e), "{e}");
        let real = |sql: &str| {
            conn.query_row(sql, [], |r| r.get::<_, Option<f64>>(0))
                .unwrap()
        };
        assert_eq!(real("SELECT POWER(16, 0.5)"), Some(4.0));
        assert_eq!(real("SELECT pow(2, 3) + SQRT(9)"), Some(11.0));
        assert_eq!(real("SELECT POWER(NULL, 2)"), None);
        assert_eq!(real("SELECT SQRT(-1)"), None);
        let int = |sql: &str| {
            conn.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
                .unwrap()
        };
        assert_eq!(int("SELECT STARTS_WITH('foo', 'f')"), Some(1));
        assert_eq!(int("SELECT STARTS_WITH('foo', 'g')"), Some(0));
        assert_eq!(int("SELECT STARTS_WITH('', '')"), Some(1));
        assert_eq!(int("SELECT STARTS_WITH(NULL, '')"), None);
    }
}
