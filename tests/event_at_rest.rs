//! An open event nobody waits in, watches or is admitted to costs the store nothing per second:
//! its ticker rests, the background loops keep its settings and counters, and a join (within the
//! second's activity poll) or an operator's change (at once) wakes it, on this instance or
//! another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::counting_store::{CountingStore, counting};
use support::live_app::TestApp;
use support::redis_server::RedisServer;
use waitroom::clock::SystemClock;
use waitroom::domain::EventId;
use waitroom::store::memory::MemoryStore;
use waitroom::store::redis::RedisStore;

/// Operations whose calls would say the event is being looked at.
const PER_EVENT: [&str; 4] = ["drain", "event", "stats", "presence"];

/// Waits until `app`'s ticker of `event` has drained once; panics after `within`.
async fn first_drain(app: &TestApp, event: &EventId, within: Duration) {
    let deadline = Instant::now() + within;
    while app
        .state
        .outflow
        .snapshot(event)
        .is_none_or(|snapshot| snapshot.tick == 0)
    {
        assert!(
            Instant::now() < deadline,
            "no drain of {event} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn per_event_calls(store: &CountingStore) -> Vec<u64> {
    PER_EVENT.iter().map(|op| store.calls(op)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_at_rest_costs_no_store_call_and_a_join_is_admitted_within_a_second() {
    let store = Arc::new(counting(Arc::new(MemoryStore::new(Arc::new(SystemClock)))));
    let app = TestApp::spawn(store.clone()).await;
    app.create_open_sale("resting", 10, 5).await;
    let event: EventId = "resting".parse().unwrap();
    first_drain(&app, &event, Duration::from_secs(2)).await;
    // Let the loops' first passes (which read everything once) go by.
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    let before = per_event_calls(&store);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = per_event_calls(&store);
    assert_eq!(
        before,
        after,
        "{PER_EVENT:?} over 4 s of rest: {before:?} -> {after:?} ({:?})",
        store.all_calls()
    );
    // The whole instance reads the activity numbers a few times a second, whatever the events.
    let activity_reads = store.calls("activity");
    assert!(activity_reads > 0, "the activity numbers are read");

    // A join wakes the resting ticker within the activity poll: admitted well before the rest
    // would end.
    let joined_at = Instant::now();
    let token = app.token("wakes-it");
    let ticket = app.join("resting", &token).await;
    let mut status = ticket["status"].clone();
    while status != "admitted" && joined_at.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(25)).await;
        status = app.ticket("resting", &ticket, &token).await["status"].clone();
    }
    assert_eq!(status, "admitted", "after {:?}", joined_at.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_wakes_a_resting_ticker_at_once() {
    let app = TestApp::spawn(Arc::new(MemoryStore::new(Arc::new(SystemClock)))).await;
    app.create_open_sale("rest-then-pause", 10, 5).await;
    let event: EventId = "rest-then-pause".parse().unwrap();
    first_drain(&app, &event, Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.set_status("rest-then-pause", "paused").await;
    let deadline = Instant::now() + Duration::from_millis(500);
    loop {
        let status = app.state.outflow.snapshot(&event).and_then(|s| s.status);
        if status == Some(waitroom::domain::EventStatus::Paused) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status:?} after the pause"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two instances on one Redis: a join through the first wakes the second's resting ticker and
/// its live statistics within the activity poll (a second), not at the end of the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_through_another_instance_wakes_the_resting_one() {
    let redis = RedisServer::start();
    let url = format!("redis://127.0.0.1:{}/", redis.port());
    let connect = || async { Arc::new(RedisStore::connect(&url, None).await.unwrap()) };
    let first = TestApp::spawn(connect().await).await;
    let second_store = Arc::new(counting(connect().await));
    let second = TestApp::spawn(second_store.clone()).await;

    first.create_open_sale("two-rest", 10, 5).await;
    let event: EventId = "two-rest".parse().unwrap();
    first_drain(&first, &event, Duration::from_secs(2)).await;
    // The second instance finds the event at its next discovery (every 5 s).
    first_drain(&second, &event, Duration::from_secs(8)).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let drains_at_rest = second_store.calls("drain");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        second_store.calls("drain"),
        drains_at_rest,
        "the second instance's ticker rests"
    );
    let joined_before = second
        .state
        .live_stats
        .event(&event)
        .map(|live| live.stats.joined);
    assert_eq!(joined_before, Some(0));

    let token = first.token("through-the-first");
    first.join("two-rest", &token).await;
    let deadline = Instant::now() + Duration::from_millis(2_500);
    loop {
        let woken = second_store.calls("drain") > drains_at_rest;
        let joined = second
            .state
            .live_stats
            .event(&event)
            .map(|live| live.stats.joined);
        if woken && joined == Some(1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second instance did not wake: drains {} -> {}, joined {joined:?}",
            drains_at_rest,
            second_store.calls("drain")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
