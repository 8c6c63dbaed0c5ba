//! One event's whole state in the memory store, and the steps every operation starts with:
//! the lazy draw and the settling of expiries.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::ranks::ScoreRanks;
use super::table::{Slot, TicketTable};
use super::windows::WindowRanges;
use crate::clock::UnixMillis;
use crate::domain::{
    ChangeError, EventChange, EventConfig, EventStats, EventStatus, Identity, InstanceId, Order,
    OrderId, OrderStatus, Sku, Ticket, TicketId, TicketStatus, event_status, left_in_stock,
};
use crate::queue::backoff::FollowedOutflow;
use crate::queue::{Bucket, Draw, PresenceClock, Room, draw_order};

/// When a ticket was admitted and until when: kept apart from the ticket's record, since most
/// shoppers of a sale wait and are never admitted.
#[derive(Debug, Clone, Copy)]
pub(super) struct Admission {
    pub(super) admitted_at: UnixMillis,
    pub(super) expires_at: UnixMillis,
}

/// What the draw used and gave, kept to be published.
#[derive(Debug, Clone)]
pub(super) struct DrawRecord {
    /// The seed in force at the draw.
    pub(super) seed: String,
    /// The commitment and the order.
    pub(super) draw: Draw,
}

/// Counters that only ever grow.
#[derive(Debug, Default, Clone)]
pub(super) struct Counters {
    pub(super) joined: u64,
    pub(super) admitted: u64,
    pub(super) left: u64,
    pub(super) abandoned: u64,
    pub(super) admissions_expired: u64,
    pub(super) orders_reserved: u64,
    pub(super) orders_paid: u64,
    pub(super) orders_expired: u64,
}

/// Everything the memory store knows about one event; guarded by the event's lock.
#[derive(Debug)]
pub(super) struct EventState {
    pub(super) config: EventConfig,
    /// Units paid for per SKU.
    pub(super) sold: BTreeMap<Sku, u64>,
    /// Units held by unpaid reservations per SKU.
    pub(super) reserved: BTreeMap<Sku, u64>,
    /// Each identity's current ticket.
    pub(super) tickets: TicketTable,
    /// Waiting shoppers who joined before the draw. They are the tickets waiting without a
    /// score, unordered until the draw finds them in the table, so only their number is kept.
    pub(super) prequeue: u64,
    /// Waiting shoppers after the draw, by score.
    pub(super) queue: BTreeMap<u64, Slot>,
    /// Exact ranks of the scores in `queue`.
    pub(super) ranks: ScoreRanks,
    pub(super) drawn: bool,
    /// The draw's published record, once drawn.
    pub(super) draw_record: Option<DrawRecord>,
    /// The highest score admitted so far.
    pub(super) serving: u64,
    /// The outflow's leaky bucket; `None` until the first drain after the start.
    pub(super) bucket: Option<Bucket>,
    /// The outflow in force while it follows the checkout's health; `None`: never changed.
    pub(super) followed: Option<FollowedOutflow>,
    /// The times of every admission given, by ticket slot.
    pub(super) admissions: HashMap<Slot, Admission>,
    /// Unused admissions by expiry time: their count is the admissions part of `active`.
    pub(super) admissions_due: BTreeSet<(UnixMillis, Slot)>,
    /// Unpaid reservations by expiry time: their count is the reservations part of `active`.
    pub(super) reservations_due: BTreeSet<(UnixMillis, OrderId)>,
    pub(super) orders: HashMap<OrderId, Order>,
    /// The order made with each used admission, for idempotent replays.
    pub(super) order_of_ticket: HashMap<TicketId, OrderId>,
    /// Units each shopper has in paid and unpaid orders, per SKU (the per-shopper limit).
    pub(super) holdings: HashMap<Identity, BTreeMap<Sku, u64>>,
    pub(super) counters: Counters,
    /// Each reporting instance and its latest heartbeat, on the presence clock; a ticket's
    /// holder is a place in this list. A handful per event (one per process that reported),
    /// so it is searched from end to end.
    pub(super) instances: Vec<(InstanceId, UnixMillis)>,
    /// What presence is measured on (our silences left out).
    pub(super) presence: PresenceClock,
    /// The arrival windows entered so far: their score ranges and entrants.
    pub(super) windows: WindowRanges,
    /// Operators' changes of the settings so far (part of the event's activity).
    pub(super) changes: u64,
}

