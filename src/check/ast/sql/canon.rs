//! Proof by normal form: both queries are rewritten, one meaning-preserving
//! step at a time, into a normal form; equal normal forms mean the queries
//! are the same query (method `canonical`, a proof).
//!
//! Every step is an equivalence of SQL under three-valued logic and bag
//! semantics, so soundness never depends on the form being unique (which
//! only decides how many pairs are proved):
//!
//! - aliases renamed (`alias.rs`, keeping a name that could mean
//!   something else, a column's or a function's, where it is), then
//!   renumbered by first occurrence in the normal form;
//! - literal integer arithmetic and comparisons folded (`10 / 2` only when
//!   the division is exact and the dialect divides integers into integers);
//! - `AND`/`OR` flattened, their operands sorted and deduplicated, `TRUE`
//!   and `FALSE` operands absorbed (`x AND FALSE` is `FALSE` and `x OR
//!   TRUE` is `TRUE` even when `x` is NULL), `NOT` pushed through `AND`/`OR`
//!   (De Morgan), into comparisons (`NOT a < b` is `a >= b`), `IS NULL`,
//!   `IN`, `BETWEEN` and `EXISTS`, `NOT NOT x` is `x`;
//! - `a > b` is `b < a`, the operands of `=`, `<>`, `+` and `*` sorted;
//! - `x BETWEEN a AND b` is `x >= a AND x <= b` (for an `x` without calls
//!   or subqueries), IN-lists sorted and deduplicated, `x IN (v)` with a
//!   literal `v` is `x = v`;
//! - `GROUP BY` keys sorted and deduplicated;
//! - `SELECT * FROM (q) AS t` with nothing else is `q` (where no `ORDER
//!   BY` or `LIMIT` outside could read `t`), a parenthesized query without
//!   clauses of its own is its body;
//! - in a `WHERE` or `HAVING` (where NULL and FALSE alike drop the row),
//!   `x IS NOT NULL` beside a comparison of the column `x` is dropped;
//! - a `FROM` of inner and comma joins is a set of relations with one
//!   conjunction (the `ON` conditions and the `WHERE`): the relations are
//!   sorted and every condition moves to `WHERE`, when the select list
//!   has no wildcard, no join is outer, `USING` or `NATURAL`, and the row
//!   order cannot show (no `LIMIT`, `OFFSET`, `FETCH`, `TOP`, window or
//!   unlisted function anywhere in the query).
//!
//! Steps that would drop a boolean operator (`NOT NOT x`, `x AND TRUE`,
//! `x AND x`) only apply when `x` is itself a predicate: SQLite and MySQL
//! evaluate `5 AND TRUE` to 1, not 5. Never assumed: `x = x` is TRUE, `x
//! AND NOT x` is FALSE (both fail on NULL), DISTINCT is redundant, UNION is
//! UNION ALL, outer joins commute, `COUNT(x)` is `COUNT(*)`.
//!
//! The prover refuses (finds no proof, never a wrong one) when either
//! query or the schema names a collation (SQLite takes a comparison's
//! collation from its left operand), or calls a function whose value
//! changes from row to row (`random()`). Each rewritten tree is printed
//! with every operand that needs it in parentheses, and the printed text
//! must parse back to the same tree, or there is no proof.

use std::collections::{BTreeSet, HashMap};

use sqlparser::ast::{
    BinaryOperator, Distinct, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    InTarget, JoinConstraint, JoinOperator, Query, Select, SelectItem, SetExpr, Statement,
    TableFactor, TableWithJoins, UnaryOperator, Value,
};
use sqlparser::dialect::{Dialect, GenericDialect, dialect_from_str};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::alias;

/// The rules, as reported in a proof's evidence (in this order).
const RULES: [&str; 8] = [
    "aliases renamed",
    "subqueries unwrapped",
    "joins reordered",
    "constants folded",
    "predicates normalized",
    "operands ordered",
    "group keys ordered",
    "filters simplified",
];

/// A query's normal form and the rules that changed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Canon {
    /// The normal form, as SQL text.
    pub text: String,
    /// Indices into [`RULES`] of the rules that changed something.
    pub rules: BTreeSet<usize>,
}

/// Functions whose value changes from row to row or call to call: a query
/// calling one is never rewritten (`random() > 0.5 AND random() > 0.5` is
/// not `random() > 0.5`).
const VOLATILE: [&str; 10] = [
    "random",
    "randomblob",
    "rand",
    "uuid",
    "gen_random_uuid",
    "newid",
    "nextval",
    "setseed",
    "changes",
    "last_insert_rowid",
];

