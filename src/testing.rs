//! Test support for tribunal's own tests and benchmarks (feature `testing`,
//! not part of the public API): a model provider made of a closure. The
//! loopback HTTP server speaking both wire formats is `provider::mock`
//! (always built: `tribunal bench` uses it); synthetic runs are
//! `report::sample`.

use crate::provider::{BoxFuture, ChatRequest, ChatResponse, Provider, ProviderError};

/// A [`Provider`] that answers every request with a function of it: for
/// judges and prompt targets in tests, without a server.
pub struct FnProvider<F> {
    name: String,
    answer: F,
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
        }
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
    }
}
