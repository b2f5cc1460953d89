//! Human labels end to end: alignment of a judge against labelled outputs
//! (metrics, staleness, leave-one-out few-shot, the gate) and the terminal
//! labeller driven by piped input.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use tribunal::align::walk::{WalkOptions, walk};
use tribunal::align::{AlignOptions, Confusion, align_suite};
use tribunal::case::{Suite, load_str};
use tribunal::cli::labels::run_label;
use tribunal::labels::{HumanVerdict, Label, LabelFile, labels_path, output_hash};
use tribunal::provider::{ChatRequest, ChatResponse, Provider, ProviderError, Providers, Role};
use tribunal::registry::Registry;
use tribunal::run::{RunEnv, expand};
use tribunal::testing::FnProvider;
use tribunal::verdict::Outcome;

use crate::common::TestProject;

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let Some(start) = text.find(open) else {
        return "";
    };
    let rest = &text[start + open.len()..];
    let end = rest.find(close).unwrap_or(rest.len());
    &rest[..end]
}

fn user_prompt(request: &ChatRequest) -> &str {
    request
        .messages
        .iter()
        .find(|m| m.role == Role::User)
        .map_or("", |m| m.content.as_str())
}

type Answer = fn(&ChatRequest) -> Result<ChatResponse, ProviderError>;