/// Functions whose value does not depend on the order rows arrive in
/// (the aggregates and common scalar functions). A query calling any other
/// function keeps its join order.
const ORDER_FREE: [&str; 40] = [
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "total",
    "abs",
    "upper",
    "lower",
    "length",
    "char_length",
    "character_length",
    "coalesce",
    "ifnull",
    "nullif",
    "round",
    "floor",
    "ceil",
    "ceiling",
    "substr",
    "substring",
    "trim",
    "ltrim",
    "rtrim",
    "replace",
    "instr",
    "mod",
    "power",
    "sqrt",
    "sign",
    "concat",
    "year",
    "month",
    "day",
    "date",
    "datetime",
    "strftime",
    "julianday",
    "unix_timestamp",
    "iif",
];

/// Words that may precede `(` without being a function call.
const STRUCTURAL: [&str; 28] = [
    "and", "or", "not", "in", "exists", "on", "where", "from", "join", "select", "as", "having",
    "by", "when", "then", "else", "case", "between", "values", "cast", "distinct", "all", "any",
    "some", "is", "like", "with", "all",
];

struct Cx {
    rules: BTreeSet<usize>,
    /// Whether `/` of two integers is an integer in this dialect.
    int_division: bool,
    /// Whether `+` is commutative in this dialect (not T-SQL's string `+`).
    plus_commutes: bool,
    /// Whether joins may be reordered in this query.
    reorder: bool,
}

impl Cx {
    fn fired(&mut self, rule: &str) {
        if let Some(i) = RULES.iter().position(|r| *r == rule) {
            self.rules.insert(i);
        }
    }
}

fn dialect_of(name: &str) -> Box<dyn Dialect> {
    dialect_from_str(name).unwrap_or_else(|| Box::new(GenericDialect {}))
}

fn parse(text: &str, dialect: &str) -> Option<Statement> {
    let d = dialect_of(dialect);
    let mut stmts = Parser::parse_sql(d.as_ref(), text).ok()?;
    if stmts.len() != 1 {
        return None;
    }
    let stmt = stmts.pop()?;
    matches!(stmt, Statement::Query(_)).then_some(stmt)
}

/// Lowercase words followed by `(` (calls, and the keywords before
/// parenthesized lists), and all lowercase words.
fn words(text: &str) -> Option<(Vec<String>, Vec<String>)> {
    let tokens = Tokenizer::new(&GenericDialect {}, text).tokenize().ok()?;
    let solid: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let mut calls = Vec::new();
    let mut all = Vec::new();
    for (i, t) in solid.iter().enumerate() {
        if let Token::Word(w) = t
            && w.quote_style.is_none()
        {
            let v = w.value.to_ascii_lowercase();
            if matches!(solid.get(i + 1), Some(Token::LParen)) {
                calls.push(v.clone());
            }
            all.push(v);
        }
    }
    Some((calls, all))
}

/// The normal form of `text` (a canonical rendering from
/// [`super::canonical`]), or `None` when the prover refuses the query.
pub fn normal_form(text: &str, reserved: &alias::Reserved, dialect: &str) -> Option<Canon> {
    let lower = text.to_ascii_lowercase();
    // `tribunal_aN` names are renumbered as aliases: a query that has such
    // a name of its own is left alone.
    if lower.contains("collate") || lower.contains("tribunal_a") {
        return None;
    }
    let (calls, all) = words(text)?;
    if calls.iter().any(|c| VOLATILE.contains(&c.as_str())) {
        return None;
    }
    let ordered_output = all
        .iter()
        .any(|w| matches!(w.as_str(), "limit" | "offset" | "fetch" | "top" | "over"));
    let order_free = calls
        .iter()
        .all(|c| ORDER_FREE.contains(&c.as_str()) || STRUCTURAL.contains(&c.as_str()));
    let d = dialect.to_ascii_lowercase();
    let mut cx = Cx {
        rules: BTreeSet::new(),
        int_division: matches!(
            d.as_str(),
            "generic" | "sqlite" | "postgresql" | "postgres" | "calcite" | "ansi" | "mssql"
        ),
        plus_commutes: d != "mssql",
        reorder: !ordered_output && order_free,
    };
    let mut cur = match alias::renamed_where_safe(text, reserved) {
        Some(r) => {
            cx.fired("aliases renamed");
            r
        }
        None => text.to_string(),
    };
    for _ in 0..4 {
        let Some(Statement::Query(mut q)) = parse(&cur, dialect) else {
            return None;
        };
        norm_query(&mut q, &mut cx);
        let printed = q.to_string();
        // The printed text must mean the tree: it parses back to it.
        match parse(&printed, dialect) {
            Some(Statement::Query(back)) if back == q => {}
            _ => return None,
        }
        let next = renumber(&printed)?;
        if next == cur {
            break;
        }
        cur = next;
    }
    Some(Canon {
        text: cur,
        rules: cx.rules,
    })
}