impl EventState {
    /// A new event with all its inventory in stock.
    pub(super) fn new(config: EventConfig) -> Self {
        Self {
            sold: BTreeMap::new(),
            reserved: BTreeMap::new(),
            config,
            tickets: TicketTable::default(),
            prequeue: 0,
            queue: BTreeMap::new(),
            ranks: ScoreRanks::default(),
            drawn: false,
            draw_record: None,
            serving: 0,
            bucket: None,
            followed: None,
            admissions: HashMap::new(),
            admissions_due: BTreeSet::new(),
            reservations_due: BTreeSet::new(),
            orders: HashMap::new(),
            order_of_ticket: HashMap::new(),
            holdings: HashMap::new(),
            counters: Counters::default(),
            instances: Vec::new(),
            presence: PresenceClock::default(),
            windows: WindowRanges::default(),
            changes: 0,
        }
    }

    /// A number that moves with every join, leave and operator's change (see
    /// [`QueueStore::activity`](crate::store::QueueStore::activity)).
    pub(super) fn activity(&self) -> u64 {
        self.counters.joined + self.counters.left + self.changes
    }

    /// Changes some settings at once, on the settings in force; returns them as changed.
    pub(super) fn change(&mut self, change: &EventChange) -> Result<EventConfig, ChangeError> {
        self.config = change.apply(&self.config)?;
        self.changes += 1;
        Ok(self.config.clone())
    }

    /// Units left to sell of an offered SKU: its total less what is sold and held (never below
    /// zero). Derived, never kept, so no change of the totals can forget a deficit or give back
    /// units already sold.
    pub(super) fn left_of(&self, sku: &Sku) -> u64 {
        let total = self.config.inventory.get(sku).copied().unwrap_or(0);
        let count = |counts: &BTreeMap<Sku, u64>| counts.get(sku).copied().unwrap_or(0);
        left_in_stock(total, count(&self.sold), count(&self.reserved))
    }

    /// Units left per offered SKU.
    pub(super) fn stock_left(&self) -> BTreeMap<Sku, u64> {
        self.config
            .inventory
            .keys()
            .map(|sku| (sku.clone(), self.left_of(sku)))
            .collect()
    }

    /// Units left in all SKUs together.
    pub(super) fn units_left(&self) -> u64 {
        self.config
            .inventory
            .keys()
            .map(|sku| self.left_of(sku))
            .sum()
    }

    /// The event's status at `now`.
    pub(super) fn status(&self, now: UnixMillis) -> EventStatus {
        event_status(&self.config, self.units_left(), now)
    }

    /// What the caps allow now (expiries must be settled first).
    pub(super) fn room(&self) -> Room {
        Room {
            active: self.active(),
            unused_admissions: self.admissions_due.len() as u64,
            units_left: self.units_left(),
        }
    }

    /// Unused admissions plus unpaid reservations (expiries must be settled first).
    pub(super) fn active(&self) -> u64 {
        (self.admissions_due.len() + self.reservations_due.len()) as u64
    }

    /// Shoppers waiting, drawn or not.
    pub(super) fn queue_length(&self) -> u64 {
        self.prequeue + self.queue.len() as u64
    }

    /// The highest score handed out so far.
    pub(super) fn last_score(&self) -> u64 {
        self.ranks.last()
    }

    /// Draws the pre-queue if the start has come and it has not been drawn; returns how many
    /// entrants this call placed.
    pub(super) fn draw_if_due(&mut self, now: UnixMillis) -> Option<u64> {
        if self.drawn || now < self.config.starts_at {
            return None;
        }
        self.prequeue = 0;
        let by_ticket: HashMap<TicketId, Slot> = self
            .tickets
            .iter()
            .filter(|(_, record)| {
                record.status == TicketStatus::Waiting && record.score().is_none()
            })
            .map(|(slot, record)| (record.ticket_id, slot))
            .collect();
        let draw = draw_order(&self.config.seed, by_ticket.keys().copied());
        for ticket_id in &draw.order {
            if let Some(slot) = by_ticket.get(ticket_id) {
                let score = self.next_score(true);
                self.queue.insert(score, *slot);
                if let Some(record) = self.tickets.get_mut(*slot) {
                    record.set_score(score);
                }
            }
        }
        self.drawn = true;
        let entrants = draw.order.len() as u64;
        self.draw_record = Some(DrawRecord {
            seed: self.config.seed.clone(),
            draw,
        });
        Some(entrants)
    }

