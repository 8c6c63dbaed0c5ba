//! Penalties: a client's violations, remembered with decay, and what they cost it.
//!
//! Each refused request is one violation. The count decays by one every `decay_ms`, so a client
//! that calms down is forgiven. As it grows the client gets, in turn: an added delay before its
//! requests are served (bounded), a reduced limit, and then a ban whose length escalates with
//! every ban it has had (strikes, themselves forgotten after `strike_memory_ms`). This is state
//! with decay, not a log of requests, and `lua/ratelimit_penalty.lua` computes the same
//! (the conformance suite runs both).

use super::outcome::BanStarted;
use super::scope::BanScope;

/// How violations are weighed and punished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PenaltyPolicy {
    /// One violation is forgotten every `decay_ms`.
    pub decay_ms: i64,
    /// Violations from which requests are delayed (0: never).
    pub delay_after: i64,
    /// Delay added per violation at or above `delay_after`.
    pub delay_step_ms: i64,
    /// The longest delay.
    pub max_delay_ms: i64,
    /// Violations from which the limit is reduced (0: never).
    pub reduce_after: i64,
    /// The reduced limit, in thousandths of the normal one.
    pub reduce_permille: i64,
    /// Violations that start a ban (0: never).
    pub ban_after: i64,
    /// Ban lengths for the first, second, … ban; the last repeats.
    pub ban_lengths_ms: Vec<i64>,
    /// How long strikes (past bans) are remembered after a ban ends.
    pub strike_memory_ms: i64,
}

/// One client's penalty state as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PenaltyState {
    /// Violations in thousandths (decay removes fractions of one).
    pub score_milli: i64,
    /// When `score_milli` was last written.
    pub updated_ms: i64,
    /// Bans so far (escalates their length).
    pub strikes: i64,
    /// When the strikes are forgotten.
    pub strikes_until_ms: i64,
    /// When the current ban ends (0 or past: not banned).
    pub ban_until_ms: i64,
    /// Whom the current ban refuses.
    pub ban_scope: BanScope,
}

/// What the client's standing costs this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// Delay before serving an allowed request.
    pub delay_ms: i64,
    /// The limit scale in thousandths (1000: the normal limit).
    pub limit_permille: i64,
}

impl PenaltyState {
    /// The state as it stands at `now_ms`: decayed score, forgotten strikes, ended ban cleared.
    pub fn at(self, now_ms: i64, policy: &PenaltyPolicy) -> PenaltyState {
        let elapsed = (now_ms - self.updated_ms).max(0);
        let decayed = elapsed * 1000 / policy.decay_ms.max(1);
        let forgotten = now_ms >= self.strikes_until_ms;
        PenaltyState {
            score_milli: (self.score_milli - decayed).max(0),
            updated_ms: now_ms,
            strikes: if forgotten { 0 } else { self.strikes },
            strikes_until_ms: if forgotten { 0 } else { self.strikes_until_ms },
            ban_until_ms: if self.ban_until_ms > now_ms {
                self.ban_until_ms
            } else {
                0
            },
            ban_scope: if self.ban_until_ms > now_ms {
                self.ban_scope
            } else {
                BanScope::default()
            },
        }
    }

    /// Violations counted now; one partly decayed still counts until it is wholly forgotten.
    pub fn violations(self) -> i64 {
        (self.score_milli + 999) / 1000
    }

    /// The delay and limit scale this (already decayed) state earns.
    pub fn standing(self, policy: &PenaltyPolicy) -> Standing {
        let violations = self.violations();
        let delay_ms = if policy.delay_after > 0 && violations >= policy.delay_after {
            (policy.delay_step_ms * (violations - policy.delay_after + 1)).min(policy.max_delay_ms)
        } else {
            0
        };
        let limit_permille = if policy.reduce_after > 0 && violations >= policy.reduce_after {
            policy.reduce_permille
        } else {
            1000
        };
        Standing {
            delay_ms,
            limit_permille,
        }
    }

