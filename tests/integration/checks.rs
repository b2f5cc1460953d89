//! Every deterministic check kind, end to end: a temporary project with one
//! case in `evals/x.yaml`, run through the public harness, and the check
//! results inspected (outcome and reason), each kind with a passing and a
//! failing case. Also `not:`, `when:`, weights and thresholds.

use std::sync::Arc;

use rstest::rstest;
use tribunal::provider::{ChatRequest, ChatResponse, Provider};
use tribunal::testing::FnProvider;
use tribunal::verdict::{CheckResult, Outcome, Output};
use tribunal::{CheckInput, Harness, Input, Verdict};

use crate::common::{TestProject, indent};

use Outcome::{Error, Fail, Pass, Skipped};

/// The harness every case runs under: targets with known latency and cost,
/// and registered checks of each shape (bool, `Result`, panicking).
fn harness() -> Harness {
    Harness::new()
        .target("slow", |_: &Input| -> Result<Output, String> {
            Ok(Output::text("done").with_latency_ms(250.0))
        })
        .target("fast", |input: &Input| -> Result<String, String> {
            Ok(format!("fast: {}", input.text()))
        })
        .target("priced", |_: &Input| -> Result<Output, String> {
            Ok(Output::text("done").with_cost_usd(0.002))
        })
        .check("polite", |c: &CheckInput<'_>| {
            c.output.text.to_lowercase().contains("please")
        })
        .check("min_len", |c: &CheckInput<'_>| -> Result<(), String> {
            let need = c.args["min"].as_u64().ok_or("args.min must be a number")?;
            let len = c.output.text.chars().count() as u64;
            if len >= need {
                Ok(())
            } else {
                Err(format!("only {len} characters, need {need}"))
            }
        })
        .check("boom", |_: &CheckInput<'_>| -> bool {
            panic!("the check fell over")
        })
}

/// Runs one case (`body`: its keys after `id`, unindented) and returns its verdict.
fn verdict_of(body: &str) -> Verdict {
    let suite = format!("suite: x\ncases:\n  - id: c\n{}\n", indent(body, 4));
    let out = TestProject::with(&[("evals/x.yaml", &suite)]).run(harness());
    assert!(
        out.load_errors.is_empty(),
        "the suite must load:\n{}\n{suite}",
        out.load_errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(out.records.len(), 1, "one trial");
    (*out.records[0].verdict).clone()
}

fn shown(checks: &[CheckResult]) -> String {
    checks
        .iter()
        .map(|c| format!("{} [{}]: {}", c.name, c.outcome, c.reason))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One check on one output: its outcome, a fragment of its reason, and the
/// case outcome that follows from it.
#[rstest]
// equals: text
#[case::equals_text_pass(
    "output: Hello world\nchecks: [{equals: Hello world}]",
    Pass,
    "equals the expected text"
)]
#[case::equals_text_fail(
    "output: Hello world\nchecks: [{equals: Goodbye}]",
    Fail,
    r#"expected "Goodbye", got "Hello world""#
)]
#[case::equals_trims_by_default(
    "output: '  Hello  '\nchecks: [{equals: Hello}]",
    Pass,
    "equals the expected text"
)]
#[case::equals_trim_false(
    "output: '  Hello  '\nchecks: [{equals: Hello, trim: false}]",
    Fail,
    r#"got "  Hello  ""#
)]
#[case::equals_is_case_sensitive(
    "output: HELLO\nchecks: [{equals: hello}]",
    Fail,
    r#"expected "hello", got "HELLO""#
)]
#[case::equals_ignore_case(
    "output: HELLO\nchecks: [{equals: hello, ignore_case: true}]",
    Pass,
    "equals the expected text"
)]
#[case::equals_expected_pass(
    "output: Use the link.\nexpected: Use the link.\nchecks: [equals]",
    Pass,
    "equals the expected text"
)]
#[case::equals_expected_fail(
    "output: Use the form.\nexpected: Use the link.\nchecks: [equals]",
    Fail,
    r#"expected "Use the link.", got "Use the form.""#
)]
#[case::equals_nothing_to_compare(
    "output: x\nchecks: [equals]",
    Error,
    "has no value and the case has no `expected`"
)]
// equals: JSON
#[case::equals_json_structural(
    "output: {a: 1, b: [1, 2]}\nchecks: [{equals: {b: [1, 2], a: 1.0}}]",
    Pass,
    "equals the expected JSON"
)]
#[case::equals_json_order_matters_in_lists(
    "output: {a: 1, b: [1, 2]}\nchecks: [{equals: {a: 1, b: [2, 1]}}]",
    Fail,
    r#"expected {"a":1,"b":[2,1]}, got {"a":1,"b":[1,2]}"#
)]
#[case::equals_json_extra_key(
    "output: {a: 1, b: 2}\nchecks: [{equals: {a: 1}}]",
    Fail,
    r#"expected {"a":1}"#
)]
#[case::equals_json_text_output(
    r#"output: '{"a": 1, "b": null}'
