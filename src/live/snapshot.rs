//! What one drain of an event looked like: the value every socket of an instance reads instead of
//! asking the store itself.

use crate::domain::{Admitted, DrainOutcome, EventStatus, TicketId};
use crate::queue::chance::SaleOutlook;
use crate::queue::checkout_lag::Channel;

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
    /// The highest score handed out when the latest drain counted `queue_length`: a ticket
    /// above it joined since, so it is not in that count.
    pub counted_top: u64,
    /// Whether the pre-queue has been drawn (from the event's counters, or implied by the status).
    pub drawn: bool,
    /// Admitted shoppers who have not finished.
    pub active: u64,
    /// Shoppers admitted in the event so far, by every instance.
    pub admitted_total: u64,
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
        self.counted_top = outcome.last_score;
        self.status = outcome.status;
        self.admitted = outcome.admitted;
        self.active = outcome.active;
        self.admitted_total = outcome.admitted_total;
        // Scores only grow: a settings refresh read before this drain cannot take it back.
        self.last_score = Some(self.last_score.unwrap_or(0).max(outcome.last_score));
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
        // served, give the place. The last score is read with the settings, every couple of
        // seconds; a ticket above it joined since, so its own score is the top of the spread
        // (never a raw count of scores, which is billions).
        let top = self.last_score.unwrap_or(0).max(score);
        if self.queue_length == 0 || ahead <= self.queue_length {
            return ahead;
        }
        let dense = self
            .config
            .as_ref()
            .is_some_and(|config| !config.arrival_windows.is_on());
        if dense && score > self.counted_top {
            // Joined since the drain counted the line: everyone in that count waits ahead, and
            // so does everyone who took a score in between (one score per join without windows;
            // some of them may have left since, hence never more than the scores ahead).
            return (self.queue_length + (score - self.counted_top)).min(ahead);
        }
        let spread = (u128::from(ahead) * u128::from(self.queue_length))
            .div_ceil(u128::from(top - self.serving));
        u64::try_from(spread)
            .unwrap_or(u64::MAX)
            .clamp(1, self.queue_length)
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
        let (position, outlook) = (position?, self.outlook.as_ref()?);
        match self.status {
            Some(EventStatus::SoldOut | EventStatus::Closed) => Some(0.0),
            _ => Some(outlook.chance_now(
                position,
                Some(Channel::Socket),
                self.admitted_total,
                self.queue_length,
            )),
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

    #[test]
    fn the_next_drain_gives_the_window_top_so_entrants_are_spread_at_once() {
        // The counters were read before the window opened; three shoppers joined it since.
        let mut view = OutflowSnapshot {
            last_score: Some(0),
            ..OutflowSnapshot::default()
        };
        let top = crate::queue::WINDOW_SLOTS;
        let first_third = top / 3;
        view.apply_drain(DrainOutcome {
            status: Some(EventStatus::Open),
            queue_length: 3,
            last_score: top,
            ..DrainOutcome::default()
        });
        assert_eq!(view.last_score, Some(top));
        assert_eq!(view.position_of(first_third), 1);
        assert_eq!(view.position_of(top), 3);

        // The top never goes back down, whatever order answers arrive in.
        view.apply_drain(DrainOutcome {
            status: Some(EventStatus::Open),
            queue_length: 3,
            last_score: 0,
            ..DrainOutcome::default()
        });
        assert_eq!(view.last_score, Some(top), "scores only grow");
    }

    #[test]
    fn a_window_entrant_who_joined_after_the_last_score_was_read_is_never_beyond_the_queue() {
        // The last score was read before the window opened; three joined the window since.
        let view = OutflowSnapshot {
            serving: 0,
            queue_length: 3,
            last_score: Some(0),
            ..OutflowSnapshot::default()
        };
        let slot = 3_057_730_255;
        assert_eq!(
            view.position_of(slot),
            3,
            "the highest known score is the last place"
        );
        assert_eq!(view.position_of(crate::queue::WINDOW_SLOTS), 3);
        // Without the others' scores, the queue's end is the place to tell, not a count of scores.
        assert_eq!(view.position_of(slot / 3), 3);
        let read = OutflowSnapshot {
            last_score: Some(slot),
            ..view.clone()
        };
        assert_eq!(
            read.position_of(slot / 3),
            1,
            "once read, the spread places it"
        );
        let unread = OutflowSnapshot {
            last_score: None,
            ..view
        };
        assert_eq!(unread.position_of(slot), 3);
    }

    #[test]
    fn a_shopper_who_joined_after_the_drain_is_behind_everyone_it_counted() {
        // A paused sale: five waiting (scores 1..=5) at the drain, a sixth joins after it.
        let config = crate::config::demo_event(0).unwrap_or_else(|| unreachable!());
        let mut view = OutflowSnapshot {
            config: Some(std::sync::Arc::new(config)),
            ..OutflowSnapshot::default()
        };
        view.apply_drain(DrainOutcome {
            status: Some(EventStatus::Paused),
            queue_length: 5,
            last_score: 5,
            ..DrainOutcome::default()
        });
        assert_eq!(
            view.position_of(6),
            6,
            "not spread over the five it was not among"
        );
        assert_eq!(view.position_of(8), 8);
        assert_eq!(view.position_of(3), 3);
        // Three of the five left before the drain: the later join is behind the two left.
        view.apply_drain(DrainOutcome {
            status: Some(EventStatus::Paused),
            queue_length: 2,
            last_score: 5,
            ..DrainOutcome::default()
        });
        assert_eq!(view.position_of(6), 3);
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
    fn shoppers_admitted_since_the_outlook_count_as_shoppers_whatever_their_scores() {
        // Read when nobody was admitted: 100 units, every admitted shopper buys one.
        let outlook = SaleOutlook::of(&crate::domain::EventStats {
            stock_left: std::collections::BTreeMap::from([(
                crate::domain::Sku::parse("TEE").unwrap_or_else(|_| unreachable!()),
                100,
            )]),
            ..crate::domain::EventStats::default()
        });
        let mut snap = OutflowSnapshot {
            outlook: Some(outlook),
            ..OutflowSnapshot::default()
        };
        // An arrival window closes and its first drain admits 80 shoppers from a drawn, sparse
        // score range: 80 shoppers went through, not billions of scores.
        snap.apply_drain(DrainOutcome {
            status: Some(EventStatus::Open),
            serving: (5 << 32) + 17,
            admitted_total: 80,
            ..DrainOutcome::default()
        });
        assert_eq!(snap.chance_of_success(Some(20)), Some(1.0));
        assert_eq!(snap.chance_of_success(Some(21)), Some(0.0));
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
