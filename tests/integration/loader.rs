//! The YAML loader's error reporting: every broken file under `tests/ui/`
//! is reported exactly as its `.stderr` says (`file:line:col`, message,
//! hint), every problem of a file is reported (not only the first), valid
//! files load with the right cases and variants, and no input at all makes
//! the loader panic.

use std::path::Path;

use proptest::prelude::*;
use tribunal::case::{KnownNames, LoadError, Suite, SuiteErrors, load_str};

use crate::common::TestProject;

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

/// Broken suites as files: every `tests/ui/*.yaml` is loaded (with the Rust
/// target `bot` and the Rust check `polite` registered) and what the loader
/// reports must equal its `tests/ui/*.stderr` byte for byte.
///
/// To add a case, write the YAML file and run
/// `TRIBUNAL_BLESS=1 cargo test --test integration loader::broken_suites` to write its
/// `.stderr`; read the result before committing it. Blessing is refused
/// under `CI=true`, where nothing in the tree is written.
#[test]
fn broken_suites_report_exactly_their_stderr() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let bless = std::env::var("TRIBUNAL_BLESS").is_ok_and(|v| v == "1");
    // The same rule as tribunal's own CI detection.
    let ci = ["CI", "TF_BUILD"].iter().any(|k| {
        std::env::var(k).is_ok_and(|v| {
            let v = v.trim();
            !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")
        })
    });
    assert!(
        !(bless && ci),
        "TRIBUNAL_BLESS=1 is refused under CI: nothing in the tree is written in CI"
    );
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/ui exists")
        .map(|e| e.expect("readable entry").path())
        .collect();
    files.sort();
    let yamls: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    assert!(
        yamls.len() >= 60,
        "tests/ui lost its cases: {}",
        yamls.len()
    );
    let mut failures = Vec::new();
    for stray in files.iter().filter(|p| {
        p.extension().is_some_and(|x| x == "stderr") && !p.with_extension("yaml").exists()
    }) {
        failures.push(format!("{} has no .yaml beside it", stray.display()));
    }
    for yaml in yamls {
        let name = yaml.file_name().expect("file name").to_string_lossy();
        let display = format!("tests/ui/{name}");
        let actual = match tribunal::case::load_file(yaml, &display, Some(&known())) {
            Ok(suite) => format!(
                "{display} loaded with {} case(s), but every file in tests/ui must be broken\n",
                suite.cases.len()
            ),
            Err(e) => format!("{e}\n"),
        };
        let stderr = yaml.with_extension("stderr");
        let expected = std::fs::read_to_string(&stderr).unwrap_or_default();
        if actual == expected {
            continue;
        }
        if bless {
            std::fs::write(&stderr, &actual).expect("write .stderr");
            continue;
        }
        let diff = similar::TextDiff::from_lines(&expected, &actual)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        failures.push(format!("{display}:\n{diff}"));
    }
    assert!(
        failures.is_empty(),
        "{} broken suite(s) report something else than their .stderr (TRIBUNAL_BLESS=1 rewrites them):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A suite that lists more variants than a suite may run is refused whole,
/// before any trial is built.
#[test]
fn a_suite_may_list_at_most_max_variants() {
    let mut text = String::from("suite: s\nvariants:\n");
    for i in 0..=tribunal::case::MAX_VARIANTS {
        text.push_str(&format!("  - id: v{i}\n"));
    }
    text.push_str("cases:\n  - id: a\n    output: x\n    checks: [contains: x]\n");
    assert_eq!(
        render(&errors(&text)),
        "evals/x.yaml:2:1: the suite lists 1001 variants, more than the 1000 a suite may run (hint: split the suite into several files)"
    );
}

/// Cases × variants is bounded per file: a small matrix over many cases
/// cannot expand into millions of trials.
#[test]
fn a_suite_may_expand_to_at_most_max_trials() {
    let mut text = String::from(
        "suite: s\nmatrix:\n  a: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n  b: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n  c: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\ndefaults:\n  checks: [contains: x]\ncases:\n",
    );
    for i in 0..101 {
        text.push_str(&format!("  - {{id: c{i}, output: x}}\n"));
    }
    assert_eq!(
        render(&errors(&text)),
        "evals/x.yaml:8:1: the suite expands to 101000 trials (101 cases under 1000 variants), more than the 100000 one file may hold (hint: split the suite into several files)"
    );
    // 100 cases are within the limit.
    let within: String = text
        .lines()
        .take(8 + 100)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(load(&within).expect("loads").cases.len(), 100);
}

/// A suite file larger than the limit is refused without reading it all.
#[test]
fn a_suite_file_is_at_most_max_file_bytes() {
    let dir = TestProject::new();
    let path = dir.path().join("big.yaml");
    let mut text = String::from("suite: big\ncases: []\n#");
    text.push_str(&"x".repeat(usize::try_from(tribunal::case::MAX_FILE_BYTES).expect("fits")));
    std::fs::write(&path, text).expect("write");
    let err = tribunal::case::load_file(&path, "evals/big.yaml", None).expect_err("too large");
    assert_eq!(
        err.to_string(),
        "evals/big.yaml:1:1: the file is larger than 16 MiB (hint: split the suite into several files)"
    );
}

/// A named pipe called `x.yaml` under `evals/` is an error of its own file
/// (opening it would wait for a writer forever); the other files load.
#[cfg(unix)]
#[test]
fn a_fifo_named_like_a_suite_is_an_error_not_a_hang() {
    let root = TestProject::new();
    let evals = root.path().join("evals");
    std::fs::create_dir(&evals).expect("evals");
    std::fs::write(
        evals.join("good.yaml"),
        "cases:\n  - id: a\n    output: x\n    checks: [contains: x]\n",
    )
    .expect("write");
    crate::common::make_fifo(&evals.join("x.yaml"));
    let root_path = root.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let files = tribunal::case::discover(&root_path.join("evals")).expect("found");
        let _ = tx.send(tribunal::case::load_files(&root_path, &files, None));
    });
    let loaded = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("loading a FIFO must not block");
    assert_eq!(loaded.suites.len(), 1);
    let broken: Vec<String> = loaded.broken.iter().map(ToString::to_string).collect();
    assert_eq!(
        broken,
        [
            "evals/x.yaml:1:1: not a regular file (a named pipe) (hint: suite files must be plain files; remove it or rename it so it does not end in .yaml)"
        ]
    );
}

