//! The keys a script is given: every key it touches, declared in `KEYS` (see
//! `lua/lib/keys.lua` for the layout).
//!
//! In a Redis Cluster the client routes a script call by its keys and follows `ASK` and `MOVED`
//! while the event's slot migrates; Redis itself refuses (`TRYAGAIN`, retried by the client) a
//! call whose keys are split between the two nodes. Both only work for keys the call declares:
//! a key a script computed for itself would be read on whichever node the call landed on, half
//! migrated or not. So the store names every key here, and the scripts use only those.
//!
//! The event's fixed keys each script needs are listed with the script (see
//! [`Scripts`](crate::store::scripts::Scripts)). The keys that depend on the call are computed
//! here: a ticket bucket from the identity, a heartbeat from the instance, a claim from its
//! name. Two kinds cannot be known beforehand: the arrival window a join falls in (the script
//! answers `WRKEYS` naming it, having changed nothing, and the call is made again with it), and
//! the shoppers a drain pops (the drain stops before a shopper whose keys it was not given and
//! names them, see [`DrainKeys`]).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use redis::{RedisError, ScriptInvocation};
use sha1::{Digest, Sha1};

use crate::domain::EventId;

/// What a script answers, having changed nothing, when it needs keys it was not given: the
/// error code, followed by the keys' names.
const NEED_KEYS: &str = "WRKEYS";

/// The name of the ticket bucket holding `identity`'s record: `tk:` and the first four hex
/// digits of SHA-1(identity), as `bucket_name` in `lua/lib/tickets.lua`.
pub(super) fn bucket_name(identity: &str) -> String {
    let digest = Sha1::digest(identity.as_bytes());
    format!("tk:{:02x}{:02x}", digest[0], digest[1])
}

/// Adds the keys `names` (as `lua/lib/keys.lua` names them) of the event with key prefix
/// `prefix` to a call.
pub(super) fn declare<S: AsRef<str>>(
    invocation: &mut ScriptInvocation<'_>,
    prefix: &str,
    names: impl IntoIterator<Item = S>,
) {
    for name in names {
        invocation.key(format!("{prefix}{}", name.as_ref()));
    }
}

/// Adds the ticket buckets of `identities` to a call.
pub(super) fn declare_buckets<S: AsRef<str>>(
    invocation: &mut ScriptInvocation<'_>,
    prefix: &str,
    identities: impl IntoIterator<Item = S>,
) {
    let buckets: BTreeSet<String> = identities
        .into_iter()
        .map(|identity| bucket_name(identity.as_ref()))
        .collect();
    declare(invocation, prefix, buckets);
}

/// The keys' names a script asked for when it answered `WRKEYS`, or `None` for any other error.
pub(super) fn needed_keys(error: &RedisError) -> Option<Vec<String>> {
    if error.code() != Some(NEED_KEYS) {
        return None;
    }
    Some(
        error
            .detail()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    )
}

/// The most identities a drain is asked to name at the head of the queue (see
/// `lua/drain.lua`).
const MOST_HEADS: usize = 1_000;

/// The most heartbeat keys a drain is given: the instances that held shoppers lately.
const MOST_HOLDERS: usize = 64;

/// What this instance knows of the keys its next drain of each event will touch: the buckets of
/// the shoppers at the head of the queue as the last drain left it, and the instances that held
/// shoppers. A drain given too few stops before the first shopper it cannot judge and names
/// what it needs; a guess too wide costs only longer calls.
#[derive(Default)]
pub(super) struct DrainKeys(Mutex<HashMap<EventId, Known>>);

#[derive(Default, Clone)]
struct Known {
    /// Bucket names of the shoppers at the head of the queue.
    heads: BTreeSet<String>,
    /// Instances whose heartbeat a drain read, latest last.
    holders: VecDeque<String>,
}

impl DrainKeys {
    /// The key names to give the next drain of `event`.
    pub(super) fn names(&self, event: &EventId) -> Vec<String> {
        let known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(known) = known.get(event) else {
            return Vec::new();
        };
        known
            .heads
            .iter()
            .cloned()
            .chain(
                known
                    .holders
                    .iter()
                    .map(|instance| format!("hb:{instance}")),
            )
            .collect()
    }

    /// Learns from a drain's reply: the identities now at the head of the queue (none when the
    /// drain did not look) and the instances whose heartbeats it needs.
    pub(super) fn learn(&self, event: &EventId, heads: &[String], holders: &[String]) {
        let mut known = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let known = known.entry(event.clone()).or_default();
        if !heads.is_empty() {
            known.heads = heads
                .iter()
                .take(MOST_HEADS)
                .map(|identity| bucket_name(identity))
                .collect();
        }
        for holder in holders {
            if !known.holders.contains(holder) {
                known.holders.push_back(holder.clone());
            }
        }
        while known.holders.len() > MOST_HOLDERS {
            known.holders.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_is_named_by_the_first_four_hex_digits_of_the_identitys_sha1() {
        // SHA-1("abc") = a9993e36...
        assert_eq!(bucket_name("abc"), "tk:a999");
    }
}
