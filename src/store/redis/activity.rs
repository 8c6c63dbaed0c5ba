//! The events' activity numbers: the hash [`ACTIVITY_KEY`] of event id to a number bumped when a
//! shopper joins or leaves or an operator changes the event. Every instance reads the whole hash
//! once a second (one command, whatever the number of events) to wake what it lets rest while
//! nothing happens.
//!
//! One instance bumps an event at most every [`SPACING`]; a change inside that spell is told by
//! one bump at its end, so a crowd's joins cost a few commands a second and the last change of a
//! burst is never left untold. Bumps go out on tasks of their own, off the caller's path; a bump
//! that fails (the hash's node away while the event's answered) is sent again until it lands,
//! so a resting reader learns of the change once the hash is back, not at its next look of its
//! own (which may be many minutes off).
//!
//! The loops of one instance that follow events (the tickers' registry, the live statistics, the
//! checkout follower, the limiter's open events) each look about once a second; they share one
//! read made at most [`SHARED_FOR`] ago, so the instance reads the hash about twice a second
//! whatever the number of loops, at the price of at most that much delay.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::AsyncCommands;
use tokio::time::Instant;

use crate::domain::EventId;
use crate::ratelimit::redis_connection::{Connection, store_error};
use crate::store::StoreError;

/// The hash of every event's activity number, in a slot of its own.
pub const ACTIVITY_KEY: &str = "wr:activity";

/// Shortest gap between two bumps of one event from one instance.
const SPACING: Duration = Duration::from_millis(250);

/// The first wait before a failed bump is sent again; it doubles up to [`LONGEST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(5);

/// Longest a read of the hash is shared with later readers on the instance.
const SHARED_FOR: Duration = Duration::from_millis(500);

/// Where one event's bumps from this instance stand.
#[derive(Debug, Clone, Copy)]
enum LastBump {
    /// Sent at this instant.
    Sent(Instant),
    /// One is due at the end of the spell: later changes ride on it.
    Due,
}

/// This instance's bumps, and its latest read of every event's number.
#[derive(Clone, Default)]
pub(super) struct Activity {
    last: Arc<Mutex<HashMap<EventId, LastBump>>>,
    /// When the hash was last read, and what it held. An async lock: readers arriving while a
    /// read is under way wait for it instead of sending their own.
    latest: Arc<tokio::sync::Mutex<Option<LatestRead>>>,
}

/// A read of the hash, and when it was made.
struct LatestRead {
    at: Instant,
    numbers: HashMap<EventId, u64>,
}

impl Activity {
    /// Tells other instances `event` changed: now, or at the end of the current spell. The
    /// command goes out on a task of its own, so no caller waits for it.
    pub(super) fn bump(&self, connection: &Connection, event: &EventId) {
        let now = Instant::now();
        let wait = {
            let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            match last.get(event).copied() {
                Some(LastBump::Due) => return,
                Some(LastBump::Sent(at)) if now.duration_since(at) < SPACING => {
                    last.insert(event.clone(), LastBump::Due);
                    SPACING - now.duration_since(at)
                }
                _ => {
                    last.insert(event.clone(), LastBump::Sent(now));
                    Duration::ZERO
                }
            }
        };
        let (this, mut connection, event) = (self.clone(), connection.clone(), event.clone());
        tokio::spawn(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
                this.mark(&event, LastBump::Sent(Instant::now()));
            }
            let (mut retry, mut failed) = (FIRST_RETRY, false);
            loop {
                let sent: Result<i64, _> = connection.hincr(ACTIVITY_KEY, event.as_str(), 1).await;
                let Err(error) = sent else { break };
                tracing::debug!(%event, %error, ?retry, "activity not told; telling it again");
                // Until this bump lands, later changes ride on it.
                this.mark(&event, LastBump::Due);
                failed = true;
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(LONGEST_RETRY);
            }
            if failed {
                this.mark(&event, LastBump::Sent(Instant::now()));
            }
        });
    }
}

impl Activity {
    fn mark(&self, event: &EventId, bump: LastBump) {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(event.clone(), bump);
    }

    /// Every event's activity number, as read at most [`SHARED_FOR`] ago by this instance.
    pub(super) async fn numbers(
        &self,
        connection: &Connection,
    ) -> Result<HashMap<EventId, u64>, StoreError> {
        let mut latest = self.latest.lock().await;
        if let Some(shared) = latest.as_ref()
            && shared.at.elapsed() < SHARED_FOR
        {
            return Ok(shared.numbers.clone());
        }
        let numbers = read(connection).await?;
        *latest = Some(LatestRead {
            at: Instant::now(),
            numbers: numbers.clone(),
        });
        Ok(numbers)
    }
}

/// Every event's activity number; ids that do not parse are skipped.
async fn read(connection: &Connection) -> Result<HashMap<EventId, u64>, StoreError> {
    let mut connection = connection.clone();
    // Read as text: a field that is not an event id and a number is skipped, not an error that
    // would stop every reader.
    let numbers: HashMap<String, String> = connection
        .hgetall(ACTIVITY_KEY)
        .await
        .map_err(store_error)?;
    Ok(numbers
        .into_iter()
        .filter_map(|(id, number)| Some((EventId::parse(&id).ok()?, number.parse().ok()?)))
        .collect())
}
