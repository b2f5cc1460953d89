//! When a failed call is worth repeating, and how long to wait first.
//!
//! - 400, 401, 403, 404, 422 and other 4xx answers fail fast with the
//!   server's own message: repeating the same request cannot help.
//! - 408, 409, 425, 429 and every 5xx (including Anthropic's 529
//!   "overloaded"), connection failures, resets and timeouts are retried with
//!   exponential back-off and jitter, honouring `Retry-After` (seconds or an
//!   HTTP date) and OpenAI's `retry-after-ms`, until either the attempt limit
//!   or the time budget runs out.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::datetime::parse_http_date;

/// How calls are retried and timed out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Back-off before the first retry, in milliseconds; it doubles per attempt.
    pub initial_backoff_ms: u64,
    /// The longest back-off between two attempts, in milliseconds.
    pub max_backoff_ms: u64,
    /// The time budget of one call, retries and waits included, in seconds.
    /// A `Retry-After` that would end past the budget ends the call instead.
    pub budget_s: f64,
    /// The timeout of one attempt (connect, send, wait, read), in seconds.
    pub timeout_s: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff_ms: 500,
            max_backoff_ms: 30_000,
            budget_s: 300.0,
            timeout_s: 120.0,
        }
    }
}

impl RetryPolicy {
    /// The per-attempt timeout.
    pub fn timeout(&self) -> Duration {
        clamped_secs(self.timeout_s.max(0.001)).unwrap_or(MAX_SERVER_WAIT)
    }

    /// The whole-call budget.
    pub fn budget(&self) -> Duration {
        clamped_secs(self.budget_s.max(0.0)).unwrap_or(Duration::ZERO)
    }

    /// The wait before retry number `retry` (1 for the first retry): an
    /// exponential ceiling `initial × 2^(retry-1)` capped at `max_backoff`,
    /// with "equal jitter" (a uniform draw between half the ceiling and the
    /// ceiling) so that many calls failing together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let ceiling = self
            .initial_backoff_ms
            .saturating_mul(1u64 << exp)
            .min(self.max_backoff_ms);
        let half = ceiling / 2;
        let jitter = if ceiling > half {
            random_u64() % (ceiling - half + 1)
        } else {
            0
        };
        Duration::from_millis(half + jitter)
    }
}

/// A random number from the standard library's per-process hash keys; good
/// enough for jitter, and no dependency.
fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish()
}

/// What an HTTP status means for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 2xx: read the body.
    Success,
    /// The request itself is wrong (400, 401, 403, 404, 422, ...): fail now.
    Fatal,
    /// A transient failure (408, 409, 425, 429, 5xx): retry.
    Transient,
}

/// Classifies an HTTP status code.
pub fn classify_status(status: u16) -> StatusClass {
    match status {
        200..=299 => StatusClass::Success,
        408 | 409 | 425 | 429 => StatusClass::Transient,
        500..=599 => StatusClass::Transient,
        _ => StatusClass::Fatal,
    }
}

/// The longest wait a server can ask for: larger `Retry-After` values
/// (`1e30`, `10000000000000000000`, a date in the year 9999) are read as this.
/// Any wait past a call's budget ends the call at once, so the exact cap only
/// keeps time arithmetic finite.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Seconds as a wait, clamped to `0..=MAX_SERVER_WAIT` (`None` for NaN and
/// negative values).
fn clamped_secs(secs: f64) -> Option<Duration> {
    if secs.is_nan() || secs < 0.0 {
        return None;
    }
    Some(if secs >= MAX_SERVER_WAIT.as_secs_f64() {
        MAX_SERVER_WAIT
    } else {
        Duration::from_secs_f64(secs)
    })
}

/// [`retry_after`] read from a response's headers, now.
pub fn retry_after_in(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    retry_after(
        header("retry-after"),
        header("retry-after-ms"),
        SystemTime::now(),
    )
}

/// The wait a server asked for: `retry-after-ms` (milliseconds, sent by
/// OpenAI) wins over `Retry-After`, which is either delta-seconds (`120`,
/// fractions accepted) or an HTTP date. Dates in the past mean "now"; waits
/// longer than [`MAX_SERVER_WAIT`] are read as that.
pub fn retry_after(
    retry_after: Option<&str>,
    retry_after_ms: Option<&str>,
    now: SystemTime,
) -> Option<Duration> {
    if let Some(ms) = retry_after_ms.and_then(|v| v.trim().parse::<f64>().ok())
        && let Some(wait) = clamped_secs(ms / 1000.0)
    {
        return Some(wait);
    }
    let value = retry_after?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return clamped_secs(secs);
    }
    let at = parse_http_date(value)?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_SERVER_WAIT),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datetime::http_date;
    use rstest::rstest;

    #[rstest]
    #[case(200, StatusClass::Success)]
    #[case(201, StatusClass::Success)]
    #[case(400, StatusClass::Fatal)]
    #[case(401, StatusClass::Fatal)]
    #[case(403, StatusClass::Fatal)]
    #[case(404, StatusClass::Fatal)]
    #[case(422, StatusClass::Fatal)]
    #[case(408, StatusClass::Transient)]
    #[case(409, StatusClass::Transient)]
    #[case(429, StatusClass::Transient)]
    #[case(500, StatusClass::Transient)]
    #[case(503, StatusClass::Transient)]
    #[case(529, StatusClass::Transient)]
    fn classifies_statuses(#[case] status: u16, #[case] class: StatusClass) {
        assert_eq!(classify_status(status), class);
    }

    #[test]
    fn reads_retry_after_in_all_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            retry_after(Some("3"), None, now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(Some("0.5"), None, now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            retry_after(Some("3"), Some("250"), now),
            Some(Duration::from_millis(250))
        );
        let later = now + Duration::from_secs(7);
        assert_eq!(
            retry_after(Some(&http_date(later)), None, now),
            Some(Duration::from_secs(7))
        );
        let earlier = now - Duration::from_secs(7);
        assert_eq!(
            retry_after(Some(&http_date(earlier)), None, now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(Some("soon"), None, now), None);
        assert_eq!(retry_after(Some("-1"), None, now), None);
        assert_eq!(retry_after(None, None, now), None);
    }

    #[test]
    fn huge_retry_after_values_saturate() {
        let now = SystemTime::now();
        for v in ["1e30", "10000000000000000000", "inf", "1e308"] {
            assert_eq!(
                retry_after(Some(v), None, now),
                Some(MAX_SERVER_WAIT),
                "{v}"
            );
            assert_eq!(
                retry_after(None, Some(v), now),
                Some(MAX_SERVER_WAIT),
                "ms {v}"
            );
        }
        assert_eq!(retry_after(Some("NaN"), None, now), None);
        assert_eq!(
            retry_after(Some("Fri, 31 Dec 9999 23:59:59 GMT"), None, now),
            Some(MAX_SERVER_WAIT)
        );
    }

    #[test]
    fn backoff_grows_within_jitter_bounds_and_caps() {
        let p = RetryPolicy {
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let b1 = p.backoff(1).as_millis();
            assert!((50..=100).contains(&b1), "{b1}");
            let b3 = p.backoff(3).as_millis();
            assert!((200..=400).contains(&b3), "{b3}");
            let b10 = p.backoff(10).as_millis();
            assert!((500..=1000).contains(&b10), "{b10}");
        }
        let draws: std::collections::BTreeSet<u128> =
            (0..50).map(|_| p.backoff(4).as_millis()).collect();
        assert!(draws.len() > 5, "jitter should spread retries: {draws:?}");
    }
}
