//! `tribunal import promptfoo`: promptfoo configurations written from
//! promptfoo's public documentation of `promptfooconfig.yaml` (getting
//! started, `defaultTest` with CSV tests, every assertion type), converted;
//! every written file and the report are pinned, the result passes
//! `tribunal validate`, and an imported suite runs against a loopback model.

use tribunal::provider::mock::{MockReply, MockServer};

use crate::common::{CliOutput, TestProject};

/// promptfoo's getting-started shape: two prompts × two providers.
const GETTING_STARTED: &str = r#"# A promptfoo getting-started configuration: two prompts, two providers.
description: Tweet writer
prompts:
  - "Write a tweet about {{topic}}"
  - "Write a very short, funny tweet about {{topic}}"
providers:
  - openai:gpt-4.1-mini
  - anthropic:messages:claude-haiku-4-5
tests:
  - vars:
      topic: bananas
    assert:
      - type: icontains
        value: banana
  - vars:
      topic: avocado toast
    assert:
      - type: javascript
        value: output.length <= 280
      - type: llm-rubric
        value: The tweet is funny
  - description: New York City
    vars:
      topic: new york city
    assert:
      - type: llm-rubric
        value: The tweet is about New York City
"#;

/// `defaultTest` (vars, grader, assertions with `{{ }}`) and CSV tests with
/// `__expected` columns; a chat-format JSON prompt file; provider objects.
const CSV_CONFIG: &str = r#"description: Translation assistant
prompts:
  - id: file://prompts/translate.json
    label: translate
providers:
  - id: openai:chat:gpt-4.1
    label: gpt41-cold
    config:
      temperature: 0
      max_tokens: 200
      apiKey: sk-this-is-not-a-real-key-000
  - id: openai:chat:gpt-4.1
    label: gpt41-warm
    config:
      temperature: 0.8
defaultTest:
  vars:
    tone: polite
  options:
    provider: openai:gpt-4.1-mini
  assert:
    - type: not-icontains
      value: as an ai
    - type: latency
      threshold: 5000
    - type: icontains
      value: "{{expected_word}}"
tests: file://tests.csv
"#;

const TRANSLATE_JSON: &str = r#"[
  {"role": "system", "content": "You translate English into {{language}}. Be {{tone}}."},
  {"role": "user", "content": "{{input}}"}
]
"#;

const TESTS_CSV: &str = r#"language,input,expected_word,__expected1,__expected2,__description
French,Hello world,bonjour,icontains: monde,"contains-any: Bonjour, Salut",greeting in French
Spanish,Good night,noches,grade: is a natural Spanish good-night wish,,good night in Spanish
German,"Thank you, friend",danke,"similar(0.6): Danke, Freund",fn: output.length < 40,thanks in German
"#;

/// Every assertion type: mapped, `not-` variants, weights, thresholds and
/// the unmappable ones.
const EVERY_ASSERTION: &str = r#"description: Every promptfoo assertion type
prompts:
  - id: file://prompt.txt
    label: support
providers:
  - openai:gpt-4.1-mini
