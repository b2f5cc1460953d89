//! Cases from data files: a suite's `cases_from:` reads rows of a JSONL,
//! CSV or JSON-array file and maps fields (JSON) or columns (CSV) onto the
//! parts of a case: `id`, `input` (one field, or a map of variables from
//! several), `vars`, `expected`, `output`, `tags` and `description`. The
//! loader (`resolve.rs`) gives each row the suite's defaults.
//!
//! Every row is parsed on its own: a row that cannot become a case is a
//! [`RowProblem`] at its `file:line:col`, and only that row's trial fails.
//! What stops the whole file (unreadable, too large, a CSV header without
//! a mapped column, a JSON array that is not closed) is a [`FileProblem`].
//!
//! A row without an id gets `row-` and the first 12 hex digits of the
//! SHA-256 of its content: the compact JSON of the object with the keys
//! `expected`, `input`, `output` and `vars` that the row has, every key of
//! every object sorted (see [`content_id`]). The line a row is on is not
//! hashed, so ids stay the same when rows are reordered.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Largest data file `cases_from:` reads, in bytes (64 MiB).
pub const MAX_DATA_FILE_BYTES: u64 = 64 << 20;

/// Longest row (a JSONL line, a CSV record, an element of a JSON array),
/// in bytes (1 MiB); any one field is within it.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// Most rows one data file may hold (as many trials as one suite may run).
pub const MAX_ROWS: usize = super::MAX_TRIALS;

/// `cases_from:` as written: the file and how its fields map onto a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Mapping {
    /// The data file, relative to the suite file.
    pub(crate) file: String,
    /// `jsonl`, `csv` or `json`; by default from the file's extension.
    #[serde(default)]
    pub(crate) format: Option<Format>,
    /// The field holding the case id (default `id`, when the rows have it).
    #[serde(default)]
    pub(crate) id: Option<String>,
    /// The field holding the input (default `input`), or a map from
    /// variable names to fields.
    #[serde(default)]
    pub(crate) input: Option<Value>,
    /// Fields kept as variables: a list (the field name is the variable
    /// name) or a map from variable names to fields.
    #[serde(default)]
    pub(crate) vars: Option<Value>,
    /// The field holding the expected value (default `expected`).
    #[serde(default)]
    pub(crate) expected: Option<String>,
    /// The field holding a fixed output, checked instead of calling the
    /// target (no default).
    #[serde(default)]
    pub(crate) output: Option<String>,
    /// The field holding the tags (default `tags`): a list, or a string of
    /// `;`-separated tags.
    #[serde(default)]
    pub(crate) tags: Option<String>,
    /// The field holding the description (default `description`).
    #[serde(default)]
    pub(crate) description: Option<String>,
}

/// A data file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// RFC 4180 comma-separated values with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
}

/// One row, mapped onto a case.
#[derive(Debug, Clone)]
pub(crate) struct RowCase {
    /// 1-based line the row starts on.
    pub(crate) line: u32,
    /// 1-based column the row starts at.
    pub(crate) col: u32,
    /// The id: from the id field, else [`content_id`].
    pub(crate) id: String,
    /// Where the id is written, when it came from a field.
    pub(crate) id_at: Option<(u32, u32)>,
    pub(crate) input: Value,
    pub(crate) vars: Map<String, Value>,
    pub(crate) expected: Option<Value>,
    pub(crate) output: Option<Value>,
    pub(crate) tags: Vec<String>,
    pub(crate) description: Option<String>,
}

/// A row that cannot become a case.
#[derive(Debug, Clone)]
pub(crate) struct RowProblem {
    /// 1-based line the row starts on (names its trial).
    pub(crate) row_line: u32,
    pub(crate) line: u32,
    pub(crate) col: u32,
    pub(crate) message: String,
    pub(crate) hint: String,
}

/// What stops the whole data file: `at` is a position in the data file,
/// or `None` for a problem with the `cases_from:` block itself.
#[derive(Debug, Clone)]
pub(crate) struct FileProblem {
    pub(crate) at: Option<(u32, u32)>,
    /// The mapping key the problem is about, when it is one (`input`).
    pub(crate) key: Option<&'static str>,
    pub(crate) message: String,
    pub(crate) hint: String,
}

impl FileProblem {
    fn spec(key: Option<&'static str>, message: String, hint: impl Into<String>) -> FileProblem {
        FileProblem {
            at: None,
            key,
            message,
            hint: hint.into(),
        }
    }

    fn data(line: u32, col: u32, message: String, hint: impl Into<String>) -> FileProblem {
        FileProblem {
            at: Some((line, col)),
            key: None,
            message,
            hint: hint.into(),
        }
    }
}

/// A data file read: its path, as displayed, and its rows in file order.
#[derive(Debug)]
pub(crate) struct Rows {
    pub(crate) display: String,
    pub(crate) rows: Vec<Result<RowCase, RowProblem>>,
}

