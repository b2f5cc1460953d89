//! Ground truths for `tribunal generate truth` (Segment's question
//! generator, seed 000): reference outputs that exist without the request
//! that would produce them, read from a suite's `expected` values or from a
//! JSONL or CSV file; what kind of truth each is (an audience AST, SQL, other JSON,
//! text); the features it uses, which become the drafts' tags; and the
//! shipped default question-generator template.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::case::Suite;

/// The largest ground-truth file read (256 MiB).
pub const MAX_TRUTH_FILE_BYTES: u64 = 256 << 20;
/// The longest line of a ground-truth JSONL file (1 MiB).
pub const MAX_TRUTH_LINE_BYTES: usize = 1 << 20;
/// The most truths one generation reads.
pub const MAX_TRUTHS: usize = 100_000;

/// The shipped question-generator template (`--template` replaces it).
/// Variables: `truth` (the value), `truth_text` (it as text: SQL as
/// written, JSON compact), `kind` (`audience definition`, `SQL query`,
/// `JSON value`, `text`), `dialect`, `features` (the tags), `id`, `row`
/// (every field of the truth's JSONL row), `sample` (0-based) of `k`, `style` and
/// `persona` (empty unless given).
pub const DEFAULT_TEMPLATE: &str = r#"You are helping to build an evaluation set. Below is a reference {{ kind }} that a system produced from a user's request written in plain language; the request itself was lost. Write the request a real user would have typed to get exactly this {{ kind }}.
{% if style %}
Write it in this style: {{ style }}.
{% endif %}{% if persona %}
Write it as this user would: {{ persona }}.
{% endif %}
{% if k > 1 %}
This is request {{ sample + 1 }} of {{ k }} for this {{ kind }}: phrase it differently from the others.
{% endif %}
Ask for everything the {{ kind }} requires and nothing it does not. Do not copy the {{ kind }}, and do not mention JSON, SQL or field names unless a user would. Answer with the request only: one or two sentences, no quotes, no explanation.

<<BEGIN TRUTH>>
{{ truth_text }}
<<END TRUTH>>
"#;

/// What a truth is, which decides its features and its wording in the
/// template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// A JSON audience AST (docs/audience-ast.md).
    Audience,
    /// A SQL query (text).
    Sql,
    /// Any other JSON.
    Json,
    /// Any other text.
    Text,
}

impl Dialect {
    /// Parses `audience`, `sql`, `json` or `text`.
    pub fn parse(s: &str) -> Option<Dialect> {
        Some(match s {
            "audience" => Dialect::Audience,
            "sql" => Dialect::Sql,
            "json" => Dialect::Json,
            "text" => Dialect::Text,
            _ => return None,
        })
    }

    /// The dialect's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Audience => "audience",
            Dialect::Sql => "sql",
            Dialect::Json => "json",
            Dialect::Text => "text",
        }
    }

    /// How the template names a truth of this dialect.
    pub fn kind(self) -> &'static str {
        match self {
            Dialect::Audience => "audience definition",
            Dialect::Sql => "SQL query",
            Dialect::Json => "JSON value",
            Dialect::Text => "text",
        }
    }

    /// The dialect of a value: an object that parses as an audience AST,
    /// a string that parses as SQL, else JSON or text.
    pub fn detect(v: &Value) -> Dialect {
        match v {
            Value::String(s) if parses_as_sql(s) => Dialect::Sql,
            Value::String(_) => Dialect::Text,
            Value::Object(_) if crate::check::ast::audience::parse(v).is_ok() => Dialect::Audience,
            _ => Dialect::Json,
        }
    }
}

fn parses_as_sql(s: &str) -> bool {
    crate::check::ast::sql::parses_as_query(s)
}

