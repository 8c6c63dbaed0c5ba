//! An event (a sale): its settings and the status they imply at a given time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{EventId, PageBranding, Sku, UnitLimit};
use crate::clock::UnixMillis;
use crate::queue::ArrivalWindows;

/// How shoppers reach the checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Everyone queues (a sale).
    #[default]
    Queue,
    /// Shoppers pass straight through while fewer than `max_active` are admitted and nobody is
    /// waiting; the queue forms only when the site is full.
    SafetyNet,
}

/// What the operator has said about the event, on top of what time says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperatorStatus {
    /// Status follows the clock and the stock.
    #[default]
    Auto,
    /// Outflow stopped; shoppers may still join.
    Paused,
    /// The event is over: no joins, no admissions.
    Closed,
}

/// The public status of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Before the pre-queue opens: joins are refused.
    Scheduled,
    /// Before the start: joins go into the pre-queue, shuffled at the start.
    Prequeue,
    /// Started: joins go to the tail, the outflow admits from the head.
    Open,
    /// Started, but the operator stopped the outflow.
    Paused,
    /// Every SKU is at zero: no more admissions (joins are refused).
    SoldOut,
    /// Ended by the operator.
    Closed,
}

impl EventStatus {
    /// Whether new shoppers may join the queue.
    pub fn accepts_joins(self) -> bool {
        matches!(self, Self::Prequeue | Self::Open | Self::Paused)
    }

    /// The status as its API word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Prequeue => "prequeue",
            Self::Open => "open",
            Self::Paused => "paused",
            Self::SoldOut => "sold_out",
            Self::Closed => "closed",
        }
    }
}

/// Every setting of an event, as stored. Times are [`UnixMillis`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventConfig {
    /// The event id, also the hash tag of all its keys.
    pub id: EventId,
    /// A name for people.
    pub name: String,
    /// When the sale starts: the pre-queue is drawn and the outflow begins.
    pub starts_at: UnixMillis,
    /// When joins start being accepted (into the pre-queue); `None` means from creation on.
    pub prequeue_opens_at: Option<UnixMillis>,
    /// Outflow in thousandths of a shopper per second (integer, so Lua and Rust agree exactly).
    pub outflow_milli_per_second: u64,
    /// How many shoppers the outflow may admit at once after an idle spell.
    pub outflow_burst: u32,
    /// Cap on admitted shoppers who have not finished (paid, left or timed out).
    pub max_active: Option<u32>,
    /// When true, the cap also never exceeds the units left in stock.
    pub cap_follows_stock: bool,
    /// How long an admission stays valid.
    pub admission_ttl_seconds: u32,
    /// How long a checkout reservation holds its stock before it returns.
    pub reservation_ttl_seconds: u32,
    /// Whether visitors without a user token may join.
    pub allow_anonymous: bool,
    /// Units offered per SKU (the total ever offered, not what is left).
    pub inventory: BTreeMap<Sku, u64>,
    /// Queue everyone, or only when full.
    pub mode: Mode,
    /// A waiting shopper not seen (no socket, no poll) for this long loses the place.
    pub abandon_after_seconds: u32,
    /// Most units one order may take, in all and of any one SKU.
    #[serde(default)]
    pub max_units_per_order: UnitLimit,
    /// Most units one shopper may have in paid and unpaid orders together, in all and of any
    /// one SKU.
    #[serde(default)]
    pub max_units_per_shopper: UnitLimit,
    /// Pause or close, set by the operator.
    pub operator_status: OperatorStatus,
    /// Hex SHA-256 of `seed`, published before the draw.
    pub seed_hash: String,
    /// Hex seed of the pre-queue draw; secret until the draw.
    pub seed: String,
    /// When the event was created.
    pub created_at: UnixMillis,
    /// What a join must show beyond an identity (none by default).
    #[serde(default)]
    pub defences: JoinDefences,
    /// How the shoppers' pages look (`None`: the default look). Always written, even as
    /// `null`, so that removing it is a change like any other.
    #[serde(default)]
    pub page: Option<PageBranding>,
    /// The checkout's health the outflow follows; `None` leaves the outflow at its set rate.
    #[serde(default)]
    pub checkout_target: Option<CheckoutTarget>,
    /// Arrival windows, inside which arrivals are ordered by a seeded hash (off when absent).
    #[serde(default)]
    pub arrival_windows: ArrivalWindows,
    /// How long the event is kept once closed, and since when it is closed.
    #[serde(default)]
    pub retention: Retention,
}

