//! The leaky bucket that paces the outflow.
//!
//! Tokens are integer millionths of a shopper, so that Rust and the Redis scripts (whose numbers
//! are doubles) compute exactly the same thing: the outflow is set in thousandths of a shopper
//! per second, which is exactly millionths of a shopper per millisecond, and no division is ever
//! needed. Admitting one shopper spends [`SHOPPER`] tokens.
//!
//! The bucket does not exist before the sale starts. The first drain at or after the start fills
//! it to the burst as of `starts_at`; afterwards it refills at the outflow rate, never above the
//! burst. While the outflow is stopped (paused, sold out, closed, or not yet started) no credit
//! accrues: `last` follows the clock.

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

    /// The most tokens the bucket may hold.
    pub fn capacity(self) -> u64 {
        u64::from(self.burst).saturating_mul(SHOPPER)
    }
}

/// The bucket's state as stored: `tokens` (millionths of a shopper) as of `last` (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Credit in millionths of a shopper.
    pub tokens: u64,
    /// When `tokens` was last brought up to date.
    pub last: UnixMillis,
}

impl Bucket {
    /// The bucket brought up to `now`.
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
                tokens: bucket.tokens,
                last: bucket.last.max(now),
            });
        }
        let bucket = state.unwrap_or(Bucket {
            tokens: outflow.capacity(),
            last: starts_at,
        });
        let elapsed = u64::try_from(now - bucket.last).unwrap_or(0);
        let credit = outflow.rate_milli_per_second.saturating_mul(elapsed);
        Some(Bucket {
            tokens: bucket.tokens.saturating_add(credit).min(outflow.capacity()),
            last: bucket.last.max(now),
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
            last: self.last,
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
        };
        let paused = Bucket::at(Some(half), outflow(1_000, 5), START, START + 60_000, false);
        assert_eq!(
            paused,
            Some(Bucket {
                tokens: 500_000,
                last: START + 60_000
            })
        );
    }

    #[test]
    fn a_clock_running_backwards_credits_nothing() {
        let bucket = Bucket {
            tokens: 0,
            last: START + 5_000,
        };
        let back = Bucket::at(Some(bucket), outflow(1_000, 5), START, START + 1_000, true);
        assert_eq!(back, Some(bucket));
    }

    #[test]
    fn spending_never_goes_below_zero() {
        let bucket = Bucket {
            tokens: 1_500_000,
            last: START,
        };
        assert_eq!(bucket.spend(1).tokens, 500_000);
        assert_eq!(bucket.spend(2).tokens, 0);
    }

    /// Drains greedily at every step of a random walk and checks the bucket never lets more
    /// shoppers through than `rate × elapsed + burst`.
    #[test]
    fn greedy_draining_never_exceeds_rate_times_elapsed_plus_burst() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let rate = outflow(rng.gen_range(0..20_000), rng.gen_range(0..20));
            let mut now = START - rng.gen_range(0..5_000);
            let mut state = None;
            let mut admitted: u64 = 0;
            for _ in 0..100 {
                now += rng.gen_range(0..3_000);
                let flowing = rng.gen_bool(0.8);
                state = Bucket::at(state, rate, START, now, flowing);
                if let Some(bucket) = state {
                    let take = rng.gen_range(0..=bucket.whole_shoppers());
                    admitted += take;
                    state = Some(bucket.spend(take));
                }
                let elapsed = u64::try_from(now - START).unwrap_or(0);
                let allowed_tokens = rate.rate_milli_per_second * elapsed + rate.capacity();
                assert!(
                    admitted * SHOPPER <= allowed_tokens || (now < START && admitted == 0),
                    "{admitted} admitted after {elapsed} ms at {rate:?}"
                );
            }
        }
    }
}
