//! Admissions: what an admitted ticket says, how it ends, and the safety-net mode that admits
//! at once while the site has room.

use std::collections::BTreeMap;

use waitroom::domain::{EventConfig, JoinOutcome, Mode, OperatorStatus, TicketStatus};

use crate::harness::{Harness, T0, item, open_sale, shopper, sku};

fn safety_net(id: &str, max_active: Option<u32>) -> EventConfig {
    EventConfig {
        mode: Mode::SafetyNet,
        max_active,
        ..open_sale(id)
    }
}

pub async fn an_admitted_ticket_carries_its_admission_times(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    h.join(&event, &shopper(1)).await;
    h.advance_secs(3);

    h.drain(&event).await;
    let ticket = h.ticket(&event, &shopper(1)).await;

    assert_eq!(ticket.status, TicketStatus::Admitted);
    assert_eq!(ticket.joined_at, T0);
    assert_eq!(ticket.admitted_at, Some(T0 + 3_000));
    assert_eq!(ticket.admission_expires_at, Some(T0 + 3_000 + 120_000));
    assert!(!ticket.admission_used);
    assert_eq!((ticket.position, ticket.score), (None, None));
}

pub async fn a_join_while_admitted_returns_the_admission(h: &Harness) {
    let event = h.create(open_sale("spring")).await;
    let admitted = h.admit(&event, &shopper(1)).await;

    let again = h.try_join(&event, &shopper(1)).await;

    assert_eq!(
        again,
        JoinOutcome::Joined {
            ticket: admitted,
            created: false
        }
    );
}

pub async fn an_expired_admission_is_replaced_by_a_new_ticket_at_the_tail(h: &Harness) {
    let event = h
        .create(EventConfig {
            admission_ttl_seconds: 30,
            ..open_sale("spring")
        })
        .await;
    let admitted = h.admit(&event, &shopper(1)).await;
    h.join_all(&event, 2..=4).await;
    h.advance_secs(30);
    h.drain(&event).await;
    assert_eq!(
        h.ticket(&event, &shopper(1)).await.status,
        TicketStatus::Expired
    );

    let again = h.try_join(&event, &shopper(1)).await;

    let JoinOutcome::Joined { ticket, created } = again else {
        panic!("joined: {again:?}");
    };
    assert!(created);
    assert_ne!(ticket.ticket_id, admitted.ticket_id);
    assert_eq!(ticket.status, TicketStatus::Waiting);
    assert_eq!(ticket.score, Some(5));
    assert_eq!(ticket.position, Some(2), "behind the one still waiting");
}

pub async fn leaving_gives_up_an_admission_and_frees_the_cap(h: &Harness) {
    let event = h
        .create(EventConfig {
            max_active: Some(1),
            ..open_sale("spring")
        })
        .await;
    let admitted = h.admit(&event, &shopper(1)).await;
    h.join(&event, &shopper(2)).await;

    let left = h
        .store
        .leave(&event, &shopper(1), admitted.ticket_id)
        .await
        .unwrap()
        .unwrap();
    let drained = h.drain(&event).await;

    assert_eq!(left.status, TicketStatus::Left);
    assert_eq!(drained.admitted.len(), 1);
    assert_eq!(drained.admitted[0].identity, shopper(2));
    let stats = h.stats(&event).await;
    assert_eq!(
        (stats.left, stats.active, stats.admissions_expired),
        (1, 1, 0)
    );
}

pub async fn safety_net_admits_at_once_while_nobody_waits_and_under_the_cap(h: &Harness) {
    let event = h.create(safety_net("shop", Some(2))).await;

    let tickets = h.join_all(&event, 1..=3).await;

    let statuses: Vec<_> = tickets.iter().map(|t| t.status).collect();
    assert_eq!(
        statuses,
        [
            TicketStatus::Admitted,
            TicketStatus::Admitted,
            TicketStatus::Waiting
        ]
    );
    assert_eq!(tickets[0].admission_expires_at, Some(T0 + 120_000));
    assert_eq!(tickets[2].position, Some(1));
    let stats = h.stats(&event).await;
    assert_eq!(
        (stats.admitted, stats.active, stats.queue_length),
        (2, 2, 1)
    );
    assert_eq!(
        stats.serving, 2,
        "straight-through shoppers are served in turn"
    );
}

pub async fn safety_net_queues_when_full_and_drains_as_places_free(h: &Harness) {
    let event = h.create(safety_net("shop", Some(1))).await;
    let tickets = h.join_all(&event, 1..=3).await;
    h.store
        .leave(&event, &shopper(1), tickets[0].ticket_id)
        .await
        .unwrap();

    let drained = h.drain(&event).await;

    let admitted: Vec<_> = drained.admitted.iter().map(|a| &a.identity).collect();
    assert_eq!(admitted, [&shopper(2)]);
    assert_eq!(drained.queue_length, 1);
}

pub async fn safety_net_never_lets_a_newcomer_pass_the_queue(h: &Harness) {
    let event = h.create(safety_net("shop", Some(1))).await;
    let tickets = h.join_all(&event, 1..=2).await;
    h.store
        .leave(&event, &shopper(1), tickets[0].ticket_id)
        .await
        .unwrap();

    let newcomer = h.join(&event, &shopper(3)).await;

    assert_eq!(newcomer.status, TicketStatus::Waiting);
    assert_eq!(newcomer.position, Some(2));
}

pub async fn safety_net_without_a_cap_lets_everyone_through(h: &Harness) {
    let event = h.create(safety_net("shop", None)).await;

    let tickets = h.join_all(&event, 1..=20).await;

    assert!(tickets.iter().all(|t| t.status == TicketStatus::Admitted));
    assert_eq!(h.stats(&event).await.queue_length, 0);
}

pub async fn safety_net_admits_nobody_at_once_while_paused(h: &Harness) {
    let event = h
        .create(EventConfig {
            operator_status: OperatorStatus::Paused,
            ..safety_net("shop", Some(5))
        })
        .await;

    let ticket = h.join(&event, &shopper(1)).await;

    assert_eq!(ticket.status, TicketStatus::Waiting);
    assert_eq!(h.stats(&event).await.admitted, 0);
}

pub async fn safety_net_follows_the_stock_when_asked(h: &Harness) {
    let event = h
        .create(EventConfig {
            cap_follows_stock: true,
            inventory: BTreeMap::from([(sku("TEE"), 2)]),
            ..safety_net("shop", Some(10))
        })
        .await;
    let first = h.join(&event, &shopper(1)).await;
    h.reserve_ok(&event, &first, vec![item("TEE", 1)]).await;

    let tickets = h.join_all(&event, 2..=3).await;

    assert_eq!(tickets[0].status, TicketStatus::Admitted, "one unit left");
    assert_eq!(tickets[1].status, TicketStatus::Waiting);
}