/// `tribunal_aN` names renumbered by first occurrence (a bijection on
/// names no query had before the rename, so it captures nothing).
fn renumber(text: &str) -> Option<String> {
    if !text.contains("tribunal_a") {
        return Some(text.to_string());
    }
    let tokens = Tokenizer::new(&GenericDialect {}, text).tokenize().ok()?;
    let mut order: HashMap<String, usize> = HashMap::new();
    let is_alias = |v: &str| {
        v.strip_prefix("tribunal_a")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut out = String::with_capacity(text.len());
    for t in &tokens {
        match t {
            Token::Word(w) if w.quote_style.is_none() && is_alias(&w.value) => {
                let n = order.len();
                let k = *order.entry(w.value.clone()).or_insert(n);
                out.push_str(&format!("tribunal_a{}", k + 1));
            }
            other => out.push_str(&other.to_string()),
        }
    }
    Some(out)
}

/// A proof that `left` and `right` (canonical renderings) are the same
/// query, as the evidence's detail, or `None`.
pub fn proof(left: &str, right: &str, reserved: &alias::Reserved, dialect: &str) -> Option<String> {
    let a = normal_form(left, reserved, dialect)?;
    let b = normal_form(right, reserved, dialect)?;
    if a.text != b.text {
        return None;
    }
    let rules: Vec<&str> = a.rules.union(&b.rules).map(|&i| RULES[i]).collect();
    let rules = if rules.is_empty() {
        "normalized".to_string()
    } else {
        rules.join(", ")
    };
    Some(format!("{rules}: both canonicalize to `{}`", a.text))
}

fn norm_query(q: &mut Query, cx: &mut Cx) {
    if let Some(with) = &mut q.with {
        for cte in &mut with.cte_tables {
            norm_query(&mut cte.query, cx);
        }
    }
    norm_set(&mut q.body, cx);
    // Unwrapped only where nothing outside reads the derived table's name.
    if q.order_by.is_none() && q.limit_clause.is_none() && q.fetch.is_none() {
        unwrap(&mut q.body, cx);
    }
}

fn norm_set(s: &mut SetExpr, cx: &mut Cx) {
    match s {
        SetExpr::Select(sel) => norm_select(sel, cx),
        SetExpr::Query(q) => norm_query(q, cx),
        SetExpr::SetOperation { left, right, .. } => {
            norm_set(left, cx);
            norm_set(right, cx);
            unwrap(left, cx);
            unwrap(right, cx);
        }
        _ => {}
    }
}

/// A query with nothing but its body (no `WITH`, `ORDER BY`, `LIMIT`, ...).
fn bare(q: &Query) -> bool {
    q.with.is_none()
        && q.order_by.is_none()
        && q.limit_clause.is_none()
        && q.fetch.is_none()
        && q.locks.is_empty()
        && q.for_clause.is_none()
        && q.settings.is_none()
        && q.format_clause.is_none()
        && q.pipe_operators.is_empty()
}

/// `SELECT * FROM (q) AS t` (and nothing else) is `q`'s rows in `q`'s
/// column order, and a parenthesized bare query is its body: both are
/// replaced by the body of `q` (whose printed form must still parse back
/// to the same tree, so `A EXCEPT (B EXCEPT C)` is never flattened).
fn unwrap(s: &mut SetExpr, cx: &mut Cx) {
    loop {
        let inner = match s {
            SetExpr::Query(q) if bare(q) => (*q.body).clone(),
            SetExpr::Select(sel) => match passthrough(sel) {
                Some(q) => {
                    cx.fired("subqueries unwrapped");
                    q
                }
                None => return,
            },
            _ => return,
        };
        *s = inner;
    }
}

/// The body of `q` when `sel` is exactly `SELECT * FROM (q) [AS t]`.
fn passthrough(sel: &Select) -> Option<SetExpr> {
    let [SelectItem::Wildcard(w)] = sel.projection.as_slice() else {
        return None;
    };
    let [t] = sel.from.as_slice() else {
        return None;
    };
    let TableFactor::Derived {
        lateral: false,
        subquery,
        alias,
        sample: None,
    } = &t.relation
    else {
        return None;
    };
    let plain_select = *w == sqlparser::ast::WildcardAdditionalOptions::default()
        && t.joins.is_empty()
        && alias.as_ref().is_none_or(|a| a.columns.is_empty())
        && sel.distinct.is_none()
        && sel.top.is_none()
        && sel.select_modifiers.is_none()
        && sel.optimizer_hints.is_empty()
        && sel.exclude.is_none()
        && sel.into.is_none()
        && sel.lateral_views.is_empty()
        && sel.prewhere.is_none()
        && sel.selection.is_none()
        && sel.connect_by.is_empty()
        && matches!(&sel.group_by, GroupByExpr::Expressions(k, m) if k.is_empty() && m.is_empty())
        && sel.cluster_by.is_empty()
        && sel.distribute_by.is_empty()
        && sel.sort_by.is_empty()
        && sel.having.is_none()
        && sel.named_window.is_empty()
        && sel.qualify.is_none()
        && sel.value_table_mode.is_none()
        && sel.flavor == sqlparser::ast::SelectFlavor::Standard;
    (plain_select && bare(subquery)).then(|| (*subquery.body).clone())
}

/// The top-level conjuncts of a normalized filter.
fn conjuncts(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Nested(x) => conjuncts(*x, out),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(*left, out);
            conjuncts(*right, out);
        }
        other => out.push(other),
    }
}