checks: [{equals: {b: null, a: 1}}]"#,
    Pass,
    "equals the expected JSON"
)]
#[case::equals_json_expected(
    "output: {k: [true]}\nexpected: {k: [true]}\nchecks: [equals]",
    Pass,
    "equals the expected JSON"
)]
#[case::equals_json_number_text(
    "output: '42'\nchecks: [{equals: 42}]",
    Pass,
    "equals the expected JSON"
)]
#[case::equals_json_output_not_json(
    "output: not json\nchecks: [{equals: {a: 1}}]",
    Fail,
    "but the output is not JSON"
)]
// contains and friends
#[case::contains_pass(
    "output: Refunds take 30 days.\nchecks: [{contains: 30 days}]",
    Pass,
    r#"found "30 days""#
)]
#[case::contains_is_case_sensitive(
    "output: Refunds take 30 days.\nchecks: [{contains: refund}]",
    Fail,
    r#"missing "refund" in "Refunds take 30 days.""#
)]
#[case::icontains_pass(
    "output: Refunds take 30 days.\nchecks: [{icontains: REFUND}]",
    Pass,
    r#"found "REFUND""#
)]
#[case::icontains_fail(
    "output: Refunds take 30 days.\nchecks: [{icontains: exchange}]",
    Fail,
    r#"missing "exchange""#
)]
#[case::contains_any_pass(
    "output: Refunds take 30 days.\nchecks: [{contains_any: [exchange, days]}]",
    Pass,
    r#"found "days""#
)]
#[case::contains_any_fail(
    "output: Refunds take 30 days.\nchecks: [{contains_any: [exchange, credit]}]",
    Fail,
    r#"none of "exchange", "credit" in the output"#
)]
#[case::contains_any_ignore_case(
    "output: Refunds take 30 days.\nchecks: [{contains_any: [credit, REFUNDS], ignore_case: true}]",
    Pass,
    r#"found "REFUNDS""#
)]
#[case::contains_all_pass(
    "output: Refunds take 30 days.\nchecks: [{contains_all: [Refunds, days]}]",
    Pass,
    r#"found "Refunds", "days""#
)]
#[case::contains_all_fail(
    "output: Refunds take 30 days.\nchecks: [{contains_all: [Refunds, weeks, credit]}]",
    Fail,
    r#"missing "weeks", "credit""#
)]
#[case::contains_all_ignore_case(
    "output: Refunds take 30 days.\nchecks: [{contains_all: [refunds, DAYS], ignore_case: true}]",
    Pass,
    r#"found "refunds", "DAYS""#
)]
// YAML 1.1 booleans are text: `yes`, `no`, `on`, `off`, `y`, `n` mean what is written.
#[case::contains_yes_is_text(
    "output: 'Yes, we ship to Norway.'\nchecks: [{contains: Yes}]",
    Pass,
    r#"found "Yes""#
)]
#[case::contains_country_code_no(
    "output: 'Country: NO'\nchecks: [{contains: NO}]",
    Pass,
    r#"found "NO""#
)]
#[case::equals_no_is_text(
    "output: no\nexpected: no\nchecks: [equals]",
    Pass,
    "equals the expected text"
)]
#[case::equals_off_is_not_false(
    "output: 'false'\nchecks: [{equals: off}]",
    Fail,
    r#"expected "off", got "false""#
)]
#[case::true_is_still_a_boolean(
    "output: 'true'\nchecks: [{equals: true}]",
    Pass,
    "equals the expected JSON"
)]
// starts_with / ends_with
#[case::starts_with_pass(
    "output: '  Dear customer, thanks.'\nchecks: [{starts_with: Dear}]",
    Pass,
    r#"output starts with "Dear""#
)]
#[case::starts_with_fail(
    "output: '  Dear customer, thanks.'\nchecks: [{starts_with: Hello}]",
    Fail,
    r#"does not start with "Hello""#
)]
#[case::starts_with_is_case_sensitive(
    "output: Dear customer\nchecks: [{starts_with: dear}]",
    Fail,
    r#"does not start with "dear""#
)]
#[case::starts_with_ignore_case(
    "output: Dear customer\nchecks: [{starts_with: dEAR, ignore_case: true}]",
    Pass,
    "starts with"
)]
#[case::starts_with_trim_false(
    "output: '  Dear customer'\nchecks: [{starts_with: Dear, trim: false}]",
    Fail,
    r#"does not start with "Dear""#
)]
#[case::ends_with_pass(
    "output: 'Thanks for asking!  '\nchecks: [{ends_with: asking!}]",
    Pass,
    r#"output ends with "asking!""#
)]
#[case::ends_with_fail(
    "output: Thanks for asking!\nchecks: [{ends_with: bye}]",
    Fail,
    r#"does not end with "bye""#
)]
#[case::ends_with_ignore_case(
    "output: Thanks for asking!\nchecks: [{ends_with: ASKING!, ignore_case: true}]",
    Pass,
    "ends with"
)]
#[case::ends_with_trim_false(
    "output: 'Thanks!  '\nchecks: [{ends_with: '!', trim: false}]",
    Fail,
    r#"does not end with "!""#
)]
// regex
#[case::regex_pass(
    r"output: Refunds take 30 days.
