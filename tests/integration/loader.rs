//! The YAML loader's error reporting: every broken snippet is reported at
//! the exact `file:line:col` with a message and a hint, every problem of a
//! file is reported (not only the first), valid files load with the right
//! cases and variants, and no input at all makes the loader panic.

use std::path::Path;

use proptest::prelude::*;
use rstest::rstest;
use tribunal::case::{KnownNames, LoadError, Suite, SuiteErrors, load_str};

const FILE: &str = "evals/x.yaml";

fn known() -> KnownNames {
    KnownNames {
        targets: vec!["bot".into()],
        checks: vec!["polite".into()],
    }
}

fn load(text: &str) -> Result<Suite, SuiteErrors> {
    load_str(text, FILE, Path::new("evals"), Some(&known()))
}

fn errors(text: &str) -> Vec<LoadError> {
    match load(text) {
        Ok(suite) => panic!(
            "expected load errors, but the suite loaded with {} case(s):\n{text}",
            suite.cases.len()
        ),
        Err(e) => {
            assert_eq!(&*e.file, FILE);
            e.errors
        }
    }
}

fn render(errors: &[LoadError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One broken file → exactly one error, at `line:col`, whose message contains
/// `message` and whose hint contains `hint` (`None`: no hint).
#[rstest]
// Unknown keys, with a did-you-mean, at every level.
#[case::unknown_suite_key(
    "sutie: s\ncases:\n  - id: a\n    output: x\n    checks: [contains: x]\n",
    1,
    1,
    "unknown key `sutie` in suite",
    Some("did you mean `suite`?")
)]
#[case::unknown_defaults_key(
    "defaults:\n  treshold: 0.5\ncases:\n  - id: a\n    output: x\n    checks: [contains: x]\n",
    2,
    3,
    "unknown key `treshold` in defaults",
    Some("did you mean `threshold`?")
)]
#[case::unknown_case_key(
    "cases:\n  - id: a\n    output: x\n    chekcs: [contains: x]\n",
    4,
    5,
    "unknown key `chekcs` in case",
    Some("did you mean `checks`?")
)]
#[case::unknown_check_option(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - equals: x\n        trm: true\n",
    6,
    9,
    "unknown key `trm` in a `equals` check",
    Some("did you mean `trim`?")
)]
#[case::unknown_check_common_key(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - contains: x\n        wieght: 2\n",
    6,
    9,
    "unknown key `wieght` in a `contains` check",
    Some("did you mean `weight`?")
)]
#[case::unknown_variant_key(
    "variants:\n  - id: v1\n    var: {tone: formal}\ncases:\n  - id: a\n    output: x\n    checks: [contains: x]\n",
    3,
    5,
    "unknown key `var` in variant",
    Some("did you mean `vars`?")
)]
#[case::unknown_option_in_kind_params(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - word_count: {min: 1, mx: 3}\n",
    5,
    30,
    "unknown key `mx` in `word_count` check",
    Some("did you mean `max`?")
)]
// Wrong types.
#[case::tags_string_not_list(
    "cases:\n  - id: a\n    output: x\n    tags: feature:x\n    checks: [contains: x]\n",
    4,
    11,
    "`tags` must be a list, found string \"feature:x\"",
    Some("`tags: [a, b]`")
)]
#[case::cases_not_a_list(
    "suite: s\ncases: nope\n",
    2,
    8,
    "`cases` must be a list, found string \"nope\"",
    Some("`cases: [a, b]`")
)]
#[case::checks_a_map(
    "cases:\n  - id: a\n    output: x\n    checks: {contains: x}\n",
    4,
    13,
    "`checks` must be a list, found map",
    Some("one `- item` per line")
)]
#[case::threshold_a_string(
    "cases:\n  - id: a\n    output: x\n    threshold: high\n    checks: [contains: x]\n",
    4,
    16,
    "`threshold` must be a number, found string \"high\"",
    Some("`threshold: 0.75`")
)]
#[case::file_not_a_mapping(
    "- id: a\n- id: b\n",
    1,
    1,
    "a suite file must be a mapping",
    Some("cases:")
)]
#[case::missing_id(
    "cases:\n  - output: x\n    checks: [contains: x]\n",
    2,
    5,
    "case is missing required key `id`",
    Some("add `id`")
)]
#[case::missing_cases(
    "suite: s\n",
    1,
    1,
    "suite is missing required key `cases`",
    Some("add `cases`")
)]
#[case::bad_gate(
    "cases:\n  - id: a\n    output: x\n    gate: mustpass\n    checks: [contains: x]\n",
    4,
    11,
    "unknown value `mustpass`",
    Some("did you mean `must_pass`?")
)]
// Checks.
#[case::unknown_check_kind(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - contain: x\n",
    5,
    9,
    "unknown check kind `contain`",
    Some("did you mean `contains`?")
)]
#[case::unknown_bare_check_kind(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - isjson\n",
    5,
    9,
    "unknown check kind `isjson`",
    Some("did you mean `is_json`?")
)]
#[case::two_kinds_in_one_check(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - contains: x\n        regex: y\n",
    6,
    9,
    "a check has exactly one kind",
    Some("split them")
)]
#[case::unknown_rust_check(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - rust: polit\n",
    5,
    15,
    "unknown Rust check `polit`",
    Some("did you mean `polite`?")
)]
#[case::invalid_regex(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - regex: '(unclosed'\n",
    5,
    16,
    "invalid regex \"(unclosed\"",
    Some("single quotes")
)]
#[case::invalid_matches_regex(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - json_path: {path: $.a, matches: '[z-a]'}\n",
    5,
    41,
    "invalid regex \"[z-a]\"",
    None
)]
#[case::invalid_json_path(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - json_path: a.b\n",
    5,
    20,
    "invalid JSON path \"a.b\"",
    None
)]
#[case::invalid_json_schema(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - is_json: {schema: {type: 12}}\n",
    5,
    27,
    "invalid JSON Schema",
    Some("json-schema.org")
)]
#[case::unknown_is_json_key(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - is_json: {shema: {type: object}}\n",
    5,
    19,
    "unknown key `shema` in an `is_json` check",
    Some("{schema: {...}}")
)]
#[case::similarity_out_of_range(
    "cases:\n  - id: a\n    output: x\n    expected: x\n    checks:\n      - similarity: 1.5\n",
    6,
    21,
    "threshold 1.5 is outside 0..=1",
    Some("similarity: 0.8")
)]
#[case::word_count_min_over_max(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - word_count: {min: 5, max: 2}\n",
    5,
    21,
    "`min` (5) is greater than `max` (2)",
    None
)]
#[case::word_count_no_bounds(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - word_count: {}\n",
    5,
    21,
    "`word_count` needs `min`, `max` or both",
    Some("min: 5")
)]
#[case::contains_any_not_list(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - contains_any: refund\n",
    5,
    23,
    "`contains_any` takes a non-empty list of strings",
    Some("contains_any: [")
)]
#[case::trim_is_not_an_option_of_contains_all(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - contains_all: [x]\n        trim: true\n",
    6,
    9,
    "unknown key `trim` in a `contains_all` check",
    Some("`ignore_case`")
)]
#[case::broken_default_check_is_reported_once(
    "defaults:\n  checks: [contain: x]\ncases:\n  - id: a\n    output: x\n  - id: b\n    output: y\n",
    2,
    12,
    "unknown check kind `contain`",
    Some("did you mean `contains`?")
)]
#[case::negative_weight(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - contains: x\n        weight: -1\n",
    6,
    17,
    "`weight` must be a number >= 0",
    None
)]
#[case::not_a_string(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - contains: x\n        not: yes please\n",
    6,
    14,
    "`not` must be true or false",
    None
)]
#[case::bad_when_word(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - contains: x\n      - contains: y\n        when: sometimes\n",
    7,
    15,
    "`when` must be `passed`, `failed`",
    None
)]
#[case::bad_when_map(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - contains: x\n      - contains: y\n        when: {pased: [a]}\n",
    7,
    15,
    "`when` must be `passed`, `failed`",
    None
)]
#[case::latency_negative(
    "cases:\n  - id: a\n    output: x\n    checks:\n      - latency_ms: -5\n",
    5,
    21,
    "`latency_ms` takes a number >= 0",
    Some("latency_ms: 2000")
)]
// Case-level rules.
#[case::threshold_above_one(
    "cases:\n  - id: a\n    output: x\n    threshold: 1.5\n    checks: [contains: x]\n",
    4,
    16,
    "threshold 1.5 is outside 0..=1",
    Some("weighted share")
)]
#[case::defaults_threshold_negative(
    "defaults:\n  threshold: -0.5\ncases:\n  - id: a\n    output: x\n    checks: [contains: x]\n",
    2,
    14,
    "threshold -0.5 is outside 0..=1",
    Some("weighted share")
)]
#[case::no_checks(
    "cases:\n  - id: a\n    output: x\n",
    2,
    5,
    "case `a` has no checks",
    Some("defaults: {checks: [...]}")
)]
#[case::empty_checks(
    "cases:\n  - id: a\n    output: x\n    checks: []\n",
    2,
    5,
    "case `a` has no checks",
    Some("would always pass")
)]
#[case::output_and_target(
    "cases:\n  - id: a\n    output: x\n    target: bot\n    checks: [contains: x]\n",
    3,
    5,
    "either a fixed `output` or a `target`, not both",
    Some("remove `output`")
)]
#[case::neither_output_nor_target(
    "cases:\n  - id: a\n    input: hi\n    checks: [contains: x]\n",
    2,
    5,
    "case `a` has no target and no fixed output",
    Some("defaults: {target: <name>}")
)]
#[case::unknown_target(
    "cases:\n  - id: a\n    target: bto\n    checks: [contains: x]\n",
    3,
    13,
    "unknown target `bto`",
    Some("did you mean `bot`?")
)]
#[case::unknown_default_target(
    "defaults:\n  target: robot\ncases:\n  - id: a\n    checks: [contains: x]\n",
    2,
    11,
    "unknown target `robot`",
    Some("expected one of `bot`")
)]
#[case::unknown_target_suggests_named_target(
    "targets:\n  helper: {rust: bot}\ncases:\n  - id: a\n    target: helpr\n    checks: [contains: x]\n",
    5,
    13,
    "unknown target `helpr`",
    Some("did you mean `helper`?")
)]
#[case::unknown_target_kind(
    "cases:\n  - id: a\n    target: {rsut: bot}\n    checks: [contains: x]\n",
    3,
    14,
    "unknown target kind `rsut`",
    Some("did you mean `rust`?")
)]
#[case::unknown_variant_in_case(
    "variants:\n  - id: formal\n  - id: casual\ncases:\n  - id: a\n    output: x\n    variants: [formal, casul]\n    checks: [contains: x]\n",
    7,
    24,
    "unknown variant `casul`",
    Some("did you mean `casual`?")
)]
#[case::variant_in_suite_without_variants(
    "cases:\n  - id: a\n    output: x\n    variants: [formal]\n    checks: [contains: x]\n",
    4,
    16,
    "unknown variant `formal`",
    Some("the suite declares no variants")
)]
#[case::bad_skip_bool(
    "cases:\n  - id: a\n    output: x\n    skip: true\n    checks: [contains: x]\n",
    4,
    11,
    "`skip` takes the reason the case is skipped",
    Some("skip: \"")
)]
#[case::bad_skip_empty(
    "cases:\n  - id: a\n    output: x\n    skip: '  '\n    checks: [contains: x]\n",
    4,
    11,
    "`skip` takes the reason the case is skipped",
    Some("skip: \"")
)]
#[case::invalid_case_id(
    "cases:\n  - id: 'a b'\n    output: x\n    checks: [contains: x]\n",
    2,
    9,
    "invalid case id `a b`",
    Some("letters, digits")
)]
#[case::invalid_suite_name(
    "suite: my suite\ncases:\n  - id: a\n    output: x\n    checks: [contains: x]\n",
    1,
    8,
    "invalid suite name `my suite`",
    Some("letters, digits")
)]
#[case::duplicate_variant_id(
    "variants:\n  - id: v\n  - id: v\ncases:\n  - id: a\n    output: x\n    checks: [contains: x]\n",
    3,
    9,
    "duplicate variant id `v`",
    None
)]
#[case::variants_and_matrix(
    "variants:\n  - id: v\nmatrix:\n  tone: [a, b]\ncases:\n  - id: a\n    output: x\n    checks: [contains: x]\n",
    3,
    1,
    "`variants:` or `matrix:`, not both",
    Some("matrix axes")
)]
#[case::empty_matrix_axis(
    "matrix:\n  tone: []\ncases:\n  - id: a\n    output: x\n    checks: [contains: x]\n",
    2,
    9,
    "matrix axis `tone` must be a non-empty list",
    Some("model: [")
)]
#[case::empty_cases(
    "suite: s\ncases: []\n",
    2,
    1,
    "the suite has no cases",
    Some("add at least one case")
)]
// YAML itself.
#[case::duplicate_yaml_key(
    "cases:\n  - id: a\n    output: x\n    checks: [contains: x]\n    output: y\n",
    5,
    5,
    "duplicate mapping key: output",
    None
)]
#[case::tab_indentation(
    "suite: s\ncases:\n  - id: a\n\toutput: x\n",
    4,
    1,
    "invalid YAML: while scanning a plain scalar, found a tab",
    Some("indent with spaces")
)]
#[case::unclosed_double_quote(
    "suite: s\ncases:\n  - id: a\n    output: \"unclosed\n    checks: [contains: x]\n",
    4,
    13,
    "invalid YAML",
    None
)]
#[case::tab_before_a_sequence_item(
    "suite: s\ncases:\n\t- id: a\n",
    3,
    1,
    "invalid YAML",
    Some("indent with spaces")
)]
#[case::tab_after_a_key(
    "suite: s\ncases:\n  - id:\ta\n    output: x\n    checks:\n\t\t- contains: x\n",
    6,
    1,
    "invalid YAML",
    Some("indent with spaces")
)]
#[case::unclosed_flow_sequence(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks: [contains: x\n",
    5,
    13,
    "invalid YAML: unclosed bracket '['",
    None
)]
// What checks would find only while running is found at load, at its place.
#[case::when_names_an_unknown_check(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks:\n      - contains: x\n      - contains: y\n        when: {passed: [contains x]}\n",
    8,
    25,
    "`when` names `contains x`, which is not an earlier check of this case (earlier checks: `contains \"x\"`)",
    Some("did you mean `contains \"x\"`?")
)]
#[case::when_names_a_later_check(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks:\n      - contains: x\n        when: {failed: later}\n      - contains: y\n        name: later\n",
    7,
    24,
    "`when` names `later`, which is not an earlier check of this case (earlier checks: none)",
    Some("`when:` can only name checks above it")
)]
#[case::judge_scale_upside_down(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks:\n      - judge: {mode: score, scale: [5, 1]}\n",
    6,
    37,
    "`scale: [5, 1]`: the first number must be below the second",
    Some("[lowest, highest]")
)]
#[case::judge_min_score_off_the_scale(
    "suite: s\njudge: {scale: [1, 5]}\ncases:\n  - id: a\n    output: x\n    checks:\n      - judge: {mode: score, min_score: 7}\n",
    7,
    41,
    "`min_score: 7` is outside the scale 1–5",
    Some("passing score")
)]
#[case::judge_zero_votes(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks:\n      - judge: {votes: 0}\n",
    6,
    24,
    "`votes` must be at least 1",
    Some("one sample per judge")
)]
#[case::judge_too_many_votes(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks:\n      - judge: {votes: 65}\n",
    6,
    24,
    "65 judge samples per check (votes × panel) is over the limit of 64",
    Some("fewer votes")
)]
#[case::judge_template_and_template_file(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks:\n      - judge: {template: t, template_file: t.j2}\n",
    6,
    45,
    "give `template` or `template_file`, not both",
    Some("remove one of them")
)]
#[case::judge_template_file_missing(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks:\n      - judge: {template_file: missing.j2}\n",
    6,
    32,
    "cannot read judge template evals/missing.j2",
    Some("relative to the suite file")
)]
#[case::judge_baseline_two_sources(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks:\n      - judge: {mode: pairwise, baseline: {variant: v1, output: y}}\n",
    6,
    43,
    "`baseline` takes exactly one of `variant`, `output` or `file`",
    Some("one source")
)]
#[case::judge_baseline_file_missing(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks:\n      - judge: {mode: pairwise, baseline: {file: gone.txt}}\n",
    6,
    50,
    "cannot read the baseline output evals/gone.txt",
    Some("relative to the suite file")
)]
#[case::ast_unknown_sql_dialect(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks:\n      - ast_equivalent: {dialect: sql, sql_dialect: cobol}\n",
    6,
    53,
    "unknown `sql_dialect` `cobol`",
    Some("docs/audience-ast.md")
)]
#[case::ast_schema_file_missing(
    "suite: s\ncases:\n  - id: a\n    output: x\n    checks:\n      - ast_equivalent: {dialect: sql, schema: nope.sql}\n",
    6,
    48,
    "nope.sql",
    Some("inline DDL")
)]
fn one_error_at_its_place(
    #[case] text: &str,
    #[case] line: u32,
    #[case] col: u32,
    #[case] message: &str,
    #[case] hint: Option<&str>,
) {
    let errs = errors(text);
    let shown = render(&errs);
    assert_eq!(errs.len(), 1, "expected one error, got:\n{shown}");
    let e = &errs[0];
    assert_eq!(
        (e.location.line, e.location.col),
        (line, col),
        "wrong position:\n{shown}\n--- in ---\n{text}"
    );
    assert!(
        e.message.contains(message),
        "message {:?} lacks {message:?}",
        e.message
    );
    match hint {
        Some(h) => assert!(
            e.hint.as_deref().is_some_and(|x| x.contains(h)),
            "hint {:?} lacks {h:?}",
            e.hint
        ),
        None => assert_eq!(e.hint, None, "no hint expected"),
    }
    // The rendered form starts with the clickable location.
    assert!(
        shown.starts_with(&format!("{FILE}:{line}:{col}: ")),
        "{shown}"
    );
}

