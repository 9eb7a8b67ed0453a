//! Remembering that an optional dependency (Redis) is down, so that callers skip it for a short
//! window instead of each paying its connection timeout.
//!
//! After a failure, [`Outage::skip`] says "don't try" for the window; after it, one caller at a
//! time tries again. The first failure and the recovery are logged at warn level (not every
//! failed call), and failures are counted for diagnostics.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The state of one dependency.
#[derive(Debug)]
pub struct Outage {
    name: &'static str,
    window: Duration,
    started: Instant,
    /// Milliseconds since `started` until which callers skip the dependency; 0: it is up.
    skip_until: AtomicU64,
    /// Set while it is considered down (for logging the transitions once).
    down: AtomicBool,
    /// A caller is trying it after the window.
    trying: AtomicBool,
    failures: AtomicU64,
}

impl Outage {
    pub fn new(name: &'static str, window: Duration) -> Self {
        Self {
            name,
            window,
            started: Instant::now(),
            skip_until: AtomicU64::new(0),
            down: AtomicBool::new(false),
            trying: AtomicBool::new(false),
            failures: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }

    /// Whether the caller should not use the dependency now. Once the window is over, exactly
    /// one caller is told to try (until it reports back).
    pub fn skip(&self) -> bool {
        if !self.down.load(Ordering::Acquire) {
            return false;
        }
        if self.now_ms() < self.skip_until.load(Ordering::Acquire) {
            return true;
        }
        self.trying
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    }

    /// The dependency answered.
    pub fn succeeded(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            tracing::warn!(dependency = self.name, "{} is reachable again", self.name);
        }
        self.trying.store(false, Ordering::Release);
    }

    /// The dependency failed: skip it for the window.
    pub fn failed(&self, error: &dyn std::fmt::Display) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let until = self.now_ms() + self.window.as_millis() as u64;
        self.skip_until.store(until, Ordering::Release);
        if !self.down.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                dependency = self.name,
                error = %error,
                "{} is unavailable ({error}); skipping it for {:?} at a time",
                self.name,
                self.window
            );
        } else {
            tracing::debug!(dependency = self.name, error = %error, "{} still unavailable", self.name);
        }
        self.trying.store(false, Ordering::Release);
    }

    /// Whether it is considered down right now.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Failures seen since start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_for_the_window_then_lets_one_caller_try() {
        let outage = Outage::new("redis", Duration::from_millis(50));
        assert!(!outage.skip());
        outage.failed(&"refused");
        assert!(outage.skip());
        std::thread::sleep(Duration::from_millis(60));
        assert!(!outage.skip(), "the first caller after the window tries");
        assert!(outage.skip(), "only one at a time");
        outage.succeeded();
        assert!(!outage.skip());
        assert!(!outage.is_down());
        assert_eq!(outage.failures(), 1);
    }
}
