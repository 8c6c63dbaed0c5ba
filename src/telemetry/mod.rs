//! What an operator sees of a running instance: logs and metrics.
//!
//! * [`logs`]: JSON lines in production, readable lines in a terminal, one span per request.
//! * [`metrics`]: every `waitroom_*` metric, named and described in one place, and the
//!   Prometheus recorder that `/metrics` renders.
//! * [`timed_store`]: a [`QueueStore`](crate::store::QueueStore) wrapper timing every call.
//! * [`redact`]: URLs as logs may show them, without the secrets they carry (the rate limiter's,
//!   whose Redis connection and webhook log URLs too).

pub mod logs;
pub mod metrics;
pub use crate::ratelimit::redact;
pub mod timed_store;

pub use logs::init_tracing;
