//! Wiring: settings in, a running server out.
//!
//! [`build`] turns [`Settings`] into an [`App`] (store, keys, authenticator, router); [`run`] serves
//! it on a listener until a shutdown future completes, then stops accepting connections, tells
//! long-lived connections through [`AppState::shutdown`] and finishes requests in flight.

mod limiter;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin::events_file::{EventsFileCount, EventsFileWatcher, follow_events_file};
use crate::admin::live_stats::LiveStats;
use crate::admin::retention::RetentionSweeper;
use crate::admission::checkout_health::CheckoutHealthMeter;
use crate::admission::follow_checkout::OutflowFollower;
use crate::admission::{AdmissionVerifier, KeyError, SigningKeys};
use crate::clock::{Clock, SystemClock};
use crate::config::{DEMO_EVENT, Settings, StoreSettings, UserKeySettings, demo_event};
use crate::defences::{DefenceKeys, SurgeMeter};
use crate::http::event_settings::EventSettings;
use crate::http::socket_slots::SocketSlots;
use crate::http::state::SharedState;
use crate::http::telemetry::prometheus_handle;
use crate::http::{AppState, router};
use crate::identity::{Authenticator, UserTokens};
use crate::live::{LiveContext, LiveSettings};
use crate::live::{OutflowRegistry, OutflowSettings};
use crate::ratelimit::reload::RulesFileWatcher;
use crate::store::QueueStore;
use crate::store::audit::{AuditLog, MemoryAuditLog};
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;
use crate::telemetry::redact::redact_passwords;
use crate::telemetry::timed_store::Timed;
use limiter::{build_limiter, follow_open_events};

/// How often every event's live figures are read for the gauges and the dashboard.
const LIVE_STATS_EVERY: Duration = Duration::from_secs(1);

/// How often each event's outflow is judged against its checkout's health (a step needs 5 s).
const FOLLOW_CHECKOUT_EVERY: Duration = Duration::from_secs(1);

/// How often each instance looks for closed events whose retention ran out: a removal comes at
/// most this late, and a closed event's settings are read rarely anyway (`KnownSettings`).
const RETENTION_SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Why the application could not be built. The message is one line.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A key file is unreadable or holds no usable key.
    #[error("{0}")]
    Keys(#[from] KeyError),
    /// The events file cannot be read, watched or applied.
    #[error("{0}")]
    Events(String),
    /// The store could not be set up.
    #[error("{0}")]
    Store(String),
    /// The rate limiter's rules or store could not be set up.
    #[error("{0}")]
    RateLimit(String),
    /// The store cannot give the checkout durability asked for (`checkout_durability`).
    #[error("{0}")]
    Durability(String),
}

impl StartError {
    /// The process's exit code for it: 2 for a setting, key or file that cannot work as given
    /// (fix the configuration), 1 for surroundings that failed (a store that cannot be reached;
    /// trying again may work).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Keys(_) | Self::Events(_) | Self::RateLimit(_) | Self::Durability(_) => 2,
            Self::Store(_) => 1,
        }
    }
}

/// A built application, ready to [`run`].
pub struct App {
    /// What every handler shares; background tasks take clones of it.
    pub state: AppState,
    /// The router with every route and layer.
    pub router: Router,
    shutdown: watch::Sender<bool>,
    /// Reloads the rate-limit rules file on change while the app lives.
    _rules_watcher: Option<RulesFileWatcher>,
    /// Applies the events file on change while the app lives.
    events_watcher: Option<EventsFileWatcher>,
}

impl App {
    /// What the events file's watcher has done so far; `None` without an events file.
    pub fn events_file_count(&self) -> Option<watch::Receiver<EventsFileCount>> {
        self.events_watcher.as_ref().map(EventsFileWatcher::count)
    }
}

/// Builds the application on the system clock; a Redis store takes its time from Redis.
pub async fn build(settings: Settings) -> Result<App, StartError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (store, audit) = open_store(&settings, clock.clone(), None).await?;
    build_with_stores(settings, clock, store, audit).await
}

/// Builds the application with `clock`, which the store uses too, Redis included (tests drive
/// a manual one).
pub async fn build_with_clock(
    settings: Settings,
    clock: Arc<dyn Clock>,
) -> Result<App, StartError> {
    let (store, audit) = open_store(&settings, clock.clone(), Some(clock.clone())).await?;
    build_with_stores(settings, clock, store, audit).await
}