/// Where the data file of `mapping` is: relative to the suite's folder
/// `dir`, and inside `project` (after following links); `display` is the
/// path shown in messages, relative to the project.
pub(crate) fn locate(
    mapping: &Mapping,
    dir: &Path,
    project: &Path,
) -> Result<(PathBuf, String), FileProblem> {
    let file = Path::new(&mapping.file);
    let path = dir.join(file);
    let canonical = std::fs::canonicalize(&path).map_err(|e| {
        FileProblem::spec(
            Some("file"),
            format!("cannot read `{}`: {e}", mapping.file),
            "the path is relative to the suite file's folder",
        )
    })?;
    let inside = std::fs::canonicalize(project)
        .map(|root| (canonical.starts_with(&root), root))
        .ok();
    match inside {
        Some((true, root)) => {
            let display = super::display_path(&root, &canonical);
            Ok((canonical, display))
        }
        _ => Err(FileProblem::spec(
            Some("file"),
            format!("`{}` is outside the project", mapping.file),
            "keep data files inside the project, such as in evals/data/",
        )),
    }
}

/// The format of `mapping`'s file: `format:`, else from the extension.
pub(crate) fn format_of(mapping: &Mapping) -> Result<Format, FileProblem> {
    if let Some(f) = mapping.format {
        return Ok(f);
    }
    let ext = Path::new(&mapping.file)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("jsonl" | "ndjson") => Ok(Format::Jsonl),
        Some("csv") => Ok(Format::Csv),
        Some("json") => Ok(Format::Json),
        _ => Err(FileProblem::spec(
            Some("file"),
            format!(
                "cannot tell the format of `{}` from its extension",
                mapping.file
            ),
            "name it .jsonl, .csv or .json, or add `format: jsonl` (or csv, json)",
        )),
    }
}

/// Reads the rows of the data file at `path` (found by [`locate`]).
pub(crate) fn read(mapping: &Mapping, path: &Path, display: String) -> Result<Rows, FileProblem> {
    let text = read_text(path, &mapping.file)?;
    rows_of_text(mapping, &text, display)
}

/// The rows of a data file's text, as [`read`] maps them.
pub(crate) fn rows_of_text(
    mapping: &Mapping,
    text: &str,
    display: String,
) -> Result<Rows, FileProblem> {
    let plan = Plan::new(mapping)?;
    let format = format_of(mapping)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let named = plan.named_fields();
    let mut each = |r: &dyn RowSource| map_row(&plan, r);
    let rows = read_format(format, text, &named, &mut each)?;
    if rows.is_empty() {
        return Err(FileProblem::data(
            1,
            1,
            "the data file holds no rows".into(),
            "add rows, or remove `cases_from:` (a suite without cases is an error, not a pass)",
        ));
    }
    Ok(Rows { display, rows })
}

fn read_format<T>(format: Format, text: &str, named: &[&str], each: Each<'_, T>) -> Read<T> {
    match format {
        Format::Jsonl => jsonl_rows(text, each),
        Format::Json => json_rows(text, each),
        Format::Csv => csv_rows(text, named, each),
    }
}

/// One row of a data file kept whole: its fields (a CSV row's as strings)
/// and the line it starts on.
#[derive(Debug, Clone)]
pub(crate) struct PlainRow {
    pub(crate) line: u32,
    pub(crate) fields: Map<String, Value>,
}

