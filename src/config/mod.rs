//! Typed settings: defaults, overridden by an optional TOML file, overridden by `WAITROOM_*`
//! environment variables, validated once on construction.
//!
//! [`Settings::load`] takes the file path and the environment as arguments, so tests build
//! settings explicitly and never from the ambient environment. A bad setting is a
//! [`ConfigError`] whose message is one line naming the setting.

mod demo;
mod secrets;
mod sources;
pub use crate::ratelimit::file_watch as watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

pub use demo::{DEMO_EVENT, demo_event};
pub use secrets::{KNOWN_SECRETS, SHORTEST_ADMIN_TOKEN, SHORTEST_USER_SECRET};
pub use sources::RawSettings;

/// A setting that cannot be used, or a file that cannot be read. The message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

pub use crate::store::CheckoutDurability;

/// Where the queue state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSettings {
    /// The embedded in-memory store: one instance, state lost on exit.
    Memory,
    /// One Redis (one URL) or the nodes of a Redis Cluster (several URLs).
    Redis {
        /// `redis://` URLs, validated.
        urls: Vec<String>,
    },
}

/// How shoppers' bearer tokens are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKeySettings {
    /// HS256 with this shared secret.
    Secret(String),
    /// A JWKS file of public keys (RS256, ES256, EdDSA…), each pinned to its own algorithm.
    JwksFile(PathBuf),
    /// A random HS256 secret made at start (dev login on, nothing configured).
    RandomSecret,
    /// No user tokens are accepted: only anonymous visitors, where events allow them.
    None,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, for production log pipelines.
    Json,
    /// Human-readable lines, for a terminal.
    Pretty,
}

/// Every setting of a waitroom instance, valid by construction.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// The queue store.
    pub store: StoreSettings,
    /// Bearer token of `/v1/admin/*`; `None` makes those endpoints answer 403.
    pub admin_token: Option<String>,
    /// Whether `POST /v1/dev/login` hands out user tokens (demos, tests, load).
    pub dev_login: bool,
    /// How shoppers' tokens are verified.
    pub user_key: UserKeySettings,
    /// The `iss` user tokens must carry, when set.
    pub user_jwt_issuer: Option<String>,
    /// The `aud` user tokens must carry, when set.
    pub user_jwt_audience: Option<String>,
    /// Whether user tokens verified with a JWKS file may carry any audience. Off by default: a
    /// shared identity provider's tokens for other clients would otherwise be accepted.
    pub user_jwt_any_audience: bool,
    /// PEM file of Ed25519 private keys for admission and visitor tokens; `None` generates a key
    /// at start, which only a single instance can use.
    pub signing_key_file: Option<PathBuf>,
    /// The id (`kid`) of the key of `signing_key_file` that signs; the file's other keys only
    /// verify. `None`: the file's last key signs.
    pub signing_kid: Option<String>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Origins (`scheme://host[:port]`) whose pages may open the WebSocket.
    pub allowed_origins: Vec<String>,
    /// JSON or human-readable logs.
    pub log_format: LogFormat,
    /// Whether to create the demo event `demo-sale` at start.
    pub demo: bool,
    /// A directory of pages served at `/` instead of the ones built into the binary.
    pub static_dir: Option<PathBuf>,
    /// A TOML file of `[[events]]` (the admin API's create bodies), applied at start and on
    /// every save: missing events are created, changed ones updated.
    pub events_file: Option<PathBuf>,
    /// Longest time a request may take before it is answered with a 503.
    pub request_timeout: Duration,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Position sockets one identity may hold open on this instance at once (several tabs).
    pub max_sockets_per_identity: usize,
    /// Position sockets this instance holds open at once, below the process's open-file limit.
    pub max_sockets: usize,
    /// The `[ratelimit]` table of the file, as written: the rate limiter parses and validates it.
    pub ratelimit: Option<toml::Table>,
    /// The secret shared with the alert webhook's receiver: every alert is signed with it
    /// (`Waitroom-Signature`); unset, alerts go unsigned.
    pub webhook_secret: Option<String>,
    /// When a reservation or a payment is acknowledged (Redis only).
    pub checkout_durability: CheckoutDurability,
    /// Things worth telling the operator once logging is up (unknown variables, weak secrets).
    pub warnings: Vec<String>,
}

impl Default for Settings {
    /// The defaults of the public contract: localhost, embedded store, no admin, no dev login.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            store: StoreSettings::Memory,
            admin_token: None,
            dev_login: false,
            user_key: UserKeySettings::None,
            user_jwt_issuer: None,
            user_jwt_audience: None,
            user_jwt_any_audience: false,
            signing_key_file: None,
            signing_kid: None,
            trusted_proxies: Vec::new(),
            allowed_origins: Vec::new(),
            log_format: LogFormat::Pretty,
            demo: false,
            static_dir: None,
            events_file: None,
            request_timeout: Duration::from_secs(10),
            checkout_durability: CheckoutDurability::Applied,
            body_limit_bytes: 64 * 1024,
            max_sockets_per_identity: 5,
            max_sockets: 16_000,
            ratelimit: None,
            webhook_secret: None,
            warnings: Vec::new(),
        }
    }
}

impl Settings {
    /// Loads settings: defaults, then `file` (when given), then the `WAITROOM_*` entries of `env`.
    ///
    /// `env` is passed in (main passes the process environment) so tests stay hermetic.
    pub fn load<'a>(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ConfigError> {
        let mut raw = match file {
            Some(path) => RawSettings::from_file(path)?,
            None => RawSettings::default(),
        };
        let mut warnings = Vec::new();
        raw.apply_env(env, &mut warnings)?;
        let mut settings = raw.validate()?;
        settings.warnings.splice(0..0, warnings);
        Ok(settings)
    }

    /// The config file named by `WAITROOM_CONFIG` in `env`, if any.
    pub fn config_file_from_env<'a>(
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<PathBuf> {
        env.into_iter()
            .find(|(key, value)| *key == "WAITROOM_CONFIG" && !value.is_empty())
            .map(|(_, value)| PathBuf::from(value))
    }
}
