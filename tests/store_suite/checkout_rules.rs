//! The rules a reservation obeys besides stock: a closed event, a retry without a key, and the
//! purchase limits per order and per shopper.

use waitroom::domain::{
    EventChange, EventConfig, OperatorStatus, OrderStatus, PayOutcome, PurchaseLimit,
    ReserveOutcome, UnitLimit,
};

use crate::harness::{Harness, item, open_sale, shopper};

/// A sale that admits anyone at once.
fn wide_open_sale(id: &str) -> EventConfig {
    EventConfig {
        outflow_milli_per_second: 1_000_000,
        outflow_burst: 1_000_000,
        ..open_sale(id)
    }
}

pub async fn a_closed_event_reserves_nothing_but_earlier_reservations_may_pay(h: &Harness) {
    let event = h.create(wide_open_sale("spring")).await;
    let early = h.admit(&event, &shopper(1)).await;
    let late = h.admit(&event, &shopper(2)).await;
    let order = h.reserve_ok(&event, &early, vec![item("TEE", 1)]).await;

    h.set_operator_status(&event, OperatorStatus::Closed).await;
    let refused = h.reserve(&event, &late, vec![item("TEE", 1)], None).await;
    let paid = h.store.pay(&event, &early.identity, order).await.unwrap();

    assert_eq!(refused, ReserveOutcome::Closed);
    assert!(matches!(paid, PayOutcome::Paid(_)), "{paid:?}");
    let stats = h.stats(&event).await;
    assert_eq!(stats.orders_reserved, 1);
    assert_eq!(stats.sold[&crate::harness::sku("TEE")], 1);
}

pub async fn a_retry_without_a_key_gets_the_order_the_admission_made(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;
    let first = h
        .reserve(&event, &ticket, vec![item("TEE", 2)], Some("lost"))
        .await;
    let ReserveOutcome::Reserved(order) = first else {
        panic!("reserved: {first:?}");
    };
    h.store
        .pay(&event, &ticket.identity, order.order_id)
        .await
        .unwrap();

    let retry = h.reserve(&event, &ticket, vec![item("TEE", 2)], None).await;

    let ReserveOutcome::Existing(existing) = retry else {
        panic!("the order again: {retry:?}");
    };
    assert_eq!(existing.order_id, order.order_id);
    assert_eq!(existing.status, OrderStatus::Paid, "as it stands now");
    assert_eq!(h.stats(&event).await.orders_reserved, 1, "nothing new");
}

async fn with_limits(h: &Harness, per_order: UnitLimit, per_shopper: UnitLimit) -> EventConfig {
    let config = EventConfig {
        max_units_per_order: per_order,
        max_units_per_shopper: per_shopper,
        reservation_ttl_seconds: 60,
        admission_ttl_seconds: 3_600,
        ..wide_open_sale("spring")
    };
    h.create(config.clone()).await;
    config
}

pub async fn an_order_over_the_per_order_limit_reserves_nothing(h: &Harness) {
    let limit = UnitLimit {
        total: Some(3),
        per_sku: Some(2),
    };
    let config = with_limits(h, limit, UnitLimit::default()).await;
    let event = config.id;
    let ticket = h.admit(&event, &shopper(1)).await;

    let three_tees = h.reserve(&event, &ticket, vec![item("TEE", 3)], None).await;
    let four_in_all = h
        .reserve(&event, &ticket, vec![item("TEE", 2), item("CAP", 2)], None)
        .await;
    let within = h
        .reserve(&event, &ticket, vec![item("TEE", 2), item("CAP", 1)], None)
        .await;

    let over = ReserveOutcome::PurchaseLimit(PurchaseLimit::PerOrder);
    assert_eq!(three_tees, over);
    assert_eq!(four_in_all, over);
    assert!(matches!(within, ReserveOutcome::Reserved(_)), "{within:?}");
}

pub async fn the_per_shopper_limit_counts_paid_and_held_orders_until_they_run_out(h: &Harness) {
    let limit = UnitLimit {
        total: Some(3),
        per_sku: None,
    };
    let config = with_limits(h, UnitLimit::default(), limit).await;
    let event = config.id;
    let who = shopper(1);
    let first = h.admit(&event, &who).await;
    let paid = h.reserve_ok(&event, &first, vec![item("TEE", 1)]).await;
    h.store.pay(&event, &who, paid).await.unwrap();
    h.store.leave(&event, &who, first.ticket_id).await.unwrap();
    let second = h.admit(&event, &who).await;
    h.reserve_ok(&event, &second, vec![item("CAP", 1)]).await;
    h.store.leave(&event, &who, second.ticket_id).await.unwrap();
    let third = h.admit(&event, &who).await;

    let two_more = h.reserve(&event, &third, vec![item("TEE", 2)], None).await;
    h.advance_secs(61); // the unpaid CAP runs out
    let after_expiry = h.reserve(&event, &third, vec![item("TEE", 2)], None).await;
    let other = h.admit(&event, &shopper(2)).await;
    let someone_else = h.reserve(&event, &other, vec![item("TEE", 3)], None).await;

    assert_eq!(
        two_more,
        ReserveOutcome::PurchaseLimit(PurchaseLimit::PerShopper)
    );
    assert!(
        matches!(after_expiry, ReserveOutcome::Reserved(_)),
        "{after_expiry:?}"
    );
    assert!(
        matches!(someone_else, ReserveOutcome::Reserved(_)),
        "{someone_else:?}"
    );
}

pub async fn changes_made_from_the_same_read_both_stick(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let read = h.store.event(&event).await.unwrap().unwrap();
    let paused = EventConfig {
        operator_status: OperatorStatus::Paused,
        ..read.clone()
    };
    let faster = EventConfig {
        outflow_milli_per_second: 5_000,
        ..read.clone()
    };

    let pause = EventChange::between(&read, &paused).unwrap();
    let speed_up = EventChange::between(&read, &faster).unwrap();
    h.store.change_event(&event, &pause).await.unwrap();
    let answered = h.store.change_event(&event, &speed_up).await.unwrap();

    let stored = h.store.event(&event).await.unwrap().unwrap();
    assert_eq!(stored.operator_status, OperatorStatus::Paused);
    assert_eq!(stored.outflow_milli_per_second, 5_000);
    assert_eq!(answered, Some(stored));
}

pub async fn cap_follows_stock_keeps_the_purchase_limit_for_each_admitted_shopper(h: &Harness) {
    let event = h
        .create(EventConfig {
            cap_follows_stock: true,
            max_units_per_order: UnitLimit {
                total: Some(4),
                per_sku: None,
            },
            ..wide_open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=10).await;

    let admitted = h.drain(&event).await.admitted.len();

    assert_eq!(
        admitted, 3,
        "15 units serve three shoppers of four units each"
    );
}
