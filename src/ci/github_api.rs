//! The GitHub REST calls behind the sticky pull-request comment: list the
//! pull request's comments (paginated through the `Link` header), then edit
//! the one that carries tribunal's marker (`PATCH`) or add it (`POST`).
//!
//! Bounds: every request has [`REQUEST_TIMEOUT`], the whole update
//! [`TOTAL_TIMEOUT`]; an answer larger than [`MAX_ANSWER_BYTES`] is an
//! error; at most [`MAX_PAGES`] pages of comments are read. A `Link` to
//! another host than `GITHUB_API_URL` is refused, so the token is only ever
//! sent to the API it was given for. Errors say what GitHub answered and
//! what to do (401 token, 403 permissions or a fork's read-only token, 404,
//! rate limits); every text from GitHub is passed through
//! [`crate::provider::secrets::redact`], and the token is never formatted.

use std::time::Duration;

use serde_json::Value;

use crate::config::SecretValue;

/// The longest one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest the whole comment update may take.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(120);
/// The largest answer read (one page of comments).
pub const MAX_ANSWER_BYTES: usize = 8 << 20;
/// The most pages of comments read (100 comments each).
pub const MAX_PAGES: usize = 100;

/// Why the comment could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401.
    #[error(
        "{what}: GitHub rejected the token (401 {message}) (hint: pass the workflow's token as GITHUB_TOKEN, `${{{{ github.token }}}}`; a personal token may have expired)"
    )]
    Unauthorized {
        /// The call.
        what: String,
        /// GitHub's message.
        message: String,
    },
    /// 403 that is not a rate limit.
    #[error(
        "{what}: GitHub refused (403 {message}) (hint: give the job `permissions: pull-requests: write`; a pull request from a fork gets a read-only token, so its comparison is only in the job summary)"
    )]
    Forbidden {
        /// The call.
        what: String,
        /// GitHub's message.
        message: String,
    },
    /// 404.
    #[error(
        "{what}: not found (404 {message}) (hint: check GITHUB_REPOSITORY and the pull request number; a token that cannot see a private repository also gets 404)"
    )]
    NotFound {
        /// The call.
        what: String,
        /// GitHub's message.
        message: String,
    },
    /// 429, or 403 with the rate limit spent.
    #[error(
        "{what}: rate limited by GitHub ({status} {message}){when} (hint: re-run the job later)"
    )]
    RateLimited {
        /// The call.
        what: String,
        /// 403 or 429.
        status: u16,
        /// GitHub's message.
        message: String,
        /// `; retry after N s` or `; the limit resets at …`, when GitHub said.
        when: String,
    },
    /// Another status.
    #[error("{what}: GitHub answered {status} ({message})")]
    Status {
        /// The call.
        what: String,
        /// The status code.
        status: u16,
        /// GitHub's message.
        message: String,
    },
    /// The request did not complete.
    #[error("{what}: {message} (hint: check GITHUB_API_URL and the runner's network)")]
    Transport {
        /// The call.
        what: String,
        /// What failed.
        message: String,
    },
    /// No answer in time.
    #[error("{what}: no answer within {secs} s")]
    Timeout {
        /// The call.
        what: String,
        /// The limit.
        secs: u64,
    },
    /// Not the JSON GitHub sends, too large, or a bad `Link`.
    #[error("{what}: {message}")]
    Answer {
        /// The call.
        what: String,
        /// What is wrong.
        message: String,
    },
}

/// Whether the comment was added or edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `POST`: no comment had the marker.
    Created,
    /// `PATCH`: the comment with the marker was edited.
    Updated,
}

/// The comment written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// Added or edited.
    pub action: Action,
    /// Its id.
    pub id: u64,
    /// Its web address.
    pub url: String,
}

/// A client of one repository's REST API.
pub struct Api {
    client: reqwest::Client,
    api_url: String,
    repository: String,
    token: SecretValue,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("api_url", &self.api_url)
            .field("repository", &self.repository)
            .field("token", &self.token)
            .finish()
    }
}

