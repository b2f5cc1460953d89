//! `http` targets: send the case to an HTTP endpoint, read the output from
//! the JSON answer.
//!
//! ```yaml
//! target:
//!   http:
//!     url: "http://127.0.0.1:8080/answer?q={{ input }}"  # templated; values are URL-encoded
//!     method: POST                           # or GET (default POST)
//!     body: {question: "{{ input }}"}        # JSON; every string inside is templated
//!     headers: {Authorization: "Bearer ${BOT_TOKEN}"}   # ${NAME} reads the environment
//!     output: "$.answer.text"                # JSON path of the output (default: whole body)
//!     tool_calls: "$.tool_calls"             # optional: JSON path of the tool calls it made
//!     conversation: "$.messages"             # optional: JSON path of the conversation
//!     timeout_s: 30                          # default 60
//!     max_output_bytes: 8388608              # default 8 MiB
//! ```
//!
//! In `url`, every `{{ ... }}` value is percent-encoded as one component
//! (`x&admin=1#frag` becomes `x%26admin%3D1%23frag`, `../a` becomes
//! `..%2Fa`); write `{{ base | safe }}` to insert a value as it is. The
//! `urlencode` filter does the same encoding in any template. Header values
//! are not templates; every `${NAME}` inside them is read from the
//! environment (an unset NAME is an error naming it); when the header or
//! the variable has a secret's name (`Authorization`, `${BOT_TOKEN}`, see
//! [`secrets::is_secret_name`]) the value is redacted from every message and output.
//!
//! `tool_calls` and `conversation` read an agent's calls and messages from
//! the JSON answer (OpenAI-shaped or plain, see [`super::shapes`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::prompt::{render, template_context};
use super::{TargetContext, TargetError};
use crate::provider::capped::{DEFAULT_MAX_OUTPUT_BYTES, MAX_ERROR_BYTES, read_response};
use crate::provider::secrets;
use crate::verdict::Output;

/// The parameters of an `http` target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTarget {
    /// The URL, a template.
    pub url: String,
    /// `POST` (default) or `GET`.
    #[serde(default = "default_method")]
    pub method: String,
    /// The JSON body (POST); strings inside are templates.
    #[serde(default)]
    pub body: Option<Value>,
    /// Headers; `${NAME}` values come from the environment.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON path of the output: `$`, `$.a.b`, `$.items[0].text`, `$['key']`.
    #[serde(default)]
    pub output: Option<String>,
    /// JSON path of the tool calls the endpoint reports.
    #[serde(default)]
    pub tool_calls: Option<String>,
    /// JSON path of the conversation the endpoint reports.
    #[serde(default)]
    pub conversation: Option<String>,
    /// Seconds before the request is abandoned.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// The largest answer read, in bytes (default 8 MiB); a larger one is
    /// an error showing its start, its size and a hash.
    #[serde(default = "default_max_output")]
    pub max_output_bytes: usize,
}

fn default_max_output() -> usize {
    DEFAULT_MAX_OUTPUT_BYTES
}

fn default_method() -> String {
    "POST".into()
}

fn default_timeout() -> f64 {
    60.0
}

fn render_value(v: &Value, ctx: &Value) -> Result<Value, TargetError> {
    Ok(match v {
        Value::String(s) => Value::String(render(s, ctx, "the request body")?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| render_value(x, ctx))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), render_value(x, ctx)?)))
                .collect::<Result<_, TargetError>>()?,
        ),
        other => other.clone(),
    })
}

/// The value at a JSON path (the `json_path` check's syntax: `$`, `.key`,
/// `['key']`, `[n]`); the first one when a wildcard selects several.
pub fn json_path<'a>(root: &'a Value, path: &str) -> Result<&'a Value, String> {
    let steps = crate::check::json::parse_path(path)?;
    crate::check::json::select(root, &steps)
        .into_iter()
        .next()
        .ok_or_else(|| format!("nothing at `{path}`"))
}

/// Characters left as they are in a URL component: RFC 3986's unreserved set.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes every byte of `s` outside the unreserved set, so that the
/// result is one path segment or query value (`/`, `?`, `&`, `#`, `=` and
/// spaces included).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if unreserved(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Renders a URL template: every `{{ ... }}` value is percent-encoded (so
/// input such as `x&admin=1#frag` or `../../admin` stays one component),
/// except values marked `| safe`, which are inserted as written.
pub fn render_url(source: &str, context: &Value) -> Result<String, TargetError> {
    let mut env = super::prompt::environment();
    env.set_formatter(|out, state, value| {
        if value.is_safe() {
            return minijinja::escape_formatter(out, state, value);
        }
        let text = value.to_string();
        let text = if value.is_none() || value.is_undefined() {
            String::new()
        } else {
            text
        };
        out.write_str(&urlencode(&text))?;
        Ok(())
    });
    env.render_str(source, minijinja::value::Serde(context))
        .map_err(|e| TargetError(format!("cannot render the url: {e}")))
}

