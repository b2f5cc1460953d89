//! Anthropic's Message Batches: `POST /v1/messages/batches` with
//! `{requests: [{custom_id, params}]}`, polled with
//! `GET /v1/messages/batches/{id}` until `processing_status` is `ended`,
//! then its `results_url`: one line per request,
//! `{custom_id, result: {type: succeeded|errored|canceled|expired, ...}}`.

use serde_json::{Value, json};

use super::{Conn, Item, Outcome, Polled};

/// Requests per batch at most (Anthropic's limit).
pub const MAX_REQUESTS: usize = 100_000;
/// Bytes of a batch at most (Anthropic's limit: 256 MB).
pub const MAX_BYTES: usize = 256_000_000;

/// One entry of `requests`.
pub fn request(item: &Item) -> Value {
    json!({"custom_id": item.key, "params": item.body})
}

/// Creates a batch of `items`; returns its id and status.
pub(crate) async fn create(conn: &Conn, items: &[&Item]) -> Result<(String, String), String> {
    let requests: Vec<Value> = items.iter().map(|i| request(i)).collect();
    let body = json!({ "requests": requests }).to_string().into_bytes();
    let v = conn
        .post_json(&conn.url("/v1/messages/batches"), "application/json", body)
        .await?;
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            format!(
                "`{}`: the answer to POST /v1/messages/batches has no `id`: {}",
                conn.http.label,
                crate::provider::openai::snippet(v.to_string().as_bytes())
            )
        })?;
    Ok((id.to_string(), status_of(&v)))
}

fn status_of(v: &Value) -> String {
    v.get("processing_status")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string()
}

/// Polls a batch.
pub(crate) async fn poll(conn: &Conn, id: &str) -> Result<Polled, String> {
    let v = conn
        .get_json(&conn.url(&format!("/v1/messages/batches/{id}")))
        .await?;
    let status = status_of(&v);
    let ended = status == "ended";
    let sources = match v.get("results_url").and_then(Value::as_str) {
        Some(u) if !u.is_empty() => vec![u.to_string()],
        _ if ended => {
            return Err(format!(
                "`{}`: batch {id} ended without a `results_url`",
                conn.http.label
            ));
        }
        _ => Vec::new(),
    };
    Ok(Polled {
        status,
        ended,
        note: String::new(),
        sources,
    })
}

/// `scheme://host:port` of a URL.
fn origin(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(format!(
        "{}://{}:{}",
        u.scheme(),
        u.host_str()?,
        u.port_or_known_default()?
    ))
}

/// Reads the results of an ended batch. The key is sent only to the
/// provider's own host: a `results_url` elsewhere is an error.
pub(crate) async fn results(
    conn: &Conn,
    polled: &Polled,
) -> Result<Vec<(String, Outcome)>, String> {
    let mut out = Vec::new();
    for url in &polled.sources {
        if origin(url).is_none() || origin(url) != origin(&conn.http.base_url) {
            return Err(format!(
                "`{}`: the batch's results_url {url} is not on the provider's host {} (not sending the key there)",
                conn.http.label, conn.http.base_url
            ));
        }
        let bytes = conn.get_file(url).await?;
        out.extend(super::result_lines(&bytes, url, outcome)?);
    }
    Ok(out)
}

/// One line's result.
fn outcome(v: &Value) -> Outcome {
    let result = v.get("result").cloned().unwrap_or(Value::Null);
    match result.get("type").and_then(Value::as_str) {
        Some("succeeded") => match result.get("message") {
            Some(m) => Outcome::Answer(m.clone()),
            None => Outcome::Failed("succeeded without a `message`".into()),
        },
        Some("errored") => {
            let e = result
                .pointer("/error/error")
                .or_else(|| result.get("error"))
                .cloned()
                .unwrap_or(Value::Null);
            let kind = e.get("type").and_then(Value::as_str).unwrap_or("error");
            let message = e.get("message").and_then(Value::as_str).unwrap_or("");
            Outcome::Failed(format!("errored: {kind}: {message}"))
        }
        Some("expired") => {
            Outcome::Failed("expired: the batch ended before this request ran".into())
        }
        Some("canceled") => {
            Outcome::Failed("canceled: the batch was canceled before this request ran".into())
        }
        other => Outcome::Failed(format!("unknown result type {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_read_as_answers_or_reasons() {
        let ok =
            json!({"custom_id": "k", "result": {"type": "succeeded", "message": {"content": []}}});
        assert_eq!(outcome(&ok), Outcome::Answer(json!({"content": []})));
        let bad = json!({"custom_id": "k", "result": {"type": "errored", "error": {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: too large"}}}});
        assert_eq!(
            outcome(&bad),
            Outcome::Failed("errored: invalid_request_error: max_tokens: too large".into())
        );
        assert!(
            matches!(outcome(&json!({"custom_id": "k", "result": {"type": "expired"}})), Outcome::Failed(r) if r.starts_with("expired"))
        );
    }

    #[test]
    fn the_key_goes_to_the_provider_host_only() {
        assert_eq!(
            origin("https://api.anthropic.com/v1/x"),
            origin("https://api.anthropic.com")
        );
        assert_ne!(
            origin("https://evil.example/v1/x"),
            origin("https://api.anthropic.com")
        );
        assert_ne!(origin("http://127.0.0.1:1/x"), origin("http://127.0.0.1:2"));
    }
}
