//! OpenAI's Batch API: the requests as a JSONL file uploaded with
//! `POST /files` (multipart, `purpose=batch`), a batch created from it with
//! `POST /batches`, polled with `GET /batches/{id}`, and its answers read
//! from the output and error files (`GET /files/{id}/content`), one line
//! per request: `{custom_id, response: {status_code, body}, error}`.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Conn, Item, Outcome, Polled};

/// Requests per batch at most (OpenAI's limit).
pub const MAX_REQUESTS: usize = 50_000;
/// Bytes of an input file at most (OpenAI's limit: 200 MB).
pub const MAX_BYTES: usize = 200_000_000;

/// The endpoint every line calls.
const ENDPOINT: &str = "/v1/chat/completions";

/// One line of the input file.
pub fn line(item: &Item) -> Result<String, String> {
    serde_json::to_string(&json!({
        "custom_id": item.key,
        "method": "POST",
        "url": ENDPOINT,
        "body": item.body,
    }))
    .map_err(|e| format!("cannot encode request {}: {e}", item.key))
}

/// The input file of a batch: one line per request.
pub fn input_file(items: &[&Item]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for i in items {
        out.extend_from_slice(line(i)?.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

/// A `multipart/form-data` body with the field `purpose=batch` and the file:
/// its content type (with the boundary) and bytes. The boundary is chosen
/// so that it does not occur in the file.
pub fn multipart(jsonl: &[u8]) -> (String, Vec<u8>) {
    let digest: String = Sha256::digest(jsonl)
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut boundary = format!("tribunal-{digest}");
    while jsonl
        .windows(boundary.len())
        .any(|w| w == boundary.as_bytes())
    {
        boundary.push('x');
    }
    let mut body = Vec::with_capacity(jsonl.len() + 400);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"tribunal-batch.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(jsonl);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn id_of(v: &Value, what: &str, conn: &Conn) -> Result<String, String> {
    v.get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            format!(
                "`{}`: the answer to {what} has no `id`: {}",
                conn.http.label,
                crate::provider::openai::snippet(v.to_string().as_bytes())
            )
        })
}

/// Uploads an input file; returns its id.
pub(crate) async fn upload(conn: &Conn, jsonl: Vec<u8>) -> Result<String, String> {
    let (content_type, body) = multipart(&jsonl);
    let v = conn
        .post_json(&conn.url("/files"), &content_type, body)
        .await?;
    id_of(&v, "POST /files", conn)
}

/// Creates a batch from an uploaded file; returns its id and status.
pub(crate) async fn create(conn: &Conn, file_id: &str) -> Result<(String, String), String> {
    let body = json!({"input_file_id": file_id, "endpoint": ENDPOINT, "completion_window": "24h"});
    let v = conn
        .post_json(
            &conn.url("/batches"),
            "application/json",
            body.to_string().into_bytes(),
        )
        .await?;
    let id = id_of(&v, "POST /batches", conn)?;
    Ok((id, status_of(&v)))
}

fn status_of(v: &Value) -> String {
    v.get("status")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string()
}

/// Polls a batch.
pub(crate) async fn poll(conn: &Conn, id: &str) -> Result<Polled, String> {
    let v = conn.get_json(&conn.url(&format!("/batches/{id}"))).await?;
    let status = status_of(&v);
    let ended = matches!(
        status.as_str(),
        "completed" | "failed" | "expired" | "cancelled"
    );
    let errors: Vec<String> = v
        .pointer("/errors/data")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let m = e.get("message").and_then(Value::as_str)?;
            Some(match e.get("line").and_then(Value::as_u64) {
                Some(l) => format!("line {l}: {m}"),
                None => m.to_string(),
            })
        })
        .take(5)
        .collect();
    let note = match status.as_str() {
        "completed" => String::new(),
        s if errors.is_empty() => format!("batch {id} {s} before answering it"),
        s => format!("batch {id} {s}: {}", errors.join("; ")),
    };
    let sources = ["output_file_id", "error_file_id"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Polled {
        status,
        ended,
        note,
        sources,
    })
}

/// Reads the output and error files of an ended batch.
pub(crate) async fn results(
    conn: &Conn,
    polled: &Polled,
) -> Result<Vec<(String, Outcome)>, String> {
    let mut out = Vec::new();
    for file in &polled.sources {
        let url = conn.url(&format!("/files/{file}/content"));
        let bytes = conn.get_file(&url).await?;
        out.extend(super::result_lines(
            &bytes,
            &format!("file {file}"),
            outcome,
        )?);
    }
    Ok(out)
}

/// One line's result: the body of a 2xx response, else why not.
fn outcome(v: &Value) -> Outcome {
    if let Some(e) = v.get("error").filter(|e| !e.is_null()) {
        let code = e.get("code").and_then(Value::as_str).unwrap_or("error");
        let message = e.get("message").and_then(Value::as_str).unwrap_or("");
        return Outcome::Failed(format!("{code}: {message}"));
    }
    let status = v
        .pointer("/response/status_code")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let body = v.pointer("/response/body").cloned().unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        Outcome::Answer(body)
    } else {
        let message = crate::provider::openai::error_message(body.to_string().as_bytes());
        Outcome::Failed(format!("HTTP {status}: {message}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundary_never_occurs_in_the_file() {
        let (ct, body) = multipart(b"{\"a\":1}\n");
        let boundary = ct
            .strip_prefix("multipart/form-data; boundary=")
            .expect("boundary");
        let text = String::from_utf8(body).expect("utf-8");
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
        assert!(text.contains("name=\"purpose\"\r\n\r\nbatch\r\n"));
        // A file that holds the first choice of boundary gets another one.
        let sneaky = format!("{boundary}\n");
        let (ct2, _) = multipart(sneaky.as_bytes());
        let b2 = ct2
            .strip_prefix("multipart/form-data; boundary=")
            .expect("boundary");
        assert_ne!(b2, boundary);
        assert!(!sneaky.contains(b2), "{b2}");
    }

    #[test]
    fn output_lines_read_as_answers_or_reasons() {
        let ok = json!({"custom_id": "k", "response": {"status_code": 200, "body": {"choices": []}}, "error": null});
        assert_eq!(outcome(&ok), Outcome::Answer(json!({"choices": []})));
        let bad = json!({"custom_id": "k", "response": {"status_code": 400, "body": {"error": {"message": "bad model"}}}, "error": null});
        assert_eq!(outcome(&bad), Outcome::Failed("HTTP 400: bad model".into()));
        let expired = json!({"custom_id": "k", "response": null, "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}});
        assert_eq!(
            outcome(&expired),
            Outcome::Failed("batch_expired: This request could not be executed before the completion window expired.".into())
        );
    }
}