#[test]
fn a_duplicate_case_id_points_at_the_second_and_names_the_first() {
    let text = "cases:\n  - id: a\n    output: x\n    checks: [contains: x]\n  - id: b\n    output: x\n    checks: [contains: x]\n  - id: a\n    output: y\n    checks: [contains: y]\n";
    let errs = errors(text);
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    let e = &errs[0];
    assert_eq!((e.location.line, e.location.col), (8, 9));
    assert!(
        e.message
            .contains("duplicate case id `a` (first used at evals/x.yaml:2:9)"),
        "{}",
        e.message
    );
    assert!(e.hint.as_deref().is_some_and(|h| h.contains("unique")));
}

#[test]
fn every_problem_in_a_file_is_reported_in_file_order() {
    let text = "\
suite: many
defaults:
  target: robot
cases:
  - id: one
    checks:
      - contain: refund
  - id: two
    checks:
      - regex: '(unclosed'
      - rust: polit
  - id: three
    output: x
    target: bot
    threshold: 2
    checks: [contains: x]
  - id: one
    checks: [contains: x]
";
    let e = load(text).expect_err("broken");
    assert_eq!(e.suite, "many");
    let got: Vec<(u32, u32, &str)> = e
        .errors
        .iter()
        .map(|e| (e.location.line, e.location.col, e.message.as_str()))
        .collect();
    let shown = render(&e.errors);
    let expected: &[(u32, u32, &str)] = &[
        (3, 11, "unknown target `robot`"),
        (7, 9, "unknown check kind `contain`"),
        (10, 16, "invalid regex"),
        (11, 15, "unknown Rust check `polit`"),
        (13, 5, "not both"),
        (15, 16, "threshold 2 is outside"),
        (17, 9, "duplicate case id `one`"),
    ];
    assert_eq!(got.len(), expected.len(), "{shown}");
    for ((l, c, m), (el, ec, em)) in got.iter().zip(expected) {
        assert_eq!((l, c), (el, ec), "{shown}");
        assert!(m.contains(em), "{m:?} lacks {em:?}\n{shown}");
    }
    // The rendered SuiteErrors lists every problem, one per line.
    assert_eq!(e.to_string().lines().count(), expected.len());
}