impl PlainRow {
    /// The value at `field`: the key itself, else a dotted path into
    /// objects and lists (`meta.lang`, `turns.0`).
    pub(crate) fn get(&self, field: &str) -> Option<&Value> {
        if let Some(v) = self.fields.get(field) {
            return Some(v);
        }
        let mut segs = field.split('.');
        let mut cur = self.fields.get(segs.next()?)?;
        for seg in segs {
            cur = match cur {
                Value::Object(m) => m.get(seg)?,
                Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

/// Every row of a data file's text, kept whole (for `tribunal generate
/// logs`); a CSV header must have the columns `named`. Bounded as
/// `cases_from:` files are.
pub(crate) fn plain_rows(format: Format, text: &str, named: &[&str]) -> Read<PlainRow> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut each = |r: &dyn RowSource| {
        Ok(PlainRow {
            line: r.start().0,
            fields: r.fields(),
        })
    };
    read_format(format, text, named, &mut each)
}

pub(crate) fn read_text(path: &Path, written: &str) -> Result<String, FileProblem> {
    use crate::fsutil::ReadError;
    let bytes = crate::fsutil::read_regular_bytes(path, MAX_DATA_FILE_BYTES).map_err(|e| {
        let (message, hint) = match e {
            ReadError::Io(e) => (format!("cannot read `{written}`: {e}"), "check the path"),
            ReadError::NotRegular(kind) => (
                format!("`{written}` is not a regular file ({kind})"),
                "point `file:` at a plain file",
            ),
            ReadError::TooLarge(max) => (
                format!("`{written}` is larger than {} MiB", max >> 20),
                "split the rows over several suites",
            ),
        };
        FileProblem::spec(Some("file"), message, hint)
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, col) = position(&e.as_bytes()[..e.utf8_error().valid_up_to()]);
        FileProblem::data(
            line,
            col,
            "the data file is not valid UTF-8".into(),
            "save it as UTF-8",
        )
    })
}

/// The 1-based line and column just after `before`.
fn position(before: &[u8]) -> (u32, u32) {
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (to_u32(line), to_u32(col))
}

/// A 1-based (line, column) in the data file.
type Pos = (u32, u32);

/// A problem of the JSON array as a whole: byte offset, message, hint.
type ArrayProblem = (usize, String, &'static str);

/// A CSV record as read: its line, length in bytes and fields.
type Record = (u32, usize, Vec<Field>);

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Which field makes which part of a case.
#[derive(Debug)]
struct Plan {
    id: Part,
    input: InputPlan,
    vars: Vec<(String, String)>,
    expected: Part,
    output: Option<String>,
    tags: Part,
    description: Part,
}

/// A field named in the mapping (it must be there) or the default one
/// (used when it is there).
#[derive(Debug)]
enum Part {
    Named(String),
    Default(&'static str),
}

impl Part {
    fn new(named: Option<&String>, default: &'static str) -> Part {
        named.map_or(Part::Default(default), |n| Part::Named(n.clone()))
    }

    fn name(&self) -> &str {
        match self {
            Part::Named(n) => n,
            Part::Default(d) => d,
        }
    }

    fn required(&self) -> bool {
        matches!(self, Part::Named(_))
    }
}

#[derive(Debug)]
enum InputPlan {
    /// One field (`input: question`, default `input`).
    Field(Part),
    /// A map of variables, each from a field.
    Vars(Vec<(String, String)>),
}

impl Plan {
    fn new(m: &Mapping) -> Result<Plan, FileProblem> {
        let input = match &m.input {
            None => InputPlan::Field(Part::Default("input")),
            Some(Value::String(s)) => InputPlan::Field(Part::Named(s.clone())),
            Some(Value::Object(map)) if !map.is_empty() => {
                InputPlan::Vars(field_map(map, "input")?)
            }
            Some(_) => {
                return Err(FileProblem::spec(
                    Some("input"),
                    "`input` must name a field, or map variable names to fields".into(),
                    "write `input: question`, or `input: {question: q, locale: lang}`",
                ));
            }
        };
        let vars = match &m.vars {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok((s.clone(), s.clone())),
                    _ => Err(FileProblem::spec(
                        Some("vars"),
                        "`vars` lists field names, which are strings".into(),
                        "write `vars: [locale, plan]`",
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(Value::Object(map)) => field_map(map, "vars")?,
            Some(_) => {
                return Err(FileProblem::spec(
                    Some("vars"),
                    "`vars` must list fields, or map variable names to fields".into(),
                    "write `vars: [locale]`, or `vars: {locale: lang}`",
                ));
            }
        };
        Ok(Plan {
            id: Part::new(m.id.as_ref(), "id"),
            input,
            vars,
            expected: Part::new(m.expected.as_ref(), "expected"),
            output: m.output.clone(),
            tags: Part::new(m.tags.as_ref(), "tags"),
            description: Part::new(m.description.as_ref(), "description"),
        })
    }

    /// Every field the mapping names: a CSV header must have them all.
    fn named_fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for p in [&self.id, &self.expected, &self.tags, &self.description] {
            if p.required() {
                out.push(p.name());
            }
        }
        match &self.input {
            InputPlan::Field(p) => out.push(p.name()),
            InputPlan::Vars(v) => out.extend(v.iter().map(|(_, f)| f.as_str())),
        }
        out.extend(self.vars.iter().map(|(_, f)| f.as_str()));
        out.extend(self.output.as_deref());
        out
    }
}

fn field_map(
    map: &Map<String, Value>,
    key: &'static str,
) -> Result<Vec<(String, String)>, FileProblem> {
    map.iter()
        .map(|(var, field)| match field {
            Value::String(f) => Ok((var.clone(), f.clone())),
            _ => Err(FileProblem::spec(
                Some(key),
                format!("`{key}.{var}` must name a field"),
                format!("write `{key}: {{{var}: column_name}}`"),
            )),
        })
        .collect()
}

/// One row as read, before mapping: a JSON object or a CSV record.
trait RowSource {
    /// The value of `field`, and where it is written (line, column).
    fn get(&self, field: &str) -> Option<(Value, (u32, u32))>;
    /// Where the row starts.
    fn start(&self) -> (u32, u32);
    /// How to say "field" in this format (`field`, `column`).
    fn noun(&self) -> &'static str;
    /// Every field of the row.
    fn fields(&self) -> Map<String, Value>;
}

/// Maps one row onto a case.
fn map_row(plan: &Plan, row: &dyn RowSource) -> Result<RowCase, RowProblem> {
    let (line, col) = row.start();
    let fail = |at: (u32, u32), message: String, hint: String| RowProblem {
        row_line: line,
        line: at.0,
        col: at.1,
        message,
        hint,
    };
    let noun = row.noun();
    let missing = |field: &str| {
        fail(
            (line, col),
            format!("the row has no {noun} `{field}`"),
            format!("add `{field}` to the row, or map another {noun} in `cases_from:`"),
        )
    };
    let empty = |field: &str, at: (u32, u32)| {
        fail(
            at,
            format!("{noun} `{field}` is empty"),
            format!("give the row a value for `{field}`"),
        )
    };
    // A JSON `null`, or an empty CSV cell, is no value: an optional part
    // (expected, tags, …) is absent, a mapped one is an error.
    let blank = |v: &Value| match v {
        Value::Null => true,
        Value::String(s) => noun == "column" && s.is_empty(),
        _ => false,
    };
    // An optional part (expected, tags, description) may be absent from a
    // row, even when the mapping names its field; an id named in the
    // mapping may not (the row would silently get a content id).
    let get = |part: &Part| -> Result<Option<(Value, Pos)>, RowProblem> {
        let id = std::ptr::eq(part, &plan.id);
        match row.get(part.name()) {
            None if id && part.required() => Err(missing(part.name())),
            Some((v, at)) if blank(&v) && id && part.required() => Err(empty(part.name(), at)),
            Some((v, _)) if blank(&v) => Ok(None),
            None => Ok(None),
            Some(found) => Ok(Some(found)),
        }
    };
    let value_of = |field: &str| -> Result<(Value, (u32, u32)), RowProblem> {
        match row.get(field) {
            None => Err(missing(field)),
            Some((v, at)) if blank(&v) => Err(empty(field, at)),
            Some(found) => Ok(found),
        }
    };
    let text = |part: &Part, what: &str| -> Result<Option<(String, Pos)>, RowProblem> {
        match get(part)? {
            None => Ok(None),
            Some((Value::String(s), at)) => Ok(Some((s, at))),
            Some((Value::Number(n), at)) if what == "id" => Ok(Some((n.to_string(), at))),
            Some((other, at)) => Err(fail(
                at,
                format!(
                    "{noun} `{}` must be a string ({what}), not {}",
                    part.name(),
                    crate::text::kind_of(&other)
                ),
                format!("write the {what} as a string"),
            )),
        }
    };
    let input = match &plan.input {
        InputPlan::Field(p) => {
            let (v, at) = value_of(p.name())?;
            input_value(v, p.name(), noun).map_err(|(m, h)| fail(at, m, h))?
        }
        InputPlan::Vars(fields) => {
            let mut map = Map::new();
            for (var, field) in fields {
                match row.get(field) {
                    None => return Err(missing(field)),
                    Some((v, _)) => {
                        map.insert(var.clone(), v);
                    }
                }
            }
            Value::Object(map)
        }
    };
    let mut vars = Map::new();
    for (var, field) in &plan.vars {
        match row.get(field) {
            None => return Err(missing(field)),
            Some((v, _)) => {
                vars.insert(var.clone(), v);
            }
        }
    }
    let expected = get(&plan.expected)?.map(|(v, _)| v);
    let output = match &plan.output {
        Some(f) => Some(value_of(f)?.0),
        None => None,
    };
    let tags = match get(&plan.tags)? {
        None => Vec::new(),
        Some((Value::String(s), _)) => split_tags(&s),
        Some((Value::Array(items), at)) => {
            let mut tags = Vec::new();
            for t in items {
                match t {
                    Value::String(s) if !s.trim().is_empty() => tags.push(s.trim().to_string()),
                    Value::String(_) => {}
                    other => {
                        return Err(fail(
                            at,
                            format!(
                                "{noun} `{}` lists {}, but tags are strings",
                                plan.tags.name(),
                                crate::text::kind_of(&other)
                            ),
                            "write tags as a list of strings, or one string of `;`-separated tags"
                                .into(),
                        ));
                    }
                }
            }
            tags
        }
        Some((other, at)) => {
            return Err(fail(
                at,
                format!(
                    "{noun} `{}` must be a list of tags or a `;`-separated string, not {}",
                    plan.tags.name(),
                    crate::text::kind_of(&other)
                ),
                "write `[\"a\", \"b\"]` or `a;b`".into(),
            ));
        }
    };
    let description = text(&plan.description, "description")?.map(|(s, _)| s);
    let (id, id_at) = match text(&plan.id, "id")? {
        Some((id, at)) => {
            if let Some((message, hint)) = super::id_problem("case id", &id) {
                return Err(fail(
                    at,
                    format!("{noun} `{}`: {message}", plan.id.name()),
                    hint,
                ));
            }
            (id, Some(at))
        }
        None => (
            content_id(&input, expected.as_ref(), output.as_ref(), &vars),
            None,
        ),
    };
    Ok(RowCase {
        line,
        col,
        id,
        id_at,
        input,
        vars,
        expected,
        output,
        tags,
        description,
    })
}

/// A row's input: a string, a map of variables, or a list of messages.
fn input_value(v: Value, field: &str, noun: &str) -> Result<Value, (String, String)> {
    match v {
        Value::String(_) | Value::Object(_) => Ok(v),
        Value::Array(_) if crate::chat::is_conversation(&v) => Ok(v),
        other => Err((
            format!(
                "{noun} `{field}` (the input) must be a string, a map of variables or a list of messages, not {}",
                crate::text::kind_of(&other)
            ),
            "write the input as a string, or map it as a variable: `input: {n: field}`".into(),
        )),
    }
}

/// `a; b;;c` → `[a, b, c]`.
fn split_tags(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// The id of a row without one: `row-` and the first 12 hex digits of the
/// SHA-256 of the canonical JSON (compact, every object's keys sorted) of
/// `{"expected": …, "input": …, "output": …, "vars": …}`, holding only the
/// parts the row has (`vars` only when it maps any). Tags, description
/// and the row's position are not hashed.
pub(crate) fn content_id(
    input: &Value,
    expected: Option<&Value>,
    output: Option<&Value>,
    vars: &Map<String, Value>,
) -> String {
    let mut parts = Map::new();
    if let Some(e) = expected {
        parts.insert("expected".into(), e.clone());
    }
    parts.insert("input".into(), input.clone());
    if let Some(o) = output {
        parts.insert("output".into(), o.clone());
    }
    if !vars.is_empty() {
        parts.insert("vars".into(), Value::Object(vars.clone()));
    }
    let mut text = String::new();
    canonical(&Value::Object(parts), &mut text);
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("row-{hex}")
}

/// Compact JSON with every object's keys sorted.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                canonical(&map[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

// ---- JSON rows ----------------------------------------------------------

/// A JSON object row, with its text to find where fields are written.
struct JsonRow<'a> {
    object: Map<String, Value>,
    /// The row's text and where it starts in the file.
    text: &'a str,
    line: u32,
    col: u32,
}

impl RowSource for JsonRow<'_> {
    fn get(&self, field: &str) -> Option<(Value, (u32, u32))> {
        let value = match self.object.get(field) {
            Some(v) => v.clone(),
            None => {
                // A dotted path descends into objects (and list indices).
                let mut cur: &Value = self.object.get(field.split('.').next()?)?;
                for seg in field.split('.').skip(1) {
                    cur = match cur {
                        Value::Object(m) => m.get(seg)?,
                        Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                        _ => return None,
                    };
                }
                cur.clone()
            }
        };
        let key = field.split('.').next().unwrap_or(field);
        Some((value, self.key_position(key)))
    }

    fn start(&self) -> (u32, u32) {
        (self.line, self.col)
    }

    fn noun(&self) -> &'static str {
        "field"
    }

    fn fields(&self) -> Map<String, Value> {
        self.object.clone()
    }
}

impl JsonRow<'_> {
    /// Where `"key"` is first written in the row (the row's start if not
    /// found).
    fn key_position(&self, key: &str) -> (u32, u32) {
        let quoted = Value::String(key.into()).to_string();
        let Some(at) = self.text.find(&quoted) else {
            return (self.line, self.col);
        };
        let before = &self.text[..at];
        match before.rfind('\n') {
            None => (self.line, self.col + to_u32(before.chars().count())),
            Some(nl) => (
                self.line + to_u32(before.matches('\n').count()),
                to_u32(before[nl + 1..].chars().count() + 1),
            ),
        }
    }
}

/// One JSON object parsed from `text` (a row starting at `line:col`), or
/// the problem, positioned in the file.
fn json_object(text: &str, line: u32, col: u32) -> Result<Map<String, Value>, RowProblem> {
    let fail = |l: u32, c: u32, message: String, hint: &str| RowProblem {
        row_line: line,
        line: l,
        col: c,
        message,
        hint: hint.into(),
    };
    if text.len() > MAX_ROW_BYTES {
        return Err(fail(
            line,
            col,
            format!(
                "the row is {} bytes long, more than the {} MiB a row may be",
                text.len(),
                MAX_ROW_BYTES >> 20
            ),
            "shorten the row, or keep large values in files the target reads",
        ));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(fail(
            line,
            col,
            format!(
                "the row is {}, not a JSON object",
                crate::text::kind_of(&other)
            ),
            "each row is an object such as {\"id\": \"a\", \"input\": \"…\"}",
        )),
        Err(e) => {
            let (l, c) = if e.line() <= 1 {
                (line, col + to_u32(e.column().saturating_sub(1)))
            } else {
                (line + to_u32(e.line() - 1), to_u32(e.column()))
            };
            let message = e.to_string();
            let message = message
                .rfind(" at line ")
                .map_or(message.as_str(), |i| &message[..i]);
            Err(fail(
                l,
                c.max(1),
                format!("the row is not valid JSON: {message}"),
                "fix the JSON of this row; the other rows are read on their own",
            ))
        }
    }
}

fn too_many_rows(line: u32) -> FileProblem {
    FileProblem::data(
        line,
        1,
        format!("the data file holds more than {MAX_ROWS} rows"),
        "split the rows over several suites",
    )
}

/// What is done with each row as read (mapped onto a case, or kept whole).
type Each<'e, T> = &'e mut dyn FnMut(&dyn RowSource) -> Result<T, RowProblem>;

/// Rows, each read or with its problem; or what stops the file.
type Read<T> = Result<Vec<Result<T, RowProblem>>, FileProblem>;

fn jsonl_rows<T>(text: &str, each: Each<'_, T>) -> Read<T> {
    let mut rows = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line_text = raw.strip_suffix('\r').unwrap_or(raw);
        if line_text.trim().is_empty() {
            continue;
        }
        let line = to_u32(i + 1);
        if rows.len() == MAX_ROWS {
            return Err(too_many_rows(line));
        }
        let row = json_object(line_text, line, 1).and_then(|object| {
            each(&JsonRow {
                object,
                text: line_text,
                line,
                col: 1,
            })
        });
        rows.push(row);
    }
    Ok(rows)
}

/// Line starts of `text`, to turn byte offsets into lines and columns.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    fn at(&self, offset: usize) -> (u32, u32) {
        let line = self.starts.partition_point(|s| *s <= offset) - 1;
        let col = self.text[self.starts[line]..offset].chars().count() + 1;
        (to_u32(line + 1), to_u32(col))
    }
}