checks: [{regex: '\b30 days\b'}]",
    Pass,
    r#"matched "30 days""#
)]
#[case::regex_fail(
    r"output: Refunds take 30 days.
checks: [{regex: '\b\d+ weeks\b'}]",
    Fail,
    r"no match for /\b\d+ weeks\b/"
)]
#[case::regex_inline_flags(
    "output: Refunds take 30 days.\nchecks: [{regex: '(?i)^refunds'}]",
    Pass,
    r#"matched "Refunds""#
)]
#[case::regex_anchored(
    "output: Refunds take 30 days.\nchecks: [{regex: '^30 days'}]",
    Fail,
    "no match for /^30 days/"
)]
// is_json
#[case::is_json_text_pass(
    r#"output: '{"a": [1, 2]}'
checks: [is_json]"#,
    Pass,
    "output is valid JSON"
)]
#[case::is_json_structured_output(
    "output: {a: 1}\nchecks: [{is_json: true}]",
    Pass,
    "output is valid JSON"
)]
#[case::is_json_fail("output: '{a: 1'\nchecks: [is_json]", Fail, "output is not JSON")]
#[case::is_json_schema_pass(
    "output: {name: Ada, age: 36}\nchecks: [{is_json: {schema: {type: object, required: [name, age], properties: {age: {type: integer, minimum: 0}}}}}]",
    Pass,
    "output matches the schema"
)]
#[case::is_json_schema_violation(
    "output: {name: Ada, age: -1}\nchecks: [{is_json: {schema: {type: object, required: [name, age], properties: {age: {type: integer, minimum: 0}}}}}]",
    Fail,
    "schema violations: /age: -1 is less than the minimum of 0"
)]
#[case::is_json_schema_missing_property(
    "output: {name: Ada}\nchecks: [{is_json: {schema: {type: object, required: [name, age]}}}]",
    Fail,
    r#"schema violations: /: "age" is a required property"#
)]
#[case::is_json_schema_text_not_json(
    "output: hello\nchecks: [{is_json: {schema: {type: string}}}]",
    Fail,
    "output is not JSON"
)]
// json_path
#[case::json_path_equals_pass(
    "output: {order: {id: A-17}}\nchecks: [{json_path: {path: $.order.id, equals: A-17}}]",
    Pass,
    r#"$.order.id is "A-17""#
)]
#[case::json_path_equals_fail(
    "output: {order: {items: [{qty: 2}]}}\nchecks: [{json_path: {path: '$.order.items[0].qty', equals: 3}}]",
    Fail,
    "$.order.items[0].qty is 2, expected 3"
)]
#[case::json_path_numbers_by_value(
    "output: {count: 1}\nchecks: [{json_path: {path: $.count, equals: 1.0}}]",
    Pass,
    "$.count is 1"
)]
#[case::json_path_matches_pass(
    r"output: {order: {id: A-17}}