tests:
  - description: Deterministic string checks
    vars:
      question: How long do I have to return shoes?
    assert:
      - type: equals
        value: You have 30 days.
      - type: contains
        value: 30 days
      - type: icontains
        value: RETURN
      - type: not-contains
        value: refund guaranteed
      - type: contains-any
        value: [days, weeks]
      - type: contains-all
        value: ["30", days]
      - type: icontains-any
        value: [SHOES, boots]
      - type: not-icontains-all
        value: [sorry, cannot]
      - type: starts-with
        value: You
      - type: regex
        value: '\d+ days'
      - type: regex
        value: '(?<=have )\d+'
      - type: word-count
        value: {min: 3, max: 50}
        weight: 2
      - type: contains
        value: days
        threshold: 0.5
  - description: Structured output
    vars:
      question: Return the policy as JSON
    assert:
      - type: is-json
      - type: is-json
        value:
          type: object
          required: [days]
          properties:
            days: {type: number}
      - type: contains-json
      - type: is-sql
      - type: not-is-json
        weight: 0
  - description: Graded by a model
    vars:
      question: Can I return worn shoes?
    threshold: 0.75
    assert:
      - type: llm-rubric
        value: Explains politely that worn shoes cannot be returned
        metric: tone
      - type: llm-rubric
        value: Is concise
        threshold: 0.8
        provider: anthropic:messages:claude-sonnet-4-5
      - type: model-graded-closedqa
        value: Mentions the 30-day window
      - type: factuality
        value: Worn shoes cannot be returned; unworn ones can within 30 days.
      - type: g-eval
        value: Coherent and helpful
      - type: not-llm-rubric
        value: Promises a refund
      - type: similar
        value: Worn shoes are not accepted for return.
        threshold: 0.7
      - type: answer-relevance
      - type: select-best
        value: most helpful answer
  - description: Code, cost and speed
    vars:
      question: What are your opening hours?
    assert:
      - type: javascript
        value: output.length < 500
      - type: python
        value: file://checks/hours.py
      - type: latency
        threshold: 3000
      - type: cost
        threshold: 0.002
      - type: levenshtein
        value: We are open 9 to 5.
        threshold: 10
      - type: rouge-n
        value: We are open from 9 to 5
      - type: is-refusal
      - type: contains
        value: hours
        transform: output.toUpperCase()
      - type: webhook
        value: https://example.com/check
      - type: asserts-set
  - description: Nothing tribunal can run
    vars:
      question: Hi
    assert:
      - type: javascript
        value: "output.includes('hi')"
"#;

const SUPPORT_PROMPT: &str = r#"You are a shoe shop assistant. Answer: {{question}}
"#;

/// Runs `tribunal import promptfoo ARGS` inside the project.
fn import(p: &TestProject, args: &[&str]) -> CliOutput {
    let mut all = vec!["import", "promptfoo"];
    all.extend_from_slice(args);
    p.tribunal(&all).output()
}

