//! Bounded reading of what servers and programs send back: the first bytes
//! up to a limit are kept, the rest is only counted and hashed, so a 200 MB
//! answer costs the limit in memory, not 200 MB.
//!
//! Limits: a model's 2xx answer is read up to [`MAX_ANSWER_BYTES`] (a larger
//! one is an error, never a cut-off answer); an error body keeps its first
//! [`MAX_ERROR_BYTES`]; `command` and `http` targets keep
//! [`DEFAULT_MAX_OUTPUT_BYTES`] unless they set `max_output_bytes`.

use sha2::{Digest, Sha256};

/// The largest 2xx provider body read (16 MiB).
pub const MAX_ANSWER_BYTES: usize = 16 << 20;
/// How much of an error body is kept (64 KiB); the message shows less.
pub const MAX_ERROR_BYTES: usize = 64 << 10;
/// How much of a target's output is kept by default (8 MiB).
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 8 << 20;

/// Bytes read with a limit: the kept head, the total size and a hash of
/// everything (head included) when some was dropped.
#[derive(Debug, Clone)]
pub struct Capped {
    /// The first bytes, at most the limit.
    pub head: Vec<u8>,
    /// Bytes seen in total.
    pub total: u64,
    limit: usize,
    hasher: Sha256,
}

impl Capped {
    /// An empty reader keeping at most `limit` bytes.
    pub fn new(limit: usize) -> Capped {
        Capped {
            head: Vec::new(),
            total: 0,
            limit,
            hasher: Sha256::new(),
        }
    }

    /// Reads everything `bytes` holds.
    pub fn of(bytes: &[u8], limit: usize) -> Capped {
        let mut c = Capped::new(limit);
        c.push(bytes);
        c
    }

    /// Adds a chunk.
    pub fn push(&mut self, chunk: &[u8]) {
        let room = self.limit.saturating_sub(self.head.len());
        self.head.extend_from_slice(&chunk[..chunk.len().min(room)]);
        self.total += chunk.len() as u64;
        self.hasher.update(chunk);
    }

    /// True when bytes past the limit were dropped.
    pub fn is_truncated(&self) -> bool {
        self.total > self.head.len() as u64
    }

    /// The SHA-256 (hex) of every byte seen.
    pub fn sha256(&self) -> String {
        self.hasher
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// What was dropped, for evidence and messages: `kept the first N of M
    /// bytes; sha256 of all M bytes: …`.
    pub fn note(&self) -> String {
        format!(
            "kept the first {} of {} bytes; sha256 of all {} bytes: {}",
            self.head.len(),
            self.total,
            self.total,
            self.sha256()
        )
    }

    /// The head as text (lossy), with the note appended when truncated.
    pub fn text_with_note(&self) -> String {
        let s = String::from_utf8_lossy(&self.head);
        if self.is_truncated() {
            format!("{s}… [{}]", self.note())
        } else {
            s.into_owned()
        }
    }
}

/// Reads a response body, keeping at most `limit` bytes and counting and
/// hashing the rest. With `stop_at_limit` it stops reading at the limit (the
/// total is then a lower bound: `total > head.len()` still says "more").
pub async fn read_response(
    mut resp: reqwest::Response,
    limit: usize,
    stop_at_limit: bool,
) -> Result<Capped, reqwest::Error> {
    let mut c = Capped::new(limit);
    while let Some(chunk) = resp.chunk().await? {
        c.push(&chunk);
        if stop_at_limit && c.is_truncated() {
            break;
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_head_and_counts_the_rest() {
        let mut c = Capped::new(4);
        c.push(b"abc");
        c.push(b"defg");
        assert_eq!(c.head, b"abcd");
        assert_eq!(c.total, 7);
        assert!(c.is_truncated());
        assert_eq!(c.sha256(), Capped::of(b"abcdefg", 100).sha256());
        assert!(
            c.text_with_note()
                .starts_with("abcd… [kept the first 4 of 7 bytes")
        );
        assert!(!Capped::of(b"ab", 2).is_truncated());
    }
}
