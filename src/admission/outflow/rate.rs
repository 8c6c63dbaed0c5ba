//! How fast the serving number really moves: the honest basis of a wait estimate.
//!
//! The serving number advances in score units, gaps left by shoppers who left or lost their place
//! included, so its speed is exactly the speed at which every waiting shopper's broadcast position
//! falls, whatever caps, pauses or other instances are doing.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// A measurement is only trusted over at least this long a spell.
const SHORTEST_SPELL: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    serving: u64,
    waiting: bool,
}

/// The serving number's speed over a sliding window of drains.
#[derive(Debug, Clone)]
pub struct ServingRate {
    window: Duration,
    samples: VecDeque<Sample>,
}

impl ServingRate {
    /// A measurement over the last `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            samples: VecDeque::new(),
        }
    }

    /// Records a drain's serving number and queue length at `at`.
    pub fn record(&mut self, at: Instant, serving: u64, queue_length: u64) {
        self.samples.push_back(Sample {
            at,
            serving,
            waiting: queue_length > 0,
        });
        while let Some(first) = self.samples.front() {
            if at.duration_since(first.at) > self.window {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Scores per second over the window, `None` when the window is too short or the queue ran
    /// empty in it (then the serving number followed arrivals, not the outflow).
    pub fn per_second(&self) -> Option<f64> {
        let first = self.samples.front()?;
        let last = self.samples.back()?;
        let spell = last.at.duration_since(first.at);
        if spell < SHORTEST_SPELL || self.samples.iter().any(|s| !s.waiting) {
            return None;
        }
        let advanced = last.serving.saturating_sub(first.serving);
        Some(advanced as f64 / spell.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate_after(samples: &[(u64, u64, u64)]) -> Option<f64> {
        let start = Instant::now();
        let mut rate = ServingRate::new(Duration::from_secs(30));
        for &(ms, serving, queue) in samples {
            rate.record(start + Duration::from_millis(ms), serving, queue);
        }
        rate.per_second()
    }

    #[test]
    fn the_rate_is_the_serving_advance_over_the_spell() {
        let rate = rate_after(&[(0, 100, 50), (2_000, 110, 50), (4_000, 120, 40)]);
        assert_eq!(rate, Some(5.0));
    }

    #[test]
    fn a_short_spell_measures_nothing() {
        assert_eq!(rate_after(&[(0, 100, 50), (1_000, 150, 50)]), None);
    }

    #[test]
    fn an_empty_queue_in_the_window_measures_nothing() {
        assert_eq!(rate_after(&[(0, 100, 0), (5_000, 150, 50)]), None);
    }

    #[test]
    fn old_samples_leave_the_window() {
        let rate = rate_after(&[(0, 0, 0), (10_000, 10, 5), (40_000, 40, 5)]);
        assert_eq!(rate, Some(1.0));
    }
}
