//! The leaky bucket that paces the outflow.
//!
//! Tokens are integer millionths of a shopper, so that Rust and the Redis scripts (whose numbers
//! are doubles) compute exactly the same thing: the outflow is set in thousandths of a shopper
//! per second, which is exactly millionths of a shopper per millisecond, and no division is ever
//! needed. Admitting one shopper spends [`SHOPPER`] tokens.
//!
//! The bucket does not exist before the sale starts. The first drain at or after the start finds
//! it holding the burst. Between drains it holds at most the burst: what a drain leaves above it
//! is dropped. Credit earned since the last drain is spent whole when that drain left shoppers
//! waiting (they are owed it), and only up to the burst after an idle spell (nobody was waiting,
//! or nobody has been drained yet). So while shoppers wait and no cap binds, no credit is lost,
//! not even below one shopper, whatever the gap between drains and however many instances drain:
//! over the drains of any span of T ms, admissions are at least `rate × T − 1` and, since each
//! starts from at most a burst, at most `rate × T + burst`. While the outflow is stopped
//! (paused, sold out, closed, or not yet started) no credit accrues: `last` follows the clock.

use super::backoff::{FollowedOutflow, effective_rate};
use crate::clock::UnixMillis;
use crate::domain::EventConfig;

/// One shopper, in tokens.
pub const SHOPPER: u64 = 1_000_000;

/// The outflow settings the bucket follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outflow {
    /// Thousandths of a shopper per second, which is millionths of a shopper (tokens) per ms.
    pub rate_milli_per_second: u64,
    /// How many shoppers may be admitted at once after an idle spell.
    pub burst: u32,
}

impl Outflow {
    /// The outflow of an event.
    pub fn of(config: &EventConfig) -> Self {
        Self {
            rate_milli_per_second: config.outflow_milli_per_second,
            burst: config.outflow_burst,
        }
    }

    /// This outflow at the rate the checkout's health allows (never above the set rate).
    pub fn following(self, followed: Option<FollowedOutflow>) -> Self {
        Self {
            rate_milli_per_second: effective_rate(
                self.rate_milli_per_second,
                followed.and_then(|followed| followed.milli_per_second),
            ),
            ..self
        }
    }

    /// The most tokens the bucket keeps from one drain to the next.
    pub fn capacity(self) -> u64 {
        u64::from(self.burst).saturating_mul(SHOPPER)
    }
}

/// The bucket's state as stored: `tokens` (millionths of a shopper) as of `last` (ms), and
/// whether the last drain left shoppers waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Credit in millionths of a shopper.
    pub tokens: u64,
    /// When `tokens` was last brought up to date.
    pub last: UnixMillis,
    /// The last drain left shoppers waiting: the credit earned since is theirs, whole.
    pub owed: bool,
}

impl Bucket {
    /// The bucket brought up to `now`, before a drain spends it.
    ///
    /// `state` is what was stored (`None`: never started). `flowing` says whether the event is
    /// open for outflow now. Returns the state to store (`None` while it has not started). The
    /// clock never runs backwards for the bucket: `last` only moves forward, so a lagging clock
    /// cannot credit the same milliseconds twice.
    pub fn at(
        state: Option<Bucket>,
        outflow: Outflow,
        starts_at: UnixMillis,
        now: UnixMillis,
        flowing: bool,
    ) -> Option<Bucket> {
        if now < starts_at || !flowing {
            return state.map(|bucket| Bucket {
                last: bucket.last.max(now),
                ..bucket
            });
        }
        let bucket = state.unwrap_or(Bucket {
            tokens: outflow.capacity(),
            last: starts_at,
            owed: false,
        });
        let elapsed = u64::try_from(now - bucket.last).unwrap_or(0);
        let credit = outflow.rate_milli_per_second.saturating_mul(elapsed);
        let earned = bucket.tokens.saturating_add(credit);
        Some(Bucket {
            tokens: if bucket.owed {
                earned
            } else {
                earned.min(outflow.capacity())
            },
            last: bucket.last.max(now),
            owed: bucket.owed,
        })
    }

    /// Whole shoppers the bucket can pay for.
    pub fn whole_shoppers(self) -> u64 {
        self.tokens / SHOPPER
    }

    /// The bucket after admitting `shoppers` (never below zero).
    pub fn spend(self, shoppers: u64) -> Bucket {
        Bucket {
            tokens: self.tokens.saturating_sub(shoppers.saturating_mul(SHOPPER)),
            ..self
        }
    }

