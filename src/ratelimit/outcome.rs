//! The values a decision produces. Being limited is not an error: it is an outcome that carries
//! how long to wait.

use serde::Serialize;

use crate::clock::UnixMillis;

/// What one algorithm says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateOutcome {
    /// Whether the request may go ahead.
    pub allowed: bool,
    /// The budget shown as `RateLimit-Limit` (the burst, or the window's count).
    pub limit: i64,
    /// What is left of it after this request (`RateLimit-Remaining`).
    pub remaining: i64,
    /// Milliseconds until the budget is whole again (`RateLimit-Reset`).
    pub reset_ms: i64,
    /// Milliseconds until this request would pass (0 when allowed).
    pub retry_after_ms: i64,
}

/// The budget figures shown to a client on its responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quota {
    /// `RateLimit-Limit`.
    pub limit: i64,
    /// `RateLimit-Remaining`.
    pub remaining: i64,
    /// `RateLimit-Reset`, in milliseconds (shown rounded up to seconds).
    pub reset_ms: i64,
}

impl From<RateOutcome> for Quota {
    fn from(outcome: RateOutcome) -> Self {
        Quota {
            limit: outcome.limit,
            remaining: outcome.remaining,
            reset_ms: outcome.reset_ms,
        }
    }
}

/// A ban that a decision started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanStarted {
    /// When it ends.
    pub until_ms: UnixMillis,
    /// How many bans this client has had, this one included.
    pub strikes: i64,
}

/// The store's answer for one request: the algorithm, the penalties and bans of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead, after `delay_ms` (a penalty delay, 0 for a client in good standing).
    Allowed {
        /// The figures for the response headers.
        quota: Quota,
        /// How long to hold the request first.
        delay_ms: i64,
    },
    /// Over the limit: retry after `retry_after_ms`. The violation was counted; `ban` is set when
    /// it started a ban.
    Limited {
        /// The figures for the response headers.
        quota: Quota,
        /// Milliseconds until the request would pass.
        retry_after_ms: i64,
        /// The ban this violation started, if any.
        ban: Option<BanStarted>,
        /// The client's violations with this one counted (0 once it started a ban): a stage is
        /// entered when this reaches its threshold.
        violations: i64,
    },
    /// The client is banned until `until_ms`.
    Banned {
        /// When the ban ends.
        until_ms: UnixMillis,
    },
}
