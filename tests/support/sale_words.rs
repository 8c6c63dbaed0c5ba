//! The words store tests set up a sale with: the manual clock's start, numbered shoppers, SKUs,
//! order lines and a standard sale (the store suite's, which the differential test of the two
//! stores builds its random sales on too).

use std::collections::BTreeMap;

use waitroom::clock::UnixMillis;
use waitroom::domain::{EventConfig, EventId, Identity, Mode, OperatorStatus, OrderItem, Sku};
use waitroom::queue::new_seed;

/// When the manual clock of a store test starts: 2026-09-21T14:13:20Z.
pub const T0: UnixMillis = 1_790_000_000_000;

/// When a [`sale`] starts: a minute after [`T0`].
pub const START: UnixMillis = T0 + 60_000;

/// The `n`th shopper, a signed-in user.
pub fn shopper(n: usize) -> Identity {
    Identity::user(&format!("shopper-{n}")).expect("a valid user id")
}

/// A SKU by name.
pub fn sku(name: &str) -> Sku {
    Sku::parse(name).expect("a valid SKU")
}

/// One line of an order.
pub fn item(name: &str, quantity: u64) -> OrderItem {
    OrderItem {
        sku: sku(name),
        quantity,
    }
}

/// A sale starting at [`START`], pre-queue open from creation: one shopper a second, a burst of
/// two, no cap, admissions for two minutes, reservations for five, ten `TEE` and five `CAP`, a
/// generous ten minutes before an unseen shopper is dropped.
pub fn sale(id: &str) -> EventConfig {
    let (seed, seed_hash) = new_seed();
    EventConfig {
        id: EventId::parse(id).expect("a valid event id"),
        name: format!("Sale {id}"),
        starts_at: START,
        prequeue_opens_at: None,
        outflow_milli_per_second: 1_000,
        outflow_burst: 2,
        max_active: None,
        cap_follows_stock: false,
        admission_ttl_seconds: 120,
        reservation_ttl_seconds: 300,
        allow_anonymous: false,
        inventory: BTreeMap::from([(sku("TEE"), 10), (sku("CAP"), 5)]),
        mode: Mode::Queue,
        abandon_after_seconds: 600,
        max_units_per_order: Default::default(),
        max_units_per_shopper: Default::default(),
        operator_status: OperatorStatus::Auto,
        seed_hash,
        seed,
        created_at: T0,
        defences: Default::default(),
        page: None,
        checkout_target: None,
        arrival_windows: Default::default(),
        retention: Default::default(),
    }
}