checks: [{json_path: {path: $.order.id, matches: '^[A-Z]-\d+$'}}]",
    Pass,
    r#"$.order.id is "A-17""#
)]
#[case::json_path_matches_fail(
    r"output: {order: {id: A-17}}
checks: [{json_path: {path: $.order.id, matches: '^\d+$'}}]",
    Fail,
    r"which does not match /^\d+$/"
)]
#[case::json_path_matches_number(
    "output: {count: 42}\nchecks: [{json_path: {path: $.count, matches: '^4'}}]",
    Pass,
    "$.count is 42"
)]
#[case::json_path_bare_exists(
    "output: {order: {items: []}}\nchecks: [{json_path: $.order.items}]",
    Pass,
    "$.order.items exists: []"
)]
#[case::json_path_exists_even_when_null(
    "output: {a: null}\nchecks: [{json_path: $.a}]",
    Pass,
    "$.a exists: null"
)]
#[case::json_path_bare_missing(
    "output: {order: {}}\nchecks: [{json_path: $.order.customer}]",
    Fail,
    "nothing at $.order.customer"
)]
#[case::json_path_missing_with_equals(
    "output: {order: {}}\nchecks: [{json_path: {path: $.order.id, equals: A-17}}]",
    Fail,
    "nothing at $.order.id"
)]
#[case::json_path_wildcard_pass(
    "output: {items: [{sku: x1}, {sku: y2}]}\nchecks: [{json_path: {path: '$.items[*].sku', equals: [x1, y2]}}]",
    Pass,
    r#"$.items[*].sku is ["x1","y2"]"#
)]
#[case::json_path_wildcard_fail(
    "output: {items: [{sku: x1}, {sku: y2}]}\nchecks: [{json_path: {path: '$.items[*].sku', equals: [x1]}}]",
    Fail,
    r#"is ["x1","y2"], expected ["x1"]"#
)]
#[case::json_path_dot_wildcard(
    "output: {m: {a: 1, b: 2}}\nchecks: [{json_path: {path: $.m.*, equals: [1, 2]}}]",
    Pass,
    "$.m.* is [1,2]"
)]
#[case::json_path_quoted_key(
    r#"output: {'ship to': home}
