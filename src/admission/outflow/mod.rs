//! The outflow ticker: per event and per instance, a task drains the queue a few times a second
//! (the leaky bucket itself lives in the store) and publishes a [`OutflowSnapshot`] on a
//! `tokio::sync::watch` channel. Every socket of the instance derives its shopper's position from
//! the snapshot's serving number and its own score, so keeping N shoppers informed costs
//! O(events × instances) store calls per tick, never O(N).
//!
//! * [`OutflowRegistry`] finds events and runs one ticker each; sockets [`subscribe`](OutflowRegistry::subscribe).
//! * [`ticker`] is one event's loop: refresh settings, drain, publish, report open pages.
//! * [`presence`] holds the identities whose pages are open here and the changes the store has
//!   yet to hear: the store keeps them in place by this instance's heartbeat, one call per event
//!   per interval whatever the number of sockets.
//! * [`rate`] measures how fast the serving number moves, for honest wait estimates.

mod presence;
mod rate;
mod registry;
mod snapshot;
mod ticker;

use std::time::Duration;

pub use presence::{Presence, PresenceChanges, PresenceGuard};
pub use rate::ServingRate;
pub use registry::{OutflowRegistry, Subscription};
pub use snapshot::OutflowSnapshot;
pub use ticker::{EventFeed, TickOutcome, Ticker, beat_interval, run_ticker};

/// How often the tickers work.
#[derive(Debug, Clone)]
pub struct OutflowSettings {
    /// Between drains of an event someone waits in or watches: short enough that an admitted
    /// shopper hears of it within a quarter of a second.
    pub tick: Duration,
    /// Between drains of an event nobody waits in or watches but some admitted shoppers have not
    /// finished (their admissions expire as time passes).
    pub idle_tick: Duration,
    /// Between drains of an event at rest: nobody waits, watches or is admitted. Nothing there
    /// changes without a join or an operator's change: an operator's change on this instance
    /// wakes the ticker at once, a join on any instance within
    /// [`activity_poll`](Self::activity_poll) (as soon as the idle tick did); the long look is
    /// only a safety net.
    pub rest: Duration,
    /// Between reads of the store's activity numbers (one read for every event).
    pub activity_poll: Duration,
    /// Between re-reads of an event's settings and counters.
    pub refresh: Duration,
    /// Between reads of the store's event list.
    pub discover: Duration,
    /// Shortest gap between two reports of opened pages (heartbeats aside): a crowd opening its
    /// pages is told in a few calls a second, not one per socket. A page is seen when it opens,
    /// so the delay costs nobody the place. Closed pages are told with the next heartbeat.
    pub report_changes: Duration,
    /// The spell over which the serving number's speed is measured.
    pub rate_window: Duration,
}

impl Default for OutflowSettings {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(150),
            idle_tick: Duration::from_secs(1),
            rest: Duration::from_secs(60),
            activity_poll: Duration::from_secs(1),
            refresh: Duration::from_secs(2),
            discover: Duration::from_secs(5),
            report_changes: Duration::from_millis(500),
            rate_window: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
pub(crate) mod scripted_store;
#[cfg(test)]
mod tests;