#[test]
fn a_suite_without_a_name_is_named_after_its_file_even_when_broken() {
    let e = load("cases:\n  - id: a\n    output: x\n").expect_err("no checks");
    assert_eq!(e.suite, "x");
    let e = load("suite: custom\ncases: [}\n").expect_err("invalid YAML");
    assert_eq!(
        e.suite, "x",
        "the name is unknown when the YAML does not parse"
    );
}

const VALID: &str = r#"
suite: support
description: The support assistant.
defaults:
  target: bot
  tags: [feature:support]
  vars: {locale: en, tone: plain}
  checks:
    - rust: polite
  threshold: 0.5
  gate: must_pass
targets:
  helper: {rust: bot}
variants:
  - id: formal
    vars: {tone: formal}
  - id: casual
    vars: {tone: casual}
    target: helper
cases:
  - id: refund-window
    description: How long refunds take
    tags: [scenario:refund, feature:support]
    input: "How long do I have?"
    checks:
      - contains: refund
      - regex: '\b30 days\b'
        name: states the window
        weight: 2
      - icontains: "as an ai"
        not: true
      - judge: {criteria: "Polite"}
        when: passed
  - id: reset
    input: {question: "I forgot my password", plan: pro}
    expected: Use the reset link.
    vars: {tone: warm}
    variants: [casual]
    threshold: 1
    gate: snapshot
    checks:
      - similarity: 0.7
  - id: contract
    output: {category: question}
    skip: not yet
    checks:
      - json_path: {path: $.category, equals: question}
