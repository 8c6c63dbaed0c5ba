//! How the outflow follows the checkout's health: a pure policy of (set rate, outflow in force,
//! health, now), so it is tested exactly and every instance decides alike.
//!
//! While the checkout is worse than the operator's [`CheckoutTarget`], the outflow halves at
//! every step, down to a floor (a tenth of the set rate, and never less than one shopper a
//! minute): admitting more shoppers into a checkout that is already failing only makes it fail
//! for more of them. Once healthy again it climbs back by a twentieth of the set rate per step,
//! slowly, because the checkout's health lags the outflow by the time shoppers take to reach
//! it. Steps are at least [`STEP_EVERY_MS`] apart, and the outflow is never above the set rate.
//! Rates are in thousandths of a shopper per second, as the store keeps them.

use serde::Serialize;

use crate::clock::UnixMillis;
use crate::domain::{CheckoutTarget, EventConfig};

/// Shortest time between two steps: the checkout needs that long to show what a step did.
pub const STEP_EVERY_MS: i64 = 5_000;
/// Fewest answers a health figure must rest on before it is judged.
pub const MIN_SAMPLES: u32 = 20;
/// One shopper a minute, rounded up, in thousandths per second: the lowest outflow of all.
pub const ONE_PER_MINUTE: u64 = 17;

/// How the checkout has been doing lately.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CheckoutHealth {
    /// 95th percentile of the answer time, in ms.
    pub p95_ms: u32,
    /// Share of answers that failed (5xx or timed out), 0 to 1.
    pub error_rate: f64,
    /// How many answers the figures rest on.
    pub samples: u32,
}

/// What the health says about the outflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Too few answers to tell.
    Unknown,
    /// Within the target.
    Healthy,
    /// Worse than the target, and why.
    Breach(Reason),
}

/// Why the outflow changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The checkout answers slower than the target's p95.
    SlowCheckout,
    /// More checkout answers fail than the target allows.
    FailingCheckout,
    /// The checkout is within its target again.
    Healthy,
    /// The operator removed the target: the outflow is back at its set rate.
    TargetRemoved,
}

impl Reason {
    /// The reason as the audit log and the logs say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SlowCheckout => "p95_above_target",
            Self::FailingCheckout => "error_rate_above_target",
            Self::Healthy => "checkout_healthy",
            Self::TargetRemoved => "target_removed",
        }
    }
}

impl CheckoutHealth {
    /// The verdict on this health against `target`: errors first (a failing checkout is worse
    /// than a slow one), unknown below [`MIN_SAMPLES`].
    pub fn judge(&self, target: &CheckoutTarget) -> Verdict {
        if self.samples < MIN_SAMPLES {
            Verdict::Unknown
        } else if self.error_rate > target.max_error_rate {
            Verdict::Breach(Reason::FailingCheckout)
        } else if self.p95_ms > target.p95_ms {
            Verdict::Breach(Reason::SlowCheckout)
        } else {
            Verdict::Healthy
        }
    }
}

/// The outflow in force as the store keeps it, beside the operator's set rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FollowedOutflow {
    /// The outflow in thousandths of a shopper per second, below the set rate; `None`: the set
    /// rate (kept as `None` so that an operator raising the set rate is followed at once).
    pub milli_per_second: Option<u64>,
    /// When it last changed (the store's clock): the next step waits [`STEP_EVERY_MS`] from it.
    pub changed_at: UnixMillis,
}

/// The outflow the drain admits at: the followed rate, never above the set one.
///
/// `lua/drain.lua` computes the same.
pub fn effective_rate(set: u64, followed: Option<u64>) -> u64 {
    followed.map_or(set, |rate| rate.min(set))
}

/// The outflow in force in shoppers per second, for people and gauges.
pub fn effective_per_second(config: &EventConfig, followed: Option<FollowedOutflow>) -> f64 {
    let milli = effective_rate(
        config.outflow_milli_per_second,
        followed.and_then(|followed| followed.milli_per_second),
    );
    milli as f64 / 1000.0
}

