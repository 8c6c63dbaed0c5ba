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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> EventId {
        EventId::parse(id).unwrap()
    }

    /// An open event's value is kept up to [`KEEP_MS`] while its number stands still, a closed
    /// one's up to [`CLOSED_KEEP_MS`]; a moved number is read again at once.
    #[test]
    fn values_are_kept_while_the_number_stands_still_closed_ones_longer() {
        let kept = KeptByActivity::<bool>::default();
        let (open, closed) = (event("open"), event("closed"));
        kept.keep(&open, Some(1), 0, false);
        kept.keep(&closed, Some(1), 0, true);
        let get = |id: &EventId, number, now| kept.get(id, Some(number), now, |&c| c);

        assert_eq!(get(&open, 1, KEEP_MS - 1), Some(false));
        assert_eq!(get(&open, 1, KEEP_MS), None);
        assert_eq!(get(&closed, 1, CLOSED_KEEP_MS - 1), Some(true));
        assert_eq!(get(&closed, 1, CLOSED_KEEP_MS), None);
        assert_eq!(get(&closed, 2, 1), None, "the number moved");
        assert_eq!(kept.get(&closed, None, 1, |&c| c), None, "no number");

        kept.keep(&open, None, 0, false);
        assert_eq!(
            get(&open, 1, 1),
            Some(false),
            "a read without a number keeps nothing"
        );
        kept.retain(std::slice::from_ref(&closed));
        assert_eq!(get(&open, 1, 1), None, "gone from the list");
        kept.forget(&closed);
        assert_eq!(get(&closed, 1, 1), None);
    }
}
