//! Ban alerts: every ban is a structured warning in the log, a `waitroom_ratelimit_bans_total`
//! metric, and, when a webhook URL is configured, a JSON POST to it.
//!
//! The webhook is posted in the background: a slow or dead receiver never holds up a request.

use std::time::Duration;

use serde::Serialize;

use crate::clock::{UnixMillis, to_rfc3339};
use crate::telemetry::redact::url_origin;

/// One ban, as alerted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BanAlert {
    /// The banned client key.
    pub key: String,
    /// Why.
    pub reason: String,
    /// The client's bans so far, this one included.
    pub count: i64,
    /// When it ends (RFC 3339).
    pub until: String,
    /// The rule whose violations started it (none for an operator's ban).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl BanAlert {
    /// An alert for a ban of `key` until `until_ms`.
    pub fn new(
        key: &str,
        reason: &str,
        count: i64,
        until_ms: UnixMillis,
        rule: Option<&str>,
    ) -> Self {
        Self {
            key: key.to_owned(),
            reason: reason.to_owned(),
            count,
            until: to_rfc3339(until_ms),
            rule: rule.map(str::to_owned),
        }
    }
}

/// Sends ban alerts.
#[derive(Debug, Clone)]
pub struct Alerter {
    http: reqwest::Client,
}

impl Default for Alerter {
    fn default() -> Self {
        Self::new()
    }
}

impl Alerter {
    /// An alerter with a short webhook timeout.
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self { http }
    }

    /// Logs, counts and (if `webhook_url` is set) posts the alert.
    pub fn raise(&self, alert: BanAlert, webhook_url: Option<&str>) {
        tracing::warn!(
            alert = "client_banned",
            key = %alert.key,
            reason = %alert.reason,
            count = alert.count,
            until = %alert.until,
            rule = alert.rule.as_deref().unwrap_or(""),
            "client banned"
        );
        metrics::counter!("waitroom_ratelimit_bans_total").increment(1);
        let Some(url) = webhook_url.map(str::to_owned) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let http = self.http.clone();
        runtime.spawn(async move {
            let sent = http.post(&url).json(&alert).send().await;
            // The webhook's path is its credential: logs name its origin only, and the error
            // without the URL it would quote.
            let origin = url_origin(&url);
            match sent.map(|response| response.status()) {
                Ok(status) if status.is_success() => {}
                Ok(status) => {
                    tracing::warn!(url = %origin, %status, "ban webhook refused the alert")
                }
                Err(error) => {
                    let error = error.without_url();
                    tracing::warn!(url = %origin, %error, "ban webhook unreachable")
                }
            }
        });
    }
}
