//! waitroom: a virtual waiting room and flash-sale admission gateway.
//!
//! A request's life, and the module that holds each step:
//!
//! * [`config`] turns defaults, a TOML file and `WAITROOM_*` variables into typed settings.
//! * [`domain`] holds the words of the domain as types valid by construction.
//! * [`clock`] is where logic gets the time: the system clock, or a manual one in tests.
//! * [`store`] keeps every piece of queue, outflow, admission and inventory state, in memory or in
//!   Redis (one Lua script from `lua/` per atomic step, over the library in `lua/lib/`).
//! * [`queue`] holds the queue's rules as pure functions: the leaky bucket, the draw, arrival
//!   windows, positions and wait estimates.
//! * [`live`] keeps shoppers informed and present: the ticker that drains each event's queue, the
//!   snapshots it publishes, presence, and the position socket of each queue page.
//! * [`admission`] signs and verifies admission tokens (JWKS) and moves the outflow after the
//!   checkout's health.
//! * [`identity`] judges shoppers' credentials: user JWTs and signed anonymous visitors.
//! * [`defences`] checks what a join may have to show beyond an identity: a proof of work, an
//!   invitation.
//! * Checkout (reserve stock with an admission, then take the mock payment) is the route
//!   [`http::routes::checkout`] over the store's `reserve` and `pay`.
//! * [`ratelimit`] decides whether a client may make a request, and penalises abuse: the
//!   `waitroom-ratelimit` crate (`crates/ratelimit`), which also holds what the service shares with
//!   it (the clock, the Redis connection, the Lua script loader, the alert webhook, the problem
//!   document), re-exported where the service's modules name them.
//! * [`http`] is the axum application: the router states each route's middleware chain in order.
//! * [`admin`] is the operators' side apart from HTTP: an event as they write it, live
//!   statistics of every event, the events file, the alerts' webhook.
//! * [`error`] is the one API error, answered as an RFC 9457 problem, with every conversion into it.
//! * [`app`] wires it all together (the rate limiter's construction included) and runs it until
//!   shutdown; [`telemetry`] sets up logging.

pub mod admin;
pub mod admission;
pub mod app;
pub mod clock;
pub mod config;
pub mod defences;
pub mod domain;
pub mod error;
pub mod http;
pub mod identity;
pub mod live;
pub mod queue;
pub use waitroom_ratelimit as ratelimit;
pub mod store;
pub mod telemetry;
