//! How many calls are in flight: a global limit shared by every provider, a
//! per-provider limit that shrinks when the provider answers 429 and grows
//! back after successes (additive increase, multiplicative decrease), a pause
//! every caller of that provider honours after a `Retry-After`, an optional
//! requests-per-minute spacing, and the counters a progress display reads.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Counters of a run's provider calls.
#[derive(Debug, Default)]
pub struct Stats {
    /// HTTP attempts sent.
    pub attempts: AtomicU64,
    /// Retries (attempts after the first).
    pub retries: AtomicU64,
    /// Calls that ended in an error.
    pub errors: AtomicU64,
    /// Calls answered from a cassette.
    pub replayed: AtomicU64,
    /// Calls written to a cassette.
    pub recorded: AtomicU64,
    /// HTTP attempts in flight now.
    pub in_flight: AtomicU64,
    /// The recorded cost of the replayed calls, in nano-dollars.
    pub replayed_nano_usd: AtomicU64,
    /// The cost of the calls made live, in nano-dollars.
    pub spent_nano_usd: AtomicU64,
    /// Calls a provider answered (not from a cassette).
    pub live: AtomicU64,
}

/// A copy of [`Stats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// HTTP attempts sent.
    pub attempts: u64,
    /// Retries.
    pub retries: u64,
    /// Calls that ended in an error.
    pub errors: u64,
    /// Calls answered from a cassette.
    pub replayed: u64,
    /// Calls written to a cassette.
    pub recorded: u64,
    /// Attempts in flight.
    pub in_flight: u64,
    /// The recorded cost of the replayed calls, in nano-dollars
    /// (10⁻⁹ USD).
    pub replayed_nano_usd: u64,
    /// The cost of the calls made live, in nano-dollars.
    pub spent_nano_usd: u64,
    /// Calls a provider answered.
    pub live: u64,
}

/// A cost in US dollars as whole nano-dollars (negative or non-finite: 0).
pub fn nano_usd(usd: Option<f64>) -> u64 {
    usd.filter(|c| c.is_finite() && *c > 0.0)
        .map_or(0, |c| (c * 1e9).round() as u64)
}

impl Stats {
    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            attempts: r(&self.attempts),
            retries: r(&self.retries),
            errors: r(&self.errors),
            replayed: r(&self.replayed),
            recorded: r(&self.recorded),
            in_flight: r(&self.in_flight),
            replayed_nano_usd: r(&self.replayed_nano_usd),
            spent_nano_usd: r(&self.spent_nano_usd),
            live: r(&self.live),
        }
    }
}

/// The limits of one provider, under the global limit.
#[derive(Debug)]
pub struct Limiter {
    global: Arc<Semaphore>,
    local: Arc<Semaphore>,
    max: usize,
    current: AtomicUsize,
    debt: Arc<AtomicUsize>,
    streak: AtomicUsize,
    pause_until: Mutex<Option<Pause>>,
    spacing: Option<Duration>,
    next_slot: Mutex<Option<Instant>>,
    stats: Arc<Stats>,
}

/// A pause every caller of a provider honours after a 429: until when, and
/// the server's answer that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    /// When calls may be sent again.
    pub until: Instant,
    /// What the server answered (`HTTP 429: ...`).
    pub reason: String,
}

/// Permission to have one attempt in flight; released on drop.
#[derive(Debug)]
pub struct Permit {
    _global: OwnedSemaphorePermit,
    local: Option<OwnedSemaphorePermit>,
    debt: Arc<AtomicUsize>,
    stats: Arc<Stats>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
        // Shrinking the limit: pay the debt by not giving this slot back.
        let paid = self
            .debt
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
            .is_ok();
        if let Some(p) = self.local.take()
            && paid
        {
            p.forget();
        }
    }
}

impl Limiter {
    /// A limiter allowing `max` calls in flight (at least 1) and at most
    /// `rpm` requests per minute, under `global`.
    pub fn new(global: Arc<Semaphore>, max: usize, rpm: Option<u32>, stats: Arc<Stats>) -> Self {
        let max = max.max(1);
        Limiter {
            global,
            local: Arc::new(Semaphore::new(max)),
            max,
            current: AtomicUsize::new(max),
            debt: Arc::new(AtomicUsize::new(0)),
            streak: AtomicUsize::new(0),
            pause_until: Mutex::new(None),
            spacing: rpm
                .filter(|r| *r > 0)
                .map(|r| Duration::from_secs_f64(60.0 / f64::from(r))),
            next_slot: Mutex::new(None),
            stats,
        }
    }

    /// The current per-provider limit.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// The pause in effect now, if any.
    pub fn pause(&self) -> Option<Pause> {
        let now = Instant::now();
        self.pause_until
            .lock()
            .ok()
            .and_then(|p| p.clone())
            .filter(|p| p.until > now)
    }

