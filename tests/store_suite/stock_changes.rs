//! Stock under the operator's changes: what is left is always the total less what is sold and
//! held, so no change of the inventory oversells. Scenarios, and a property over random
//! sequences of inventory changes, reservations, payments and expiries.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use waitroom::clock::Clock as _;
use waitroom::domain::{
    EventConfig, EventId, JoinOutcome, OrderId, ReserveOutcome, ReserveRequest, Sku, TicketId,
    TicketStatus,
};

use crate::harness::{Harness, item, open_sale, shopper, sku};

fn units(pairs: &[(&str, u64)]) -> BTreeMap<Sku, u64> {
    pairs.iter().map(|(name, n)| (sku(name), *n)).collect()
}

/// A sale that admits anyone at once, so every step can admit a new shopper.
fn wide_open_sale(id: &str) -> EventConfig {
    EventConfig {
        outflow_milli_per_second: 1_000_000,
        outflow_burst: 1_000_000,
        admission_ttl_seconds: 3_600,
        ..open_sale(id)
    }
}

pub async fn lowering_a_total_below_what_is_held_keeps_the_deficit(h: &Harness) {
    let event = h.create(wide_open_sale("spring")).await;
    let holder = h.admit(&event, &shopper(1)).await;
    h.reserve_ok(&event, &holder, vec![item("TEE", 8)]).await;

    h.change(&event, |c| c.inventory = units(&[("TEE", 5), ("CAP", 5)]))
        .await;
    let while_held = h.stats(&event).await.stock_left[&sku("TEE")];
    h.advance_secs(301);
    let after_expiry = h.stats(&event).await.stock_left[&sku("TEE")];
    let buyer = h.admit(&event, &shopper(2)).await;
    let six = h.reserve(&event, &buyer, vec![item("TEE", 6)], None).await;

    assert_eq!(while_held, 0);
    assert_eq!(
        after_expiry, 5,
        "the returned 8 units refill the deficit first"
    );
    assert_eq!(six, ReserveOutcome::SoldOut(sku("TEE")));
}

pub async fn a_sku_removed_and_offered_again_keeps_what_it_sold(h: &Harness) {
    let event = h.create(wide_open_sale("spring")).await;
    let buyer = h.admit(&event, &shopper(1)).await;
    let order = h.reserve_ok(&event, &buyer, vec![item("TEE", 3)]).await;
    h.store.pay(&event, &buyer.identity, order).await.unwrap();
    let holder = h.admit(&event, &shopper(2)).await;
    h.reserve_ok(&event, &holder, vec![item("TEE", 2)]).await;

    h.change(&event, |c| c.inventory = units(&[("CAP", 5)]))
        .await;
    h.change(&event, |c| c.inventory = units(&[("TEE", 10), ("CAP", 5)]))
        .await;

    let stats = h.stats(&event).await;
    assert_eq!(stats.stock_left[&sku("TEE")], 10 - 3 - 2);
    assert_eq!(stats.sold[&sku("TEE")], 3);
    assert_eq!(stats.reserved[&sku("TEE")], 2);
}

/// One thing that happens in a random run of inventory changes.
#[derive(Debug, Clone)]
enum Step {
    /// Sets a SKU's total; `None` stops offering it.
    SetTotal(usize, Option<u64>),
    /// A new shopper reserves units of one SKU.
    Reserve(usize, u64),
    /// Pays the `pick`th order made so far.
    Pay(usize),
    /// Moves time on, by seconds (reservations hold for 300).
    Advance(i64),
}

const SKUS: [&str; 2] = ["TEE", "CAP"];

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        2 => (0..2_usize, prop::option::weighted(0.8, 0..=8_u64))
            .prop_map(|(s, total)| Step::SetTotal(s, total)),
        4 => (0..2_usize, 1..=4_u64).prop_map(|(s, n)| Step::Reserve(s, n)),
        2 => (0..16_usize).prop_map(Step::Pay),
        1 => (0..=400_i64).prop_map(Step::Advance),
    ];
    prop::collection::vec(step, 1..30)
}

/// Checks, on `factory`'s store, that random inventory changes, reservations, payments and
/// expiries never oversell: every SKU's stock left is its total less sold and held (never below
/// zero), and a reservation that succeeds leaves sold plus held within the total.
pub fn inventory_changes_never_oversell<F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Harness>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let harness = runtime.block_on(factory());
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let runs = AtomicU64::new(0);
    let result = runner.run(&steps(), |steps| {
        let number = runs.fetch_add(1, Ordering::Relaxed);
        let event = EventId::parse(&format!("stock-{number}")).unwrap();
        runtime.block_on(play(&harness, event, steps))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

async fn play(h: &Harness, event: EventId, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let config = EventConfig {
        id: event.clone(),
        created_at: h.clock.now_ms(),
        starts_at: h.clock.now_ms(),
        inventory: units(&[("TEE", 6), ("CAP", 3)]),
        ..wide_open_sale("stock")
    };
    h.create(config).await;
    let mut orders: Vec<(waitroom::domain::Identity, OrderId)> = Vec::new();
    for (n, step) in steps.into_iter().enumerate() {
        let mut reserved: Option<Sku> = None;
        match step {
            Step::SetTotal(s, total) => {
                h.change(&event, |c| match total {
                    Some(total) => {
                        c.inventory.insert(sku(SKUS[s]), total);
                    }
                    None => {
                        c.inventory.remove(&sku(SKUS[s]));
                    }
                })
                .await;
            }
            Step::Reserve(s, quantity) => {
                let who = shopper(n);
                let joined = h
                    .store
                    .join(&event, &who, TicketId::random())
                    .await
                    .unwrap();
                if !matches!(joined, JoinOutcome::Joined { .. }) {
                    continue; // sold out or nothing offered: joins are refused
                }
                h.drain(&event).await;
                let ticket = h.ticket(&event, &who).await;
                if ticket.status != TicketStatus::Admitted {
                    continue;
                }
                let request = ReserveRequest {
                    identity: who.clone(),
                    ticket_id: ticket.ticket_id,
                    order_id: OrderId::random(),
                    idempotency_key: None,
                    items: vec![item(SKUS[s], quantity)],
                };
                if let ReserveOutcome::Reserved(order) =
                    h.store.reserve(&event, &request).await.unwrap()
                {
                    orders.push((who, order.order_id));
                    reserved = Some(sku(SKUS[s]));
                }
            }
            Step::Pay(pick) => {
                if let Some((who, order)) = orders.get(pick % orders.len().max(1)) {
                    h.store.pay(&event, who, *order).await.unwrap();
                }
            }
            Step::Advance(seconds) => h.advance_secs(seconds),
        }
        let config = h.store.event(&event).await.unwrap().unwrap();
        let stats = h.stats(&event).await;
        for (sku, &total) in &config.inventory {
            let sold = stats.sold.get(sku).copied().unwrap_or(0);
            let held = stats.reserved.get(sku).copied().unwrap_or(0);
            prop_assert_eq!(
                stats.stock_left.get(sku).copied(),
                Some(total.saturating_sub(sold + held)),
                "stock left of {} after step {}",
                sku,
                n
            );
            if reserved.as_ref() == Some(sku) {
                prop_assert!(
                    sold + held <= total,
                    "a reservation of {} took sold {} + held {} past the total {}",
                    sku,
                    sold,
                    held,
                    total
                );
            }
        }
        prop_assert_eq!(
            stats.stock_left.keys().collect::<Vec<_>>(),
            config.inventory.keys().collect::<Vec<_>>(),
            "stock is kept for the offered SKUs only"
        );
    }
    Ok(())
}
