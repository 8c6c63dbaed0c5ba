//! Presence: shoppers whose page is open on a socket are held by the instance holding the socket,
//! and stay in place while that instance sends heartbeats; polling pages keep their place by
//! reading their ticket.

use waitroom::domain::{
    DrainOutcome, EventConfig, EventId, Identity, InstanceId, OperatorStatus, PresenceReport,
    TicketStatus,
};
use waitroom::queue::PRESENCE_GAP_MS;

use crate::harness::{Harness, open_sale, shopper};

fn instance(name: &str) -> InstanceId {
    InstanceId::parse(name).unwrap()
}

/// A paused sale (nobody is admitted, or dropped, until it opens) with a grace period of 60 s,
/// admitting `burst` at once when it opens.
async fn paused_sale(h: &Harness, burst: u32) -> EventId {
    h.create(EventConfig {
        abandon_after_seconds: 60,
        outflow_burst: burst,
        operator_status: OperatorStatus::Paused,
        ..open_sale("spring")
    })
    .await
}

async fn report(h: &Harness, event: &EventId, from: &str, opened: &[usize], closed: &[usize]) {
    let report = PresenceReport {
        instance: instance(from),
        opened: opened.iter().map(|&n| shopper(n)).collect(),
        closed: closed.iter().map(|&n| shopper(n)).collect(),
    };
    h.store.presence(event, &report).await.unwrap();
}

async fn beat(h: &Harness, event: &EventId, from: &str) {
    report(h, event, from, &[], &[]).await;
}

fn identities(drained: &DrainOutcome) -> Vec<Identity> {
    drained
        .admitted
        .iter()
        .map(|a| a.identity.clone())
        .collect()
}

pub async fn a_head_shopper_held_by_a_live_instance_is_not_abandoned(h: &Harness) {
    let event = paused_sale(h, 2).await;
    h.join_all(&event, 1..=2).await;
    report(h, &event, "a", &[1], &[]).await;
    // Five grace periods, with a heartbeat every 50 s and no other sign of life.
    for _ in 0..6 {
        h.run_secs(&event, 50).await;
        beat(h, &event, "a").await;
    }
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let drained = h.drain(&event).await;

    assert_eq!(identities(&drained), [shopper(1)]);
    assert_eq!(drained.abandoned, 1, "shopper 2 had no open page");
}

pub async fn held_shoppers_are_abandoned_a_grace_period_after_the_last_heartbeat(h: &Harness) {
    let event = paused_sale(h, 1).await;
    h.join_all(&event, 1..=3).await;
    report(h, &event, "a", &[1, 2, 3], &[]).await;
    h.run_secs(&event, 50).await;
    beat(h, &event, "a").await;
    h.run_secs(&event, 50).await;
    beat(h, &event, "a").await;
    // The instance stops (it crashed): its shoppers stay in place for the grace period.
    h.run_secs(&event, 59).await;
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let before = h.drain(&event).await;
    h.run_secs(&event, 1).await;
    let after = h.drain(&event).await;

    assert_eq!(
        (identities(&before), before.abandoned),
        (vec![shopper(1)], 0)
    );
    assert_eq!((identities(&after), after.abandoned), (vec![], 2));
    assert_eq!(
        h.ticket(&event, &shopper(2)).await.status,
        TicketStatus::Expired
    );
}

pub async fn a_shopper_whose_socket_closed_and_who_does_not_poll_is_abandoned(h: &Harness) {
    let event = paused_sale(h, 2).await;
    h.join_all(&event, 1..=3).await;
    report(h, &event, "a", &[1, 2, 3], &[]).await;
    h.run_secs(&event, 40).await;
    // Shopper 1 closes the page at 40 s, shopper 3 at 80 s; the instance lives on.
    report(h, &event, "a", &[], &[1]).await;
    h.run_secs(&event, 40).await;
    report(h, &event, "a", &[], &[3]).await;
    for _ in 0..4 {
        h.run_secs(&event, 15).await;
        beat(h, &event, "a").await;
    }
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    // At 140 s: shopper 1 unseen for 100 s, shopper 3 for 60 s, shopper 2 held.
    let drained = h.drain(&event).await;

    assert_eq!(identities(&drained), [shopper(2)]);
    assert_eq!(drained.abandoned, 2);
}

