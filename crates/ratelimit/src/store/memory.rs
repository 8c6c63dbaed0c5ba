//! Rate-limit state in this process: sharded maps under short locks, swept of expired entries.
//!
//! A client's bucket, penalty and permits sit in one shard (chosen by the client key, as Redis
//! chooses a slot by the hash tag), so one decision takes one lock. Every entry knows when it
//! stops mattering; a shard is swept whenever it has doubled since its last sweep, so memory stays
//! proportional to the clients active within their keys' lifetimes, however many pass by.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use async_trait::async_trait;

use super::stored_rules::{AlertClaims, RulesCell, StoredRules};
use super::{BanRecord, BucketKey, Permit, RateLimitStore, VIOLATIONS_REASON};
use crate::client_key::ClientKey;
use crate::clock::{Clock, UnixMillis};
use crate::decision::{BucketState, DecisionInput, decide};
use crate::outcome::Decision;
use crate::penalty::PenaltyState;
use crate::scope::{BanScope, Liability};
use crate::short_bytes;
use crate::store_error::StoreError;

const SHARDS: usize = 64;
/// The room for a client key inside its map entry: most keys (`ip:203.0.113.7`, `user:42`) fit,
/// so a lookup compares bytes already in the entry's cache line instead of following a pointer.
const STORED_INLINE: usize = 22;
const MIN_SWEEP_SIZE: usize = 1024;

/// Rate-limit state in memory, for one instance (and as the fallback when Redis is down).
pub struct MemoryRateLimitStore {
    shards: Box<[Mutex<Shard>]>,
    /// The latest end of any ban this store has started: once it is past no client is banned,
    /// and a request's other identities need no lookup.
    latest_ban_ms: AtomicI64,
    hasher: RandomState,
    clock: Arc<dyn Clock>,
    /// The rules stored through the admin API (this process is every instance).
    rules: RulesCell,
    /// Cluster-wide alerts sent (this process is the cluster).
    alert_claims: AlertClaims,
}

/// One shard's clients, found by the hash of their key's bytes (the store's hasher, computed
/// once per request: part of it picks the shard, and the table takes it whole).
#[derive(Default)]
struct Shard {
    clients: HashTable<(ClientKey<STORED_INLINE>, ClientState)>,
    sweep_at: usize,
}

type Bucket = (Arc<str>, BucketState, i64);

/// One client's state, kept small so that many fit in the cache: the first bucket it charges
/// sits in the entry itself; penalties, further buckets (a client charges a handful, one per rule
/// or endpoint, faster to scan than to hash) and permits, which most clients never have, sit
/// behind one pointer.
#[derive(Default)]
struct ClientState {
    first: Option<Bucket>,
    cold: Option<Box<Cold>>,
}

#[derive(Default)]
struct Cold {
    penalty: PenaltyState,
    penalty_expires_ms: i64,
    reason: String,
    buckets: Vec<Bucket>,
    permits: HashMap<Arc<str>, Vec<(u64, i64)>>,
}

impl ClientState {
    fn bucket(&mut self, name: &Arc<str>) -> Option<&mut Bucket> {
        let more = self.cold.as_mut().map(|cold| cold.buckets.iter_mut());
        self.first
            .iter_mut()
            .chain(more.into_iter().flatten())
            .find(|(own, _, _)| Arc::ptr_eq(own, name) || **own == **name)
    }

    fn add_bucket(&mut self, bucket: Bucket) {
        match self.first {
            None => self.first = Some(bucket),
            Some(_) => self.cold().buckets.push(bucket),
        }
    }

    fn cold(&mut self) -> &mut Cold {
        self.cold.get_or_insert_with(Box::default)
    }

    /// The stored penalty state while it matters, else a clean one.
    fn penalty(&self, now_ms: i64) -> PenaltyState {
        match &self.cold {
            Some(cold) if cold.penalty_expires_ms > now_ms => cold.penalty,
            _ => PenaltyState::default(),
        }
    }

