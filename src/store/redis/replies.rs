//! Reading the scripts' replies into domain types.
//!
//! Each script's header in `lua/` states its reply; anything else is [`StoreError::Corrupt`].

use std::collections::BTreeMap;

use redis::Value;
use serde::Deserialize;

use crate::clock::UnixMillis;
use crate::domain::{
    Admitted, DrainOutcome, EventId, EventStats, EventStatus, Identity, Order, OrderId, OrderItem,
    OrderStatus, Sku, Ticket, TicketId, TicketStatus,
};
use crate::queue::backoff::FollowedOutflow;
use crate::store::StoreError;

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// The elements of an array reply.
pub(super) fn array(value: Value) -> Result<Vec<Value>, StoreError> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(corrupt(format_args!("expected an array, got {other:?}"))),
    }
}

/// An array reply of exactly `N` elements.
pub(super) fn fixed<const N: usize>(value: Value) -> Result<[Value; N], StoreError> {
    let items = array(value)?;
    let len = items.len();
    items
        .try_into()
        .map_err(|_| corrupt(format_args!("expected {N} elements, got {len}")))
}

/// A reply whose first element says which outcome it is: `(kind, the other elements)`.
pub(super) fn tagged(value: Value) -> Result<(String, Vec<Value>), StoreError> {
    let mut items = array(value)?.into_iter();
    let kind = text(items.next().unwrap_or(Value::Nil))?;
    Ok((kind, items.collect()))
}

/// The `i`th element of a tagged reply's rest.
pub(super) fn nth(rest: &mut [Value], i: usize) -> Result<Value, StoreError> {
    rest.get_mut(i)
        .map(std::mem::take)
        .ok_or_else(|| corrupt(format_args!("reply has no element {i}")))
}

pub(super) fn bytes(value: Value) -> Result<Vec<u8>, StoreError> {
    match value {
        Value::BulkString(bytes) => Ok(bytes),
        Value::SimpleString(text) => Ok(text.into_bytes()),
        other => Err(corrupt(format_args!("expected a string, got {other:?}"))),
    }
}

pub(super) fn text(value: Value) -> Result<String, StoreError> {
    String::from_utf8(bytes(value)?).map_err(corrupt)
}

pub(super) fn int(value: Value) -> Result<i64, StoreError> {
    match value {
        Value::Int(n) => Ok(n),
        Value::BulkString(ref bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| corrupt(format_args!("expected an integer, got {value:?}"))),
        other => Err(corrupt(format_args!("expected an integer, got {other:?}"))),
    }
}

pub(super) fn count(value: Value) -> Result<u64, StoreError> {
    let n = int(value)?;
    u64::try_from(n).map_err(|_| corrupt(format_args!("expected a count, got {n}")))
}

pub(super) fn optional<T>(
    value: Value,
    read: impl FnOnce(Value) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        value => read(value).map(Some),
    }
}

pub(super) fn ticket_id(value: Value) -> Result<TicketId, StoreError> {
    let raw = bytes(value)?;
    uuid::Uuid::from_slice(&raw)
        .map(TicketId)
        .map_err(|_| corrupt("a ticket id is not 16 bytes"))
}

pub(super) fn status(value: Value) -> Result<EventStatus, StoreError> {
    let word = text(value)?;
    serde_json::from_value(serde_json::Value::String(word.clone()))
        .map_err(|_| corrupt(format_args!("unknown event status {word:?}")))
}

/// A ticket as `ticket_reply` (`lua/lib/tickets.lua`) gives it.
pub(super) fn ticket(value: Value, identity: &Identity) -> Result<Ticket, StoreError> {
    let [
        id,
        status,
        position,
        score,
        joined,
        admitted_at,
        expires_at,
        used,
    ] = fixed(value)?;
    let status = match text(status)?.as_str() {
        "w" => TicketStatus::Waiting,
        "a" => TicketStatus::Admitted,
        "x" => TicketStatus::Expired,
        "l" => TicketStatus::Left,
        other => return Err(corrupt(format_args!("unknown ticket status {other:?}"))),
    };
    Ok(Ticket {
        ticket_id: ticket_id(id)?,
        identity: identity.clone(),
        status,
        position: optional(position, count)?,
        score: optional(score, count)?,
        joined_at: int(joined)?,
        admitted_at: optional(admitted_at, int)?,
        admission_expires_at: optional(expires_at, int)?,
        admission_used: int(used)? != 0,
    })
}

/// The reply of `drain.lua`.
/// One drain call's reply: its outcome, and what the store needs for the next call (see
/// `lua/drain.lua`).
pub(super) struct DrainStep {
    pub(super) outcome: DrainOutcome,
    /// The drain stopped before a shopper whose keys it was not given.
    pub(super) stopped: bool,
    /// The identities at the head of the queue after the call (empty when it did not look).
    pub(super) heads: Vec<String>,
    /// Instances whose heartbeats the drain needs.
    pub(super) holders: Vec<String>,
}

