//! The adaptive API rate limiter: a tower layer any axum or tower service can add.
//!
//! The service hands it one [`RequestInfo`] per request (method, path, query, peer address, route
//! group and headers, from which the verified user, the tier and the API key are read) and gets a
//! [`Verdict`] back. How a request is judged, and where each step lives:
//!
//! * [`identity`]: who is asking — the verified user, else the API key, else the IP (from
//!   `X-Forwarded-For` only behind trusted proxies; IPv6 grouped per /64).
//! * [`access`]: allow and deny lists of CIDRs, user ids and API keys.
//! * [`rules`] (the data, `config/ratelimit.toml`), [`compile`] (validated whole, compiled once),
//!   [`pattern`] (which requests a rule matches); swapped atomically by [`limiter`] and reloaded
//!   from the file by [`reload`] or through the service's admin API
//!   (`http::routes::admin_ratelimit`), which stores them for every instance ([`shared_rules`]:
//!   stored rules win over the file).
//! * [`gcra`], [`sliding_window`], [`penalty`] and [`decision`]: the algorithms as pure functions
//!   of (state, now), run by the [`store`] in memory or as Lua scripts in Redis.
//! * [`adaptive`] (baselines that tighten a flooded rule) and [`sale`] (relaxations while an event
//!   is open or on a schedule) scale a rule's limit, as do the client's tier multipliers.
//! * [`alerts`]: every ban is logged, counted and posted to an optional webhook.
//! * [`refusals`]: what is counted of refusals: per rule in metrics, the most refused clients per
//!   instance, and their sum across instances for the dashboard.
//! * [`layer`]: the tower layer answering `429`/`403`/`503` problem JSON ([`problem`]) and adding
//!   the `RateLimit-*` headers.
//!
//! What the limiter stands on, which the service around it uses too (one definition each, the
//! service re-exports them): the [`clock`], client [`tier`]s, the [`redis_connection`] to one
//! Redis or a cluster and its [`store_error`], the loader joining the Lua scripts of the
//! workspace's `lua/` folder ([`lua_in!`]), the [`webhook`] that posts alerts, the [`file_watch`]
//! behind rules reloads, the [`problem`] document every error is answered with, URL [`redact`]ion
//! for logs, and the [`metric_names`] of its counters.

pub mod access;
pub mod adaptive;
pub mod alerts;
pub mod client_key;
pub mod clock;
pub mod compile;
pub mod decision;
pub mod file_watch;
pub mod gcra;
pub mod group_commit;
pub mod identity;
pub mod layer;
pub mod limiter;
mod literal;
pub mod metric_names;
pub mod outcome;
pub mod pattern;
pub mod penalty;
pub mod problem;
pub mod redact;
pub mod redis_connection;
pub mod refusals;
pub mod reload;
pub mod rule_index;
pub mod rules;
pub mod sale;
pub mod scope;
mod script_source;
mod sections;
pub mod shared_rules;
mod short_bytes;
pub mod sliding_window;
pub mod span;
mod split_path;
pub mod store;
pub mod store_error;
pub mod tier;
pub mod webhook;

pub use compile::{RuleSet, compile};
pub use identity::{TrustedProxies, UserVerifier, VerifiedUser};
pub use layer::RateLimitLayer;
pub use limiter::{RateLimiter, RequestInfo, Verdict};
pub use rules::RuleSetConfig;
pub use store::{MemoryRateLimitStore, RateLimitStore, RedisRateLimitStore};