    fn banned(&self, now_ms: i64) -> bool {
        self.penalty(now_ms).ban_until_ms > now_ms
    }

    /// Drops what expired; `true` when nothing is left.
    fn prune(&mut self, now_ms: i64) -> bool {
        if let Some(cold) = &mut self.cold {
            cold.buckets.retain(|(_, _, expires)| *expires > now_ms);
            cold.permits.retain(|_, permits| {
                permits.retain(|(_, expires)| *expires > now_ms);
                !permits.is_empty()
            });
            if cold.penalty_expires_ms <= now_ms {
                cold.penalty = PenaltyState::default();
                cold.reason.clear();
            }
        }
        if self
            .first
            .as_ref()
            .is_some_and(|(_, _, expires)| *expires <= now_ms)
        {
            self.first = self.cold.as_mut().and_then(|cold| cold.buckets.pop());
        }
        let cold_empty = self.cold.as_ref().is_none_or(|cold| {
            cold.buckets.is_empty() && cold.permits.is_empty() && cold.penalty_expires_ms <= now_ms
        });
        if cold_empty {
            self.cold = None;
        }
        self.first.is_none() && cold_empty
    }
}

impl MemoryRateLimitStore {
    /// An empty store reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            latest_ban_ms: AtomicI64::new(0),
            hasher: RandomState::default(),
            clock,
            rules: RulesCell::default(),
            alert_claims: AlertClaims::default(),
        }
    }

    /// How many clients hold state (expired ones included until their shard is swept).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(shard).clients.len())
            .sum()
    }

    /// Whether no client holds state.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired entry now (the store also does this by itself as it grows).
    pub fn evict_expired(&self) {
        let now = self.clock.now_ms();
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            shard.clients.retain(|(_, client)| !client.prune(now));
            shard.sweep_at = (shard.clients.len() * 2).max(MIN_SWEEP_SIZE);
        }
    }

    fn hash<const N: usize>(&self, client: &ClientKey<N>) -> u64 {
        self.hasher.hash_one(client.as_bytes())
    }

    /// The shard of a client's `hash`. Its table finds buckets by the hash's low bits and tells
    /// entries apart by its top seven, so the shard is picked by bits of neither.
    fn shard(&self, hash: u64) -> MutexGuard<'_, Shard> {
        let index = (hash >> 32) as usize % SHARDS;
        lock(&self.shards[index])
    }

    /// Runs `f` on the client's state, creating it if needed, sweeping the shard when it grew.
    fn with_client<T>(
        &self,
        client: &ClientKey,
        now_ms: i64,
        f: impl FnOnce(&mut ClientState) -> T,
    ) -> T {
        let hash = self.hash(client);
        let mut shard = self.shard(hash);
        let same = |(own, _): &(ClientKey<STORED_INLINE>, ClientState)| {
            short_bytes::equal(own.as_bytes(), client.as_bytes())
        };
        if let Some((_, state)) = shard.clients.find_mut(hash, same) {
            return f(state);
        }
        if shard.clients.len() >= shard.sweep_at {
            shard.clients.retain(|(_, state)| !state.prune(now_ms));
            shard.sweep_at = (shard.clients.len() * 2).max(MIN_SWEEP_SIZE);
        }
        let entry = (ClientKey::from(client.as_str()), ClientState::default());
        let rehash = |(own, _): &(ClientKey<STORED_INLINE>, ClientState)| self.hash(own);
        let (_, state) = shard.clients.insert_unique(hash, entry, rehash).into_mut();
        f(state)
    }

    /// The decision, synchronously: the memory store never waits.
    pub fn decide_now(&self, key: &BucketKey, input: &DecisionInput<'_>) -> Decision {
        self.decide_at(key, input, self.clock.now_ms())
    }

    /// The decision at `now_ms` (the caller's reading of this store's clock, so that one
    /// request reads the clock once).
    pub fn decide_at(&self, key: &BucketKey, input: &DecisionInput<'_>, now_ms: i64) -> Decision {
        self.decide_on(&key.client, &key.bucket, input, now_ms)
    }

    /// [`MemoryRateLimitStore::decide_at`] on a client's bucket given by reference: the limiter
    /// borrows the rule's name, and the store clones it only into a bucket it creates.
    pub fn decide_on(
        &self,
        client_key: &ClientKey,
        bucket_name: &Arc<str>,
        input: &DecisionInput<'_>,
        now_ms: i64,
    ) -> Decision {
        self.with_client(client_key, now_ms, |client| {
            let bucket = client
                .bucket(bucket_name)
                .filter(|(_, _, expires)| *expires > now_ms)
                .map(|(_, state, _)| *state);
            let penalty = client.penalty(now_ms);
            let step = decide(bucket, penalty, now_ms * 1000, input);
            if let Some((state, expires)) = step.bucket {
                match client.bucket(bucket_name) {
                    Some(slot) => (slot.1, slot.2) = (state, expires),
                    None => client.add_bucket((bucket_name.clone(), state, expires)),
                }
            }
            if let Some((state, expires)) = step.penalty {
                let cold = client.cold();
                cold.penalty = state;
                cold.penalty_expires_ms = expires;
                if state.ban_until_ms > now_ms {
                    cold.reason = VIOLATIONS_REASON.to_owned();
                    self.latest_ban_ms
                        .fetch_max(state.ban_until_ms, Ordering::Relaxed);
                }
            }
            step.decision
        })
    }
}

