//! The socket logic over in-memory channels, a scripted store and tokio's paused clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Message;
use futures_channel::mpsc;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::*;
use crate::domain::{Admitted, EventStatus, Identity, Ticket, TicketId, TicketStatus};
use crate::live::scripted_store::ScriptedStore;
use crate::live::{OutflowRegistry, OutflowSettings};

/// A socket under test: what it sends arrives on `frames`, what the client says goes in `client`.
struct OpenSocket {
    store: Arc<ScriptedStore>,
    registry: Arc<OutflowRegistry>,
    frames: mpsc::Receiver<Message>,
    client: mpsc::Sender<Result<Message, Infallible>>,
    task: JoinHandle<SocketEnd>,
}

fn alice() -> Identity {
    Identity::user("alice").unwrap()
}

fn waiting(score: Option<u64>) -> Ticket {
    Ticket {
        ticket_id: TicketId::random(),
        identity: alice(),
        status: TicketStatus::Waiting,
        position: score,
        score,
        joined_at: 0,
        admitted_at: None,
        admission_expires_at: None,
        admission_used: false,
    }
}

fn admitted(ticket: &Ticket) -> Ticket {
    Ticket {
        status: TicketStatus::Admitted,
        position: None,
        admitted_at: Some(1_000),
        admission_expires_at: Some(301_000),
        ..ticket.clone()
    }
}

fn admission_of(ticket: &Ticket) -> Admitted {
    Admitted {
        identity: ticket.identity.clone(),
        ticket_id: ticket.ticket_id,
        admitted_at: 1_000,
        expires_at: 301_000,
    }
}

fn token_for(_event: &EventId, admission: &Admitted) -> Result<String, String> {
    Ok(format!("token-for-{}", admission.ticket_id))
}

async fn open(store: ScriptedStore, ticket: &Ticket, send_buffer: usize) -> OpenSocket {
    open_after(store, ticket, send_buffer, Duration::ZERO).await
}

/// Opens the socket `later` after its event's ticker started.
async fn open_after(
    store: ScriptedStore,
    ticket: &Ticket,
    send_buffer: usize,
    later: Duration,
) -> OpenSocket {
    let store = Arc::new(store);
    let registry = OutflowRegistry::new(store.clone(), OutflowSettings::default());
    let event = EventId::parse("sale").unwrap();
    registry.subscribe(&event).await.unwrap().unwrap();
    tokio::time::sleep(later).await;
    let subscription = registry.subscribe(&event).await.unwrap().unwrap();
    let (sink, frames) = mpsc::channel(send_buffer);
    let (client, stream) = mpsc::channel(8);
    let live = LiveContext {
        store: store.clone(),
        issuer: Arc::new(token_for),
        settings: LiveSettings::default(),
        clock: Arc::new(crate::clock::SystemClock),
        told_on_socket: Default::default(),
    };
    let ticket = ticket.clone();
    let task =
        tokio::spawn(
            async move { run_socket(sink, stream, event, ticket, subscription, &live).await },
        );
    OpenSocket {
        store,
        registry,
        frames,
        client,
        task,
    }
}

async fn open_waiting(store: ScriptedStore, ticket: &Ticket) -> OpenSocket {
    open(store, ticket, 64).await
}