/// How long a closed event is kept before it is removed with everything kept for it, so a
/// shop that has run hundreds of sales pays nothing for the old ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Retention {
    /// Seconds from the close to the removal (`None`: kept until an operator removes it).
    pub after_closed_seconds: Option<u32>,
    /// When the operator closed the event (`None` while it is not closed). Kept by the server:
    /// a close sets it, reopening or pausing clears it.
    pub closed_at: Option<UnixMillis>,
}

impl Retention {
    /// When an event with these settings and `status` is due for removal, if it is.
    pub fn removal_due(&self, status: OperatorStatus) -> Option<UnixMillis> {
        if status != OperatorStatus::Closed {
            return None;
        }
        let after = i64::from(self.after_closed_seconds?) * 1_000;
        Some(self.closed_at?.saturating_add(after))
    }

    /// The retention once an operator's change moved the event from `before` to `after` at
    /// `now`: a close starts the count, any other status stops it.
    pub fn after_change(
        self,
        before: OperatorStatus,
        after: OperatorStatus,
        now: UnixMillis,
    ) -> Self {
        let closed_at = match (before, after) {
            (_, status) if status != OperatorStatus::Closed => None,
            (OperatorStatus::Closed, _) => self.closed_at.or(Some(now)),
            _ => Some(now),
        };
        Self { closed_at, ..self }
    }
}

/// The health an operator asks of the checkout: while it is worse, the outflow backs off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutTarget {
    /// Highest acceptable 95th percentile of the checkout's answer time, in ms.
    #[schema(minimum = 1, maximum = 600_000)]
    pub p95_ms: u32,
    /// Highest acceptable share of failed checkout answers (5xx and timeouts), 0 to 1.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub max_error_rate: f64,
}

/// What an event asks of a join beyond an identity: a proof of work, an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JoinDefences {
    /// Leading zero bits of the join's proof of work; 0 turns it off.
    pub proof_difficulty: u8,
    /// Joins need an invitation issued by the operator.
    pub invitation_only: bool,
}

impl EventConfig {
    /// The setting `changed` may not move at `now`, if any: once a sale with arrival windows has
    /// started its windows stay as they are (arrivals are already placed by them, and a closed
    /// window's seed may be public, so a moved boundary could reopen a window whose order anyone
    /// can compute); turning them on or off then is refused too, as is moving the start.
    pub fn fixed_window_setting(
        &self,
        changed: &EventConfig,
        now: UnixMillis,
    ) -> Option<&'static str> {
        if now < self.starts_at {
            return None;
        }
        let (before, after) = (&self.arrival_windows, &changed.arrival_windows);
        if before.opening_seconds != after.opening_seconds {
            Some("opening_window_seconds")
        } else if before.every_seconds != after.every_seconds {
            Some("arrival_window_seconds")
        } else if before.is_on() && self.starts_at != changed.starts_at {
            Some("starts_at")
        } else {
            None
        }
    }

    /// The outflow in shoppers per second.
    pub fn outflow_per_second(&self) -> f64 {
        self.outflow_milli_per_second as f64 / 1000.0
    }

    /// The arrival window a join at `now` falls in: only queued sales have windows (in
    /// `safety_net` mode nobody races for a place at an opening).
    pub fn arrival_window_at(&self, now: UnixMillis) -> Option<crate::queue::ArrivalWindow> {
        if self.mode != Mode::Queue {
            return None;
        }
        self.arrival_windows.window_at(self.starts_at, now)
    }

    /// Whether a shopper who joined at `joined_at` is still held in an open arrival window at
    /// `now`: their place is drawn only when it closes, so no chance can be told yet.
    pub fn held_in_window(&self, joined_at: UnixMillis, now: UnixMillis) -> bool {
        self.arrival_window_at(now)
            .is_some_and(|window| joined_at >= window.opens_at)
    }

    /// When the pre-queue opens.
    pub fn prequeue_opens(&self) -> UnixMillis {
        self.prequeue_opens_at.unwrap_or(self.created_at)
    }
}

