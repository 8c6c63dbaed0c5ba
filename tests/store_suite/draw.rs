//! The pre-queue draw: once, at the start, lazily, in the order the lottery gives.

use waitroom::domain::{DrawOutcome, EventConfig, TicketStatus};

use crate::harness::{Harness, START, sale, shopper};

pub async fn the_draw_waits_for_the_start(h: &Harness) {
    let event = h.create(sale("spring")).await;
    h.join_all(&event, 1..=3).await;
    h.set_time(START - 1);

    let drawn = h.store.draw(&event).await.unwrap();

    assert_eq!(drawn, DrawOutcome::TooEarly);
    assert!(!h.stats(&event).await.drawn);
    assert_eq!(h.ticket(&event, &shopper(1)).await.position, None);
}

pub async fn the_draw_happens_exactly_once(h: &Harness) {
    let event = h.create(sale("spring")).await;
    h.join_all(&event, 1..=3).await;
    h.set_time(START);

    let first = h.store.draw(&event).await.unwrap();
    let second = h.store.draw(&event).await.unwrap();

    assert_eq!(first, DrawOutcome::Drawn { entrants: 3 });
    assert_eq!(second, DrawOutcome::AlreadyDrawn);
    let stats = h.stats(&event).await;
    assert!(stats.drawn);
    assert_eq!((stats.last_score, stats.queue_length), (3, 3));
}

pub async fn an_empty_prequeue_draws_no_one(h: &Harness) {
    let event = h.create(sale("spring")).await;
    h.set_time(START + 5_000);

    let drawn = h.store.draw(&event).await.unwrap();

    assert_eq!(drawn, DrawOutcome::Drawn { entrants: 0 });
    let ticket = h.join(&event, &shopper(1)).await;
    assert_eq!((ticket.score, ticket.position), (Some(1), Some(1)));
}

pub async fn the_first_join_after_the_start_draws_the_prequeue_first(h: &Harness) {
    let event = h.create(sale("spring")).await;
    h.join_all(&event, 1..=3).await;
    h.set_time(START);

    let latecomer = h.join(&event, &shopper(4)).await;

    assert_eq!((latecomer.score, latecomer.position), (Some(4), Some(4)));
    assert_eq!(
        h.store.draw(&event).await.unwrap(),
        DrawOutcome::AlreadyDrawn
    );
    let mut scores = Vec::new();
    for n in 1..=3 {
        scores.push(h.ticket(&event, &shopper(n)).await.score.unwrap());
    }
    scores.sort_unstable();
    assert_eq!(scores, [1, 2, 3]);
}

pub async fn a_drain_after_the_start_draws_the_prequeue(h: &Harness) {
    let event = h.create(sale("spring")).await;
    h.join_all(&event, 1..=3).await;
    h.set_time(START + 500);

    let drained = h.drain(&event).await;

    assert_eq!(drained.admitted.len(), 2, "the burst, from the drawn queue");
    assert_eq!(drained.serving, 2);
    assert_eq!(
        h.store.draw(&event).await.unwrap(),
        DrawOutcome::AlreadyDrawn
    );
}

pub async fn a_ticket_read_after_the_start_draws_the_prequeue(h: &Harness) {
    let event = h.create(sale("spring")).await;
    h.join_all(&event, 1..=3).await;
    h.set_time(START);

    let ticket = h.ticket(&event, &shopper(2)).await;

    assert_eq!(ticket.status, TicketStatus::Waiting);
    assert!(matches!(ticket.position, Some(1..=3)));
    assert_eq!(ticket.position, ticket.score, "nobody admitted yet");
    assert!(h.stats(&event).await.drawn);
}

pub async fn the_drawn_order_is_the_admission_order(h: &Harness) {
    let config = EventConfig {
        outflow_burst: 3,
        ..sale("spring")
    };
    let seed = config.seed.clone();
    let event = h.create(config).await;
    let tickets = h.join_all(&event, 1..=9).await;
    h.set_time(START);

    let mut admitted = Vec::new();
    for _ in 0..3 {
        let drained = h.drain(&event).await;
        admitted.extend(drained.admitted.into_iter().map(|a| a.ticket_id));
        h.advance_secs(3);
    }

    let expected = waitroom::queue::draw_order(&seed, tickets.iter().map(|t| t.ticket_id)).order;
    assert_eq!(admitted, expected);
}
