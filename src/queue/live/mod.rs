//! The live position socket: one task per open queue page, generic over a `Sink`/`Stream` of
//! WebSocket messages so it runs the same over a network and in tests.
//!
//! A socket never asks the store where its shopper stands: it derives the position from its
//! ticket's score and the serving number in its event's [`OutflowSnapshot`]. It reads its ticket
//! only at the moments that need it: once after the pre-queue draw (to learn its score), and once
//! to confirm an admission the outflow reached it with on another instance.
//!
//! [`OutflowSnapshot`]: crate::admission::outflow::OutflowSnapshot

mod handover;
mod messages;
mod socket;

use std::sync::Arc;
use std::time::Duration;

pub use messages::{ClientMessage, ServerMessage};
pub use socket::{SocketEnd, run_socket};

use crate::admission::{SigningKeys, sign_admission};
use crate::domain::{Admitted, EventId};
use crate::store::QueueStore;

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
}

#[cfg(test)]
mod tests;