/// The lowest the outflow backs off to: a tenth of the set rate, at least one shopper a
/// minute, and never above the set rate itself.
pub fn floor_rate(set: u64) -> u64 {
    (set / 10).max(ONE_PER_MINUTE).min(set)
}

/// One change of the outflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutflowStep {
    /// The outflow before, thousandths of a shopper per second.
    pub before: u64,
    /// The outflow after.
    pub after: u64,
    /// What is stored: `after`, or `None` once back at the set rate.
    pub followed: FollowedOutflow,
    /// Why.
    pub reason: Reason,
}

/// The step the outflow takes at `now`, if any.
///
/// `set` is the operator's rate, `current` what the store holds (`None`: never changed), and
/// `verdict` the health's. Nothing changes within [`STEP_EVERY_MS`] of the last change, while
/// the health is unknown, at the floor under a breach, or at the set rate while healthy.
pub fn next_step(
    set: u64,
    current: Option<FollowedOutflow>,
    verdict: Verdict,
    now: UnixMillis,
) -> Option<OutflowStep> {
    if current.is_some_and(|current| now - current.changed_at < STEP_EVERY_MS) {
        return None;
    }
    let before = effective_rate(set, current.and_then(|current| current.milli_per_second));
    let (after, reason) = match verdict {
        Verdict::Unknown => return None,
        Verdict::Breach(reason) => ((before / 2).max(floor_rate(set)).min(before), reason),
        Verdict::Healthy => (
            before.saturating_add((set / 20).max(1)).min(set),
            Reason::Healthy,
        ),
    };
    (after != before).then(|| step(set, before, after, reason, now))
}

/// The outflow back at its set rate at once (the operator removed the target), if it was not.
pub fn back_to_set(
    set: u64,
    current: Option<FollowedOutflow>,
    now: UnixMillis,
) -> Option<OutflowStep> {
    let before = effective_rate(set, current.and_then(|current| current.milli_per_second));
    (before != set).then(|| step(set, before, set, Reason::TargetRemoved, now))
}