"#;

#[test]
fn a_valid_file_loads_with_defaults_merged() {
    let suite = load(VALID).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(suite.name, "support");
    assert_eq!(suite.description.as_deref(), Some("The support assistant."));
    assert_eq!(&*suite.file, FILE);
    assert_eq!(suite.dir, Path::new("evals"));
    let ids: Vec<&str> = suite.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["refund-window", "reset", "contract"]);
    let variant_ids: Vec<&str> = suite.variants.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(variant_ids, ["formal", "casual"]);
    assert!(suite.variants[1].target.is_some());
    assert_eq!(suite.targets.len(), 1);

    let refund = &suite.cases[0];
    assert_eq!(
        (refund.location.line, refund.location.col),
        (21, 5),
        "a case's location is its first key"
    );
    // Tags: defaults first, no duplicates.
    assert_eq!(refund.tags, ["feature:support", "scenario:refund"]);
    // Checks: defaults first, then the case's, in order, with positions.
    let kinds: Vec<&str> = refund.checks.iter().map(|c| c.kind_name).collect();
    assert_eq!(kinds, ["rust", "contains", "regex", "icontains", "judge"]);
    assert_eq!(refund.checks[2].name, "states the window");
    assert_eq!(refund.checks[2].weight, 2.0);
    assert!(refund.checks[3].negate);
    assert!(refund.checks[4].when.is_some());
    assert_eq!(refund.checks[1].span.to_string(), "evals/x.yaml:26:9");
    assert_eq!(refund.checks[0].span.to_string(), "evals/x.yaml:9:7");
    assert_eq!(refund.threshold, 0.5);
    assert_eq!(refund.gate, tribunal::verdict::Gate::MustPass);
    assert_eq!(refund.vars["tone"], "plain");
    assert!(refund.target.is_some());
    assert_eq!(refund.only_variants, None);
    assert_eq!(suite.variants_of(refund).len(), 2);

    let reset = &suite.cases[1];
    // Input map entries are vars too, over the case's and the defaults'.
    assert_eq!(reset.vars["question"], "I forgot my password");
    assert_eq!(reset.vars["plan"], "pro");
    assert_eq!(reset.vars["tone"], "warm");
    assert_eq!(reset.vars["locale"], "en");
    assert_eq!(reset.threshold, 1.0);
    assert_eq!(reset.gate, tribunal::verdict::Gate::Snapshot);
    assert_eq!(
        reset.expected,
        Some(serde_json::json!("Use the reset link."))
    );
    let under: Vec<&str> = suite
        .variants_of(reset)
        .into_iter()
        .map(|v| v.map(|v| v.id.as_str()).unwrap_or("-"))
        .collect();
    assert_eq!(under, ["casual"]);

    let contract = &suite.cases[2];
    assert_eq!(contract.skip.as_deref(), Some("not yet"));
    assert_eq!(
        contract.output,
        Some(serde_json::json!({"category": "question"}))
    );
}

