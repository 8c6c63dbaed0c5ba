//! A real HTTP receiver of webhook alerts on a free local port: it checks every POST's signature
//! with the shared secret, answers `500` to the first try of each delivery (to see the retry),
//! and keeps what it took.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One delivery the receiver took (after refusing its first try).
#[derive(Debug, Clone)]
pub struct Taken {
    /// The alert.
    pub alert: Value,
    /// Tries it took, the refused first one included.
    pub tries: u32,
}

#[derive(Default)]
struct Seen {
    /// Per delivery id: tries so far, and the alert once taken.
    deliveries: Vec<(String, u32, Option<Value>)>,
    /// POSTs whose signature did not verify.
    forged: u32,
}

/// The receiver; its URL goes into `[alerts] webhook_url`.
#[derive(Clone)]
pub struct AlertReceiver {
    pub url: String,
    secret: Arc<[u8]>,
    seen: Arc<Mutex<Seen>>,
}

impl AlertReceiver {
    /// Starts a receiver that trusts alerts signed with `secret`.
    pub async fn start(secret: &str) -> AlertReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = AlertReceiver {
            url: format!("http://{}/alerts", listener.local_addr().unwrap()),
            secret: Arc::from(secret.as_bytes()),
            seen: Arc::default(),
        };
        let app = Router::new()
            .route("/alerts", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    /// The deliveries taken so far.
    pub fn taken(&self) -> Vec<Taken> {
        let seen = self.seen.lock().unwrap();
        assert_eq!(seen.forged, 0, "an alert whose signature did not verify");
        seen.deliveries
            .iter()
            .filter_map(|(_, tries, alert)| {
                alert.clone().map(|alert| Taken {
                    alert,
                    tries: *tries,
                })
            })
            .collect()
    }

    /// Waits (at most five seconds) until `n` deliveries were taken, then a little longer to
    /// see that no other comes; answers them.
    pub async fn wait_for(&self, n: usize) -> Vec<Taken> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.taken().len() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Retries are 20 ms apart in these tests: a duplicate would show within this.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.taken()
    }
}

fn verifies(secret: &[u8], headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(signature)) =
        (header("Waitroom-Timestamp"), header("Waitroom-Signature"))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    signature == format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn receive(
    State(receiver): State<AlertReceiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut seen = receiver.seen.lock().unwrap();
    if !verifies(&receiver.secret, &headers, &body) {
        seen.forged += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let delivery = headers
        .get("Waitroom-Delivery")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let index = match seen.deliveries.iter().position(|(id, ..)| *id == delivery) {
        Some(index) => index,
        None => {
            seen.deliveries.push((delivery, 0, None));
            seen.deliveries.len() - 1
        }
    };
    let entry = &mut seen.deliveries[index];
    entry.1 += 1;
    if entry.1 == 1 {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    entry.2 = serde_json::from_slice(&body).ok();
    StatusCode::OK
}
