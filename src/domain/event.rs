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
