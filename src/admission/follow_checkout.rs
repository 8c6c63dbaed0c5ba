//! The outflow that follows the checkout: about once a second, each event with a
//! `checkout_target` has its checkout's health judged and its outflow stepped by the policy of
//! [`crate::queue::backoff`]; an event whose target was removed goes back to its set rate.
//!
//! Every instance runs it; the store writes a step only from the state the instance read, so the
//! cluster takes one step per judgement, not one per instance. Each change is told in one place,
//! [`OutflowFollower::on_outflow_change`]: the log, a counter, the audit log and, when the
//! outflow backs off, an `outflow_backoff` alert to the operator's receiver.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use super::checkout_health::{CheckoutHealthMeter, HealthReading};
use crate::clock::{Clock, UnixMillis};
use crate::domain::{EventConfig, EventId};
use crate::queue::backoff::{OutflowStep, Verdict, back_to_set, next_step};
use crate::ratelimit::RateLimiter;
use crate::ratelimit::alerts::Alert;
use crate::store::audit::{AuditEntry, AuditLog};
use crate::store::known_settings::{KnownSettings, is_closed};
use crate::store::{QueueStore, StoreError};
use crate::telemetry::metrics::OUTFLOW_FOLLOW_CHANGES;

/// The audit log's action for a change of the followed outflow.
pub const FOLLOW_ACTION: &str = "outflow.follow_checkout";
/// Who the audit log names for it: the server itself, not an operator.
const FOLLOW_ACTOR: &str = "waitroom";
/// Events without a target are looked at on one pass in this many (about once a minute), to
/// return an outflow left below its set rate (a target removed through the events file, or while
/// the store did not answer) without costing an idle event store work every second.
const UNFOLLOWED_EVERY_PASSES: u64 = 60;

/// One change of an event's outflow, as told.
#[derive(Debug, Clone, PartialEq)]
pub struct OutflowChange {
    /// The event.
    pub event: EventId,
    /// The step: before, after (thousandths of a shopper per second), and why.
    pub step: OutflowStep,
    /// The operator's set rate, thousandths of a shopper per second.
    pub set: u64,
    /// The health judged (`None` when the target was removed).
    pub health: Option<HealthReading>,
    /// When, on the store's clock.
    pub at: UnixMillis,
}

impl OutflowChange {
    /// Whether the outflow went down.
    pub fn backed_off(&self) -> bool {
        self.step.after < self.step.before
    }
}

/// Judges each event's checkout health and steps its outflow.
pub struct OutflowFollower {
    store: Arc<dyn QueueStore>,
    health: Arc<CheckoutHealthMeter>,
    audit: Arc<dyn AuditLog>,
    alerts: Arc<RateLimiter>,
    clock: Arc<dyn Clock>,
    passes: AtomicU64,
    /// The events' settings between passes.
    known: KnownSettings,
}

