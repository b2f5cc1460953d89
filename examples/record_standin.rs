//! Records the cassettes of `evals/assistant.yaml`, `evals/audience.yaml`
//! `evals/question_loop.yaml`, `evals/agent.yaml` and `evals/models.yaml` from scripted stand-in models, for a
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
//! marketer would type for an audience AST. For `evals/models.yaml` it also
//! plays the two compared models (`tribunal-standin-small`,
//! `tribunal-standin-large`) and two more panel judges
//! (`tribunal-standin-judge-b`, `tribunal-standin-judge-c`). `TRIBUNAL_SUITES` (a glob)
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

/// The stand-in support agent (`tribunal-standin-agent`): it reads the
/// whole conversation and answers as a tool-using model does, with tool
/// calls (`finish_reason: tool_calls`) until the tools have answered, then
/// with text. Its one known flaw: asked to cancel a subscription, it starts
/// a refund instead of handing over to a human.
fn agent(body: &Value) -> MockReply {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let users: Vec<String> = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str().map(str::to_lowercase))
        .collect();
    let results: Vec<Value> = messages
        .iter()
        .filter(|m| m["role"] == "tool")
        .filter_map(|m| m["content"].as_str())
        .map(|c| serde_json::from_str(c).unwrap_or(Value::String(c.to_string())))
        .collect();
    let all = users.join(" ");
    let orders: Vec<i64> = all
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let call = |i: usize, name: &str, args: Value| {
        json!({"id": format!("call_{}_{i}", name), "type": "function",
               "function": {"name": name, "arguments": args.to_string()}})
    };
    let calls: Vec<Value> = if !results.is_empty() {
        Vec::new()
    } else if all.contains("cancel") {
        vec![call(
            0,
            "start_refund",
            json!({"order_id": 0, "reason": "cancel subscription"}),
        )]
    } else if all.contains("refund") && !orders.is_empty() {
        orders
            .iter()
            .enumerate()
            .map(|(i, n)| {
                call(
                    i,
                    "start_refund",
                    json!({"order_id": n, "reason": "arrived broken"}),
                )
            })
            .collect()
    } else if all.contains("order") && !orders.is_empty() {
        vec![call(0, "get_order", json!({"order_id": orders[0]}))]
    } else {
        Vec::new()
    };
    let (message, finish) = if !calls.is_empty() {
        (
            json!({"role": "assistant", "content": null, "tool_calls": calls}),
            "tool_calls",
        )
    } else {
        let text = if let Some(order) = results.iter().find(|r| r["status"] == "shipped") {
            format!(
                "Order {} has shipped with {} and should arrive on {}.",
                order["order_id"],
                order["carrier"].as_str().unwrap_or("the carrier"),
                order["eta"].as_str().unwrap_or("soon")
            )
        } else if !results.is_empty() && results.iter().all(|r| r["refund_id"].is_string()) {
            let ids: Vec<&str> = results
                .iter()
                .filter_map(|r| r["refund_id"].as_str())
                .collect();
            format!(
                "I have started your refund ({}). You will get an email when the money is back.",
                ids.join(", ")
            )
        } else if !results.is_empty() {
            "Something went wrong on our side; a colleague will get back to you.".to_string()
        } else if all.contains("refund") {
            "Which order should I refund? Please give me its number.".to_string()
        } else {
            "How can I help you with your order?".to_string()
        };
        (json!({"role": "assistant", "content": text}), "stop")
    };
    let prompt_tokens = (body["messages"].to_string().len() / 4) as u64;
    MockReply::json(
        200,
        &json!({
            "id": "chatcmpl-standin", "object": "chat.completion", "created": 0,
            "model": "tribunal-standin-agent",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 20, "total_tokens": prompt_tokens + 20},
        }),
    )
}

