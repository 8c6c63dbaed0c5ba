//! The run's clock: wall-clock milliseconds (to compare with the server's times) that advance
//! with the monotonic clock (so measured durations never go backwards).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Wall-clock milliseconds that never go backwards within a run.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    origin: Instant,
    origin_ms: i64,
}

impl RunClock {
    /// A clock reading the system time once, then advancing with the monotonic clock.
    pub fn start() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self {
            origin: Instant::now(),
            origin_ms: i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Milliseconds since the Unix epoch, now.
    pub fn now_ms(&self) -> i64 {
        self.origin_ms + i64::try_from(self.origin.elapsed().as_millis()).unwrap_or(i64::MAX / 2)
    }

    /// The monotonic instant at which the wall clock reads `at_ms`.
    pub fn instant_at(&self, at_ms: i64) -> Instant {
        let offset = at_ms - self.origin_ms;
        if offset >= 0 {
            self.origin + Duration::from_millis(offset.unsigned_abs())
        } else {
            self.origin
        }
    }

    /// The wall clock's reading (Unix ms) at a monotonic instant.
    pub fn ms_at(&self, at: Instant) -> i64 {
        let since = at.saturating_duration_since(self.origin);
        self.origin_ms + i64::try_from(since.as_millis()).unwrap_or(i64::MAX / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_and_its_wall_clock_reading_round_trip() {
        let clock = RunClock::start();
        let later_ms = clock.now_ms() + 1_500;
        assert_eq!(clock.ms_at(clock.instant_at(later_ms)), later_ms);
    }

    #[test]
    fn times_before_the_run_are_read_as_its_start() {
        let clock = RunClock::start();
        let start = clock.instant_at(0);
        assert!(clock.ms_at(start) > 0);
    }
}
