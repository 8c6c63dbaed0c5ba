//! Events' settings kept between the passes of a background loop: an event's settings change
//! only through [`QueueStore::change_event`], which moves its activity number, so a pass reads
//! the numbers of every event in one call and the settings only of those whose number moved (or
//! that were read longer than [`KEEP_MS`] ago: a bump lost while the store was away).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::{QueueStore, StoreError};
use crate::clock::UnixMillis;
use crate::domain::{EventConfig, EventId};

/// Longest settings are kept without a read.
pub const KEEP_MS: i64 = 60_000;

/// One event's settings as last read.
struct Kept {
    config: EventConfig,
    activity: u64,
    read_at: UnixMillis,
}

/// Settings read by one loop, by event.
#[derive(Default)]
pub struct KnownSettings {
    kept: Mutex<HashMap<EventId, Kept>>,
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
            let known = {
                let kept = self.lock();
                kept.get(id)
                    .filter(|k| Some(k.activity) == number && now - k.read_at < KEEP_MS)
                    .map(|k| k.config.clone())
            };
            let config = match known {
                Some(config) => config,
                None => {
                    let Some(config) = store.event(id).await? else {
                        continue;
                    };
                    if let Some(activity) = number {
                        let kept = Kept {
                            config: config.clone(),
                            activity,
                            read_at: now,
                        };
                        self.lock().insert(id.clone(), kept);
                    }
                    config
                }
            };
            configs.push(config);
        }
        // Events gone from the store are forgotten.
        self.lock().retain(|id, _| ids.binary_search(id).is_ok());
        Ok(configs)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EventId, Kept>> {
        // Each change is one insert or retain: consistent even after a panic.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
