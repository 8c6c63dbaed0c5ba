//! Reserving stock with an admission, paying, and reading orders, over one event's state.

use std::collections::BTreeMap;

use super::state::{EventState, put, take};
use crate::clock::UnixMillis;
use crate::domain::{
    Holdings, OperatorStatus, Order, OrderId, OrderStatus, PayOutcome, ReserveOutcome,
    ReserveRequest, Sku, TicketStatus, broken_limit,
};

/// The answer to a checkout with an admission that already made `order`: the same order to
/// its owner when the retry carries the first idempotency key or none (a lost response must
/// not lose the purchase), `AdmissionUsed` when it carries another key.
fn prior_order(order: &Order, request: &ReserveRequest) -> ReserveOutcome {
    if order.identity != request.identity {
        return ReserveOutcome::NotAdmitted;
    }
    match &request.idempotency_key {
        None => ReserveOutcome::Existing(order.clone()),
        Some(key) if order.idempotency_key.as_ref() == Some(key) => {
            ReserveOutcome::Replayed(order.clone())
        }
        Some(_) => ReserveOutcome::AdmissionUsed,
    }
}

impl EventState {
    /// Consumes the admission and reserves every item, or changes nothing.
    ///
    /// Checks, in order: an order already made with this admission (see [`prior_order`]), the
    /// event not closed, a valid admission, SKUs the event sells, the purchase limits, then
    /// stock.
    pub(super) fn reserve(&mut self, request: &ReserveRequest, now: UnixMillis) -> ReserveOutcome {
        self.settle(now);
        if let Some(order) = self
            .order_of_ticket
            .get(&request.ticket_id)
            .and_then(|order_id| self.orders.get(order_id))
        {
            return prior_order(order, request);
        }
        if self.config.operator_status == OperatorStatus::Closed {
            return ReserveOutcome::Closed;
        }
        let Some(slot) = self.tickets.slot(&request.identity) else {
            return ReserveOutcome::NotAdmitted;
        };
        let Some(record) = self.tickets.get(slot) else {
            return ReserveOutcome::NotAdmitted;
        };
        if record.ticket_id != request.ticket_id || record.status != TicketStatus::Admitted {
            return ReserveOutcome::NotAdmitted;
        }
        if record.admission_used {
            return ReserveOutcome::AdmissionUsed;
        }
        let expires_at = self.admissions.get(&slot).map(|a| a.expires_at);

        // SKUs are meant to be distinct; summing guards the stock against repeats anyway.
        let mut wanted: BTreeMap<&Sku, u64> = BTreeMap::new();
        for item in &request.items {
            *wanted.entry(&item.sku).or_insert(0) += item.quantity;
        }
        if let Some(item) = request
            .items
            .iter()
            .find(|item| !self.config.inventory.contains_key(&item.sku))
        {
            return ReserveOutcome::UnknownSku(item.sku.clone());
        }
        let empty = BTreeMap::new();
        let held = self.holdings.get(&request.identity).unwrap_or(&empty);
        let has = Holdings {
            in_all: held.values().sum(),
            of_sku: |sku: &Sku| held.get(sku).copied().unwrap_or(0),
        };
        if let Some(limit) = broken_limit(
            &self.config.max_units_per_order,
            &self.config.max_units_per_shopper,
            &wanted,
            &has,
        ) {
            return ReserveOutcome::PurchaseLimit(limit);
        }
        if let Some(item) = request
            .items
            .iter()
            .find(|item| wanted.get(&item.sku).copied().unwrap_or(0) > self.left_of(&item.sku))
        {
            return ReserveOutcome::SoldOut(item.sku.clone());
        }

        let holdings = self.holdings.entry(request.identity.clone()).or_default();
        for (sku, units) in wanted {
            put(&mut self.reserved, sku, units);
            put(holdings, sku, units);
        }
        if let Some(record) = self.tickets.get_mut(slot) {
            record.admission_used = true;
        }
        if let Some(expires_at) = expires_at {
            self.admissions_due.remove(&(expires_at, slot));
        }
        let ttl_ms = i64::from(self.config.reservation_ttl_seconds) * 1_000;
        let order = Order {
            order_id: request.order_id,
            event: self.config.id.clone(),
            identity: request.identity.clone(),
            ticket_id: request.ticket_id,
            status: OrderStatus::Reserved,
            items: request.items.clone(),
            reserved_until: now.saturating_add(ttl_ms),
            idempotency_key: request.idempotency_key.clone(),
            created_at: now,
        };
        self.reservations_due
            .insert((order.reserved_until, order.order_id));
        self.order_of_ticket
            .insert(request.ticket_id, request.order_id);
        self.orders.insert(request.order_id, order.clone());
        self.counters.orders_reserved += 1;
        ReserveOutcome::Reserved(order)
    }

    /// Pays a reservation of `identity` that has not run out.
    pub(super) fn pay(
        &mut self,
        identity: &crate::domain::Identity,
        order_id: OrderId,
        now: UnixMillis,
    ) -> PayOutcome {
        self.settle(now);
        let Some(order) = self.orders.get_mut(&order_id) else {
            return PayOutcome::NotFound;
        };
        if &order.identity != identity {
            return PayOutcome::NotFound;
        }
        match order.status {
            OrderStatus::Paid => PayOutcome::AlreadyPaid(order.clone()),
            OrderStatus::Expired => PayOutcome::Expired(order.clone()),
            OrderStatus::Reserved => {
                order.status = OrderStatus::Paid;
                let paid = order.clone();
                for item in &paid.items {
                    take(&mut self.reserved, &item.sku, item.quantity);
                    put(&mut self.sold, &item.sku, item.quantity);
                }
                self.reservations_due
                    .remove(&(paid.reserved_until, paid.order_id));
                self.counters.orders_paid += 1;
                PayOutcome::Paid(paid)
            }
        }
    }

    /// An order as it stands now.
    pub(super) fn order(&mut self, order_id: OrderId, now: UnixMillis) -> Option<Order> {
        self.settle(now);
        self.orders.get(&order_id).cloned()
    }
}
