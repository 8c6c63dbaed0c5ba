//! The reference checkout: reserve stock with an admission, then pay (a mock payment).
//!
//! By the time a handler runs, the chain has authenticated the shopper and verified the
//! admission token; the store consumes the admission and reserves every item in one atomic step.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::admission::Admission;
use crate::domain::{OrderId, OrderItem, PayOutcome, ReserveOutcome, ReserveRequest, Sku};
use crate::error::ApiError;
use crate::http::json::ValidJson;
use crate::http::paths::{EventPath, OrderPath};
use crate::http::state::AppState;
use crate::http::views::{OrderView, order_view, paid_view, reservation_view};
use crate::identity::Shopper;
use crate::queue::checkout_lag::Channel;
use crate::telemetry::metrics::CHECKOUT_REACH;

/// The header whose value makes a retried checkout answer the first result again.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// `{"items":[{"sku":"…","quantity":N}]}`.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
#[schema(as = CheckoutRequest)]
pub struct CheckoutBody {
    /// One line per SKU.
    #[garde(length(min = 1, max = 50), custom(distinct_skus), dive)]
    #[schema(min_items = 1, max_items = 50)]
    pub items: Vec<ItemBody>,
}

/// One line of a checkout.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
#[schema(as = CheckoutItem)]
pub struct ItemBody {
    #[garde(custom(valid_sku))]
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub sku: String,
    #[garde(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: u64,
}

/// `{"payment":{"card_token":"…"}}`.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
#[schema(as = PayRequest)]
pub struct PayBody {
    #[garde(dive)]
    pub payment: PaymentBody,
}

/// The (mock) means of payment.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
#[schema(as = Payment)]
pub struct PaymentBody {
    #[garde(length(min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    pub card_token: String,
}

fn valid_sku(sku: &str, _: &()) -> garde::Result {
    Sku::parse(sku)
        .map(|_| ())
        .map_err(|error| garde::Error::new(error.to_string()))
}

fn distinct_skus(items: &[ItemBody], _: &()) -> garde::Result {
    let mut seen = HashSet::new();
    match items.iter().find(|item| !seen.insert(item.sku.as_str())) {
        Some(item) => Err(garde::Error::new(format!(
            "SKU {} appears twice: put the whole quantity on one line",
            item.sku
        ))),
        None => Ok(()),
    }
}

/// `POST /v1/events/{event}/checkout`: `201` with the reservation.
#[utoipa::path(post, path = "/v1/events/{event}/checkout", tag = "checkout",
    summary = "Reserve stock with an admission (consumed atomically)",
    description = "Authorization names the admitted shopper; a retry with the same Idempotency-Key gets the first answer again (201), and a retry with the same admission and no Idempotency-Key answers 200 with the order that admission made, as it stands now. A closed event makes no new reservations (those made before may still be paid until they run out). An order beyond the event's max_units_per_order, or taking the shopper beyond max_units_per_shopper (paid and unpaid orders together), is refused with purchase_limit.",
    params(EventPath,
        ("Admission-Token" = String, Header, description = "the admission JWT from the ticket"),
        ("Idempotency-Key" = Option<String>, Header, max_length = 255,
            description = "1 to 255 visible ASCII characters"),
    ),
    request_body = CheckoutBody,
    security(("userToken" = [])),
    responses(
        (status = 201, description = "reserved", body = OrderView, links(
            ("Pay" = (operation_id = "pay", parameters(("event" = "$request.path.event"), ("order" = "$response.body#/order_id")))),
        )),
        (status = 200, description = "a retry without Idempotency-Key: the order this admission made, as it stands", body = OrderView),
        (status = 400, description = "malformed JSON"),
        (status = 401, description = "no or bad user token"),
        (status = 403, description = "not_admitted: a missing, forged, expired, another shopper's or another event's admission token; members_only: a visitor identity in an event for signed-in shoppers"),
        (status = 404, description = "no such event"),
        (status = 409, description = "admission_used (a retry with another Idempotency-Key), sold_out, event_closed or purchase_limit"),
        (status = 422, description = "validation_failed"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn checkout(
    State(state): State<AppState>,
    EventPath(event): EventPath,
    shopper: Shopper,
    admission: Admission,
    headers: HeaderMap,
    ValidJson(body): ValidJson<CheckoutBody>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let idempotency_key = idempotency_key(&headers)?;
    let mut items = Vec::with_capacity(body.items.len());
    for item in &body.items {
        let sku = Sku::parse(&item.sku)
            .map_err(|error| ApiError::invalid_field("items.sku", error.to_string()))?;
        items.push(OrderItem {
            sku,
            quantity: item.quantity,
        });
    }
    let request = ReserveRequest {
        identity: shopper.identity,
        ticket_id: admission.ticket_id,
        order_id: OrderId::random(),
        idempotency_key,
        items,
    };
    let outcome = state.store.reserve(&event, &request).await?;
    if matches!(
        outcome,
        ReserveOutcome::Reserved(_) | ReserveOutcome::SoldOut(_)
    ) {
        // A first try at the checkout: how long it took from the admission tells the shoppers
        // still waiting how far the order of buying strays from the order of the line.
        let lag_ms = state.now().saturating_sub(admission.admitted_at);
        let channel = state.live.told_on_socket.channel(&event, &request.identity);
        state.outflow.reached_checkout(&event, channel, lag_ms);
        let heard = match channel {
            Channel::Socket => "socket",
            Channel::Polling => "polling",
        };
        metrics::histogram!(CHECKOUT_REACH, "event" => event.to_string(), "channel" => heard)
            .record(lag_ms.max(0) as f64 / 1000.0);
    }
    match outcome {
        ReserveOutcome::Reserved(order) | ReserveOutcome::Replayed(order) => {
            // The units left have changed, possibly to none: pages hear it at once.
            state.public_snapshots.forget(&event);
            Ok((StatusCode::CREATED, Json(reservation_view(&order))))
        }
        ReserveOutcome::Existing(order) => Ok((StatusCode::OK, Json(order_view(&order)))),
        ReserveOutcome::Closed => Err(ApiError::new(
            StatusCode::CONFLICT,
            "event_closed",
            "The event is closed",
        )
        .detail("the event has ended: nothing new is reserved; reservations made before may still be paid until they run out")),
        ReserveOutcome::PurchaseLimit(limit) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "purchase_limit",
            "Over the purchase limit",
        )
        .detail(format!(
            "the order is over the event's {}; nothing was reserved",
            limit.setting()
        ))),
        ReserveOutcome::NotAdmitted => {
            Err(
                ApiError::new(StatusCode::FORBIDDEN, "not_admitted", "Not admitted")
                    .detail("the admission has expired or was given up"),
            )
        }
        ReserveOutcome::AdmissionUsed => Err(ApiError::new(
            StatusCode::CONFLICT,
            "admission_used",
            "The admission was already used",
        )
        .detail("each admission buys one order; retry with the first Idempotency-Key, or none, to see it again")),
        ReserveOutcome::SoldOut(sku) => {
            Err(
                ApiError::new(StatusCode::CONFLICT, "sold_out", "Sold out").detail(format!(
                    "not enough units of {sku} are left; nothing was reserved"
                )),
            )
        }
        ReserveOutcome::UnknownSku(sku) => {
            let index = request.items.iter().position(|item| item.sku == sku);
            Err(ApiError::invalid_field(
                format!("items[{}].sku", index.unwrap_or(0)),
                format!("the event sells no SKU {sku}"),
            ))
        }
        ReserveOutcome::NoEvent => Err(ApiError::not_found(format!("no event {event}"))),
    }
}

