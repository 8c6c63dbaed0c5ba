//! Where rate-limit state lives: buckets, penalties, bans and in-flight permits.
//!
//! [`RateLimitStore`] is the one interface; [`MemoryRateLimitStore`] keeps state in this process
//! (and is the local fallback when Redis is down) and [`RedisRateLimitStore`] shares it between
//! instances. Both run the same pure functions ([`decide`](super::decision::decide)), both expire
//! every piece of state when it stops mattering, and the conformance suite in
//! `tests/ratelimit/suite.rs` holds them to the same answers.
//!
//! Besides client state, the store keeps the rules an operator stored for every instance
//! ([`StoredRules`]).
//!
//! All of one client's state is keyed under its client key, which in Redis is the hash tag
//! (`wr:rl:{<client>}:…`): one decision touches one cluster slot, and clients spread over the
//! cluster.

mod grouped_decisions;
mod memory;
mod redis;
mod stored_rules;

pub use memory::MemoryRateLimitStore;
pub use redis::RedisRateLimitStore;
pub use stored_rules::StoredRules;

use async_trait::async_trait;
use serde::Serialize;

use super::client_key::ClientKey;
use super::decision::DecisionInput;
use super::outcome::Decision;
use super::refusals::Tally;
use super::scope::{BanScope, Liability};
use crate::clock::UnixMillis;
use crate::store_error::StoreError;

/// Which state one decision reads and writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketKey {
    /// The client whose penalties and bans apply (`ip:…`, `user:…`, `key:…`).
    pub client: ClientKey,
    /// The bucket inside it: the rule's name, plus the endpoint for per-endpoint keys.
    pub bucket: std::sync::Arc<str>,
}

/// A temporary ban, as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BanRecord {
    /// The banned client key.
    pub key: String,
    /// Why: `rate limit violations`, or what an operator wrote.
    pub reason: String,
    /// How many bans this client has had (the current one included).
    pub count: i64,
    /// When the ban ends.
    pub until_ms: UnixMillis,
    /// Whom it refuses.
    pub scope: BanScope,
}

/// A slot among a bucket's in-flight requests, given back when the request ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    /// The bucket it belongs to.
    pub key: BucketKey,
    /// Its id among the bucket's permits.
    pub id: u64,
}

/// The rate limiter's storage. Every method is one atomic step.
#[async_trait]
pub trait RateLimitStore: Send + Sync + 'static {
    /// Decides one request: the client's ban, its penalties, then the bucket's algorithm.
    /// A ban that the decision starts is recorded for [`RateLimitStore::bans`].
    async fn decide(
        &self,
        key: &BucketKey,
        input: &DecisionInput<'_>,
    ) -> Result<Decision, StoreError>;

    /// Takes one of `limit` in-flight slots of the bucket, held at most `lease_ms` (so a crashed
    /// instance's slots come back); `None` when all are taken.
    async fn acquire(
        &self,
        key: &BucketKey,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Option<Permit>, StoreError>;

    /// Gives a slot back.
    async fn release(&self, permit: &Permit) -> Result<(), StoreError>;

    /// Bans `client` for `length_ms` (replacing a shorter current ban) with `scope`, counting a
    /// strike.
    async fn ban(
        &self,
        client: &str,
        length_ms: i64,
        reason: &str,
        strike_memory_ms: i64,
        scope: BanScope,
    ) -> Result<BanRecord, StoreError>;

    /// Lifts the client's ban; `false` when it was not banned.
    async fn lift_ban(&self, client: &str) -> Result<bool, StoreError>;

    /// Every current ban, soonest to end first.
    async fn bans(&self) -> Result<Vec<BanRecord>, StoreError>;

    /// The latest end of the current bans of any of `clients` that refuse a request with
    /// `liability` on them; `None` when none does. A request is refused while any of its
    /// identities is banned, whichever one its rule charges (a verified user's address only by
    /// a ban of scope everyone).
    async fn banned_until(
        &self,
        clients: &[ClientKey],
        liability: Liability,
    ) -> Result<Option<UnixMillis>, StoreError>;

    /// The store's current time (Redis `TIME`, or the injected clock).
    async fn now_ms(&self) -> Result<UnixMillis, StoreError>;

    /// Publishes this instance's refusal tally and answers every live instance's, this one's
    /// included. A store of one process has one instance: its own tally.
    async fn exchange_tally(&self, mine: &Tally) -> Result<Vec<Tally>, StoreError> {
        Ok(vec![mine.clone()])
    }

    /// The version of the stored rules alone: what every instance polls to notice a change.
    async fn rules_version(&self) -> Result<u64, StoreError>;

    /// The stored rules, their version and their author.
    async fn stored_rules(&self) -> Result<StoredRules, StoreError>;

    /// Stores `rules` (the rule set's JSON) for every instance, or drops the stored rules with
    /// `None`, as `author` at `at_ms`; answers the new version.
    async fn put_stored_rules(
        &self,
        rules: Option<&str>,
        author: &str,
        at_ms: UnixMillis,
    ) -> Result<u64, StoreError>;

    /// Claims the cluster-wide alert `fact` for `hold_ms`: `true` for the first instance to
    /// claim it, `false` while that claim holds (another instance sends the alert).
    async fn claim_alert(&self, fact: &str, hold_ms: i64) -> Result<bool, StoreError>;

    /// The store as an in-process one, when it is: decisions then need no await and no timeout.
    fn in_process(&self) -> Option<&MemoryRateLimitStore> {
        None
    }
}

/// The reason recorded for bans the limiter starts by itself.
pub const VIOLATIONS_REASON: &str = "rate limit violations";
