//! The position socket end to end: a real server on a random port, real WebSockets, the memory
//! store and a private Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use support::counting_store::{CountingStore, counting};
use support::events::sale;
use support::live_app::{SHOP_ORIGIN, Socket, TestApp};
use support::redis_server::RedisServer;
use support::scrape::Scrape;
use support::stores::Backend;
use tokio_tungstenite::tungstenite::Message;
use waitroom::clock::{Clock, SystemClock};
use waitroom::domain::{OperatorStatus, TicketId};
use waitroom::store::QueueStore;
use waitroom::store::memory::MemoryStore;
use waitroom::store::redis::RedisStore;

fn memory_store() -> Arc<CountingStore> {
    Arc::new(counting(Arc::new(MemoryStore::new(Arc::new(SystemClock)))))
}

async fn redis_store(server: &RedisServer) -> Arc<CountingStore> {
    let url = format!("redis://127.0.0.1:{}/", server.port());
    Arc::new(counting(Arc::new(
        RedisStore::connect(&url, None).await.unwrap(),
    )))
}

/// A counting store on `backend`, and the private Redis it runs on (to hold while the test runs).
async fn store_on(backend: Backend) -> (Arc<CountingStore>, Option<RedisServer>) {
    match backend {
        Backend::Memory => (memory_store(), None),
        Backend::Redis => {
            let server = RedisServer::start();
            let store = redis_store(&server).await;
            (store, Some(server))
        }
    }
}

/// An open sale: `per_second` shoppers a second, a burst of one, plenty of stock.
fn open_sale(id: &str, per_second: u64) -> waitroom::domain::EventConfig {
    let mut event = sale(id, SystemClock.now_ms() - 1_000, per_second, 1, 1_000);
    event.abandon_after_seconds = 60;
    event
}

/// A sale whose outflow is paused: shoppers wait, their sockets stay open.
fn paused_sale(id: &str) -> waitroom::domain::EventConfig {
    let mut event = open_sale(id, 1);
    event.operator_status = OperatorStatus::Paused;
    event
}

