//! What every request handler shares: settings, the store, the clock, keys and telemetry.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::watch;

use super::event_settings::EventSettings;
use super::socket_slots::SocketSlots;
use crate::admission::{AdmissionVerifier, SigningKeys};
use crate::clock::Clock;
use crate::config::Settings;
use crate::identity::Authenticator;
use crate::live::LiveContext;
use crate::live::OutflowRegistry;
use crate::store::QueueStore;

/// The application state, shared by every request: cloning it (each middleware step and handler
/// does, per request) touches one reference count, whatever the number of fields.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    /// The state of an application.
    pub fn new(shared: SharedState) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct SharedState {
    /// The validated settings this instance runs with.
    pub settings: Arc<Settings>,
    /// The queue store (memory or Redis).
    pub store: Arc<dyn QueueStore>,
    /// Events' settings as the shopper routes read them (fetched at most once a second).
    pub event_settings: Arc<EventSettings>,
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
    /// The outflow tickers of this instance: they drain every event and feed the sockets.
    pub outflow: Arc<OutflowRegistry>,
    /// What every position socket shares (store, admission signer, pacing).
    pub live: Arc<LiveContext>,
    /// The caps on this instance's open position sockets.
    pub socket_slots: Arc<SocketSlots>,
    /// The rate limiter of every route's rate-limit step (and of the admin rules and bans API).
    pub ratelimit: Arc<crate::ratelimit::RateLimiter>,
    /// Where every admin change is recorded (the store's audit area).
    pub audit: Arc<dyn crate::store::audit::AuditLog>,
    /// Every event's live figures, polled about once a second (gauges, admin API, dashboard).
    pub live_stats: Arc<crate::admin::live_stats::LiveStats>,
    /// Events' public state as waiting pages read it, rebuilt at most once a second.
    pub public_snapshots: Arc<super::public_snapshot::PublicSnapshots>,
    /// Signs and checks proof-of-work challenges and invitations.
    pub defence_keys: Arc<crate::defences::DefenceKeys>,
    /// New identities per second per event, which raise the proof-of-work difficulty in a surge.
    pub surge: Arc<crate::defences::SurgeMeter>,
    /// The checkout's health per event on this instance (built-in answers, reports).
    pub checkout_health: Arc<crate::admission::checkout_health::CheckoutHealthMeter>,
    /// Moves each event's outflow after its checkout's health.
    pub outflow_follower: Arc<crate::admission::follow_checkout::OutflowFollower>,
    /// Becomes `true` when shutdown begins: long-lived connections close on it.
    pub shutdown: watch::Receiver<bool>,
}

impl SharedState {
    /// The current time in ms, from the state's clock.
    pub fn now(&self) -> crate::clock::UnixMillis {
        self.clock.now_ms()
    }
}