impl OpenSocket {
    /// The next text frame as JSON; waits up to a minute of paused time.
    async fn next_json(&mut self) -> Value {
        match self.next_frame().await {
            Message::Text(text) => serde_json::from_str(text.as_str()).unwrap(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    async fn next_frame(&mut self) -> Message {
        tokio::time::timeout(Duration::from_secs(60), self.frames.next())
            .await
            .expect("a frame within a minute")
            .expect("the socket is open")
    }

    /// Skips frames until one of `kind` arrives.
    async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next_json().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    async fn close_code(&mut self) -> u16 {
        match self.next_frame().await {
            Message::Close(Some(frame)) => frame.code,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

fn queue_of(length: u64, admit_per_drain: u64) -> ScriptedStore {
    let store = ScriptedStore::with_event("sale");
    store.edit(|s| {
        s.queue_length = length;
        s.admit_per_drain = admit_per_drain;
    });
    store
}

#[tokio::test(start_paused = true)]
async fn a_new_socket_hears_the_status_and_its_position() {
    let ticket = waiting(Some(50));
    let mut socket = open_waiting(queue_of(100, 0), &ticket).await;

    let status = socket.next_json().await;
    let position = socket.next_json().await;

    assert_eq!(status, json!({"type": "status", "status": "open"}));
    // The scripted event has no stock left: nothing more can be bought.
    assert_eq!(
        position,
        json!({
            "type": "position", "position": 50, "eta_seconds": 5, "serving": 0,
            "chance_of_success": 0.0,
        })
    );
}

#[tokio::test(start_paused = true)]
async fn a_socket_opened_on_a_still_queue_hears_its_position_at_once() {
    let ticket = waiting(Some(50));
    let mut socket = open_after(queue_of(100, 0), &ticket, 64, Duration::from_secs(5)).await;
    let start = tokio::time::Instant::now();

    let position = socket.next_of("position").await;

    assert_eq!(position["position"], 50);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn the_position_falls_as_the_serving_number_rises() {
    let ticket = waiting(Some(50));
    let mut socket = open_waiting(queue_of(100, 1), &ticket).await;
    let first = socket.next_of("position").await;

    let second = socket.next_of("position").await;

    let (p1, p2) = (first["position"].as_u64(), second["position"].as_u64());
    assert!(p2 < p1, "{first} then {second}");
    assert_eq!(
        second["position"].as_u64().unwrap() + second["serving"].as_u64().unwrap(),
        50
    );
}

#[tokio::test(start_paused = true)]
async fn positions_go_out_at_most_once_a_second() {
    let ticket = waiting(Some(500));
    let mut socket = open_waiting(queue_of(1_000, 1), &ticket).await;
    socket.next_of("position").await;
    let start = tokio::time::Instant::now();

    for _ in 0..3 {
        socket.next_of("position").await;
    }

    assert!(start.elapsed() >= Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn the_admission_goes_out_with_the_drain_that_made_it_and_the_socket_closes() {
    let ticket = waiting(Some(3));
    let mut socket = open_waiting(queue_of(10, 0), &ticket).await;
    socket.next_of("position").await;
    let start = tokio::time::Instant::now();

    socket.store.edit(|s| {
        s.admit_per_drain = 3;
        s.admitted_next = vec![admission_of(&ticket)];
    });
    let admitted = socket.next_of("admitted").await;

    assert!(start.elapsed() <= Duration::from_millis(250));
    assert_eq!(
        admitted["admission_token"],
        format!("token-for-{}", ticket.ticket_id)
    );
    assert_eq!(admitted["admission_expires_at"], "1970-01-01T00:05:01Z");
    assert_eq!(socket.close_code().await, 1000);
    assert_eq!(socket.task.await.unwrap(), SocketEnd::Admitted);
    assert_eq!(socket.store.edit(|s| s.ticket_reads), 0);
}

#[tokio::test(start_paused = true)]
async fn an_admission_made_elsewhere_is_confirmed_by_one_ticket_read() {
    let ticket = waiting(Some(3));
    let store = queue_of(10, 0);
    store.edit(|s| {
        s.tickets.insert(alice(), admitted(&ticket));
    });
    let mut socket = open_waiting(store, &ticket).await;
    socket.next_of("position").await;

    socket.store.edit(|s| s.admit_per_drain = 5);
    let admitted = socket.next_of("admitted").await;

    assert_eq!(
        admitted["admission_token"],
        format!("token-for-{}", ticket.ticket_id)
    );
    assert_eq!(socket.store.edit(|s| s.ticket_reads), 1);
}

#[tokio::test(start_paused = true)]
async fn a_ticket_admitted_before_the_socket_opened_is_handed_over_at_once() {
    let ticket = admitted(&waiting(Some(3)));
    let mut socket = open_waiting(queue_of(0, 0), &ticket).await;

    let first = socket.next_json().await;

    assert_eq!(first["type"], "admitted");
    assert_eq!(socket.close_code().await, 1000);
}

#[tokio::test(start_paused = true)]
async fn a_pause_is_announced() {
    let ticket = waiting(Some(50));
    let mut socket = open_waiting(queue_of(100, 0), &ticket).await;
    socket.next_of("position").await;

    socket.store.edit(|s| s.status = Some(EventStatus::Paused));
    let status = socket.next_of("status").await;

    assert_eq!(status, json!({"type": "status", "status": "paused"}));
}

#[tokio::test(start_paused = true)]
async fn a_ping_is_answered() {
    let ticket = waiting(Some(50));
    let mut socket = open_waiting(queue_of(100, 0), &ticket).await;
    socket.next_of("position").await;

    socket
        .client
        .send(Ok(Message::text(r#"{"type":"ping"}"#)))
        .await
        .unwrap();

    assert_eq!(socket.next_json().await, json!({"type": "pong"}));
}

#[tokio::test(start_paused = true)]
async fn a_still_queue_still_hears_from_the_socket_within_two_seconds() {
    let ticket = waiting(Some(50));
    let mut socket = open_waiting(queue_of(100, 0), &ticket).await;
    socket.next_of("position").await;
    let start = tokio::time::Instant::now();

    let again = socket.next_json().await;

    assert_eq!(again["type"], "position");
    assert!(start.elapsed() <= Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_still_queue_hears_its_position_every_two_seconds_for_a_minute_pongs_aside() {
    let ticket = waiting(Some(5_000));
    let mut socket = open_waiting(queue_of(10_000, 0), &ticket).await;
    socket.next_of("position").await;
    let start = tokio::time::Instant::now();
    let mut last = start;
    let mut longest = Duration::ZERO;
    let mut positions = 0;

    while start.elapsed() < Duration::from_secs(60) {
        // A ping every 700 ms: the pongs must not stand in for the position.
        let ping = Message::text(r#"{"type":"ping"}"#);
        socket.client.send(Ok(ping)).await.unwrap();
        loop {
            let frame = tokio::time::timeout(Duration::from_millis(700), socket.frames.next());
            let Ok(frame) = frame.await else { break };
            let Message::Text(text) = frame.unwrap() else {
                continue;
            };
            if serde_json::from_str::<Value>(text.as_str()).unwrap()["type"] == "position" {
                let now = tokio::time::Instant::now();
                longest = longest.max(now - last);
                last = now;
                positions += 1;
            }
        }
    }

    assert!(
        longest <= Duration::from_secs(2),
        "{longest:?} without a position"
    );
    assert!(positions >= 30, "{positions} positions in a minute");
    assert_eq!(
        socket.store.edit(|s| s.ticket_reads),
        0,
        "no store read per frame"
    );
}

#[tokio::test(start_paused = true)]
async fn a_prequeue_socket_reads_its_ticket_once_after_the_draw() {
    let ticket = waiting(None);
    let store = queue_of(100, 0);
    store.edit(|s| {
        s.status = Some(EventStatus::Prequeue);
        s.tickets.insert(alice(), waiting(Some(42)));
        s.tickets.get_mut(&alice()).unwrap().ticket_id = ticket.ticket_id;
    });
    let mut socket = open_waiting(store, &ticket).await;
    let before = socket.next_of("position").await;

    socket.store.edit(|s| s.status = Some(EventStatus::Open));
    let after = loop {
        let frame = socket.next_of("position").await;
        if !frame["position"].is_null() {
            break frame;
        }
    };
    tokio::time::sleep(Duration::from_secs(5)).await;

    assert_eq!(before["position"], Value::Null);
    assert_eq!(after["position"], 42);
    assert_eq!(socket.store.edit(|s| s.ticket_reads), 1);
}

#[tokio::test(start_paused = true)]
async fn a_lost_place_is_told_and_the_socket_closes() {
    let ticket = waiting(Some(3));
    let store = queue_of(10, 0);
    store.edit(|s| {
        let mut gone = ticket.clone();
        gone.status = TicketStatus::Expired;
        s.tickets.insert(alice(), gone);
    });
    let mut socket = open_waiting(store, &ticket).await;
    socket.next_of("position").await;

    socket.store.edit(|s| s.admit_per_drain = 5);
    let told = socket.next_of("ticket").await;

    assert_eq!(told, json!({"type": "ticket", "status": "expired"}));
    assert_eq!(socket.task.await.unwrap(), SocketEnd::PlaceGone);
}

#[tokio::test(start_paused = true)]
async fn shutdown_tells_the_client_to_go_away_and_come_back() {
    let ticket = waiting(Some(50));
    let mut socket = open_waiting(queue_of(100, 0), &ticket).await;
    socket.next_of("position").await;

    socket.registry.shutdown();
    let code = loop {
        if let Message::Close(Some(frame)) = socket.next_frame().await {
            break frame.code;
        }
    };

    assert_eq!(code, 1001);
    assert_eq!(socket.task.await.unwrap(), SocketEnd::ShuttingDown);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_reads_nothing_is_dropped_not_buffered() {
    let ticket = waiting(Some(5_000));
    let socket = open(queue_of(10_000, 5), &ticket, 0).await;

    let end = tokio::time::timeout(Duration::from_secs(60), socket.task)
        .await
        .expect("the socket ends")
        .unwrap();

    assert_eq!(end, SocketEnd::TooSlow);
}

#[tokio::test(start_paused = true)]
async fn an_open_socket_is_held_by_its_instance_and_released_when_it_closes() {
    let ticket = waiting(Some(50));
    let mut socket = open_waiting(queue_of(100, 0), &ticket).await;
    socket.next_of("position").await;

    // The grace period is 20 s: a heartbeat every 5 s; the opening is told once.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let held = socket.store.edit(|s| s.reports.clone());
    socket.client.send(Ok(Message::Close(None))).await.unwrap();
    // The closing is told with the next heartbeat.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = socket.store.edit(|s| s.reports.clone());

    let opened: Vec<_> = held.iter().flat_map(|r| r.opened.clone()).collect();
    assert_eq!(opened, vec![alice()]);
    assert!(held.len() >= 3, "heartbeats go on: {held:?}");
    assert!(
        held.iter()
            .all(|r| r.instance == *socket.registry.instance())
    );
    let closed: Vec<_> = after.iter().flat_map(|r| r.closed.clone()).collect();
    assert_eq!(closed, vec![alice()]);
}

#[tokio::test(start_paused = true)]
async fn a_client_that_closes_ends_the_socket() {
    let ticket = waiting(Some(50));
    let mut socket = open_waiting(queue_of(100, 0), &ticket).await;
    socket.next_of("position").await;

    socket.client.send(Ok(Message::Close(None))).await.unwrap();

    assert_eq!(socket.task.await.unwrap(), SocketEnd::ClientLeft);
}