    /// Counts one violation at `now_ms` on an already decayed state; may start a ban of
    /// `scope`.
    pub fn violate(
        self,
        now_ms: i64,
        policy: &PenaltyPolicy,
        scope: BanScope,
    ) -> (PenaltyState, Option<BanStarted>) {
        let score = self.score_milli + 1000;
        if policy.ban_after > 0 && (score + 999) / 1000 >= policy.ban_after {
            let index = usize::try_from(self.strikes).unwrap_or(0);
            let length = policy
                .ban_lengths_ms
                .get(index)
                .or(policy.ban_lengths_ms.last())
                .copied()
                .unwrap_or(60_000);
            let until = now_ms + length;
            let strikes = self.strikes + 1;
            let banned = PenaltyState {
                score_milli: 0,
                updated_ms: now_ms,
                strikes,
                strikes_until_ms: until + policy.strike_memory_ms,
                ban_until_ms: until,
                ban_scope: scope,
            };
            return (
                banned,
                Some(BanStarted {
                    until_ms: until,
                    strikes,
                }),
            );
        }
        (
            PenaltyState {
                score_milli: score,
                ..self
            },
            None,
        )
    }

    /// When this state stops mattering and may be dropped (`None`: it already has).
    pub fn expires_at(self, policy: &PenaltyPolicy) -> Option<i64> {
        let score_gone = self.updated_ms + self.score_milli * policy.decay_ms.max(1) / 1000;
        let strikes_gone = if self.strikes > 0 {
            self.strikes_until_ms
        } else {
            0
        };
        let until = score_gone.max(strikes_gone).max(self.ban_until_ms);
        (until > self.updated_ms).then_some(until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PenaltyPolicy {
        PenaltyPolicy {
            decay_ms: 60_000,
            delay_after: 2,
            delay_step_ms: 250,
            max_delay_ms: 1_000,
            reduce_after: 4,
            reduce_permille: 500,
            ban_after: 6,
            ban_lengths_ms: vec![60_000, 300_000, 1_800_000],
            strike_memory_ms: 86_400_000,
        }
    }

    fn violate_times(
        mut state: PenaltyState,
        now: i64,
        n: usize,
    ) -> (PenaltyState, Option<BanStarted>) {
        let mut ban = None;
        for _ in 0..n {
            let (next, started) =
                state
                    .at(now, &policy())
                    .violate(now, &policy(), BanScope::Everyone);
            state = next;
            ban = started.or(ban);
        }
        (state, ban)
    }

    #[test]
    fn violations_bring_a_delay_then_a_reduced_limit_then_a_ban() {
        let policy = policy();
        let (two, _) = violate_times(PenaltyState::default(), 0, 2);
        assert_eq!(two.standing(&policy).delay_ms, 250);
        assert_eq!(two.standing(&policy).limit_permille, 1000);
        let (four, _) = violate_times(two, 0, 2);
        assert_eq!(four.standing(&policy).limit_permille, 500);
        let (_, ban) = violate_times(four, 0, 2);
        assert_eq!(ban.map(|b| b.until_ms), Some(60_000));
    }

    #[test]
    fn bans_grow_longer_with_each_strike() {
        let (first, _) = violate_times(PenaltyState::default(), 0, 6);
        let (_, second) = violate_times(first, 60_000, 6);
        assert_eq!(second.map(|b| b.until_ms), Some(60_000 + 300_000));
    }

    #[test]
    fn violations_decay_one_per_period() {
        let (three, _) = violate_times(PenaltyState::default(), 0, 3);
        assert_eq!(three.at(60_000, &policy()).violations(), 2);
        assert_eq!(three.at(60_001, &policy()).violations(), 2);
        assert_eq!(three.at(180_000, &policy()).violations(), 0);
        assert_eq!(three.expires_at(&policy()), Some(180_000));
    }
}
