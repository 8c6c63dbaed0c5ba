//! What background loops read of each event, kept between their passes while the event's
//! activity number stands still: an event's settings change only through
//! [`QueueStore::change_event`], and its counters only through joins, leaves and drains, all of
//! which move the number or leave shoppers waiting or admitted. A value read longer than
//! [`KEEP_MS`] ago is read again (a bump lost with an instance that stopped between a change and
//! its bump); a closed event's, only after [`CLOSED_KEEP_MS`]: nothing happens in it, and a shop
//! that has run hundreds of sales should not pay a read a minute for each.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{QueueStore, StoreError};
use crate::clock::UnixMillis;
use crate::domain::{EventConfig, EventId, OperatorStatus};

/// Longest a value is kept without a read.
pub const KEEP_MS: i64 = 60_000;

/// Longest the settings of an event an operator closed are kept without a read (reopening it is
/// a change, which moves its number).
pub const CLOSED_KEEP_MS: i64 = 600_000;

/// One event's value as last read.
struct Kept<T> {
    value: T,
    activity: u64,
    read_at: UnixMillis,
}

/// Values by event, each kept with the activity number it was read at.
pub struct KeptByActivity<T> {
    kept: Mutex<HashMap<EventId, Kept<T>>>,
}

impl<T> Default for KeptByActivity<T> {
    fn default() -> Self {
        Self {
            kept: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> KeptByActivity<T> {
    /// The value kept for `event`, if its number is still `activity` and it is fresh at `now`:
    /// read less than [`KEEP_MS`] ago, or [`CLOSED_KEEP_MS`] where `closed` says the value is
    /// a closed event's.
    pub fn get(
        &self,
        event: &EventId,
        activity: Option<u64>,
        now: UnixMillis,
        closed: impl Fn(&T) -> bool,
    ) -> Option<T> {
        self.lock()
            .get(event)
            .filter(|k| {
                let keep_ms = if closed(&k.value) {
                    CLOSED_KEEP_MS
                } else {
                    KEEP_MS
                };
                Some(k.activity) == activity && now - k.read_at < keep_ms
            })
            .map(|k| k.value.clone())
    }

    /// Keeps `value`, read at `now` while the number was `activity`; without a number nothing is
    /// kept (the event is read on every pass).
    pub fn keep(&self, event: &EventId, activity: Option<u64>, now: UnixMillis, value: T) {
        if let Some(activity) = activity {
            let kept = Kept {
                value,
                activity,
                read_at: now,
            };
            self.lock().insert(event.clone(), kept);
        }
    }

    /// Drops what is kept for `event`.
    pub fn forget(&self, event: &EventId) {
        self.lock().remove(event);
    }

    /// Drops what is kept for events not in `events` (sorted).
    pub fn retain(&self, events: &[EventId]) {
        self.lock().retain(|id, _| events.binary_search(id).is_ok());
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<EventId, Kept<T>>> {
        // Each change is one insert, remove or retain: consistent even after a panic.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Events' settings read by one loop.
#[derive(Default)]
pub struct KnownSettings {
    kept: KeptByActivity<EventConfig>,
}

impl KnownSettings {
    /// Every event's settings, sorted by id: two store calls when nothing moved.
    pub async fn all(
        &self,
        store: &dyn QueueStore,
        now: UnixMillis,
    ) -> Result<Vec<EventConfig>, StoreError> {
        let activity = store.activity().await?;
        let ids = store.event_ids().await?;
        let mut configs = Vec::with_capacity(ids.len());
        for id in &ids {
            let number = activity.get(id).copied();
            if let Some(config) = self.kept.get(id, number, now, is_closed) {
                configs.push(config);
            } else if let Some(config) = store.event(id).await? {
                self.kept.keep(id, number, now, config.clone());
                configs.push(config);
            }
        }
        self.kept.retain(&ids);
        Ok(configs)
    }
}

/// Whether an operator closed the event.
pub fn is_closed(config: &EventConfig) -> bool {
    config.operator_status == OperatorStatus::Closed
}