/// A normalized `WHERE` or `HAVING`, where only TRUE keeps a row (NULL
/// and FALSE alike drop it): `x IS NOT NULL` is dropped beside a
/// comparison of `x` itself (NULL wherever `x` is NULL, so the row is
/// dropped either way).
fn filter(e: Expr, cx: &mut Cx) -> Expr {
    let mut items = Vec::new();
    conjuncts(e.clone(), &mut items);
    if items.len() < 2 {
        return e;
    }
    let compared = |x: &Expr, items: &[Expr]| {
        items.iter().any(|i| match i {
            Expr::BinaryOp { left, op, right } => {
                matches!(
                    op,
                    BinaryOperator::Eq
                        | BinaryOperator::NotEq
                        | BinaryOperator::Lt
                        | BinaryOperator::LtEq
                ) && (unparen((**left).clone()) == *x || unparen((**right).clone()) == *x)
            }
            _ => false,
        })
    };
    let kept: Vec<Expr> = items
        .iter()
        .filter(|i| match i {
            Expr::IsNotNull(x) => {
                let x = unparen((**x).clone());
                !(matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
                    && compared(&x, &items))
            }
            _ => true,
        })
        .cloned()
        .collect();
    if kept.len() == items.len() {
        return e;
    }
    cx.fired("filters simplified");
    junction(kept, BinaryOperator::And, cx)
}

fn norm_factor(f: &mut TableFactor, cx: &mut Cx) {
    match f {
        TableFactor::Derived { subquery, .. } => norm_query(subquery, cx),
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => norm_from(table_with_joins, cx),
        _ => {}
    }
}

fn norm_from(t: &mut TableWithJoins, cx: &mut Cx) {
    norm_factor(&mut t.relation, cx);
    for j in &mut t.joins {
        norm_factor(&mut j.relation, cx);
        if let Some(JoinConstraint::On(e)) = super::join_constraint_mut(&mut j.join_operator) {
            *e = norm(std::mem::replace(e, null()), cx);
        }
    }
}

fn norm_select(sel: &mut Select, cx: &mut Cx) {
    for t in &mut sel.from {
        norm_from(t, cx);
    }
    for item in &mut sel.projection {
        match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                *e = norm(std::mem::replace(e, null()), cx);
            }
            _ => {}
        }
    }
    if let Some(e) = sel.selection.take() {
        sel.selection = Some(filter(norm(e, cx), cx));
    }
    if let Some(e) = sel.having.take() {
        sel.having = Some(filter(norm(e, cx), cx));
    }
    if let GroupByExpr::Expressions(keys, modifiers) = &mut sel.group_by {
        for k in keys.iter_mut() {
            let n = norm(k.clone(), cx);
            // A key that became a literal would read as a column position.
            if !matches!(n, Expr::Value(_)) {
                *k = n;
            }
        }
        if modifiers.is_empty() {
            let before: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            keys.sort_by_key(|k| k.to_string());
            keys.dedup_by_key(|k| k.to_string());
            let after: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            if before != after {
                cx.fired("group keys ordered");
            }
        }
    }
    if cx.reorder {
        reorder_joins(sel, cx);
    }
}

