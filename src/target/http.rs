//! `http` targets: send the case to an HTTP endpoint, read the output from
//! the JSON answer.
//!
//! ```yaml
//! target:
//!   http:
//!     url: "http://127.0.0.1:8080/answer"    # templated
//!     method: POST                           # or GET (default POST)
//!     body: {question: "{{ input }}"}        # JSON; every string inside is templated
//!     headers: {Authorization: "Bearer ${BOT_TOKEN}"}   # ${NAME} reads the environment
//!     output: "$.answer.text"                # JSON path of the output (default: whole body)
//!     timeout_s: 30                          # default 60
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::prompt::{render, template_context};
use super::{TargetContext, TargetError};
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
    /// Seconds before the request is abandoned.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
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

/// Calls an `http` target.
pub async fn call(params: &HttpTarget, ctx: &TargetContext<'_>) -> Result<Output, TargetError> {
    let context = template_context(ctx);
    let url = render(&params.url, &context, "the url")?;
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
        let value = match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
            Some(var) => std::env::var(var).map_err(|_| {
                TargetError(format!(
                    "header `{name}` reads ${{{var}}}, which is not set"
                ))
            })?,
            None => value.clone(),
        };
        req = req.header(name.as_str(), value);
    }
    if let Some(body) = &params.body {
        req = req.json(&render_value(body, &context)?);
    }
    let resp = req
        .timeout(Duration::from_secs_f64(params.timeout_s.max(0.001)))
        .send()
        .await
        .map_err(|e| TargetError(format!("{url}: {e}")))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| TargetError(format!("{url}: reading the answer: {e}")))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if !status.is_success() {
        return Err(TargetError(format!(
            "{url} answered HTTP {}: {}",
            status.as_u16(),
            text.trim()
        )));
    }
    let Some(path) = &params.output else {
        let json = serde_json::from_str(&text).ok();
        return Ok(Output {
            text,
            json,
            ..Output::default()
        });
    };
    let body: Value = serde_json::from_str(&text)
        .map_err(|e| TargetError(format!("{url} did not answer JSON ({e}): {}", text.trim())))?;
    let found = json_path(&body, path).map_err(|e| TargetError(format!("{url}: {e} in {body}")))?;
    Ok(match found {
        Value::String(s) => Output::text(s.clone()),
        other => Output {
            text: other.to_string(),
            json: Some(other.clone()),
            ..Output::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
