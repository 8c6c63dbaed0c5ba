//! One whole decision as a pure function: the client's ban and penalties, then the algorithm.
//!
//! The memory store runs [`decide`] under a lock; the Redis store runs the same steps in one Lua
//! script (`lua/ratelimit_penalty.lua` followed by the algorithm's script). The conformance suite
//! drives both with a manual clock and expects the same answers.

use super::gcra::{GcraLimit, gcra};
use super::outcome::{Decision, Quota};
use super::penalty::{PenaltyPolicy, PenaltyState};
use super::scope::{BanScope, Liability};
use super::sliding_window::{WindowLimit, WindowState, sliding_window};

/// The limit of one bucket, with its algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// GCRA (a token bucket measured in time).
    Gcra(GcraLimit),
    /// The sliding-window counter.
    SlidingWindow(WindowLimit),
}

impl Limit {
    /// Milliseconds over which a used-up budget becomes whole again.
    pub fn window_ms(self) -> i64 {
        match self {
            Limit::Gcra(limit) => limit.burst.saturating_mul(limit.interval_us) / 1000,
            Limit::SlidingWindow(limit) => limit.window_ms,
        }
    }

    /// The limit scaled by `permille` / 1000.
    pub fn scaled(self, permille: i64) -> Limit {
        if permille == 1000 {
            return self;
        }
        match self {
            Limit::Gcra(limit) => Limit::Gcra(limit.scaled(permille)),
            Limit::SlidingWindow(limit) => Limit::SlidingWindow(limit.scaled(permille)),
        }
    }
}

/// The stored state of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketState {
    /// GCRA's theoretical arrival time, µs.
    Gcra(i64),
    /// The sliding window's counters.
    Window(WindowState),
}

/// Everything one decision needs besides the stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionInput<'a> {
    /// The bucket's limit (tiers, adaptation and relaxations already applied).
    pub limit: Limit,
    /// What this request costs.
    pub cost: i64,
    /// How violations are punished (borrowed from the rule set: one decision is too short to
    /// be worth counting a reference).
    pub penalty: &'a PenaltyPolicy,
    /// What the request answers for on the charged key.
    pub liability: Liability,
    /// The scope of a ban this request's violation starts.
    pub ban_scope: BanScope,
}

/// The result of [`decide`]: what to store, until when, and the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionStep {
    /// The bucket's new state and when it may be dropped; `None`: unchanged.
    pub bucket: Option<(BucketState, i64)>,
    /// The client's new penalty state and when it may be dropped; `None`: unchanged.
    pub penalty: Option<(PenaltyState, i64)>,
    /// The answer.
    pub decision: Decision,
}

/// Decides one request at `now_us` from the stored bucket and penalty states.
pub fn decide(
    bucket: Option<BucketState>,
    penalty: PenaltyState,
    now_us: i64,
    input: &DecisionInput<'_>,
) -> DecisionStep {
    let now_ms = now_us.div_euclid(1000);
    let policy = &input.penalty;
    let standing_state = penalty.at(now_ms, policy);
    if standing_state.ban_until_ms > now_ms && input.liability.refused_by(standing_state.ban_scope)
    {
        return DecisionStep {
            bucket: None,
            penalty: None,
            decision: Decision::Banned {
                until_ms: standing_state.ban_until_ms,
            },
        };
    }
    let own = input.liability == Liability::Own;
    let standing = if own {
        standing_state.standing(policy)
    } else {
        PenaltyState::default().standing(policy)
    };
    let (stored, outcome, expires_ms) = match input.limit.scaled(standing.limit_permille) {
        Limit::Gcra(limit) => {
            let tat = match bucket {
                Some(BucketState::Gcra(tat)) => tat,
                _ => 0,
            };
            let step = gcra(tat, now_us, limit, input.cost);
            let stored = step.new_tat_us.map(BucketState::Gcra);
            let expires = step.new_tat_us.map_or(0, |tat| tat.div_euclid(1000) + 1);
            (stored, step.outcome, expires)
        }
        Limit::SlidingWindow(limit) => {
            let state = match bucket {
                Some(BucketState::Window(state)) => state,
                _ => WindowState::default(),
            };
            let step = sliding_window(state, now_ms, limit, input.cost);
            let expires = step
                .new_state
                .map_or(0, |state| state.start_ms + 2 * limit.window_ms);
            (
                step.new_state.map(BucketState::Window),
                step.outcome,
                expires,
            )
        }
    };
    if outcome.allowed {
        return DecisionStep {
            bucket: stored.map(|state| (state, expires_ms)),
            penalty: None,
            decision: Decision::Allowed {
                quota: Quota::from(outcome),
                delay_ms: standing.delay_ms,
            },
        };
    }
    if !own {
        // The key's penalties are not this request's to earn.
        return DecisionStep {
            bucket: None,
            penalty: None,
            decision: Decision::Limited {
                quota: Quota::from(outcome),
                retry_after_ms: outcome.retry_after_ms,
                ban: None,
                violations: 0,
            },
        };
    }
    let (violated, ban) = standing_state.violate(now_ms, policy, input.ban_scope);
    let penalty_expires = violated.expires_at(policy).unwrap_or(now_ms + 1);
    let retry_after_ms = match &ban {
        Some(started) => started.until_ms - now_ms,
        None => outcome.retry_after_ms,
    };
    DecisionStep {
        bucket: None,
        penalty: Some((violated, penalty_expires)),
        decision: Decision::Limited {
            quota: Quota::from(outcome),
            retry_after_ms,
            ban,
            violations: violated.violations(),
        },
    }
}