/// `Ok` unless some truth needs the `sql` feature and this build leaves it
/// out: `--dialect sql`, or a truth that starts as a query does (`SELECT`,
/// `WITH`), which only the SQL parser can tell from text. Never guessed.
pub fn sql_available(truths: &[Truth], dialect: Option<Dialect>) -> Result<(), String> {
    let needs = |t: &&Truth| {
        dialect == Some(Dialect::Sql)
            || matches!(&t.value, Value::String(s) if {
                let head = s.trim_start().to_ascii_lowercase();
                head.starts_with("select") || head.starts_with("with")
            })
    };
    match truths.iter().find(needs) {
        Some(t) => crate::check::ast::sql::enabled("a SQL ground truth")
            .map_err(|e| format!("{}: {e}", t.at())),
        None => Ok(()),
    }
}

/// One ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    /// Its id (the suite case's id, the row's id field, or `row-<line>`).
    pub id: String,
    /// The reference output.
    pub value: Value,
    /// Where it is written: the file, as displayed.
    pub file: String,
    /// The 1-based line.
    pub line: u32,
    /// The whole row (for a JSONL truth; the case's fields for a suite's).
    pub row: Map<String, Value>,
}

impl Truth {
    /// `file:line` of the truth, for messages.
    pub fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// The truth as text: a string as written, other JSON compact.
    pub fn text(&self) -> String {
        match &self.value {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        }
    }
}

/// The truths of a suite: every case with an `expected` value.
pub fn from_suite(suite: &Suite) -> Result<Vec<Truth>, String> {
    let truths: Vec<Truth> = suite
        .cases
        .iter()
        .filter_map(|c| {
            let expected = c.expected.clone()?;
            let mut row = Map::new();
            row.insert("id".into(), json!(c.id));
            if let Some(d) = &c.description {
                row.insert("description".into(), json!(d));
            }
            row.insert("expected".into(), expected.clone());
            Some(Truth {
                id: c.id.clone(),
                value: expected,
                file: c.location.file.to_string(),
                line: c.location.line,
                row,
            })
        })
        .collect();
    if truths.is_empty() {
        return Err(format!(
            "{}: no case of suite `{}` has an `expected` value to generate requests for (hint: give cases an `expected:`, or read the truths from a file with `--truths FILE`)",
            suite.file, suite.name
        ));
    }
    Ok(truths)
}

/// The truths of a ground-truth file (`display` is how messages name it):
/// CSV when its name ends in `.csv`, else JSONL. See [`from_jsonl`] and
/// [`from_csv`].
pub fn from_file(
    path: &Path,
    display: &str,
    field: &str,
    id_field: &str,
) -> Result<Vec<Truth>, Vec<String>> {
    let text = crate::fsutil::read_regular(path, MAX_TRUTH_FILE_BYTES)
        .map_err(|e| vec![format!("{display}: cannot read the ground truths: {e}")])?;
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if csv {
        from_csv(&text, display, field, id_field)
    } else {
        from_jsonl(&text, display, field, id_field)
    }
}

/// The truths of JSONL text: one object per line, the truth in `field`,
/// the id in `id_field` when the row has it (else `row-<line>`). Blank
/// lines are skipped; every other problem is an error at `file:line`, all
/// of them reported.
pub fn from_jsonl(
    text: &str,
    display: &str,
    field: &str,
    id_field: &str,
) -> Result<Vec<Truth>, Vec<String>> {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = (i + 1) as u32;
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{display}:{n}");
        if line.len() > MAX_TRUTH_LINE_BYTES {
            errors.push(format!(
                "{at}: the row is {} bytes, more than {MAX_TRUTH_LINE_BYTES} (hint: one JSON object per line)",
                line.len()
            ));
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => rows.push((n, m)),
            Ok(other) => errors.push(format!(
                "{at}: the row is {}, not a JSON object (hint: write {{\"{id_field}\": \"...\", \"{field}\": ...}})",
                crate::text::kind_of(&other)
            )),
            Err(e) => {
                let why = e.to_string();
                let why = why.split(" at line ").next().unwrap_or(&why).to_string();
                errors.push(format!(
                    "{at}:{}: the row is not JSON: {why} (hint: one JSON object per line)",
                    e.column()
                ));
            }
        }
    }
    truths_of(
        rows,
        errors,
        display,
        field,
        id_field,
        "one JSON object per line",
    )
}