checks: [{json_path: {path: "$['ship to']", equals: home}}]"#,
    Pass,
    r#"is "home""#
)]
#[case::json_path_negative_index(
    "output: {items: [a, b, c]}\nchecks: [{json_path: {path: '$.items[-1]', equals: c}}]",
    Pass,
    r#"is "c""#
)]
#[case::json_path_index_out_of_range(
    "output: {items: [a]}\nchecks: [{json_path: '$.items[5]'}]",
    Fail,
    "nothing at $.items[5]"
)]
#[case::json_path_text_output(
    "output: plain text\nchecks: [{json_path: $.a}]",
    Fail,
    "output is not JSON"
)]
// word_count / char_count
#[case::word_count_within(
    "output: 'one two   three'\nchecks: [{word_count: {min: 2, max: 3}}]",
    Pass,
    "3 words, expected 2..=3"
)]
#[case::word_count_below(
    "output: one\nchecks: [{word_count: {min: 2}}]",
    Fail,
    "1 words, expected >= 2"
)]
#[case::word_count_above(
    "output: a b c d\nchecks: [{word_count: {max: 3}}]",
    Fail,
    "4 words, expected <= 3"
)]
#[case::char_count_inclusive(
    "output: hello\nchecks: [{char_count: {max: 5}}]",
    Pass,
    "5 characters, expected <= 5"
)]
#[case::char_count_above(
    "output: hello!\nchecks: [{char_count: {max: 5}}]",
    Fail,
    "6 characters, expected <= 5"
)]
#[case::char_count_unicode_scalars(
    "output: héllo\nchecks: [{char_count: {min: 5, max: 5}}]",
    Pass,
    "5 characters"
)]
#[case::char_count_trims(
    "output: '  hi  '\nchecks: [{char_count: {min: 3}}]",
    Fail,
    "2 characters, expected >= 3"
)]
// similarity
#[case::similarity_expected_pass(
    "output: kitten\nexpected: sitting\nchecks: [{similarity: 0.5}]",
    Pass,
    "similarity 0.571 (threshold 0.5)"
)]
#[case::similarity_expected_fail(
    "output: kitten\nexpected: sitting\nchecks: [{similarity: 0.6}]",
    Fail,
    "similarity 0.571 (threshold 0.6)"
)]
#[case::similarity_identical(
    "output: same text\nexpected: same text\nchecks: [{similarity: 1}]",
    Pass,
    "similarity 1.000 (threshold 1)"
)]
#[case::similarity_value_pass(
    "output: kitten\nchecks: [{similarity: {value: mitten, threshold: 0.8}}]",
    Pass,
    "similarity 0.833 (threshold 0.8)"
)]
#[case::similarity_value_fail(
    "output: kitten\nchecks: [{similarity: {value: mitten, threshold: 0.9}}]",
    Fail,
    "similarity 0.833 (threshold 0.9)"
)]
#[case::similarity_value_over_expected(
    "output: kitten\nexpected: kitten\nchecks: [{similarity: {value: sitting, threshold: 0.9}}]",
    Fail,
    "similarity 0.571"
)]
#[case::similarity_no_reference(
    "output: kitten\nchecks: [{similarity: 0.5}]",
    Error,
    "has no `value` and the case has no `expected`"
)]
// latency_ms
#[case::latency_fixed_output(
    "output: x\nchecks: [{latency_ms: 5000}]",
    Error,
    "fixed outputs have none"
)]
#[case::latency_within(
    "target: slow\ninput: x\nchecks: [{latency_ms: 1000}]",
    Pass,
    "250 ms (max 1000)"
)]
#[case::latency_inclusive(
    "target: slow\ninput: x\nchecks: [{latency_ms: {max: 250}}]",
    Pass,
    "250 ms (max 250)"
)]
#[case::latency_over(
    "target: slow\ninput: x\nchecks: [{latency_ms: 100}]",
    Fail,
    "250 ms (max 100)"
)]
#[case::latency_measured(
    "target: fast\ninput: x\nchecks: [{latency_ms: 60000}]",
    Pass,
    "ms (max 60000)"
)]
// cost
#[case::cost_fixed_output("output: x\nchecks: [{cost: {max_usd: 1}}]", Error, "reported no cost")]
#[case::cost_within(
    "target: priced\ninput: x\nchecks: [{cost: {max_usd: 0.01}}]",
    Pass,
    "$0.002000 (max $0.01)"
)]
#[case::cost_over(
    "target: priced\ninput: x\nchecks: [{cost: {max_usd: 0.001}}]",
    Fail,
    "$0.002000 (max $0.001)"
)]
#[case::cost_unpriced_target(
    "target: fast\ninput: x\nchecks: [{cost: 0.5}]",
    Error,
    "reported no cost"
)]
// rust
#[case::rust_bool_pass(
    "output: Could you please wait?\nchecks: [{rust: polite}]",
    Pass,
    "polite passed"
)]
#[case::rust_bool_fail(
    "output: Wait.\nchecks: [{rust: polite}]",
    Fail,
    "the check returned false"
)]
#[case::rust_result_ok(
    "output: long enough\nchecks: [{rust: min_len, args: {min: 5}}]",
    Pass,
    "min_len passed"
)]
#[case::rust_result_err(
    "output: tiny\nchecks: [{rust: min_len, args: {min: 10}}]",
    Fail,
    "only 4 characters, need 10"
)]
#[case::rust_result_err_from_args(
    "output: tiny\nchecks: [{rust: min_len}]",
    Fail,
    "args.min must be a number"
)]
#[case::rust_panic(
    "output: x\nchecks: [{rust: boom}]",
    Error,
    "boom panicked: the check fell over"
)]
// not
#[case::not_turns_pass_into_fail(
    "output: As an AI, I cannot.\nchecks: [{icontains: as an ai, not: true}]",
    Fail,
    r#"(negated) found "as an ai""#
)]
#[case::not_turns_fail_into_pass(
    "output: Sure.\nchecks: [{icontains: as an ai, not: true}]",
    Pass,
    r#"(negated) missing "as an ai""#
)]
#[case::not_false_is_plain(
    "output: Sure.\nchecks: [{contains: Sure, not: false}]",
    Pass,
    r#"found "Sure""#
)]
#[case::not_keeps_errors(
    "output: x\nchecks: [{latency_ms: 10, not: true}]",
    Error,
    "the target reported no latency"
)]
#[case::not_keeps_rust_panics(
    "output: x\nchecks: [{rust: boom, not: true}]",
    Error,
    "boom panicked"
)]
fn one_check(#[case] body: &str, #[case] outcome: Outcome, #[case] reason: &str) {
    let v = verdict_of(body);
    assert_eq!(v.checks.len(), 1, "{}", shown(&v.checks));
    let c = &v.checks[0];
    assert_eq!(c.outcome, outcome, "{}", shown(&v.checks));
    assert!(
        c.reason.contains(reason),
        "reason {:?} lacks {reason:?}",
        c.reason
    );
    if outcome == Error {
        assert!(
            !c.reason.starts_with("(negated)"),
            "errors are never negated: {}",
            c.reason
        );
    }
    // With one check and the default threshold, the case follows the check.
    assert_eq!(v.outcome, outcome, "case outcome");
    assert_eq!(v.score, if outcome == Pass { 1.0 } else { 0.0 });
}

