//! Datasets: cases from data files (`cases_from:` JSONL, CSV, JSON arrays),
//! drafts, `tribunal generate logs` (scrubbing, de-duplication, sampling)
//! and `tribunal generate accept`, as a user sees them.

use sha2::{Digest, Sha256};
use tribunal::{Harness, Outcome};

use crate::common::{TestProject, Tribunal};

/// `tribunal test` on the project, one test thread, with `args` for libtest.
fn test(p: &TestProject, args: &[&str]) -> Tribunal {
    let mut all = vec!["test", "--root", p.path().to_str().expect("utf8"), "--"];
    all.extend_from_slice(&["--test-threads", "1"]);
    all.extend_from_slice(args);
    p.tribunal(&all)
}

/// One line per case of the suite file: id, where it is, input, expected,
/// tags and variables, as the loader built them.
fn cases_of(p: &TestProject, suite: &str) -> String {
    let path = p.join(suite);
    let s = tribunal::case::load_file(&path, suite, None).unwrap_or_else(|e| panic!("{e}"));
    let mut out = String::new();
    for c in &s.cases {
        out.push_str(&format!(
            "{} @ {} input={} expected={} tags={:?} vars={}\n",
            c.id,
            c.location,
            c.input,
            c.expected
                .as_ref()
                .map_or_else(|| "-".to_string(), ToString::to_string),
            c.tags,
            serde_json::Value::Object(c.vars.clone()),
        ));
    }
    for b in &s.bad_rows {
        out.push_str(&format!("BAD {} → {}\n", b.name, b.error));
    }
    out
}

const JSONL_SUITE: &str = "suite: qa\ndefaults:\n  target: bot\n  tags: [imported]\n  vars: {locale: en}\n  checks: [{contains: '42'}]\ncases_from:\n  file: data/qa.jsonl\n  id: key\n  input: q.text\n  expected: answer\n  vars: [plan]\ncases:\n  - id: written\n    input: in YAML\n";

const JSONL_ROWS: &str = r#"{"key": "six-times-seven", "q": {"text": "What is 6*7?"}, "answer": "42", "plan": "pro", "tags": ["math"]}
{"key": "meaning", "q": {"text": "The meaning of life?"}, "answer": {"value": 42}, "plan": "free", "tags": "philosophy; big"}
"#;

#[test]
fn jsonl_csv_and_json_rows_become_cases_with_the_suite_defaults() {
    let p = TestProject::with(&[
        ("evals/qa.yaml", JSONL_SUITE),
        ("evals/data/qa.jsonl", JSONL_ROWS),
        (
            "evals/sheet.yaml",
            "suite: sheet\ndefaults: {target: bot, checks: [{contains: answer}]}\ncases_from: {file: data/sheet.csv, input: {question: q, locale: lang}, tags: labels}\n",
        ),
        (
            "evals/data/sheet.csv",
            "\u{feff}id,q,lang,labels,expected\r\nrefund,\"How long for a refund, exactly?\",en,billing;refunds,30 days\r\nmulti,\"Two\nlines\",fr,,\r\n",
        ),
        (
            "evals/arr.yaml",
            "suite: arr\ndefaults: {target: bot, checks: [{contains: answer}]}\ncases_from: [{file: data/arr.json, expected: truth.sql}]\n",
        ),
        (
            "evals/data/arr.json",
            "[\n  {\"input\": \"Count users\", \"truth\": {\"sql\": \"SELECT count(*) FROM users\"}},\n  {\"input\": \"List orders\"}\n]\n",
        ),
    ]);
    let all = format!(
        "{}{}{}",
        cases_of(&p, "evals/qa.yaml"),
        cases_of(&p, "evals/sheet.yaml"),
        cases_of(&p, "evals/arr.yaml")
    );
    insta::assert_snapshot!(all);
    let validate = p.tribunal(&["validate", "--root", "."]).output();
    assert!(validate.success(), "{validate:?}");
    insta::assert_snapshot!("cases_from_validated", validate.snapshot());
}

fn echo_harness() -> Harness {
    Harness::new().target("bot", |i: &tribunal::Input| -> Result<String, String> {
        Ok(format!("the answer is 42: {}", i.text()))
    })
}