/// Passes an output when it mentions "30 days"; remembers every request.
fn policy_judge() -> Arc<FnProvider<Answer>> {
    let answer: Answer = |request| {
        let output = between(user_prompt(request), "<<BEGIN OUTPUT ", "<<END OUTPUT ");
        let pass = output.contains("30 days");
        let text = format!(r#"{{"critique": "judge says {pass}", "pass": {pass}}}"#);
        Ok(ChatResponse::new(text))
    };
    Arc::new(FnProvider::new("policy-judge", answer).recording())
}

const SUITE: &str = r#"
suite: support
judge:
  provider: judge
  few_shot: 2
  min_agreement: 0.75
cases:
  - id: a
    tags: [feature:returns]
    input: Q-a
    output: Returns within 30 days.
    checks:
      - judge: {criteria: States the return window.}
        name: policy
  - id: b
    tags: [feature:returns]
    input: Q-b
    output: Sure, send it back whenever.
    checks:
      - judge: {criteria: States the return window.}
        name: policy
  - id: c
    tags: [feature:shipping]
    input: Q-c
    output: We accept returns.
    checks:
      - judge: {criteria: States the return window.}
        name: policy
  - id: d
    tags: [feature:shipping]
    input: Q-d
    output: 30 days, but only for store credit, and we keep your shoes.
    checks:
      - judge: {criteria: States the return window.}
        name: policy
  - id: e
    tags: [feature:shipping]
    input: Q-e
    output: The current answer, which nobody labelled.
    checks:
      - contains: answer
      - judge: {criteria: States the return window.}
        name: policy
"#;

fn suite(text: &str, dir: &Path) -> Arc<Suite> {
    Arc::new(load_str(text, "evals/support.yaml", dir, None).expect("suite loads"))
}

fn label(case: &str, verdict: HumanVerdict, output: &str) -> Label {
    Label {
        case: case.into(),
        variant: None,
        check: None,
        verdict,
        score: None,
        critique: format!("CRIT-{case}"),
        tags: Vec::new(),
        few_shot: false,
        labeller: "dana".into(),
        date: "2026-11-20".into(),
        output_sha256: output_hash(output),
        input: Some(format!("Q-{case}")),
        output: output.into(),
    }
}

fn env(root: &Path, s: &Arc<Suite>, judge: Option<Arc<dyn Provider>>) -> RunEnv {
    let mut providers = Providers::default();
    if let Some(j) = judge {
        providers.insert("judge", j);
    }
    RunEnv::new(
        root.to_path_buf(),
        Registry::default(),
        providers,
        false,
        &expand(std::slice::from_ref(s)),
    )
}

#[tokio::test]
async fn align_computes_the_tables_flags_stale_labels_and_gates() {
    let dir = TestProject::new();
    let s = suite(SUITE, dir.path());
    let mut labels = LabelFile::new("support");
    labels.upsert(label("a", HumanVerdict::Pass, "Returns within 30 days."));
    labels.upsert(label(
        "b",
        HumanVerdict::Fail,
        "Sure, send it back whenever.",
    ));
    labels.upsert(label("c", HumanVerdict::Pass, "We accept returns."));
    labels.upsert(label(
        "d",
        HumanVerdict::Fail,
        "30 days, but only for store credit, and we keep your shoes.",
    ));
    // Labelled an output the case no longer produces.
    labels.upsert(label("e", HumanVerdict::Pass, "An older answer: 30 days."));
    labels.upsert(label("gone", HumanVerdict::Pass, "x"));
    labels
        .save(&labels_path(dir.path(), "support", None))
        .expect("save");

    let judge = policy_judge();
    let env = env(dir.path(), &s, Some(judge.clone()));
    let report = align_suite(&env, &s, &labels, &AlignOptions::default())
        .await
        .expect("align");

    // Held-out split: the few-shot pool is 2 labels by id hash, fail first:
    // b (the first fail) and gone (the first pass). b is judged but not
    // measured; gone names no case.
    let pool: Vec<&str> = tribunal::labels::split::few_shot_pool(&labels, 2)
        .iter()
        .map(|l| l.case.as_str())
        .collect();
    assert_eq!(pool, ["b", "gone"]);
    let few: Vec<&str> = report.few_shot.iter().map(|i| i.case.as_str()).collect();
    assert_eq!(few, ["b"]);
    // Measured: a: tp, c: human pass / judge fail, d: human fail / judge pass.
    assert_eq!(
        report.overall,
        Confusion {
            tp: 1,
            fn_: 1,
            fp: 1,
            tn: 0
        }
    );
    // po = 1/3; human and judge pass 2/3 each: pe = 4/9 + 1/9 = 5/9;
    // κ = (1/3 − 5/9)/(4/9) = −0.5.
    assert!((report.overall.accuracy().expect("n > 0") - 1.0 / 3.0).abs() < 1e-12);
    assert!((report.overall.kappa().expect("defined") + 0.5).abs() < 1e-12);
    assert_eq!(
        report.per_tag["feature:returns"],
        Confusion {
            tp: 1,
            fn_: 0,
            fp: 0,
            tn: 0
        }
    );
    assert_eq!(report.per_tag["feature:shipping"].n(), 2);
    assert_eq!(report.per_check["policy"].n(), 3);
    assert_eq!(report.stale, vec!["e".to_string()]);
    assert_eq!(report.invalid.len(), 1, "{:?}", report.invalid);
    assert!(report.invalid[0].contains("gone"));
    assert_eq!(report.min_agreement, Some(0.75));
    assert!(!report.gate_holds());
    // The report: every disagreement with both critiques, the stale and
    // invalid labels, the failed gate.
    insta::assert_snapshot!("align_report", dir.normalize(&report.render()));

    // Leave-one-out: every prompt shows other cases' critiques, never its own.
    let requests = judge.requests();
    let prompts: Vec<&str> = requests.iter().map(user_prompt).collect();
    assert_eq!(prompts.len(), 4);
    for p in prompts {
        let input = between(p, "<<BEGIN INPUT ", "<<END INPUT ");
        let case = input.rsplit("Q-").next().unwrap_or("").trim();
        assert!(!case.is_empty(), "{p}");
        assert!(
            !p.contains(&format!("CRIT-{case}")),
            "case {case} saw its own label"
        );
        assert!(p.contains("CRIT-"), "other labels are examples");
    }

    // With stale labels included, e is judged too (on the labelled output).
    let options = AlignOptions {
        include_stale: true,
        min_agreement: Some(0.5),
        ..AlignOptions::default()
    };
    let report = align_suite(&env, &s, &labels, &options)
        .await
        .expect("align");
    assert_eq!(report.overall.n(), 4, "b stays a few-shot label");
    assert_eq!(report.overall.tp, 2, "e's labelled output mentions 30 days");
    assert!(report.gate_holds(), "2 of 4 >= 0.5");
}

#[tokio::test]
async fn judge_errors_count_against_the_gate() {
    let dir = TestProject::new();
    let s = suite(SUITE, dir.path());
    let mut labels = LabelFile::new("support");
    labels.upsert(label("a", HumanVerdict::Pass, "Returns within 30 days."));
    // No judge provider registered: every judge call fails.
    let env = env(dir.path(), &s, None);
    let options = AlignOptions {
        min_agreement: Some(0.1),
        ..AlignOptions::default()
    };
    let report = align_suite(&env, &s, &labels, &options)
        .await
        .expect("align");
    assert_eq!(report.items.len(), 1);
    assert_eq!(report.items[0].judge, Outcome::Error);
    assert_eq!(report.overall.n(), 0);
    assert!(!report.gate_holds());
}

const SMALL: &str = r#"
suite: support
defaults:
  checks:
    - judge: {criteria: Answers the question.}
cases:
  - id: one
    input: Where is my order?
    output: It ships Monday.
  - id: two
    input: Can I cancel?
    output: Maybe.
"#;

#[tokio::test]
async fn label_walk_records_answers_and_detects_stale_labels() {
    let dir = TestProject::new();
    let path = labels_path(dir.path(), "support", None);
    let s = suite(SMALL, dir.path());
    let env1 = env(dir.path(), &s, None);
    let options = WalkOptions {
        labeller: "dana".into(),
        ..WalkOptions::default()
    };
    let mut shown = Vec::new();
    let input = Cursor::new("x\np\nGives a day.\nf 2\nNot an answer.\n");
    let summary = walk(&env1, &s, &path, input, &mut shown, &options)
        .await
        .expect("walk");
    assert_eq!(summary.labelled, 2);
    let shown = String::from_utf8(shown).expect("utf8");
    // What the labeller sees: each output, and the question asked again
    // after an answer it cannot read (`x`).
    insta::assert_snapshot!("label_walk", dir.normalize(&shown));
    let file = LabelFile::load(&path).expect("load").expect("written");
    assert_eq!(file.labels.len(), 2);
    let two = file.find("two", None, None).expect("two");
    assert_eq!(two.verdict, HumanVerdict::Fail);
    assert_eq!(two.score, Some(2));
    assert_eq!(two.critique, "Not an answer.");
    assert_eq!(two.labeller, "dana");
    assert_eq!(two.output_sha256, output_hash("Maybe."));
    assert_eq!(two.date.len(), 10);

    // Nothing left to label.
    let summary = walk(&env1, &s, &path, Cursor::new(""), Vec::new(), &options)
        .await
        .expect("walk");
    assert_eq!(summary.already, 2);
    assert_eq!(summary.labelled, 0);

    // The output of `two` changed: its label is stale.
    let changed = suite(
        &SMALL.replace("Maybe.", "Yes, within 24 hours."),
        dir.path(),
    );
    let env2 = env(dir.path(), &changed, None);
    let summary = walk(
        &env2,
        &changed,
        &path,
        Cursor::new(""),
        Vec::new(),
        &options,
    )
    .await
    .expect("walk");
    assert_eq!((summary.already, summary.stale), (1, 1));
    let relabel = WalkOptions {
        relabel_stale: true,
        ..options.clone()
    };
    let mut shown = Vec::new();
    let summary = walk(
        &env2,
        &changed,
        &path,
        Cursor::new("p\nClear.\n"),
        &mut shown,
        &relabel,
    )
    .await
    .expect("walk");
    assert_eq!(summary.labelled, 1);
    let shown = String::from_utf8(shown).expect("utf8");
    assert!(shown.contains("stale label"), "{shown}");
    let file = LabelFile::load(&path).expect("load").expect("written");
    let two = file.find("two", None, None).expect("two");
    assert_eq!(two.verdict, HumanVerdict::Pass);
    assert!(two.matches_output("Yes, within 24 hours."));
}

#[test]
fn label_command_quits_and_keeps_progress() {
    let dir = TestProject::new();
    dir.write("evals/support.yaml", SMALL);
    let options = WalkOptions {
        labeller: "dana".into(),
        ..WalkOptions::default()
    };
    let mut out = Vec::new();
    run_label(
        dir.path(),
        "support",
        Cursor::new("p\nfine\nq\n"),
        &mut out,
        &options,
    )
    .expect("label");
    let file = LabelFile::load(&labels_path(dir.path(), "support", None))
        .expect("load")
        .expect("written");
    assert_eq!(file.labels.len(), 1);
    assert_eq!(file.labels[0].case, "one");
    let err = run_label(dir.path(), "nope", Cursor::new(""), Vec::new(), &options)
        .expect_err("unknown suite");
    assert!(err.contains("no suite `nope`"), "{err}");
}

#[test]
fn example_projects_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples");
    for (project, suite_name, labelled) in
        [("support", "support", 5), ("audiences", "audiences", 0)]
    {
        let dir = root.join(project);
        let file = dir.join(format!("evals/{suite_name}.yaml"));
        let s = tribunal::case::load_file(&file, &file.display().to_string(), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.name, suite_name);
        let judges = s
            .cases
            .iter()
            .flat_map(|c| &c.checks)
            .filter(|c| c.kind_name == "judge")
            .count();
        assert_eq!(judges, s.cases.len(), "every case has a judge");
        let labels = LabelFile::load(&labels_path(&dir, suite_name, None)).expect("labels");
        let labels = labels.map(|l| l.labels).unwrap_or_default();
        assert_eq!(labels.len(), labelled);
        for l in &labels {
            assert!(l.is_consistent(), "{}: hash matches output", l.case);
            let case = s
                .cases
                .iter()
                .find(|c| c.id == l.case)
                .expect("labelled case exists");
            let output = case
                .output
                .as_ref()
                .and_then(|o| o.as_str())
                .expect("fixed output");
            assert!(l.matches_output(output), "{}: label is fresh", l.case);
            assert!(!l.critique.is_empty());
        }
    }
}

