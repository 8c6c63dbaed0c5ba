//! What one drain of an event looked like: the value every socket of an instance reads instead of
//! asking the store itself.

use crate::domain::{Admitted, DrainOutcome, EventStatus, TicketId};
use crate::queue::chance::SaleOutlook;

/// The state of an event's queue as of the latest drain on this instance.
///
/// Sockets derive their shopper's position from `serving` and the ticket's score, so keeping any
/// number of shoppers informed costs the store one drain per tick per event per instance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutflowSnapshot {
    /// How many drains this instance has published for the event; 0 before the first one.
    pub tick: u64,
    /// The serving number: the highest score admitted so far.
    pub serving: u64,
    /// Shoppers waiting.
    pub queue_length: u64,
    /// The event's status at the drain; `None` before the first drain.
    pub status: Option<EventStatus>,
    /// Shoppers this instance's latest drain admitted (other instances' drains admit others).
    pub admitted: Vec<Admitted>,
    /// The highest score handed out so far, refreshed about once a second.
    pub last_score: Option<u64>,
    /// Whether the pre-queue has been drawn (from the event's counters, or implied by the status).
    pub drawn: bool,
    /// Admitted shoppers who have not finished.
    pub active: u64,
    /// The configured outflow, shoppers per second.
    pub outflow_per_second: f64,
    /// The configured burst: most shoppers one drain may admit after an idle spell.
    pub outflow_burst: u32,
    /// How fast the serving number actually moved lately, scores per second, when measured over
    /// a spell with shoppers waiting throughout.
    pub serving_per_second: Option<f64>,
    /// What the sale's counters say of the shoppers ahead of any place, refreshed with the
    /// settings; `None` before the first refresh.
    pub outlook: Option<SaleOutlook>,
    /// The event's settings as refreshed with the outlook, for what depends on them (whether a
    /// shopper is held in an open arrival window); `None` before the first refresh.
    pub config: Option<std::sync::Arc<crate::domain::EventConfig>>,
}

impl OutflowSnapshot {
    /// Folds a drain's answer into the snapshot.
    pub fn apply_drain(&mut self, outcome: DrainOutcome) {
        self.tick += 1;
        self.serving = outcome.serving;
        self.queue_length = outcome.queue_length;
        self.status = outcome.status;
        self.admitted = outcome.admitted;
        self.active = outcome.active;
        // The drain draws a due pre-queue before anything else, so any status past the pre-queue
        // means the draw is done.
        if matches!(
            outcome.status,
            Some(EventStatus::Open | EventStatus::Paused | EventStatus::SoldOut)
        ) {
            self.drawn = true;
        }
    }

    /// The position a waiting ticket with `score` has: 1 = next.
    pub fn position_of(&self, score: u64) -> u64 {
        let ahead = score.saturating_sub(self.serving);
        // Arrival windows set aside 2^32 scores each, so scores are sparse and `ahead` counts
        // scores, not shoppers: then the shoppers waiting, spread over the scores still to be
        // served, give the place.
        match self.last_score {
            Some(last) if last > self.serving && ahead > self.queue_length => {
                let spread = (u128::from(ahead) * u128::from(self.queue_length))
                    .div_ceil(u128::from(last - self.serving));
                u64::try_from(spread)
                    .unwrap_or(u64::MAX)
                    .clamp(1, self.queue_length.max(1))
                    .min(ahead)
            }
            _ => ahead,
        }
    }

    /// Whether the ticket with `score` has been reached by the outflow.
    pub fn has_reached(&self, score: u64) -> bool {
        score <= self.serving
    }

    /// The admission of `ticket` if this instance's latest drain made it.
    pub fn admission_of(&self, ticket: TicketId) -> Option<&Admitted> {
        self.admitted.iter().find(|a| a.ticket_id == ticket)
    }

    /// The rate positions fall at: the measured one when there is one, else the configured one.
    pub fn effective_rate(&self) -> f64 {
        self.serving_per_second
            .filter(|rate| *rate > 0.0)
            .unwrap_or(self.outflow_per_second)
    }

    /// Seconds until a shopper at `position` is let through, `None` when nothing moves the queue.
    pub fn eta_seconds(&self, position: u64) -> Option<u64> {
        let rate = self.effective_rate();
        if rate <= 0.0 || !rate.is_finite() {
            return None;
        }
        Some((position as f64 / rate).ceil() as u64)
    }

    /// The chance of success of a waiting shopper at `position`; `None` while unknown (before
    /// the draw, or before the sale's counters were read). Nothing more is sold once the event
    /// is sold out or closed.
    pub fn chance_of_success(&self, position: Option<u64>) -> Option<f64> {
        let (position, outlook) = (position?, self.outlook?);
        match self.status {
            Some(EventStatus::SoldOut | EventStatus::Closed) => Some(0.0),
            _ => Some(outlook.chance_now(position, self.serving)),
        }
    }

    /// The most shoppers the outflow can let through within `seconds` from now: a shopper further
    /// back than this cannot be admitted in that time, so its socket need not watch every tick.
    pub fn reachable_within(&self, seconds: f64) -> u64 {
        let rate = self.outflow_per_second.max(self.effective_rate());
        u64::from(self.outflow_burst) + (rate * seconds).ceil() as u64 + 1
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_window_entrant_s_place_is_the_queue_spread_over_the_scores_ahead() {
        // 1,000 waiting in a window's range of 2^32 scores, the serving number at its bottom.
        let view = OutflowSnapshot {
            serving: 10,
            queue_length: 1_000,
            last_score: Some(10 + crate::queue::WINDOW_SLOTS),
            ..OutflowSnapshot::default()
        };
        assert_eq!(view.position_of(10 + crate::queue::WINDOW_SLOTS / 2), 500);
        assert_eq!(view.position_of(11), 1);
        let dense = OutflowSnapshot {
            last_score: Some(1_010),
            ..view
        };
        assert_eq!(
            dense.position_of(60),
            50,
            "dense scores keep score minus serving"
        );
    }

    fn snapshot(serving: u64, configured: f64, measured: Option<f64>) -> OutflowSnapshot {
        OutflowSnapshot {
            serving,
            outflow_per_second: configured,
            serving_per_second: measured,
            ..OutflowSnapshot::default()
        }
    }

    #[test]
    fn the_position_is_the_score_past_the_serving_number() {
        let snap = snapshot(40, 10.0, None);
        assert_eq!(snap.position_of(45), 5);
        assert!(!snap.has_reached(41));
        assert!(snap.has_reached(40));
    }

    #[test]
    fn the_wait_follows_the_measured_rate_when_there_is_one() {
        assert_eq!(snapshot(0, 10.0, None).eta_seconds(25), Some(3));
        assert_eq!(snapshot(0, 10.0, Some(5.0)).eta_seconds(25), Some(5));
        assert_eq!(snapshot(0, 10.0, Some(0.0)).eta_seconds(25), Some(3));
        assert_eq!(snapshot(0, 0.0, None).eta_seconds(25), None);
    }

    #[test]
    fn a_drain_past_the_prequeue_marks_the_draw_done() {
        let mut snap = OutflowSnapshot::default();
        snap.apply_drain(DrainOutcome {
            status: Some(EventStatus::Prequeue),
            ..DrainOutcome::default()
        });
        assert!(!snap.drawn);
        snap.apply_drain(DrainOutcome {
            status: Some(EventStatus::Open),
            serving: 3,
            ..DrainOutcome::default()
        });
        assert!(snap.drawn);
        assert_eq!((snap.tick, snap.serving), (2, 3));
    }
}
