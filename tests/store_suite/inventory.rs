//! Inventory: reserving with an admission (all or nothing, once), paying, reservations that
//! run out, and stock changed by the operator.

use std::collections::BTreeMap;

use waitroom::domain::{
    EventConfig, OrderId, OrderItem, OrderStatus, PayOutcome, ReserveOutcome, ReserveRequest,
    Ticket, TicketId, TicketStatus,
};

use crate::harness::{Harness, T0, item, open_sale, shopper, sku};

fn units(pairs: &[(&str, u64)]) -> BTreeMap<waitroom::domain::Sku, u64> {
    pairs.iter().map(|(name, n)| (sku(name), *n)).collect()
}

pub async fn reserving_takes_the_stock_and_consumes_the_admission(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;
    h.advance_secs(2);

    let outcome = h
        .reserve(
            &event,
            &ticket,
            vec![item("TEE", 2), item("CAP", 1)],
            Some("k-1"),
        )
        .await;

    let ReserveOutcome::Reserved(order) = outcome else {
        panic!("reserved: {outcome:?}");
    };
    assert_eq!(order.status, OrderStatus::Reserved);
    assert_eq!(order.identity, shopper(1));
    assert_eq!(order.ticket_id, ticket.ticket_id);
    assert_eq!(order.event, event);
    assert_eq!(order.items, [item("TEE", 2), item("CAP", 1)]);
    assert_eq!(order.created_at, T0 + 2_000);
    assert_eq!(order.reserved_until, T0 + 2_000 + 300_000);
    assert_eq!(order.idempotency_key.as_deref(), Some("k-1"));
    let stats = h.stats(&event).await;
    assert_eq!(stats.stock_left, units(&[("TEE", 8), ("CAP", 4)]));
    assert_eq!(stats.reserved, units(&[("TEE", 2), ("CAP", 1)]));
    assert_eq!(stats.sold, units(&[("TEE", 0), ("CAP", 0)]));
    assert_eq!(stats.orders_reserved, 1);
    let after = h.ticket(&event, &shopper(1)).await;
    assert_eq!(after.status, TicketStatus::Admitted);
    assert!(after.admission_used);
}

pub async fn a_reservation_is_all_or_nothing(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;

    let too_many = h
        .reserve(&event, &ticket, vec![item("TEE", 2), item("CAP", 6)], None)
        .await;
    let fewer = h
        .reserve(&event, &ticket, vec![item("TEE", 2), item("CAP", 5)], None)
        .await;

    assert_eq!(too_many, ReserveOutcome::SoldOut(sku("CAP")));
    assert!(matches!(fewer, ReserveOutcome::Reserved(_)), "{fewer:?}");
    let stats = h.stats(&event).await;
    assert_eq!(stats.stock_left, units(&[("TEE", 8), ("CAP", 0)]));
    assert_eq!(stats.orders_reserved, 1);
}

pub async fn an_unknown_sku_is_refused_and_nothing_changes(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;

    let outcome = h
        .reserve(&event, &ticket, vec![item("TEE", 1), item("MUG", 1)], None)
        .await;

    assert_eq!(outcome, ReserveOutcome::UnknownSku(sku("MUG")));
    assert_eq!(
        h.stats(&event).await.stock_left,
        units(&[("TEE", 10), ("CAP", 5)])
    );
    assert!(!h.ticket(&event, &shopper(1)).await.admission_used);
}

pub async fn an_unknown_sku_is_named_before_a_sold_out_one(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;

    let outcome = h
        .reserve(&event, &ticket, vec![item("TEE", 99), item("MUG", 1)], None)
        .await;

    assert_eq!(outcome, ReserveOutcome::UnknownSku(sku("MUG")));
}

pub async fn a_retry_with_the_same_idempotency_key_gets_the_same_order(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;
    let first = h
        .reserve(&event, &ticket, vec![item("TEE", 1)], Some("retry-me"))
        .await;
    h.advance_secs(1);

    let retry = h
        .reserve(&event, &ticket, vec![item("TEE", 1)], Some("retry-me"))
        .await;

    let ReserveOutcome::Reserved(order) = first else {
        panic!("reserved: {first:?}");
    };
    assert_eq!(retry, ReserveOutcome::Replayed(order));
    let stats = h.stats(&event).await;
    assert_eq!(stats.stock_left[&sku("TEE")], 9, "taken once");
    assert_eq!(stats.orders_reserved, 1);
}

