//! The proof-of-work difficulty rises on its own while new identities join far faster than
//! usual, and falls back once they stop.
//!
//! Each instance counts the new tickets (first joins of an identity) it creates per event and
//! second. A second with more than [`SURGE_FACTOR`] times the usual rate (and more than
//! [`SURGE_FLOOR`] times the factor, so a quiet event's first rush is not an attack) adds
//! [`STEP_BITS`], up to [`MAX_EXTRA_BITS`]; every [`CALM_SECONDS`] without a surge takes one bit
//! off. The usual rate is a moving average of the calm seconds only, so an attack does not
//! become the baseline. Counting per instance needs no store traffic: behind a load balancer
//! every instance sees its share of the surge and raises its own challenges.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::UnixMillis;
use crate::domain::EventId;

use super::proof_of_work::MAX_DIFFICULTY;

/// A second counts as a surge above this multiple of the usual rate.
pub const SURGE_FACTOR: f64 = 5.0;
/// The usual rate is taken as at least this many new identities per second.
pub const SURGE_FLOOR: f64 = 20.0;
/// Bits added per second of surge.
pub const STEP_BITS: u8 = 2;
/// Most bits added on top of the event's own difficulty (each doubles the work).
pub const MAX_EXTRA_BITS: u8 = 8;
/// Calm seconds that take one added bit off.
pub const CALM_SECONDS: u32 = 30;
/// Seconds the usual rate averages over.
const BASELINE_SECONDS: f64 = 60.0;
/// Idle seconds folded one by one at most (a longer gap is calm all through).
const MAX_FOLDED_SECONDS: i64 = 600;

/// One event's count and state on this instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Surge {
    /// The second being counted (unix seconds).
    second: i64,
    /// New identities seen in it so far.
    count: u64,
    /// Usual new identities per second.
    baseline: f64,
    /// Bits added now.
    extra: u8,
    /// Calm seconds since the last change of `extra` downwards or the last surge.
    calm: u32,
}

impl Surge {
    /// Bits added to the event's difficulty at `now`.
    pub fn extra_bits(&mut self, now: UnixMillis) -> u8 {
        self.roll(now / 1000);
        self.extra
    }

    /// Counts one new identity at `now`.
    pub fn record(&mut self, now: UnixMillis) {
        self.roll(now / 1000);
        self.count += 1;
    }

    /// Closes the seconds before `second`.
    fn roll(&mut self, second: i64) {
        if second <= self.second {
            return;
        }
        if self.second == 0 {
            self.second = second;
            return;
        }
        let count = std::mem::take(&mut self.count);
        self.close_second(count as f64);
        let idle = (second - self.second - 1).min(MAX_FOLDED_SECONDS);
        for _ in 0..idle {
            self.close_second(0.0);
        }
        self.second = second;
    }

    fn close_second(&mut self, rate: f64) {
        if rate > self.baseline.max(SURGE_FLOOR) * SURGE_FACTOR {
            self.extra = self.extra.saturating_add(STEP_BITS).min(MAX_EXTRA_BITS);
            self.calm = 0;
            return;
        }
        self.baseline += (rate - self.baseline) / BASELINE_SECONDS;
        self.calm += 1;
        if self.calm >= CALM_SECONDS && self.extra > 0 {
            self.extra -= 1;
            self.calm = 0;
        }
    }
}

/// Every event's [`Surge`] on this instance.
#[derive(Debug, Default)]
pub struct SurgeMeter {
    events: Mutex<HashMap<EventId, Surge>>,
}

impl SurgeMeter {
    /// Counts a new identity joining `event` at `now`.
    pub fn record_new_identity(&self, event: &EventId, now: UnixMillis) {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.entry(event.clone()).or_default().record(now);
    }

    /// The difficulty to ask of a shopper of `event` at `now`: the event's own `base` plus the
    /// surge's bits. An event without proof of work (`base` 0) keeps it off: a page that was
    /// never asked for a proof must not start failing mid-sale.
    pub fn difficulty(&self, event: &EventId, base: u8, now: UnixMillis) -> u8 {
        if base == 0 {
            return 0;
        }
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let extra = events.entry(event.clone()).or_default().extra_bits(now);
        base.saturating_add(extra).min(MAX_DIFFICULTY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixMillis = 1_800_000_000_000;

    fn joins(surge: &mut Surge, second: i64, count: u64) {
        for _ in 0..count {
            surge.record(T0 + second * 1000);
        }
    }

    #[test]
    fn a_steady_rate_adds_nothing() {
        let mut surge = Surge::default();
        for second in 0..300 {
            joins(&mut surge, second, 50);
        }
        assert_eq!(surge.extra_bits(T0 + 300_000), 0);
    }

    #[test]
    fn a_surge_far_above_the_usual_rate_raises_the_difficulty_then_it_falls_back() {
        let mut surge = Surge::default();
        for second in 0..120 {
            joins(&mut surge, second, 30);
        }
        for second in 120..130 {
            joins(&mut surge, second, 2_000);
        }
        assert_eq!(surge.extra_bits(T0 + 130_000), MAX_EXTRA_BITS);
        // The attack did not become the usual rate: the next burst still counts as one.
        assert!(surge.baseline < 40.0, "baseline {}", surge.baseline);
        let calm_until = 130 + i64::from(MAX_EXTRA_BITS) * i64::from(CALM_SECONDS) + 1;
        for second in 130..calm_until {
            joins(&mut surge, second, 30);
        }
        assert_eq!(surge.extra_bits(T0 + calm_until * 1000), 0);
    }

    #[test]
    fn a_quiet_gap_counts_as_calm() {
        let mut surge = Surge::default();
        joins(&mut surge, 0, 1);
        joins(&mut surge, 1, 5_000);
        assert_eq!(surge.extra_bits(T0 + 2_000), STEP_BITS);
        assert_eq!(surge.extra_bits(T0 + 3_600_000), 0);
    }

    #[test]
    fn the_meter_leaves_an_event_without_proof_of_work_alone() {
        let meter = SurgeMeter::default();
        let event = EventId::parse("drop").unwrap();
        meter.record_new_identity(&event, T0);
        for _ in 0..5_000 {
            meter.record_new_identity(&event, T0 + 1_000);
        }
        assert_eq!(meter.difficulty(&event, 0, T0 + 2_000), 0);
        assert_eq!(meter.difficulty(&event, 16, T0 + 2_000), 16 + STEP_BITS);
    }
}