fn json_rows<T>(text: &str, each: Each<'_, T>) -> Read<T> {
    let lines = Lines::new(text);
    let spans = array_elements(text).map_err(|(offset, message, hint)| {
        let (l, c) = lines.at(offset);
        FileProblem::data(l, c, message, hint)
    })?;
    if spans.len() > MAX_ROWS {
        let (l, _) = lines.at(spans[MAX_ROWS].0);
        return Err(too_many_rows(l));
    }
    Ok(spans
        .into_iter()
        .map(|(start, end)| {
            let (line, col) = lines.at(start);
            let slice = &text[start..end];
            json_object(slice, line, col).and_then(|object| {
                each(&JsonRow {
                    object,
                    text: slice,
                    line,
                    col,
                })
            })
        })
        .collect())
}

/// The byte ranges of the elements of the top-level JSON array in `text`
/// (each trimmed), found by tracking strings and brackets only, so that an
/// element with a syntax error is still one element of its own.
fn array_elements(text: &str) -> Result<Vec<(usize, usize)>, ArrayProblem> {
    let bytes = text.as_bytes();
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let open = skip_ws(0);
    if bytes.get(open) != Some(&b'[') {
        return Err((
            open,
            "a `.json` data file must hold one JSON array of rows".into(),
            "write `[{\"input\": \"…\"}, …]`, or use JSON Lines (`format: jsonl`)",
        ));
    }
    let mut out = Vec::new();
    let mut i = open + 1;
    let mut start = skip_ws(i);
    if bytes.get(start) == Some(&b']') {
        return finish(bytes, start + 1, out);
    }
    let (mut depth, mut in_string) = (0usize, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' if depth > 0 => depth -= 1,
                b']' | b',' if depth == 0 => {
                    out.push((start, trim_end(bytes, start, i)));
                    if b == b']' {
                        return finish(bytes, i + 1, out);
                    }
                    start = skip_ws(i + 1);
                }
                _ => {}
            }
        }
        i += 1;
    }
    Err((
        open,
        "the JSON array that starts here is not closed".into(),
        "end the file with `]`",
    ))
}