/// A relation that is a table or a derived table, nothing else.
fn plain(f: &TableFactor) -> bool {
    match f {
        TableFactor::Table {
            args,
            with_hints,
            version,
            with_ordinality,
            partitions,
            json_path,
            sample,
            index_directives,
            ..
        } => {
            args.is_none()
                && with_hints.is_empty()
                && version.is_none()
                && !with_ordinality
                && partitions.is_empty()
                && json_path.is_none()
                && sample.is_none()
                && index_directives.is_empty()
        }
        TableFactor::Derived {
            lateral, sample, ..
        } => !lateral && sample.is_none(),
        _ => false,
    }
}

/// The sort key of a relation: what it reads, then its text.
fn relation_key(f: &TableFactor) -> (String, String) {
    let what = match f {
        TableFactor::Table { name, .. } => name.to_string(),
        TableFactor::Derived { subquery, .. } => subquery.to_string(),
        other => other.to_string(),
    };
    (what, f.to_string())
}

/// A `FROM` of inner joins as sorted relations and one `WHERE`.
fn reorder_joins(sel: &mut Select, cx: &mut Cx) {
    if sel.top.is_some()
        || matches!(sel.distinct, Some(Distinct::On(_)))
        || !sel.lateral_views.is_empty()
        || sel.prewhere.is_some()
        || sel.qualify.is_some()
        || !sel.connect_by.is_empty()
        || sel.projection.iter().any(|i| {
            !matches!(
                i,
                SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
            )
        })
    {
        return;
    }
    let mut rels = Vec::new();
    let mut preds = Vec::new();
    let mut had_joins = false;
    for t in &sel.from {
        if !plain(&t.relation) {
            return;
        }
        rels.push(t.relation.clone());
        for j in &t.joins {
            had_joins = true;
            if j.global || !plain(&j.relation) {
                return;
            }
            match &j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) | JoinOperator::CrossJoin(c) => {
                    match c {
                        JoinConstraint::On(e) => preds.push(e.clone()),
                        JoinConstraint::None => {}
                        _ => return,
                    }
                }
                _ => return,
            }
            rels.push(j.relation.clone());
        }
    }
    if rels.len() < 2 {
        return;
    }
    let before: Vec<String> = rels.iter().map(|r| r.to_string()).collect();
    rels.sort_by_key(relation_key);
    let after: Vec<String> = rels.iter().map(|r| r.to_string()).collect();
    if !had_joins && before == after {
        return;
    }
    cx.fired("joins reordered");
    sel.from = rels
        .into_iter()
        .map(|relation| TableWithJoins {
            relation,
            joins: Vec::new(),
        })
        .collect();
    if let Some(w) = sel.selection.take() {
        preds.push(w);
    }
    sel.selection = preds
        .into_iter()
        .reduce(|a, b| binary(a, BinaryOperator::And, b))
        .map(|e| norm(e, cx))
        .map(|e| filter(e, cx));
}

fn null() -> Expr {
    Expr::value(Value::Null)
}

fn boolean(b: bool) -> Expr {
    Expr::value(Value::Boolean(b))
}

fn is_bool(e: &Expr, b: bool) -> bool {
    matches!(e, Expr::Value(v) if v.value == Value::Boolean(b))
}

/// Parentheses around an operand unless it delimits itself.
fn paren(e: Expr) -> Box<Expr> {
    Box::new(match e {
        Expr::Identifier(_)
        | Expr::CompoundIdentifier(_)
        | Expr::Value(_)
        | Expr::Function(_)
        | Expr::Nested(_)
        | Expr::Subquery(_)
        | Expr::Case { .. }
        | Expr::Cast { .. } => e,
        other => Expr::Nested(Box::new(other)),
    })
}

fn binary(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: paren(left),
        op,
        right: paren(right),
    }
}

fn not(e: Expr) -> Expr {
    Expr::UnaryOp {
        op: UnaryOperator::Not,
        expr: paren(e),
    }
}

/// Whether `e`'s value is always TRUE, FALSE or NULL (so a boolean
/// operator around it can be dropped).
fn is_predicate(e: &Expr) -> bool {
    match e {
        Expr::BinaryOp { op, .. } => matches!(
            op,
            BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq
                | BinaryOperator::And
                | BinaryOperator::Or
        ),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            ..
        }
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::Between { .. }
        | Expr::Exists { .. } => true,
        Expr::In {
            target: InTarget::List(_) | InTarget::Subquery(_),
            ..
        } => true,
        Expr::Value(v) => matches!(v.value, Value::Boolean(_)),
        Expr::Nested(inner) => is_predicate(inner),
        _ => false,
    }
}

