//! The JSON shapes of tickets, events and orders, built in one place so every route answers the
//! same thing. Each is a typed view: its `ToSchema` is what `/openapi.json` publishes.

use serde::Serialize;
use utoipa::ToSchema;

use super::state::AppState;
use crate::admission::sign_admission;
use crate::clock::{UnixMillis, to_rfc3339};
use crate::domain::{
    EventConfig, EventId, EventStats, EventStatus, Mode, Order, OrderItem, OrderStatus,
    PageBranding, ShopperPage, Sku, Ticket, TicketId, TicketStatus, event_status,
};
use crate::error::ApiError;
use crate::queue::chance::SaleOutlook;
use crate::queue::checkout_lag::{Channel, PurchaseLags, WaitingPages};
use crate::queue::eta::{eta_seconds, expected_prequeue_position};

/// A ticket as its owner sees it; `admission_token`, `admission_expires_at` and
/// `admission_used` when admitted; `visitor_token` in a visitor's join answer. Fields are in
/// alphabetical order, as the JSON object this view replaced wrote them, so the bytes are the
/// same.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Ticket)]
pub struct TicketView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub admission_expires_at: Option<String>,
    /// The admission JWT (EdDSA), when admitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admission_token: Option<String>,
    /// Whether the admission has bought its order, when admitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admission_used: Option<bool>,
    /// While waiting after the draw: how likely (0 to 1) the shopper is to find something left
    /// to buy at their turn, from their position, the units left, the units per order so far and
    /// the measured shares of admitted shoppers who buy and of waiting ones who leave, and how
    /// far the order of reaching the checkout strays from the order of the line (a ticket read
    /// is told as to a polling page, a join's answer as to the crowd); `null` while unknown
    /// (before the draw) and once the ticket is not waiting.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub chance_of_success: Option<f64>,
    /// Seconds until admission at the current outflow; `null` when unknown or not waiting.
    pub eta_seconds: Option<u64>,
    pub event: &'a str,
    #[schema(format = DateTime)]
    pub joined_at: String,
    /// 1 = next; `null` before the draw and once the ticket has left the queue.
    pub position: Option<u64>,
    pub status: TicketStatus,
    #[schema(value_type = String, format = Uuid)]
    pub ticket_id: TicketId,
    /// In the join answer of an anonymous visitor: the visitor token (also set as a cookie).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visitor_token: Option<String>,
}

/// A ticket as its owner sees it (see [`TicketView`]), its chance of success told to a page that
/// hears of its admission over `channel`: a page reading its ticket polls, while the join's
/// answer does not know yet whether its page will open a socket or poll, and tells the crowd's
/// chance.
pub async fn ticket_view<'a>(
    state: &AppState,
    config: &'a EventConfig,
    ticket: &Ticket,
    channel: Option<Channel>,
) -> Result<TicketView<'a>, ApiError> {
    let now = state.now();
    let rate = config.outflow_per_second();
    let eta = match (ticket.status, ticket.position) {
        (TicketStatus::Waiting, Some(position)) => {
            eta_seconds(position, rate, config.starts_at, now)
        }
        (TicketStatus::Waiting, None) => {
            // Before the draw nobody has a place: the honest estimate is the lottery's middle.
            let entrants = state
                .store
                .stats(&config.id)
                .await?
                .map_or(1, |stats| stats.queue_length);
            eta_seconds(
                expected_prequeue_position(entrants),
                rate,
                config.starts_at,
                now,
            )
        }
        (TicketStatus::Admitted, _) => Some(0),
        _ => None,
    };
    let chance_of_success = match (ticket.status, ticket.position) {
        // Held in an open arrival window: the place is drawn when it closes.
        (TicketStatus::Waiting, _) if config.held_in_window(ticket.joined_at, now) => None,
        (TicketStatus::Waiting, Some(position)) => {
            chance_of_success(state, config, position, channel, now).await?
        }
        _ => None,
    };
    let mut view = TicketView {
        admission_expires_at: None,
        admission_token: None,
        admission_used: None,
        chance_of_success,
        eta_seconds: eta,
        event: config.id.as_str(),
        joined_at: to_rfc3339(ticket.joined_at),
        position: ticket.position,
        status: ticket.status,
        ticket_id: ticket.ticket_id,
        visitor_token: None,
    };
    if let Some((token, expires_at)) = admission_of(state, &config.id, ticket)? {
        view.admission_token = Some(token);
        view.admission_expires_at = Some(to_rfc3339(expires_at));
        view.admission_used = Some(ticket.admission_used);
    }
    Ok(view)
}