#[test]
fn one_bad_row_fails_only_its_own_trial_with_its_position() {
    let p = TestProject::with(&[
        (
            "evals/rows.yaml",
            "suite: rows\ndefaults: {target: bot, checks: [{contains: '42'}]}\ncases_from: {file: data/rows.jsonl}\n",
        ),
        (
            "evals/data/rows.jsonl",
            "{\"id\": \"good\", \"input\": \"a\"}\n{\"id\": \"broken\", \"input\": \"b\",}\n{\"id\": \"number\", \"input\": 7}\n{\"id\": \"bad id\", \"input\": \"c\"}\n{\"id\": \"good\", \"input\": \"again\"}\n\n{\"input\": \"no id\"}\n",
        ),
        (
            "evals/sheet.yaml",
            "suite: sheet\ndefaults: {target: bot, checks: [{contains: '42'}]}\ncases_from: {file: data/sheet.csv}\n",
        ),
        (
            "evals/data/sheet.csv",
            "id,input\nok,fine\nquote,say \"hi\"\nshort\nafter,\"closed\" then\nlast,\"multi\nline\"\n",
        ),
    ]);
    let run = p.run(echo_harness());
    let mut lines: Vec<String> = run
        .records
        .iter()
        .map(|r| {
            format!(
                "{} {:?} {}",
                r.verdict.trial,
                r.verdict.outcome,
                r.verdict.error.as_deref().unwrap_or("")
            )
        })
        .collect();
    lines.sort();
    insta::assert_snapshot!(lines.join("\n"));
    let passed: Vec<&str> = run
        .records
        .iter()
        .filter(|r| r.verdict.outcome == Outcome::Pass)
        .map(|r| r.verdict.trial.as_str())
        .collect();
    assert_eq!(passed.len(), 4, "{passed:?}");
    let validate = p.tribunal(&["validate", "--root", "."]).output();
    assert_eq!(validate.code, Some(1), "{validate:?}");
    insta::assert_snapshot!("bad_rows_in_validate", validate.snapshot());
}