impl Api {
    /// A client for `repository` (`owner/name`) at `api_url`.
    pub fn new(api_url: &str, repository: &str, token: SecretValue) -> Result<Api, ApiError> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            // A redirect could carry the token elsewhere; GitHub's API
            // answers directly.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tribunal/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Transport {
                what: "building the HTTP client".into(),
                message: e.to_string(),
            })?;
        Ok(Api {
            client,
            api_url: api_url.trim_end_matches('/').to_string(),
            repository: repository.to_string(),
            token,
        })
    }

    /// Edits the comment of pull request `number` whose body contains
    /// `marker`, or adds one, with `body`. Within [`TOTAL_TIMEOUT`].
    pub async fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<Posted, ApiError> {
        match tokio::time::timeout(TOTAL_TIMEOUT, self.upsert(number, marker, body)).await {
            Ok(r) => r,
            Err(_) => Err(ApiError::Timeout {
                what: format!("updating the comment on pull request #{number}"),
                secs: TOTAL_TIMEOUT.as_secs(),
            }),
        }
    }

    async fn upsert(&self, number: u64, marker: &str, body: &str) -> Result<Posted, ApiError> {
        let existing = self.find(number, marker).await?;
        let payload = serde_json::json!({ "body": body });
        let (action, answer) = match existing {
            Some(id) => {
                let url = format!(
                    "{}/repos/{}/issues/comments/{id}",
                    self.api_url, self.repository
                );
                let what = format!("editing comment {id} on pull request #{number}");
                let (_, v) = self
                    .send(reqwest::Method::PATCH, &url, Some(&payload), &what)
                    .await?;
                (Action::Updated, v)
            }
            None => {
                let url = format!(
                    "{}/repos/{}/issues/{number}/comments",
                    self.api_url, self.repository
                );
                let what = format!("adding a comment to pull request #{number}");
                let (_, v) = self
                    .send(reqwest::Method::POST, &url, Some(&payload), &what)
                    .await?;
                (Action::Created, v)
            }
        };
        let id = answer
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| ApiError::Answer {
                what: "the written comment".into(),
                message: "GitHub's answer has no comment `id`".into(),
            })?;
        let url = answer
            .get("html_url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Ok(Posted { action, id, url })
    }

    /// The id of the first comment whose body contains `marker`.
    async fn find(&self, number: u64, marker: &str) -> Result<Option<u64>, ApiError> {
        let mut next = Some(format!(
            "{}/repos/{}/issues/{number}/comments?per_page=100",
            self.api_url, self.repository
        ));
        let mut page = 0;
        while let Some(url) = next.take() {
            page += 1;
            if page > MAX_PAGES {
                return Err(ApiError::Answer {
                    what: format!("listing the comments of pull request #{number}"),
                    message: format!(
                        "more than {MAX_PAGES} pages of comments; tribunal's comment was not found in the first {}",
                        MAX_PAGES * 100
                    ),
                });
            }
            let what = format!("listing the comments of pull request #{number} (page {page})");
            let (link, v) = self.send(reqwest::Method::GET, &url, None, &what).await?;
            let comments = v.as_array().ok_or_else(|| ApiError::Answer {
                what: what.clone(),
                message: "the answer is not a list of comments".into(),
            })?;
            for c in comments {
                let body = c.get("body").and_then(Value::as_str).unwrap_or_default();
                if body.contains(marker)
                    && let Some(id) = c.get("id").and_then(Value::as_u64)
                {
                    return Ok(Some(id));
                }
            }
            next = match link.as_deref().and_then(next_link) {
                Some(n) if same_origin(&n, &self.api_url) => Some(n),
                Some(n) => {
                    return Err(ApiError::Answer {
                        what,
                        message: format!(
                            "the next page is on another host ({}); the token is only sent to GITHUB_API_URL",
                            crate::provider::secrets::redact(&n)
                        ),
                    });
                }
                None => None,
            };
        }
        Ok(None)
    }

    /// One request: the `Link` header and the JSON answer of a 2xx, else
    /// the error for its status.
    async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<(Option<String>, Value), ApiError> {
        let mut req = self
            .client
            .request(method, url)
            .bearer_auth(self.token.expose())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(b) = body {
            req = req.json(b);
        }
        let mut resp = req.send().await.map_err(|e| transport(what, &e))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let link = header("link");
        let remaining = header("x-ratelimit-remaining");
        let reset = header("x-ratelimit-reset");
        let retry_after = header("retry-after");
        let mut bytes = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                        return Err(ApiError::Answer {
                            what: what.to_string(),
                            message: format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
                        });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(transport(what, &e)),
            }
        }
        let parsed: Result<Value, _> = serde_json::from_slice(&bytes);
        if (200..300).contains(&status) {
            let v = parsed.map_err(|e| ApiError::Answer {
                what: what.to_string(),
                message: format!("the answer is not JSON ({e})"),
            })?;
            return Ok((link, v));
        }
        let message = match &parsed {
            Ok(v) => v
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string()),
            Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
        };
        let message = crate::text::one_line(&crate::provider::secrets::redact(&message), 300);
        let what = what.to_string();
        let spent = remaining.as_deref() == Some("0")
            || retry_after.is_some()
            || message.to_ascii_lowercase().contains("rate limit");
        Err(match status {
            401 => ApiError::Unauthorized { what, message },
            403 | 429 if spent || status == 429 => {
                let when = match (retry_after, reset.and_then(|r| r.parse::<u64>().ok())) {
                    (Some(s), _) => format!("; retry after {s} s"),
                    (None, Some(epoch)) => format!(
                        "; the limit resets at {}",
                        crate::datetime::rfc3339(
                            std::time::UNIX_EPOCH + Duration::from_secs(epoch)
                        )
                    ),
                    (None, None) => String::new(),
                };
                ApiError::RateLimited {
                    what,
                    status,
                    message,
                    when,
                }
            }
            403 => ApiError::Forbidden { what, message },
            404 => ApiError::NotFound { what, message },
            _ => ApiError::Status {
                what,
                status,
                message,
            },
        })
    }
}