/// The chance of success at `position`, from this instance's latest read of the sale's counters
/// (its outflow ticker refreshes them every few seconds), or from the store when the ticker has
/// not read them yet.
async fn chance_of_success(
    state: &AppState,
    config: &EventConfig,
    position: u64,
    channel: Option<Channel>,
    now: UnixMillis,
) -> Result<Option<f64>, ApiError> {
    let snapshot = state.outflow.snapshot(&config.id);
    let read = snapshot
        .as_ref()
        .and_then(|s| Some((s.outlook.clone()?, s.admitted_total, s.queue_length)));
    let (outlook, admitted, waiting) = match read {
        Some(read) => read,
        None => match state.store.stats(&config.id).await? {
            // Nothing measured here yet: the line at its set pace, the priors' times.
            Some(stats) => (
                SaleOutlook::of(&stats)
                    .with_leaving(0.0, config.outflow_per_second())
                    .with_lags(
                        PurchaseLags::default()
                            .figures(std::time::Instant::now(), WaitingPages::default()),
                    ),
                stats.admitted,
                stats.queue_length,
            ),
            None => return Ok(None),
        },
    };
    let status = event_status(config, outlook.units_left, now);
    Ok(Some(match status {
        EventStatus::SoldOut | EventStatus::Closed => 0.0,
        _ => outlook.chance_now(position, channel, admitted, waiting),
    }))
}

/// The admission token of an admitted ticket, re-signed from the store's times (Ed25519 is
/// deterministic, so every instance hands out the same token).
pub fn admission_of(
    state: &AppState,
    event: &EventId,
    ticket: &Ticket,
) -> Result<Option<(String, UnixMillis)>, ApiError> {
    let (TicketStatus::Admitted, Some(admitted_at), Some(expires_at)) = (
        ticket.status,
        ticket.admitted_at,
        ticket.admission_expires_at,
    ) else {
        return Ok(None);
    };
    let token = sign_admission(
        &state.keys,
        ticket.identity.subject(),
        event,
        ticket.ticket_id,
        admitted_at,
        expires_at,
    )
    .map_err(ApiError::internal)?;
    Ok(Some((token, expires_at)))
}

/// The public state of an event, with the wait a shopper joining now can expect.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PublicEvent)]
pub struct PublicEventView {
    pub id: String,
    pub name: String,
    pub status: EventStatus,
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub prequeue_opens_at: String,
    pub queue_length: u64,
    /// The highest place admitted so far ("now serving").
    pub serving: u64,
    pub outflow_per_second: f64,
    /// `null` once the event is sold out or closed.
    pub estimated_wait_seconds: Option<u64>,
    pub allow_anonymous: bool,
    /// Leading zero bits the event's proof of work asks at least (0: none); fetch a challenge
    /// for the difficulty asked now.
    pub proof_difficulty: u8,
    /// Joins need an invitation.
    pub invitation_only: bool,
    pub mode: Mode,
    pub units_left: u64,
    /// The SKUs the sale offers.
    pub skus: Vec<String>,
    /// Hex SHA-256 of the draw's seed, published before the draw.
    pub seed_hash: String,
    /// The draw's seed, once the draw is done: anyone can check it against `seed_hash`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// The operator's branding of the shoppers' pages, when set; its colours are the ones to
    /// paint with (made readable where the operator's would not be).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<ShopperPage>,
}

/// The public state of an event, for shoppers.
pub fn public_event_view(
    config: &EventConfig,
    stats: &EventStats,
    now: UnixMillis,
) -> PublicEventView {
    let status = event_status(config, stats.units_left(), now);
    let next_position = if stats.drawn || now >= config.starts_at {
        stats.queue_length + 1
    } else {
        expected_prequeue_position(stats.queue_length + 1)
    };
    PublicEventView {
        id: config.id.as_str().to_owned(),
        name: config.name.clone(),
        status,
        starts_at: to_rfc3339(config.starts_at),
        prequeue_opens_at: to_rfc3339(config.prequeue_opens()),
        queue_length: stats.queue_length,
        serving: stats.serving,
        outflow_per_second: config.outflow_per_second(),
        estimated_wait_seconds: estimated_wait(config, status, next_position, now),
        allow_anonymous: config.allow_anonymous,
        proof_difficulty: config.defences.proof_difficulty,
        invitation_only: config.defences.invitation_only,
        mode: config.mode,
        units_left: stats.units_left(),
        skus: config
            .inventory
            .keys()
            .map(|sku| Sku::as_str(sku).to_owned())
            .collect(),
        seed_hash: config.seed_hash.clone(),
        seed: stats.drawn.then(|| config.seed.clone()),
        page: config.page.as_ref().map(PageBranding::for_shoppers),
    }
}

