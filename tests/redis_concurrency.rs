//! The Redis store under concurrency: many tasks on one store (one multiplexed connection) and
//! several stores, each with its own connection (as several instances would), racing for the
//! same event. Each test starts its own redis-server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::events::{sale, tshirt};
use support::redis_server::RedisServer;
use waitroom::clock::{Clock, ManualClock};
use waitroom::domain::{
    EventId, Identity, JoinOutcome, OrderId, OrderItem, ReserveOutcome, ReserveRequest, TicketId,
};
use waitroom::store::QueueStore;
use waitroom::store::redis::RedisStore;

const START: i64 = 1_800_000_000_000;

async fn store_at(server: &RedisServer, clock: &ManualClock) -> RedisStore {
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    RedisStore::connect(&server.url(), Some(clock))
        .await
        .unwrap()
}

/// Connections the server holds now (`INFO clients`), redis-cli's own included.
fn connected_clients(server: &RedisServer) -> u64 {
    server
        .cli(&["INFO", "clients"])
        .lines()
        .find_map(|line| line.strip_prefix("connected_clients:"))
        .and_then(|count| count.trim().parse().ok())
        .expect("INFO clients names connected_clients")
}

fn shopper(n: usize) -> Identity {
    Identity::user(&format!("shopper-{n}")).unwrap()
}

/// A store on `server` at a second past the start of an open sale, `rush`.
async fn rush_on(server: &RedisServer) -> (RedisStore, EventId) {
    let clock = ManualClock::new(START + 1_000);
    let store = store_at(server, &clock).await;
    store
        .create_event(&sale("rush", START, 1, 1, 10))
        .await
        .unwrap();
    (store, EventId::parse("rush").unwrap())
}

/// The ticket a join created.
fn new_ticket(outcome: JoinOutcome) -> waitroom::domain::Ticket {
    match outcome {
        JoinOutcome::Joined { ticket, created } => {
            assert!(created);
            ticket
        }
        other => panic!("join refused: {other:?}"),
    }
}

/// The tickets `shoppers` created, joining `event` all at once (awaited together: on one thread
/// every join is handed to the store before its task runs, so they go in one call).
async fn join_together(
    store: &RedisStore,
    event: &EventId,
    shoppers: std::ops::RangeInclusive<usize>,
) -> Vec<waitroom::domain::Ticket> {
    let identities: Vec<Identity> = shoppers.map(shopper).collect();
    let joins = identities
        .iter()
        .map(|identity| store.join(event, identity, TicketId::random()));
    futures_util::future::join_all(joins)
        .await
        .into_iter()
        .map(|outcome| new_ticket(outcome.unwrap()))
        .collect()
}

