//! The audit log: every change an operator made through the admin API, newest first.
//!
//! Each entry says who (a name derived from the admin token, never the token), when, what (the
//! action and its target) and the state before and after. The log is capped at [`AUDIT_CAPACITY`]
//! entries: the oldest go first. [`MemoryAuditLog`] keeps it in this process; the Redis store
//! keeps it in one capped list (`wr:audit`) shared by every instance.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::clock::UnixMillis;
use crate::domain::EventConfig;

/// An event's settings as the audit log keeps them: without the draw's seed and the arrival
/// windows' secret, which stay secret until the draw and the windows close, from the log too.
pub fn settings_for_audit(config: &EventConfig) -> serde_json::Value {
    let mut view = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    if let Some(fields) = view.as_object_mut() {
        fields.remove("seed");
        if let Some(windows) = fields
            .get_mut("arrival_windows")
            .and_then(|w| w.as_object_mut())
        {
            windows.remove("seed");
        }
    }
    view
}

/// Most entries kept.
pub const AUDIT_CAPACITY: usize = 10_000;

/// One change made through the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, in ms since the epoch.
    pub at_ms: UnixMillis,
    /// Who: `admin:` and the first hex digits of the admin token's SHA-256.
    pub actor: String,
    /// What kind of change: `event.create`, `event.change`, `event.remove`, `ratelimit.replace`,
    /// `ban.create`, `ban.lift`, `outflow.follow_checkout`.
    pub action: String,
    /// What it changed: an event id, a client key, `rules`.
    pub target: String,
    /// The request's id, to find its log lines.
    pub request_id: String,
    /// The answer's status code.
    pub status: u16,
    /// The state before the change (`null` when there was none).
    pub before: serde_json::Value,
    /// The state after the change (`null` when there is none).
    pub after: serde_json::Value,
}

/// Where audit entries are kept.
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
    /// Adds an entry (dropping the oldest beyond [`AUDIT_CAPACITY`]).
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The newest `limit` entries, newest first.
    async fn audit_entries(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
}

/// The audit log of the memory store: this process only.
#[derive(Debug, Default)]
pub struct MemoryAuditLog {
    entries: Mutex<VecDeque<AuditEntry>>,
}

#[async_trait]
impl AuditLog for MemoryAuditLog {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| StoreError::Corrupt("the audit log's lock is poisoned".into()))?;
        entries.push_front(entry.clone());
        entries.truncate(AUDIT_CAPACITY);
        Ok(())
    }

    async fn audit_entries(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let entries = self
            .entries
            .lock()
            .map_err(|_| StoreError::Corrupt("the audit log's lock is poisoned".into()))?;
        Ok(entries.iter().take(limit).cloned().collect())
    }
}
