//! Alerts posted to the operator's webhook, signed so the receiver can trust them, and retried.
//!
//! Every POST carries the JSON alert as its body and three headers:
//!
//! * `Waitroom-Timestamp`: unix seconds when the alert was first sent (the same on retries);
//! * `Waitroom-Signature`: `v1=` and the lowercase hex HMAC-SHA256, keyed with the shared secret
//!   (`WAITROOM_WEBHOOK_SECRET`), of `<timestamp> + "." + <body>`; the receiver recomputes it and
//!   refuses a timestamp older than a few minutes, so a captured alert cannot be replayed later;
//! * `Waitroom-Delivery`: an id that stays the same across retries of one alert (deduplication).
//!
//! A delivery that fails (unreachable, a timeout, `429` or a `5xx`) is tried again after
//! `first_delay`, then twice as long each time, up to `attempts` tries in all; any other answer
//! ends it. Deliveries run in the background: a slow receiver never holds up a request.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::clock::{Clock, SystemClock};
use crate::redact::url_origin;

/// The header with the send time in unix seconds.
pub const TIMESTAMP_HEADER: &str = "Waitroom-Timestamp";
/// The header with `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "Waitroom-Signature";
/// The header with the delivery's id, the same on every retry.
pub const DELIVERY_HEADER: &str = "Waitroom-Delivery";

/// How often and how patiently a delivery is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The wait before the second try; each later wait doubles.
    pub first_delay: Duration,
    /// How long one try may take.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// Five tries over about 15 seconds (1, 2, 4 and 8 s apart), 5 s each.
    fn default() -> Self {
        Self {
            attempts: 5,
            first_delay: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
        }
    }
}

/// The signature of `body` sent at `timestamp` (unix seconds) under `secret`: what the
/// `Waitroom-Signature` header carries.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot refuse one.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts alerts to webhooks: signed when a secret is set, retried on failure.
#[derive(Clone)]
pub struct Webhook {
    http: reqwest::Client,
    secret: Option<Arc<[u8]>>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Webhook {
    /// Never the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("signed", &self.secret.is_some())
            .field("retry", &self.retry)
            .finish()
    }
}

impl Default for Webhook {
    /// Unsigned, on the system clock, with the default retries.
    fn default() -> Self {
        Self::new(None, Arc::new(SystemClock), RetryPolicy::default())
    }
}

impl Webhook {
    /// A webhook sender signing with `secret` (none: unsigned) and timestamping with `clock`.
    pub fn new(secret: Option<&str>, clock: Arc<dyn Clock>, retry: RetryPolicy) -> Self {
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .build()
            .unwrap_or_default();
        Self {
            http,
            secret: secret.map(|secret| Arc::from(secret.as_bytes())),
            clock,
            retry,
        }
    }

    /// Sends `body` (JSON) to `url` in the background; `kind` names the alert in the logs.
    pub fn post(&self, kind: &'static str, url: &str, body: Vec<u8>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let webhook = self.clone();
        let url = url.to_owned();
        runtime.spawn(async move { webhook.deliver(kind, &url, body).await });
    }

    /// Sends `body` to `url`, retrying as the policy says; `true` when the receiver took it.
    pub async fn deliver(&self, kind: &'static str, url: &str, body: Vec<u8>) -> bool {
        let timestamp = self.clock.now_ms().div_euclid(1000);
        let delivery = uuid::Uuid::new_v4().to_string();
        let signed = self
            .secret
            .as_ref()
            .map(|secret| signature(secret, timestamp, &body));
        // The webhook's path may be its credential: logs name its origin only, and errors
        // without the URL they would quote.
        let origin = url_origin(url);
        let mut delay = self.retry.first_delay;
        for attempt in 1..=self.retry.attempts.max(1) {
            let mut request = self
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .header(DELIVERY_HEADER, &delivery)
                .body(body.clone());
            if let Some(signed) = &signed {
                request = request.header(SIGNATURE_HEADER, signed);
            }
            let retry = match request.send().await.map(|response| response.status()) {
                Ok(status) if status.is_success() => return true,
                Ok(status) if status.is_server_error() || status.as_u16() == 429 => {
                    tracing::warn!(kind, url = %origin, %status, attempt, "webhook refused the alert");
                    true
                }
                Ok(status) => {
                    tracing::warn!(kind, url = %origin, %status, "webhook refused the alert for good");
                    false
                }
                Err(error) => {
                    let error = error.without_url();
                    tracing::warn!(kind, url = %origin, %error, attempt, "webhook unreachable");
                    true
                }
            };
            if !retry || attempt == self.retry.attempts {
                break;
            }
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
        metrics::counter!("waitroom_webhook_failures_total", "kind" => kind).increment(1);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // python3 -c "import hmac,hashlib;print(hmac.new(b'key',b'1700000000.{}',hashlib.sha256).hexdigest())"
        assert_eq!(
            signature(b"key", 1_700_000_000, b"{}"),
            "v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
