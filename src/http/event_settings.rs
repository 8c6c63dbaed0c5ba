//! Events' settings as the shopper routes read them: kept for a moment by each instance.
//!
//! A join must be one store round trip, so the route does not fetch the event's settings from the
//! store every time. What a join takes from them (whether visitors may join, the outflow rate of
//! the estimate, the opening time named in a refusal) may lag a change made through another
//! instance by up to [`FRESH_FOR`]. Whether the event accepts joins at all (open, paused, closed,
//! sold out) is decided inside the store's join, so it is never stale. A change made through this
//! instance is seen at once ([`EventSettings::forget`]). Unknown events are not remembered: an
//! event created elsewhere is found on its first request.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::{EventConfig, EventId};
use crate::store::{QueueStore, StoreError};

/// How long a fetched event's settings are used before they are fetched again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// The settings of the events this instance serves, each fetched at most once per [`FRESH_FOR`].
pub struct EventSettings {
    store: Arc<dyn QueueStore>,
    fetched: RwLock<HashMap<EventId, Fetched>>,
}

struct Fetched {
    config: Arc<EventConfig>,
    at: Instant,
}

impl EventSettings {
    /// Settings read from `store`.
    pub fn new(store: Arc<dyn QueueStore>) -> Self {
        Self {
            store,
            fetched: RwLock::new(HashMap::new()),
        }
    }

    /// The event's settings (fetched at most [`FRESH_FOR`] ago), or `None` if there is no such
    /// event.
    pub async fn get(&self, event: &EventId) -> Result<Option<Arc<EventConfig>>, StoreError> {
        if let Some(config) = self.fresh(event) {
            return Ok(Some(config));
        }
        let Some(config) = self.store.event(event).await? else {
            self.forget(event);
            return Ok(None);
        };
        let config = Arc::new(config);
        let mut fetched = self.fetched.write().unwrap_or_else(|e| e.into_inner());
        fetched.insert(
            event.clone(),
            Fetched {
                config: config.clone(),
                at: Instant::now(),
            },
        );
        Ok(Some(config))
    }

    /// Drops what is kept of `event`'s settings (they were just changed).
    pub fn forget(&self, event: &EventId) {
        let mut fetched = self.fetched.write().unwrap_or_else(|e| e.into_inner());
        fetched.remove(event);
    }

    fn fresh(&self, event: &EventId) -> Option<Arc<EventConfig>> {
        let fetched = self.fetched.read().unwrap_or_else(|e| e.into_inner());
        fetched
            .get(event)
            .filter(|entry| entry.at.elapsed() < FRESH_FOR)
            .map(|entry| entry.config.clone())
    }
}