/// Several checks of one case: each outcome in order, and a fragment of the
/// last check's reason. `when:` conditions and their errors.
#[rstest]
#[case::when_passed_runs(
    "checks: [{contains: refund}, {contains: days, when: passed}]",
    &[Pass, Pass], Pass, "found \"days\"")]
#[case::when_passed_skips(
    "checks: [{contains: nope}, {contains: days, when: passed}]",
    &[Fail, Skipped], Fail, "skipped: not every earlier check passed")]
#[case::when_failed_runs(
    "checks: [{contains: nope}, {contains: days, when: failed}]",
    &[Fail, Pass], Fail, "found \"days\"")]
#[case::when_failed_skips(
    "checks: [{contains: refund}, {contains: days, when: failed}]",
    &[Pass, Skipped], Pass, "skipped: every earlier check passed")]
#[case::when_passed_ignores_skipped_checks(
    "checks: [{contains: refund}, {contains: nope, when: failed}, {contains: days, when: passed}]",
    &[Pass, Skipped, Pass], Pass, "found \"days\"")]
#[case::when_failed_counts_errors(
    "checks: [{latency_ms: 1}, {contains: days, when: failed}]",
    &[Error, Pass], Error, "found \"days\"")]
#[case::when_named_passed_runs(
    "checks: [{contains: refund, name: mentions refund}, {contains: nope}, {contains: days, when: {passed: [mentions refund]}}]",
    &[Pass, Fail, Pass], Fail, "found \"days\"")]
#[case::when_named_passed_string_form(
    "checks: [{contains: refund, name: first}, {contains: days, when: {passed: first}}]",
    &[Pass, Pass], Pass, "found \"days\"")]
#[case::when_named_passed_skips(
    "checks: [{contains: nope, name: second}, {contains: days, when: {passed: second}}]",
    &[Fail, Skipped], Fail, "skipped: a named earlier check did not pass")]
#[case::when_named_passed_needs_all(
    "checks: [{contains: refund, name: first}, {contains: nope, name: second}, {contains: days, when: {passed: [first, second]}}]",
    &[Pass, Fail, Skipped], Fail, "skipped: a named earlier check did not pass")]
#[case::when_named_failed_runs(
    "checks: [{contains: refund, name: first}, {contains: nope, name: second}, {contains: days, when: {failed: [first, second]}}]",
    &[Pass, Fail, Pass], Fail, "found \"days\"")]
