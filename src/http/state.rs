//! What every request handler shares: settings, the store, the clock, keys and telemetry.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::watch;

use super::outflow_meter::OutflowMeter;
use crate::admission::outflow::OutflowRegistry;
use crate::admission::{AdmissionVerifier, SigningKeys};
use crate::clock::Clock;
use crate::config::Settings;
use crate::identity::Authenticator;
use crate::queue::live::LiveContext;
use crate::store::QueueStore;

/// The application state: cheap to clone (every field is shared).
#[derive(Clone)]
pub struct AppState {
    /// The validated settings this instance runs with.
    pub settings: Arc<Settings>,
    /// The queue store (memory or Redis).
    pub store: Arc<dyn QueueStore>,
    /// Where handlers take `now` (token times, statuses, estimates); the store has its own.
    pub clock: Arc<dyn Clock>,
    /// The keys signing admission and visitor tokens (the last one signs).
    pub keys: Arc<SigningKeys>,
    /// Verifies admission tokens with the public halves of `keys`.
    pub admissions: Arc<AdmissionVerifier>,
    /// Judges shoppers' credentials (user tokens, visitor tokens).
    pub auth: Arc<Authenticator>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Admissions per second actually let through, per event, for the admin API.
    pub outflow_meter: Arc<OutflowMeter>,
    /// The outflow tickers of this instance: they drain every event and feed the sockets.
    pub outflow: Arc<OutflowRegistry>,
    /// What every position socket shares (store, admission signer, pacing).
    pub live: Arc<LiveContext>,
    /// The rate limiter of every route's rate-limit step (and of the admin rules and bans API).
    pub ratelimit: Arc<crate::ratelimit::RateLimiter>,
    /// Becomes `true` when shutdown begins: long-lived connections close on it.
    pub shutdown: watch::Receiver<bool>,
}

impl AppState {
    /// The current time in ms, from the state's clock.
    pub fn now(&self) -> crate::clock::UnixMillis {
        self.clock.now_ms()
    }
}
