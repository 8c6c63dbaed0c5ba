//! Closed events removed once their retention has run out (`retention_seconds`), as an
//! operator's `DELETE /v1/admin/events/{event}` would remove them, so a shop that has run
//! hundreds of sales pays nothing for the old ones.
//!
//! Every instance sweeps (about once a minute); the store makes a removal safe from several at
//! once, and only the instance whose removal found the event writes the audit entry. The
//! settings are read through [`KnownSettings`], so a closed event costs a read of its settings
//! only when its activity moves or every few minutes.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use crate::clock::{Clock, UnixMillis};
use crate::domain::{EventConfig, EventId};
use crate::store::audit::{AuditEntry, AuditLog, settings_for_audit};
use crate::store::known_settings::KnownSettings;
use crate::store::{QueueStore, Removal, StoreError};

/// The audit log's action for a removal, by an operator or by retention.
pub const REMOVE_ACTION: &str = "event.remove";
/// Who the audit log names for a removal by retention: the server itself.
const RETENTION_ACTOR: &str = "waitroom";

/// Removes the closed events whose retention has run out.
pub struct RetentionSweeper {
    store: Arc<dyn QueueStore>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
    /// The events' settings between sweeps.
    known: KnownSettings,
}

impl RetentionSweeper {
    /// A sweeper of `store`'s events on `clock`, telling `audit` what it removes.
    pub fn new(
        store: Arc<dyn QueueStore>,
        audit: Arc<dyn AuditLog>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            audit,
            clock,
            known: KnownSettings::default(),
        })
    }

    /// Sweeps every `every` until `stop` turns true.
    pub async fn run(self: Arc<Self>, every: Duration, stop: watch::Receiver<bool>) {
        let mut beat = crate::clock::Every::new(every, stop);
        while beat.tick().await {
            if let Err(error) = self.sweep().await {
                tracing::warn!(%error, "retention: the store did not answer; sweeping again later");
            }
        }
    }

    /// One pass: removes every closed event whose retention has run out; the ids removed here.
    pub async fn sweep(&self) -> Result<Vec<EventId>, StoreError> {
        let now = self.clock.now_ms();
        let due: Vec<EventConfig> = self
            .known
            .all(self.store.as_ref(), now)
            .await?
            .into_iter()
            .filter(|config| is_due(config, now))
            .collect();
        let mut removed = Vec::new();
        for config in due {
            // Read again: an operator may have reopened it since the settings were kept.
            let Some(current) = self.store.event(&config.id).await? else {
                continue;
            };
            if !is_due(&current, now) {
                continue;
            }
            if self.store.remove_event(&config.id).await? != Removal::Removed {
                continue;
            }
            tracing::info!(event = %config.id, "event removed: its retention ran out");
            self.record(&current, now).await;
            removed.push(config.id);
        }
        Ok(removed)
    }

    /// Writes the removal of `config`'s event to the audit log.
    async fn record(&self, config: &EventConfig, now: UnixMillis) {
        let entry = AuditEntry {
            at_ms: now,
            actor: RETENTION_ACTOR.to_owned(),
            action: REMOVE_ACTION.to_owned(),
            target: config.id.to_string(),
            request_id: String::new(),
            status: 204,
            before: settings_for_audit(config),
            after: Value::Null,
        };
        if let Err(error) = self.audit.append_audit(&entry).await {
            tracing::warn!(%error, event = %config.id, "the removal could not be written to the audit log");
        }
    }
}

/// Whether `config`'s event is due for removal at `now`.
fn is_due(config: &EventConfig, now: UnixMillis) -> bool {
    config
        .retention
        .removal_due(config.operator_status)
        .is_some_and(|due| now >= due)
}
