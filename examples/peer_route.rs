//! The in-process peer's join, as a baseline for waitroom's joins on the memory store: the
//! design of zegevlier/waitingroom's single-node room, written here in a few lines so that
//! `load/bench` can build and measure it on a machine that reaches only crates.io.
//!
//! A join is what that room does for a request without a ticket cookie: a ticket with a random
//! 64-bit id and the join time, put in a `BTreeMap` ordered by (join time, id) behind one
//! mutex, and handed back as a signed cookie (HMAC-SHA256 of the ticket's JSON) with a
//! `Refresh` header and a line of text. No identity, no rate limit, no durability, no
//! validation: what waitroom does beyond this is what the ratio measures.
//!
//! `cargo run --release --example peer_route -- 127.0.0.1:PORT`

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{HeaderName, HeaderValue, SET_COOKIE};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// The peer's ticket, field for field: what its cookie carries.
#[derive(Clone, Copy, Serialize)]
struct Ticket {
    ticket_type: &'static str,
    identifier: u64,
    join_time: u128,
    next_refresh_time: u128,
    expiry_time: u128,
    node_id: u64,
    previous_position_estimate: usize,
    eviction_time: Option<u128>,
}

struct Room {
    queue: Mutex<BTreeMap<(u128, u64), Ticket>>,
    cookie_key: [u8; 32],
}

const REFRESH_MS: u128 = 1_000;
const EXPIRY_MS: u128 = 5_000;

async fn join(State(room): State<Arc<Room>>) -> Response {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or_default();
    let ticket = Ticket {
        ticket_type: "Normal",
        identifier: rand::random(),
        join_time: now,
        next_refresh_time: now + REFRESH_MS,
        expiry_time: now + EXPIRY_MS,
        node_id: 0,
        previous_position_estimate: usize::MAX,
        eviction_time: None,
    };
    room.queue
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert((ticket.join_time, ticket.identifier), ticket);
    let value = serde_json::to_string(&ticket).unwrap_or_default();
    // HMAC takes a key of any length: this never refuses.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&room.cookie_key) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    mac.update(value.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let cookie = format!("ticket={signature}{value}; HttpOnly; Secure");
    let cookie = HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static("ticket="));
    (
        [
            (SET_COOKIE, cookie),
            (
                HeaderName::from_static("refresh"),
                HeaderValue::from_static("1"),
            ),
            (
                HeaderName::from_static("x-wr-status"),
                HeaderValue::from_static("NewTicket"),
            ),
        ],
        "New ticket! Refreshing now...",
    )
        .into_response()
}

fn main() -> std::io::Result<()> {
    let listen: SocketAddr = match std::env::args().nth(1).map(|text| text.parse()) {
        Some(Ok(address)) => address,
        Some(Err(error)) => {
            eprintln!("peer_route: the address to listen on is not valid: {error}");
            std::process::exit(2);
        }
        None => SocketAddr::from(([127, 0, 0, 1], 8082)),
    };
    let room = Arc::new(Room {
        queue: Mutex::new(BTreeMap::new()),
        cookie_key: rand::random(),
    });
    tokio::runtime::Runtime::new()?.block_on(async move {
        let router = Router::new().fallback(any(join)).with_state(room);
        let listener = tokio::net::TcpListener::bind(listen).await?;
        axum::serve(listener, router).await
    })
}