/// An expression without calls or subqueries (safe to evaluate twice).
fn is_simple(e: &Expr) -> bool {
    match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_) => true,
        Expr::Nested(x) | Expr::UnaryOp { expr: x, .. } => is_simple(x),
        Expr::BinaryOp { left, op, right } => {
            matches!(
                op,
                BinaryOperator::Plus
                    | BinaryOperator::Minus
                    | BinaryOperator::Multiply
                    | BinaryOperator::Divide
            ) && is_simple(left)
                && is_simple(right)
        }
        _ => false,
    }
}

/// An integer literal (`5`, or `-5` as sqlparser reads it).
fn int_of(e: &Expr) -> Option<i64> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(s, false) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok()
            }
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => int_of(expr)?.checked_neg(),
        Expr::Nested(x) => int_of(x),
        _ => None,
    }
}

fn int(n: i64) -> Expr {
    let lit = Expr::value(Value::Number(n.unsigned_abs().to_string(), false));
    if n < 0 {
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: Box::new(lit),
        }
    } else {
        lit
    }
}

fn flip(op: &BinaryOperator) -> Option<BinaryOperator> {
    Some(match op {
        BinaryOperator::Gt => BinaryOperator::Lt,
        BinaryOperator::GtEq => BinaryOperator::LtEq,
        BinaryOperator::Lt => BinaryOperator::Gt,
        BinaryOperator::LtEq => BinaryOperator::GtEq,
        BinaryOperator::Eq => BinaryOperator::Eq,
        BinaryOperator::NotEq => BinaryOperator::NotEq,
        _ => return None,
    })
}

fn negate(op: &BinaryOperator) -> Option<BinaryOperator> {
    Some(match op {
        BinaryOperator::Gt => BinaryOperator::LtEq,
        BinaryOperator::GtEq => BinaryOperator::Lt,
        BinaryOperator::Lt => BinaryOperator::GtEq,
        BinaryOperator::LtEq => BinaryOperator::Gt,
        BinaryOperator::Eq => BinaryOperator::NotEq,
        BinaryOperator::NotEq => BinaryOperator::Eq,
        _ => return None,
    })
}

/// `e` normalized; the result means what `e` means.
fn norm(e: Expr, cx: &mut Cx) -> Expr {
    match e {
        Expr::Nested(x) => norm(*x, cx),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And | BinaryOperator::Or => {
                let mut items = Vec::new();
                flatten(
                    Expr::BinaryOp {
                        left,
                        op: op.clone(),
                        right,
                    },
                    &op,
                    &mut items,
                    cx,
                );
                junction(items, op, cx)
            }
            _ => {
                let l = norm(*left, cx);
                let r = norm(*right, cx);
                operator(l, op, r, cx)
            }
        },
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => negation(norm(*expr, cx), cx),
        Expr::UnaryOp { op, expr } => Expr::UnaryOp {
            op,
            expr: paren(norm(*expr, cx)),
        },
        Expr::IsNull(x) => Expr::IsNull(paren(norm(*x, cx))),
        Expr::IsNotNull(x) => Expr::IsNotNull(paren(norm(*x, cx))),
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            let x = norm(*expr, cx);
            let (lo, hi) = (norm(*low, cx), norm(*high, cx));
            if is_simple(&x) {
                cx.fired("predicates normalized");
                let e = if negated {
                    binary(
                        binary(x.clone(), BinaryOperator::Lt, lo),
                        BinaryOperator::Or,
                        binary(x, BinaryOperator::Gt, hi),
                    )
                } else {
                    binary(
                        binary(x.clone(), BinaryOperator::GtEq, lo),
                        BinaryOperator::And,
                        binary(x, BinaryOperator::LtEq, hi),
                    )
                };
                norm(e, cx)
            } else {
                Expr::Between {
                    expr: paren(x),
                    negated,
                    low: paren(lo),
                    high: paren(hi),
                }
            }
        }
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated,
            global: false,
        } => {
            let x = norm(*expr, cx);
            let mut items: Vec<Expr> = list.into_iter().map(|i| norm(i, cx)).collect();
            let before: Vec<String> = items.iter().map(|i| i.to_string()).collect();
            items.sort_by_key(|i| i.to_string());
            items.dedup_by_key(|i| i.to_string());
            let after: Vec<String> = items.iter().map(|i| i.to_string()).collect();
            if before != after {
                cx.fired("predicates normalized");
            }
            // `x IN (v)` is `x = v` for a literal `v` (a column `v` would
            // bring its own affinity to `=` in SQLite, not to `IN`).
            if let [Expr::Value(v)] = items.as_slice() {
                cx.fired("predicates normalized");
                let op = if negated {
                    BinaryOperator::NotEq
                } else {
                    BinaryOperator::Eq
                };
                return operator(x, op, Expr::Value(v.clone()), cx);
            }
            Expr::In {
                expr: paren(x),
                target: InTarget::List(items),
                negated,
                global: false,
            }
        }
        Expr::In {
            expr,
            target: InTarget::Subquery(mut q),
            negated,
            global,
        } => {
            norm_query(&mut q, cx);
            Expr::In {
                expr: paren(norm(*expr, cx)),
                target: InTarget::Subquery(q),
                negated,
                global,
            }
        }
        Expr::Exists {
            mut subquery,
            negated,
        } => {
            norm_query(&mut subquery, cx);
            Expr::Exists { subquery, negated }
        }
        Expr::Subquery(mut q) => {
            norm_query(&mut q, cx);
            Expr::Subquery(q)
        }
        Expr::Case {
            case_token,
            end_token,
            operand,
            conditions,
            else_result,
        } => Expr::Case {
            case_token,
            end_token,
            operand: operand.map(|o| Box::new(norm(*o, cx))),
            conditions: conditions
                .into_iter()
                .map(|mut w| {
                    w.condition = norm(w.condition, cx);
                    w.result = norm(w.result, cx);
                    w
                })
                .collect(),
            else_result: else_result.map(|o| Box::new(norm(*o, cx))),
        },
        Expr::Function(mut f) => {
            if let FunctionArguments::List(list) = &mut f.args {
                for a in &mut list.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a {
                        *x = norm(std::mem::replace(x, null()), cx);
                    }
                }
            }
            Expr::Function(f)
        }
        Expr::Cast {
            kind,
            expr,
            data_type,
            format,
        } => Expr::Cast {
            kind,
            expr: paren(norm(*expr, cx)),
            data_type,
            format,
        },
        other => other,
    }
}