/// The truths of CSV text (RFC 4180, a header row naming the columns):
/// the truth in column `field`, the id in column `id_field` when there is
/// one (else `row-<line>`). A cell that holds a JSON object or array (an
/// AST) is read as JSON, any other cell as text (SQL stays as written).
pub fn from_csv(
    text: &str,
    display: &str,
    field: &str,
    id_field: &str,
) -> Result<Vec<Truth>, Vec<String>> {
    let shown: std::sync::Arc<str> = display.into();
    let table =
        crate::import::promptfoo::parse_csv(text, &shown).map_err(|e| vec![e.to_string()])?;
    let mut table = table.into_iter();
    let Some(header) = table.next() else {
        return Err(vec![format!(
            "{display}: the file holds no ground truths (hint: a header row naming the columns, `{id_field}` and `{field}`, then one truth per row)"
        )]);
    };
    let names: Vec<String> = header.iter().map(|c| c.text.trim().to_string()).collect();
    let mut errors = Vec::new();
    if !names.iter().any(|n| n == field) {
        errors.push(format!(
            "{display}:1:1: the header has no column `{field}` (columns: {}) (hint: name the truth's column with `--field`)",
            names.join(", ")
        ));
        return Err(errors);
    }
    let mut rows = Vec::new();
    for cells in table {
        let line = cells.first().map(|c| c.line).unwrap_or(1);
        if cells.len() != names.len() {
            errors.push(format!(
                "{display}:{line}: the row has {} cells, the header {} (hint: quote a cell that holds a comma: \"a, b\")",
                cells.len(),
                names.len()
            ));
            continue;
        }
        let mut row = Map::new();
        let mut bad = false;
        for (name, cell) in names.iter().zip(cells) {
            let t = cell.text.trim();
            let value = if t.starts_with('{') || t.starts_with('[') {
                match serde_json::from_str::<Value>(t) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(format!(
                            "{display}:{}:{}: column `{name}` starts like JSON but is not: {} (hint: write the JSON whole, in one quoted cell with `\"\"` for each quote)",
                            cell.line,
                            cell.col,
                            e.to_string().split(" at line ").next().unwrap_or("")
                        ));
                        bad = true;
                        continue;
                    }
                }
            } else if t.is_empty() {
                Value::Null
            } else {
                Value::String(cell.text.clone())
            };
            row.insert(name.clone(), value);
        }
        if !bad {
            rows.push((line, row));
        }
    }
    truths_of(
        rows,
        errors,
        display,
        field,
        id_field,
        "one truth per row under a header",
    )
}

/// Rows (1-based line, fields) as truths, checking each one's truth and id.
fn truths_of(
    rows: Vec<(u32, Map<String, Value>)>,
    mut errors: Vec<String>,
    display: &str,
    field: &str,
    id_field: &str,
    shape: &str,
) -> Result<Vec<Truth>, Vec<String>> {
    let mut truths = Vec::new();
    let mut ids: std::collections::BTreeMap<String, u32> = Default::default();
    for (n, row) in rows {
        let at = format!("{display}:{n}");
        let value = match row.get(field) {
            None | Some(Value::Null) => {
                errors.push(format!(
                    "{at}: the row has no `{field}` (hint: put the ground truth under `{field}`, or name its field with `--field`)"
                ));
                continue;
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                errors.push(format!(
                    "{at}: the row's `{field}` is empty (hint: give the reference output, or remove the row)"
                ));
                continue;
            }
            Some(v) => v.clone(),
        };
        let id = match row.get(id_field) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(x)) => x.to_string(),
            None | Some(Value::Null) => format!("row-{n}"),
            Some(other) => {
                errors.push(format!(
                    "{at}: the row's `{id_field}` is {}, not a string (hint: give each row a short id such as \"pro-plan\")",
                    crate::text::kind_of(other)
                ));
                continue;
            }
        };
        if !valid_id(&id) {
            errors.push(format!(
                "{at}: the row's id `{}` is not a valid case id (hint: use at most 48 letters, digits, `_`, `-` and `.`, starting with a letter or digit)",
                crate::text::flat(&id, 60)
            ));
            continue;
        }
        if let Some(first) = ids.insert(id.clone(), n) {
            errors.push(format!(
                "{at}: the id `{id}` is also the id of the row at line {first} (hint: ids must be unique)"
            ));
            continue;
        }
        if truths.len() >= MAX_TRUTHS {
            errors.push(format!(
                "{at}: more than {MAX_TRUTHS} ground truths (hint: split the file)"
            ));
            break;
        }
        truths.push(Truth {
            id,
            value,
            file: display.to_string(),
            line: n,
            row,
        });
    }
    if truths.is_empty() && errors.is_empty() {
        errors.push(format!(
            "{display}: the file holds no ground truths (hint: {shape}, the truth under `{field}`)"
        ));
    }
    if errors.is_empty() {
        Ok(truths)
    } else {
        // In file order: `file:LINE…` (a stable sort keeps a line's own order).
        let line_of = |e: &String| -> u32 {
            e.strip_prefix(display)
                .and_then(|r| r.strip_prefix(':'))
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        errors.sort_by_key(line_of);
        Err(errors)
    }
}

