//! The values a decision produces, and the limiter's answer for one request. Being limited is
//! not an error: it is an outcome that carries how long to wait; an allowed request may hold a
//! concurrency slot, given back when it is done.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::store::{Permit, RateLimitStore};
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

/// The limiter's answer for one request. Being limited is a value carrying the wait.
#[derive(Debug)]
pub enum Verdict {
    /// No limit applies (an exempt route, an allowed client, or a store down failing open).
    Unlimited,
    /// Go ahead, after `delay` (a penalty), holding `permit` (a concurrency slot) until done.
    Allowed {
        /// The figures for the `RateLimit-*` headers.
        quota: Quota,
        /// The rule that allowed it, for `RateLimit-Policy`.
        policy: Policy,
        /// How long to hold the request first.
        delay: Duration,
        /// The in-flight slot, given back when dropped.
        permit: Option<PermitGuard>,
    },
    /// Over the limit: `429` with `Retry-After`.
    Limited {
        /// The figures for the `RateLimit-*` headers.
        quota: Quota,
        /// When the request would pass.
        retry_after: Duration,
        /// The rule that refused it.
        policy: Policy,
    },
    /// Banned: `403` with `Retry-After`.
    Banned {
        /// When the ban ends.
        retry_after: Duration,
    },
    /// On the deny list: `403`.
    Denied,
    /// The store is down and the rule fails closed: `503`.
    Unavailable,
}

/// The rule behind a quota, as the `RateLimit-Policy` field describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The rule's name.
    pub name: Arc<str>,
    /// Seconds over which the quota is whole again once used up (GCRA: the time its burst takes
    /// to refill; a sliding window: the window).
    pub window_s: i64,
}

/// An in-flight slot; dropping it gives the slot back.
pub struct PermitGuard {
    pub(super) store: Arc<dyn RateLimitStore>,
    /// Boxed: every verdict has room for a guard, and most requests hold none; inline, the
    /// permit would make each verdict too large to copy in a few moves.
    pub(super) permit: Option<Box<Permit>>,
}

impl std::fmt::Debug for PermitGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PermitGuard")
            .field("permit", &self.permit)
            .finish()
    }
}

impl PermitGuard {
    /// Gives the slot back now, waiting for the store (dropping the guard does it in the
    /// background).
    pub async fn release(mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        if let Err(error) = self.store.release(&permit).await {
            // The slot's lease gives it back in the end.
            tracing::warn!(%error, "could not release a concurrency slot");
        }
    }
}

impl Drop for PermitGuard {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let store = self.store.clone();
        if let Some(memory) = store.in_process() {
            memory.release_now(&permit);
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = store.release(&permit).await {
                    // The slot's lease gives it back in the end.
                    tracing::warn!(%error, "could not release a concurrency slot");
                }
            });
        }
    }
}
