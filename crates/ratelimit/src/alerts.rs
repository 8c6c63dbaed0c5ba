//! Alerts: every one is a structured warning in the log, a `waitroom_alerts_total{kind}` metric,
//! and, when a webhook URL is configured (`[alerts] webhook_url` of the rules), a JSON POST.
//!
//! One [`Alert`] type, its `kind` field naming what happened: `client_banned`,
//! `adaptive_tightening`, `sold_out`, `store_down`, `store_back` and `outflow_backoff`. The body
//! is the alert's fields with `kind` and `at` (when it was raised, RFC 3339).
//!
//! A fact of one instance (a ban it started, its outflow backing off) is alerted by that
//! instance. A fact of the whole cluster (an event sold out, the store down or back) is seen by
//! every instance at once, so the first to claim it in the store ([`Alert::claim`]) sends it and
//! the others stay quiet. A store that cannot be reached cannot be claimed in: `store_down` is
//! then sent by every instance that sees the outage, which is better than by none.
//!
//! The webhook is posted in the background, signed and retried ([`Webhook`]): a slow or dead
//! receiver never holds up a request.

use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::{UnixMillis, to_rfc3339};
use crate::metric_names::RATELIMIT_BANS;
use crate::webhook::Webhook;

/// One ban, as alerted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
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

/// Something an operator should hear about at once: the body POSTed to the alert webhook
/// (`[alerts] webhook_url` of the rate-limit rules), with `at` (RFC 3339) added, signed with
/// `Waitroom-Signature` (HMAC-SHA256 of `<Waitroom-Timestamp>.<body>`) and retried on failure.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    /// A client was banned, by the limiter or by an operator.
    ClientBanned(BanAlert),
    /// A rule's limit was tightened because its traffic ran far above its baseline.
    AdaptiveTightening {
        /// The rule.
        rule: String,
        /// The share of its limit in force (below 1).
        factor: f64,
    },
    /// An event sold its last unit.
    SoldOut {
        /// The event.
        event: String,
    },
    /// The store stopped answering.
    StoreDown {
        /// What failed, without credentials.
        error: String,
    },
    /// The store answers again.
    StoreBack {
        /// How long it was away, as this instance saw it.
        down_seconds: f64,
    },
    /// An event's outflow backed off below the operator's rate because the checkout degraded.
    OutflowBackoff {
        /// The event.
        event: String,
        /// The outflow now, shoppers per second.
        outflow_per_second: f64,
        /// The operator's set rate it never exceeds.
        set_outflow_per_second: f64,
        /// What the checkout showed (e.g. `p95 2.4 s over 1.0 s`).
        reason: String,
    },
}

/// A claim that makes a cluster-wide alert go out once: its key in the store and how long it
/// holds (a second claim within that time is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertClaim {
    /// Names the fact (`sold_out:<event>`, `store_down`, `store_back`).
    pub key: String,
    /// How long the fact stays claimed.
    pub hold_ms: i64,
}

/// How long a sold-out event stays claimed: stock returned by unpaid reservations and sold
/// again within it is not alerted twice.
const SOLD_OUT_HOLD_MS: i64 = 3_600_000;
/// How long an outage or a recovery stays claimed: longer than instances take to notice it.
const STORE_HOLD_MS: i64 = 60_000;

impl Alert {
    /// The `kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ClientBanned(_) => "client_banned",
            Self::AdaptiveTightening { .. } => "adaptive_tightening",
            Self::SoldOut { .. } => "sold_out",
            Self::StoreDown { .. } => "store_down",
            Self::StoreBack { .. } => "store_back",
            Self::OutflowBackoff { .. } => "outflow_backoff",
        }
    }

    /// The claim a cluster-wide fact is sent under; `None` for a fact of one instance.
    pub fn claim(&self) -> Option<AlertClaim> {
        let (key, hold_ms) = match self {
            Self::SoldOut { event } => (format!("sold_out:{event}"), SOLD_OUT_HOLD_MS),
            Self::StoreDown { .. } => ("store_down".to_owned(), STORE_HOLD_MS),
            Self::StoreBack { .. } => ("store_back".to_owned(), STORE_HOLD_MS),
            _ => return None,
        };
        Some(AlertClaim { key, hold_ms })
    }

    /// The webhook's body: the alert's fields, `kind`, and `at`.
    pub fn body(&self, at_ms: UnixMillis) -> Result<Vec<u8>, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        if let Some(fields) = value.as_object_mut() {
            fields.insert("at".to_owned(), to_rfc3339(at_ms).into());
        }
        serde_json::to_vec(&value)
    }
}

impl From<BanAlert> for Alert {
    fn from(ban: BanAlert) -> Self {
        Self::ClientBanned(ban)
    }
}

/// Sends alerts.
#[derive(Debug, Clone, Default)]
pub struct Alerter {
    webhook: Webhook,
}

impl Alerter {
    /// An alerter posting through `webhook` (signed when it has a secret, retried).
    pub fn new(webhook: Webhook) -> Self {
        Self { webhook }
    }

    /// Logs, counts and (if `webhook_url` is set) posts the alert, raised at `at_ms`.
    pub fn raise(&self, alert: impl Into<Alert>, webhook_url: Option<&str>, at_ms: UnixMillis) {
        let alert = alert.into();
        let kind = alert.kind();
        tracing::warn!(alert = kind, details = ?alert, "alert");
        metrics::counter!("waitroom_alerts_total", "kind" => kind).increment(1);
        if let Alert::ClientBanned(_) = alert {
            metrics::counter!(RATELIMIT_BANS).increment(1);
        }
        let Some(url) = webhook_url else {
            return;
        };
        match alert.body(at_ms) {
            Ok(body) => self.webhook.post(kind, url, body),
            Err(error) => tracing::warn!(%error, kind, "alert not encoded"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_alert_body_names_its_kind_and_keeps_a_bans_fields() {
        let ban = Alert::from(BanAlert::new("ip:192.0.2.1", "r", 2, 0, Some("api")));
        let body: serde_json::Value = serde_json::from_slice(&ban.body(0).unwrap()).unwrap();
        assert_eq!(body["kind"], "client_banned");
        assert_eq!(body["key"], "ip:192.0.2.1");
        assert_eq!(body["rule"], "api");
        assert_eq!(body["at"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn only_facts_of_the_whole_cluster_are_claimed() {
        let sold_out = Alert::SoldOut { event: "s".into() };
        assert_eq!(sold_out.claim().unwrap().key, "sold_out:s");
        let backoff = Alert::OutflowBackoff {
            event: "s".into(),
            outflow_per_second: 5.0,
            set_outflow_per_second: 50.0,
            reason: "slow".into(),
        };
        assert_eq!(backoff.claim(), None);
    }
}