/// Whether `id` may name drafts (`<id>-<n>` must stay a valid case id).
pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 48
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The features a truth uses, as tags: for an audience AST its node kinds
/// (`ast:and`, `ast:not`, `ast:count`, `ast:trait`, `ast:within`, ...) and
/// comparison operators (`op:ge`, `op:one_of`, ...); for SQL its clauses
/// (`sql:join`, `sql:where`, `sql:group-by`, `sql:having`, `sql:order-by`,
/// `sql:limit`, `sql:distinct`, `sql:aggregate`, `sql:subquery`,
/// `sql:union`, `sql:with`); for other JSON its top-level fields
/// (`field:NAME`); none for text. Sorted.
pub fn features(value: &Value, dialect: Dialect) -> Vec<String> {
    let mut out = BTreeSet::new();
    match dialect {
        Dialect::Audience => audience_features(value, &mut out),
        Dialect::Sql => {
            if let Value::String(s) = value {
                crate::check::ast::sql::clause_features(s, &mut out);
            }
        }
        Dialect::Json => {
            if let Value::Object(m) = value {
                for k in m.keys().take(20) {
                    out.insert(format!("field:{k}"));
                }
            }
        }
        Dialect::Text => {}
    }
    out.into_iter().collect()
}

fn audience_features(v: &Value, out: &mut BTreeSet<String>) {
    const NODES: &[&str] = &[
        "and", "or", "not", "const", "trait", "count", "sum", "avg", "min", "max", "property",
        "within", "between", "where",
    ];
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if NODES.contains(&k.as_str()) {
                    out.insert(format!("ast:{k}"));
                }
                if k == "cmp"
                    && let Some(op) = child.as_str()
                {
                    let name = match op {
                        "=" => "eq",
                        "!=" => "ne",
                        ">" => "gt",
                        ">=" => "ge",
                        "<" => "lt",
                        "<=" => "le",
                        other => other,
                    };
                    out.insert(format!("op:{name}"));
                }
                if k != "value" {
                    audience_features(child, out);
                }
            }
        }
        Value::Array(items) => {
            for i in items {
                audience_features(i, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_truths_read_json_cells_as_json_and_sql_as_text() {
        let csv = concat!(
            "id,expected,note\n",
            "count,SELECT COUNT(*) FROM customers,from the BI tool\n",
            "\"pro\",\"{\"\"cmp\"\": \"\"=\"\", \"\"value\"\": \"\"pro\"\", \"\"term\"\": {\"\"trait\"\": \"\"plan\"\"}}\",\n",
            "\n",
            ",\"SELECT 1,\n  2\",multi-line\n",
        );
        let truths = from_csv(csv, "t.csv", "expected", "id").unwrap();
        let shown: Vec<String> = truths
            .iter()
            .map(|t| {
                format!(
                    "{} {} {} {}",
                    t.at(),
                    t.id,
                    t.value,
                    Value::Object(t.row.clone())
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                r#"t.csv:2 count "SELECT COUNT(*) FROM customers" {"id":"count","expected":"SELECT COUNT(*) FROM customers","note":"from the BI tool"}"#,
                r#"t.csv:3 pro {"cmp":"=","value":"pro","term":{"trait":"plan"}} {"id":"pro","expected":{"cmp":"=","value":"pro","term":{"trait":"plan"}},"note":null}"#,
                r#"t.csv:5 row-5 "SELECT 1,\n  2" {"id":null,"expected":"SELECT 1,\n  2","note":"multi-line"}"#,
            ]
        );
        let bad = "id,expected\na,\"{not json\"\nb\nc,SELECT 1,extra\n";
        assert_eq!(
            from_csv(bad, "t.csv", "expected", "id").unwrap_err(),
            [
                "t.csv:2:3: column `expected` starts like JSON but is not: key must be a string (hint: write the JSON whole, in one quoted cell with `\"\"` for each quote)",
                "t.csv:3: the row has 1 cells, the header 2 (hint: quote a cell that holds a comma: \"a, b\")",
                "t.csv:4: the row has 3 cells, the header 2 (hint: quote a cell that holds a comma: \"a, b\")",
            ]
        );
        assert_eq!(
            from_csv("id,sql\na,SELECT 1\n", "t.csv", "expected", "id").unwrap_err(),
            [
                "t.csv:1:1: the header has no column `expected` (columns: id, sql) (hint: name the truth's column with `--field`)"
            ]
        );
    }

    #[test]
    fn audience_features_are_node_kinds_and_operators() {
        let ast = json!({"and": [
            {"cmp": ">=", "value": 1, "term": {"count": {"event": "Order Completed", "within": {"days": 30}}}},
            {"not": {"cmp": "one_of", "value": ["free", "trial"], "term": {"trait": "plan"}}}
        ]});
        assert_eq!(Dialect::detect(&ast), Dialect::Audience);
        assert_eq!(
            features(&ast, Dialect::Audience),
            [
                "ast:and",
                "ast:count",
                "ast:not",
                "ast:trait",
                "ast:within",
                "op:ge",
                "op:one_of"
            ]
        );
    }

    #[cfg(feature = "sql")]
    #[test]
    fn sql_features_are_clauses_and_ignore_strings() {
        let sql = "SELECT c.name, COUNT(*) FROM customers c JOIN orders o ON o.cid = c.id WHERE c.country = 'group by' GROUP BY c.name HAVING COUNT(*) > (SELECT 1) ORDER BY 2 DESC LIMIT 3";
        let v = json!(sql);
        assert_eq!(Dialect::detect(&v), Dialect::Sql);
        assert_eq!(
            features(&v, Dialect::Sql),
            [
                "sql:aggregate",
                "sql:group-by",
                "sql:having",
                "sql:join",
                "sql:limit",
                "sql:order-by",
                "sql:subquery",
                "sql:where"
            ]
        );
        assert_eq!(
            Dialect::detect(&json!("users on the pro plan")),
            Dialect::Text
        );
        assert_eq!(
            features(&json!({"b": 1, "a": 2}), Dialect::Json),
            ["field:a", "field:b"]
        );
    }

    #[test]
    fn sql_truths_need_the_sql_feature() {
        let truth = |v: Value| Truth {
            id: "q1".into(),
            value: v,
            file: "truths.jsonl".into(),
            line: 3,
            row: Map::new(),
        };
        let sql = [truth(json!("  select name from users"))];
        let text = [truth(json!("users on the pro plan"))];
        assert_eq!(sql_available(&text, None), Ok(()));
        if cfg!(feature = "sql") {
            assert_eq!(sql_available(&sql, None), Ok(()));
            assert_eq!(sql_available(&text, Some(Dialect::Sql)), Ok(()));
        } else {
            let e = sql_available(&sql, None).expect_err("no sql feature");
            assert!(
                e.starts_with("truths.jsonl:3: a SQL ground truth needs"),
                "{e}"
            );
            assert!(sql_available(&text, Some(Dialect::Sql)).is_err());
        }
    }
}