impl MemoryRateLimitStore {
    /// [`RateLimitStore::banned_until`] at `now_ms`, synchronously.
    pub fn banned_until_at(
        &self,
        clients: &[ClientKey],
        liability: Liability,
        now_ms: i64,
    ) -> Option<i64> {
        if self.latest_ban_ms.load(Ordering::Relaxed) <= now_ms {
            return None;
        }
        clients
            .iter()
            .filter_map(|client| {
                let hash = self.hash(client);
                let shard = self.shard(hash);
                let (_, state) = shard.clients.find(hash, |(own, _)| {
                    short_bytes::equal(own.as_bytes(), client.as_bytes())
                })?;
                let penalty = state.penalty(now_ms);
                let until = penalty.ban_until_ms;
                (until > now_ms && liability.refused_by(penalty.ban_scope)).then_some(until)
            })
            .max()
    }

    /// [`RateLimitStore::acquire`], synchronously.
    pub fn acquire_now(&self, key: &BucketKey, limit: i64, lease_ms: i64) -> Option<Permit> {
        let now_ms = self.clock.now_ms();
        let id = rand::random::<u64>();
        let taken = self.with_client(&key.client, now_ms, |client| {
            let permits = client.cold().permits.entry(key.bucket.clone()).or_default();
            permits.retain(|(_, expires)| *expires > now_ms);
            if i64::try_from(permits.len()).unwrap_or(i64::MAX) >= limit {
                return false;
            }
            permits.push((id, now_ms + lease_ms));
            true
        });
        taken.then(|| Permit {
            key: key.clone(),
            id,
        })
    }