    /// Hands out the next score.
    pub(super) fn next_score(&mut self, waiting: bool) -> u64 {
        self.ranks.push(waiting)
    }

    /// Expires the admissions and reservations whose time has passed: admissions stop counting
    /// as active, reservations return their stock.
    pub(super) fn settle(&mut self, now: UnixMillis) {
        while let Some((expires_at, slot)) = self.admissions_due.first().copied() {
            if expires_at > now {
                break;
            }
            self.admissions_due.pop_first();
            if let Some(record) = self.tickets.get_mut(slot) {
                record.status = TicketStatus::Expired;
            }
            self.counters.admissions_expired += 1;
        }
        while let Some((until, order_id)) = self.reservations_due.first().copied() {
            if until > now {
                break;
            }
            self.reservations_due.pop_first();
            let Some(order) = self.orders.get_mut(&order_id) else {
                continue;
            };
            order.status = OrderStatus::Expired;
            let holdings = self.holdings.entry(order.identity.clone()).or_default();
            for item in &order.items {
                take(&mut self.reserved, &item.sku, item.quantity);
                take(holdings, &item.sku, item.quantity);
            }
            self.counters.orders_expired += 1;
        }
    }

    /// The identity's ticket as the store answers it, with its exact position.
    pub(super) fn ticket_view(&self, identity: &Identity) -> Option<Ticket> {
        let slot = self.tickets.slot(identity)?;
        self.ticket_in(slot, identity.clone())
    }

    /// The ticket in `slot`, whose identity is `identity`, built from its record.
    pub(super) fn ticket_in(&self, slot: Slot, identity: Identity) -> Option<Ticket> {
        let record = self.tickets.get(slot)?;
        let admission = self.admissions.get(&slot);
        let waiting_score = record
            .score()
            .filter(|_| record.status == TicketStatus::Waiting);
        Some(Ticket {
            ticket_id: record.ticket_id,
            identity,
            status: record.status,
            position: waiting_score.map(|score| self.ranks.rank(score)),
            score: waiting_score,
            joined_at: record.joined_at,
            admitted_at: admission.map(|a| a.admitted_at),
            admission_expires_at: admission.map(|a| a.expires_at),
            admission_used: record.admission_used,
        })
    }

    /// Counters and stock as they stand (expiries must be settled first).
    pub(super) fn stats(&self) -> EventStats {
        let offered = |counts: &BTreeMap<Sku, u64>| {
            let mut all: BTreeMap<Sku, u64> = self
                .config
                .inventory
                .keys()
                .map(|sku| (sku.clone(), 0))
                .collect();
            all.extend(counts.iter().map(|(sku, units)| (sku.clone(), *units)));
            all
        };
        let c = &self.counters;
        EventStats {
            queue_length: self.queue_length(),
            serving: self.serving,
            last_score: self.last_score(),
            drawn: self.drawn,
            joined: c.joined,
            admitted: c.admitted,
            active: self.active(),
            left: c.left,
            abandoned: c.abandoned,
            admissions_expired: c.admissions_expired,
            orders_reserved: c.orders_reserved,
            orders_paid: c.orders_paid,
            orders_expired: c.orders_expired,
            stock_left: self.stock_left(),
            sold: offered(&self.sold),
            reserved: offered(&self.reserved),
        }
    }
}

/// Adds `units` to a SKU's count.
pub(super) fn put(counts: &mut BTreeMap<Sku, u64>, sku: &Sku, units: u64) {
    *counts.entry(sku.clone()).or_insert(0) += units;
}

/// Takes `units` from a SKU's count (never below zero).
pub(super) fn take(counts: &mut BTreeMap<Sku, u64>, sku: &Sku, units: u64) {
    if let Some(count) = counts.get_mut(sku) {
        *count = count.saturating_sub(units);
    }
}