/// The next text frame as JSON, within `within`.
async fn next_json(socket: &mut Socket, within: Duration) -> Value {
    loop {
        let frame = tokio::time::timeout(within, socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .expect("a readable frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// Frames until one of `kind`, within `within` in all.
async fn next_of(socket: &mut Socket, kind: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = next_json(socket, left).await;
        if frame["type"] == kind {
            return frame;
        }
    }
}

/// The close code the server ends with, within `within`.
async fn close_code(socket: &mut Socket, within: Duration) -> Option<u16> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.next()).await.ok()?? {
            Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

/// `count` shoppers join, in order; their tokens and ticket ids.
async fn line_up(app: &TestApp, event: &str, count: usize) -> Vec<(String, String)> {
    let mut line = Vec::new();
    for n in 0..count {
        let token = app.token(&format!("{event}-shopper-{n}"));
        let ticket = app.join(event, &token).await;
        line.push((token, ticket["ticket_id"].as_str().unwrap().to_owned()));
    }
    line
}

async fn positions_fall_and_the_admission_arrives_within_250_ms(backend: Backend) {
    let (store, _server) = store_on(backend).await;
    let event = &format!("{}-sale", backend.name());
    let app = TestApp::spawn(store.clone()).await;
    let mut config = open_sale(event, 4);
    config.operator_status = OperatorStatus::Paused;
    app.create(&config).await;
    let line = line_up(&app, event, 6).await;
    let (token, ticket) = line.last().unwrap();
    let mut socket = app.socket(event, ticket, token).await;
    let first = next_of(&mut socket, "position", Duration::from_secs(5)).await;

    config.operator_status = OperatorStatus::Auto;
    assert!(store.update_event(&config).await.unwrap());
    let status = next_of(&mut socket, "status", Duration::from_secs(5)).await;
    let later = next_of(&mut socket, "position", Duration::from_secs(5)).await;
    let admitted = next_of(&mut socket, "admitted", Duration::from_secs(10)).await;
    let heard = Instant::now();

    assert_eq!(first["position"], 6);
    assert_eq!(status["status"], "open");
    assert!(later["position"].as_u64().unwrap() < 6, "{later}");
    assert!(admitted["admission_token"].as_str().unwrap().len() > 20);
    assert!(
        admitted["admission_expires_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let drained = store
        .admitted_at(TicketId::parse(ticket).unwrap())
        .expect("a drain admitted the ticket");
    let delay = heard.duration_since(drained);
    assert!(
        delay <= Duration::from_millis(250),
        "heard {delay:?} after the drain"
    );
    assert_eq!(
        close_code(&mut socket, Duration::from_secs(2)).await,
        Some(1000)
    );
}

/// A first try at the checkout is timed under the channel its shopper heard of the admission on:
/// one shopper's page holds a socket, the other's polls its ticket.
#[tokio::test]
async fn the_time_to_the_checkout_is_counted_under_how_the_admission_was_heard() {
    let app = TestApp::spawn(memory_store()).await;
    let event = "reach";
    let mut config = paused_sale(event);
    config.outflow_milli_per_second = 100_000;
    config.outflow_burst = 10;
    app.create(&config).await;
    let line = line_up(&app, event, 2).await;
    let [
        (socket_token, socket_ticket),
        (polling_token, polling_ticket),
    ] = &line[..]
    else {
        unreachable!("two joined")
    };
    let mut socket = app.socket(event, socket_ticket, socket_token).await;
    next_of(&mut socket, "position", Duration::from_secs(5)).await;

    config.operator_status = OperatorStatus::Auto;
    assert!(app.state.store.update_event(&config).await.unwrap());
    let admitted = next_of(&mut socket, "admitted", Duration::from_secs(10)).await;
    let socket_admission = admitted["admission_token"].as_str().unwrap().to_owned();
    let polling_ticket = serde_json::json!({ "ticket_id": polling_ticket });
    let polling_admission = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let read = app.ticket(event, &polling_ticket, polling_token).await;
            if let Some(token) = read["admission_token"].as_str() {
                return token.to_owned();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the polling page read its admission");
    let base = format!("http://{}", app.addr);

    let count = "waitroom_checkout_reach_seconds_count";
    let socket_labels = [("event", event), ("channel", "socket")];
    let polling_labels = [("event", event), ("channel", "polling")];
    let before = Scrape::from(&app.http, &base).await;
    assert_eq!(before.value(count, &socket_labels), 0.0);
    assert_eq!(before.value(count, &polling_labels), 0.0);
    for (token, admission) in [
        (socket_token, &socket_admission),
        (polling_token, &polling_admission),
    ] {
        let reserved = app
            .http
            .post(format!("http://{}/v1/events/{event}/checkout", app.addr))
            .bearer_auth(token)
            .header("Admission-Token", admission)
            .json(&serde_json::json!({ "items": [{ "sku": "TSHIRT", "quantity": 1 }] }))
            .send()
            .await
            .unwrap();
        assert_eq!(reserved.status(), reqwest::StatusCode::CREATED);
    }

    let after = Scrape::from(&app.http, &base).await;
    assert_eq!(after.value(count, &socket_labels), 1.0);
    assert_eq!(after.value(count, &polling_labels), 1.0);
    // Both came within seconds of their admission.
    let bucket = "waitroom_checkout_reach_seconds_bucket";
    for labels in [socket_labels, polling_labels] {
        let within = [labels[0], labels[1], ("le", "30")];
        assert_eq!(after.value(bucket, &within), 1.0, "{labels:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admission_drained_by_another_instance_arrives_within_250_ms_on_redis() {
    let server = RedisServer::start();
    let here_store = redis_store(&server).await;
    let there_store = redis_store(&server).await;
    let here = TestApp::spawn(here_store.clone()).await;
    let there = TestApp::spawn(there_store.clone()).await;
    let mut config = open_sale("two-instances", 2);
    config.operator_status = OperatorStatus::Paused;
    here.create(&config).await;
    // Both instances drain the event from now on: whichever admits the shopper, the socket hears.
    there
        .state
        .outflow
        .subscribe(&config.id)
        .await
        .unwrap()
        .unwrap();
    let line = line_up(&here, "two-instances", 4).await;
    let (token, ticket) = line.last().unwrap();
    let mut socket = here.socket("two-instances", ticket, token).await;
    next_of(&mut socket, "position", Duration::from_secs(5)).await;

    config.operator_status = OperatorStatus::Auto;
    assert!(here_store.update_event(&config).await.unwrap());
    next_of(&mut socket, "admitted", Duration::from_secs(10)).await;
    let heard = Instant::now();

    let ticket = TicketId::parse(ticket).unwrap();
    let drained = [
        here_store.admitted_at(ticket),
        there_store.admitted_at(ticket),
    ]
    .into_iter()
    .flatten()
    .min()
    .expect("a drain admitted the ticket");
    let delay = heard.duration_since(drained);
    assert!(
        delay <= Duration::from_millis(250),
        "heard {delay:?} after the drain"
    );
}

/// Two units, every shopper counted as a buyer until the sale shows otherwise, and shoppers
/// assumed to reach the checkout seconds apart while the line moves one a second (nothing is
/// measured yet): the head of the line is likely to buy, the sixth almost surely not, and the
/// socket says so in its positions.
async fn positions_tell_the_chance_of_success(backend: Backend) {
    let (store, _server) = store_on(backend).await;
    let event = &format!("{}-chance", backend.name());
    let app = TestApp::spawn(store).await;
    let mut config = paused_sale(event);
    config.inventory = [(support::events::tshirt(), 2)].into();
    app.create(&config).await;
    let line = line_up(&app, event, 6).await;
    let (head_token, head_ticket) = &line[0];
    let (last_token, last_ticket) = &line[5];

    let mut head = app.socket(event, head_ticket, head_token).await;
    let mut last = app.socket(event, last_ticket, last_token).await;
    let at_head = next_of(&mut head, "position", Duration::from_secs(5)).await;
    let at_tail = next_of(&mut last, "position", Duration::from_secs(5)).await;

    assert_eq!(at_head["position"], 1);
    let head_chance = at_head["chance_of_success"].as_f64().unwrap_or(-1.0);
    assert!((0.7..=1.0).contains(&head_chance), "{at_head}");
    assert_eq!(at_tail["position"], 6);
    let tail_chance = at_tail["chance_of_success"].as_f64().unwrap_or(-1.0);
    assert!((0.0..0.1).contains(&tail_chance), "{at_tail}");
}

/// An opening window of three seconds, one unit at one a second: a shopper held in the open
/// window hears positions without a chance (its place is only known relative to the others
/// once the window has closed), and a number after the close.
async fn a_socket_held_in_an_open_window_tells_no_chance_until_it_closes(backend: Backend) {
    let (store, _server) = store_on(backend).await;
    let event = &format!("{}-held", backend.name());
    let app = TestApp::spawn(store).await;
    let mut config = open_sale(event, 1);
    config.starts_at = SystemClock.now_ms();
    config.inventory = [(support::events::tshirt(), 1)].into();
    config.arrival_windows = waitroom::queue::ArrivalWindows {
        opening_seconds: 3,
        every_seconds: 0,
        seed: "0123456789abcdef".repeat(4),
        seed_hash: String::new(),
    };
    app.create(&config).await;
    let line = line_up(&app, event, 3).await;
    let closes_at = Instant::now()
        + Duration::from_millis(
            u64::try_from(config.starts_at + 3_000 - SystemClock.now_ms()).unwrap_or(0),
        );
    let mut sockets = Vec::new();
    for (token, ticket) in &line {
        sockets.push(app.socket(event, ticket, token).await);
    }

    for socket in &mut sockets {
        let held = next_of(socket, "position", Duration::from_secs(2)).await;
        assert!(Instant::now() < closes_at, "heard before the close");
        assert_eq!(held["chance_of_success"], Value::Null, "{held}");
    }

    // After the close the positions carry a chance: at first from the place estimated over the
    // window's sparse scores, then, once the outflow reached the window and one of the three is
    // admitted, the two left hear that the unit will most likely go to the one admitted ahead of
    // them (unless they reach the checkout first).
    // (Frames are read one socket after another, so a frame sent before the close may be read
    // after it: what counts is that a chance, once told, is never taken back.)
    let mut told = Vec::new();
    for socket in &mut sockets {
        let deadline = closes_at + Duration::from_secs(6);
        let mut chance_told = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = next_json(socket, left).await;
            if frame["type"] == "admitted" {
                told.push(Value::String("admitted".into()));
                break;
            }
            if frame["type"] != "position" {
                continue;
            }
            let Some(chance) = frame["chance_of_success"].as_f64() else {
                assert!(!chance_told, "a chance taken back: {frame}");
                continue;
            };
            assert!((0.0..=1.0).contains(&chance), "{frame}");
            assert!(
                Instant::now() > closes_at,
                "a chance before the close: {frame}"
            );
            chance_told = true;
            if frame["serving"].as_u64() > Some(0) {
                told.push(frame["chance_of_success"].clone());
                break;
            }
        }
    }
    let admitted = told.iter().filter(|t| *t == "admitted").count();
    assert_eq!(admitted, 1, "{told:?}");
    let chances: Vec<f64> = told.iter().filter_map(Value::as_f64).collect();
    assert_eq!(chances.len(), 2, "{told:?}");
    assert!(chances.iter().all(|chance| *chance < 0.5), "{told:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_shoppers_ticket_is_not_found() {
    let app = TestApp::spawn(memory_store()).await;
    app.create(&paused_sale("private")).await;
    let line = line_up(&app, "private", 2).await;
    let (alice_token, _) = &line[0];
    let (_, bobs_ticket) = &line[1];

    let refused = app
        .open_socket(
            &app.socket_url("private", bobs_ticket, Some(alice_token)),
            &[],
        )
        .await;

    assert_eq!(refused.err(), Some(404));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_without_credentials_is_refused() {
    let app = TestApp::spawn(memory_store()).await;
    app.create(&paused_sale("private")).await;
    let line = line_up(&app, "private", 1).await;

    let refused = app
        .open_socket(&app.socket_url("private", &line[0].1, None), &[])
        .await;

    assert_eq!(refused.err(), Some(401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_other_sites_are_refused_and_allowed_ones_accepted() {
    let app = TestApp::spawn(memory_store()).await;
    app.create(&paused_sale("origins")).await;
    let line = line_up(&app, "origins", 1).await;
    let (token, ticket) = &line[0];
    let url = app.socket_url("origins", ticket, Some(token));
    let own = format!("http://{}", app.addr);

    let evil = app
        .open_socket(&url, &[("origin", "https://evil.example")])
        .await;
    let shop = app.open_socket(&url, &[("origin", SHOP_ORIGIN)]).await;
    let same = app.open_socket(&url, &[("origin", &own)]).await;
    let script = app.open_socket(&url, &[]).await;

    assert_eq!(evil.err(), Some(403));
    assert!(shop.is_ok());
    assert!(same.is_ok());
    assert!(script.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorization_header_opens_the_socket_too() {
    let app = TestApp::spawn(memory_store()).await;
    app.create(&paused_sale("header")).await;
    let line = line_up(&app, "header", 1).await;
    let (token, ticket) = &line[0];

    let bearer = format!("Bearer {token}");
    let opened = app
        .open_socket(
            &app.socket_url("header", ticket, None),
            &[("authorization", &bearer)],
        )
        .await;

    assert!(opened.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_opens_the_socket_with_the_visitor_cookie() {
    let app = TestApp::spawn(memory_store()).await;
    app.create(&paused_sale("anonymous")).await;
    let joined = app
        .http
        .post(format!("http://{}/v1/events/anonymous/tickets", app.addr))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    let cookie = joined.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let ticket: Value = joined.json().await.unwrap();

    let mut socket = app
        .open_socket(
            &app.socket_url("anonymous", ticket["ticket_id"].as_str().unwrap(), None),
            &[("cookie", &cookie)],
        )
        .await
        .unwrap();

    let position = next_of(&mut socket, "position", Duration::from_secs(5)).await;
    assert_eq!(position["position"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_is_answered_with_a_pong() {
    let app = TestApp::spawn(memory_store()).await;
    app.create(&paused_sale("pings")).await;
    let line = line_up(&app, "pings", 1).await;
    let mut socket = app.socket("pings", &line[0].1, &line[0].0).await;
    next_of(&mut socket, "position", Duration::from_secs(5)).await;

    socket
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .unwrap();

    let pong = next_of(&mut socket, "pong", Duration::from_secs(2)).await;
    assert_eq!(pong, serde_json::json!({"type": "pong"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_sockets_with_going_away() {
    let app = TestApp::spawn(memory_store()).await;
    app.create(&paused_sale("goodbye")).await;
    let line = line_up(&app, "goodbye", 1).await;
    let mut socket = app.socket("goodbye", &line[0].1, &line[0].0).await;
    next_of(&mut socket, "position", Duration::from_secs(5)).await;

    let finished = tokio::spawn(app.shut_down(Duration::from_secs(5)));
    let code = close_code(&mut socket, Duration::from_secs(5)).await;
    drop(socket);

    assert_eq!(code, Some(1001));
    assert!(
        finished.await.unwrap(),
        "the server finished after its sockets closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_request_is_told_to_upgrade() {
    let app = TestApp::spawn(memory_store()).await;
    app.create(&paused_sale("plain")).await;
    let line = line_up(&app, "plain", 1).await;

    let response = app
        .http
        .get(
            app.socket_url("plain", &line[0].1, Some(&line[0].0))
                .replace("ws://", "http://"),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 426);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prequeue_socket_learns_its_drawn_place_at_the_start() {
    let store = memory_store();
    let app = TestApp::spawn(store.clone()).await;
    let starts_at = SystemClock.now_ms() + 1_500;
    let mut event = sale("lottery", starts_at, 1, 1, 1_000);
    event.created_at = starts_at - 60_000;
    // Nobody is let through: whatever place the draw gives, the socket stays to tell it.
    event.operator_status = OperatorStatus::Paused;
    app.create(&event).await;
    let line = line_up(&app, "lottery", 3).await;
    let (token, ticket) = &line[1];
    let mut socket = app.socket("lottery", ticket, token).await;

    let before = next_of(&mut socket, "position", Duration::from_secs(5)).await;
    let drawn = loop {
        let frame = next_of(&mut socket, "position", Duration::from_secs(10)).await;
        if !frame["position"].is_null() {
            break frame;
        }
    };

    assert_eq!(before["position"], Value::Null);
    let place = drawn["position"].as_u64().unwrap();
    assert!((1..=3).contains(&place), "{drawn}");
    assert!(
        store.calls("ticket") <= 3 + 1 + 1,
        "one read per join, one at the handshake, one after the draw: {:?}",
        store.all_calls()
    );
}

#[tokio::test]
async fn an_event_created_through_the_admin_api_admits_at_once_without_waiting_for_discovery() {
    let app = TestApp::spawn(memory_store()).await;
    app.create_open_sale("fresh-sale", 10, 5).await;
    let token = app.token("early-bird");
    let ticket = app.join("fresh-sale", &token).await;

    // Discovery runs every few seconds; the creating instance must not wait for it.
    let deadline = Instant::now() + Duration::from_millis(1_500);
    let mut status = Value::Null;
    while Instant::now() < deadline {
        status = app.ticket("fresh-sale", &ticket, &token).await["status"].clone();
        if status == "admitted" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "admitted");
}

/// An operator pauses an event whose ticker idles (nobody waits, nobody watches, so it drains
/// once a second): a socket opened right after is told the pause, never the open status the last
/// drain saw. Ten rounds, so a ticker that only notices at its next idle drain would be caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_opened_right_after_a_pause_is_told_paused_not_the_status_before() {
    let app = TestApp::spawn(memory_store()).await;
    for round in 0..10 {
        let event = format!("pause-now-{round}");
        app.create_open_sale(&event, 1, 1).await;
        // The ticker's first drain sees the event open.
        let deadline = Instant::now() + Duration::from_secs(2);
        while app
            .state
            .outflow
            .snapshot(&event.parse().unwrap())
            .and_then(|s| s.status)
            != Some(waitroom::domain::EventStatus::Open)
        {
            assert!(
                Instant::now() < deadline,
                "the first drain sees the event open"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        app.set_status(&event, "paused").await;
        let line = line_up(&app, &event, 1).await;
        let mut socket = app.socket(&event, &line[0].1, &line[0].0).await;
        let status = next_of(&mut socket, "status", Duration::from_secs(5)).await;
        assert_eq!(status["status"], "paused", "round {round}: {status}");
    }
}

/// Every socket of a queue that does not move hears its position at least every 2 s, and the
/// frames come from the shared snapshot: no store read per socket. Run on tokio's paused clock,
/// which jumps to the next timer whenever server and clients are idle: a minute passes at once.
#[tokio::test(start_paused = true)]
async fn every_socket_of_a_still_queue_hears_its_position_at_least_every_two_seconds() {
    let store = memory_store();
    let app = TestApp::spawn(store.clone()).await;
    app.create(&paused_sale("still")).await;
    let line = line_up(&app, "still", 5).await;
    let mut sockets = Vec::new();
    for (token, ticket) in &line {
        let mut socket = app.socket("still", ticket, token).await;
        next_of_paused(&mut socket, "position").await;
        sockets.push(socket);
    }
    let reads_before = store.calls("ticket");
    let start = tokio::time::Instant::now();

    // Each client reads on its own, as pages do, and notes its longest wait for a position.
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut last = start;
                let mut longest = Duration::ZERO;
                while last - start < Duration::from_secs(60) {
                    next_of_paused(&mut socket, "position").await;
                    let now = tokio::time::Instant::now();
                    longest = longest.max(now - last);
                    last = now;
                }
                longest
            })
        })
        .collect();
    let mut gaps = Vec::new();
    for reader in readers {
        gaps.push(reader.await.unwrap());
    }

    assert!(
        gaps.iter().all(|gap| *gap <= Duration::from_secs(2)),
        "longest silences: {gaps:?}"
    );
    assert_eq!(
        store.calls("ticket"),
        reads_before,
        "no store read per frame"
    );
}

/// The next frame of `kind` on tokio's (paused) clock; a minute of it at most.
async fn next_of_paused(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .expect("a readable frame");
        if let Message::Text(text) = frame {
            let json: Value = serde_json::from_str(text.as_str()).unwrap();
            if json["type"] == kind {
                return json;
            }
        }
    }
}

async fn a_crowd_reading_the_public_state_costs_the_store_one_read_a_second(backend: Backend) {
    let (store, _server) = store_on(backend).await;
    let app = TestApp::spawn(store.clone()).await;
    app.create(&open_sale("snapshot", 5)).await;
    let before = store.calls("stats");
    let started = std::time::Instant::now();
    for _ in 0..300 {
        let response = app
            .http
            .get(format!("http://{}/v1/events/snapshot", app.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
    }
    let seconds = started.elapsed().as_secs() + 1;
    // Without the snapshot every page read is a stats read; with it, one a second, plus the
    // background readers' own (the dashboard's live figures, the outflow), whatever the load.
    let reads = store.calls("stats") - before;
    assert!(
        reads < 100,
        "{reads} stats reads for 300 page reads in {seconds} s"
    );
}

crate::on_both_stores!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    positions_fall_and_the_admission_arrives_within_250_ms,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    positions_tell_the_chance_of_success,
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    a_socket_held_in_an_open_window_tells_no_chance_until_it_closes,
    #[tokio::test]
    a_crowd_reading_the_public_state_costs_the_store_one_read_a_second,
);
