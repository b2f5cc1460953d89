//! The provider sections of the project configuration file, `tribunal.yaml`
//! at the project root (format documented in `docs/providers.md`). The file
//! as a whole, its other sections and the check that every key is known are
//! in [`crate::config`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ProviderError;
use super::price::Price;
use super::retry::RetryPolicy;

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI-compatible chat completions (`POST {base}/chat/completions`).
    Openai,
    /// Anthropic Messages (`POST {base}/v1/messages`).
    Anthropic,
}

impl ProviderKind {
    /// `openai` or `anthropic`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }

    /// Parses `openai` / `anthropic`.
    pub fn parse(s: &str) -> Option<ProviderKind> {
        match s {
            "openai" => Some(ProviderKind::Openai),
            "anthropic" => Some(ProviderKind::Anthropic),
            _ => None,
        }
    }

    /// The environment variable holding the key by default.
    pub fn key_env(self) -> &'static str {
        match self {
            ProviderKind::Openai => "OPENAI_API_KEY",
            ProviderKind::Anthropic => "ANTHROPIC_API_KEY",
        }
    }

    /// The environment variable overriding the base URL.
    pub fn base_url_env(self) -> &'static str {
        match self {
            ProviderKind::Openai => "OPENAI_BASE_URL",
            ProviderKind::Anthropic => "ANTHROPIC_BASE_URL",
        }
    }

    /// The public API's base URL.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::Openai => "https://api.openai.com/v1",
            ProviderKind::Anthropic => "https://api.anthropic.com",
        }
    }
}

/// A named provider block under `providers:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedProvider {
    /// The wire format.
    pub kind: ProviderKind,
    /// The model sent when the spec names none.
    #[serde(default)]
    pub model: Option<String>,
    /// Base URL (else the kind's env var, else the public API).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The environment variable holding the API key (else the kind's default).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Extra headers. A value `${NAME}` is read from the environment; header
    /// values are never written to cassettes.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Request parameters: `temperature`, `max_tokens` and `seed` fill the
    /// request when it leaves them unset; any other key is added to the wire
    /// body as is (and is part of the cassette key).
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Price per million tokens for this provider's model.
    #[serde(default)]
    pub price: Option<Price>,
    /// Calls in flight to this provider at most.
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Requests per minute at most.
    #[serde(default)]
    pub rpm: Option<u32>,
    /// Retry and timeout policy for this provider.
    #[serde(default)]
    pub retry: Option<RetryPolicy>,
    /// How structured output is requested (`auto`, `json_schema`,
    /// `json_object` or `tools`; see [`super::structured`]).
    #[serde(default)]
    pub structured_output: Option<super::structured::StructuredMode>,
}

/// Global limits. Unset, both follow the number of trials evaluated at once
/// (`TRIBUNAL_CONCURRENCY`, `run.concurrency`): one knob, so a run asked to
/// evaluate 128 trials at once may have 128 calls in flight to one provider.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Calls in flight across all providers (default: the trial concurrency).
    pub concurrency: Option<usize>,
    /// Calls in flight per provider, unless the provider sets its own
    /// (default: [`LimitsConfig::global`]).
    pub per_provider: Option<usize>,
}

/// The trial concurrency limits follow when neither `TRIBUNAL_CONCURRENCY`
/// nor `limits:` says otherwise.
pub const DEFAULT_CALLS_IN_FLIGHT: usize = 64;

impl LimitsConfig {
    /// Calls in flight across all providers (at least 1).
    pub fn global(&self) -> usize {
        self.concurrency.unwrap_or(DEFAULT_CALLS_IN_FLIGHT).max(1)
    }

    /// Calls in flight per provider unless the provider sets its own (at
    /// least 1): `per_provider`, else the global limit.
    pub fn per_provider(&self) -> usize {
        self.per_provider.unwrap_or_else(|| self.global()).max(1)
    }

    /// Fills the global limit left unset with the trial concurrency `trials`.
    pub fn follow(&mut self, trials: usize) {
        self.concurrency.get_or_insert(trials);
    }

    /// One line for the run summary: `64 trials at once · 64 calls in
    /// flight · 64 per provider`.
    pub fn describe(&self, trials: usize) -> String {
        format!(
            "{trials} trials at once · {} calls in flight · {} per provider",
            self.global(),
            self.per_provider(),
        )
    }
}

/// Where cassettes live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CassetteConfig {
    /// Folder of cassettes, relative to the project root.
    pub dir: String,
}

impl Default for CassetteConfig {
    fn default() -> Self {
        CassetteConfig {
            dir: "fixtures/cassettes".into(),
        }
    }
}

/// The provider sections of `tribunal.yaml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectConfig {
    /// Named providers.
    pub providers: BTreeMap<String, NamedProvider>,
    /// Price overrides by model name (longest prefix wins).
    pub prices: BTreeMap<String, Price>,
    /// In-flight limits.
    pub limits: LimitsConfig,
    /// Default retry and timeout policy.
    pub retry: RetryPolicy,
    /// Cassette location.
    pub cassettes: CassetteConfig,
}

impl ProjectConfig {
    /// Parses a text holding only provider sections (for tests and tools that
    /// build a configuration in code); `origin` names it in errors. A project's
    /// `tribunal.yaml` is read by [`crate::config::ProjectFile`], which reports
    /// every problem with its position.
    pub fn parse(text: &str, origin: &str) -> Result<ProjectConfig, ProviderError> {
        if text.trim().is_empty() {
            return Ok(ProjectConfig::default());
        }
        serde_saphyr::from_str::<ProjectConfig>(text)
            .map_err(|e| ProviderError::Config(format!("{origin}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_provider_sections() {
        let text = r#"
providers:
  judge:
    kind: openai
    model: gpt-4.1-mini
    base_url: http://127.0.0.1:9/v1
    headers: {X-Team: evals}
    params: {temperature: 0, top_p: 0.5}
    price: {input_per_mtok: 0.4, output_per_mtok: 1.6}
    concurrency: 4
    rpm: 600
    retry: {max_attempts: 2}
prices:
  my-model: {input_per_mtok: 1, output_per_mtok: 2}
limits: {concurrency: 8}
"#;
        let c = ProjectConfig::parse(text, "tribunal.yaml").expect("parses");
        let judge = &c.providers["judge"];
        assert_eq!(judge.kind, ProviderKind::Openai);
        assert_eq!(judge.concurrency, Some(4));
        assert_eq!(judge.retry.as_ref().map(|r| r.max_attempts), Some(2));
        assert_eq!(c.limits.concurrency, Some(8));
        assert_eq!(c.limits.per_provider(), 8);
        assert_eq!(c.prices["my-model"].output_per_mtok, 2.0);
    }

    #[test]
    fn unknown_keys_inside_a_provider_are_errors() {
        let err = ProjectConfig::parse(
            "providers:\n  j:\n    kind: openai\n    modle: x\n",
            "t.yaml",
        )
        .expect_err("must fail");
        let text = err.to_string();
        assert!(text.contains("t.yaml") && text.contains("modle"), "{text}");
    }
}