/// The operands of nested `op`s (`AND` or `OR`), each normalized.
fn flatten(e: Expr, op: &BinaryOperator, out: &mut Vec<Expr>, cx: &mut Cx) {
    match e {
        Expr::Nested(x) => flatten(*x, op, out, cx),
        Expr::BinaryOp { left, op: o, right } if &o == op => {
            flatten(*left, op, out, cx);
            flatten(*right, op, out, cx);
        }
        other => {
            // A normalized operand may itself be a junction of the same kind
            // (De Morgan); it is flattened too.
            let n = norm(other, cx);
            flatten_normalized(n, op, out);
        }
    }
}

fn flatten_normalized(e: Expr, op: &BinaryOperator, out: &mut Vec<Expr>) {
    match e {
        Expr::Nested(x) => flatten_normalized(*x, op, out),
        Expr::BinaryOp { left, op: o, right } if &o == op => {
            flatten_normalized(*left, op, out);
            flatten_normalized(*right, op, out);
        }
        other => out.push(other),
    }
}

/// `AND` or `OR` of normalized operands.
fn junction(items: Vec<Expr>, op: BinaryOperator, cx: &mut Cx) -> Expr {
    let and = op == BinaryOperator::And;
    let n = items.len();
    let before: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    // `x AND FALSE` is FALSE and `x OR TRUE` is TRUE whatever x is (NULL too).
    if items.iter().any(|i| is_bool(i, !and)) {
        cx.fired("predicates normalized");
        return boolean(!and);
    }
    let mut rest: Vec<Expr> = items.into_iter().filter(|i| !is_bool(i, and)).collect();
    rest.sort_by_key(|i| i.to_string());
    rest.dedup_by_key(|i| i.to_string());
    let after: Vec<String> = rest.iter().map(|i| i.to_string()).collect();
    if after.len() != n {
        cx.fired("predicates normalized");
    } else if before != after {
        cx.fired("operands ordered");
    }
    let rest = match rest.len() {
        0 => return boolean(and),
        1 if is_predicate(&rest[0]) => return rest.pop().unwrap_or_else(null),
        // `5 AND TRUE` is 1, not 5: the operator stays, with its neutral
        // element as the other operand.
        1 => {
            let mut v = vec![rest.pop().unwrap_or_else(null), boolean(and)];
            v.sort_by_key(|i| i.to_string());
            v
        }
        _ => rest,
    };
    rest.into_iter()
        .reduce(|a, b| binary(a, op.clone(), b))
        .unwrap_or_else(null)
}

