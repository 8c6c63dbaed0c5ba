//! Once a second while the sale runs, for an event whose outflow follows its checkout: the
//! played checkout reports what the crowd experienced over its report window through
//! `POST /v1/admin/events/{event}/checkout-health`, then the admin detail is read for the
//! outflow in force (`outflow_effective_per_second`) and the admissions made so far
//! (`stats.admitted`). After the run the audit log is read for the outflow's changes.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::api::Api;
use crate::checkout_fault::{CheckoutAnswer, FaultyCheckout, HealthFigures};
use crate::clock::RunClock;
use crate::sale::SaleSignal;

/// The audit log's action for a change of the outflow that follows the checkout.
pub const FOLLOW_ACTION: &str = "outflow.follow_checkout";

/// One health report sent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HealthReport {
    /// When it was sent (Unix ms).
    pub at_ms: i64,
    /// The figures sent.
    pub figures: HealthFigures,
    /// The server's answer (0: none).
    pub status: u16,
}

/// The admin detail at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FollowSample {
    /// Midway between sending the read and its answer (Unix ms).
    pub at_ms: i64,
    /// How long the read took, ms: the figures are from some moment within it.
    pub took_ms: i64,
    /// `outflow_effective_per_second`.
    pub effective_per_second: f64,
    /// `stats.admitted`.
    pub admitted: u64,
}

/// The outflow's changes in the audit log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AuditedChanges {
    /// Entries that lowered the outflow.
    pub down: u64,
    /// Entries that raised it.
    pub up: u64,
}

/// Everything watched.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FollowWatch {
    /// The health reports sent, in order.
    pub reports: Vec<HealthReport>,
    /// The admin detail, in order.
    pub samples: Vec<FollowSample>,
    /// Every checkout answer the crowd experienced.
    pub answers: Vec<CheckoutAnswer>,
    /// The outflow's changes the audit log holds for the event (`None`: it could not be read).
    pub audited: Option<AuditedChanges>,
}

/// Reports and samples every second until the run stops.
pub async fn watch_follow(
    api: Api,
    event: String,
    clock: RunClock,
    checkout: Option<Arc<FaultyCheckout>>,
    signal: Arc<watch::Sender<SaleSignal>>,
) -> FollowWatch {
    let mut watched = FollowWatch::default();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !signal.borrow().stop {
        ticks.tick().await;
        if let Some(figures) = checkout.as_ref().and_then(|c| c.figures_now()) {
            let at_ms = clock.now_ms();
            let body = json!({
                "p95_ms": figures.p95_ms,
                "error_rate": figures.error_rate,
                "samples": figures.samples,
            });
            let status = api
                .report_checkout_health(&event, &body)
                .await
                .map_or(0, |reply| reply.status);
            watched.reports.push(HealthReport {
                at_ms,
                figures,
                status,
            });
        }
        let Ok(reply) = api.admin_event(&event).await else {
            continue;
        };
        let effective = reply
            .body
            .get("outflow_effective_per_second")
            .and_then(Value::as_f64);
        let admitted = reply
            .body
            .pointer("/stats/admitted")
            .and_then(Value::as_u64);
        if let (true, Some(effective_per_second), Some(admitted)) =
            (reply.is_success(), effective, admitted)
        {
            let (sent_ms, done_ms) = (clock.ms_at(reply.sent_at), clock.ms_at(reply.done_at));
            watched.samples.push(FollowSample {
                at_ms: (sent_ms + done_ms) / 2,
                took_ms: done_ms - sent_ms,
                effective_per_second,
                admitted,
            });
        }
    }
    watched.answers = checkout.map(|c| c.answers()).unwrap_or_default();
    watched.audited = audited_changes(&api, &event).await;
    watched
}

/// Counts the event's `outflow.follow_checkout` entries in the audit log, down and up.
async fn audited_changes(api: &Api, event: &str) -> Option<AuditedChanges> {
    let reply = api.audit(1_000).await.ok().filter(|r| r.is_success())?;
    let entries = reply.body.get("entries")?.as_array()?;
    Some(count_changes(entries, event))
}

/// Counts `event`'s outflow changes among audit `entries`.
pub fn count_changes(entries: &[Value], event: &str) -> AuditedChanges {
    let rate = |entry: &Value, side: &str| {
        entry
            .pointer(&format!("/{side}/outflow_effective_per_second"))
            .and_then(Value::as_f64)
    };
    let mut changes = AuditedChanges::default();
    for entry in entries.iter().filter(|entry| {
        entry.get("action").and_then(Value::as_str) == Some(FOLLOW_ACTION)
            && entry.get("target").and_then(Value::as_str) == Some(event)
    }) {
        match (rate(entry, "before"), rate(entry, "after")) {
            (Some(before), Some(after)) if after < before => changes.down += 1,
            (Some(_), Some(_)) => changes.up += 1,
            _ => {}
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_events_outflow_changes_are_counted_down_and_up() {
        let entry = |action: &str, target: &str, before: f64, after: f64| {
            json!({
                "action": action,
                "target": target,
                "before": {"outflow_effective_per_second": before},
                "after": {"outflow_effective_per_second": after, "reason": "checkout_healthy"},
            })
        };
        let entries = [
            entry(FOLLOW_ACTION, "sale", 30.0, 15.0),
            entry(FOLLOW_ACTION, "sale", 15.0, 7.5),
            entry(FOLLOW_ACTION, "sale", 7.5, 9.0),
            entry(FOLLOW_ACTION, "other", 30.0, 15.0),
            entry("event.change", "sale", 30.0, 15.0),
        ];
        assert_eq!(
            count_changes(&entries, "sale"),
            AuditedChanges { down: 2, up: 1 }
        );
    }
}
