//! Claims: counting who used a single-use proof of work or a limited-use invitation.

use crate::clock::UnixMillis;

/// A request to hold `name` (within an event) for `holder`, shared by at most `limit` holders
/// until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// What is claimed: `pow:<challenge id>`, `inv:<invitation id>` or `sock:<socket ticket id>`.
    pub name: String,
    /// Who claims it (an identity).
    pub holder: String,
    /// Most holders.
    pub limit: u32,
    /// When the claim is forgotten (what it counts has expired by then).
    pub until: UnixMillis,
}

/// What a claim came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// A new holder was counted.
    Granted,
    /// The holder had it already (nothing counted).
    AlreadyHeld,
    /// It has as many holders as it allows, or it has expired.
    Refused,
    /// There is no such event.
    NoEvent,
}

/// One claim's step over its holders so far: what `lua/claim.lua` does in Redis.
pub fn claim_step(holders: &mut Vec<String>, claim: &Claim, now: UnixMillis) -> ClaimOutcome {
    if claim.until <= now {
        return ClaimOutcome::Refused;
    }
    if holders.contains(&claim.holder) {
        return ClaimOutcome::AlreadyHeld;
    }
    if holders.len() >= claim.limit as usize {
        return ClaimOutcome::Refused;
    }
    holders.push(claim.holder.clone());
    ClaimOutcome::Granted
}
