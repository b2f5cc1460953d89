//! Records the cassettes of `evals/assistant.yaml`, `evals/audience.yaml`
//! `evals/question_loop.yaml`, `evals/agent.yaml`, `evals/grounded.yaml`,
//! `evals/models.yaml`, `evals/segment.yaml` and `evals/support_dims.yaml`
//! from scripted stand-in models, for a repository without API keys. For
//! the last two it first runs their `tribunal generate` commands (the
//! drafts and the generator's cassettes).
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

/// The stand-in policy assistant of `evals/grounded.yaml`
/// (`tribunal-standin-grounded`): a fixed answer per question, some of them
/// wrong or with an invented claim.
fn grounded_assistant(question: &str) -> &'static str {
    const ANSWERS: &[(&str, &str)] = &[
        (
            "How long do I have to return an item?",
            "You can return any item within 30 days of delivery. Refunds go back to the original payment method.",
        ),
        (
            "How long does standard shipping take?",
            "Standard shipping takes 3 to 5 business days. You will get a tracking link by email.",
        ),
        (
            "How much is express shipping?",
            "Express shipping costs 12 euros and arrives the next business day.",
        ),
        (
            "When is the Berlin store open on Saturday?",
            "The Berlin store is open from 10 to 18 on Saturday. It is closed on Sunday.",
        ),
        (
            "How long is the warranty on headphones?",
            "Headphones come with a 2-year warranty. Keep your receipt as proof of purchase.",
        ),
        (
            "Do gift cards expire?",
            "Gift cards do not expire. You can use them online and in every store.",
        ),
        (
            "Do you match competitors' prices?",
            "Yes, we match a competitor's price within fourteen days of purchase.",
        ),
        (
            "Is there a restocking fee?",
            "There is a restocking fee of 15 percent on opened items.",
        ),
        (
            "Is there a student discount?",
            "Students get 20% off with a valid student card.",
        ),
        (
            "Do you ship to Switzerland?",
            "We ship to Switzerland in 2 to 4 days.",
        ),
        (
            "When is shipping free?",
            "Shipping is free on orders over 80 euros.",
        ),
        (
            "Can you repair my broken phone screen?",
            "We repair phone screens within 5 days. Every repair is also free for life, guaranteed.",
        ),
        (
            "How many points do I get per euro?",
            "You earn 1 point per euro spent, and points are worth double on your birthday.",
        ),
        (
            "Can I exchange a size?",
            "Size exchanges are free within 30 days. Bring the item with its tags.",
        ),
        (
            "Can I cancel my order?",
            "You can cancel an order within 2 hours of placing it. After that it is already being packed.",
        ),
        (
            "Which payment methods do you accept?",
            "We accept cards, PayPal and invoice. Invoices are due within 14 days.",
        ),
    ];
    ANSWERS
        .iter()
        .find(|(q, _)| *q == question.trim())
        .map(|(_, a)| *a)
        .unwrap_or("I do not know that one; a colleague will answer.")
}

/// Negations in a text: `not`, `no`, `never`, `cannot` and `…n't`.
fn negations(text: &str) -> usize {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| matches!(*w, "not" | "no" | "never" | "cannot") || w.ends_with("n't"))
        .count()
}

/// Whole numbers in a text.
fn numbers(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// The stand-in judge of `evals/grounded.yaml`
/// (`tribunal-standin-grounded-judge`): it passes a reply that carries every
/// number of the criteria and as many negations. It checks nothing else,
/// so it misses invented claims and replaced names (its canaries show it).
fn grounded_judge(prompt: &str) -> Value {
    let criteria = prompt
        .split("Criteria:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_default();
    let output = judged(prompt);
    let have = numbers(&output);
    let missing: Vec<String> = numbers(criteria)
        .into_iter()
        .filter(|n| !have.contains(n))
        .collect();
    let negation_differs = negations(criteria) != negations(&output);
    let pass = missing.is_empty() && !negation_differs;
    let critique = if !missing.is_empty() {
        format!(
            "The reply does not give {} from the policy.",
            missing.join(" and ")
        )
    } else if negation_differs {
        "The reply says the opposite of the policy.".to_string()
    } else {
        "The reply gives the figures the policy states.".to_string()
    };
    json!({"critique": critique, "pass": pass})
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
        let answer = if let Some(answer) = dataset_standin(&model, &prompt) {
            answer
        } else if body["model"] == "tribunal-standin-grounded-judge" {
            grounded_judge(&prompt).to_string()
        } else if body["model"] == "tribunal-standin-grounded" {
            grounded_assistant(prompt.trim_start_matches("Customer: ")).to_string()
        } else if body["model"] == "tribunal-standin-judge" {
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
                "evals/{assistant,audience,question_loop,agent,segment,support_dims,grounded,models}.yaml",
            );
        }
        std::env::set_var("INSTA_UPDATE", "always");
    }
    let glob = std::env::var("TRIBUNAL_SUITES").unwrap_or_default();
    if !generate_drafts(&glob) {
        return std::process::ExitCode::FAILURE;
    }
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let args = libtest_mimic::Arguments::from_iter(["record_standin"]);
    tribunal::Harness::new()
        .root(root)
        .target("audience_builder", sut::audience_builder)
        .target("support_bot", sut::support_bot)
        .target("get_order", sut::get_order)
        .target("start_refund", sut::start_refund)
        .run(&args)
        .exit_code
}