/// `POST /v1/events/{event}/orders/{order}/pay`: `200` once paid (again on a retry).
#[utoipa::path(post, path = "/v1/events/{event}/orders/{order}/pay", tag = "checkout",
    summary = "Pay a reservation (mock payment); idempotent",
    params(OrderPath),
    request_body = PayBody,
    security(("userToken" = [])),
    responses(
        (status = 200, description = "paid", body = OrderView),
        (status = 400, description = "malformed JSON"),
        (status = 401, description = "no or bad user token"),
        (status = 404, description = "no such order of this shopper"),
        (status = 409, description = "reservation_expired"),
        (status = 422, description = "validation_failed"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn pay(
    State(state): State<AppState>,
    path: OrderPath,
    shopper: Shopper,
    ValidJson(_body): ValidJson<PayBody>,
) -> Result<Json<OrderView>, ApiError> {
    match state
        .store
        .pay(&path.event, &shopper.identity, path.order)
        .await?
    {
        PayOutcome::Paid(order) | PayOutcome::AlreadyPaid(order) => {
            // A paid order can end the sale (sold out): pages hear it at once.
            state.public_snapshots.forget(&path.event);
            Ok(Json(paid_view(&order)))
        }
        PayOutcome::Expired(_) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "reservation_expired",
            "The reservation has expired",
        )
        .detail("the order was not paid in time and its stock went back on sale")),
        PayOutcome::NotFound => Err(ApiError::not_found("no such order")),
    }
}

/// `GET /v1/events/{event}/orders/{order}`: the order as it stands, for its owner only.
#[utoipa::path(get, path = "/v1/events/{event}/orders/{order}", tag = "checkout",
    summary = "An order as it stands (reserved, paid or expired), for the shopper who made it",
    params(OrderPath),
    security(("userToken" = [])),
    responses(
        (status = 200, description = "the order", body = OrderView),
        (status = 401, description = "no or bad user token"),
        (status = 404, description = "no such order of this shopper (another shopper's order is not found either)"),
        (status = 503, description = "the store is unavailable (Retry-After)"),
    ))]
pub async fn order(
    State(state): State<AppState>,
    path: OrderPath,
    shopper: Shopper,
) -> Result<Json<OrderView>, ApiError> {
    match state.store.order(&path.event, path.order).await? {
        Some(order) if order.identity == shopper.identity => Ok(Json(order_view(&order))),
        _ => Err(ApiError::not_found("no such order")),
    }
}

/// The `Idempotency-Key`: 1 to 255 visible ASCII characters, if sent.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    let invalid = || {
        ApiError::invalid_field(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )
    };
    let text = value.to_str().map_err(|_| invalid())?;
    let ok = (1..=255).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| Some(text.to_owned())).ok_or_else(invalid)
}