fn step(set: u64, before: u64, after: u64, reason: Reason, now: UnixMillis) -> OutflowStep {
    OutflowStep {
        before,
        after,
        followed: FollowedOutflow {
            milli_per_second: (after < set).then_some(after),
            changed_at: now,
        },
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixMillis = 1_800_000_000_000;
    /// 10 shoppers a second.
    const SET: u64 = 10_000;

    fn target() -> CheckoutTarget {
        CheckoutTarget {
            p95_ms: 500,
            max_error_rate: 0.05,
        }
    }

    fn health(p95_ms: u32, error_rate: f64, samples: u32) -> CheckoutHealth {
        CheckoutHealth {
            p95_ms,
            error_rate,
            samples,
        }
    }

    /// Applies `verdict` at every step from `current` for `steps` steps of [`STEP_EVERY_MS`];
    /// the outflow after each.
    fn walk(mut current: Option<FollowedOutflow>, verdict: Verdict, steps: usize) -> Vec<u64> {
        let mut rates = Vec::new();
        let mut now = current.map_or(T0, |c| c.changed_at);
        for _ in 0..steps {
            now += STEP_EVERY_MS;
            if let Some(step) = next_step(SET, current, verdict, now) {
                current = Some(step.followed);
            }
            rates.push(effective_rate(
                SET,
                current.and_then(|c| c.milli_per_second),
            ));
        }
        rates
    }

    #[test]
    fn the_verdict_needs_enough_answers_and_puts_errors_before_slowness() {
        assert_eq!(health(9_000, 0.9, 19).judge(&target()), Verdict::Unknown);
        assert_eq!(
            health(9_000, 0.9, 20).judge(&target()),
            Verdict::Breach(Reason::FailingCheckout)
        );
        assert_eq!(
            health(501, 0.05, 20).judge(&target()),
            Verdict::Breach(Reason::SlowCheckout)
        );
        assert_eq!(health(500, 0.05, 20).judge(&target()), Verdict::Healthy);
    }

    #[test]
    fn a_breach_halves_the_outflow_down_to_a_tenth_of_the_set_rate() {
        let breach = Verdict::Breach(Reason::SlowCheckout);
        assert_eq!(
            walk(None, breach, 6),
            [5_000, 2_500, 1_250, 1_000, 1_000, 1_000]
        );
    }

    #[test]
    fn a_healthy_checkout_climbs_back_by_a_twentieth_and_never_above_the_set_rate() {
        let low = FollowedOutflow {
            milli_per_second: Some(8_600),
            changed_at: T0,
        };
        assert_eq!(
            walk(Some(low), Verdict::Healthy, 4),
            [9_100, 9_600, 10_000, 10_000]
        );
        let step = next_step(SET, Some(low), Verdict::Healthy, T0 + 3 * STEP_EVERY_MS);
        assert_eq!(step.map(|s| s.reason), Some(Reason::Healthy));
    }

    #[test]
    fn back_at_the_set_rate_the_store_keeps_no_rate_so_a_raised_set_rate_applies_at_once() {
        let near = FollowedOutflow {
            milli_per_second: Some(9_900),
            changed_at: T0,
        };
        let step = next_step(SET, Some(near), Verdict::Healthy, T0 + STEP_EVERY_MS).unwrap();
        assert_eq!((step.before, step.after), (9_900, 10_000));
        assert_eq!(step.followed.milli_per_second, None);
        assert_eq!(
            effective_rate(20_000, step.followed.milli_per_second),
            20_000
        );
    }

    #[test]
    fn steps_are_at_least_five_seconds_apart() {
        let breach = Verdict::Breach(Reason::FailingCheckout);
        let first = next_step(SET, None, breach, T0).unwrap();
        assert_eq!(first.after, 5_000);
        let current = Some(first.followed);
        assert_eq!(
            next_step(SET, current, breach, T0 + STEP_EVERY_MS - 1),
            None
        );
        let second = next_step(SET, current, breach, T0 + STEP_EVERY_MS).unwrap();
        assert_eq!((second.before, second.after), (5_000, 2_500));
    }

    #[test]
    fn an_unknown_health_changes_nothing() {
        let low = FollowedOutflow {
            milli_per_second: Some(2_000),
            changed_at: T0,
        };
        assert_eq!(walk(Some(low), Verdict::Unknown, 3), [2_000, 2_000, 2_000]);
    }

    #[test]
    fn the_floor_is_at_least_one_shopper_a_minute_and_never_above_the_set_rate() {
        assert_eq!(floor_rate(SET), 1_000);
        assert_eq!(floor_rate(100), ONE_PER_MINUTE);
        assert_eq!(
            floor_rate(10),
            10,
            "a set rate below a shopper a minute stays as set"
        );
        let slow = next_step(100, None, Verdict::Breach(Reason::SlowCheckout), T0).unwrap();
        assert_eq!(slow.after, 50);
        let at_floor = FollowedOutflow {
            milli_per_second: Some(ONE_PER_MINUTE),
            changed_at: T0,
        };
        let breach = Verdict::Breach(Reason::SlowCheckout);
        assert_eq!(
            next_step(100, Some(at_floor), breach, T0 + STEP_EVERY_MS),
            None
        );
    }

    #[test]
    fn an_operator_lowering_the_set_rate_below_the_followed_one_is_obeyed() {
        assert_eq!(effective_rate(3_000, Some(5_000)), 3_000);
        let followed = FollowedOutflow {
            milli_per_second: Some(5_000),
            changed_at: T0,
        };
        let step = next_step(3_000, Some(followed), Verdict::Healthy, T0 + STEP_EVERY_MS);
        assert_eq!(step, None, "already at the (new) set rate");
    }

    #[test]
    fn removing_the_target_returns_to_the_set_rate_at_once() {
        let low = FollowedOutflow {
            milli_per_second: Some(1_000),
            changed_at: T0,
        };
        let step = back_to_set(SET, Some(low), T0 + 1).unwrap();
        assert_eq!((step.before, step.after), (1_000, SET));
        assert_eq!(step.reason, Reason::TargetRemoved);
        assert_eq!(back_to_set(SET, None, T0), None);
    }
}