/// Every file under `dir`, each after a `=== path ===` line.
fn written(p: &TestProject, dir: &str) -> String {
    p.files_under(dir)
        .iter()
        .map(|f| format!("=== {f} ===\n{}", p.read(f)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `tribunal validate` on the imported project passes, and what it says.
fn validates(p: &TestProject, root: &str) -> String {
    let v = p.tribunal(&["validate", "--root", root]).output();
    assert!(
        v.success(),
        "the imported project does not validate:\n{v:?}"
    );
    v.stdout.trim().to_string()
}

#[test]
fn the_getting_started_config_becomes_four_variants_that_validate() {
    let p = TestProject::with(&[("promptfooconfig.yaml", GETTING_STARTED)]);
    let out = import(&p, &["promptfooconfig.yaml", "--out", "out"]);
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("getting_started_report", out.snapshot_exact());
    insta::assert_snapshot!("getting_started_files", written(&p, "out"));
    insta::assert_snapshot!("getting_started_validate", validates(&p, "out"));
}

#[test]
fn default_test_and_csv_tests_become_defaults_and_cases() {
    let p = TestProject::with(&[
        ("pf/promptfooconfig.yaml", CSV_CONFIG),
        ("pf/prompts/translate.json", TRANSLATE_JSON),
        ("pf/tests.csv", TESTS_CSV),
    ]);
    let out = import(
        &p,
        &[
            "pf/promptfooconfig.yaml",
            "--out",
            "out",
            "--suite",
            "translate",
        ],
    );
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("csv_report", out.snapshot_exact());
    let files = written(&p, "out");
    assert!(
        !files.contains("sk-this-is-not-a-real-key"),
        "an API key was written:\n{files}"
    );
    insta::assert_snapshot!("csv_files", files);
    insta::assert_snapshot!("csv_validate", validates(&p, "out"));
}

#[test]
fn every_assertion_type_is_mapped_or_kept_as_a_reported_skip() {
    let p = TestProject::with(&[
        ("promptfooconfig.yaml", EVERY_ASSERTION),
        ("prompt.txt", SUPPORT_PROMPT),
    ]);
    let out = import(&p, &["promptfooconfig.yaml", "--out", "out"]);
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("every_assertion_report", out.snapshot_exact());
    insta::assert_snapshot!("every_assertion_files", written(&p, "out"));
    insta::assert_snapshot!("every_assertion_validate", validates(&p, "out"));
}

#[test]
fn existing_files_are_listed_and_kept_unless_forced() {
    let p = TestProject::with(&[
        ("promptfooconfig.yaml", GETTING_STARTED),
        ("tribunal.yaml", "run: {concurrency: 2}\n"),
        ("evals/promptfoo.yaml", "# mine\n"),
    ]);
    let refused = import(&p, &["promptfooconfig.yaml"]);
    insta::assert_snapshot!("existing_files_refused", refused.snapshot_exact());
    assert_eq!(p.read("tribunal.yaml"), "run: {concurrency: 2}\n");
    assert_eq!(p.read("evals/promptfoo.yaml"), "# mine\n");

    let forced = import(&p, &["promptfooconfig.yaml", "--force"]);
    assert!(forced.success(), "{forced:?}");
    assert!(p.read("tribunal.yaml").contains("gpt-4.1-mini"));
    assert!(p.read("evals/promptfoo.yaml").contains("suite: promptfoo"));
}

#[test]
fn a_broken_config_is_an_error_at_its_place_with_a_hint() {
    let p = TestProject::with(&[
        (
            "bad_yaml.yaml",
            "prompts:\n  - \"Say {{x}}\"\ntests: [\n  {vars: {x: 1}\n",
        ),
        (
            "typo.yaml",
            "prompts: [hi]\nproviders: [openai:gpt-4.1-mini]\npromts: [x]\ntests: []\n",
        ),
        (
            "csv.yaml",
            "prompts: [hi]\nproviders: [openai:gpt-4.1-mini]\ntests: file://broken.csv\n",
        ),
        ("broken.csv", "question,__expected\n\"unclosed,equals: x\n"),
        (
            "missing.yaml",
            "prompts: [file://nowhere.txt]\nproviders: [openai:gpt-4.1-mini]\ntests: [{vars: {}}]\n",
        ),
        (
            "providers.yaml",
            "prompts: [hi]\nproviders: [bedrock:anthropic.claude-v2]\ntests: [{assert: [{type: equals, value: hi}]}]\n",
        ),
    ]);
    let mut all = Vec::new();
    for f in [
        "bad_yaml.yaml",
        "typo.yaml",
        "csv.yaml",
        "missing.yaml",
        "providers.yaml",
    ] {
        let out = import(&p, &[f, "--out", "out"]);
        assert_eq!(out.code, Some(2), "{out:?}");
        all.push(format!(
            "$ tribunal import promptfoo {f}\n{}",
            out.stderr.trim_end()
        ));
    }
    assert!(!p.exists("out"), "a failed import wrote files");
    insta::assert_snapshot!("broken_configs", all.join("\n"));
}

#[test]
fn an_imported_suite_runs_against_a_loopback_model() {
    let answer = r#"{"critique": "A short banana joke.", "pass": true}"#;
    let server = MockServer::start(true, move |req, _| {
        if req.path.ends_with("/messages") {
            MockReply::anthropic(answer, 12, 8)
        } else {
            MockReply::openai(answer, 12, 8)
        }
    })
    .expect("server");
    let p = TestProject::with(&[("promptfooconfig.yaml", GETTING_STARTED)]);
    let out = import(&p, &["promptfooconfig.yaml"]);
    assert!(out.success(), "{out:?}");
    let run = p
        .tribunal(&["test", "--root", "."])
        .env("TRIBUNAL_MODE", "live")
        .env("INSTA_UPDATE", "always")
        .env("OPENAI_BASE_URL", &format!("{}/v1", server.url()))
        .env("ANTHROPIC_BASE_URL", &server.url())
        .env("OPENAI_API_KEY", "test-key-openai-0001")
        .env("ANTHROPIC_API_KEY", "test-key-anthropic-0001")
        .env("TRIBUNAL_HISTORY", "off")
        .output();
    assert!(run.success(), "{run:?}");
    let mut sent: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            let body = r.json();
            let model = body["model"].as_str().unwrap_or("?").to_string();
            let last = body["messages"]
                .as_array()
                .and_then(|m| m.last())
                .map(|m| m["content"].to_string())
                .unwrap_or_default();
            let first_line: String = last.lines().next().unwrap_or("").chars().take(60).collect();
            format!("{} {model} {first_line}", r.path)
        })
        .collect();
    sent.sort();
    insta::assert_snapshot!("loopback_requests", sent.join("\n"));
    let mut snaps = p.files_under("evals/snapshots");
    snaps.sort();
    insta::assert_snapshot!("loopback_snapshots", snaps.join("\n"));
    // The unmappable `javascript` assertion is in the verdict as a skipped
    // check with its reason; the judge decided the case.
    insta::assert_snapshot!(
        "loopback_skipped_check_in_the_verdict",
        p.read("evals/snapshots/promptfoo__test-2__prompt-1_gpt-4.1-mini.snap")
    );
}

/// The fenced block of `kind` (`yaml fragment`, `yaml`) that comes `nth`
/// after `heading` in `text`.
fn block_after(text: &str, heading: &str, kind: &str, nth: usize) -> String {
    let from = text.find(heading).expect("heading");
    let fence = format!("```{kind}\n");
    let mut rest = &text[from..];
    let mut found = None;
    for _ in 0..=nth {
        let start = rest.find(&fence).expect("block") + fence.len();
        let end = start + rest[start..].find("```").expect("closed");
        found = Some(rest[start..end].to_string());
        rest = &rest[end + 3..];
    }
    found.expect("block")
}

#[test]
fn the_worked_example_in_the_migration_guide_is_what_the_import_writes() {
    let doc =
        std::fs::read_to_string(crate::common::repo_root().join("docs/migrate-from-promptfoo.md"))
            .expect("docs/migrate-from-promptfoo.md");
    let config = block_after(&doc, "## A worked example", "yaml fragment", 0);
    let suite = block_after(&doc, "## A worked example", "yaml", 0);
    let providers = block_after(&doc, "## A worked example", "yaml fragment", 1);
    let p = TestProject::with(&[("promptfooconfig.yaml", &config)]);
    let out = import(&p, &["promptfooconfig.yaml"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(
        p.read("evals/promptfoo.yaml"),
        suite,
        "the guide's suite is stale"
    );
    assert_eq!(
        p.read("tribunal.yaml"),
        providers,
        "the guide's tribunal.yaml is stale"
    );
    let shown = block_after(&doc, "## A worked example", "text", 0);
    let printed = format!(
        "$ tribunal import promptfoo promptfooconfig.yaml\n{}{}",
        out.stderr, out.stdout
    );
    assert_eq!(printed, shown, "the guide's terminal output is stale");
}

#[test]
fn a_case_decided_by_skip_checks_alone_is_an_error_never_a_pass() {
    let p = TestProject::with(&[(
        "evals/s.yaml",
        "suite: s\ncases:\n  - id: only-skips\n    output: hello\n    checks:\n      - skip: needs JavaScript\n        original: {type: javascript, value: \"output.length < 9\"}\n",
    )]);
    let run = p
        .tribunal(&["test", "--root", ".", "--", "--quiet"])
        .env("TRIBUNAL_HISTORY", "off")
        .env("INSTA_UPDATE", "no")
        .output();
    assert_eq!(run.code, Some(101), "{run:?}");
    insta::assert_snapshot!("only_skip_checks_run", run.snapshot());
    let bad = TestProject::with(&[(
        "evals/s.yaml",
        "suite: s\ncases:\n  - id: a\n    output: hello\n    checks:\n      - skip: \"\"\n      - contains: hello\n        skip: oops\n",
    )]);
    let v = bad.tribunal(&["validate", "--root", "."]).output();
    insta::assert_snapshot!("skip_check_load_errors", v.snapshot_exact());
}

#[test]
fn an_oversized_config_is_refused_before_it_is_parsed() {
    let p = TestProject::new();
    // A sparse file one byte over the limit: the size is refused before a
    // byte is read, so its content does not matter (and costs no disk).
    p.write("promptfooconfig.yaml", "prompts: [hi]\n");
    std::fs::OpenOptions::new()
        .write(true)
        .open(p.join("promptfooconfig.yaml"))
        .and_then(|f| f.set_len((16 << 20) + 1))
        .expect("grow the file");
    let out = import(&p, &["promptfooconfig.yaml"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!("oversized_config", out.stderr.trim_end());
}

#[test]
fn filters_list_vars_and_missing_vars_are_carried_over_or_reported() {
    let config = r#"prompts:
  - raw: "Summarize for {{audience}}: {{text}}"
    label: summary
  - raw: "TL;DR {{text}}"
    label: tldr
providers:
  - id: openai:gpt-4.1-mini
    label: mini
  - ollama:chat:llama3.2
tests:
  - description: Short texts
    vars:
      text: [The sky is blue., Water is wet.]
      audience: kids
    assert:
      - type: word-count
        value: {max: 30}
  - description: Only on the mini model
    providers: [mini]
    vars:
      text: Long text
    assert:
      - type: contains
        value: text
  - description: Fixed output
    providerOutput: "A fixed answer"
    assert:
      - type: icontains
        value: fixed
    metadata:
      area: summaries
"#;
    let p = TestProject::with(&[("promptfooconfig.yaml", config)]);
    let out = import(&p, &["promptfooconfig.yaml", "--out", "out"]);
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("filters_report", out.snapshot_exact());
    insta::assert_snapshot!("filters_files", written(&p, "out"));
    insta::assert_snapshot!("filters_validate", validates(&p, "out"));
}

/// `tests: file://tests/*.yaml` (promptfoo's documented glob form) reads
/// every matching file, sorted, relative to the configuration's folder; a
/// glob matching nothing is an error at its place.
#[test]
fn test_file_globs_are_expanded_in_order() {
    let config = "prompts: [\"Answer: {{q}}\"]\nproviders: [openai:gpt-4.1-mini]\ntests:\n  - file://tests/*.yaml\n  - vars: {q: inline}\n";
    let p = TestProject::with(&[
        ("pf/promptfooconfig.yaml", config),
        (
            "pf/tests/b.yaml",
            "- vars: {q: second}\n  assert: [{type: contains, value: b}]\n",
        ),
        (
            "pf/tests/a.yaml",
            "- vars: {q: first}\n  assert: [{type: contains, value: a}]\n",
        ),
        ("pf/tests/notes.txt", "not a test file, not matched\n"),
        ("pf/tests/.hidden.yaml", "- vars: {q: hidden}\n"),
    ]);
    let out = import(&p, &["pf/promptfooconfig.yaml", "--out", "out"]);
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("glob_report", out.snapshot_exact());
    insta::assert_snapshot!("glob_files", written(&p, "out"));
    validates(&p, "out");

    let none = TestProject::with(&[(
        "promptfooconfig.yaml",
        "prompts: [hi]\nproviders: [openai:gpt-4.1-mini]\ntests: file://cases/**/*.yaml\n",
    )]);
    let out = import(&none, &["promptfooconfig.yaml", "--out", "out"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    insta::assert_snapshot!(out.snapshot_exact(), @"
    exit: 2
    --- stdout

    --- stderr
    error: promptfooconfig.yaml:3:8: the test file glob `file://cases/**/*.yaml` matches no file (hint: globs are relative to the promptfoo configuration's folder; an empty match is an error, not zero tests)
    ");
}

/// A provider's `config.tools` and `tool_choice` (promptfoo's OpenAI tool
/// calling example) go on the prompt target; `is-valid-openai-tools-call`
/// becomes a `tool_args` check with the tools' schemas; `tool-call-f1` is a
/// skip that says why.
const TOOLS_CONFIG: &str = r#"description: Weather assistant with tools
prompts:
  - "What is the weather in {{city}}?"
providers:
  - id: openai:chat:gpt-4.1-mini
    config:
      temperature: 0
      tool_choice:
        type: function
        function:
          name: get_current_weather
      tools:
        - type: function
          function:
            name: get_current_weather
            description: Get the current weather in a given location
            parameters:
              type: object
              properties:
                location:
                  type: string
                  description: The city and state, e.g. San Francisco, CA
                unit:
                  type: string
                  enum: [celsius, fahrenheit]
              required: [location]
tests:
  - vars:
      city: Boston
    assert:
      - type: is-valid-openai-tools-call
      - type: tool-call-f1
        value: [get_current_weather]
"#;

#[test]
fn provider_tools_go_on_the_prompt_target_and_tool_calls_are_checked() {
    let p = TestProject::with(&[("promptfooconfig.yaml", TOOLS_CONFIG)]);
    let out = import(&p, &["promptfooconfig.yaml", "--out", "out"]);
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("tools_report", out.snapshot_exact());
    let inline = written(&p, "out");
    insta::assert_snapshot!("tools_files", inline);
    validates(&p, "out");

    // The same tools from a `file://` YAML file (promptfoo's other form).
    let start = TOOLS_CONFIG.find("      tools:\n").expect("tools");
    let end = TOOLS_CONFIG.find("tests:\n").expect("tests");
    let listed: String = TOOLS_CONFIG[start..end]
        .lines()
        .skip(1)
        .map(|l| format!("{}\n", &l[8..]))
        .collect();
    let config = format!(
        "{}      tools: file://tools.yaml\n{}",
        &TOOLS_CONFIG[..start],
        &TOOLS_CONFIG[end..]
    );
    let q = TestProject::with(&[("promptfooconfig.yaml", &config), ("tools.yaml", &listed)]);
    let out = import(&q, &["promptfooconfig.yaml", "--out", "out"]);
    assert!(out.success(), "{out:?}");
    assert_eq!(written(&q, "out"), inline);
}

/// promptfoo's HTTP provider (its documented shape: `id: https://…`,
/// `config: {method, headers, body, transformResponse}`) becomes an `http`
/// target whose body sends the prompt; one it cannot map (a JavaScript
/// `transformResponse`) is left out and listed; a literal secret header is
/// not copied.
const HTTP_CONFIG: &str = r#"description: Support bot behind an HTTP API
prompts:
  - "Customer question: {{question}}"
providers:
  - id: https://bot.example.com/v1/answer
    label: support-bot
    config:
      method: POST
      headers:
        Content-Type: application/json
        Authorization: "Bearer {{env.BOT_TOKEN}}"
        X-Api-Key: not-a-real-key-123
      body:
        message: "{{prompt}}"
        session: fixed
      transformResponse: json.reply.text
  - id: https://other.example.com/chat
    config:
      body: {q: "{{prompt}}"}
      transformResponse: "(json, text) => json.choices[0].message.content"
tests:
  - vars:
      question: Where is my order?
    assert:
      - type: icontains
        value: order
"#;

#[test]
fn http_providers_become_http_targets_where_they_map() {
    let p = TestProject::with(&[("promptfooconfig.yaml", HTTP_CONFIG)]);
    let out = import(&p, &["promptfooconfig.yaml", "--out", "out"]);
    assert!(out.success(), "{out:?}");
    insta::assert_snapshot!("http_report", out.snapshot_exact());
    let files = written(&p, "out");
    assert!(
        !files.contains("not-a-real-key"),
        "a secret was written:\n{files}"
    );
    insta::assert_snapshot!("http_files", files);
    validates(&p, "out");
}

/// The imported `http` target runs: against a loopback endpoint, the body
/// carries the rendered prompt, the header its `${BOT_TOKEN}` from the
/// environment, and the output is read at the mapped JSON path.
#[test]
fn an_imported_http_target_runs_against_a_loopback_endpoint() {
    let server = MockServer::start(true, |_, _| {
        MockReply::json(
            200,
            &serde_json::json!({"reply": {"text": "Your order ships today."}}),
        )
    })
    .expect("server");
    let config = HTTP_CONFIG.replace("https://bot.example.com", &server.url());
    let p = TestProject::with(&[("promptfooconfig.yaml", &config)]);
    let out = import(&p, &["promptfooconfig.yaml"]);
    assert!(out.success(), "{out:?}");
    let run = p
        .tribunal(&["test", "--root", "."])
        .env("INSTA_UPDATE", "always")
        .env("BOT_TOKEN", "test-token-0001")
        .env("TRIBUNAL_HISTORY", "off")
        .output();
    assert!(run.success(), "{run:?}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].path, "/v1/answer");
    assert_eq!(
        reqs[0].header("authorization"),
        Some("Bearer test-token-0001")
    );
    insta::assert_snapshot!(reqs[0].json().to_string(), @r#"{"message":"Customer question: Where is my order?","session":"fixed"}"#);
    let snap = p.read("evals/snapshots/promptfoo__test-1.snap");
    assert!(snap.contains("Your order ships today."), "{snap}");
}