#[test]
fn align_command_reports_and_gates() {
    let dir = TestProject::new();
    // Without few-shot examples: the one label is measured.
    dir.write("evals/support.yaml", SUITE.replace("  few_shot: 2\n", ""));
    let err = tribunal::cli::labels::run_align(dir.path(), None, &AlignOptions::default(), false)
        .expect_err("no labels anywhere");
    assert!(err.contains("no suite has a label file"), "{err}");
    let mut labels = LabelFile::new("support");
    labels.upsert(label("a", HumanVerdict::Pass, "Returns within 30 days."));
    labels
        .save(&labels_path(dir.path(), "support", None))
        .expect("save");
    // The bare CLI has no judge provider configured here: the judge errs, and
    // an error is never agreement, so the suite's min_agreement gate fails.
    let (text, ok) = tribunal::cli::labels::run_align(
        dir.path(),
        Some("support"),
        &AlignOptions::default(),
        false,
    )
    .expect("align runs");
    assert!(!ok, "{text}");
    assert!(text.contains("human pass, judge error"), "{text}");
    let (json, _) = tribunal::cli::labels::run_align(
        dir.path(),
        Some("support"),
        &AlignOptions::default(),
        true,
    )
    .expect("align runs");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json report");
    assert_eq!(v[0]["suite"], "support");
    assert_eq!(v[0]["min_agreement"], 0.75);
}