fn trim_end(bytes: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && bytes[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    end
}

fn finish(
    bytes: &[u8],
    after: usize,
    out: Vec<(usize, usize)>,
) -> Result<Vec<(usize, usize)>, ArrayProblem> {
    let rest = (after..bytes.len()).find(|i| !bytes[*i].is_ascii_whitespace());
    match rest {
        Some(at) => Err((
            at,
            "text after the end of the JSON array".into(),
            "a `.json` data file holds one array; remove what follows it",
        )),
        None => Ok(out),
    }
}

// ---- CSV rows -------------------------------------------------------------

/// One CSV field: its text and where it starts.
#[derive(Debug)]
struct Field {
    text: String,
    line: u32,
    col: u32,
}

/// A CSV record, with the header it is read under.
struct CsvRow<'a> {
    header: &'a [String],
    fields: Vec<Field>,
    line: u32,
}

impl RowSource for CsvRow<'_> {
    fn get(&self, field: &str) -> Option<(Value, (u32, u32))> {
        let i = self.header.iter().position(|h| h == field)?;
        let f = &self.fields[i];
        Some((Value::String(f.text.clone()), (f.line, f.col)))
    }

    fn start(&self) -> (u32, u32) {
        (self.line, 1)
    }

    fn noun(&self) -> &'static str {
        "column"
    }

    fn fields(&self) -> Map<String, Value> {
        self.header
            .iter()
            .zip(&self.fields)
            .map(|(h, f)| (h.clone(), Value::String(f.text.clone())))
            .collect()
    }
}