pub(super) fn drain(value: Value) -> Result<DrainStep, StoreError> {
    let [
        admitted,
        abandoned,
        serving,
        queue_length,
        status_word,
        active,
        admitted_total,
        last_score,
        stopped,
        heads,
        holders,
    ] = fixed(value)?;
    let texts = |value: Value| -> Result<Vec<String>, StoreError> {
        array(value)?.into_iter().map(text).collect()
    };
    let mut shoppers = Vec::new();
    let mut flat = array(admitted)?.into_iter();
    while let Some(identity) = flat.next() {
        let mut field = || flat.next().ok_or_else(|| corrupt("a short admitted entry"));
        let identity = Identity::try_from(text(identity)?).map_err(corrupt)?;
        shoppers.push(Admitted {
            identity,
            ticket_id: ticket_id(field()?)?,
            admitted_at: int(field()?)?,
            expires_at: int(field()?)?,
        });
    }
    Ok(DrainStep {
        outcome: DrainOutcome {
            admitted: shoppers,
            abandoned: count(abandoned)?,
            serving: count(serving)?,
            queue_length: count(queue_length)?,
            status: Some(status(status_word)?),
            active: count(active)?,
            admitted_total: count(admitted_total)?,
            last_score: count(last_score)?,
        },
        stopped: int(stopped)? != 0,
        heads: texts(heads)?,
        holders: texts(holders)?,
    })
}

fn units_by_sku(value: Value) -> Result<BTreeMap<Sku, u64>, StoreError> {
    let mut map = BTreeMap::new();
    let mut flat = array(value)?.into_iter();
    while let (Some(sku), Some(units)) = (flat.next(), flat.next()) {
        let sku = Sku::parse(&text(sku)?).map_err(corrupt)?;
        map.insert(sku, count(units)?);
    }
    Ok(map)
}

/// The reply of `stats.lua`.
pub(super) fn stats(value: Value) -> Result<EventStats, StoreError> {
    let [
        queue_length,
        serving,
        last_score,
        drawn,
        joined,
        admitted,
        active,
        left,
        abandoned,
        admissions_expired,
        orders_reserved,
        orders_paid,
        orders_expired,
        stock_left,
        sold,
        reserved,
    ] = fixed(value)?;
    Ok(EventStats {
        queue_length: count(queue_length)?,
        serving: count(serving)?,
        last_score: count(last_score)?,
        drawn: int(drawn)? != 0,
        joined: count(joined)?,
        admitted: count(admitted)?,
        active: count(active)?,
        left: count(left)?,
        abandoned: count(abandoned)?,
        admissions_expired: count(admissions_expired)?,
        orders_reserved: count(orders_reserved)?,
        orders_paid: count(orders_paid)?,
        orders_expired: count(orders_expired)?,
        stock_left: units_by_sku(stock_left)?,
        sold: units_by_sku(sold)?,
        reserved: units_by_sku(reserved)?,
    })
}

/// The reply of `followed.lua` for an event that exists: `{}` or `{ rate or '', changed_at }`.
pub(super) fn followed(value: Value) -> Result<Option<FollowedOutflow>, StoreError> {
    let mut parts = array(value)?;
    if parts.is_empty() {
        return Ok(None);
    }
    let changed_at = int(nth(&mut parts, 1)?)?;
    let rate = text(nth(&mut parts, 0)?)?;
    let milli_per_second = match rate.as_str() {
        "" => None,
        digits => Some(
            digits
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("followed outflow rate {digits:?}")))?,
        ),
    };
    Ok(Some(FollowedOutflow {
        milli_per_second,
        changed_at,
    }))
}

/// An order as the scripts store it (short names: orders are JSON, written by `reserve.lua`).
#[derive(Deserialize)]
struct StoredOrder {
    o: String,
    i: Identity,
    t: String,
    s: OrderStatus,
    it: String,
    ru: UnixMillis,
    c: UnixMillis,
    #[serde(default)]
    k: Option<String>,
}

/// An order from its stored JSON.
pub(super) fn order(raw: &[u8], event: &EventId) -> Result<Order, StoreError> {
    let stored: StoredOrder = serde_json::from_slice(raw).map_err(corrupt)?;
    let items = stored
        .it
        .split(',')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (sku, quantity) = line
                .split_once(':')
                .ok_or_else(|| corrupt(format_args!("an order line {line:?}")))?;
            Ok(OrderItem {
                sku: Sku::parse(sku).map_err(corrupt)?,
                quantity: quantity.parse().map_err(corrupt)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Order {
        order_id: OrderId::parse(&stored.o).map_err(corrupt)?,
        event: event.clone(),
        identity: stored.i,
        ticket_id: TicketId::parse(&stored.t).map_err(corrupt)?,
        status: stored.s,
        items,
        reserved_until: stored.ru,
        idempotency_key: stored.k,
        created_at: stored.c,
    })
}

/// Whether a script answered that the event's draw awaits its places (see `lua/lib/status.lua`'s
/// `draw_state`): it changed nothing and is to be run again once the draw is finished.
pub(super) fn is_draw_pending(value: &Value) -> bool {
    matches!(value, Value::BulkString(bytes) if bytes == b"draw_pending")
}
