//! Alerts reach the operator's webhook signed, and a receiver that fails is tried again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use waitroom::admin::webhook::{
    DELIVERY_HEADER, RetryPolicy, SIGNATURE_HEADER, TIMESTAMP_HEADER, Webhook,
};
use waitroom::clock::ManualClock;

/// What the receiver saw of one POST.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Received>>>,
    /// The answers to give, in order; `200` once they run out.
    answers: Arc<Mutex<Vec<StatusCode>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    receiver
        .seen
        .lock()
        .unwrap()
        .push(Received { headers, body });
    let mut answers = receiver.answers.lock().unwrap();
    if answers.is_empty() {
        StatusCode::OK
    } else {
        answers.remove(0)
    }
}

/// A real HTTP receiver on a free local port, answering `answers` then `200`.
async fn receiver(answers: Vec<StatusCode>) -> (String, Receiver) {
    let receiver = Receiver {
        answers: Arc::new(Mutex::new(answers)),
        ..Receiver::default()
    };
    let app = Router::new()
        .route("/alerts", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alerts", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, receiver)
}

fn quick_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        first_delay: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
    }
}

/// What a receiver computes to check an alert: HMAC-SHA256 of `<timestamp>.<body>`.
fn expected_signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn header<'a>(received: &'a Received, name: &str) -> &'a str {
    received.headers.get(name).unwrap().to_str().unwrap()
}

#[tokio::test]
async fn an_alert_is_signed_and_retried_until_the_receiver_takes_it() {
    let (url, receiver) = receiver(vec![
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::INTERNAL_SERVER_ERROR,
    ])
    .await;
    let clock = ManualClock::new(1_790_000_000_123);
    let webhook = Webhook::new(Some("shared-secret"), Arc::new(clock), quick_retries(5));
    let body = br#"{"key":"ip:203.0.113.9","reason":"too many requests"}"#.to_vec();

    let delivered = webhook.deliver("client_banned", &url, body.clone()).await;

    assert!(delivered);
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "two failures, then the delivery");
    for received in &seen {
        assert_eq!(received.body, body);
        assert_eq!(header(received, TIMESTAMP_HEADER), "1790000000");
        assert_eq!(
            header(received, SIGNATURE_HEADER),
            expected_signature(b"shared-secret", "1790000000", &body)
        );
        assert_eq!(header(received, "content-type"), "application/json");
    }
    let delivery = header(&seen[0], DELIVERY_HEADER);
    assert!(seen.iter().all(|r| header(r, DELIVERY_HEADER) == delivery));
    // Another secret does not verify: the receiver can tell a forged alert.
    assert_ne!(
        header(&seen[0], SIGNATURE_HEADER),
        expected_signature(b"other-secret", "1790000000", &body)
    );
}

#[tokio::test]
async fn a_refusal_that_a_retry_cannot_fix_is_not_retried() {
    let (url, receiver) = receiver(vec![StatusCode::BAD_REQUEST]).await;
    let webhook = Webhook::new(Some("s"), Arc::new(ManualClock::new(0)), quick_retries(5));

    let delivered = webhook.deliver("client_banned", &url, b"{}".to_vec()).await;

    assert!(!delivered);
    assert_eq!(receiver.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_gets_the_set_number_of_tries() {
    let (url, receiver) = receiver(vec![StatusCode::SERVICE_UNAVAILABLE; 10]).await;
    let webhook = Webhook::new(None, Arc::new(ManualClock::new(0)), quick_retries(3));

    let delivered = webhook.deliver("client_banned", &url, b"{}".to_vec()).await;

    assert!(!delivered);
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    // Without a secret the alert goes unsigned, still timestamped.
    assert!(seen[0].headers.get(SIGNATURE_HEADER).is_none());
    assert_eq!(header(&seen[0], TIMESTAMP_HEADER), "0");
}