/// The position a join that created its ticket was given.
fn new_position(outcome: JoinOutcome) -> u64 {
    new_ticket(outcome).position.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_joins_get_two_thousand_consecutive_positions() {
    let server = RedisServer::start();
    let (store, event) = rush_on(&server).await;

    let joins = (0..2_000).map(|n| {
        let (store, event) = (store.clone(), event.clone());
        tokio::spawn(async move {
            new_position(
                store
                    .join(&event, &shopper(n), TicketId::random())
                    .await
                    .unwrap(),
            )
        })
    });
    let mut positions = Vec::new();
    for join in joins.collect::<Vec<_>>() {
        positions.push(join.await.unwrap());
    }

    let distinct: BTreeSet<u64> = positions.iter().copied().collect();
    assert_eq!(distinct, (1..=2_000).collect::<BTreeSet<u64>>());
    let stats = store.stats(&event).await.unwrap().unwrap();
    assert_eq!(
        (stats.queue_length, stats.joined, stats.last_score),
        (2_000, 2_000, 2_000)
    );
}

// One thread: every join below is handed to the store before the store's own task runs, so all
// of them are on hand for its first call.
#[tokio::test]
async fn joins_that_arrive_together_go_as_one_script_call_in_arrival_order() {
    let server = RedisServer::start();
    let (store, event) = rush_on(&server).await;
    // The first join loads the script, so the calls counted below are joins only.
    store
        .join(&event, &shopper(0), TicketId::random())
        .await
        .unwrap();
    server.cli(&["CONFIG", "RESETSTAT"]);

    let positions: Vec<u64> = join_together(&store, &event, 1..=30)
        .await
        .into_iter()
        .map(|ticket| ticket.position.unwrap())
        .collect();
    assert_eq!(positions, (2..=31).collect::<Vec<u64>>());
    assert_eq!(server.script_calls(), 1);
}

// One thread, as above: the joins of each batch go to Redis together. A call keeps the event's
// join count and highest score as its joins move them and writes them once at its end, so the
// first batch (the opening window's first joins: the first reserves the window's range of
// scores) must leave the count and the range where one call a join would, and the second batch
// (after the window, first in first out) must queue behind every window entrant.
#[tokio::test]
async fn joins_of_one_call_count_and_score_as_one_call_a_join_would_through_a_window() {
    let server = RedisServer::start();
    let clock = ManualClock::new(START - 1_000);
    let store = store_at(&server, &clock).await;
    let config = waitroom::domain::EventConfig {
        arrival_windows: waitroom::queue::ArrivalWindows::new(60, 0),
        ..sale("rush", START, 1, 1, 10)
    };
    store.create_event(&config).await.unwrap();
    let event = EventId::parse("rush").unwrap();
    clock.set(START + 1_000);

    let window_scores: BTreeSet<u64> = join_together(&store, &event, 1..=30)
        .await
        .into_iter()
        .map(|ticket| ticket.score.unwrap())
        .collect();
    assert_eq!(
        window_scores.len(),
        30,
        "every window join has its own score"
    );
    let stats = store.stats(&event).await.unwrap().unwrap();
    assert_eq!((stats.queue_length, stats.joined), (30, 30));
    let highest = *window_scores.last().unwrap();
    assert!(
        stats.last_score >= highest,
        "the window's range is kept: last score {} below a window score {highest}",
        stats.last_score
    );

    clock.set(START + 61_000);
    server.cli(&["CONFIG", "RESETSTAT"]);
    let late: Vec<(u64, u64)> = join_together(&store, &event, 31..=40)
        .await
        .into_iter()
        .map(|ticket| (ticket.position.unwrap(), ticket.score.unwrap()))
        .collect();
    assert_eq!(server.script_calls(), 1);
    let expected: Vec<(u64, u64)> = (1..=10).map(|n| (30 + n, stats.last_score + n)).collect();
    assert_eq!(late, expected);
    let stats = store.stats(&event).await.unwrap().unwrap();
    assert_eq!(
        (stats.queue_length, stats.joined, stats.last_score),
        (40, 40, expected[9].1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_reservations_for_a_hundred_units_reserve_exactly_a_hundred() {
    let server = RedisServer::start();
    let clock = ManualClock::new(START);
    let store = store_at(&server, &clock).await;
    let event = EventId::parse("drop").unwrap();
    store
        .create_event(&sale("drop", START, 1_000, 1_000, 100))
        .await
        .unwrap();
    let mut admissions = Vec::new();
    for n in 0..1_000 {
        if let JoinOutcome::Joined { ticket, .. } = store
            .join(&event, &shopper(n), TicketId::random())
            .await
            .unwrap()
        {
            admissions.push((shopper(n), ticket.ticket_id));
        }
    }
    let drained = store.drain(&event).await.unwrap().unwrap();
    assert_eq!(drained.admitted.len(), 1_000);

    let reservations = admissions.into_iter().map(|(identity, ticket_id)| {
        let (store, event) = (store.clone(), event.clone());
        tokio::spawn(async move {
            let request = ReserveRequest {
                identity,
                ticket_id,
                order_id: OrderId::random(),
                idempotency_key: None,
                items: vec![OrderItem {
                    sku: tshirt(),
                    quantity: 1,
                }],
            };
            store.reserve(&event, &request).await.unwrap()
        })
    });
    let mut reserved = 0;
    let mut sold_out = 0;
    for reservation in reservations.collect::<Vec<_>>() {
        match reservation.await.unwrap() {
            ReserveOutcome::Reserved(_) => reserved += 1,
            ReserveOutcome::SoldOut(sku) if sku == tshirt() => sold_out += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }

    assert_eq!((reserved, sold_out), (100, 900));
    let stats = store.stats(&event).await.unwrap().unwrap();
    assert_eq!(stats.stock_left.get(&tshirt()), Some(&0));
    assert_eq!(stats.reserved.get(&tshirt()), Some(&100));
}

/// Real time and the server's clock: eight drainers, each with its own connection as eight
/// instances would have, hammer one event for five seconds at 50 shoppers a second with a burst
/// of 10.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_drainers_admit_what_one_would() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), None).await.unwrap();
    let event = EventId::parse("steady").unwrap();
    let now = store.now().await.unwrap();
    store
        .create_event(&sale("steady", now, 50, 10, 10_000))
        .await
        .unwrap();
    for n in 0..1_000 {
        store
            .join(&event, &shopper(n), TicketId::random())
            .await
            .unwrap();
    }

    // Eight instances: each its own store and connection, as eight processes would have.
    let mut instances = Vec::new();
    for _ in 0..8 {
        instances.push(RedisStore::connect(&server.url(), None).await.unwrap());
    }
    for instance in &instances {
        instance.ping().await.unwrap();
    }
    assert!(
        connected_clients(&server) >= 9,
        "each instance holds its own connection: {}",
        server.cli(&["INFO", "clients"])
    );

    let began = Instant::now();
    let drainers = instances.into_iter().map(|store| {
        let event = event.clone();
        tokio::spawn(async move {
            let mut admitted = 0;
            while began.elapsed() < Duration::from_secs(5) {
                admitted += store.drain(&event).await.unwrap().unwrap().admitted.len();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            admitted
        })
    });
    let mut admitted = 0;
    for drainer in drainers.collect::<Vec<_>>() {
        admitted += drainer.await.unwrap();
    }
    let elapsed_ms = store.now().await.unwrap() - now;

    // rate × elapsed + burst, with the elapsed time measured on the server's clock.
    let ceiling = (50 * elapsed_ms / 1_000 + 10) as usize;
    assert!(
        admitted <= ceiling,
        "{admitted} admitted, at most {ceiling} allowed"
    );
    assert!(
        admitted >= 250,
        "{admitted} admitted in five seconds at 50/s"
    );
    let stats = store.stats(&event).await.unwrap().unwrap();
    assert_eq!(stats.admitted as usize, admitted);
}