/// Every ` ```yaml ` block under `docs/` is what it claims to be: ` ```yaml `
/// a suite file that loads, ` ```yaml case ` one case's keys that load as a
/// case (under a default check, with a fixed output unless it sets a
/// target), ` ```yaml fragment ` valid YAML (docs/format.md, "Examples in
/// these docs").
#[test]
fn docs_yaml_blocks_load() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut pages = Vec::new();
    let mut stack = vec![docs.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("docs readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    let mut checked = 0;
    let mut failures = Vec::new();
    for page in &pages {
        let shown = page
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(page)
            .display()
            .to_string();
        let text = std::fs::read_to_string(page).expect("page readable");
        for block in yaml_blocks(&text) {
            checked += 1;
            let at = format!("{shown}:{}", block.line);
            if let Err(problem) = check_doc_block(&block) {
                failures.push(format!("{at} (```yaml {}): {problem}", block.kind));
            }
        }
    }
    assert!(
        checked >= 15,
        "only {checked} yaml blocks found under docs/"
    );
    assert!(
        failures.is_empty(),
        "{} yaml block(s) in docs/ do not load:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

struct DocBlock {
    /// The line of the opening fence.
    line: usize,
    /// The words after `yaml` in the fence (`""`, `case`, `fragment`).
    kind: String,
    /// The block's text, with the fence's indentation removed.
    text: String,
}

fn yaml_blocks(page: &str) -> Vec<DocBlock> {
    // (fence indentation, the block when it is a yaml one)
    let mut open: Option<(usize, Option<DocBlock>)> = None;
    let mut blocks = Vec::new();
    for (i, line) in page.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let fence = trimmed
            .strip_prefix("```")
            .filter(|info| !info.starts_with('`'));
        match (&mut open, fence) {
            (None, Some(info)) => {
                let mut words = info.split_whitespace();
                let block = (words.next() == Some("yaml")).then(|| DocBlock {
                    line: i + 1,
                    kind: words.collect::<Vec<_>>().join(" "),
                    text: String::new(),
                });
                open = Some((indent, block));
            }
            (Some(_), Some(_)) => {
                if let Some((_, Some(block))) = open.take() {
                    blocks.push(block);
                }
            }
            (Some((fence_indent, Some(block))), None) => {
                block.text.push_str(&line[(*fence_indent).min(indent)..]);
                block.text.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

fn check_doc_block(block: &DocBlock) -> Result<(), String> {
    let rendered = |e: SuiteErrors| e.to_string();
    match block.kind.as_str() {
        "" => load_str(&block.text, "docs-example.yaml", Path::new("evals"), None)
            .map(|_| ())
            .map_err(rendered),
        "case" => {
            // A case needs checks and a target or output; the example shows
            // some of its keys, the rest come from the defaults.
            let mut suite = String::from(
                "suite: example\ndefaults:\n  checks: [contains: example]\ncases:\n  - id: example\n",
            );
            let indent = block
                .text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.len() - l.trim_start().len())
                .min()
                .unwrap_or(0);
            let lines: Vec<&str> = block
                .text
                .lines()
                .map(|l| l.get(indent..).unwrap_or(""))
                .collect();
            if !lines.iter().any(|l| l.starts_with("target:")) {
                suite.push_str("    output: example\n");
            }
            for l in lines {
                suite.push_str("    ");
                suite.push_str(l);
                suite.push('\n');
            }
            load_str(&suite, "docs-example.yaml", Path::new("evals"), None)
                .map(|_| ())
                .map_err(rendered)
        }
        "fragment" => tribunal::case::yaml::parse(&block.text)
            .map(|_| ())
            .map_err(|e| format!("{}:{}: {}", e.line, e.col, e.message)),
        other => Err(format!(
            "unknown kind `{other}`: write ```yaml, ```yaml case or ```yaml fragment"
        )),
    }
}

/// The inline `{…}` shapes in docs/format.md's tables are valid YAML flow
/// mappings, so that copying one into a suite works.
#[test]
fn docs_inline_flow_mappings_are_valid_yaml() {
    let page =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/format.md"))
            .expect("docs/format.md");
    let mut checked = 0;
    let mut failures = Vec::new();
    for (i, line) in page.lines().enumerate().filter(|(_, l)| l.starts_with('|')) {
        for (j, span) in line.split('`').enumerate() {
            if j % 2 == 1 && span.starts_with('{') && span.ends_with('}') {
                checked += 1;
                let yaml = format!("x: {}\n", span.replace("\\|", "|"));
                if let Err(e) = tribunal::case::yaml::parse(&yaml) {
                    failures.push(format!("docs/format.md:{}: `{span}`: {}", i + 1, e.message));
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} inline mappings found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A file with a problem in every one of 150 cases reports the first 100
/// and counts the rest.
#[test]
fn at_most_max_errors_are_reported_per_file() {
    let mut text = String::from("defaults:\n  checks: [contains: x]\ncases:\n");
    for i in 0..150 {
        text.push_str(&format!("  - {{id: 'bad id {i}', output: x}}\n"));
    }
    let errs = errors(&text);
    assert_eq!(errs.len(), tribunal::case::MAX_ERRORS + 1);
    assert_eq!(
        errs[99].to_string(),
        "evals/x.yaml:103:10: invalid case id `bad id 99` (hint: ids name trials and snapshot files: use letters, digits, `_`, `-` and `.`, starting with a letter or digit)"
    );
    assert_eq!(
        errs[100].to_string(),
        "evals/x.yaml:104:10: … and 50 more problems in this file (the first 100 are shown) (hint: fix these first; the others show on the next run)"
    );
}