#[test]
fn a_matrix_expands_to_the_cross_product_joined_with_plus() {
    let text = "\
matrix:
  tone: [formal, casual]
  prompt: [v1, v2, 3]
cases:
  - id: a
    output: x
    variants: [formal+v2, casual+3]
    checks: [contains: x]
  - id: b
    output: x
    checks: [contains: x]
";
    let suite = load(text).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = suite.variants.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "formal+v1",
            "formal+v2",
            "formal+3",
            "casual+v1",
            "casual+v2",
            "casual+3"
        ]
    );
    // Each axis is a variable of the variant.
    assert_eq!(suite.variants[2].vars["tone"], "formal");
    assert_eq!(suite.variants[2].vars["prompt"], 3);
    assert_eq!(suite.variants_of(&suite.cases[0]).len(), 2);
    assert_eq!(suite.variants_of(&suite.cases[1]).len(), 6);
}

#[test]
fn without_known_names_any_target_and_rust_check_is_accepted() {
    let text = "cases:\n  - id: a\n    target: anything\n    checks: [rust: whatever]\n";
    let suite = load_str(text, FILE, Path::new("evals"), None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(suite.name, "x");
    assert_eq!(suite.cases.len(), 1);
}

#[test]
fn a_case_may_rely_on_variant_targets() {
    let text = "variants:\n  - id: v\n    target: bot\ncases:\n  - id: a\n    input: hi\n    checks: [contains: x]\n";
    let suite = load(text).unwrap_or_else(|e| panic!("{e}"));
    assert!(suite.cases[0].target.is_none());
}

#[test]
fn yaml_1_1_boolean_spellings_are_strings() {
    let text = "cases:\n  - id: a\n    output: no\n    expected: yes\n    vars: {country: NO, flag: on}\n    checks:\n      - contains: y\n        name: n\n        not: false\n";
    let suite = load(text).unwrap_or_else(|e| panic!("{e}"));
    let case = &suite.cases[0];
    assert_eq!(case.output, Some(serde_json::json!("no")));
    assert_eq!(case.expected, Some(serde_json::json!("yes")));
    assert_eq!(case.vars["country"], "NO");
    assert_eq!(case.vars["flag"], "on");
    assert_eq!(case.checks[0].name, "n");
    // `not: yes` is no longer silently `true`: it is an error naming the key.
    let errs = errors(
        "cases:\n  - id: a\n    output: x\n    checks:\n      - contains: x\n        not: yes\n",
    );
    assert_eq!(errs.len(), 1, "{}", render(&errs));
    assert_eq!((errs[0].location.line, errs[0].location.col), (6, 14));
    assert!(errs[0].message.contains("`not` must be true or false"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any text at all yields a suite or errors, never a panic; errors always
    /// carry a 1-based position.
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check_no_panic(&text);
    }

    /// Arbitrary bytes, read as the loader would after lossy decoding.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_no_panic(&String::from_utf8_lossy(&bytes));
    }

    /// YAML-looking garbage built from the format's own vocabulary reaches
    /// deeper into the loader than random text does.
    #[test]
    fn yaml_like_garbage_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("suite: s\n"), Just("cases:\n"), Just("  - id: a\n"), Just("    output: x\n"),
                Just("    checks:\n"), Just("      - contains: x\n"), Just("      - regex: '(['\n"),
                Just("      - json_path: {path: $.a[*], equals: 1}\n"), Just("      - similarity: 2\n"),
                Just("      - is_json: {schema: {type: 3}}\n"), Just("      - when: passed\n"),
                Just("    variants: [v]\n"), Just("matrix:\n  m: [1, 2]\n"), Just("variants:\n  - id: v\n"),
                Just("defaults:\n  target: bot\n"), Just("    target: {rust: 1}\n"), Just("    skip: 3\n"),
                Just("\t"), Just("  "), Just(":"), Just("- "), Just("{"), Just("}"), Just("["), Just("]"),
                Just("'"), Just("\""), Just("&a "), Just("*a "), Just("!!str "), Just("? "), Just("---\n"),
                Just("\n"), Just("~"), Just("<<: *a\n"),
            ],
            0..24,
        )
    ) {
        check_no_panic(&parts.concat());
    }
}

