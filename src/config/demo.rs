//! The demo event the server creates at start when asked (the `demo` setting): a sale that
//! opens a minute later, so a first run shows the queue page at work.

use crate::clock::UnixMillis;
use crate::domain::{EventConfig, EventId, Mode, OperatorStatus, Sku};

/// The id of the event `demo = true` creates.
pub const DEMO_EVENT: &str = "demo-sale";

/// The demo event: starts a minute from `now`, some stock, anonymous visitors welcome.
pub fn demo_event(now: UnixMillis) -> Option<EventConfig> {
    let (seed, seed_hash) = crate::queue::new_seed();
    let inventory = [("TSHIRT-M", 60), ("TSHIRT-L", 40), ("HOODIE", 20)]
        .into_iter()
        .map(|(sku, units)| Sku::parse(sku).ok().map(|sku| (sku, units)))
        .collect::<Option<_>>()?;
    Some(EventConfig {
        id: EventId::parse(DEMO_EVENT).ok()?,
        name: "Demo sale".to_owned(),
        starts_at: now + 60_000,
        prequeue_opens_at: None,
        outflow_milli_per_second: 2_000,
        outflow_burst: 5,
        max_active: Some(50),
        cap_follows_stock: true,
        admission_ttl_seconds: 300,
        reservation_ttl_seconds: 600,
        allow_anonymous: true,
        inventory,
        mode: Mode::Queue,
        abandon_after_seconds: 60,
        max_units_per_order: Default::default(),
        max_units_per_shopper: Default::default(),
        operator_status: OperatorStatus::Auto,
        seed_hash,
        seed,
        created_at: now,
        defences: Default::default(),
        page: None,
        checkout_target: None,
        arrival_windows: Default::default(),
        retention: Default::default(),
    })
}
