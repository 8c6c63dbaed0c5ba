//! An open event nobody waits in, watches or is admitted to costs the store nothing per second:
//! its ticker rests, the background loops keep its settings and counters, and a join (within the
//! second's activity poll) or an operator's change (at once) wakes it, on this instance or
//! another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::counting_store::CountingStore;
use support::live_app::TestApp;
use support::redis_server::RedisServer;
use waitroom::clock::{Clock, SystemClock};
use waitroom::domain::EventId;
use waitroom::store::memory::MemoryStore;
use waitroom::store::redis::RedisStore;

/// Operations whose calls would say the event is being looked at.
const PER_EVENT: [&str; 4] = ["drain", "event", "stats", "presence"];

async fn create_open_event(app: &TestApp, id: &str) {
    let created = app
        .http
        .post(format!("http://{}/v1/admin/events", app.addr))
        .bearer_auth("test-admin")
        .json(&serde_json::json!({
            "id": id,
            "name": "At rest",
            "starts_at": waitroom::clock::to_rfc3339(SystemClock.now_ms() - 1_000),
            "outflow_per_second": 10,
            "outflow_burst": 5,
            "admission_ttl_seconds": 300,
            "inventory": {"SKU-1": 10},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
}

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

async fn ticket_status(app: &TestApp, event: &str, ticket: &Value, token: &str) -> Value {
    let url = format!(
        "http://{}/v1/events/{event}/tickets/{}",
        app.addr,
        ticket["ticket_id"].as_str().unwrap()
    );
    let read: Value = app
        .http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    read["status"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_at_rest_costs_no_store_call_and_a_join_is_admitted_within_a_second() {
    let store = Arc::new(CountingStore::new(Arc::new(MemoryStore::new(Arc::new(
        SystemClock,
    )))));
    let app = TestApp::spawn(store.clone()).await;
    create_open_event(&app, "resting").await;
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
        status = ticket_status(&app, "resting", &ticket, &token).await;
    }
    assert_eq!(status, "admitted", "after {:?}", joined_at.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_wakes_a_resting_ticker_at_once() {
    let app = TestApp::spawn(Arc::new(MemoryStore::new(Arc::new(SystemClock)))).await;
    create_open_event(&app, "rest-then-pause").await;
    let event: EventId = "rest-then-pause".parse().unwrap();
    first_drain(&app, &event, Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let paused = app
        .http
        .patch(format!(
            "http://{}/v1/admin/events/rest-then-pause",
            app.addr
        ))
        .bearer_auth("test-admin")
        .json(&serde_json::json!({"status": "paused"}))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 200);
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
    let second_store = Arc::new(CountingStore::new(connect().await));
    let second = TestApp::spawn(second_store.clone()).await;

    create_open_event(&first, "two-rest").await;
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