pub async fn a_closed_page_counts_as_seen_when_it_closed(h: &Harness) {
    let event = paused_sale(h, 1).await;
    h.join(&event, &shopper(1)).await;
    report(h, &event, "a", &[1], &[]).await;
    h.run_secs(&event, 100).await;
    beat(h, &event, "a").await;
    report(h, &event, "a", &[], &[1]).await;
    h.run_secs(&event, 59).await;
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let drained = h.drain(&event).await;

    assert_eq!(
        (identities(&drained), drained.abandoned),
        (vec![shopper(1)], 0)
    );
}

pub async fn polling_keeps_the_place_of_a_shopper_whose_instance_is_gone(h: &Harness) {
    let event = paused_sale(h, 2).await;
    h.join_all(&event, 1..=2).await;
    report(h, &event, "a", &[1, 2], &[]).await;
    // Instance a is gone at once; shopper 1 falls back to polling, shopper 2 does nothing.
    for _ in 0..5 {
        h.run_secs(&event, 45).await;
        h.store.ticket(&event, &shopper(1), true).await.unwrap();
    }
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let drained = h.drain(&event).await;

    assert_eq!(
        (identities(&drained), drained.abandoned),
        (vec![shopper(1)], 1)
    );
}

pub async fn a_page_reopened_on_another_instance_is_held_there(h: &Harness) {
    let event = paused_sale(h, 1).await;
    h.join(&event, &shopper(1)).await;
    report(h, &event, "a", &[1], &[]).await;
    h.run_secs(&event, 10).await;
    // The page moves to instance b; a's late report of the closed socket changes nothing.
    report(h, &event, "b", &[1], &[]).await;
    report(h, &event, "a", &[], &[1]).await;
    for _ in 0..10 {
        h.run_secs(&event, 15).await;
        beat(h, &event, "b").await;
    }
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let drained = h.drain(&event).await;

    assert_eq!(
        (identities(&drained), drained.abandoned),
        (vec![shopper(1)], 0)
    );
}

pub async fn only_waiting_shoppers_are_held(h: &Harness) {
    let event = h
        .create(EventConfig {
            abandon_after_seconds: 60,
            ..open_sale("spring")
        })
        .await;
    let admitted = h.admit(&event, &shopper(2)).await;
    h.join(&event, &shopper(1)).await;
    let left = h.join(&event, &shopper(3)).await;
    h.store
        .leave(&event, &shopper(3), left.ticket_id)
        .await
        .unwrap();

    report(h, &event, "a", &[1, 2, 3, 4], &[]).await;
    report(h, &event, "a", &[], &[2, 3, 4]).await;

    let stats = h.stats(&event).await;
    assert_eq!(h.ticket(&event, &shopper(2)).await, admitted);
    assert_eq!(
        h.ticket(&event, &shopper(3)).await.status,
        TicketStatus::Left
    );
    assert_eq!((stats.queue_length, stats.admitted, stats.left), (1, 1, 1));
    assert_eq!(
        h.ticket(&event, &shopper(1)).await.status,
        TicketStatus::Waiting
    );
}

/// Our outage is not the shoppers' absence. Grace 10 s; shoppers 1-10 hold a socket on instance
/// a or b, 11-20 poll, 21-30 closed their page when they joined. After 8 s of ordinary running
/// the store is unreachable for 20 s (nothing is drained or recorded), and the first drain after
/// it runs before any page has been seen again, as an instance's ticker does.
pub async fn pages_open_through_an_outage_of_twice_the_grace_keep_their_places(h: &Harness) {
    let event = h
        .create(EventConfig {
            abandon_after_seconds: 10,
            outflow_burst: 30,
            operator_status: OperatorStatus::Paused,
            ..open_sale("spring")
        })
        .await;
    h.join_all(&event, 1..=30).await;
    report(h, &event, "a", &[1, 2, 3, 4, 5], &[]).await;
    report(h, &event, "b", &[6, 7, 8, 9, 10], &[]).await;
    for _ in 0..8 {
        h.advance_secs(1);
        beat(h, &event, "a").await;
        beat(h, &event, "b").await;
        for n in 11..=20 {
            h.store.ticket(&event, &shopper(n), true).await.unwrap();
        }
        h.drain(&event).await;
    }
    h.advance_secs(20);
    h.set_operator_status(&event, OperatorStatus::Auto).await;

    let drained = h.drain(&event).await;
    // The pages' next heartbeats and polls, then the next drain.
    beat(h, &event, "a").await;
    beat(h, &event, "b").await;
    for n in 11..=20 {
        h.store.ticket(&event, &shopper(n), true).await.unwrap();
    }
    h.advance_ms(150);
    h.drain(&event).await;

    let open: Vec<Identity> = (1..=20).map(shopper).collect();
    assert_eq!(identities(&drained), open, "every open page is served");
    assert_eq!(drained.abandoned, 10, "the closed pages are freed");
    for n in 1..=30 {
        let expected = if n <= 20 {
            TicketStatus::Admitted
        } else {
            TicketStatus::Expired
        };
        assert_eq!(h.ticket(&event, &shopper(n)).await.status, expected, "{n}");
    }
}