#[case::when_named_failed_skips(
    "checks: [{contains: refund, name: first}, {contains: nope}, {contains: days, when: {failed: first}}]",
    &[Pass, Fail, Skipped], Fail, "skipped: no named earlier check failed")]
fn several_checks(
    #[case] checks: &str,
    #[case] outcomes: &[Outcome],
    #[case] case_outcome: Outcome,
    #[case] last_reason: &str,
) {
    let body = format!("output: Your refund arrives in 30 days.\n{checks}");
    let v = verdict_of(&body);
    let got: Vec<Outcome> = v.checks.iter().map(|c| c.outcome).collect();
    assert_eq!(got, outcomes, "{}", shown(&v.checks));
    let last = v.checks.last().expect("checks");
    assert!(
        last.reason.contains(last_reason),
        "reason {:?} lacks {last_reason:?}",
        last.reason
    );
    assert_eq!(v.outcome, case_outcome, "{}", shown(&v.checks));
}

/// The case outcome and score from weights, skips and the threshold.
#[rstest]
#[case::all_pass("checks: [{contains: refund}, {contains: days}]", Pass, 1.0)]
#[case::default_threshold_needs_all("checks: [{contains: refund}, {contains: nope}]", Fail, 0.5)]
#[case::weights_reach_threshold(
    "threshold: 0.75\nchecks: [{contains: refund, weight: 3}, {contains: nope}]",
    Pass,
    0.75
)]
#[case::weights_miss_threshold(
    "threshold: 0.8\nchecks: [{contains: refund, weight: 3}, {contains: nope}]",
    Fail,
    0.75
)]
#[case::light_check_fails(
    "threshold: 0.75\nchecks: [{contains: refund}, {contains: nope, weight: 3}]",
    Fail,
    0.25
)]
#[case::zero_weight_failure_does_not_count(
    "checks: [{contains: refund}, {contains: nope, weight: 0}]",
    Pass,
    1.0
)]
#[case::threshold_zero_passes_all_failures(
    "threshold: 0\nchecks: [{contains: nope}, {contains: nada}]",
    Pass,
    0.0
)]
#[case::two_thirds(
    "threshold: 0.66\nchecks: [{contains: refund}, {contains: days}, {contains: nope}]", Pass, 2.0 / 3.0)]
#[case::just_above_two_thirds(
    "threshold: 0.67\nchecks: [{contains: refund}, {contains: days}, {contains: nope}]", Fail, 2.0 / 3.0)]
#[case::fractional_weights_sum_exactly(
    "threshold: 0.3\nchecks: [{contains: refund, weight: 0.1}, {contains: days, weight: 0.2}, {contains: nope, weight: 0.7}]",
    Pass,
    0.3
)]
#[case::skipped_checks_do_not_count(
    "checks: [{contains: refund}, {contains: nope, weight: 5, when: failed}]",
    Pass,
    1.0
)]
#[case::negated_checks_count_with_their_weight(
    "threshold: 0.6\nchecks: [{contains: nope, not: true, weight: 2}, {contains: nada}]", Pass, 2.0 / 3.0)]
#[case::errors_win_over_threshold(
    "threshold: 0\nchecks: [{contains: refund}, {latency_ms: 1}]",
    Error,
    0.0
)]
fn weights_and_threshold(#[case] body: &str, #[case] outcome: Outcome, #[case] score: f64) {
    let v = verdict_of(&format!("output: Your refund arrives in 30 days.\n{body}"));
    assert_eq!(v.outcome, outcome, "{}", shown(&v.checks));
    assert!(
        (v.score - score).abs() < 1e-9,
        "score {} != {score}\n{}",
        v.score,
        shown(&v.checks)
    );
}

