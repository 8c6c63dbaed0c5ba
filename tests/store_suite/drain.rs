//! The outflow: the leaky bucket, the caps, expiries freeing places, and abandoned places.

use std::collections::BTreeMap;

use waitroom::domain::{EventConfig, OperatorStatus, TicketStatus};
use waitroom::queue::MOST_DROPPED_PER_DRAIN;

use crate::harness::{Harness, START, T0, item, open_sale, sale, shopper, sku};

pub async fn nothing_is_admitted_before_the_start(h: &Harness) {
    let event = h.create(sale("spring")).await;
    h.join_all(&event, 1..=3).await;
    h.set_time(START - 1);

    let drained = h.drain(&event).await;

    assert!(drained.admitted.is_empty());
    assert_eq!((drained.serving, drained.queue_length), (0, 3));
}

pub async fn the_first_drain_after_the_start_admits_a_burst(h: &Harness) {
    let event = h
        .create(EventConfig {
            outflow_burst: 4,
            ..sale("spring")
        })
        .await;
    h.join_all(&event, 1..=10).await;
    h.set_time(START + 30_000);

    let drained = h.drain(&event).await;

    assert_eq!(
        drained.admitted.len(),
        4,
        "the burst, not 30 seconds of outflow"
    );
    assert_eq!(drained.serving, 4);
    assert_eq!(drained.queue_length, 6);
    assert_eq!(drained.last_score, 10, "the last score handed out");
    assert_eq!(drained.last_score, h.stats(&event).await.last_score);
    assert!(
        drained
            .admitted
            .iter()
            .all(|a| a.admitted_at == START + 30_000)
    );
}