/// A sale whose only shopper closed the page on joining, 1 s before a 30 s outage after which the
/// store runs on for `ordinary` seconds (an instance reporting each second); then it opens and
/// drains once.
async fn closed_before_an_outage(h: &Harness, name: &str, ordinary: i64) -> DrainOutcome {
    let event = h
        .create(EventConfig {
            abandon_after_seconds: 10,
            outflow_burst: 1,
            operator_status: OperatorStatus::Paused,
            ..open_sale(name)
        })
        .await;
    h.join(&event, &shopper(1)).await;
    h.advance_secs(1);
    beat(h, &event, "a").await;
    h.advance_secs(30);
    h.drain(&event).await;
    for _ in 0..ordinary {
        h.advance_secs(1);
        beat(h, &event, "a").await;
    }
    h.set_operator_status(&event, OperatorStatus::Auto).await;
    h.drain(&event).await
}

/// A page closed before an outage is freed once the grace has run in ordinary time: the outage
/// neither frees it early nor keeps it for ever. Unseen time counted: the second before the
/// outage, the outage's first [`PRESENCE_GAP_MS`] (a silence that short is ordinary running),
/// then the ordinary seconds after it.
pub async fn a_page_closed_before_an_outage_is_freed_after_the_grace_of_ordinary_time(h: &Harness) {
    let counted_before = 1 + PRESENCE_GAP_MS / 1_000;
    let still_in_grace = closed_before_an_outage(h, "spring", 9 - counted_before).await;
    let grace_over = closed_before_an_outage(h, "summer", 10 - counted_before).await;

    assert_eq!(
        (identities(&still_in_grace), still_in_grace.abandoned),
        (vec![shopper(1)], 0),
        "unseen for 9 s of ordinary time"
    );
    assert_eq!(
        (identities(&grace_over), grace_over.abandoned),
        (vec![], 1),
        "unseen for 10 s of ordinary time"
    );
}

pub async fn a_report_on_an_unknown_event_changes_nothing(h: &Harness) {
    let ghost = EventId::parse("no-such-event").unwrap();

    report(h, &ghost, "a", &[1], &[2]).await;

    assert!(h.store.event(&ghost).await.unwrap().is_none());
    assert!(
        h.store
            .ticket(&ghost, &shopper(1), true)
            .await
            .unwrap()
            .is_none()
    );
}

/// A touch that finds nobody waiting records nothing, not even that the store heard from an
/// instance: the presence clock then still leaves out the silence after the join (found by the
/// stores' differential test, where the memory store counted it and dropped the shopper).
pub async fn a_touch_of_nobody_waiting_leaves_the_presence_clock_alone(h: &Harness) {
    let event = h
        .create(EventConfig {
            abandon_after_seconds: 6,
            outflow_milli_per_second: 0,
            outflow_burst: 1,
            ..open_sale("spring")
        })
        .await;
    h.join(&event, &shopper(1)).await;
    h.advance_ms(1_834);
    h.store.touch(&event, &[shopper(0)]).await.unwrap();
    h.advance_ms(4_166);

    let drained = h.store.drain(&event).await.unwrap().unwrap();

    assert_eq!(identities(&drained), vec![shopper(1)]);
    assert_eq!(drained.abandoned, 0);
}
