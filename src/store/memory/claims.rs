//! The memory store's claims: who holds each proof of work and invitation, until it expires.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::UnixMillis;
use crate::domain::{Claim, ClaimOutcome, EventId, claim_step};

/// Expired claims are swept when the map has grown by this many since the last sweep, so the
/// map stays about as big as the claims still live.
const SWEEP_EVERY: usize = 1_024;

/// Every event's claims, by event and name.
#[derive(Debug, Default)]
pub(super) struct Claims {
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    claims: HashMap<(EventId, String), (Vec<String>, UnixMillis)>,
    size_after_sweep: usize,
}

impl Claims {
    /// Counts `claim`'s holder at `now` (see [`claim_step`]).
    pub(super) fn claim(&self, event: &EventId, claim: &Claim, now: UnixMillis) -> ClaimOutcome {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.claims.len() >= held.size_after_sweep + SWEEP_EVERY {
            held.claims.retain(|_, (_, until)| *until > now);
            held.size_after_sweep = held.claims.len();
        }
        let key = (event.clone(), claim.name.clone());
        let (holders, until) = held.claims.entry(key).or_insert((Vec::new(), claim.until));
        if *until <= now {
            holders.clear();
            *until = claim.until;
        }
        let outcome = claim_step(holders, claim, now);
        if outcome == ClaimOutcome::Granted {
            // The latest grant sets the end, as the Redis script's write of `#until` does.
            *until = claim.until;
        }
        outcome
    }
}