pub async fn a_second_reservation_with_one_admission_is_refused(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;
    h.reserve(&event, &ticket, vec![item("TEE", 1)], Some("first"))
        .await;

    let other_key = h
        .reserve(&event, &ticket, vec![item("TEE", 1)], Some("second"))
        .await;

    assert_eq!(other_key, ReserveOutcome::AdmissionUsed);
    assert_eq!(h.stats(&event).await.stock_left[&sku("TEE")], 9);
}

pub async fn reserving_without_a_valid_admission_is_refused(h: &Harness) {
    let event = h
        .create(EventConfig {
            outflow_burst: 1,
            ..open_sale("spring")
        })
        .await;
    let admitted = h.admit(&event, &shopper(1)).await;
    let waiting = h.join(&event, &shopper(2)).await;
    let never_joined = Ticket {
        identity: shopper(3),
        ticket_id: TicketId::random(),
        ..waiting.clone()
    };
    let someone_elses = Ticket {
        identity: shopper(2),
        ..admitted.clone()
    };
    let wrong_ticket = Ticket {
        ticket_id: TicketId::random(),
        ..admitted.clone()
    };

    for ticket in [waiting, never_joined, someone_elses, wrong_ticket] {
        let outcome = h.reserve(&event, &ticket, vec![item("TEE", 1)], None).await;
        assert_eq!(outcome, ReserveOutcome::NotAdmitted, "{ticket:?}");
    }
    assert_eq!(h.stats(&event).await.stock_left[&sku("TEE")], 10);
    assert!(!h.ticket(&event, &shopper(1)).await.admission_used);
}

pub async fn an_expired_admission_cannot_reserve(h: &Harness) {
    let event = h
        .create(EventConfig {
            admission_ttl_seconds: 30,
            ..open_sale("spring")
        })
        .await;
    let ticket = h.admit(&event, &shopper(1)).await;
    h.advance_secs(30);

    let outcome = h.reserve(&event, &ticket, vec![item("TEE", 1)], None).await;

    assert_eq!(outcome, ReserveOutcome::NotAdmitted);
    assert_eq!(h.stats(&event).await.admissions_expired, 1);
}

pub async fn a_given_up_admission_cannot_reserve(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;
    h.store
        .leave(&event, &shopper(1), ticket.ticket_id)
        .await
        .unwrap();

    let outcome = h.reserve(&event, &ticket, vec![item("TEE", 1)], None).await;

    assert_eq!(outcome, ReserveOutcome::NotAdmitted);
}

pub async fn paying_sells_the_reserved_units(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;
    let order_id = h
        .reserve_ok(&event, &ticket, vec![item("TEE", 3), item("CAP", 1)])
        .await;

    let paid = h.store.pay(&event, &shopper(1), order_id).await.unwrap();

    let PayOutcome::Paid(order) = paid else {
        panic!("paid: {paid:?}");
    };
    assert_eq!(
        (order.order_id, order.status),
        (order_id, OrderStatus::Paid)
    );
    let stats = h.stats(&event).await;
    assert_eq!(stats.sold, units(&[("TEE", 3), ("CAP", 1)]));
    assert_eq!(stats.reserved, units(&[("TEE", 0), ("CAP", 0)]));
    assert_eq!(stats.stock_left, units(&[("TEE", 7), ("CAP", 4)]));
    assert_eq!((stats.orders_paid, stats.active), (1, 0));
}

pub async fn paying_twice_answers_already_paid(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;
    let order_id = h.reserve_ok(&event, &ticket, vec![item("TEE", 1)]).await;
    let first = h.store.pay(&event, &shopper(1), order_id).await.unwrap();

    let second = h.store.pay(&event, &shopper(1), order_id).await.unwrap();

    let PayOutcome::Paid(order) = first else {
        panic!("paid: {first:?}");
    };
    assert_eq!(second, PayOutcome::AlreadyPaid(order));
    let stats = h.stats(&event).await;
    assert_eq!((stats.orders_paid, stats.sold[&sku("TEE")]), (1, 1));
}