    /// Waits for the pause in effect, unless it lasts past `deadline`: then
    /// returns it at once, so that the caller can fail with the server's reason.
    async fn wait_pause(&self, deadline: Option<Instant>) -> Result<(), Pause> {
        while let Some(p) = self.pause() {
            if deadline.is_some_and(|d| p.until > d) {
                return Err(p);
            }
            tokio::time::sleep_until(p.until.into()).await;
        }
        Ok(())
    }

    /// Waits for any pause, then for a slot (rate limit and both limits).
    /// A pause that began while this call queued for its slot is waited for
    /// again, so that no call is sent into a pause. A pause lasting past
    /// `deadline` (pushed back by the time queued so far) is returned at
    /// once. Returns the permit and the time spent in tribunal's own queue,
    /// pauses not included; an error carries that time too.
    pub async fn acquire(
        &self,
        deadline: Option<Instant>,
    ) -> Result<(Permit, Duration), (Pause, Duration)> {
        let mut queued = Duration::ZERO;
        loop {
            let until = deadline.map(|d| d.checked_add(queued).unwrap_or(d));
            if let Err(pause) = self.wait_pause(until).await {
                return Err((pause, queued));
            }
            let started = Instant::now();
            let permit = self.slot().await;
            queued += started.elapsed();
            if self.pause().is_none() {
                return Ok((permit, queued));
            }
        }
    }

    /// Waits for the rate-limit slot and both limits (tribunal's own queue),
    /// ignoring any pause.
    async fn slot(&self) -> Permit {
        if let Some(spacing) = self.spacing {
            let slot = match self.next_slot.lock() {
                Ok(mut next) => {
                    let now = Instant::now();
                    let slot = next.map_or(now, |n| n.max(now));
                    *next = slot.checked_add(spacing);
                    slot
                }
                Err(_) => Instant::now(),
            };
            tokio::time::sleep_until(slot.into()).await;
        }
        // The semaphores are never closed, so acquisition cannot fail; a
        // closed one would only mean shutdown, where no limit matters.
        let local = Arc::clone(&self.local).acquire_owned().await.ok();
        let global = loop {
            if let Ok(p) = Arc::clone(&self.global).acquire_owned().await {
                break p;
            }
        };
        self.stats.in_flight.fetch_add(1, Ordering::Relaxed);
        Permit {
            _global: global,
            local,
            debt: Arc::clone(&self.debt),
            stats: Arc::clone(&self.stats),
        }
    }

    /// A 429: shrink the limit by a fifth (not below 1) and pause every
    /// caller for `wait` (the server's `Retry-After`, or one second); `reason`
    /// is the server's answer, for calls the pause makes fail.
    pub fn on_rate_limited(&self, wait: Option<Duration>, reason: &str) {
        self.streak.store(0, Ordering::Relaxed);
        let cur = self.current.load(Ordering::Relaxed);
        let new = ((cur * 4) / 5).max(1);
        if new < cur
            && self
                .current
                .compare_exchange(cur, new, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.debt.fetch_add(cur - new, Ordering::AcqRel);
        }
        let now = Instant::now();
        let wait = wait.unwrap_or(Duration::from_secs(1));
        // Saturate: a far future is as good as the farthest representable one.
        let until = now
            .checked_add(wait)
            .or_else(|| now.checked_add(super::retry::MAX_SERVER_WAIT))
            .unwrap_or(now);
        if let Ok(mut p) = self.pause_until.lock() {
            let later = p.as_ref().is_none_or(|old| until > old.until);
            if later {
                *p = Some(Pause {
                    until,
                    reason: reason.to_string(),
                });
            }
        }
    }

    /// A success: after as many successes in a row as the current limit,
    /// grow it by one (up to the configured maximum).
    pub fn on_success(&self) {
        let cur = self.current.load(Ordering::Relaxed);
        if cur >= self.max {
            return;
        }
        if self.streak.fetch_add(1, Ordering::Relaxed) + 1 >= cur {
            self.streak.store(0, Ordering::Relaxed);
            if self
                .current
                .compare_exchange(cur, cur + 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                let cancelled = self
                    .debt
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1))
                    .is_ok();
                if !cancelled {
                    self.local.add_permits(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limit_caps_in_flight_and_shrinks_on_429() {
        let stats = Arc::new(Stats::default());
        let l = Arc::new(Limiter::new(
            Arc::new(Semaphore::new(100)),
            5,
            None,
            stats.clone(),
        ));
        let held: Vec<Permit> = futures_join(&l, 5).await;
        assert_eq!(stats.snapshot().in_flight, 5);
        let more = tokio::time::timeout(Duration::from_millis(30), l.acquire(None)).await;
        assert!(more.is_err(), "a sixth call must wait");
        l.on_rate_limited(Some(Duration::ZERO), "HTTP 429");
        assert_eq!(l.current(), 4);
        drop(held);
        assert_eq!(l.local.available_permits(), 4);
        for _ in 0..4 {
            l.on_success();
        }
        assert_eq!(l.current(), 5);
        assert_eq!(l.local.available_permits(), 5);
    }

    async fn futures_join(l: &Arc<Limiter>, n: usize) -> Vec<Permit> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(l.acquire(None).await.expect("no pause").0);
        }
        out
    }
}
