//! The systems under test of tribunal's own example suites: small,
//! deterministic stand-ins for what a team would register (a support bot, a
//! text-to-SQL model, an audience builder), so that `cargo test` here
//! exercises the whole path from YAML to snapshot without a model.

use serde_json::{Value, json};
use tribunal::Input;

/// A keyword-routed support assistant. Its tone follows the `tone` variable.
pub fn support_bot(input: &Input) -> Result<String, String> {
    let question = input.text().to_lowercase();
    let formal = input.var_str("tone") == Some("formal");
    let greeting = if formal { "Dear customer," } else { "Hi!" };
    let body = if question.contains("refund") {
        "You can request a refund within 30 days of delivery from the Orders page."
    } else if question.contains("password") {
        "Use \"Forgot password\" on the sign-in page; the reset link is valid for 2 hours."
    } else if question.contains("cancel") {
        "You can cancel any time from Settings > Subscription; you keep access until the period ends."
    } else if question.contains("shipping") || question.contains("deliver") {
        "Standard shipping takes 3-5 business days."
    } else if question.trim().is_empty() {
        return Err("empty question".into());
    } else {
        "I am not sure. Let me connect you with a human agent."
    };
    Ok(format!("{greeting} {body}"))
}

/// Answers with a JSON ticket classification.
pub async fn triage(input: Input) -> Result<Value, String> {
    tokio::task::yield_now().await;
    let text = input.text().to_lowercase();
    let (category, priority) = if text.contains("down") || text.contains("outage") {
        ("incident", "high")
    } else if text.contains("invoice") || text.contains("charge") {
        ("billing", "medium")
    } else {
        ("question", "low")
    };
    Ok(json!({
        "category": category,
        "priority": priority,
        "summary": input.text().chars().take(60).collect::<String>(),
    }))
}

/// A rule-based text-to-SQL stand-in over the `orders`/`customers` schema.
pub fn sql_writer(input: &Input) -> Result<String, String> {
    let q = input.text().to_lowercase();
    let sql = if q.contains("how many customers") {
        "SELECT COUNT(*) FROM customers"
    } else if q.contains("orders over") {
        "SELECT id FROM orders WHERE amount > 100"
    } else if q.contains("customers from") {
        "SELECT name FROM customers WHERE country = 'FR'"
    } else if q.contains("top customer") {
        "SELECT customer_id FROM orders GROUP BY customer_id ORDER BY SUM(amount) DESC LIMIT 1"
    } else if q.contains("biggest") {
        "SELECT id FROM orders ORDER BY amount DESC LIMIT 1"
    } else if q.contains("how many orders") {
        "SELECT COUNT(amount) FROM orders"
    } else if q.contains("which countries") {
        "SELECT country FROM customers"
    } else {
        return Err(format!("no rule for: {q}"));
    };
    Ok(sql.to_string())
}

/// Turns a request into an audience AST (tribunal's audience dialect,
/// docs/audience-ast.md). It reproduces the mistake of Segment's write-up:
/// for "at least once" it answers "more than 0 and fewer than 2 times",
/// which a user with 2 purchases tells apart from the reference.
pub fn audience_builder(input: &Input) -> Result<Value, String> {
    let q = input.text().to_lowercase();
    let event = input
        .var_str("event")
        .unwrap_or("Order Completed")
        .to_string();
    let count = |cmp: &str, value: i64| json!({"cmp": cmp, "value": value, "term": {"count": {"event": event}}});
    let ast = if q.contains("at least once") {
        json!({"and": [count(">", 0), count("<", 2)]})
    } else if q.contains("more than zero") {
        count(">", 0)
    } else if q.contains("plan is not free") {
        json!({"not": {"cmp": "=", "value": "free", "term": {"trait": "plan"}}})
    } else if q.contains("plan is pro") {
        json!({"cmp": "=", "value": "pro", "term": {"trait": "plan"}})
    } else if q.contains("at most twice") {
        // Leaves out the users who never purchased.
        json!({"and": [count(">=", 1), count("<=", 2)]})
    } else {
        return Err(format!("no rule for: {q}"));
    };
    Ok(ast)
}

/// Tool of the support agent (`evals/agent.yaml`): looks up an order. Its
/// input is the model's arguments, `{"order_id": N}`.
pub fn get_order(input: &Input) -> Result<Value, String> {
    let id = input.value["order_id"]
        .as_i64()
        .ok_or_else(|| format!("get_order needs an integer `order_id`, got {}", input.value))?;
    match id {
        7 => Ok(json!({"order_id": 7, "status": "shipped", "carrier": "DHL", "eta": "2026-12-04"})),
        8 => Ok(json!({"order_id": 8, "status": "packing"})),
        _ => Err(format!("no order {id}")),
    }
}

/// Tool of the support agent: starts a refund (`{"order_id": N, "reason": …}`).
pub fn start_refund(input: &Input) -> Result<Value, String> {
    let id = input.value["order_id"].as_i64().ok_or_else(|| {
        format!(
            "start_refund needs an integer `order_id`, got {}",
            input.value
        )
    })?;
    if id <= 0 {
        return Err(format!("no order {id}"));
    }
    Ok(json!({"refund_id": format!("R-{id}"), "order_id": id, "status": "started"}))
}