/// The status an event has at `now`, given how many units are left in stock in all.
///
/// The Lua scripts compute the same thing (`event_status` in `lua/lib/status.lua` mirrors this function).
pub fn event_status(config: &EventConfig, units_left: u64, now: UnixMillis) -> EventStatus {
    if config.operator_status == OperatorStatus::Closed {
        return EventStatus::Closed;
    }
    if !config.inventory.is_empty() && units_left == 0 {
        return EventStatus::SoldOut;
    }
    if now < config.prequeue_opens() {
        return EventStatus::Scheduled;
    }
    if now < config.starts_at {
        return EventStatus::Prequeue;
    }
    if config.operator_status == OperatorStatus::Paused {
        return EventStatus::Paused;
    }
    EventStatus::Open
}

#[cfg(test)]
mod tests {
    use super::{OperatorStatus, Retention};

    const HOUR: u32 = 3_600;

    fn closed_at(at: i64, after: Option<u32>) -> Retention {
        Retention {
            after_closed_seconds: after,
            closed_at: Some(at),
        }
    }

    #[test]
    fn only_a_closed_event_with_a_retention_and_a_close_time_is_due() {
        let due = closed_at(1_000, Some(HOUR)).removal_due(OperatorStatus::Closed);
        assert_eq!(due, Some(1_000 + 3_600_000));
        for status in [OperatorStatus::Auto, OperatorStatus::Paused] {
            assert_eq!(closed_at(1_000, Some(HOUR)).removal_due(status), None);
        }
        let kept = closed_at(1_000, None).removal_due(OperatorStatus::Closed);
        assert_eq!(kept, None);
        let never_closed = Retention {
            after_closed_seconds: Some(HOUR),
            closed_at: None,
        };
        assert_eq!(never_closed.removal_due(OperatorStatus::Closed), None);
        let zero = closed_at(1_000, Some(0)).removal_due(OperatorStatus::Closed);
        assert_eq!(zero, Some(1_000));
    }

    #[test]
    fn a_close_starts_the_count_a_later_change_keeps_it_and_a_reopen_stops_it() {
        let open = Retention {
            after_closed_seconds: Some(HOUR),
            closed_at: None,
        };
        let (auto, paused, closed) = (
            OperatorStatus::Auto,
            OperatorStatus::Paused,
            OperatorStatus::Closed,
        );

        let just_closed = open.after_change(auto, closed, 5_000);
        let changed_again = just_closed.after_change(closed, closed, 9_000);
        let reopened = changed_again.after_change(closed, auto, 12_000);
        let paused_after = changed_again.after_change(closed, paused, 12_000);

        assert_eq!(just_closed.closed_at, Some(5_000));
        assert_eq!(changed_again.closed_at, Some(5_000));
        assert_eq!(reopened.closed_at, None);
        assert_eq!(paused_after.closed_at, None);
        assert_eq!(reopened.after_closed_seconds, Some(HOUR));
        // A closed event from before close times were kept starts its count at its next change.
        let legacy = open.after_change(closed, closed, 7_000);
        assert_eq!(legacy.closed_at, Some(7_000));
    }
}
