//! One provider over HTTP: builds the wire body, sends it with a per-attempt
//! timeout under the provider's limits, classifies failures and retries
//! transient ones with back-off until the attempt limit or time budget.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::config::ProviderKind;
use super::limits::{Limiter, Stats};
use super::retry::{RetryPolicy, StatusClass, classify_status, retry_after};
use super::{BoxFuture, ChatRequest, ChatResponse, Provider, ProviderError, anthropic, openai};

/// A provider reached over HTTP.
pub(crate) struct HttpProvider {
    pub label: String,
    pub kind: ProviderKind,
    pub model: String,
    pub url: String,
    pub headers: HeaderMap,
    pub extra: Map<String, Value>,
    pub client: reqwest::Client,
    pub policy: RetryPolicy,
    pub limiter: Arc<Limiter>,
    pub stats: Arc<Stats>,
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
        let body = match self.kind {
            ProviderKind::Openai => openai::body(req, &self.extra),
            ProviderKind::Anthropic => anthropic::body(req, &self.extra),
        };
        let body = serde_json::to_vec(&body).map_err(|e| ProviderError::Malformed {
            provider: self.label.clone(),
            message: format!("request not serialisable: {e}"),
        })?;
        let started = Instant::now();
        let deadline = started + self.policy.budget();
        let max = self.policy.max_attempts.max(1);
        let mut last;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.stats.attempts.fetch_add(1, Ordering::Relaxed);
            let permit = self.limiter.acquire().await;
            let sent = self
                .client
                .post(&self.url)
                .headers(self.headers.clone())
                .header("content-type", "application/json")
                .timeout(self.policy.timeout())
                .body(body.clone())
                .send()
                .await;
            let mut wait = None;
            match sent {
                Err(e) => {
                    last = describe(&e, self.policy.timeout_s);
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let header = |n: &str| {
                        resp.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    let after = retry_after(
                        header("retry-after").as_deref(),
                        header("retry-after-ms").as_deref(),
                        SystemTime::now(),
                    );
                    let bytes = match resp.bytes().await {
                        Ok(b) => b,
                        Err(e) => {
                            drop(permit);
                            last = describe(&e, self.policy.timeout_s);
                            if let Some(err) =
                                self.give_up(attempt, max, deadline, None, &last).await
                            {
                                return Err(err);
                            }
                            continue;
                        }
                    };
                    drop(permit);
                    let message = match self.kind {
                        ProviderKind::Openai => openai::error_message(&bytes),
                        ProviderKind::Anthropic => anthropic::error_message(&bytes),
                    };
                    match classify_status(status) {
                        StatusClass::Success => {
                            self.limiter.on_success();
                            let parsed = match self.kind {
                                ProviderKind::Openai => openai::parse(&bytes, req),
                                ProviderKind::Anthropic => anthropic::parse(&bytes, req),
                            };
                            let mut r = parsed.map_err(|message| ProviderError::Malformed {
                                provider: self.label.clone(),
                                message,
                            })?;
                            r.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                            return Ok(r);
                        }
                        StatusClass::Fatal => {
                            return Err(ProviderError::Rejected {
                                provider: self.label.clone(),
                                status,
                                message,
                            });
                        }
                        StatusClass::Transient => {
                            if status == 429 {
                                self.limiter.on_rate_limited(after);
                            }
                            wait = after;
                            last = format!("HTTP {status}: {message}");
                        }
                    }
                    if let Some(err) = self.give_up(attempt, max, deadline, wait, &last).await {
                        return Err(err);
                    }
                    continue;
                }
            }
            drop(permit);
            if let Some(err) = self.give_up(attempt, max, deadline, wait, &last).await {
                return Err(err);
            }
        }
    }

    /// After a transient failure: `Some(error)` to stop, else sleeps the
    /// back-off (or the server's wait) and returns `None` to retry.
    async fn give_up(
        &self,
        attempt: u32,
        max: u32,
        deadline: Instant,
        server_wait: Option<std::time::Duration>,
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
        if Instant::now() + wait > deadline {
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

fn describe(e: &reqwest::Error, timeout_s: f64) -> String {
    if e.is_timeout() {
        format!("timed out after {timeout_s}s")
    } else if e.is_connect() {
        format!("connection failed: {e}")
    } else {
        format!("transport error: {e}")
    }
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