// ---------------------------------------------------------------------
// The stand-ins of the dataset examples (docs/datasets.md):
// `evals/segment.yaml` (ground truth → question generator → two audience
// builders → equivalence and a 1–5 judge) and `evals/support_dims.yaml`
// (dimensions → user messages → support bot → a pass/fail judge).
// ---------------------------------------------------------------------

/// `tribunal-standin-question-generator`: the request a marketer would type
/// for the audience AST between the `<<BEGIN TRUTH>>` markers of tribunal's
/// default question-generator template; request 1 is plain, request 2
/// terse (a real generator varies with the template's style and sample).
fn question_generator(prompt: &str) -> String {
    let truth = prompt
        .split_once("<<BEGIN TRUTH>>")
        .and_then(|(_, rest)| rest.split_once("<<END TRUTH>>"))
        .map(|(t, _)| t.trim())
        .unwrap_or("");
    let second = prompt.contains("This is request 2 of");
    let ast: Value = serde_json::from_str(truth).unwrap_or(Value::Null);
    let plan = |v: &Value| v["term"]["trait"] == "plan";
    let pick = |plain: &str, terse: &str| if second { terse } else { plain }.to_string();
    if plan(&ast) && ast["value"] == "pro" {
        pick("Users whose plan is pro", "Users on the pro plan")
    } else if plan(&ast["not"]) && ast["not"]["value"] == "free" {
        pick(
            "Users whose plan is not free",
            "Everyone who is not on the free plan",
        )
    } else if ast["term"]["count"]["within"]["days"] == 30 {
        pick(
            "Customers who purchased in the last 30 days",
            "People with an order in the past month",
        )
    } else if ast["term"]["count"]["event"] == "Order Completed" && ast["value"] == 1 {
        // Both phrasings are nearly the same words: the near-duplicate filter drops one.
        pick(
            "Customers who have purchased at least once",
            "Customers who purchased at least once",
        )
    } else if ast["term"]["sum"]["property"] == "total" {
        pick(
            "Customers who spent more than 200 in total",
            "Big spenders: over 200 across their orders",
        )
    } else if ast["or"].is_array() {
        pick(
            "VIP users or customers with at least 3 purchases",
            "Anyone who is a VIP or has ordered 3 times or more",
        )
    } else {
        "All users".to_string()
    }
}

/// The audience AST a stand-in builder writes for a request. Model B is
/// the careful one; model A shares its rules but makes four mistakes a real
/// model makes: "at least once" as "more than 0 and fewer than 2", `!=`
/// for "not on the free plan" (which drops users with no plan), a forgotten
/// time window, and `and` for "or". Both misread "over 200 across their
/// orders", each its own way.
fn audience(question: &str, careful: bool) -> Value {
    let q = question.to_lowercase();
    let orders = |cmp: &str, value: i64| json!({"cmp": cmp, "value": value, "term": {"count": {"event": "Order Completed"}}});
    let plan =
        |cmp: &str, value: &str| json!({"cmp": cmp, "value": value, "term": {"trait": "plan"}});
    if q.contains("pro plan") || q.contains("plan is pro") {
        plan("=", "pro")
    } else if q.contains("plan is not free") {
        json!({"not": plan("=", "free")})
    } else if q.contains("not on the free plan") {
        if careful {
            json!({"not": plan("=", "free")})
        } else {
            plan("!=", "free")
        }
    } else if q.contains("at least once") {
        if careful {
            orders(">=", 1)
        } else {
            json!({"and": [orders(">", 0), orders("<", 2)]})
        }
    } else if q.contains("last 30 days") {
        json!({"cmp": ">=", "value": 1, "term": {"count": {"event": "Order Completed", "within": {"days": 30}}}})
    } else if q.contains("past month") {
        if careful {
            json!({"cmp": ">=", "value": 1, "term": {"count": {"event": "Order Completed", "within": {"days": 30}}}})
        } else {
            orders(">=", 1)
        }
    } else if q.contains("200") && q.contains("across their orders") {
        // Both models misread this one: the careful one as "an order over
        // 200", the other as "200 or more in total".
        if careful {
            json!({"cmp": ">=", "value": 1, "term": {"count": {"event": "Order Completed",
                "where": {"cmp": ">", "value": 200, "term": {"property": "total"}}}}})
        } else {
            json!({"cmp": ">=", "value": 200, "term": {"sum": {"event": "Order Completed", "property": "total"}}})
        }
    } else if q.contains("200") {
        json!({"cmp": ">", "value": 200, "term": {"sum": {"event": "Order Completed", "property": "total"}}})
    } else if q.contains("vip") {
        let vip = json!({"cmp": "=", "value": true, "term": {"trait": "vip"}});
        let parts = json!([vip, orders(">=", 3)]);
        if careful || q.contains("users or") {
            json!({"or": parts})
        } else {
            json!({"and": parts})
        }
    } else {
        json!({"const": true})
    }
}