/// Builds the application on a given store (several instances sharing one store in tests).
pub async fn build_with_store(
    settings: Settings,
    clock: Arc<dyn Clock>,
    store: Arc<dyn QueueStore>,
) -> Result<App, StartError> {
    build_with_stores(settings, clock, store, Arc::new(MemoryAuditLog::default())).await
}

/// Builds the application on a given queue store and audit log.
pub async fn build_with_stores(
    settings: Settings,
    clock: Arc<dyn Clock>,
    store: Arc<dyn QueueStore>,
    audit: Arc<dyn AuditLog>,
) -> Result<App, StartError> {
    let store = Timed::wrap(store);
    let keys = match &settings.signing_key_file {
        Some(path) => {
            let keys = SigningKeys::from_file_signing_with(path, settings.signing_kid.as_deref())?;
            tracing::info!(
                signing_kid = %keys.current().kid,
                verify_only = keys.all().len() - 1,
                "admission and visitor tokens are signed with key {}; the file's other keys only verify",
                keys.current().kid
            );
            keys
        }
        None if settings.signing_kid.is_some() => {
            return Err(StartError::Keys(KeyError(
                "signing_kid (WAITROOM_SIGNING_KID) names a key of signing_key_file, which is not set"
                    .to_owned(),
            )));
        }
        None => {
            tracing::warn!(
                "admission tokens are signed with a key generated at start: run a single \
                 instance, or give every instance the same WAITROOM_SIGNING_KEY_FILE"
            );
            SigningKeys::generate()?
        }
    };
    let users = user_tokens(&settings)?;
    let (shutdown, shutdown_watch) = watch::channel(false);
    let auth = Arc::new(Authenticator::new(users, &keys));
    let limiter = build_limiter(&settings, clock.clone(), auth.clone()).await?;
    let defence_keys = Arc::new(DefenceKeys::derive(&keys)?);
    let keys = Arc::new(keys);
    let live = LiveContext {
        store: store.clone(),
        issuer: keys.clone(),
        settings: LiveSettings::default(),
        clock: clock.clone(),
        told_on_socket: Default::default(),
    };
    let checkout_health = Arc::new(CheckoutHealthMeter::default());
    let live_stats = LiveStats::new(store.clone(), clock.clone(), checkout_health.clone());
    let outflow_follower = OutflowFollower::new(
        store.clone(),
        checkout_health.clone(),
        audit.clone(),
        limiter.limiter.clone(),
        clock.clone(),
    );
    let state = AppState::new(SharedState {
        outflow: OutflowRegistry::new(store.clone(), OutflowSettings::default()),
        live: Arc::new(live),
        socket_slots: SocketSlots::new(settings.max_sockets_per_identity, settings.max_sockets),
        admissions: Arc::new(AdmissionVerifier::from_keys(&keys)),
        auth,
        ratelimit: limiter.limiter,
        keys,
        settings: Arc::new(settings),
        event_settings: Arc::new(EventSettings::new(store.clone())),
        store,
        clock,
        metrics: prometheus_handle(),
        audit,
        live_stats,
        public_snapshots: Default::default(),
        defence_keys,
        surge: Arc::new(SurgeMeter::default()),
        checkout_health,
        outflow_follower,
        shutdown: shutdown_watch,
    });
    if state.settings.demo {
        create_demo_event(&state).await;
    }
    follow_open_events(
        state.ratelimit.clone(),
        state.store.clone(),
        state.clock.clone(),
        state.shutdown.clone(),
    );
    // Sold out, store down, store back: alerted once for the whole cluster.
    crate::http::fact_alerts::watch_facts(
        state.ratelimit.clone(),
        state.store.clone(),
        state.live_stats.clone(),
        state.clock.clone(),
        state.shutdown.clone(),
    );
    let events_watcher = match &state.settings.events_file {
        Some(path) => Some(
            follow_events_file(
                state.store.clone(),
                state.audit.clone(),
                state.clock.clone(),
                path.clone(),
            )
            .await
            .map_err(StartError::Events)?,
        ),
        None => None,
    };
    let router = router(state.clone());
    Ok(App {
        events_watcher,
        state,
        router,
        shutdown,
        _rules_watcher: limiter.watcher,
    })
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, signals
/// [`AppState::shutdown`] and waits for requests in flight.
pub async fn run(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let App {
        router,
        shutdown: shutdown_sender,
        state,
        _rules_watcher: rules_watcher,
        events_watcher,
    } = app;
    // The rules and events files are watched for as long as the server runs.
    let _watchers = (rules_watcher, events_watcher);
    // Every instance drains every event: the store makes that safe.
    tokio::spawn(state.outflow.clone().run());
    tokio::spawn(
        state
            .live_stats
            .clone()
            .run(LIVE_STATS_EVERY, state.shutdown.clone()),
    );
    // Every instance judges the checkout it serves; the store takes one step for all.
    tokio::spawn(
        state
            .outflow_follower
            .clone()
            .run(FOLLOW_CHECKOUT_EVERY, state.shutdown.clone()),
    );
    // Closed events whose retention ran out are removed; every instance looks, one removes.
    tokio::spawn(
        RetentionSweeper::new(
            state.store.clone(),
            state.audit.clone(),
            state.clock.clone(),
        )
        .run(RETENTION_SWEEP_EVERY, state.shutdown.clone()),
    );
    // The dashboard shows every instance's refusals: each publishes its own.
    tokio::spawn(
        state
            .ratelimit
            .clone()
            .run_tally_exchange(state.shutdown.clone()),
    );
    // Rules stored through the admin API reach every instance within a second.
    tokio::spawn(
        state
            .ratelimit
            .clone()
            .run_rules_follower(state.shutdown.clone()),
    );
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        let _ = shutdown_sender.send(true);
        // Stops the tickers and closes every position socket with 1001: pages reconnect elsewhere.
        state.outflow.shutdown();
    };
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await
}