pub async fn a_reservation_not_paid_in_time_returns_its_stock(h: &Harness) {
    let event = h
        .create(EventConfig {
            reservation_ttl_seconds: 60,
            ..open_sale("spring")
        })
        .await;
    let ticket = h.admit(&event, &shopper(1)).await;
    let order_id = h.reserve_ok(&event, &ticket, vec![item("TEE", 4)]).await;
    h.advance_ms(59_999);
    assert_eq!(h.stats(&event).await.stock_left[&sku("TEE")], 6);

    h.advance_ms(1);
    let stats = h.stats(&event).await;
    let paid = h.store.pay(&event, &shopper(1), order_id).await.unwrap();

    assert_eq!(stats.stock_left[&sku("TEE")], 10);
    assert_eq!(stats.reserved[&sku("TEE")], 0);
    assert_eq!((stats.orders_expired, stats.active), (1, 0));
    let PayOutcome::Expired(order) = paid else {
        panic!("expired: {paid:?}");
    };
    assert_eq!(order.status, OrderStatus::Expired);
    let stored = h.store.order(&event, order_id).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Expired);
    assert_eq!(
        h.stats(&event).await.stock_left[&sku("TEE")],
        10,
        "returned once"
    );
}

pub async fn paying_another_shoppers_order_is_not_found(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;
    let order_id = h.reserve_ok(&event, &ticket, vec![item("TEE", 1)]).await;

    let by_another = h.store.pay(&event, &shopper(2), order_id).await.unwrap();
    let unknown = h
        .store
        .pay(&event, &shopper(1), OrderId::random())
        .await
        .unwrap();

    assert_eq!(by_another, PayOutcome::NotFound);
    assert_eq!(unknown, PayOutcome::NotFound);
    let stored = h.store.order(&event, order_id).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Reserved);
}

pub async fn an_order_is_read_by_its_id(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;
    let request = ReserveRequest {
        identity: shopper(1),
        ticket_id: ticket.ticket_id,
        order_id: OrderId::random(),
        idempotency_key: Some("read-me".into()),
        items: vec![OrderItem {
            sku: sku("CAP"),
            quantity: 2,
        }],
    };
    let ReserveOutcome::Reserved(order) = h.store.reserve(&event, &request).await.unwrap() else {
        panic!("reserved");
    };

    let stored = h.store.order(&event, request.order_id).await.unwrap();
    let unknown = h.store.order(&event, OrderId::random()).await.unwrap();

    assert_eq!(stored, Some(order));
    assert_eq!(unknown, None);
}

pub async fn inventory_updates_move_the_stock_left_by_the_change(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let ticket = h.admit(&event, &shopper(1)).await;
    h.reserve_ok(&event, &ticket, vec![item("TEE", 3)]).await;

    h.change(&event, |c| c.inventory = units(&[("TEE", 12), ("CAP", 5)]))
        .await;
    let raised = h.stats(&event).await.stock_left;
    h.change(&event, |c| {
        c.inventory = units(&[("TEE", 2), ("CAP", 5), ("MUG", 4)])
    })
    .await;
    let cut_and_added = h.stats(&event).await.stock_left;

    assert_eq!(raised, units(&[("TEE", 9), ("CAP", 5)]));
    assert_eq!(
        cut_and_added,
        units(&[("TEE", 0), ("CAP", 5), ("MUG", 4)]),
        "never below zero; a new SKU brings its whole total"
    );
    assert_eq!(h.stats(&event).await.reserved[&sku("TEE")], 3);
}

pub async fn a_replay_is_answered_even_after_the_admission_ran_out(h: &Harness) {
    let event = h
        .create(EventConfig {
            admission_ttl_seconds: 30,
            ..open_sale("spring")
        })
        .await;
    let ticket = h.admit(&event, &shopper(1)).await;
    let first = h
        .reserve(&event, &ticket, vec![item("CAP", 1)], Some("slow-network"))
        .await;
    h.advance_secs(31);

    let retry = h
        .reserve(&event, &ticket, vec![item("CAP", 1)], Some("slow-network"))
        .await;

    let ReserveOutcome::Reserved(order) = first else {
        panic!("reserved: {first:?}");
    };
    assert_eq!(retry, ReserveOutcome::Replayed(order));
    assert_eq!(h.stats(&event).await.admissions_expired, 0, "it was used");
}
