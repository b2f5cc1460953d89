//! One provider over HTTP: builds the wire body, sends it with a per-attempt
//! timeout under the provider's limits, classifies failures and retries
//! transient ones with back-off until the attempt limit or time budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::capped::{Capped, MAX_ANSWER_BYTES, MAX_ERROR_BYTES, read_response};
use super::config::ProviderKind;
use super::limits::{Limiter, Stats};
use super::retry::{MAX_SERVER_WAIT, RetryPolicy, StatusClass, classify_status};
use super::structured::{self, StructuredMode, is_structured_rejection};
use super::{
    BoxFuture, ChatRequest, ChatResponse, Provider, ProviderError, ResponseFormat, anthropic,
    openai, secrets,
};

/// A provider reached over HTTP.
pub(crate) struct HttpProvider {
    pub label: String,
    pub kind: ProviderKind,
    pub model: String,
    /// The base URL (`https://api.openai.com/v1`): batches' endpoints are under it.
    pub base_url: String,
    pub url: String,
    pub headers: HeaderMap,
    pub extra: Map<String, Value>,
    pub client: reqwest::Client,
    pub policy: RetryPolicy,
    pub limiter: Arc<Limiter>,
    pub stats: Arc<Stats>,
    /// The key variable, when it is unset (named in 401/403 errors).
    pub missing_key_env: Option<String>,
    /// The configured structured-output mode.
    pub configured: StructuredMode,
    /// In `auto`: the mode negotiated so far (0/1 = json_schema, 2 =
    /// json_object, 3 = tools).
    pub negotiated: AtomicU8,
}

