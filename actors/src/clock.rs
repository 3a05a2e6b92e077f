//! The engine's clock: wall time that follows tokio's clock, so tests with
//! paused time see payment windows and deadlines pass without sleeping.

use chrono::{DateTime, FixedOffset, Utc};
use tokio::time::Instant;

/// Wall-clock time derived from tokio's monotonic clock.
#[derive(Debug, Clone)]
pub struct Clock {
    base_wall: DateTime<Utc>,
    base: Instant,
    offset: FixedOffset,
}

impl Clock {
    /// A clock starting at the current wall time, showing times at `offset`.
    pub fn new(offset: FixedOffset) -> Self {
        Self { base_wall: Utc::now(), base: Instant::now(), offset }
    }

    /// Now, in UTC.
    pub fn now_utc(&self) -> DateTime<Utc> {
        self.base_wall + self.base.elapsed()
    }

    /// Now, at the platform's local offset.
    pub fn now(&self) -> DateTime<FixedOffset> {
        self.now_utc().with_timezone(&self.offset)
    }

    /// Now in ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.now_utc().timestamp_millis()
    }

    /// The tokio instant at which wall time `at` arrives (now if past).
    pub fn instant_of(&self, at: DateTime<Utc>) -> Instant {
        let ahead = (at - self.now_utc()).to_std().unwrap_or_default();
        Instant::now() + ahead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_time() {
        let c = Clock::new(autoglm_core::default_offset());
        let t0 = c.now_utc();
        tokio::time::sleep(std::time::Duration::from_secs(900)).await;
        assert_eq!((c.now_utc() - t0).num_seconds(), 900);
    }
}
