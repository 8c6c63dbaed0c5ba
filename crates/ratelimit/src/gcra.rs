//! The generic cell rate algorithm (GCRA), as a pure function of (state, now).
//!
//! The whole state of a bucket is one number, the theoretical arrival time (TAT): the moment the
//! bucket would be empty again if nothing more arrived. A request of cost `c` moves it `c`
//! emission intervals later, and is allowed when the new TAT lies no more than `burst` intervals
//! ahead of now. Times are in microseconds so that rates such as 90 per minute keep their
//! precision. `lua/ratelimit_gcra.lua` runs exactly this arithmetic in Redis.

use super::outcome::RateOutcome;

/// A GCRA limit: one request every `interval_us`, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcraLimit {
    /// Microseconds between two requests at the sustained rate (at least 1).
    pub interval_us: i64,
    /// How many requests may arrive at once (at least 1).
    pub burst: i64,
}

impl GcraLimit {
    /// The limit scaled by `permille` / 1000 (a reduced or raised rate and burst).
    pub fn scaled(self, permille: i64) -> GcraLimit {
        let permille = permille.max(1);
        GcraLimit {
            interval_us: (self.interval_us * 1000 / permille).max(1),
            burst: (self.burst * permille / 1000).max(1),
        }
    }
}

/// The result of one GCRA step: the TAT to store (when allowed) and the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcraStep {
    /// The TAT to store; `None` when the request was refused and nothing changes.
    pub new_tat_us: Option<i64>,
    /// What the caller is told.
    pub outcome: RateOutcome,
}

/// Decides one request of `cost` against a bucket whose stored TAT is `tat_us` (0 when fresh).
pub fn gcra(tat_us: i64, now_us: i64, limit: GcraLimit, cost: i64) -> GcraStep {
    let interval = limit.interval_us.max(1);
    let burst = limit.burst.max(1);
    let tat = tat_us.max(now_us);
    let new_tat = tat + cost * interval;
    let allow_at = new_tat - burst * interval;
    if now_us >= allow_at {
        let remaining = (now_us + burst * interval - new_tat) / interval;
        GcraStep {
            new_tat_us: Some(new_tat),
            outcome: RateOutcome {
                allowed: true,
                limit: burst,
                remaining,
                reset_ms: ceil_div(new_tat - now_us, 1000),
                retry_after_ms: 0,
            },
        }
    } else {
        let remaining = (now_us + burst * interval - tat) / interval;
        GcraStep {
            new_tat_us: None,
            outcome: RateOutcome {
                allowed: false,
                limit: burst,
                remaining: remaining.max(0),
                reset_ms: ceil_div(tat - now_us, 1000),
                retry_after_ms: ceil_div(allow_at - now_us, 1000),
            },
        }
    }
}

/// `a / b` rounded up, for non-negative `a` and positive `b`.
pub(crate) fn ceil_div(a: i64, b: i64) -> i64 {
    if a <= 0 { 0 } else { (a + b - 1) / b }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE_US: i64 = 60_000_000;

    fn three_per_five_minutes() -> GcraLimit {
        GcraLimit {
            interval_us: 5 * MINUTE_US / 3,
            burst: 3,
        }
    }

    fn run(limit: GcraLimit, times_us: &[i64]) -> Vec<bool> {
        let mut tat = 0;
        times_us
            .iter()
            .map(|&now| {
                let step = gcra(tat, now, limit, 1);
                if let Some(new_tat) = step.new_tat_us {
                    tat = new_tat;
                }
                step.outcome.allowed
            })
            .collect()
    }

    #[test]
    fn a_burst_is_allowed_then_the_next_request_waits_one_interval() {
        let now = 1_000 * MINUTE_US;
        let allowed = run(three_per_five_minutes(), &[now, now, now, now]);
        assert_eq!(allowed, [true, true, true, false]);
    }

    #[test]
    fn the_retry_after_is_exactly_when_the_request_would_pass() {
        let limit = three_per_five_minutes();
        let now = 1_000 * MINUTE_US;
        let mut tat = 0;
        for _ in 0..3 {
            tat = gcra(tat, now, limit, 1).new_tat_us.unwrap_or(tat);
        }
        let refused = gcra(tat, now, limit, 1);
        let wait_us = refused.outcome.retry_after_ms * 1000;
        assert!(!gcra(tat, now + wait_us - 1000, limit, 1).outcome.allowed);
        assert!(gcra(tat, now + wait_us, limit, 1).outcome.allowed);
    }

    #[test]
    fn a_heavier_request_spends_more_of_the_burst() {
        let limit = GcraLimit {
            interval_us: 1_000_000,
            burst: 10,
        };
        let first = gcra(0, 0, limit, 5);
        assert_eq!(first.outcome.remaining, 5);
        let second = gcra(first.new_tat_us.unwrap_or(0), 0, limit, 6);
        assert!(!second.outcome.allowed);
    }

    #[test]
    fn halving_a_limit_halves_the_burst_and_doubles_the_interval() {
        let half = three_per_five_minutes().scaled(500);
        assert_eq!(half.burst, 1);
        assert_eq!(half.interval_us, 2 * 5 * MINUTE_US / 3);
    }
}
