//! Events for tests that talk to a store directly.

use std::collections::BTreeMap;

use waitroom::clock::UnixMillis;
use waitroom::domain::{EventConfig, EventId, Mode, OperatorStatus, Sku};

/// An open-ended sale: `id` starts at `starts_at`, admits `per_second` shoppers a second with a
/// burst of `burst`, sells `units` of SKU `TSHIRT`, and never drops a waiting shopper.
pub fn sale(
    id: &str,
    starts_at: UnixMillis,
    per_second: u64,
    burst: u32,
    units: u64,
) -> EventConfig {
    EventConfig {
        id: EventId::parse(id).expect("a valid event id"),
        name: format!("Sale {id}"),
        starts_at,
        prequeue_opens_at: None,
        outflow_milli_per_second: per_second * 1_000,
        outflow_burst: burst,
        max_active: None,
        cap_follows_stock: false,
        admission_ttl_seconds: 600,
        reservation_ttl_seconds: 600,
        allow_anonymous: true,
        inventory: BTreeMap::from([(tshirt(), units)]),
        mode: Mode::Queue,
        abandon_after_seconds: 0,
        max_units_per_order: Default::default(),
        max_units_per_shopper: Default::default(),
        operator_status: OperatorStatus::Auto,
        seed_hash: String::new(),
        seed: "5eed".into(),
        created_at: starts_at - 3_600_000,
        defences: Default::default(),
        page: None,
        checkout_target: None,
        arrival_windows: Default::default(),
        retention: Default::default(),
    }
}

/// The SKU every test sale sells.
pub fn tshirt() -> Sku {
    Sku::parse("TSHIRT").expect("a valid SKU")
}