impl OutflowFollower {
    /// A follower of `store`'s events, judging `health`, telling `audit` and, through the
    /// limiter's alert receiver, `alerts`.
    pub fn new(
        store: Arc<dyn QueueStore>,
        health: Arc<CheckoutHealthMeter>,
        audit: Arc<dyn AuditLog>,
        alerts: Arc<RateLimiter>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            health,
            audit,
            alerts,
            clock,
            passes: AtomicU64::new(0),
            known: KnownSettings::default(),
        })
    }

    /// Follows every event every `every` until `stop` becomes `true`.
    pub async fn run(self: Arc<Self>, every: Duration, stop: watch::Receiver<bool>) {
        let mut beat = crate::clock::Every::new(every, stop);
        while beat.tick().await {
            if let Err(error) = self.follow_all().await {
                tracing::warn!(%error, "outflow following the checkout: the store did not answer");
            }
        }
    }

    /// One pass over every event; the changes made. Events without a target are looked at
    /// on the first pass and then once in `UNFOLLOWED_EVERY_PASSES` (about a minute).
    pub async fn follow_all(&self) -> Result<Vec<OutflowChange>, StoreError> {
        let unfollowed_too = self
            .passes
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(UNFOLLOWED_EVERY_PASSES);
        let mut changes = Vec::new();
        let configs = self
            .known
            .all(self.store.as_ref(), self.clock.now_ms())
            .await?;
        for config in configs {
            // A closed event admits nobody again: its outflow no longer matters.
            if is_closed(&config) {
                continue;
            }
            if config.checkout_target.is_some() || unfollowed_too {
                changes.extend(self.follow_config(&config).await?);
            }
        }
        Ok(changes)
    }

    /// Judges `event`'s checkout and takes the step due, if any; an event without a target
    /// goes back to its set rate.
    pub async fn follow(&self, event: &EventId) -> Result<Option<OutflowChange>, StoreError> {
        match self.store.event(event).await? {
            Some(config) => self.follow_config(&config).await,
            None => Ok(None),
        }
    }

    async fn follow_config(
        &self,
        config: &EventConfig,
    ) -> Result<Option<OutflowChange>, StoreError> {
        let event = &config.id;
        let current = self.store.followed_outflow(event).await?;
        let now = self.store.now().await?;
        let set = config.outflow_milli_per_second;
        let (step, health) = match &config.checkout_target {
            None => (back_to_set(set, current, now), None),
            Some(target) => {
                let health = self.health.reading(event, self.clock.now_ms());
                let verdict = health.map_or(Verdict::Unknown, |h| h.health.judge(target));
                (next_step(set, current, verdict, now), health)
            }
        };
        let Some(step) = step else {
            return Ok(None);
        };
        let seen = current.map(|current| current.changed_at);
        if !self
            .store
            .follow_outflow(event, seen, &step.followed)
            .await?
        {
            // Another instance stepped first; its step stands for this judgement too.
            return Ok(None);
        }
        let change = OutflowChange {
            event: event.clone(),
            step,
            set,
            health,
            at: now,
        };
        self.on_outflow_change(&change).await;
        Ok(Some(change))
    }

    /// Tells a change of the followed outflow: the log, the changes counter, the audit log and,
    /// for a back-off, an alert. Only the instance whose step the store took gets here, so each
    /// step is told once across the cluster.
    pub async fn on_outflow_change(&self, change: &OutflowChange) {
        let per_second = |milli: u64| milli as f64 / 1000.0;
        let (before, after) = (
            per_second(change.step.before),
            per_second(change.step.after),
        );
        let reason = change.step.reason.as_str();
        let direction = if change.backed_off() { "down" } else { "up" };
        if change.backed_off() {
            tracing::warn!(event = %change.event, before, after, reason, "outflow backs off: the checkout is unhealthy");
        } else {
            tracing::info!(event = %change.event, before, after, reason, "outflow climbs back");
        }
        metrics::counter!(OUTFLOW_FOLLOW_CHANGES, "event" => change.event.to_string(), "direction" => direction)
            .increment(1);
        let entry = AuditEntry {
            at_ms: change.at,
            actor: FOLLOW_ACTOR.to_owned(),
            action: FOLLOW_ACTION.to_owned(),
            target: change.event.to_string(),
            request_id: String::new(),
            status: 200,
            before: json!({ "outflow_effective_per_second": before }),
            after: json!({
                "outflow_effective_per_second": after,
                "reason": reason,
                "checkout_health": change.health,
            }),
        };
        if let Err(error) = self.audit.append_audit(&entry).await {
            tracing::warn!(%error, event = %change.event, "the outflow change could not be written to the audit log");
        }
        if change.backed_off() {
            let alert = Alert::OutflowBackoff {
                event: change.event.to_string(),
                outflow_per_second: after,
                set_outflow_per_second: per_second(change.set),
                reason: reason.to_owned(),
            };
            self.alerts.raise_alert(alert).await;
        }
    }
}