pub async fn the_outflow_follows_the_rate_after_the_burst(h: &Harness) {
    let event = h
        .create(EventConfig {
            outflow_milli_per_second: 2_500,
            ..open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=20).await;
    assert_eq!(h.drain(&event).await.admitted.len(), 2, "the burst");

    let mut admitted = Vec::new();
    for _ in 0..5 {
        h.advance_ms(200);
        admitted.push(h.drain(&event).await.admitted.len());
    }

    // 2.5 a second: 0.5, 1.0, 1.5, 2.0, 2.5 shoppers of credit over the five steps.
    assert_eq!(admitted, [0, 1, 0, 1, 0]);
    h.advance_ms(200);
    assert_eq!(h.drain(&event).await.admitted.len(), 1, "3.0 by now");
}

pub async fn a_long_idle_spell_earns_at_most_the_burst(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    h.drain(&event).await;
    h.advance_secs(3_600);
    h.join_all(&event, 1..=10).await;

    let drained = h.drain(&event).await;

    assert_eq!(drained.admitted.len(), 2);
}

pub async fn many_drains_at_once_admit_what_one_would(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    h.join_all(&event, 1..=10).await;

    let mut total = 0;
    for _ in 0..10 {
        total += h.drain(&event).await.admitted.len();
    }
    h.advance_secs(1);
    for _ in 0..10 {
        total += h.drain(&event).await.admitted.len();
    }

    assert_eq!(total, 3, "a burst of two, then one a second");
    assert_eq!(h.stats(&event).await.admitted, 3);
}

pub async fn the_drain_admits_from_the_head_in_queue_order(h: &Harness) {
    let event = h
        .create(EventConfig {
            outflow_burst: 5,
            ..open_sale("spring")
        })
        .await;
    let tickets = h.join_all(&event, 1..=7).await;

    let drained = h.drain(&event).await;

    let admitted: Vec<_> = drained.admitted.iter().map(|a| a.ticket_id).collect();
    let heads: Vec<_> = tickets[..5].iter().map(|t| t.ticket_id).collect();
    assert_eq!(admitted, heads);
    for (a, n) in drained.admitted.iter().zip(1..) {
        assert_eq!(a.identity, shopper(n));
        assert_eq!(a.expires_at, a.admitted_at + 120_000);
    }
    assert_eq!(h.ticket(&event, &shopper(6)).await.position, Some(1));
}

pub async fn max_active_caps_the_admitted_shoppers(h: &Harness) {
    let event = h
        .create(EventConfig {
            outflow_burst: 5,
            max_active: Some(2),
            ..open_sale("spring")
        })
        .await;
    let tickets = h.join_all(&event, 1..=5).await;

    let first = h.drain(&event).await;
    h.advance_secs(10);
    let while_full = h.drain(&event).await;
    h.store
        .leave(&event, &shopper(1), tickets[0].ticket_id)
        .await
        .unwrap();
    let after_a_leave = h.drain(&event).await;

    assert_eq!((first.admitted.len(), first.active), (2, 2));
    assert!(while_full.admitted.is_empty());
    assert_eq!(after_a_leave.admitted.len(), 1);
    assert_eq!(after_a_leave.admitted[0].identity, shopper(3));
    assert_eq!(after_a_leave.active, 2);
}

pub async fn an_expired_admission_frees_its_place_under_the_cap(h: &Harness) {
    let event = h
        .create(EventConfig {
            max_active: Some(1),
            admission_ttl_seconds: 30,
            ..open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=2).await;
    assert_eq!(h.drain_identities(&event).await, [shopper(1)]);
    h.advance_ms(29_999);
    assert!(h.drain(&event).await.admitted.is_empty());

    h.advance_ms(1);
    let drained = h.drain(&event).await;

    assert_eq!(drained.admitted.len(), 1);
    assert_eq!(drained.admitted[0].identity, shopper(2));
    assert_eq!(
        h.ticket(&event, &shopper(1)).await.status,
        TicketStatus::Expired
    );
    let stats = h.stats(&event).await;
    assert_eq!((stats.admissions_expired, stats.active), (1, 1));
}

pub async fn a_reservation_holds_its_place_until_paid(h: &Harness) {
    let event = h
        .create(EventConfig {
            max_active: Some(1),
            ..open_sale("spring")
        })
        .await;
    let buyer = h.admit(&event, &shopper(1)).await;
    h.join(&event, &shopper(2)).await;
    let order = h.reserve_ok(&event, &buyer, vec![item("TEE", 1)]).await;
    h.advance_secs(5);
    assert!(
        h.drain(&event).await.admitted.is_empty(),
        "the order holds it"
    );

    h.store.pay(&event, &shopper(1), order).await.unwrap();
    let drained = h.drain(&event).await;

    assert_eq!(drained.admitted.len(), 1);
    assert_eq!(drained.active, 1);
}

pub async fn a_reservation_holds_its_place_until_it_runs_out(h: &Harness) {
    let event = h
        .create(EventConfig {
            max_active: Some(1),
            admission_ttl_seconds: 60,
            reservation_ttl_seconds: 60,
            ..open_sale("spring")
        })
        .await;
    let buyer = h.admit(&event, &shopper(1)).await;
    h.join(&event, &shopper(2)).await;
    h.advance_secs(30);
    h.reserve_ok(&event, &buyer, vec![item("TEE", 1)]).await;
    h.advance_secs(59);
    assert!(h.drain(&event).await.admitted.is_empty());

    h.advance_secs(1);
    let drained = h.drain(&event).await;

    assert_eq!(drained.admitted.len(), 1);
    let stats = h.stats(&event).await;
    assert_eq!((stats.orders_expired, stats.active), (1, 1));
}

pub async fn cap_follows_stock_admits_no_more_than_the_units_left(h: &Harness) {
    let event = h
        .create(EventConfig {
            outflow_burst: 10,
            cap_follows_stock: true,
            admission_ttl_seconds: 30,
            inventory: BTreeMap::from([(sku("TEE"), 2), (sku("CAP"), 1)]),
            ..open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=6).await;

    let first = h.drain(&event).await;
    h.advance_secs(30);
    let after_expiry = h.drain(&event).await;

    assert_eq!(first.admitted.len(), 3, "three units left");
    assert_eq!(
        after_expiry.admitted.len(),
        3,
        "the three admissions ran out"
    );
}

pub async fn cap_follows_stock_counts_units_reserved_as_gone(h: &Harness) {
    let event = h
        .create(EventConfig {
            outflow_burst: 10,
            cap_follows_stock: true,
            inventory: BTreeMap::from([(sku("TEE"), 4)]),
            ..open_sale("spring")
        })
        .await;
    let buyer = h.admit(&event, &shopper(1)).await;
    h.reserve_ok(&event, &buyer, vec![item("TEE", 3)]).await;
    h.join_all(&event, 2..=5).await;

    let drained = h.drain(&event).await;

    assert_eq!(drained.admitted.len(), 1, "one unit left");
    assert_eq!(drained.active, 2, "the reservation and the new admission");
}

pub async fn a_shopper_not_seen_for_the_grace_period_is_abandoned(h: &Harness) {
    let event = h
        .create(EventConfig {
            abandon_after_seconds: 60,
            operator_status: OperatorStatus::Paused,
            ..open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=3).await;
    h.run_secs(&event, 59).await;
    h.store.touch(&event, &[shopper(3)]).await.unwrap();
    h.run_secs(&event, 1).await;
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let drained = h.drain(&event).await;

    assert_eq!(drained.abandoned, 2);
    let admitted: Vec<_> = drained.admitted.iter().map(|a| &a.identity).collect();
    assert_eq!(admitted, [&shopper(3)]);
    assert_eq!(
        h.ticket(&event, &shopper(1)).await.status,
        TicketStatus::Expired
    );
    assert_eq!(
        h.ticket(&event, &shopper(2)).await.status,
        TicketStatus::Expired
    );
    let stats = h.stats(&event).await;
    assert_eq!(
        (stats.abandoned, stats.admitted, stats.queue_length),
        (2, 1, 0)
    );
}

pub async fn touching_keeps_a_waiting_shopper_in_place(h: &Harness) {
    let event = h
        .create(EventConfig {
            abandon_after_seconds: 60,
            operator_status: OperatorStatus::Paused,
            ..open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=2).await;
    for _ in 0..5 {
        h.advance_secs(50);
        h.store
            .touch(&event, &[shopper(1), shopper(2)])
            .await
            .unwrap();
    }
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let drained = h.drain(&event).await;

    assert_eq!((drained.admitted.len(), drained.abandoned), (2, 0));
}

pub async fn reading_the_ticket_with_touch_keeps_a_shopper_in_place(h: &Harness) {
    let event = h
        .create(EventConfig {
            abandon_after_seconds: 60,
            operator_status: OperatorStatus::Paused,
            ..open_sale("spring")
        })
        .await;
    h.join(&event, &shopper(1)).await;
    h.advance_secs(45);
    h.store.ticket(&event, &shopper(1), true).await.unwrap();
    h.advance_secs(45);
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let drained = h.drain(&event).await;

    assert_eq!((drained.admitted.len(), drained.abandoned), (1, 0));
}

pub async fn reading_the_ticket_without_touch_is_not_being_seen(h: &Harness) {
    let event = h
        .create(EventConfig {
            abandon_after_seconds: 60,
            operator_status: OperatorStatus::Paused,
            ..open_sale("spring")
        })
        .await;
    h.join(&event, &shopper(1)).await;
    h.run_secs(&event, 45).await;
    h.store.ticket(&event, &shopper(1), false).await.unwrap();
    h.run_secs(&event, 45).await;
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let drained = h.drain(&event).await;

    assert_eq!((drained.admitted.len(), drained.abandoned), (0, 1));
}

pub async fn abandoned_shoppers_are_not_charged_to_the_bucket(h: &Harness) {
    let event = h
        .create(EventConfig {
            outflow_burst: 1,
            abandon_after_seconds: 60,
            operator_status: OperatorStatus::Paused,
            ..open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=3).await;
    h.run_secs(&event, 60).await;
    h.store.touch(&event, &[shopper(3)]).await.unwrap();
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let drained = h.drain(&event).await;

    assert_eq!(drained.abandoned, 2);
    assert_eq!(
        drained.admitted.len(),
        1,
        "a burst of one, spent on shopper 3"
    );
    assert_eq!(drained.serving, 3);
}

pub async fn the_drain_reports_the_queue_and_the_active_count(h: &Harness) {
    let event = h
        .create(EventConfig {
            outflow_burst: 3,
            ..open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=8).await;

    let drained = h.drain(&event).await;

    assert_eq!(drained.queue_length, 5);
    assert_eq!(drained.active, 3);
    assert_eq!(drained.serving, 3);
    assert_eq!(drained.abandoned, 0);
    assert!(drained.admitted.iter().all(|a| a.admitted_at == T0));
    let stats = h.stats(&event).await;
    assert_eq!(
        (stats.queue_length, stats.active, stats.admitted),
        (5, 3, 3)
    );
}

pub async fn abandonment_can_be_turned_off(h: &Harness) {
    let event = h
        .create(EventConfig {
            abandon_after_seconds: 0,
            operator_status: OperatorStatus::Paused,
            ..open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=2).await;
    h.advance_secs(86_400);
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let drained = h.drain(&event).await;

    assert_eq!((drained.admitted.len(), drained.abandoned), (2, 0));
}

pub async fn ten_a_second_with_a_burst_of_one_admits_ten_a_second_at_ticks_of_150_ms(h: &Harness) {
    let event = h
        .create(EventConfig {
            outflow_milli_per_second: 10_000,
            outflow_burst: 1,
            ..open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=200).await;
    let mut admitted = h.drain(&event).await.admitted.len();

    for _ in 0..100 {
        h.advance_ms(150);
        admitted += h.drain(&event).await.admitted.len();
    }

    // The burst, then 15 s at 10 a second: every tick's credit, the half shoppers included.
    assert_eq!(admitted, 1 + 150);
}

pub async fn one_drain_drops_a_bounded_number_of_departed_shoppers(h: &Harness) {
    let event = h
        .create(EventConfig {
            abandon_after_seconds: 60,
            outflow_burst: 5,
            ..open_sale("spring")
        })
        .await;
    let crowd = usize::try_from(MOST_DROPPED_PER_DRAIN).unwrap() + 2;
    h.join_all(&event, 1..=crowd).await;
    h.run_secs(&event, 61).await;
    h.join_all(&event, crowd + 1..=crowd + 3).await;

    let first = h.drain(&event).await;
    let second = h.drain(&event).await;

    assert_eq!(
        (first.abandoned, first.admitted.len()),
        (MOST_DROPPED_PER_DRAIN, 0)
    );
    assert_eq!(first.queue_length, 5);
    let admitted: Vec<_> = second.admitted.iter().map(|a| a.identity.clone()).collect();
    assert_eq!(second.abandoned, 2);
    assert_eq!(
        admitted,
        [shopper(crowd + 1), shopper(crowd + 2), shopper(crowd + 3)],
        "the credit the first drain could not spend is still there"
    );
}