fn transport(what: &str, e: &reqwest::Error) -> ApiError {
    if e.is_timeout() {
        return ApiError::Timeout {
            what: what.to_string(),
            secs: REQUEST_TIMEOUT.as_secs(),
        };
    }
    // reqwest's message names the URL, never the headers.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    ApiError::Transport {
        what: what.to_string(),
        message: crate::provider::secrets::redact(&message),
    }
}

/// The `rel="next"` address of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_string())
    })
}

/// Whether `url` is on the scheme, host and port of `base`.
fn same_origin(url: &str, base: &str) -> bool {
    let origin = |u: &str| -> Option<String> {
        let (scheme, rest) = u.split_once("://")?;
        let host = rest.split('/').next()?;
        Some(format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        ))
    };
    matches!((origin(url), origin(base)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_give_the_next_page() {
        let h = r#"<https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=5>; rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2")
        );
        assert_eq!(next_link(r#"<https://x/1>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn only_the_api_origin_is_followed() {
        assert!(same_origin(
            "https://api.github.com/repos/a/b?page=2",
            "https://api.github.com"
        ));
        assert!(!same_origin(
            "https://evil.example/x",
            "https://api.github.com"
        ));
        assert!(!same_origin(
            "http://api.github.com/x",
            "https://api.github.com"
        ));
        assert!(same_origin(
            "http://127.0.0.1:9/x",
            "http://127.0.0.1:9/api/v3"
        ));
    }

    #[test]
    fn the_token_is_not_in_debug_output() {
        let env = crate::config::Env::from_vars([
            ("GITHUB_TOKEN", "ghs_supersecretvalue"),
            ("GITHUB_REPOSITORY", "o/r"),
        ]);
        let gh = crate::config::GithubEnv::from_env(&env).expect("env");
        let token = gh.token.clone().expect("token");
        let api = Api::new("https://api.github.com", "o/r", token).expect("api");
        let text = format!("{api:?} {gh:?}");
        assert!(!text.contains("supersecret"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
}
