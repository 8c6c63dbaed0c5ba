//! Events: creation, settings, and every status an event passes through, by time and by the
//! operator.

use std::collections::BTreeMap;

use waitroom::domain::{
    DrawOutcome, EventId, EventStatus, JoinOutcome, OperatorStatus, OrderId, PayOutcome,
    ReserveOutcome, ReserveRequest, TicketId,
};

use crate::harness::{Harness, START, T0, item, open_sale, sale, shopper, sku};
use waitroom::store::Removal;

pub async fn creating_an_event_stores_its_settings(h: &Harness) {
    let config = sale("spring");

    let created = h.store.create_event(&config).await.unwrap();

    assert!(created);
    assert_eq!(
        h.store.event(&config.id).await.unwrap(),
        Some(config.clone())
    );
    let stats = h.stats(&config.id).await;
    assert_eq!(stats.stock_left, config.inventory);
    assert_eq!(stats.queue_length, 0);
    assert_eq!(
        (stats.serving, stats.last_score, stats.drawn),
        (0, 0, false)
    );
}

pub async fn creating_an_event_twice_keeps_the_first(h: &Harness) {
    let first = sale("spring");
    h.create(first.clone()).await;
    let second = sale("spring");

    let created = h.store.create_event(&second).await.unwrap();

    assert!(!created);
    assert_eq!(h.store.event(&first.id).await.unwrap(), Some(first));
}

pub async fn event_ids_are_listed_sorted(h: &Harness) {
    for id in ["summer", "autumn", "winter-2", "spring"] {
        h.create(sale(id)).await;
    }

    let ids = h.store.event_ids().await.unwrap();

    let names: Vec<&str> = ids.iter().map(EventId::as_str).collect();
    assert_eq!(names, ["autumn", "spring", "summer", "winter-2"]);
}

pub async fn updating_an_event_replaces_its_settings(h: &Harness) {
    let event = h.create(sale("spring")).await;
    let mut changed = h.store.event(&event).await.unwrap().unwrap();
    changed.name = "Spring sale, extended".into();
    changed.outflow_milli_per_second = 12_500;
    changed.max_active = Some(40);

    let updated = h.store.update_event(&changed).await.unwrap();

    assert!(updated);
    assert_eq!(h.store.event(&event).await.unwrap(), Some(changed));
}

pub async fn updating_an_unknown_event_changes_nothing(h: &Harness) {
    let updated = h.store.update_event(&sale("ghost")).await.unwrap();

    assert!(!updated);
    assert_eq!(h.store.event(&sale("ghost").id).await.unwrap(), None);
    assert!(h.store.event_ids().await.unwrap().is_empty());
}

pub async fn an_unknown_event_answers_nothing_everywhere(h: &Harness) {
    let ghost = EventId::parse("ghost").unwrap();
    let who = shopper(1);
    let request = ReserveRequest {
        identity: who.clone(),
        ticket_id: TicketId::random(),
        order_id: OrderId::random(),
        idempotency_key: None,
        items: vec![item("TEE", 1)],
    };

    assert_eq!(h.store.event(&ghost).await.unwrap(), None);
    assert_eq!(h.store.stats(&ghost).await.unwrap(), None);
    assert_eq!(h.store.drain(&ghost).await.unwrap(), None);
    assert_eq!(h.try_join(&ghost, &who).await, JoinOutcome::NoEvent);
    assert_eq!(h.store.ticket(&ghost, &who, true).await.unwrap(), None);
    let left = h.store.leave(&ghost, &who, TicketId::random()).await;
    assert_eq!(left.unwrap(), None);
    h.store
        .touch(&ghost, std::slice::from_ref(&who))
        .await
        .unwrap();
    assert_eq!(h.store.draw(&ghost).await.unwrap(), DrawOutcome::NoEvent);
    let reserved = h.store.reserve(&ghost, &request).await.unwrap();
    assert_eq!(reserved, ReserveOutcome::NoEvent);
    let paid = h.store.pay(&ghost, &who, OrderId::random()).await.unwrap();
    assert_eq!(paid, PayOutcome::NotFound);
    assert_eq!(
        h.store.order(&ghost, OrderId::random()).await.unwrap(),
        None
    );
}

pub async fn an_event_that_is_not_closed_cannot_be_removed(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    h.join_all(&event, 1..=3).await;
    h.set_operator_status(&event, OperatorStatus::Paused).await;

    let removal = h.store.remove_event(&event).await.unwrap();

    assert_eq!(removal, Removal::NotClosed);
    assert_eq!(h.stats(&event).await.queue_length, 3);
    assert_eq!(h.ticket(&event, &shopper(3)).await.position, Some(3));
    assert_eq!(h.store.event_ids().await.unwrap(), [event]);
}