/// `NOT x` for a normalized `x`.
fn negation(x: Expr, cx: &mut Cx) -> Expr {
    match x {
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } if is_predicate(&expr) => {
            cx.fired("predicates normalized");
            match *expr {
                Expr::Nested(inner) => *inner,
                other => other,
            }
        }
        Expr::BinaryOp { left, op, right }
            if matches!(op, BinaryOperator::And | BinaryOperator::Or) =>
        {
            cx.fired("predicates normalized");
            let dual = if op == BinaryOperator::And {
                BinaryOperator::Or
            } else {
                BinaryOperator::And
            };
            let e = binary(not(unparen(*left)), dual, not(unparen(*right)));
            norm(e, cx)
        }
        Expr::BinaryOp { left, op, right } if negate(&op).is_some() => {
            cx.fired("predicates normalized");
            let op = negate(&op).unwrap_or(op);
            operator(unparen(*left), op, unparen(*right), cx)
        }
        Expr::IsNull(e) => {
            cx.fired("predicates normalized");
            Expr::IsNotNull(e)
        }
        Expr::IsNotNull(e) => {
            cx.fired("predicates normalized");
            Expr::IsNull(e)
        }
        Expr::In {
            expr,
            target: target @ (InTarget::List(_) | InTarget::Subquery(_)),
            negated,
            global,
        } => {
            cx.fired("predicates normalized");
            Expr::In {
                expr,
                target,
                negated: !negated,
                global,
            }
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            cx.fired("predicates normalized");
            Expr::Between {
                expr,
                negated: !negated,
                low,
                high,
            }
        }
        Expr::Exists { subquery, negated } => {
            cx.fired("predicates normalized");
            Expr::Exists {
                subquery,
                negated: !negated,
            }
        }
        Expr::Value(v) if matches!(v.value, Value::Boolean(_)) => {
            cx.fired("constants folded");
            boolean(v.value != Value::Boolean(true))
        }
        other => not(other),
    }
}

fn unparen(e: Expr) -> Expr {
    match e {
        Expr::Nested(x) => unparen(*x),
        other => other,
    }
}

/// A binary operator other than `AND`/`OR` over normalized operands.
fn operator(l: Expr, op: BinaryOperator, r: Expr, cx: &mut Cx) -> Expr {
    let (l, r) = (unparen(l), unparen(r));
    // Literals and results stay within 32 bits: PostgreSQL computes
    // `2147483647 + 1` in `integer` and raises an overflow.
    let small = |v: i64| (-(1i64 << 31)..(1i64 << 31)).contains(&v);
    let fold = |v: Option<i64>| v.filter(|&v| small(v)).map(int);
    if let (Some(a), Some(b)) = (int_of(&l), int_of(&r))
        && small(a)
        && small(b)
    {
        let folded = match op {
            BinaryOperator::Plus => fold(a.checked_add(b)),
            BinaryOperator::Minus => fold(a.checked_sub(b)),
            BinaryOperator::Multiply => fold(a.checked_mul(b)),
            BinaryOperator::Divide if cx.int_division && b != 0 && a.checked_rem(b) == Some(0) => {
                fold(a.checked_div(b))
            }
            BinaryOperator::Eq => Some(boolean(a == b)),
            BinaryOperator::NotEq => Some(boolean(a != b)),
            BinaryOperator::Lt => Some(boolean(a < b)),
            BinaryOperator::LtEq => Some(boolean(a <= b)),
            BinaryOperator::Gt => Some(boolean(a > b)),
            BinaryOperator::GtEq => Some(boolean(a >= b)),
            _ => None,
        };
        if let Some(f) = folded {
            cx.fired("constants folded");
            return f;
        }
    }
    match op {
        BinaryOperator::Gt | BinaryOperator::GtEq => {
            cx.fired("operands ordered");
            let op = flip(&op).unwrap_or(op);
            binary(r, op, l)
        }
        BinaryOperator::Eq | BinaryOperator::NotEq | BinaryOperator::Multiply => {
            commuted(l, op, r, cx)
        }
        BinaryOperator::Plus if cx.plus_commutes => commuted(l, op, r, cx),
        _ => binary(l, op, r),
    }
}

fn commuted(l: Expr, op: BinaryOperator, r: Expr, cx: &mut Cx) -> Expr {
    let (pl, pr) = (paren(l), paren(r));
    if pl.to_string() > pr.to_string() {
        cx.fired("operands ordered");
        Expr::BinaryOp {
            left: pr,
            op,
            right: pl,
        }
    } else {
        Expr::BinaryOp {
            left: pl,
            op,
            right: pr,
        }
    }
}

#[cfg(test)]
mod tests;
