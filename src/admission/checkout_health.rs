//! How the checkout is doing, per event, on this instance: the built-in checkout's answers over
//! a sliding window, and the figures an external checkout reports.
//!
//! Each instance measures the answers it serves itself; the outflow step that follows is taken
//! once for the cluster by the store (see [`crate::queue::backoff`]). A report from an external
//! checkout wins over the built-in figures for [`REPORT_HOLDS_MS`]: a shop that runs its own
//! checkout has no built-in answers worth judging, and one that reports knows better than us.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

use crate::clock::UnixMillis;
use crate::domain::EventId;
use crate::queue::backoff::CheckoutHealth;

/// The spell the built-in checkout's answers are judged over.
pub const WINDOW_MS: i64 = 30_000;
/// How long a reported health stands before the built-in figures count again.
pub const REPORT_HOLDS_MS: i64 = 30_000;
/// Most answers kept per event: a p95 of the latest ten thousand is as good as of all.
const MOST_ANSWERS: usize = 10_000;

/// Where a health figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthSource {
    /// The built-in checkout's answers on this instance.
    Measured,
    /// Reported by an external checkout.
    Reported,
}

/// A health figure, where it comes from and when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HealthReading {
    /// The figures.
    #[serde(flatten)]
    pub health: CheckoutHealth,
    /// Measured here or reported.
    pub source: HealthSource,
    /// When (ms since the epoch).
    #[serde(skip)]
    pub at: UnixMillis,
}

/// One answer of the built-in checkout.
#[derive(Debug, Clone, Copy)]
struct Answer {
    at: UnixMillis,
    latency_ms: u32,
    failed: bool,
}

#[derive(Debug, Default)]
struct EventHealth {
    answers: VecDeque<Answer>,
    reported: Option<HealthReading>,
}

/// Every event's checkout health on this instance.
#[derive(Debug, Default)]
pub struct CheckoutHealthMeter {
    events: Mutex<HashMap<EventId, EventHealth>>,
}

impl CheckoutHealthMeter {
    /// Records one answer of the built-in checkout for `event`, given at `at`.
    pub fn record(&self, event: &EventId, at: UnixMillis, latency_ms: u32, failed: bool) {
        let Ok(mut events) = self.events.lock() else {
            return;
        };
        let answers = &mut events.entry(event.clone()).or_default().answers;
        if answers.len() >= MOST_ANSWERS {
            answers.pop_front();
        }
        answers.push_back(Answer {
            at,
            latency_ms,
            failed,
        });
    }

    /// Keeps an external checkout's report for `event`, made at `at`.
    pub fn report(&self, event: &EventId, health: CheckoutHealth, at: UnixMillis) {
        if let Ok(mut events) = self.events.lock() {
            events.entry(event.clone()).or_default().reported = Some(HealthReading {
                health,
                source: HealthSource::Reported,
                at,
            });
        }
    }

    /// The health of `event`'s checkout at `now`: a report still standing, else the built-in
    /// answers of the last [`WINDOW_MS`]; `None` when there is neither.
    pub fn reading(&self, event: &EventId, now: UnixMillis) -> Option<HealthReading> {
        let mut events = self.events.lock().ok()?;
        let state = events.get_mut(event)?;
        if let Some(reported) = state
            .reported
            .filter(|reported| now - reported.at < REPORT_HOLDS_MS)
        {
            return Some(reported);
        }
        while state
            .answers
            .front()
            .is_some_and(|answer| now - answer.at >= WINDOW_MS)
        {
            state.answers.pop_front();
        }
        measured(&state.answers).map(|health| HealthReading {
            health,
            source: HealthSource::Measured,
            at: now,
        })
    }
}

/// The p95 (nearest rank) and the share of failures of `answers`.
fn measured(answers: &VecDeque<Answer>) -> Option<CheckoutHealth> {
    if answers.is_empty() {
        return None;
    }
    let mut latencies: Vec<u32> = answers.iter().map(|answer| answer.latency_ms).collect();
    latencies.sort_unstable();
    let rank = (latencies.len() * 95).div_ceil(100).max(1);
    let failed = answers.iter().filter(|answer| answer.failed).count();
    Some(CheckoutHealth {
        p95_ms: latencies[rank - 1],
        error_rate: failed as f64 / answers.len() as f64,
        samples: u32::try_from(answers.len()).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const T0: UnixMillis = 1_800_000_000_000;

    fn event() -> EventId {
        EventId::parse("drop").unwrap()
    }

    #[test]
    fn the_p95_and_the_error_rate_come_from_the_answers_of_the_window() {
        let meter = CheckoutHealthMeter::default();
        for n in 1..=100 {
            meter.record(&event(), T0 + n, n as u32 * 10, n % 10 == 0);
        }
        let reading = meter.reading(&event(), T0 + 1_000).unwrap();
        assert_eq!(reading.source, HealthSource::Measured);
        assert_eq!(reading.health.p95_ms, 950);
        assert_eq!(reading.health.error_rate, 0.1);
        assert_eq!(reading.health.samples, 100);
    }

    #[test]
    fn answers_older_than_the_window_no_longer_count() {
        let meter = CheckoutHealthMeter::default();
        for _ in 0..30 {
            meter.record(&event(), T0, 5_000, true);
        }
        for n in 0..30 {
            meter.record(&event(), T0 + 20_000 + n, 100, false);
        }
        let later = meter.reading(&event(), T0 + WINDOW_MS).unwrap();
        assert_eq!(later.health.samples, 30);
        assert_eq!(later.health.p95_ms, 100);
        assert_eq!(later.health.error_rate, 0.0);
        assert_eq!(meter.reading(&event(), T0 + 20_000 + WINDOW_MS + 30), None);
    }

    #[test]
    fn a_report_wins_over_the_measured_answers_while_it_holds() {
        let meter = CheckoutHealthMeter::default();
        for n in 0..50 {
            meter.record(&event(), T0 + n, 50, false);
        }
        let reported = CheckoutHealth {
            p95_ms: 3_000,
            error_rate: 0.2,
            samples: 400,
        };
        meter.report(&event(), reported, T0 + 100);

        let holding = meter
            .reading(&event(), T0 + 100 + REPORT_HOLDS_MS - 1)
            .unwrap();
        assert_eq!(holding.source, HealthSource::Reported);
        assert_eq!(holding.health, reported);
        meter.record(&event(), T0 + REPORT_HOLDS_MS, 50, false);
        let lapsed = meter.reading(&event(), T0 + 100 + REPORT_HOLDS_MS).unwrap();
        assert_eq!(lapsed.source, HealthSource::Measured);
    }
}