/// Calls an `http` target.
pub async fn call(params: &HttpTarget, ctx: &TargetContext<'_>) -> Result<Output, TargetError> {
    let context = template_context(ctx);
    let url = render_url(&params.url, &context)?;
    let client = ctx.env.providers.http_client();
    let mut req = match params.method.to_ascii_uppercase().as_str() {
        "POST" => client.post(&url),
        "GET" => client.get(&url),
        other => {
            return Err(TargetError(format!(
                "method `{other}` is not supported (use POST or GET)"
            )));
        }
    };
    for (name, value) in &params.headers {
        // Not a template: a case's input must never choose which variable is read.
        let value = secrets::expand_vars(name, value, |var| ctx.env.providers.env_var(var))
        .map_err(|var| {
            TargetError(format!(
                "header `{name}` reads ${{{var}}}, which is not set (hint: export {var} before the run)"
            ))
        })?;
        req = req.header(name.as_str(), value);
    }
    if let Some(body) = &params.body {
        req = req.json(&render_value(body, &context)?);
    }
    let resp = req
        .timeout(
            Duration::try_from_secs_f64(params.timeout_s.clamp(0.001, super::MAX_TIMEOUT_S))
                .unwrap_or(Duration::from_secs(60)),
        )
        .send()
        .await
        .map_err(|e| TargetError(format!("{url}: {}", error_chain(&e))))?;
    let status = resp.status();
    let limit = if status.is_success() {
        params.max_output_bytes.max(1)
    } else {
        MAX_ERROR_BYTES
    };
    let body = read_response(resp, limit, !status.is_success())
        .await
        .map_err(|e| TargetError(format!("{url}: reading the answer: {}", error_chain(&e))))?;
    if !status.is_success() {
        let shown = crate::provider::openai::snippet(&body.head);
        let note = if body.is_truncated() {
            format!(" [error body: {}]", body.note())
        } else {
            String::new()
        };
        return Err(TargetError(format!(
            "{url} answered HTTP {}: {shown}{note}",
            status.as_u16()
        )));
    }
    if body.is_truncated() {
        return Err(TargetError(format!(
            "{url} answered more than the {} bytes kept (`max_output_bytes`): {}; it starts: {}",
            limit,
            body.note(),
            crate::provider::openai::snippet(&body.head)
        )));
    }
    let text = String::from_utf8_lossy(&body.head).into_owned();
    let structured = params.tool_calls.is_some() || params.conversation.is_some();
    let Some(path) = &params.output else {
        let json: Option<Value> = serde_json::from_str(&text).ok();
        let mut out = Output {
            text,
            json,
            ..Output::default()
        };
        if structured {
            let Some(body) = out.json.clone() else {
                return Err(TargetError(format!(
                    "{url} did not answer JSON, so `tool_calls`/`conversation` cannot be read: {}",
                    crate::provider::openai::snippet(out.text.as_bytes())
                )));
            };
            super::shapes::fill(
                &mut out,
                &body,
                params.tool_calls.as_deref(),
                params.conversation.as_deref(),
                &url,
            )?;
        }
        return Ok(out);
    };
    let body: Value = serde_json::from_str(&text).map_err(|e| {
        TargetError(format!(
            "{url} did not answer JSON ({e}): {}",
            crate::provider::openai::snippet(text.as_bytes())
        ))
    })?;
    let found = json_path(&body, path).map_err(|e| {
        TargetError(format!(
            "{url}: {e} in {}",
            crate::provider::openai::snippet(body.to_string().as_bytes())
        ))
    })?;
    let mut out = match found {
        Value::String(s) => Output::text(s.clone()),
        other => Output {
            text: other.to_string(),
            json: Some(other.clone()),
            ..Output::default()
        },
    };
    super::shapes::fill(
        &mut out,
        &body,
        params.tool_calls.as_deref(),
        params.conversation.as_deref(),
        &url,
    )?;
    Ok(out)
}

/// An error with its causes (`connection reset by peer` is several levels down).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        src = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_values_are_one_component_unless_safe() {
        let ctx = json!({"input": "x&admin=1#frag", "up": "../../admin", "base": "http://h:1"});
        assert_eq!(
            render_url("{{ base | safe }}/ask/{{ up }}?q={{ input }}", &ctx).ok(),
            Some("http://h:1/ask/..%2F..%2Fadmin?q=x%26admin%3D1%23frag".into())
        );
        assert_eq!(
            render_url("/q?a={{ input | urlencode }}", &ctx).ok(),
            Some("/q?a=x%26admin%3D1%23frag".into())
        );
        assert_eq!(urlencode("é ~"), "%C3%A9%20~");
    }

    #[test]
    fn follows_json_paths() {
        let v = json!({"a": {"items": [{"text": "hi"}], "odd key": 3}});
        assert_eq!(json_path(&v, "$.a.items[0].text"), Ok(&json!("hi")));
        assert_eq!(json_path(&v, "$.a['odd key']"), Ok(&json!(3)));
        assert_eq!(json_path(&v, "$"), Ok(&v));
        assert!(json_path(&v, "$.a.items[3]").is_err());
        assert!(json_path(&v, "a.b").is_err());
    }
}
