//! Records the cassettes of `evals/pyramid.yaml` from scripted stand-in
//! models, for a repository without API keys.
//!
//! ```sh
//! cargo run --example record_pyramid
//! ```
//!
//! It starts an OpenAI-compatible server on 127.0.0.1 that plays three
//! models, then runs the suite in `record` mode against it:
//!
//! - `tribunal-standin-classifier` classifies a customer email as JSON
//!   `{"label", "priority"}`. It is fragile on purpose: it spots spam by
//!   the word "free" (any case) or "winner", so a typo in that word changes
//!   its answer; it ranks priority by "urgent"/"blocked"; it answers "Answer
//!   yes or no: is this email [not] spam?" with `{"answer"}`; and for the
//!   one ambiguous offer it answers differently from call to call (spam,
//!   spam, ham, spam, ham), as a sampled model would.
//! - `tribunal-standin-paraphraser` rewrites a request in two fixed ways.
//! - `tribunal-standin-equivalence` says whether two answers mean the same
//!   (the same `label`).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};
use tribunal::provider::mock::{MockReply, MockRequest, MockServer};

fn last_user(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn is_spam(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("free") || lower.contains("winner")
}

fn classify(text: &str, calls: &Mutex<HashMap<String, usize>>) -> Value {
    let lower = text.to_lowercase();
    if let Some(question) = lower.strip_prefix("answer yes or no:") {
        let asks_not = question.contains("not spam");
        let yes = is_spam(question) != asks_not;
        return json!({"answer": if yes { "yes" } else { "no" }});
    }
    let label = if lower.contains("limited offer for members") {
        // The ambiguous offer: the n-th call of this exact request.
        let mut calls = calls.lock().unwrap_or_else(|p| p.into_inner());
        let n = calls.entry(text.to_string()).or_default();
        *n += 1;
        if [1, 2, 4].contains(n) { "spam" } else { "ham" }
    } else if is_spam(text) {
        "spam"
    } else {
        "ham"
    };
    let priority = if lower.contains("urgent") || lower.contains("blocked") {
        "high"
    } else if lower.contains("soon") {
        "medium"
    } else {
        "low"
    };
    json!({"label": label, "priority": priority})
}

fn paraphrase(prompt: &str) -> Value {
    let request = prompt
        .split_once("Request:\n")
        .map_or(prompt, |(_, r)| r)
        .trim();
    let body = request
        .split_once(": ")
        .map_or(request, |(_, rest)| rest)
        .trim();
    json!([
        format!("Could you tell me whether this message is spam? {body}"),
        format!("{body} (Is that spam or a normal email?)"),
    ])
}

fn label_in(prompt: &str, marker: &str) -> Option<String> {
    let rest = prompt.split_once(marker)?.1;
    let text = rest.split("\n\n").next()?.trim();
    let v: Value = serde_json::from_str(text).ok()?;
    v.get("label").and_then(Value::as_str).map(str::to_string)
}

fn equivalence(prompt: &str) -> Value {
    let a = label_in(prompt, "Answer A:\n");
    let b = label_in(prompt, "Answer B:\n");
    let same = a.is_some() && a == b;
    json!({
        "same": same,
        "reason": if same {
            format!("both answers label the email {}", a.unwrap_or_default())
        } else {
            "the answers give different labels".to_string()
        },
    })
}

fn main() -> std::process::ExitCode {
    let calls: Mutex<HashMap<String, usize>> = Mutex::new(HashMap::new());
    let server = match MockServer::start(false, move |req: &MockRequest, _| {
        let body = req.json();
        let prompt = last_user(&body);
        let answer = match body["model"].as_str() {
            Some("tribunal-standin-paraphraser") => paraphrase(&prompt),
            Some("tribunal-standin-equivalence") => equivalence(&prompt),
            _ => classify(&prompt, &calls),
        }
        .to_string();
        MockReply::openai(
            &answer,
            (prompt.len() / 4) as u64,
            (answer.len() / 4) as u64,
        )
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot start the stand-in server: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // SAFETY: single-threaded at this point; set before the harness starts.
    unsafe {
        std::env::set_var("OPENAI_BASE_URL", format!("{}/v1", server.url()));
        std::env::set_var("OPENAI_API_KEY", "stand-in-no-key");
        std::env::set_var("TRIBUNAL_MODE", "record");
        std::env::set_var("TRIBUNAL_SUITES", "evals/pyramid.yaml");
        std::env::set_var("INSTA_UPDATE", "always");
    }
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let args = libtest_mimic::Arguments::from_iter(["record_pyramid"]);
    tribunal::Harness::new().root(root).run(&args).exit_code
}