pub async fn removing_a_closed_event_leaves_nothing_of_it_and_nothing_else_moves(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let other = h.create(open_sale("summer")).await;
    let buyer = h.admit(&event, &shopper(1)).await;
    let order = h.reserve_ok(&event, &buyer, vec![item("TEE", 2)]).await;
    h.join_all(&event, 2..=3).await;
    h.join_all(&other, 1..=3).await;
    h.set_operator_status(&event, OperatorStatus::Closed).await;
    let other_before = h.stats(&other).await;

    let removal = h.store.remove_event(&event).await.unwrap();

    assert_eq!(removal, Removal::Removed);
    assert_eq!(h.store.event(&event).await.unwrap(), None);
    assert_eq!(h.store.stats(&event).await.unwrap(), None);
    assert_eq!(
        h.store.event_ids().await.unwrap(),
        std::slice::from_ref(&other)
    );
    assert_eq!(h.try_join(&event, &shopper(9)).await, JoinOutcome::NoEvent);
    let ticket = h.store.ticket(&event, &shopper(2), false).await.unwrap();
    assert_eq!(ticket, None);
    assert_eq!(h.store.order(&event, order).await.unwrap(), None);
    let removed_again = h.store.remove_event(&event).await.unwrap();
    assert_eq!(removed_again, Removal::NoEvent);
    assert_eq!(h.stats(&other).await, other_before);
    assert_eq!(h.ticket(&other, &shopper(2)).await.position, Some(2));
}

pub async fn a_removed_events_id_starts_afresh(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let buyer = h.admit(&event, &shopper(1)).await;
    h.reserve_ok(&event, &buyer, vec![item("TEE", 3)]).await;
    h.join_all(&event, 2..=4).await;
    h.set_operator_status(&event, OperatorStatus::Closed).await;
    h.store.remove_event(&event).await.unwrap();

    h.create(open_sale("spring")).await;
    let ticket = h.join(&event, &shopper(4)).await;

    assert_eq!(ticket.position, Some(1));
    let stats = h.stats(&event).await;
    assert_eq!(
        (stats.queue_length, stats.joined, stats.admitted),
        (1, 1, 0)
    );
    assert_eq!(stats.stock_left.get(&sku("TEE")), Some(&10));
    assert_eq!(stats.orders_reserved, 0);
}

pub async fn the_store_answers_pings_and_tells_its_time(h: &Harness) {
    h.store.ping().await.unwrap();
    assert_eq!(h.store.now().await.unwrap(), T0);

    h.advance_ms(1_234);

    assert_eq!(h.store.now().await.unwrap(), T0 + 1_234);
}

pub async fn a_scheduled_event_refuses_joins_until_the_prequeue_opens(h: &Harness) {
    let event = h
        .create(waitroom::domain::EventConfig {
            prequeue_opens_at: Some(T0 + 30_000),
            ..sale("spring")
        })
        .await;

    let early = h.try_join(&event, &shopper(1)).await;
    h.set_time(T0 + 30_000);
    let on_time = h.try_join(&event, &shopper(1)).await;

    assert_eq!(early, JoinOutcome::NotAccepting(EventStatus::Scheduled));
    assert!(matches!(on_time, JoinOutcome::Joined { created: true, .. }));
    assert_eq!(h.drain(&event).await.status, Some(EventStatus::Prequeue));
}

pub async fn the_event_moves_from_prequeue_to_open_at_its_start(h: &Harness) {
    let event = h.create(sale("spring")).await;
    h.set_time(START - 1);
    let before = h.drain(&event).await;

    h.set_time(START);
    let at_start = h.drain(&event).await;

    assert_eq!(before.status, Some(EventStatus::Prequeue));
    assert_eq!(at_start.status, Some(EventStatus::Open));
}

pub async fn pausing_stops_the_outflow_and_resuming_restarts_it(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    h.set_operator_status(&event, OperatorStatus::Paused).await;
    h.join_all(&event, 1..=3).await;

    let paused = h.drain(&event).await;
    let late_join = h.try_join(&event, &shopper(4)).await;
    h.set_operator_status(&event, OperatorStatus::Auto).await;
    let resumed = h.drain(&event).await;

    assert_eq!(paused.status, Some(EventStatus::Paused));
    assert!(paused.admitted.is_empty());
    assert!(matches!(
        late_join,
        JoinOutcome::Joined { created: true, .. }
    ));
    assert_eq!(resumed.status, Some(EventStatus::Open));
    assert_eq!(resumed.admitted.len(), 2, "a burst of two");
}

pub async fn a_paused_event_earns_no_outflow_credit(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    h.join_all(&event, 1..=10).await;
    assert_eq!(h.drain(&event).await.admitted.len(), 2, "the burst");
    h.set_operator_status(&event, OperatorStatus::Paused).await;
    h.advance_secs(60);
    assert!(h.drain(&event).await.admitted.is_empty());
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let at_resume = h.drain(&event).await;
    h.advance_secs(1);
    let a_second_later = h.drain(&event).await;

    assert!(
        at_resume.admitted.is_empty(),
        "a minute paused earns nothing"
    );
    assert_eq!(a_second_later.admitted.len(), 1);
}

