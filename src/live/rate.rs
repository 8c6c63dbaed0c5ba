//! How fast the serving number really moves: the honest basis of a wait estimate.
//!
//! The serving number advances in score units, gaps left by shoppers who left or lost their place
//! included, so its speed is exactly the speed at which every waiting shopper's broadcast position
//! falls, whatever caps, pauses or other instances are doing.
//!
//! Except across an arrival window: a window's entrants hold scores spread over a range of 2^32
//! (see `queue::window`), so there a step of the serving number counts scores, not shoppers,
//! and positions are estimated in shoppers instead. A step of at least 2^32 scores over the
//! shoppers who were waiting is such a step (`n` entrants of a window are 2^32 / `n` scores
//! apart; dense scores step that far only with a million waiting and over 4,000 admitted in one
//! drain): the measure starts afresh from it, and until it has seen a spell of dense steps the
//! configured rate (shoppers per second) stands in.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::queue::WINDOW_SLOTS;

/// A measurement is only trusted over at least this long a spell.
const SHORTEST_SPELL: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    serving: u64,
    queue_length: u64,
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
        let sparse = self.samples.back().is_some_and(|last| {
            let step = u128::from(serving.saturating_sub(last.serving));
            step * (u128::from(last.queue_length) + 1) >= u128::from(WINDOW_SLOTS)
        });
        if sparse {
            self.samples.clear();
        }
        self.samples.push_back(Sample {
            at,
            serving,
            queue_length,
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
        if spell < SHORTEST_SPELL || self.samples.iter().any(|s| s.queue_length == 0) {
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
    fn a_step_across_an_arrival_window_s_scores_starts_the_measure_afresh() {
        // 40 waiting; the outflow reaches a window and passes 2^32 scores in a step, then moves
        // on through the window's sparse scores, then through dense scores above it.
        let window = WINDOW_SLOTS;
        let across = [(0, 100, 40), (2_000, 110, 40), (4_000, 110 + window, 39)];
        assert_eq!(rate_after(&across), None, "scores are not shoppers");
        let mut inside = across.to_vec();
        inside.extend([
            (6_000, 110 + window + window / 8, 38),
            (9_000, 110 + window * 2, 30),
        ]);
        assert_eq!(
            rate_after(&inside),
            None,
            "inside the window every step is sparse"
        );
        let mut after = inside.clone();
        after.extend([
            (10_000, 120 + window * 2, 29),
            (14_000, 135 + window * 2, 25),
        ]);
        assert_eq!(
            rate_after(&after),
            Some(5.0),
            "dense again: measured from there"
        );
    }

    #[test]
    fn old_samples_leave_the_window() {
        let rate = rate_after(&[(0, 0, 0), (10_000, 10, 5), (40_000, 40, 5)]);
        assert_eq!(rate, Some(1.0));
    }
}