fn check_no_panic(text: &str) {
    if let Err(e) = load(text) {
        assert!(!e.errors.is_empty(), "a failed load must say why");
        for err in &e.errors {
            assert!(err.location.line >= 1 && err.location.col >= 1, "{err}");
            assert!(!err.message.is_empty());
        }
    }
}

#[test]
fn misspelled_keys_at_every_level_are_all_reported_in_one_run() {
    let text = "suite: x\ndescripton: typo\ndefaults:\n  target: bot\n  tagz: [a]\ncases:\n  - id: a\n    input: hi\n    chekcs: []\n    checks:\n      - contain: refund\n";
    let known = KnownNames {
        targets: vec!["bot".into()],
        checks: vec![],
    };
    let err = load_str(text, "evals/x.yaml", Path::new("evals"), Some(&known))
        .expect_err("the file is broken");
    let shown: Vec<String> = err.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "evals/x.yaml:2:1: unknown key `descripton` in suite (hint: did you mean `description`?)",
            "evals/x.yaml:5:3: unknown key `tagz` in defaults (hint: did you mean `tags`?)",
            "evals/x.yaml:9:5: unknown key `chekcs` in case (hint: did you mean `checks`?)",
            "evals/x.yaml:11:9: unknown check kind `contain` (hint: did you mean `contains`?)",
        ],
    );
}