pub async fn closing_an_event_refuses_joins_and_admissions(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    h.join_all(&event, 1..=3).await;

    h.set_operator_status(&event, OperatorStatus::Closed).await;
    let drained = h.drain(&event).await;
    let joined = h.try_join(&event, &shopper(9)).await;

    assert_eq!(drained.status, Some(EventStatus::Closed));
    assert!(drained.admitted.is_empty());
    assert_eq!(drained.queue_length, 3);
    assert_eq!(joined, JoinOutcome::NotAccepting(EventStatus::Closed));
}

pub async fn closing_wins_over_every_other_status(h: &Harness) {
    let scheduled = h
        .create(waitroom::domain::EventConfig {
            prequeue_opens_at: Some(T0 + 30_000),
            operator_status: OperatorStatus::Closed,
            ..sale("scheduled")
        })
        .await;
    let sold_out = h
        .create(waitroom::domain::EventConfig {
            inventory: BTreeMap::from([(sku("TEE"), 0)]),
            operator_status: OperatorStatus::Closed,
            ..open_sale("sold-out")
        })
        .await;

    for event in [scheduled, sold_out] {
        let joined = h.try_join(&event, &shopper(1)).await;
        assert_eq!(joined, JoinOutcome::NotAccepting(EventStatus::Closed));
        assert_eq!(h.drain(&event).await.status, Some(EventStatus::Closed));
    }
}

pub async fn an_event_sells_out_when_every_unit_is_reserved(h: &Harness) {
    let event = h
        .create(waitroom::domain::EventConfig {
            inventory: BTreeMap::from([(sku("TEE"), 1)]),
            ..open_sale("spring")
        })
        .await;
    let buyer = h.admit(&event, &shopper(1)).await;
    h.join(&event, &shopper(2)).await;
    h.advance_secs(10);

    h.reserve_ok(&event, &buyer, vec![item("TEE", 1)]).await;
    let drained = h.drain(&event).await;
    let joined = h.try_join(&event, &shopper(3)).await;

    assert_eq!(drained.status, Some(EventStatus::SoldOut));
    assert!(
        drained.admitted.is_empty(),
        "nobody is admitted for nothing"
    );
    assert_eq!(joined, JoinOutcome::NotAccepting(EventStatus::SoldOut));
}

pub async fn a_returned_reservation_undoes_sold_out(h: &Harness) {
    let event = h
        .create(waitroom::domain::EventConfig {
            inventory: BTreeMap::from([(sku("TEE"), 1)]),
            reservation_ttl_seconds: 60,
            ..open_sale("spring")
        })
        .await;
    let buyer = h.admit(&event, &shopper(1)).await;
    h.join(&event, &shopper(2)).await;
    h.reserve_ok(&event, &buyer, vec![item("TEE", 1)]).await;
    assert_eq!(h.drain(&event).await.status, Some(EventStatus::SoldOut));

    h.advance_secs(60);
    let drained = h.drain(&event).await;

    assert_eq!(drained.status, Some(EventStatus::Open));
    let admitted: Vec<_> = drained.admitted.iter().map(|a| &a.identity).collect();
    assert_eq!(admitted, [&shopper(2)]);
    let joined = h.try_join(&event, &shopper(3)).await;
    assert!(matches!(joined, JoinOutcome::Joined { created: true, .. }));
}

/// The event's activity number once it differs from `before` (the Redis store may send a bump
/// up to a quarter of a second late); `None` if it stays for a second.
async fn activity_after(h: &Harness, event: &EventId, before: Option<u64>) -> Option<u64> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let now = h.store.activity().await.unwrap().get(event).copied();
        if now != before {
            return now;
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

pub async fn the_activity_number_moves_with_joins_leaves_and_changes_only(h: &Harness) {
    let event = h.create(open_sale("stirred")).await;
    let other = h.create(open_sale("still")).await;
    h.set_time(START);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let numbers = h.store.activity().await.unwrap();
    let (created, other_at) = (numbers.get(&event).copied(), numbers.get(&other).copied());
    assert!(
        created.is_some(),
        "a created event has a number: {numbers:?}"
    );

    // Drains, ticket reads and stats of an event nobody joined leave it.
    h.drain(&event).await;
    h.stats(&event).await;
    assert_eq!(
        activity_after(h, &event, created).await,
        None,
        "nothing moved"
    );

    let ticket = h.join(&event, &shopper(1)).await;
    let joined = activity_after(h, &event, created).await;
    assert!(joined.is_some(), "a join moves it");

    h.store
        .leave(&event, &shopper(1), ticket.ticket_id)
        .await
        .unwrap();
    let left = activity_after(h, &event, joined).await;
    assert!(left.is_some(), "a leave moves it");

    h.change(&event, |config| config.name = "Renamed".into())
        .await;
    assert!(
        activity_after(h, &event, left).await.is_some(),
        "an operator's change moves it"
    );
    assert_eq!(
        h.store.activity().await.unwrap().get(&other).copied(),
        other_at,
        "another event's number stays"
    );
}