/// The documented content id: `row-` and 12 hex digits of the SHA-256 of
/// the compact JSON of the row's parts with sorted keys.
fn documented_id(canonical: &str) -> String {
    let hex: String = Sha256::digest(canonical.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("row-{hex}")
}

#[test]
fn content_ids_are_the_documented_hash_and_survive_reordering() {
    let rows = [
        "{\"input\": \"Where is my order?\", \"expected\": {\"status\": \"shipped\", \"carrier\": \"ups\"}}",
        "{\"input\": \"Cancel it\", \"tags\": [\"orders\"]}",
        "{\"input\": \"Refund me\", \"expected\": \"refund\"}",
    ];
    let suite = "suite: s\ndefaults: {target: bot, checks: [{contains: answer}]}\ncases_from: {file: data/rows.jsonl}\n";
    let ids = |order: &[usize]| -> Vec<String> {
        let text: String = order.iter().map(|i| format!("{}\n", rows[*i])).collect();
        let p = TestProject::with(&[("evals/s.yaml", suite), ("evals/data/rows.jsonl", &text)]);
        let s = tribunal::case::load_file(&p.join("evals/s.yaml"), "evals/s.yaml", None)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut ids: Vec<String> = s.cases.iter().map(|c| c.id.clone()).collect();
        ids.sort();
        ids
    };
    let forward = ids(&[0, 1, 2]);
    assert_eq!(forward, ids(&[2, 0, 1]));
    let mut expected = vec![
        documented_id(
            r#"{"expected":{"carrier":"ups","status":"shipped"},"input":"Where is my order?"}"#,
        ),
        documented_id(r#"{"input":"Cancel it"}"#),
        documented_id(r#"{"expected":"refund","input":"Refund me"}"#),
    ];
    expected.sort();
    assert_eq!(forward, expected);
}

#[test]
fn the_same_content_twice_is_a_duplicate_naming_both_lines() {
    let p = TestProject::with(&[
        (
            "evals/s.yaml",
            "suite: s\ndefaults: {target: bot, checks: [{contains: answer}]}\ncases_from: {file: data/rows.csv}\n",
        ),
        (
            "evals/data/rows.csv",
            "input,expected\nhi,there\nother,x\nhi,there\n",
        ),
    ]);
    insta::assert_snapshot!(cases_of(&p, "evals/s.yaml"));
}

#[test]
fn ten_thousand_rows_load_as_ten_thousand_cases() {
    let mut jsonl = String::new();
    for i in 0..10_000 {
        jsonl.push_str(&format!(
            "{{\"id\": \"c{i}\", \"input\": \"question {i}\", \"expected\": \"answer {i}\"}}\n"
        ));
    }
    let p = TestProject::with(&[
        (
            "evals/big.yaml",
            "suite: big\ndefaults: {target: bot, checks: [{contains: answer}]}\ncases_from: {file: data/big.jsonl}\n",
        ),
        ("evals/data/big.jsonl", &jsonl),
    ]);
    let s = tribunal::case::load_file(&p.join("evals/big.yaml"), "evals/big.yaml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.cases.len(), 10_000);
    assert_eq!(s.cases[9_999].id, "c9999");
    assert_eq!(
        s.cases[9_999].location.to_string(),
        "evals/data/big.jsonl:10000:1"
    );
    assert_eq!(s.cases[0].checks.len(), 1);
}

const LOG: &str = r#"{"question": "Where is my order? Write to ana@example.com", "answer": "It shipped on Monday.", "feature": "orders", "feedback": "down"}
{"question": "where is my order?  write to bob@example.org", "answer": "Shipped.", "feature": "orders", "feedback": "up"}
{"question": "Refund to card 4111 1111 1111 1111 please", "answer": "Done.", "feature": "refunds", "feedback": "up"}
{"question": "Call me at +1 415 555 0100 about my bill", "feature": "billing", "feedback": "down"}
{"question": "Pay into GB82 WEST 1234 5698 7654 32, account no. 12345678", "feature": "refunds", "feedback": "down"}
{"question": "", "feature": "refunds"}
{"question": "Is there a student discount?", "feature": "billing", "feedback": "up"}
{"question": "Change my plan", "feature": "billing", "feedback": "up"}
not json at all
{"question": "My employee id is EMP-004211", "feature": "account", "feedback": "up"}
"#;

fn logs_project() -> TestProject {
    TestProject::with(&[
        (
            "evals/support.yaml",
            "suite: support\n# The support bot.\ndefaults: {target: bot, checks: [{contains: '42'}]}\ncases:\n  - id: hello\n    input: Hello   # a greeting\n\n# the end\n",
        ),
        ("logs/prod.jsonl", LOG),
        (
            "tribunal.yaml",
            "pii:\n  rules:\n    - {name: employee_id, regex: 'EMP-\\d{6}'}\n",
        ),
    ])
}

fn generate_logs(p: &TestProject, extra: &[&str]) -> Tribunal {
    let mut args = vec![
        "generate",
        "logs",
        "--suite",
        "evals/support.yaml",
        "--from",
        "logs/prod.jsonl",
        "--input",
        "question",
        "--expected",
        "answer",
        "--tag",
        "feature",
    ];
    args.extend_from_slice(extra);
    p.tribunal(&args)
}

#[test]
fn logs_are_scrubbed_deduplicated_and_written_as_drafts() {
    let p = logs_project();
    let out = generate_logs(&p, &[]).output();
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("logs_every_row_report", out.snapshot());
    let drafts = p.read("evals/support.drafts.jsonl");
    insta::assert_snapshot!("logs_every_row_drafts", drafts);
    for original in [
        "ana@example.com",
        "4111",
        "415 555",
        "GB82",
        "12345678",
        "EMP-004211",
    ] {
        assert!(!drafts.contains(original), "{original} left in the drafts");
        assert!(!out.text().contains(original), "{original} printed");
    }
    // The same log again adds nothing and leaves the file byte for byte.
    let again = generate_logs(&p, &[]).output();
    assert!(
        again
            .stdout
            .contains("drafts: 0 added, 7 already in the file"),
        "{again:?}"
    );
    assert_eq!(p.read("evals/support.drafts.jsonl"), drafts);
}

#[test]
fn sampling_is_seeded_uniform_stratified_or_failures_first() {
    let mut outputs = Vec::new();
    for extra in [
        vec!["--sample", "3", "--seed", "7"],
        vec!["--sample", "4", "--seed", "7", "--stratify", "feature"],
        vec![
            "--sample",
            "3",
            "--seed",
            "1",
            "--failures-first",
            "feedback=down",
        ],
    ] {
        let p = logs_project();
        let out = generate_logs(&p, &extra).output();
        assert!(out.success(), "{out:?}");
        let drafts = p.read("evals/support.drafts.jsonl");
        // The same seed gives the same drafts, in a fresh project too.
        let q = logs_project();
        generate_logs(&q, &extra).output();
        assert_eq!(q.read("evals/support.drafts.jsonl"), drafts);
        outputs.push(format!(
            "$ {}\n{}\n{drafts}",
            extra.join(" "),
            out.snapshot()
        ));
    }
    insta::assert_snapshot!(outputs.join("\n\n"));
}

#[test]
fn accepted_drafts_join_the_yaml_cases_keeping_the_rest_of_the_file() {
    let p = logs_project();
    assert!(generate_logs(&p, &[]).output().success());
    let drafts = p.read("evals/support.drafts.jsonl");
    let ids: Vec<String> = drafts
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["id"]
                .as_str()
                .expect("id")
                .to_string()
        })
        .collect();
    let unknown = p
        .tribunal(&[
            "generate",
            "accept",
            "--suite",
            "evals/support.yaml",
            "--id",
            "log-nope",
        ])
        .output();
    assert_eq!(unknown.code, Some(2), "{unknown:?}");
    let out = p
        .tribunal(&[
            "generate",
            "accept",
            "--suite",
            "evals/support.yaml",
            "--id",
            &ids[0],
            "--tag",
            "feature:billing",
        ])
        .output();
    assert!(out.success(), "{out:?}");
    let listed = p
        .tribunal(&[
            "generate",
            "accept",
            "--suite",
            "evals/support.yaml",
            "--list",
        ])
        .output();
    insta::assert_snapshot!(format!(
        "{}\n\n{}\n\n{}\n--- evals/support.yaml\n{}",
        unknown.snapshot(),
        out.snapshot(),
        listed.snapshot(),
        p.read("evals/support.yaml")
    ));
    // The accepted cases load and run with the others.
    let run = p.run(echo_harness());
    let written = p.read("evals/support.yaml").matches("- id: ").count();
    assert!(run.load_errors.is_empty(), "{:?}", run.load_errors);
    assert_eq!(run.records.len(), written);
    // Accepting the same draft again is an error: it is no longer a draft.
    let again = p
        .tribunal(&[
            "generate",
            "accept",
            "--suite",
            "evals/support.yaml",
            "--id",
            &ids[0],
        ])
        .output();
    assert_eq!(again.code, Some(2), "{again:?}");
}

#[test]
fn drafts_are_accepted_into_a_cases_from_jsonl_file_and_an_interrupted_accept_finishes() {
    let p = TestProject::with(&[
        (
            "evals/qa.yaml",
            "suite: qa\ndefaults: {target: bot, checks: [{contains: '42'}]}\ncases_from: {file: data/qa.jsonl, id: key, input: q.text}\n",
        ),
        (
            "evals/data/qa.jsonl",
            "{\"key\": \"first\", \"q\": {\"text\": \"hi\"}}\n",
        ),
        (
            "evals/qa.drafts.jsonl",
            "{\"id\":\"d1\",\"input\":\"Where is my parcel?\",\"expected\":\"tracking\",\"tags\":[\"orders\"],\"provenance\":{\"source\":\"logs\",\"row\":{\"file\":\"logs/prod.jsonl\",\"line\":3}}}\n{\"id\":\"d2\",\"input\":\"Keep me\",\"provenance\":{\"source\":\"logs\"},\"flags\":[\"near-duplicate\"]}\n",
        ),
    ]);
    let drafts_before = p.read("evals/qa.drafts.jsonl");
    let ci = p
        .tribunal(&["generate", "accept", "--suite", "evals/qa.yaml", "--all"])
        .ci(true)
        .output();
    assert!(ci.success(), "{ci:?}");
    assert_eq!(
        p.read("evals/qa.drafts.jsonl"),
        drafts_before,
        "CI wrote the drafts"
    );
    assert_eq!(
        p.read("evals/data/qa.jsonl"),
        "{\"key\": \"first\", \"q\": {\"text\": \"hi\"}}\n"
    );
    let out = p
        .tribunal(&[
            "generate",
            "accept",
            "--suite",
            "evals/qa.yaml",
            "--id",
            "d1",
        ])
        .output();
    assert!(out.success(), "{out:?}");
    let data = p.read("evals/data/qa.jsonl");
    insta::assert_snapshot!(format!(
        "{}\n--- evals/data/qa.jsonl\n{data}--- evals/qa.drafts.jsonl\n{}",
        out.snapshot(),
        p.read("evals/qa.drafts.jsonl")
    ));
    assert!(
        !p.read("evals/qa.yaml").contains("cases:"),
        "the suite file was edited"
    );
    // An accept interrupted after writing the cases: the draft is back in
    // the drafts file. Accepting again only removes it from there.
    p.write("evals/qa.drafts.jsonl", &drafts_before);
    let rerun = p
        .tribunal(&[
            "generate",
            "accept",
            "--suite",
            "evals/qa.yaml",
            "--id",
            "d1",
        ])
        .output();
    assert!(
        rerun
            .stdout
            .contains("already accepted (removed from the drafts): d1"),
        "{rerun:?}"
    );
    assert_eq!(p.read("evals/data/qa.jsonl"), data);
    let s = tribunal::case::load_file(&p.join("evals/qa.yaml"), "evals/qa.yaml", None)
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = s.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["first", "d1"]);
}

#[test]
fn under_ci_generate_logs_writes_nothing() {
    let p = logs_project();
    let before = p.files_under(".");
    let out = generate_logs(&p, &[]).ci(true).output();
    assert!(out.success(), "{out:?}");
    assert!(
        out.stdout.contains("CI is set: nothing was written"),
        "{out:?}"
    );
    assert_eq!(p.files_under("."), before);
}

#[test]
fn bad_logs_and_rules_are_errors_naming_them() {
    let p = logs_project();
    let bad_rule = generate_logs(&p, &["--scrub", "x=a("]).output();
    let no_sample = generate_logs(&p, &["--stratify", "feature"]).output();
    let missing_file = p
        .tribunal(&[
            "generate",
            "logs",
            "--suite",
            "evals/support.yaml",
            "--from",
            "logs/prod.csv",
            "--input",
            "questoin",
        ])
        .output();
    assert_eq!(missing_file.code, Some(2), "{missing_file:?}");
    assert!(
        missing_file
            .stderr
            .starts_with("error: logs/prod.csv: cannot read `logs/prod.csv`: "),
        "{missing_file:?}"
    );
    p.write("logs/prod.csv", "question,feature\nhi,x\n");
    let missing_column_now = p
        .tribunal(&[
            "generate",
            "logs",
            "--suite",
            "evals/support.yaml",
            "--from",
            "logs/prod.csv",
            "--input",
            "questoin",
        ])
        .output();
    p.write(
        "tribunal.yaml",
        "pii:\n  rules:\n    - {name: broken, regex: '[z-a]'}\n",
    );
    let bad_config = generate_logs(&p, &[]).output();
    assert!(!p.exists("evals/support.drafts.jsonl"));
    insta::assert_snapshot!(
        [bad_rule, no_sample, missing_column_now, bad_config]
            .iter()
            .map(|o| o.snapshot())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

#[test]
fn tribunal_test_runs_rows_of_fixed_outputs_with_no_harness() {
    let p = TestProject::with(&[
        (
            "evals/logged.yaml",
            "suite: logged\ndefaults: {checks: [{contains: days}]}\ncases_from: {file: data/logged.csv, input: question, output: answer}\n",
        ),
        (
            "evals/data/logged.csv",
            "id,question,answer\nrefund,How long for a refund?,30 days\nshipping,When does it ship?,Tomorrow\nbroken,\"unclosed\" x,\n",
        ),
    ]);
    let first = test(&p, &[]).env("INSTA_UPDATE", "always").output();
    assert_eq!(first.code, Some(101), "{first:?}");
    let again = test(&p, &[]).ci(true).output();
    assert_eq!(again.code, Some(101), "{again:?}");
    insta::assert_snapshot!(again.snapshot());
    assert_eq!(
        p.files_under("evals/snapshots"),
        [
            "evals/snapshots/logged__refund.snap",
            "evals/snapshots/logged__shipping.snap"
        ]
    );
}