impl HttpProvider {
    /// Headers for a kind: auth (when a key is known), versions, extras.
    pub fn headers(
        kind: ProviderKind,
        key: Option<&str>,
        extra: &[(String, String)],
    ) -> Result<HeaderMap, ProviderError> {
        let mut h = HeaderMap::new();
        let mut put = |name: &str, value: &str| -> Result<(), ProviderError> {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ProviderError::Config(format!("header name `{name}`: {e}")))?;
            let mut v = HeaderValue::from_str(value).map_err(|_| {
                ProviderError::Config(format!("header `{name}` has an invalid value"))
            })?;
            v.set_sensitive(true);
            h.insert(n, v);
            Ok(())
        };
        match kind {
            ProviderKind::Openai => {
                if let Some(k) = key {
                    put("authorization", &format!("Bearer {k}"))?;
                }
            }
            ProviderKind::Anthropic => {
                if let Some(k) = key {
                    put("x-api-key", k)?;
                }
                put("anthropic-version", anthropic::VERSION)?;
            }
        }
        for (k, v) in extra {
            put(k, v)?;
        }
        Ok(h)
    }

    async fn call(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let mut mode = self.structured_mode();
        loop {
            let result = self.call_in(req, mode).await;
            let next = match &result {
                Err(ProviderError::Rejected { message, .. })
                    if self.configured == StructuredMode::Auto
                        && self.kind == ProviderKind::Openai
                        && matches!(
                            req.response_format,
                            Some(ResponseFormat::JsonSchema { .. })
                        )
                        && is_structured_rejection(message) =>
                {
                    mode.fallback()
                }
                _ => None,
            };
            match next {
                // The server refused this way of asking for JSON: ask the next way,
                // now and for this provider's later calls.
                Some(next) => {
                    self.negotiated.store(next as u8, Ordering::Relaxed);
                    mode = next;
                }
                None => return result,
            }
        }
    }

    /// The wire body of `req` as a batch sends it, in the structured-output
    /// mode this provider would use now, and that mode (to read the answer
    /// with [`read_answer`]).
    pub(crate) fn batch_body(&self, req: &ChatRequest) -> (Value, StructuredMode) {
        let mode = self.structured_mode();
        let body = match self.kind {
            ProviderKind::Openai => openai::body(&structured::prepare(req, mode), &self.extra),
            ProviderKind::Anthropic => anthropic::body(req, &self.extra),
        };
        (body, mode)
    }

    /// The structured-output mode to use now: the configured one, or in
    /// `auto` the one negotiated so far.
    fn structured_mode(&self) -> StructuredMode {
        if self.kind == ProviderKind::Anthropic {
            return StructuredMode::Tools;
        }
        match self.configured {
            StructuredMode::Auto => match self.negotiated.load(Ordering::Relaxed) {
                2 => StructuredMode::JsonObject,
                3 => StructuredMode::Tools,
                _ => StructuredMode::JsonSchema,
            },
            m => m,
        }
    }

    fn redacted(&self, text: &str) -> String {
        secrets::redact(text)
    }

    /// One call in one structured-output mode: attempts under the limits
    /// until success, a refusal, the attempt limit or the time budget.
    async fn call_in(
        &self,
        original: &ChatRequest,
        mode: StructuredMode,
    ) -> Result<ChatResponse, ProviderError> {
        // Anthropic's body builder asks for its own forced tool.
        let req = if self.kind == ProviderKind::Openai {
            structured::prepare(original, mode)
        } else {
            original.clone()
        };
        let body = match self.kind {
            ProviderKind::Openai => openai::body(&req, &self.extra),
            ProviderKind::Anthropic => anthropic::body(&req, &self.extra),
        };
        let body = serde_json::to_vec(&body).map_err(|e| ProviderError::Malformed {
            provider: self.label.clone(),
            message: format!("request not serialisable: {e}"),
        })?;
        let started = Instant::now();
        // The budget counts from here; time spent waiting for one of
        // tribunal's own concurrency or rate slots is added back, so a long
        // queue never eats a call's budget (a server's pause does).
        let mut deadline = started
            .checked_add(self.policy.budget())
            .unwrap_or(started + MAX_SERVER_WAIT);
        let max = self.policy.max_attempts.max(1);
        let mut last = String::new();
        let mut attempt = 0;
        loop {
            let permit = match self.limiter.acquire(Some(deadline)).await {
                Ok((permit, queued)) => {
                    deadline = deadline.checked_add(queued).unwrap_or(deadline);
                    permit
                }
                Err((pause, queued)) => {
                    let deadline = deadline.checked_add(queued).unwrap_or(deadline);
                    let now = Instant::now();
                    return Err(ProviderError::Paused {
                        provider: self.label.clone(),
                        wait_s: pause.until.saturating_duration_since(now).as_secs_f64(),
                        remaining_s: deadline.saturating_duration_since(now).as_secs_f64(),
                        reason: self.redacted(&pause.reason),
                    });
                }
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                drop(permit);
                return Err(ProviderError::Exhausted {
                    provider: self.label.clone(),
                    attempts: attempt,
                    last: format!(
                        "{last} (the {:.0}s budget is used up)",
                        self.policy.budget_s
                    ),
                });
            }
            attempt += 1;
            // An attempt never runs past the budget: its timeout is cut to what is left.
            let timeout = self.policy.timeout().min(remaining);
            self.stats.attempts.fetch_add(1, Ordering::Relaxed);
            let sent_at = Instant::now();
            let outcome = self.attempt(&body, timeout).await;
            drop(permit);
            let mut wait = None;
            match outcome {
                Err(e) => last = describe(&e, timeout),
                Ok((status, after, bytes)) => {
                    let message = || {
                        let m = match self.kind {
                            ProviderKind::Openai => openai::error_message(&bytes.head),
                            ProviderKind::Anthropic => anthropic::error_message(&bytes.head),
                        };
                        let m = if bytes.is_truncated() {
                            format!("{m} [error body: {}]", bytes.note())
                        } else {
                            m
                        };
                        self.redacted(&m)
                    };
                    match classify_status(status) {
                        StatusClass::Success => {
                            self.limiter.on_success();
                            let malformed = |message: String| ProviderError::Malformed {
                                provider: self.label.clone(),
                                message: self.redacted(&message),
                            };
                            if bytes.is_truncated() {
                                return Err(malformed(format!(
                                    "the answer is larger than the {} MiB limit ({})",
                                    MAX_ANSWER_BYTES >> 20,
                                    bytes.note()
                                )));
                            }
                            let mut r = read_answer(self.kind, &bytes.head, &req, original, mode)
                                .map_err(malformed)?;
                            // The time from sending the successful attempt to its answer:
                            // no queueing, pauses or earlier attempts.
                            r.latency_ms = sent_at.elapsed().as_secs_f64() * 1000.0;
                            return Ok(r);
                        }
                        StatusClass::Fatal => {
                            return Err(self.rejected(status, message()));
                        }
                        StatusClass::Transient => {
                            let message = message();
                            // A server that answers 5xx to a request it cannot accept
                            // (llama.cpp's validation errors) will answer it the same
                            // way every time: a refusal, not a transient failure.
                            if status >= 500 && is_validation_answer(&message) {
                                return Err(self.rejected(status, message));
                            }
                            last = format!("HTTP {status}: {message}");
                            if status == 429 {
                                self.limiter.on_rate_limited(after, &last);
                            }
                            wait = after;
                        }
                    }
                }
            }
            if let Some(err) = self.give_up(attempt, max, deadline, wait, &last).await {
                return Err(err);
            }
        }
    }

    fn rejected(&self, status: u16, mut message: String) -> ProviderError {
        if matches!(status, 401 | 403)
            && let Some(var) = &self.missing_key_env
        {
            message.push_str(&format!(
                " (hint: {var} is not set, so no key was sent; set it to the provider's key)"
            ));
        }
        ProviderError::Rejected {
            provider: self.label.clone(),
            status,
            message,
        }
    }

    /// Sends one attempt and reads its answer: the status, the server's
    /// requested wait, and the body (bounded: a 2xx body up to
    /// [`MAX_ANSWER_BYTES`], an error body's first [`MAX_ERROR_BYTES`]).
    async fn attempt(
        &self,
        body: &[u8],
        timeout: Duration,
    ) -> Result<(u16, Option<Duration>, Capped), reqwest::Error> {
        let resp = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .header("content-type", "application/json")
            .timeout(timeout)
            .body(body.to_vec())
            .send()
            .await?;
        let status = resp.status().as_u16();
        let after = super::retry::retry_after_in(resp.headers());
        let limit = if (200..300).contains(&status) {
            MAX_ANSWER_BYTES
        } else {
            MAX_ERROR_BYTES
        };
        let bytes = read_response(resp, limit, true).await?;
        Ok((status, after, bytes))
    }

    /// After a transient failure: `Some(error)` to stop, else sleeps the
    /// back-off (or the server's wait) and returns `None` to retry.
    async fn give_up(
        &self,
        attempt: u32,
        max: u32,
        deadline: Instant,
        server_wait: Option<Duration>,
        last: &str,
    ) -> Option<ProviderError> {
        let exhausted = |note: &str| ProviderError::Exhausted {
            provider: self.label.clone(),
            attempts: attempt,
            last: format!("{last}{note}"),
        };
        if attempt >= max {
            return Some(exhausted(""));
        }
        let wait = server_wait.unwrap_or_else(|| self.policy.backoff(attempt));
        let left = deadline.saturating_duration_since(Instant::now());
        if wait >= left {
            return Some(exhausted(&format!(
                " (the next wait of {:.1}s would pass the {:.0}s budget)",
                wait.as_secs_f64(),
                self.policy.budget_s
            )));
        }
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(wait).await;
        None
    }
}

