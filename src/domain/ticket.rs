//! Tickets, admissions, orders and the outcomes of the engine's operations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{EventId, EventStatus, Identity, OrderId, PurchaseLimit, Sku, TicketId};
use crate::clock::UnixMillis;

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// In the queue (or the pre-queue).
    Waiting,
    /// Let through: may check out until the admission expires.
    Admitted,
    /// The admission ran out unused, or the place was lost for want of a page.
    Expired,
    /// The shopper left the queue.
    Left,
}

/// One identity's place in one event, as the store knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// The ticket id (the admission token's `jti`).
    pub ticket_id: TicketId,
    /// Whose place it is.
    pub identity: Identity,
    /// Where it stands.
    pub status: TicketStatus,
    /// Exact place in the queue, 1 = next; `None` unless waiting after the draw.
    pub position: Option<u64>,
    /// The queue score while waiting after the draw: with the serving number it gives the
    /// broadcast position (`score - serving`) without asking the store.
    pub score: Option<u64>,
    /// When the identity joined.
    pub joined_at: UnixMillis,
    /// When it was admitted, if it was.
    pub admitted_at: Option<UnixMillis>,
    /// When the admission stops being valid, if admitted.
    pub admission_expires_at: Option<UnixMillis>,
    /// Whether the admission has been used at checkout (it can be used once).
    pub admission_used: bool,
}

/// The answer to a join.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinOutcome {
    /// A place: `created` is false when the identity already held one (idempotent join).
    Joined { ticket: Ticket, created: bool },
    /// No such event.
    NoEvent,
    /// The event does not accept joins now (scheduled, sold out or closed).
    NotAccepting(EventStatus),
}

/// One shopper let through by a drain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admitted {
    /// Who.
    pub identity: Identity,
    /// Their ticket.
    pub ticket_id: TicketId,
    /// When (store time).
    pub admitted_at: UnixMillis,
    /// Until when the admission is valid.
    pub expires_at: UnixMillis,
}

/// The answer to a drain: also the per-tick snapshot every instance fans out to its sockets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DrainOutcome {
    /// Shoppers admitted by this call, in queue order.
    pub admitted: Vec<Admitted>,
    /// Waiting shoppers dropped by this call because their page was gone.
    pub abandoned: u64,
    /// The serving number after this call: the highest score admitted so far.
    pub serving: u64,
    /// Shoppers waiting after this call.
    pub queue_length: u64,
    /// The status of the event at the time of the call.
    pub status: Option<EventStatus>,
    /// Admitted shoppers who have not finished.
    pub active: u64,
    /// Shoppers admitted in the event so far, by every instance's drains.
    pub admitted_total: u64,
    /// The highest score handed out so far (the top of an open arrival window's range once
    /// the window has a join), as [`EventStats::last_score`].
    pub last_score: u64,
}

/// The answer to a draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrawOutcome {
    /// This call shuffled the pre-queue of `entrants` shoppers.
    Drawn { entrants: u64 },
    /// The draw had already happened.
    AlreadyDrawn,
    /// The start has not come yet.
    TooEarly,
    /// No such event.
    NoEvent,
}

/// Counters and stock of an event, for operators and the public state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventStats {
    /// Shoppers waiting now.
    pub queue_length: u64,
    /// The highest score admitted so far.
    pub serving: u64,
    /// The highest score handed out so far.
    pub last_score: u64,
    /// Whether the pre-queue has been drawn.
    pub drawn: bool,
    /// Tickets ever created.
    pub joined: u64,
    /// Shoppers ever admitted.
    pub admitted: u64,
    /// Admitted shoppers who have not finished now.
    pub active: u64,
    /// Tickets given up by their shoppers.
    pub left: u64,
    /// Places lost for want of a page.
    pub abandoned: u64,
    /// Admissions that ran out unused.
    pub admissions_expired: u64,
    /// Orders reserved (ever), paid (ever), and whose reservation ran out (ever).
    pub orders_reserved: u64,
    pub orders_paid: u64,
    pub orders_expired: u64,
    /// Units left to sell, per SKU.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub stock_left: BTreeMap<Sku, u64>,
    /// Units paid for, per SKU.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub sold: BTreeMap<Sku, u64>,
    /// Units held by unpaid reservations, per SKU.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub reserved: BTreeMap<Sku, u64>,
}

impl EventStats {
    /// Units left in all SKUs together.
    pub fn units_left(&self) -> u64 {
        self.stock_left.values().sum()
    }
}

/// A line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderItem {
    #[schema(value_type = String)]
    pub sku: Sku,
    pub quantity: u64,
}

/// What a checkout asks the store to do in one atomic step.
#[derive(Debug, Clone, PartialEq)]
pub struct ReserveRequest {
    /// The shopper (the admission's `sub`).
    pub identity: Identity,
    /// The admission's ticket (`jti`): consumed by this step.
    pub ticket_id: TicketId,
    /// The id the new order gets.
    pub order_id: OrderId,
    /// A retry with the same key gets the first answer back.
    pub idempotency_key: Option<String>,
    /// What to reserve, all or nothing. SKUs are distinct.
    pub items: Vec<OrderItem>,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Stock held until `reserved_until`.
    Reserved,
    /// Paid: the stock is sold.
    Paid,
    /// Not paid in time: the stock went back.
    Expired,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: OrderId,
    pub event: EventId,
    pub identity: Identity,
    pub ticket_id: TicketId,
    pub status: OrderStatus,
    pub items: Vec<OrderItem>,
    pub reserved_until: UnixMillis,
    pub idempotency_key: Option<String>,
    pub created_at: UnixMillis,
}

/// The answer to a reservation.
#[derive(Debug, Clone, PartialEq)]
pub enum ReserveOutcome {
    /// Stock reserved and the admission consumed.
    Reserved(Order),
    /// The same admission and idempotency key were seen before: the first order, unchanged.
    Replayed(Order),
    /// No valid admission for this identity and ticket (never admitted, expired, or left).
    NotAdmitted,
    /// The same admission retried by its shopper without an idempotency key: the order it
    /// made, as it stands now.
    Existing(Order),
    /// The admission was already used for another order (the retry named another key).
    AdmissionUsed,
    /// The event is closed: no new reservations (existing ones may still be paid).
    Closed,
    /// The order would break a purchase limit; nothing was reserved.
    PurchaseLimit(PurchaseLimit),
    /// Not enough units of this SKU; nothing was reserved.
    SoldOut(Sku),
    /// The event sells no such SKU; nothing was reserved.
    UnknownSku(Sku),
    /// No such event.
    NoEvent,
}

/// The answer to a payment.
#[derive(Debug, Clone, PartialEq)]
pub enum PayOutcome {
    /// Paid now.
    Paid(Order),
    /// Was paid already: the same order (payment is idempotent).
    AlreadyPaid(Order),
    /// The reservation ran out before payment; its stock went back.
    Expired(Order),
    /// No such order for this identity.
    NotFound,
}