/// The policy fact and the next step a good answer to each question of
/// `evals/models.yaml` gives, by a keyword of the question.
const POLICIES: [(&str, &str, &str); 6] = [
    (
        "return",
        "Returns are accepted within 30 days of delivery, so shoes bought five weeks ago can no longer be returned.",
        "if they are faulty, send us a photo for a warranty repair",
    ),
    (
        "late",
        "You can follow your parcel with the tracking link in your confirmation email.",
        "if it has not moved in 48 hours, reply and we will open a claim with the carrier",
    ),
    (
        "address",
        "You can change the delivery address until the order ships.",
        "edit it on the Orders page",
    ),
    (
        "cancel",
        "Orders can be cancelled within 2 hours of being placed.",
        "press Cancel on the Orders page",
    ),
    (
        "discount",
        "There is no first-order discount at the moment.",
        "subscribe to the newsletter to hear about offers",
    ),
    (
        "password",
        "We can email you a reset link from the login page.",
        "check your spam folder if it does not arrive",
    ),
];

/// What the small model says where it does not know the policy.
fn small_guess(key: &str) -> &'static str {
    match key {
        "late" => "Parcels are sometimes late; please wait a little longer.",
        "cancel" => "Orders cannot be changed once they are placed.",
        _ => "Please create a new account.",
    }
}

/// The policy of a question: `(keyword, fact, next step)`.
fn policy(question: &str) -> Option<(&'static str, &'static str, &'static str)> {
    let q = question.to_lowercase();
    POLICIES.iter().copied().find(|(k, _, _)| q.contains(k))
}

/// The stand-in models of `evals/models.yaml`: `tribunal-standin-large`
/// knows every policy; `tribunal-standin-small` only those of returns,
/// addresses and discounts. The terse prompt gets one sentence, the
/// friendly one a greeting, the sentence and the next step.
fn compared_model(model: &str, system: &str, question: &str) -> String {
    let Some((key, fact, step)) = policy(question) else {
        return "Let me connect you with a colleague who can help.".into();
    };
    let knows = model.ends_with("large") || matches!(key, "return" | "address" | "discount");
    let sentence = if knows { fact } else { small_guess(key) };
    if system.contains("one sentence") {
        sentence.to_string()
    } else {
        format!("Happy to help! {sentence} Next step: {step}.")
    }
}

/// The 1–5 score the stand-in judge gives an answer to `question`: 1, plus
/// 2 for the policy fact, 1 for the next step, 1 for courtesy.
fn helpfulness(question: &str, answer: &str) -> (i64, String) {
    let Some((_, fact, step)) = policy(question) else {
        return (
            1,
            "The question is not one the shop's policies cover.".into(),
        );
    };
    let has_fact = answer.contains(fact);
    let has_step = answer.contains(step);
    let courteous = answer.contains("Happy to help");
    let score = 1 + 2 * i64::from(has_fact) + i64::from(has_step) + i64::from(courteous);
    let reasoning = format!(
        "The reply {} the policy, {} the next step, and {}.",
        if has_fact {
            "states"
        } else {
            "does not state (or contradicts)"
        },
        if has_step { "names" } else { "does not name" },
        if courteous { "is courteous" } else { "is curt" }
    );
    (score, reasoning)
}

