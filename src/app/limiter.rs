//! The rate limiter in the service: built from the settings, told who the users are and which
//! events are open.
//!
//! Rules come from the `[ratelimit]` table of the configuration file: `file = "…"` names a rules
//! file that is then watched and reloaded on every save; otherwise the table itself is the rule
//! set; with no table the shipped `config/ratelimit.toml` applies. Rules an operator stored for
//! every instance (`PUT /v1/admin/ratelimit`) win over all of these, from start-up on, until
//! they are dropped ([`crate::ratelimit::shared_rules`]). The limiter keeps its state in
//! the same place as the queue (memory, or the same Redis).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::StartError;
use crate::admin::webhook::{RetryPolicy, Webhook};
use crate::clock::{Clock, UnixMillis};
use crate::config::{Settings, StoreSettings};
use crate::domain::{EventStatus, Tier, event_status};
use crate::http::audit_layer::token_fingerprint;
use crate::http::auth::{admin_token_digest, is_admin_digest};
use crate::identity::Authenticator;
use crate::ratelimit::alerts::Alerter;
use crate::ratelimit::identity::{TrustedProxies, UserVerifier, VerifiedUser};
use crate::ratelimit::reload::{RulesFileWatcher, read_rules_file, watch_rules_file};
use crate::ratelimit::store::{MemoryRateLimitStore, RateLimitStore, RedisRateLimitStore};
use crate::ratelimit::{RateLimiter, RuleSet, RuleSetConfig, compile};
use crate::store::QueueStore;
use crate::store::known_settings::KnownSettings;
use crate::telemetry::redact::redact_passwords;

/// How often the open events are looked up for sale relaxations.
const OPEN_EVENTS_EVERY: Duration = Duration::from_secs(2);

/// The service's user tokens, as the limiter sees them: signed-in users, and the operator.
/// Anonymous visitors mint a new identity with every join, so they are limited by their IP.
/// Whoever holds the admin token is one client of the `admin` tier, named as in the audit log,
/// never limited by the address it calls from: an operator's script must not get its machine
/// banned for everyone else on it.
pub struct LimiterUsers {
    /// Verifies shoppers' tokens.
    pub auth: Arc<Authenticator>,
    /// The digest of `WAITROOM_ADMIN_TOKEN` ([`admin_token_digest`]) and the operator's client
    /// id, when the token is set: every request's bearer token is compared with it.
    pub operator: Option<([u8; 32], String)>,
}

impl UserVerifier for LimiterUsers {
    fn verify(&self, token: &str, now_ms: UnixMillis) -> Option<VerifiedUser> {
        if let Some((admin_digest, operator)) = &self.operator
            && is_admin_digest(token, admin_digest)
        {
            return Some(VerifiedUser {
                id: operator.clone(),
                tier: Tier::Admin,
                operator: true,
            });
        }
        let shopper = self.auth.bearer(token, now_ms).ok()?;
        if shopper.identity.is_visitor() {
            return None;
        }
        Some(VerifiedUser {
            id: shopper.identity.subject().to_owned(),
            tier: shopper.tier,
            operator: false,
        })
    }
}

/// A built limiter, and the watcher of its rules file (kept alive as long as the app).
pub struct BuiltLimiter {
    /// The limiter.
    pub limiter: Arc<RateLimiter>,
    /// The rules file watcher, when rules come from a file.
    pub watcher: Option<RulesFileWatcher>,
}

fn field_errors(errors: &[crate::error::FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A rate-limit store that could not be set up, without the Redis password of `urls`.
fn store_error(error: &dyn std::fmt::Display, urls: &[String]) -> StartError {
    StartError::Store(redact_passwords(
        &format!("rate-limit store: {error}"),
        urls,
    ))
}

/// Builds the limiter the settings describe. Bad rules are [`StartError::RateLimit`]; a store
/// that cannot be reached is [`StartError::Store`].
pub async fn build_limiter(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    auth: Arc<Authenticator>,
) -> Result<BuiltLimiter, StartError> {
    let rules = rules_of(settings).map_err(StartError::RateLimit)?;
    let store: Arc<dyn RateLimitStore> = match &settings.store {
        StoreSettings::Memory => Arc::new(MemoryRateLimitStore::new(clock.clone())),
        StoreSettings::Redis { urls } => Arc::new(
            RedisRateLimitStore::connect(&urls.join(","))
                .await
                .map_err(|error| store_error(&error, urls))?,
        ),
    };
    let (rules, file) = rules;
    let webhook = Webhook::new(
        settings.webhook_secret.as_deref(),
        clock.clone(),
        RetryPolicy::default(),
    );
    let limiter = Arc::new(
        RateLimiter::new(rules, store, clock)
            .with_alerter(Alerter::new(webhook))
            .with_verifier(Arc::new(LimiterUsers {
                auth,
                operator: settings
                    .admin_token
                    .as_ref()
                    .map(|token| (admin_token_digest(token), token_fingerprint(token))),
            }))
            .with_trusted_proxies(TrustedProxies::new(settings.trusted_proxies.clone())),
    );
    // Stored rules win over the file from the first request; a store that cannot tell now
    // leaves the file's rules in force until the follower reads them.
    if let Err(error) = limiter.follow_stored_rules().await {
        tracing::warn!(%error, "stored rate-limit rules unreadable at start; the file's apply for now");
    }
    let watcher = match file {
        Some(path) => Some(watch_rules_file(limiter.clone(), path).map_err(|error| {
            StartError::RateLimit(format!("ratelimit.file: cannot watch it: {error}"))
        })?),
        None => None,
    };
    Ok(BuiltLimiter { limiter, watcher })
}

/// The compiled rules the settings name, and the file they come from (if any).
fn rules_of(settings: &Settings) -> Result<(RuleSet, Option<PathBuf>), String> {
    let mut table = settings.ratelimit.clone().unwrap_or_default();
    let file = match table.remove("file") {
        Some(toml::Value::String(path)) => Some(PathBuf::from(path)),
        Some(_) => return Err("ratelimit.file: must be a path".to_owned()),
        None => None,
    };
    let config = match &file {
        Some(path) => read_rules_file(path).map_err(|errors| field_errors(&errors))?,
        None if table.is_empty() => RuleSetConfig::shipped()?,
        None => table
            .try_into::<RuleSetConfig>()
            .map_err(|error| format!("ratelimit: {error}"))?,
    };
    let rules = compile(&config, None)
        .map_err(|errors| format!("ratelimit rules: {}", field_errors(&errors)))?;
    Ok((rules, file))
}

/// Keeps the limiter told which events are open (for sale relaxations) until shutdown.
pub fn follow_open_events(
    limiter: Arc<RateLimiter>,
    store: Arc<dyn QueueStore>,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(OPEN_EVENTS_EVERY);
        let known = KnownSettings::default();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            let now = clock.now_ms();
            let Ok(configs) = known.all(store.as_ref(), now).await else {
                continue;
            };
            for config in configs {
                // Stock does not matter here: only whether the sale is on.
                let open = event_status(&config, u64::MAX, now) == EventStatus::Open;
                limiter.open_events().set(config.id.as_str(), open);
            }
        }
    });
}
