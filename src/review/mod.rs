//! `tribunal review`: the domain expert's review app, a small web server on
//! `127.0.0.1` serving one page (HTML, CSS and JavaScript embedded in the
//! binary) and a JSON API.
//!
//! The expert opens the queue of a run's trials, reads each input, output
//! and reference, says pass or fail with a critique and failure-mode tags
//! (written to `fixtures/labels/<suite>.yaml` in place, see
//! [`crate::labels::edit`]), and only then sees what the judges said. The
//! agreement view runs `tribunal align`'s computation; the error-analysis
//! view crosses failures by tag dimension and ranks failure modes.
//!
//! Safety: the server binds to loopback unless `--host` is given with an
//! access token (then required on every request); without a token every
//! request's `Host` must name the server (no DNS rebinding); every
//! state-changing request
//! carries the page's CSRF token; request bodies are bounded; the page sets
//! every text from the run with `textContent`.

pub mod analysis;
pub mod annotators;
pub mod data;
mod server;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

pub use data::Source;
pub use server::Review;

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// The project root.
    pub root: PathBuf,
    /// The run to review.
    pub source: Source,
    /// The annotator's name (`None`: the page asks once).
    pub annotator: Option<String>,
    /// The address to bind.
    pub host: IpAddr,
    /// The port (0: a free one).
    pub port: u16,
    /// The access token every request must carry (required off loopback).
    pub token: Option<String>,
    /// Hide the judges' verdicts until the expert has labelled the trial.
    pub blind: bool,
    /// Write to the annotator's own label file (`<suite>.<annotator>.yaml`),
    /// for agreement between annotators.
    pub own_labels: bool,
}

impl Options {
    /// Loopback, a free port, blind, no token.
    pub fn new(root: PathBuf, source: Source) -> Options {
        Options {
            root,
            source,
            annotator: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            token: None,
            blind: true,
            own_labels: false,
        }
    }

    /// The address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// The largest request body the server reads: 256 KiB (a label with a
/// long critique is a few KiB).
pub const MAX_BODY_BYTES: usize = 256 << 10;

/// The longest critique accepted: 64 KiB.
pub const MAX_CRITIQUE_BYTES: usize = 64 << 10;

/// A fresh random token (128 bits, hex).
pub fn random_token() -> Result<String, String> {
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf).map_err(|e| format!("no random numbers from the system: {e}"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