/// The sorted `(key, leaf)` pairs of a JSON value: what a surface judge compares.
fn leaves(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, c)| leaves(c, &format!("{at}/{k}"), out)),
        Value::Array(a) => a.iter().for_each(|c| leaves(c, &format!("{at}[]"), out)),
        leaf => out.push(format!("{at}={leaf}")),
    }
}

/// `tribunal-standin-ast-judge`: grades an audience AST against the
/// reference on 1–5 by how much of its structure matches, the way an LLM
/// judge reading JSON does: 5 identical, 4 the same events and traits and
/// most conditions, 3 the same events and traits written differently, 2
/// some conditions shared, 1 none. It
/// cannot see that `> 0 and < 2` differs from `>= 1` for a user with 2
/// purchases: that is what `ast_equivalent` is for.
fn ast_judge(prompt: &str) -> Value {
    let output: Value = serde_json::from_str(&judged(prompt)).unwrap_or(Value::Null);
    let reference: Value =
        serde_json::from_str(&between(prompt, "REFERENCE")).unwrap_or(Value::Null);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    leaves(&output, "", &mut a);
    leaves(&reference, "", &mut b);
    a.sort();
    b.sort();
    let shared = a.iter().filter(|x| b.contains(x)).count();
    let all = a.len().max(b.len()).max(1);
    let same_names = names(&output.to_string()) == names(&reference.to_string());
    let (score, reasoning) = if output == reference {
        (5, "The output is the reference AST: same conditions, same events and traits, same values.".to_string())
    } else if same_names && shared * 2 >= all {
        (
            4,
            format!(
                "The output uses the same events and traits as the reference and shares {shared} of its {} conditions; one comparison or window differs, but it selects nearly the same users.",
                b.len()
            ),
        )
    } else if same_names {
        (3, "The output refers to the same events and traits as the reference, but its conditions are written differently; it may select different users.".to_string())
    } else if shared > 0 {
        (
            2,
            format!(
                "Only {shared} of the reference's {} conditions appear in the output, and it refers to other events or traits.",
                b.len()
            ),
        )
    } else {
        (
            1,
            "The output has nothing in common with the reference.".to_string(),
        )
    };
    json!({"reasoning": reasoning, "score": score})
}

/// `tribunal-standin-user`: the message a user matching the dimension
/// tuple in tribunal's default dimensions template would send.
fn user_message(prompt: &str) -> String {
    let value = |dim: &str| {
        prompt
            .lines()
            .find_map(|l| l.strip_prefix(&format!("- {dim}: ")))
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or("")
            .to_string()
    };
    let (feature, scenario, persona) = (value("feature"), value("scenario"), value("persona"));
    let ask = match (feature.as_str(), scenario.as_str(), persona.as_str()) {
        (_, "out-of-scope", "angry") => {
            "Your site is useless. Just tell me which laptop to buy for gaming."
        }
        (_, "out-of-scope", _) => "Can you recommend a good laptop for gaming?",
        ("order-tracking", "ambiguous", _) => "Something is wrong with my order.",
        ("order-tracking", _, "angry") => "Order 1042 still has not arrived. Where is it?",
        ("order-tracking", _, _) => {
            "Where is my order 1042? It was supposed to be delivered yesterday."
        }
        ("refunds", "ambiguous", _) => "The blender I got is not what I wanted, what can I do?",
        ("refunds", _, "angry") => "I want my money back for the broken blender. Now.",
        ("refunds", _, _) => "I would like a refund for the blender I sent back last week.",
        ("account", "ambiguous", _) => "I can't get into my account anymore.",
        ("account", _, "angry") => "Your login is broken and I forgot my password again.",
        (_, _, _) => "How do I reset my password?",
    };
    match persona.as_str() {
        "new-user" => format!("Hi, I just signed up and I'm new to all this. {ask}"),
        "expert" => ask
            .replace("Can you recommend", "Recommend")
            .replace("I would like", "Requesting"),
        _ => ask.to_string(),
    }
}