#[test]
fn check_results_carry_weight_kind_and_derived_names() {
    let v = verdict_of(
        "output: {order: {id: A-17}}\nexpected: x\nchecks:\n  - contains: A-17\n  - json_path: {path: $.order.id, equals: A-17}\n    weight: 2.5\n  - word_count: {min: 1, max: 3}\n  - is_json\n  - regex: 'A-\\d+'\n    name: has an order id\n  - similarity: 0.1\n",
    );
    let got: Vec<(&str, &str, f64)> = v
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.kind.as_str(), c.weight))
        .collect();
    assert_eq!(
        got,
        [
            ("contains \"A-17\"", "contains", 1.0),
            ("json_path $.order.id", "json_path", 2.5),
            ("word_count 1..=3", "word_count", 1.0),
            ("is_json", "is_json", 1.0),
            ("has an order id", "regex", 1.0),
            ("similarity 0.1", "similarity", 1.0),
        ]
    );
}

#[test]
fn similarity_reports_its_score_in_the_decision() {
    let v = verdict_of("output: kitten\nexpected: sitting\nchecks: [{similarity: 0.5}]");
    let score = v.checks[0].score.expect("similarity has a score");
    assert!((score - 4.0 / 7.0).abs() < 1e-9, "{score}");
    assert_eq!(v.decision().checks[0].score, Some(0.57));
}

#[test]
fn defaults_checks_run_first_and_defaults_threshold_applies() {
    let suite = "suite: x\ndefaults:\n  threshold: 0.5\n  checks: [{rust: polite}]\ncases:\n  - id: c\n    output: Refunds take 30 days.\n    checks: [{contains: refund}, {contains: days}]\n";
    let out = TestProject::with(&[("evals/x.yaml", suite)]).run(harness());
    assert!(out.load_errors.is_empty(), "{:?}", out.load_errors);
    let v = &out.records[0].verdict;
    let got: Vec<(&str, Outcome)> = v
        .checks
        .iter()
        .map(|c| (c.kind.as_str(), c.outcome))
        .collect();
    assert_eq!(
        got,
        [("rust", Fail), ("contains", Fail), ("contains", Pass)]
    );
    assert_eq!(v.threshold, 0.5);
    assert!((v.score - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(v.outcome, Fail);
}

#[test]
fn every_cost_check_sees_the_targets_cost() {
    // Without judges, the cost is the target's: a second `cost` check sees the
    // same total as the first.
    let v = verdict_of(
        "target: priced\ninput: x\nchecks: [{cost: {max_usd: 0.002}}, {cost: {max_usd: 0.0019}}]",
    );
    let got: Vec<Outcome> = v.checks.iter().map(|c| c.outcome).collect();
    assert_eq!(got, [Pass, Fail], "{}", shown(&v.checks));
    assert_eq!(v.cost_usd, Some(0.002));
}

/// A judge that passes everything and bills a fixed price per call.
fn billing_judge(cost: f64) -> Arc<dyn Provider> {
    Arc::new(FnProvider::new("billing-judge", move |_: &ChatRequest| {
        let mut answer = ChatResponse::new(r#"{"critique": "fine", "pass": true}"#);
        answer.cost_usd = Some(cost);
        Ok(answer)
    }))
}

#[test]
fn cost_adds_up_the_target_and_the_judges_before_it() {
    // The target costs $0.002 and the judge $0.0005 per call. A `cost` check
    // before the judge sees $0.002; one after it sees $0.0025, so the same
    // bound passes before the judge and fails after it.
    let suite = "suite: x\ncases:\n  - id: c\n    target: priced\n    input: x\n    checks:\n      - cost: {max_usd: 0.0022}\n        name: before\n      - judge: {criteria: Says it is done., provider: judge}\n      - cost: {max_usd: 0.0022}\n        name: after\n      - cost: {max_usd: 0.0025}\n        name: after-wide\n";
    let out = TestProject::with(&[("evals/x.yaml", suite)])
        .run(harness().provider("judge", billing_judge(0.0005)));
    assert!(out.load_errors.is_empty(), "{:?}", out.load_errors);
    let v = &out.records[0].verdict;
    insta::assert_snapshot!(shown(&v.checks), @r"
    before [pass]: $0.002000 (max $0.0022)
    judge Says it is done. [pass]: the judge said pass
    after [fail]: $0.002500 (max $0.0022)
    after-wide [pass]: $0.002500 (max $0.0025)
    ");
    assert_eq!(v.checks[1].cost_usd, Some(0.0005));
}
