//! Ban alerts: every ban is a structured warning in the log, a `waitroom_ratelimit_bans_total`
//! metric, and, when a webhook URL is configured, a JSON POST to it.
//!
//! The webhook is posted in the background, signed and retried ([`Webhook`]): a slow or dead
//! receiver never holds up a request.

use serde::Serialize;

use crate::admin::webhook::Webhook;
use crate::clock::{UnixMillis, to_rfc3339};

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
#[derive(Debug, Clone, Default)]
pub struct Alerter {
    webhook: Webhook,
}

impl Alerter {
    /// An alerter posting through `webhook` (signed when it has a secret, retried).
    pub fn new(webhook: Webhook) -> Self {
        Self { webhook }
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
        let Some(url) = webhook_url else {
            return;
        };
        match serde_json::to_vec(&alert) {
            Ok(body) => self.webhook.post("client_banned", url, body),
            Err(error) => tracing::warn!(%error, "ban alert not encoded"),
        }
    }
}
