//! Ties under `ORDER BY … LIMIT`: a query that keeps the first `k` rows
//! of an order cuts through a tie when the `k`-th and the `k+1`-th rows
//! have the same sort key. The probe is the query with its projection
//! replaced by the sort keys and without the `LIMIT`; run on a database,
//! it tells whether the limit falls inside a tie there.

use sqlparser::ast::{
    Expr, LimitClause, OrderByKind, SelectItem, SetExpr, Statement, Value as SqlValue,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

/// A tie probe: the sort-key query and the position of the last kept row.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// `SELECT <sort keys> FROM … ORDER BY …` without the limit.
    pub keys_sql: String,
    /// Rows kept (offset plus limit).
    pub kept: usize,
}

fn number(e: &Expr) -> Option<usize> {
    match e {
        Expr::Value(v) => match &v.value {
            SqlValue::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// The probe of `sql`, when it is a plain `SELECT … ORDER BY … LIMIT k`
/// (no `DISTINCT`, no set operation).
pub fn probe(sql: &str) -> Option<Probe> {
    let stmts = Parser::parse_sql(&GenericDialect {}, sql).ok()?;
    let [Statement::Query(q)] = stmts.as_slice() else {
        return None;
    };
    let (limit, offset) = match q.limit_clause.as_ref()? {
        LimitClause::LimitOffset { limit, offset, .. } => (
            number(limit.as_ref()?)?,
            match offset {
                Some(o) => number(&o.value)?,
                None => 0,
            },
        ),
        LimitClause::OffsetCommaLimit { offset, limit } => (number(limit)?, number(offset)?),
    };
    let order = match &q.order_by.as_ref()?.kind {
        OrderByKind::Expressions(e) if !e.is_empty() => e.clone(),
        _ => return None,
    };
    let mut q2 = (**q).clone();
    q2.limit_clause = None;
    let SetExpr::Select(sel) = q2.body.as_mut() else {
        return None;
    };
    if sel.distinct.is_some() {
        return None;
    }
    // Sort keys may name a projection alias or position: use its expression.
    let projected: Vec<(Option<String>, Expr)> = sel
        .projection
        .iter()
        .map(|p| match p {
            SelectItem::UnnamedExpr(e) => Some((None, e.clone())),
            SelectItem::ExprWithAlias { expr, alias } => {
                Some((Some(alias.value.to_ascii_lowercase()), expr.clone()))
            }
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    let subst: Vec<Expr> = order
        .iter()
        .map(|o| match &o.expr {
            Expr::Identifier(id) => projected
                .iter()
                .find(|(a, _)| a.as_deref() == Some(id.value.to_ascii_lowercase().as_str()))
                .map_or_else(|| o.expr.clone(), |(_, e)| e.clone()),
            other => match number(other) {
                Some(i) if i >= 1 && i <= projected.len() => projected[i - 1].1.clone(),
                _ => other.clone(),
            },
        })
        .collect();
    sel.projection = subst.iter().cloned().map(SelectItem::UnnamedExpr).collect();
    let mut order2 = order;
    for (o, e) in order2.iter_mut().zip(&subst) {
        o.expr = e.clone();
    }
    if let Some(ob) = q2.order_by.as_mut() {
        ob.kind = OrderByKind::Expressions(order2);
    }
    Some(Probe {
        keys_sql: super::compat::for_sqlite(&q2.to_string()),
        kept: limit + offset,
    })
}

#[cfg(test)]
mod tests {
    use super::probe;

    #[test]
    fn probes_name_the_sort_keys() {
        let p = probe("SELECT name, COUNT(*) AS n FROM t GROUP BY name ORDER BY n DESC LIMIT 1")
            .expect("probe");
        assert_eq!(
            p.keys_sql,
            "SELECT COUNT(*) FROM t GROUP BY name ORDER BY COUNT(*) DESC"
        );
        assert_eq!(p.kept, 1);
        let p = probe("SELECT a, b FROM t ORDER BY 2 LIMIT 3 OFFSET 1").expect("probe");
        assert_eq!(p.keys_sql, "SELECT b FROM t ORDER BY b");
        assert_eq!(p.kept, 4);
        assert_eq!(probe("SELECT a FROM t ORDER BY a"), None);
        assert_eq!(probe("SELECT DISTINCT a FROM t ORDER BY a LIMIT 1"), None);
    }
}
