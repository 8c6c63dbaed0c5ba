//! What the run observes while it goes: latency histograms per endpoint, errors by kind, and the
//! live counters the progress bar shows. Shared by every shopper and bot task.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

/// Who made a request: latencies and errors are kept apart for the two crowds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// An honest shopper (or the simulator itself, for admin and sampling calls).
    Shopper,
    /// A bot.
    Bot,
}

/// The endpoints of the contract the simulator calls, plus the WebSocket's own measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Login,
    CreateEvent,
    AdminEvent,
    /// An external checkout's health report.
    CheckoutHealth,
    AdminAudit,
    EventState,
    Challenge,
    /// Finding a proof-of-work nonce (the client's own work, no request).
    ProofSolve,
    /// The part of a modelled device's solve spent searching on the load generator (queueing
    /// for a thread included): when it exceeds the device's time, the load generator lagged.
    ProofSearch,
    Join,
    Ticket,
    Leave,
    Checkout,
    Pay,
    WsConnect,
    /// The longest silence between two server messages on one socket.
    WsMessageGap,
}

impl Endpoint {
    /// The endpoint's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::CreateEvent => "create event",
            Self::AdminEvent => "admin event",
            Self::CheckoutHealth => "checkout health report",
            Self::AdminAudit => "admin audit",
            Self::EventState => "event state",
            Self::Challenge => "challenge",
            Self::ProofSolve => "proof solve",
            Self::ProofSearch => "proof search here",
            Self::Join => "join",
            Self::Ticket => "ticket",
            Self::Leave => "leave",
            Self::Checkout => "checkout",
            Self::Pay => "pay",
            Self::WsConnect => "ws connect",
            Self::WsMessageGap => "ws message gap",
        }
    }
}

/// The name a measure is reported under: bots' measures carry a `bot` prefix.
pub fn measure_name(actor: Actor, endpoint: Endpoint) -> String {
    match actor {
        Actor::Shopper => endpoint.as_str().to_owned(),
        Actor::Bot => format!("bot {}", endpoint.as_str()),
    }
}

/// Counters the progress bar reads while the run goes.
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// Identities holding a ticket.
    pub joined: AtomicU64,
    /// Identities that saw their admission.
    pub admitted: AtomicU64,
    /// Shoppers who paid.
    pub paid: AtomicU64,
    /// Shoppers whose journey is over, whatever its end.
    pub finished: AtomicU64,
    /// HTTP 5xx answers.
    pub server_errors: AtomicU64,
    /// Answers `403` or `429` to a legitimate shopper: our own defences turning one away.
    pub shopper_refusals: AtomicU64,
    /// The queue length last sampled.
    pub queue_length: AtomicU64,
    /// Queue sockets open now.
    pub sockets_open: AtomicU64,
    /// The most queue sockets open at once.
    pub sockets_peak: AtomicU64,
}

/// The shared sink of measurements.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Microsecond histograms by measure name.
    histograms: Mutex<BTreeMap<String, Histogram<u64>>>,
    /// Error counts by kind, such as `join 429` or `bot join transport`.
    errors: Mutex<BTreeMap<String, u64>>,
    /// What the progress bar shows.
    pub live: LiveCounters,
}

/// A histogram of microseconds from 1 µs to 10 minutes, three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3)
        .unwrap_or_else(|_| unreachable!("constant bounds that hdrhistogram accepts"))
}

impl Recorder {
    /// Records one latency (or gap) under an endpoint.
    pub fn latency(&self, actor: Actor, endpoint: Endpoint, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        let mut histograms = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
        histograms
            .entry(measure_name(actor, endpoint))
            .or_insert_with(new_histogram)
            .saturating_record(micros);
    }

    /// Counts one error of a kind.
    pub fn error(&self, actor: Actor, endpoint: Endpoint, kind: &str) {
        let key = format!("{} {kind}", measure_name(actor, endpoint));
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        *errors.entry(key).or_default() += 1;
    }

    /// Counts an HTTP answer that is not a success.
    pub fn status(&self, actor: Actor, endpoint: Endpoint, status: u16) {
        if status >= 500 {
            self.live.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        if actor == Actor::Shopper && matches!(status, 403 | 429) {
            self.live.shopper_refusals.fetch_add(1, Ordering::Relaxed);
        }
        self.error(actor, endpoint, &status.to_string());
    }

    /// A copy of every histogram.
    pub fn histograms(&self) -> BTreeMap<String, Histogram<u64>> {
        self.histograms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A copy of the error counts.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Counts a socket opening, keeping the peak.
    pub fn socket_opened(&self) {
        let open = self.live.sockets_open.fetch_add(1, Ordering::Relaxed) + 1;
        self.live.sockets_peak.fetch_max(open, Ordering::Relaxed);
    }

    /// Counts a socket closing.
    pub fn socket_closed(&self) {
        self.live.sockets_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// Adds one to a live counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
