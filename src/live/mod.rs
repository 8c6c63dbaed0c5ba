//! Everything that keeps shoppers informed and present while they wait, on one instance.
//!
//! Per event and per instance, a ticker drains the queue a few times a second (the leaky bucket
//! itself lives in the store) and publishes an [`OutflowSnapshot`] on a `tokio::sync::watch`
//! channel. Every open queue page has a socket task that derives its shopper's position from the
//! snapshot's serving number and its own score, so keeping N shoppers informed costs
//! O(events × instances) store calls per tick, never O(N). A socket reads its ticket only when it
//! must: once after the pre-queue draw (to learn its score), and once to confirm an admission the
//! outflow reached it with on another instance.
//!
//! * [`OutflowRegistry`] finds events and runs one ticker each; sockets
//!   [`subscribe`](OutflowRegistry::subscribe).
//! * [`ticker`] is one event's loop: refresh settings, drain, publish, report open pages.
//! * [`presence`] holds the identities whose pages are open here and the changes the store has
//!   yet to hear: the store keeps them in place by this instance's heartbeat, one call per event
//!   per interval whatever the number of sockets.
//! * [`rate`] measures how fast the serving number moves, for honest wait estimates.
//! * [`socket`] is one queue page's loop, generic over a `Sink`/`Stream` of WebSocket messages so
//!   it runs the same over a network and in tests; [`messages`] are what it says and hears, and
//!   [`handover`] turns an admission into the message that hands over its token.
//! * [`poll_watch`] follows how often the pages that poll come back.
//! * [`told_on_socket`] remembers the admissions pushed on a socket here, so the checkout can
//!   time socket and polling shoppers apart.

mod handover;
mod messages;
mod poll_watch;
mod presence;
mod rate;
mod registry;
mod snapshot;
mod socket;
mod ticker;
mod told_on_socket;

use std::sync::Arc;
use std::time::Duration;

pub use messages::{ClientMessage, ServerMessage};
pub use presence::{Presence, PresenceChanges, PresenceGuard};
pub use rate::ServingRate;
pub use registry::{OutflowRegistry, Subscription};
pub use snapshot::OutflowSnapshot;
pub use socket::{SocketEnd, run_socket};
pub use ticker::{EventFeed, TickOutcome, Ticker, beat_interval, run_ticker};
pub use told_on_socket::ToldOnSocket;

use crate::admission::{SigningKeys, sign_admission};
use crate::domain::{Admitted, EventId};
use crate::store::QueueStore;

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
    /// [`activity_poll`](Self::activity_poll) (as soon as the idle tick did; a bump that failed
    /// is sent again until it lands), and a waiting shopper's ticket read here at once. The
    /// long look is only a safety net, so an event nobody touches costs next to nothing.
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
            rest: Duration::from_secs(600),
            activity_poll: Duration::from_secs(1),
            refresh: Duration::from_secs(2),
            discover: Duration::from_secs(5),
            report_changes: Duration::from_millis(500),
            rate_window: Duration::from_secs(30),
        }
    }
}

/// Signs admission tokens for the socket to hand over.
pub trait AdmissionIssuer: Send + Sync + 'static {
    /// The signed admission token for `admission` in `event`.
    fn issue(&self, event: &EventId, admission: &Admitted) -> Result<String, String>;
}

impl<F> AdmissionIssuer for F
where
    F: Fn(&EventId, &Admitted) -> Result<String, String> + Send + Sync + 'static,
{
    fn issue(&self, event: &EventId, admission: &Admitted) -> Result<String, String> {
        self(event, admission)
    }
}

/// The instance's own keys sign the admissions its sockets hand over.
impl AdmissionIssuer for SigningKeys {
    fn issue(&self, event: &EventId, admission: &Admitted) -> Result<String, String> {
        sign_admission(
            self,
            admission.identity.subject(),
            event,
            admission.ticket_id,
            admission.admitted_at,
            admission.expires_at,
        )
        .map_err(|error| error.to_string())
    }
}

/// How sockets pace themselves.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Longest a client goes without its position, even in a still queue. The contract asks for
    /// a message every 15 s; the service promises every socket a position at least every 2 s
    /// (BENCHMARKS.md), measured at the client, so the socket aims half a second short of that
    /// to absorb scheduling and delivery on a busy instance. The frame is derived from the shared
    /// snapshot: it costs a send, never a store read.
    pub keepalive: Duration,
    /// Shortest gap between two position messages; admissions and status changes never wait.
    pub position_interval: Duration,
    /// A client that has not taken a frame in this long cannot keep up and is closed.
    pub send_timeout: Duration,
    /// Pre-queue sockets spread their one ticket read over this long after the draw, so the
    /// store is not asked by every socket in the same instant.
    pub draw_read_spread: Duration,
    /// Wait before a failed ticket read is tried again.
    pub read_retry: Duration,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            keepalive: Duration::from_millis(1_500),
            position_interval: Duration::from_secs(1),
            send_timeout: Duration::from_secs(10),
            draw_read_spread: Duration::from_secs(1),
            read_retry: Duration::from_secs(1),
        }
    }
}

/// What every socket of the instance shares.
#[derive(Clone)]
pub struct LiveContext {
    /// For the few ticket reads a socket makes.
    pub store: Arc<dyn QueueStore>,
    /// Signs the admission handed over on the socket.
    pub issuer: Arc<dyn AdmissionIssuer>,
    /// Pacing.
    pub settings: LiveSettings,
    /// The time, for what a socket tells that depends on it (an open arrival window).
    pub clock: Arc<dyn crate::clock::Clock>,
    /// The admissions pushed on a socket here.
    pub told_on_socket: Arc<ToldOnSocket>,
}

#[cfg(test)]
pub(crate) mod scripted_store;
#[cfg(test)]
mod socket_tests;
#[cfg(test)]
mod ticker_tests;