    /// Gives an in-flight slot back, synchronously.
    pub fn release_now(&self, permit: &Permit) {
        let now_ms = self.clock.now_ms();
        self.with_client(&permit.key.client, now_ms, |client| {
            if let Some(permits) = client
                .cold
                .as_mut()
                .and_then(|cold| cold.permits.get_mut(&permit.key.bucket))
            {
                permits.retain(|(id, _)| *id != permit.id);
            }
        });
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // A panic while holding a shard cannot leave it half-written (every write is one assignment),
    // so a poisoned lock is still safe to use.
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn ban_record(client: &str, state: &ClientState) -> BanRecord {
    BanRecord {
        key: client.to_owned(),
        reason: state
            .cold
            .as_ref()
            .map_or_else(String::new, |cold| cold.reason.clone()),
        count: state.cold.as_ref().map_or(0, |cold| cold.penalty.strikes),
        until_ms: state
            .cold
            .as_ref()
            .map_or(0, |cold| cold.penalty.ban_until_ms),
        scope: state
            .cold
            .as_ref()
            .map_or(BanScope::default(), |cold| cold.penalty.ban_scope),
    }
}

#[async_trait]
impl RateLimitStore for MemoryRateLimitStore {
    async fn decide(
        &self,
        key: &BucketKey,
        input: &DecisionInput<'_>,
    ) -> Result<Decision, StoreError> {
        Ok(self.decide_now(key, input))
    }

    async fn acquire(
        &self,
        key: &BucketKey,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Option<Permit>, StoreError> {
        Ok(self.acquire_now(key, limit, lease_ms))
    }

    async fn release(&self, permit: &Permit) -> Result<(), StoreError> {
        self.release_now(permit);
        Ok(())
    }

    async fn claim_alert(&self, fact: &str, hold_ms: i64) -> Result<bool, StoreError> {
        Ok(self.alert_claims.claim(fact, self.clock.now_ms(), hold_ms))
    }

    async fn rules_version(&self) -> Result<u64, StoreError> {
        Ok(self.rules.read().version)
    }

    async fn stored_rules(&self) -> Result<StoredRules, StoreError> {
        Ok(self.rules.read())
    }

    async fn put_stored_rules(
        &self,
        rules: Option<&str>,
        author: &str,
        at_ms: UnixMillis,
    ) -> Result<u64, StoreError> {
        Ok(self.rules.put(rules, author, at_ms))
    }

    async fn ban(
        &self,
        client: &str,
        length_ms: i64,
        reason: &str,
        strike_memory_ms: i64,
        scope: BanScope,
    ) -> Result<BanRecord, StoreError> {
        let now_ms = self.clock.now_ms();
        Ok(self.with_client(&ClientKey::from(client), now_ms, |state| {
            let current = state.penalty(now_ms);
            let until = (now_ms + length_ms).max(current.ban_until_ms);
            let cold = state.cold();
            cold.penalty = PenaltyState {
                score_milli: 0,
                updated_ms: now_ms,
                strikes: if now_ms < current.strikes_until_ms {
                    current.strikes + 1
                } else {
                    1
                },
                strikes_until_ms: until + strike_memory_ms,
                ban_until_ms: until,
                ban_scope: scope,
            };
            cold.penalty_expires_ms = until + strike_memory_ms;
            cold.reason = reason.to_owned();
            self.latest_ban_ms.fetch_max(until, Ordering::Relaxed);
            ban_record(client, state)
        }))
    }

    async fn lift_ban(&self, client: &str) -> Result<bool, StoreError> {
        let now_ms = self.clock.now_ms();
        Ok(self.with_client(&ClientKey::from(client), now_ms, |state| {
            let banned = state.banned(now_ms);
            if let Some(cold) = &mut state.cold {
                cold.penalty.ban_until_ms = 0;
                cold.penalty.score_milli = 0;
            }
            banned
        }))
    }

    async fn bans(&self) -> Result<Vec<BanRecord>, StoreError> {
        let now_ms = self.clock.now_ms();
        let mut bans: Vec<BanRecord> = self
            .shards
            .iter()
            .flat_map(|shard| {
                lock(shard)
                    .clients
                    .iter()
                    .filter(|(_, state)| state.banned(now_ms))
                    .map(|(client, state)| ban_record(client.as_str(), state))
                    .collect::<Vec<_>>()
            })
            .collect();
        bans.sort_by_key(|ban| (ban.until_ms, ban.key.clone()));
        Ok(bans)
    }

    async fn banned_until(
        &self,
        clients: &[ClientKey],
        liability: Liability,
    ) -> Result<Option<UnixMillis>, StoreError> {
        Ok(self.banned_until_at(clients, liability, self.clock.now_ms()))
    }

    async fn now_ms(&self) -> Result<UnixMillis, StoreError> {
        Ok(self.clock.now_ms())
    }

    fn in_process(&self) -> Option<&MemoryRateLimitStore> {
        Some(self)
    }
}
