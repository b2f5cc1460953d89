//! A live progress line for the call phase of a run: done/total, calls in
//! flight, retries, errors and replays, redrawn on stderr. It draws only
//! when stderr is a terminal and the run is not in CI, so CI logs stay quiet.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::limits::StatsSnapshot;
use super::registry::Providers;

/// Progress of a run's trials; cheap to clone and share.
#[derive(Debug, Clone)]
pub struct Progress {
    done: Arc<AtomicU64>,
    total: u64,
    stop: Arc<AtomicBool>,
}

/// The progress line for a moment of a run.
pub fn line(done: u64, total: u64, s: &StatsSnapshot) -> String {
    format!(
        "tribunal: {done}/{total} trials, {} in flight, {} retries, {} errors, {} replayed, {} recorded",
        s.in_flight, s.retries, s.errors, s.replayed, s.recorded
    )
}

impl Progress {
    /// Starts a progress display for `total` trials on the current tokio
    /// runtime. With `ci` set, or stderr not a terminal, nothing is drawn.
    pub fn start(providers: &Providers, total: u64, ci: bool) -> Progress {
        let p = Progress {
            done: Arc::new(AtomicU64::new(0)),
            total,
            stop: Arc::new(AtomicBool::new(false)),
        };
        if ci || !std::io::stderr().is_terminal() {
            return p;
        }
        let (done, stop, providers) = (Arc::clone(&p.done), Arc::clone(&p.stop), providers.clone());
        tokio::spawn(async move {
            let mut err = std::io::stderr();
            while !stop.load(Ordering::Relaxed) {
                let text = line(done.load(Ordering::Relaxed), total, &providers.stats());
                let _ = write!(err, "\r\x1b[2K{text}");
                let _ = err.flush();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        });
        p
    }

    /// One more trial finished.
    pub fn finish_one(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    /// Trials finished so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// The number of trials.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Stops drawing and clears the line.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_and_formats() {
        let p = Progress::start(&Providers::default(), 3, true);
        p.finish_one();
        p.finish_one();
        assert_eq!((p.done(), p.total()), (2, 3));
        let s = StatsSnapshot {
            in_flight: 4,
            retries: 1,
            ..StatsSnapshot::default()
        };
        assert_eq!(
            line(p.done(), p.total(), &s),
            "tribunal: 2/3 trials, 4 in flight, 1 retries, 0 errors, 0 replayed, 0 recorded"
        );
        p.stop();
    }
}
