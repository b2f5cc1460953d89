//! The model call behind `tribunal generate truth` and `tribunal generate
//! dimensions`: a minijinja template rendered into one user message, sent
//! through [`Providers::chat`] (so it is recorded to and replayed from
//! cassettes, limited, retried and redacted like every judge and prompt
//! target), and the answer checked before it may become a draft.
//!
//! An answer is not a usable request when it is empty, cut off at the token
//! limit or by the provider's filter, longer than [`MAX_REQUEST_CHARS`],
//! a refusal (it starts like "I'm sorry", "I can't", "As an AI"), or, for a
//! ground truth, an echo of the truth (the truth's text, ignoring case and
//! white space, is inside the answer).

use std::path::PathBuf;

use serde_json::Value;

use crate::provider::{CallSite, ChatRequest, Message, Providers};

/// The longest request kept, in characters.
pub const MAX_REQUEST_CHARS: usize = 2000;

/// The answer's token limit when the provider sets none.
pub const DEFAULT_MAX_TOKENS: u32 = 400;

/// The largest template file read (1 MiB).
pub const MAX_TEMPLATE_BYTES: u64 = 1 << 20;

/// A configured generator: which provider, which template.
#[derive(Debug, Clone)]
pub struct Generator {
    /// The providers (cassette mode, limits, keys).
    pub providers: Providers,
    /// The provider spec (`openai:gpt-4.1-mini`, a name from `tribunal.yaml`).
    pub spec: String,
    /// The template text (minijinja).
    pub template: String,
    /// The SHA-256 of the template text (hex), recorded in provenance.
    pub template_sha256: String,
    /// The sampling temperature, when set.
    pub temperature: Option<f64>,
    /// The suite the drafts are for (cassettes are filed under it).
    pub suite: String,
    /// The suite's folder.
    pub suite_dir: PathBuf,
}

/// What the generator answered, as a usable request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The request text, trimmed.
    pub text: String,
    /// The model that answered, as the provider reported it.
    pub model: String,
}

impl Generator {
    /// A generator for `spec` with `template`.
    pub fn new(
        providers: Providers,
        spec: &str,
        template: String,
        suite: &str,
        suite_dir: PathBuf,
    ) -> Generator {
        Generator {
            providers,
            spec: spec.to_string(),
            template_sha256: crate::text::sha256_hex(&template),
            template,
            temperature: None,
            suite: suite.to_string(),
            suite_dir,
        }
    }

    /// The template rendered with `context`.
    pub fn render(&self, context: &Value) -> Result<String, String> {
        crate::target::prompt::render(&self.template, context, "the generator template")
            .map(|s| s.trim().to_string())
            .map_err(|e| e.to_string())
    }

    /// Sends `prompt` as sample `sample` (part of the cassette key, so `k`
    /// requests for one row replay as `k` answers), filed under
    /// `<suite>/<kind>@<row>`, and checks the answer; `truth` is the text an
    /// answer must not echo.
    pub async fn ask(
        &self,
        kind: &str,
        row: &str,
        prompt: &str,
        sample: u32,
        truth: Option<&str>,
    ) -> Result<Answer, String> {
        let mut request = ChatRequest::new(String::new(), vec![Message::user(prompt)]);
        request.temperature = self.temperature;
        request.max_tokens = Some(DEFAULT_MAX_TOKENS);
        request.sample = sample;
        let site = CallSite {
            suite: self.suite.clone(),
            case_id: kind.to_string(),
            variant: Some(row.to_string()),
            suite_dir: self.suite_dir.clone(),
        };
        let r = self
            .providers
            .chat(&self.spec, &request, &site)
            .await
            .map_err(|e| e.to_string())?;
        if r.truncated() {
            return Err(format!(
                "the answer was cut off at the token limit ({} tokens): {}",
                DEFAULT_MAX_TOKENS,
                crate::text::flat(&r.text, 80)
            ));
        }
        if r.filtered() {
            return Err("the provider's content filter stopped the answer".into());
        }
        let text = usable(&r.text, truth)?;
        Ok(Answer {
            text,
            model: if r.model.is_empty() {
                self.spec.clone()
            } else {
                r.model
            },
        })
    }
}

const REFUSALS: &[&str] = &[
    "i'm sorry",
    "i am sorry",
    "sorry, i",
    "i can't",
    "i cannot",
    "i can not",
    "i won't",
    "i will not",
    "i'm unable",
    "i am unable",
    "i'm not able",
    "i am not able",
    "as an ai",
    "as a language model",
];

fn squeeze(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The answer as a request: trimmed, one pair of surrounding quotes
/// removed; or why it is not a usable one.
pub fn usable(answer: &str, truth: Option<&str>) -> Result<String, String> {
    let mut text = answer.trim();
    for (open, close) in [('"', '"'), ('\'', '\''), ('“', '”')] {
        if text.len() >= 2 && text.starts_with(open) && text.ends_with(close) {
            text = text[open.len_utf8()..text.len() - close.len_utf8()].trim();
            break;
        }
    }
    if text.is_empty() {
        return Err("the answer is empty".into());
    }
    let chars = text.chars().count();
    if chars > MAX_REQUEST_CHARS {
        return Err(format!(
            "the answer is {chars} characters, more than the {MAX_REQUEST_CHARS} of a request"
        ));
    }
    let lower = text.to_lowercase().replace('’', "'");
    if let Some(r) = REFUSALS.iter().find(|r| lower.starts_with(*r)) {
        return Err(format!(
            "the answer is a refusal (it starts with \"{r}\"): {}",
            crate::text::flat(text, 80)
        ));
    }
    if let Some(truth) = truth {
        let t = squeeze(truth);
        if !t.is_empty() && squeeze(text).contains(&t) {
            return Err(format!(
                "the answer echoes the truth verbatim instead of asking for it: {}",
                crate::text::flat(text, 80)
            ));
        }
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_are_not_requests_are_refused_with_the_reason() {
        let truth = r#"{"cmp":">=","value":1}"#;
        let table: Vec<String> = [
            "  \"Users on the pro plan\"  ",
            "   ",
            "I'm sorry, but I can't help with that.",
            "As an AI, I cannot write requests.",
            "Show me {\"cmp\": \">=\", \"value\": 1}",
            "Customers who bought at least once",
        ]
        .iter()
        .map(|a| match usable(a, Some(truth)) {
            Ok(t) => format!("ok: {t}"),
            Err(e) => format!("rejected: {e}"),
        })
        .collect();
        insta::assert_snapshot!(table.join("\n"), @r#"
        ok: Users on the pro plan
        rejected: the answer is empty
        rejected: the answer is a refusal (it starts with "i'm sorry"): I'm sorry, but I can't help with that.
        rejected: the answer is a refusal (it starts with "as an ai"): As an AI, I cannot write requests.
        rejected: the answer echoes the truth verbatim instead of asking for it: Show me {"cmp": ">=", "value": 1}
        ok: Customers who bought at least once
        "#);
        assert!(usable(&"x".repeat(MAX_REQUEST_CHARS + 1), None).is_err());
    }
}