fn estimated_wait(
    config: &EventConfig,
    status: EventStatus,
    position: u64,
    now: UnixMillis,
) -> Option<u64> {
    match status {
        EventStatus::SoldOut | EventStatus::Closed => None,
        _ => eta_seconds(position, config.outflow_per_second(), config.starts_at, now),
    }
}

/// What an order's answer says of its state.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// The stock is held until `reserved_until`.
    Reserved,
    /// Paid: the units are sold.
    Paid,
    /// Not paid in time: its units went back on sale.
    Expired,
}

/// The answer to a checkout (the reservation, identical on every replay) or to a payment.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Order)]
pub struct OrderView {
    #[schema(format = Uuid)]
    pub order_id: String,
    pub event: String,
    pub status: OrderState,
    pub items: Vec<OrderItem>,
    /// When an unpaid reservation's stock goes back on sale (reservations only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub reserved_until: Option<String>,
}

/// The answer to a checkout: the reservation, identical on every replay.
pub fn reservation_view(order: &Order) -> OrderView {
    OrderView {
        order_id: order.order_id.to_string(),
        event: order.event.as_str().to_owned(),
        status: OrderState::Reserved,
        items: order.items.clone(),
        reserved_until: Some(to_rfc3339(order.reserved_until)),
    }
}

/// The answer to a payment.
pub fn paid_view(order: &Order) -> OrderView {
    OrderView {
        status: OrderState::Paid,
        reserved_until: None,
        ..reservation_view(order)
    }
}

/// An order as it stands now: reserved (until `reserved_until`), paid, or expired.
pub fn order_view(order: &Order) -> OrderView {
    match order.status {
        OrderStatus::Reserved => reservation_view(order),
        OrderStatus::Paid => paid_view(order),
        OrderStatus::Expired => OrderView {
            status: OrderState::Expired,
            ..reservation_view(order)
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The view is written exactly as the `serde_json::Value` object it replaced: the same keys in
    /// the same (alphabetical) order, `null` for an unknown position or estimate, the admission
    /// and visitor fields only when set.
    #[test]
    fn the_ticket_view_writes_the_bytes_of_the_former_json_object() {
        let ticket_id = TicketId::random();
        let waiting = TicketView {
            admission_expires_at: None,
            admission_token: None,
            admission_used: None,
            chance_of_success: Some(0.25),
            eta_seconds: None,
            event: "sale",
            joined_at: to_rfc3339(1_800_000_000_123),
            position: Some(7),
            status: TicketStatus::Waiting,
            ticket_id,
            visitor_token: Some("v.t.s".to_owned()),
        };
        let mut former = json!({
            "ticket_id": ticket_id.to_string(),
            "event": "sale",
            "status": TicketStatus::Waiting,
            "position": Some(7),
            "chance_of_success": Some(0.25),
            "eta_seconds": None::<u64>,
            "joined_at": to_rfc3339(1_800_000_000_123),
        });
        former["visitor_token"] = json!("v.t.s");
        assert_eq!(
            serde_json::to_string(&waiting).unwrap(),
            serde_json::to_string(&former).unwrap()
        );

        let admitted = TicketView {
            admission_expires_at: Some(to_rfc3339(1_800_000_060_000)),
            admission_token: Some("a.b.c".to_owned()),
            admission_used: Some(false),
            chance_of_success: None,
            eta_seconds: Some(0),
            position: None,
            status: TicketStatus::Admitted,
            visitor_token: None,
            ..waiting
        };
        let former = json!({
            "ticket_id": ticket_id.to_string(),
            "event": "sale",
            "status": TicketStatus::Admitted,
            "position": None::<u64>,
            "chance_of_success": None::<f64>,
            "eta_seconds": Some(0),
            "joined_at": to_rfc3339(1_800_000_000_123),
            "admission_token": "a.b.c",
            "admission_expires_at": to_rfc3339(1_800_000_060_000),
            "admission_used": false,
        });
        assert_eq!(
            serde_json::to_string(&admitted).unwrap(),
            serde_json::to_string(&former).unwrap()
        );
    }
}