    /// The bucket as a drain leaves it: at most the burst, owing the next drain's credit to the
    /// shoppers still waiting when `waiting` is set.
    pub fn after_drain(self, outflow: Outflow, waiting: bool) -> Bucket {
        Bucket {
            tokens: self.tokens.min(outflow.capacity()),
            last: self.last,
            owed: waiting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: UnixMillis = 1_000_000;

    fn outflow(rate_milli_per_second: u64, burst: u32) -> Outflow {
        Outflow {
            rate_milli_per_second,
            burst,
        }
    }

    #[test]
    fn nothing_exists_or_accrues_before_the_start() {
        let state = Bucket::at(None, outflow(5_000, 10), START, START - 1, true);
        assert_eq!(state, None);
    }

    #[test]
    fn the_first_drain_after_the_start_finds_a_full_burst() {
        let bucket = Bucket::at(None, outflow(5_000, 10), START, START + 60_000, true);
        assert_eq!(bucket.map(Bucket::whole_shoppers), Some(10));
    }

    #[test]
    fn the_bucket_refills_at_the_rate() {
        let rate = outflow(2_500, 10); // 2.5 shoppers per second
        let empty = Bucket {
            tokens: 0,
            last: START,
            owed: false,
        };
        let later = Bucket::at(Some(empty), rate, START, START + 2_000, true);
        assert_eq!(later.map(Bucket::whole_shoppers), Some(5));
        let fraction = Bucket::at(Some(empty), rate, START, START + 1_000, true);
        assert_eq!(fraction.map(|b| b.tokens), Some(2_500_000));
    }

    #[test]
    fn a_paused_bucket_keeps_its_credit_and_earns_none() {
        let half = Bucket {
            tokens: 500_000,
            last: START,
            owed: true,
        };
        let paused = Bucket::at(Some(half), outflow(1_000, 5), START, START + 60_000, false);
        assert_eq!(
            paused,
            Some(Bucket {
                last: START + 60_000,
                ..half
            })
        );
    }

    #[test]
    fn a_clock_running_backwards_credits_nothing() {
        let bucket = Bucket {
            tokens: 0,
            last: START + 5_000,
            owed: true,
        };
        let back = Bucket::at(Some(bucket), outflow(1_000, 5), START, START + 1_000, true);
        assert_eq!(back, Some(bucket));
    }

    #[test]
    fn spending_never_goes_below_zero() {
        let bucket = Bucket {
            tokens: 1_500_000,
            last: START,
            owed: false,
        };
        assert_eq!(bucket.spend(1).tokens, 500_000);
        assert_eq!(bucket.spend(2).tokens, 0);
    }

    /// One drain as the stores run it: bring the bucket up to `now`, admit up to `waiting`
    /// shoppers, keep at most the burst. Returns the bucket and how many were admitted.
    fn drain(
        state: Option<Bucket>,
        rate: Outflow,
        now: UnixMillis,
        waiting: u64,
    ) -> (Option<Bucket>, u64) {
        let Some(bucket) = Bucket::at(state, rate, START, now, true) else {
            return (state, 0);
        };
        let take = bucket.whole_shoppers().min(waiting);
        let left = bucket.spend(take).after_drain(rate, waiting > take);
        (Some(left), take)
    }

    #[test]
    fn ten_a_second_with_a_burst_of_one_admits_ten_a_second_at_any_tick() {
        for tick in [1, 40, 75, 100, 150, 333, 1_000, 2_500] {
            let rate = outflow(10_000, 1);
            let (mut state, mut admitted) = drain(None, rate, START, 1_000_000);
            let mut now = START;
            while now < START + 60_000 {
                now += tick;
                let (next, took) = drain(state, rate, now, 1_000_000);
                state = next;
                admitted += took;
            }
            let owed = 10 * (now - START) as u64 / 1_000 + 1;
            assert!(
                admitted + 1 >= owed && admitted <= owed,
                "{admitted} admitted over {} ms at ticks of {tick} ms",
                now - START
            );
        }
    }

    #[test]
    fn a_long_idle_spell_earns_no_more_than_the_burst() {
        let rate = outflow(10_000, 3);
        let (state, _) = drain(None, rate, START, 0);
        let (_, took) = drain(state, rate, START + 3_600_000, 1_000);
        assert_eq!(took, 3);
    }

    #[test]
    fn shoppers_left_waiting_are_owed_the_whole_credit_since() {
        let rate = outflow(2_000, 1);
        let (state, took) = drain(None, rate, START, 5);
        assert_eq!(took, 1);
        let (state, took) = drain(state, rate, START + 1_500, 5);
        assert_eq!((took, state.map(|b| b.tokens)), (3, Some(0)));
    }

    /// Drains greedily (as the stores do) at random gaps and checks both bounds: never more
    /// than `rate × span + burst` over the drains of any span, and, while shoppers were left
    /// waiting at every drain of the span, never less than `rate × span − (burst + 1)`.
    #[test]
    fn greedy_draining_keeps_both_bounds_over_every_span() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let rate = outflow(rng.gen_range(0..20_000), rng.gen_range(1..20));
            let mut now = START;
            let mut state = None;
            // (time, admitted, shoppers left waiting)
            let mut drains: Vec<(UnixMillis, u64, bool)> = Vec::new();
            for _ in 0..60 {
                now += rng.gen_range(0..3_000);
                let waiting = if rng.gen_bool(0.8) {
                    1_000
                } else {
                    rng.gen_range(0..3)
                };
                let (next, took) = drain(state, rate, now, waiting);
                state = next;
                drains.push((now, took, waiting > took));
            }
            for i in 0..drains.len() {
                let mut within = 0;
                let mut owed = drains[i].2;
                for &(to, took, left_waiting) in &drains[i + 1..] {
                    within += took;
                    owed &= left_waiting;
                    let span = u64::try_from(to - drains[i].0).unwrap_or(0);
                    let tokens = within * SHOPPER;
                    let most = rate.rate_milli_per_second * span + rate.capacity();
                    assert!(
                        tokens <= most,
                        "{within} admitted over {span} ms at {rate:?}"
                    );
                    if owed {
                        let least = (rate.rate_milli_per_second * span)
                            .saturating_sub(rate.capacity() + SHOPPER);
                        assert!(
                            tokens >= least,
                            "{within} admitted over {span} ms at {rate:?}"
                        );
                    }
                }
            }
        }
    }
}
