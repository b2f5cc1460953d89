//! Records the cassettes of `evals/assistant.yaml`, `evals/audience.yaml`
//! and `evals/question_loop.yaml` from scripted stand-in models, for a
//! repository without API keys.
//!
//! ```sh
//! cargo run --example record_standin
//! ```
//!
//! It starts an OpenAI-compatible server on 127.0.0.1 that plays three
//! models: `tribunal-standin-assistant` answers customers from a script,
//! `tribunal-standin-judge` answers judge prompts with the JSON a judge
//! returns, and `tribunal-standin-question-writer` writes the request a
//! marketer would type for an audience AST. `TRIBUNAL_SUITES` (a glob)
//! records only some suites. Then it runs the suite in `record` mode against it, so that the
//! cassettes under `fixtures/cassettes/assistant/` (and the snapshots) hold
//! exactly what a recording against a real provider would, minus the model.

#[path = "../tests/sut/mod.rs"]
#[allow(dead_code)]
mod sut;

use serde_json::{Value, json};
use tribunal::provider::mock::{MockReply, MockRequest, MockServer};

fn user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn assistant(question: &str) -> &'static str {
    let q = question.to_lowercase();
    if q.contains("return") {
        "Returns are accepted within 30 days of delivery, so five-week-old shoes can no longer be returned. If they are faulty, reply with a photo and we will look at a warranty repair."
    } else if q.contains("late") {
        "I'm sorry your parcel is late. Please check the tracking link in your confirmation email; if it has not moved in 48 hours, reply here and we will open a claim with the carrier."
    } else if q.contains("discount") {
        "Yes! Use the code WELCOME50 at checkout for 50% off your first order."
    } else {
        "Let me connect you with a colleague who can help."
    }
}

/// The judged output, between the judge prompt's markers.
fn judged(prompt: &str) -> String {
    prompt
        .split("<<BEGIN OUTPUT")
        .nth(1)
        .and_then(|rest| rest.split_once(">>"))
        .map(|(_, rest)| {
            rest.split("<<END OUTPUT")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// The text between a marker pair named `label`.
fn between(prompt: &str, label: &str) -> String {
    prompt
        .split(&format!("<<BEGIN {label} "))
        .nth(1)
        .and_then(|rest| rest.split_once(">>"))
        .map(|(_, rest)| {
            rest.split(&format!("<<END {label}"))
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

/// Names quoted in a JSON AST (`"Order Completed"`, `"plan"`), sorted.
fn names(ast: &str) -> Vec<String> {
    let mut out: Vec<String> = ast
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.chars().any(|c| c.is_ascii_uppercase()) || *s == "plan")
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The request a marketer would type for an audience AST (the JSON after
/// `Audience definition:`), as a question writer model would write it.
fn question(prompt: &str) -> &'static str {
    let ast = prompt.trim_start_matches("Audience definition:").trim();
    let ast: Value = serde_json::from_str(ast).unwrap_or(Value::Null);
    if ast["not"]["term"]["trait"] == "plan" && ast["not"]["value"] == "free" {
        "Users whose plan is not free"
    } else if ast["term"]["trait"] == "plan" && ast["value"] == "pro" {
        "Users whose plan is pro"
    } else if ast["term"]["count"]["event"] == "Order Completed" && ast["cmp"] == ">=" {
        "Customers who have purchased at least once"
    } else {
        "All users"
    }
}

fn judge(prompt: &str, wants_score: bool) -> Value {
    let output = judged(prompt);
    let lower = output.to_lowercase();
    if prompt.contains("<<BEGIN REFERENCE ") {
        // Grades by surface similarity, the way the judge in Segment's
        // write-up did: same events and traits, same comparisons → "equivalent".
        let reference = between(prompt, "REFERENCE");
        let same = names(&output) == names(&reference);
        return json!({
            "reasoning": if same {
                "Both ASTs select users by the same events and traits with count conditions that describe the same users; the output is equivalent to the reference."
            } else {
                "The output refers to different events or traits than the reference."
            },
            "score": if same { 5 } else { 2 },
        });
    }
    if wants_score {
        let score = if lower.contains("sorry") && lower.contains("tracking") {
            5
        } else {
            2
        };
        return json!({
            "reasoning": format!("The reply {} and names a concrete next step: {}.",
                if lower.contains("sorry") { "acknowledges the delay" } else { "does not acknowledge the delay" },
                if lower.contains("tracking") { "check tracking, then a carrier claim" } else { "none" }),
            "score": score,
        });
    }
    let invents = lower.contains("code") || lower.contains('%');
    json!({
        "critique": if invents {
            format!("The reply promises an offer the shop never published: \"{output}\".")
        } else {
            "The reply states the 30-day window, makes no promise outside it, and offers a next step (warranty repair).".to_string()
        },
        "pass": !invents,
    })
}

fn main() -> std::process::ExitCode {
    let server = match MockServer::start(false, |req: &MockRequest, _| {
        let body = req.json();
        let prompt = user_text(&body);
        let answer = if body["model"] == "tribunal-standin-judge" {
            // A score is asked for when the requested schema has one.
            let wants_score = body["response_format"].to_string().contains("\"score\"")
                || body["messages"].to_string().contains("\"score\"");
            judge(&prompt, wants_score).to_string()
        } else if body["model"] == "tribunal-standin-question-writer" {
            question(&prompt).to_string()
        } else {
            let question = prompt.trim_start_matches("Customer: ");
            assistant(question).to_string()
        };
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
        if std::env::var_os("TRIBUNAL_SUITES").is_none() {
            std::env::set_var(
                "TRIBUNAL_SUITES",
                "evals/{assistant,audience,question_loop}.yaml",
            );
        }
        std::env::set_var("INSTA_UPDATE", "always");
    }
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let args = libtest_mimic::Arguments::from_iter(["record_standin"]);
    tribunal::Harness::new()
        .root(root)
        .target("audience_builder", sut::audience_builder)
        .run(&args)
        .exit_code
}