/// `tribunal-standin-support-judge`: pass/fail with a critique for a
/// support reply, by what the user asked (read more widely than the bot's
/// keywords) and what the bot did.
fn support_judge(prompt: &str) -> Value {
    let input = between(prompt, "INPUT").to_lowercase();
    let output = judged(prompt).to_lowercase();
    let handed_over = output.contains("human agent");
    let (pass, critique) = if input.contains("laptop") {
        (
            handed_over,
            if handed_over {
                "The request is outside what the shop's support does; the bot said so and handed over to a human instead of inventing an answer."
            } else {
                "The request is outside the shop's support, but the bot answered as if it were a support question."
            },
        )
    } else if input.contains("money back") || input.contains("refund") {
        let ok = output.contains("refund");
        (
            ok,
            if ok {
                "The user wants their money back; the bot gave the refund window and where to ask for it."
            } else {
                "The user plainly asks for their money back, but the bot did not recognise a refund request and handed over with no answer; it should give the refund window and the Orders page."
            },
        )
    } else if input.contains("where is") || input.contains("arrived") || input.contains("delivered")
    {
        (
            false,
            "The user asks where a specific order is; the bot answered with the generic shipping time instead of the order's status or how to track it.",
        )
    } else if input.contains("password") {
        let ok = output.contains("forgot password");
        (
            ok,
            if ok {
                "The bot explained how to reset the password and how long the link is valid."
            } else {
                "The user needs to reset a password, and the bot did not explain how."
            },
        )
    } else {
        (
            handed_over,
            if handed_over {
                "The request is ambiguous; handing over to a human who can ask what is meant is acceptable."
            } else {
                "The request is ambiguous, and the bot answered one reading of it without asking which was meant."
            },
        )
    };
    json!({"critique": critique, "pass": pass})
}

/// The answers of the dataset examples' stand-ins, by model; `None` for
/// another model.
fn dataset_standin(model: &str, prompt: &str) -> Option<String> {
    Some(match model {
        "tribunal-standin-question-generator" => question_generator(prompt),
        "tribunal-standin-audience-a" => audience(prompt, false).to_string(),
        "tribunal-standin-audience-b" => audience(prompt, true).to_string(),
        "tribunal-standin-ast-judge" => ast_judge(prompt).to_string(),
        "tribunal-standin-user" => user_message(prompt),
        "tribunal-standin-support-judge" => support_judge(prompt).to_string(),
        _ => return None,
    })
}

/// Runs the dataset examples' generation commands (in record mode, against
/// the stand-in server) for the suites `glob` selects: the drafts and the
/// generator cassettes. Accepted cases are in the suites already; a draft
/// whose id is a case is not drafted again.
fn generate_drafts(glob: &str) -> bool {
    use clap::Parser;
    let runs: [(&str, Vec<&str>); 2] = [
        (
            "segment",
            vec![
                "tribunal",
                "generate",
                "truth",
                "--suite",
                "evals/segment.yaml",
                "--truths",
                "evals/data/segment.truths.jsonl",
                "--generator",
                "standin-question-generator",
                "-k",
                "2",
                "--style",
                "plain, as a marketer would say it",
                "--style",
                "terse, like a search query",
                "--round-trip",
                "flag",
            ],
        ),
        (
            "support_dims",
            vec![
                "tribunal",
                "generate",
                "dimensions",
                "--suite",
                "evals/support_dims.yaml",
                "--generator",
                "standin-user",
                "--n",
                "9",
                "--seed",
                "1",
            ],
        ),
    ];
    let mut ok = true;
    for (suite, argv) in runs {
        if !glob.contains(suite) && glob != "evals/*.yaml" {
            continue;
        }
        let mut argv: Vec<String> = argv.into_iter().map(str::to_string).collect();
        argv.extend(["--root".to_string(), env!("CARGO_MANIFEST_DIR").to_string()]);
        let code = tribunal::cli::dispatch(tribunal::cli::Cli::parse_from(&argv));
        if code != std::process::ExitCode::SUCCESS {
            eprintln!("generating the drafts of {suite} failed");
            ok = false;
        }
    }
    ok
}
