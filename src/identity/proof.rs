//! What a bearer token proves whatever the time, remembered for the next look at the same token.
//!
//! One request's token is judged twice: by the rate limiter (to key the client by its user) and
//! by authentication. Its signature and claims cannot change between the two, nor can the keys
//! of an [`Authenticator`](super::Authenticator), so the second judgement reuses the first one's
//! [`Proof`] and only weighs the times (expiry, not-before) again, at its own `now`. The memory is
//! a small table of the latest tokens: a token pushed out is simply verified again.

use std::hash::BuildHasher;
use std::sync::Mutex;

use super::user_token::TokenTimes;
use super::{AuthError, Shopper};
use crate::clock::UnixMillis;

/// Slots of the table: enough for the requests in flight between the two judgements.
const SLOTS: usize = 1024;
/// Longer tokens are not remembered (a header can hold kilobytes; real tokens are far shorter).
const LONGEST_REMEMBERED: usize = 2048;

/// What a token proved, apart from time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Proof {
    /// Refused at any time, and why: not a token, a signature or key that does not match,
    /// missing claims.
    Refused(AuthError),
    /// Signed and well formed: it holds between `times`, and then `shopper` says whom it names
    /// (or why that name is refused).
    Signed {
        shopper: Result<Shopper, AuthError>,
        times: TokenTimes,
    },
}

impl Proof {
    /// The judgement at `now`, checked in the order a fresh verification checks: signature and
    /// claims, expiry, not-before, then the identity.
    pub(super) fn at(&self, now: UnixMillis) -> Result<Shopper, AuthError> {
        match self {
            Proof::Refused(error) => Err(error.clone()),
            Proof::Signed { shopper, times } => {
                times.judge(now)?;
                shopper.clone()
            }
        }
    }
}

type Slot = Mutex<Option<(Box<str>, Proof)>>;

/// The latest tokens' proofs, one per slot of a table indexed by the token's hash.
pub(super) struct Proofs {
    hasher: foldhash::fast::RandomState,
    slots: Box<[Slot]>,
}

impl Proofs {
    pub(super) fn new() -> Self {
        Self {
            hasher: foldhash::fast::RandomState::default(),
            slots: (0..SLOTS).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// The judgement of `token` at `now`, from its remembered proof or from `prove`.
    pub(super) fn judge(
        &self,
        token: &str,
        now: UnixMillis,
        prove: impl FnOnce() -> Proof,
    ) -> Result<Shopper, AuthError> {
        if token.len() > LONGEST_REMEMBERED {
            return prove().at(now);
        }
        // The hash only picks the slot; the token itself is compared, so a collision is a miss.
        let index = usize::try_from(self.hasher.hash_one(token) % SLOTS as u64).unwrap_or(0);
        let slot = &self.slots[index];
        // Never wait for a slot: one in use by another thread is a miss.
        if let Ok(held) = slot.try_lock()
            && let Some((known, proof)) = held.as_ref()
            && **known == *token
        {
            return proof.at(now);
        }
        let proof = prove();
        let judgement = proof.at(now);
        if let Ok(mut held) = slot.try_lock() {
            *held = Some((token.into(), proof));
        }
        judgement
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::domain::{Identity, Tier};

    fn alice() -> Proof {
        Proof::Signed {
            shopper: Ok(Shopper {
                identity: Identity::user("alice").unwrap(),
                tier: Tier::Regular,
            }),
            times: TokenTimes {
                valid_from: Some(100),
                expired_from: 200,
            },
        }
    }

    #[test]
    fn times_are_judged_at_each_call() {
        let proof = alice();
        assert_eq!(proof.at(99_999), Err(AuthError::Invalid));
        assert!(proof.at(100_000).is_ok());
        assert!(proof.at(199_999).is_ok());
        assert_eq!(proof.at(200_000), Err(AuthError::Expired));
        assert_eq!(
            Proof::Refused(AuthError::Invalid).at(150_000),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn a_token_is_proved_once_and_judged_again() {
        let proofs = Proofs::new();
        let proved = Cell::new(0);
        let prove = || {
            proved.set(proved.get() + 1);
            alice()
        };
        assert!(proofs.judge("token-a", 150_000, prove).is_ok());
        assert_eq!(
            proofs.judge("token-a", 250_000, prove),
            Err(AuthError::Expired)
        );
        assert_eq!(proved.get(), 1);
        assert_eq!(
            proofs.judge("token-b", 150_000, || Proof::Refused(AuthError::Invalid)),
            Err(AuthError::Invalid)
        );
        assert!(proofs.judge("token-a", 150_000, prove).is_ok());
    }

    #[test]
    fn long_tokens_are_proved_every_time() {
        let proofs = Proofs::new();
        let proved = Cell::new(0);
        let long = "x".repeat(LONGEST_REMEMBERED + 1);
        for _ in 0..2 {
            let _ = proofs.judge(&long, 150_000, || {
                proved.set(proved.get() + 1);
                alice()
            });
        }
        assert_eq!(proved.get(), 2);
    }
}