/// The stand-in judges' answers for `evals/models.yaml`, `None` for other
/// suites' prompts: the 1–5 helpfulness score, pairwise preferences by
/// that score (in either order), and the panel's pass/fail verdicts, where
/// `tribunal-standin-judge-c` reads "states the window" strictly (it also
/// wants the warranty alternative) so the panel splits on terse answers.
fn models_judge(model: &str, prompt: &str) -> Option<Value> {
    let input = between(prompt, "INPUT");
    policy(&input)?;
    if prompt.contains("<<BEGIN OUTPUT A ") {
        let (a, _) = helpfulness(&input, &between(prompt, "OUTPUT A"));
        let (b, _) = helpfulness(&input, &between(prompt, "OUTPUT B"));
        let winner = match a.cmp(&b) {
            std::cmp::Ordering::Greater => "A",
            std::cmp::Ordering::Less => "B",
            std::cmp::Ordering::Equal => "tie",
        };
        return Some(json!({
            "reasoning": format!("Output A would score {a} of 5 and output B {b}: {}.",
                if winner == "tie" { "neither is more helpful" } else { "the higher one is more helpful" }),
            "winner": winner,
        }));
    }
    let output = judged(prompt);
    if prompt.contains("shop's policy for this question") {
        let (score, reasoning) = helpfulness(&input, &output);
        return Some(json!({"reasoning": reasoning, "score": score}));
    }
    if prompt.contains("states the shop's return window") {
        let window = output.contains("30 days");
        let strict = model.ends_with("judge-c");
        let pass = window && (!strict || output.contains("warranty"));
        return Some(json!({
            "critique": match (window, pass) {
                (true, true) => "The reply states the 30-day window.",
                (true, false) => "The reply states the 30-day window but leaves the customer without an alternative (a warranty repair).",
                _ => "The reply does not state the return window.",
            },
            "pass": pass,
        }));
    }
    if !prompt.contains("makes no promise outside the return policy") {
        return None;
    }
    let promises = output.contains("refund you") || output.contains("we will accept");
    Some(json!({
        "critique": if promises {
            "The reply promises a return the policy does not allow."
        } else {
            "The reply promises nothing outside the 30-day policy."
        },
        "pass": !promises,
    }))
}

fn judge(prompt: &str, wants_score: bool) -> Value {
    if prompt.contains("<<BEGIN CONVERSATION ") {
        // A conversation judge: the assistant resolved the issue when it
        // looked the order up or asked for it before refunding, and ended
        // with an answer rather than a promise it did not keep.
        let conversation = between(prompt, "CONVERSATION");
        let refunded_blind = conversation.contains("start_refund({\"order_id\":0");
        let asked = conversation.contains("Which order");
        return json!({
            "critique": if refunded_blind {
                "The user asked to cancel a subscription; the assistant started a refund for an order that does not exist instead of handing over to a colleague, and then blamed an error on its side.".to_string()
            } else if asked {
                "The assistant asked which order was meant, started the refund for the order the user named, and confirmed it with the refund id.".to_string()
            } else {
                "The assistant used the tools to answer the user's question and reported what they returned.".to_string()
            },
            "pass": !refunded_blind,
        });
    }
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
        if body["model"] == "tribunal-standin-agent" {
            return agent(&body);
        }
        let prompt = user_text(&body);
        let model = body["model"].as_str().unwrap_or_default().to_string();
        if model == "tribunal-standin-small" || model == "tribunal-standin-large" {
            let system = body["messages"][0]["content"].as_str().unwrap_or_default();
            let answer = compared_model(&model, system, prompt.trim_start_matches("Customer: "));
            // The large model is the slower one.
            let ms = if model.ends_with("large") { 60 } else { 15 };
            return MockReply::openai(
                &answer,
                (prompt.len() / 4) as u64 + 40,
                (answer.len() / 4) as u64,
            )
            .after(std::time::Duration::from_millis(ms));
        }
        if let Some(verdict) = model
            .starts_with("tribunal-standin-judge")
            .then(|| models_judge(&model, &prompt))
            .flatten()
        {
            let answer = verdict.to_string();
            return MockReply::openai(
                &answer,
                (prompt.len() / 4) as u64,
                (answer.len() / 4) as u64,
            );
        }
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
                "evals/{assistant,audience,question_loop,agent,models}.yaml",
            );
        }
        std::env::set_var("INSTA_UPDATE", "always");
    }
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let args = libtest_mimic::Arguments::from_iter(["record_standin"]);
    tribunal::Harness::new()
        .root(root)
        .target("audience_builder", sut::audience_builder)
        .target("get_order", sut::get_order)
        .target("start_refund", sut::start_refund)
        .run(&args)
        .exit_code
}