/// An RFC 4180 reader over text: `,`-separated fields, records ending in
/// LF or CRLF, quoted fields (`"…"`, with `""` for a quote) that may hold
/// separators and line breaks.
struct Csv<'a> {
    bytes: &'a [u8],
    text: &'a str,
    i: usize,
    line: u32,
    col: u32,
}

/// A record's problem: where, what, how to fix it.
type CsvProblem = (u32, u32, String, &'static str);

impl<'a> Csv<'a> {
    fn new(text: &'a str) -> Csv<'a> {
        Csv {
            bytes: text.as_bytes(),
            text,
            i: 0,
            line: 1,
            col: 1,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    /// Moves past one byte, counting lines and characters.
    fn bump(&mut self) {
        let b = self.bytes[self.i];
        self.i += 1;
        if b == b'\n' {
            self.line += 1;
            self.col = 1;
        } else if b & 0xC0 != 0x80 {
            self.col += 1;
        }
    }

    fn at_record_end(&self) -> bool {
        match self.peek() {
            None | Some(b'\n') => true,
            Some(b'\r') => self.bytes.get(self.i + 1) == Some(&b'\n'),
            _ => false,
        }
    }

    fn end_record(&mut self) {
        if self.peek() == Some(b'\r') {
            self.bump();
        }
        if self.peek() == Some(b'\n') {
            self.bump();
        }
    }

    /// Skips to the start of the next line (after a broken record).
    fn skip_line(&mut self) {
        while let Some(b) = self.peek() {
            self.bump();
            if b == b'\n' {
                break;
            }
        }
    }

    /// The next record: `None` at the end of the text; `Err` with a problem
    /// of this record (the reader has moved past it), or a file problem
    /// (an unclosed quote runs to the end of the file).
    fn record(&mut self) -> Option<Result<Result<Record, CsvProblem>, CsvProblem>> {
        if self.i >= self.bytes.len() {
            return None;
        }
        let (line, start) = (self.line, self.i);
        let mut fields = Vec::new();
        loop {
            let (fline, fcol) = (self.line, self.col);
            let text = if self.peek() == Some(b'"') {
                self.bump();
                let mut text = String::new();
                let mut from = self.i;
                loop {
                    match self.peek() {
                        None => {
                            return Some(Err((
                                fline,
                                fcol,
                                "this quoted field is never closed".into(),
                                "close the field with `\"`, and write a quote inside a field as `\"\"`",
                            )));
                        }
                        Some(b'"') => {
                            text.push_str(&self.text[from..self.i]);
                            self.bump();
                            if self.peek() == Some(b'"') {
                                text.push('"');
                                self.bump();
                                from = self.i;
                            } else {
                                break;
                            }
                        }
                        Some(_) => self.bump(),
                    }
                }
                if !(self.at_record_end() || self.peek() == Some(b',')) {
                    let (l, c) = (self.line, self.col);
                    self.skip_line();
                    return Some(Ok(Err((
                        l,
                        c,
                        "text after the closing quote of a field".into(),
                        "put the whole field inside the quotes, and write a quote inside it as `\"\"`",
                    ))));
                }
                text
            } else {
                let from = self.i;
                while !(self.at_record_end() || self.peek() == Some(b',')) {
                    if self.peek() == Some(b'"') {
                        let (l, c) = (self.line, self.col);
                        self.skip_line();
                        return Some(Ok(Err((
                            l,
                            c,
                            "a quote inside a field that does not start with one".into(),
                            "quote the whole field and double the quote: `\"say \"\"hi\"\"\"`",
                        ))));
                    }
                    self.bump();
                }
                self.text[from..self.i].to_string()
            };
            fields.push(Field {
                text,
                line: fline,
                col: fcol,
            });
            if self.peek() == Some(b',') {
                self.bump();
                continue;
            }
            self.end_record();
            return Some(Ok(Ok((line, self.i - start, fields))));
        }
    }
}

/// `named`: the columns the header must have.
fn csv_rows<T>(text: &str, named: &[&str], each: Each<'_, T>) -> Read<T> {
    let mut csv = Csv::new(text);
    let header: Vec<String> = loop {
        match csv.record() {
            None => {
                return Err(FileProblem::data(
                    1,
                    1,
                    "the CSV file is empty: it needs a header row".into(),
                    "write the column names on the first line, such as `id,input,expected`",
                ));
            }
            Some(Err((l, c, m, h))) | Some(Ok(Err((l, c, m, h)))) => {
                return Err(FileProblem::data(
                    l,
                    c,
                    format!("in the header row: {m}"),
                    h,
                ));
            }
            Some(Ok(Ok((_, _, fields)))) if is_blank(&fields) => continue,
            Some(Ok(Ok((_, _, fields)))) => {
                let mut names: Vec<String> = Vec::new();
                for f in fields {
                    let name = f.text.trim().to_string();
                    if let Some(first) = names.iter().position(|n| *n == name) {
                        return Err(FileProblem::data(
                            f.line,
                            f.col,
                            format!(
                                "column `{name}` is named twice in the header (also column {})",
                                first + 1
                            ),
                            "give every column its own name",
                        ));
                    }
                    names.push(name);
                }
                break names;
            }
        }
    };
    for field in named.iter().copied() {
        if !header.iter().any(|h| h == field) {
            let hint = match crate::diag::did_you_mean(field, header.iter().map(String::as_str)) {
                Some(best) => format!("did you mean `{best}`?"),
                None => {
                    let list: Vec<String> = header.iter().map(|h| format!("`{h}`")).collect();
                    let default = if field == "input" {
                        " (the input is read from `input` unless another column is named for it)"
                    } else {
                        ""
                    };
                    format!("the columns are {}{default}", list.join(", "))
                }
            };
            return Err(FileProblem::data(
                1,
                1,
                format!("the header has no column `{field}`"),
                hint,
            ));
        }
    }
    let mut rows = Vec::new();
    while let Some(record) = csv.record() {
        let record = match record {
            Err((l, c, m, h)) => return Err(FileProblem::data(l, c, m, h)),
            Ok(r) => r,
        };
        if rows.len() == MAX_ROWS {
            return Err(too_many_rows(csv.line));
        }
        let row = match record {
            Err((l, c, message, hint)) => Err(RowProblem {
                row_line: l,
                line: l,
                col: c,
                message,
                hint: hint.into(),
            }),
            Ok((_, _, fields)) if is_blank(&fields) => continue,
            Ok((line, len, fields)) => csv_row(&header, line, len, fields, &mut *each),
        };
        rows.push(row);
    }
    Ok(rows)
}

fn csv_row<T>(
    header: &[String],
    line: u32,
    len: usize,
    fields: Vec<Field>,
    each: Each<'_, T>,
) -> Result<T, RowProblem> {
    let fail = |col: u32, message: String, hint: String| RowProblem {
        row_line: line,
        line,
        col,
        message,
        hint,
    };
    if len > MAX_ROW_BYTES {
        return Err(fail(
            1,
            format!(
                "the row is {len} bytes long, more than the {} MiB a row may be",
                MAX_ROW_BYTES >> 20
            ),
            "shorten the row".into(),
        ));
    }
    if fields.len() != header.len() {
        let col = fields.last().map_or(1, |f| f.col);
        return Err(fail(
            col,
            format!(
                "the row has {}, the header {}",
                crate::text::count(fields.len(), "field"),
                crate::text::count(header.len(), "column")
            ),
            "give every row one field per column; quote a field that holds a comma".into(),
        ));
    }
    let row = CsvRow {
        header,
        fields,
        line,
    };
    each(&row)
}

fn is_blank(fields: &[Field]) -> bool {
    fields.len() == 1 && fields[0].text.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping(file: &str, extra: Value) -> Mapping {
        let mut v = json!({"file": file});
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        serde_json::from_value(v).expect("mapping")
    }

    fn rows(text: &str, m: &Mapping) -> Vec<Result<RowCase, RowProblem>> {
        let plan = Plan::new(m).expect("plan");
        let named = plan.named_fields();
        let mut each = |r: &dyn RowSource| map_row(&plan, r);
        read_format(format_of(m).expect("format"), text, &named, &mut each).expect("rows")
    }

    #[test]
    fn csv_reads_quotes_embedded_newlines_and_crlf() {
        let m = mapping("q.csv", json!({"tags": "labels"}));
        let text = "id,input,labels\r\na,\"one, \"\"two\"\"\nthree\",x; y\r\nb,plain,\n";
        let got = rows(text, &m);
        let a = got[0].as_ref().expect("row a");
        assert_eq!((a.id.as_str(), a.line), ("a", 2));
        assert_eq!(a.input, json!("one, \"two\"\nthree"));
        assert_eq!(a.tags, vec!["x", "y"]);
        let b = got[1].as_ref().expect("row b");
        assert_eq!((b.id.as_str(), b.line), ("b", 4));
        assert!(b.tags.is_empty());
    }

    #[test]
    fn a_bad_csv_record_is_a_problem_of_its_own_row() {
        let m = mapping("q.csv", json!({}));
        let text = "id,input\na,x\"y\nb,ok\nc,\"z\" tail\nd,1,2\n";
        let got = rows(text, &m);
        let problems: Vec<String> = got
            .iter()
            .map(|r| match r {
                Ok(c) => format!("ok {}", c.id),
                Err(p) => format!("{}:{} {}", p.line, p.col, p.message),
            })
            .collect();
        assert_eq!(
            problems,
            [
                "2:4 a quote inside a field that does not start with one",
                "ok b",
                "4:6 text after the closing quote of a field",
                "5:5 the row has 3 fields, the header 2 columns",
            ]
        );
    }

    #[test]
    fn json_array_elements_keep_their_positions() {
        let text = "[\n  {\"input\": \"a\"},\n  {\"input\": 3},\n  {\"input\": \"c\", }\n]\n";
        let got = rows(text, &mapping("q.json", json!({})));
        assert!(got[0].is_ok());
        let e = got[1].as_ref().expect_err("a number input");
        assert_eq!((e.line, e.col), (3, 4));
        let e = got[2].as_ref().expect_err("a trailing comma");
        assert_eq!((e.line, e.col), (4, 18), "{}", e.message);
    }

    #[test]
    fn content_ids_hash_the_case_parts_not_the_position() {
        let text = "{\"input\": \"a\", \"expected\": {\"x\": 1, \"y\": 2}}\n{\"expected\": {\"y\": 2, \"x\": 1}, \"input\": \"a\", \"tags\": [\"t\"]}\n";
        let got = rows(text, &mapping("q.jsonl", json!({})));
        let ids: Vec<&str> = got
            .iter()
            .map(|r| r.as_ref().unwrap().id.as_str())
            .collect();
        assert_eq!(ids[0], ids[1]);
        let mut expected_text = String::new();
        canonical(
            &json!({"expected": {"x": 1, "y": 2}, "input": "a"}),
            &mut expected_text,
        );
        assert_eq!(expected_text, r#"{"expected":{"x":1,"y":2},"input":"a"}"#);
        let hex: String = Sha256::digest(expected_text.as_bytes())
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(ids[0], format!("row-{hex}"));
    }

    #[test]
    fn dotted_paths_and_input_maps_reach_into_json_rows() {
        let m = mapping(
            "q.jsonl",
            json!({"input": {"question": "q.text", "locale": "meta.lang"}, "expected": "answer.sql", "vars": ["plan"]}),
        );
        let text = r#"{"q": {"text": "how many?"}, "meta": {"lang": "fr"}, "answer": {"sql": "SELECT 1"}, "plan": "pro"}"#;
        let got = rows(text, &m);
        let c = got[0].as_ref().expect("row");
        assert_eq!(c.input, json!({"question": "how many?", "locale": "fr"}));
        assert_eq!(c.expected, Some(json!("SELECT 1")));
        assert_eq!(c.vars, json!({"plan": "pro"}).as_object().unwrap().clone());
    }
}