/// Reads a 2xx answer `bytes` of a `kind` provider to `sent` (the request
/// as put on the wire in `mode`) for the case's `original` request: the
/// format's parse, then the structured output taken out and checked. A
/// batch result's body is read the same way. `Err` says what is wrong.
pub(crate) fn read_answer(
    kind: ProviderKind,
    bytes: &[u8],
    sent: &ChatRequest,
    original: &ChatRequest,
    mode: StructuredMode,
) -> Result<ChatResponse, String> {
    let mut r = match kind {
        ProviderKind::Openai => openai::parse(bytes, sent)?,
        ProviderKind::Anthropic => anthropic::parse(bytes, sent)?,
    };
    if kind == ProviderKind::Openai {
        structured::finish(&mut r, original, mode)?;
    } else if matches!(
        original.response_format,
        Some(ResponseFormat::JsonSchema { .. })
    ) {
        r.structured_output = Some(StructuredMode::Tools.as_str().into());
    }
    Ok(r)
}

/// A 5xx body that is a request validation error (pydantic's "Input should
/// be ...", "validation error"), or a refusal of the structured-output request.
fn is_validation_answer(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    is_structured_rejection(message)
        || m.contains("input should be")
        || m.contains("validation error")
}

/// A transport failure with its whole cause chain (`connection reset by
/// peer` is usually three levels down).
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    let mut causes = Vec::new();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let text = s.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        src = s.source();
    }
    let chain = if causes.is_empty() {
        String::new()
    } else {
        format!(": {}", causes.join(": "))
    };
    let what = if e.is_timeout() {
        return format!(
            "timed out after {}s{chain}",
            (timeout.as_secs_f64() * 1000.0).round() / 1000.0
        );
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the answer failed"
    } else {
        "sending the request failed"
    };
    // reqwest's own text carries the URL; the causes carry the reason.
    secrets::redact(&format!("{what} ({e}){chain}"))
}

impl Provider for HttpProvider {
    fn name(&self) -> &str {
        self.kind.as_str()
    }
    fn model(&self) -> &str {
        &self.model
    }
    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ProviderError>> {
        Box::pin(self.call(request))
    }
}
