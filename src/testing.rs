//! Test support for tribunal's own tests and benchmarks (not part of the
//! public API): a model provider made of a closure. The
//! loopback HTTP server speaking both wire formats is `provider::mock`
//! (always built: `tribunal bench` uses it); synthetic runs are
//! `report::sample`.

use std::sync::Mutex;

use crate::provider::{BoxFuture, ChatRequest, ChatResponse, Provider, ProviderError};

/// A [`Provider`] that answers every request with a function of it: for
/// judges and prompt targets in tests, without a server. With
/// [`FnProvider::recording`] it also keeps every request it was sent.
pub struct FnProvider<F> {
    name: String,
    answer: F,
    seen: Option<Mutex<Vec<ChatRequest>>>,
}

impl<F> FnProvider<F>
where
    F: Fn(&ChatRequest) -> Result<ChatResponse, ProviderError> + Send + Sync,
{
    /// A provider called `name` that answers with `answer`.
    pub fn new(name: impl Into<String>, answer: F) -> Self {
        FnProvider {
            name: name.into(),
            answer,
            seen: None,
        }
    }

    /// The same provider, keeping a copy of every request it answers.
    pub fn recording(mut self) -> Self {
        self.seen = Some(Mutex::new(Vec::new()));
        self
    }

    /// Every request answered so far, in order (none unless
    /// [`FnProvider::recording`]).
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.seen
            .as_ref()
            .and_then(|s| s.lock().ok().map(|s| s.clone()))
            .unwrap_or_default()
    }
}

impl<F> Provider for FnProvider<F>
where
    F: Fn(&ChatRequest) -> Result<ChatResponse, ProviderError> + Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn chat<'a>(
        &'a self,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ProviderError>> {
        let answer = (self.answer)(request);
        if let Some(Ok(mut seen)) = self.seen.as_ref().map(Mutex::lock) {
            seen.push(request.clone());
        }
        Box::pin(async move { answer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Message;

    #[tokio::test]
    async fn answers_with_the_function_of_the_request() {
        let p = FnProvider::new("echo", |r: &ChatRequest| {
            Ok(ChatResponse::new(r.last_user_text().unwrap_or_default()))
        });
        let req = ChatRequest::new("m", vec![Message::user("hello")]);
        assert_eq!(p.name(), "echo");
        assert_eq!(p.chat(&req).await.expect("answer").text, "hello");
        assert!(p.requests().is_empty(), "not recording");
    }

    #[tokio::test]
    async fn a_recording_provider_keeps_every_request_in_order() {
        let p = FnProvider::new("echo", |_: &ChatRequest| Ok(ChatResponse::new("ok"))).recording();
        for text in ["one", "two"] {
            p.chat(&ChatRequest::new("m", vec![Message::user(text)]))
                .await
                .expect("answer");
        }
        let requests = p.requests();
        let seen: Vec<_> = requests.iter().map(|r| r.last_user_text()).collect();
        assert_eq!(seen, [Some("one"), Some("two")]);
    }
}