/// The configured store. The memory store runs on `clock`; Redis on `redis_clock`, or on the
/// Redis server's own time when it is `None` (instances then never disagree about time).
async fn open_store(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    redis_clock: Option<Arc<dyn Clock>>,
) -> Result<(Arc<dyn QueueStore>, Arc<dyn AuditLog>), StartError> {
    match &settings.store {
        StoreSettings::Memory => Ok((
            Arc::new(MemoryStore::new(clock)),
            Arc::new(MemoryAuditLog::default()),
        )),
        StoreSettings::Redis { urls } => {
            let joined = urls.join(",");
            let store = RedisStore::connect(&joined, redis_clock)
                .await
                .map_err(|error| {
                    StartError::Store(redact_passwords(&format!("redis_url: {error}"), urls))
                })?
                .with_checkout_durability(&joined, settings.checkout_durability)
                .await
                .map_err(|error| {
                    StartError::Durability(redact_passwords(
                        &format!("checkout_durability: {error}"),
                        urls,
                    ))
                })?;
            tracing::info!(nodes = urls.len(), "using the Redis store");
            let store = Arc::new(store);
            Ok((store.clone(), store))
        }
    }
}

fn user_tokens(settings: &Settings) -> Result<UserTokens, StartError> {
    let issuer = settings.user_jwt_issuer.clone();
    let audience = settings.user_jwt_audience.clone();
    Ok(match &settings.user_key {
        UserKeySettings::Secret(secret) => {
            UserTokens::with_secret(secret.as_bytes(), issuer, audience)
        }
        UserKeySettings::JwksFile(path) => {
            // Said at start: whether tokens a shared identity provider issued to other clients
            // are accepted here.
            match &audience {
                Some(audience) => {
                    tracing::info!("user tokens must carry the audience {audience:?}")
                }
                None => tracing::warn!(
                    "user tokens of any audience are accepted (user_jwt_any_audience): tokens \
                     the identity provider issued to other clients sign in here too"
                ),
            }
            UserTokens::from_jwks_file(path, issuer, audience)?
        }
        UserKeySettings::RandomSecret => {
            let mut secret = [0_u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            UserTokens::with_secret(&secret, issuer, audience)
        }
        UserKeySettings::None => {
            tracing::warn!(
                "no WAITROOM_USER_JWT_SECRET or WAITROOM_USER_JWKS_FILE: only anonymous \
                 visitors can join, where events allow them"
            );
            UserTokens::none()
        }
    })
}

async fn create_demo_event(state: &AppState) {
    let Some(config) = demo_event(state.now()) else {
        return;
    };
    match state.store.create_event(&config).await {
        Ok(true) => tracing::info!(
            "demo event created: the queue page is http://{}/?event={DEMO_EVENT}",
            state.settings.listen
        ),
        Ok(false) => tracing::info!(
            "demo event exists already: the queue page is http://{}/?event={DEMO_EVENT}",
            state.settings.listen
        ),
        Err(error) => tracing::warn!(%error, "the demo event could not be created"),
    }
}
