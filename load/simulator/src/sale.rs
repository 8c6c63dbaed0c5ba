//! The sale as every shopper and bot task sees it: the server, the event, the clock, and a
//! signal that says when the sale is over (sold out, closed) or the run stops.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};

use crate::api::{Api, Reply, TransportError};
use crate::checkout_fault::FaultyCheckout;
use crate::clock::RunClock;
use crate::queue_socket::SocketTarget;
use crate::scenario::Scenario;
use crate::source_address::SourceAddresses;

/// What the sampler last saw, and whether the run is stopping.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SaleSignal {
    /// The event's public status, once sampled.
    pub status: Option<String>,
    /// Set when the run's time is up: every task ends what it is doing.
    pub stop: bool,
}

impl SaleSignal {
    /// Whether the event can admit nobody any more.
    pub fn sold_out_or_closed(&self) -> bool {
        matches!(self.status.as_deref(), Some("sold_out" | "closed"))
    }

    /// Whether waiting any longer is pointless.
    pub fn over(&self) -> bool {
        self.stop || self.sold_out_or_closed()
    }
}

/// Everything a journey needs, shared by all of them.
pub struct Sale {
    /// The server.
    pub api: Api,
    /// The same server through slots of its own for checkout and payment: the few admitted
    /// shoppers must not queue behind the polls of a hundred thousand waiting ones.
    pub checkout_api: Api,
    /// The event id the simulator created.
    pub event: String,
    /// The run's clock.
    pub clock: RunClock,
    /// The scenario being played.
    pub scenario: Scenario,
    /// The SKUs on sale.
    pub skus: Vec<String>,
    /// Where queue sockets connect.
    pub target: SocketTarget,
    /// Source addresses for queue sockets.
    pub sources: SourceAddresses,
    /// Bounds WebSocket handshakes in flight, as the HTTP slots bound requests.
    pub handshakes: Semaphore,
    /// The sale's state, from the sampler.
    pub signal: watch::Receiver<SaleSignal>,
    /// When the sale starts (Unix ms).
    pub starts_at_ms: i64,
    /// The shop's checkout in front of the server's, when the scenario plays one.
    pub checkout_fault: Option<Arc<FaultyCheckout>>,
}

impl Sale {
    /// Whether the sale is over or the run is stopping.
    pub fn is_over(&self) -> bool {
        self.signal.borrow().over()
    }

    /// Whether the run is stopping (time is up).
    pub fn is_stopping(&self) -> bool {
        self.signal.borrow().stop
    }

    /// Waits `pause` unless the sale ends first; true when the full pause elapsed.
    pub async fn pause(&self, pause: Duration) -> bool {
        let mut signal = self.signal.clone();
        tokio::select! {
            () = tokio::time::sleep(pause) => true,
            _ = signal.wait_for(SaleSignal::over) => false,
        }
    }

    /// Waits until the wall clock reads `at_ms`, unless the run stops first.
    pub async fn wait_until(&self, at_ms: i64) -> bool {
        let mut signal = self.signal.clone();
        let at = self.clock.instant_at(at_ms);
        tokio::select! {
            () = tokio::time::sleep_until(at.into()) => true,
            _ = signal.wait_for(|s| s.stop) => false,
        }
    }

    /// Runs `work` unless the sale ends first (`None` then): a request still waiting for a free
    /// slot is not worth its answer once the sale is over.
    pub async fn unless_over<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let mut signal = self.signal.clone();
        tokio::select! {
            out = work => Some(out),
            _ = signal.wait_for(SaleSignal::over) => None,
        }
    }

    /// Runs `work` unless the run stops first (`None` then).
    pub async fn unless_stopping<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let mut signal = self.signal.clone();
        tokio::select! {
            out = work => Some(out),
            _ = signal.wait_for(|s| s.stop) => None,
        }
    }

    /// A checkout or payment call (not yet sent), through the shop's checkout when one is
    /// played.
    pub async fn through_checkout<F>(&self, call: F) -> Result<Reply, TransportError>
    where
        F: Future<Output = Result<Reply, TransportError>>,
    {
        match &self.checkout_fault {
            Some(checkout) => checkout.answer(call).await,
            None => call.await,
        }
    }

    /// The source address of the next queue socket.
    pub fn next_source(&self) -> Option<Ipv4Addr> {
        self.sources.next()
    }

    /// Milliseconds the server adds to an admission's time to get its expiry.
    pub fn admission_ttl_ms(&self) -> i64 {
        i64::from(self.scenario.event.admission_ttl_seconds) * 1_000
    }
}
