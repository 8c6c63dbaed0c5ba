//! The public state of each event as waiting pages read it: built from the store at most once
//! per [`FRESH_FOR_MS`] per event and instance, and served from memory in between.
//!
//! Every waiting page polls this state, and a crowd of them arrives in the same second: without
//! a snapshot each read would cost two store calls. With it, one request per event and second
//! reads the store (the others wait for it rather than all asking at once) and everyone else is
//! answered with the same bytes. The figures are at most a second old, which is finer than any
//! page shows them; a change made through this instance is seen at once ([`PublicSnapshots::forget`]).

use std::collections::HashMap;
use std::sync::RwLock;

use axum::body::Bytes;

use crate::clock::UnixMillis;
use crate::domain::EventId;
use crate::error::ApiError;

/// How long a snapshot is served, ms.
pub const FRESH_FOR_MS: i64 = 1_000;

/// The latest public state of each event, as JSON.
#[derive(Default)]
pub struct PublicSnapshots {
    latest: RwLock<HashMap<EventId, (UnixMillis, Bytes)>>,
    /// Held while a snapshot is rebuilt, so that a crowd missing it at once reads the store once.
    rebuilding: tokio::sync::Mutex<()>,
}

impl PublicSnapshots {
    /// The event's snapshot if it was built less than [`FRESH_FOR_MS`] before `now_ms`, else a
    /// new one from `build` (the JSON body; an error, such as an unknown event, is not kept).
    pub async fn get_or_build<F, Fut>(
        &self,
        event: &EventId,
        now_ms: UnixMillis,
        build: F,
    ) -> Result<Bytes, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, ApiError>>,
    {
        if let Some(body) = self.fresh(event, now_ms) {
            return Ok(body);
        }
        let _rebuilding = self.rebuilding.lock().await;
        if let Some(body) = self.fresh(event, now_ms) {
            return Ok(body);
        }
        let body = Bytes::from(build().await?);
        let mut latest = self.latest.write().unwrap_or_else(|e| e.into_inner());
        latest.insert(event.clone(), (now_ms, body.clone()));
        Ok(body)
    }

    /// Drops the event's snapshot, so that the next read sees a change this instance just made
    /// (an operator's, or a sale that sold its last unit). Changes made through other instances
    /// show within [`FRESH_FOR_MS`].
    pub fn forget(&self, event: &EventId) {
        let mut latest = self.latest.write().unwrap_or_else(|e| e.into_inner());
        latest.remove(event);
    }

    fn fresh(&self, event: &EventId, now_ms: UnixMillis) -> Option<Bytes> {
        let latest = self.latest.read().unwrap_or_else(|e| e.into_inner());
        let (built_at, body) = latest.get(event)?;
        (*built_at <= now_ms && now_ms - *built_at < FRESH_FOR_MS).then(|| body.clone())
    }
}
