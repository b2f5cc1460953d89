//! Judge overhead benchmark: everything a judge check costs besides the
//! model call itself (prompt rendering, fencing, parsing, voting), and the
//! cost of alignment statistics and label files. Run with
//! `cargo bench --bench judge`; it prints one line per measurement.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value, json};
use tribunal::align::{AlignReport, Freshness, Item};
use tribunal::check::judge::{JudgeCheck, SuiteJudge};
use tribunal::check::{Check, CheckCx, ParseCx, TrialView};
use tribunal::labels::{HumanVerdict, Label, LabelFile, labels_path, output_hash};
use tribunal::provider::{ChatRequest, ChatResponse, ProviderError, Providers};
use tribunal::registry::Registry;
use tribunal::run::RunEnv;
use tribunal::testing::FnProvider;
use tribunal::verdict::{Outcome, Output};

/// Answers instantly, so the measurement is tribunal's own work.
fn instant(request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
    let text = match &request.response_format {
        Some(tribunal::provider::ResponseFormat::JsonSchema { name, .. })
            if name == "judge_pairwise" =>
        {
            r#"{"reasoning": "A is clearer.", "winner": "tie"}"#
        }
        Some(tribunal::provider::ResponseFormat::JsonSchema { name, .. })
            if name == "judge_score" =>
        {
            r#"{"reasoning": "Mostly right; one condition off.", "score": 4}"#
        }
        _ => {
            r#"{"critique": "States the window and the next step; could be shorter.", "pass": true}"#
        }
    };
    Ok(ChatResponse::new(text))
}

fn label(i: usize) -> Label {
    let output = format!("Answer number {i}: returns are accepted within 30 days of delivery.");
    Label {
        case: format!("case-{i:05}"),
        variant: None,
        check: None,
        verdict: if i.is_multiple_of(3) {
            HumanVerdict::Fail
        } else {
            HumanVerdict::Pass
        },
        score: None,
        critique: format!("Critique {i}: the reply should name the next step."),
        tags: Vec::new(),
        few_shot: false,
        labeller: "bench".into(),
        date: "2026-11-25".into(),
        output_sha256: output_hash(&output),
        input: Some(format!("Question {i}?")),
        output,
    }
}

fn bench<F: FnMut()>(what: &str, iterations: u32, mut f: F) {
    for _ in 0..iterations.min(20) {
        f();
    }
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let per = started.elapsed().as_secs_f64() / f64::from(iterations);
    println!(
        "{what:<58} {:>10.1} µs/op  ({iterations} iterations)",
        per * 1e6
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut labels = LabelFile::new("bench");
    for i in 0..200 {
        labels.upsert(label(i));
    }
    labels
        .save(&labels_path(dir.path(), "bench", None))
        .expect("save labels");

    let mut providers = Providers::default();
    providers.insert("judge", Arc::new(FnProvider::new("instant", instant)));
    let env = RunEnv::new(
        dir.path().to_path_buf(),
        Registry::default(),
        providers,
        false,
        &[],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let output = Output::text("Returns are accepted within 30 days of delivery. ".repeat(40));
    let input = json!("Can I return shoes I bought 45 days ago?");
    let expected = json!("No: the window is 30 days.");
    let vars = Map::new();
    let suite_dir = PathBuf::from(dir.path());
    let suite_judge = SuiteJudge::default();
    let span = tribunal::verdict::parse_span("evals/bench.yaml:1:1");
    // Each measurement loads the check (as the loader does once per suite)
    // and runs it once.
    let check = |params: Value| {
        let cx = ParseCx::new(&span, &suite_dir, &suite_judge);
        let judge = JudgeCheck::from_value(&params, &cx).expect("params");
        let cx = CheckCx {
            name: "judge",
            trial: TrialView {
                suite: "bench",
                case_id: "case-99999",
                variant: None,
                input: &input,
                expected: Some(&expected),
                vars: &vars,
                tags: &[],
                suite_dir: &suite_dir,
            },
            output: &output,
            prior: &[],
            services: &env.services,
            baselines: &env,
            canaries: true,
        };
        let r = rt.block_on(judge.run(&cx));
        assert!(matches!(r.outcome, Outcome::Pass), "{r:?}");
    };
    println!("judged output: {} chars", output.text.chars().count());
    bench("pass_fail, 1 call", 2000, || {
        check(json!({"provider": "judge", "criteria": "States the window."}))
    });
    bench("score 1-5 with rubric, 1 call", 2000, || {
        check(json!({"provider": "judge", "mode": "score", "rubric": {"1": "bad", "5": "good"}}))
    });
    bench(
        "pass_fail, few_shot 4 (200-label file, parsed once)",
        500,
        || check(json!({"provider": "judge", "few_shot": 4})),
    );
    bench("pass_fail, votes 5", 1000, || {
        check(json!({"provider": "judge", "votes": 5}))
    });
    bench("pairwise, both orders (2 calls)", 1000, || {
        check(json!({"provider": "judge", "mode": "pairwise", "baseline": {"output": "Sure."}}))
    });

    let items: Vec<Item> = (0..100_000u32)
        .map(|i| Item {
            case: format!("case-{i}"),
            variant: None,
            check: "policy".into(),
            tags: vec![format!("feature:{}", i % 7), format!("persona:{}", i % 3)],
            human: if i.is_multiple_of(3) {
                HumanVerdict::Fail
            } else {
                HumanVerdict::Pass
            },
            judge: if i.is_multiple_of(5) {
                Outcome::Fail
            } else {
                Outcome::Pass
            },
            human_critique: "h".into(),
            judge_critique: "j".into(),
            freshness: Freshness::Fresh,
            human_score: None,
            judge_score: None,
        })
        .collect();
    bench(
        "alignment tables: record 100k judged labels + kappa",
        5,
        || {
            let mut r = AlignReport::default();
            for it in &items {
                r.record(it.clone());
            }
            assert!(r.overall.kappa().is_some());
        },
    );
    let mut big = LabelFile::new("bench");
    for i in 0..5_000 {
        big.upsert(label(i));
    }
    let path = labels_path(dir.path(), "big", None);
    bench("label file: save 5k labels (atomic)", 10, || {
        big.save(&path).expect("save")
    });
    bench("label file: load 5k labels", 10, || {
        LabelFile::load(&path).expect("load").expect("exists");
    });
    println!(
        "label file of 5k labels: {} bytes",
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
    );
}
