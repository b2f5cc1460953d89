//! The comparison tables end to end: a model × prompt matrix run against a
//! real OpenAI-compatible server on 127.0.0.1 (the model picked by the
//! matrix axis), recorded, replayed and filtered; what the results record
//! about it (matrix axes, replayed vs live cost, the subset a filtered run
//! ran); and the variant grid, the metrics over runs and the error
//! analysis tribunal prints from it.

use serde_json::{Value, json};
use tribunal::provider::mock::{MockReply, MockRequest, MockServer};

use crate::common::{CliOutput, TestProject};

/// Two models and a judge. `bot-large` answers with the policy, `bot-small`
/// only for the refund question; the `polite` prompt adds a greeting. The
/// judge scores 1 + 2 (policy) + 1 (greeting), and the answers cost what
/// their tokens do at the prices of tribunal.yaml.
fn server() -> MockServer {
    MockServer::start(true, |req: &MockRequest, _| {
        let body = req.json();
        let last = body["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_string();
        let system = body["messages"][0]["content"].as_str().unwrap_or_default();
        let text = match body["model"].as_str().unwrap_or_default() {
            "judge" => {
                let output = last
                    .split("<<BEGIN OUTPUT")
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                let score = 1
                    + 2 * i64::from(output.contains("30 days"))
                    + i64::from(output.contains("Hello"));
                json!({"reasoning": format!("policy and greeting give {score}"), "score": score})
                    .to_string()
            }
            model => {
                let knows = model == "bot-large" || last.contains("refund");
                let answer = if knows {
                    "Within 30 days of delivery."
                } else {
                    "I do not know."
                };
                if system.contains("polite") {
                    format!("Hello! {answer}")
                } else {
                    answer.to_string()
                }
            }
        };
        MockReply::openai(&text, 1000, 500)
    })
    .expect("mock server")
}

fn project(url: &str) -> TestProject {
    TestProject::new()
        .file(
            "tribunal.yaml",
            &format!(
                "providers:
  bot-small: {{kind: openai, model: bot-small, base_url: {url}/v1, price: {{input_per_mtok: 1, output_per_mtok: 2}}}}
  bot-large: {{kind: openai, model: bot-large, base_url: {url}/v1, price: {{input_per_mtok: 10, output_per_mtok: 20}}}}
  judge: {{kind: openai, model: judge, base_url: {url}/v1}}
"
            ),
        )
        .file(
            "evals/shop.yaml",
            r#"suite: shop
matrix:
  model: [small, large]
  prompt: [plain, polite]
defaults:
  target:
    prompt:
      provider: "bot-{{ model }}"
      system: "You are a {{ prompt }} assistant."
      template: "Customer: {{ input }}"
  checks:
    - judge: {mode: score, criteria: States the policy and greets., min_score: 4, provider: judge}
      name: quality
cases:
  - id: refund
    tags: [feature:refunds, persona:new]
    input: How long do I have to ask for a refund?
  - id: return
    tags: [feature:returns, persona:new]
    input: How long can I return shoes?
  - id: exchange
    tags: [feature:returns, persona:returning]
    input: How long can I exchange a shirt?
  - id: warranty
    tags: [feature:warranty, persona:returning]
    input: How long is the warranty?
  - id: delivery
    tags: [feature:shipping, persona:new]
    input: How long does delivery take?
  - id: cancel
    tags: [feature:orders, persona:returning]
    input: How long do I have to cancel an order?
"#,
        )
}

fn test_run(p: &TestProject, mode: &str, args: &[&str]) -> CliOutput {
    let mut all = vec!["test", "--root", "."];
    all.extend_from_slice(args);
    p.tribunal(&all)
        .env("TRIBUNAL_MODE", mode)
        .env("OPENAI_API_KEY", "sk-test-not-a-real-key")
        .output()
}

fn last(p: &TestProject) -> Value {
    serde_json::from_str(&p.read("target/tribunal/last.json")).expect("results JSON")
}

/// Latencies are measured: they differ between runs.
fn without_latency(text: &str) -> String {
    let re = regex::Regex::new(r"\d+(\.\d+)? (ms|s) / \d+(\.\d+)? (ms|s)").expect("regex");
    re.replace_all(text, "[P50] / [P95]").into_owned()
}

#[test]
fn a_model_by_prompt_matrix_is_recorded_replayed_and_compared() {
    let server = server();
    let p = project(&server.url());

    // Recording: every call is live and spends money.
    let out = test_run(&p, "record", &[]);
    assert!(out.stderr.contains("24 trials"), "{out:?}");
    assert!(
        out.stderr.contains(
            "model calls: 0 replayed ($0.0000 recorded, not spent) · 48 live ($0.2640 spent)"
        ),
        "{}",
        out.stderr
    );
    let rec = last(&p);
    assert_eq!(rec["variant_axes"], json!({"shop": ["model", "prompt"]}));
    assert_eq!(rec.get("subset"), None);
    // 24 target calls (12 at $0.002, 12 at $0.02) and 24 unpriced judge calls.
    let spend = &rec["spend"];
    assert_eq!(spend["live_calls"], 48, "{spend}");
    assert_eq!(spend["replayed_calls"], 0);
    assert!(
        (spend["spent_usd"].as_f64().expect("spent") - 0.264).abs() < 1e-9,
        "{spend}"
    );
    assert_eq!(spend["replayed_usd"], 0.0);
    // The matrix axis picked the model: both models were called.
    let models: std::collections::BTreeSet<String> = server
        .requests()
        .iter()
        .map(|r| r.json()["model"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        models.into_iter().collect::<Vec<_>>(),
        ["bot-large", "bot-small", "judge"]
    );

    // Replaying: the same recorded cost, nothing spent, no call made.
    let calls = server.requests().len();
    let out = test_run(&p, "replay", &[]);
    assert_eq!(server.requests().len(), calls, "replay calls nobody");
    assert!(
        out.stderr.contains(
            "model calls: 48 replayed ($0.2640 recorded, not spent) · 0 live ($0.0000 spent)"
        ),
        "{}",
        out.stderr
    );
    let spend = &last(&p)["spend"];
    assert_eq!(spend["replayed_calls"], 48, "{spend}");
    assert_eq!(
        (spend["live_calls"].clone(), spend["spent_usd"].clone()),
        (json!(0), json!(0.0))
    );
    assert!((spend["replayed_usd"].as_f64().expect("replayed") - 0.264).abs() < 1e-9);

    // The grid, the variant table and the significance marks.
    let out = p
        .tribunal(&["report", "--format", "matrix", "--root", "."])
        .output();
    insta::assert_snapshot!("shop_variant_matrix", without_latency(&out.stdout));

    // The error analysis: two tag keys, chosen automatically, or by --by.
    let out = p.tribunal(&["report", "--root", "."]).output();
    let analysis = &out.stdout[out.stdout.find("error analysis:").expect("analysis")..];
    insta::assert_snapshot!("shop_error_analysis_terminal", analysis);
    let out = p
        .tribunal(&[
            "report",
            "--root",
            ".",
            "--by",
            "persona,feature",
            "--format",
            "markdown",
        ])
        .output();
    let md = &out.stdout[out.stdout.find("### Error analysis").expect("analysis")..];
    insta::assert_snapshot!("shop_error_analysis_markdown", md);
    let out = p
        .tribunal(&["report", "--root", ".", "--by", "feature,team"])
        .output();
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!("shop_by_unknown_key", out.stderr);
    let out = p
        .tribunal(&["report", "--root", ".", "--by", "feature"])
        .output();
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("`feature` is not two tag keys (hint: write two keys of `key:value` tags separated by a comma, e.g. `--by feature,persona`)"), "{}", out.stderr);

    // A filtered run records what selected it and is left out of trends.
    test_run(&p, "replay", &["refund"]);
    assert_eq!(last(&p)["subset"], "filter `refund`");
    let out = p
        .tribunal(&["history", "--root", ".", "--format", "json"])
        .output();
    let t: Value = serde_json::from_str(&out.stdout).expect("history JSON");
    let ids = |v: &Value| v.as_array().map(Vec::len).unwrap_or(0);
    assert_eq!((ids(&t["points"]), ids(&t["left_out"])), (2, 1), "{t}");
    assert_eq!(t["judges"], json!(["shop: quality"]));
    assert_eq!(
        t["points"][0]["spend"]["spent_usd"]
            .as_f64()
            .map(|s| (s * 1000.0).round()),
        Some(264.0)
    );
    assert_eq!(t["points"][1]["spend"]["spent_usd"], 0.0);
    // Sums over the six cases: small+plain 3+1·5, small+polite 4+2·5,
    // large+plain 3·6, large+polite 4·6: 64/24 over the run.
    let mean = t["points"][1]["judges"][0][1].as_f64().expect("mean");
    assert!((mean - 64.0 / 24.0).abs() < 1e-12, "{t}");
    let out = p
        .tribunal(&["history", "--root", ".", "--include-subsets"])
        .output();
    assert_eq!(
        out.stdout.matches(" (subset) |").count(),
        1,
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("| `")).count(),
        3
    );
}

#[test]
fn a_provider_template_with_an_unknown_variable_fails_only_its_trials() {
    let server = server();
    let p = project(&server.url()).file(
        "evals/typo.yaml",
        r#"suite: typo
matrix:
  model: [small]
cases:
  - id: one
    input: hi
    target: {prompt: {provider: "bot-{{ modle }}"}}
    checks: [{contains: "30 days"}]
"#,
    );
    test_run(&p, "record", &[]);
    let run = last(&p);
    let records = run["records"].as_array().expect("records");
    let typo = records
        .iter()
        .find(|r| r["verdict"]["suite"] == "typo")
        .expect("typo trial");
    assert_eq!(typo["verdict"]["outcome"], "error");
    let error = typo["verdict"]["error"].as_str().expect("error text");
    assert!(
        error.contains("the provider") && error.contains("modle"),
        "{error}"
    );
    // The other suite's trials ran.
    let shop_errors = records
        .iter()
        .filter(|r| r["verdict"]["suite"] == "shop" && r["verdict"]["outcome"] == "error")
        .count();
    assert_eq!(shop_errors, 0);
}
