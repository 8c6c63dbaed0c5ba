//! Socket tickets end to end: a page asks for one with its credentials in a header, and opens the
//! position socket with it in the URL, once, instead of its long-lived token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use support::events::sale;
use support::live_app::TestApp;
use waitroom::clock::{Clock, SystemClock};
use waitroom::domain::OperatorStatus;
use waitroom::store::memory::MemoryStore;

/// A paused sale (shoppers wait, sockets stay open) with one shopper in line: its token and ticket.
async fn one_shopper_waiting(app: &TestApp, event: &str) -> (String, String) {
    let mut config = sale(event, SystemClock.now_ms() - 1_000, 1, 1, 100);
    config.operator_status = OperatorStatus::Paused;
    app.create(&config).await;
    let token = app.token(&format!("{event}-shopper"));
    let ticket = app.join(event, &token).await;
    (token, ticket["ticket_id"].as_str().unwrap().to_owned())
}

async fn spawn() -> TestApp {
    TestApp::spawn(Arc::new(MemoryStore::new(Arc::new(SystemClock)))).await
}

/// `POST …/socket-ticket` as `token` (none: no credentials at all).
async fn ask_socket_ticket(
    app: &TestApp,
    event: &str,
    ticket: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let url = format!(
        "http://{}/v1/events/{event}/tickets/{ticket}/socket-ticket",
        app.addr
    );
    let request = app.http.post(url);
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap()
}

async fn socket_ticket(app: &TestApp, event: &str, ticket: &str, token: &str) -> String {
    let response = ask_socket_ticket(app, event, ticket, Some(token)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert!(body["expires_at"].as_str().is_some_and(|at| !at.is_empty()));
    body["socket_ticket"].as_str().unwrap().to_owned()
}

fn url_with_ticket(app: &TestApp, event: &str, ticket: &str, socket_ticket: &str) -> String {
    format!(
        "ws://{}/v1/events/{event}/tickets/{ticket}/ws?ticket={socket_ticket}",
        app.addr
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_ticket_opens_the_socket_once() {
    let app = spawn().await;
    let (token, ticket) = one_shopper_waiting(&app, "tickets-once").await;
    let pass = socket_ticket(&app, "tickets-once", &ticket, &token).await;
    let url = url_with_ticket(&app, "tickets-once", &ticket, &pass);

    let first = app.open_socket(&url, &[]).await;
    let again = app.open_socket(&url, &[]).await;

    assert!(first.is_ok(), "the socket ticket opens the socket");
    assert_eq!(again.err(), Some(401), "a spent socket ticket is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_ticket_spent_on_one_instance_is_refused_by_another() {
    let redis = support::redis_server::RedisServer::start();
    let key_file = std::env::temp_dir().join(format!("waitroom-key-{}.pem", uuid::Uuid::new_v4()));
    std::fs::write(
        &key_file,
        waitroom::admission::SigningKeys::generate_pem().unwrap(),
    )
    .unwrap();
    let store = || async {
        let store: Arc<dyn waitroom::store::QueueStore> = Arc::new(
            waitroom::store::redis::RedisStore::connect(&redis.url(), None)
                .await
                .unwrap(),
        );
        store
    };
    let first = TestApp::spawn_with_key_file(store().await, Some(key_file.clone())).await;
    let second = TestApp::spawn_with_key_file(store().await, Some(key_file)).await;
    let (token, ticket) = one_shopper_waiting(&first, "tickets-shared").await;
    let pass = socket_ticket(&first, "tickets-shared", &ticket, &token).await;

    let opened = first
        .open_socket(
            &url_with_ticket(&first, "tickets-shared", &ticket, &pass),
            &[],
        )
        .await;
    let replayed = second
        .open_socket(
            &url_with_ticket(&second, "tickets-shared", &ticket, &pass),
            &[],
        )
        .await;

    assert!(
        opened.is_ok(),
        "the socket ticket opens the socket on the first instance"
    );
    assert_eq!(
        replayed.err(),
        Some(401),
        "the second instance refuses a socket ticket the first one spent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_ticket_opens_only_the_socket_of_its_own_ticket() {
    let app = spawn().await;
    let (token, ticket) = one_shopper_waiting(&app, "tickets-own").await;
    let bob = app.token("tickets-own-bob");
    let bobs_ticket = app.join("tickets-own", &bob).await["ticket_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alices_pass = socket_ticket(&app, "tickets-own", &ticket, &token).await;

    let refused = app
        .open_socket(
            &url_with_ticket(&app, "tickets-own", &bobs_ticket, &alices_pass),
            &[],
        )
        .await;

    assert_eq!(refused.err(), Some(401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_ticket_of_someone_elses_queue_ticket_opens_nothing() {
    let app = spawn().await;
    let (_, alices_ticket) = one_shopper_waiting(&app, "tickets-foreign").await;
    let mallory = app.token("tickets-foreign-mallory");
    let pass = socket_ticket(&app, "tickets-foreign", &alices_ticket, &mallory).await;

    let refused = app
        .open_socket(
            &url_with_ticket(&app, "tickets-foreign", &alices_ticket, &pass),
            &[],
        )
        .await;

    assert_eq!(
        refused.err(),
        Some(404),
        "the queue ticket is not mallory's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_ticket_needs_credentials_and_a_forged_one_is_refused() {
    let app = spawn().await;
    let (token, ticket) = one_shopper_waiting(&app, "tickets-creds").await;

    let anonymous = ask_socket_ticket(&app, "tickets-creds", &ticket, None).await;
    let forged = app
        .open_socket(
            &url_with_ticket(&app, "tickets-creds", &ticket, &token),
            &[],
        )
        .await;

    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let problem: Value = anonymous.json().await.unwrap();
    assert_eq!(problem["code"], "unauthenticated");
    assert_eq!(
        forged.err(),
        Some(401),
        "a user token is not a socket ticket"
    );
}
